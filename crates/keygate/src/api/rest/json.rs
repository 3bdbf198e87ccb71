//! Wire types of the REST API: what requests carry and responses return.

use chrono::{DateTime, Utc};
use keygate_domain::{
    ClearToken, Membership, Token, TokenKind, TokenStatus, User, UserKind, Workspace,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize)]
pub struct UserJson {
    pub id: Uuid,
    pub kind: UserKind,
    pub email: Option<String>,
    pub display_name: String,
    pub is_instance_admin: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserJson {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            kind: u.kind,
            email: u.email.as_ref().map(ToString::to_string),
            display_name: u.display_name.clone(),
            is_instance_admin: u.is_instance_admin,
            created_at: u.created_at,
        }
    }
}

/// A token as listed: never the secret.
#[derive(Debug, Serialize)]
pub struct TokenJson {
    pub id: Uuid,
    pub kind: TokenKind,
    pub name: Option<String>,
    pub description: Option<String>,
    pub hint: String,
    pub status: TokenStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
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
        }
    }
}

/// The one response that carries a token in clear: after creation or rotation.
#[derive(Debug, Serialize)]
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

#[derive(Debug, Serialize)]
pub struct TokenListJson {
    pub tokens: Vec<TokenJson>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenJson {
    pub name: Option<String>,
    pub description: Option<String>,
    pub expires_in_days: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct WorkspaceJson {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Workspace> for WorkspaceJson {
    fn from(w: &Workspace) -> Self {
        Self {
            id: w.id,
            slug: w.slug.to_string(),
            name: w.name.clone(),
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A workspace as seen by a member: with the member's roles in it.
#[derive(Debug, Serialize)]
pub struct MembershipJson {
    #[serde(flatten)]
    pub workspace: WorkspaceJson,
    pub roles: Vec<String>,
}

impl From<&Membership> for MembershipJson {
    fn from(m: &Membership) -> Self {
        Self {
            workspace: (&m.workspace).into(),
            roles: m.role_names(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct WorkspaceListJson {
    pub workspaces: Vec<MembershipJson>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspaceJson {
    pub slug: String,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchWorkspaceJson {
    pub slug: Option<String>,
    pub name: Option<String>,
}

/// The token the caller is using, as `/auth/me` shows it.
#[derive(Debug, Serialize)]
pub struct CurrentTokenJson {
    pub id: Uuid,
    pub kind: TokenKind,
    pub name: Option<String>,
    pub hint: String,
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<&Token> for CurrentTokenJson {
    fn from(t: &Token) -> Self {
        Self {
            id: t.id,
            kind: t.kind,
            name: t.name.clone(),
            hint: t.hint.clone(),
            expires_at: t.expires_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MeJson {
    pub user: UserJson,
    pub token: CurrentTokenJson,
    pub workspaces: Vec<MembershipJson>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequestJson {
    pub token: String,
}

/// The decision for another service. `valid: false` comes with a `code` and empty details.
#[derive(Debug, Serialize)]
pub struct VerifyJson {
    pub valid: bool,
    pub code: &'static str,
    pub user: Option<UserJson>,
    pub workspaces: Vec<MembershipJson>,
    pub token_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
}
