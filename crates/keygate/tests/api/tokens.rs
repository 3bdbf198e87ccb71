//! `/api/v1/tokens` and the personal token refresh.

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_error, backend_tests, fetch, send};

backend_tests!(
    create_shows_the_secret_once_and_listings_show_hints,
    created_token_authenticates_until_revoked,
    rotate_gives_a_new_secret_and_kills_the_old_one_at_once,
    refresh_personal_token_kills_the_old_one_at_once,
    personal_token_cannot_be_revoked,
    expired_tokens_are_refused_and_cannot_be_rotated,
    revoked_tokens_cannot_be_rotated,
    another_users_token_is_not_found,
    expiry_inputs_are_validated,
);

async fn create_shows_the_secret_once_and_listings_show_hints(app: TestApp) {
    let created = app
        .create_token(json!({"name": "ci", "description": "deploys", "expires_in_days": 30}))
        .await;
    let secret = created["token"].as_str().expect("secret");
    assert!(secret.starts_with("kgt_"), "{secret}");
    assert_eq!(secret.len(), 37);
    for field in [
        "id",
        "hint",
        "name",
        "description",
        "expires_at",
        "created_at",
    ] {
        assert!(!created[field].is_null(), "{field} in {created}");
    }
    assert_eq!(created["name"], "ci");
    assert_eq!(created["description"], "deploys");
    assert_eq!(created["kind"], "user");
    assert_eq!(created["status"], "active");
    let hint = created["hint"].as_str().expect("hint");
    assert_eq!(
        hint,
        format!("{}…{}", &secret[..8], &secret[secret.len() - 4..])
    );
    let created_at: DateTime<Utc> =
        serde_json::from_value(created["created_at"].clone()).expect("time");
    let expires_at: DateTime<Utc> =
        serde_json::from_value(created["expires_at"].clone()).expect("time");
    assert_eq!(expires_at - created_at, Duration::days(30));

    let id = created["id"].as_str().expect("id");
    let (status, list) = send(app.as_owner(Method::GET, "/api/v1/tokens")).await;
    assert_eq!(status, StatusCode::OK);
    let tokens = list["tokens"].as_array().expect("tokens");
    // The personal token and the new one, newest first.
    assert_eq!(tokens.len(), 2, "{list}");
    assert_eq!(tokens[0]["id"], id);
    assert_eq!(tokens[1]["kind"], "personal");
    let (status, one) = send(app.as_owner(Method::GET, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["hint"], hint);
    for body in [list.to_string(), one.to_string()] {
        assert!(!body.contains(&secret[4..]), "secret in {body}");
        assert!(!body.contains("\"token\""), "token field in {body}");
    }
}

async fn created_token_authenticates_until_revoked(app: TestApp) {
    let created = app.create_token(json!({"name": "short-lived"})).await;
    let secret = created["token"].as_str().expect("secret");
    let id = created["id"].as_str().expect("id");

    let (status, me) = send(app.with_token(secret, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["token"]["id"], id);
    assert_eq!(me["token"]["kind"], "user");
    assert_eq!(me["user"]["email"], app.owner.email);

    let (status, body) = send(app.as_owner(Method::DELETE, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(body.is_null());

    let response = fetch(app.with_token(secret, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Token realm="keygate", error="invalid_token""#
    );
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "token_revoked");

    let (_, one) = send(app.as_owner(Method::GET, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(one["status"], "revoked");
    assert!(!one["revoked_at"].is_null());
    // Revoking again changes nothing and is not an error.
    let (status, _) = send(app.as_owner(Method::DELETE, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, again) = send(app.as_owner(Method::GET, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(again["revoked_at"], one["revoked_at"]);
}

async fn rotate_gives_a_new_secret_and_kills_the_old_one_at_once(app: TestApp) {
    let created = app
        .create_token(json!({"name": "rotating", "description": "d", "expires_in_days": 7}))
        .await;
    let old = created["token"].as_str().expect("secret");
    let id = created["id"].as_str().expect("id");

    let (status, rotated) =
        send(app.as_owner(Method::POST, &format!("/api/v1/tokens/{id}/rotate"))).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["token"].as_str().expect("new secret");
    app.remember(new);
    assert_ne!(new, old);
    assert_eq!(rotated["id"], id);
    for kept in ["name", "description", "expires_at", "created_at", "kind"] {
        assert_eq!(rotated[kept], created[kept], "{kept}");
    }
    assert_ne!(rotated["hint"], created["hint"]);
    assert!(!rotated["rotated_at"].is_null());

    let old_use = send(app.with_token(old, Method::GET, "/api/v1/auth/me")).await;
    assert_error(&old_use, StatusCode::UNAUTHORIZED, "invalid_token");
    let (status, me) = send(app.with_token(new, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["token"]["id"], id);
}

async fn refresh_personal_token_kills_the_old_one_at_once(app: TestApp) {
    let (_, before) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    let (status, refreshed) =
        send(app.as_owner(Method::POST, "/api/v1/auth/personal-token/refresh")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let new = refreshed["token"].as_str().expect("secret");
    app.remember(new);
    assert!(new.starts_with("kgp_"));
    assert_eq!(refreshed["kind"], "personal");
    assert_eq!(refreshed["id"], before["token"]["id"]);

    let old_use = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    assert_error(&old_use, StatusCode::UNAUTHORIZED, "invalid_token");
    let (status, me) = send(app.with_token(new, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["token"]["kind"], "personal");

    // A user-created token can refresh its user's personal token too.
    let other = app.persona("second@example.com", None).await;
    let (status, _) = app
        .post_as(&other.token, "/api/v1/auth/personal-token/refresh")
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn personal_token_cannot_be_revoked(app: TestApp) {
    let (_, me) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    let id = me["token"]["id"].as_str().expect("id");
    let got = send(app.as_owner(Method::DELETE, &format!("/api/v1/tokens/{id}"))).await;
    assert_error(&got, StatusCode::CONFLICT, "personal_token");
    let (status, _) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK);
}

async fn expired_tokens_are_refused_and_cannot_be_rotated(app: TestApp) {
    let created = app.create_token(json!({"expires_in_days": 1})).await;
    let secret = created["token"].as_str().expect("secret");
    let id = created["id"].as_str().expect("id");
    let (status, _) = send(app.with_token(secret, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK);

    app.clock.advance(Duration::days(1) + Duration::seconds(1));
    let got = send(app.with_token(secret, Method::GET, "/api/v1/auth/me")).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_expired");
    let got = send(app.as_owner(Method::POST, &format!("/api/v1/tokens/{id}/rotate"))).await;
    assert_error(&got, StatusCode::CONFLICT, "token_expired");
    let (_, one) = send(app.as_owner(Method::GET, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(one["status"], "expired");
}

async fn revoked_tokens_cannot_be_rotated(app: TestApp) {
    let created = app.create_token(json!({})).await;
    let id = created["id"].as_str().expect("id");
    let (status, _) = send(app.as_owner(Method::DELETE, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = send(app.as_owner(Method::POST, &format!("/api/v1/tokens/{id}/rotate"))).await;
    assert_error(&got, StatusCode::CONFLICT, "token_revoked");
    let got = app
        .get_as(
            created["token"].as_str().expect("secret"),
            "/api/v1/auth/me",
        )
        .await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_revoked");
}

async fn another_users_token_is_not_found(app: TestApp) {
    let mine = app.create_token(json!({"name": "mine"})).await;
    let id = mine["id"].as_str().expect("id");
    let other = app.persona("mallory@example.com", None).await;
    for (method, path) in [
        (Method::GET, format!("/api/v1/tokens/{id}")),
        (Method::DELETE, format!("/api/v1/tokens/{id}")),
        (Method::POST, format!("/api/v1/tokens/{id}/rotate")),
    ] {
        let got = send(app.with_token(&other.token, method.clone(), &path)).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
    let (_, list) = send(app.with_token(&other.token, Method::GET, "/api/v1/tokens")).await;
    assert_eq!(
        list["tokens"].as_array().map(Vec::len),
        Some(1),
        "only their personal token"
    );
    // Still alive: none of the attempts touched it.
    let (status, _) = app
        .get_as(mine["token"].as_str().expect("secret"), "/api/v1/auth/me")
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn expiry_inputs_are_validated(app: TestApp) {
    let now = app.clock.now();
    let past = (now - Duration::minutes(1)).to_rfc3339();
    let future = (now + Duration::days(2)).to_rfc3339();
    for (body, field) in [
        (json!({"expires_at": past}), "expires_at"),
        (json!({"expires_in_days": 0}), "expires_in_days"),
        (json!({"expires_in_days": -3}), "expires_in_days"),
        (json!({"expires_in_days": 100000}), "expires_in_days"),
        (
            json!({"expires_in_days": 1, "expires_at": future}),
            "expires_at",
        ),
    ] {
        let got = send(app.as_owner(Method::POST, "/api/v1/tokens").json(&body)).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], field, "{body}");
    }
    let created = app.create_token(json!({"expires_at": future})).await;
    let expires_at: DateTime<Utc> =
        serde_json::from_value(created["expires_at"].clone()).expect("time");
    assert_eq!(
        expires_at,
        DateTime::parse_from_rfc3339(&future).expect("rfc3339")
    );
    // Nothing was written by the refused requests: the personal token and the one created.
    let (_, list) = send(app.as_owner(Method::GET, "/api/v1/tokens")).await;
    assert_eq!(list["tokens"].as_array().map(Vec::len), Some(2));
}
