//! A workspace's API users (service accounts): create one with roles, resources such as devices,
//! and teams; change or disable it; manage its tokens.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use keygate_domain::Member;
use serde::Deserialize;
use uuid::Uuid;

use super::account::ShownOncePage;
use super::layout::Layout;
use super::members::MemberRow;
use super::request::WorkspaceRequest;
use super::tokens::TokenForm;
use super::views::{LimitsView, ShownOnce, TokenView, tomorrow};
use super::{
    Form, LimitsForm, WebResult, again, allow_list, done, filled, lines, rate_limits, refused,
};
use crate::service::{ApiUserPatchRequest, ApiUserRequest, ServiceError};

pub struct ApiUserRow {
    pub member: MemberRow,
    pub description: String,
    pub disabled: bool,
    /// Where its tokens may be used from, and how often all of them together.
    pub limits: LimitsView,
}

impl ApiUserRow {
    fn new(m: &Member, me: Uuid) -> Self {
        ApiUserRow {
            member: MemberRow::new(m, me),
            description: m.user.description.clone().unwrap_or_default(),
            disabled: m.user.is_disabled(),
            limits: LimitsView::new(m.user.allowed_ips.as_ref(), m.user.rate_limits.as_ref()),
        }
    }
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

async fn list_page(req: &WorkspaceRequest, error: Option<String>) -> WebResult<ApiUsersPage> {
    let slug = req.slug().await?;
    let api_users = req
        .keygate()
        .list_api_users(&req.signed, &req.reference)
        .await?
        .iter()
        .map(|m| ApiUserRow::new(m, req.signed.user.id))
        .collect();
    Ok(ApiUsersPage {
        api_users,
        roles: req.assignable_roles().await?,
        teams: req.team_names().await?,
        error,
        layout: req.layout(&slug, "API users", "api-users").await?,
        slug,
    })
}

pub async fn list(req: WorkspaceRequest) -> WebResult<ApiUsersPage> {
    list_page(&req, None).await
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
    /// Networks or addresses all its tokens may be used from, one per line; empty for anywhere.
    #[serde(default)]
    allowed_ips: String,
    /// `name limit/seconds` for all its tokens together, one per line; empty for no limit.
    #[serde(default)]
    rate_limits: String,
}

/// A secret for an API user, shown once on a page of the API users section.
async fn shown_once(
    req: &WorkspaceRequest,
    title: &str,
    shown: ShownOnce,
) -> WebResult<ShownOncePage> {
    Ok(ShownOncePage {
        layout: req.layout(&req.ws, title, "api-users").await?,
        shown,
    })
}

pub async fn create(req: WorkspaceRequest, Form(form): Form<ApiUserForm>) -> WebResult<Response> {
    let result = match rate_limits(&form.rate_limits) {
        Ok(rate_limits) => {
            let request = ApiUserRequest {
                name: form.name.trim().to_owned(),
                description: filled(&form.description),
                roles: form.roles,
                grants: lines(&form.grants),
                teams: form.teams,
                allowed_ips: allow_list(&form.allowed_ips),
                rate_limits,
            };
            req.keygate()
                .create_api_user(&req.signed, &req.reference, request)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(created) => {
            let user = &created.api_user.user;
            let shown = ShownOnce {
                heading: format!("API user “{}” created", user.display_name),
                secret: created.clear.into_exposed(),
                detail: "This is its first token. Give it to the service that acts as this API \
                         user."
                    .into(),
                back: format!("/w/{}/api-users/{}", req.ws, user.id),
            };
            let page = shown_once(&req, "API user created", shown).await?;
            Ok((StatusCode::CREATED, page).into_response())
        }
        // A role or team the form names that does not exist (any more).
        Err(e @ ServiceError::NotFound(_)) => {
            Ok(again(list_page(&req, Some(e.to_string())).await?))
        }
        Err(e) => refused(e, |error| list_page(&req, Some(error))).await,
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
    req: &WorkspaceRequest,
    id: Uuid,
    error: Option<String>,
) -> WebResult<ApiUserPage> {
    let slug = req.slug().await?;
    let m = req
        .keygate()
        .api_user(&req.signed, &req.reference, id)
        .await?;
    let now = req.keygate().clock().now();
    let tokens = req
        .keygate()
        .api_user_tokens(&req.signed, &req.reference, id)
        .await?
        .iter()
        .map(|t| TokenView::new(t, now, &|id| id.to_string()))
        .collect();
    Ok(ApiUserPage {
        tokens,
        roles: req.assignable_roles().await?,
        teams: req.team_names().await?,
        layout: req.layout(&slug, &m.user.display_name, "api-users").await?,
        slug,
        member_teams: m.teams.iter().map(|t| t.name.clone()).collect(),
        api_user: ApiUserRow::new(&m, req.signed.user.id),
        error,
        tomorrow: tomorrow(now),
    })
}

pub async fn show(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
) -> WebResult<ApiUserPage> {
    show_page(&req, id, None).await
}

pub async fn update(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
    Form(form): Form<ApiUserForm>,
) -> WebResult<Response> {
    let result = match rate_limits(&form.rate_limits) {
        Ok(rate_limits) => {
            let request = ApiUserPatchRequest {
                name: Some(form.name.trim().to_owned()),
                description: Some(form.description.trim().to_owned()),
                roles: Some(form.roles),
                grants: Some(lines(&form.grants)),
                teams: Some(form.teams),
                disabled: Some(form.disabled.is_some()),
                allowed_ips: Some(allow_list(&form.allowed_ips)),
                rate_limits: Some(rate_limits),
            };
            req.keygate()
                .update_api_user(&req.signed, &req.reference, id, request)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => {
            let to = format!("/w/{}/api-users/{id}", req.ws);
            Ok(done(&to, "api-user-saved").into_response())
        }
        Err(e) => refused(e, |error| show_page(&req, id, Some(error))).await,
    }
}

pub async fn delete(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
) -> WebResult<Redirect> {
    req.keygate()
        .delete_api_user(&req.signed, &req.reference, id)
        .await?;
    Ok(done(
        &format!("/w/{}/api-users", req.ws),
        "api-user-deleted",
    ))
}

pub async fn create_token(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
    Form(form): Form<TokenForm>,
) -> WebResult<Response> {
    let result = match form.request(None) {
        Ok(request) => {
            req.keygate()
                .create_api_user_token(&req.signed, &req.reference, id, request)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok((_, clear)) => {
            let shown = ShownOnce {
                heading: "API user token created".into(),
                secret: clear.into_exposed(),
                detail: "It acts as the API user, with the API user's rights.".into(),
                back: format!("/w/{}/api-users/{id}", req.ws),
            };
            let page = shown_once(&req, "Token created", shown).await?;
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(ServiceError::Invalid(e)) => Ok(again(show_page(&req, id, Some(e.to_string())).await?)),
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_token(
    req: WorkspaceRequest,
    Path((_, id, token)): Path<(String, Uuid, Uuid)>,
) -> WebResult<Redirect> {
    req.keygate()
        .revoke_api_user_token(&req.signed, &req.reference, id, token)
        .await?;
    Ok(done(
        &format!("/w/{}/api-users/{id}", req.ws),
        "token-revoked",
    ))
}

pub async fn token_limits(
    req: WorkspaceRequest,
    Path((_, id, token)): Path<(String, Uuid, Uuid)>,
    Form(form): Form<LimitsForm>,
) -> WebResult<Response> {
    let result = match form.patch() {
        Ok(patch) => {
            req.keygate()
                .update_api_user_token(&req.signed, &req.reference, id, token, patch)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => {
            let to = format!("/w/{}/api-users/{id}", req.ws);
            Ok(done(&to, "limits-saved").into_response())
        }
        Err(e) => refused(e, |error| show_page(&req, id, Some(error))).await,
    }
}

pub async fn rotate_token(
    req: WorkspaceRequest,
    Path((_, id, token)): Path<(String, Uuid, Uuid)>,
) -> WebResult<ShownOncePage> {
    let (_, clear) = req
        .keygate()
        .rotate_api_user_token(&req.signed, &req.reference, id, token, 0)
        .await?;
    let shown = ShownOnce {
        heading: "API user token rotated".into(),
        secret: clear.into_exposed(),
        detail: "The old secret stopped working at once.".into(),
        back: format!("/w/{}/api-users/{id}", req.ws),
    };
    shown_once(&req, "Token rotated", shown).await
}
