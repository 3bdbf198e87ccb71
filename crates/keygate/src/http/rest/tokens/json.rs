//! Wire types of tokens: a token as listed, the one answer with its secret, and what creating one
//! takes. API users' tokens, workspace tokens and the admin's view of a user's tokens use them too.

use async_graphql::InputObject;
use chrono::{DateTime, Utc};
use keygate_domain::{ClearToken, Scope, Token, TokenKind, TokenStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::openapi as doc;
use crate::service::{Expiry, NewTokenRequest, ScopeRequest};

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
}

impl TryFrom<CreateTokenJson> for NewTokenRequest {
    type Error = keygate_domain::ValidationError;

    fn try_from(body: CreateTokenJson) -> Result<Self, Self::Error> {
        Ok(Self {
            name: body.name,
            description: body.description,
            expiry: Expiry::from_parts(body.expires_in_days, body.expires_at)?,
            scope: body.scope.map(Into::into),
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

impl From<ScopeJson> for ScopeRequest {
    fn from(s: ScopeJson) -> Self {
        ScopeRequest {
            workspaces: s.workspaces,
            permissions: s.permissions,
            resources: s.resources,
        }
    }
}
