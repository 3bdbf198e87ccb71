//! The frame every page shares: the signed-in person, navigation by workspace, the CSRF token
//! forms carry, and the notice a redirect left ("Token revoked.").

use super::session::Signed;
use super::views::email;
use super::{WebResult, assets};
use crate::http::AppState;

pub struct NavWorkspace {
    pub slug: String,
    pub name: String,
}

pub struct Layout {
    pub title: String,
    /// Display name and email; none on signed-out pages.
    pub person: Option<(String, String)>,
    pub workspaces: Vec<NavWorkspace>,
    /// The workspace the page is about.
    pub current: Option<NavWorkspace>,
    /// Which navigation entry is current: `tokens`, `account`, `members`, ...
    pub section: &'static str,
    pub csrf: String,
    pub notice: Option<&'static str>,
    /// Whether the person administers the instance: the Administration section shows.
    pub instance_admin: bool,
}

impl Layout {
    /// For pages shown to anyone (sign-in, errors).
    pub fn bare(title: &str) -> Self {
        Layout {
            title: title.to_owned(),
            person: None,
            workspaces: Vec::new(),
            current: None,
            section: "",
            csrf: String::new(),
            notice: None,
            instance_admin: false,
        }
    }

    /// For a page with a form that anyone may open (sign-in, invitation, password link), with
    /// the form's CSRF token.
    pub fn signed_out_form(title: &str, csrf: String) -> Self {
        Layout {
            csrf,
            ..Layout::bare(title)
        }
    }

    /// For a signed-in page; `workspace` is the slug the page is about.
    pub async fn signed(
        state: &AppState,
        signed: &Signed,
        title: &str,
        section: &'static str,
        workspace: Option<&str>,
    ) -> WebResult<Self> {
        let memberships = state.keygate.list_workspaces(signed).await?;
        let workspaces: Vec<NavWorkspace> = memberships
            .iter()
            .map(|m| NavWorkspace {
                slug: m.workspace.slug.to_string(),
                name: m.workspace.name.clone(),
            })
            .collect();
        let current = workspace.and_then(|slug| {
            workspaces
                .iter()
                .find(|w| w.slug == slug)
                .map(|w| NavWorkspace {
                    slug: w.slug.clone(),
                    name: w.name.clone(),
                })
        });
        let user = &signed.user;
        Ok(Layout {
            title: title.to_owned(),
            person: Some((user.display_name.clone(), email(user))),
            workspaces,
            current,
            section,
            csrf: signed.csrf.clone(),
            notice: signed.notice,
            instance_admin: user.is_instance_admin,
        })
    }

    pub fn asset(&self, name: &str) -> String {
        assets::url(name)
    }

    pub fn is(&self, section: &str) -> bool {
        self.section == section
    }

    pub fn is_current(&self, slug: &str) -> bool {
        self.current.as_ref().is_some_and(|c| c.slug == slug)
    }
}
