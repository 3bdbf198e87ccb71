//! Members of a workspace: added with their roles, grants and teams, read with them, changed and
//! removed.

use keygate_domain::{Member, UserKind};
use uuid::Uuid;

use super::query::{Pool, Tx, query};
use super::roles::role_cols;
use super::{held, replace};
use crate::rows::{self, MemberRow, TeamOfRow};
use crate::time::Ts;
use crate::{MemberPatch, NewMembership, Result};

pub(crate) async fn add(tx: &mut Tx, user_id: Uuid, m: &NewMembership) -> Result<()> {
    let sql = "INSERT INTO members (workspace_id, user_id, created_at) VALUES ($1, $2, $3)";
    query(sql, (m.workspace_id, user_id, Ts(m.created_at)))
        .execute(&mut *tx)
        .await?;
    let lists = MemberPatch {
        role_ids: Some(m.role_ids.clone()),
        grants: Some(m.grants.clone()),
        team_ids: Some(m.team_ids.clone()),
    };
    update(tx, m.workspace_id, user_id, &lists).await?;
    Ok(())
}

/// Replaces the member's roles, grants and teams, each when the patch gives it; false when the
/// user is not a member. Roles and teams of another workspace are left out.
pub(crate) async fn update(
    tx: &mut Tx,
    workspace_id: Uuid,
    user_id: Uuid,
    patch: &MemberPatch,
) -> Result<bool> {
    let member = (workspace_id, user_id);
    let sql = "SELECT user_id FROM members WHERE workspace_id = $1 AND user_id = $2";
    let exists: Option<(Uuid,)> = query(sql, member).fetch_optional_row(&mut *tx).await?;
    if exists.is_none() {
        return Ok(false);
    }
    if let Some(role_ids) = &patch.role_ids {
        let clear = "DELETE FROM member_roles WHERE workspace_id = $1 AND user_id = $2";
        let insert = "INSERT INTO member_roles (workspace_id, user_id, role_id) \
                      SELECT $1, $2, id FROM roles WHERE id = $3 AND workspace_id = $1";
        let items = role_ids
            .iter()
            .map(|role_id| (workspace_id, user_id, role_id))
            .collect::<Vec<_>>();
        replace(tx, query(clear, member), insert, items).await?;
    }
    if let Some(grants) = &patch.grants {
        let clear = "DELETE FROM member_grants WHERE workspace_id = $1 AND user_id = $2";
        let insert = "INSERT INTO member_grants (workspace_id, user_id, pattern) \
                      VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        let items = grants
            .iter()
            .map(|p| (workspace_id, user_id, p.as_str()))
            .collect::<Vec<_>>();
        replace(tx, query(clear, member), insert, items).await?;
    }
    if let Some(team_ids) = &patch.team_ids {
        let clear = "DELETE FROM team_members WHERE workspace_id = $1 AND user_id = $2";
        let insert = "INSERT INTO team_members (team_id, workspace_id, user_id) \
                      SELECT id, $1, $2 FROM teams WHERE id = $3 AND workspace_id = $1";
        let items = team_ids
            .iter()
            .map(|team_id| (workspace_id, user_id, team_id))
            .collect::<Vec<_>>();
        replace(tx, query(clear, member), insert, items).await?;
    }
    Ok(true)
}

/// Holds the workspace's row until the transaction ends, so that changes to its members that
/// are checked against each other (the last owner) run one after the other. SQLite's write
/// transactions already do; on PostgreSQL this is a row lock.
pub(crate) async fn lock_workspace(tx: &mut Tx, workspace_id: Uuid) -> Result<()> {
    let sql = "UPDATE workspaces SET name = name WHERE id = $1";
    query(sql, (workspace_id,)).execute(&mut *tx).await?;
    Ok(())
}

/// Whether the workspace has a member with the built-in `owner` role, as the transaction sees it.
pub(crate) async fn has_owner(tx: &mut Tx, workspace_id: Uuid) -> Result<bool> {
    let sql = "SELECT mr.user_id FROM member_roles mr JOIN roles r ON r.id = mr.role_id \
               WHERE mr.workspace_id = $1 AND r.name = 'owner' AND r.builtin LIMIT 1";
    let owner: Option<(Uuid,)> = query(sql, (workspace_id,))
        .fetch_optional_row(&mut *tx)
        .await?;
    Ok(owner.is_some())
}

pub(crate) async fn remove(tx: &mut Tx, workspace_id: Uuid, user_id: Uuid) -> Result<bool> {
    let sql = "DELETE FROM members WHERE workspace_id = $1 AND user_id = $2";
    query(sql, (workspace_id, user_id)).changed(tx).await
}

/// Members of the workspace (only `user_id` when given, only users of `kind` when given) with
/// their roles, grants and teams.
pub(crate) async fn load(
    pool: Pool<'_>,
    workspace_id: Uuid,
    user_id: Option<Uuid>,
    kind: Option<UserKind>,
) -> Result<Vec<Member>> {
    let sql = "SELECT u.id, u.kind, u.email, u.display_name, u.description, u.workspace_id, \
                      u.is_instance_admin, u.disabled_at, u.created_at, u.allowed_ips, u.rate_limits, \
                      m.created_at AS joined_at \
               FROM members m JOIN users u ON u.id = m.user_id \
               WHERE m.workspace_id = $1 AND ($2 IS NULL OR m.user_id = $2) \
                 AND ($3 IS NULL OR u.kind = $3) \
               ORDER BY u.kind DESC, u.email, u.display_name, u.id";
    let params = (workspace_id, user_id, kind.map(UserKind::as_str));
    let rows: Vec<MemberRow> = query(sql, params).fetch_all_rows(pool).await?;
    let which = (workspace_id, user_id);
    let roles = concat!(
        "SELECT mr.user_id AS owner_id, ",
        role_cols!(),
        " FROM member_roles mr JOIN roles r ON r.id = mr.role_id \
         WHERE mr.workspace_id = $1 AND ($2 IS NULL OR mr.user_id = $2)"
    );
    let grants = "SELECT user_id AS owner_id, pattern FROM member_grants \
                  WHERE workspace_id = $1 AND ($2 IS NULL OR user_id = $2)";
    let held = held(pool, roles, grants, which).await?;
    let sql = "SELECT tm.user_id, t.id AS team_id, t.name AS team_name \
               FROM team_members tm JOIN teams t ON t.id = tm.team_id \
               WHERE tm.workspace_id = $1 AND ($2 IS NULL OR tm.user_id = $2)";
    let teams: Vec<TeamOfRow> = query(sql, which).fetch_all_rows(pool).await?;
    rows::members(rows, held, teams)
}
