//! Users, people and API users: created with their first token, listed for instance
//! administration, changed, deleted, and their passwords.

use chrono::{DateTime, Utc};
use keygate_domain::{Email, Token, User};
use sqlx::types::Json;
use uuid::Uuid;

use super::query::{Pool, Tx, fetch_for_ids, query};
use super::{members, tokens, workspaces};
use crate::time::Ts;
use crate::{NewUser, Result, UserFilter, UserPatch};

/// The columns of a [`UserRow`](crate::rows::UserRow).
macro_rules! user_cols {
    () => {
        "id, kind, email, display_name, description, workspace_id, is_instance_admin, disabled_at, \
         created_at, allowed_ips, rate_limits"
    };
}
pub(super) use user_cols;

/// Creates the user with their first token, and with their own workspace and their membership
/// when they have them.
/// What user search matches for a user with `email` and `display_name`: both, lower-cased for
/// every script (SQLite's `LOWER` knows only ASCII).
fn search_text(email: Option<&str>, display_name: &str) -> String {
    format!("{}\n{}", email.unwrap_or_default(), display_name).to_lowercase()
}

/// Fills in the search text of users written before it was kept; run after the migrations.
pub(crate) async fn fill_search_text(pool: Pool<'_>) -> Result<()> {
    let sql = "SELECT id, email, display_name FROM users WHERE search_text IS NULL";
    let missing: Vec<(Uuid, Option<String>, String)> = query(sql, ()).fetch_all_rows(pool).await?;
    let sql = "UPDATE users SET search_text = $2 WHERE id = $1";
    for (id, email, name) in missing {
        query(sql, (id, search_text(email.as_deref(), &name)))
            .execute(pool)
            .await?;
    }
    Ok(())
}

pub(crate) async fn insert(tx: &mut Tx, new: &NewUser) -> Result<(User, Token)> {
    let sql = concat!(
        "INSERT INTO users (id, kind, email, display_name, description, workspace_id, \
         password_hash, is_instance_admin, created_at, updated_at, search_text, allowed_ips, \
         rate_limits, email_vouched) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13) RETURNING ",
        user_cols!()
    );
    let params = (
        new.id,
        new.kind.as_str(),
        new.email.as_ref().map(Email::as_str),
        &new.display_name,
        &new.description,
        new.workspace_id,
        &new.password_hash,
        new.is_instance_admin,
        Ts(new.created_at),
        search_text(new.email.as_ref().map(Email::as_str), &new.display_name),
        new.allowed_ips.as_ref().map(|l| Json(l.to_strings())),
        new.rate_limits.as_ref().map(|l| Json(l.limits())),
        new.email_vouched,
    );
    let user = query(sql, params).fetch_one(&mut *tx).await?;
    let token = tokens::insert(tx, &new.first_token).await?;
    if let Some(ws) = &new.own_workspace {
        workspaces::insert(tx, ws, new.id).await?;
    }
    if let Some(m) = &new.membership {
        members::add(tx, new.id, m).await?;
    }
    Ok((user, token))
}

pub(crate) async fn by_id(pool: Pool<'_>, id: Uuid) -> Result<Option<User>> {
    let sql = select!(user_cols, "FROM users WHERE id = $1");
    query(sql, (id,)).fetch_optional(pool).await
}

pub(crate) async fn by_email(pool: Pool<'_>, email: &Email) -> Result<Option<User>> {
    let sql = select!(user_cols, "FROM users WHERE email = $1");
    query(sql, (email.as_str(),)).fetch_optional(pool).await
}

/// The users with these ids, one query per call however many ids there are.
pub(crate) async fn by_ids(pool: Pool<'_>, ids: &[Uuid]) -> Result<Vec<User>> {
    fetch_for_ids(
        pool,
        select!(user_cols, "FROM users WHERE id IN ("),
        ids,
        ")",
    )
    .await
}

pub(crate) async fn list(pool: Pool<'_>, filter: &UserFilter) -> Result<Vec<User>> {
    // `%` and `_` in the search are literal characters, not patterns.
    let search = filter.search.as_deref().map(|s| {
        let escaped = s
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let sql = select!(
        user_cols,
        "FROM users WHERE ($1 IS NULL OR kind = $1) \
         AND ($2 IS NULL OR search_text LIKE $2 ESCAPE '\\') \
         AND ($3 IS NULL OR (disabled_at IS NOT NULL) = $3) \
         AND ($4 IS NULL OR id > $4) \
         ORDER BY id LIMIT $5"
    );
    let params = (
        filter.kind.map(|k| k.as_str()),
        search,
        filter.disabled,
        filter.after,
        i64::from(filter.limit),
    );
    query(sql, params).fetch_all(pool).await
}

pub(crate) async fn update(
    tx: &mut Tx,
    id: Uuid,
    patch: &UserPatch,
    now: DateTime<Utc>,
) -> Result<Option<User>> {
    let sql = concat!(
        "UPDATE users SET display_name = COALESCE($2, display_name), \
         description = CASE WHEN $3 THEN $4 ELSE description END, \
         disabled_at = CASE WHEN $5 THEN $6 ELSE disabled_at END, \
         allowed_ips = CASE WHEN $8 THEN $9 ELSE allowed_ips END, \
         rate_limits = CASE WHEN $10 THEN $11 ELSE rate_limits END, \
         updated_at = $7 WHERE id = $1 RETURNING ",
        user_cols!()
    );
    let params = (
        id,
        &patch.display_name,
        patch.description.is_some(),
        patch.description.clone().flatten(),
        patch.disabled_at.is_some(),
        patch.disabled_at.flatten().map(Ts),
        Ts(now),
        patch.allowed_ips.is_some(),
        tokens::allowed_ips_json(patch.allowed_ips.as_ref()),
        patch.rate_limits.is_some(),
        tokens::rate_limits_json(patch.rate_limits.as_ref()),
    );
    let user: Option<User> = query(sql, params).fetch_optional(&mut *tx).await?;
    if let Some(user) = user.as_ref().filter(|_| patch.display_name.is_some()) {
        let email = user.email.as_ref().map(Email::as_str);
        query(
            "UPDATE users SET search_text = $2 WHERE id = $1",
            (id, search_text(email, &user.display_name)),
        )
        .execute(&mut *tx)
        .await?;
    }
    // Disabling a user ends the overlaps of their tokens' replaced secrets for good.
    if let (Some(_), Some(Some(at))) = (&user, patch.disabled_at) {
        super::tokens::end_overlaps_of_user(tx, id, at).await?;
    }
    Ok(user)
}

/// Deletes the user; their tokens, memberships and sessions go with them.
pub(crate) async fn delete(tx: &mut Tx, id: Uuid) -> Result<bool> {
    let sql = "DELETE FROM users WHERE id = $1";
    query(sql, (id,)).changed(tx).await
}

pub(crate) async fn password_hash(pool: Pool<'_>, user_id: Uuid) -> Result<Option<String>> {
    let sql = "SELECT password_hash FROM users WHERE id = $1";
    let hash: Option<(Option<String>,)> = query(sql, (user_id,)).fetch_optional_row(pool).await?;
    Ok(hash.and_then(|(hash,)| hash))
}

pub(crate) async fn email_vouched(pool: Pool<'_>, user_id: Uuid) -> Result<bool> {
    let sql = "SELECT email_vouched FROM users WHERE id = $1 AND kind = 'human'";
    let vouched: Option<(bool,)> = query(sql, (user_id,)).fetch_optional_row(pool).await?;
    Ok(vouched.is_some_and(|(vouched,)| vouched))
}

/// Sets the user's password and ends their sessions but `keep`; false when there is no such user.
pub(crate) async fn set_password(
    tx: &mut Tx,
    user_id: Uuid,
    hash: &str,
    keep: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let sql = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
    if !query(sql, (user_id, hash, Ts(now)))
        .changed(&mut *tx)
        .await?
    {
        return Ok(false);
    }
    let sql = "DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)";
    query(sql, (user_id, keep)).execute(tx).await?;
    Ok(true)
}
