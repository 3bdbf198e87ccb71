//! Workspaces: created with their built-in roles and owner, found by id or slug, changed,
//! deleted, and the memberships that list a user's workspaces.

use chrono::{DateTime, Utc};
use keygate_domain::leak::LeakPolicy;
use keygate_domain::model::builtin_role;
use keygate_domain::{Membership, Permission, PermissionSet, Workspace};
use sqlx::types::Json;
use uuid::Uuid;

use super::members;
use super::query::{Pool, Tx, query};
use crate::rows::{self, MembershipRow};
use crate::time::Ts;
use crate::{NewMembership, NewWorkspace, Result, WorkspaceLookup, WorkspacePatch};

/// The columns of a [`WorkspaceRow`].
macro_rules! workspace_cols {
    () => {
        "id, slug, name, max_token_lifetime_days, created_at, updated_at"
    };
}

/// A user's memberships, one row per (membership, role), to be completed by a `WHERE`.
macro_rules! membership_select {
    () => {
        "SELECT w.id, w.slug, w.name, w.max_token_lifetime_days, w.created_at, w.updated_at, \
                r.name AS role_name \
         FROM members m \
         JOIN workspaces w ON w.id = m.workspace_id \
         LEFT JOIN member_roles mr ON mr.workspace_id = m.workspace_id AND mr.user_id = m.user_id \
         LEFT JOIN roles r ON r.id = mr.role_id "
    };
}

/// The workspace whose column `$by` is `$1`.
macro_rules! workspace_by {
    ($by:literal) => {
        concat!(
            "SELECT ",
            workspace_cols!(),
            " FROM workspaces WHERE ",
            $by,
            " = $1"
        )
    };
}

/// Creates the workspace with its built-in roles and `owner` as its owner.
pub(crate) async fn insert(tx: &mut Tx, new: &NewWorkspace, owner: Uuid) -> Result<Workspace> {
    let sql = concat!(
        "INSERT INTO workspaces (id, slug, name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING ",
        workspace_cols!()
    );
    let params = (new.id, new.slug.as_str(), &new.name, Ts(new.created_at));
    let workspace = query(sql, params).fetch_one(&mut *tx).await?;
    let mut owner_role = None;
    for (name, description, permissions) in builtin_role::ALL {
        let id = Uuid::now_v7();
        let permissions: PermissionSet = permissions
            .iter()
            .filter_map(|p| Permission::parse(p).ok())
            .collect();
        let sql = "INSERT INTO roles (id, workspace_id, name, description, permissions, \
                   builtin, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $6)";
        let params = (
            id,
            new.id,
            name,
            description,
            Json(permissions),
            Ts(new.created_at),
        );
        query(sql, params).execute(&mut *tx).await?;
        if name == builtin_role::OWNER {
            owner_role = Some(id);
        }
    }
    let membership = NewMembership {
        workspace_id: new.id,
        role_ids: owner_role.into_iter().collect(),
        grants: Vec::new(),
        team_ids: Vec::new(),
        created_at: new.created_at,
    };
    members::add(tx, owner, &membership).await?;
    Ok(workspace)
}

pub(crate) async fn find(pool: Pool<'_>, by: WorkspaceLookup<'_>) -> Result<Option<Workspace>> {
    match by {
        WorkspaceLookup::Id(id) => query(workspace_by!("id"), (id,)).fetch_optional(pool).await,
        WorkspaceLookup::Slug(slug) => {
            query(workspace_by!("slug"), (slug,))
                .fetch_optional(pool)
                .await
        }
    }
}

pub(crate) async fn update(
    tx: &mut Tx,
    id: Uuid,
    patch: &WorkspacePatch,
    now: DateTime<Utc>,
) -> Result<Option<Workspace>> {
    let sql = concat!(
        "UPDATE workspaces SET slug = COALESCE($2, slug), name = COALESCE($3, name), \
         max_token_lifetime_days = CASE WHEN $5 THEN $6 ELSE max_token_lifetime_days END, \
         updated_at = $4 WHERE id = $1 RETURNING ",
        workspace_cols!()
    );
    let max_token_lifetime_days = patch
        .max_token_lifetime_days
        .flatten()
        .map(|d| i32::try_from(d).unwrap_or(i32::MAX));
    let params = (
        id,
        patch.slug.as_ref().map(|s| s.as_str()),
        &patch.name,
        Ts(now),
        patch.max_token_lifetime_days.is_some(),
        max_token_lifetime_days,
    );
    query(sql, params).fetch_optional(tx).await
}

/// Deletes the workspace and everything in it.
pub(crate) async fn delete(tx: &mut Tx, id: Uuid) -> Result<bool> {
    let sql = "DELETE FROM workspaces WHERE id = $1";
    query(sql, (id,)).changed(tx).await
}

/// The user's memberships with their roles, ordered by workspace slug.
pub(crate) async fn memberships(pool: Pool<'_>, user_id: Uuid) -> Result<Vec<Membership>> {
    let sql = concat!(
        membership_select!(),
        "WHERE m.user_id = $1 ORDER BY w.slug, w.id, r.name"
    );
    let rows: Vec<MembershipRow> = query(sql, (user_id,)).fetch_all_rows(pool).await?;
    rows::memberships(rows)
}

pub(crate) async fn membership(
    pool: Pool<'_>,
    workspace_id: Uuid,
    user_id: Uuid,
) -> Result<Option<Membership>> {
    let sql = concat!(
        membership_select!(),
        "WHERE m.workspace_id = $1 AND m.user_id = $2 ORDER BY r.name"
    );
    let rows: Vec<MembershipRow> = query(sql, (workspace_id, user_id))
        .fetch_all_rows(pool)
        .await?;
    Ok(rows::memberships(rows)?.pop())
}

/// What the workspace does with a token of its that leaked.
pub(crate) async fn leak_policy(pool: Pool<'_>, id: Uuid) -> Result<LeakPolicy> {
    let sql = "SELECT leak_policy FROM workspaces WHERE id = $1";
    let found: Option<(String,)> = query(sql, (id,)).fetch_optional_row(pool).await?;
    Ok(found
        .and_then(|(p,)| LeakPolicy::parse(&p))
        .unwrap_or_default())
}

pub(crate) async fn set_leak_policy(tx: &mut Tx, id: Uuid, policy: LeakPolicy) -> Result<bool> {
    let sql = "UPDATE workspaces SET leak_policy = $2 WHERE id = $1";
    query(sql, (id, policy.as_str())).changed(tx).await
}
