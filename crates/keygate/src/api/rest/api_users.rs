//! `/api/v1/workspaces/{ws}/api-users`: service accounts and their tokens.

use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::json::{
    ApiUserJson, ApiUserListJson, CreateApiUserJson, CreateTokenJson, CreatedApiUserJson,
    PatchApiUserJson, TokenJson, TokenListJson, TokenWithSecretJson,
};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, Json, Path};
use crate::service::{
    ApiUserPatchRequest, ApiUserRequest, Expiry, NewTokenRequest, ServiceError, WorkspaceRef,
};

pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
) -> Result<axum::Json<ApiUserListJson>, ApiError> {
    let api_users = state
        .keygate
        .list_api_users(&actor, &WorkspaceRef::parse(&ws))
        .await?;
    Ok(axum::Json(ApiUserListJson {
        api_users: api_users.iter().map(ApiUserJson::from).collect(),
    }))
}

pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
    Json(body): Json<CreateApiUserJson>,
) -> Result<(StatusCode, axum::Json<CreatedApiUserJson>), ApiError> {
    let request = ApiUserRequest {
        name: body.name,
        description: body.description,
        roles: body.roles,
        grants: body.grants,
        teams: body.teams,
    };
    let created = state
        .keygate
        .create_api_user(&actor, &WorkspaceRef::parse(&ws), request)
        .await?;
    let now = state.keygate.clock().now();
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedApiUserJson {
            api_user: (&created.api_user).into(),
            token: TokenWithSecretJson::new(&created.token, created.clear, now),
        }),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, id)): Path<(String, Uuid)>,
) -> Result<axum::Json<ApiUserJson>, ApiError> {
    let api_user = state
        .keygate
        .api_user(&actor, &WorkspaceRef::parse(&ws), id)
        .await?;
    Ok(axum::Json((&api_user).into()))
}

pub async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, id)): Path<(String, Uuid)>,
    Json(body): Json<PatchApiUserJson>,
) -> Result<axum::Json<ApiUserJson>, ApiError> {
    let request = ApiUserPatchRequest {
        name: body.name,
        description: body.description,
        roles: body.roles,
        grants: body.grants,
        teams: body.teams,
        disabled: body.disabled,
    };
    let api_user = state
        .keygate
        .update_api_user(&actor, &WorkspaceRef::parse(&ws), id, request)
        .await?;
    Ok(axum::Json((&api_user).into()))
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, id)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .delete_api_user(&actor, &WorkspaceRef::parse(&ws), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, id)): Path<(String, Uuid)>,
) -> Result<axum::Json<TokenListJson>, ApiError> {
    let tokens = state
        .keygate
        .api_user_tokens(&actor, &WorkspaceRef::parse(&ws), id)
        .await?;
    let now = state.keygate.clock().now();
    Ok(axum::Json(TokenListJson {
        tokens: tokens.iter().map(|t| TokenJson::new(t, now)).collect(),
    }))
}

pub async fn create_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, id)): Path<(String, Uuid)>,
    Json(body): Json<CreateTokenJson>,
) -> Result<(StatusCode, axum::Json<TokenWithSecretJson>), ApiError> {
    let request = NewTokenRequest {
        name: body.name,
        description: body.description,
        expiry: Expiry::from_parts(body.expires_in_days, body.expires_at)
            .map_err(ServiceError::from)?,
        scope: body.scope.map(Into::into),
    };
    let (token, clear) = state
        .keygate
        .create_api_user_token(&actor, &WorkspaceRef::parse(&ws), id, request)
        .await?;
    let now = state.keygate.clock().now();
    Ok((
        StatusCode::CREATED,
        axum::Json(TokenWithSecretJson::new(&token, clear, now)),
    ))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, id, token)): Path<(String, Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .revoke_api_user_token(&actor, &WorkspaceRef::parse(&ws), id, token)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, id, token)): Path<(String, Uuid, Uuid)>,
) -> Result<axum::Json<TokenWithSecretJson>, ApiError> {
    let (token, clear) = state
        .keygate
        .rotate_api_user_token(&actor, &WorkspaceRef::parse(&ws), id, token)
        .await?;
    let now = state.keygate.clock().now();
    Ok(axum::Json(TokenWithSecretJson::new(&token, clear, now)))
}
