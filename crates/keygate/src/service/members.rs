//! Members and invitations: invite by email (always an invitation the invitee accepts, whether
//! or not the email has an account), change roles and grants, remove, and accepting: a new
//! person sets a password, an existing user accepts while signed in.

use chrono::Duration;
use keygate_domain::model::builtin_role;
use keygate_domain::token::{code_digest, one_time_code};
use keygate_domain::{
    ClearToken, Email, Invitation, Manage, Member, Role, Token, User, UserKind, Workspace, validate,
};
use keygate_store::{MemberPatch, NewInvitation, NewMembership};
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use super::access::parse_grants;
use super::users::{default_display_name, hash_new_password};
use super::{Acting, Actor, Keygate, Notice, ServiceError, ServiceResult, Target, WorkspaceRef};

/// How long an invitation can be accepted.
pub const INVITATION_LIFETIME_DAYS: i64 = 7;

#[derive(Debug, Clone, Default)]
pub struct InviteRequest {
    pub email: String,
    pub roles: Vec<String>,
    pub grants: Vec<String>,
}

/// What inviting did: a pending invitation, whatever the email. Nobody joins a workspace without
/// accepting, and the answer is the same whether or not the email has an account, so that it
/// tells the inviter nothing about who uses this Keygate.
pub struct Invited {
    pub invitation: Invitation,
    /// Goes in the accept link; shown only now.
    pub code: String,
}

/// A pending invitation addressed to the caller, with the workspace it is for.
pub struct PendingForMe {
    pub invitation: Invitation,
    pub workspace: Workspace,
}

/// An existing user accepted an invitation and is now a member.
pub struct Joined {
    pub member: Member,
    pub workspace: Workspace,
}

#[derive(Debug, Clone, Default)]
pub struct MemberPatchRequest {
    pub roles: Option<Vec<String>>,
    pub grants: Option<Vec<String>>,
}

pub struct AcceptRequest {
    pub password: SecretString,
    pub display_name: Option<String>,
    /// The accepting client's address, for the audit log.
    pub ip: Option<std::net::IpAddr>,
}

pub struct Accepted {
    pub user: User,
    pub workspace: Workspace,
    pub token: Token,
    pub clear: ClearToken,
}

impl Keygate {
    /// The people in the workspace (API users are listed apart). Any member may read it.
    pub async fn list_members(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
    ) -> ServiceResult<Vec<Member>> {
        let managed = self.managed(actor, ws).await?;
        Ok(self
            .store
            .members(managed.workspace.id, Some(UserKind::Human))
            .await?)
    }

    pub async fn member(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        user_id: Uuid,
    ) -> ServiceResult<Member> {
        let managed = self.managed(actor, ws).await?;
        self.human_member(managed.workspace.id, user_id).await
    }

    async fn human_member(&self, workspace: Uuid, user_id: Uuid) -> ServiceResult<Member> {
        self.store
            .member(workspace, user_id)
            .await?
            .filter(|m| m.user.kind == UserKind::Human)
            .ok_or(ServiceError::NotFound("member"))
    }

    /// Invites someone by email. Always a pending invitation: an existing user joins only when
    /// they accept it, and the answer does not say whether the email has an account. Each
    /// caller may send [`super::INVITATIONS_PER_HOUR`] invitations an hour.
    pub async fn invite(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        req: InviteRequest,
    ) -> ServiceResult<Invited> {
        let managed = self.managing(actor, ws, Manage::Members).await?;
        // The code makes an account with a personal token that would outlive the overlap.
        actor.require_current_secret()?;
        self.invites
            .take(actor.user.id)
            .map_err(ServiceError::Throttled)?;
        let workspace = managed.workspace.id;
        let email = Email::parse(&req.email)?;
        let roles = self.roles_named(workspace, &req.roles).await?;
        let grants = parse_grants(&req.grants)?;
        managed.require_can_assign(&roles, &grants)?;
        // Members are visible to every member, so saying that one already is tells nothing new.
        if let Some(user) = self.store.user_by_email(&email).await?
            && self.store.member(workspace, user.id).await?.is_some()
        {
            return Err(ServiceError::conflict(
                "already_member",
                format!("{email} is already a member of this workspace"),
            ));
        }
        let now = self.clock.now();
        let details = json!({ "email": email, "roles": req.roles, "grants": grants });
        let code = self.random_code()?;
        let new = NewInvitation {
            id: Uuid::now_v7(),
            workspace_id: workspace,
            email,
            roles: roles.iter().map(|r| r.name.clone()).collect(),
            grants,
            code_digest: code_digest(&code),
            invited_by: Some(actor.user.id),
            created_at: now,
            expires_at: now + Duration::days(INVITATION_LIFETIME_DAYS),
        };
        let audit = actor.audit(
            now,
            Some(workspace),
            "member.invited",
            Target::new("invitation", new.id),
            details,
        );
        let invitation = self.store.create_invitation(&new, &audit).await?;
        Ok(Invited { invitation, code })
    }

    fn random_code(&self) -> ServiceResult<String> {
        super::from_os_randomness(|fill| one_time_code(fill))
    }

    /// Changes a member's roles and grants. Only owners give or take `owner`, and only owners
    /// change an owner's roles or grants; the store refuses to take the last owner's.
    pub async fn update_member(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        user_id: Uuid,
        req: MemberPatchRequest,
    ) -> ServiceResult<Member> {
        let managed = self.managing(actor, ws, Manage::Members).await?;
        let workspace = managed.workspace.id;
        let current = self.human_member(workspace, user_id).await?;
        if current.has_role(builtin_role::OWNER) && !managed.is_owner {
            return Err(ServiceError::Forbidden {
                missing: None,
                message: "only an owner can change an owner".into(),
            });
        }
        let roles = match &req.roles {
            Some(names) => Some(self.roles_named(workspace, names).await?),
            None => None,
        };
        let grants = req.grants.as_deref().map(parse_grants).transpose()?;
        managed.require_can_assign(
            roles.as_deref().unwrap_or_default(),
            grants.as_deref().unwrap_or(&current.grants),
        )?;
        self.require_member_change_grantable(
            &managed,
            &current,
            roles.as_deref(),
            grants.as_deref(),
            None,
        )
        .await?;
        let patch = MemberPatch {
            role_ids: roles.as_ref().map(|rs| rs.iter().map(|r| r.id).collect()),
            grants,
            team_ids: None,
        };
        let audit = actor.audit(
            self.clock.now(),
            Some(workspace),
            "member.updated",
            Target::new("user", user_id),
            json!({ "roles": req.roles, "grants": patch.grants }),
        );
        self.store
            .update_member(workspace, user_id, &patch, &audit)
            .await?;
        self.changed(Notice::Workspace(workspace)).await;
        self.human_member(workspace, user_id).await
    }

    /// Removes a member (anyone may leave on their own). The last owner cannot be removed.
    pub async fn remove_member(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        user_id: Uuid,
    ) -> ServiceResult<()> {
        let managed = self.managed(actor, ws).await?;
        if user_id != actor.user.id {
            managed.require(Manage::Members)?;
        }
        let workspace = managed.workspace.id;
        let current = self.human_member(workspace, user_id).await?;
        // The store refuses to remove the last owner.
        if current.has_role(builtin_role::OWNER) && !managed.is_owner {
            return Err(ServiceError::Forbidden {
                missing: None,
                message: "only an owner can remove an owner".into(),
            });
        }
        let audit = actor.audit(
            self.clock.now(),
            Some(workspace),
            "member.removed",
            Target::new("user", user_id),
            json!({ "email": current.user.email }),
        );
        self.store.remove_member(workspace, user_id, &audit).await?;
        self.changed(Notice::Workspace(workspace)).await;
        Ok(())
    }

    pub async fn list_invitations(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
    ) -> ServiceResult<Vec<Invitation>> {
        let managed = self.managing(actor, ws, Manage::Members).await?;
        Ok(self.store.invitations(managed.workspace.id).await?)
    }

    pub async fn cancel_invitation(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        id: Uuid,
    ) -> ServiceResult<()> {
        let managed = self.managing(actor, ws, Manage::Members).await?;
        let workspace = managed.workspace.id;
        let audit = actor.audit(
            self.clock.now(),
            Some(workspace),
            "invitation.cancelled",
            Target::new("invitation", id),
            json!({}),
        );
        if self.store.delete_invitation(workspace, id, &audit).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound("invitation"))
        }
    }

    /// A pending, unexpired invitation by its code, with its workspace.
    pub async fn invitation(&self, code: &str) -> ServiceResult<(Invitation, Workspace)> {
        let invitation = self
            .store
            .invitation_by_code(&code_digest(code))
            .await?
            .filter(|i| i.accepted_at.is_none())
            .ok_or(ServiceError::NotFound("invitation"))?;
        if invitation.expires_at <= self.clock.now() {
            return Err(ServiceError::conflict(
                "invitation_expired",
                "this invitation has expired; ask for a new one",
            ));
        }
        let workspace = self
            .store
            .workspace(invitation.workspace_id)
            .await?
            .ok_or(ServiceError::NotFound("invitation"))?;
        Ok((invitation, workspace))
    }

    /// The invited person sets a password; their account, membership and personal token are
    /// created, and the code stops working.
    pub async fn accept_invitation(
        &self,
        code: &str,
        req: AcceptRequest,
    ) -> ServiceResult<Accepted> {
        let (invitation, workspace) = self.invitation(code).await?;
        if self.store.user_by_email(&invitation.email).await?.is_some() {
            return Err(ServiceError::conflict(
                "email_taken",
                "an account with this email exists: sign in with it and accept the invitation",
            ));
        }
        let display_name = match req.display_name.as_deref() {
            Some(n) => validate::name("display_name", n)?,
            None => default_display_name(&invitation.email),
        };
        let password_hash = Some(hash_new_password(req.password).await?);
        // Roles deleted since the invitation was sent are skipped.
        let role_ids = self.invited_role_ids(&invitation, workspace.id).await?;
        let now = self.clock.now();
        let (mut new, clear) =
            self.new_person(invitation.email.clone(), display_name, password_hash, now)?;
        new.membership = Some(NewMembership {
            workspace_id: workspace.id,
            role_ids,
            grants: invitation.grants.clone(),
            team_ids: Vec::new(),
            created_at: now,
        });
        let audit = Acting::newcomer(new.id, &invitation.email, req.ip).audit(
            now,
            Some(workspace.id),
            "invitation.accepted",
            Target::new("invitation", invitation.id),
            json!({ "email": invitation.email, "roles": invitation.roles }),
        );
        let (user, token) = self
            .store
            .accept_invitation(invitation.id, &new, &audit)
            .await?
            .ok_or(ServiceError::NotFound("invitation"))?;
        self.changed(Notice::Workspace(workspace.id)).await;
        Ok(Accepted {
            user,
            workspace,
            token,
            clear,
        })
    }

    /// The ids of the roles the invitation names; roles deleted since it was sent are skipped.
    async fn invited_role_ids(
        &self,
        invitation: &Invitation,
        workspace: Uuid,
    ) -> ServiceResult<Vec<Uuid>> {
        let roles = self.store.roles(workspace).await?;
        Ok(invited_roles(&roles, invitation).map(|r| r.id).collect())
    }

    /// Who may accept invitations for themselves: a person (not an API user), signed in or with
    /// a token that is not limited to some workspaces. Returns their email.
    fn invitee_email(actor: &Actor) -> ServiceResult<&Email> {
        let scoped = actor.token.as_ref().is_some_and(|t| t.scope.is_some());
        if actor.user.kind != UserKind::Human || scoped {
            return Err(ServiceError::Forbidden {
                missing: None,
                message: "only a person's own session or unscoped personal token can accept \
                          invitations"
                    .into(),
            });
        }
        actor.user.email.as_ref().ok_or(ServiceError::Forbidden {
            missing: None,
            message: "this account has no email, so no invitation is addressed to it".into(),
        })
    }

    /// The caller's pending, unexpired invitations (addressed to their email), newest first.
    /// None unless the instance vouches for the caller's email: an account made by open
    /// sign-up, or by accepting an invitation (whose code went to the inviter), proves nothing
    /// about the address, so it does not see what other workspaces send to it.
    pub async fn my_invitations(&self, actor: &Actor) -> ServiceResult<Vec<PendingForMe>> {
        let email = Self::invitee_email(actor)?;
        if !self.store.email_vouched(actor.user.id).await? {
            return Ok(Vec::new());
        }
        self.pending_for(email).await
    }

    /// The pending, unexpired invitations addressed to `email`, with their workspaces.
    async fn pending_for(&self, email: &Email) -> ServiceResult<Vec<PendingForMe>> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for invitation in self.store.invitations_for_email(email).await? {
            if invitation.expires_at <= now {
                continue;
            }
            if let Some(workspace) = self.store.workspace(invitation.workspace_id).await? {
                out.push(PendingForMe {
                    invitation,
                    workspace,
                });
            }
        }
        Ok(out)
    }

    /// An existing user accepts an invitation and joins the workspace with its roles and grants.
    /// `code_or_id` is the code from the link, or the invitation's id (hyphenated, as
    /// [`Self::my_invitations`] lists it) for an invitee who does not hold the link and whose
    /// email the instance vouches for. Only the person the invitation is addressed to can
    /// accept it.
    pub async fn join_with_invitation(
        &self,
        actor: &Actor,
        code_or_id: &str,
    ) -> ServiceResult<Joined> {
        let email = Self::invitee_email(actor)?;
        // Codes are 32 letters and digits: a 36-character id can never be one.
        let by_id = (code_or_id.len() == 36)
            .then(|| Uuid::try_parse(code_or_id).ok())
            .flatten();
        let (invitation, workspace) = match by_id {
            Some(_) if !self.store.email_vouched(actor.user.id).await? => {
                return Err(ServiceError::Forbidden {
                    missing: None,
                    message: "accept with the invitation's link: this account was not made by \
                              an instance admin, so its email is not vouched for"
                        .into(),
                });
            }
            Some(id) => {
                let PendingForMe {
                    invitation,
                    workspace,
                } = self
                    .pending_for(email)
                    .await?
                    .into_iter()
                    .find(|p| p.invitation.id == id)
                    .ok_or(ServiceError::NotFound("invitation"))?;
                (invitation, workspace)
            }
            None => self.invitation(code_or_id).await?,
        };
        if invitation.email != *email {
            return Err(ServiceError::Forbidden {
                missing: None,
                message: "this invitation is addressed to another email".into(),
            });
        }
        self.join(actor, invitation, workspace).await
    }

    async fn join(
        &self,
        actor: &Actor,
        invitation: Invitation,
        workspace: Workspace,
    ) -> ServiceResult<Joined> {
        if self
            .store
            .member(workspace.id, actor.user.id)
            .await?
            .is_some()
        {
            return Err(ServiceError::conflict(
                "already_member",
                "you are already a member of this workspace",
            ));
        }
        let now = self.clock.now();
        let membership = NewMembership {
            workspace_id: workspace.id,
            role_ids: self.invited_role_ids(&invitation, workspace.id).await?,
            grants: invitation.grants.clone(),
            team_ids: Vec::new(),
            created_at: now,
        };
        let audit = actor.audit(
            now,
            Some(workspace.id),
            "invitation.accepted",
            Target::new("invitation", invitation.id),
            json!({ "email": invitation.email, "roles": invitation.roles, "user": actor.user.id }),
        );
        if !self
            .store
            .join_by_invitation(invitation.id, actor.user.id, &membership, &audit)
            .await?
        {
            return Err(ServiceError::NotFound("invitation"));
        }
        self.changed(Notice::Workspace(workspace.id)).await;
        Ok(Joined {
            member: self.human_member(workspace.id, actor.user.id).await?,
            workspace,
        })
    }
}

/// The roles an invitation gives on accepting: the workspace's roles as they are then, by name
/// (roles deleted since it was sent are skipped, and the public role is never given).
pub(super) fn invited_roles<'a>(
    roles: &'a [Role],
    invitation: &'a Invitation,
) -> impl Iterator<Item = &'a Role> {
    roles
        .iter()
        .filter(|r| invitation.roles.contains(&r.name) && r.name != builtin_role::PUBLIC)
}
