//! A workspace's teams: a team's roles and resource grants apply to all its members, people and
//! API users alike.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use keygate_domain::Team;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::Layout;
use super::request::WorkspaceRequest;
use super::views::comma_list;
use super::{Form, WebResult, done, filled, lines, refused};
use crate::service::{TeamPatchRequest, TeamRequest};

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
            grants: comma_list(&t.grants),
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

async fn teams_page(req: &WorkspaceRequest, error: Option<String>) -> WebResult<TeamsPage> {
    let slug = req.slug().await?;
    let teams = req
        .keygate()
        .list_teams(&req.signed, &req.reference)
        .await?
        .iter()
        .map(TeamRow::new)
        .collect();
    Ok(TeamsPage {
        teams,
        roles: req.assignable_roles().await?,
        error,
        layout: req.layout(&slug, "Teams", "teams").await?,
        slug,
    })
}

pub async fn list(req: WorkspaceRequest) -> WebResult<TeamsPage> {
    teams_page(&req, None).await
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

pub async fn create(req: WorkspaceRequest, Form(form): Form<TeamForm>) -> WebResult<Response> {
    let request = TeamRequest {
        name: form.name.trim().to_owned(),
        description: filled(&form.description),
        roles: form.roles,
        grants: lines(&form.grants),
        members: form.members,
    };
    match req
        .keygate()
        .create_team(&req.signed, &req.reference, request)
        .await
    {
        Ok(team) => {
            let to = format!("/w/{}/teams/{}", req.ws, team.id);
            Ok(done(&to, "team-created").into_response())
        }
        Err(e) => refused(e, |error| teams_page(&req, Some(error))).await,
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

async fn team_page(req: &WorkspaceRequest, id: Uuid, error: Option<String>) -> WebResult<TeamPage> {
    let slug = req.slug().await?;
    let keygate = req.keygate();
    let team = keygate
        .team(&req.signed, &req.reference, &id.to_string())
        .await?;
    let mut candidates: Vec<Candidate> = keygate
        .list_members(&req.signed, &req.reference)
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
    if let Ok(api_users) = keygate.list_api_users(&req.signed, &req.reference).await {
        candidates.extend(api_users.into_iter().map(|m| Candidate {
            id: m.user.id,
            label: format!("{} (API user)", m.user.display_name),
        }));
    }
    Ok(TeamPage {
        roles: req.assignable_roles().await?,
        layout: req.layout(&slug, &team.name, "teams").await?,
        slug,
        team: TeamRow::new(&team),
        candidates,
        error,
    })
}

pub async fn show(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
) -> WebResult<TeamPage> {
    team_page(&req, id, None).await
}

pub async fn update(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
    Form(form): Form<TeamForm>,
) -> WebResult<Response> {
    let request = TeamPatchRequest {
        name: Some(form.name.trim().to_owned()),
        description: Some(form.description.trim().to_owned()),
        roles: Some(form.roles),
        grants: Some(lines(&form.grants)),
        members: Some(form.members),
    };
    match req
        .keygate()
        .update_team(&req.signed, &req.reference, &id.to_string(), request)
        .await
    {
        Ok(_) => Ok(done(&format!("/w/{}/teams/{id}", req.ws), "team-saved").into_response()),
        Err(e) => refused(e, |error| team_page(&req, id, Some(error))).await,
    }
}

pub async fn delete(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
) -> WebResult<Redirect> {
    req.keygate()
        .delete_team(&req.signed, &req.reference, &id.to_string())
        .await?;
    Ok(done(&format!("/w/{}/teams", req.ws), "team-deleted"))
}
