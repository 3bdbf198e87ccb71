//! Liveness, readiness and the metrics.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::openapi::HealthJson;
use crate::metrics::POOL_CONNECTIONS;

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Up", body = HealthJson, example = json!({"status": "ok"})),
    )
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can serve.
///
/// Its database answers; 503 otherwise.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Ready", body = HealthJson, example = json!({"status": "ready"})),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.keygate.ready().await?;
    Ok(Json(json!({ "status": "ready" })))
}

/// `GET /metrics`: the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Prometheus metrics in the text exposition format 0.0.4: \
            requests by route, method and status with latency histograms, decisions by code, \
            failed authentications by reason, cache lookups and evictions, change notices \
            received, database pool connections. No token or user appears in them.",
            content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let pool = state.keygate.store().pool_state();
    metrics::gauge!(POOL_CONNECTIONS, "state" => "open").set(f64::from(pool.size));
    metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(pool.idle as f64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(),
    )
        .into_response()
}
