//! The audit log: entries written with the changes they describe, and read a page at a time.

use keygate_domain::AuditEvent;
use sqlx::types::Json;
use uuid::Uuid;

use super::query::{Exec, Pool, query};
use crate::time::Ts;
use crate::{AuditFilter, Result};

pub(crate) async fn insert(exec: impl Into<Exec<'_>>, e: &AuditEvent) -> Result<()> {
    let sql = "INSERT INTO audit_events (id, workspace_id, actor_id, actor_label, actor_token_id, \
               action, target_type, target_id, details, client_ip, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    let params = (
        e.id,
        e.workspace_id,
        e.actor_id,
        &e.actor_label,
        e.actor_token_id,
        &e.action,
        &e.target_type,
        &e.target_id,
        Json(&e.details),
        &e.client_ip,
        Ts(e.created_at),
    );
    query(sql, params).execute(exec).await
}

/// Entries of one workspace (or, `None`, of the whole instance) that match the filter, newest
/// first.
pub(crate) async fn list(
    pool: Pool<'_>,
    workspace_id: Option<Uuid>,
    filter: &AuditFilter,
) -> Result<Vec<AuditEvent>> {
    let sql = "SELECT id, workspace_id, actor_id, actor_label, actor_token_id, action, \
               target_type, target_id, details, client_ip, created_at FROM audit_events \
               WHERE ($1 IS NULL OR workspace_id = $1) AND ($2 IS NULL OR actor_id = $2) \
                 AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR target_id = $4) \
                 AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) \
                 AND ($7 IS NULL OR id < $7) \
               ORDER BY id DESC LIMIT $8";
    let params = (
        workspace_id,
        filter.actor_id,
        &filter.action,
        &filter.target_id,
        filter.since.map(Ts),
        filter.until.map(Ts),
        filter.before,
        i64::from(filter.limit),
    );
    query(sql, params).fetch_all(pool).await
}
