//! Leaked tokens: a holder revokes one without an account, GitHub's signed secret-scanning
//! reports and GitLab's token revocation API revoke (or, by the workspace's policy, only mark)
//! the tokens of this Keygate they name, and a report that does not check out changes nothing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keygate::config::GitHubKey;
use keygate_domain::{TokenFormat, TokenKind};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, TestApp, assert_error, backend_tests, send, spawn_app_with};

const KEY_ID: &str = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a";
const GITLAB_SECRET: &str = "gitlab shared secret, long enough";

fn github_key() -> SigningKey {
    SigningKey::from_slice(&[42u8; 32]).expect("a scalar")
}

/// An app that takes reports from GitHub (signed with [`github_key`]) and GitLab.
async fn spawn_reported(backend: Backend) -> Option<TestApp> {
    let pem = github_key()
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    spawn_app_with(backend, |c| {
        c.github_secret_scanning_keys = vec![GitHubKey {
            key_identifier: KEY_ID.into(),
            key: pem,
        }];
        c.gitlab_token_revocation_secret = Some(GITLAB_SECRET.to_owned().into());
    })
    .await
}

backend_tests!(
    using super::spawn_reported:
    github_reports_revoke_tokens_of_this_keygate_and_label_each,
    a_report_with_a_bad_signature_changes_nothing,
    a_workspace_that_only_wants_to_be_told_keeps_its_token_working,
    a_leaked_replaced_secret_stops_and_the_token_keeps_working,
    gitlab_reports_need_the_shared_secret,
);

backend_tests!(
    github_keys_are_fetched_from_the_url_given_kept_and_not_fetched_on_every_unknown_key,
    a_leaked_personal_token_is_revoked_and_comes_back_with_a_new_secret_when_refreshed,
    anyone_holding_a_token_revokes_it_and_learns_nothing_else,
    reports_are_refused_where_nothing_is_configured,
);

/// A server publishing [`github_key`] as GitHub does (`GET /keys`), and answering `500` on
/// `GET /broken`; counts the requests it gets.
async fn github_meta() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pem = github_key()
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let fetches = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    let keys = json!({"public_keys": [
        {"key_identifier": "published", "key": pem, "is_current": true}
    ]});
    let router = axum::Router::new()
        .route(
            "/keys",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let keys = keys.clone();
                async move { axum::Json(keys) }
            }),
        )
        .route(
            "/broken",
            axum::routing::get(|| async { axum::http::StatusCode::INTERNAL_SERVER_ERROR }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, fetches)
}

async fn github_keys_are_fetched_from_the_url_given_kept_and_not_fetched_on_every_unknown_key(
    app: TestApp,
) {
    use std::sync::atomic::Ordering;
    let (meta, fetches) = github_meta().await;
    // A second server on the same database, with no key configured, only where to fetch them.
    let mut config = app.config.clone();
    config.github_secret_scanning_keys = Vec::new();
    config.github_secret_scanning_keys_url = Some(format!("http://{meta}/keys"));
    config.bind = "127.0.0.1:0".parse().expect("address");
    let fetching = keygate::startup::Application::build_with_clock(&config, app.clock.clone())
        .await
        .expect("starts");
    let url = format!("http://{}/api/v1/leaks/github", fetching.local_addr());
    tokio::spawn(fetching.run_until_stopped());
    let report = |id: &'static str, body: String| {
        let signature = signed(&body);
        app.client
            .post(url.clone())
            .header("Github-Public-Key-Identifier", id)
            .header("Github-Public-Key-Signature", signature)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let (leaked, _) = api_user_token(&app, "sensor").await;
    let body =
        json!([{"token": leaked, "type": "keygate_token", "url": null, "source": "content"}]);
    let answered = report("published", body.to_string()).await.expect("send");
    assert_eq!(answered.status(), StatusCode::OK);
    assert_error(
        &me(&app, &leaked).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    // Kept: a second report fetches nothing; an unknown key is refused without asking again.
    let again = report("published", json!([]).to_string())
        .await
        .expect("send");
    assert_eq!(again.status(), StatusCode::OK);
    for _ in 0..3 {
        let unknown = report("not-published", json!([]).to_string())
            .await
            .expect("send");
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    // Where the keys cannot be fetched, the reporter is told to try again, and nothing changes.
    let (other, _) = api_user_token(&app, "other").await;
    config.github_secret_scanning_keys_url = Some(format!("http://{meta}/broken"));
    let broken = keygate::startup::Application::build_with_clock(&config, app.clock.clone())
        .await
        .expect("starts");
    let broken_url = format!("http://{}/api/v1/leaks/github", broken.local_addr());
    tokio::spawn(broken.run_until_stopped());
    let body = json!([{"token": other, "type": "keygate_token", "url": null, "source": "content"}])
        .to_string();
    let got = send(
        app.client
            .post(broken_url)
            .header("Github-Public-Key-Identifier", "published")
            .header("Github-Public-Key-Signature", signed(&body))
            .header("Content-Type", "application/json")
            .body(body),
    )
    .await;
    assert_error(&got, StatusCode::SERVICE_UNAVAILABLE, "keys_unavailable");
    assert_eq!(me(&app, &other).await.0, StatusCode::OK);
}

async fn github_report(app: &TestApp, body: &str, signature: &str) -> (StatusCode, Value) {
    send(
        app.anonymous(Method::POST, "/api/v1/leaks/github")
            .header("Github-Public-Key-Identifier", KEY_ID)
            .header("Github-Public-Key-Signature", signature)
            .header("Content-Type", "application/json")
            .body(body.to_owned()),
    )
    .await
}

fn signed(body: &str) -> String {
    let signature: Signature = github_key().sign(body.as_bytes());
    STANDARD.encode(signature.to_der().as_bytes())
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A well-formed token of this Keygate's format that it never issued.
fn never_issued() -> String {
    let mut n = 0u8;
    TokenFormat::new("kg")
        .expect("format")
        .generate(TokenKind::User, |buf| {
            for b in buf.iter_mut() {
                n = n.wrapping_add(7);
                *b = n;
            }
        })
        .expose()
        .to_owned()
}

async fn me(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.get_as(token, "/api/v1/auth/me").await
}

async fn api_user_token(app: &TestApp, name: &str) -> (String, String) {
    let created = app
        .create_api_user(json!({"name": name, "roles": ["viewer"]}))
        .await;
    (
        created["token"]["token"]
            .as_str()
            .expect("token")
            .to_owned(),
        created["id"].as_str().expect("id").to_owned(),
    )
}

async fn api_token_page(app: &TestApp, user: &str) -> Value {
    let (status, list) = app
        .owner_call(
            Method::GET,
            &format!("/api/v1/workspaces/acme/api-users/{user}/tokens"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["tokens"][0].clone()
}

async fn leak_entries(app: &TestApp) -> Vec<Value> {
    let (status, page) = app
        .owner_call(
            Method::GET,
            "/api/v1/admin/audit?action=token.leaked",
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"].as_array().expect("events").clone()
}

async fn github_reports_revoke_tokens_of_this_keygate_and_label_each(app: TestApp) {
    let (leaked, user) = api_user_token(&app, "sensor").await;
    assert_eq!(me(&app, &leaked).await.0, StatusCode::OK);
    let stranger = never_issued();
    let body = json!([
        {"token": leaked, "type": "keygate_token", "url": "https://github.com/acme/app/blob/main/.env", "source": "content"},
        {"token": stranger, "type": "keygate_token", "url": "https://gist.github.com/x", "source": "gist"},
        {"token": "kgt_notevenwellformed", "type": "keygate_token", "url": null, "source": "commit"},
    ])
    .to_string();
    let (status, answer) = github_report(&app, &body, &signed(&body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!([
            {"token_hash": sha256(&leaked), "token_type": "keygate_token", "label": "true_positive"},
            {"token_hash": sha256(&stranger), "token_type": "keygate_token", "label": "false_positive"},
            {"token_hash": sha256("kgt_notevenwellformed"), "token_type": "keygate_token", "label": "false_positive"},
        ])
    );
    // Revoked at once (the default policy), marked leaked with where it was found.
    let got = me(&app, &leaked).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_revoked");
    let token = api_token_page(&app, &user).await;
    assert_eq!(token["status"], "revoked", "{token}");
    assert_eq!(token["leak"]["reporter"], "github", "{token}");
    assert_eq!(
        token["leak"]["url"],
        "https://github.com/acme/app/blob/main/.env"
    );
    let entries = leak_entries(&app).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["details"]["revoked"], true);
    assert_eq!(entries[0]["actor"], "github");
    // The report's answer and the audit log never hold the token.
    assert!(!answer.to_string().contains(&leaked));
    assert!(!Value::Array(entries).to_string().contains(&leaked));
}

async fn a_report_with_a_bad_signature_changes_nothing(app: TestApp) {
    let (leaked, _) = api_user_token(&app, "sensor").await;
    let body = json!([{"token": leaked, "type": "keygate_token", "url": "https://x", "source": "content"}])
        .to_string();
    let other = json!([{"token": "something else"}]).to_string();
    for (signature, id) in [
        (signed(&other), KEY_ID),
        ("not base64!".to_owned(), KEY_ID),
        (signed(&body), "another-key"),
        (String::new(), KEY_ID),
    ] {
        let got = send(
            app.anonymous(Method::POST, "/api/v1/leaks/github")
                .header("Github-Public-Key-Identifier", id)
                .header("Github-Public-Key-Signature", signature)
                .body(body.clone()),
        )
        .await;
        assert_error(&got, StatusCode::UNAUTHORIZED, "invalid_signature");
    }
    let got = send(
        app.anonymous(Method::POST, "/api/v1/leaks/github")
            .body(body.clone()),
    )
    .await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "invalid_signature");
    assert_eq!(me(&app, &leaked).await.0, StatusCode::OK);
    assert!(leak_entries(&app).await.is_empty());
    // Signed, but not GitHub's format.
    let junk = "{\"token\": 1}";
    let got = github_report(&app, junk, &signed(junk)).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_body");
}

async fn a_workspace_that_only_wants_to_be_told_keeps_its_token_working(app: TestApp) {
    // Only those who manage the workspace set the policy.
    let viewer = app.join("viewer@example.com", &["viewer"]).await;
    let got = app
        .call(
            &viewer.token,
            Method::PUT,
            "/api/v1/workspaces/acme/leak-policy",
            json!({"policy": "notify"}),
        )
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = app
        .owner_call(
            Method::PUT,
            "/api/v1/workspaces/acme/leak-policy",
            json!({"policy": "ignore"}),
        )
        .await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    let (status, set) = app
        .owner_call(
            Method::PUT,
            "/api/v1/workspaces/acme/leak-policy",
            json!({"policy": "notify"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (_, read) = app
        .get_as(&viewer.token, "/api/v1/workspaces/acme/leak-policy")
        .await;
    assert_eq!(read["policy"], "notify");

    let (leaked, user) = api_user_token(&app, "sensor").await;
    let body = json!([{"token": leaked, "type": "keygate_token", "url": "https://x", "source": "content"}])
        .to_string();
    let (status, answer) = github_report(&app, &body, &signed(&body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer[0]["label"], "true_positive");
    assert_eq!(me(&app, &leaked).await.0, StatusCode::OK);
    let token = api_token_page(&app, &user).await;
    assert_eq!(token["status"], "active", "{token}");
    assert_eq!(token["leak"]["reporter"], "github", "{token}");
    let entries = leak_entries(&app).await;
    assert_eq!(entries[0]["details"]["revoked"], false, "{entries:?}");
    assert_eq!(entries[0]["details"]["policy"], "notify");
    // Its holder can still revoke it, whatever the policy.
    let (status, _) = send(
        app.anonymous(Method::POST, "/api/v1/tokens/revoke")
            .json(&json!({"token": leaked})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &me(&app, &leaked).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    );
}

async fn a_leaked_replaced_secret_stops_and_the_token_keeps_working(app: TestApp) {
    let created = app.create_token(json!({"name": "fleet"})).await;
    let old = created["token"].as_str().expect("secret").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    let (status, rotated) = app
        .owner_call(
            Method::POST,
            &format!("/api/v1/tokens/{id}/rotate"),
            json!({"grace_seconds": 3600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["token"].as_str().expect("new").to_owned();
    app.remember(&new);
    assert_eq!(me(&app, &old).await.0, StatusCode::OK);
    let body =
        json!([{"token": old, "type": "keygate_token", "url": "https://x", "source": "content"}])
            .to_string();
    let (_, answer) = github_report(&app, &body, &signed(&body)).await;
    assert_eq!(answer[0]["label"], "true_positive", "{answer}");
    assert_error(
        &me(&app, &old).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    );
    assert_eq!(me(&app, &new).await.0, StatusCode::OK);
}

async fn gitlab_reports_need_the_shared_secret(app: TestApp) {
    let types = "/api/v1/leaks/gitlab/v1/revocable_token_types";
    let revoke = "/api/v1/leaks/gitlab/v1/revoke_tokens";
    let (leaked, _) = api_user_token(&app, "sensor").await;
    let body = json!([{"type": "keygate_token", "token": leaked, "location": "https://gitlab.com/acme/app/-/blob/main/.env"}]);
    for auth in [None, Some("Bearer wrong"), Some(GITLAB_SECRET)] {
        let mut request = app.anonymous(Method::POST, revoke).json(&body);
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let got = send(request).await;
        assert_error(&got, StatusCode::UNAUTHORIZED, "invalid_signature");
        let got = send(app.anonymous(Method::GET, types)).await;
        assert_error(&got, StatusCode::UNAUTHORIZED, "invalid_signature");
    }
    assert_eq!(me(&app, &leaked).await.0, StatusCode::OK);
    let bearer = format!("Bearer {GITLAB_SECRET}");
    let (status, listed) = send(
        app.anonymous(Method::GET, types)
            .header("Authorization", &bearer),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["types"][0]["type"], "keygate_token");
    let (status, answer) = send(
        app.anonymous(Method::POST, revoke)
            .header("Authorization", &bearer)
            .json(&body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer[0]["label"], "true_positive");
    assert_error(
        &me(&app, &leaked).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    );
}

async fn anyone_holding_a_token_revokes_it_and_learns_nothing_else(app: TestApp) {
    let created = app.create_token(json!({"name": "pasted"})).await;
    let token = created["token"].as_str().expect("secret").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    let revoke = |t: &str| {
        send(
            app.anonymous(Method::POST, "/api/v1/tokens/revoke")
                .json(&json!({"token": t})),
        )
    };
    let answers = [
        revoke(&token).await,
        revoke(&token).await,
        revoke(&never_issued()).await,
        revoke("hello").await,
    ];
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(body, &answers[0].1);
    }
    assert_error(
        &me(&app, &token).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    );
    let (_, page) = app
        .owner_call(Method::GET, &format!("/api/v1/tokens/{id}"), Value::Null)
        .await;
    assert_eq!(page["leak"]["reporter"], "holder", "{page}");
    assert!(page["leak"]["url"].is_null());
    // Nothing else about the request is taken.
    let got = send(
        app.anonymous(Method::POST, "/api/v1/tokens/revoke")
            .json(&json!({"token": token, "and": "more"})),
    )
    .await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
}

async fn reports_are_refused_where_nothing_is_configured(app: TestApp) {
    let body = "[]";
    let got = github_report(&app, body, &signed(body)).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_configured");
    let got = send(
        app.anonymous(Method::GET, "/api/v1/leaks/gitlab/v1/revocable_token_types")
            .header("Authorization", "Bearer anything"),
    )
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_configured");
}

backend_tests!(
    using crate::helpers::spawn_web_app:
    the_web_ui_shows_a_leaked_token_with_where_it_was_found,
    the_leak_policy_is_read_and_set_in_graphql_and_the_web_ui,
);

async fn the_leak_policy_is_read_and_set_in_graphql_and_the_web_ui(app: TestApp) {
    let policy = || async {
        let (_, got) = app
            .get_as(&app.owner.token, "/api/v1/workspaces/acme/leak-policy")
            .await;
        got["policy"].as_str().unwrap_or_default().to_owned()
    };
    let read = "{ workspace(slug: \"acme\") { leakPolicy } }";
    let (_, body) = app.graphql(Some(&app.owner.token), read, Value::Null).await;
    assert_eq!(body["data"]["workspace"]["leakPolicy"], "REVOKE", "{body}");
    let set = "mutation($p: LeakPolicy!) { setLeakPolicy(workspace: \"acme\", policy: $p) }";
    let viewer = app.join("viewer@example.com", &["viewer"]).await;
    let (_, body) = app
        .graphql(Some(&viewer.token), set, json!({"p": "NOTIFY"}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    assert_eq!(policy().await, "revoke");
    let (_, body) = app
        .graphql(Some(&app.owner.token), set, json!({"p": "NOTIFY"}))
        .await;
    assert_eq!(body["data"]["setLeakPolicy"], "NOTIFY", "{body}");
    assert_eq!(policy().await, "notify");

    // The settings page shows it and sets it back.
    let web = crate::helpers::WebClient::new(&app);
    web.sign_in(&app.owner.email, crate::helpers::OWNER_PASSWORD)
        .await;
    let page = web.get("/w/acme/settings").await;
    assert!(
        page.body.contains(r#"<option value="notify" selected>"#),
        "{}",
        page.body
    );
    let fields = [
        ("name", "acme"),
        ("slug", "acme"),
        ("max_token_lifetime_days", ""),
        ("leak_policy", "revoke"),
    ];
    let saved = web
        .submit("/w/acme/settings", "/w/acme/settings", &fields)
        .await;
    assert!(saved.status.is_redirection(), "{}", saved.body);
    assert_eq!(policy().await, "revoke");
    let bad = [
        ("name", "acme"),
        ("slug", "acme"),
        ("leak_policy", "ignore"),
    ];
    let refused = web
        .submit("/w/acme/settings", "/w/acme/settings", &bad)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("choose revoke or notify"),
        "{}",
        refused.body
    );
    assert_eq!(policy().await, "revoke");
}

async fn the_web_ui_shows_a_leaked_token_with_where_it_was_found(app: TestApp) {
    let created = app.create_token(json!({"name": "pasted"})).await;
    let token = created["token"].as_str().expect("secret").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    let (status, _) = send(
        app.anonymous(Method::POST, "/api/v1/tokens/revoke")
            .json(&json!({"token": token})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let web = crate::helpers::WebClient::new(&app);
    web.sign_in(&app.owner.email, crate::helpers::OWNER_PASSWORD)
        .await;
    let list = web.get("/tokens").await;
    assert!(list.body.contains(">leaked</span>"), "{}", list.body);
    let page = web.get(&format!("/tokens/{id}")).await;
    assert!(page.body.contains("reported by holder"), "{}", page.body);
}

async fn a_leaked_personal_token_is_revoked_and_comes_back_with_a_new_secret_when_refreshed(
    app: TestApp,
) {
    let other = app.create_token(json!({"name": "laptop"})).await;
    let other = other["token"].as_str().expect("token").to_owned();
    let leaked = app.owner.token.clone();
    let (status, _) = send(
        app.anonymous(Method::POST, "/api/v1/tokens/revoke")
            .json(&json!({"token": leaked})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &me(&app, &leaked).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    );
    // Its owner, signed in another way, refreshes it: a new secret, the leaked one still dead.
    let (status, fresh) = app
        .call(
            &other,
            Method::POST,
            "/api/v1/auth/personal-token/refresh",
            json!({"grace_seconds": 3600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    let fresh = fresh["token"].as_str().expect("new secret").to_owned();
    app.remember(&fresh);
    assert_eq!(me(&app, &fresh).await.0, StatusCode::OK);
    assert_eq!(me(&app, &leaked).await.0, StatusCode::UNAUTHORIZED);
    // Another revoked token stays revoked: rotating it is refused.
    let (status, named) = app
        .call(
            &fresh,
            Method::POST,
            "/api/v1/tokens",
            json!({"name": "named"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{named}");
    app.remember(named["token"].as_str().expect("token"));
    let id = named["id"].as_str().expect("id");
    let (status, _) = send(
        app.anonymous(Method::POST, "/api/v1/tokens/revoke")
            .json(&json!({"token": named["token"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let got = app
        .call(
            &fresh,
            Method::POST,
            &format!("/api/v1/tokens/{id}/rotate"),
            json!({}),
        )
        .await;
    assert_error(&got, StatusCode::CONFLICT, "token_revoked");
}
