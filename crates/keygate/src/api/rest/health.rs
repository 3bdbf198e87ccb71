//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::api::AppState;
use crate::api::error::ApiError;

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can serve: its database answers. 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.keygate.ready().await?;
    Ok(Json(json!({ "status": "ready" })))
}
