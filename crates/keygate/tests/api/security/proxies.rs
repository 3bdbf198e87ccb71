//! Forward-auth with a client that forges proxy headers: `X-Forwarded-Method/-Uri`,
//! `X-Original-Method/-URI`, `X-Forwarded-Host/-Proto/-Prefix` and `X-Keygate-*`. First against
//! `/auth/forward` directly, as a proxy would pass the forged headers on (which header family
//! counts); then through a real nginx and a real Caddy running the configurations of
//! `docs/forward-auth.md`, each skipped with a message where the proxy is not installed.
//!
//! The scene: workspace `acme` opens `GET /public/...` to anonymous callers (its public role),
//! refuses `DELETE` on measurements (no rule), and keeps its files to its members; `mallory`
//! signed up with a workspace of her own and holds every right there.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use keygate::config::ForwardAuthHeaders;
use keygate_domain::route::RouteRule;
use keygate_testkit::proxy::{
    Proxy, find_binary, free_port, nginx_auth_request_site, replaced, start_nginx,
};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_error, backend_tests, route_rule, send, spawn_app_with,
};

/// The attack of the issue: an anonymous `DELETE`...
const DELETE_PATH: &str = "/w/acme/devices/abc/measurements";
/// ...dressed up as this public `GET`.
const PUBLIC_PATH: &str = "/public/x";
/// Mallory's token on acme's files, dressed up as her own.
const ACME_FILE: &str = "/w/acme/files/x";
const MALLORY_FILE: &str = "/w/mallory/files/x";
/// What a client claims to be in forged `X-Keygate-*` headers.
const FORGED_ID: &str = "00000000-0000-4000-8000-000000000bad";

fn rule(
    methods: &[&str],
    path: &str,
    permission: &str,
    resource: &str,
    workspace: &str,
) -> RouteRule {
    route_rule(methods, path, permission, Some(resource), workspace)
}

fn rules() -> Vec<RouteRule> {
    vec![
        rule(
            &["GET"],
            "/public/{path*}",
            "measurements:read",
            "device:demo",
            "acme",
        ),
        rule(
            &["GET"],
            "/w/{workspace}/devices/{device}/measurements",
            "measurements:read",
            "device:{device}",
            "{workspace}",
        ),
        rule(
            &[],
            "/w/{workspace}/files/{path*}",
            "files:read",
            "file:{path}",
            "{workspace}",
        ),
    ]
}

/// Keygate with the scene's rules, sign-up open, and `forward_auth_headers` as given.
async fn spawn_scene(backend: Backend, headers: ForwardAuthHeaders) -> Option<TestApp> {
    let app = spawn_app_with(backend, |c| {
        c.route = rules();
        c.signup = true;
        c.forward_auth_headers = headers;
    })
    .await?;
    let (status, body) = send(
        app.as_owner(Method::PUT, "/api/v1/workspaces/acme/roles/public")
            .json(&json!({"permissions": ["measurements:read"], "grants": ["device:demo"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Some(app)
}

async fn spawn_default(backend: Backend) -> Option<TestApp> {
    spawn_scene(backend, ForwardAuthHeaders::Any).await
}

async fn spawn_x_original(backend: Backend) -> Option<TestApp> {
    spawn_scene(backend, ForwardAuthHeaders::XOriginal).await
}

async fn spawn_x_forwarded(backend: Backend) -> Option<TestApp> {
    spawn_scene(backend, ForwardAuthHeaders::XForwarded).await
}

/// Mallory signs up with workspace `mallory`: her personal token.
async fn mallory(app: &TestApp) -> String {
    app.sign_up("mallory@example.com", "mallory's long password", "mallory")
        .await
}

async fn workspace_id(app: &TestApp, token: &str, slug: &str) -> String {
    let (status, body) =
        send(app.with_token(token, Method::GET, &format!("/api/v1/workspaces/{slug}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["id"].as_str().expect("workspace id").to_owned()
}

/// Every header a client forges, naming `method` and `uri` in both families.
fn forged(method: &str, uri: &str) -> Vec<(&'static str, String)> {
    let mut all = forged_forwarded(method, uri);
    all.extend(forged_original(method, uri));
    all.extend(forged_others());
    all
}

fn forged_forwarded(method: &str, uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-Forwarded-Method", method.to_owned()),
        ("X-Forwarded-Uri", uri.to_owned()),
    ]
}

fn forged_original(method: &str, uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-Original-Method", method.to_owned()),
        ("X-Original-URI", uri.to_owned()),
    ]
}

/// The forwarding headers Keygate does not read, and the ones it answers with.
fn forged_others() -> Vec<(&'static str, String)> {
    vec![
        ("X-Forwarded-Host", "evil.example".to_owned()),
        ("X-Forwarded-Proto", "https".to_owned()),
        ("X-Forwarded-Prefix", "/public".to_owned()),
        ("X-Keygate-User", FORGED_ID.to_owned()),
        ("X-Keygate-Workspace", FORGED_ID.to_owned()),
        ("X-Keygate-Token-Id", FORGED_ID.to_owned()),
    ]
}

fn with_headers(mut request: RequestBuilder, headers: &[(&'static str, String)]) -> RequestBuilder {
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request
}

/// `/auth/forward` asked the way a proxy asks: its own headers (`proxy`) after everything the
/// client sent (`client`), and the client's token.
async fn ask(
    app: &TestApp,
    proxy: &[(&'static str, String)],
    client: &[(&'static str, String)],
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = with_headers(app.anonymous(Method::GET, "/auth/forward"), client);
    request = with_headers(request, proxy);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    send(request).await
}

/// nginx as documented before: it sets `X-Original-*` only.
fn nginx_sets(method: &str, uri: &str) -> Vec<(&'static str, String)> {
    forged_original(method, uri)
}

/// Caddy and Traefik set `X-Forwarded-*`.
fn caddy_sets(method: &str, uri: &str) -> Vec<(&'static str, String)> {
    forged_forwarded(method, uri)
}

/// The header family a proxy sets, and the other one, which a client behind it forges.
struct Behind {
    sets: fn(&str, &str) -> Vec<(&'static str, String)>,
    forged: fn(&str, &str) -> Vec<(&'static str, String)>,
}

/// Behind nginx (`X-Original-*`), a client forges `X-Forwarded-*`.
const NGINX: Behind = Behind {
    sets: nginx_sets,
    forged: forged_forwarded,
};

/// Behind Caddy or Traefik (`X-Forwarded-*`), a client forges `X-Original-*`.
const CADDY: Behind = Behind {
    sets: caddy_sets,
    forged: forged_original,
};

impl Behind {
    /// `/auth/forward` asked as the proxy asks for `real` (method, URI), by a client that forged
    /// the other family naming `claimed`.
    async fn ask(
        &self,
        app: &TestApp,
        real: (&str, &str),
        claimed: (&str, &str),
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let client = (self.forged)(claimed.0, claimed.1);
        ask(app, &(self.sets)(real.0, real.1), &client, token).await
    }
}

backend_tests!(using super::spawn_default:
    client_naming_a_public_get_in_the_other_header_family_cannot_delete_anonymously,
    mallory_naming_her_own_workspace_in_the_other_header_family_cannot_reach_acme_files,
    client_repeating_a_forward_header_cannot_slip_its_own_value_in_first,
);
backend_tests!(using super::spawn_x_original:
    client_forging_x_forwarded_headers_is_ignored_where_x_original_is_configured,
);
backend_tests!(using super::spawn_x_forwarded:
    client_forging_x_original_headers_is_ignored_where_x_forwarded_is_configured,
);

/// `DELETE` on measurements matches no rule; `GET /public/x` is public. A client behind a proxy
/// that sets one family writes the other family itself.
async fn client_naming_a_public_get_in_the_other_header_family_cannot_delete_anonymously(
    app: TestApp,
) {
    // Honest: refused.
    let got = ask(&app, &nginx_sets("DELETE", DELETE_PATH), &[], None).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    // Behind nginx (X-Original-* set), with forged X-Forwarded-*: the two disagree.
    let got = NGINX
        .ask(&app, ("DELETE", DELETE_PATH), ("GET", PUBLIC_PATH), None)
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "conflicting_forward_headers");
    // Only the URI forged, or only the method: still two different requests.
    let uri_only = vec![("X-Forwarded-Uri", PUBLIC_PATH.to_owned())];
    let got = ask(&app, &nginx_sets("DELETE", DELETE_PATH), &uri_only, None).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "conflicting_forward_headers");
    // Behind Caddy or Traefik (X-Forwarded-* set), with forged X-Original-*.
    let got = CADDY
        .ask(&app, ("DELETE", DELETE_PATH), ("GET", PUBLIC_PATH), None)
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "conflicting_forward_headers");
    // A proxy that sets only the URI, and the request's own method standing in: a forged
    // method alone names half a request.
    let got = send(with_headers(
        app.anonymous(Method::DELETE, "/auth/forward"),
        &[
            ("X-Forwarded-Method", "GET".to_owned()),
            ("X-Original-URI", PUBLIC_PATH.to_owned()),
        ],
    ))
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
    // The other forwarding headers change nothing; a proxy that sets both families is obeyed.
    let got = ask(&app, &forged("DELETE", DELETE_PATH), &forged_others(), None).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = ask(&app, &forged("GET", PUBLIC_PATH), &forged_others(), None).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
}

async fn mallory_naming_her_own_workspace_in_the_other_header_family_cannot_reach_acme_files(
    app: TestApp,
) {
    let token = mallory(&app).await;
    // Honest: her own files yes, acme's no.
    let got = ask(&app, &nginx_sets("GET", MALLORY_FILE), &[], Some(&token)).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    let got = ask(&app, &nginx_sets("GET", ACME_FILE), &[], Some(&token)).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    // Forged: acme's file, named as hers in the family the proxy does not set.
    let mallorys = Some(token.as_str());
    for got in [
        NGINX
            .ask(&app, ("GET", ACME_FILE), ("GET", MALLORY_FILE), mallorys)
            .await,
        CADDY
            .ask(&app, ("GET", ACME_FILE), ("GET", MALLORY_FILE), mallorys)
            .await,
    ] {
        assert_error(&got, StatusCode::BAD_REQUEST, "conflicting_forward_headers");
    }
}

/// A proxy that appends its header instead of replacing it leaves the client's copy first.
async fn client_repeating_a_forward_header_cannot_slip_its_own_value_in_first(app: TestApp) {
    for (method, uri) in [
        ("X-Original-Method", "X-Original-URI"),
        ("X-Forwarded-Method", "X-Forwarded-Uri"),
    ] {
        let got = send(
            app.anonymous(Method::GET, "/auth/forward")
                .header(method, "GET")
                .header(uri, PUBLIC_PATH)
                .header(method, "DELETE")
                .header(uri, DELETE_PATH),
        )
        .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

async fn client_forging_x_forwarded_headers_is_ignored_where_x_original_is_configured(
    app: TestApp,
) {
    let token = mallory(&app).await;
    // Judged by X-Original-* alone: refused as what it is, not as a conflict.
    let got = NGINX
        .ask(&app, ("DELETE", DELETE_PATH), ("GET", PUBLIC_PATH), None)
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let mallorys = Some(token.as_str());
    let got = NGINX
        .ask(&app, ("GET", ACME_FILE), ("GET", MALLORY_FILE), mallorys)
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    // And the other way round, the configured family's answer stands.
    let got = NGINX
        .ask(&app, ("GET", PUBLIC_PATH), ("DELETE", DELETE_PATH), None)
        .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    // Without the configured family, the other one never stands in.
    let got = ask(&app, &caddy_sets("GET", PUBLIC_PATH), &[], None).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
}

async fn client_forging_x_original_headers_is_ignored_where_x_forwarded_is_configured(
    app: TestApp,
) {
    let token = mallory(&app).await;
    // Judged by X-Forwarded-* alone.
    for (real, claimed, token) in [
        (("DELETE", DELETE_PATH), ("GET", PUBLIC_PATH), None),
        (
            ("GET", ACME_FILE),
            ("GET", MALLORY_FILE),
            Some(token.as_str()),
        ),
    ] {
        let got = CADDY.ask(&app, real, claimed, token).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    }
    let got = ask(&app, &nginx_sets("GET", PUBLIC_PATH), &[], None).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
}

// ---------------------------------------------------------------------------------------------
// Through real proxies.

/// What the upstream received: method, URI and the forwarding and `X-Keygate-*` headers.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: BTreeMap<String, String>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// An upstream that answers 200 to anything and notes what reached it.
async fn upstream() -> (SocketAddr, Log) {
    use axum::http::{HeaderMap, Method as AxumMethod, Uri};
    let log: Log = Arc::default();
    let noted = log.clone();
    let app =
        axum::Router::new().fallback(move |method: AxumMethod, uri: Uri, headers: HeaderMap| {
            let noted = noted.clone();
            async move {
                let headers = headers
                    .iter()
                    .filter(|(name, _)| {
                        let name = name.as_str();
                        name.starts_with("x-keygate-")
                            || name.starts_with("x-forwarded-")
                            || name.starts_with("x-original-")
                    })
                    .map(|(name, value)| {
                        (
                            name.as_str().to_owned(),
                            String::from_utf8_lossy(value.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                noted.lock().unwrap_or_else(|e| e.into_inner()).push(Seen {
                    method: method.to_string(),
                    uri: uri.to_string(),
                    headers,
                });
                "upstream"
            }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, log)
}

fn seen(log: &Log) -> Vec<Seen> {
    log.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// What reached the upstream and matches `which`.
fn seen_where(log: &Log, which: impl Fn(&Seen) -> bool) -> Vec<Seen> {
    seen(log).into_iter().filter(|s| which(s)).collect()
}

/// The ways a client names `method uri` itself: in every header, or in one family.
fn every_forgery(method: &str, uri: &str) -> [Vec<(&'static str, String)>; 3] {
    [
        forged(method, uri),
        forged_forwarded(method, uri),
        forged_original(method, uri),
    ]
}

/// The first `lang` code block under the `## {section}` heading of docs/forward-auth.md.
fn documented(section: &str, lang: &str) -> String {
    let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/forward-auth.md");
    let text = std::fs::read_to_string(&page).expect("docs/forward-auth.md");
    let start = text
        .find(&format!("\n## {section}\n"))
        .unwrap_or_else(|| panic!("no section {section}"));
    let rest = &text[start..];
    let open = format!("```{lang}\n");
    let from = rest.find(&open).expect("a code block") + open.len();
    let to = from + rest[from..].find("```").expect("the block's end");
    rest[from..to].to_owned()
}

/// The server blocks of docs/forward-auth.md's nginx section, pointed at `keygate` and
/// `upstream`, listening on `port`.
fn documented_nginx(keygate: SocketAddr, upstream: SocketAddr, port: u16) -> String {
    let site = documented("nginx", "nginx");
    let site = replaced(&site, "server keygate:8080;", &format!("server {keygate};"));
    let site = replaced(&site, "listen 80;", &format!("listen 127.0.0.1:{port};"));
    replaced(
        &site,
        "proxy_pass http://app:3000;",
        &format!("proxy_pass http://{upstream};"),
    )
}

/// nginx as docs/forward-auth.md showed it before: `X-Original-*` set, and the client's
/// `X-Forwarded-Method/-Uri` passed on into the subrequest.
fn nginx_setting_x_original_only(keygate: SocketAddr, upstream: SocketAddr, port: u16) -> String {
    nginx_auth_request_site(
        port,
        keygate,
        upstream,
        &[
            "X-Original-Method $request_method",
            "X-Original-URI $request_uri",
        ],
        &[
            "X-Keygate-User",
            "X-Keygate-Workspace",
            "X-Keygate-Token-Id",
        ],
    )
}

/// The site block of docs/forward-auth.md's Caddy section, pointed at `keygate` and `upstream`,
/// served over plain HTTP on `port`.
fn documented_caddy(keygate: SocketAddr, upstream: SocketAddr, port: u16) -> String {
    let site = documented("Caddy", "caddy");
    let site = replaced(
        &site,
        "api.example.com {",
        &format!("http://127.0.0.1:{port} {{"),
    );
    let site = replaced(&site, "keygate:8080", &keygate.to_string());
    replaced(&site, "app:3000", &upstream.to_string())
}

/// Caddy with `site` (a site block), no admin endpoint and no automatic HTTPS, or `None` when
/// not installed.
async fn start_caddy(site: impl FnOnce(u16) -> String) -> Option<Proxy> {
    let caddy = find_binary(&["/usr/bin/caddy", "/usr/local/bin/caddy"])?;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let caddyfile = format!("{{\n\tadmin off\n\tauto_https off\n}}\n\n{}\n", site(port));
    let path = dir.path().join("Caddyfile");
    std::fs::write(&path, caddyfile).expect("write Caddyfile");
    let log_file = dir.path().join("caddy.log");
    let log = std::fs::File::create(&log_file).expect("caddy.log");
    let mut command = Command::new(caddy);
    command
        .args(["run", "--config", &path.display().to_string()])
        .args(["--adapter", "caddyfile"])
        // Caddy keeps state under HOME and the XDG directories: the temp dir, not the user's.
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(log);
    Some(Proxy::start(&mut command, dir, port, log_file).await)
}

#[derive(Debug, Clone, Copy)]
enum Site {
    DocumentedNginx,
    NginxSettingXOriginalOnly,
    DocumentedCaddy,
}

/// Keygate (SQLite) with the scene, an upstream, the proxy in front, and the case's name for
/// messages; `None` when the proxy is not installed.
async fn through(site: Site, headers: ForwardAuthHeaders) -> Option<(TestApp, Proxy, Log, String)> {
    let app = spawn_scene(Backend::Sqlite, headers)
        .await
        .expect("SQLite is always available");
    let (upstream, log) = upstream().await;
    let keygate = app.addr;
    let proxy = match site {
        Site::DocumentedNginx => {
            start_nginx(|port| documented_nginx(keygate, upstream, port)).await
        }
        Site::NginxSettingXOriginalOnly => {
            start_nginx(|port| nginx_setting_x_original_only(keygate, upstream, port)).await
        }
        Site::DocumentedCaddy => {
            start_caddy(|port| documented_caddy(keygate, upstream, port)).await
        }
    };
    let Some(proxy) = proxy else {
        println!(
            "skipped: {site:?} needs a proxy that is not installed (.ci/run installs Debian's nginx-light and caddy)"
        );
        return None;
    };
    let case = format!("{site:?} with forward_auth_headers = {headers:?}");
    Some((app, proxy, log, case))
}

const NGINX_CASES: [(Site, ForwardAuthHeaders); 4] = [
    (Site::DocumentedNginx, ForwardAuthHeaders::Any),
    (Site::DocumentedNginx, ForwardAuthHeaders::XOriginal),
    (Site::NginxSettingXOriginalOnly, ForwardAuthHeaders::Any),
    (
        Site::NginxSettingXOriginalOnly,
        ForwardAuthHeaders::XOriginal,
    ),
];

const CADDY_CASES: [(Site, ForwardAuthHeaders); 2] = [
    (Site::DocumentedCaddy, ForwardAuthHeaders::Any),
    (Site::DocumentedCaddy, ForwardAuthHeaders::XForwarded),
];

/// Sends `method path` through the proxy with the forged `headers` and the token.
async fn call(
    proxy: &Proxy,
    method: Method,
    path: &str,
    headers: &[(&'static str, String)],
    token: Option<&str>,
) -> StatusCode {
    let mut request = with_headers(
        reqwest::Client::new().request(method, format!("{}{path}", proxy.base)),
        headers,
    );
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request.send().await.expect("the proxy answers").status()
}

/// The anonymous `DELETE` of the issue, forged as the public `GET` in every header a client can
/// send: refused, and the upstream never sees it.
async fn anonymous_delete_forged_as_public_get(site: Site, headers: ForwardAuthHeaders) {
    let Some((_app, proxy, log, case)) = through(site, headers).await else {
        return;
    };
    // The setup works: the public GET passes.
    assert_eq!(
        call(&proxy, Method::GET, PUBLIC_PATH, &[], None).await,
        StatusCode::OK,
        "{case}"
    );
    for forgery in every_forgery("GET", PUBLIC_PATH) {
        let status = call(&proxy, Method::DELETE, DELETE_PATH, &forgery, None).await;
        assert!(!status.is_success(), "{case}: {status} for {forgery:?}");
    }
    let reached = seen_where(&log, |s| s.method == "DELETE");
    assert!(
        reached.is_empty(),
        "{case}: the DELETE reached the upstream: {reached:?}"
    );
    drop(proxy);
}

/// Mallory's token on acme's file, forged as her own file.
async fn mallory_token_forged_as_her_own_workspace(site: Site, headers: ForwardAuthHeaders) {
    let Some((app, proxy, log, case)) = through(site, headers).await else {
        return;
    };
    let token = mallory(&app).await;
    assert_eq!(
        call(&proxy, Method::GET, MALLORY_FILE, &[], Some(&token)).await,
        StatusCode::OK,
        "{case}: her own files"
    );
    for forgery in every_forgery("GET", MALLORY_FILE) {
        let status = call(&proxy, Method::GET, ACME_FILE, &forgery, Some(&token)).await;
        assert!(!status.is_success(), "{case}: {status} for {forgery:?}");
    }
    let reached = seen_where(&log, |s| s.uri.starts_with("/w/acme/"));
    assert!(
        reached.is_empty(),
        "{case}: acme's file reached: {reached:?}"
    );
    drop(proxy);
}

/// Forged `X-Keygate-*` (and every other forwarding header) on allowed requests: the upstream
/// sees Keygate's answer, never the client's values.
async fn forged_x_keygate_headers_reach_the_upstream(site: Site, headers: ForwardAuthHeaders) {
    let Some((app, proxy, log, case)) = through(site, headers).await else {
        return;
    };
    let token = mallory(&app).await;
    let acme = workspace_id(&app, &app.owner.token, "acme").await;
    let mallory_ws = workspace_id(&app, &token, "mallory").await;
    // Only the headers a proxy in this setup lets a client send without being refused.
    let client = match site {
        Site::NginxSettingXOriginalOnly => forged_others(),
        _ => forged("DELETE", ACME_FILE),
    };
    assert_eq!(
        call(&proxy, Method::GET, PUBLIC_PATH, &client, None).await,
        StatusCode::OK,
        "{case}: anonymous"
    );
    assert_eq!(
        call(&proxy, Method::GET, MALLORY_FILE, &client, Some(&token)).await,
        StatusCode::OK,
        "{case}: mallory"
    );
    let seen = seen(&log);
    assert_eq!(seen.len(), 2, "{case}: {seen:?}");
    let header = |s: &Seen, name: &str| s.headers.get(name).cloned().unwrap_or_default();
    let anonymous = &seen[0];
    assert_eq!(anonymous.uri, PUBLIC_PATH, "{case}");
    assert_eq!(header(anonymous, "x-keygate-user"), "anonymous", "{case}");
    assert_eq!(header(anonymous, "x-keygate-workspace"), acme, "{case}");
    // No token: no token id, never the forged one. Caddy before 2.10 writes its placeholder
    // where Keygate's answer has no such header (caddyserver/caddy#6610).
    let token_id = header(anonymous, "x-keygate-token-id");
    assert!(
        token_id.is_empty() || token_id == "{http.reverse_proxy.header.X-Keygate-Token-Id}",
        "{case}: anonymous token id {token_id:?}"
    );
    let signed = &seen[1];
    assert_eq!(signed.uri, MALLORY_FILE, "{case}");
    assert_eq!(header(signed, "x-keygate-workspace"), mallory_ws, "{case}");
    let user = header(signed, "x-keygate-user");
    let token_id = header(signed, "x-keygate-token-id");
    for (name, value) in [("user", &user), ("token id", &token_id)] {
        assert_eq!(value.len(), 36, "{case}: {name} {value:?}");
        assert_ne!(value, FORGED_ID, "{case}: {name}");
    }
    for s in &seen {
        for (name, value) in &s.headers {
            if name.starts_with("x-keygate-") {
                assert_ne!(
                    value, FORGED_ID,
                    "{case}: {name} reached the upstream forged"
                );
            }
        }
    }
    drop(proxy);
}

/// `#[tokio::test]`s that run a check through every case of a proxy: `name: CASES => check`.
macro_rules! through_proxies {
    ($($name:ident: $cases:ident => $check:ident,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                for (site, headers) in $cases {
                    $check(site, headers).await;
                }
            }
        )*
    };
}

through_proxies! {
    client_forging_proxy_headers_through_nginx_cannot_delete_anonymously:
        NGINX_CASES => anonymous_delete_forged_as_public_get,
    client_forging_proxy_headers_through_nginx_cannot_take_a_mallory_token_to_acme_files:
        NGINX_CASES => mallory_token_forged_as_her_own_workspace,
    client_forging_x_keygate_headers_through_nginx_cannot_fool_the_upstream:
        NGINX_CASES => forged_x_keygate_headers_reach_the_upstream,
    client_forging_proxy_headers_through_caddy_cannot_delete_anonymously:
        CADDY_CASES => anonymous_delete_forged_as_public_get,
    client_forging_proxy_headers_through_caddy_cannot_take_a_mallory_token_to_acme_files:
        CADDY_CASES => mallory_token_forged_as_her_own_workspace,
    client_forging_x_keygate_headers_through_caddy_cannot_fool_the_upstream:
        CADDY_CASES => forged_x_keygate_headers_reach_the_upstream,
}
