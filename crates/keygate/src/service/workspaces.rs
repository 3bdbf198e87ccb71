//! Workspaces: create (the creator becomes owner), list, read, rename, delete.

use keygate_domain::model::builtin_role;
use keygate_domain::{Membership, Permission, Slug, UserKind, validate};
use keygate_store::{NewWorkspace, WorkspacePatch};
use uuid::Uuid;

use super::{Keygate, Principal, ServiceError, ServiceResult};

/// How a path names a workspace: by id or by slug. Slugs can never parse as UUIDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceRef {
    Id(Uuid),
    Slug(String),
}

impl WorkspaceRef {
    pub fn parse(s: &str) -> Self {
        match Uuid::try_parse(s) {
            Ok(id) => WorkspaceRef::Id(id),
            Err(_) => WorkspaceRef::Slug(s.to_owned()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewWorkspaceRequest {
    pub slug: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkspacePatchRequest {
    pub slug: Option<String>,
    pub name: Option<String>,
}

const MANAGE: &str = "workspace:manage";
const DELETE: &str = "workspace:delete";

fn permission(s: &'static str) -> Permission {
    Permission::parse(s).unwrap_or_else(|_| unreachable!("`{s}` is a valid permission"))
}

impl Keygate {
    pub async fn create_workspace(
        &self,
        principal: &Principal,
        req: NewWorkspaceRequest,
    ) -> ServiceResult<Membership> {
        if principal.user.kind != UserKind::Human {
            return Err(ServiceError::Forbidden {
                missing: None,
                message: "API users cannot create workspaces".into(),
            });
        }
        let slug = Slug::parse(&req.slug)?;
        let name = match req.name.as_deref() {
            Some(n) => validate::name("name", n)?,
            None => slug.to_string(),
        };
        let new = NewWorkspace {
            id: Uuid::now_v7(),
            slug,
            name,
            created_at: self.clock.now(),
        };
        let ws = self.store.create_workspace(&new, principal.user.id).await?;
        tracing::info!(user = %principal.user.id, workspace = %ws.id, "workspace created");
        self.store
            .membership(ws.id, principal.user.id)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))
    }

    pub async fn list_workspaces(&self, principal: &Principal) -> ServiceResult<Vec<Membership>> {
        self.memberships(&principal.user).await
    }

    /// The caller's membership in the named workspace. A workspace the caller is not a member of
    /// is reported as not found, so that its existence does not leak across tenants.
    pub async fn workspace(
        &self,
        principal: &Principal,
        reference: &WorkspaceRef,
    ) -> ServiceResult<Membership> {
        let ws = match reference {
            WorkspaceRef::Id(id) => self.store.workspace(*id).await?,
            WorkspaceRef::Slug(slug) => self.store.workspace_by_slug(slug).await?,
        }
        .ok_or(ServiceError::NotFound("workspace"))?;
        self.store
            .membership(ws.id, principal.user.id)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))
    }

    pub async fn update_workspace(
        &self,
        principal: &Principal,
        reference: &WorkspaceRef,
        req: WorkspacePatchRequest,
    ) -> ServiceResult<Membership> {
        let membership = self.workspace(principal, reference).await?;
        require(&membership, MANAGE)?;
        let patch = WorkspacePatch {
            slug: req.slug.as_deref().map(Slug::parse).transpose()?,
            name: req
                .name
                .as_deref()
                .map(|n| validate::name("name", n))
                .transpose()?,
        };
        let ws = self
            .store
            .update_workspace(membership.workspace.id, &patch, self.clock.now())
            .await?
            .ok_or(ServiceError::NotFound("workspace"))?;
        tracing::info!(user = %principal.user.id, workspace = %ws.id, "workspace updated");
        Ok(Membership {
            workspace: ws,
            ..membership
        })
    }

    /// Deletes the workspace and everything in it. Owners only.
    pub async fn delete_workspace(
        &self,
        principal: &Principal,
        reference: &WorkspaceRef,
    ) -> ServiceResult<()> {
        let membership = self.workspace(principal, reference).await?;
        require(&membership, DELETE)?;
        if !membership.has_role(builtin_role::OWNER) {
            return Err(ServiceError::Forbidden {
                missing: Some(permission(DELETE)),
                message: "only an owner can delete the workspace".into(),
            });
        }
        self.store.delete_workspace(membership.workspace.id).await?;
        tracing::info!(user = %principal.user.id, workspace = %membership.workspace.id, "workspace deleted");
        Ok(())
    }
}

fn require(membership: &Membership, wanted: &'static str) -> ServiceResult<()> {
    let wanted = permission(wanted);
    if membership.allows(&wanted) {
        Ok(())
    } else {
        Err(ServiceError::forbidden(wanted))
    }
}
