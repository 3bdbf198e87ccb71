//! The client layer against a small stand-in for Keygate's `POST /api/v1/verify` on a random port:
//! it counts calls (to prove the cache), records the questions, and can fail on demand (to prove
//! that the layer fails closed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keygate_client::{
    Guard, Identity, PresentedToken, Require, Requirement, Verifier, VerifierBuilder,
};
use keygate_testkit::{capture_logs, captured_logs};
use serde_json::{Value, json};

const USER_ID: &str = "0190f5a6-0000-7000-8000-0000000000a1";
const TOKEN_ID: &str = "0190f5a6-3c1e-7b7a-9a52-6f1d2c3b4a59";
const WORKSPACE_ID: &str = "0190f5a6-0000-7000-8000-000000000001";
/// A token the fake knows; also searched for in every answer, where it must never appear.
const GOOD: &str = "kgt_good0000000000000000000000000000";

/// How the fake answers.
const DECIDE: u8 = 0;
const FAIL_500: u8 = 1;
const GARBAGE: u8 = 2;
const SLOW: u8 = 3;
const REFUSE_QUESTION: u8 = 4;
const TOO_LARGE: u8 = 5;

#[derive(Default)]
struct Fake {
    calls: AtomicUsize,
    mode: AtomicU8,
    questions: std::sync::Mutex<Vec<Value>>,
}

impl Fake {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }
}

fn refusal(code: &str, missing: Option<&str>) -> Value {
    json!({"valid": false, "code": code, "missing": missing, "user": null, "workspace": null,
           "workspaces": [], "token_id": null, "permissions": [], "expires_at": null})
}

/// Keygate's rules in miniature: `GOOD` holds `devices:read` and `measurements:write` on
/// `device:abc` in `acme`; `kgt_revoked…` is revoked, `kgt_stranger…` is no member; anonymous
/// callers may read `device:demo`.
async fn verify(State(fake): State<Arc<Fake>>, Json(q): Json<Value>) -> Response {
    fake.calls.fetch_add(1, Ordering::SeqCst);
    fake.questions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(q.clone());
    match fake.mode.load(Ordering::SeqCst) {
        FAIL_500 => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": {"code": "internal", "message": "internal error"}})),
            )
                .into_response();
        }
        GARBAGE => return (StatusCode::OK, "<html>not a decision</html>").into_response(),
        TOO_LARGE => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        SLOW => tokio::time::sleep(Duration::from_secs(3)).await,
        REFUSE_QUESTION => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {"code": "invalid_input", "message": "permission: not of the form area:action"}})),
            )
                .into_response();
        }
        _ => {}
    }
    let permission = q["permission"].as_str().unwrap_or_default();
    let resource = q["resource"].as_str();
    let answer = match q["token"].as_str() {
        None if resource == Some("device:demo") && permission == "devices:read" => {
            json!({"valid": true, "code": "ok", "user": null, "workspace": null, "workspaces": [],
                   "token_id": null, "permissions": ["devices:read"], "expires_at": null})
        }
        None => refusal("forbidden", Some(permission)),
        Some(t) if t.starts_with("kgt_revoked") => refusal("token_revoked", None),
        Some(t) if t.starts_with("kgt_stranger") => refusal("not_a_member", None),
        Some(t) if t.starts_with("kgt_elsewhere") => refusal("ip_not_allowed", None),
        Some(t) if t.starts_with("kgt_metered") => {
            let mut answer = refusal("rate_limited", None);
            answer["rate_limit"] = json!({"limit": 100, "remaining": 0, "reset": 42});
            answer
        }
        Some(GOOD) if q["workspace"] != "acme" => refusal("not_a_member", None),
        Some(GOOD) if !["devices:read", "measurements:write"].contains(&permission) => {
            refusal("forbidden", Some(permission))
        }
        Some(GOOD) if resource.is_some_and(|r| r != "device:abc") => refusal("forbidden", resource),
        Some(GOOD) => json!({
            "valid": true, "code": "ok",
            "user": {"id": USER_ID, "kind": "api", "email": null, "display_name": "gateway",
                     "is_instance_admin": false, "created_at": "2025-01-15T10:00:00Z"},
            "workspace": {"id": WORKSPACE_ID, "slug": "acme", "name": "Acme",
                          "created_at": "2025-01-01T09:00:00Z", "updated_at": "2025-01-01T09:00:00Z"},
            "workspaces": [],
            "token_id": TOKEN_ID,
            "permissions": ["devices:read", "measurements:write"],
            "expires_at": null,
            "a_field_from_a_later_version": true
        }),
        Some(_) => refusal("invalid_token", None),
    };
    Json(answer).into_response()
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a random port");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

async fn spawn_fake() -> (String, Arc<Fake>) {
    capture_logs();
    let fake = Arc::new(Fake::default());
    let router = Router::new()
        .route("/api/v1/verify", post(verify))
        .with_state(fake.clone());
    (format!("http://{}", serve(router).await), fake)
}

async fn whoami(identity: Identity) -> Json<Value> {
    Json(json!({
        "user": identity.user_id(),
        "name": identity.user.as_ref().map(|u| u.display_name.clone()),
        "workspace": identity.workspace.as_ref().map(|w| w.slug.clone()),
        "token_id": identity.token_id,
        "permissions": identity.permissions,
        "anonymous": identity.is_anonymous(),
    }))
}

struct WriteMeasurements;
impl Requirement for WriteMeasurements {
    const PERMISSION: &'static str = "measurements:write";
    const RESOURCE: Option<&'static str> = Some("device:{id}");
}

async fn write(Require(identity, _): Require<WriteMeasurements>) -> StatusCode {
    assert!(!identity.is_anonymous());
    StatusCode::CREATED
}

async fn token_kind(token: PresentedToken) -> String {
    format!("{token:?}")
}

/// An API guarded through `verifier`, as an application would write it.
async fn spawn_guarded(verifier: Verifier) -> String {
    let read = Guard::new(verifier.clone(), "devices:read").resource("device:{id}");
    let delete = Guard::new(verifier.clone(), "devices:delete").resource("device:{id}");
    let router = Router::new()
        .route(
            "/devices/{id}",
            get(whoami)
                .route_layer(read)
                .merge(axum::routing::delete(whoami).route_layer(delete)),
        )
        .route(
            "/w/{ws}/devices/{id}",
            get(whoami).route_layer(
                Guard::new(verifier.clone(), "devices:read")
                    .workspace("{ws}")
                    .resource_with(|p| p.get("id").map(|id| format!("device:{id}"))),
            ),
        )
        .route("/devices/{id}/measurements", post(write))
        // A guard on the handler itself.
        .route(
            "/handler/{id}",
            get(whoami.layer(Guard::new(verifier.clone(), "devices:read").resource("device:{id}"))),
        )
        .route(
            "/broken/{id}",
            get(whoami).route_layer(
                Guard::new(verifier.clone(), "devices:read").resource("device:{nope}"),
            ),
        )
        .route("/unguarded", get(whoami))
        .route("/token", get(token_kind))
        .with_state(verifier);
    format!("http://{}", serve(router).await)
}

fn verifier(base: &str) -> Verifier {
    verifier_with(base, |b| b)
}

/// A verifier for workspace `acme` at `base`, with the builder adjusted by `tune` first.
fn verifier_with(base: &str, tune: impl FnOnce(VerifierBuilder) -> VerifierBuilder) -> Verifier {
    tune(Verifier::builder(base).workspace("acme"))
        .build()
        .expect("verifier")
}

async fn call(request: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.expect("the guarded API answers");
    let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    assert!(!text.contains(GOOD), "an answer shows the token: {text}");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

#[track_caller]
fn assert_error(got: &(StatusCode, reqwest::header::HeaderMap, Value), status: u16, code: &str) {
    assert_eq!(got.0.as_u16(), status, "{}", got.2);
    assert_eq!(got.2["error"]["code"], code, "{}", got.2);
    assert!(
        got.2["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        got.2
    );
}

#[tokio::test]
async fn an_allowed_request_reaches_the_handler_with_the_identity() {
    let (base, fake) = spawn_fake().await;
    let api = spawn_guarded(verifier(&base)).await;
    let http = reqwest::Client::new();
    for (name, value) in [
        ("Authorization", format!("Token {GOOD}")),
        ("Authorization", format!("bearer {GOOD}")),
        ("API-KEY", GOOD.to_owned()),
        ("api-key", GOOD.to_owned()),
        ("X-API-Key", GOOD.to_owned()),
    ] {
        let (status, _, body) =
            call(http.get(format!("{api}/devices/abc")).header(name, value)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert_eq!(body["user"], USER_ID);
        assert_eq!(body["name"], "gateway");
        assert_eq!(body["workspace"], "acme");
        assert_eq!(body["token_id"], TOKEN_ID);
        assert_eq!(
            body["permissions"],
            json!(["devices:read", "measurements:write"])
        );
        assert_eq!(body["anonymous"], false);
    }
    // Keygate was asked exactly the route's question (once: the other transports hit the cache).
    assert_eq!(fake.calls(), 1);
    let questions = fake
        .questions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    assert_eq!(
        questions,
        vec![
            json!({"token": GOOD, "workspace": "acme", "permission": "devices:read", "resource": "device:abc"})
        ]
    );

    // Workspace and resource from the path, through a template and a closure.
    let (status, _, body) = call(
        http.get(format!("{api}/w/acme/devices/abc"))
            .header("X-API-Key", GOOD),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = call(
        http.get(format!("{api}/w/other/devices/abc"))
            .header("X-API-Key", GOOD),
    )
    .await;
    assert_error(&got, 403, "forbidden");
    assert_eq!(got.2["error"]["message"], "not a member of this workspace");

    // A guard on a handler reads the same path parameters.
    let (status, _, body) = call(
        http.get(format!("{api}/handler/abc"))
            .header("X-API-Key", GOOD),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"], USER_ID);
    let got = call(
        http.get(format!("{api}/handler/xyz"))
            .header("X-API-Key", GOOD),
    )
    .await;
    assert_error(&got, 403, "forbidden");

    // The extractor asks for its requirement itself.
    let (status, _, body) = call(
        http.post(format!("{api}/devices/abc/measurements"))
            .header("Authorization", format!("Token {GOOD}")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let got = call(
        http.post(format!("{api}/devices/xyz/measurements"))
            .header("Authorization", format!("Token {GOOD}")),
    )
    .await;
    assert_error(&got, 403, "forbidden");
}

#[tokio::test]
async fn refusals_answer_like_keygate() {
    let (base, fake) = spawn_fake().await;
    let api = spawn_guarded(verifier(&base)).await;
    let http = reqwest::Client::new();
    let token = |t: &str| format!("Token {t}");
    let good = |request: reqwest::RequestBuilder| request.header("Authorization", token(GOOD));

    // A permission the token lacks: 403 naming it.
    let got = call(good(http.delete(format!("{api}/devices/abc")))).await;
    assert_error(&got, 403, "forbidden");
    assert_eq!(got.2["error"]["permission"], "devices:delete");
    assert_eq!(
        got.2["error"]["message"],
        "missing permission `devices:delete`"
    );

    // A resource outside the token's grants: 403 naming the resource, no `permission` field.
    let got = call(good(http.get(format!("{api}/devices/xyz")))).await;
    assert_error(&got, 403, "forbidden");
    assert_eq!(got.2["error"]["message"], "missing `device:xyz`");
    assert!(got.2["error"].get("permission").is_none(), "{}", got.2);

    // Unknown and revoked tokens: 401 with the invalid_token challenge.
    for (t, code) in [
        ("kgt_nobody", "invalid_token"),
        ("kgt_revoked", "token_revoked"),
    ] {
        let got = call(
            http.get(format!("{api}/devices/abc"))
                .header("Authorization", token(t)),
        )
        .await;
        assert_error(&got, 401, code);
        assert_eq!(
            got.1["www-authenticate"],
            r#"Token realm="keygate", error="invalid_token""#
        );
    }

    // Not a member: 403.
    let got = call(
        http.get(format!("{api}/devices/abc"))
            .header("X-API-Key", "kgt_stranger"),
    )
    .await;
    assert_error(&got, 403, "forbidden");

    // Held to other addresses: 403 ip_not_allowed; past a rate limit: 429 with its headers.
    let got = call(
        http.get(format!("{api}/devices/abc"))
            .header("X-API-Key", "kgt_elsewhere"),
    )
    .await;
    assert_error(&got, 403, "ip_not_allowed");
    let got = call(
        http.get(format!("{api}/devices/abc"))
            .header("X-API-Key", "kgt_metered"),
    )
    .await;
    assert_error(&got, 429, "rate_limited");
    for (name, value) in [
        ("retry-after", "42"),
        ("ratelimit-limit", "100"),
        ("ratelimit-remaining", "0"),
        ("ratelimit-reset", "42"),
    ] {
        assert_eq!(got.1[name], value, "{name}");
    }

    // Anonymous: the public role decides; refused, the caller is asked for a token.
    let (status, _, body) = call(http.get(format!("{api}/devices/demo"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["anonymous"], true);
    assert_eq!(body["user"], Value::Null);
    let got = call(http.get(format!("{api}/devices/abc"))).await;
    assert_error(&got, 401, "unauthenticated");
    assert_eq!(got.1["www-authenticate"], r#"Token realm="keygate""#);

    // Transport errors are refused before Keygate is asked.
    let before = fake.calls();
    let got = call(
        http.get(format!("{api}/devices/abc"))
            .header("Authorization", token(GOOD))
            .header("X-API-Key", "kgt_other"),
    )
    .await;
    assert_error(&got, 400, "conflicting_tokens");
    let got = call(
        http.get(format!("{api}/devices/abc"))
            .header("Authorization", "Basic dTpw"),
    )
    .await;
    assert_error(&got, 400, "invalid_request");
    let got = call(http.get(format!("{api}/devices/abc?api_token={GOOD}"))).await;
    assert_error(&got, 400, "query_token_not_allowed");
    assert_eq!(fake.calls(), before);

    // A guard naming a parameter its route lacks, and a handler that wants an identity without
    // a guard: 500, said plainly.
    let got = call(
        http.get(format!("{api}/broken/abc"))
            .header("X-API-Key", GOOD),
    )
    .await;
    assert_error(&got, 500, "guard_misconfigured");
    assert!(
        got.2["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("{nope}"))
    );
    let got = call(http.get(format!("{api}/unguarded"))).await;
    assert_error(&got, 500, "guard_misconfigured");

    // A handler can read the token for questions of its own; its Debug hides it.
    let (_, _, body) = call(http.get(format!("{api}/token")).header("X-API-Key", GOOD)).await;
    assert_eq!(body, "PresentedToken(Some(\"<redacted>\"))");
}

#[tokio::test]
async fn answers_are_cached_for_the_ttl_and_then_asked_again() {
    let (base, fake) = spawn_fake().await;
    let cached = verifier_with(&base, |b| b.cache_ttl(Duration::from_millis(300)));
    let api = spawn_guarded(cached).await;
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{api}{path}"))
            .header("Authorization", format!("Token {GOOD}"))
    };

    for _ in 0..5 {
        assert_eq!(call(get("/devices/abc")).await.0, StatusCode::OK);
    }
    assert_eq!(fake.calls(), 1, "five identical questions, one call");
    // Refusals are cached too; a different question is a different entry.
    for _ in 0..3 {
        assert_eq!(call(get("/devices/xyz")).await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(fake.calls(), 2);
    // Anonymous and token questions never share an entry.
    assert_eq!(
        call(http.get(format!("{api}/devices/abc"))).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(fake.calls(), 3);

    // Concurrent identical misses share one call.
    let (base, fake) = spawn_fake().await;
    let v = verifier(&base);
    let question = keygate_client::Question {
        token: Some(GOOD),
        permission: Some("devices:read"),
        resource: Some("device:abc"),
        ..Default::default()
    };
    let answers = futures_join(&v, question, 8).await;
    assert!(answers.iter().all(|ok| *ok));
    assert_eq!(fake.calls(), 1);
}

async fn futures_join(v: &Verifier, q: keygate_client::Question<'static>, n: usize) -> Vec<bool> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let v = v.clone();
        tasks.push(tokio::spawn(
            async move { v.allows(q).await.expect("decision") },
        ));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn a_cached_answer_expires_after_its_ttl() {
    let (base, fake) = spawn_fake().await;
    let v = verifier_with(&base, |b| b.cache_ttl(Duration::from_millis(200)));
    let q = keygate_client::Question {
        token: Some(GOOD),
        permission: Some("devices:read"),
        ..Default::default()
    };
    assert!(v.allows(q).await.expect("decision"));
    assert!(v.allows(q).await.expect("decision"));
    assert_eq!(fake.calls(), 1);
    // Well past the lifetime, the question goes to Keygate again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(v.allows(q).await.expect("decision"));
    assert_eq!(fake.calls(), 2);

    // With the cache off, every question is asked.
    let off = verifier_with(&base, |b| b.cache_ttl(Duration::ZERO));
    for _ in 0..3 {
        assert!(off.allows(q).await.expect("decision"));
    }
    assert_eq!(fake.calls(), 5);
}

#[tokio::test]
async fn an_unavailable_keygate_fails_closed_and_is_not_cached() {
    let (base, fake) = spawn_fake().await;
    let http = reqwest::Client::new();
    let v = verifier_with(&base, |b| b.timeout(Duration::from_millis(300)));
    let api = spawn_guarded(v).await;
    let get = || {
        http.get(format!("{api}/devices/abc"))
            .header("Authorization", format!("Token {GOOD}"))
    };

    for mode in [FAIL_500, GARBAGE, SLOW] {
        fake.set(mode);
        let got = call(get()).await;
        assert_error(&got, 503, "keygate_unavailable");
    }
    // Failures are not remembered: once Keygate answers again, so does the API.
    fake.set(DECIDE);
    assert_eq!(call(get()).await.0, StatusCode::OK);

    // A question Keygate refuses is the client's 400, with Keygate's reason.
    fake.set(REFUSE_QUESTION);
    let got = call(
        http.get(format!("{api}/devices/other"))
            .header("Authorization", format!("Token {GOOD}")),
    )
    .await;
    assert_error(&got, 400, "invalid_request");
    assert_eq!(
        got.2["error"]["message"],
        "permission: not of the form area:action"
    );

    // Nothing listening: 503 too.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let api = spawn_guarded(verifier(&format!("http://{closed}"))).await;
    let got = call(
        reqwest::Client::new()
            .get(format!("{api}/devices/abc"))
            .header("X-API-Key", GOOD),
    )
    .await;
    assert_error(&got, 503, "keygate_unavailable");

    // Each failure is logged, without the token (traced at every level, from every crate).
    let logs = captured_logs();
    assert!(logs.contains("Keygate is unavailable"), "{logs}");
    assert!(logs.contains("cannot connect"), "{logs}");
    assert!(!logs.contains(GOOD), "a log line shows the token");
}
