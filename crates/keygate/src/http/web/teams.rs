//! A workspace's teams: a team's roles and resource grants apply to all its members, people and
//! API users alike.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keygate_domain::Team;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::Layout;
use super::members::assignable;
use super::session::Signed;
use super::{Form, WebResult, done, lines};
use crate::http::AppState;
use crate::service::{ServiceError, TeamPatchRequest, TeamRequest, WorkspaceRef};

pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub roles: Vec<String>,
    pub grants: String,
    pub members: Vec<Uuid>,
}

impl TeamRow {
    fn new(t: &Team) -> Self {
        TeamRow {
            id: t.id,
            name: t.name.clone(),
            description: t.description.clone().unwrap_or_default(),
            roles: t.roles.iter().map(|r| r.name.clone()).collect(),
            grants: t
                .grants
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            members: t.members.clone(),
        }
    }

    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r == name)
    }

    pub fn has_member(&self, id: &Uuid) -> bool {
        self.members.contains(id)
    }
}

/// Someone who can be put in a team.
pub struct Candidate {
    pub id: Uuid,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "teams.html")]
pub struct TeamsPage {
    layout: Layout,
    slug: String,
    teams: Vec<TeamRow>,
    roles: Vec<String>,
    error: Option<String>,
}

async fn teams_page(
    state: &AppState,
    signed: &Signed,
    ws: &str,
    error: Option<String>,
) -> WebResult<TeamsPage> {
    let reference = WorkspaceRef::parse(ws);
    let slug = state
        .keygate
        .workspace(signed, &reference)
        .await?
        .workspace
        .slug
        .to_string();
    let teams = state
        .keygate
        .list_teams(signed, &reference)
        .await?
        .iter()
        .map(TeamRow::new)
        .collect();
    let roles = assignable(&state.keygate.list_roles(signed, &reference).await?);
    Ok(TeamsPage {
        layout: Layout::signed(state, signed, "Teams", "teams", Some(&slug)).await?,
        slug,
        teams,
        roles,
        error,
    })
}

pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Path(ws): Path<String>,
) -> WebResult<TeamsPage> {
    teams_page(&state, &signed, &ws, None).await
}

#[derive(Deserialize)]
pub struct TeamForm {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    grants: String,
    #[serde(default)]
    members: Vec<Uuid>,
}

pub async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Path(ws): Path<String>,
    Form(form): Form<TeamForm>,
) -> WebResult<Response> {
    let description = form.description.trim().to_owned();
    let request = TeamRequest {
        name: form.name.trim().to_owned(),
        description: (!description.is_empty()).then_some(description),
        roles: form.roles,
        grants: lines(&form.grants),
        members: form.members,
    };
    match state
        .keygate
        .create_team(&signed, &WorkspaceRef::parse(&ws), request)
        .await
    {
        Ok(team) => Ok(done(&format!("/w/{ws}/teams/{}", team.id), "team-created").into_response()),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict { .. })) => {
            let page = teams_page(&state, &signed, &ws, Some(e.to_string())).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "team.html")]
pub struct TeamPage {
    layout: Layout,
    slug: String,
    team: TeamRow,
    roles: Vec<String>,
    candidates: Vec<Candidate>,
    error: Option<String>,
}

async fn team_page(
    state: &AppState,
    signed: &Signed,
    ws: &str,
    id: Uuid,
    error: Option<String>,
) -> WebResult<TeamPage> {
    let reference = WorkspaceRef::parse(ws);
    let slug = state
        .keygate
        .workspace(signed, &reference)
        .await?
        .workspace
        .slug
        .to_string();
    let team = state
        .keygate
        .team(signed, &reference, &id.to_string())
        .await?;
    let mut candidates: Vec<Candidate> = state
        .keygate
        .list_members(signed, &reference)
        .await?
        .into_iter()
        .map(|m| Candidate {
            id: m.user.id,
            label: m
                .user
                .email
                .as_ref()
                .map_or_else(|| m.user.display_name.clone(), ToString::to_string),
        })
        .collect();
    if let Ok(api_users) = state.keygate.list_api_users(signed, &reference).await {
        candidates.extend(api_users.into_iter().map(|m| Candidate {
            id: m.user.id,
            label: format!("{} (API user)", m.user.display_name),
        }));
    }
    let roles = assignable(&state.keygate.list_roles(signed, &reference).await?);
    Ok(TeamPage {
        layout: Layout::signed(state, signed, &team.name, "teams", Some(&slug)).await?,
        slug,
        team: TeamRow::new(&team),
        roles,
        candidates,
        error,
    })
}

pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path((ws, id)): Path<(String, Uuid)>,
) -> WebResult<TeamPage> {
    team_page(&state, &signed, &ws, id, None).await
}

pub async fn update(
    State(state): State<AppState>,
    signed: Signed,
    Path((ws, id)): Path<(String, Uuid)>,
    Form(form): Form<TeamForm>,
) -> WebResult<Response> {
    let request = TeamPatchRequest {
        name: Some(form.name.trim().to_owned()),
        description: Some(form.description.trim().to_owned()),
        roles: Some(form.roles),
        grants: Some(lines(&form.grants)),
        members: Some(form.members),
    };
    match state
        .keygate
        .update_team(&signed, &WorkspaceRef::parse(&ws), &id.to_string(), request)
        .await
    {
        Ok(_) => Ok(done(&format!("/w/{ws}/teams/{id}"), "team-saved").into_response()),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict { .. })) => {
            let page = team_page(&state, &signed, &ws, id, Some(e.to_string())).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    signed: Signed,
    Path((ws, id)): Path<(String, Uuid)>,
) -> WebResult<Response> {
    state
        .keygate
        .delete_team(&signed, &WorkspaceRef::parse(&ws), &id.to_string())
        .await?;
    Ok(done(&format!("/w/{ws}/teams"), "team-deleted").into_response())
}
