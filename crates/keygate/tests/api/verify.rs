//! `POST /api/v1/verify`: always 200 for a well-formed request, with the reason when invalid.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_error, backend_tests, send};

backend_tests!(
    a_valid_token_is_described,
    invalid_tokens_are_answered_with_their_reason,
    malformed_verify_requests_are_400,
);

async fn verify(app: &TestApp, token: &str) -> serde_json::Value {
    // Verification needs no token of its own: the token in the body is the question.
    let (status, body) = send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&json!({ "token": token })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn a_valid_token_is_described(app: TestApp) {
    let created = app
        .create_token(json!({"name": "svc", "expires_in_days": 3}))
        .await;
    let body = verify(&app, created["token"].as_str().expect("secret")).await;
    assert_eq!(body["valid"], true);
    assert_eq!(body["code"], "ok");
    assert_eq!(body["token_id"], created["id"]);
    assert_eq!(body["expires_at"], created["expires_at"]);
    assert_eq!(body["user"]["id"], app.owner.id.to_string());
    assert_eq!(body["user"]["email"], app.owner.email);
    assert_eq!(body["workspaces"][0]["slug"], "acme");
    assert_eq!(body["workspaces"][0]["roles"], json!(["owner"]));

    let personal = verify(&app, &app.owner.token).await;
    assert_eq!(personal["valid"], true);
    assert!(personal["expires_at"].is_null());
}

async fn invalid_tokens_are_answered_with_their_reason(app: TestApp) {
    for bad in ["", "garbage", "kgt_0000000000000000000000000000000000"] {
        let body = verify(&app, bad).await;
        assert_eq!(body["valid"], false);
        assert_eq!(body["code"], "invalid_token");
        assert!(body["user"].is_null());
        assert!(body["token_id"].is_null());
        assert_eq!(body["workspaces"], json!([]));
    }

    let revoked = app.create_token(json!({})).await;
    let id = revoked["id"].as_str().expect("id");
    send(app.as_owner(Method::DELETE, &format!("/api/v1/tokens/{id}"))).await;
    let body = verify(&app, revoked["token"].as_str().expect("secret")).await;
    assert_eq!(
        (body["valid"].clone(), body["code"].clone()),
        (json!(false), json!("token_revoked"))
    );

    let expiring = app.create_token(json!({"expires_in_days": 1})).await;
    app.clock.advance(Duration::days(2));
    let body = verify(&app, expiring["token"].as_str().expect("secret")).await;
    assert_eq!(
        (body["valid"].clone(), body["code"].clone()),
        (json!(false), json!("token_expired"))
    );
}

async fn malformed_verify_requests_are_400(app: TestApp) {
    for body in [
        json!({}),
        json!({"token": 5}),
        json!({"token": "x", "extra": 1}),
        json!([]),
    ] {
        let got = send(app.anonymous(Method::POST, "/api/v1/verify").json(&body)).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_body");
    }
    let got = send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .header("content-type", "application/json")
            .body("{\"token\":"),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "malformed_json");

    // An empty or control-laden workspace or resource is a malformed question, on verify and on
    // the caller's own check alike.
    for question in [
        json!({"workspace": "acme", "permission": "devices:read", "resource": ""}),
        json!({"workspace": "acme", "permission": "devices:read", "resource": "device:a\u{0}b"}),
        json!({"workspace": "acme", "permission": "devices:read", "resource": "device:a\nb"}),
        json!({"workspace": ""}),
        json!({"workspace": "ac\tme"}),
    ] {
        let got = send(
            app.anonymous(Method::POST, "/api/v1/verify")
                .json(&question),
        )
        .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        let got = send(
            app.as_owner(Method::POST, "/api/v1/auth/check")
                .json(&question),
        )
        .await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{question}: {}", got.1);
    }
}
