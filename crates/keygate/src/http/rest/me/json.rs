//! Wire types of `/auth/me`: the caller, the token in use, and the invitations addressed to them.

use chrono::{DateTime, Utc};
use keygate_domain::{ResourcePattern, Scope, Token, TokenKind};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::openapi as doc;
use crate::http::rest::admin::json::UserJson;
use crate::http::rest::workspaces::json::{MembershipJson, WorkspaceJson, workspace_json};
use crate::service::PendingForMe;

/// The token the caller is using, as `/auth/me` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentTokenJson {
    pub id: Uuid,
    #[schema(value_type = doc::TokenKind)]
    pub kind: TokenKind,
    pub name: Option<String>,
    pub hint: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// `null` for a token with all of its user's rights.
    #[schema(value_type = Option<doc::Scope>)]
    pub scope: Option<Scope>,
}

impl From<&Token> for CurrentTokenJson {
    fn from(t: &Token) -> Self {
        Self {
            id: t.id,
            kind: t.kind,
            name: t.name.clone(),
            hint: t.hint.clone(),
            expires_at: t.expires_at,
            scope: t.scope.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeJson {
    pub user: UserJson,
    pub token: CurrentTokenJson,
    pub workspaces: Vec<MembershipJson>,
    /// Pending invitations addressed to the caller's email (empty for a token limited to some
    /// workspaces, and for API users).
    pub invitations: Vec<MyInvitationJson>,
}

/// A pending invitation addressed to the caller's email. Accept it with
/// `POST /api/v1/invitations/{id}/accept` and the caller's token.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyInvitationJson {
    pub id: Uuid,
    pub workspace: WorkspaceJson,
    pub roles: Vec<String>,
    #[schema(value_type = Vec<doc::ResourcePattern>)]
    pub grants: Vec<ResourcePattern>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<&PendingForMe> for MyInvitationJson {
    fn from(p: &PendingForMe) -> Self {
        Self {
            id: p.invitation.id,
            workspace: workspace_json(&p.workspace),
            roles: p.invitation.roles.clone(),
            grants: p.invitation.grants.clone(),
            created_at: p.invitation.created_at,
            expires_at: p.invitation.expires_at,
        }
    }
}
