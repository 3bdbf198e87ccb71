//! `/api/v1/workspaces/{ws}/teams`: teams by id or name, and their members.

pub(crate) mod json;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use self::json::{CreateTeamJson, PatchTeamJson, TeamJson, TeamListJson};
use super::API_V1;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{InWorkspace, Json, Path};
use crate::http::openapi::Conflict;

/// A team of the workspace (`.../teams/{team}`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TeamPath {
    /// Team id or name
    team: String,
}

/// A member of a team (`.../teams/{team}/members/{user}`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TeamMemberPath {
    /// Team id or name
    team: String,
    /// User id
    user: Uuid,
}

/// The workspace's teams.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/teams",
    operation_id = "list_teams",
    tag = "teams",
    responses(
        (status = 200, description = "The teams", body = TeamListJson),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
) -> Result<axum::Json<TeamListJson>, ApiError> {
    let teams = state.keygate.list_teams(&actor, &ws).await?;
    Ok(axum::Json(TeamListJson {
        teams: teams.iter().map(TeamJson::from).collect(),
    }))
}

/// Creates a team: its members get its roles and grants.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/workspaces/{ws}/teams",
    operation_id = "create_team",
    tag = "teams",
    request_body(content = CreateTeamJson, example = json!({"name": "field-ops", "roles": ["viewer"], "grants": ["device:site-3/*"], "members": []})),
    responses(
        (status = 201, description = "Created", body = TeamJson),
        (status = 409, response = Conflict),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Json(body): Json<CreateTeamJson>,
) -> Result<(StatusCode, axum::Json<TeamJson>), ApiError> {
    let team = state.keygate.create_team(&actor, &ws, body.into()).await?;
    Ok((StatusCode::CREATED, axum::Json((&team).into())))
}

/// One team.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/teams/{team}",
    operation_id = "get_team",
    tag = "teams",
    params(TeamPath),
    responses(
        (status = 200, description = "The team", body = TeamJson),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(TeamPath { team }): Path<TeamPath>,
) -> Result<axum::Json<TeamJson>, ApiError> {
    let team = state.keygate.team(&actor, &ws, &team).await?;
    Ok(axum::Json((&team).into()))
}

/// Changes a team's name, description, roles, grants or members.
#[utoipa::path(
    context_path = API_V1,
    patch,
    path = "/workspaces/{ws}/teams/{team}",
    operation_id = "update_team",
    tag = "teams",
    params(TeamPath),
    responses(
        (status = 200, description = "Updated", body = TeamJson),
        (status = 409, response = Conflict),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(TeamPath { team }): Path<TeamPath>,
    Json(body): Json<PatchTeamJson>,
) -> Result<axum::Json<TeamJson>, ApiError> {
    let team = state
        .keygate
        .update_team(&actor, &ws, &team, body.into())
        .await?;
    Ok(axum::Json((&team).into()))
}

/// Deletes a team; its members lose what they had through it.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/workspaces/{ws}/teams/{team}",
    operation_id = "delete_team",
    tag = "teams",
    params(TeamPath),
    responses(
        (status = 204, description = "Deleted"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(TeamPath { team }): Path<TeamPath>,
) -> Result<StatusCode, ApiError> {
    state.keygate.delete_team(&actor, &ws, &team).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a workspace member to a team.
#[utoipa::path(
    context_path = API_V1,
    put,
    path = "/workspaces/{ws}/teams/{team}/members/{user}",
    operation_id = "add_team_member",
    tag = "teams",
    params(TeamMemberPath),
    responses(
        (status = 200, description = "The team with the member", body = TeamJson),
        (status = 409, response = Conflict),
    )
)]
pub async fn add_member(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(TeamMemberPath { team, user }): Path<TeamMemberPath>,
) -> Result<axum::Json<TeamJson>, ApiError> {
    let team = state
        .keygate
        .set_team_member(&actor, &ws, &team, user, true)
        .await?;
    Ok(axum::Json((&team).into()))
}

/// Removes a member from a team.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/workspaces/{ws}/teams/{team}/members/{user}",
    operation_id = "remove_team_member",
    tag = "teams",
    params(TeamMemberPath),
    responses(
        (status = 204, description = "Removed"),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(TeamMemberPath { team, user }): Path<TeamMemberPath>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .set_team_member(&actor, &ws, &team, user, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
