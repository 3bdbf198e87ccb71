//! The PostgreSQL backend: a pool shared by many stateless Keygate nodes.

use std::time::Duration;

use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{Pool, Postgres, Transaction};

use crate::StoreError;

pub struct PgStore {
    pool: Pool<Postgres>,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
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

crate::sql::impl_store!(PgStore, PgConnection, Backend::Postgres);
