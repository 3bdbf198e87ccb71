//! GraphQL object and input types. Objects that reach further (a workspace's members, a team's
//! users) resolve through the service layer with the caller's rights, like REST.

use async_graphql::connection::{Connection, Edge, EmptyFields, OpaqueCursor, query};
use async_graphql::dataloader::DataLoader;
use async_graphql::{
    ComplexObject, Context, Enum, InputObject, Object, Result, SimpleObject, Union,
};
use chrono::{DateTime, Utc};
use keygate_domain::{
    AuditEvent, Invitation, Member, Membership, Role, Scope, Team, Token, TokenKind, TokenStatus,
    User, UserKind, Workspace,
};
use uuid::Uuid;

use super::loaders::{TokensOfUser, UserById};
use super::{GqlState, gql};
use crate::service::{AuditQuery, ScopeRequest, WorkspaceRef};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "UserKind")]
pub enum UserKindGql {
    Human,
    Api,
}

impl From<UserKind> for UserKindGql {
    fn from(k: UserKind) -> Self {
        match k {
            UserKind::Human => UserKindGql::Human,
            UserKind::Api => UserKindGql::Api,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "TokenKind")]
pub enum TokenKindGql {
    Personal,
    User,
    Api,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "TokenStatus")]
pub enum TokenStatusGql {
    Active,
    Expired,
    Revoked,
}

/// A user as others see them.
#[derive(SimpleObject, Clone)]
#[graphql(name = "User")]
pub struct UserGql {
    pub id: Uuid,
    pub kind: UserKindGql,
    pub email: Option<String>,
    pub display_name: String,
    pub description: Option<String>,
    pub disabled: bool,
    pub is_instance_admin: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserGql {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            kind: u.kind.into(),
            email: u.email.as_ref().map(ToString::to_string),
            display_name: u.display_name.clone(),
            description: u.description.clone(),
            disabled: u.is_disabled(),
            is_instance_admin: u.is_instance_admin,
            created_at: u.created_at,
        }
    }
}

/// A token's narrowing; a null field leaves that dimension as the user holds it.
#[derive(SimpleObject, Clone)]
pub struct TokenScope {
    pub workspaces: Option<Vec<Uuid>>,
    pub permissions: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
}

impl From<&Scope> for TokenScope {
    fn from(s: &Scope) -> Self {
        Self {
            workspaces: s.workspaces.clone(),
            permissions: s
                .permissions
                .as_ref()
                .map(|p| p.iter().map(ToString::to_string).collect()),
            resources: s
                .resources
                .as_ref()
                .map(|r| r.iter().map(ToString::to_string).collect()),
        }
    }
}

/// A token: never the secret.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Token")]
pub struct TokenGql {
    pub id: Uuid,
    pub kind: TokenKindGql,
    pub name: Option<String>,
    pub description: Option<String>,
    pub hint: String,
    pub status: TokenStatusGql,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub scope: Option<TokenScope>,
}

impl TokenGql {
    pub fn new(t: &Token, now: DateTime<Utc>) -> Self {
        Self {
            id: t.id,
            kind: match t.kind {
                TokenKind::Personal => TokenKindGql::Personal,
                TokenKind::User => TokenKindGql::User,
                TokenKind::Api => TokenKindGql::Api,
            },
            name: t.name.clone(),
            description: t.description.clone(),
            hint: t.hint.clone(),
            status: match t.status(now) {
                TokenStatus::Active => TokenStatusGql::Active,
                TokenStatus::Expired => TokenStatusGql::Expired,
                TokenStatus::Revoked => TokenStatusGql::Revoked,
            },
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
            rotated_at: t.rotated_at,
            scope: t.scope.as_ref().map(TokenScope::from),
        }
    }
}

/// The one answer that carries a token in clear: after creation or rotation.
#[derive(SimpleObject)]
pub struct TokenWithSecret {
    /// The secret. Shown this once; Keygate keeps only its digest.
    pub secret: String,
    pub token: TokenGql,
}

/// The caller: their account, memberships and tokens.
pub struct Viewer {
    pub user: User,
    /// The id of the token this request presented.
    pub token: Option<Uuid>,
}

#[Object]
impl Viewer {
    async fn id(&self) -> Uuid {
        self.user.id
    }
    async fn kind(&self) -> UserKindGql {
        self.user.kind.into()
    }
    async fn email(&self) -> Option<String> {
        self.user.email.as_ref().map(ToString::to_string)
    }
    async fn display_name(&self) -> &str {
        &self.user.display_name
    }
    async fn is_instance_admin(&self) -> bool {
        self.user.is_instance_admin
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.user.created_at
    }
    /// The token this request presented.
    async fn current_token(&self, ctx: &Context<'_>) -> Result<Option<TokenGql>> {
        let Some(id) = self.token else {
            return Ok(None);
        };
        let keygate = &GqlState::of(ctx).keygate;
        let token = keygate.token(&self.user, id).await.map_err(gql)?;
        Ok(Some(TokenGql::new(&token, keygate.clock().now())))
    }
    /// The caller's workspaces with their roles (those their token's scope admits).
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<MembershipGql>> {
        let state = GqlState::of(ctx);
        let actor = state.actor()?;
        let list = state.keygate.list_workspaces(actor).await.map_err(gql)?;
        Ok(list.iter().map(MembershipGql::from).collect())
    }
    /// Pending invitations addressed to the caller's email (accept one with `joinWorkspace`).
    /// Empty for a token limited to some workspaces, and for API users.
    async fn invitations(&self, ctx: &Context<'_>) -> Result<Vec<InvitationForMe>> {
        let state = GqlState::of(ctx);
        let actor = state.actor()?;
        match state.keygate.my_invitations(actor).await {
            Ok(list) => Ok(list.iter().map(InvitationForMe::from).collect()),
            Err(crate::service::ServiceError::Forbidden { .. }) => Ok(Vec::new()),
            Err(e) => Err(gql(e)),
        }
    }
    /// The caller's own tokens, newest first.
    async fn tokens(&self, ctx: &Context<'_>) -> Result<Vec<TokenGql>> {
        let state = GqlState::of(ctx);
        let now = state.keygate.clock().now();
        let tokens = state.keygate.list_tokens(&self.user).await.map_err(gql)?;
        Ok(tokens.iter().map(|t| TokenGql::new(t, now)).collect())
    }
}

#[derive(SimpleObject)]
#[graphql(name = "Membership")]
pub struct MembershipGql {
    pub workspace: WorkspaceGql,
    pub roles: Vec<String>,
}

impl From<&Membership> for MembershipGql {
    fn from(m: &Membership) -> Self {
        Self {
            workspace: WorkspaceGql::from(&m.workspace),
            roles: m.roles.clone(),
        }
    }
}

/// A workspace. Its parts resolve with the caller's rights in it.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Workspace", complex)]
pub struct WorkspaceGql {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// The longest lifetime, in days, of tokens that act in the workspace; null for no cap.
    pub max_token_lifetime_days: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Workspace> for WorkspaceGql {
    fn from(w: &Workspace) -> Self {
        Self {
            id: w.id,
            slug: w.slug.to_string(),
            name: w.name.clone(),
            max_token_lifetime_days: w.max_token_lifetime_days,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// The complexity of a paged list: its fields' for each item of the page asked for (`first`, or
/// `last`, or the default page), so that one request cannot ask for many large pages.
fn list_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let items = first.or(last).map_or(crate::service::DEFAULT_PAGE, |n| {
        u32::try_from(n).unwrap_or(1)
    });
    let items = items.clamp(1, crate::service::MAX_PAGE) as usize;
    items.saturating_mul(child_complexity)
}

type Page<T> = Connection<OpaqueCursor<usize>, T, EmptyFields, EmptyFields>;

/// Pages an in-memory list with opaque offset cursors.
async fn page<T: async_graphql::OutputType>(
    items: Vec<T>,
    after: Option<String>,
    before: Option<String>,
    first: Option<i32>,
    last: Option<i32>,
) -> Result<Page<T>> {
    query(after, before, first, last, |after: Option<OpaqueCursor<usize>>, before: Option<OpaqueCursor<usize>>, first, last| async move {
        let mut start = after.map_or(0, |a| a.0 + 1);
        let mut end = before.map_or(items.len(), |b| b.0).min(items.len());
        if let Some(first) = first {
            end = end.min(start + first);
        }
        if let Some(last) = last {
            start = start.max(end.saturating_sub(last));
        }
        start = start.min(end);
        let mut connection = Connection::new(start > 0, end < items.len());
        connection.edges.extend(
            items
                .into_iter()
                .enumerate()
                .skip(start)
                .take(end - start)
                .map(|(i, item)| Edge::new(OpaqueCursor(i), item)),
        );
        Ok::<_, async_graphql::Error>(connection)
    })
    .await
}

impl WorkspaceGql {
    fn reference(&self) -> WorkspaceRef {
        WorkspaceRef::Id(self.id)
    }
}

#[ComplexObject]
impl WorkspaceGql {
    /// The caller's roles here.
    async fn my_roles(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let state = GqlState::of(ctx);
        let m = state
            .keygate
            .workspace(state.actor()?, &self.reference())
            .await
            .map_err(gql)?;
        Ok(m.roles)
    }

    /// The people in the workspace.
    #[graphql(complexity = "list_cost(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Page<MemberGql>> {
        let state = GqlState::of(ctx);
        let list = state
            .keygate
            .list_members(state.actor()?, &self.reference())
            .await
            .map_err(gql)?;
        page(
            list.iter().map(MemberGql::from).collect(),
            after,
            before,
            first,
            last,
        )
        .await
    }

    /// Service accounts (needs `api_users:manage`).
    #[graphql(complexity = "list_cost(first, last, child_complexity)")]
    async fn api_users(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Page<ApiUserGql>> {
        let state = GqlState::of(ctx);
        let list = state
            .keygate
            .list_api_users(state.actor()?, &self.reference())
            .await
            .map_err(gql)?;
        page(
            list.iter().map(ApiUserGql::from).collect(),
            after,
            before,
            first,
            last,
        )
        .await
    }

    async fn api_user(&self, ctx: &Context<'_>, id: Uuid) -> Result<ApiUserGql> {
        let state = GqlState::of(ctx);
        let m = state
            .keygate
            .api_user(state.actor()?, &self.reference(), id)
            .await
            .map_err(gql)?;
        Ok(ApiUserGql::from(&m))
    }

    async fn roles(&self, ctx: &Context<'_>) -> Result<Vec<RoleGql>> {
        let state = GqlState::of(ctx);
        let list = state
            .keygate
            .list_roles(state.actor()?, &self.reference())
            .await
            .map_err(gql)?;
        Ok(list.iter().map(RoleGql::from).collect())
    }

    async fn role(&self, ctx: &Context<'_>, name: String) -> Result<RoleGql> {
        let state = GqlState::of(ctx);
        let role = state
            .keygate
            .role(state.actor()?, &self.reference(), &name)
            .await
            .map_err(gql)?;
        Ok(RoleGql::from(&role))
    }

    async fn teams(&self, ctx: &Context<'_>) -> Result<Vec<TeamGql>> {
        let state = GqlState::of(ctx);
        let list = state
            .keygate
            .list_teams(state.actor()?, &self.reference())
            .await
            .map_err(gql)?;
        Ok(list.iter().map(TeamGql::from).collect())
    }

    /// A team by id or name.
    async fn team(&self, ctx: &Context<'_>, team: String) -> Result<TeamGql> {
        let state = GqlState::of(ctx);
        let t = state
            .keygate
            .team(state.actor()?, &self.reference(), &team)
            .await
            .map_err(gql)?;
        Ok(TeamGql::from(&t))
    }

    /// Tokens that belong to this workspace (needs `tokens:manage`).
    async fn tokens(&self, ctx: &Context<'_>) -> Result<Vec<OwnedTokenGql>> {
        let state = GqlState::of(ctx);
        let now = state.keygate.clock().now();
        let list = state
            .keygate
            .workspace_tokens(state.actor()?, &self.reference())
            .await
            .map_err(gql)?;
        Ok(list
            .iter()
            .map(|o| OwnedTokenGql {
                token: TokenGql::new(&o.token, now),
                owner: UserGql::from(&o.owner.user),
            })
            .collect())
    }

    /// Pending invitations (needs `members:manage`).
    async fn invitations(&self, ctx: &Context<'_>) -> Result<Vec<InvitationGql>> {
        let state = GqlState::of(ctx);
        let list = state
            .keygate
            .list_invitations(state.actor()?, &self.reference())
            .await
            .map_err(gql)?;
        Ok(list.iter().map(InvitationGql::from).collect())
    }

    /// The audit log, newest first (needs `audit:read`). `after` is the cursor of the last entry
    /// of the previous page.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "list_cost(first, None, child_complexity)")]
    async fn audit(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        action: Option<String>,
        actor: Option<Uuid>,
        target: Option<String>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Connection<Uuid, AuditEventGql, EmptyFields, EmptyFields>> {
        let state = GqlState::of(ctx);
        let cursor = after
            .map(|a| Uuid::try_parse(&a))
            .transpose()
            .map_err(|_| {
                gql(keygate_domain::ValidationError::new("after", "is not a cursor").into())
            })?;
        let query = AuditQuery {
            actor,
            action,
            target,
            since,
            until,
            cursor,
            limit: first.map(|f| u32::try_from(f.max(1)).unwrap_or(1)),
        };
        let page = state
            .keygate
            .audit_log(state.actor()?, &self.reference(), &query)
            .await
            .map_err(gql)?;
        let mut connection = Connection::new(cursor.is_some(), page.next_cursor.is_some());
        connection.edges.extend(
            page.events
                .iter()
                .map(|e| Edge::new(e.id, AuditEventGql::from(e))),
        );
        Ok(connection)
    }
}

#[derive(SimpleObject)]
pub struct OwnedTokenGql {
    pub token: TokenGql,
    pub owner: UserGql,
}

#[derive(SimpleObject, Clone)]
pub struct TeamRefGql {
    pub id: Uuid,
    pub name: String,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Member")]
pub struct MemberGql {
    pub user: UserGql,
    pub roles: Vec<String>,
    pub grants: Vec<String>,
    pub teams: Vec<TeamRefGql>,
    pub joined_at: DateTime<Utc>,
}

impl From<&Member> for MemberGql {
    fn from(m: &Member) -> Self {
        Self {
            user: UserGql::from(&m.user),
            roles: m.roles.iter().map(|r| r.name.clone()).collect(),
            grants: m.grants.iter().map(ToString::to_string).collect(),
            teams: m
                .teams
                .iter()
                .map(|t| TeamRefGql {
                    id: t.id,
                    name: t.name.clone(),
                })
                .collect(),
            joined_at: m.joined_at,
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "ApiUser", complex)]
pub struct ApiUserGql {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub disabled: bool,
    pub roles: Vec<String>,
    pub grants: Vec<String>,
    pub teams: Vec<TeamRefGql>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub workspace_id: Option<Uuid>,
}

impl From<&Member> for ApiUserGql {
    fn from(m: &Member) -> Self {
        let member = MemberGql::from(m);
        Self {
            id: m.user.id,
            name: m.user.display_name.clone(),
            description: m.user.description.clone(),
            disabled: m.user.is_disabled(),
            roles: member.roles,
            grants: member.grants,
            teams: member.teams,
            created_at: m.user.created_at,
            workspace_id: m.user.workspace_id,
        }
    }
}

#[ComplexObject]
impl ApiUserGql {
    /// The API user's tokens, loaded for every API user of the list in one query.
    async fn tokens(&self, ctx: &Context<'_>) -> Result<Vec<TokenGql>> {
        let loader = ctx.data_unchecked::<DataLoader<TokensOfUser>>();
        let state = GqlState::of(ctx);
        let now = state.keygate.clock().now();
        let Some(workspace) = self.workspace_id else {
            return Ok(Vec::new());
        };
        let Some(key) = state
            .keygate
            .api_user_token_keys(state.actor()?, workspace, &[self.id])
            .await
            .map_err(gql)?
            .pop()
        else {
            return Ok(Vec::new());
        };
        let tokens = loader
            .load_one(key)
            .await
            .map_err(|e| e.as_ref().clone())?
            .unwrap_or_default();
        Ok(tokens.iter().map(|t| TokenGql::new(t, now)).collect())
    }
}

#[derive(SimpleObject)]
#[graphql(name = "Role")]
pub struct RoleGql {
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    /// The public role's resource grants; empty for other roles.
    pub grants: Vec<String>,
    pub builtin: bool,
}

impl From<&Role> for RoleGql {
    fn from(r: &Role) -> Self {
        Self {
            name: r.name.clone(),
            description: r.description.clone(),
            permissions: r.permissions.iter().map(ToString::to_string).collect(),
            grants: r.grants.iter().map(ToString::to_string).collect(),
            builtin: r.builtin,
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Team", complex)]
pub struct TeamGql {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub roles: Vec<String>,
    pub grants: Vec<String>,
    pub member_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub workspace_id: Uuid,
}

impl From<&Team> for TeamGql {
    fn from(t: &Team) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            description: t.description.clone(),
            roles: t.roles.iter().map(|r| r.name.clone()).collect(),
            grants: t.grants.iter().map(ToString::to_string).collect(),
            member_ids: t.members.clone(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            workspace_id: t.workspace_id,
        }
    }
}

#[ComplexObject]
impl TeamGql {
    /// The team's members, loaded for every team of the list in one query.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<UserGql>> {
        let loader = ctx.data_unchecked::<DataLoader<UserById>>();
        let state = GqlState::of(ctx);
        let keys = state
            .keygate
            .team_member_keys(state.actor()?, self.workspace_id, &self.member_ids)
            .await
            .map_err(gql)?;
        let users = loader
            .load_many(keys.iter().copied())
            .await
            .map_err(|e| e.as_ref().clone())?;
        Ok(keys
            .iter()
            .filter_map(|key| users.get(key))
            .map(UserGql::from)
            .collect())
    }
}

#[derive(SimpleObject)]
#[graphql(name = "Invitation")]
pub struct InvitationGql {
    pub id: Uuid,
    pub email: String,
    pub roles: Vec<String>,
    pub grants: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<&Invitation> for InvitationGql {
    fn from(i: &Invitation) -> Self {
        Self {
            id: i.id,
            email: i.email.to_string(),
            roles: i.roles.clone(),
            grants: i.grants.iter().map(ToString::to_string).collect(),
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "AuditEvent")]
pub struct AuditEventGql {
    pub id: Uuid,
    pub time: DateTime<Utc>,
    pub action: String,
    pub actor_id: Option<Uuid>,
    pub actor: Option<String>,
    pub actor_token_id: Option<Uuid>,
    pub target_type: String,
    pub target_id: Option<String>,
    pub client_ip: Option<String>,
    pub details: async_graphql::Json<serde_json::Value>,
}

impl From<&AuditEvent> for AuditEventGql {
    fn from(e: &AuditEvent) -> Self {
        Self {
            id: e.id,
            time: e.created_at,
            action: e.action.clone(),
            actor_id: e.actor_id,
            actor: e.actor_label.clone(),
            actor_token_id: e.actor_token_id,
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            client_ip: e.client_ip.clone(),
            details: async_graphql::Json(e.details.clone()),
        }
    }
}

/// A pending invitation addressed to the caller.
#[derive(SimpleObject)]
pub struct InvitationForMe {
    pub id: Uuid,
    pub workspace: WorkspaceGql,
    pub roles: Vec<String>,
    pub grants: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<&crate::service::PendingForMe> for InvitationForMe {
    fn from(p: &crate::service::PendingForMe) -> Self {
        Self {
            id: p.invitation.id,
            workspace: WorkspaceGql::from(&p.workspace),
            roles: p.invitation.roles.clone(),
            grants: p
                .invitation
                .grants
                .iter()
                .map(ToString::to_string)
                .collect(),
            created_at: p.invitation.created_at,
            expires_at: p.invitation.expires_at,
        }
    }
}

/// What inviting did: always an invitation that waits for the invitee (`Member` is never
/// returned; it is kept so that older queries still validate).
#[derive(Union)]
pub enum InviteResult {
    Member(MemberGql),
    PendingInvitation(PendingInvitation),
}

#[derive(SimpleObject)]
pub struct PendingInvitation {
    pub invitation: InvitationGql,
    /// The link to pass on, shown this once.
    pub accept_url: String,
    pub code: String,
}

#[derive(SimpleObject)]
pub struct AcceptedInvitation {
    pub user: UserGql,
    pub workspace: WorkspaceGql,
    /// The new personal token, shown this once.
    pub secret: String,
}

#[derive(SimpleObject)]
pub struct CreatedApiUser {
    pub api_user: ApiUserGql,
    pub token: TokenWithSecret,
}

#[derive(SimpleObject)]
pub struct Check {
    pub allowed: bool,
    pub code: String,
    pub missing: Option<String>,
}

#[derive(InputObject, Default)]
pub struct ScopeInput {
    /// Workspaces by id or slug.
    pub workspaces: Option<Vec<String>>,
    pub permissions: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
}

impl From<ScopeInput> for ScopeRequest {
    fn from(s: ScopeInput) -> Self {
        ScopeRequest {
            workspaces: s.workspaces,
            permissions: s.permissions,
            resources: s.resources,
        }
    }
}

#[derive(InputObject, Default)]
pub struct CreateTokenInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub expires_in_days: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub scope: Option<ScopeInput>,
}
