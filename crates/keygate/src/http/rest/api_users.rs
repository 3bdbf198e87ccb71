//! `/api/v1/workspaces/{ws}/api-users`: service accounts and their tokens.

pub(crate) mod json;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use self::json::{
    ApiUserJson, ApiUserListJson, CreateApiUserJson, CreatedApiUserJson, PatchApiUserJson,
};
use super::API_V1;
use super::tokens::json::{
    CreateTokenJson, RotateJson, TokenJson, TokenListJson, TokenWithSecretJson, UpdateTokenJson,
};
use super::tokens::{issued, token_json, token_list, with_secret};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{InWorkspace, Json, Path};
use crate::http::openapi::{BadRequest, Conflict};
use crate::service::NewTokenRequest;

/// An API user of the workspace (`.../api-users/{id}`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ApiUserPath {
    /// API user id
    id: Uuid,
}

/// One of an API user's tokens (`.../api-users/{id}/tokens/{token}`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ApiUserTokenPath {
    /// API user id
    id: Uuid,
    /// Token id
    token: Uuid,
}

/// The workspace's API users.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/api-users",
    operation_id = "list_api_users",
    tag = "api-users",
    responses(
        (status = 200, description = "The API users", body = ApiUserListJson),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
) -> Result<axum::Json<ApiUserListJson>, ApiError> {
    let api_users = state.keygate.list_api_users(&actor, &ws).await?;
    Ok(axum::Json(ApiUserListJson {
        api_users: api_users.iter().map(ApiUserJson::from).collect(),
    }))
}

/// Creates an API user and its first token.
///
/// An API user is a service account of this workspace. The token's secret is in the response,
/// this once.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/workspaces/{ws}/api-users",
    operation_id = "create_api_user",
    tag = "api-users",
    request_body(content = CreateApiUserJson, example = json!({"name": "ingest", "description": "Writes measurements from the gateways", "roles": ["writer"], "grants": ["device:*"]})),
    responses(
        (status = 201, description = "Created, with its first token; `token.token` is the secret, shown this once", body = CreatedApiUserJson,
            example = json!({
                "id": "0190f5a6-0000-7000-8000-0000000000a1",
                "name": "ingest",
                "description": "Writes measurements from the gateways",
                "disabled": false,
                "roles": ["writer"],
                "grants": ["device:*"],
                "teams": [],
                "created_at": "2025-01-15T10:00:00Z",
                "token": {
                    "token": "kga_<secret, shown once>",
                    "id": "0190f5a6-3c1e-7b7a-9a52-6f1d2c3b4a5a",
                    "kind": "api",
                    "name": null,
                    "description": null,
                    "hint": "kga_Zx81…Qm2P",
                    "status": "active",
                    "created_at": "2025-01-15T10:00:00Z",
                    "expires_at": null,
                    "last_used_at": null,
                    "last_used_ip": null,
                    "revoked_at": null,
                    "rotated_at": null,
                    "scope": null
                }
            })),
        (status = 409, response = Conflict),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Json(body): Json<CreateApiUserJson>,
) -> Result<(StatusCode, axum::Json<CreatedApiUserJson>), ApiError> {
    let created = state
        .keygate
        .create_api_user(&actor, &ws, body.into())
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

/// One API user.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/api-users/{id}",
    operation_id = "get_api_user",
    tag = "api-users",
    params(ApiUserPath),
    responses(
        (status = 200, description = "The API user", body = ApiUserJson),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(ApiUserPath { id }): Path<ApiUserPath>,
) -> Result<axum::Json<ApiUserJson>, ApiError> {
    let api_user = state.keygate.api_user(&actor, &ws, id).await?;
    Ok(axum::Json((&api_user).into()))
}

/// Changes an API user's name, description, roles, grants or teams, or disables it.
#[utoipa::path(
    context_path = API_V1,
    patch,
    path = "/workspaces/{ws}/api-users/{id}",
    operation_id = "update_api_user",
    tag = "api-users",
    params(ApiUserPath),
    responses(
        (status = 200, description = "Updated", body = ApiUserJson),
        (status = 409, response = Conflict),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(ApiUserPath { id }): Path<ApiUserPath>,
    Json(body): Json<PatchApiUserJson>,
) -> Result<axum::Json<ApiUserJson>, ApiError> {
    let api_user = state
        .keygate
        .update_api_user(&actor, &ws, id, body.into())
        .await?;
    Ok(axum::Json((&api_user).into()))
}

/// Deletes an API user; its tokens stop working.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/workspaces/{ws}/api-users/{id}",
    operation_id = "delete_api_user",
    tag = "api-users",
    params(ApiUserPath),
    responses(
        (status = 204, description = "Deleted"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(ApiUserPath { id }): Path<ApiUserPath>,
) -> Result<StatusCode, ApiError> {
    state.keygate.delete_api_user(&actor, &ws, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An API user's tokens.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/api-users/{id}/tokens",
    operation_id = "list_api_user_tokens",
    tag = "api-users",
    params(ApiUserPath),
    responses(
        (status = 200, description = "The tokens, never their secrets", body = TokenListJson),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(ApiUserPath { id }): Path<ApiUserPath>,
) -> Result<axum::Json<TokenListJson>, ApiError> {
    let tokens = state.keygate.api_user_tokens(&actor, &ws, id).await?;
    Ok(token_list(&state, &tokens))
}

/// Creates another token for an API user.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/workspaces/{ws}/api-users/{id}/tokens",
    operation_id = "create_api_user_token",
    tag = "api-users",
    params(ApiUserPath),
    request_body(content = CreateTokenJson, example = json!({"name": "gateway-3", "expires_in_days": 365})),
    responses(
        (status = 201, description = "Created; `token` is the secret, shown this once", body = TokenWithSecretJson),
        (status = 409, response = Conflict),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(ApiUserPath { id }): Path<ApiUserPath>,
    Json(body): Json<CreateTokenJson>,
) -> Result<(StatusCode, axum::Json<TokenWithSecretJson>), ApiError> {
    let request = NewTokenRequest::try_from(body)?;
    let created = state
        .keygate
        .create_api_user_token(&actor, &ws, id, request)
        .await?;
    Ok(issued(&state, created))
}

/// Changes one of an API user's tokens: where it may be used from.
///
/// The list must lie within the API user's own `allowed_ips`, if it has them. Takes effect at
/// once on every node.
#[utoipa::path(
    context_path = API_V1,
    patch,
    path = "/workspaces/{ws}/api-users/{id}/tokens/{token}",
    operation_id = "update_api_user_token",
    tag = "api-users",
    params(ApiUserTokenPath),
    request_body = UpdateTokenJson,
    responses(
        (status = 200, description = "The token as it is now", body = TokenJson),
        (status = 400, response = BadRequest),
    )
)]
pub async fn update_token(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(ApiUserTokenPath { id, token }): Path<ApiUserTokenPath>,
    Json(body): Json<UpdateTokenJson>,
) -> Result<axum::Json<TokenJson>, ApiError> {
    let token = state
        .keygate
        .update_api_user_token(&actor, &ws, id, token, body.into())
        .await?;
    Ok(token_json(&state, &token))
}

/// Revokes one of an API user's tokens.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/workspaces/{ws}/api-users/{id}/tokens/{token}",
    operation_id = "revoke_api_user_token",
    tag = "api-users",
    params(ApiUserTokenPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 409, response = Conflict),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(ApiUserTokenPath { id, token }): Path<ApiUserTokenPath>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .revoke_api_user_token(&actor, &ws, id, token)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotates one of an API user's tokens.
///
/// A new secret; the old secret stops working at once, or with `grace_seconds` that long after the
/// new secret's first use.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/workspaces/{ws}/api-users/{id}/tokens/{token}/rotate",
    operation_id = "rotate_api_user_token",
    tag = "api-users",
    params(ApiUserTokenPath),
    request_body(content = Option<RotateJson>, description = "Optional: a grace period for the old secret"),
    responses(
        (status = 200, description = "Rotated; `token` is the new secret, shown this once", body = TokenWithSecretJson),
        (status = 409, response = Conflict),
    )
)]
pub async fn rotate_token(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(ApiUserTokenPath { id, token }): Path<ApiUserTokenPath>,
    body: Option<Json<RotateJson>>,
) -> Result<axum::Json<TokenWithSecretJson>, ApiError> {
    let grace = body.map_or(0, |Json(b)| b.grace_seconds);
    let rotated = state
        .keygate
        .rotate_api_user_token(&actor, &ws, id, token, grace)
        .await?;
    Ok(with_secret(&state, rotated))
}
