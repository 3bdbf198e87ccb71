//! Teams of a workspace: their roles, grants and members.

use chrono::{DateTime, Utc};
use keygate_domain::Team;
use uuid::Uuid;

use super::query::{Pool, Tx, query};
use super::roles::role_cols;
use super::{held, replace};
use crate::rows::{self, TeamMemberRow, TeamRow};
use crate::time::Ts;
use crate::{NewTeam, Result, TeamPatch};

/// Teams of the workspace (only `id` when given), by name, with their roles, grants and members.
pub(crate) async fn load(
    pool: Pool<'_>,
    workspace_id: Uuid,
    id: Option<Uuid>,
) -> Result<Vec<Team>> {
    let which = (workspace_id, id);
    let sql = "SELECT id, workspace_id, name, description, created_at, updated_at FROM teams \
               WHERE workspace_id = $1 AND ($2 IS NULL OR id = $2) ORDER BY name";
    let rows: Vec<TeamRow> = query(sql, which).fetch_all_rows(pool).await?;
    let roles = concat!(
        "SELECT tr.team_id AS owner_id, ",
        role_cols!(),
        " FROM team_roles tr JOIN roles r ON r.id = tr.role_id \
         WHERE r.workspace_id = $1 AND ($2 IS NULL OR tr.team_id = $2)"
    );
    let grants = "SELECT tg.team_id AS owner_id, tg.pattern FROM team_grants tg \
                  JOIN teams t ON t.id = tg.team_id \
                  WHERE t.workspace_id = $1 AND ($2 IS NULL OR t.id = $2)";
    let held = held(pool, roles, grants, which).await?;
    let sql = "SELECT tm.team_id, tm.user_id FROM team_members tm \
               WHERE tm.workspace_id = $1 AND ($2 IS NULL OR tm.team_id = $2)";
    let members: Vec<TeamMemberRow> = query(sql, which).fetch_all_rows(pool).await?;
    Ok(rows::teams(rows, held, members))
}

pub(crate) async fn insert(tx: &mut Tx, new: &NewTeam) -> Result<()> {
    let sql = "INSERT INTO teams (id, workspace_id, name, description, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $5)";
    let params = (
        new.id,
        new.workspace_id,
        &new.name,
        &new.description,
        Ts(new.created_at),
    );
    query(sql, params).execute(&mut *tx).await?;
    let lists = TeamPatch {
        role_ids: Some(new.role_ids.clone()),
        grants: Some(new.grants.clone()),
        member_ids: Some(new.member_ids.clone()),
        ..TeamPatch::default()
    };
    set_lists(tx, new.workspace_id, new.id, &lists).await
}

/// Changes the team as the patch says; false when the workspace has no such team.
pub(crate) async fn update(
    tx: &mut Tx,
    workspace_id: Uuid,
    id: Uuid,
    patch: &TeamPatch,
    now: DateTime<Utc>,
) -> Result<bool> {
    let sql = "UPDATE teams SET name = COALESCE($3, name), \
               description = CASE WHEN $4 THEN $5 ELSE description END, updated_at = $6 \
               WHERE workspace_id = $1 AND id = $2";
    let params = (
        workspace_id,
        id,
        &patch.name,
        patch.description.is_some(),
        patch.description.clone().flatten(),
        Ts(now),
    );
    if !query(sql, params).changed(&mut *tx).await? {
        return Ok(false);
    }
    set_lists(tx, workspace_id, id, patch).await?;
    Ok(true)
}

/// Replaces the team's roles, grants and members, each when given. Roles of another workspace,
/// and users who are not members of it, are left out.
async fn set_lists(
    tx: &mut Tx,
    workspace_id: Uuid,
    team_id: Uuid,
    lists: &TeamPatch,
) -> Result<()> {
    if let Some(role_ids) = &lists.role_ids {
        let clear = "DELETE FROM team_roles WHERE team_id = $1";
        let insert = "INSERT INTO team_roles (team_id, role_id) \
                      SELECT $1, id FROM roles WHERE id = $2 AND workspace_id = $3";
        let items = role_ids
            .iter()
            .map(|role_id| (team_id, role_id, workspace_id))
            .collect::<Vec<_>>();
        replace(tx, query(clear, (team_id,)), insert, items).await?;
    }
    if let Some(grants) = &lists.grants {
        let clear = "DELETE FROM team_grants WHERE team_id = $1";
        let insert = "INSERT INTO team_grants (team_id, pattern) VALUES ($1, $2) \
                      ON CONFLICT DO NOTHING";
        let items = grants
            .iter()
            .map(|p| (team_id, p.as_str()))
            .collect::<Vec<_>>();
        replace(tx, query(clear, (team_id,)), insert, items).await?;
    }
    if let Some(member_ids) = &lists.member_ids {
        let clear = "DELETE FROM team_members WHERE team_id = $1";
        let insert = "INSERT INTO team_members (team_id, workspace_id, user_id) \
                      SELECT $1, workspace_id, user_id FROM members \
                      WHERE workspace_id = $2 AND user_id = $3";
        let items = member_ids
            .iter()
            .map(|user_id| (team_id, workspace_id, user_id))
            .collect::<Vec<_>>();
        replace(tx, query(clear, (team_id,)), insert, items).await?;
    }
    Ok(())
}

pub(crate) async fn delete(tx: &mut Tx, workspace_id: Uuid, id: Uuid) -> Result<bool> {
    let sql = "DELETE FROM teams WHERE workspace_id = $1 AND id = $2";
    query(sql, (workspace_id, id)).changed(tx).await
}
