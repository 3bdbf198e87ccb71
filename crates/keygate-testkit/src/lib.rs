//! Starts a real Keygate for other crates' integration tests: in this process, on a random port,
//! over a fresh SQLite file or, when `KEYGATE_TEST_DATABASE_URL` is set, a fresh PostgreSQL
//! database (dropped after), with an owner of the workspace `acme` bootstrapped.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use keygate::config::Config;
use keygate::service::Bootstrap;
use keygate::startup::Application;
use serde_json::Value;
use sqlx::Connection;

/// The environment variable naming a PostgreSQL server for tests.
pub const PG_ENV: &str = "KEYGATE_TEST_DATABASE_URL";

/// The database a [`Keygate`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database for one test, removed when dropped.
pub enum TestDb {
    Sqlite { dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// Creates a database on `backend` and answers it with its URL; `None` (with a message) when
    /// PostgreSQL is asked for and `KEYGATE_TEST_DATABASE_URL` is not set.
    pub async fn create(backend: Backend) -> Option<(Self, String)> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("keygate.db").display());
                Some((TestDb::Sqlite { dir }, url))
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var(PG_ENV) else {
                    println!("skipped: no PostgreSQL ({PG_ENV} is not set)");
                    return None;
                };
                let name = format!("keygate_test_{}", uuid::Uuid::now_v7().simple());
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("connect to the test PostgreSQL server");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let url = pg_url_with_database(&admin_url, &name);
                Some((TestDb::Postgres { admin_url, name }, url))
            }
        }
    }

    /// The SQLite database files (main, WAL, shared memory) that exist.
    pub fn sqlite_files(&self) -> Vec<std::path::PathBuf> {
        match self {
            TestDb::Sqlite { dir } => ["keygate.db", "keygate.db-wal", "keygate.db-shm"]
                .iter()
                .map(|f| dir.path().join(f))
                .filter(|p| p.exists())
                .collect(),
            TestDb::Postgres { .. } => Vec::new(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime: do the async cleanup on a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut conn)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// `postgres://u@h:p/db?x` with `db` replaced by `name`.
pub fn pg_url_with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, _) = base.rsplit_once('/').expect("database URL has a path");
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// A running Keygate with an owner (personal token in clear) of the workspace `acme`.
pub struct Keygate {
    pub url: String,
    pub owner_token: String,
    pub http: reqwest::Client,
    _db: TestDb,
}

/// Starts Keygate on `backend`; `None` (with a message) when PostgreSQL is asked for and
/// `KEYGATE_TEST_DATABASE_URL` is not set.
pub async fn spawn_keygate(backend: Backend) -> Option<Keygate> {
    spawn_keygate_with(backend, |_| {}).await
}

/// As [`spawn_keygate`], with the configuration adjusted by `adjust` first.
pub async fn spawn_keygate_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Config),
) -> Option<Keygate> {
    let (db, database_url) = TestDb::create(backend).await?;
    let mut config = Config {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url,
        ..Config::default()
    };
    adjust(&mut config);
    let app = Application::build(&config).await.expect("Keygate starts");
    let addr = app.local_addr();
    let done = app
        .keygate()
        .bootstrap(Bootstrap {
            email: "owner@example.com".to_owned(),
            workspace: Some("acme".to_owned()),
            password: None,
        })
        .await
        .expect("bootstrap the owner");
    let owner_token = done.clear.expose().to_owned();
    tokio::spawn(app.run_until_stopped());
    Some(Keygate {
        url: format!("http://{addr}"),
        owner_token,
        http: reqwest::Client::new(),
        _db: db,
    })
}

impl Keygate {
    /// Calls Keygate's REST API as the owner; asserts the status and returns the JSON body.
    pub async fn owner(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        expect: u16,
    ) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", format!("Token {}", self.owner_token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("Keygate answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert_eq!(status, expect, "{path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// Polls `check` until it returns true or `within` has passed; answers whether it did.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
