//! The home page (your workspaces, invitations waiting for you, a new one), and a workspace's settings: name, slug, the
//! longest token lifetime, and deleting it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use keygate_domain::leak::LeakPolicy;
use serde::Deserialize;

use super::layout::Layout;
use super::request::WorkspaceRequest;
use super::session::Signed;
use super::{Form, WebResult, done, filled, refused};
use crate::http::AppState;
use crate::service::{NewWorkspaceRequest, ServiceError, WorkspacePatchRequest};

pub struct WorkspaceRow {
    pub slug: String,
    pub name: String,
    pub roles: String,
}

/// An invitation waiting for the signed-in person.
pub struct InvitedRow {
    pub id: uuid::Uuid,
    pub workspace: String,
    pub roles: String,
    pub expires: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    layout: Layout,
    /// See [`super::tokens::expiring_in_use`].
    expiring_in_use: Vec<String>,
    workspaces: Vec<WorkspaceRow>,
    invitations: Vec<InvitedRow>,
    error: Option<String>,
    slug: String,
    name: String,
}

async fn home_page(
    state: &AppState,
    signed: &Signed,
    error: Option<String>,
    slug: String,
    name: String,
) -> WebResult<HomePage> {
    let workspaces = state
        .keygate
        .list_workspaces(signed)
        .await?
        .into_iter()
        .map(|m| WorkspaceRow {
            slug: m.workspace.slug.to_string(),
            name: m.workspace.name,
            roles: m.roles.join(", "),
        })
        .collect();
    let pending = match state.keygate.my_invitations(signed).await {
        Ok(pending) => pending,
        Err(ServiceError::Forbidden { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let invitations = pending
        .into_iter()
        .map(|p| InvitedRow {
            id: p.invitation.id,
            workspace: p.workspace.name,
            roles: p.invitation.roles.join(", "),
            expires: super::views::when(p.invitation.expires_at),
        })
        .collect();
    let tokens = state.keygate.list_tokens(&signed.user).await?;
    let now = state.keygate.clock().now();
    Ok(HomePage {
        layout: Layout::signed(state, signed, "Workspaces", "home", None).await?,
        expiring_in_use: super::tokens::expiring_in_use(&tokens, now),
        workspaces,
        invitations,
        error,
        slug,
        name,
    })
}

pub async fn home(State(state): State<AppState>, signed: Signed) -> WebResult<HomePage> {
    home_page(&state, &signed, None, String::new(), String::new()).await
}

#[derive(Deserialize)]
pub struct NewWorkspaceForm {
    slug: String,
    #[serde(default)]
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<NewWorkspaceForm>,
) -> WebResult<Response> {
    let name = form.name.trim().to_owned();
    let request = NewWorkspaceRequest {
        slug: form.slug.trim().to_owned(),
        name: filled(&name),
    };
    match state.keygate.create_workspace(&signed, request).await {
        Ok(m) => Ok(Redirect::to(&format!("/w/{}", m.workspace.slug)).into_response()),
        Err(e) => {
            refused(e, |error| {
                home_page(&state, &signed, Some(error), form.slug, name)
            })
            .await
        }
    }
}

pub async fn overview(Path(ws): Path<String>) -> Redirect {
    Redirect::to(&format!("/w/{}/members", super::encode(&ws)))
}

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    layout: Layout,
    slug: String,
    name: String,
    max_days: String,
    /// `revoke` or `notify`.
    leak_policy: &'static str,
    error: Option<String>,
    is_owner: bool,
}

async fn settings_page(req: &WorkspaceRequest, error: Option<String>) -> WebResult<SettingsPage> {
    let m = req.keygate().workspace(&req.signed, &req.reference).await?;
    let slug = m.workspace.slug.to_string();
    Ok(SettingsPage {
        layout: req.layout(&slug, "Settings", "settings").await?,
        name: m.workspace.name.clone(),
        max_days: m
            .workspace
            .max_token_lifetime_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
        is_owner: m.has_role(keygate_domain::model::builtin_role::OWNER),
        leak_policy: req
            .keygate()
            .leak_policy(&req.signed, &req.reference)
            .await?
            .as_str(),
        slug,
        error,
    })
}

pub async fn settings(req: WorkspaceRequest) -> WebResult<SettingsPage> {
    settings_page(&req, None).await
}

#[derive(Deserialize)]
pub struct SettingsForm {
    name: String,
    slug: String,
    #[serde(default)]
    max_token_lifetime_days: String,
    /// `revoke` or `notify`; left out, unchanged.
    #[serde(default)]
    leak_policy: Option<String>,
}

/// The settings saved: the workspace's, then its leak policy when the form changes it (which
/// needs `workspace:manage` too).
async fn save_workspace(
    req: &WorkspaceRequest,
    patch: WorkspacePatchRequest,
    leak_policy: Option<&str>,
) -> Result<keygate_domain::Membership, ServiceError> {
    let policy = leak_policy
        .map(|p| {
            LeakPolicy::parse(p).ok_or_else(|| {
                ServiceError::from(keygate_domain::ValidationError::new(
                    "leak_policy",
                    "choose revoke or notify",
                ))
            })
        })
        .transpose()?;
    let m = req
        .keygate()
        .update_workspace(&req.signed, &req.reference, patch)
        .await?;
    if let Some(policy) = policy {
        let reference = crate::service::WorkspaceRef::Id(m.workspace.id);
        if req.keygate().leak_policy(&req.signed, &reference).await? != policy {
            req.keygate()
                .set_leak_policy(&req.signed, &reference, policy)
                .await?;
        }
    }
    Ok(m)
}

pub async fn save_settings(
    req: WorkspaceRequest,
    Form(form): Form<SettingsForm>,
) -> WebResult<Response> {
    let max = form.max_token_lifetime_days.trim();
    let max_token_lifetime_days = if max.is_empty() {
        Ok(None)
    } else {
        max.parse::<u32>().map(Some).map_err(|_| {
            ServiceError::from(keygate_domain::ValidationError::new(
                "max_token_lifetime_days",
                "must be a number of days, or empty for no limit",
            ))
        })
    };
    let result = match max_token_lifetime_days {
        Ok(days) => {
            let patch = WorkspacePatchRequest {
                slug: Some(form.slug.trim().to_owned()),
                name: Some(form.name.trim().to_owned()),
                max_token_lifetime_days: Some(days),
            };
            save_workspace(&req, patch, form.leak_policy.as_deref()).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(m) => {
            let to = format!("/w/{}/settings", m.workspace.slug);
            Ok(done(&to, "workspace-saved").into_response())
        }
        Err(e) => refused(e, |error| settings_page(&req, Some(error))).await,
    }
}

pub async fn delete(req: WorkspaceRequest) -> WebResult<Redirect> {
    req.keygate()
        .delete_workspace(&req.signed, &req.reference)
        .await?;
    Ok(Redirect::to("/"))
}
