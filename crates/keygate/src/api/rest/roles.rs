//! `/api/v1/workspaces/{ws}/roles`, including `PUT .../roles/public`.

use axum::extract::State;
use axum::http::StatusCode;

use super::json::{CreateRoleJson, PutRoleJson, RoleJson, RoleListJson};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, Json, Path};
use crate::service::{RoleRequest, RoleUpdateRequest, WorkspaceRef};

pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
) -> Result<axum::Json<RoleListJson>, ApiError> {
    let roles = state
        .keygate
        .list_roles(&actor, &WorkspaceRef::parse(&ws))
        .await?;
    Ok(axum::Json(RoleListJson {
        roles: roles.iter().map(RoleJson::from).collect(),
    }))
}

pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
    Json(body): Json<CreateRoleJson>,
) -> Result<(StatusCode, axum::Json<RoleJson>), ApiError> {
    let request = RoleRequest {
        name: body.name,
        description: body.description,
        permissions: body.permissions,
    };
    let role = state
        .keygate
        .create_role(&actor, &WorkspaceRef::parse(&ws), request)
        .await?;
    Ok((StatusCode::CREATED, axum::Json((&role).into())))
}

pub async fn get(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, name)): Path<(String, String)>,
) -> Result<axum::Json<RoleJson>, ApiError> {
    let role = state
        .keygate
        .role(&actor, &WorkspaceRef::parse(&ws), &name)
        .await?;
    Ok(axum::Json((&role).into()))
}

pub async fn put(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, name)): Path<(String, String)>,
    Json(body): Json<PutRoleJson>,
) -> Result<axum::Json<RoleJson>, ApiError> {
    let request = RoleUpdateRequest {
        description: body.description,
        permissions: body.permissions,
        grants: body.grants,
    };
    let role = state
        .keygate
        .update_role(&actor, &WorkspaceRef::parse(&ws), &name, request)
        .await?;
    Ok(axum::Json((&role).into()))
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .delete_role(&actor, &WorkspaceRef::parse(&ws), &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
