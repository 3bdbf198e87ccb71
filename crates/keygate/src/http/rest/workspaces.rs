//! `/api/v1/workspaces`: the caller's workspaces.

pub(crate) mod json;

use axum::extract::State;
use axum::http::StatusCode;

use self::json::{
    CreateWorkspaceJson, MembershipJson, PatchWorkspaceJson, WorkspaceListJson, membership_json,
};
use super::API_V1;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Caller, InWorkspace, Json};
use crate::http::openapi::{Conflict, Forbidden};

/// The caller's workspaces, with their roles in each.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces",
    operation_id = "list_workspaces",
    tag = "workspaces",
    responses(
        (status = 200, description = "The caller's workspaces", body = WorkspaceListJson),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<axum::Json<WorkspaceListJson>, ApiError> {
    let memberships = state.keygate.list_workspaces(&actor).await?;
    Ok(axum::Json(WorkspaceListJson {
        workspaces: memberships.iter().map(membership_json).collect(),
    }))
}

/// Creates a workspace.
///
/// The caller becomes its owner. API users cannot create workspaces.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/workspaces",
    operation_id = "create_workspace",
    tag = "workspaces",
    request_body(content = CreateWorkspaceJson, example = json!({"slug": "acme", "name": "Acme Corp"})),
    responses(
        (status = 201, description = "Created, with the caller's roles in it", body = MembershipJson),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(body): Json<CreateWorkspaceJson>,
) -> Result<(StatusCode, axum::Json<MembershipJson>), ApiError> {
    let membership = state.keygate.create_workspace(&actor, body.into()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(membership_json(&membership)),
    ))
}

/// A workspace the caller belongs to.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}",
    operation_id = "get_workspace",
    tag = "workspaces",
    responses(
        (status = 200, description = "The workspace, with the caller's roles in it", body = MembershipJson),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
) -> Result<axum::Json<MembershipJson>, ApiError> {
    let membership = state.keygate.workspace(&actor, &ws).await?;
    Ok(axum::Json(membership_json(&membership)))
}

/// Renames a workspace or changes its slug.
#[utoipa::path(
    context_path = API_V1,
    patch,
    path = "/workspaces/{ws}",
    operation_id = "update_workspace",
    tag = "workspaces",
    responses(
        (status = 200, description = "Updated", body = MembershipJson),
        (status = 409, response = Conflict),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Json(body): Json<PatchWorkspaceJson>,
) -> Result<axum::Json<MembershipJson>, ApiError> {
    let membership = state
        .keygate
        .update_workspace(&actor, &ws, body.into())
        .await?;
    Ok(axum::Json(membership_json(&membership)))
}

/// Deletes a workspace with everything in it.
///
/// Only an owner may.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/workspaces/{ws}",
    operation_id = "delete_workspace",
    tag = "workspaces",
    responses(
        (status = 204, description = "Deleted"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
) -> Result<StatusCode, ApiError> {
    state.keygate.delete_workspace(&actor, &ws).await?;
    Ok(StatusCode::NO_CONTENT)
}
