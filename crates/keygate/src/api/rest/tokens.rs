//! The caller's own tokens: `/api/v1/tokens` and the personal token refresh.

use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::json::{CreateTokenJson, TokenJson, TokenListJson, TokenWithSecretJson};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, Json, Path};
use crate::service::{Expiry, NewTokenRequest};

pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<axum::Json<TokenListJson>, ApiError> {
    let now = state.keygate.clock().now();
    let tokens = state.keygate.list_tokens(&actor.user).await?;
    Ok(axum::Json(TokenListJson {
        tokens: tokens.iter().map(|t| TokenJson::new(t, now)).collect(),
    }))
}

pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(body): Json<CreateTokenJson>,
) -> Result<(StatusCode, axum::Json<TokenWithSecretJson>), ApiError> {
    let request = NewTokenRequest {
        name: body.name,
        description: body.description,
        expiry: Expiry::from_parts(body.expires_in_days, body.expires_at)
            .map_err(crate::service::ServiceError::from)?,
        scope: body.scope.map(Into::into),
    };
    let (token, clear) = state.keygate.create_token(&actor, request).await?;
    let now = state.keygate.clock().now();
    Ok((
        StatusCode::CREATED,
        axum::Json(TokenWithSecretJson::new(&token, clear, now)),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<TokenJson>, ApiError> {
    let token = state.keygate.token(&actor.user, id).await?;
    Ok(axum::Json(TokenJson::new(
        &token,
        state.keygate.clock().now(),
    )))
}

pub async fn revoke(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.keygate.revoke_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<TokenWithSecretJson>, ApiError> {
    let (token, clear) = state.keygate.rotate_token(&actor, id).await?;
    let now = state.keygate.clock().now();
    Ok(axum::Json(TokenWithSecretJson::new(&token, clear, now)))
}

pub async fn refresh_personal(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<axum::Json<TokenWithSecretJson>, ApiError> {
    let (token, clear) = state.keygate.refresh_personal_token(&actor).await?;
    let now = state.keygate.clock().now();
    Ok(axum::Json(TokenWithSecretJson::new(&token, clear, now)))
}
