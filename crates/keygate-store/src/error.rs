//! `StoreError`: what can go wrong in storage, in terms the service layer can act on.

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    Email,
    Slug,
    RoleName,
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write.
    #[error("conflict on {0:?}")]
    Conflict(Conflict),
    /// The write would leave the workspace without an owner; nothing was written.
    #[error("the workspace would have no owner")]
    LastOwner,
    /// The database cannot be reached or did not answer in time.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Stored data that does not convert to the domain (a bug or a hand-edited row).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(conflict(db.as_ref()))
            }
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            sqlx::Error::Database(db) if is_transient(db.as_ref()) => StoreError::Unavailable(e),
            _ => StoreError::Database(e),
        }
    }
}

/// The unique indexes whose violation the service tells apart (the migrations create them under
/// these names): the index's name, as PostgreSQL reports it, and the columns it covers, as SQLite
/// reports them (`UNIQUE constraint failed: roles.workspace_id, roles.name`), since SQLite names
/// no index.
const UNIQUE_INDEXES: [(Conflict, &str, &str); 3] = [
    (Conflict::Email, "users_email_uq", "users.email"),
    (Conflict::Slug, "workspaces_slug_uq", "workspaces.slug"),
    (
        Conflict::RoleName,
        "roles_name_uq",
        "roles.workspace_id, roles.name",
    ),
];

/// Which uniqueness rule a unique violation broke.
fn conflict(db: &dyn sqlx::error::DatabaseError) -> Conflict {
    let sqlite_columns = db
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .and_then(|_| db.message().strip_prefix("UNIQUE constraint failed: "));
    UNIQUE_INDEXES
        .iter()
        .find(|(_, index, columns)| match sqlite_columns {
            Some(failed) => failed == *columns,
            None => db.constraint() == Some(*index),
        })
        .map_or(Conflict::Other, |(conflict, ..)| *conflict)
}

/// Errors that mean "try again later" rather than "this query is wrong": PostgreSQL's connection,
/// resource and shutdown classes; SQLite's busy and locked.
fn is_transient(db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code().unwrap_or_default();
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        return code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
    }
    ["08", "53", "57P"]
        .iter()
        .any(|class| code.starts_with(class))
}
