//! The verification cache seen from outside: token use recorded off the request path, cached
//! tokens verifying through a database outage for at most the cache lifetime, and changes taking
//! effect at once on this node and within a second on another.

use std::time::{Duration, Instant};

use keygate_domain::route::RouteRule;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, Node, TestApp, assert_error, backend_tests, fetch, route_rule, send, spawn_app_with,
};

backend_tests!(
    token_use_is_recorded_within_seconds,
    a_verify_keeps_the_last_known_address,
    changes_take_effect_at_once_despite_the_cache,
    a_token_asking_about_names_no_workspace_can_have_gets_nothing_and_keeps_its_answers
);

/// Names that cannot be a slug (too long, upper case) or that name another workspace are each
/// answered on their own: asking about them, however often and in whichever order, gives no
/// rights and does not change the answer about the token's own workspace.
async fn a_token_asking_about_names_no_workspace_can_have_gets_nothing_and_keeps_its_answers(
    app: TestApp,
) {
    let verify = |workspace: &str| {
        app.anonymous(Method::POST, "/api/v1/verify").json(&json!({
            "token": app.owner.token,
            "workspace": workspace,
            "permission": "devices:read",
        }))
    };
    let (_, acme) = send(verify("acme")).await;
    let acme_id = acme["workspace"]["id"].as_str().expect("id").to_owned();
    let huge = "a".repeat(60_000);
    for _ in 0..3 {
        for (name, code) in [
            ("acme", "ok"),
            (huge.as_str(), "not_a_member"),
            ("ACME", "not_a_member"),
            ("acme ", "not_a_member"),
            (acme_id.as_str(), "ok"),
            ("00000000-0000-0000-0000-000000000000", "not_a_member"),
        ] {
            let (status, answer) = send(verify(name)).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            assert_eq!(answer["code"], code, "asked about {:.20}", name);
            if code != "ok" {
                assert!(answer["workspace"].is_null(), "{answer}");
                assert_eq!(answer["valid"], false);
            }
        }
    }
}

#[tokio::test]
async fn a_cached_decision_follows_every_kind_of_change_at_once_here_and_within_a_second_on_another_node_sqlite()
 {
    if let Some(app) = spawn_app_with(Backend::Sqlite, |c| c.route = vec![device_rule()]).await {
        a_cached_decision_follows_every_kind_of_change(app).await;
    }
}

#[tokio::test]
async fn a_cached_decision_follows_every_kind_of_change_at_once_here_and_within_a_second_on_another_node_postgres()
 {
    match spawn_app_with(Backend::Postgres, |c| c.route = vec![device_rule()]).await {
        Some(app) => a_cached_decision_follows_every_kind_of_change(app).await,
        None => eprintln!("skipped: {} is not set", crate::helpers::PG_ENV),
    }
}

/// Forward-auth's rule: reading a device needs `devices:read` on it.
fn device_rule() -> RouteRule {
    let path = "/w/{workspace}/devices/{device}";
    route_rule(
        &["GET"],
        path,
        "devices:read",
        Some("device:{device}"),
        "{workspace}",
    )
}

/// How soon another node must follow a change (SPEC §2, §6).
const PROPAGATION: Duration = Duration::from_secs(1);

/// `verify`'s code for `question` on the server at `url`.
async fn code_at(app: &TestApp, url: String, question: &Value) -> String {
    let (status, answer) = send(app.client.post(url).json(question)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["code"].as_str().expect("code").to_owned()
}

/// Forward-auth's status for `token` reading device `device` of acme, on the server at `base`.
async fn forward_at(app: &TestApp, base: &str, token: &str, device: &str) -> StatusCode {
    fetch(
        app.client
            .get(format!("{base}/auth/forward"))
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Forwarded-Method", "GET")
            .header("X-Forwarded-Uri", format!("/w/acme/devices/{device}")),
    )
    .await
    .status()
}

/// One question asked of both nodes, through `verify` and forward-auth.
struct Case {
    token: String,
    permission: &'static str,
    device: &'static str,
}

impl Case {
    fn question(&self) -> Value {
        json!({
            "token": self.token,
            "workspace": "acme",
            "permission": self.permission,
            "resource": format!("device:{}", self.device),
        })
    }

    /// Asks both nodes (which caches the decision on each) and expects `code` from both.
    async fn both_answer(&self, app: &TestApp, b: &Node, code: &str) {
        for url in [app.url("/api/v1/verify"), b.url("/api/v1/verify")] {
            assert_eq!(code_at(app, url, &self.question()).await, code);
        }
        if self.permission == "devices:read" {
            let expected = forward_status(code);
            for base in [app.url(""), b.url("")] {
                assert_eq!(
                    forward_at(app, &base, &self.token, self.device).await,
                    expected
                );
            }
        }
    }

    /// After a change on the first node: its answer is `code` at once there, and within
    /// [`PROPAGATION`] on `b`.
    async fn follows(&self, app: &TestApp, b: &Node, code: &str) {
        assert_eq!(
            code_at(app, app.url("/api/v1/verify"), &self.question()).await,
            code,
            "at once on the node that made the change"
        );
        if self.permission == "devices:read" {
            let status = forward_at(app, &app.url(""), &self.token, self.device).await;
            assert_eq!(status, forward_status(code));
        }
        let start = Instant::now();
        loop {
            let got = code_at(app, b.url("/api/v1/verify"), &self.question()).await;
            if got == code {
                break;
            }
            assert!(
                start.elapsed() < PROPAGATION,
                "the other node still answers {got} after {:?}",
                start.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if self.permission == "devices:read" {
            let status = forward_at(app, &b.url(""), &self.token, self.device).await;
            assert_eq!(status, forward_status(code));
        }
    }
}

/// What forward-auth answers where `verify` answers `code`.
fn forward_status(code: &str) -> StatusCode {
    match code {
        "ok" => StatusCode::OK,
        "forbidden" | "not_a_member" => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// Waits (bounded) until `b` hears of changes made on the first node: a token revoked there is
/// refused on `b`.
pub(crate) async fn until_notices_flow(app: &TestApp, b: &Node) {
    let created = app.create_token(json!({"name": "probe"})).await;
    let probe = json!({"token": created["token"]});
    assert_eq!(code_at(app, b.url("/api/v1/verify"), &probe).await, "ok");
    let id = created["id"].as_str().expect("id");
    let (status, _) = send(app.as_owner(Method::DELETE, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let start = Instant::now();
    while code_at(app, b.url("/api/v1/verify"), &probe).await != "token_revoked" {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the second node never heard of a change"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every kind of change that takes a right away (or gives one) reaches a decision cached on both
/// nodes: at once on the node that made it, within a second on the other.
async fn a_cached_decision_follows_every_kind_of_change(app: TestApp) {
    let b = app.second_node().await;
    until_notices_flow(&app, &b).await;
    let sensor = app
        .api_user_token("sensor", &["devices:read"], &["device:1", "device:2"])
        .await;
    let (_, described) = send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&json!({"token": sensor})),
    )
    .await;
    let sensor_id = described["user"]["id"].as_str().expect("id").to_owned();
    let mut members = Vec::new();
    for email in ["leaving@example.com", "disabled@example.com"] {
        let persona = app.join(email, &["viewer"]).await;
        members.push(persona);
    }
    let revoked = app.create_token(json!({"name": "revoked"})).await;
    let case = |token: &str, permission, device| Case {
        token: token.to_owned(),
        permission,
        device,
    };

    // A token revoked.
    let c = case(
        revoked["token"].as_str().expect("token"),
        "devices:read",
        "1",
    );
    c.both_answer(&app, &b, "ok").await;
    let id = revoked["id"].as_str().expect("id");
    let (status, _) = send(app.as_owner(Method::DELETE, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    c.follows(&app, &b, "token_revoked").await;

    // A grant removed.
    let c = case(&sensor, "devices:read", "2");
    c.both_answer(&app, &b, "ok").await;
    let (status, body) = send(
        app.as_owner(
            Method::PATCH,
            &format!("/api/v1/workspaces/acme/api-users/{sensor_id}"),
        )
        .json(&json!({"grants": ["device:1"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    c.follows(&app, &b, "forbidden").await;

    // A role edited.
    let c = case(&sensor, "devices:read", "1");
    c.both_answer(&app, &b, "ok").await;
    let (status, body) = send(
        app.as_owner(Method::PUT, "/api/v1/workspaces/acme/roles/sensor")
            .json(&json!({"permissions": ["devices:list"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    c.follows(&app, &b, "forbidden").await;

    // The public role changed: what it gives, every caller has.
    let c = case(&sensor, "devices:write", "1");
    c.both_answer(&app, &b, "forbidden").await;
    let (status, body) = send(
        app.as_owner(Method::PUT, "/api/v1/workspaces/acme/roles/public")
            .json(&json!({"permissions": ["devices:write"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    c.follows(&app, &b, "ok").await;

    // A member removed.
    let c = case(&members[0].token, "devices:read", "1");
    c.both_answer(&app, &b, "ok").await;
    let (status, _) = send(app.as_owner(
        Method::DELETE,
        &format!("/api/v1/workspaces/acme/members/{}", members[0].id),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    c.follows(&app, &b, "not_a_member").await;

    // A user disabled.
    let c = case(&members[1].token, "devices:read", "1");
    c.both_answer(&app, &b, "ok").await;
    let (status, body) = send(app.as_owner(
        Method::POST,
        &format!("/api/v1/admin/users/{}/disable", members[1].id),
    ))
    .await;
    assert!(status.is_success(), "{status} {body}");
    c.follows(&app, &b, "invalid_token").await;
}

async fn token_use_is_recorded_within_seconds(app: TestApp) {
    let created = app.create_token(json!({"name": "used"})).await;
    let id = created["id"].as_str().expect("id");
    let (_, before) = send(app.as_owner(Method::GET, &format!("/api/v1/tokens/{id}"))).await;
    assert!(before["last_used_at"].is_null());
    let (status, _) = app
        .get_as(
            created["token"].as_str().expect("secret"),
            "/api/v1/auth/me",
        )
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
    let viewer = app.join("cached-viewer@example.com", &["viewer"]).await;
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
