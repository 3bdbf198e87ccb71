//! The test harness: a real Keygate server on a random port over a fresh SQLite file or a fresh
//! PostgreSQL database, personas to call it as, and a capture of every log line it writes.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};

use keygate::config::Config;
use keygate::service::{Bootstrap, Clock, Keygate};
use keygate::startup::Application;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use sqlx::Connection;
use uuid::Uuid;

pub use keygate_testkit::{Backend, PG_ENV, TestDb, pg_url_with_database};

/// Runs a test body once per backend: `backend_tests!(name, ...)` expects `async fn name(app: TestApp)`
/// in the same module and makes `name::sqlite` and `name::postgres`. Without
/// `KEYGATE_TEST_DATABASE_URL` the PostgreSQL case prints that it skipped.
/// `backend_tests!(using path::to::spawner: name, ...)` starts each app with
/// `spawner(backend).await` instead of [`spawn_app`] (for example [`spawn_web_app`]).
macro_rules! backend_tests {
    (using $spawn:path: $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let app = $spawn(crate::helpers::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    super::$name(app).await;
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(app) = $spawn(crate::helpers::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
    ($($name:ident),* $(,)?) => {
        crate::helpers::backend_tests!(using crate::helpers::spawn_app: $($name),*);
    };
}
pub(crate) use backend_tests;

/// Every log line written by any server in this test process, as text.
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

/// Captures logs at the most verbose level, so that a secret in any log line is found.
fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .try_init();
    });
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// A user to call the API as.
#[derive(Debug, Clone)]
pub struct Persona {
    pub email: String,
    pub id: Uuid,
    /// The personal token, in clear.
    pub token: String,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub clock: Clock,
    pub keygate: Keygate,
    pub db: TestDb,
    /// Bootstrapped with workspace `acme`.
    pub owner: Persona,
    /// Every clear token this test has seen, for the leak scans.
    pub issued: Mutex<Vec<String>>,
    /// What the server was started with, to start another node like it.
    pub config: Config,
}

/// Another node of a [`TestApp`]: its own server and caches, on the same database.
pub struct Node {
    pub addr: SocketAddr,
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// As `spawn_app`, with the configuration adjusted by `adjust` first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    spawn(backend, adjust, None).await
}

/// The owner's password in apps from [`spawn_web_app`], to sign in to the web UI with.
pub const OWNER_PASSWORD: &str = "owner's long password";

/// As `spawn_app`, with an owner who can sign in to the web UI (password [`OWNER_PASSWORD`]).
pub async fn spawn_web_app(backend: Backend) -> Option<TestApp> {
    spawn_web_app_with(backend, |_| {}).await
}

/// As `spawn_web_app`, with the configuration adjusted by `adjust` first.
pub async fn spawn_web_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    spawn(backend, adjust, Some(OWNER_PASSWORD)).await
}

async fn spawn(
    backend: Backend,
    adjust: impl FnOnce(&mut Config),
    owner_password: Option<&str>,
) -> Option<TestApp> {
    capture_logs();
    let (db, database_url) = TestDb::create(backend).await?;
    let mut config = Config {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url,
        ..Config::default()
    };
    adjust(&mut config);
    let clock = Clock::default();
    let app = Application::build_with_clock(&config, clock.clone())
        .await
        .expect("application starts");
    let addr = app.local_addr();
    let keygate = app.keygate().clone();
    tokio::spawn(app.run_until_stopped());
    let mut test = TestApp {
        addr,
        client: reqwest::Client::new(),
        clock,
        keygate,
        db,
        owner: Persona {
            email: String::new(),
            id: Uuid::nil(),
            token: String::new(),
        },
        issued: Mutex::new(Vec::new()),
        config,
    };
    test.owner = test
        .persona_with_password("owner@example.com", Some("acme"), owner_password)
        .await;
    Some(test)
}

impl TestApp {
    /// A role in acme with `permissions`, and an API user holding it limited to `grants`;
    /// returns the API user's token.
    pub async fn api_user_token(
        &self,
        name: &str,
        permissions: &[&str],
        grants: &[&str],
    ) -> String {
        let (status, body) = send(
            self.as_owner(Method::POST, "/api/v1/workspaces/acme/roles")
                .json(&serde_json::json!({"name": name, "permissions": permissions})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, created) = send(
            self.as_owner(Method::POST, "/api/v1/workspaces/acme/api-users")
                .json(&serde_json::json!({"name": name, "roles": [name], "grants": grants})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let token = created["token"]["token"]
            .as_str()
            .expect("token")
            .to_owned();
        self.remember(&token);
        token
    }

    /// Another node on this app's database, serving on its own port with its own caches. It hears
    /// of changes the way a second server does (the store's change notices), once its listener
    /// has connected.
    pub async fn second_node(&self) -> Node {
        let app = Application::build_with_clock(&self.config, self.clock.clone())
            .await
            .expect("second node starts");
        let node = Node {
            addr: app.local_addr(),
        };
        tokio::spawn(app.run_until_stopped());
        node
    }

    /// The database this app runs on, to start another like it.
    pub fn backend(&self) -> Backend {
        match self.db {
            TestDb::Sqlite { .. } => Backend::Sqlite,
            TestDb::Postgres { .. } => Backend::Postgres,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A request with no token.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request presenting `token` as `Authorization: Token ...`.
    pub fn with_token(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.anonymous(method, path)
            .header("Authorization", format!("Token {token}"))
    }

    /// A request as the bootstrapped owner.
    pub fn as_owner(&self, method: Method, path: &str) -> RequestBuilder {
        self.with_token(&self.owner.token, method, path)
    }

    /// A new user with a personal token and, if given, a workspace they own.
    pub async fn persona(&self, email: &str, workspace: Option<&str>) -> Persona {
        self.persona_with_password(email, workspace, None).await
    }

    /// As `persona`, with a password to sign in to the web UI when one is given.
    pub async fn persona_with_password(
        &self,
        email: &str,
        workspace: Option<&str>,
        password: Option<&str>,
    ) -> Persona {
        let done = self
            .keygate
            .bootstrap(Bootstrap {
                email: email.to_owned(),
                workspace: workspace.map(str::to_owned),
                password: password.map(Into::into),
            })
            .await
            .expect("bootstrap persona");
        let token = done.clear.expose().to_owned();
        self.remember(&token);
        Persona {
            email: email.to_owned(),
            id: done.user.id,
            token,
        }
    }

    /// Adds an existing user to `workspace` the only way there is: `inviter` invites them
    /// (`invite` is the body of `POST .../members`, with their email) and they accept with their
    /// own token. Returns the new member, as `GET .../members/{id}` shows it.
    pub async fn add_member(
        &self,
        inviter: &str,
        workspace: &str,
        invite: Value,
        person: &Persona,
    ) -> Value {
        let (status, invited) = send(
            self.with_token(
                inviter,
                Method::POST,
                &format!("/api/v1/workspaces/{workspace}/members"),
            )
            .json(&invite),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{invited}");
        let code = invited["code"].as_str().expect("code");
        let (status, joined) = send(self.with_token(
            &person.token,
            Method::POST,
            &format!("/api/v1/invitations/{code}/accept"),
        ))
        .await;
        assert_eq!(status, StatusCode::OK, "{joined}");
        joined["member"].clone()
    }

    /// Notes a clear token for the leak scans.
    pub fn remember(&self, token: &str) {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(token.to_owned());
    }

    /// Creates a token for the owner through the API and returns the 201 body.
    pub async fn create_token(&self, body: Value) -> Value {
        let (status, created) =
            send(self.as_owner(Method::POST, "/api/v1/tokens").json(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        self.remember(created["token"].as_str().expect("token in clear"));
        created
    }

    /// Every row of every table, as text (PostgreSQL).
    pub async fn pg_dump(&self) -> String {
        let TestDb::Postgres { admin_url, name } = &self.db else {
            return String::new();
        };
        let mut conn = sqlx::PgConnection::connect(&pg_url_with_database(admin_url, name))
            .await
            .expect("connect");
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_all(&mut conn)
        .await
        .expect("tables");
        let mut out = String::new();
        for (table,) in tables {
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT t::text FROM \"{table}\" t"
            )))
            .fetch_all(&mut conn)
            .await
            .expect("rows");
            for (row,) in rows {
                out.push_str(&row);
                out.push('\n');
            }
        }
        out
    }
}

/// Sends a request and returns the status and the JSON body (`null` when empty).
pub async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request reaches the server");
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body, got {text:?}"))
    };
    (status, body)
}

/// Asserts the error envelope: status, `error.code`, and a non-empty message.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(got.0, status, "body: {}", got.1);
    assert_eq!(got.1["error"]["code"], code, "body: {}", got.1);
    assert!(
        got.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message in {}",
        got.1
    );
}

/// The web UI over plain HTTP, as a browser would use it: keeps its cookies, follows no
/// redirect, and posts forms.
pub struct WebClient {
    base: String,
    client: reqwest::Client,
    cookies: Mutex<std::collections::BTreeMap<String, String>>,
}

/// One answer of the web UI.
pub struct WebPage {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl WebClient {
    pub fn new(app: &TestApp) -> Self {
        WebClient {
            base: app.url(""),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Mutex::new(Default::default()),
        }
    }

    /// The value of the cookie `name`, as the server last set it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Presents `value` as the cookie `name` from now on.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), value.to_owned());
    }

    /// A request to `path`, with the cookies once sent.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// Sends `request` with the cookies held and keeps the ones the answer sets or removes.
    pub async fn send(&self, request: RequestBuilder) -> WebPage {
        let cookies = {
            let jar = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let request = if cookies.is_empty() {
            request
        } else {
            request.header(reqwest::header::COOKIE, cookies)
        };
        let response = request.send().await.expect("request reaches the server");
        let page = WebPage {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        };
        let mut jar = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        for cookie in page.set_cookies() {
            let gone = cookie
                .max_age()
                .is_some_and(|age| age.is_zero() || age.is_negative())
                || cookie.value().is_empty();
            if gone {
                jar.remove(cookie.name());
            } else {
                jar.insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        page
    }

    pub async fn get(&self, path: &str) -> WebPage {
        self.send(self.request(Method::GET, path)).await
    }

    /// Posts a form with `fields`, as they are (add `_csrf` to pass the CSRF check).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> WebPage {
        self.send(form(self.request(Method::POST, path), fields))
            .await
    }

    /// Opens the page at `form_page` and posts its form to `path` with `fields` and the page's
    /// CSRF token, as a person filling the form would.
    pub async fn submit(&self, form_page: &str, path: &str, fields: &[(&str, &str)]) -> WebPage {
        let page = self.get(form_page).await;
        assert_eq!(page.status, StatusCode::OK, "{form_page}: {}", page.body);
        let csrf = page.csrf().expect("the page has a form with a CSRF token");
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// Signs in through the sign-in form; the answer is the form's (a redirect on success).
    pub async fn sign_in(&self, email: &str, password: &str) -> WebPage {
        self.submit(
            "/signin",
            "/signin",
            &[("email", email), ("password", password)],
        )
        .await
    }
}

impl WebPage {
    /// The `Set-Cookie` headers, parsed.
    pub fn set_cookies(&self) -> Vec<cookie::Cookie<'static>> {
        self.headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| cookie::Cookie::parse(v.to_owned()).ok())
            .collect()
    }

    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> Option<String> {
        self.attribute_of(r#"name="_csrf""#, "value")
    }

    /// The value of the input with `id` (`secret`, `invite-link`).
    pub fn input_value(&self, id: &str) -> Option<String> {
        self.attribute_of(&format!(r#"id="{id}""#), "value")
    }

    /// The attribute `name` of the first tag holding `marker`, unescaped.
    fn attribute_of(&self, marker: &str, name: &str) -> Option<String> {
        let at = self.body.find(marker)?;
        let start = self.body[..at].rfind('<')?;
        let end = at + self.body[at..].find('>')?;
        let tag = &self.body[start..end];
        let key = format!(r#" {name}=""#);
        let from = tag.find(&key)? + key.len();
        let value = &tag[from..from + tag[from..].find('"')?];
        Some(unescape_html(value))
    }
}

/// `request` with `fields` as its `application/x-www-form-urlencoded` body.
pub fn form(request: RequestBuilder, fields: &[(&str, &str)]) -> RequestBuilder {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    request
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
}

/// Undoes the HTML escaping of an attribute value.
fn unescape_html(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
