//! Wire types of tokens: a token as listed, the one answer with its secret, and what creating one
//! takes. API users' tokens, workspace tokens and the admin's view of a user's tokens use them too.

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::{DateTime, Utc};
use keygate_domain::{
    AllowedIps, ClearToken, RateLimit, RateLimits, RetiringSecret, Scope, Token, TokenKind,
    TokenStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::openapi as doc;
use crate::service::{Expiry, NewTokenRequest, ScopeRequest, TokenPatchRequest, TokenView};

/// A token as listed: never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenJson {
    pub id: Uuid,
    #[schema(value_type = doc::TokenKind)]
    pub kind: TokenKind,
    pub name: Option<String>,
    pub description: Option<String>,
    pub hint: String,
    #[schema(value_type = doc::TokenStatus)]
    pub status: TokenStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    /// `null` for a token with all of its user's rights.
    #[schema(value_type = Option<doc::Scope>)]
    pub scope: Option<Scope>,
    /// On a token's own page (`GET /api/v1/tokens/{id}`): the secret its latest rotation with a
    /// grace period replaced, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_secret: Option<RetiringSecretJson>,
    /// Where and when it was reported leaked; `null` while it was not.
    pub leak: Option<LeakJson>,
    /// Networks (CIDR) the token may be used from; `null` for anywhere (an API user's own
    /// `allowed_ips` apply to all its tokens as well).
    #[schema(example = json!(["203.0.113.0/24", "2001:db8::/32"]))]
    pub allowed_ips: Option<Vec<String>>,
    /// How often the token may be used; `null` for no limit of its own (an API user's own
    /// `rate_limits` count all its tokens together as well).
    pub rate_limits: Option<Vec<RateLimitJson>>,
}

/// A named rate limit: at most `limit` (the sum of the requests' costs, 1 each but for
/// `verify`'s `cost`) in each window of `per_seconds`, windows starting at multiples of
/// `per_seconds` since the epoch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "RateLimit", input_name = "RateLimitInput")]
#[schema(example = json!({"name": "default", "limit": 100, "per_seconds": 60}))]
pub struct RateLimitJson {
    /// 1–32 of `a-z`, `0-9`, `_` and `-`; unique among the token's.
    pub name: String,
    /// 1 to 1 000 000 000.
    pub limit: u32,
    /// The window, in seconds: 1 to 86400.
    pub per_seconds: u32,
}

impl From<&RateLimit> for RateLimitJson {
    fn from(l: &RateLimit) -> Self {
        Self {
            name: l.name.clone(),
            limit: l.limit,
            per_seconds: l.per_seconds,
        }
    }
}

same_fields!(RateLimitJson => RateLimit { name, limit, per_seconds });

/// The limits as the wire shows them.
pub fn rate_limits_json(limits: Option<&RateLimits>) -> Option<Vec<RateLimitJson>> {
    limits.map(|l| l.limits().iter().map(RateLimitJson::from).collect())
}

/// The limits as the service takes them.
pub fn rate_limits_request(limits: Option<Vec<RateLimitJson>>) -> Option<Vec<RateLimit>> {
    limits.map(|l| l.into_iter().map(RateLimit::from).collect())
}

/// A field of an update where `null` clears and absence keeps, as the service takes it.
pub fn change<T, U>(field: MaybeUndefined<T>, into: impl FnOnce(T) -> U) -> Option<Option<U>> {
    match field {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(into(v))),
    }
}

/// A report that a token leaked: the first report's time, the latest one's place and reporter.
#[derive(Debug, Clone, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "TokenLeak")]
pub struct LeakJson {
    pub at: DateTime<Utc>,
    /// Where it was found, when the report said.
    pub url: Option<String>,
    /// `github`, `gitlab` or `holder` (someone holding it revoked it).
    pub reporter: String,
}

/// A secret that a rotation with a grace period replaced: it works until `grace_seconds` after
/// the new secret's first use, never past `deadline`, and not after the overlap was ended.
#[derive(Debug, Clone, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "RetiringSecret")]
pub struct RetiringSecretJson {
    /// What may be shown of the replaced secret.
    pub hint: String,
    /// Whether it still works.
    pub working: bool,
    pub rotated_at: DateTime<Utc>,
    pub grace_seconds: u32,
    /// `null` until the new secret is first used; then that moment plus the grace period (or the
    /// deadline, if sooner).
    pub retires_at: Option<DateTime<Utc>>,
    /// The latest it works: seven days after the rotation, or the token's expiry if sooner.
    pub deadline: DateTime<Utc>,
    /// When the overlap was ended early (rotated again, revoked, user disabled, or by hand).
    pub ended_at: Option<DateTime<Utc>>,
    /// Requests it authenticated since the rotation (written in batches, up to seconds late).
    pub uses: u64,
    /// Requests it authenticated in the last hour.
    pub uses_last_hour: u64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
}

impl RetiringSecretJson {
    pub fn new(r: &RetiringSecret, now: DateTime<Utc>) -> Self {
        Self {
            hint: r.hint.clone(),
            working: now < r.works_until(),
            rotated_at: r.rotated_at,
            grace_seconds: r.grace_seconds,
            retires_at: r.retires_at,
            deadline: r.deadline,
            ended_at: r.ended_at,
            uses: r.uses,
            uses_last_hour: r.uses_last_hour,
            last_used_at: r.last_used_at,
            last_used_ip: r.last_used_ip.clone(),
        }
    }
}

/// Which of the caller's tokens to list (all of them, expired and revoked included, by default).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenQueryJson {
    /// Only tokens in this status.
    #[param(value_type = Option<doc::TokenStatus>, inline)]
    pub status: Option<TokenStatus>,
    /// Only active tokens that expire within this many days (1 to 3650).
    #[param(minimum = 1, maximum = 3650)]
    pub expiring_within_days: Option<u32>,
}

/// How a rotation treats the secret it replaces.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateJson {
    /// How long the old secret keeps working after the new one's first use, in seconds (0 to
    /// 86400). 0, the default: the old secret stops at once.
    #[serde(default)]
    pub grace_seconds: u32,
}

impl TokenJson {
    pub fn new(t: &Token, now: DateTime<Utc>) -> Self {
        Self {
            id: t.id,
            kind: t.kind,
            name: t.name.clone(),
            description: t.description.clone(),
            hint: t.hint.clone(),
            status: t.status(now),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            last_used_ip: t.last_used_ip.clone(),
            revoked_at: t.revoked_at,
            rotated_at: t.rotated_at,
            scope: t.scope.clone(),
            retiring_secret: None,
            leak: t.leak.as_ref().map(|l| LeakJson {
                at: l.at,
                url: l.url.clone(),
                reporter: l.reporter.clone(),
            }),
            allowed_ips: t.allowed_ips.as_ref().map(AllowedIps::to_strings),
            rate_limits: rate_limits_json(t.rate_limits.as_ref()),
        }
    }

    /// A token on its own page, with its replaced secret.
    pub fn of_view(view: &TokenView, now: DateTime<Utc>) -> Self {
        Self {
            retiring_secret: view
                .retiring
                .as_ref()
                .map(|r| RetiringSecretJson::new(r, now)),
            ..Self::new(&view.token, now)
        }
    }
}

/// The one response that carries a token in clear: after creation or rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenWithSecretJson {
    /// The secret. Shown this once; Keygate keeps only its digest.
    pub token: String,
    #[serde(flatten)]
    pub details: TokenJson,
}

impl TokenWithSecretJson {
    pub fn new(t: &Token, clear: ClearToken, now: DateTime<Utc>) -> Self {
        Self {
            token: clear.into_exposed(),
            details: TokenJson::new(t, now),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenListJson {
    pub tokens: Vec<TokenJson>,
}

/// A new token: of the caller (`createToken`) or of an API user (`createApiUserToken`).
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "CreateTokenInput")]
pub struct CreateTokenJson {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Lifetime in days from now; give this or `expiresAt`, not both.
    pub expires_in_days: Option<i64>,
    /// When the token stops working; give this or `expiresInDays`, not both.
    pub expires_at: Option<DateTime<Utc>>,
    /// What the token may do of its user's rights; left out, all of them.
    pub scope: Option<ScopeJson>,
    /// Networks (`10.0.0.0/8`, `2001:db8::/32`) or single addresses the token may be used from;
    /// left out, anywhere (a token made with a token held to an allow-list gets that list).
    #[schema(example = json!(["203.0.113.0/24"]))]
    pub allowed_ips: Option<Vec<String>>,
    /// How often the token may be used, at most 10 named limits; left out, no limit (a token
    /// made with a token held to limits gets them, and may only tighten them).
    pub rate_limits: Option<Vec<RateLimitJson>>,
}

/// Changes to a token; a field left out stays as it is.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "UpdateTokenInput")]
pub struct UpdateTokenJson {
    /// Networks or single addresses the token may be used from, replacing the current list;
    /// `null` lets it be used from anywhere. At most 100.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>, nullable, example = json!(["203.0.113.0/24"]))]
    pub allowed_ips: MaybeUndefined<Vec<String>>,
    /// How often the token may be used, replacing the current limits; `null`: no limit of its
    /// own. Counts in the current windows go on.
    #[serde(default)]
    #[schema(value_type = Option<Vec<RateLimitJson>>, nullable)]
    pub rate_limits: MaybeUndefined<Vec<RateLimitJson>>,
}

impl From<UpdateTokenJson> for TokenPatchRequest {
    fn from(body: UpdateTokenJson) -> Self {
        Self {
            allowed_ips: change(body.allowed_ips, |l| l),
            rate_limits: change(body.rate_limits, |l| {
                l.into_iter().map(RateLimit::from).collect()
            }),
        }
    }
}

impl TryFrom<CreateTokenJson> for NewTokenRequest {
    type Error = keygate_domain::ValidationError;

    fn try_from(body: CreateTokenJson) -> Result<Self, Self::Error> {
        Ok(Self {
            name: body.name,
            description: body.description,
            expiry: Expiry::from_parts(body.expires_in_days, body.expires_at)?,
            scope: body.scope.map(Into::into),
            allowed_ips: body.allowed_ips,
            rate_limits: rate_limits_request(body.rate_limits),
        })
    }
}

/// A token's narrowing; a dimension left out stays as the token's user holds it.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "ScopeInput")]
pub struct ScopeJson {
    /// Workspaces by id or slug.
    pub workspaces: Option<Vec<String>>,
    /// Permissions, or patterns such as `devices:*`.
    pub permissions: Option<Vec<String>>,
    /// Resource patterns such as `device:abc` or `device:site-3/*`.
    pub resources: Option<Vec<String>>,
}

same_fields!(ScopeJson => ScopeRequest { workspaces, permissions, resources });
