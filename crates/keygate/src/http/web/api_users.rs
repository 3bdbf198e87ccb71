//! A workspace's API users (service accounts): create one with roles, resources such as devices,
//! and teams; change or disable it; manage its tokens.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::account::ShownOncePage;
use super::layout::Layout;
use super::members::{MemberRow, assignable};
use super::session::Signed;
use super::tokens::TokenForm;
use super::views::{ShownOnce, TokenView};
use super::{Form, WebResult, done, lines};
use crate::http::AppState;
use crate::service::{
    ApiUserPatchRequest, ApiUserRequest, NewTokenRequest, ServiceError, WorkspaceRef,
};

pub struct ApiUserRow {
    pub member: MemberRow,
    pub description: String,
    pub disabled: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "api_users.html")]
pub struct ApiUsersPage {
    layout: Layout,
    slug: String,
    api_users: Vec<ApiUserRow>,
    roles: Vec<String>,
    teams: Vec<String>,
    error: Option<String>,
}

async fn list_page(
    state: &AppState,
    signed: &Signed,
    ws: &str,
    error: Option<String>,
) -> WebResult<ApiUsersPage> {
    let reference = WorkspaceRef::parse(ws);
    let slug = state
        .keygate
        .workspace(signed, &reference)
        .await?
        .workspace
        .slug
        .to_string();
    let api_users = state
        .keygate
        .list_api_users(signed, &reference)
        .await?
        .iter()
        .map(|m| ApiUserRow {
            member: MemberRow::new(m, signed.user.id),
            description: m.user.description.clone().unwrap_or_default(),
            disabled: m.user.is_disabled(),
        })
        .collect();
    let roles = assignable(&state.keygate.list_roles(signed, &reference).await?);
    let teams = state
        .keygate
        .list_teams(signed, &reference)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    Ok(ApiUsersPage {
        layout: Layout::signed(state, signed, "API users", "api-users", Some(&slug)).await?,
        slug,
        api_users,
        roles,
        teams,
        error,
    })
}

pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Path(ws): Path<String>,
) -> WebResult<ApiUsersPage> {
    list_page(&state, &signed, &ws, None).await
}

#[derive(Deserialize)]
pub struct ApiUserForm {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    grants: String,
    #[serde(default)]
    teams: Vec<String>,
    /// On the edit form only: "on" when the box is ticked.
    #[serde(default)]
    disabled: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Path(ws): Path<String>,
    Form(form): Form<ApiUserForm>,
) -> WebResult<Response> {
    let description = form.description.trim().to_owned();
    let request = ApiUserRequest {
        name: form.name.trim().to_owned(),
        description: (!description.is_empty()).then_some(description),
        roles: form.roles,
        grants: lines(&form.grants),
        teams: form.teams,
    };
    match state
        .keygate
        .create_api_user(&signed, &WorkspaceRef::parse(&ws), request)
        .await
    {
        Ok(created) => {
            let slug = ws.clone();
            let page = ShownOncePage {
                layout: Layout::signed(
                    &state,
                    &signed,
                    "API user created",
                    "api-users",
                    Some(&slug),
                )
                .await?,
                shown: ShownOnce {
                    heading: format!("API user “{}” created", created.api_user.user.display_name),
                    secret: created.clear.into_exposed(),
                    detail: "This is its first token. Give it to the service that acts as this \
                             API user."
                        .into(),
                    back: format!("/w/{slug}/api-users/{}", created.api_user.user.id),
                },
            };
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(
            e @ (ServiceError::Invalid(_)
            | ServiceError::Conflict { .. }
            | ServiceError::NotFound(_)),
        ) => {
            let page = list_page(&state, &signed, &ws, Some(e.to_string())).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "api_user.html")]
pub struct ApiUserPage {
    layout: Layout,
    slug: String,
    api_user: ApiUserRow,
    member_teams: Vec<String>,
    tokens: Vec<TokenView>,
    roles: Vec<String>,
    teams: Vec<String>,
    error: Option<String>,
    tomorrow: String,
}

impl ApiUserPage {
    fn in_team(&self, team: &str) -> bool {
        self.member_teams.iter().any(|t| t == team)
    }
}

async fn show_page(
    state: &AppState,
    signed: &Signed,
    ws: &str,
    id: Uuid,
    error: Option<String>,
) -> WebResult<ApiUserPage> {
    let reference = WorkspaceRef::parse(ws);
    let slug = state
        .keygate
        .workspace(signed, &reference)
        .await?
        .workspace
        .slug
        .to_string();
    let m = state.keygate.api_user(signed, &reference, id).await?;
    let now = state.keygate.clock().now();
    let tokens = state
        .keygate
        .api_user_tokens(signed, &reference, id)
        .await?
        .iter()
        .map(|t| TokenView::new(t, now, &|id| id.to_string()))
        .collect();
    let roles = assignable(&state.keygate.list_roles(signed, &reference).await?);
    let teams = state
        .keygate
        .list_teams(signed, &reference)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    Ok(ApiUserPage {
        layout: Layout::signed(
            state,
            signed,
            &m.user.display_name,
            "api-users",
            Some(&slug),
        )
        .await?,
        slug,
        member_teams: m.teams.iter().map(|t| t.name.clone()).collect(),
        api_user: ApiUserRow {
            member: MemberRow::new(&m, signed.user.id),
            description: m.user.description.clone().unwrap_or_default(),
            disabled: m.user.is_disabled(),
        },
        tokens,
        roles,
        teams,
        error,
        tomorrow: (now + chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string(),
    })
}

pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path((ws, id)): Path<(String, Uuid)>,
) -> WebResult<ApiUserPage> {
    show_page(&state, &signed, &ws, id, None).await
}

pub async fn update(
    State(state): State<AppState>,
    signed: Signed,
    Path((ws, id)): Path<(String, Uuid)>,
    Form(form): Form<ApiUserForm>,
) -> WebResult<Response> {
    let request = ApiUserPatchRequest {
        name: Some(form.name.trim().to_owned()),
        description: Some(form.description.trim().to_owned()),
        roles: Some(form.roles),
        grants: Some(lines(&form.grants)),
        teams: Some(form.teams),
        disabled: Some(form.disabled.is_some()),
    };
    match state
        .keygate
        .update_api_user(&signed, &WorkspaceRef::parse(&ws), id, request)
        .await
    {
        Ok(_) => Ok(done(&format!("/w/{ws}/api-users/{id}"), "api-user-saved").into_response()),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict { .. })) => {
            let page = show_page(&state, &signed, &ws, id, Some(e.to_string())).await?;
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
        .delete_api_user(&signed, &WorkspaceRef::parse(&ws), id)
        .await?;
    Ok(done(&format!("/w/{ws}/api-users"), "api-user-deleted").into_response())
}

pub async fn create_token(
    State(state): State<AppState>,
    signed: Signed,
    Path((ws, id)): Path<(String, Uuid)>,
    Form(form): Form<TokenForm>,
) -> WebResult<Response> {
    let result = match form.expiry() {
        Ok(expiry) => {
            let request = NewTokenRequest {
                name: Some(form.name.trim().to_owned()).filter(|n| !n.is_empty()),
                description: Some(form.description.trim().to_owned()).filter(|d| !d.is_empty()),
                expiry,
                scope: None,
            };
            state
                .keygate
                .create_api_user_token(&signed, &WorkspaceRef::parse(&ws), id, request)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok((_, clear)) => {
            let page = ShownOncePage {
                layout: Layout::signed(&state, &signed, "Token created", "api-users", Some(&ws))
                    .await?,
                shown: ShownOnce {
                    heading: "API user token created".into(),
                    secret: clear.into_exposed(),
                    detail: "It acts as the API user, with the API user's rights.".into(),
                    back: format!("/w/{ws}/api-users/{id}"),
                },
            };
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(ServiceError::Invalid(e)) => {
            let page = show_page(&state, &signed, &ws, id, Some(e.to_string())).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    signed: Signed,
    Path((ws, id, token)): Path<(String, Uuid, Uuid)>,
) -> WebResult<Response> {
    state
        .keygate
        .revoke_api_user_token(&signed, &WorkspaceRef::parse(&ws), id, token)
        .await?;
    Ok(done(&format!("/w/{ws}/api-users/{id}"), "token-revoked").into_response())
}

pub async fn rotate_token(
    State(state): State<AppState>,
    signed: Signed,
    Path((ws, id, token)): Path<(String, Uuid, Uuid)>,
) -> WebResult<ShownOncePage> {
    let (_, clear) = state
        .keygate
        .rotate_api_user_token(&signed, &WorkspaceRef::parse(&ws), id, token)
        .await?;
    Ok(ShownOncePage {
        layout: Layout::signed(&state, &signed, "Token rotated", "api-users", Some(&ws)).await?,
        shown: ShownOnce {
            heading: "API user token rotated".into(),
            secret: clear.into_exposed(),
            detail: "The old secret stopped working at once.".into(),
            back: format!("/w/{ws}/api-users/{id}"),
        },
    })
}
