//! Roles of a workspace: the built-in ones and those its managers create.

use chrono::{DateTime, Utc};
use keygate_domain::Role;
use sqlx::types::Json;
use uuid::Uuid;

use super::query::{Pool, Tx, query};
use crate::time::Ts;
use crate::{NewRole, Result, RolePatch};

/// The columns of a [`RoleRow`](crate::rows::RoleRow), of the roles aliased `r`.
macro_rules! role_cols {
    () => {
        "r.id, r.workspace_id, r.name, r.description, r.permissions, r.grants, r.builtin"
    };
}
pub(super) use role_cols;

/// The role columns unqualified, for `RETURNING` (SQLite does not take a table alias there).
macro_rules! role_returning {
    () => {
        "id, workspace_id, name, description, permissions, grants, builtin"
    };
}

/// The workspace's roles (only the one named `name` when given), the built-in ones first, by name.
pub(crate) async fn load(
    pool: Pool<'_>,
    workspace_id: Uuid,
    name: Option<&str>,
) -> Result<Vec<Role>> {
    let sql = select!(
        role_cols,
        "FROM roles r WHERE r.workspace_id = $1 AND ($2 IS NULL OR r.name = $2) \
         ORDER BY r.builtin DESC, r.name"
    );
    query(sql, (workspace_id, name)).fetch_all(pool).await
}

pub(crate) async fn insert(tx: &mut Tx, new: &NewRole) -> Result<Role> {
    let sql = concat!(
        "INSERT INTO roles (id, workspace_id, name, description, permissions, \
         builtin, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6) \
         RETURNING ",
        role_returning!()
    );
    let params = (
        new.id,
        new.workspace_id,
        &new.name,
        &new.description,
        Json(&new.permissions),
        Ts(new.created_at),
    );
    query(sql, params).fetch_one(tx).await
}

pub(crate) async fn update(
    tx: &mut Tx,
    workspace_id: Uuid,
    name: &str,
    patch: &RolePatch,
    now: DateTime<Utc>,
) -> Result<Option<Role>> {
    let sql = concat!(
        "UPDATE roles SET \
         description = CASE WHEN $3 THEN $4 ELSE description END, \
         permissions = COALESCE($5, permissions), \
         grants = CASE WHEN $6 THEN $7 ELSE grants END, \
         updated_at = $8 \
         WHERE workspace_id = $1 AND name = $2 RETURNING ",
        role_returning!()
    );
    let params = (
        workspace_id,
        name,
        patch.description.is_some(),
        patch.description.clone().flatten(),
        patch.permissions.as_ref().map(Json),
        patch.grants.is_some(),
        patch.grants.as_ref().map(Json),
        Ts(now),
    );
    query(sql, params).fetch_optional(tx).await
}

/// Deletes a role its managers created; the built-in roles stay.
pub(crate) async fn delete(tx: &mut Tx, workspace_id: Uuid, name: &str) -> Result<bool> {
    let sql = "DELETE FROM roles WHERE workspace_id = $1 AND name = $2 AND builtin = FALSE";
    query(sql, (workspace_id, name)).changed(tx).await
}
