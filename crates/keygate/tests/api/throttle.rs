//! Repeated failed authentications from one client address are refused with 429 and
//! `Retry-After`; the address comes from `X-Forwarded-For` only when the peer is a trusted proxy.

use reqwest::{Method, StatusCode};

use crate::helpers::{
    Backend, OWNER_PASSWORD, TestApp, WebClient, fetch, send, spawn_app_with, spawn_web_app_with,
};

const BAD: &str = "kgt_000000000000000000000000000000000";

async fn me_as(app: &TestApp, token: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app.with_token(token, Method::GET, "/api/v1/auth/me");
    if let Some(xff) = forwarded_for {
        request = request.header("X-Forwarded-For", xff);
    }
    request.send().await.expect("send")
}

#[tokio::test]
async fn an_address_that_fails_too_often_is_refused_with_retry_after() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.auth_failures_per_minute = 3)
        .await
        .expect("SQLite");
    for _ in 0..4 {
        assert_eq!(
            me_as(&app, BAD, None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let refused = me_as(&app, BAD, None).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let body: serde_json::Value = refused.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_requests");
    // Even a good token waits; requests without a token are not affected.
    assert_eq!(
        me_as(&app, &app.owner.token, None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let (status, _) = send(app.anonymous(Method::GET, "/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    // GraphQL refuses the same way.
    let response = fetch(
        app.with_token(&app.owner.token, Method::POST, "/graphql")
            .json(&serde_json::json!({"query": "{ user { id } }"})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "TOO_MANY_REQUESTS");
    // The header is not believed from an untrusted peer: it does not dodge the refusal.
    assert_eq!(
        me_as(&app, &app.owner.token, Some("203.0.113.9"))
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_throttled() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.auth_failures_per_minute = 3;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().expect("cidr")];
    })
    .await
    .expect("SQLite");
    for _ in 0..4 {
        let status = me_as(&app, BAD, Some("203.0.113.7")).await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        me_as(&app, BAD, Some("203.0.113.7")).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy is not affected.
    assert_eq!(
        me_as(&app, &app.owner.token, Some("198.51.100.2"))
            .await
            .status(),
        StatusCode::OK
    );
    // The client address in the audit log is the forwarded one.
    let (_, audit) = send(
        app.with_token(&app.owner.token, Method::POST, "/api/v1/workspaces")
            .header("X-Forwarded-For", "198.51.100.2")
            .json(&serde_json::json!({"slug": "proxied"})),
    )
    .await;
    assert_eq!(audit["slug"], "proxied");
    let (_, log) = send(
        app.with_token(
            &app.owner.token,
            Method::GET,
            "/api/v1/workspaces/proxied/audit",
        )
        .header("X-Forwarded-For", "198.51.100.2"),
    )
    .await;
    assert_eq!(log["events"][0]["client_ip"], "198.51.100.2", "{log}");
}

/// The gate is part of the service's authentication: every way in that checks a credential waits
/// once the address has failed too often, whichever interface it came through.
#[tokio::test]
async fn a_throttled_address_waits_on_every_way_in() {
    let app = spawn_web_app_with(Backend::Sqlite, |c| {
        c.auth_failures_per_minute = 3;
        c.signup = true;
    })
    .await
    .expect("SQLite");
    // Failed passwords in the web UI count like failed tokens.
    let web = WebClient::new(&app);
    for _ in 0..4 {
        let page = web.sign_in("owner@example.com", "not the password").await;
        assert_ne!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    }
    let page = WebClient::new(&app)
        .sign_in("owner@example.com", OWNER_PASSWORD)
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "web sign-in");
    assert_eq!(
        me_as(&app, &app.owner.token, None).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "REST"
    );
    let graphql = fetch(
        app.with_token(&app.owner.token, Method::POST, "/graphql")
            .json(&serde_json::json!({"query": "{ user { id } }"})),
    )
    .await;
    assert_eq!(graphql.status(), StatusCode::TOO_MANY_REQUESTS, "GraphQL");
    let (status, body) = send(app.anonymous(Method::POST, "/api/v1/signup").json(
        &serde_json::json!({"email": "new@example.com", "password": "long enough password"}),
    ))
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "sign-up: {body}");
    let code = "a".repeat(32);
    let (status, body) = send(
        app.anonymous(Method::POST, &format!("/api/v1/password-links/{code}"))
            .json(&serde_json::json!({"password": "long enough password"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "password link: {body}"
    );
}
