//! Tokens: issued, found by digest for verification, listed, revoked, rotated, and seen in use.

use chrono::{DateTime, Utc};
use keygate_domain::{Credential, Token, TokenDigest, User};
use sqlx::types::Json;
use uuid::Uuid;

use super::query::{Pool, Tx, fetch_for_ids, query};
use super::users::user_cols;
use crate::time::Ts;
use crate::{NewToken, Result, TokenUse};

/// The columns of a [`TokenRow`](crate::rows::TokenRow).
macro_rules! token_cols {
    () => {
        "id, user_id, kind, name, description, hint, created_at, expires_at, last_used_at, \
         last_used_ip, revoked_at, rotated_at, scope"
    };
}

pub(crate) async fn insert(tx: &mut Tx, new: &NewToken) -> Result<Token> {
    let sql = concat!(
        "INSERT INTO tokens (id, user_id, kind, name, description, digest, hint, \
         created_at, expires_at, scope) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ",
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
    );
    query(sql, params).fetch_one(tx).await
}

/// What a token with this digest proves, and its user, in one round trip.
pub(crate) async fn credential_by_digest(
    pool: Pool<'_>,
    digest: &TokenDigest,
) -> Result<Option<(Credential, User)>> {
    let sql = concat!(
        "SELECT token_id, token_kind, token_expires_at, token_revoked_at, token_scope, ",
        user_cols!(),
        " FROM (SELECT id AS token_id, kind AS token_kind, \
         expires_at AS token_expires_at, revoked_at AS token_revoked_at, \
         scope AS token_scope, user_id FROM tokens WHERE digest = $1) t \
         JOIN users ON users.id = t.user_id"
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
               t.scope FROM tokens t JOIN members m ON m.user_id = t.user_id \
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

/// Marks the token revoked, keeping the first revocation time.
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
    query(sql, (id, user_id, Ts(now))).fetch_optional(tx).await
}

/// Replaces the digest and hint of a token that is not revoked.
pub(crate) async fn rotate(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
    digest: &TokenDigest,
    hint: &str,
    now: DateTime<Utc>,
) -> Result<Option<Token>> {
    let sql = concat!(
        "UPDATE tokens SET digest = $3, hint = $4, rotated_at = $5 \
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING ",
        token_cols!()
    );
    let params = (id, user_id, &digest.as_bytes()[..], hint, Ts(now));
    query(sql, params).fetch_optional(tx).await
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
