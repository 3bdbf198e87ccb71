//! Rows as the databases return them, and their conversion to domain types.

use keygate_domain::{
    Email, Membership, PermissionSet, Role, Slug, Token, TokenKind, User, UserKind, Workspace,
};
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;
use crate::time::Ts;

fn corrupt(what: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value}"))
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    kind: String,
    email: Option<String>,
    display_name: String,
    workspace_id: Option<Uuid>,
    is_instance_admin: bool,
    disabled_at: Option<Ts>,
    created_at: Ts,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: r.id,
            kind: UserKind::parse(&r.kind).ok_or_else(|| corrupt("user kind", &r.kind))?,
            email: r
                .email
                .map(|e| Email::parse(&e).map_err(|err| corrupt("user email", err)))
                .transpose()?,
            display_name: r.display_name,
            workspace_id: r.workspace_id,
            is_instance_admin: r.is_instance_admin,
            disabled_at: r.disabled_at.map(|t| t.0),
            created_at: r.created_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct WorkspaceRow {
    id: Uuid,
    slug: String,
    name: String,
    created_at: Ts,
    updated_at: Ts,
}

impl TryFrom<WorkspaceRow> for Workspace {
    type Error = StoreError;
    fn try_from(r: WorkspaceRow) -> Result<Self, StoreError> {
        Ok(Workspace {
            id: r.id,
            slug: Slug::parse(&r.slug).map_err(|e| corrupt("workspace slug", e))?,
            name: r.name,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

/// One row per (membership, role) pair; role columns are NULL for a membership without roles.
#[derive(sqlx::FromRow)]
pub(crate) struct MembershipRow {
    #[sqlx(flatten)]
    workspace: WorkspaceRow,
    role_id: Option<Uuid>,
    role_name: Option<String>,
    role_description: Option<String>,
    role_permissions: Option<Json<PermissionSet>>,
    role_builtin: Option<bool>,
}

/// Groups rows ordered by workspace into memberships.
pub(crate) fn memberships(rows: Vec<MembershipRow>) -> Result<Vec<Membership>, StoreError> {
    let mut out: Vec<Membership> = Vec::new();
    for row in rows {
        let workspace_id = row.workspace.id;
        if out.last().is_none_or(|m| m.workspace.id != workspace_id) {
            out.push(Membership {
                workspace: row.workspace.try_into()?,
                roles: Vec::new(),
            });
        }
        if let (Some(id), Some(name), Some(Json(permissions))) =
            (row.role_id, row.role_name, row.role_permissions)
            && let Some(m) = out.last_mut()
        {
            m.roles.push(Role {
                id,
                workspace_id,
                name,
                description: row.role_description,
                permissions,
                builtin: row.role_builtin.unwrap_or(false),
            });
        }
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    name: Option<String>,
    description: Option<String>,
    hint: String,
    created_at: Ts,
    expires_at: Option<Ts>,
    last_used_at: Option<Ts>,
    last_used_ip: Option<String>,
    revoked_at: Option<Ts>,
    rotated_at: Option<Ts>,
}

impl TryFrom<TokenRow> for Token {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Self, StoreError> {
        Ok(Token {
            id: r.id,
            user_id: r.user_id,
            kind: TokenKind::parse(&r.kind).ok_or_else(|| corrupt("token kind", &r.kind))?,
            name: r.name,
            description: r.description,
            hint: r.hint,
            created_at: r.created_at.0,
            expires_at: r.expires_at.map(|t| t.0),
            last_used_at: r.last_used_at.map(|t| t.0),
            last_used_ip: r.last_used_ip,
            revoked_at: r.revoked_at.map(|t| t.0),
            rotated_at: r.rotated_at.map(|t| t.0),
        })
    }
}
