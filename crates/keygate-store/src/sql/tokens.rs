//! Tokens: issued, found by digest for verification, listed, revoked, rotated, and seen in use.

use chrono::{DateTime, Timelike, Utc};
use keygate_domain::{
    AllowedIps, Credential, RateLimit, RateLimits, RetiringSecret, Token, TokenDigest, User,
};
use sqlx::types::Json;
use uuid::Uuid;

use super::query::{Pool, Tx, fetch_for_ids, query};
use super::users::user_cols;
use crate::time::Ts;
use crate::{NewToken, Overlap, Result, RetiringUse, TokenPatch, TokenUse};

/// The columns of a [`TokenRow`](crate::rows::TokenRow).
macro_rules! token_cols {
    () => {
        "id, user_id, kind, name, description, hint, created_at, expires_at, last_used_at, \
         last_used_ip, revoked_at, rotated_at, scope, leaked_at, leak_url, leak_reporter, allowed_ips, \
         rate_limits"
    };
}

pub(crate) async fn insert(tx: &mut Tx, new: &NewToken) -> Result<Token> {
    let sql = concat!(
        "INSERT INTO tokens (id, user_id, kind, name, description, digest, hint, \
         created_at, expires_at, scope, allowed_ips, rate_limits) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ",
        token_cols!()
    );
    let params = (
        new.id,
        new.user_id,
        new.kind.as_str(),
        &new.name,
        &new.description,
        &new.digest.as_bytes()[..],
        &new.hint,
        Ts(new.created_at),
        new.expires_at.map(Ts),
        new.scope.as_ref().map(Json),
        new.allowed_ips.as_ref().map(|l| Json(l.to_strings())),
        new.rate_limits.as_ref().map(|l| Json(l.limits())),
    );
    query(sql, params).fetch_one(tx).await
}

/// What a token with this digest proves, and its user, in one round trip: the token whose
/// current secret it is, or whose replaced secret (with that secret's overlap).
pub(crate) async fn credential_by_digest(
    pool: Pool<'_>,
    digest: &TokenDigest,
) -> Result<Option<(Credential, User)>> {
    let sql = concat!(
        "SELECT token_id, token_kind, token_expires_at, token_revoked_at, token_scope, \
         retiring_deadline, retiring_retires_at, retiring_ended_at, overlap_pending, \
         token_allowed_ips, token_rate_limits, ",
        user_cols!(),
        " FROM (SELECT t.id AS token_id, t.kind AS token_kind, \
         t.expires_at AS token_expires_at, t.revoked_at AS token_revoked_at, \
         t.scope AS token_scope, t.user_id AS token_user_id, t.allowed_ips AS token_allowed_ips, \
         t.rate_limits AS token_rate_limits, \
         r.deadline AS retiring_deadline, r.retires_at AS retiring_retires_at, \
         r.ended_at AS retiring_ended_at, \
         EXISTS (SELECT 1 FROM retiring_secrets p WHERE p.token_id = t.id \
         AND p.retires_at IS NULL AND p.ended_at IS NULL) AS overlap_pending \
         FROM tokens t LEFT JOIN retiring_secrets r ON r.token_id = t.id AND r.digest = $1 \
         WHERE t.id = COALESCE((SELECT id FROM tokens WHERE digest = $1), \
         (SELECT token_id FROM retiring_secrets WHERE digest = $1))) f \
         JOIN users ON users.id = f.token_user_id"
    );
    query(sql, (&digest.as_bytes()[..],))
        .fetch_optional(pool)
        .await
}

/// The user's tokens, newest first.
pub(crate) async fn of_user(pool: Pool<'_>, user_id: Uuid) -> Result<Vec<Token>> {
    let sql = select!(
        token_cols,
        "FROM tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
    );
    query(sql, (user_id,)).fetch_all(pool).await
}

/// Tokens of these users, newest first.
pub(crate) async fn of_users(pool: Pool<'_>, user_ids: &[Uuid]) -> Result<Vec<Token>> {
    let select = select!(token_cols, "FROM tokens WHERE user_id IN (");
    fetch_for_ids(
        pool,
        select,
        user_ids,
        ") ORDER BY created_at DESC, id DESC",
    )
    .await
}

/// Tokens of every member of the workspace, newest first.
pub(crate) async fn of_members(pool: Pool<'_>, workspace_id: Uuid) -> Result<Vec<Token>> {
    let sql = "SELECT t.id, t.user_id, t.kind, t.name, t.description, t.hint, t.created_at, \
               t.expires_at, t.last_used_at, t.last_used_ip, t.revoked_at, t.rotated_at, \
               t.scope, t.leaked_at, t.leak_url, t.leak_reporter, t.allowed_ips, t.rate_limits \
               FROM tokens t JOIN members m ON m.user_id = t.user_id \
               WHERE m.workspace_id = $1 ORDER BY t.created_at DESC, t.id DESC";
    query(sql, (workspace_id,)).fetch_all(pool).await
}

pub(crate) async fn by_id(pool: Pool<'_>, user_id: Uuid, id: Uuid) -> Result<Option<Token>> {
    let sql = select!(token_cols, "FROM tokens WHERE id = $1 AND user_id = $2");
    query(sql, (id, user_id)).fetch_optional(pool).await
}

pub(crate) async fn personal(pool: Pool<'_>, user_id: Uuid) -> Result<Option<Token>> {
    let sql = select!(
        token_cols,
        "FROM tokens WHERE user_id = $1 AND kind = 'personal'"
    );
    query(sql, (user_id,)).fetch_optional(pool).await
}

/// Marks the token revoked, keeping the first revocation time; a replaced secret stops with it.
pub(crate) async fn revoke(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Token>> {
    let sql = concat!(
        "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $3) \
         WHERE id = $1 AND user_id = $2 RETURNING ",
        token_cols!()
    );
    let token = query(sql, (id, user_id, Ts(now)))
        .fetch_optional(&mut *tx)
        .await?;
    if token.is_some() {
        end_overlap(tx, id, now).await?;
    }
    Ok(token)
}

/// Sets where the token may be used from and how often (`None` inside: anywhere, no limit;
/// `None` outside: as it is); None when the user has no such token.
pub(crate) async fn update(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
    patch: &TokenPatch,
) -> Result<Option<Token>> {
    let sql = concat!(
        "UPDATE tokens SET allowed_ips = CASE WHEN $3 THEN $4 ELSE allowed_ips END, \
         rate_limits = CASE WHEN $5 THEN $6 ELSE rate_limits END \
         WHERE id = $1 AND user_id = $2 RETURNING ",
        token_cols!()
    );
    let params = (
        id,
        user_id,
        patch.allowed_ips.is_some(),
        allowed_ips_json(patch.allowed_ips.as_ref()),
        patch.rate_limits.is_some(),
        rate_limits_json(patch.rate_limits.as_ref()),
    );
    query(sql, params).fetch_optional(tx).await
}

/// A changed allow-list as stored: `None` for none, or for no change.
pub(super) fn allowed_ips_json(change: Option<&Option<AllowedIps>>) -> Option<Json<Vec<String>>> {
    change.and_then(|l| l.as_ref().map(|l| Json(l.to_strings())))
}

/// Changed rate limits as stored: `None` for none, or for no change.
pub(super) fn rate_limits_json(change: Option<&Option<RateLimits>>) -> Option<Json<&[RateLimit]>> {
    change.and_then(|l| l.as_ref().map(|l| Json(l.limits())))
}

/// Replaces the digest and hint of a token that is not revoked. With a grace period the replaced
/// secret is kept as a retiring secret; without, it stops at once and is forgotten, like any
/// unknown secret. A secret an earlier rotation replaced stops now either way.
pub(crate) async fn rotate(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
    digest: &TokenDigest,
    hint: &str,
    now: DateTime<Utc>,
    overlap: Overlap,
) -> Result<Option<Token>> {
    end_overlap(tx, id, now).await?;
    if overlap.grace_seconds > 0 {
        let retire = "INSERT INTO retiring_secrets \
                      (digest, token_id, hint, rotated_at, grace_seconds, deadline) \
                      SELECT digest, id, hint, $3, $4, $5 FROM tokens \
                      WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";
        let grace = i32::try_from(overlap.grace_seconds).unwrap_or(i32::MAX);
        let params = (id, user_id, Ts(now), grace, Ts(overlap.deadline));
        query(retire, params).execute(&mut *tx).await?;
    }
    // A personal token revoked as leaked is revived by its refresh; any other revoked token stays.
    let sql = concat!(
        "UPDATE tokens SET digest = $3, hint = $4, rotated_at = $5, revoked_at = NULL \
         WHERE id = $1 AND user_id = $2 AND (revoked_at IS NULL OR kind = 'personal') \
         RETURNING ",
        token_cols!()
    );
    let params = (id, user_id, &digest.as_bytes()[..], hint, Ts(now));
    query(sql, params).fetch_optional(tx).await
}

/// Ends the overlap of the token's replaced secret, if one is running; whether one was.
pub(crate) async fn end_overlap(tx: &mut Tx, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let sql = "UPDATE retiring_secrets SET ended_at = $2 \
               WHERE token_id = $1 AND ended_at IS NULL \
               AND (retires_at IS NULL OR retires_at > $2) AND deadline > $2";
    query(sql, (id, Ts(now))).changed(tx).await
}

/// Ends the overlaps of all the user's tokens (the user is disabled).
pub(crate) async fn end_overlaps_of_user(
    tx: &mut Tx,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    let sql = "UPDATE retiring_secrets SET ended_at = $2 \
               WHERE token_id IN (SELECT id FROM tokens WHERE user_id = $1) \
               AND ended_at IS NULL";
    query(sql, (user_id, Ts(now))).execute(tx).await
}

/// Starts the grace period of the token's replaced secret at `first_use` of the new secret,
/// unless it has started (or ended) already; whether it started now.
pub(crate) async fn start_grace(tx: &mut Tx, id: Uuid, first_use: DateTime<Utc>) -> Result<bool> {
    let sql = "SELECT digest, grace_seconds, deadline FROM retiring_secrets \
               WHERE token_id = $1 AND retires_at IS NULL AND ended_at IS NULL";
    let pending: Vec<(Vec<u8>, i32, Ts)> = query(sql, (id,)).fetch_all_rows(&mut *tx).await?;
    let mut started = false;
    for (digest, grace, deadline) in pending {
        let retires_at = (first_use + chrono::Duration::seconds(i64::from(grace))).min(deadline.0);
        let sql = "UPDATE retiring_secrets SET retires_at = $2 \
                   WHERE digest = $1 AND retires_at IS NULL";
        started |= query(sql, (digest, Ts(retires_at)))
            .changed(&mut *tx)
            .await?;
    }
    Ok(started)
}

/// The secret the token's latest rotation replaced, if it has been rotated since replaced secrets
/// are kept.
/// `uses_last_hour` counts its uses in the hour before `now`.
pub(crate) async fn retiring_secret(
    pool: Pool<'_>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<RetiringSecret>> {
    let sql = "SELECT hint, rotated_at, grace_seconds, deadline, retires_at, ended_at, uses, \
               last_used_at, last_used_ip, \
               (SELECT CAST(COALESCE(SUM(u.uses), 0) AS BIGINT) FROM retiring_secret_uses u \
                 WHERE u.digest = r.digest AND u.minute > $2) AS uses_last_hour \
               FROM retiring_secrets r WHERE token_id = $1 ORDER BY rotated_at DESC LIMIT 1";
    query(sql, (id, Ts(now - chrono::Duration::hours(1))))
        .fetch_optional(pool)
        .await
}

/// Records when and from where tokens were last used, keeping the latest time.
pub(crate) async fn record_use(tx: &mut Tx, uses: &[TokenUse]) -> Result<()> {
    let sql = "UPDATE tokens SET last_used_at = $2, \
               last_used_ip = COALESCE($3, last_used_ip) \
               WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)";
    for u in uses {
        query(sql, (u.token_id, Ts(u.at), &u.ip))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Counts uses of replaced secrets during their overlap, and when and from where the last was.
pub(crate) async fn record_retiring_use(tx: &mut Tx, uses: &[RetiringUse]) -> Result<()> {
    let sql = "UPDATE retiring_secrets SET uses = uses + $2, \
               last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $3 \
               THEN $3 ELSE last_used_at END, \
               last_used_ip = COALESCE($4, last_used_ip) WHERE digest = $1";
    // The minute of the batch's latest use counts them all: batches are written every second.
    let per_minute = "INSERT INTO retiring_secret_uses (digest, minute, uses) \
                      SELECT digest, $2, $3 FROM retiring_secrets WHERE digest = $1 \
                      ON CONFLICT (digest, minute) \
                      DO UPDATE SET uses = retiring_secret_uses.uses + excluded.uses";
    let forget = "DELETE FROM retiring_secret_uses WHERE digest = $1 AND minute <= $2";
    for u in uses {
        let count = i64::try_from(u.count).unwrap_or(i64::MAX);
        let digest = &u.digest.as_bytes()[..];
        query(sql, (digest, count, Ts(u.at), &u.ip))
            .execute(&mut *tx)
            .await?;
        let minute = u.at
            - chrono::Duration::seconds(i64::from(u.at.second()))
            - chrono::Duration::nanoseconds(i64::from(u.at.nanosecond()));
        query(per_minute, (digest, Ts(minute), count))
            .execute(&mut *tx)
            .await?;
        query(forget, (digest, Ts(minute - chrono::Duration::hours(1))))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// What a leak report does to the token it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakAction {
    /// Revoke the token.
    Revoke,
    /// The leaked secret is one a rotation replaced: end its overlap, keep the token.
    EndOverlap,
    /// Only mark it leaked.
    Mark,
}

/// Marks the token leaked (the first report's time, the latest report's place) and does
/// `action`; false when there is no such token.
pub(crate) async fn mark_leaked(
    tx: &mut Tx,
    id: Uuid,
    url: Option<&str>,
    reporter: &str,
    action: LeakAction,
    now: DateTime<Utc>,
) -> Result<bool> {
    let sql = "UPDATE tokens SET leaked_at = COALESCE(leaked_at, $2), \
               leak_url = COALESCE($3, leak_url), leak_reporter = $4, \
               revoked_at = CASE WHEN $5 THEN COALESCE(revoked_at, $2) ELSE revoked_at END \
               WHERE id = $1";
    let revoke = action == LeakAction::Revoke;
    if !query(sql, (id, Ts(now), url, reporter, revoke))
        .changed(&mut *tx)
        .await?
    {
        return Ok(false);
    }
    if action != LeakAction::Mark {
        end_overlap(tx, id, now).await?;
    }
    Ok(true)
}
