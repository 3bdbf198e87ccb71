//! Roles: the built-in ones, custom roles, and the public role that anonymous callers get.

use keygate_domain::model::builtin_role;
use keygate_domain::{
    Invitation, Manage, Permission, PermissionSet, Resources, Rights, Role, Team, ValidationError,
    validate,
};
use keygate_store::{NewRole, RolePatch};
use serde_json::json;
use uuid::Uuid;

use super::access::{Managed, parse_grants, parse_permissions, rights_with};
use super::members::invited_roles;
use super::{Actor, Keygate, Notice, ServiceError, ServiceResult, Target, WorkspaceRef};

#[derive(Debug, Clone, Default)]
pub struct RoleRequest {
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RoleUpdateRequest {
    pub description: Option<String>,
    pub permissions: Vec<String>,
    /// The public role only.
    pub grants: Option<Vec<String>>,
}

/// Role names: 2–63 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter.
fn role_name(s: &str) -> Result<String, ValidationError> {
    let valid = (2..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(s.to_owned())
    } else {
        Err(ValidationError::new(
            "name",
            "must be 2 to 63 characters of a-z, 0-9, `-` and `_`, starting with a letter",
        ))
    }
}

impl Keygate {
    /// The workspace's roles, built-in first. Any member may read them.
    pub async fn list_roles(&self, actor: &Actor, ws: &WorkspaceRef) -> ServiceResult<Vec<Role>> {
        let managed = self.managed(actor, ws).await?;
        Ok(self.store.roles(managed.workspace.id).await?)
    }

    pub async fn role(&self, actor: &Actor, ws: &WorkspaceRef, name: &str) -> ServiceResult<Role> {
        let managed = self.managed(actor, ws).await?;
        self.store
            .role(managed.workspace.id, name)
            .await?
            .ok_or(ServiceError::NotFound("role"))
    }

    /// A custom role. Its permissions must all be the creator's own.
    pub async fn create_role(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        req: RoleRequest,
    ) -> ServiceResult<Role> {
        let managed = self.managing(actor, ws, Manage::Roles).await?;
        let name = role_name(&req.name)?;
        if builtin_role::is_builtin(&name) {
            return Err(ServiceError::conflict(
                "role_exists",
                format!("`{name}` is a built-in role"),
            ));
        }
        let description = validate::optional_description(req.description.as_deref())?;
        let permissions = parse_permissions(&req.permissions)?;
        managed.require_grantable(&permissions, &Resources::Only(Vec::new()))?;
        self.require_invitees_grantable(&managed, &name, &permissions)
            .await?;
        let now = self.clock.now();
        let new = NewRole {
            id: Uuid::now_v7(),
            workspace_id: managed.workspace.id,
            name,
            description,
            permissions,
            created_at: now,
        };
        let audit = actor.audit(
            now,
            Some(new.workspace_id),
            "role.created",
            Target::new("role", &new.name),
            json!({ "permissions": new.permissions }),
        );
        Ok(self.store.create_role(&new, &audit).await?)
    }

    /// Replaces a custom role's permissions (and description), or sets the public role. The
    /// other built-in roles cannot change.
    pub async fn update_role(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        name: &str,
        req: RoleUpdateRequest,
    ) -> ServiceResult<Role> {
        let managed = self.managing(actor, ws, Manage::Roles).await?;
        let workspace = managed.workspace.id;
        let existing = self
            .store
            .role(workspace, name)
            .await?
            .ok_or(ServiceError::NotFound("role"))?;
        let is_public = existing.name == builtin_role::PUBLIC;
        if existing.builtin && !is_public {
            return Err(ServiceError::conflict(
                "builtin_role",
                format!(
                    "the built-in role `{name}` cannot be changed; create a custom role instead"
                ),
            ));
        }
        let permissions = parse_permissions(&req.permissions)?;
        let grants = match (&req.grants, is_public) {
            (Some(g), true) => Some(parse_grants(g)?),
            (None, true) => Some(Vec::new()),
            (Some(_), false) => {
                return Err(ValidationError::new(
                    "grants",
                    "only the public role has resource grants; give grants to members, teams and API users",
                )
                .into());
            }
            (None, false) => None,
        };
        if is_public {
            require_no_management(&permissions)?;
        }
        let resources = match &grants {
            Some(g) => Resources::from_grants(g),
            None => Resources::Only(Vec::new()),
        };
        managed.require_grantable(&permissions, &resources)?;
        if !is_public {
            self.require_holders_grantable(&managed, &existing, &permissions)
                .await?;
            self.require_invitees_grantable(&managed, &existing.name, &permissions)
                .await?;
        }
        let description = match &req.description {
            Some(d) => Some(validate::description(d)?),
            None => None,
        };
        let patch = RolePatch {
            description,
            permissions: Some(permissions),
            grants,
        };
        let now = self.clock.now();
        let action = if is_public {
            "public_role.updated"
        } else {
            "role.updated"
        };
        let audit = actor.audit(
            now,
            Some(workspace),
            action,
            Target::new("role", name),
            json!({ "permissions": patch.permissions, "grants": patch.grants }),
        );
        let role = self
            .store
            .update_role(workspace, name, &patch, now, &audit)
            .await?
            .ok_or(ServiceError::NotFound("role"))?;
        self.changed(Notice::Workspace(workspace)).await;
        Ok(role)
    }

    /// Checks that every holder of `role` (members and API users holding it directly or through
    /// a team) gains from its new `permissions` only what the caller could grant them, over the
    /// resources they reach (all of them for a holder without grants of their own).
    async fn require_holders_grantable(
        &self,
        managed: &Managed,
        role: &Role,
        permissions: &PermissionSet,
    ) -> ServiceResult<()> {
        let workspace = managed.workspace.id;
        let edited = |r: &Role| -> Role {
            if r.id == role.id {
                Role {
                    permissions: permissions.clone(),
                    ..r.clone()
                }
            } else {
                r.clone()
            }
        };
        let teams = self.store.teams(workspace).await?;
        let teams_then: Vec<Team> = teams
            .iter()
            .map(|t| Team {
                roles: t.roles.iter().map(edited).collect(),
                ..t.clone()
            })
            .collect();
        for member in self.store.members(workspace, None).await? {
            let id = member.user.id;
            let now: Vec<&Team> = teams.iter().filter(|t| t.members.contains(&id)).collect();
            let holds = member.roles.iter().any(|r| r.id == role.id)
                || now.iter().any(|t| t.roles.iter().any(|r| r.id == role.id));
            if !holds {
                continue;
            }
            let then: Vec<&Team> = teams_then
                .iter()
                .filter(|t| t.members.contains(&id))
                .collect();
            let roles_then: Vec<Role> = member.roles.iter().map(edited).collect();
            managed.require_can_raise(
                &rights_with(&member.roles, &member.grants, &now),
                &rights_with(&roles_then, &member.grants, &then),
            )?;
        }
        Ok(())
    }

    /// Checks that each person with a pending invitation naming the role `name` gains, when that
    /// role carries `permissions`, only what the caller could grant them: accepting gives the
    /// invited roles as they are then, by name, over the invitation's grants (all resources when
    /// it has none). Editing a role, or deleting it and creating another of the same name, comes
    /// down to this.
    async fn require_invitees_grantable(
        &self,
        managed: &Managed,
        name: &str,
        permissions: &PermissionSet,
    ) -> ServiceResult<()> {
        let workspace = managed.workspace.id;
        let now = self.clock.now();
        let invitations: Vec<Invitation> = self
            .store
            .invitations(workspace)
            .await?
            .into_iter()
            .filter(|i| i.expires_at > now && i.roles.iter().any(|r| r == name))
            .collect();
        if invitations.is_empty() {
            return Ok(());
        }
        let roles = self.store.roles(workspace).await?;
        for invitation in &invitations {
            let before = invited_roles(&roles, invitation).map(|r| &r.permissions);
            let after = invited_roles(&roles, invitation)
                .filter(|r| r.name != name)
                .map(|r| &r.permissions)
                .chain([permissions]);
            managed.require_can_raise(
                &Rights::of_member(before, &invitation.grants, &[]),
                &Rights::of_member(after, &invitation.grants, &[]),
            )?;
        }
        Ok(())
    }

    pub async fn delete_role(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        name: &str,
    ) -> ServiceResult<()> {
        let managed = self.managing(actor, ws, Manage::Roles).await?;
        let workspace = managed.workspace.id;
        if builtin_role::is_builtin(name) {
            return Err(ServiceError::conflict(
                "builtin_role",
                format!("the built-in role `{name}` cannot be deleted"),
            ));
        }
        let audit = actor.audit(
            self.clock.now(),
            Some(workspace),
            "role.deleted",
            Target::new("role", name),
            json!({}),
        );
        if self.store.delete_role(workspace, name, &audit).await? {
            self.changed(Notice::Workspace(workspace)).await;
            Ok(())
        } else {
            Err(ServiceError::NotFound("role"))
        }
    }
}

/// The public role opens the platform's API, never Keygate's management.
fn require_no_management(permissions: &keygate_domain::PermissionSet) -> ServiceResult<()> {
    for p in permissions.iter() {
        if let Some(m) = Manage::ALL
            .into_iter()
            .map(Permission::from)
            .find(|m| p.covers(m))
        {
            return Err(ValidationError::new(
                "permissions",
                format!("the public role cannot hold `{p}`: it would include the management permission `{m}`"),
            )
            .into());
        }
    }
    Ok(())
}
