//! The SQLite backend: one file, WAL, `synchronous=FULL`, foreign keys on, a busy timeout, and
//! write transactions that take the write lock up front.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Pool, Sqlite, Transaction};

use crate::StoreError;

pub struct SqliteStore {
    pool: Pool<Sqlite>,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit survives power loss, not just a process crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// `BEGIN IMMEDIATE` takes the write lock at once, so two writers queue on the busy timeout
    /// instead of failing when a read transaction tries to upgrade.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/sqlite")
    }

    async fn close_pool(&self) {
        self.pool.close().await;
    }

    /// One SQLite file has one node: there is nobody to tell.
    async fn publish_notice(&self, _notice: &str) -> Result<(), StoreError> {
        Ok(())
    }

    async fn receive_notice(&self) -> Result<Option<String>, StoreError> {
        std::future::pending().await
    }
}

crate::sql::impl_store!(SqliteStore, SqliteConnection);
