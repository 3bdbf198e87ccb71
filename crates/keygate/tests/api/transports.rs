//! How a request presents a token (SPEC §3): every header form, the URL rule, conflicts and the
//! 401 shape for malformed and unknown tokens.

use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, assert_error, backend_tests, fetch, send};

backend_tests!(
    every_header_form_authenticates,
    no_token_is_unauthenticated_with_a_challenge,
    malformed_and_unknown_tokens_get_invalid_token,
    a_token_in_the_url_is_refused_where_not_allowed,
    two_different_tokens_are_refused,
    other_authorization_schemes_are_refused,
);

async fn every_header_form_authenticates(app: TestApp) {
    let t = app.owner.token.clone();
    for (name, value) in [
        ("Authorization", format!("Token {t}")),
        ("authorization", format!("token {t}")),
        ("Authorization", format!("Bearer {t}")),
        ("API-KEY", t.clone()),
        ("api-key", t.clone()),
        ("X-API-Key", t.clone()),
        ("x-api-key", t.clone()),
    ] {
        let (status, me) = send(
            app.anonymous(Method::GET, "/api/v1/auth/me")
                .header(name, value.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{name}: {me}");
        assert_eq!(me["user"]["id"], app.owner.id.to_string());
    }
}

async fn no_token_is_unauthenticated_with_a_challenge(app: TestApp) {
    let response = fetch(app.anonymous(Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Token realm="keygate""#
    );
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unauthenticated");
}

async fn malformed_and_unknown_tokens_get_invalid_token(app: TestApp) {
    let t = &app.owner.token;
    let mut flipped = t.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    // Well-formed (valid checksum) but never issued.
    let unknown = app
        .keygate
        .format()
        .generate(keygate_domain::TokenKind::User, |b| {
            b.iter_mut().enumerate().for_each(|(i, x)| *x = i as u8)
        })
        .into_exposed();
    for bad in [
        "",
        "nonsense",
        "kgt_short",
        &t[..t.len() - 1],
        &format!("{t}x"),
        &flipped,
        &t.replacen("kgp_", "xyp_", 1),
        &unknown,
    ] {
        let response = fetch(
            app.anonymous(Method::GET, "/api/v1/auth/me")
                .header("Authorization", format!("Token {bad}")),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad:?}");
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Token realm="keygate", error="invalid_token""#
        );
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "invalid_token", "{bad:?}");
        // The same answer for malformed and unknown: nothing says which.
        assert_eq!(
            body["error"]["message"],
            "the token is malformed, unknown or no longer valid"
        );
    }
}

async fn a_token_in_the_url_is_refused_where_not_allowed(app: TestApp) {
    let path = format!("/api/v1/auth/me?api_token={}", app.owner.token);
    let got = send(app.anonymous(Method::GET, &path)).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "query_token_not_allowed");
    assert!(!got.1.to_string().contains(&app.owner.token[4..]));
    let got = send(app.as_owner(Method::GET, &path)).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "query_token_not_allowed");
}

async fn two_different_tokens_are_refused(app: TestApp) {
    let other = app.persona("other@example.com", None).await;
    let got = send(
        app.as_owner(Method::GET, "/api/v1/auth/me")
            .header("X-API-Key", &other.token),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "conflicting_tokens");
    // The same token twice is one token.
    let (status, _) = send(
        app.as_owner(Method::GET, "/api/v1/auth/me")
            .header("API-KEY", &app.owner.token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn other_authorization_schemes_are_refused(app: TestApp) {
    let got = send(
        app.anonymous(Method::GET, "/api/v1/auth/me")
            .header("Authorization", "Basic dXNlcjpwYXNzd29yZA=="),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
}
