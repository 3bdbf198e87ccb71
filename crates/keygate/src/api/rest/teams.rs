//! `/api/v1/workspaces/{ws}/teams`: teams by id or name, and their members.

use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::json::{CreateTeamJson, PatchTeamJson, TeamJson, TeamListJson};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, Json, Path};
use crate::service::{TeamPatchRequest, TeamRequest, WorkspaceRef};

pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
) -> Result<axum::Json<TeamListJson>, ApiError> {
    let teams = state
        .keygate
        .list_teams(&actor, &WorkspaceRef::parse(&ws))
        .await?;
    Ok(axum::Json(TeamListJson {
        teams: teams.iter().map(TeamJson::from).collect(),
    }))
}

pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
    Json(body): Json<CreateTeamJson>,
) -> Result<(StatusCode, axum::Json<TeamJson>), ApiError> {
    let request = TeamRequest {
        name: body.name,
        description: body.description,
        roles: body.roles,
        grants: body.grants,
        members: body.members,
    };
    let team = state
        .keygate
        .create_team(&actor, &WorkspaceRef::parse(&ws), request)
        .await?;
    Ok((StatusCode::CREATED, axum::Json((&team).into())))
}

pub async fn get(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, team)): Path<(String, String)>,
) -> Result<axum::Json<TeamJson>, ApiError> {
    let team = state
        .keygate
        .team(&actor, &WorkspaceRef::parse(&ws), &team)
        .await?;
    Ok(axum::Json((&team).into()))
}

pub async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, team)): Path<(String, String)>,
    Json(body): Json<PatchTeamJson>,
) -> Result<axum::Json<TeamJson>, ApiError> {
    let request = TeamPatchRequest {
        name: body.name,
        description: body.description,
        roles: body.roles,
        grants: body.grants,
        members: body.members,
    };
    let team = state
        .keygate
        .update_team(&actor, &WorkspaceRef::parse(&ws), &team, request)
        .await?;
    Ok(axum::Json((&team).into()))
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, team)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .delete_team(&actor, &WorkspaceRef::parse(&ws), &team)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_member(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, team, user)): Path<(String, String, Uuid)>,
) -> Result<axum::Json<TeamJson>, ApiError> {
    let team = state
        .keygate
        .set_team_member(&actor, &WorkspaceRef::parse(&ws), &team, user, true)
        .await?;
    Ok(axum::Json((&team).into()))
}

pub async fn remove_member(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, team, user)): Path<(String, String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .set_team_member(&actor, &WorkspaceRef::parse(&ws), &team, user, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
