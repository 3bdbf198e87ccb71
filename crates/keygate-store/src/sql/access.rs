//! What a decision reads besides the token: the workspace, what the user holds in it, and its
//! public role, in one statement.

use uuid::Uuid;

use super::query::{Pool, query};
use crate::rows::{self, ContextRow};
use crate::{DecisionContext, Result, WorkspaceLookup};

/// The workspace named by `$1` (its column `$by`), what user `$2` holds in it and its public role,
/// as one statement: one row per part, `part` saying which (`w` the workspace, `m` membership, `r`
/// a role's permissions held directly or through a team, `g` a member's grant, `t` a team's grant,
/// `p` the public role's permissions and grants). No user (`$2` NULL) reads the workspace and its
/// public role only.
macro_rules! decision_context {
    ($by:literal) => {
        concat!(
            "WITH w AS (SELECT id, slug, name, max_token_lifetime_days, created_at, updated_at \
             FROM workspaces WHERE ",
            $by,
            " = $1) \
             SELECT 'w' AS part, w.id AS id, w.slug AS a, w.name AS b, \
             w.max_token_lifetime_days AS n, w.created_at AS t1, w.updated_at AS t2 FROM w \
             UNION ALL SELECT 'm', NULL, NULL, NULL, NULL, NULL, NULL \
             FROM members m JOIN w ON m.workspace_id = w.id WHERE m.user_id = $2 \
             UNION ALL SELECT 'r', NULL, CAST(r.permissions AS TEXT), NULL, NULL, NULL, NULL \
             FROM member_roles mr JOIN w ON mr.workspace_id = w.id \
             JOIN roles r ON r.id = mr.role_id WHERE mr.user_id = $2 \
             UNION ALL SELECT 'r', NULL, CAST(r.permissions AS TEXT), NULL, NULL, NULL, NULL \
             FROM team_members tm JOIN w ON tm.workspace_id = w.id \
             JOIN team_roles tr ON tr.team_id = tm.team_id \
             JOIN roles r ON r.id = tr.role_id WHERE tm.user_id = $2 \
             UNION ALL SELECT 'g', NULL, mg.pattern, NULL, NULL, NULL, NULL \
             FROM member_grants mg JOIN w ON mg.workspace_id = w.id WHERE mg.user_id = $2 \
             UNION ALL SELECT 't', NULL, tg.pattern, NULL, NULL, NULL, NULL \
             FROM team_members tm JOIN w ON tm.workspace_id = w.id \
             JOIN team_grants tg ON tg.team_id = tm.team_id WHERE tm.user_id = $2 \
             UNION ALL SELECT 'p', NULL, CAST(r.permissions AS TEXT), CAST(r.grants AS TEXT), \
             NULL, NULL, NULL FROM roles r JOIN w ON r.workspace_id = w.id \
             WHERE r.name = 'public'"
        )
    };
}

/// The workspace, `user_id`'s access in it and its public role; `None` when no workspace goes by
/// `workspace`.
pub(crate) async fn decision_context(
    pool: Pool<'_>,
    workspace: WorkspaceLookup<'_>,
    user_id: Option<Uuid>,
) -> Result<Option<DecisionContext>> {
    let parts: Vec<ContextRow> = match workspace {
        WorkspaceLookup::Id(id) => {
            query(decision_context!("id"), (id, user_id))
                .fetch_all_rows(pool)
                .await?
        }
        WorkspaceLookup::Slug(slug) => {
            query(decision_context!("slug"), (slug, user_id))
                .fetch_all_rows(pool)
                .await?
        }
    };
    rows::decision_context(parts)
}
