//! Workspaces: create (the creator becomes owner), list, read, rename, delete.

use keygate_domain::{Manage, Membership, Slug, UserKind, validate};
use keygate_store::{NewWorkspace, WorkspacePatch};
use serde_json::json;
use uuid::Uuid;

use super::{Actor, Keygate, Notice, ServiceError, ServiceResult, Target};

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
    /// `Some(None)` removes the cap.
    pub max_token_lifetime_days: Option<Option<u32>>,
}

impl Keygate {
    pub async fn create_workspace(
        &self,
        actor: &Actor,
        req: NewWorkspaceRequest,
    ) -> ServiceResult<Membership> {
        if actor.user.kind != UserKind::Human {
            return Err(ServiceError::Forbidden {
                missing: None,
                message: "API users cannot create workspaces".into(),
            });
        }
        // A scoped token is narrower than its user: it acts only within what its scope names, and
        // a workspace it creates would be one its scope never named.
        if actor.token.as_ref().is_some_and(|t| t.scope.is_some()) {
            return Err(ServiceError::Forbidden {
                missing: None,
                message: "a scoped token cannot create workspaces; use an unscoped token".into(),
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
        let audit = actor.audit(
            new.created_at,
            Some(new.id),
            "workspace.created",
            Target::new("workspace", new.id),
            json!({ "slug": new.slug, "name": new.name }),
        );
        let ws = self
            .store
            .create_workspace(&new, actor.user.id, &audit)
            .await?;
        self.changed(Notice::Workspace(ws.id)).await;
        self.store
            .membership(ws.id, actor.user.id)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))
    }

    pub async fn list_workspaces(&self, actor: &Actor) -> ServiceResult<Vec<Membership>> {
        let memberships = self.memberships(&actor.user).await?;
        Ok(memberships
            .iter()
            .filter(|m| actor.scope_admits(m.workspace.id))
            .cloned()
            .collect())
    }

    /// The caller's membership in the named workspace. A workspace the caller is not a member of
    /// (or that their token's scope leaves out) is reported as not found.
    pub async fn workspace(
        &self,
        actor: &Actor,
        reference: &WorkspaceRef,
    ) -> ServiceResult<Membership> {
        let managed = self.managed(actor, reference).await?;
        self.store
            .membership(managed.workspace.id, actor.user.id)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))
    }

    pub async fn update_workspace(
        &self,
        actor: &Actor,
        reference: &WorkspaceRef,
        req: WorkspacePatchRequest,
    ) -> ServiceResult<Membership> {
        let managed = self.managing(actor, reference, Manage::Workspace).await?;
        let patch = WorkspacePatch {
            slug: req.slug.as_deref().map(Slug::parse).transpose()?,
            name: req
                .name
                .as_deref()
                .map(|n| validate::name("name", n))
                .transpose()?,
            max_token_lifetime_days: req
                .max_token_lifetime_days
                .map(|days| days.map(max_token_lifetime).transpose())
                .transpose()?,
        };
        let now = self.clock.now();
        let id = managed.workspace.id;
        let audit = actor.audit(
            now,
            Some(id),
            "workspace.updated",
            Target::new("workspace", id),
            json!({
                "slug": patch.slug,
                "name": patch.name,
                "max_token_lifetime_days": patch.max_token_lifetime_days,
            }),
        );
        self.store
            .update_workspace(id, &patch, now, &audit)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))?;
        self.changed(Notice::Workspace(id)).await;
        self.store
            .membership(id, actor.user.id)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))
    }

    /// Deletes the workspace and everything in it. Owners only.
    pub async fn delete_workspace(
        &self,
        actor: &Actor,
        reference: &WorkspaceRef,
    ) -> ServiceResult<()> {
        let managed = self
            .managing(actor, reference, Manage::WorkspaceDelete)
            .await?;
        if !managed.is_owner {
            return Err(ServiceError::Forbidden {
                missing: Some(Manage::WorkspaceDelete.into()),
                message: "only an owner can delete the workspace".into(),
            });
        }
        let id = managed.workspace.id;
        let audit = actor.audit(
            self.clock.now(),
            Some(id),
            "workspace.deleted",
            Target::new("workspace", id),
            json!({ "slug": managed.workspace.slug }),
        );
        self.store.delete_workspace(id, &audit).await?;
        // Its API users and their tokens went with it: forget everything.
        self.changed(Notice::All).await;
        Ok(())
    }
}

/// A workspace's cap on token lifetimes: between one day and the longest lifetime any token has.
fn max_token_lifetime(days: u32) -> ServiceResult<u32> {
    if (1..=super::tokens::MAX_LIFETIME_DAYS).contains(&i64::from(days)) {
        Ok(days)
    } else {
        Err(keygate_domain::ValidationError::new(
            "max_token_lifetime_days",
            format!("must be between 1 and {}", super::tokens::MAX_LIFETIME_DAYS),
        )
        .into())
    }
}
