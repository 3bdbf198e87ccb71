//! Webhook endpoints, the outbox of their deliveries, and the expiry events already sent.
//!
//! An event's deliveries are written by [`enqueue`] in the transaction of the change that caused
//! it (every change commits with its audit entry, and the entry names the event), so a crash
//! between the change and the delivery loses nothing. Nodes take due deliveries with a lease:
//! the claiming `UPDATE` re-checks the lease on the row it updates, so on PostgreSQL two nodes
//! that race for a row wait for each other and only one gets it, and on SQLite writes are one at
//! a time anyway.

use chrono::{DateTime, Utc};
use keygate_domain::webhook::{self, Delivery, Endpoint};
use keygate_domain::{AuditEvent, TokenKind};
use uuid::Uuid;

use super::query::{Exec, Pool, Tx, query};
use super::replace;
use crate::rows::EndpointRow;
use crate::time::Ts;
use crate::{DeliveryOutcome, EndpointPatch, ExpiringToken, NewEndpoint, Result, StoreError};

macro_rules! endpoint_cols {
    () => {
        "id, workspace_id, url, description, secret, previous_secret, previous_secret_until, \
         disabled_at, disabled_reason, created_at, updated_at"
    };
}

macro_rules! delivery_cols {
    () => {
        "message_id, endpoint_id, event, payload, created_at, status, attempts, next_attempt_at, \
         last_attempt_at, last_status, last_latency_ms, last_error"
    };
}

/// Writes the deliveries of the event `audit` produces, if any, to every enabled endpoint that
/// wants it: the workspace's own and the instance-wide ones.
pub(crate) async fn enqueue(tx: &mut Tx, audit: &AuditEvent) -> Result<()> {
    let Some(event) = webhook::event_of(&audit.action, &audit.details) else {
        return Ok(());
    };
    let sql = "INSERT INTO webhook_deliveries \
                 (message_id, endpoint_id, event, payload, created_at, status, attempts, \
                  next_attempt_at) \
               SELECT $1, e.id, $2, $3, $4, 'pending', 0, $4 FROM webhook_endpoints e \
               JOIN webhook_endpoint_events v ON v.endpoint_id = e.id AND v.event = $2 \
               WHERE e.disabled_at IS NULL AND (e.workspace_id IS NULL OR e.workspace_id = $5)";
    let params = (
        audit.id,
        event,
        webhook::payload(event, audit),
        Ts(audit.created_at),
        audit.workspace_id,
    );
    query(sql, params).execute(tx).await
}

async fn set_events(tx: &mut Tx, id: Uuid, events: &[String]) -> Result<()> {
    let clear = query(
        "DELETE FROM webhook_endpoint_events WHERE endpoint_id = $1",
        (id,),
    );
    let insert = "INSERT INTO webhook_endpoint_events (endpoint_id, event) VALUES ($1, $2)";
    let items = events.iter().map(|e| (id, e.as_str())).collect::<Vec<_>>();
    replace(tx, clear, insert, items).await
}

pub(crate) async fn insert(tx: &mut Tx, new: &NewEndpoint) -> Result<()> {
    let sql = "INSERT INTO webhook_endpoints (id, workspace_id, url, description, secret, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)";
    let params = (
        new.id,
        new.workspace_id,
        &new.url,
        &new.description,
        &new.secret,
        Ts(new.created_at),
    );
    query(sql, params).execute(&mut *tx).await?;
    set_events(tx, new.id, &new.events).await
}

/// Endpoints of a workspace, or (`None`) the instance-wide ones, oldest first.
pub(crate) async fn list(pool: Pool<'_>, workspace_id: Option<Uuid>) -> Result<Vec<Endpoint>> {
    let sql = concat!(
        "SELECT ",
        endpoint_cols!(),
        " FROM webhook_endpoints WHERE ($1 IS NULL AND workspace_id IS NULL) \
          OR workspace_id = $1 ORDER BY created_at, id"
    );
    let rows: Vec<EndpointRow> = query(sql, (workspace_id,)).fetch_all_rows(pool).await?;
    with_events(pool, rows).await
}

pub(crate) async fn get(pool: Pool<'_>, id: Uuid) -> Result<Option<Endpoint>> {
    let sql = concat!(
        "SELECT ",
        endpoint_cols!(),
        " FROM webhook_endpoints WHERE id = $1"
    );
    let row: Option<EndpointRow> = query(sql, (id,)).fetch_optional_row(pool).await?;
    Ok(with_events(pool, row.into_iter().collect()).await?.pop())
}

async fn with_events(pool: Pool<'_>, rows: Vec<EndpointRow>) -> Result<Vec<Endpoint>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let sql = "SELECT event FROM webhook_endpoint_events WHERE endpoint_id = $1 ORDER BY event";
        let events: Vec<(String,)> = query(sql, (row.id,)).fetch_all_rows(pool).await?;
        out.push(row.read(events.into_iter().map(|(e,)| e).collect()));
    }
    Ok(out)
}

pub(crate) async fn update(
    tx: &mut Tx,
    id: Uuid,
    patch: &EndpointPatch,
    now: DateTime<Utc>,
) -> Result<bool> {
    let sql = "UPDATE webhook_endpoints SET url = COALESCE($2, url), \
               description = CASE WHEN $3 THEN $4 ELSE description END, \
               disabled_at = CASE WHEN $5 THEN $6 ELSE disabled_at END, \
               disabled_reason = CASE WHEN $5 THEN $7 ELSE disabled_reason END, \
               updated_at = $8 WHERE id = $1";
    let disabled = patch.disabled.as_ref();
    let params = (
        id,
        &patch.url,
        patch.description.is_some(),
        patch.description.clone().flatten(),
        disabled.is_some(),
        disabled.and_then(|d| d.as_ref().map(|(at, _)| Ts(*at))),
        disabled.and_then(|d| d.as_ref().map(|(_, why)| why.as_str())),
        Ts(now),
    );
    if !query(sql, params).changed(&mut *tx).await? {
        return Ok(false);
    }
    if let Some(events) = &patch.events {
        set_events(tx, id, events).await?;
    }
    Ok(true)
}

/// Replaces the secret; the current one keeps signing until `previous_until`.
pub(crate) async fn rotate_secret(
    tx: &mut Tx,
    id: Uuid,
    secret: &str,
    previous_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let sql = "UPDATE webhook_endpoints SET previous_secret = secret, secret = $2, \
               previous_secret_until = $3, updated_at = $4 WHERE id = $1";
    let params = (id, secret, Ts(previous_until), Ts(now));
    query(sql, params).changed(tx).await
}

pub(crate) async fn delete(tx: &mut Tx, id: Uuid) -> Result<bool> {
    query("DELETE FROM webhook_endpoints WHERE id = $1", (id,))
        .changed(tx)
        .await
}

/// Whether any delivery is due at `now` and not leased by a node.
pub(crate) async fn any_due(pool: Pool<'_>, now: DateTime<Utc>) -> Result<bool> {
    let sql = "SELECT message_id FROM webhook_deliveries WHERE status = 'pending' \
               AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) LIMIT 1";
    let found: Option<(Uuid,)> = query(sql, (Ts(now),)).fetch_optional_row(pool).await?;
    Ok(found.is_some())
}

/// Takes up to `limit` due deliveries for this node until `lease_until`, counting the attempt.
pub(crate) async fn claim(
    exec: impl Into<Exec<'_>>,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Delivery>> {
    let sql = concat!(
        "UPDATE webhook_deliveries SET leased_until = $2, attempts = attempts + 1 \
         WHERE status = 'pending' AND next_attempt_at <= $1 \
           AND (leased_until IS NULL OR leased_until <= $1) \
           AND (message_id, endpoint_id) IN (SELECT message_id, endpoint_id \
             FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
               AND (leased_until IS NULL OR leased_until <= $1) \
             ORDER BY next_attempt_at LIMIT $3) \
         RETURNING ",
        delivery_cols!()
    );
    query(sql, (Ts(now), Ts(lease_until), i64::from(limit)))
        .fetch_all(exec)
        .await
}

/// Records an attempt's outcome and gives up the lease.
pub(crate) async fn finish(exec: impl Into<Exec<'_>>, outcome: &DeliveryOutcome) -> Result<()> {
    let sql = "UPDATE webhook_deliveries SET status = $3, next_attempt_at = $4, \
               leased_until = NULL, last_attempt_at = $5, last_status = $6, last_latency_ms = $7, \
               last_error = $8 WHERE message_id = $1 AND endpoint_id = $2";
    let params = (
        outcome.message_id,
        outcome.endpoint_id,
        outcome.status.as_str(),
        outcome.next_attempt_at.map(Ts),
        Ts(outcome.attempted_at),
        outcome.http_status.map(i32::from),
        outcome
            .latency_ms
            .map(|ms| i32::try_from(ms).unwrap_or(i32::MAX)),
        &outcome.error,
    );
    query(sql, params).execute(exec).await
}

/// The endpoint's latest deliveries, newest first.
pub(crate) async fn deliveries(
    pool: Pool<'_>,
    endpoint_id: Uuid,
    limit: u32,
) -> Result<Vec<Delivery>> {
    let sql = concat!(
        "SELECT ",
        delivery_cols!(),
        " FROM webhook_deliveries WHERE endpoint_id = $1 \
          ORDER BY created_at DESC, message_id DESC LIMIT $2"
    );
    query(sql, (endpoint_id, i64::from(limit)))
        .fetch_all(pool)
        .await
}

/// Puts a delivery back in line to be sent at `now`, with a fresh schedule of retries.
pub(crate) async fn redeliver(
    tx: &mut Tx,
    endpoint_id: Uuid,
    message_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let sql = "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, \
               next_attempt_at = $3, leased_until = NULL \
               WHERE endpoint_id = $1 AND message_id = $2";
    query(sql, (endpoint_id, message_id, Ts(now)))
        .changed(tx)
        .await
}

/// Tokens that are not revoked and expire before `until` (or expired after `since`), with the
/// smallest horizon already noticed for each.
pub(crate) async fn expiring(
    pool: Pool<'_>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<ExpiringToken>> {
    let sql = "SELECT t.id, t.user_id, u.workspace_id, t.kind, t.name, t.hint, t.expires_at, \
               t.last_used_at, (SELECT MIN(n.horizon_days) FROM token_expiry_notices n \
                 WHERE n.token_id = t.id) AS noticed \
               FROM tokens t JOIN users u ON u.id = t.user_id \
               WHERE t.revoked_at IS NULL AND t.expires_at > $1 AND t.expires_at <= $2";
    type Row = (
        Uuid,
        Uuid,
        Option<Uuid>,
        String,
        Option<String>,
        String,
        Ts,
        Option<Ts>,
        Option<i32>,
    );
    let rows: Vec<Row> = query(sql, (Ts(since), Ts(until)))
        .fetch_all_rows(pool)
        .await?;
    rows.into_iter()
        .map(
            |(id, user_id, workspace_id, kind, name, hint, expires_at, last_used_at, noticed)| {
                Ok(ExpiringToken {
                    id,
                    user_id,
                    workspace_id,
                    kind: TokenKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("token kind: {kind}")))?,
                    name,
                    hint,
                    expires_at: expires_at.0,
                    last_used_at: last_used_at.map(|t| t.0),
                    noticed: noticed.and_then(|n| u32::try_from(n).ok()),
                })
            },
        )
        .collect()
}

/// Notes that the token's event for `horizon_days` was sent; false when it already was.
pub(crate) async fn note_expiry(
    tx: &mut Tx,
    token_id: Uuid,
    horizon_days: u32,
    now: DateTime<Utc>,
) -> Result<bool> {
    let sql = "INSERT INTO token_expiry_notices (token_id, horizon_days, noticed_at) \
               VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    let horizon = i32::try_from(horizon_days).unwrap_or(i32::MAX);
    query(sql, (token_id, horizon, Ts(now))).changed(tx).await
}
