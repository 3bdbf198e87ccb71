//! Teams: named groups of members (people and API users) whose roles and grants apply to each
//! member.

use keygate_domain::{Manage, Member, ResourcePattern, Role, Team, ValidationError, validate};
use keygate_store::{NewTeam, TeamPatch};
use serde_json::json;
use uuid::Uuid;

use super::access::{Managed, parse_grants, rights_with};
use super::{Actor, Keygate, Notice, ServiceError, ServiceResult, Target, WorkspaceRef};

#[derive(Debug, Clone, Default)]
pub struct TeamRequest {
    pub name: String,
    pub description: Option<String>,
    pub roles: Vec<String>,
    pub grants: Vec<String>,
    /// User ids of members (people or API users).
    pub members: Vec<Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct TeamPatchRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub roles: Option<Vec<String>>,
    pub grants: Option<Vec<String>>,
    pub members: Option<Vec<Uuid>>,
}

/// Team names: a display name that is never a UUID, so a path can name a team either way.
fn team_name(s: &str) -> Result<String, ValidationError> {
    let name = validate::name("name", s)?;
    if Uuid::try_parse(&name).is_ok() {
        return Err(ValidationError::new("name", "must not be a UUID"));
    }
    Ok(name)
}

impl Keygate {
    pub async fn list_teams(&self, actor: &Actor, ws: &WorkspaceRef) -> ServiceResult<Vec<Team>> {
        let managed = self.managed(actor, ws).await?;
        Ok(self.store.teams(managed.workspace.id).await?)
    }

    /// A team by id or name.
    pub(super) async fn find_team(&self, workspace: Uuid, reference: &str) -> ServiceResult<Team> {
        let found = match Uuid::try_parse(reference) {
            Ok(id) => self.store.team(workspace, id).await?,
            Err(_) => self
                .store
                .teams(workspace)
                .await?
                .into_iter()
                .find(|t| t.name == reference),
        };
        found.ok_or(ServiceError::NotFound("team"))
    }

    /// Teams by id or name; an unknown one is a 400 naming it.
    pub(super) async fn teams_named(
        &self,
        workspace: Uuid,
        references: &[String],
    ) -> ServiceResult<Vec<Team>> {
        let mut out: Vec<Team> = Vec::new();
        for reference in references {
            match self.find_team(workspace, reference).await {
                Ok(team) if !out.iter().any(|t| t.id == team.id) => out.push(team),
                Ok(_) => {}
                Err(ServiceError::NotFound(_)) => {
                    return Err(ValidationError::new(
                        "teams",
                        format!("there is no team `{reference}` in this workspace"),
                    )
                    .into());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    pub async fn team(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        reference: &str,
    ) -> ServiceResult<Team> {
        let managed = self.managed(actor, ws).await?;
        self.find_team(managed.workspace.id, reference).await
    }

    /// Checks that every id names a member of the workspace.
    async fn require_members(&self, workspace: Uuid, ids: &[Uuid]) -> ServiceResult<()> {
        let members = self.store.members(workspace, None).await?;
        match ids
            .iter()
            .find(|id| !members.iter().any(|m| m.user.id == **id))
        {
            Some(id) => Err(ValidationError::new(
                "members",
                format!("user {id} is not a member of this workspace"),
            )
            .into()),
            None => Ok(()),
        }
    }

    /// Checks that every member of `changed` (a team as it is about to be) gains only what the
    /// caller could grant them: joining a team, or a team changing, hands its members the team's
    /// roles over everything they reach and its grants under every permission they hold.
    pub(super) async fn require_team_grantable(
        &self,
        managed: &Managed,
        changed: &Team,
    ) -> ServiceResult<()> {
        let workspace = managed.workspace.id;
        let teams = self.store.teams(workspace).await?;
        let members = self.store.members(workspace, None).await?;
        for member in members
            .iter()
            .filter(|m| changed.members.contains(&m.user.id))
        {
            let now: Vec<&Team> = teams
                .iter()
                .filter(|t| t.members.contains(&member.user.id))
                .collect();
            let then: Vec<&Team> = now
                .iter()
                .copied()
                .filter(|t| t.id != changed.id)
                .chain(std::iter::once(changed))
                .collect();
            managed.require_can_raise(
                &rights_with(&member.roles, &member.grants, &now),
                &rights_with(&member.roles, &member.grants, &then),
            )?;
        }
        Ok(())
    }

    /// Checks that a member (a person or an API user) whose roles, grants or teams become the
    /// ones given (`None`: as they are) gains only what the caller could grant: new roles over
    /// everything they reach, new teams' roles and grants, wider grants under all they hold.
    pub(super) async fn require_member_change_grantable(
        &self,
        managed: &Managed,
        current: &Member,
        roles: Option<&[Role]>,
        grants: Option<&[ResourcePattern]>,
        teams: Option<&[Team]>,
    ) -> ServiceResult<()> {
        let all = self.store.teams(managed.workspace.id).await?;
        let current_teams: Vec<&Team> = all
            .iter()
            .filter(|t| current.teams.iter().any(|c| c.id == t.id))
            .collect();
        let new_teams: Vec<&Team> = match teams {
            Some(teams) => teams.iter().collect(),
            None => current_teams.clone(),
        };
        managed.require_can_raise(
            &rights_with(&current.roles, &current.grants, &current_teams),
            &rights_with(
                roles.unwrap_or(&current.roles),
                grants.unwrap_or(&current.grants),
                &new_teams,
            ),
        )
    }

    /// Roles and grants a team would hand its members, checked against the caller's own.
    async fn team_rights(
        &self,
        managed: &Managed,
        roles: &[String],
        grants: &[String],
    ) -> ServiceResult<(
        Vec<keygate_domain::Role>,
        Vec<keygate_domain::ResourcePattern>,
    )> {
        let roles = self.roles_named(managed.workspace.id, roles).await?;
        if roles
            .iter()
            .any(|r| r.name == keygate_domain::model::builtin_role::OWNER)
        {
            // Owners are people named one by one: the last-owner rule counts them.
            return Err(ValidationError::new(
                "roles",
                "the owner role is given to members directly, not through a team",
            )
            .into());
        }
        let grants = parse_grants(grants)?;
        // A team's grants only add to members who have grants of their own, so they are checked
        // as given; its roles apply over whatever those members reach.
        managed.require_can_assign(&roles, &[])?;
        managed.require_grantable(
            &keygate_domain::PermissionSet::default(),
            &keygate_domain::Resources::of(grants.clone()),
        )?;
        Ok((roles, grants))
    }

    pub async fn create_team(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        req: TeamRequest,
    ) -> ServiceResult<Team> {
        let managed = self.managing(actor, ws, Manage::Teams).await?;
        let workspace = managed.workspace.id;
        let name = team_name(&req.name)?;
        let description = validate::optional_description(req.description.as_deref())?;
        let (roles, grants) = self.team_rights(&managed, &req.roles, &req.grants).await?;
        self.require_members(workspace, &req.members).await?;
        if self.find_team(workspace, &name).await.is_ok() {
            return Err(ServiceError::conflict(
                "team_exists",
                format!("a team named `{name}` already exists"),
            ));
        }
        let now = self.clock.now();
        let new = NewTeam {
            id: Uuid::now_v7(),
            workspace_id: workspace,
            name,
            description,
            role_ids: roles.iter().map(|r| r.id).collect(),
            grants,
            member_ids: req.members,
            created_at: now,
        };
        let to_be = Team {
            id: new.id,
            workspace_id: workspace,
            name: new.name.clone(),
            description: new.description.clone(),
            roles,
            grants: new.grants.clone(),
            members: new.member_ids.clone(),
            created_at: now,
            updated_at: now,
        };
        self.require_team_grantable(&managed, &to_be).await?;
        let audit = actor.audit(
            now,
            Some(workspace),
            "team.created",
            Target::new("team", new.id),
            json!({ "name": new.name, "roles": req.roles, "grants": new.grants, "members": new.member_ids }),
        );
        let team = self.store.create_team(&new, &audit).await?;
        self.changed(Notice::Workspace(workspace)).await;
        Ok(team)
    }

    pub async fn update_team(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        reference: &str,
        req: TeamPatchRequest,
    ) -> ServiceResult<Team> {
        let managed = self.managing(actor, ws, Manage::Teams).await?;
        let workspace = managed.workspace.id;
        let team = self.find_team(workspace, reference).await?;
        let name = req.name.as_deref().map(team_name).transpose()?;
        if let Some(name) = &name
            && *name != team.name
            && self.find_team(workspace, name).await.is_ok()
        {
            return Err(ServiceError::conflict(
                "team_exists",
                format!("a team named `{name}` already exists"),
            ));
        }
        let current_roles: Vec<String> = team.roles.iter().map(|r| r.name.clone()).collect();
        let current_grants: Vec<String> = team.grants.iter().map(ToString::to_string).collect();
        let (roles, grants) = self
            .team_rights(
                &managed,
                req.roles.as_deref().unwrap_or(&current_roles),
                req.grants.as_deref().unwrap_or(&current_grants),
            )
            .await?;
        if let Some(members) = &req.members {
            self.require_members(workspace, members).await?;
        }
        let role_ids = roles.iter().map(|r| r.id).collect();
        let to_be = Team {
            roles,
            grants: grants.clone(),
            members: req.members.clone().unwrap_or_else(|| team.members.clone()),
            ..team.clone()
        };
        self.require_team_grantable(&managed, &to_be).await?;
        let patch = TeamPatch {
            name,
            description: match &req.description {
                Some(d) => Some(validate::description(d)?),
                None => None,
            },
            role_ids: req.roles.as_ref().map(|_| role_ids),
            grants: req.grants.as_ref().map(|_| grants),
            member_ids: req.members.clone(),
        };
        let now = self.clock.now();
        let audit = actor.audit(
            now,
            Some(workspace),
            "team.updated",
            Target::new("team", team.id),
            json!({ "name": patch.name, "roles": req.roles, "grants": patch.grants, "members": patch.member_ids }),
        );
        let team = self
            .store
            .update_team(workspace, team.id, &patch, now, &audit)
            .await?
            .ok_or(ServiceError::NotFound("team"))?;
        self.changed(Notice::Workspace(workspace)).await;
        Ok(team)
    }

    /// Adds or removes one member of a team.
    pub async fn set_team_member(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        reference: &str,
        user_id: Uuid,
        present: bool,
    ) -> ServiceResult<Team> {
        let managed = self.managed(actor, ws).await?;
        let team = self.find_team(managed.workspace.id, reference).await?;
        let mut members = team.members.clone();
        members.retain(|m| *m != user_id);
        if present {
            members.push(user_id);
        } else if members.len() == team.members.len() {
            return Err(ServiceError::NotFound("team member"));
        }
        self.update_team(
            actor,
            ws,
            &team.id.to_string(),
            TeamPatchRequest {
                members: Some(members),
                ..TeamPatchRequest::default()
            },
        )
        .await
    }

    pub async fn delete_team(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        reference: &str,
    ) -> ServiceResult<()> {
        let managed = self.managing(actor, ws, Manage::Teams).await?;
        let workspace = managed.workspace.id;
        let team = self.find_team(workspace, reference).await?;
        let audit = actor.audit(
            self.clock.now(),
            Some(workspace),
            "team.deleted",
            Target::new("team", team.id),
            json!({ "name": team.name }),
        );
        self.store.delete_team(workspace, team.id, &audit).await?;
        self.changed(Notice::Workspace(workspace)).await;
        Ok(())
    }
}
