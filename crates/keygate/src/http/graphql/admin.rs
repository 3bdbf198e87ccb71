//! Instance administration in GraphQL, for instance admins (each field is refused to anyone
//! else by the service): `admin { users user audit }` to read, and `createUser`, `disableUser`,
//! `enableUser`, `deleteUser`, `userPasswordLink` among the mutations.

use async_graphql::{ComplexObject, Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use keygate_domain::User;
use uuid::Uuid;

use super::types::{
    AuditConnection, TokenGql, UserGql, UserKindGql, audit_connection, list_cost, page_limit,
};
use super::{Answer, GqlState};
use crate::service::{AuditQuery, Orphans, UserQuery};

/// A user as instance admins see them: as others do, and where an API user lives, since when
/// they are disabled, and their tokens.
#[derive(SimpleObject, Clone)]
#[graphql(name = "AdminUser", complex)]
pub struct AdminUserGql {
    #[graphql(flatten)]
    pub user: UserGql,
    /// The workspace an API user lives in; null for people.
    pub workspace_id: Option<Uuid>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<&User> for AdminUserGql {
    fn from(u: &User) -> Self {
        Self {
            user: u.into(),
            workspace_id: u.workspace_id,
            disabled_at: u.disabled_at,
        }
    }
}

#[ComplexObject]
impl AdminUserGql {
    /// The user's tokens (never their secrets), newest first.
    async fn tokens(&self, ctx: &Context<'_>) -> Answer<Vec<TokenGql>> {
        let state = GqlState::of(ctx);
        let user = state
            .keygate
            .admin_user(state.actor()?, self.user.id)
            .await?;
        let now = state.keygate.clock().now();
        let tokens = state.keygate.list_tokens(&user).await?;
        Ok(tokens.iter().map(|t| TokenGql::new(t, now)).collect())
    }
}

/// One page of users.
#[derive(SimpleObject)]
pub struct AdminUserPage {
    pub users: Vec<AdminUserGql>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<Uuid>,
}

/// A person's account to create.
#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    /// The local part of the email when left out.
    pub display_name: Option<String>,
    /// Slug of a workspace to create with the person as its owner.
    pub workspace: Option<String>,
    #[graphql(default)]
    pub instance_admin: bool,
    /// Also make a one-time link where the person chooses their password.
    #[graphql(default)]
    pub password_link: bool,
}

/// A new account: its personal token's secret and password link, shown this once.
#[derive(SimpleObject)]
pub struct CreatedUserGql {
    pub user: AdminUserGql,
    pub personal_token: String,
    /// When asked for: where the person chooses their password (valid 7 days).
    pub password_link: Option<String>,
}

/// Instance administration (instance admins only).
pub struct Admin;

#[Object]
impl Admin {
    /// People and API users, oldest first, filtered and a page at a time.
    #[graphql(complexity = "list_cost(first, None, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        kind: Option<UserKindGql>,
        disabled: Option<bool>,
        after: Option<Uuid>,
        first: Option<i32>,
    ) -> Answer<AdminUserPage> {
        let state = GqlState::of(ctx);
        let query = UserQuery {
            kind: kind.map(Into::into),
            search,
            disabled,
            cursor: after,
            limit: page_limit(first),
        };
        let page = state
            .keygate
            .admin_list_users(state.actor()?, &query)
            .await?;
        Ok(AdminUserPage {
            users: page.users.iter().map(AdminUserGql::from).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// One user.
    async fn user(&self, ctx: &Context<'_>, id: Uuid) -> Answer<AdminUserGql> {
        let state = GqlState::of(ctx);
        let user = state.keygate.admin_user(state.actor()?, id).await?;
        Ok((&user).into())
    }

    /// The instance's audit log: every workspace's entries and those of no workspace, newest
    /// first; `after` is the cursor of the previous page.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "list_cost(first, None, child_complexity)")]
    async fn audit(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Uuid>,
        action: Option<String>,
        actor: Option<Uuid>,
        target: Option<String>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Answer<AuditConnection> {
        let state = GqlState::of(ctx);
        let query = AuditQuery {
            actor,
            action,
            target,
            since,
            until,
            cursor: after,
            limit: page_limit(first),
        };
        let page = state
            .keygate
            .instance_audit_log(state.actor()?, &query)
            .await?;
        Ok(audit_connection(&page, after.is_some()))
    }
}

/// What becomes of the workspaces a deleted user is the last owner of: `delete` them, or hand
/// them over to `handOverTo`; neither refuses the deletion (`last_owner`).
pub fn orphans(delete_workspaces: bool, hand_over_to: Option<Uuid>) -> Result<Orphans> {
    match (delete_workspaces, hand_over_to) {
        (false, None) => Ok(Orphans::Refuse),
        (true, None) => Ok(Orphans::Delete),
        (false, Some(heir)) => Ok(Orphans::HandOverTo(heir)),
        (true, Some(_)) => Err(async_graphql::Error::new(
            "give deleteOrphanedWorkspaces or handOverTo, not both",
        )),
    }
}
