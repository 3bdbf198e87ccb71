//! The one implementation of [`Store`](crate::Store), in one file per aggregate, for both
//! backends: `sqlite.rs` and `postgres.rs` implement [`Backend`] (their pool, how a write
//! transaction starts, their migrations and change notices), and every other line is shared.
//!
//! The SQL is written to run unchanged on SQLite and PostgreSQL: `$N` placeholders (SQLite accepts
//! them), `RETURNING`, and column types chosen per backend in the migrations. `query.rs` runs each
//! statement on the backend at hand; the compiler checks every statement's parameters and rows
//! against both.
//!
//! This file holds the `Store` implementation, which runs each change in a write transaction with
//! its audit entry, and the helpers the aggregates share.

/// `SELECT`, the columns `$columns!()` lists, then the rest of the statement.
macro_rules! select {
    ($columns:ident, $rest:literal) => {
        concat!("SELECT ", $columns!(), " ", $rest)
    };
}

mod access;
mod audit;
mod invitations;
mod members;
mod query;
mod roles;
mod sessions;
mod teams;
mod tokens;
mod users;
mod workspaces;

use std::future::Future;

use chrono::{DateTime, Utc};
use keygate_domain::{
    AuditEvent, Credential, Email, Invitation, Member, Membership, Role, Team, Token, TokenDigest,
    User, UserKind, Workspace,
};
use uuid::Uuid;

use crate::rows::{GrantRow, Held, HeldRoleRow};
use crate::{
    AuditFilter, DecisionContext, MemberPatch, NewAuditEvent, NewInvitation, NewMembership,
    NewPasswordLink, NewRole, NewSession, NewTeam, NewToken, NewUser, NewWorkspace, PoolState,
    Result, RolePatch, Session, Store, StoreError, TeamPatch, TokenUse, UserFilter, UserPatch,
    WorkspaceLookup, WorkspacePatch,
};
use query::{Params, Query, query};
pub(crate) use query::{Pool, Tx};

/// What truly differs between the backends; everything else is this module's.
pub(crate) trait Backend: Send + Sync + 'static {
    fn pool(&self) -> Pool<'_>;
    /// Begins a write transaction.
    fn begin_write(&self) -> impl Future<Output = Result<Tx>> + Send;
    fn migrator(&self) -> sqlx::migrate::Migrator;
    fn publish_notice(&self, notice: &str) -> impl Future<Output = Result<()>> + Send;
    fn receive_notice(&self) -> impl Future<Output = Result<Option<String>>> + Send;
}

/// Replaces the rows `clear` deletes with those `insert` writes, one for each of
/// `items`.
async fn replace<'q, C: Params<'q>, P: Params<'q>>(
    tx: &mut Tx,
    clear: Query<C>,
    insert: &'static str,
    items: impl IntoIterator<Item = P>,
) -> Result<()> {
    clear.execute(&mut *tx).await?;
    for params in items {
        query(insert, params).execute(&mut *tx).await?;
    }
    Ok(())
}

/// What the members or teams `which` selects hold: their roles (`roles` selects `owner_id` and a
/// role's columns) and their grants (`grants` selects `owner_id` and `pattern`).
async fn held(
    pool: Pool<'_>,
    roles: &'static str,
    grants: &'static str,
    which: (Uuid, Option<Uuid>),
) -> Result<Held> {
    let roles: Vec<HeldRoleRow> = query(roles, which).fetch_all_rows(pool).await?;
    let grants: Vec<GrantRow> = query(grants, which).fetch_all_rows(pool).await?;
    Held::new(roles, grants)
}

/// What a change returns, saying whether it found something to change (and so is audited).
trait Changed {
    fn changed(&self) -> bool;
}

impl Changed for bool {
    fn changed(&self) -> bool {
        *self
    }
}

impl<T> Changed for Option<T> {
    fn changed(&self) -> bool {
        self.is_some()
    }
}

/// Commits a change with `audit`, the entry that describes it.
async fn commit<T>(mut tx: Tx, audit: &NewAuditEvent, outcome: T) -> Result<T> {
    audit::insert(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Commits a change that may have found nothing to change, with `audit` only when it did.
async fn commit_if<T: Changed>(tx: Tx, audit: &NewAuditEvent, outcome: T) -> Result<T> {
    if outcome.changed() {
        return commit(tx, audit, outcome).await;
    }
    tx.commit().await?;
    Ok(outcome)
}

#[async_trait::async_trait]
impl<B: Backend> Store for B {
    async fn migrate(&self) -> Result<()> {
        self.pool().migrate(&self.migrator()).await
    }

    async fn ping(&self) -> Result<()> {
        query("SELECT 1", ()).execute(self.pool()).await?;
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

    async fn create_user(&self, new: &NewUser, audit: &NewAuditEvent) -> Result<(User, Token)> {
        let mut tx = self.begin_write().await?;
        let outcome = users::insert(&mut tx, new).await?;
        commit(tx, audit, outcome).await
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
        audit: &NewAuditEvent,
    ) -> Result<Option<User>> {
        let mut tx = self.begin_write().await?;
        let outcome = users::update(&mut tx, id, patch, now).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn delete_user(&self, id: Uuid, audit: &NewAuditEvent) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let outcome = users::delete(&mut tx, id).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn password_hash(&self, user_id: Uuid) -> Result<Option<String>> {
        users::password_hash(self.pool(), user_id).await
    }

    async fn set_password(
        &self,
        user_id: Uuid,
        hash: &str,
        keep: Option<Uuid>,
        now: DateTime<Utc>,
        audit: &NewAuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let outcome = users::set_password(&mut tx, user_id, hash, keep, now).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn create_password_link(
        &self,
        new: &NewPasswordLink,
        audit: &NewAuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let outcome = sessions::create_password_link(&mut tx, new).await?;
        commit(tx, audit, outcome).await
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
        audit: &NewAuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let outcome = sessions::use_password_link(&mut tx, code_digest, user_id, hash, now).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn create_session(&self, new: &NewSession, audit: &NewAuditEvent) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let outcome = sessions::create(&mut tx, new).await?;
        commit(tx, audit, outcome).await
    }

    async fn session(&self, digest: &[u8; 32], now: DateTime<Utc>) -> Result<Option<Session>> {
        sessions::by_digest(self.pool(), digest, now).await
    }

    async fn delete_session(&self, id: Uuid, audit: &NewAuditEvent) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let outcome = sessions::delete(&mut tx, id).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn create_workspace(
        &self,
        new: &NewWorkspace,
        owner: Uuid,
        audit: &NewAuditEvent,
    ) -> Result<Workspace> {
        let mut tx = self.begin_write().await?;
        let outcome = workspaces::insert(&mut tx, new, owner).await?;
        commit(tx, audit, outcome).await
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
        audit: &NewAuditEvent,
    ) -> Result<Option<Workspace>> {
        let mut tx = self.begin_write().await?;
        let outcome = workspaces::update(&mut tx, id, patch, now).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn delete_workspace(&self, id: Uuid, audit: &NewAuditEvent) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let outcome = workspaces::delete(&mut tx, id).await?;
        commit_if(tx, audit, outcome).await
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
        audit: &NewAuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let outcome = members::add(&mut tx, user_id, membership).await?;
        commit(tx, audit, outcome).await
    }

    async fn update_member(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        patch: &MemberPatch,
        audit: &NewAuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let outcome = members::update(&mut tx, workspace_id, user_id, patch).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn remove_member(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        audit: &NewAuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let outcome = members::remove(&mut tx, workspace_id, user_id).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn roles(&self, workspace_id: Uuid) -> Result<Vec<Role>> {
        roles::list(self.pool(), workspace_id).await
    }

    async fn role(&self, workspace_id: Uuid, name: &str) -> Result<Option<Role>> {
        roles::by_name(self.pool(), workspace_id, name).await
    }

    async fn create_role(&self, new: &NewRole, audit: &NewAuditEvent) -> Result<Role> {
        let mut tx = self.begin_write().await?;
        let outcome = roles::insert(&mut tx, new).await?;
        commit(tx, audit, outcome).await
    }

    async fn update_role(
        &self,
        workspace_id: Uuid,
        name: &str,
        patch: &RolePatch,
        now: DateTime<Utc>,
        audit: &NewAuditEvent,
    ) -> Result<Option<Role>> {
        let mut tx = self.begin_write().await?;
        let outcome = roles::update(&mut tx, workspace_id, name, patch, now).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn delete_role(
        &self,
        workspace_id: Uuid,
        name: &str,
        audit: &NewAuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let outcome = roles::delete(&mut tx, workspace_id, name).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn teams(&self, workspace_id: Uuid) -> Result<Vec<Team>> {
        teams::load(self.pool(), workspace_id, None).await
    }

    async fn team(&self, workspace_id: Uuid, id: Uuid) -> Result<Option<Team>> {
        Ok(teams::load(self.pool(), workspace_id, Some(id))
            .await?
            .pop())
    }

    async fn create_team(&self, new: &NewTeam, audit: &NewAuditEvent) -> Result<Team> {
        let mut tx = self.begin_write().await?;
        let outcome = teams::insert(&mut tx, new).await?;
        commit(tx, audit, outcome).await?;
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
        audit: &NewAuditEvent,
    ) -> Result<Option<Team>> {
        let mut tx = self.begin_write().await?;
        let updated = teams::update(&mut tx, workspace_id, id, patch, now).await?;
        if !commit_if(tx, audit, updated).await? {
            return Ok(None);
        }
        self.team(workspace_id, id).await
    }

    async fn delete_team(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        audit: &NewAuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let outcome = teams::delete(&mut tx, workspace_id, id).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn create_invitation(
        &self,
        new: &NewInvitation,
        audit: &NewAuditEvent,
    ) -> Result<Invitation> {
        let mut tx = self.begin_write().await?;
        let outcome = invitations::insert(&mut tx, new).await?;
        commit(tx, audit, outcome).await
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
        audit: &NewAuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let outcome = invitations::delete(&mut tx, workspace_id, id).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn accept_invitation(
        &self,
        id: Uuid,
        user: &NewUser,
        audit: &NewAuditEvent,
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
        audit: &NewAuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let joined = invitations::join(&mut tx, id, user_id, membership).await?;
        commit_if(tx, audit, joined).await
    }

    async fn invitations_for_email(&self, email: &Email) -> Result<Vec<Invitation>> {
        invitations::pending_for(self.pool(), email).await
    }

    async fn insert_token(&self, new: &NewToken, audit: &NewAuditEvent) -> Result<Token> {
        let mut tx = self.begin_write().await?;
        let outcome = tokens::insert(&mut tx, new).await?;
        commit(tx, audit, outcome).await
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
        audit: &NewAuditEvent,
    ) -> Result<Option<Token>> {
        let mut tx = self.begin_write().await?;
        let outcome = tokens::revoke(&mut tx, user_id, id, now).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn rotate_token(
        &self,
        user_id: Uuid,
        id: Uuid,
        digest: &TokenDigest,
        hint: &str,
        now: DateTime<Utc>,
        audit: &NewAuditEvent,
    ) -> Result<Option<Token>> {
        let mut tx = self.begin_write().await?;
        let outcome = tokens::rotate(&mut tx, user_id, id, digest, hint, now).await?;
        commit_if(tx, audit, outcome).await
    }

    async fn record_token_use(&self, uses: &[TokenUse]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tokens::record_use(&mut tx, uses).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record(&self, audit: &NewAuditEvent) -> Result<()> {
        audit::insert(self.pool(), audit).await
    }

    async fn audit_events(
        &self,
        workspace_id: Option<Uuid>,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEvent>> {
        audit::list(self.pool(), workspace_id, filter).await
    }
}
