//! GraphQL object types; the input types are in `super::inputs`. Objects that reach further (a
//! workspace's members, a team's users) resolve through the service layer with the caller's
//! rights, like REST.
//!
//! Where an object shows what a REST wire type shows, it is built from that type, so that a
//! domain value reaches both APIs through one conversion; GraphQL differs only where its shape
//! does (enums, patterns and permissions as text, fields of its own).

use async_graphql::connection::{Connection, Edge, EmptyFields, OpaqueCursor, query};
use async_graphql::dataloader::DataLoader;
use async_graphql::{ComplexObject, Context, Enum, Object, Result, SimpleObject, Union};
use chrono::{DateTime, Utc};
use keygate_domain::leak::LeakPolicy;
use keygate_domain::{Invitation, Member, Membership, Role, Scope, Team, Token, User, Workspace};
use uuid::Uuid;

use super::loaders::{TokensOfUser, UserById};
use super::{Answer, GqlState};
use crate::http::rest::api_users::json::ApiUserJson;
use crate::http::rest::audit::json::AuditEventJson;
use crate::http::rest::me::json::MyInvitationJson;
use crate::http::rest::members::json::{InvitationJson, MemberJson};
use crate::http::rest::roles::json::RoleJson;
use crate::http::rest::teams::json::{TeamJson, TeamRefJson};
use crate::http::rest::tokens::json::{LeakJson, RateLimitJson, RetiringSecretJson, TokenJson};
use crate::http::rest::verify::json::CheckJson;
use crate::http::rest::webhooks::json::{DeliveryJson, WebhookJson};
use crate::http::rest::workspaces::json::{WorkspaceJson, membership_json, workspace_json};
use crate::service::{
    Actor, AuditPage, AuditQuery, Hooks, Keygate, PendingForMe, TokenFilter, TokenView,
    WorkspaceRef,
};

/// Resource patterns and permissions, which GraphQL shows as their text.
fn texts<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "UserKind", remote = "keygate_domain::UserKind")]
pub enum UserKindGql {
    Human,
    Api,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "TokenKind", remote = "keygate_domain::TokenKind")]
pub enum TokenKindGql {
    Personal,
    User,
    Api,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "TokenStatus", remote = "keygate_domain::TokenStatus")]
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
    /// On `user.token(id)` and `endTokenOverlap`: the secret the token's latest rotation with
    /// a grace period replaced, if any.
    pub retiring_secret: Option<RetiringSecretJson>,
    /// Where and when it was reported leaked.
    pub leak: Option<LeakJson>,
    /// Networks (CIDR) the token may be used from; null for anywhere (an API user's own
    /// `allowedIps` apply to all its tokens as well).
    pub allowed_ips: Option<Vec<String>>,
    /// How often the token may be used; null for no limit of its own.
    pub rate_limits: Option<Vec<RateLimitJson>>,
}

impl TokenGql {
    pub fn new(t: &Token, now: DateTime<Utc>) -> Self {
        TokenJson::new(t, now).into()
    }

    /// A token on its own, with the secret its latest rotation replaced.
    pub fn of_view(view: &TokenView, now: DateTime<Utc>) -> Self {
        TokenJson::of_view(view, now).into()
    }
}

/// What REST shows of a token but the address it was last used from.
impl From<TokenJson> for TokenGql {
    fn from(t: TokenJson) -> Self {
        Self {
            id: t.id,
            kind: t.kind.into(),
            name: t.name,
            description: t.description,
            hint: t.hint,
            status: t.status.into(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
            rotated_at: t.rotated_at,
            scope: t.scope.as_ref().map(TokenScope::from),
            retiring_secret: t.retiring_secret,
            leak: t.leak,
            allowed_ips: t.allowed_ips,
            rate_limits: t.rate_limits,
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
    async fn current_token(&self, ctx: &Context<'_>) -> Answer<Option<TokenGql>> {
        let Some(id) = self.token else {
            return Ok(None);
        };
        let keygate = &GqlState::of(ctx).keygate;
        let token = keygate.token(&self.user, id).await?;
        Ok(Some(TokenGql::new(&token, keygate.clock().now())))
    }
    /// The caller's workspaces with their roles (those their token's scope admits).
    async fn memberships(&self, ctx: &Context<'_>) -> Answer<Vec<MembershipGql>> {
        let state = GqlState::of(ctx);
        let actor = state.actor()?;
        let list = state.keygate.list_workspaces(actor).await?;
        Ok(list.iter().map(MembershipGql::from).collect())
    }
    /// Pending invitations addressed to the caller's email (accept one with `joinWorkspace`).
    /// Empty for a token limited to some workspaces, and for API users.
    async fn invitations(&self, ctx: &Context<'_>) -> Answer<Vec<InvitationForMe>> {
        let state = GqlState::of(ctx);
        let actor = state.actor()?;
        match state.keygate.my_invitations(actor).await {
            Ok(list) => Ok(list.iter().map(InvitationForMe::from).collect()),
            Err(crate::service::ServiceError::Forbidden { .. }) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }
    /// The caller's own tokens, newest first.
    /// The caller's tokens, expired and revoked ones included unless `status` says otherwise;
    /// with `expiringWithinDays`, only active ones that expire that soon.
    async fn tokens(
        &self,
        ctx: &Context<'_>,
        status: Option<TokenStatusGql>,
        expiring_within_days: Option<u32>,
    ) -> Answer<Vec<TokenGql>> {
        let state = GqlState::of(ctx);
        let filter = TokenFilter::new(status.map(Into::into), expiring_within_days)?;
        let now = state.keygate.clock().now();
        let tokens = state.keygate.list_tokens_where(&self.user, filter).await?;
        Ok(tokens.iter().map(|t| TokenGql::new(t, now)).collect())
    }

    /// One of the caller's tokens, with the secret its latest rotation replaced.
    async fn token(&self, ctx: &Context<'_>, id: Uuid) -> Answer<TokenGql> {
        let state = GqlState::of(ctx);
        let token = state.keygate.token(&self.user, id).await?;
        let view = state.keygate.token_view(token).await?;
        Ok(TokenGql::of_view(&view, state.keygate.clock().now()))
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
        let json = membership_json(m);
        Self {
            workspace: json.workspace.into(),
            roles: json.roles,
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
        workspace_json(w).into()
    }
}

impl From<WorkspaceJson> for WorkspaceGql {
    fn from(w: WorkspaceJson) -> Self {
        Self {
            id: w.id,
            slug: w.slug,
            name: w.name,
            max_token_lifetime_days: w.max_token_lifetime_days,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// The complexity of a paged list: its fields' for each item of the page asked for (`first`, or
/// `last`, or the default page), so that one request cannot ask for many large pages.
pub fn list_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
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
) -> Answer<Page<T>> {
    Ok(
        query(
            after,
            before,
            first,
            last,
            |after: Option<OpaqueCursor<usize>>,
             before: Option<OpaqueCursor<usize>>,
             first,
             last| async move {
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
            },
        )
        .await?,
    )
}

impl WorkspaceGql {
    /// What each field below calls the service layer with: the services, the caller (an error
    /// without a token) and this workspace.
    fn service<'a>(&self, ctx: &Context<'a>) -> Result<(&'a Keygate, &'a Actor, WorkspaceRef)> {
        let state = GqlState::of(ctx);
        Ok((&state.keygate, state.actor()?, WorkspaceRef::Id(self.id)))
    }
}

/// What a workspace does with a token of its that was reported leaked.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "LeakPolicy")]
pub enum LeakPolicyGql {
    /// Revoke it at once, and tell (the default).
    Revoke,
    /// Only mark it leaked and tell: someone decides.
    Notify,
}

impl From<LeakPolicy> for LeakPolicyGql {
    fn from(p: LeakPolicy) -> Self {
        match p {
            LeakPolicy::Revoke => LeakPolicyGql::Revoke,
            LeakPolicy::Notify => LeakPolicyGql::Notify,
        }
    }
}

impl From<LeakPolicyGql> for LeakPolicy {
    fn from(p: LeakPolicyGql) -> Self {
        match p {
            LeakPolicyGql::Revoke => LeakPolicy::Revoke,
            LeakPolicyGql::Notify => LeakPolicy::Notify,
        }
    }
}

#[ComplexObject]
impl WorkspaceGql {
    /// What happens to a token of this workspace that a secret scanner (or its holder) reports
    /// leaked (`docs/secret-scanning.md`).
    async fn leak_policy(&self, ctx: &Context<'_>) -> Answer<LeakPolicyGql> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let policy = keygate.leak_policy(caller, &ws).await?;
        Ok(policy.into())
    }

    /// The caller's roles here.
    async fn my_roles(&self, ctx: &Context<'_>) -> Answer<Vec<String>> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let m = keygate.workspace(caller, &ws).await?;
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
    ) -> Answer<Page<MemberGql>> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let list = keygate.list_members(caller, &ws).await?;
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
    ) -> Answer<Page<ApiUserGql>> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let list = keygate.list_api_users(caller, &ws).await?;
        page(
            list.iter().map(ApiUserGql::from).collect(),
            after,
            before,
            first,
            last,
        )
        .await
    }

    async fn api_user(&self, ctx: &Context<'_>, id: Uuid) -> Answer<ApiUserGql> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let m = keygate.api_user(caller, &ws, id).await?;
        Ok(ApiUserGql::from(&m))
    }

    async fn roles(&self, ctx: &Context<'_>) -> Answer<Vec<RoleGql>> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let list = keygate.list_roles(caller, &ws).await?;
        Ok(list.iter().map(RoleGql::from).collect())
    }

    async fn role(&self, ctx: &Context<'_>, name: String) -> Answer<RoleGql> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let role = keygate.role(caller, &ws, &name).await?;
        Ok(RoleGql::from(&role))
    }

    async fn teams(&self, ctx: &Context<'_>) -> Answer<Vec<TeamGql>> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let list = keygate.list_teams(caller, &ws).await?;
        Ok(list.iter().map(TeamGql::from).collect())
    }

    /// The workspace's webhook endpoints (needs `webhooks:manage`).
    async fn webhooks(&self, ctx: &Context<'_>) -> Answer<Vec<WebhookJson>> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let list = keygate.webhooks(caller, Hooks::Workspace(&ws)).await?;
        Ok(list.iter().map(WebhookJson::from).collect())
    }

    /// An endpoint's latest deliveries, newest first (needs `webhooks:manage`).
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        webhook: Uuid,
    ) -> Answer<Vec<DeliveryJson>> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let list = keygate
            .webhook_deliveries(caller, Hooks::Workspace(&ws), webhook)
            .await?;
        Ok(list.iter().map(DeliveryJson::from).collect())
    }

    /// A team by id or name.
    async fn team(&self, ctx: &Context<'_>, team: String) -> Answer<TeamGql> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let t = keygate.team(caller, &ws, &team).await?;
        Ok(TeamGql::from(&t))
    }

    /// Tokens that belong to this workspace (needs `tokens:manage`).
    async fn tokens(&self, ctx: &Context<'_>) -> Answer<Vec<OwnedTokenGql>> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let now = keygate.clock().now();
        let list = keygate.workspace_tokens(caller, &ws).await?;
        Ok(list
            .iter()
            .map(|o| OwnedTokenGql {
                token: TokenGql::new(&o.token, now),
                owner: UserGql::from(&o.owner.user),
            })
            .collect())
    }

    /// Pending invitations (needs `members:manage`).
    async fn invitations(&self, ctx: &Context<'_>) -> Answer<Vec<InvitationGql>> {
        let (keygate, caller, ws) = self.service(ctx)?;
        let list = keygate.list_invitations(caller, &ws).await?;
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
    ) -> Answer<AuditConnection> {
        let cursor = after
            .map(|a| Uuid::try_parse(&a))
            .transpose()
            .map_err(|_| keygate_domain::ValidationError::new("after", "is not a cursor"))?;
        let query = AuditQuery {
            actor,
            action,
            target,
            since,
            until,
            cursor,
            limit: page_limit(first),
        };
        let (keygate, caller, ws) = self.service(ctx)?;
        let page = keygate.audit_log(caller, &ws, &query).await?;
        Ok(audit_connection(&page, cursor.is_some()))
    }
}

/// A page of an audit log, newest first, keyed by the entries' ids.
pub type AuditConnection = Connection<Uuid, AuditEventJson, EmptyFields, EmptyFields>;

/// A page of an audit log as a connection; `paged` when it does not start at the newest entry.
pub fn audit_connection(page: &AuditPage, paged: bool) -> AuditConnection {
    let mut connection = Connection::new(paged, page.next_cursor.is_some());
    connection.edges.extend(
        page.events
            .iter()
            .map(|e| Edge::new(e.id, AuditEventJson::from(e))),
    );
    connection
}

/// The page size `first` asks for, at least one.
pub fn page_limit(first: Option<i32>) -> Option<u32> {
    first.map(|f| u32::try_from(f.max(1)).unwrap_or(1))
}

#[derive(SimpleObject)]
pub struct OwnedTokenGql {
    pub token: TokenGql,
    pub owner: UserGql,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Member")]
pub struct MemberGql {
    pub user: UserGql,
    pub roles: Vec<String>,
    pub grants: Vec<String>,
    pub teams: Vec<TeamRefJson>,
    pub joined_at: DateTime<Utc>,
}

impl From<&Member> for MemberGql {
    fn from(m: &Member) -> Self {
        let json = MemberJson::from(m);
        Self {
            // More of the user than REST shows of a member.
            user: UserGql::from(&m.user),
            roles: json.roles,
            grants: texts(&json.grants),
            teams: json.teams,
            joined_at: json.joined_at,
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
    pub teams: Vec<TeamRefJson>,
    pub created_at: DateTime<Utc>,
    /// Networks (CIDR) all its tokens may be used from; null for anywhere.
    pub allowed_ips: Option<Vec<String>>,
    /// How often all its tokens together may be used; null for no limit.
    pub rate_limits: Option<Vec<RateLimitJson>>,
    #[graphql(skip)]
    pub workspace_id: Option<Uuid>,
}

impl From<&Member> for ApiUserGql {
    fn from(m: &Member) -> Self {
        let json = ApiUserJson::from(m);
        Self {
            id: json.id,
            name: json.name,
            description: json.description,
            disabled: json.disabled,
            roles: json.roles,
            grants: texts(&json.grants),
            teams: json.teams,
            created_at: json.created_at,
            allowed_ips: json.allowed_ips,
            rate_limits: json.rate_limits,
            workspace_id: m.user.workspace_id,
        }
    }
}

#[ComplexObject]
impl ApiUserGql {
    /// The API user's tokens, loaded for every API user of the list in one query.
    async fn tokens(&self, ctx: &Context<'_>) -> Answer<Vec<TokenGql>> {
        let loader = ctx.data_unchecked::<DataLoader<TokensOfUser>>();
        let state = GqlState::of(ctx);
        let now = state.keygate.clock().now();
        let Some(workspace) = self.workspace_id else {
            return Ok(Vec::new());
        };
        let Some(key) = state
            .keygate
            .api_user_token_keys(state.actor()?, workspace, &[self.id])
            .await?
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
        let json = RoleJson::from(r);
        Self {
            name: json.name,
            description: json.description,
            permissions: texts(&json.permissions),
            // Every role's, where REST shows only the public role's.
            grants: texts(&r.grants),
            builtin: json.builtin,
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
        let json = TeamJson::from(t);
        Self {
            id: json.id,
            name: json.name,
            description: json.description,
            roles: json.roles,
            grants: texts(&json.grants),
            member_ids: json.members,
            created_at: json.created_at,
            updated_at: json.updated_at,
            workspace_id: t.workspace_id,
        }
    }
}

#[ComplexObject]
impl TeamGql {
    /// The team's members, loaded for every team of the list in one query.
    async fn members(&self, ctx: &Context<'_>) -> Answer<Vec<UserGql>> {
        let loader = ctx.data_unchecked::<DataLoader<UserById>>();
        let state = GqlState::of(ctx);
        let keys = state
            .keygate
            .team_member_keys(state.actor()?, self.workspace_id, &self.member_ids)
            .await?;
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
        let json = InvitationJson::from(i);
        Self {
            id: json.id,
            email: json.email,
            roles: json.roles,
            grants: texts(&json.grants),
            created_at: json.created_at,
            expires_at: json.expires_at,
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

impl From<&PendingForMe> for InvitationForMe {
    fn from(p: &PendingForMe) -> Self {
        let json = MyInvitationJson::from(p);
        Self {
            id: json.id,
            workspace: json.workspace.into(),
            roles: json.roles,
            grants: texts(&json.grants),
            created_at: json.created_at,
            expires_at: json.expires_at,
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

impl From<CheckJson> for Check {
    fn from(c: CheckJson) -> Self {
        Self {
            allowed: c.allowed,
            code: c.code.as_str().to_owned(),
            missing: c.missing,
        }
    }
}
