//! Web UI sessions, and the one-time links with which a person sets their password.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::query::{Pool, Tx, query};
use super::users::{self, user_cols};
use crate::time::Ts;
use crate::{NewPasswordLink, NewSession, Result, Session};

/// Stores a password link, replacing the user's unused ones.
pub(crate) async fn create_password_link(tx: &mut Tx, new: &NewPasswordLink) -> Result<()> {
    let sql = "DELETE FROM password_links WHERE user_id = $1 AND used_at IS NULL";
    query(sql, (new.user_id,)).execute(&mut *tx).await?;
    let sql = "INSERT INTO password_links (id, user_id, code_digest, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5)";
    let params = (
        new.id,
        new.user_id,
        &new.code_digest[..],
        Ts(new.created_at),
        Ts(new.expires_at),
    );
    query(sql, params).execute(tx).await
}

/// The user id and expiry of an unused password link that has not expired at `now`.
pub(crate) async fn password_link(
    pool: Pool<'_>,
    code_digest: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<Option<(Uuid, DateTime<Utc>)>> {
    let sql = "SELECT user_id, expires_at FROM password_links \
               WHERE code_digest = $1 AND used_at IS NULL AND expires_at > $2";
    let found: Option<(Uuid, Ts)> = query(sql, (&code_digest[..], Ts(now)))
        .fetch_optional_row(pool)
        .await?;
    Ok(found.map(|(user_id, expires_at)| (user_id, expires_at.0)))
}

/// Uses the link (once) to set the password of `user_id`, whose link it must be, and ends their
/// sessions; false when the link is used, expired or not theirs.
pub(crate) async fn use_password_link(
    tx: &mut Tx,
    code_digest: &[u8; 32],
    user_id: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let sql = "UPDATE password_links SET used_at = $3 \
               WHERE code_digest = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3";
    if !query(sql, (&code_digest[..], user_id, Ts(now)))
        .changed(&mut *tx)
        .await?
    {
        return Ok(false);
    }
    // The link's user exists: deleting a user deletes their links.
    users::set_password(tx, user_id, hash, None, now).await?;
    Ok(true)
}

/// Starts a session, forgetting the user's sessions that have expired.
pub(crate) async fn create(tx: &mut Tx, new: &NewSession) -> Result<()> {
    let sql = "DELETE FROM sessions WHERE user_id = $1 AND expires_at <= $2";
    query(sql, (new.user_id, Ts(new.created_at)))
        .execute(&mut *tx)
        .await?;
    let sql = "INSERT INTO sessions (id, digest, user_id, created_at, expires_at, client_ip) \
               VALUES ($1, $2, $3, $4, $5, $6)";
    let params = (
        new.id,
        &new.digest[..],
        new.user_id,
        Ts(new.created_at),
        Ts(new.expires_at),
        &new.client_ip,
    );
    query(sql, params).execute(tx).await
}

/// The session with this digest and its user, when it has not expired at `now`.
pub(crate) async fn by_digest(
    pool: Pool<'_>,
    digest: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<Option<Session>> {
    let sql = concat!(
        "SELECT session_id, session_created_at, session_expires_at, ",
        user_cols!(),
        " FROM (SELECT id AS session_id, created_at AS session_created_at, \
         expires_at AS session_expires_at, user_id FROM sessions \
         WHERE digest = $1 AND expires_at > $2) s \
         JOIN users ON users.id = s.user_id"
    );
    query(sql, (&digest[..], Ts(now)))
        .fetch_optional(pool)
        .await
}

pub(crate) async fn delete(tx: &mut Tx, id: Uuid) -> Result<bool> {
    let sql = "DELETE FROM sessions WHERE id = $1";
    query(sql, (id,)).changed(tx).await
}
