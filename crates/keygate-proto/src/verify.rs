//! `POST /api/v1/verify`: the question another service asks Keygate, and Keygate's answer; and
//! `POST /api/v1/auth/check`, the same for the caller's own token.
//!
//! An answer is read leniently: fields a client does not know of are ignored, and lists or
//! optional fields an older Keygate leaves out take their empty value, so either side may add
//! fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The question: may the holder of `token` (none: an anonymous caller, judged by the workspace's
/// public role) do `permission` on `resource` in `workspace`? Every field may be left out: a token
/// alone asks whether it is valid, a workspace alone whether its public role lets anyone in.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = VerifyRequestJson))]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The token presented; absent for an anonymous caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The workspace, by slug or id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// The permission asked about, e.g. `devices:read`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// The concrete resource the request touches, e.g. `device:abc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The address of the client that presented the token (IPv4 or IPv6), as the asking
    /// service saw it: judged against the token's `allowed_ips`. Without it no address is
    /// judged, and the answer says so (`ip_checked: false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "203.0.113.7"))]
    pub client_ip: Option<String>,
    /// What this question costs of the token's rate limits (default 1; 0 asks without using
    /// any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<u32>,
}

/// Never shows the token.
impl std::fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyRequest")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("workspace", &self.workspace)
            .field("permission", &self.permission)
            .field("resource", &self.resource)
            .field("client_ip", &self.client_ip)
            .field("cost", &self.cost)
            .finish()
    }
}

/// The decision for another service. `valid` is true only with `code: "ok"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = VerifyJson))]
pub struct VerifyAnswer {
    /// True only with `code: "ok"`.
    pub valid: bool,
    /// The class of the decision.
    pub code: Code,
    /// With `forbidden`: the permission, or the resource, that is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    /// The token's user; `null` for an anonymous caller or an invalid token.
    #[serde(default)]
    pub user: Option<User>,
    /// The workspace asked about, when it exists and the caller may know it.
    #[serde(default)]
    pub workspace: Option<Workspace>,
    /// The caller's workspaces and roles.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub workspaces: Vec<Membership>,
    /// The id of the token presented.
    #[serde(default)]
    pub token_id: Option<Uuid>,
    /// Permissions that apply in the workspace asked about (the public role's included).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Vec<crate::openapi::Permission>, required = true)
    )]
    pub permissions: Vec<String>,
    /// When the token expires, if it does.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Present and true when the token was presented by a secret that a rotation replaced and
    /// that still works for its grace period: whoever holds it should move to the new secret.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retiring: bool,
    /// Present when the token (or its API user) is held to `allowed_ips`: true when the
    /// question's `client_ip` was judged against them (and allowed), false when the question gave
    /// no address, so none was judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_checked: Option<bool>,
    /// Present when the token (or its API user) is held to rate limits: where this question
    /// left the tightest of them (with `rate_limited`: the one that is used up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitState>,
}

/// Where a token stands against one of its rate limits, as the `RateLimit-*` headers say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateLimitState {
    /// The limit's size per window.
    pub limit: u32,
    /// What is left of it in this window.
    pub remaining: u32,
    /// Seconds until the window ends.
    pub reset: u32,
}

/// The question of `POST /api/v1/auth/check`: may the caller (the token the request presents,
/// or an anonymous caller) do `permission` on `resource` in `workspace`?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CheckRequestJson))]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The workspace, by slug or id.
    pub workspace: String,
    /// The permission asked about, e.g. `devices:write`.
    pub permission: String,
    /// The concrete resource, e.g. `device:thermostat-7`.
    #[serde(default)]
    pub resource: Option<String>,
}

/// The answer of `POST /api/v1/auth/check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CheckJson))]
pub struct CheckAnswer {
    /// True only with `code: "ok"`.
    pub allowed: bool,
    /// The class of the decision.
    pub code: Code,
    /// With `forbidden`: the permission, or the resource, that is missing.
    pub missing: Option<String>,
}

/// The outcome of a decision: `ok`, or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = DecisionCode))]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The answer is yes.
    Ok,
    /// The token is malformed, unknown, replaced by rotation or refresh, or its user is disabled.
    InvalidToken,
    /// The token has expired.
    TokenExpired,
    /// The token has been revoked.
    TokenRevoked,
    /// The token's user has no membership in the workspace (or the token's scope leaves it out),
    /// and the public role does not allow the request.
    NotAMember,
    /// The request is not allowed; the answer's `missing` says what is lacking.
    Forbidden,
    /// The token (or its API user) has an allow-list of addresses, and the client's address
    /// (`client_ip`) is not in it.
    IpNotAllowed,
    /// The token (or its API user) has used up one of its rate limits in the current window;
    /// the answer's `rate_limit` says when it resets.
    RateLimited,
    /// A code this version does not know (from a newer Keygate); treated as a refusal. Keygate
    /// never writes it.
    #[serde(other, skip_serializing)]
    Unknown,
}

impl Code {
    /// The code as it is written on the wire, e.g. `not_a_member`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "ok",
            Code::InvalidToken => "invalid_token",
            Code::TokenExpired => "token_expired",
            Code::TokenRevoked => "token_revoked",
            Code::NotAMember => "not_a_member",
            Code::Forbidden => "forbidden",
            Code::IpNotAllowed => "ip_not_allowed",
            Code::RateLimited => "rate_limited",
            Code::Unknown => "unknown",
        }
    }
}

/// A Keygate user: a person (`kind: "human"`) or an API user (`kind: "api"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UserJson))]
pub struct User {
    /// The id.
    pub id: Uuid,
    /// `human` or `api`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::UserKind))]
    pub kind: String,
    /// The email address; `null` for an API user.
    pub email: Option<String>,
    /// The name shown for the user; an API user's name.
    pub display_name: String,
    /// Whether the user administers the whole instance.
    pub is_instance_admin: bool,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
}

/// A Keygate workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WorkspaceJson))]
pub struct Workspace {
    /// The id.
    pub id: Uuid,
    /// The slug, which names the workspace in URLs.
    pub slug: String,
    /// The display name.
    pub name: String,
    /// The longest lifetime, in days, of tokens that act in the workspace; `null` for no cap.
    #[serde(default)]
    pub max_token_lifetime_days: Option<u32>,
    /// When the workspace was created.
    pub created_at: DateTime<Utc>,
    /// When the workspace was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A workspace as seen by a member: with the member's roles in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = MembershipJson))]
pub struct Membership {
    /// The workspace.
    #[serde(flatten)]
    pub workspace: Workspace,
    /// The member's roles in it.
    pub roles: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_leaves_out_what_it_does_not_ask_and_refuses_unknown_fields() {
        let asked = VerifyRequest {
            token: Some("kgt_x".into()),
            workspace: Some("acme".into()),
            ..VerifyRequest::default()
        };
        let text = serde_json::to_string(&asked).expect("serialises");
        assert_eq!(text, r#"{"token":"kgt_x","workspace":"acme"}"#);
        assert_eq!(
            serde_json::from_str::<VerifyRequest>(&text).expect("parses"),
            asked
        );
        assert!(serde_json::from_str::<VerifyRequest>(r#"{"tokn":"x"}"#).is_err());
    }

    #[test]
    fn a_request_never_prints_its_token() {
        let asked = VerifyRequest {
            token: Some("kgt_secret".into()),
            ..VerifyRequest::default()
        };
        let printed = format!("{asked:?}");
        assert!(!printed.contains("kgt_secret"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }

    #[test]
    fn an_answer_reads_with_fields_missing_or_unknown_and_codes_it_does_not_know() {
        let answer: VerifyAnswer = serde_json::from_str(
            r#"{"valid":false,"code":"quota_exceeded_v9","user":null,"later":1}"#,
        )
        .expect("parses");
        assert_eq!(answer.code, Code::Unknown);
        assert!(answer.permissions.is_empty() && answer.workspaces.is_empty());
        for code in [
            Code::Ok,
            Code::InvalidToken,
            Code::TokenExpired,
            Code::TokenRevoked,
            Code::NotAMember,
            Code::Forbidden,
            Code::IpNotAllowed,
            Code::RateLimited,
        ] {
            let written = serde_json::to_string(&code).expect("serialises");
            assert_eq!(written, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<Code>(&written).ok(), Some(code));
        }
    }
}
