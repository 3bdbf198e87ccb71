//! Decisions: `POST /api/v1/verify` for other services (the token is in the body, or absent for
//! an anonymous caller) and `POST /api/v1/auth/check` for the caller's own token. Both answer 200
//! for a well-formed request.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use keygate_domain::{Email, Membership, Permission, User, UserKind, Workspace, WorkspaceRights};
use serde::Serialize;
use uuid::Uuid;

use super::json::{CheckJson, CheckRequestJson, VerifyJson, VerifyRequestJson};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Json, MaybeCaller};
use crate::api::openapi::{BadRequest, PayloadTooLarge, Unavailable, UnsupportedMediaType};
use crate::service::{Actor, Question, ServiceError, WorkspaceRef};

fn question(
    workspace: Option<&str>,
    permission: Option<&str>,
    resource: Option<String>,
) -> Result<Question, ApiError> {
    let permission = permission
        .map(Permission::parse)
        .transpose()
        .map_err(ServiceError::from)?;
    Ok(Question {
        workspace: workspace.map(WorkspaceRef::parse),
        permission,
        resource,
    })
}

/// Verifies a token for another service.
///
/// Is this token valid, and may its holder do `permission` on `resource` in `workspace`? The token
/// travels in the body; no token asks about an anonymous caller (the workspace's public role).
/// Every well-formed request gets a 200: a refusal has `valid: false` and a `code`.
#[utoipa::path(
    post,
    path = "/verify",
    operation_id = "verify",
    tag = "decisions",
    security(()),
    request_body(
        content = VerifyRequestJson,
        description = "The token to decide about (absent for an anonymous caller), and optionally the workspace, permission and resource asked about",
        examples(
            ("Token with permission on a resource" = (
                value = json!({
                    "token": "kgt_<the token your caller presented>",
                    "workspace": "acme",
                    "permission": "devices:read",
                    "resource": "device:thermostat-7"
                })
            )),
            ("Token only" = (
                summary = "Is this token valid, and who is it?",
                value = json!({"token": "kgt_<the token your caller presented>"})
            )),
            ("Anonymous caller" = (
                summary = "What may anyone do here? The workspace's public role decides",
                value = json!({"workspace": "acme", "permission": "devices:read"})
            ))
        )
    ),
    responses(
        (status = 200, description = "The decision, for every well-formed request: `valid` is true only with `code: ok`", body = VerifyJson,
            examples(
                ("Allowed" = (value = json!({
                    "valid": true,
                    "code": "ok",
                    "user": {
                        "id": "0190f5a6-0000-7000-8000-0000000000a1",
                        "kind": "api",
                        "email": null,
                        "display_name": "ingest",
                        "is_instance_admin": false,
                        "created_at": "2025-01-15T10:00:00Z"
                    },
                    "workspace": {
                        "id": "0190f5a6-0000-7000-8000-000000000001",
                        "slug": "acme",
                        "name": "Acme Corp",
                        "created_at": "2025-01-01T09:00:00Z",
                        "updated_at": "2025-01-01T09:00:00Z"
                    },
                    "workspaces": [{
                        "id": "0190f5a6-0000-7000-8000-000000000001",
                        "slug": "acme",
                        "name": "Acme Corp",
                        "created_at": "2025-01-01T09:00:00Z",
                        "updated_at": "2025-01-01T09:00:00Z",
                        "roles": ["viewer"]
                    }],
                    "token_id": "0190f5a6-3c1e-7b7a-9a52-6f1d2c3b4a59",
                    "permissions": ["devices:read"],
                    "expires_at": null
                }))),
                ("Forbidden" = (value = json!({
                    "valid": false,
                    "code": "forbidden",
                    "missing": "devices:write",
                    "user": null,
                    "workspace": null,
                    "workspaces": [],
                    "token_id": null,
                    "permissions": [],
                    "expires_at": null
                }))),
                ("Expired token" = (value = json!({
                    "valid": false,
                    "code": "token_expired",
                    "user": null,
                    "workspace": null,
                    "workspaces": [],
                    "token_id": null,
                    "permissions": [],
                    "expires_at": null
                })))
            )),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    Json(body): Json<VerifyRequestJson>,
) -> Result<Response, ApiError> {
    let token = body.token.as_deref().map(str::trim);
    if token.is_none() && body.workspace.is_none() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "give a token, a workspace, or both (no token asks about an anonymous caller)",
        ));
    }
    let question = question(
        body.workspace.as_deref(),
        body.permission.as_deref(),
        body.resource,
    )?;
    let decision = state.keygate.decide(token, &question).await?;
    let actor = decision.actor.as_ref();
    // The caller's workspaces, for the answer (the decision itself does not need them): the
    // cached list, of which the token's scope may leave some out.
    let memberships = match actor {
        Some(a) => Some((a, state.keygate.memberships(&a.user).await?)),
        None => None,
    };
    let memberships = Memberships {
        of: memberships.as_ref().map(|(a, all)| (*a, all.as_slice())),
    };
    let answer = VerifyAnswer {
        valid: decision.refusal.is_none(),
        code: decision.refusal.as_ref().map_or("ok", |r| r.code()),
        missing: decision.refusal.as_ref().and_then(|r| r.missing()),
        user: actor.map(|a| UserAnswer::from(&*a.user)),
        // The workspace is named back only to its members.
        workspace: decision
            .workspace
            .as_deref()
            .filter(|ws| memberships.iter().any(|m| m.workspace.id == ws.id))
            .map(WorkspaceAnswer::from),
        token_id: actor.and_then(|a| a.token.as_ref()).map(|t| t.id),
        permissions: Held(decision.rights.as_deref()),
        expires_at: actor
            .and_then(|a| a.token.as_ref())
            .and_then(|t| t.expires_at),
        workspaces: memberships,
    };
    Ok(json_response(&answer))
}

/// A JSON answer written in one go into a buffer sized for a typical decision.
fn json_response(value: &impl Serialize) -> Response {
    let mut buf = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            buf,
        )
            .into_response(),
        Err(e) => ApiError::Service(ServiceError::internal(format!(
            "could not write the answer: {e}"
        )))
        .into_response(),
    }
}

/// [`VerifyJson`] as it is written: the same fields in the same order, borrowed from the decision
/// and the cached memberships instead of copied out of them.
#[derive(Serialize)]
struct VerifyAnswer<'a> {
    valid: bool,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<&'a str>,
    user: Option<UserAnswer<'a>>,
    workspace: Option<WorkspaceAnswer<'a>>,
    workspaces: Memberships<'a>,
    token_id: Option<Uuid>,
    permissions: Held<'a>,
    #[serde(serialize_with = "optional_timestamp")]
    expires_at: Option<DateTime<Utc>>,
}

/// The permissions the rights hold (`WorkspaceRights::permissions`: the public role's and the
/// member's, sorted, each once), written from the two sets without building a third.
struct Held<'a>(Option<&'a WorkspaceRights>);

impl Serialize for Held<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(None)?;
        let Some(rights) = self.0 else {
            return seq.end();
        };
        let mut public = rights.public.permissions.iter().peekable();
        let mut member = rights
            .member
            .iter()
            .flat_map(|m| m.permissions.iter())
            .peekable();
        loop {
            let next = match (public.peek(), member.peek()) {
                (None, None) => break,
                (Some(_), None) => public.next(),
                (None, Some(_)) => member.next(),
                (Some(p), Some(m)) => match p.cmp(m) {
                    std::cmp::Ordering::Less => public.next(),
                    std::cmp::Ordering::Greater => member.next(),
                    std::cmp::Ordering::Equal => {
                        member.next();
                        public.next()
                    }
                },
            };
            seq.serialize_element(&next)?;
        }
        seq.end()
    }
}

/// A timestamp as chrono's `Serialize` writes it (RFC 3339, `Z`, as many fraction digits as
/// needed), handed to the serializer as one string: chrono's own implementation writes it piece
/// by piece, and serde_json escapes every piece.
fn timestamp<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0; RFC3339_MAX];
    match rfc3339(at, &mut buf) {
        Some(text) => s.serialize_str(text),
        None => s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// The longest text [`rfc3339`] writes: `2025-01-15T10:00:00.123456789Z`.
const RFC3339_MAX: usize = 30;

/// `at` as `to_rfc3339_opts(SecondsFormat::AutoSi, true)` writes it, into `buf` without
/// formatting machinery or allocation; `None` for what only chrono writes (years outside
/// 0–9999, leap seconds).
fn rfc3339<'b>(at: &DateTime<Utc>, buf: &'b mut [u8; RFC3339_MAX]) -> Option<&'b str> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let digits = |buf: &mut [u8; RFC3339_MAX], at: usize, value: u32, width: usize| {
        let mut value = value;
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    digits(buf, 0, year, 4);
    buf[4] = b'-';
    digits(buf, 5, at.month(), 2);
    buf[7] = b'-';
    digits(buf, 8, at.day(), 2);
    buf[10] = b'T';
    digits(buf, 11, at.hour(), 2);
    buf[13] = b':';
    digits(buf, 14, at.minute(), 2);
    buf[16] = b':';
    digits(buf, 17, at.second(), 2);
    let mut len = 19;
    let fraction = match nanos {
        0 => None,
        n if n % 1_000_000 == 0 => Some((n / 1_000_000, 3)),
        n if n % 1_000 == 0 => Some((n / 1_000, 6)),
        n => Some((n, 9)),
    };
    if let Some((value, width)) = fraction {
        buf[len] = b'.';
        digits(buf, len + 1, value, width);
        len += 1 + width;
    }
    buf[len] = b'Z';
    std::str::from_utf8(&buf[..=len]).ok()
}

fn optional_timestamp<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => timestamp(at, s),
        None => s.serialize_none(),
    }
}

/// [`super::json::UserJson`], borrowed.
#[derive(Serialize)]
struct UserAnswer<'a> {
    id: Uuid,
    kind: UserKind,
    email: Option<&'a str>,
    display_name: &'a str,
    is_instance_admin: bool,
    #[serde(serialize_with = "timestamp")]
    created_at: DateTime<Utc>,
}

impl<'a> From<&'a User> for UserAnswer<'a> {
    fn from(u: &'a User) -> Self {
        Self {
            id: u.id,
            kind: u.kind,
            email: u.email.as_ref().map(Email::as_str),
            display_name: &u.display_name,
            is_instance_admin: u.is_instance_admin,
            created_at: u.created_at,
        }
    }
}

/// [`super::json::WorkspaceJson`], borrowed.
#[derive(Serialize)]
struct WorkspaceAnswer<'a> {
    id: Uuid,
    slug: &'a str,
    name: &'a str,
    max_token_lifetime_days: Option<u32>,
    #[serde(serialize_with = "timestamp")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp")]
    updated_at: DateTime<Utc>,
}

impl<'a> From<&'a Workspace> for WorkspaceAnswer<'a> {
    fn from(w: &'a Workspace) -> Self {
        Self {
            id: w.id,
            slug: w.slug.as_str(),
            name: &w.name,
            max_token_lifetime_days: w.max_token_lifetime_days,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// [`super::json::MembershipJson`], borrowed: the workspace's fields, then the member's role names.
#[derive(Serialize)]
struct MembershipAnswer<'a> {
    id: Uuid,
    slug: &'a str,
    name: &'a str,
    max_token_lifetime_days: Option<u32>,
    #[serde(serialize_with = "timestamp")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp")]
    updated_at: DateTime<Utc>,
    roles: &'a [String],
}

impl<'a> From<&'a Membership> for MembershipAnswer<'a> {
    fn from(m: &'a Membership) -> Self {
        let w = &m.workspace;
        Self {
            id: w.id,
            slug: w.slug.as_str(),
            name: &w.name,
            max_token_lifetime_days: w.max_token_lifetime_days,
            created_at: w.created_at,
            updated_at: w.updated_at,
            roles: &m.roles,
        }
    }
}

/// The caller's memberships that their token's scope admits.
struct Memberships<'a> {
    of: Option<(&'a Actor, &'a [Membership])>,
}

impl<'a> Memberships<'a> {
    fn iter(&self) -> impl Iterator<Item = &'a Membership> + use<'a> {
        let (actor, all) = self.of.unzip();
        all.unwrap_or_default()
            .iter()
            .filter(move |m| actor.is_some_and(|a| a.scope_admits(m.workspace.id)))
    }
}

impl Serialize for Memberships<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(MembershipAnswer::from))
    }
}

/// May the caller do this?
///
/// May the caller (the token presented, or an anonymous caller without one) do `permission` on
/// `resource` in `workspace`? Answers 200 for a well-formed request.
#[utoipa::path(
    post,
    path = "/auth/check",
    operation_id = "check",
    tag = "decisions",
    security((), ("bearer" = []), ("token" = []), ("api_key" = []), ("x_api_key" = [])),
    request_body(
        content = CheckRequestJson,
        example = json!({"workspace": "acme", "permission": "devices:write", "resource": "device:thermostat-7"})
    ),
    responses(
        (status = 200, description = "The answer", body = CheckJson, example = json!({"allowed": false, "code": "forbidden", "missing": "devices:write"})),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
pub async fn check(
    State(state): State<AppState>,
    MaybeCaller(actor): MaybeCaller,
    Json(body): Json<CheckRequestJson>,
) -> Result<axum::Json<CheckJson>, ApiError> {
    let question = question(Some(&body.workspace), Some(&body.permission), body.resource)?;
    let decision = state.keygate.decide_for(actor.as_ref(), &question).await?;
    Ok(axum::Json(CheckJson {
        allowed: decision.refusal.is_none(),
        code: decision.refusal.as_ref().map_or("ok", |r| r.code()),
        missing: decision
            .refusal
            .as_ref()
            .and_then(|r| r.missing())
            .map(str::to_owned),
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use keygate_domain::{PermissionSet, Rights, Slug, Token, TokenKind};

    use super::super::json::{MembershipJson, UserJson, WorkspaceJson};
    use super::*;

    fn workspace(slug: &str) -> Workspace {
        let at = DateTime::UNIX_EPOCH;
        Workspace {
            id: Uuid::now_v7(),
            slug: Slug::parse(slug).expect("slug"),
            name: format!("The \"{slug}\" workspace"),
            max_token_lifetime_days: Some(30),
            created_at: at + chrono::Duration::milliseconds(250),
            updated_at: at + chrono::Duration::microseconds(1_000_250),
        }
    }

    /// The borrowed answer is written exactly as `VerifyJson`, the documented type.
    #[test]
    fn the_answer_is_written_as_verify_json() {
        // Whole seconds, and fractions of each length chrono writes.
        let at = DateTime::UNIX_EPOCH;
        let user = User {
            id: Uuid::now_v7(),
            kind: UserKind::Human,
            email: Some(Email::parse("ann@example.com").expect("email")),
            display_name: "Ann".into(),
            description: None,
            workspace_id: None,
            is_instance_admin: false,
            disabled_at: None,
            created_at: at + chrono::Duration::days(400),
        };
        let token = Token {
            id: Uuid::now_v7(),
            user_id: user.id,
            kind: TokenKind::User,
            name: None,
            description: None,
            hint: "abcd".into(),
            created_at: at,
            expires_at: Some(at + chrono::Duration::nanoseconds(86_400_000_000_007)),
            last_used_at: None,
            last_used_ip: None,
            revoked_at: None,
            rotated_at: None,
            scope: None,
        };
        let (a, b) = (workspace("acme"), workspace("beta"));
        let memberships = vec![
            Membership {
                roles: vec!["owner".into(), "viewer".into()],
                workspace: a.clone(),
            },
            Membership {
                roles: vec![],
                workspace: b,
            },
        ];
        let actor = Actor {
            user: Arc::new(user),
            token: Some(token.into()),
            ip: None,
        };
        let set = |names: &[&str]| -> PermissionSet {
            names
                .iter()
                .map(|p| Permission::parse(p).expect("permission"))
                .collect()
        };
        // The member's permissions and the public role's overlap: each is written once, sorted.
        let rights = WorkspaceRights {
            member: Some(Rights::of_member(
                [&set(&["devices:read", "*:write", "zones:read"])],
                &[],
                &[],
            )),
            public: Rights::of_member([&set(&["devices:read", "alerts:read"])], &[], &[]),
        };
        let permissions = rights.permissions();
        assert_eq!(permissions.iter().count(), 4);
        let expected = VerifyJson {
            valid: false,
            code: "forbidden",
            missing: Some("devices:delete".into()),
            user: Some(UserJson::from(&*actor.user)),
            workspace: Some(WorkspaceJson::from(&a)),
            workspaces: memberships.iter().map(MembershipJson::from).collect(),
            token_id: actor.token.as_ref().map(|t| t.id),
            permissions: permissions.iter().cloned().collect(),
            expires_at: actor.token.as_ref().and_then(|t| t.expires_at),
        };
        let answer = VerifyAnswer {
            valid: false,
            code: "forbidden",
            missing: Some("devices:delete"),
            user: Some(UserAnswer::from(&*actor.user)),
            workspace: Some(WorkspaceAnswer::from(&a)),
            workspaces: Memberships {
                of: Some((&actor, &memberships)),
            },
            token_id: actor.token.as_ref().map(|t| t.id),
            permissions: Held(Some(&rights)),
            expires_at: actor.token.as_ref().and_then(|t| t.expires_at),
        };
        assert_eq!(
            serde_json::to_string(&answer).expect("answer"),
            serde_json::to_string(&expected).expect("expected")
        );

        let anonymous = VerifyJson {
            valid: true,
            code: "ok",
            missing: None,
            user: None,
            workspace: None,
            workspaces: Vec::new(),
            token_id: None,
            permissions: Vec::new(),
            expires_at: None,
        };
        let answer = VerifyAnswer {
            valid: true,
            code: "ok",
            missing: None,
            user: None,
            workspace: None,
            workspaces: Memberships { of: None },
            token_id: None,
            permissions: Held(None),
            expires_at: None,
        };
        assert_eq!(
            serde_json::to_string(&answer).expect("answer"),
            serde_json::to_string(&anonymous).expect("expected")
        );
    }

    proptest! {
        #[test]
        fn timestamps_are_written_as_chrono_writes_them(
            micros in -62_135_596_800_000_000i64..253_402_300_799_999_999i64,
            extra_nanos in 1u32..1000,
            precision in 0u8..4,
        ) {
            let at = DateTime::from_timestamp_micros(micros).expect("in range");
            // Whole seconds, milliseconds, microseconds and nanoseconds, each as chrono shortens
            // it.
            let nanos = chrono::Timelike::nanosecond(&at);
            let nanos = match precision {
                0 => 0,
                1 => nanos / 1_000_000 * 1_000_000,
                2 => nanos,
                _ => nanos + extra_nanos,
            };
            let at = chrono::Timelike::with_nanosecond(&at, nanos).expect("valid");
            let mut buf = [0; RFC3339_MAX];
            let ours = rfc3339(&at, &mut buf).expect("a year from 0 to 9999");
            prop_assert_eq!(ours, at.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
    }
}
