//! Keygate's storage. [`Store`] is the one interface the service layer uses; [`connect`] opens the
//! SQLite or PostgreSQL backend named by a URL. Both backends run the same Rust code (see `sql.rs`)
//! over their own migrations in `migrations/{sqlite,postgres}/`, which share file names.

mod error;
mod postgres;
mod rows;
mod sql;
mod sqlite;
mod time;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::{
    Email, Membership, Slug, Token, TokenDigest, TokenKind, User, UserKind, Workspace,
};
use uuid::Uuid;

pub use error::{Conflict, StoreError};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

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
}

#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub id: Uuid,
    pub slug: Slug,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A user to be created, always with their personal token and optionally with a workspace of
/// their own that they own. Written in one transaction.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: Uuid,
    pub kind: UserKind,
    pub email: Option<Email>,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub is_instance_admin: bool,
    pub created_at: DateTime<Utc>,
    pub personal_token: NewToken,
    pub own_workspace: Option<NewWorkspace>,
}

/// Changes to a workspace; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WorkspacePatch {
    pub slug: Option<Slug>,
    pub name: Option<String>,
}

/// Everything Keygate keeps. Implementations map their errors to [`StoreError`] and never see a
/// clear token.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies pending migrations. Safe to call on every start and from several nodes at once.
    async fn migrate(&self) -> Result<()>;

    /// Answers when the database is reachable.
    async fn ping(&self) -> Result<()>;

    /// Closes the pool, waiting for connections in use.
    async fn close(&self);

    // Users.

    async fn create_user(&self, new: &NewUser) -> Result<(User, Token)>;
    async fn user(&self, id: Uuid) -> Result<Option<User>>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>>;

    // Workspaces and memberships.

    /// Creates the workspace with its built-in roles and `owner` as its owner.
    async fn create_workspace(&self, new: &NewWorkspace, owner: Uuid) -> Result<Workspace>;
    async fn workspace(&self, id: Uuid) -> Result<Option<Workspace>>;
    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>>;
    async fn update_workspace(
        &self,
        id: Uuid,
        patch: &WorkspacePatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Workspace>>;
    /// Deletes the workspace and everything in it; false when there was none.
    async fn delete_workspace(&self, id: Uuid) -> Result<bool>;
    /// The user's memberships with their roles, ordered by workspace slug.
    async fn memberships(&self, user_id: Uuid) -> Result<Vec<Membership>>;
    async fn membership(&self, workspace_id: Uuid, user_id: Uuid) -> Result<Option<Membership>>;

    // Tokens.

    async fn insert_token(&self, new: &NewToken) -> Result<Token>;
    async fn token_by_digest(&self, digest: &TokenDigest) -> Result<Option<Token>>;
    /// The user's tokens, newest first.
    async fn tokens_of(&self, user_id: Uuid) -> Result<Vec<Token>>;
    async fn token_of(&self, user_id: Uuid, id: Uuid) -> Result<Option<Token>>;
    async fn personal_token(&self, user_id: Uuid) -> Result<Option<Token>>;
    /// Marks the token revoked (keeping the first revocation time); None when the user has no
    /// such token.
    async fn revoke_token(
        &self,
        user_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<Token>>;
    /// Replaces the digest and hint of a token that is not revoked; None when there is no such
    /// token or it was revoked meanwhile.
    async fn rotate_token(
        &self,
        user_id: Uuid,
        id: Uuid,
        digest: &TokenDigest,
        hint: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Token>>;
}
