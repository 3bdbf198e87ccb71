//! `GET /metrics`: the Prometheus text format with requests, decisions, cache and pool figures.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, fetch_text, send, spawn_app};

#[tokio::test]
async fn metrics_cover_requests_decisions_cache_and_pool() {
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite");
    send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    for token in [
        app.owner.token.as_str(),
        "kgt_000000000000000000000000000000000",
    ] {
        send(
            app.anonymous(Method::POST, "/api/v1/verify")
                .json(&json!({"token": token, "workspace": "acme", "permission": "devices:read"})),
        )
        .await;
    }
    let response = fetch_text(app.anonymous(Method::GET, "/metrics")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("content-type").starts_with("text/plain"));
    let text = response.body;
    for expected in [
        r#"keygate_http_requests_total{route="/api/v1/auth/me",method="GET",status="200"}"#,
        r#"keygate_http_request_duration_seconds_bucket{route="/api/v1/verify",method="POST",le="0.001"}"#,
        r#"keygate_decisions_total{code="ok"}"#,
        r#"keygate_decisions_total{code="invalid_token"}"#,
        r#"keygate_cache_lookups_total{cache="tokens",result="hit"}"#,
        r#"keygate_cache_lookups_total{cache="tokens",result="miss"}"#,
        r#"keygate_db_pool_connections{state="open"}"#,
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(!text.contains(&app.owner.token[4..]));
}
