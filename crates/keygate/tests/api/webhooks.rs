//! Webhooks: endpoints registered by those who may, deliveries signed as Standard Webhooks and
//! received by a real HTTP listener, retried on schedule, disabled by `410 Gone`, never sent to
//! an internal address the deployment did not allow, and expiry events sent once each.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::http::HeaderMap;
use chrono::Duration;
use keygate_domain::webhook::{decode_secret, sign};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, WebClient, assert_error, backend_tests, error_message, spawn_app_with,
};

/// One request the listener got.
#[derive(Debug, Clone)]
pub struct Received {
    headers: HeaderMap,
    body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// Whether the signature header holds a valid signature under `secret`, as a receiver
    /// checks it.
    pub fn signed_with(&self, secret: &str) -> bool {
        let key = decode_secret(secret).expect("secret");
        let timestamp: i64 = self.header("webhook-timestamp").parse().expect("timestamp");
        let expected = sign(&key, self.header("webhook-id"), timestamp, &self.body);
        self.header("webhook-signature")
            .split(' ')
            .any(|s| s == expected)
    }
}

/// An HTTP listener on a random loopback port that records what it gets and answers with the
/// status it is told.
pub struct Listener {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    /// How long it takes to answer, in milliseconds.
    delay: Arc<AtomicU64>,
}

impl Listener {
    pub async fn start() -> Self {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(200));
        let delay = Arc::new(AtomicU64::new(0));
        let (g, s, d) = (got.clone(), status.clone(), delay.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let (g, s, d) = (g.clone(), s.clone(), d.clone());
                async move {
                    g.lock().expect("lock").push(Received { headers, body });
                    let wait = d.load(Ordering::SeqCst);
                    tokio::time::sleep(StdDuration::from_millis(wait)).await;
                    axum::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).expect("status")
                }
            }),
        );
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", tcp.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(tcp, app).await });
        Listener {
            url,
            got,
            status,
            delay,
        }
    }

    fn answer_after(&self, delay: StdDuration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.delay.store(ms, Ordering::SeqCst);
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }

    /// Waits (up to 10 s) until `n` requests have arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < StdDuration::from_secs(10),
                "expected {n} deliveries, got {}: {got:?}",
                got.len()
            );
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
    }
}

/// An app whose webhooks may reach loopback, where the test's listener is.
async fn spawn_loopback(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |c| {
        c.webhook_allowed_networks = vec!["127.0.0.0/8".parse().expect("net")];
    })
    .await
}

const HOOKS: &str = "/api/v1/workspaces/acme/webhooks";

/// Registers an endpoint in acme for `events`; returns the 201 body (with its secret).
async fn register(app: &TestApp, url: &str, events: &[&str]) -> Value {
    let (status, created) = app
        .owner_call(Method::POST, HOOKS, json!({"url": url, "events": events}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

fn id_of(created: &Value) -> String {
    created["webhook"]["id"].as_str().expect("id").to_owned()
}

async fn deliveries(app: &TestApp, hook: &str) -> Vec<Value> {
    let (status, list) = app
        .owner_call(
            Method::GET,
            &format!("{HOOKS}/{hook}/deliveries"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["deliveries"].as_array().expect("list").clone()
}

/// Waits (up to 10 s) until the endpoint's newest delivery has `status`.
async fn until_delivery(app: &TestApp, hook: &str, status: &str) -> Value {
    let start = Instant::now();
    loop {
        let list = deliveries(app, hook).await;
        if let Some(d) = list.first().filter(|d| d["status"] == status) {
            return d.clone();
        }
        assert!(
            start.elapsed() < StdDuration::from_secs(10),
            "no {status} delivery: {list:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

backend_tests!(
    using super::spawn_loopback:
    a_registered_endpoint_receives_signed_events_of_its_workspace,
    failed_deliveries_are_retried_on_schedule_and_gone_disables_the_endpoint,
    a_rotated_secret_signs_beside_the_new_one,
    a_delivery_can_be_sent_again,
    expiring_and_expired_events_are_sent_once_each,
    instance_endpoints_receive_user_events_and_need_an_instance_admin,
    each_delivery_is_made_by_one_node,
    a_member_without_webhooks_manage_cannot_see_or_register_endpoints,
    another_workspaces_endpoint_is_not_found,
    a_disabled_endpoint_receives_nothing,
    a_slow_endpoint_holds_up_no_other,
);

async fn a_slow_endpoint_holds_up_no_other(app: TestApp) {
    let slow = Listener::start().await;
    slow.answer_after(StdDuration::from_secs(8));
    let fast = Listener::start().await;
    let slow_hook = id_of(&register(&app, &slow.url, &["api_user.created"]).await);
    register(&app, &fast.url, &["api_user.created"]).await;
    app.create_api_user(json!({"name": "first", "roles": ["viewer"]}))
        .await;
    slow.wait_for(1).await;
    // While the slow one still answers the first event, the next reaches the fast one at once.
    app.create_api_user(json!({"name": "second", "roles": ["viewer"]}))
        .await;
    fast.wait_for(2).await;
    // The slow endpoint has not answered the first event yet.
    let slow_list = deliveries(&app, &slow_hook).await;
    assert_eq!(slow_list[1]["status"], "pending", "{slow_list:?}");
    assert!(slow_list[1]["last_attempt_at"].is_null(), "{slow_list:?}");
}

backend_tests!(
    internal_targets_are_refused_unless_allowed,
    no_more_than_twenty_endpoints
);

async fn a_registered_endpoint_receives_signed_events_of_its_workspace(app: TestApp) {
    let listener = Listener::start().await;
    let created = register(&app, &listener.url, &["api_user.created", "token.revoked"]).await;
    let secret = created["secret"].as_str().expect("secret shown once");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let hook = id_of(&created);
    // The secret is shown once: never in the list or the endpoint itself.
    let (_, one) = app
        .owner_call(Method::GET, &format!("{HOOKS}/{hook}"), Value::Null)
        .await;
    let (_, all) = app.owner_call(Method::GET, HOOKS, Value::Null).await;
    for shown in [&one, &all] {
        assert!(!shown.to_string().contains(secret), "{shown}");
    }
    assert_eq!(one["events"], json!(["api_user.created", "token.revoked"]));

    // An event it wants, one it does not (role.created), and one of another workspace.
    app.create_api_user(json!({"name": "sensor-7", "roles": ["viewer"]}))
        .await;
    app.owner_call(
        Method::POST,
        "/api/v1/workspaces/acme/roles",
        json!({"name": "auditor", "permissions": ["audit:read"]}),
    )
    .await;
    let other = app.persona("other@example.com", Some("globex")).await;
    let (status, _) = app
        .call(
            &other.token,
            Method::POST,
            "/api/v1/workspaces/globex/api-users",
            json!({"name": "elsewhere", "roles": ["viewer"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let got = listener.wait_for(1).await;
    let event = &got[0];
    assert!(event.signed_with(secret), "{event:?}");
    assert!(event.header("webhook-id").starts_with("msg_"));
    assert_eq!(event.header("content-type"), "application/json");
    let body = event.json();
    assert_eq!(body["type"], "api_user.created");
    assert_eq!(body["data"]["details"]["name"], "sensor-7");
    assert_eq!(body["data"]["actor"]["label"], "owner@example.com");
    // The timestamp is the attempt's, within a minute of now.
    let timestamp: i64 = event.header("webhook-timestamp").parse().expect("number");
    assert!((timestamp - chrono::Utc::now().timestamp()).abs() < 60);

    let delivered = until_delivery(&app, &hook, "delivered").await;
    assert_eq!(delivered["id"], event.header("webhook-id"));
    assert_eq!(delivered["last_status"], 200);
    assert!(delivered["last_latency_ms"].is_u64(), "{delivered}");
    assert_eq!(delivered["attempts"], 1);
    // Nothing else came: not the role, not globex's API user.
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert_eq!(listener.received().len(), 1, "{:?}", listener.received());
    // A tampered body does not verify.
    let mut forged = event.clone();
    forged.body = forged.body.replace("sensor-7", "sensor-8");
    assert!(!forged.signed_with(secret));
}

async fn failed_deliveries_are_retried_on_schedule_and_gone_disables_the_endpoint(app: TestApp) {
    let listener = Listener::start().await;
    listener.answer(500);
    let created = register(&app, &listener.url, &["api_user.created"]).await;
    let hook = id_of(&created);
    app.create_api_user(json!({"name": "flaky", "roles": ["viewer"]}))
        .await;
    listener.wait_for(1).await;
    let start = Instant::now();
    while deliveries(&app, &hook).await[0]["last_status"] != 500 {
        assert!(start.elapsed() < StdDuration::from_secs(10));
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let failed = deliveries(&app, &hook).await.remove(0);
    assert_eq!(failed["attempts"], 1, "{failed}");
    let next: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(failed["next_attempt_at"].clone()).expect("next attempt");
    let last: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(failed["last_attempt_at"].clone()).expect("last attempt");
    assert_eq!(next - last, Duration::seconds(5), "{failed}");

    // Not before its time; once it is due, delivered (the same webhook-id).
    tokio::time::sleep(StdDuration::from_millis(1000)).await;
    assert_eq!(listener.received().len(), 1);
    listener.answer(204);
    app.clock.advance(Duration::seconds(5));
    let got = listener.wait_for(2).await;
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    let delivered = until_delivery(&app, &hook, "delivered").await;
    assert_eq!(delivered["attempts"], 2);

    // `410 Gone`: no retry, and the endpoint is disabled.
    listener.answer(410);
    app.create_api_user(json!({"name": "gone", "roles": ["viewer"]}))
        .await;
    listener.wait_for(3).await;
    until_delivery(&app, &hook, "failed").await;
    let (_, endpoint) = app
        .owner_call(Method::GET, &format!("{HOOKS}/{hook}"), Value::Null)
        .await;
    assert_eq!(endpoint["enabled"], false, "{endpoint}");
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("410")),
        "{endpoint}"
    );
}

async fn a_rotated_secret_signs_beside_the_new_one(app: TestApp) {
    let listener = Listener::start().await;
    let created = register(&app, &listener.url, &["api_user.created"]).await;
    let hook = id_of(&created);
    let old = created["secret"].as_str().expect("secret").to_owned();
    let (status, rotated) = app
        .owner_call(
            Method::POST,
            &format!("{HOOKS}/{hook}/rotate-secret"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().expect("new secret").to_owned();
    assert_ne!(old, new);
    app.create_api_user(json!({"name": "a", "roles": ["viewer"]}))
        .await;
    let got = listener.wait_for(1).await;
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    assert!(got[0].signed_with(&old) && got[0].signed_with(&new));
    // A day later, only the new one signs.
    app.clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    app.create_api_user(json!({"name": "b", "roles": ["viewer"]}))
        .await;
    let got = listener.wait_for(2).await;
    assert_eq!(got[1].header("webhook-signature").split(' ').count(), 1);
    assert!(got[1].signed_with(&new) && !got[1].signed_with(&old));
}

async fn a_delivery_can_be_sent_again(app: TestApp) {
    let listener = Listener::start().await;
    let created = register(&app, &listener.url, &["api_user.created"]).await;
    let hook = id_of(&created);
    app.create_api_user(json!({"name": "again", "roles": ["viewer"]}))
        .await;
    listener.wait_for(1).await;
    let delivered = until_delivery(&app, &hook, "delivered").await;
    let message = delivered["id"].as_str().expect("id");
    let path = format!("{HOOKS}/{hook}/deliveries/{message}/redeliver");
    let (status, _) = app.owner_call(Method::POST, &path, Value::Null).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let got = listener.wait_for(2).await;
    assert_eq!(got[1].header("webhook-id"), message);
    assert_eq!(got[0].body, got[1].body);
    // An id that is no delivery of this endpoint, and one that is no id at all.
    let unknown = format!(
        "{HOOKS}/{hook}/deliveries/msg_{}/redeliver",
        uuid::Uuid::nil().simple()
    );
    let got = app.owner_call(Method::POST, &unknown, Value::Null).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let junk = format!("{HOOKS}/{hook}/deliveries/nonsense/redeliver");
    let got = app.owner_call(Method::POST, &junk, Value::Null).await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
}

async fn expiring_and_expired_events_are_sent_once_each(app: TestApp) {
    let listener = Listener::start().await;
    register(&app, &listener.url, &["token.expiring", "token.expired"]).await;
    // An API user's token (acme's) that expires in ten days and is in use.
    let created = app
        .create_api_user(json!({"name": "meter", "roles": ["viewer"]}))
        .await;
    let user = created["id"].as_str().expect("id").to_owned();
    let (status, issued) = app
        .owner_call(
            Method::POST,
            &format!("/api/v1/workspaces/acme/api-users/{user}/tokens"),
            json!({"name": "meter-10d", "expires_in_days": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let token = issued["token"].as_str().expect("token").to_owned();
    app.remember(&token);
    let mut expected = Vec::new();
    for (advance_hours, event, horizon) in [
        (0, "token.expiring", 30),
        (4 * 24, "token.expiring", 7),
        (5 * 24 + 12, "token.expiring", 1),
        (24, "token.expired", 0),
    ] {
        app.clock.advance(Duration::hours(advance_hours));
        if event == "token.expiring" {
            // Still in use: used since the last look.
            let (status, _) = app.get_as(&token, "/api/v1/auth/me").await;
            assert_eq!(status, StatusCode::OK);
            app.keygate.flush_usage().await;
        }
        assert_eq!(app.keygate.note_expiring_tokens().await.expect("scan"), 1);
        // Looking again sends nothing more.
        assert_eq!(app.keygate.note_expiring_tokens().await.expect("scan"), 0);
        expected.push((event, horizon));
        let got = listener.wait_for(expected.len()).await;
        let body = got.last().expect("event").json();
        assert_eq!(body["type"], event, "{body}");
        assert_eq!(body["data"]["details"]["horizon_days"], horizon, "{body}");
        assert_eq!(body["data"]["details"]["in_use"], true, "{body}");
        assert_eq!(body["data"]["details"]["name"], "meter-10d", "{body}");
    }
    assert!(!listener.received().iter().any(|r| r.body.contains(&token)));
}

async fn instance_endpoints_receive_user_events_and_need_an_instance_admin(app: TestApp) {
    let listener = Listener::start().await;
    // Instance events are for instance-wide endpoints only.
    let got = app
        .owner_call(
            Method::POST,
            HOOKS,
            json!({"url": listener.url, "events": ["user.created"]}),
        )
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let (status, created) = app
        .owner_call(
            Method::POST,
            "/api/v1/admin/webhooks",
            json!({"url": listener.url, "events": ["user.created", "api_user.created"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let user = app
        .admin_create_user(json!({"email": "new@example.com"}))
        .await;
    let plain = user["personal_token"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    // Every workspace's events reach it too.
    app.create_api_user(json!({"name": "anywhere", "roles": ["viewer"]}))
        .await;
    let got = listener.wait_for(2).await;
    let mut types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().expect("type").to_owned())
        .collect();
    types.sort();
    assert_eq!(types, ["api_user.created", "user.created"]);
    assert!(got.iter().all(|r| r.signed_with(&secret)));
    // A user who is no instance admin may not list, register or read them.
    let hook = created["webhook"]["id"].as_str().expect("id");
    for (method, path) in [
        (Method::GET, "/api/v1/admin/webhooks".to_owned()),
        (Method::GET, format!("/api/v1/admin/webhooks/{hook}")),
        (Method::DELETE, format!("/api/v1/admin/webhooks/{hook}")),
        (
            Method::GET,
            format!("/api/v1/admin/webhooks/{hook}/deliveries"),
        ),
    ] {
        let got = app.call(&plain, method, &path, Value::Null).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    }
    let got = app
        .call(
            &plain,
            Method::POST,
            "/api/v1/admin/webhooks",
            json!({"url": listener.url, "events": ["user.created"]}),
        )
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    // A workspace's endpoint is not reachable as an instance one.
    let ws_hook = id_of(&register(&app, &listener.url, &["token.revoked"]).await);
    let got = app
        .owner_call(
            Method::GET,
            &format!("/api/v1/admin/webhooks/{ws_hook}"),
            Value::Null,
        )
        .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn each_delivery_is_made_by_one_node(app: TestApp) {
    let listener = Listener::start().await;
    register(&app, &listener.url, &["api_user.created"]).await;
    let _second = app.second_node().await;
    let _third = app.second_node().await;
    for i in 0..12 {
        app.create_api_user(json!({"name": format!("node-{i}"), "roles": ["viewer"]}))
            .await;
    }
    listener.wait_for(12).await;
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    let got = listener.received();
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 12);
    assert_eq!(got.len(), 12, "some delivery was made twice");
}

async fn a_member_without_webhooks_manage_cannot_see_or_register_endpoints(app: TestApp) {
    let listener = Listener::start().await;
    let hook = id_of(&register(&app, &listener.url, &["token.revoked"]).await);
    let member = app.join("member@example.com", &["member"]).await;
    let paths = [
        (Method::GET, HOOKS.to_owned()),
        (Method::GET, format!("{HOOKS}/{hook}")),
        (Method::PATCH, format!("{HOOKS}/{hook}")),
        (Method::DELETE, format!("{HOOKS}/{hook}")),
        (Method::POST, format!("{HOOKS}/{hook}/rotate-secret")),
        (Method::GET, format!("{HOOKS}/{hook}/deliveries")),
    ];
    for (method, path) in &paths {
        let got = app
            .call(&member.token, method.clone(), path, json!({}))
            .await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
        assert!(error_message(&got).contains("webhooks:manage"), "{}", got.1);
    }
    let got = app
        .call(
            &member.token,
            Method::POST,
            HOOKS,
            json!({"url": listener.url, "events": ["token.revoked"]}),
        )
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    // `webhooks:manage` alone is not enough: deliveries carry audit entries, so `audit:read`
    // is needed too; with both, the endpoints are theirs to manage.
    let hooks_only = app.api_user_token("hooks", &["webhooks:manage"], &[]).await;
    let got = app.get_as(&hooks_only, HOOKS).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    assert!(error_message(&got).contains("audit:read"), "{}", got.1);
    let got = app
        .call(
            &hooks_only,
            Method::POST,
            HOOKS,
            json!({"url": listener.url, "events": ["member.joined"]}),
        )
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let manager = app
        .api_user_token("hooks-and-audit", &["webhooks:manage", "audit:read"], &[])
        .await;
    let (status, list) = app.get_as(&manager, HOOKS).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    // The endpoint's secret does not come back through a rotation by someone who cannot.
    let got = app
        .call(
            &member.token,
            Method::POST,
            &format!("{HOOKS}/{hook}/rotate-secret"),
            Value::Null,
        )
        .await;
    assert!(!got.1.to_string().contains("whsec_"));
}

async fn no_more_than_twenty_endpoints(app: TestApp) {
    for i in 0..20 {
        register(
            &app,
            &format!("http://1.1.1.1/hook/{i}"),
            &["token.revoked"],
        )
        .await;
    }
    let got = app
        .owner_call(
            Method::POST,
            HOOKS,
            json!({"url": "http://1.1.1.1/hook/20", "events": ["token.revoked"]}),
        )
        .await;
    assert_error(&got, StatusCode::CONFLICT, "too_many_webhooks");
}

async fn another_workspaces_endpoint_is_not_found(app: TestApp) {
    let listener = Listener::start().await;
    let hook = id_of(&register(&app, &listener.url, &["token.revoked"]).await);
    let other = app.persona("other@example.com", Some("globex")).await;
    let theirs = "/api/v1/workspaces/globex/webhooks";
    for (method, path) in [
        (Method::GET, format!("{theirs}/{hook}")),
        (Method::PATCH, format!("{theirs}/{hook}")),
        (Method::DELETE, format!("{theirs}/{hook}")),
        (Method::POST, format!("{theirs}/{hook}/rotate-secret")),
        (Method::GET, format!("{theirs}/{hook}/deliveries")),
    ] {
        let got = app.call(&other.token, method, &path, json!({})).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
    // And acme's own paths are not theirs to use.
    let got = app
        .call(
            &other.token,
            Method::GET,
            &format!("{HOOKS}/{hook}"),
            Value::Null,
        )
        .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (_, list) = app.get_as(&other.token, theirs).await;
    assert_eq!(list["webhooks"], json!([]));
}

async fn a_disabled_endpoint_receives_nothing(app: TestApp) {
    let listener = Listener::start().await;
    let hook = id_of(&register(&app, &listener.url, &["api_user.created"]).await);
    let (status, patched) = app
        .owner_call(
            Method::PATCH,
            &format!("{HOOKS}/{hook}"),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["enabled"], false);
    app.create_api_user(json!({"name": "quiet", "roles": ["viewer"]}))
        .await;
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert!(listener.received().is_empty());
    assert!(deliveries(&app, &hook).await.is_empty());
    // Enabled again, it receives what happens next.
    app.owner_call(
        Method::PATCH,
        &format!("{HOOKS}/{hook}"),
        json!({"enabled": true, "events": ["api_user.created", "token.revoked"]}),
    )
    .await;
    app.create_api_user(json!({"name": "loud", "roles": ["viewer"]}))
        .await;
    listener.wait_for(1).await;
}

async fn internal_targets_are_refused_unless_allowed(app: TestApp) {
    let register = |url: &str, events: &Value| {
        app.owner_call(Method::POST, HOOKS, json!({"url": url, "events": events}))
    };
    let revoked = json!(["token.revoked"]);
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.1.1/hook",
    ] {
        let got = register(url, &revoked).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert!(error_message(&got).contains("internal"), "{url}: {}", got.1);
    }
    for url in [
        "ftp://example.com/hook",
        "https://user:secret@example.com/hook",
        "not a url",
        "file:///etc/passwd",
    ] {
        let got = register(url, &revoked).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    }
    let long = format!("https://example.com/{}", "a".repeat(3000));
    let got = register(&long, &revoked).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    for events in [json!([]), json!(["role.created"]), json!(["user.created"])] {
        let got = register("http://1.1.1.1/hook", &events).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    }
    // Nothing was registered.
    let (_, list) = app.owner_call(Method::GET, HOOKS, Value::Null).await;
    assert_eq!(list["webhooks"], json!([]));
}

backend_tests!(using super::spawn_loopback: graphql_registers_lists_and_deletes_endpoints);

async fn graphql_registers_lists_and_deletes_endpoints(app: TestApp) {
    let listener = Listener::start().await;
    let create = "mutation($url: String!) { createWebhook(workspace: \"acme\", \
                  input: {url: $url, events: [\"api_user.created\"]}) { secret webhook { id enabled events } } }";
    let (status, created) = app
        .graphql(Some(&app.owner.token), create, json!({"url": listener.url}))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let made = &created["data"]["createWebhook"];
    let secret = made["secret"].as_str().expect("secret").to_owned();
    let id = made["webhook"]["id"].as_str().expect("id").to_owned();
    assert_eq!(made["webhook"]["events"], json!(["api_user.created"]));
    app.create_api_user(json!({"name": "via-graphql", "roles": ["viewer"]}))
        .await;
    let got = listener.wait_for(1).await;
    assert!(got[0].signed_with(&secret));
    until_delivery(&app, &id, "delivered").await;

    let list = "query($id: UUID!) { workspace(slug: \"acme\") { webhooks { id url } \
                webhookDeliveries(webhook: $id) { id event status lastStatus } } }";
    let (_, listed) = app
        .graphql(Some(&app.owner.token), list, json!({"id": id}))
        .await;
    let ws = &listed["data"]["workspace"];
    assert_eq!(ws["webhooks"][0]["id"], id.as_str(), "{listed}");
    assert!(!listed.to_string().contains(&secret));
    assert_eq!(
        ws["webhookDeliveries"][0]["status"], "delivered",
        "{listed}"
    );
    assert_eq!(ws["webhookDeliveries"][0]["lastStatus"], 200, "{listed}");

    // A member without `webhooks:manage` gets an error, not the list.
    let member = app.join("member@example.com", &["member"]).await;
    let (_, refused) = app
        .graphql(Some(&member.token), list, json!({"id": id}))
        .await;
    assert!(refused["errors"].is_array(), "{refused}");
    assert!(!refused.to_string().contains(&listener.url), "{refused}");

    let delete = "mutation($id: UUID!) { deleteWebhook(workspace: \"acme\", webhook: $id) }";
    let (_, deleted) = app
        .graphql(Some(&app.owner.token), delete, json!({"id": id}))
        .await;
    assert_eq!(deleted["data"]["deleteWebhook"], true, "{deleted}");
}

backend_tests!(
    using crate::helpers::spawn_web_app:
    the_webhook_pages_refuse_a_member_without_webhooks_manage
);

async fn the_webhook_pages_refuse_a_member_without_webhooks_manage(app: TestApp) {
    let hook = id_of(&register(&app, "http://1.1.1.1/hook", &["token.revoked"]).await);
    let member = app
        .persona_with_password("viewer@example.com", None, Some("a viewer's long password"))
        .await;
    let invite = json!({"email": "viewer@example.com", "roles": ["member"]});
    app.add_member(&app.owner.token, "acme", invite, &member)
        .await;
    let web = WebClient::new(&app);
    let page = web
        .sign_in("viewer@example.com", "a viewer's long password")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    for path in [
        "/w/acme/webhooks".to_owned(),
        format!("/w/acme/webhooks/{hook}"),
    ] {
        let page = web.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!page.body.contains("1.1.1.1"), "{path}: {}", page.body);
    }
    // A form posted with the page's CSRF token (from a page the member may open) is refused too.
    let csrf = web.get("/tokens").await.csrf().expect("csrf");
    for path in [
        "/w/acme/webhooks".to_owned(),
        format!("/w/acme/webhooks/{hook}/rotate"),
        format!("/w/acme/webhooks/{hook}/delete"),
    ] {
        let page = web
            .post(
                &path,
                &[
                    ("_csrf", csrf.as_str()),
                    ("url", "http://1.1.1.1/other"),
                    ("events", "token.revoked"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
        assert!(!page.body.contains("whsec_"), "{path}");
    }
    let (_, list) = app.owner_call(Method::GET, HOOKS, Value::Null).await;
    assert_eq!(list["webhooks"].as_array().map(Vec::len), Some(1));
}

backend_tests!(using super::spawn_loopback: graphql_instance_webhooks_are_for_instance_admins);

async fn graphql_instance_webhooks_are_for_instance_admins(app: TestApp) {
    let listener = Listener::start().await;
    let create = "mutation($url: String!) { createWebhook(input: {url: $url, \
                  events: [\"user.created\"]}) { secret webhook { id workspaceId } } }";
    let (_, created) = app
        .graphql(Some(&app.owner.token), create, json!({"url": listener.url}))
        .await;
    let made = &created["data"]["createWebhook"];
    assert!(made["webhook"]["workspaceId"].is_null(), "{created}");
    let secret = made["secret"].as_str().expect("secret").to_owned();
    let user = app
        .admin_create_user(json!({"email": "plain@example.com"}))
        .await;
    let plain = user["personal_token"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let got = listener.wait_for(1).await;
    assert!(got[0].signed_with(&secret));
    assert_eq!(got[0].json()["type"], "user.created");

    let list = "{ instanceWebhooks { id url } }";
    let (_, listed) = app.graphql(Some(&app.owner.token), list, Value::Null).await;
    assert_eq!(
        listed["data"]["instanceWebhooks"][0]["url"],
        listener.url.as_str()
    );
    // Someone who is no instance admin: an error, nothing listed, nothing made.
    let (_, refused) = app.graphql(Some(&plain), list, Value::Null).await;
    assert!(refused["errors"].is_array(), "{refused}");
    assert!(!refused.to_string().contains(&listener.url), "{refused}");
    let (_, refused) = app
        .graphql(Some(&plain), create, json!({"url": listener.url}))
        .await;
    assert!(refused["errors"].is_array(), "{refused}");
    let (_, listed) = app.graphql(Some(&app.owner.token), list, Value::Null).await;
    assert_eq!(
        listed["data"]["instanceWebhooks"].as_array().map(Vec::len),
        Some(1)
    );
}

backend_tests!(using super::spawn_loopback: members_joining_and_leaving_and_a_leaked_token_are_sent);

async fn members_joining_and_leaving_and_a_leaked_token_are_sent(app: TestApp) {
    let listener = Listener::start().await;
    let secret = register(
        &app,
        &listener.url,
        &["member.joined", "member.removed", "token.leaked"],
    )
    .await["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let person = app.join("joiner@example.com", &["viewer"]).await;
    let (status, _) = app
        .owner_call(
            Method::DELETE,
            &format!("/api/v1/workspaces/acme/members/{}", person.id),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let created = app
        .create_api_user(json!({"name": "pasted", "roles": ["viewer"]}))
        .await;
    let token = created["token"]["token"].as_str().expect("token");
    let (status, _) = crate::helpers::send(
        app.anonymous(Method::POST, "/api/v1/tokens/revoke")
            .json(&json!({"token": token})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let got = listener.wait_for(3).await;
    // Deliveries are made side by side: in any order.
    let mut types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().expect("type").to_owned())
        .collect();
    types.sort();
    assert_eq!(types, ["member.joined", "member.removed", "token.leaked"]);
    assert!(got.iter().all(|r| r.signed_with(&secret)));
    let leaked = got
        .iter()
        .find(|r| r.json()["type"] == "token.leaked")
        .expect("token.leaked");
    assert_eq!(leaked.json()["data"]["details"]["reporter"], "holder");
    assert!(!leaked.body.contains(token));
}
