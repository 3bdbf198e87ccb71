//! `/api/v1/workspaces`: the caller's workspaces.

use axum::extract::State;
use axum::http::StatusCode;

use super::json::{CreateWorkspaceJson, MembershipJson, PatchWorkspaceJson, WorkspaceListJson};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, Json, Path};
use crate::service::{NewWorkspaceRequest, WorkspacePatchRequest, WorkspaceRef};

pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<axum::Json<WorkspaceListJson>, ApiError> {
    let memberships = state.keygate.list_workspaces(&actor).await?;
    Ok(axum::Json(WorkspaceListJson {
        workspaces: memberships.iter().map(MembershipJson::from).collect(),
    }))
}

pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(body): Json<CreateWorkspaceJson>,
) -> Result<(StatusCode, axum::Json<MembershipJson>), ApiError> {
    let request = NewWorkspaceRequest {
        slug: body.slug,
        name: body.name,
    };
    let membership = state.keygate.create_workspace(&actor, request).await?;
    Ok((StatusCode::CREATED, axum::Json((&membership).into())))
}

pub async fn get(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
) -> Result<axum::Json<MembershipJson>, ApiError> {
    let membership = state
        .keygate
        .workspace(&actor, &WorkspaceRef::parse(&ws))
        .await?;
    Ok(axum::Json((&membership).into()))
}

pub async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
    Json(body): Json<PatchWorkspaceJson>,
) -> Result<axum::Json<MembershipJson>, ApiError> {
    let request = WorkspacePatchRequest {
        slug: body.slug,
        name: body.name,
    };
    let membership = state
        .keygate
        .update_workspace(&actor, &WorkspaceRef::parse(&ws), request)
        .await?;
    Ok(axum::Json((&membership).into()))
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .delete_workspace(&actor, &WorkspaceRef::parse(&ws))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
