//! The SQLite backend: one file, WAL, `synchronous=FULL`, foreign keys on, a busy timeout, and
//! write transactions that take the write lock up front.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;
use crate::sql::{Backend, Pool, Tx};

pub struct SqliteStore {
    pool: sqlx::Pool<Sqlite>,
    /// The last change notice read, and notices read but not handed out yet.
    notices: tokio::sync::Mutex<(Option<i64>, std::collections::VecDeque<String>)>,
}

/// How often the change notices of other processes are looked for.
const NOTICE_POLL: Duration = Duration::from_millis(250);

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit survives power loss, not just a process crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // 1 MiB of page cache per connection (SQLite's default is 2 MiB), while the operating
            // system caches the file itself: four connections, each seeing a quarter of the
            // lookups, verify cold tokens as fast as eight with 2 MiB each, and hold 4 MiB
            // instead of 16 (docs/benchmarks.md).
            .pragma("cache_size", "-1024");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            notices: tokio::sync::Mutex::new((None, std::collections::VecDeque::new())),
        })
    }
}

impl Backend for SqliteStore {
    fn pool(&self) -> Pool<'_> {
        Pool::Sqlite(&self.pool)
    }

    /// `BEGIN IMMEDIATE` takes the write lock at once, so two writers queue on the busy timeout
    /// instead of failing when a read transaction tries to upgrade.
    async fn begin_write(&self) -> Result<Tx, StoreError> {
        Ok(Tx::Sqlite(self.pool.begin_with("BEGIN IMMEDIATE").await?))
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/sqlite")
    }

    /// Other processes on the same file (the command line beside a server) read notices from a
    /// table; old ones are pruned as new ones arrive.
    async fn publish_notice(&self, notice: &str) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp_micros();
        let mut conn = self.pool.acquire().await?;
        sqlx::query("INSERT INTO change_notices (notice, created_at) VALUES ($1, $2)")
            .bind(notice)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        // Notices older than a minute have been read by every poller that is running.
        sqlx::query("DELETE FROM change_notices WHERE created_at < $1")
            .bind(now - 60_000_000)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn receive_notice(&self) -> Result<Option<String>, StoreError> {
        let mut state = self.notices.lock().await;
        let Some(mut last) = state.0 else {
            // First call: start from now; what came before is covered by starting empty.
            let (max,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM change_notices")
                .fetch_one(&self.pool)
                .await?;
            state.0 = Some(max.unwrap_or(0));
            return Ok(None);
        };
        loop {
            if let Some(notice) = state.1.pop_front() {
                return Ok(Some(notice));
            }
            tokio::time::sleep(NOTICE_POLL).await;
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, notice FROM change_notices WHERE id > $1 ORDER BY id LIMIT 1000",
            )
            .bind(last)
            .fetch_all(&self.pool)
            .await?;
            for (id, notice) in rows {
                last = id;
                state.1.push_back(notice);
            }
            state.0 = Some(last);
        }
    }
}
