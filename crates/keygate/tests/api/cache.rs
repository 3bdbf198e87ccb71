//! The verification cache seen from outside: token use recorded off the request path, cached
//! tokens verifying through a database outage for at most the cache lifetime, and changes taking
//! effect at once on this node.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp, assert_error, backend_tests, send, spawn_app_with};

backend_tests!(
    token_use_is_recorded_within_seconds,
    a_verify_keeps_the_last_known_address,
    changes_take_effect_at_once_despite_the_cache
);

async fn token_use_is_recorded_within_seconds(app: TestApp) {
    let created = app.create_token(json!({"name": "used"})).await;
    let id = created["id"].as_str().expect("id");
    let (_, before) = send(app.as_owner(Method::GET, &format!("/api/v1/tokens/{id}"))).await;
    assert!(before["last_used_at"].is_null());
    let (status, _) = send(app.with_token(
        created["token"].as_str().expect("secret"),
        Method::GET,
        "/api/v1/auth/me",
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    // Written in the background, every two seconds.
    let start = Instant::now();
    loop {
        let (_, token) = send(app.as_owner(Method::GET, &format!("/api/v1/tokens/{id}"))).await;
        if !token["last_used_at"].is_null() {
            assert_eq!(token["last_used_ip"], "127.0.0.1");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "last use never recorded: {token}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A check by another service (`verify`, which knows no client address) keeps the address of
/// the token's last direct use.
async fn a_verify_keeps_the_last_known_address(app: TestApp) {
    let created = app.create_token(json!({"name": "checked"})).await;
    let secret = created["token"].as_str().expect("secret").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    send(app.with_token(&secret, Method::GET, "/api/v1/auth/me")).await;
    app.keygate.flush_usage().await;
    send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&json!({"token": secret})),
    )
    .await;
    app.keygate.flush_usage().await;
    let (_, token) = send(app.as_owner(Method::GET, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(token["last_used_ip"], "127.0.0.1", "{token}");
}

async fn changes_take_effect_at_once_despite_the_cache(app: TestApp) {
    let created = app.create_token(json!({"name": "cached"})).await;
    let secret = created["token"].as_str().expect("secret").to_owned();
    let id = created["id"].as_str().expect("id");
    let verify = |token: &str| {
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&json!({"token": token, "workspace": "acme", "permission": "devices:read"}))
    };
    // Warm the cache, then change things: every answer after a change reflects it.
    for _ in 0..3 {
        assert_eq!(send(verify(&secret)).await.1["code"], "ok");
    }
    let (status, _) = send(app.as_owner(Method::DELETE, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(send(verify(&secret)).await.1["code"], "token_revoked");

    // Membership: a viewer removed from the workspace is no longer a member, at once.
    let viewer = app.persona("cached-viewer@example.com", None).await;
    app.add_member(
        &app.owner.token,
        "acme",
        json!({"email": viewer.email, "roles": ["viewer"]}),
        &viewer,
    )
    .await;
    assert_eq!(send(verify(&viewer.token)).await.1["code"], "ok");
    let (status, _) = send(app.as_owner(
        Method::DELETE,
        &format!("/api/v1/workspaces/acme/members/{}", viewer.id),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(send(verify(&viewer.token)).await.1["code"], "not_a_member");

    // A workspace renamed: the old slug is unknown and the new one known, at once.
    assert_eq!(send(verify(&app.owner.token)).await.1["code"], "ok");
    send(
        app.as_owner(Method::PATCH, "/api/v1/workspaces/acme")
            .json(&json!({"slug": "acme-2"})),
    )
    .await;
    assert_eq!(
        send(verify(&app.owner.token)).await.1["code"],
        "not_a_member"
    );
    let (_, answer) = send(app.anonymous(Method::POST, "/api/v1/verify").json(
        &json!({"token": app.owner.token, "workspace": "acme-2", "permission": "devices:read"}),
    ))
    .await;
    assert_eq!(answer["code"], "ok");
}

#[tokio::test]
async fn cached_tokens_verify_through_an_outage_for_the_cache_lifetime_then_fail_closed() {
    // Long enough that the setup's entries are still cached when the database goes, on a busy
    // machine too.
    let app = spawn_app_with(Backend::Sqlite, |c| c.cache_ttl_seconds = 3)
        .await
        .expect("SQLite");
    let verify = || {
        app.anonymous(Method::POST, "/api/v1/verify").json(
            &json!({"token": app.owner.token, "workspace": "acme", "permission": "devices:read"}),
        )
    };
    assert_eq!(send(verify()).await.1["code"], "ok");
    app.keygate.store().close().await;
    // Cached: still answered while the database is gone.
    assert_eq!(send(verify()).await.1["code"], "ok");
    let got = send(app.as_owner(Method::GET, "/api/v1/tokens")).await;
    assert_error(&got, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    // After the cache lifetime: refused, not answered from stale data.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let got = send(verify()).await;
    assert_error(&got, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
}
