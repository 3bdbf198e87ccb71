//! `/api/v1/workspaces/{ws}/roles`, including `PUT .../roles/public`.

pub(crate) mod json;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use self::json::{CreateRoleJson, PutRoleJson, RoleJson, RoleListJson};
use super::API_V1;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{InWorkspace, Json, Path};
use crate::http::openapi::Conflict;

/// A role of the workspace (`.../roles/{name}`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RolePath {
    /// Role name; `public` is the role of anonymous callers
    #[param(example = "viewer")]
    name: String,
}

/// The workspace's roles, built-in and custom.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/roles",
    operation_id = "list_roles",
    tag = "roles",
    responses(
        (status = 200, description = "The roles", body = RoleListJson),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
) -> Result<axum::Json<RoleListJson>, ApiError> {
    let roles = state.keygate.list_roles(&actor, &ws).await?;
    Ok(axum::Json(RoleListJson {
        roles: roles.iter().map(RoleJson::from).collect(),
    }))
}

/// Creates a custom role.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/workspaces/{ws}/roles",
    operation_id = "create_role",
    tag = "roles",
    request_body(content = CreateRoleJson, example = json!({"name": "device-reader", "description": "Reads every device", "permissions": ["devices:read"]})),
    responses(
        (status = 201, description = "Created", body = RoleJson),
        (status = 409, response = Conflict),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Json(body): Json<CreateRoleJson>,
) -> Result<(StatusCode, axum::Json<RoleJson>), ApiError> {
    let role = state.keygate.create_role(&actor, &ws, body.into()).await?;
    Ok((StatusCode::CREATED, axum::Json((&role).into())))
}

/// One role.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/roles/{name}",
    operation_id = "get_role",
    tag = "roles",
    params(RolePath),
    responses(
        (status = 200, description = "The role", body = RoleJson),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(RolePath { name }): Path<RolePath>,
) -> Result<axum::Json<RoleJson>, ApiError> {
    let role = state.keygate.role(&actor, &ws, &name).await?;
    Ok(axum::Json((&role).into()))
}

/// Replaces a role's description and permissions.
///
/// `PUT .../roles/public` sets the public role (what anonymous callers may do), including its
/// resource `grants`.
#[utoipa::path(
    context_path = API_V1,
    put,
    path = "/workspaces/{ws}/roles/{name}",
    operation_id = "update_role",
    tag = "roles",
    params(RolePath),
    request_body(content = PutRoleJson, example = json!({"description": "Anyone may read public devices", "permissions": ["devices:read"], "grants": ["device:public-*"]})),
    responses(
        (status = 200, description = "Updated", body = RoleJson),
        (status = 409, response = Conflict),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(RolePath { name }): Path<RolePath>,
    Json(body): Json<PutRoleJson>,
) -> Result<axum::Json<RoleJson>, ApiError> {
    let role = state
        .keygate
        .update_role(&actor, &ws, &name, body.into())
        .await?;
    Ok(axum::Json((&role).into()))
}

/// Deletes a custom role; built-in roles stay.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/workspaces/{ws}/roles/{name}",
    operation_id = "delete_role",
    tag = "roles",
    params(RolePath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, response = Conflict),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(RolePath { name }): Path<RolePath>,
) -> Result<StatusCode, ApiError> {
    state.keygate.delete_role(&actor, &ws, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
