//! A clear token never reaches the database, a log line or an error: every token a test issues is
//! searched for in the database files (or every PostgreSQL row) and in the captured logs, which
//! include trace-level SQL and request lines.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, backend_tests, captured_logs, send};

backend_tests!(no_clear_token_in_the_database_or_the_logs);

async fn no_clear_token_in_the_database_or_the_logs(app: TestApp) {
    // Exercise every path that handles a secret, including the misuses that put it in a URL.
    let created = app
        .create_token(json!({"name": "scan", "expires_in_days": 1}))
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let secret = created["token"].as_str().expect("secret").to_owned();
    let (_, rotated) =
        send(app.as_owner(Method::POST, &format!("/api/v1/tokens/{id}/rotate"))).await;
    let rotated = rotated["token"].as_str().expect("rotated").to_owned();
    app.remember(&rotated);
    let (_, refreshed) =
        send(app.as_owner(Method::POST, "/api/v1/auth/personal-token/refresh")).await;
    let refreshed = refreshed["token"].as_str().expect("refreshed").to_owned();
    app.remember(&refreshed);
    for token in [&secret, &rotated, &refreshed] {
        send(app.with_token(token, Method::GET, "/api/v1/auth/me")).await;
        send(
            app.anonymous(Method::POST, "/api/v1/verify")
                .json(&json!({ "token": token })),
        )
        .await;
        send(app.anonymous(Method::GET, &format!("/api/v1/auth/me?api_token={token}"))).await;
        send(app.with_token(&refreshed, Method::GET, &format!("/api/v1/tokens/{token}"))).await;
        send(
            app.with_token(&refreshed, Method::POST, "/api/v1/tokens")
                .json(&json!({"expires_in_days": token})),
        )
        .await;
    }
    let (status, _) =
        send(app.with_token(&refreshed, Method::DELETE, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let issued = app.issued.lock().expect("issued").clone();
    assert!(issued.len() >= 4, "the test issued the tokens it scans for");
    let logs = captured_logs();
    assert!(
        logs.contains("/api/v1/auth/me"),
        "request lines were captured"
    );
    assert!(
        logs.contains("[REDACTED]"),
        "URL tokens were redacted, not dropped"
    );
    let mut haystacks = vec![("logs".to_owned(), logs.into_bytes())];
    for file in app.db.sqlite_files() {
        haystacks.push((
            file.display().to_string(),
            std::fs::read(&file).expect("read db file"),
        ));
    }
    let dump = app.pg_dump().await;
    if !dump.is_empty() {
        assert!(dump.contains("scan"), "the dump holds the token rows");
        haystacks.push(("postgres rows".to_owned(), dump.into_bytes()));
    }
    assert!(haystacks.len() >= 2, "a database was scanned");
    for token in &issued {
        // The body without the prefix: the part that is secret.
        let needle = &token.as_bytes()[4..];
        for (name, haystack) in &haystacks {
            assert!(
                !haystack.windows(needle.len()).any(|w| w == needle),
                "a clear token was found in {name}"
            );
        }
    }
}
