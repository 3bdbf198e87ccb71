//! A clear token never reaches the database, a log line or an error: every token a test issues,
//! and every secret of the web UI (session cookies, passwords, invitation codes, password links),
//! is searched for
//! in the database files (or every PostgreSQL row) and in the captured logs, which include
//! trace-level SQL and request lines.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{OWNER_PASSWORD, TestApp, WebClient, backend_tests, captured_logs, send};

backend_tests!(using crate::helpers::spawn_web_app: no_clear_token_in_the_database_or_the_logs);

/// The secrets that went by in the web UI.
struct WebSecrets {
    /// Session cookies, passwords, tokens shown on pages.
    all: Vec<String>,
    /// One-time codes that are part of a page's path: the invitation's and the password link's.
    codes: Vec<String>,
}

/// Signs in to the web UI, creates a token there, invites someone who accepts and is signed in,
/// has a person set their password with a password link, and signs out.
async fn web_ui_secrets(app: &TestApp, admin_token: &str) -> WebSecrets {
    let mut secrets = vec![OWNER_PASSWORD.to_owned()];
    let web = WebClient::new(app);
    let page = web.sign_in(&app.owner.email, OWNER_PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    secrets.extend(web.cookie("keygate_csrf"));
    secrets.push(web.cookie("keygate_session").expect("a session"));

    let page = web
        .submit(
            "/tokens/new",
            "/tokens",
            &[("name", "web scan"), ("expiry", "7")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    secrets.push(page.input_value("secret").expect("the new token"));

    let page = web
        .submit(
            "/w/acme/members",
            "/w/acme/members",
            &[("email", "scan@example.com"), ("roles", "viewer")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    let link = page.input_value("invite-link").expect("an invitation link");
    let (_, code) = link.rsplit_once('/').expect("a code at the end");

    let invited = WebClient::new(app);
    let password = "the invited person's password";
    let path = format!("/invitations/{code}");
    let page = invited
        .submit(&path, &path, &[("password", password)])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    secrets.push(password.to_owned());
    secrets.push(page.input_value("secret").expect("the personal token"));
    secrets.push(invited.cookie("keygate_session").expect("signed in"));

    // An account made by an instance admin, whose person sets a password with a link.
    let (status, created) = send(
        app.with_token(admin_token, Method::POST, "/api/v1/admin/users")
            .json(&json!({"email": "linked@example.com", "password_link": true})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    secrets.push(
        created["personal_token"]["token"]
            .as_str()
            .expect("personal token")
            .to_owned(),
    );
    let link = created["password_link"]["url"].as_str().expect("a link");
    let (_, link_code) = link.rsplit_once('/').expect("a code at the end");
    let linked = WebClient::new(app);
    let linked_password = "the linked person's password";
    let path = format!("/password/{link_code}");
    let page = linked
        .submit(&path, &path, &[("password", linked_password)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    secrets.push(linked_password.to_owned());
    secrets.push(linked.cookie("keygate_session").expect("signed in"));

    let page = web.submit("/tokens", "/signout", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    WebSecrets {
        all: secrets,
        codes: vec![code.to_owned(), link_code.to_owned()],
    }
}

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

    let web = web_ui_secrets(&app, &refreshed).await;
    for secret in &web.all {
        app.remember(secret);
    }

    let issued = app.issued.lock().expect("issued").clone();
    assert!(
        issued.len() >= 11,
        "the test issued the secrets it scans for"
    );
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
    let found =
        |needle: &[u8], haystack: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    for token in &issued {
        // The body without a token's prefix: the part that is secret.
        let needle = &token.as_bytes()[4..];
        for (name, haystack) in &haystacks {
            assert!(
                !found(needle, haystack),
                "a clear secret was found in {name}"
            );
        }
    }
    // One-time codes are kept as digests, and hidden in logged URIs.
    for code in &web.codes {
        for (name, haystack) in &haystacks {
            assert!(
                !found(code.as_bytes(), haystack),
                "a clear one-time code was found in {name}"
            );
        }
    }
}
