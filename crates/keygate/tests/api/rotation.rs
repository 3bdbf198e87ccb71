//! Rotation with a grace overlap: the replaced secret keeps working until `grace_seconds` after
//! the new secret's first use, never past seven days, and stops at once when the overlap is ended,
//! here and on another node.

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::cache::until_notices_flow;
use crate::helpers::{Node, TestApp, assert_error, backend_tests, send};

backend_tests!(
    the_old_secret_works_until_grace_after_the_new_secret_is_first_used,
    the_overlap_never_outlasts_seven_days_after_the_rotation,
    rotating_again_ends_the_overlap,
    ending_the_overlap_stops_the_old_secret_here_and_on_another_node,
    a_grace_longer_than_a_day_is_refused,
    a_replaced_secret_cannot_be_used_to_end_its_own_overlap_after_it_retired,
    graphql_rotates_with_a_grace_shows_the_retiring_secret_and_ends_the_overlap,
    a_replaced_secret_in_its_overlap_cannot_mint_secrets,
    a_replaced_secret_in_its_overlap_cannot_invite_or_make_a_password_link,
    another_users_overlap_cannot_be_seen_started_or_ended,
    a_scoped_token_cannot_end_another_tokens_overlap,
    the_old_secrets_uses_in_the_last_hour_are_counted,
);

async fn the_old_secrets_uses_in_the_last_hour_are_counted(app: TestApp) {
    let (old, id) = fleet_token(&app).await;
    rotate(&app, &id, json!({"grace_seconds": 86_400})).await;
    for _ in 0..2 {
        assert_eq!(me_at(&app, &app.url(""), &old).await.0, StatusCode::OK);
    }
    app.keygate.flush_usage().await;
    let page = token_page(&app, &id).await;
    assert_eq!(page["retiring_secret"]["uses"], 2, "{page}");
    assert_eq!(page["retiring_secret"]["uses_last_hour"], 2, "{page}");
    // An hour later those two no longer count for the last hour; a new one does.
    app.clock.advance(Duration::minutes(61));
    let page = token_page(&app, &id).await;
    assert_eq!(page["retiring_secret"]["uses_last_hour"], 0, "{page}");
    assert_eq!(me_at(&app, &app.url(""), &old).await.0, StatusCode::OK);
    app.keygate.flush_usage().await;
    let page = token_page(&app, &id).await;
    assert_eq!(page["retiring_secret"]["uses"], 3, "{page}");
    assert_eq!(page["retiring_secret"]["uses_last_hour"], 1, "{page}");
}

/// A token of the owner's, and its id.
async fn fleet_token(app: &TestApp) -> (String, String) {
    let created = app.create_token(json!({"name": "fleet"})).await;
    let secret = created["token"].as_str().expect("secret").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    (secret, id)
}

async fn rotate(app: &TestApp, id: &str, body: Value) -> String {
    let (status, rotated) = send(
        app.as_owner(Method::POST, &format!("/api/v1/tokens/{id}/rotate"))
            .json(&body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let secret = rotated["token"].as_str().expect("secret").to_owned();
    app.remember(&secret);
    secret
}

/// The status of `GET /api/v1/auth/me` with `token` on `base` (this node or another).
async fn me_at(app: &TestApp, base: &str, token: &str) -> (StatusCode, Value) {
    send(
        app.client
            .get(format!("{base}/api/v1/auth/me"))
            .bearer_auth(token),
    )
    .await
}

async fn verify_token(app: &TestApp, token: &str) -> Value {
    app.verify(json!({"token": token})).await
}

async fn token_page(app: &TestApp, id: &str) -> Value {
    let (status, token) = send(app.as_owner(Method::GET, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    token
}

fn at(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a timestamp: {value}"))
}

/// Waits (a few seconds at most) until the token page says when the replaced secret retires.
async fn retires_at(app: &TestApp, id: &str) -> DateTime<Utc> {
    let start = Instant::now();
    loop {
        let page = token_page(app, id).await;
        if !page["retiring_secret"]["retires_at"].is_null() {
            return at(&page["retiring_secret"]["retires_at"]);
        }
        assert!(
            start.elapsed() < StdDuration::from_secs(10),
            "the grace period never started: {page}"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

async fn the_old_secret_works_until_grace_after_the_new_secret_is_first_used(app: TestApp) {
    let (old, id) = fleet_token(&app).await;
    let new = rotate(&app, &id, json!({"grace_seconds": 60})).await;

    // Both work; the old one is marked as retiring wherever it is answered.
    let (status, _) = me_at(&app, &app.url(""), &old).await;
    assert_eq!(status, StatusCode::OK);
    let retiring_header = |token: &str| {
        let request = app.with_token(token, Method::GET, "/api/v1/tokens");
        async move {
            let response = request.send().await.expect("an answer");
            assert_eq!(response.status(), StatusCode::OK);
            response
                .headers()
                .get("x-keygate-token-retiring")
                .map(|v| v.to_str().unwrap_or_default().to_owned())
        }
    };
    assert_eq!(retiring_header(&old).await.as_deref(), Some("true"));
    let answer = verify_token(&app, &old).await;
    assert_eq!(answer["valid"], true, "{answer}");
    assert_eq!(answer["retiring"], true, "{answer}");
    let page = token_page(&app, &id).await;
    let retiring = &page["retiring_secret"];
    assert_eq!(retiring["working"], true, "{page}");
    assert_eq!(retiring["grace_seconds"], 60);
    assert!(retiring["retires_at"].is_null(), "{page}");
    assert_ne!(retiring["hint"], page["hint"]);

    // Nobody picked the new secret up for an hour: the old one still works.
    app.clock.advance(Duration::hours(1));
    let (status, _) = me_at(&app, &app.url(""), &old).await;
    assert_eq!(status, StatusCode::OK);

    // The new secret's first use starts the grace period.
    let before = app.clock.now();
    let answer = verify_token(&app, &new).await;
    let after = app.clock.now();
    assert_eq!(answer["valid"], true, "{answer}");
    assert!(answer.get("retiring").is_none(), "{answer}");
    let retires = retires_at(&app, &id).await - Duration::seconds(60);
    assert!(
        before <= retires && retires <= after,
        "{before} {retires} {after}"
    );
    assert_eq!(retiring_header(&new).await, None);

    app.clock.advance(Duration::seconds(59));
    let (status, _) = me_at(&app, &app.url(""), &old).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the old secret stopped before its grace ended"
    );
    app.clock.advance(Duration::seconds(2));
    let got = me_at(&app, &app.url(""), &old).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_revoked");
    assert_eq!(verify_token(&app, &old).await["code"], "token_revoked");
    let (status, _) = me_at(&app, &app.url(""), &new).await;
    assert_eq!(status, StatusCode::OK);

    // The old secret's uses are counted on the token's page (written in batches).
    let start = Instant::now();
    loop {
        let page = token_page(&app, &id).await;
        if page["retiring_secret"]["uses"].as_u64() >= Some(3) {
            assert_eq!(page["retiring_secret"]["working"], false, "{page}");
            break;
        }
        assert!(start.elapsed() < StdDuration::from_secs(10), "{page}");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

async fn the_overlap_never_outlasts_seven_days_after_the_rotation(app: TestApp) {
    let (old, id) = fleet_token(&app).await;
    rotate(&app, &id, json!({"grace_seconds": 86_400})).await;
    app.clock.advance(Duration::days(7) - Duration::seconds(1));
    let (status, _) = me_at(&app, &app.url(""), &old).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(Duration::seconds(2));
    let got = me_at(&app, &app.url(""), &old).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_revoked");
}

async fn rotating_again_ends_the_overlap(app: TestApp) {
    let (first, id) = fleet_token(&app).await;
    let second = rotate(&app, &id, json!({"grace_seconds": 3600})).await;
    let (status, _) = me_at(&app, &app.url(""), &first).await;
    assert_eq!(status, StatusCode::OK);
    // Without a body: no grace, as before grace periods existed.
    let (status, rotated) =
        send(app.as_owner(Method::POST, &format!("/api/v1/tokens/{id}/rotate"))).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let third = rotated["token"].as_str().expect("secret");
    app.remember(third);
    let got = me_at(&app, &app.url(""), &first).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_revoked");
    let got = me_at(&app, &app.url(""), &second).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "invalid_token");
    let (status, _) = me_at(&app, &app.url(""), third).await;
    assert_eq!(status, StatusCode::OK);
}

async fn ending_the_overlap_stops_the_old_secret_here_and_on_another_node(app: TestApp) {
    let b: Node = app.second_node().await;
    until_notices_flow(&app, &b).await;
    let (old, id) = fleet_token(&app).await;
    rotate(&app, &id, json!({"grace_seconds": 3600})).await;
    for base in [app.url(""), b.url("")] {
        let (status, _) = me_at(&app, &base, &old).await;
        assert_eq!(status, StatusCode::OK, "{base}");
    }

    let path = format!("/api/v1/tokens/{id}/retiring-secret");
    let (status, ended) = send(app.as_owner(Method::DELETE, &path)).await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["retiring_secret"]["working"], false, "{ended}");
    assert!(!ended["retiring_secret"]["ended_at"].is_null(), "{ended}");
    let got = me_at(&app, &app.url(""), &old).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_revoked");
    let start = Instant::now();
    loop {
        let (status, _) = me_at(&app, &b.url(""), &old).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            start.elapsed() < StdDuration::from_secs(1),
            "the other node still took the old secret after a second"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }

    // Nothing is left to end.
    let got = send(app.as_owner(Method::DELETE, &path)).await;
    assert_error(&got, StatusCode::CONFLICT, "no_overlap");
}

async fn a_grace_longer_than_a_day_is_refused(app: TestApp) {
    let (old, id) = fleet_token(&app).await;
    let path = format!("/api/v1/tokens/{id}/rotate");
    let got = send(
        app.as_owner(Method::POST, &path)
            .json(&json!({"grace_seconds": 86_401})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let got = send(
        app.as_owner(Method::POST, &path)
            .json(&json!({"grace_seconds": -1})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_body");
    // Nothing was rotated.
    let (status, _) = me_at(&app, &app.url(""), &old).await;
    assert_eq!(status, StatusCode::OK);
}

/// A copy of the old secret that someone still holds cannot act once the overlap is over, not even
/// to look at the token or end overlaps.
async fn a_replaced_secret_cannot_be_used_to_end_its_own_overlap_after_it_retired(app: TestApp) {
    let (old, id) = fleet_token(&app).await;
    rotate(&app, &id, json!({"grace_seconds": 5})).await;
    let path = format!("/api/v1/tokens/{id}/retiring-secret");
    let (status, _) = send(app.as_owner(Method::DELETE, &path)).await;
    assert_eq!(status, StatusCode::OK);
    let got = send(app.with_token(&old, Method::GET, &format!("/api/v1/tokens/{id}"))).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_revoked");
    let got = send(app.with_token(&old, Method::DELETE, &path)).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_revoked");

    // Each use of the retired copy is a sign that it still lives somewhere: the instance's log
    // says so, with the address, once a minute at most.
    let (status, log) = send(app.as_owner(
        Method::GET,
        "/api/v1/admin/audit?action=token.retired_secret_used",
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let events = log["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{log}");
    assert_eq!(events[0]["target_id"], id.as_str(), "{log}");
    assert_eq!(events[0]["client_ip"], "127.0.0.1", "{log}");
    assert!(!log.to_string().contains(&old[4..]), "{log}");
}

async fn graphql_rotates_with_a_grace_shows_the_retiring_secret_and_ends_the_overlap(app: TestApp) {
    let (old, id) = fleet_token(&app).await;
    let owner = Some(app.owner.token.as_str());
    let (status, body) = app
        .graphql(
            owner,
            "mutation($id: UUID!) { rotateToken(id: $id, graceSeconds: 600) { secret } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new = body["data"]["rotateToken"]["secret"]
        .as_str()
        .expect("secret");
    app.remember(new);
    let (status, _) = me_at(&app, &app.url(""), &old).await;
    assert_eq!(status, StatusCode::OK);

    let query = "query($id: UUID!) { user { token(id: $id) { hint retiringSecret { hint working graceSeconds retiresAt } } } }";
    let (_, body) = app.graphql(owner, query, json!({"id": id})).await;
    let retiring = &body["data"]["user"]["token"]["retiringSecret"];
    assert_eq!(retiring["working"], true, "{body}");
    assert_eq!(retiring["graceSeconds"], 600, "{body}");
    assert!(retiring["retiresAt"].is_null(), "{body}");

    let ended =
        "mutation($id: UUID!) { endTokenOverlap(id: $id) { retiringSecret { working endedAt } } }";
    let (_, body) = app.graphql(owner, ended, json!({"id": id})).await;
    let retiring = &body["data"]["endTokenOverlap"]["retiringSecret"];
    assert_eq!(retiring["working"], false, "{body}");
    assert!(!retiring["endedAt"].is_null(), "{body}");
    let got = me_at(&app, &app.url(""), &old).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_revoked");
    // Again: nothing left to end.
    let (_, body) = app.graphql(owner, ended, json!({"id": id})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["reason"], "no_overlap",
        "{body}"
    );
}

/// Whoever holds only the old secret (a leaked copy the rotation was meant to shut out) may use
/// it for the overlap, but not turn it into a secret that outlives it.
async fn a_replaced_secret_in_its_overlap_cannot_mint_secrets(app: TestApp) {
    let (old, id) = fleet_token(&app).await;
    let new = rotate(&app, &id, json!({"grace_seconds": 3600})).await;
    let (status, _) = me_at(&app, &app.url(""), &old).await;
    assert_eq!(status, StatusCode::OK);
    let attempts = [
        (
            Method::POST,
            "/api/v1/tokens".to_owned(),
            json!({"name": "mine"}),
        ),
        (
            Method::POST,
            format!("/api/v1/tokens/{id}/rotate"),
            json!({}),
        ),
        (
            Method::POST,
            "/api/v1/auth/personal-token/refresh".to_owned(),
            json!({}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/tokens/{id}/retiring-secret"),
            json!({}),
        ),
        (
            Method::POST,
            "/api/v1/workspaces/acme/api-users".to_owned(),
            json!({"name": "mine", "roles": ["viewer"]}),
        ),
    ];
    for (method, path, body) in attempts {
        let got = send(app.with_token(&old, method.clone(), &path).json(&body)).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
        assert!(
            !got.1.to_string().contains("\"token\":\"kg"),
            "{method} {path}: {}",
            got.1
        );
    }
    let (status, body) = app
        .graphql(
            Some(&old),
            "mutation($id: UUID!) { rotateToken(id: $id) { secret } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"].is_null(), "{body}");
    // The new secret can, and the old one still works for what it may do.
    let (status, _) =
        send(app.with_token(&new, Method::GET, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = me_at(&app, &app.url(""), &old).await;
    assert_eq!(status, StatusCode::OK);
}

/// Another user, holding a token id of someone else's: not found, whatever they ask, and the
/// owner's overlap runs on untouched.
async fn another_users_overlap_cannot_be_seen_started_or_ended(app: TestApp) {
    let (old, id) = fleet_token(&app).await;
    rotate(&app, &id, json!({"grace_seconds": 3600})).await;
    let mallory = app.persona("mallory@example.com", None).await;
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/tokens/{id}"), json!(null)),
        (
            Method::DELETE,
            format!("/api/v1/tokens/{id}/retiring-secret"),
            json!(null),
        ),
        (
            Method::POST,
            format!("/api/v1/tokens/{id}/rotate"),
            json!({"grace_seconds": 60}),
        ),
    ] {
        let got = send(
            app.with_token(&mallory.token, method.clone(), &path)
                .json(&body),
        )
        .await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
    let (_, body) = app
        .graphql(
            Some(&mallory.token),
            "mutation($id: UUID!) { endTokenOverlap(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert!(body["data"].is_null(), "{body}");
    let page = token_page(&app, &id).await;
    assert_eq!(page["retiring_secret"]["working"], true, "{page}");
    let (status, _) = me_at(&app, &app.url(""), &old).await;
    assert_eq!(status, StatusCode::OK);
}

/// A token scoped to less may rotate only itself; it may not end another token's overlap either.
async fn a_scoped_token_cannot_end_another_tokens_overlap(app: TestApp) {
    let (old, id) = fleet_token(&app).await;
    rotate(&app, &id, json!({"grace_seconds": 3600})).await;
    let scoped = app
        .create_token(json!({"name": "narrow", "scope": {"permissions": ["devices:read"]}}))
        .await;
    let narrow = scoped["token"].as_str().expect("secret");
    let path = format!("/api/v1/tokens/{id}/retiring-secret");
    let got = send(app.with_token(narrow, Method::DELETE, &path)).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let (status, _) = me_at(&app, &app.url(""), &old).await;
    assert_eq!(status, StatusCode::OK, "the overlap still runs");
}

/// An invitation's code and a password link both make credentials (an account's personal token,
/// a password to sign in and make tokens with) that would outlive the overlap.
async fn a_replaced_secret_in_its_overlap_cannot_invite_or_make_a_password_link(app: TestApp) {
    let (old, id) = fleet_token(&app).await;
    let new = rotate(&app, &id, json!({"grace_seconds": 3600})).await;
    let invite = json!({"email": "eve@example.com", "roles": ["admin"]});
    let attempts = [
        ("/api/v1/workspaces/acme/members".to_owned(), invite.clone()),
        (
            format!("/api/v1/admin/users/{}/password-link", app.owner.id),
            json!(null),
        ),
    ];
    for (path, body) in attempts {
        let got = send(app.with_token(&old, Method::POST, &path).json(&body)).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
        assert!(got.1.get("code").is_none(), "{path}: {}", got.1);
    }
    let (status, body) = app
        .graphql(
            Some(&old),
            "mutation($input: InviteMemberInput!) { inviteMember(workspace: \"acme\", input: $input) { __typename } }",
            json!({"input": {"email": "eve@example.com", "roles": ["admin"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"].is_null(), "{body}");
    let (_, pending) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/invitations")).await;
    assert_eq!(pending["invitations"], json!([]), "{pending}");
    // The new secret can.
    let (status, body) = send(
        app.with_token(&new, Method::POST, "/api/v1/workspaces/acme/members")
            .json(&invite),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}
