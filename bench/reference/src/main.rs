//! The reference server of the load benchmark (`scripts/load.sh`): plain axum doing the least a
//! token check can do — parse the body, SHA-256 the token, look it up in a hash map, answer — so
//! that Keygate's `/api/v1/verify` and `/auth/forward` can be compared with it in the same run.
//!
//! `cargo run --release -p reference -- 127.0.0.1:PORT TOKEN`

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

type Known = Arc<HashMap<[u8; 32], &'static str>>;

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

async fn verify(State(known): State<Known>, Json(body): Json<Value>) -> Json<Value> {
    let token = body["token"].as_str().unwrap_or_default();
    let user = known.get(&digest(token));
    Json(json!({ "valid": user.is_some(), "user": user }))
}

/// 200 with the three headers forward-auth answers with, or 401.
async fn forward(State(known): State<Known>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Token "))
        .unwrap_or_default();
    match known.get(&digest(token)) {
        Some(user) => (
            [
                ("x-keygate-user", *user),
                ("x-keygate-workspace", "bench"),
                ("x-keygate-token-id", "reference"),
            ],
            "",
        )
            .into_response(),
        None => axum::http::StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18200".into());
    let token = args.next().unwrap_or_default();
    let known: Known = Arc::new(HashMap::from([(digest(&token), "user")]));
    let app = Router::new()
        .route("/api/v1/verify", post(verify))
        .route("/auth/forward", any(forward))
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .with_state(known);
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
