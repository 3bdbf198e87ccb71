//! Rights in a workspace: resolving the workspace a path names, computing the caller's effective
//! rights, and the checks every management use case makes.

use keygate_domain::model::builtin_role;
use keygate_domain::{
    Manage, Permission, PermissionSet, ResourcePattern, Resources, Rights, Role, Scope, Slug, Team,
    Workspace, WorkspaceRights,
};
use std::sync::Arc;

use keygate_store::Access;
use uuid::Uuid;

use super::cache::WorkspaceKey;
use super::{Actor, Keygate, ServiceError, ServiceResult, WorkspaceRef};

/// 403 naming the management permission unless `rights` hold it.
pub(super) fn require(rights: &Rights, wanted: Manage) -> ServiceResult<()> {
    let wanted = Permission::from(wanted);
    if rights.allows(&wanted, None) {
        Ok(())
    } else {
        Err(ServiceError::forbidden(wanted))
    }
}

/// The caller's standing in a workspace they manage: the workspace, their roles and their
/// effective rights (narrowed by their token's scope).
pub struct Managed {
    pub workspace: Workspace,
    pub rights: Rights,
    pub is_owner: bool,
}

impl Managed {
    /// 403 naming the permission unless the caller holds it.
    pub fn require(&self, wanted: Manage) -> ServiceResult<()> {
        require(&self.rights, wanted)
    }

    /// 403 unless the caller holds everything they would hand out.
    pub fn require_grantable(
        &self,
        permissions: &PermissionSet,
        resources: &Resources,
    ) -> ServiceResult<()> {
        self.rights
            .grantable(permissions, resources)
            .map_err(|what| ServiceError::Forbidden {
                missing: None,
                message: format!("you cannot grant {what}, which you do not hold yourself"),
            })
    }

    /// Roles and grants to hand out, checked: every permission of the roles and every grant must
    /// be the caller's own, and only owners hand out `owner`.
    pub fn require_can_assign(
        &self,
        roles: &[Role],
        grants: &[ResourcePattern],
    ) -> ServiceResult<()> {
        if roles.iter().any(|r| r.name == builtin_role::OWNER) && !self.is_owner {
            return Err(ServiceError::Forbidden {
                missing: None,
                message: "only an owner can make someone an owner".into(),
            });
        }
        let mut permissions = PermissionSet::default();
        for role in roles {
            permissions.extend(&role.permissions);
        }
        self.require_grantable(&permissions, &Resources::from_grants(grants))
    }

    /// 403 unless the caller could grant everything a holder gains by a change from `before` to
    /// `after`: each permission the holder did not hold, on every resource they will reach, and
    /// every permission they will hold, on each resource they did not reach. Giving a role,
    /// joining a team and editing a role a holder has all come down to this.
    pub fn require_can_raise(&self, before: &Rights, after: &Rights) -> ServiceResult<()> {
        let gained: PermissionSet = after
            .permissions
            .iter()
            .filter(|p| !before.permissions.allows(p))
            .cloned()
            .collect();
        // Resources alone hand out nothing: only permissions on them do.
        if gained.iter().next().is_some() {
            self.require_grantable(&gained, &after.resources)?;
        }
        if after.permissions.iter().next().is_none() {
            return Ok(());
        }
        let reached = match (&after.resources, &before.resources) {
            (_, Resources::All) => return Ok(()),
            (Resources::All, Resources::Only(_)) => Resources::All,
            (Resources::Only(patterns), Resources::Only(_)) => Resources::of(
                patterns
                    .iter()
                    .filter(|p| !before.resources.covers(p))
                    .cloned()
                    .collect(),
            ),
        };
        if reached == Resources::Only(Vec::new()) {
            return Ok(());
        }
        self.require_grantable(&after.permissions, &reached)
    }
}

/// What a member holds with these direct roles and grants in these teams: their roles' and
/// their teams' roles' permissions, on their grants and their teams' grants (all resources when
/// they have no grants of their own), as [`Rights::of_member`] computes from the store.
pub(super) fn rights_with(roles: &[Role], grants: &[ResourcePattern], teams: &[&Team]) -> Rights {
    let team_grants: Vec<ResourcePattern> = teams
        .iter()
        .flat_map(|t| t.grants.iter().cloned())
        .collect();
    Rights::of_member(
        roles
            .iter()
            .chain(teams.iter().flat_map(|t| t.roles.iter()))
            .map(|r| &r.permissions),
        grants,
        &team_grants,
    )
}

impl Keygate {
    pub(super) async fn find_workspace(
        &self,
        reference: &WorkspaceRef,
    ) -> ServiceResult<Option<Workspace>> {
        let key = match reference {
            WorkspaceRef::Id(id) => WorkspaceKey::Id(*id),
            // A name that is not a slug names no workspace, and is not kept in the cache.
            WorkspaceRef::Slug(slug) if Slug::parse(slug).is_err() => return Ok(None),
            WorkspaceRef::Slug(slug) => WorkspaceKey::Slug(slug.clone()),
        };
        if let Some(found) = self.cache.workspaces.get(&key).await {
            return Ok(found);
        }
        let generation = self.cache.generation();
        let found = match reference {
            WorkspaceRef::Id(id) => self.store.workspace(*id).await?,
            WorkspaceRef::Slug(slug) => self.store.workspace_by_slug(slug).await?,
        };
        if self.cache.still_current(generation) {
            self.cache.workspaces.insert(key, found.clone()).await;
        }
        Ok(found)
    }

    /// A member's access, through the cache.
    async fn access(&self, workspace: Uuid, user: Uuid) -> ServiceResult<Option<Arc<Access>>> {
        if let Some(found) = self.cache.access.get(&(workspace, user)).await {
            return Ok(found);
        }
        let generation = self.cache.generation();
        let found = self.store.access(workspace, user).await?.map(Arc::new);
        if self.cache.still_current(generation) {
            self.cache
                .access
                .insert((workspace, user), found.clone())
                .await;
        }
        Ok(found)
    }

    /// The actor's rights as a member of `workspace`, narrowed by their token's scope; `None`
    /// when they are not a member or the scope leaves the workspace out.
    pub(super) async fn member_rights(
        &self,
        actor: &Actor,
        workspace: Uuid,
    ) -> ServiceResult<Option<Rights>> {
        let scope = actor.token.as_ref().and_then(|t| t.scope.as_deref());
        if scope.is_some_and(|s| !s.admits_workspace(workspace)) {
            return Ok(None);
        }
        let access = self.access(workspace, actor.user.id).await?;
        Ok(member_rights_of(access.as_deref(), scope, workspace))
    }

    /// What a member holds in `workspace` now, through their roles, teams and grants, before any
    /// token's scope; `None` for a non-member.
    pub(super) async fn held_rights(
        &self,
        workspace: Uuid,
        user: Uuid,
    ) -> ServiceResult<Option<Rights>> {
        Ok(member_rights_of(
            self.access(workspace, user).await?.as_deref(),
            None,
            workspace,
        ))
    }

    /// What the workspace's public role allows anyone.
    pub(super) async fn public_rights(&self, workspace: Uuid) -> ServiceResult<Arc<Rights>> {
        if let Some(found) = self.cache.public.get(&workspace).await {
            return Ok(found);
        }
        let generation = self.cache.generation();
        let role = self.store.role(workspace, builtin_role::PUBLIC).await?;
        let rights = Arc::new(public_rights_of(
            role.map(|r| (r.permissions, r.grants)).as_ref(),
        ));
        if self.cache.still_current(generation) {
            self.cache.public.insert(workspace, rights.clone()).await;
        }
        Ok(rights)
    }

    /// Everything that decides a request in `workspace` for `actor` (or an anonymous caller).
    pub(super) async fn workspace_rights(
        &self,
        actor: Option<&Actor>,
        workspace: Uuid,
    ) -> ServiceResult<WorkspaceRights> {
        let member = match actor {
            Some(actor) => self.member_rights(actor, workspace).await?,
            None => None,
        };
        Ok(WorkspaceRights {
            member,
            public: (*self.public_rights(workspace).await?).clone(),
        })
    }

    /// The workspace a management call names, with the caller's rights in it. A workspace the
    /// caller is not a member of is reported as not found, so its existence does not leak.
    pub(super) async fn managed(
        &self,
        actor: &Actor,
        reference: &WorkspaceRef,
    ) -> ServiceResult<Managed> {
        let workspace = self
            .find_workspace(reference)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))?;
        let rights = self
            .member_rights(actor, workspace.id)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))?;
        let is_owner = self
            .store
            .membership(workspace.id, actor.user.id)
            .await?
            .is_some_and(|m| m.has_role(builtin_role::OWNER));
        Ok(Managed {
            workspace,
            rights,
            is_owner,
        })
    }

    /// The workspace as the caller manages it, when the caller holds `what` there.
    pub(super) async fn managing(
        &self,
        actor: &Actor,
        reference: &WorkspaceRef,
        what: Manage,
    ) -> ServiceResult<Managed> {
        let managed = self.managed(actor, reference).await?;
        managed.require(what)?;
        Ok(managed)
    }

    /// Roles of the workspace by name; an unknown name is a 400 naming it, and `public` cannot be
    /// assigned to anyone.
    pub(super) async fn roles_named(
        &self,
        workspace: Uuid,
        names: &[String],
    ) -> ServiceResult<Vec<Role>> {
        let all = self.store.roles(workspace).await?;
        let mut out = Vec::new();
        for name in names {
            if name == builtin_role::PUBLIC {
                return Err(keygate_domain::ValidationError::new(
                    "roles",
                    "the public role applies to everyone and cannot be assigned",
                )
                .into());
            }
            match all.iter().find(|r| &r.name == name) {
                Some(role) if !out.contains(role) => out.push(role.clone()),
                Some(_) => {}
                None => {
                    return Err(keygate_domain::ValidationError::new(
                        "roles",
                        format!("there is no role `{name}` in this workspace"),
                    )
                    .into());
                }
            }
        }
        Ok(out)
    }
}

/// A member's rights in `workspace` from their `access` (`None` for a non-member), narrowed by
/// the scope of the token they act with; `None` when that scope leaves the workspace out.
pub(super) fn member_rights_of(
    access: Option<&Access>,
    scope: Option<&Scope>,
    workspace: Uuid,
) -> Option<Rights> {
    if scope.is_some_and(|s| !s.admits_workspace(workspace)) {
        return None;
    }
    let held = Rights::of_member(
        &access?.role_permissions,
        &access?.grants,
        &access?.team_grants,
    );
    Some(match scope {
        Some(scope) => held.narrowed(scope),
        None => held,
    })
}

/// What a workspace's public role (its permissions and grants; `None` without one) allows anyone.
pub(super) fn public_rights_of(role: Option<&(PermissionSet, Vec<ResourcePattern>)>) -> Rights {
    match role {
        Some((permissions, grants)) => Rights::of_member([permissions], grants, &[]),
        None => Rights::none(),
    }
}

/// Parses resource grants, naming the first bad one.
pub(super) fn parse_grants(grants: &[String]) -> ServiceResult<Vec<ResourcePattern>> {
    let mut out: Vec<ResourcePattern> = grants
        .iter()
        .map(|g| {
            ResourcePattern::parse(g).map_err(|mut e| {
                e.field = "grants";
                ServiceError::from(e)
            })
        })
        .collect::<Result<_, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Parses permissions, naming the first bad one.
pub(super) fn parse_permissions(permissions: &[String]) -> ServiceResult<PermissionSet> {
    Ok(permissions
        .iter()
        .map(|p| {
            Permission::parse(p).map_err(|mut e| {
                e.field = "permissions";
                ServiceError::from(e)
            })
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .collect())
}
