//! Liveness and readiness, and what callers see while the database is gone.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_error, backend_tests, send};

backend_tests!(healthy_and_ready, database_outage_is_a_clear_503);

async fn healthy_and_ready(app: TestApp) {
    let (status, body) = send(app.anonymous(Method::GET, "/healthz")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    let (status, body) = send(app.anonymous(Method::GET, "/readyz")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ready"})));
}

async fn database_outage_is_a_clear_503(app: TestApp) {
    // Closing the pool is what the server sees when its database goes away: no connection.
    app.keygate.store().close().await;
    let got = send(app.anonymous(Method::GET, "/readyz")).await;
    assert_error(&got, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    for request in [
        app.as_owner(Method::GET, "/api/v1/auth/me"),
        app.as_owner(Method::GET, "/api/v1/tokens"),
        app.as_owner(Method::POST, "/api/v1/tokens")
            .json(&json!({"name": "x"})),
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&json!({"token": app.owner.token})),
    ] {
        let got = send(request).await;
        assert_error(&got, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        assert!(
            got.1["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("database"))
        );
    }
    let (status, _) = send(app.anonymous(Method::GET, "/healthz")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "liveness does not depend on the database"
    );
}
