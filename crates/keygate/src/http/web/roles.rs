//! A workspace's roles: the built-in ones, custom roles with a permission picker, and the public
//! role, which says what anonymous callers may do.

use std::collections::BTreeSet;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use keygate_domain::model::builtin_role;
use keygate_domain::{Manage, Role};
use serde::Deserialize;

use super::layout::Layout;
use super::request::WorkspaceRequest;
use super::{Form, WebResult, done, encode, filled, lines, refused};
use crate::service::{RoleRequest, RoleUpdateRequest};

pub struct RoleRow {
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub grants: Vec<String>,
    pub builtin: bool,
    pub public: bool,
}

impl RoleRow {
    fn new(r: &Role) -> Self {
        RoleRow {
            name: r.name.clone(),
            description: r.description.clone().unwrap_or_default(),
            permissions: r.permissions.iter().map(ToString::to_string).collect(),
            grants: r.grants.iter().map(ToString::to_string).collect(),
            builtin: r.builtin,
            public: r.name == builtin_role::PUBLIC,
        }
    }

    /// Custom roles and the public role can be changed; the other built-in roles cannot.
    pub fn editable(&self) -> bool {
        !self.builtin || self.public
    }

    pub fn has(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}

/// The permissions a picker offers: every permission some role of the workspace already uses,
/// and Keygate's own management permissions.
fn known_permissions(roles: &[Role]) -> Vec<String> {
    let mut set: BTreeSet<String> = Manage::ALL.iter().map(|m| m.as_str().to_owned()).collect();
    for r in roles {
        for p in r.permissions.iter() {
            let p = p.to_string();
            if p != "*" {
                set.insert(p);
            }
        }
    }
    set.into_iter().collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "roles.html")]
pub struct RolesPage {
    layout: Layout,
    slug: String,
    roles: Vec<RoleRow>,
    known: Vec<String>,
    error: Option<String>,
}

async fn roles_page(req: &WorkspaceRequest, error: Option<String>) -> WebResult<RolesPage> {
    let slug = req.slug().await?;
    let roles = req
        .keygate()
        .list_roles(&req.signed, &req.reference)
        .await?;
    Ok(RolesPage {
        layout: req.layout(&slug, "Roles", "roles").await?,
        slug,
        known: known_permissions(&roles),
        roles: roles.iter().map(RoleRow::new).collect(),
        error,
    })
}

pub async fn list(req: WorkspaceRequest) -> WebResult<RolesPage> {
    roles_page(&req, None).await
}

/// The picker's ticked permissions and the free-text ones, together.
#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    other_permissions: String,
    #[serde(default)]
    grants: String,
}

impl RoleForm {
    fn permissions(&self) -> Vec<String> {
        let mut all = self.permissions.clone();
        for p in lines(&self.other_permissions) {
            if !all.contains(&p) {
                all.push(p);
            }
        }
        all
    }
}

pub async fn create(req: WorkspaceRequest, Form(form): Form<RoleForm>) -> WebResult<Response> {
    let request = RoleRequest {
        name: form.name.trim().to_owned(),
        description: filled(&form.description),
        permissions: form.permissions(),
    };
    match req
        .keygate()
        .create_role(&req.signed, &req.reference, request)
        .await
    {
        Ok(_) => Ok(done(&format!("/w/{}/roles", req.ws), "role-created").into_response()),
        Err(e) => refused(e, |error| roles_page(&req, Some(error))).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "role.html")]
pub struct RolePage {
    layout: Layout,
    slug: String,
    role: RoleRow,
    known: Vec<String>,
    error: Option<String>,
}

impl RolePage {
    /// Permissions of the role the picker does not offer, for the free-text field.
    fn other_permissions(&self) -> String {
        self.role
            .permissions
            .iter()
            .filter(|p| !self.known.contains(p))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn role_page(
    req: &WorkspaceRequest,
    name: &str,
    error: Option<String>,
) -> WebResult<RolePage> {
    let slug = req.slug().await?;
    let roles = req
        .keygate()
        .list_roles(&req.signed, &req.reference)
        .await?;
    let role = req
        .keygate()
        .role(&req.signed, &req.reference, name)
        .await?;
    let role = RoleRow::new(&role);
    let mut known = known_permissions(&roles);
    if role.public {
        // Anonymous callers never manage anything: the picker does not offer it.
        known.retain(|p| !Manage::ALL.iter().any(|m| m.as_str() == p));
    }
    Ok(RolePage {
        layout: req.layout(&slug, &role.name, "roles").await?,
        slug,
        role,
        known,
        error,
    })
}

pub async fn edit(
    req: WorkspaceRequest,
    Path((_, name)): Path<(String, String)>,
) -> WebResult<RolePage> {
    role_page(&req, &name, None).await
}

pub async fn save(
    req: WorkspaceRequest,
    Path((_, name)): Path<(String, String)>,
    Form(form): Form<RoleForm>,
) -> WebResult<Response> {
    let is_public = name == builtin_role::PUBLIC;
    let request = RoleUpdateRequest {
        description: Some(form.description.trim().to_owned()),
        permissions: form.permissions(),
        grants: is_public.then(|| lines(&form.grants)),
    };
    match req
        .keygate()
        .update_role(&req.signed, &req.reference, &name, request)
        .await
    {
        Ok(_) => {
            let to = format!("/w/{}/roles/{}", req.ws, encode(&name));
            Ok(done(&to, "role-saved").into_response())
        }
        Err(e) => refused(e, |error| role_page(&req, &name, Some(error))).await,
    }
}

pub async fn delete(
    req: WorkspaceRequest,
    Path((_, name)): Path<(String, String)>,
) -> WebResult<Redirect> {
    req.keygate()
        .delete_role(&req.signed, &req.reference, &name)
        .await?;
    Ok(done(&format!("/w/{}/roles", req.ws), "role-deleted"))
}
