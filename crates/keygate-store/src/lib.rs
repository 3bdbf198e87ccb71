//! Keygate's storage. [`Store`] is the one interface the service layer uses; [`connect`] opens the
//! SQLite or PostgreSQL backend named by a URL. Both backends run the same Rust code and SQL (see
//! `sql/mod.rs`) over their own migrations in `migrations/{sqlite,postgres}/`, which share file
//! names.

mod error;
mod postgres;
mod rows;
mod sql;
mod sqlite;
mod time;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::{
    AllowedIps, AuditEvent, Credential, Email, Invitation, Member, Membership, PermissionSet,
    RateLimits, ResourcePattern, RetiringSecret, Role, Scope, Slug, Team, Token, TokenDigest,
    TokenKind, User, UserKind, Workspace,
};
use uuid::Uuid;

pub use error::{Conflict, StoreError};
use keygate_domain::leak::LeakPolicy;
use keygate_domain::webhook::{Delivery, DeliveryStatus, Endpoint};
pub use postgres::PgStore;
pub use sql::tokens::LeakAction;
use sql::{
    Backend, access, audit, commit, commit_if, invitations, members, rates, roles, sessions, teams,
    tokens, users, webhooks, workspaces,
};
pub use sqlite::SqliteStore;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Opens the store named by `url` (`sqlite://path` or `postgres://...`). SQLite files are created
/// when missing. Migrations are not applied: call [`Store::migrate`].
pub async fn connect(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::Corrupt(format!(
            "unsupported database URL scheme in `{}`: use sqlite://PATH or postgres://...",
            url.split_once("://").map_or(url, |(scheme, _)| scheme)
        )))
    }
}

/// A token to be stored: the digest and hint of a fresh secret, never the secret.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: TokenKind,
    pub name: Option<String>,
    pub description: Option<String>,
    pub digest: TokenDigest,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub scope: Option<Scope>,
    pub allowed_ips: Option<AllowedIps>,
    pub rate_limits: Option<RateLimits>,
}

/// Changes to a token; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct TokenPatch {
    pub allowed_ips: Option<Option<AllowedIps>>,
    pub rate_limits: Option<Option<RateLimits>>,
}

/// What one node admitted under one limit of one subject (a token or an API user) in one window
/// since it last said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateUse {
    pub subject: Uuid,
    pub name: String,
    /// The window's start and end, in seconds since the epoch.
    pub window: (i64, i64),
    pub used: u64,
}

#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub id: Uuid,
    pub slug: Slug,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A user's place in a workspace, to be created.
#[derive(Debug, Clone)]
pub struct NewMembership {
    pub workspace_id: Uuid,
    pub role_ids: Vec<Uuid>,
    pub grants: Vec<ResourcePattern>,
    pub team_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A user to be created, always with their first token (the personal token of a human, the
/// first `kga_` token of an API user), optionally with a workspace of their own and a membership.
/// Written in one transaction.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: Uuid,
    pub kind: UserKind,
    pub email: Option<Email>,
    pub display_name: String,
    pub description: Option<String>,
    /// The workspace an API user lives in.
    pub workspace_id: Option<Uuid>,
    pub password_hash: Option<String>,
    pub is_instance_admin: bool,
    /// Whether the instance vouches that the person holds the email (see
    /// [`Store::email_vouched`]).
    pub email_vouched: bool,
    pub created_at: DateTime<Utc>,
    /// Where the user's tokens may be used from (API users); `None` for anywhere.
    pub allowed_ips: Option<AllowedIps>,
    /// How often the user's tokens together may be used (API users); `None`: no limit.
    pub rate_limits: Option<RateLimits>,
    pub first_token: NewToken,
    pub own_workspace: Option<NewWorkspace>,
    pub membership: Option<NewMembership>,
}

/// A web UI session to be started. Only the digest of its secret is stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub digest: [u8; 32],
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client_ip: Option<String>,
}

/// A one-time link with which a person sets their password. Only its code's digest is stored.
#[derive(Debug, Clone)]
pub struct NewPasswordLink {
    pub id: Uuid,
    pub user_id: Uuid,
    pub code_digest: [u8; 32],
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A live web UI session with its user.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub user: User,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Changes to a workspace; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WorkspacePatch {
    pub slug: Option<Slug>,
    pub name: Option<String>,
    pub max_token_lifetime_days: Option<Option<u32>>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
    pub disabled_at: Option<Option<DateTime<Utc>>>,
    pub allowed_ips: Option<Option<AllowedIps>>,
    pub rate_limits: Option<Option<RateLimits>>,
}

/// Changes to a membership: the lists given replace the current ones.
#[derive(Debug, Clone, Default)]
pub struct MemberPatch {
    pub role_ids: Option<Vec<Uuid>>,
    pub grants: Option<Vec<ResourcePattern>>,
    pub team_ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Clone)]
pub struct NewRole {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub permissions: PermissionSet,
    pub created_at: DateTime<Utc>,
}

/// Changes to a role; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    pub description: Option<Option<String>>,
    pub permissions: Option<PermissionSet>,
    pub grants: Option<Vec<ResourcePattern>>,
}

#[derive(Debug, Clone)]
pub struct NewTeam {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub role_ids: Vec<Uuid>,
    pub grants: Vec<ResourcePattern>,
    pub member_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Changes to a team: the lists given replace the current ones.
#[derive(Debug, Clone, Default)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub role_ids: Option<Vec<Uuid>>,
    pub grants: Option<Vec<ResourcePattern>>,
    pub member_ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub email: Email,
    pub roles: Vec<String>,
    pub grants: Vec<ResourcePattern>,
    /// SHA-256 of the one-time code; the code itself is never stored.
    pub code_digest: [u8; 32],
    pub invited_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// How many connections the pool holds, and how many of them are idle.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    pub size: u32,
    pub idle: usize,
}

/// A token seen in use, to record off the request path.
#[derive(Debug, Clone)]
pub struct TokenUse {
    pub token_id: Uuid,
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
}

/// Uses of a replaced secret during its overlap, to record off the request path.
#[derive(Debug, Clone)]
pub struct RetiringUse {
    pub digest: TokenDigest,
    pub count: u64,
    /// The latest of them.
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
}

/// How a rotation treats the secret it replaces.
#[derive(Debug, Clone, Copy)]
pub struct Overlap {
    /// How long the replaced secret keeps working after the new one's first use; 0: not at all.
    pub grace_seconds: u32,
    /// The latest it works, whatever happens.
    pub deadline: DateTime<Utc>,
}

/// A webhook endpoint to register.
#[derive(Clone)]
pub struct NewEndpoint {
    pub id: Uuid,
    /// `None`: instance-wide.
    pub workspace_id: Option<Uuid>,
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<String>,
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub events: Option<Vec<String>>,
    /// `Some(Some((when, why)))` disables it, `Some(None)` enables it.
    pub disabled: Option<Option<(DateTime<Utc>, String)>>,
}

/// How one attempt to deliver went.
#[derive(Debug, Clone)]
pub struct DeliveryOutcome {
    pub message_id: Uuid,
    pub endpoint_id: Uuid,
    /// `Pending` when it will be tried again at `next_attempt_at`.
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub attempted_at: DateTime<Utc>,
    pub http_status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub error: Option<String>,
}

/// A token that expires soon or has just expired, for its expiry events.
#[derive(Debug, Clone)]
pub struct ExpiringToken {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The workspace of its API user; `None` for a person's token.
    pub workspace_id: Option<Uuid>,
    pub kind: TokenKind,
    pub name: Option<String>,
    pub hint: String,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The smallest horizon (days) whose event was already sent; 0 once `token.expired` was.
    pub noticed: Option<u32>,
}

/// Which audit entries to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Entries older than this id (the cursor of the previous page).
    pub before: Option<Uuid>,
    pub limit: u32,
}

/// Which users an instance admin lists: every filter given must hold. Ordered by id (oldest
/// first), one page at a time.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub kind: Option<UserKind>,
    /// Part of the email or display name, case-insensitive.
    pub search: Option<String>,
    pub disabled: Option<bool>,
    /// Users after this id (the cursor of the previous page).
    pub after: Option<Uuid>,
    pub limit: u32,
}

/// What a member holds in a workspace, directly and through their teams.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub role_permissions: Vec<PermissionSet>,
    /// The member's own grants.
    pub grants: Vec<ResourcePattern>,
    /// Grants of the teams the member is in.
    pub team_grants: Vec<ResourcePattern>,
}

/// How a decision names the workspace it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceLookup<'a> {
    Id(Uuid),
    Slug(&'a str),
}

/// Everything a decision in one workspace reads besides the token: the workspace, what the user
/// holds in it, and its public role. Read in one round trip.
#[derive(Debug, Clone)]
pub struct DecisionContext {
    pub workspace: Workspace,
    /// The member's access; `None` when the user is not a member, or when no user was named.
    pub access: Option<Access>,
    /// The public role's permissions and resource grants; `None` when the workspace has none.
    pub public: Option<(PermissionSet, Vec<ResourcePattern>)>,
}

/// Everything Keygate keeps. Implementations map their errors to [`StoreError`] and never see a
/// clear token. Every change takes the audit entry that describes it and writes both in one
/// transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations. Safe to call on every start and from several nodes at once.
    async fn migrate(&self) -> Result<()>;

    /// Answers when the database is reachable.
    async fn ping(&self) -> Result<()>;

    /// Closes the pool, waiting for connections in use.
    async fn close(&self);

    fn pool_state(&self) -> PoolState;

    // Change notices between nodes.

    /// Tells every node of a change that affects verification: PostgreSQL `NOTIFY`; on SQLite a
    /// row in `change_notices`, for the other processes on the same file (the CLI's `token` and
    /// `user` commands beside a running server).
    async fn publish(&self, notice: &str) -> Result<()>;
    /// Waits for the next notice from any node. `Ok(None)` means notices may have been missed
    /// (the first call, a lost connection): the caller must forget what it cached. SQLite polls
    /// `change_notices` every 250 ms.
    async fn next_notice(&self) -> Result<Option<String>>;

    // Users.

    async fn create_user(&self, new: &NewUser, audit: &AuditEvent) -> Result<(User, Token)>;
    async fn user(&self, id: Uuid) -> Result<Option<User>>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>>;
    /// The users with these ids (those that exist), in no particular order.
    async fn users(&self, ids: &[Uuid]) -> Result<Vec<User>>;
    /// One page of users matching the filter, by id.
    async fn list_users(&self, filter: &UserFilter) -> Result<Vec<User>>;
    async fn update_user(
        &self,
        id: Uuid,
        patch: &UserPatch,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<User>>;
    /// Deletes the user with their tokens and memberships; false when there was none.
    async fn delete_user(&self, id: Uuid, audit: &AuditEvent) -> Result<bool>;
    /// The user's password hash, if they have a password.
    async fn password_hash(&self, user_id: Uuid) -> Result<Option<String>>;
    /// Whether the instance vouches that the person holds their email: their account was made at
    /// the command line or by an instance admin, not by open sign-up nor by accepting an
    /// invitation. False for an API user and for no such user.
    async fn email_vouched(&self, user_id: Uuid) -> Result<bool>;
    /// Sets the user's password and ends their sessions but `keep` (the one changing it).
    async fn set_password(
        &self,
        user_id: Uuid,
        hash: &str,
        keep: Option<Uuid>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<bool>;

    // Web UI sessions.

    /// Stores a password link, replacing the user's unused ones.
    async fn create_password_link(&self, new: &NewPasswordLink, audit: &AuditEvent) -> Result<()>;
    /// The user of an unused password link that has not expired at `now`, with its expiry.
    async fn password_link(
        &self,
        code_digest: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<(User, DateTime<Utc>)>>;
    /// Uses the link (once): sets the password of `user_id`, whose link it must be, and ends their
    /// sessions. False when the link is used, expired or not theirs.
    async fn use_password_link(
        &self,
        code_digest: &[u8; 32],
        user_id: Uuid,
        hash: &str,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Starts a session, forgetting the user's sessions that have expired.
    async fn create_session(&self, new: &NewSession, audit: &AuditEvent) -> Result<()>;
    /// The session with this digest and its user, when it has not expired at `now`.
    async fn session(&self, digest: &[u8; 32], now: DateTime<Utc>) -> Result<Option<Session>>;
    /// Ends a session; false when there was none.
    async fn delete_session(&self, id: Uuid, audit: &AuditEvent) -> Result<bool>;

    // Workspaces and memberships.

    /// Creates the workspace with its built-in roles and `owner` as its owner.
    async fn create_workspace(
        &self,
        new: &NewWorkspace,
        owner: Uuid,
        audit: &AuditEvent,
    ) -> Result<Workspace>;
    async fn workspace(&self, id: Uuid) -> Result<Option<Workspace>>;
    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>>;
    async fn update_workspace(
        &self,
        id: Uuid,
        patch: &WorkspacePatch,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<Workspace>>;
    /// Deletes the workspace and everything in it, its API users included; false when there was
    /// none.
    async fn delete_workspace(&self, id: Uuid, audit: &AuditEvent) -> Result<bool>;
    /// The user's memberships with their roles, ordered by workspace slug.
    async fn memberships(&self, user_id: Uuid) -> Result<Vec<Membership>>;
    async fn membership(&self, workspace_id: Uuid, user_id: Uuid) -> Result<Option<Membership>>;
    /// The permissions and grants a member holds, directly and through teams; None for a
    /// non-member.
    async fn access(&self, workspace_id: Uuid, user_id: Uuid) -> Result<Option<Access>> {
        Ok(self
            .decision_context(WorkspaceLookup::Id(workspace_id), Some(user_id))
            .await?
            .and_then(|context| context.access))
    }
    /// The workspace, `user_id`'s access in it and its public role, in one round trip; `None`
    /// when no workspace goes by `workspace`.
    async fn decision_context(
        &self,
        workspace: WorkspaceLookup<'_>,
        user_id: Option<Uuid>,
    ) -> Result<Option<DecisionContext>>;
    /// Members of the workspace, of one kind when given.
    async fn members(&self, workspace_id: Uuid, kind: Option<UserKind>) -> Result<Vec<Member>>;
    async fn member(&self, workspace_id: Uuid, user_id: Uuid) -> Result<Option<Member>>;
    async fn add_member(
        &self,
        user_id: Uuid,
        membership: &NewMembership,
        audit: &AuditEvent,
    ) -> Result<()>;
    /// Changes a member; false when the user is not a member. `LastOwner`, with nothing
    /// written, when the change would take the workspace's last owner away (changes to one
    /// workspace's members run one after the other, so two owners demoting each other at once
    /// cannot both succeed).
    async fn update_member(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        patch: &MemberPatch,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Removes a member; false when the user is not a member. `LastOwner` as for
    /// [`Store::update_member`].
    async fn remove_member(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        audit: &AuditEvent,
    ) -> Result<bool>;

    // Roles.

    async fn roles(&self, workspace_id: Uuid) -> Result<Vec<Role>>;
    async fn role(&self, workspace_id: Uuid, name: &str) -> Result<Option<Role>>;
    async fn create_role(&self, new: &NewRole, audit: &AuditEvent) -> Result<Role>;
    async fn update_role(
        &self,
        workspace_id: Uuid,
        name: &str,
        patch: &RolePatch,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<Role>>;
    async fn delete_role(&self, workspace_id: Uuid, name: &str, audit: &AuditEvent)
    -> Result<bool>;

    // Teams.

    async fn teams(&self, workspace_id: Uuid) -> Result<Vec<Team>>;
    async fn team(&self, workspace_id: Uuid, id: Uuid) -> Result<Option<Team>>;
    async fn create_team(&self, new: &NewTeam, audit: &AuditEvent) -> Result<Team>;
    async fn update_team(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        patch: &TeamPatch,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<Team>>;
    async fn delete_team(&self, workspace_id: Uuid, id: Uuid, audit: &AuditEvent) -> Result<bool>;

    // Invitations.

    /// Stores the invitation, replacing any pending one for the same email and workspace.
    async fn create_invitation(
        &self,
        new: &NewInvitation,
        audit: &AuditEvent,
    ) -> Result<Invitation>;
    async fn invitation_by_code(&self, code_digest: &[u8; 32]) -> Result<Option<Invitation>>;
    /// Pending (not accepted) invitations of the workspace.
    async fn invitations(&self, workspace_id: Uuid) -> Result<Vec<Invitation>>;
    async fn delete_invitation(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Marks the invitation accepted and creates the user with it; None when it was accepted
    /// meanwhile.
    async fn accept_invitation(
        &self,
        id: Uuid,
        user: &NewUser,
        audit: &AuditEvent,
    ) -> Result<Option<(User, Token)>>;
    /// Marks the invitation accepted and makes the existing user a member with it, in one
    /// transaction; false when it was accepted or cancelled meanwhile.
    async fn join_by_invitation(
        &self,
        id: Uuid,
        user_id: Uuid,
        membership: &NewMembership,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Pending (not accepted) invitations addressed to `email`, in every workspace.
    async fn invitations_for_email(&self, email: &Email) -> Result<Vec<Invitation>>;

    // Tokens.

    async fn insert_token(&self, new: &NewToken, audit: &AuditEvent) -> Result<Token>;
    /// What a token with this digest proves, and its user, in one round trip.
    async fn credential_by_digest(
        &self,
        digest: &TokenDigest,
    ) -> Result<Option<(Credential, User)>>;
    /// The user's tokens, newest first.
    async fn tokens_of(&self, user_id: Uuid) -> Result<Vec<Token>>;
    /// Tokens of these users, newest first.
    async fn tokens_of_users(&self, user_ids: &[Uuid]) -> Result<Vec<Token>>;
    /// Tokens of every member of the workspace, newest first.
    async fn member_tokens(&self, workspace_id: Uuid) -> Result<Vec<Token>>;
    async fn token_of(&self, user_id: Uuid, id: Uuid) -> Result<Option<Token>>;
    async fn personal_token(&self, user_id: Uuid) -> Result<Option<Token>>;
    /// Marks the token revoked (keeping the first revocation time); None when the user has no
    /// such token.
    async fn revoke_token(
        &self,
        user_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<Token>>;
    /// Replaces the digest and hint of a token that is not revoked, keeping the replaced secret
    /// working as `overlap` says; None when there is no such token or it was revoked meanwhile.
    #[allow(clippy::too_many_arguments)]
    async fn rotate_token(
        &self,
        user_id: Uuid,
        id: Uuid,
        digest: &TokenDigest,
        hint: &str,
        now: DateTime<Utc>,
        overlap: Overlap,
        audit: &AuditEvent,
    ) -> Result<Option<Token>>;
    /// Changes where the token may be used from and how often; None when the user has no such
    /// token.
    async fn update_token(
        &self,
        user_id: Uuid,
        id: Uuid,
        patch: &TokenPatch,
        audit: &AuditEvent,
    ) -> Result<Option<Token>>;
    /// Adds what this node admitted to each limit's window, and answers each window's total
    /// over every node, in the order given; windows that ended before `expired_before` are
    /// forgotten.
    async fn add_rate_uses(&self, uses: &[RateUse], expired_before: i64) -> Result<Vec<u64>>;
    /// Ends the overlap of the token's replaced secret now; false when none was running.
    async fn end_overlap(&self, id: Uuid, now: DateTime<Utc>, audit: &AuditEvent) -> Result<bool>;
    /// Starts the grace period of the token's replaced secret at the new secret's first use;
    /// false when it had started already, or there is none.
    async fn start_grace(&self, id: Uuid, first_use: DateTime<Utc>) -> Result<bool>;
    /// The secret the token's latest rotation replaced, if any, with its uses in the hour
    /// before `now`.
    async fn retiring_secret(&self, id: Uuid, now: DateTime<Utc>)
    -> Result<Option<RetiringSecret>>;

    /// Records when and from where tokens were last used, keeping the latest time, and the uses
    /// of replaced secrets.
    async fn record_token_use(&self, uses: &[TokenUse], retiring: &[RetiringUse]) -> Result<()>;

    // Audit.

    /// Writes an entry that goes with no change (a failed authentication).
    async fn record(&self, audit: &AuditEvent) -> Result<()>;

    // Leaks.

    /// What the workspace does with a token of its that leaked.
    async fn leak_policy(&self, workspace_id: Uuid) -> Result<LeakPolicy>;
    async fn set_leak_policy(
        &self,
        workspace_id: Uuid,
        policy: LeakPolicy,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Marks the token leaked and does `action`, with `audit` (`token.leaked`); false when there
    /// is no such token.
    async fn mark_leaked(
        &self,
        token_id: Uuid,
        url: Option<&str>,
        reporter: &str,
        action: LeakAction,
        audit: &AuditEvent,
    ) -> Result<bool>;

    // Webhooks.

    async fn create_endpoint(&self, new: &NewEndpoint, audit: &AuditEvent) -> Result<Endpoint>;
    /// A workspace's endpoints, or (`None`) the instance-wide ones.
    async fn endpoints(&self, workspace_id: Option<Uuid>) -> Result<Vec<Endpoint>>;
    async fn endpoint(&self, id: Uuid) -> Result<Option<Endpoint>>;
    async fn update_endpoint(
        &self,
        id: Uuid,
        patch: &EndpointPatch,
        now: DateTime<Utc>,
        audit: Option<&AuditEvent>,
    ) -> Result<Option<Endpoint>>;
    /// Replaces the secret; the current one keeps signing until `previous_until`.
    async fn rotate_endpoint_secret(
        &self,
        id: Uuid,
        secret: &str,
        previous_until: DateTime<Utc>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<Endpoint>>;
    async fn delete_endpoint(&self, id: Uuid, audit: &AuditEvent) -> Result<bool>;
    /// Takes up to `limit` due deliveries until `lease_until`; none when none is due.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
    async fn finish_delivery(&self, outcome: &DeliveryOutcome) -> Result<()>;
    /// The endpoint's latest deliveries, newest first.
    async fn deliveries(&self, endpoint_id: Uuid, limit: u32) -> Result<Vec<Delivery>>;
    /// Sends a delivery again (at `now`, with a fresh schedule of retries).
    async fn redeliver(
        &self,
        endpoint_id: Uuid,
        message_id: Uuid,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Tokens not revoked that expire in `(since, until]`.
    async fn expiring_tokens(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ExpiringToken>>;
    /// Records the expiry event `audit` for the token and horizon, once: false when it was.
    async fn note_expiry(
        &self,
        token_id: Uuid,
        horizon_days: u32,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Entries of one workspace's log, or (`None`) of the whole instance.
    async fn audit_events(
        &self,
        workspace_id: Option<Uuid>,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEvent>>;
}

/// The one implementation of [`Store`], for both backends: each method runs its aggregate's SQL
/// (`sql/users.rs`, `sql/tokens.rs`, ...) and each change commits with its audit entry.
#[async_trait]
impl<B: Backend> Store for B {
    async fn migrate(&self) -> Result<()> {
        self.pool().migrate(&self.migrator()).await?;
        users::fill_search_text(self.pool()).await
    }

    async fn ping(&self) -> Result<()> {
        sql::query("SELECT 1", ()).execute(self.pool()).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool().close().await;
    }

    fn pool_state(&self) -> PoolState {
        self.pool().state()
    }

    async fn publish(&self, notice: &str) -> Result<()> {
        self.publish_notice(notice).await
    }

    async fn next_notice(&self) -> Result<Option<String>> {
        self.receive_notice().await
    }

    async fn create_user(&self, new: &NewUser, audit: &AuditEvent) -> Result<(User, Token)> {
        let mut tx = self.begin_write().await?;
        let created = users::insert(&mut tx, new).await?;
        commit(tx, audit, created).await
    }

    async fn user(&self, id: Uuid) -> Result<Option<User>> {
        users::by_id(self.pool(), id).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        users::by_email(self.pool(), email).await
    }

    async fn users(&self, ids: &[Uuid]) -> Result<Vec<User>> {
        users::by_ids(self.pool(), ids).await
    }

    async fn list_users(&self, filter: &UserFilter) -> Result<Vec<User>> {
        users::list(self.pool(), filter).await
    }

    async fn update_user(
        &self,
        id: Uuid,
        patch: &UserPatch,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<User>> {
        let mut tx = self.begin_write().await?;
        let user = users::update(&mut tx, id, patch, now).await?;
        commit_if(tx, audit, user).await
    }

    async fn delete_user(&self, id: Uuid, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let deleted = users::delete(&mut tx, id).await?;
        commit_if(tx, audit, deleted).await
    }

    async fn password_hash(&self, user_id: Uuid) -> Result<Option<String>> {
        users::password_hash(self.pool(), user_id).await
    }

    async fn email_vouched(&self, user_id: Uuid) -> Result<bool> {
        users::email_vouched(self.pool(), user_id).await
    }

    async fn set_password(
        &self,
        user_id: Uuid,
        hash: &str,
        keep: Option<Uuid>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let set = users::set_password(&mut tx, user_id, hash, keep, now).await?;
        commit_if(tx, audit, set).await
    }

    async fn create_password_link(&self, new: &NewPasswordLink, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sessions::create_password_link(&mut tx, new).await?;
        commit(tx, audit, ()).await
    }

    async fn password_link(
        &self,
        code_digest: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<(User, DateTime<Utc>)>> {
        let Some((user_id, expires_at)) =
            sessions::password_link(self.pool(), code_digest, now).await?
        else {
            return Ok(None);
        };
        Ok(self.user(user_id).await?.map(|u| (u, expires_at)))
    }

    async fn use_password_link(
        &self,
        code_digest: &[u8; 32],
        user_id: Uuid,
        hash: &str,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let used = sessions::use_password_link(&mut tx, code_digest, user_id, hash, now).await?;
        commit_if(tx, audit, used).await
    }

    async fn create_session(&self, new: &NewSession, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sessions::create(&mut tx, new).await?;
        commit(tx, audit, ()).await
    }

    async fn session(&self, digest: &[u8; 32], now: DateTime<Utc>) -> Result<Option<Session>> {
        sessions::by_digest(self.pool(), digest, now).await
    }

    async fn delete_session(&self, id: Uuid, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let ended = sessions::delete(&mut tx, id).await?;
        commit_if(tx, audit, ended).await
    }

    async fn create_workspace(
        &self,
        new: &NewWorkspace,
        owner: Uuid,
        audit: &AuditEvent,
    ) -> Result<Workspace> {
        let mut tx = self.begin_write().await?;
        let workspace = workspaces::insert(&mut tx, new, owner).await?;
        commit(tx, audit, workspace).await
    }

    async fn workspace(&self, id: Uuid) -> Result<Option<Workspace>> {
        workspaces::find(self.pool(), WorkspaceLookup::Id(id)).await
    }

    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
        workspaces::find(self.pool(), WorkspaceLookup::Slug(slug)).await
    }

    async fn update_workspace(
        &self,
        id: Uuid,
        patch: &WorkspacePatch,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<Workspace>> {
        let mut tx = self.begin_write().await?;
        let workspace = workspaces::update(&mut tx, id, patch, now).await?;
        commit_if(tx, audit, workspace).await
    }

    async fn delete_workspace(&self, id: Uuid, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let deleted = workspaces::delete(&mut tx, id).await?;
        commit_if(tx, audit, deleted).await
    }

    async fn memberships(&self, user_id: Uuid) -> Result<Vec<Membership>> {
        workspaces::memberships(self.pool(), user_id).await
    }

    async fn membership(&self, workspace_id: Uuid, user_id: Uuid) -> Result<Option<Membership>> {
        workspaces::membership(self.pool(), workspace_id, user_id).await
    }

    async fn decision_context(
        &self,
        workspace: WorkspaceLookup<'_>,
        user_id: Option<Uuid>,
    ) -> Result<Option<DecisionContext>> {
        access::decision_context(self.pool(), workspace, user_id).await
    }

    async fn members(&self, workspace_id: Uuid, kind: Option<UserKind>) -> Result<Vec<Member>> {
        members::load(self.pool(), workspace_id, None, kind).await
    }

    async fn member(&self, workspace_id: Uuid, user_id: Uuid) -> Result<Option<Member>> {
        Ok(
            members::load(self.pool(), workspace_id, Some(user_id), None)
                .await?
                .pop(),
        )
    }

    async fn add_member(
        &self,
        user_id: Uuid,
        membership: &NewMembership,
        audit: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        members::add(&mut tx, user_id, membership).await?;
        commit(tx, audit, ()).await
    }

    async fn update_member(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        patch: &MemberPatch,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        members::lock_workspace(&mut tx, workspace_id).await?;
        let had_owner = members::has_owner(&mut tx, workspace_id).await?;
        let updated = members::update(&mut tx, workspace_id, user_id, patch).await?;
        if had_owner && !members::has_owner(&mut tx, workspace_id).await? {
            return Err(StoreError::LastOwner);
        }
        commit_if(tx, audit, updated).await
    }

    async fn remove_member(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        members::lock_workspace(&mut tx, workspace_id).await?;
        let had_owner = members::has_owner(&mut tx, workspace_id).await?;
        let removed = members::remove(&mut tx, workspace_id, user_id).await?;
        if had_owner && !members::has_owner(&mut tx, workspace_id).await? {
            return Err(StoreError::LastOwner);
        }
        commit_if(tx, audit, removed).await
    }

    async fn roles(&self, workspace_id: Uuid) -> Result<Vec<Role>> {
        roles::load(self.pool(), workspace_id, None).await
    }

    async fn role(&self, workspace_id: Uuid, name: &str) -> Result<Option<Role>> {
        Ok(roles::load(self.pool(), workspace_id, Some(name))
            .await?
            .pop())
    }

    async fn create_role(&self, new: &NewRole, audit: &AuditEvent) -> Result<Role> {
        let mut tx = self.begin_write().await?;
        let role = roles::insert(&mut tx, new).await?;
        commit(tx, audit, role).await
    }

    async fn update_role(
        &self,
        workspace_id: Uuid,
        name: &str,
        patch: &RolePatch,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<Role>> {
        let mut tx = self.begin_write().await?;
        let role = roles::update(&mut tx, workspace_id, name, patch, now).await?;
        commit_if(tx, audit, role).await
    }

    async fn delete_role(
        &self,
        workspace_id: Uuid,
        name: &str,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let deleted = roles::delete(&mut tx, workspace_id, name).await?;
        commit_if(tx, audit, deleted).await
    }

    async fn teams(&self, workspace_id: Uuid) -> Result<Vec<Team>> {
        teams::load(self.pool(), workspace_id, None).await
    }

    async fn team(&self, workspace_id: Uuid, id: Uuid) -> Result<Option<Team>> {
        Ok(teams::load(self.pool(), workspace_id, Some(id))
            .await?
            .pop())
    }

    async fn create_team(&self, new: &NewTeam, audit: &AuditEvent) -> Result<Team> {
        let mut tx = self.begin_write().await?;
        teams::insert(&mut tx, new).await?;
        commit(tx, audit, ()).await?;
        self.team(new.workspace_id, new.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("team vanished".into()))
    }

    async fn update_team(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        patch: &TeamPatch,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<Team>> {
        let mut tx = self.begin_write().await?;
        let updated = teams::update(&mut tx, workspace_id, id, patch, now).await?;
        if !commit_if(tx, audit, updated).await? {
            return Ok(None);
        }
        self.team(workspace_id, id).await
    }

    async fn delete_team(&self, workspace_id: Uuid, id: Uuid, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let deleted = teams::delete(&mut tx, workspace_id, id).await?;
        commit_if(tx, audit, deleted).await
    }

    async fn create_invitation(
        &self,
        new: &NewInvitation,
        audit: &AuditEvent,
    ) -> Result<Invitation> {
        let mut tx = self.begin_write().await?;
        let invitation = invitations::insert(&mut tx, new).await?;
        commit(tx, audit, invitation).await
    }

    async fn invitation_by_code(&self, code_digest: &[u8; 32]) -> Result<Option<Invitation>> {
        invitations::by_code(self.pool(), code_digest).await
    }

    async fn invitations(&self, workspace_id: Uuid) -> Result<Vec<Invitation>> {
        invitations::pending_in(self.pool(), workspace_id).await
    }

    async fn delete_invitation(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let deleted = invitations::delete(&mut tx, workspace_id, id).await?;
        commit_if(tx, audit, deleted).await
    }

    async fn accept_invitation(
        &self,
        id: Uuid,
        user: &NewUser,
        audit: &AuditEvent,
    ) -> Result<Option<(User, Token)>> {
        let mut tx = self.begin_write().await?;
        let created = invitations::accept(&mut tx, id, user).await?;
        commit_if(tx, audit, created).await
    }

    async fn join_by_invitation(
        &self,
        id: Uuid,
        user_id: Uuid,
        membership: &NewMembership,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let joined = invitations::join(&mut tx, id, user_id, membership).await?;
        commit_if(tx, audit, joined).await
    }

    async fn invitations_for_email(&self, email: &Email) -> Result<Vec<Invitation>> {
        invitations::pending_for(self.pool(), email).await
    }

    async fn insert_token(&self, new: &NewToken, audit: &AuditEvent) -> Result<Token> {
        let mut tx = self.begin_write().await?;
        let token = tokens::insert(&mut tx, new).await?;
        commit(tx, audit, token).await
    }

    async fn credential_by_digest(
        &self,
        digest: &TokenDigest,
    ) -> Result<Option<(Credential, User)>> {
        tokens::credential_by_digest(self.pool(), digest).await
    }

    async fn tokens_of(&self, user_id: Uuid) -> Result<Vec<Token>> {
        tokens::of_user(self.pool(), user_id).await
    }

    async fn tokens_of_users(&self, user_ids: &[Uuid]) -> Result<Vec<Token>> {
        tokens::of_users(self.pool(), user_ids).await
    }

    async fn member_tokens(&self, workspace_id: Uuid) -> Result<Vec<Token>> {
        tokens::of_members(self.pool(), workspace_id).await
    }

    async fn token_of(&self, user_id: Uuid, id: Uuid) -> Result<Option<Token>> {
        tokens::by_id(self.pool(), user_id, id).await
    }

    async fn personal_token(&self, user_id: Uuid) -> Result<Option<Token>> {
        tokens::personal(self.pool(), user_id).await
    }

    async fn revoke_token(
        &self,
        user_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<Token>> {
        let mut tx = self.begin_write().await?;
        let token = tokens::revoke(&mut tx, user_id, id, now).await?;
        commit_if(tx, audit, token).await
    }

    async fn update_token(
        &self,
        user_id: Uuid,
        id: Uuid,
        patch: &TokenPatch,
        audit: &AuditEvent,
    ) -> Result<Option<Token>> {
        let mut tx = self.begin_write().await?;
        let token = tokens::update(&mut tx, user_id, id, patch).await?;
        commit_if(tx, audit, token).await
    }

    async fn add_rate_uses(&self, uses: &[RateUse], expired_before: i64) -> Result<Vec<u64>> {
        let mut tx = self.begin_write().await?;
        let totals = rates::add_uses(&mut tx, uses, expired_before).await?;
        tx.commit().await?;
        Ok(totals)
    }

    async fn rotate_token(
        &self,
        user_id: Uuid,
        id: Uuid,
        digest: &TokenDigest,
        hint: &str,
        now: DateTime<Utc>,
        overlap: Overlap,
        audit: &AuditEvent,
    ) -> Result<Option<Token>> {
        let mut tx = self.begin_write().await?;
        let token = tokens::rotate(&mut tx, user_id, id, digest, hint, now, overlap).await?;
        commit_if(tx, audit, token).await
    }

    async fn end_overlap(&self, id: Uuid, now: DateTime<Utc>, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let ended = tokens::end_overlap(&mut tx, id, now).await?;
        commit_if(tx, audit, ended).await
    }

    async fn start_grace(&self, id: Uuid, first_use: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let started = tokens::start_grace(&mut tx, id, first_use).await?;
        tx.commit().await?;
        Ok(started)
    }

    async fn retiring_secret(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<RetiringSecret>> {
        tokens::retiring_secret(self.pool(), id, now).await
    }

    async fn record_token_use(&self, uses: &[TokenUse], retiring: &[RetiringUse]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tokens::record_use(&mut tx, uses).await?;
        tokens::record_retiring_use(&mut tx, retiring).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record(&self, audit: &AuditEvent) -> Result<()> {
        let tx = self.begin_write().await?;
        commit(tx, audit, ()).await
    }

    async fn leak_policy(&self, workspace_id: Uuid) -> Result<LeakPolicy> {
        workspaces::leak_policy(self.pool(), workspace_id).await
    }

    async fn set_leak_policy(
        &self,
        workspace_id: Uuid,
        policy: LeakPolicy,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let set = workspaces::set_leak_policy(&mut tx, workspace_id, policy).await?;
        commit_if(tx, audit, set).await
    }

    async fn mark_leaked(
        &self,
        token_id: Uuid,
        url: Option<&str>,
        reporter: &str,
        action: LeakAction,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let marked =
            tokens::mark_leaked(&mut tx, token_id, url, reporter, action, audit.created_at).await?;
        commit_if(tx, audit, marked).await
    }

    async fn create_endpoint(&self, new: &NewEndpoint, audit: &AuditEvent) -> Result<Endpoint> {
        let mut tx = self.begin_write().await?;
        webhooks::insert(&mut tx, new).await?;
        commit(tx, audit, ()).await?;
        self.endpoint(new.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("endpoint vanished".into()))
    }

    async fn endpoints(&self, workspace_id: Option<Uuid>) -> Result<Vec<Endpoint>> {
        webhooks::list(self.pool(), workspace_id).await
    }

    async fn endpoint(&self, id: Uuid) -> Result<Option<Endpoint>> {
        webhooks::get(self.pool(), id).await
    }

    async fn update_endpoint(
        &self,
        id: Uuid,
        patch: &EndpointPatch,
        now: DateTime<Utc>,
        audit: Option<&AuditEvent>,
    ) -> Result<Option<Endpoint>> {
        let mut tx = self.begin_write().await?;
        let updated = webhooks::update(&mut tx, id, patch, now).await?;
        match audit {
            Some(audit) if updated => commit(tx, audit, ()).await?,
            _ => tx.commit().await?,
        }
        if !updated {
            return Ok(None);
        }
        self.endpoint(id).await
    }

    async fn rotate_endpoint_secret(
        &self,
        id: Uuid,
        secret: &str,
        previous_until: DateTime<Utc>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<Endpoint>> {
        let mut tx = self.begin_write().await?;
        let rotated = webhooks::rotate_secret(&mut tx, id, secret, previous_until, now).await?;
        if !commit_if(tx, audit, rotated).await? {
            return Ok(None);
        }
        self.endpoint(id).await
    }

    async fn delete_endpoint(&self, id: Uuid, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let deleted = webhooks::delete(&mut tx, id).await?;
        commit_if(tx, audit, deleted).await
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        // A read first: most of the time nothing is due, and a read takes no write lock.
        if !webhooks::any_due(self.pool(), now).await? {
            return Ok(Vec::new());
        }
        webhooks::claim(self.pool(), now, lease_until, limit).await
    }

    async fn finish_delivery(&self, outcome: &DeliveryOutcome) -> Result<()> {
        webhooks::finish(self.pool(), outcome).await
    }

    async fn deliveries(&self, endpoint_id: Uuid, limit: u32) -> Result<Vec<Delivery>> {
        webhooks::deliveries(self.pool(), endpoint_id, limit).await
    }

    async fn redeliver(
        &self,
        endpoint_id: Uuid,
        message_id: Uuid,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let queued = webhooks::redeliver(&mut tx, endpoint_id, message_id, now).await?;
        commit_if(tx, audit, queued).await
    }

    async fn expiring_tokens(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ExpiringToken>> {
        webhooks::expiring(self.pool(), since, until).await
    }

    async fn note_expiry(
        &self,
        token_id: Uuid,
        horizon_days: u32,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let noted =
            webhooks::note_expiry(&mut tx, token_id, horizon_days, audit.created_at).await?;
        commit_if(tx, audit, noted).await
    }

    async fn audit_events(
        &self,
        workspace_id: Option<Uuid>,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEvent>> {
        audit::list(self.pool(), workspace_id, filter).await
    }
}
