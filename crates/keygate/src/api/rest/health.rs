//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::openapi::HealthJson;

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
