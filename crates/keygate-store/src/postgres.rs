//! The PostgreSQL backend: a pool shared by many stateless Keygate nodes.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, Pool, Postgres, Transaction};

use crate::StoreError;

pub struct PgStore {
    pool: Pool<Postgres>,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        // One direct attempt first: a pool reports an unreachable server only as a timeout,
        // while the connection's own error says why (refused, unknown database, ...).
        PgConnection::connect_with(&options).await?.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/postgres")
    }
}

crate::sql::impl_store!(PgStore, PgConnection);
