//! Input of any size or nesting gets a 4xx and the server lives on; headers every answer carries.
//!
//! The nesting attacks run against the real `keygate` binary in a process of its own: were one of
//! them to overflow the server's stack, the process would die (and this test would see it) instead
//! of taking the test binary down with it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, backend_tests, captured_logs, fetch, fetch_text, spawn_app_with};

/// A `keygate serve` process on a fresh SQLite file, with an owner's token.
struct Process {
    child: Child,
    addr: SocketAddr,
    token: String,
    _dir: tempfile::TempDir,
}

impl Process {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("keygate.db").display());
        let bin = env!("CARGO_BIN_EXE_keygate");
        let boot = Command::new(bin)
            .args(["--database-url", &url, "bootstrap"])
            .args([
                "--email",
                "owner@example.com",
                "--workspace",
                "acme",
                "--json",
            ])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run keygate bootstrap");
        assert!(boot.status.success(), "bootstrap: {boot:?}");
        let doc: Value = serde_json::from_slice(&boot.stdout).expect("bootstrap prints JSON");
        let token = doc["token"].as_str().expect("a token").to_owned();
        let mut child = Command::new(bin)
            .args(["--database-url", &url, "serve", "--bind", "127.0.0.1:0"])
            .current_dir(dir.path())
            .env("KEYGATE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn keygate serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("listening on http://") {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("serve logs its address")
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .expect("an address");
        Process {
            child,
            addr,
            token,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The answer to a GraphQL `query` POSTed with the owner's token.
    async fn graphql(&self, query: String) -> (StatusCode, Value) {
        let request = reqwest::Client::new()
            .post(self.url("/graphql"))
            .header("authorization", format!("Token {}", self.token))
            .json(&json!({ "query": query }));
        answer(request).await
    }

    /// The process still runs and answers.
    async fn assert_alive(&mut self, after: &str) {
        let status = self.child.try_wait().expect("query the process");
        assert!(
            status.is_none(),
            "the server died after {after}: {status:?}"
        );
        let health = reqwest::get(self.url("/healthz")).await;
        assert!(
            health.is_ok_and(|r| r.status() == StatusCode::OK),
            "the server does not answer after {after}"
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nested_list(levels: usize) -> String {
    format!("{}\"x\"{}", "[".repeat(levels), "]".repeat(levels))
}

fn nested_object(levels: usize) -> String {
    format!("{}1{}", "{a: ".repeat(levels), "}".repeat(levels))
}

/// Status and body, whatever the body is.
async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Refused before the parser saw it, with the message of the nesting bound.
fn assert_too_deep(got: &(StatusCode, Value), what: &str) {
    assert_graphql_refused(got, what);
    assert!(
        got.1["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nests deeper than")),
        "{what}: refused by the nesting bound: {got:?}"
    );
}

fn assert_graphql_refused(got: &(StatusCode, Value), what: &str) {
    assert!(
        got.0.is_client_error() || got.0 == StatusCode::OK,
        "{what}: {got:?}"
    );
    assert!(
        got.1["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{what}: an error, not an answer: {got:?}"
    );
    assert!(got.1["data"].is_null(), "{what}: nothing ran: {got:?}");
}

/// As [`assert_graphql_refused`], with the first error saying `why`.
fn assert_graphql_refused_for(got: &(StatusCode, Value), what: &str, why: &str) {
    assert_graphql_refused(got, what);
    assert!(
        got.1["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(why)),
        "{got:?}"
    );
}

#[tokio::test]
async fn graphql_arguments_nested_thousands_deep_are_refused_and_the_server_lives_on() {
    let mut server = Process::start();
    let client = reqwest::Client::new();
    for (label, query) in [
        (
            "a list 100 deep",
            format!("{{ __type(name: {}) {{ name }} }}", nested_list(100)),
        ),
        (
            "a list 2 500 deep",
            format!("{{ __type(name: {}) {{ name }} }}", nested_list(2_500)),
        ),
        (
            "an object 2 500 deep",
            format!("{{ __type(name: {}) {{ name }} }}", nested_object(2_500)),
        ),
        (
            "a list 30 000 deep",
            format!("{{ __type(name: {}) {{ name }} }}", nested_list(30_000)),
        ),
        (
            "selections 10 000 deep",
            format!("{}{}", "{ a ".repeat(10_000), "}".repeat(10_000)),
        ),
        (
            "parentheses 20 000 deep",
            format!("{{ a{} }}", "(".repeat(20_000)),
        ),
    ] {
        let post = answer(
            client
                .post(server.url("/graphql"))
                .json(&json!({ "query": query })),
        )
        .await;
        assert_too_deep(&post, &format!("POST with {label}"));
        server.assert_alive(&format!("POST with {label}")).await;
        if query.len() < 12_000 {
            let get = answer(
                client
                    .get(server.url("/graphql"))
                    .query(&[("query", query.as_str())]),
            )
            .await;
            assert_too_deep(&get, &format!("GET with {label}"));
            server.assert_alive(&format!("GET with {label}")).await;
        }
    }
}

#[tokio::test]
async fn json_nested_thousands_deep_is_refused_and_the_server_lives_on() {
    let mut server = Process::start();
    let client = reqwest::Client::new();
    let token = server.token.clone();
    let deep = format!("{}1{}", "[".repeat(30_000), "]".repeat(30_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    for body in [
        format!("{{\"query\": \"{{ user {{ id }} }}\", \"variables\": {{\"v\": {deep}}}}}"),
        format!("{{\"query\": \"{{ user {{ id }} }}\", \"variables\": {deep_object}}}"),
        format!("{{\"query\": \"{{ user {{ id }} }}\", \"extensions\": {deep}}}"),
    ] {
        let got = answer(
            client
                .post(server.url("/graphql"))
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert!(got.0.is_client_error(), "GraphQL variables: {got:?}");
        server.assert_alive("deeply nested GraphQL variables").await;
    }
    let variables = format!("{{\"v\": {}1{}}}", "[".repeat(5_000), "]".repeat(5_000));
    let get = answer(client.get(server.url("/graphql")).query(&[
        ("query", "{ user { id } }"),
        ("variables", variables.as_str()),
    ]))
    .await;
    assert!(get.0.is_client_error(), "GET variables: {get:?}");
    server.assert_alive("deeply nested GET variables").await;
    for (path, body) in [
        ("/api/v1/tokens", format!("{{\"name\": {deep}}}")),
        ("/api/v1/verify", format!("{{\"token\": {deep}}}")),
        ("/api/v1/auth/check", deep_object.clone()),
        (
            "/api/v1/workspaces/acme/roles",
            format!("{{\"permissions\": {deep}}}"),
        ),
    ] {
        let got = answer(
            client
                .post(server.url(path))
                .header("authorization", format!("Token {token}"))
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{path}: {got:?}");
        assert!(got.1["error"]["code"].is_string(), "{path}: {got:?}");
        server.assert_alive(path).await;
    }
}

#[tokio::test]
async fn hundreds_of_aliased_audit_pages_in_one_graphql_request_are_refused() {
    let server = Process::start();
    let aliased = aliases(450, "audit(first: 500) { edges { node { id action } } }");
    let got = server
        .graphql(format!("{{ workspace(slug: \"acme\") {{ {aliased} }} }}"))
        .await;
    assert_graphql_refused_for(&got, "450 aliased audit pages", "aliased fields");
    // Few aliases, but large pages: the page size counts in the complexity.
    let wide = aliases(5, "audit(first: 500) { edges { node { id action time } } }");
    let got = server
        .graphql(format!("{{ workspace(slug: \"acme\") {{ {wide} }} }}"))
        .await;
    assert_graphql_refused_for(&got, "5 audit pages of 500", "too complex");
    // One page of 500 is an ordinary request.
    let one =
        "{ workspace(slug: \"acme\") { audit(first: 500) { edges { node { id action } } } } }";
    let got = server.graphql(one.to_owned()).await;
    assert_eq!(got.0, StatusCode::OK, "{got:?}");
    assert!(got.1["errors"].is_null(), "{got:?}");
    assert!(
        got.1["data"]["workspace"]["audit"]["edges"].is_array(),
        "{got:?}"
    );
}

#[tokio::test]
async fn many_large_pages_of_the_instance_lists_in_one_graphql_request_are_refused() {
    let server = Process::start();
    // The bootstrap token is an instance admin's: the instance's audit log and its users are
    // lists as large as any workspace's, and their page size counts in the complexity too.
    let audit = aliases(5, "audit(first: 500) { edges { node { id action time } } }");
    let got = server.graphql(format!("{{ admin {{ {audit} }} }}")).await;
    assert_graphql_refused_for(&got, "5 instance audit pages of 500", "too complex");
    let users = aliases(
        5,
        "users(first: 500) { users { id email displayName kind } nextCursor }",
    );
    let got = server.graphql(format!("{{ admin {{ {users} }} }}")).await;
    assert_graphql_refused_for(&got, "5 pages of 500 users", "too complex");
    // One page of each is an ordinary request.
    let one = "{ admin { audit(first: 500) { edges { node { id action } } } \
               users(first: 500) { users { id email } nextCursor } } }";
    let got = server.graphql(one.to_owned()).await;
    assert_eq!(got.0, StatusCode::OK, "{got:?}");
    assert!(got.1["errors"].is_null(), "{got:?}");
    assert!(
        got.1["data"]["admin"]["audit"]["edges"].is_array(),
        "{got:?}"
    );
    assert!(
        got.1["data"]["admin"]["users"]["users"].is_array(),
        "{got:?}"
    );
}

/// `field` asked `count` times in one selection, as `a0: field a1: field …`.
fn aliases(count: usize, field: &str) -> String {
    (0..count)
        .map(|i| format!("a{i}: {field}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `levels` fragments, each spreading the next `width` times: a few hundred bytes that expand to
/// `width ^ levels` selections.
fn doubling_fragments(levels: usize, width: usize) -> String {
    let mut doc = String::from("query { ...F0 }");
    for level in 0..levels {
        let next = format!(" ...F{}", level + 1);
        doc.push_str(&format!(
            " fragment F{level} on Query {{{} }}",
            next.repeat(width)
        ));
    }
    doc.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    doc
}

#[tokio::test]
async fn fragments_that_double_at_each_level_are_refused_at_once_and_the_server_lives_on() {
    let mut server = Process::start();
    // Unbounded, the first of these would hold a worker thread for hours; every answer must come
    // well within this.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    for (label, query, why) in [
        (
            "24 levels of fragments spread twice",
            doubling_fragments(24, 2),
            "once its fragments are expanded",
        ),
        (
            "20 levels of fragments spread three times",
            doubling_fragments(20, 3),
            "once its fragments are expanded",
        ),
        (
            "a fragment spreading itself twice",
            "query { ...A } fragment A on Query { ...A ...A }".to_owned(),
            "spreads itself",
        ),
        (
            "two fragments spreading each other",
            "query { ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A ...A }"
                .to_owned(),
            "spreads itself",
        ),
    ] {
        // Anonymous, by POST and by GET.
        let post = answer(
            client
                .post(server.url("/graphql"))
                .json(&json!({ "query": query })),
        )
        .await;
        assert_graphql_refused_for(&post, &format!("POST with {label}"), why);
        let get = answer(
            client
                .get(server.url("/graphql"))
                .query(&[("query", query.as_str())]),
        )
        .await;
        assert_graphql_refused_for(&get, &format!("GET with {label}"), why);
        server.assert_alive(label).await;
    }
    // Fragments spread a few times over stay ordinary requests.
    let got = answer(
        client
            .post(server.url("/graphql"))
            .json(&json!({ "query": doubling_fragments(8, 2) })),
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{got:?}");
    assert!(got.1["errors"].is_null(), "{got:?}");
    assert_eq!(got.1["data"]["__typename"], "Query", "{got:?}");
}

backend_tests!(graphiql_introspection_still_fits_the_limits);

async fn graphiql_introspection_still_fits_the_limits(app: TestApp) {
    // The query GraphiQL sends on load: nested 15 deep, many fields, no aliases.
    let query = include_str!("introspection.graphql");
    let got = app.graphql(None, query, Value::Null).await;
    assert_eq!(got.0, StatusCode::OK, "{got:?}");
    assert!(got.1["errors"].is_null(), "{got:?}");
    assert!(got.1["data"]["__schema"]["types"].is_array());
}

backend_tests!(
    a_percent_encoded_token_in_the_url_is_accepted_but_never_logged,
    every_answer_says_nosniff_and_the_api_docs_cannot_be_framed,
    answers_are_never_cached_unless_their_handler_says_so,
);

async fn a_percent_encoded_token_in_the_url_is_accepted_but_never_logged(app: TestApp) {
    let token = app.create_token(json!({"name": "export"})).await;
    let secret = token["token"].as_str().expect("a secret").to_owned();
    let (prefix, body) = secret.split_at(4);
    let kind = &prefix[..3];
    // `kgt%5F…` (the underscore encoded), and `kgt_…` with one character of the body encoded.
    let encoded_underscore = format!("{kind}%5F{body}");
    let encoded_inside = format!(
        "{prefix}{}%{:02X}{}",
        &body[..3],
        body.as_bytes()[3],
        &body[4..]
    );
    for presented in [&encoded_underscore, &encoded_inside] {
        let got = fetch(app.client.get(app.url(&format!(
            "/api/v1/workspaces/acme/audit?format=csv&api_token={presented}"
        ))))
        .await;
        assert_eq!(got.status(), StatusCode::OK, "{presented}");
        // Pasted into a path by mistake, it is not logged either.
        let _ = app
            .client
            .get(app.url(&format!("/api/v1/tokens/{presented}")))
            .send()
            .await;
    }
    let logs = captured_logs();
    let tail = &body[body.len() - 16..];
    assert!(
        !logs.contains(tail),
        "the token's secret part appears in the log"
    );
}

async fn answers_are_never_cached_unless_their_handler_says_so(app: TestApp) {
    // API answers, refusals included, may carry a secret or per-user data.
    for (method, path) in [
        (Method::GET, "/api/v1/auth/me"),
        (Method::GET, "/healthz"),
        (Method::GET, "/nowhere"),
    ] {
        let got = fetch_text(app.anonymous(method.clone(), path)).await;
        let values: Vec<_> = got.headers.get_all("cache-control").iter().collect();
        assert_eq!(values, ["no-store"], "{method} {path}");
    }
    // A static asset keeps the policy its handler set, once, and no header is doubled.
    let page = fetch_text(app.anonymous(Method::GET, "/signin")).await;
    let at = page
        .body
        .find("/ui/assets/")
        .expect("an asset on the sign-in page");
    let asset = &page.body[at..];
    let asset = &asset[..asset.find('"').expect("a quoted URL")];
    let got = fetch_text(app.anonymous(Method::GET, asset)).await;
    assert_eq!(got.status, StatusCode::OK, "{asset}");
    let values: Vec<_> = got.headers.get_all("cache-control").iter().collect();
    assert_eq!(values, ["public, max-age=31536000, immutable"], "{asset}");
    assert_eq!(
        got.headers.get_all("x-content-type-options").iter().count(),
        1
    );
}

async fn every_answer_says_nosniff_and_the_api_docs_cannot_be_framed(app: TestApp) {
    for (method, path) in [
        (Method::GET, "/api/v1/auth/me"),
        (Method::GET, "/healthz"),
        (Method::GET, "/nowhere"),
        (Method::POST, "/graphql"),
        (Method::GET, "/api/openapi.json"),
        (Method::GET, "/api/docs/"),
        (Method::GET, "/signin"),
    ] {
        let got = fetch(app.anonymous(method.clone(), path)).await;
        assert_eq!(
            got.headers()
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff"),
            "{method} {path}"
        );
        // Not served over https here: no HSTS.
        assert!(
            got.headers().get("strict-transport-security").is_none(),
            "{method} {path}"
        );
    }
    let docs = fetch_text(app.anonymous(Method::GET, "/api/docs/")).await;
    let csp = docs.header("content-security-policy").to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert_eq!(
        docs.headers
            .get("x-frame-options")
            .and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    // Behind https, browsers are told to stay there.
    let Some(https) = spawn_app_with(app.backend(), |c| {
        c.public_url = Some("https://keygate.example".into());
    })
    .await
    else {
        return;
    };
    let got = fetch(https.anonymous(Method::GET, "/api/v1/auth/me")).await;
    assert!(
        got.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("max-age=")),
        "{:?}",
        got.headers()
    );
}

backend_tests!(the_decision_routes_answer_as_every_route_does);

/// `verify`, `auth/check`, forward-auth and `/healthz` each sit in the layer every route is in by
/// themselves, not under it with the other routes: their answers, refusals, wrong methods and
/// oversized bodies included, carry the same headers once, keep the body limit and are counted
/// under their route.
async fn the_decision_routes_answer_as_every_route_does(app: TestApp) {
    let question = json!({"workspace": "acme", "permission": "devices:read"});
    let mut verify = question.clone();
    verify["token"] = json!(app.owner.token);
    let oversized = json!({"token": "x".repeat(70 * 1024)});
    let calls = [
        (
            app.anonymous(Method::POST, "/api/v1/verify").json(&verify),
            StatusCode::OK,
        ),
        (
            app.anonymous(Method::POST, "/api/v1/verify")
                .json(&oversized),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            app.anonymous(Method::GET, "/api/v1/verify"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            app.as_owner(Method::POST, "/api/v1/auth/check")
                .json(&question),
            StatusCode::OK,
        ),
        (
            app.anonymous(Method::GET, "/auth/forward")
                .header("X-Forwarded-Uri", "/nowhere"),
            StatusCode::FORBIDDEN,
        ),
        (app.anonymous(Method::GET, "/healthz"), StatusCode::OK),
        (
            app.anonymous(Method::PUT, "/healthz"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (request, status) in calls {
        let got = fetch_text(request).await;
        assert_eq!(got.status, status, "{got:?}");
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("cache-control", "no-store"),
        ] {
            let values: Vec<_> = got.headers.get_all(name).iter().collect();
            assert_eq!(values, [value], "{name} of {got:?}");
        }
        if !got.status.is_success() {
            let body: Value = serde_json::from_str(&got.body).expect("a JSON error");
            assert!(body["error"]["code"].is_string(), "{got:?}");
        }
    }
    let metrics = fetch_text(app.anonymous(Method::GET, "/metrics"))
        .await
        .body;
    for series in [
        r#"{route="/api/v1/verify",method="POST",status="200"}"#,
        r#"{route="/api/v1/verify",method="POST",status="413"}"#,
        r#"{route="/api/v1/verify",method="GET",status="405"}"#,
        r#"{route="/api/v1/auth/check",method="POST",status="200"}"#,
        r#"{route="/auth/forward",method="GET",status="403"}"#,
        r#"{route="/healthz",method="PUT",status="405"}"#,
    ] {
        assert!(
            metrics.contains(&format!("keygate_http_requests_total{series}")),
            "{series} missing from:\n{metrics}"
        );
    }
}
