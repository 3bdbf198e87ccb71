//! A signed-in person's request about one workspace (`/w/{ws}/...`): what every handler of a
//! workspace's pages starts from, and what those pages load about the workspace.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use keygate_domain::model::builtin_role;

use super::WebResult;
use super::layout::Layout;
use super::session::Signed;
use crate::http::AppState;
use crate::http::extract::WorkspaceParam;
use crate::service::{Keygate, WorkspaceRef};

pub struct WorkspaceRequest {
    pub state: AppState,
    pub signed: Signed,
    /// The workspace as the path names it, by slug or id; links back keep that name.
    pub ws: String,
    pub reference: WorkspaceRef,
}

impl FromRequestParts<AppState> for WorkspaceRequest {
    type Rejection = Response;

    /// Who is signed in comes first: a signed-out visit goes to the sign-in page whatever the
    /// path holds.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let signed = Signed::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(WorkspaceParam { ws }) = Path::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(WorkspaceRequest {
            state: state.clone(),
            signed,
            reference: WorkspaceRef::parse(&ws),
            ws,
        })
    }
}

impl WorkspaceRequest {
    pub fn keygate(&self) -> &Keygate {
        &self.state.keygate
    }

    /// The workspace's slug, for a page's links; a workspace the person cannot see is an error
    /// page.
    pub async fn slug(&self) -> WebResult<String> {
        let membership = self
            .keygate()
            .workspace(&self.signed, &self.reference)
            .await?;
        Ok(membership.workspace.slug.to_string())
    }

    /// The frame of a page about this workspace, which the navigation shows as current.
    pub async fn layout(
        &self,
        slug: &str,
        title: &str,
        section: &'static str,
    ) -> WebResult<Layout> {
        Layout::signed(&self.state, &self.signed, title, section, Some(slug)).await
    }

    /// The roles a member, team or API user can be given: all but the public role, which
    /// anonymous callers get.
    pub async fn assignable_roles(&self) -> WebResult<Vec<String>> {
        let roles = self
            .keygate()
            .list_roles(&self.signed, &self.reference)
            .await?;
        Ok(roles
            .into_iter()
            .filter(|r| r.name != builtin_role::PUBLIC)
            .map(|r| r.name)
            .collect())
    }

    /// The names of the workspace's teams.
    pub async fn team_names(&self) -> WebResult<Vec<String>> {
        let teams = self
            .keygate()
            .list_teams(&self.signed, &self.reference)
            .await?;
        Ok(teams.into_iter().map(|t| t.name).collect())
    }
}
