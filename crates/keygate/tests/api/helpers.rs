//! The test harness: a real Keygate server on a random port over a fresh SQLite file or a fresh
//! PostgreSQL database, personas to call it as, and a capture of every log line it writes.

use std::net::SocketAddr;
use std::sync::Mutex;

use keygate::config::Config;
use keygate::service::{Bootstrap, Clock, Keygate};
use keygate::startup::Application;
use keygate_domain::route::RouteRule;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use sqlx::Connection;
use uuid::Uuid;

pub use keygate_testkit::{Backend, PG_ENV, TestDb, captured_logs, pg_url_with_database};
use keygate_testkit::{capture_logs, test_config};

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
    let (db, config) = test_config(backend, adjust).await?;
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
        let body = serde_json::json!({"name": name, "roles": [name], "grants": grants});
        let created = self.create_api_user(body).await;
        created["token"]["token"]
            .as_str()
            .expect("token")
            .to_owned()
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
        let (status, joined) = self.accept_invitation(&person.token, code).await;
        assert_eq!(status, StatusCode::OK, "{joined}");
        joined["member"].clone()
    }

    /// An existing user (`token`) accepts the invitation `code`: the status and JSON answer.
    pub async fn accept_invitation(&self, token: &str, code: &str) -> (StatusCode, Value) {
        let path = format!("/api/v1/invitations/{code}/accept");
        self.call(token, Method::POST, &path, Value::Null).await
    }

    /// Sends `method path` with `token`, and `body` as JSON unless it is `null`; returns the
    /// status and the JSON answer.
    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let request = self.with_token(token, method, path);
        send(if body.is_null() {
            request
        } else {
            request.json(&body)
        })
        .await
    }

    /// `GET path` with `token`: the status and the JSON answer.
    pub async fn get_as(&self, token: &str, path: &str) -> (StatusCode, Value) {
        send(self.with_token(token, Method::GET, path)).await
    }

    /// `POST path` with `token` and no body: the status and the JSON answer.
    pub async fn post_as(&self, token: &str, path: &str) -> (StatusCode, Value) {
        send(self.with_token(token, Method::POST, path)).await
    }

    /// `POST /graphql` with `query`, its `variables` unless they are `null`, and `token` where
    /// one is given: the status and the JSON answer.
    pub async fn graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let mut body = serde_json::json!({ "query": query });
        if !variables.is_null() {
            body["variables"] = variables;
        }
        let request = match token {
            Some(token) => self.with_token(token, Method::POST, "/graphql"),
            None => self.anonymous(Method::POST, "/graphql"),
        };
        send(request.json(&body)).await
    }

    /// As [`TestApp::call`], as the owner.
    pub async fn owner_call(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(&self.owner.token, method, path, body).await
    }

    /// A new user, with no workspace of their own, whom the owner adds to acme with `roles`.
    pub async fn join(&self, email: &str, roles: &[&str]) -> Persona {
        let person = self.persona(email, None).await;
        let invite = serde_json::json!({"email": email, "roles": roles});
        self.add_member(&self.owner.token, "acme", invite, &person)
            .await;
        person
    }

    /// Creates an API user in acme as the owner (`body` as `POST .../api-users` takes it); returns
    /// the 201 body, whose token is remembered for the leak scans.
    pub async fn create_api_user(&self, body: Value) -> Value {
        let path = "/api/v1/workspaces/acme/api-users";
        let (status, created) = self.owner_call(Method::POST, path, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        self.remember(created["token"]["token"].as_str().expect("token"));
        created
    }

    /// An API user of acme that manages API users (role `admin`), made by the owner with the
    /// fields of `limits` (`allowed_ips`, `rate_limits`), and a second token the owner issues it
    /// with `held` (the body of `POST .../tokens`): the path of the API user's routes, the id of
    /// its first token, and the second token's secret.
    pub async fn self_managing_api_user(
        &self,
        limits: Value,
        held: Value,
    ) -> (String, String, String) {
        let mut body = serde_json::json!({"name": "bot", "roles": ["admin"]});
        if let (Some(body), Some(limits)) = (body.as_object_mut(), limits.as_object()) {
            body.extend(limits.clone());
        }
        let created = self.create_api_user(body).await;
        let id = created["id"].as_str().expect("id");
        let first = created["token"]["id"]
            .as_str()
            .expect("token id")
            .to_owned();
        let base = format!("/api/v1/workspaces/acme/api-users/{id}");
        let (status, held) = self
            .owner_call(Method::POST, &format!("{base}/tokens"), held)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{held}");
        let token = held["token"].as_str().expect("token").to_owned();
        self.remember(&token);
        (base, first, token)
    }

    /// Asks `POST /api/v1/verify` with no token of its own; asserts a 200 and returns the answer.
    pub async fn verify(&self, question: Value) -> Value {
        let request = self.anonymous(Method::POST, "/api/v1/verify");
        let (status, answer) = send(request.json(&question)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }

    /// The `code` of `/api/v1/verify`'s answer for `token` asking `permission` in acme.
    pub async fn verify_code(&self, token: &str, permission: &str) -> String {
        let question = serde_json::json!({
            "token": token,
            "workspace": "acme",
            "permission": permission,
        });
        let answer = self.verify(question).await;
        answer["code"].as_str().expect("code").to_owned()
    }

    /// Signs up through `POST /api/v1/signup` (sign-up must be open) with a workspace of one's own;
    /// returns the personal token, remembered for the leak scans.
    pub async fn sign_up(&self, email: &str, password: &str, workspace: &str) -> String {
        let body =
            serde_json::json!({"email": email, "password": password, "workspace": workspace});
        let (status, created) =
            send(self.anonymous(Method::POST, "/api/v1/signup").json(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let token = created["personal_token"]["token"].as_str();
        let token = token.expect("personal token").to_owned();
        self.remember(&token);
        token
    }

    /// Creates an account through `POST /api/v1/admin/users` as the owner (an instance admin) and
    /// returns the 201 body; the personal token is remembered for the leak scans.
    pub async fn admin_create_user(&self, body: Value) -> Value {
        let (status, created) = self
            .owner_call(Method::POST, "/api/v1/admin/users", body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        self.remember(created["personal_token"]["token"].as_str().expect("token"));
        created
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

/// A forward-auth route rule: `methods` (none: any) on `path` need `permission`, on `resource`
/// where one is given, in `workspace`; no token is taken from the URL.
pub fn route_rule(
    methods: &[&str],
    path: &str,
    permission: &str,
    resource: Option<&str>,
    workspace: &str,
) -> RouteRule {
    RouteRule {
        methods: methods.iter().map(|m| (*m).to_owned()).collect(),
        path: path.into(),
        permission: permission.into(),
        resource: resource.map(Into::into),
        workspace: workspace.into(),
        query_token: false,
    }
}

/// Sends a request and returns the answer as it comes, for its headers or a body that is not JSON.
pub async fn fetch(request: RequestBuilder) -> reqwest::Response {
    request.send().await.expect("request reaches the server")
}

/// An answer read whole: status, headers and body as text.
#[derive(Debug)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Fetched {
    /// The header `name` as text (empty when missing or not text).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// Sends a request and reads the whole answer as text.
pub async fn fetch_text(request: RequestBuilder) -> Fetched {
    let response = fetch(request).await;
    Fetched {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body"),
    }
}

/// The string `field` of each object in the array `list` (`"slug"` of each workspace, ...).
pub fn strings<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    let items = list.as_array().expect("an array");
    items
        .iter()
        .filter_map(|item| item[field].as_str())
        .collect()
}

/// The message of an error envelope (empty when there is none).
pub fn error_message(got: &(StatusCode, Value)) -> &str {
    got.1["error"]["message"].as_str().unwrap_or_default()
}

/// The `/api/v1/verify` question for `token` asking `permission` (on `resource`) in acme.
pub fn acme_question(token: Option<&str>, permission: &str, resource: Option<&str>) -> Value {
    serde_json::json!({
        "token": token,
        "workspace": "acme",
        "permission": permission,
        "resource": resource,
    })
}

/// Asserts a `/api/v1/verify` answer: its `code`, `valid` exactly when the code is `ok`, and the
/// `missing` permission or resource.
#[track_caller]
pub fn assert_decision(answer: &Value, code: &str, missing: Option<&str>) {
    assert_eq!(answer["code"], code, "{answer}");
    assert_eq!(answer["valid"], code == "ok", "{answer}");
    assert_eq!(answer["missing"].as_str(), missing, "{answer}");
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

/// The name of the web UI's session cookie.
pub const SESSION_COOKIE: &str = "keygate_session";

/// A web client signed in as the owner (of an app from [`spawn_web_app`]).
pub async fn signed_in(app: &TestApp) -> WebClient {
    let web = WebClient::new(app);
    let page = web.sign_in(&app.owner.email, OWNER_PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(web.cookie(SESSION_COOKIE).is_some(), "signed in");
    web
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
