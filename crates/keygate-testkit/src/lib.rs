//! Starts a real Keygate for other crates' integration tests: in this process, on a random port,
//! over a fresh SQLite file or, when `KEYGATE_TEST_DATABASE_URL` is set, a fresh PostgreSQL
//! database (dropped after), with an owner of the workspace `acme` bootstrapped. Also what those
//! tests share around it: a capture of every log line, and reverse proxies to put in front.

pub mod proxy;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
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

/// A configuration for a Keygate on a fresh database on `backend`, bound to a random port of
/// 127.0.0.1 and adjusted by `adjust`; `None` (with a message) when PostgreSQL is asked for and
/// `KEYGATE_TEST_DATABASE_URL` is not set. The database goes when the [`TestDb`] is dropped.
pub async fn test_config(
    backend: Backend,
    adjust: impl FnOnce(&mut Config),
) -> Option<(TestDb, Config)> {
    let (db, database_url) = TestDb::create(backend).await?;
    let mut config = Config {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url,
        ..Config::default()
    };
    adjust(&mut config);
    Some((db, config))
}

/// Every log line written by this test process, as text.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the logs of this test process at the most verbose level (once; later calls do
/// nothing), so that a secret in any log line is found by [`captured_logs`].
pub fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .try_init();
    });
}

/// Every log line captured so far (see [`capture_logs`]).
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Makes `#[tokio::test]`s that run `async fn body(keygate: Keygate)` on a Keygate from
/// [`spawn_keygate`]: `on_both_backends!(body: name_on_sqlite, name_on_postgres)`. The
/// PostgreSQL one says it skipped where `KEYGATE_TEST_DATABASE_URL` is not set.
#[macro_export]
macro_rules! on_both_backends {
    ($body:ident: $sqlite:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            if let Some(keygate) = $crate::spawn_keygate($crate::Backend::Sqlite).await {
                $body(keygate).await;
            }
        }

        #[tokio::test]
        async fn $postgres() {
            if let Some(keygate) = $crate::spawn_keygate($crate::Backend::Postgres).await {
                $body(keygate).await;
            }
        }
    };
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
    let (db, config) = test_config(backend, adjust).await?;
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

    /// Creates a role in `acme` (`body` as `POST .../roles` takes it); returns the 201 body.
    pub async fn create_role(&self, body: Value) -> Value {
        let roles = "/api/v1/workspaces/acme/roles";
        self.owner(reqwest::Method::POST, roles, Some(body), 201)
            .await
    }

    /// Creates an API user in `acme` (`body` as `POST .../api-users` takes it); returns the 201
    /// body, with the first token in clear.
    pub async fn create_api_user(&self, body: Value) -> Value {
        let api_users = "/api/v1/workspaces/acme/api-users";
        self.owner(reqwest::Method::POST, api_users, Some(body), 201)
            .await
    }

    /// Replaces what `acme`'s public role opens to anonymous callers (`body` as
    /// `PUT .../roles/public` takes it).
    pub async fn set_public_role(&self, body: Value) -> Value {
        let public = "/api/v1/workspaces/acme/roles/public";
        self.owner(reqwest::Method::PUT, public, Some(body), 200)
            .await
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
