//! `/auth/forward` as reverse proxies call it: the original method and URI in headers, route rules
//! from the configuration, 200 with `X-Keygate-*` headers or 401/403. And the same through a real
//! nginx with `auth_request` in front of a small upstream, where nginx can be had.

use keygate_domain::route::RouteRule;
use keygate_testkit::proxy::{nginx_auth_request_site, start_nginx};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp, send, spawn_app_with};

fn rules() -> Vec<RouteRule> {
    let rule = |methods: &[&str],
                path: &str,
                permission: &str,
                resource: Option<&str>,
                query_token: bool| RouteRule {
        methods: methods.iter().map(|m| (*m).to_owned()).collect(),
        path: path.into(),
        permission: permission.into(),
        resource: resource.map(Into::into),
        workspace: "{workspace}".into(),
        query_token,
    };
    vec![
        rule(
            &["GET"],
            "/w/{workspace}/devices/{device}/measurements",
            "measurements:read",
            Some("device:{device}"),
            false,
        ),
        rule(
            &["POST"],
            "/w/{workspace}/devices/{device}/measurements",
            "measurements:write",
            Some("device:{device}"),
            false,
        ),
        rule(
            &["GET"],
            "/w/{workspace}/export",
            "measurements:read",
            None,
            true,
        ),
    ]
}

/// The measurements of devices abc (the reader's), xyz and demo in acme.
const ABC: &str = "/w/acme/devices/abc/measurements";
const XYZ: &str = "/w/acme/devices/xyz/measurements";
const DEMO: &str = "/w/acme/devices/demo/measurements";

async fn app() -> TestApp {
    spawn_app_with(Backend::Sqlite, |c| c.route = rules())
        .await
        .expect("SQLite")
}

/// An API user in `acme` with `measurements:read` on device abc, and its token.
async fn reader(app: &TestApp) -> String {
    app.api_user_token("reader", &["measurements:read"], &["device:abc"])
        .await
}

async fn ask(
    app: &TestApp,
    method: &str,
    uri: &str,
    token: Option<&str>,
    nginx_style: bool,
) -> reqwest::Response {
    let (m, u) = if nginx_style {
        ("X-Original-Method", "X-Original-URI")
    } else {
        ("X-Forwarded-Method", "X-Forwarded-Uri")
    };
    let mut request = app
        .anonymous(Method::GET, "/auth/forward")
        .header(m, method)
        .header(u, uri);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request.send().await.expect("send")
}

#[tokio::test]
async fn forward_auth_decides_from_route_rules() {
    let app = app().await;
    let token = reader(&app).await;
    for nginx_style in [false, true] {
        let ok = ask(
            &app,
            "GET",
            "/w/acme/devices/abc/measurements?from=1",
            Some(&token),
            nginx_style,
        )
        .await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()["cache-control"], "no-store");
        assert!(
            ok.headers()["x-keygate-user"]
                .to_str()
                .is_ok_and(|u| u.len() == 36)
        );
        assert!(ok.headers().contains_key("x-keygate-workspace"));
        assert!(ok.headers().contains_key("x-keygate-token-id"));

        let other_device = ask(&app, "GET", XYZ, Some(&token), nginx_style).await;
        assert_eq!(other_device.status(), StatusCode::FORBIDDEN);
        let writing = ask(&app, "POST", ABC, Some(&token), nginx_style).await;
        assert_eq!(writing.status(), StatusCode::FORBIDDEN);
        let body: serde_json::Value = writing.json().await.expect("json");
        assert_eq!(body["error"]["permission"], "measurements:write");
        // Unmatched routes are denied.
        let device = "/w/acme/devices/abc";
        let unmatched = ask(&app, "DELETE", device, Some(&token), nginx_style).await;
        assert_eq!(unmatched.status(), StatusCode::FORBIDDEN);
        for sneaky in [
            "/w/acme/devices/%2e%2e/measurements",
            "/w/acme/devices/a%2Fb/measurements",
        ] {
            let refused = ask(&app, "GET", sneaky, Some(&token), nginx_style).await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{sneaky}");
        }
        let other = ask(&app, "GET", XYZ, Some(&token), nginx_style).await;
        let body: serde_json::Value = other.json().await.expect("json");
        assert!(
            body["error"].get("permission").is_none(),
            "a resource is not a permission: {body}"
        );
    }
    // Anonymous: asked for a token, until the public role opens the route.
    let anonymous = ask(&app, "GET", DEMO, None, false).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        r#"Token realm="keygate""#
    );
    send(
        app.as_owner(Method::PUT, "/api/v1/workspaces/acme/roles/public")
            .json(&json!({"permissions": ["measurements:read"], "grants": ["device:demo"]})),
    )
    .await;
    let public = ask(&app, "GET", DEMO, None, false).await;
    assert_eq!(public.status(), StatusCode::OK);
    assert_eq!(public.headers()["x-keygate-user"], "anonymous");
    let not_public = ask(&app, "GET", ABC, None, false).await;
    assert_eq!(not_public.status(), StatusCode::UNAUTHORIZED);
    // Bad and revoked tokens.
    let bad = ask(&app, "GET", ABC, Some("kgt_nope"), false).await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad.headers()["www-authenticate"],
        r#"Token realm="keygate", error="invalid_token""#
    );
    // A token in the URL only where the rule allows it, and never in the logs.
    let (measurements, export) = (
        format!("{ABC}?api_token={token}"),
        format!("/w/acme/export?api_token={token}"),
    );
    let in_url = ask(&app, "GET", &measurements, None, false).await;
    assert_eq!(in_url.status(), StatusCode::BAD_REQUEST);
    let export = ask(&app, "GET", &export, None, false).await;
    assert_eq!(export.status(), StatusCode::OK);
    // Without the original URI there is nothing to decide.
    let (status, _) = send(app.anonymous(Method::GET, "/auth/forward")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A tiny upstream that echoes who Keygate said the caller is.
pub(crate) async fn upstream() -> std::net::SocketAddr {
    use axum::http::HeaderMap;
    let app = axum::Router::new().fallback(|headers: HeaderMap| async move {
        let user = headers
            .get("x-keygate-user")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        axum::Json(json!({ "upstream": true, "user": user }))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn nginx_auth_request_guards_an_upstream() {
    let app = app().await;
    let token = reader(&app).await;
    let upstream = upstream().await;
    let keygate = app.addr;
    let forward = [
        "X-Original-Method $request_method",
        "X-Original-URI $request_uri",
        "X-Forwarded-Method $request_method",
        "X-Forwarded-Uri $request_uri",
    ];
    let site =
        |port| nginx_auth_request_site(port, keygate, upstream, &forward, &["X-Keygate-User"]);
    let Some(nginx) = start_nginx(site).await else {
        println!("skipped: nginx is not installed (.ci/run installs Debian's nginx-light)");
        return;
    };
    let base = nginx.base.clone();
    let client = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut r = client.get(format!("{base}{path}"));
        if let Some(t) = token {
            r = r.header("Authorization", format!("Token {t}"));
        }
        r.send()
    };
    // Allowed: the upstream answers, and knows who called.
    let ok = get("/w/acme/devices/abc/measurements", Some(&token))
        .await
        .expect("send");
    assert_eq!(ok.status(), StatusCode::OK);
    let body: serde_json::Value = ok.json().await.expect("json");
    assert_eq!(body["upstream"], true);
    assert_eq!(body["user"].as_str().map(str::len), Some(36));
    // Forbidden: another device.
    let forbidden = get("/w/acme/devices/xyz/measurements", Some(&token))
        .await
        .expect("send");
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    // Anonymous: refused, then let through by the public role.
    assert_eq!(
        get("/w/acme/devices/demo/measurements", None)
            .await
            .expect("send")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    send(
        app.as_owner(Method::PUT, "/api/v1/workspaces/acme/roles/public")
            .json(&json!({"permissions": ["measurements:read"], "grants": ["device:demo"]})),
    )
    .await;
    let public = get("/w/acme/devices/demo/measurements", None)
        .await
        .expect("send");
    assert_eq!(public.status(), StatusCode::OK);
    assert_eq!(
        public.json::<serde_json::Value>().await.expect("json")["user"],
        "anonymous"
    );
    // Revoked: refused at once.
    let (_, list) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/tokens")).await;
    let id = list["tokens"][0]["id"].as_str().expect("id").to_owned();
    send(app.as_owner(
        Method::DELETE,
        &format!("/api/v1/workspaces/acme/tokens/{id}"),
    ))
    .await;
    let revoked = get("/w/acme/devices/abc/measurements", Some(&token))
        .await
        .expect("send");
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
    drop(nginx);
}
