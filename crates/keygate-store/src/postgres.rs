//! The PostgreSQL backend: a pool shared by many stateless Keygate nodes.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPoolOptions};
use sqlx::{Connection, Postgres};

use crate::StoreError;
use crate::sql::{Backend, Pool, Tx};

pub struct PgStore {
    pool: sqlx::Pool<Postgres>,
    /// Opened on the first `next_notice`, on a connection of its own (outside the pool, so that
    /// closing the pool never waits for it); reconnects by itself after a lost connection.
    listener: tokio::sync::Mutex<Option<PgListener>>,
    options: PgConnectOptions,
}

/// The channel that carries change notices between nodes.
const CHANNEL: &str = "keygate_changes";

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        // One direct attempt first: a pool reports an unreachable server only as a timeout,
        // while the connection's own error says why (refused, unknown database, ...).
        PgConnection::connect_with(&options).await?.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await?;
        Ok(Self {
            pool,
            listener: tokio::sync::Mutex::new(None),
            options,
        })
    }
}

impl Backend for PgStore {
    fn pool(&self) -> Pool<'_> {
        Pool::Postgres(&self.pool)
    }

    async fn begin_write(&self) -> Result<Tx, StoreError> {
        Ok(Tx::Postgres(self.pool.begin().await?))
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/postgres")
    }

    async fn publish_notice(&self, notice: &str) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(notice)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn receive_notice(&self) -> Result<Option<String>, StoreError> {
        let mut guard = self.listener.lock().await;
        if guard.is_none() {
            let own = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(5))
                .connect_lazy_with(self.options.clone());
            let mut listener = PgListener::connect_with(&own).await?;
            listener.listen(CHANNEL).await?;
            *guard = Some(listener);
            // A new subscription may have missed notices sent before it: report a gap.
            return Ok(None);
        }
        let Some(listener) = guard.as_mut() else {
            return Ok(None);
        };
        match listener.try_recv().await {
            Ok(Some(notification)) => Ok(Some(notification.payload().to_owned())),
            Ok(None) => Ok(None),
            Err(e) => {
                // Start over with a new listener on the next call.
                *guard = None;
                Err(e.into())
            }
        }
    }
}
