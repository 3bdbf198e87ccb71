//! The SQL behind [`Store`](crate::Store), one file per aggregate (users, sessions, workspaces,
//! members, roles, teams, invitations, tokens, access, audit, webhooks), written once for both backends.
//! `sqlite.rs` and `postgres.rs` implement [`Backend`] (their pool, how a write transaction
//! starts, their migrations and change notices); every other line is shared, and the one `Store`
//! implementation in `lib.rs` calls the aggregates.
//!
//! The SQL is written to run unchanged on SQLite and PostgreSQL: `$N` placeholders (SQLite accepts
//! them), `RETURNING`, and column types chosen per backend in the migrations. `query.rs` runs each
//! statement on the backend at hand; the compiler checks every statement's parameters and rows
//! against both.
//!
//! This file holds what the aggregates share: replacing a list, reading what members and teams
//! hold, and committing a change with its audit entry.

/// `SELECT`, the columns `$columns!()` lists, then the rest of the statement.
macro_rules! select {
    ($columns:ident, $rest:literal) => {
        concat!("SELECT ", $columns!(), " ", $rest)
    };
}

pub(crate) mod access;
pub(crate) mod audit;
pub(crate) mod invitations;
pub(crate) mod members;
mod query;
pub(crate) mod rates;
pub(crate) mod roles;
pub(crate) mod sessions;
pub(crate) mod teams;
pub(crate) mod tokens;
pub(crate) mod users;
pub(crate) mod webhooks;
pub(crate) mod workspaces;

use std::future::Future;

use uuid::Uuid;

use crate::Result;
use crate::rows::{GrantRow, Held, HeldRoleRow};
use keygate_domain::AuditEvent;
use query::{Params, Query};
pub(crate) use query::{Pool, Tx, query};

/// What truly differs between the backends; everything else is this module's.
pub(crate) trait Backend: Send + Sync + 'static {
    fn pool(&self) -> Pool<'_>;
    /// Begins a write transaction.
    fn begin_write(&self) -> impl Future<Output = Result<Tx>> + Send;
    fn migrator(&self) -> sqlx::migrate::Migrator;
    fn publish_notice(&self, notice: &str) -> impl Future<Output = Result<()>> + Send;
    fn receive_notice(&self) -> impl Future<Output = Result<Option<String>>> + Send;
}

/// Replaces the rows `clear` deletes with those `insert` writes, one for each of `items`.
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
pub(crate) trait Changed {
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

/// Commits a change with `audit`, the entry that describes it, and the webhook deliveries of
/// the event it produces.
pub(crate) async fn commit<T>(mut tx: Tx, audit: &AuditEvent, outcome: T) -> Result<T> {
    audit::insert(&mut tx, audit).await?;
    webhooks::enqueue(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Commits a change that may have found nothing to change, with `audit` only when it did.
pub(crate) async fn commit_if<T: Changed>(tx: Tx, audit: &AuditEvent, outcome: T) -> Result<T> {
    if outcome.changed() {
        return commit(tx, audit, outcome).await;
    }
    tx.commit().await?;
    Ok(outcome)
}
