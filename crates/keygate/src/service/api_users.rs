//! API users: service accounts inside one workspace, with their own roles, grants and teams, and
//! their `kga_` tokens.

use keygate_domain::{
    AllowedIps, ClearToken, Manage, Member, RateLimit, RateLimits, Rights, Scope, Token, TokenKind,
    UserKind, validate,
};
use keygate_store::{MemberPatch, NewMembership, NewToken, NewUser, UserPatch};
use serde_json::json;
use uuid::Uuid;

use super::access::{parse_grants, parse_permissions, rights_with};
use super::tokens::{
    NewTokenRequest, TokenPatchRequest, default_expiry, held_within, within_lifetime,
};
use super::{Actor, Keygate, Notice, ServiceError, ServiceResult, Target, WorkspaceRef};

#[derive(Debug, Clone, Default)]
pub struct ApiUserRequest {
    pub name: String,
    pub description: Option<String>,
    pub roles: Vec<String>,
    pub grants: Vec<String>,
    /// Teams by id or name.
    pub teams: Vec<String>,
    /// Networks (CIDR) or addresses all its tokens may be used from; `None` for anywhere.
    pub allowed_ips: Option<Vec<String>>,
    /// How often all its tokens together may be used; `None`: no limit.
    pub rate_limits: Option<Vec<RateLimit>>,
}

#[derive(Debug, Clone, Default)]
pub struct ApiUserPatchRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub roles: Option<Vec<String>>,
    pub grants: Option<Vec<String>>,
    pub teams: Option<Vec<String>>,
    pub disabled: Option<bool>,
    /// A new allow-list for all its tokens (`Some(None)`: anywhere).
    pub allowed_ips: Option<Option<Vec<String>>>,
    /// New rate limits for all its tokens together (`Some(None)`: none).
    pub rate_limits: Option<Option<Vec<RateLimit>>>,
}

/// A new API user with its first token, shown once.
pub struct CreatedApiUser {
    pub api_user: Member,
    pub token: Token,
    pub clear: ClearToken,
}

impl Keygate {
    async fn api_user_in(&self, workspace: Uuid, id: Uuid) -> ServiceResult<Member> {
        self.store
            .member(workspace, id)
            .await?
            .filter(|m| m.user.kind == UserKind::Api && m.user.workspace_id == Some(workspace))
            .ok_or(ServiceError::NotFound("API user"))
    }

    /// What the API user (a member of its workspace) holds there now, without any token's scope.
    async fn api_user_rights(&self, workspace: Uuid, id: Uuid) -> ServiceResult<Rights> {
        Ok(self
            .held_rights(workspace, id)
            .await?
            .unwrap_or_else(Rights::none))
    }

    pub async fn list_api_users(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
    ) -> ServiceResult<Vec<Member>> {
        let managed = self.managing(actor, ws, Manage::ApiUsers).await?;
        Ok(self
            .store
            .members(managed.workspace.id, Some(UserKind::Api))
            .await?)
    }

    pub async fn api_user(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        id: Uuid,
    ) -> ServiceResult<Member> {
        let managed = self.managing(actor, ws, Manage::ApiUsers).await?;
        self.api_user_in(managed.workspace.id, id).await
    }

    pub async fn create_api_user(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        req: ApiUserRequest,
    ) -> ServiceResult<CreatedApiUser> {
        actor.require_current_secret()?;
        let managed = self.managing(actor, ws, Manage::ApiUsers).await?;
        let workspace = managed.workspace.id;
        let name = validate::name("name", &req.name)?;
        let description = validate::optional_description(req.description.as_deref())?;
        let allowed_ips = req
            .allowed_ips
            .as_deref()
            .map(AllowedIps::parse)
            .transpose()?;
        let rate_limits = req.rate_limits.clone().map(RateLimits::new).transpose()?;
        let roles = self.roles_named(workspace, &req.roles).await?;
        require_no_owner(&roles)?;
        let grants = parse_grants(&req.grants)?;
        managed.require_can_assign(&roles, &grants)?;
        let teams = self.teams_named(workspace, &req.teams).await?;
        // Its teams' roles and grants are the API user's too.
        managed.require_can_raise(
            &Rights::none(),
            &rights_with(&roles, &grants, &teams.iter().collect::<Vec<_>>()),
        )?;
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let clear = self.generate(TokenKind::Api)?;
        let new = NewUser {
            id,
            kind: UserKind::Api,
            email: None,
            display_name: name,
            description,
            workspace_id: Some(workspace),
            password_hash: None,
            is_instance_admin: false,
            email_vouched: false,
            created_at: now,
            allowed_ips,
            rate_limits,
            first_token: NewToken {
                name: Some("default".into()),
                expires_at: default_expiry(&managed.workspace, now),
                ..self.token_row(id, &clear, now)
            },
            own_workspace: None,
            membership: Some(NewMembership {
                workspace_id: workspace,
                role_ids: roles.iter().map(|r| r.id).collect(),
                grants,
                team_ids: teams.iter().map(|t| t.id).collect(),
                created_at: now,
            }),
        };
        let audit = actor.audit(
            now,
            Some(workspace),
            "api_user.created",
            Target::new("user", id),
            json!({
                "name": new.display_name,
                "roles": req.roles,
                "grants": req.grants,
                "teams": teams.iter().map(|t| &t.name).collect::<Vec<_>>(),
                "token": new.first_token.hint,
                "allowed_ips": new.allowed_ips.as_ref().map(AllowedIps::to_strings),
                "rate_limits": new.rate_limits.as_ref().map(RateLimits::limits),
            }),
        );
        let (_, token) = self.store.create_user(&new, &audit).await?;
        self.changed(Notice::Workspace(workspace)).await;
        Ok(CreatedApiUser {
            api_user: self.api_user_in(workspace, id).await?,
            token,
            clear,
        })
    }

    /// Changes an API user. Disabling it (or deleting it) stops all its tokens at once.
    pub async fn update_api_user(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        id: Uuid,
        req: ApiUserPatchRequest,
    ) -> ServiceResult<Member> {
        let managed = self.managing(actor, ws, Manage::ApiUsers).await?;
        let workspace = managed.workspace.id;
        let current = self.api_user_in(workspace, id).await?;
        let now = self.clock.now();
        let user_patch = UserPatch {
            display_name: req
                .name
                .as_deref()
                .map(|n| validate::name("name", n))
                .transpose()?,
            description: match &req.description {
                Some(d) => Some(validate::description(d)?),
                None => None,
            },
            disabled_at: req
                .disabled
                .map(|disabled| disabled.then(|| current.user.disabled_at.unwrap_or(now))),
            allowed_ips: req
                .allowed_ips
                .as_ref()
                .map(|list| list.as_deref().map(AllowedIps::parse).transpose())
                .transpose()?,
            rate_limits: req
                .rate_limits
                .clone()
                .map(|limits| limits.map(RateLimits::new).transpose())
                .transpose()?,
        };
        if actor.user.id == id {
            require_no_looser_own_limits(&current.user, &user_patch)?;
        }
        let roles = match &req.roles {
            Some(names) => Some(self.roles_named(workspace, names).await?),
            None => None,
        };
        if let Some(roles) = &roles {
            require_no_owner(roles)?;
        }
        let grants = req.grants.as_deref().map(parse_grants).transpose()?;
        managed.require_can_assign(
            roles.as_deref().unwrap_or_default(),
            grants.as_deref().unwrap_or(&current.grants),
        )?;
        let teams = match &req.teams {
            Some(refs) => Some(self.teams_named(workspace, refs).await?),
            None => None,
        };
        self.require_member_change_grantable(
            &managed,
            &current,
            roles.as_deref(),
            grants.as_deref(),
            teams.as_deref(),
        )
        .await?;
        let details = json!({
            "name": user_patch.display_name,
            "disabled": req.disabled,
            "roles": req.roles,
            "grants": grants,
            "teams": req.teams,
        });
        let mut details = details;
        if let Some(list) = &user_patch.allowed_ips {
            details["allowed_ips"] = json!(list.as_ref().map(AllowedIps::to_strings));
        }
        if let Some(limits) = &user_patch.rate_limits {
            details["rate_limits"] = json!(limits.as_ref().map(RateLimits::limits));
        }
        let member_patch = MemberPatch {
            role_ids: roles.map(|rs| rs.iter().map(|r| r.id).collect()),
            grants,
            team_ids: teams.map(|ts| ts.iter().map(|t| t.id).collect()),
        };
        let changes_user = user_patch.display_name.is_some()
            || user_patch.description.is_some()
            || user_patch.disabled_at.is_some()
            || user_patch.allowed_ips.is_some()
            || user_patch.rate_limits.is_some();
        let changes_membership = member_patch.role_ids.is_some()
            || member_patch.grants.is_some()
            || member_patch.team_ids.is_some();
        let audit = || {
            actor.audit(
                now,
                Some(workspace),
                "api_user.updated",
                Target::new("user", id),
                details.clone(),
            )
        };
        if changes_user {
            self.store
                .update_user(id, &user_patch, now, &audit())
                .await?;
        }
        if changes_membership {
            self.store
                .update_member(workspace, id, &member_patch, &audit())
                .await?;
        }
        self.changed(Notice::User(id)).await;
        self.changed(Notice::Workspace(workspace)).await;
        self.api_user_in(workspace, id).await
    }

    pub async fn delete_api_user(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        id: Uuid,
    ) -> ServiceResult<()> {
        let managed = self.managing(actor, ws, Manage::ApiUsers).await?;
        let workspace = managed.workspace.id;
        let api_user = self.api_user_in(workspace, id).await?;
        let audit = actor.audit(
            self.clock.now(),
            Some(workspace),
            "api_user.deleted",
            Target::new("user", id),
            json!({ "name": api_user.user.display_name }),
        );
        self.store.delete_user(id, &audit).await?;
        self.changed(Notice::User(id)).await;
        self.changed(Notice::Workspace(workspace)).await;
        Ok(())
    }

    pub async fn api_user_tokens(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        id: Uuid,
    ) -> ServiceResult<Vec<Token>> {
        let managed = self.managing(actor, ws, Manage::ApiUsers).await?;
        let api_user = self.api_user_in(managed.workspace.id, id).await?;
        self.list_tokens(&api_user.user).await
    }

    /// Another token for the API user, optionally narrower. Its rights must be ones the caller
    /// could grant.
    pub async fn create_api_user_token(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        id: Uuid,
        req: NewTokenRequest,
    ) -> ServiceResult<(Token, ClearToken)> {
        actor.require_current_secret()?;
        let managed = self.managing(actor, ws, Manage::ApiUsers).await?;
        let workspace = managed.workspace.id;
        let api_user = self.api_user_in(workspace, id).await?;
        let now = self.clock.now();
        let settings = self.token_settings(&req, now)?;
        within_lifetime(&managed.workspace, now, settings.expires_at)?;
        let held = self.api_user_rights(workspace, id).await?;
        let scope = match &req.scope {
            None => None,
            Some(requested) => {
                let permissions = requested
                    .permissions
                    .as_deref()
                    .map(parse_permissions)
                    .transpose()?;
                let resources = requested
                    .resources
                    .as_deref()
                    .map(parse_grants)
                    .transpose()?;
                if let Some(p) = permissions
                    .iter()
                    .flat_map(|s| s.iter())
                    .find(|p| !held.permissions.allows(p))
                {
                    return Err(keygate_domain::ValidationError::new(
                        "scope",
                        format!("asks for permission `{p}`, which the API user does not hold"),
                    )
                    .into());
                }
                if let Some(r) = resources
                    .iter()
                    .flatten()
                    .find(|r| !held.resources.covers(r))
                {
                    return Err(keygate_domain::ValidationError::new(
                        "scope",
                        format!("asks for resource `{r}`, which the API user does not hold"),
                    )
                    .into());
                }
                Some(Scope {
                    workspaces: Some(vec![workspace]),
                    permissions,
                    resources,
                })
            }
        };
        let effective = match &scope {
            Some(s) => held.narrowed(s),
            None => held,
        };
        managed.require_grantable(&effective.permissions, &effective.resources)?;
        // The API user's own token binds what it makes here as on its own routes: the new token
        // inherits its allow-list and rate limits.
        let operator = Actor::operator(api_user.user);
        let holder = if actor.user.id == operator.user.id {
            actor
        } else {
            &operator
        };
        let (row, clear) = self.new_token(holder, &req, settings, scope, now)?;
        let audit = actor.audit(
            now,
            Some(workspace),
            "token.created",
            Target::new("token", row.id),
            json!({
                "owner": id,
                "name": row.name,
                "hint": row.hint,
                "expires_at": row.expires_at,
                "allowed_ips": row.allowed_ips.as_ref().map(AllowedIps::to_strings),
                "rate_limits": row.rate_limits.as_ref().map(RateLimits::limits),
            }),
        );
        let token = self.store.insert_token(&row, &audit).await?;
        Ok((token, clear))
    }

    pub async fn revoke_api_user_token(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        id: Uuid,
        token_id: Uuid,
    ) -> ServiceResult<Token> {
        let managed = self.managing(actor, ws, Manage::ApiUsers).await?;
        let api_user = self.api_user_in(managed.workspace.id, id).await?;
        self.revoke_token_of(actor, &api_user.user, token_id, Some(managed.workspace.id))
            .await
    }

    /// Changes one of the API user's tokens: where it may be used from (within the API user's
    /// own list, if it has one) and how often.
    pub async fn update_api_user_token(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        id: Uuid,
        token_id: Uuid,
        req: TokenPatchRequest,
    ) -> ServiceResult<Token> {
        let managed = self.managing(actor, ws, Manage::ApiUsers).await?;
        let api_user = self.api_user_in(managed.workspace.id, id).await?;
        self.update_token_of(
            actor,
            &api_user.user,
            token_id,
            Some(managed.workspace.id),
            req,
        )
        .await
    }

    pub async fn rotate_api_user_token(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        id: Uuid,
        token_id: Uuid,
        grace_seconds: u32,
    ) -> ServiceResult<(Token, ClearToken)> {
        let managed = self.managing(actor, ws, Manage::ApiUsers).await?;
        let workspace = managed.workspace.id;
        let api_user = self.api_user_in(workspace, id).await?;
        // Rotating hands the caller the token's rights: they must be grantable by the caller.
        let held = self.api_user_rights(workspace, id).await?;
        let token = self.token(&api_user.user, token_id).await?;
        let effective = match &token.scope {
            Some(s) => held.narrowed(s),
            None => held,
        };
        managed.require_grantable(&effective.permissions, &effective.resources)?;
        self.rotate_token_of(
            actor,
            &api_user.user,
            token_id,
            Some(workspace),
            grace_seconds,
        )
        .await
    }
}

/// An API user changing itself (with one of its own tokens) may tighten where its tokens work
/// from and how often, never loosen it: its lists bind it, not it them.
fn require_no_looser_own_limits(
    user: &keygate_domain::User,
    patch: &UserPatch,
) -> ServiceResult<()> {
    let now = (user.allowed_ips.as_ref(), user.rate_limits.as_ref());
    let then = (
        patch.allowed_ips.as_ref().map_or(now.0, Option::as_ref),
        patch.rate_limits.as_ref().map_or(now.1, Option::as_ref),
    );
    if !held_within(now, then) {
        return Err(ServiceError::Forbidden {
            missing: None,
            message: "an API user cannot lift or loosen its own allowed_ips or rate limits; a \
                      manager of API users can"
                .into(),
        });
    }
    Ok(())
}

/// Owners are people: the last-owner rule counts them, and an owner can be asked who they are.
fn require_no_owner(roles: &[keygate_domain::Role]) -> ServiceResult<()> {
    if roles
        .iter()
        .any(|r| r.name == keygate_domain::model::builtin_role::OWNER)
    {
        return Err(keygate_domain::ValidationError::new(
            "roles",
            "the owner role is for people; give an API user `admin` or a custom role",
        )
        .into());
    }
    Ok(())
}
