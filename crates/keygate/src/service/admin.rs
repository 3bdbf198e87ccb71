//! Instance administration and sign-up: an instance admin creates, lists, disables, enables and
//! deletes users and issues tokens for them, so a platform's own sign-up can provision its users'
//! accounts; open self sign-up, when the deployment allows it, creates one account for the caller.

use chrono::{DateTime, Duration, Utc};
use keygate_domain::token::{code_digest, one_time_code};
use keygate_domain::{ClearToken, Token, User, UserKind, Workspace, model::builtin_role};
use keygate_store::{NewPasswordLink, UserFilter, UserPatch};
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use super::tokens::NewTokenRequest;
use super::users::{NewHuman, hash_new_password, password_hash};
use super::{Actor, Keygate, Notice, ServiceError, ServiceResult, Target};

/// Users per page unless asked otherwise, and at most.
pub const DEFAULT_USER_PAGE: u32 = 50;
pub const MAX_USER_PAGE: u32 = 500;

/// A person's account to create.
#[derive(Debug, Clone, Default)]
pub struct NewUserRequest {
    pub email: String,
    pub display_name: Option<String>,
    /// Without one, the person cannot sign in to the web UI; their personal token works.
    pub password: Option<SecretString>,
    /// Slug of a workspace to create with the user as its owner.
    pub workspace: Option<String>,
    pub instance_admin: bool,
    /// Also make a one-time link with which the person sets their password.
    pub password_link: bool,
}

/// What becomes of the workspaces a deleted user is the last owner of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orphans {
    /// The deletion is refused (`409 last_owner`).
    Refuse,
    /// They are deleted with everything in them.
    Delete,
    /// This person becomes their owner.
    HandOverTo(Uuid),
}

/// A new account with its personal token, shown once.
pub struct CreatedUser {
    pub user: User,
    pub workspace: Option<Workspace>,
    pub token: Token,
    pub clear: ClearToken,
    pub password_link: Option<PasswordLink>,
}

/// A one-time link with which a person sets their password: the code goes in the URL and is
/// shown only now.
pub struct PasswordLink {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// How long a password link works.
const PASSWORD_LINK_DAYS: i64 = 7;

#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub kind: Option<UserKind>,
    pub search: Option<String>,
    pub disabled: Option<bool>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    pub limit: Option<u32>,
}

pub struct UserPage {
    pub users: Vec<User>,
    /// Present when more users follow.
    pub next_cursor: Option<Uuid>,
}

/// Instance administration is for people who are instance admins, through a token that is not
/// scoped (a scope narrows workspace rights, and cannot express "some of the instance").
pub(super) fn require_instance_admin(actor: &Actor) -> ServiceResult<()> {
    if !actor.user.is_instance_admin {
        return Err(ServiceError::Forbidden {
            missing: None,
            message: "only instance admins administer users".into(),
        });
    }
    if actor.token.as_ref().is_some_and(|t| t.scope.is_some()) {
        return Err(ServiceError::Forbidden {
            missing: None,
            message: "a scoped token cannot administer users; use an unscoped token".into(),
        });
    }
    Ok(())
}

impl Keygate {
    async fn user_by_id(&self, id: Uuid) -> ServiceResult<User> {
        self.store
            .user(id)
            .await?
            .ok_or(ServiceError::NotFound("user"))
    }

    /// Creates a person's account with their personal token, optionally a password and a
    /// workspace they own. Instance admins only.
    pub async fn admin_create_user(
        &self,
        actor: &Actor,
        req: NewUserRequest,
    ) -> ServiceResult<CreatedUser> {
        actor.require_current_secret()?;
        require_instance_admin(actor)?;
        if req.password_link && req.password.is_some() {
            return Err(keygate_domain::ValidationError::new(
                "password_link",
                "give either a password or password_link, not both",
            )
            .into());
        }
        let mut created = self
            .create_human(NewHuman {
                email: &req.email,
                display_name: req.display_name.as_deref(),
                password_hash: password_hash(req.password).await?,
                workspace: req.workspace.as_deref(),
                instance_admin: req.instance_admin,
                email_vouched: true,
                actor: Some(actor),
                ip: actor.ip,
                action: "user.created",
            })
            .await?;
        tracing::info!(user = %created.user.id, "user created by an instance admin");
        if req.password_link {
            created.password_link = Some(self.admin_password_link(actor, created.user.id).await?);
        }
        Ok(created)
    }

    /// Open sign-up: the caller's own account, with a password, their personal token and
    /// optionally a workspace they own. Only when the deployment allows it; every attempt counts
    /// against the client address like a failed sign-in, so it cannot be used to mass-create
    /// accounts.
    pub async fn sign_up(
        &self,
        email: &str,
        password: SecretString,
        display_name: Option<&str>,
        workspace: Option<&str>,
        ip: Option<std::net::IpAddr>,
    ) -> ServiceResult<CreatedUser> {
        self.gate(ip)?;
        if !self.policy.signup {
            return Err(ServiceError::Forbidden {
                missing: None,
                message: "sign-up is turned off on this Keygate; ask an instance admin for an \
                          account"
                    .into(),
            });
        }
        if let Some(ip) = ip {
            self.throttle.failed(ip);
        }
        let password_hash = Some(hash_new_password(password).await?);
        let created = self
            .create_human(NewHuman {
                email,
                display_name,
                password_hash,
                workspace,
                instance_admin: false,
                email_vouched: false,
                actor: None,
                ip,
                action: "user.signed_up",
            })
            .await?;
        tracing::info!(user = %created.user.id, "user signed up");
        Ok(created)
    }

    /// One page of users, oldest first. Instance admins only.
    pub async fn admin_list_users(
        &self,
        actor: &Actor,
        query: &UserQuery,
    ) -> ServiceResult<UserPage> {
        require_instance_admin(actor)?;
        let limit = query
            .limit
            .unwrap_or(DEFAULT_USER_PAGE)
            .clamp(1, MAX_USER_PAGE);
        let search = query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let filter = UserFilter {
            kind: query.kind,
            search: search.map(str::to_owned),
            disabled: query.disabled,
            after: query.cursor,
            // One more than asked, to know whether another page follows.
            limit: limit + 1,
        };
        let mut users = self.store.list_users(&filter).await?;
        let next_cursor = if users.len() > limit as usize {
            users.truncate(limit as usize);
            users.last().map(|u| u.id)
        } else {
            None
        };
        Ok(UserPage { users, next_cursor })
    }

    pub async fn admin_user(&self, actor: &Actor, id: Uuid) -> ServiceResult<User> {
        require_instance_admin(actor)?;
        self.user_by_id(id).await
    }

    /// Disables or enables a user. A disabled user's tokens and web sessions stop working at
    /// once, on every node; enabling brings them back (revoked tokens stay revoked).
    pub async fn admin_set_disabled(
        &self,
        actor: &Actor,
        id: Uuid,
        disabled: bool,
    ) -> ServiceResult<User> {
        require_instance_admin(actor)?;
        if disabled && id == actor.user.id {
            return Err(ServiceError::conflict(
                "own_account",
                "you cannot disable your own account",
            ));
        }
        let current = self.user_by_id(id).await?;
        if current.is_disabled() == disabled {
            return Ok(current);
        }
        let now = self.clock.now();
        let action = if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        };
        let audit = actor.audit(
            now,
            current.workspace_id,
            action,
            Target::new("user", id),
            json!({ "email": current.email, "name": current.display_name }),
        );
        let patch = UserPatch {
            disabled_at: Some(disabled.then_some(now)),
            ..UserPatch::default()
        };
        let user = self
            .store
            .update_user(id, &patch, now, &audit)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        self.changed(Notice::User(id)).await;
        Ok(user)
    }

    /// Deletes a user with their tokens, sessions and memberships. Refused for the caller's own
    /// account. A workspace the user is the last owner of would be left with nobody to run it:
    /// refused (`last_owner`) unless `orphans` says what becomes of it, deleted or handed over
    /// to another person, in the same step.
    pub async fn admin_delete_user(
        &self,
        actor: &Actor,
        id: Uuid,
        orphans: Orphans,
    ) -> ServiceResult<()> {
        require_instance_admin(actor)?;
        if id == actor.user.id {
            return Err(ServiceError::conflict(
                "own_account",
                "you cannot delete your own account",
            ));
        }
        let user = self.user_by_id(id).await?;
        let heir = match orphans {
            Orphans::HandOverTo(heir) if heir == id => {
                return Err(keygate_domain::ValidationError::new(
                    "hand_over_to",
                    "cannot hand workspaces over to the user being deleted",
                )
                .into());
            }
            Orphans::HandOverTo(heir) => {
                let heir = self.user_by_id(heir).await?;
                if heir.kind != UserKind::Human || heir.is_disabled() {
                    return Err(keygate_domain::ValidationError::new(
                        "hand_over_to",
                        "workspaces are handed over to a person whose account is enabled",
                    )
                    .into());
                }
                Some(heir)
            }
            _ => None,
        };
        let mut orphaned = Vec::new();
        for membership in self.store.memberships(id).await? {
            if !membership.has_role(builtin_role::OWNER) {
                continue;
            }
            let others = self
                .store
                .members(membership.workspace.id, Some(UserKind::Human))
                .await?
                .into_iter()
                .any(|m| m.user.id != id && m.has_role(builtin_role::OWNER));
            if !others {
                orphaned.push(membership.workspace);
            }
        }
        if let (Some(workspace), Orphans::Refuse) = (orphaned.first(), orphans) {
            return Err(ServiceError::conflict(
                "last_owner",
                format!(
                    "{} is the last owner of workspace `{}`: make someone else an owner, or say \
                     what becomes of it (orphaned_workspaces=delete, or hand_over_to=USER_ID)",
                    user.email
                        .as_ref()
                        .map_or_else(|| user.display_name.clone(), ToString::to_string),
                    workspace.slug
                ),
            ));
        }
        let now = self.clock.now();
        for workspace in &orphaned {
            match &heir {
                Some(heir) => self.hand_over(actor, workspace, heir, id, now).await?,
                None => {
                    let audit = actor.audit(
                        now,
                        Some(workspace.id),
                        "workspace.deleted",
                        Target::new("workspace", workspace.id),
                        json!({ "slug": workspace.slug.as_str(), "with_owner": id }),
                    );
                    self.store.delete_workspace(workspace.id, &audit).await?;
                }
            }
            self.changed(Notice::Workspace(workspace.id)).await;
        }
        let audit = actor.audit(
            now,
            user.workspace_id,
            "user.deleted",
            Target::new("user", id),
            json!({ "email": user.email, "name": user.display_name, "kind": user.kind.as_str() }),
        );
        if !self.store.delete_user(id, &audit).await? {
            return Err(ServiceError::NotFound("user"));
        }
        self.changed(Notice::User(id)).await;
        if let Some(workspace) = user.workspace_id {
            self.changed(Notice::Workspace(workspace)).await;
        }
        Ok(())
    }

    /// Makes `heir` an owner of `workspace` (a member with their roles kept, or a new member),
    /// before its last owner `from` is deleted.
    async fn hand_over(
        &self,
        actor: &Actor,
        workspace: &Workspace,
        heir: &User,
        from: Uuid,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let owner = self
            .store
            .role(workspace.id, builtin_role::OWNER)
            .await?
            .ok_or_else(|| ServiceError::internal("a workspace without its owner role"))?;
        let audit = actor.audit(
            now,
            Some(workspace.id),
            "workspace.handed_over",
            Target::new("user", heir.id),
            json!({ "slug": workspace.slug.as_str(), "from": from, "roles": [builtin_role::OWNER] }),
        );
        match self.store.member(workspace.id, heir.id).await? {
            Some(member) => {
                let mut role_ids: Vec<Uuid> = member.roles.iter().map(|r| r.id).collect();
                role_ids.push(owner.id);
                let patch = keygate_store::MemberPatch {
                    role_ids: Some(role_ids),
                    grants: Some(Vec::new()),
                    team_ids: None,
                };
                self.store
                    .update_member(workspace.id, heir.id, &patch, &audit)
                    .await?;
            }
            None => {
                let membership = keygate_store::NewMembership {
                    workspace_id: workspace.id,
                    role_ids: vec![owner.id],
                    grants: Vec::new(),
                    team_ids: Vec::new(),
                    created_at: now,
                };
                self.store.add_member(heir.id, &membership, &audit).await?;
            }
        }
        Ok(())
    }

    /// A new one-time link with which a person sets their password (a first one, or a new one
    /// when they forgot it); earlier unused links stop working. Instance admins only.
    pub async fn admin_password_link(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> ServiceResult<PasswordLink> {
        // A password signs in to the web UI, where new tokens are made: a secret in its own
        // right.
        actor.require_current_secret()?;
        require_instance_admin(actor)?;
        let user = self.user_by_id(id).await?;
        if user.kind != UserKind::Human {
            return Err(keygate_domain::ValidationError::new(
                "user",
                "API users have no password; they authenticate with their tokens",
            )
            .into());
        }
        let code = super::from_os_randomness(|fill| one_time_code(fill))?;
        let now = self.clock.now();
        let new = NewPasswordLink {
            id: Uuid::now_v7(),
            user_id: id,
            code_digest: code_digest(&code),
            created_at: now,
            expires_at: now + Duration::days(PASSWORD_LINK_DAYS),
        };
        let audit = actor.audit(
            now,
            None,
            "user.password_link_created",
            Target::new("user", id),
            json!({ "email": user.email, "expires_at": new.expires_at }),
        );
        self.store.create_password_link(&new, &audit).await?;
        Ok(PasswordLink {
            code,
            expires_at: new.expires_at,
        })
    }

    /// The person a password link is for, and when it expires; not found once it was used,
    /// replaced or expired, or when the account is disabled.
    pub async fn password_link(&self, code: &str) -> ServiceResult<(User, DateTime<Utc>)> {
        self.store
            .password_link(&code_digest(code), self.clock.now())
            .await?
            .filter(|(user, _)| !user.is_disabled())
            .ok_or(ServiceError::NotFound("password link"))
    }

    /// Sets the password with a link (once), ending the person's other web sessions.
    pub async fn set_password_with_link(
        &self,
        code: &str,
        password: SecretString,
        ip: Option<std::net::IpAddr>,
    ) -> ServiceResult<User> {
        self.gate(ip)?;
        let (user, _) = self.password_link(code).await?;
        let hash = hash_new_password(password).await?;
        let actor = Actor {
            ip,
            ..Actor::operator(user.clone())
        };
        let now = self.clock.now();
        let audit = actor.audit(
            now,
            None,
            "user.password_set",
            Target::new("user", user.id),
            json!({ "with": "password link" }),
        );
        if !self
            .store
            .use_password_link(&code_digest(code), user.id, &hash, now, &audit)
            .await?
        {
            return Err(ServiceError::NotFound("password link"));
        }
        Ok(user)
    }

    /// Issues a token for a user, shown once. It may be scoped within what the user holds; it
    /// never carries more than they hold at the moment it is used.
    pub async fn admin_issue_token(
        &self,
        actor: &Actor,
        id: Uuid,
        req: NewTokenRequest,
    ) -> ServiceResult<(Token, ClearToken)> {
        require_instance_admin(actor)?;
        let owner = Actor::operator(self.user_by_id(id).await?);
        // An admin issuing for themselves is held, as on `/api/v1/tokens`, to the token they act
        // with. An API user's workspace caps the lifetime of its tokens: `issue_token` holds
        // every token to it, whoever issues it.
        let holder = if actor.user.id == id { actor } else { &owner };
        self.issue_token(actor, holder, req).await
    }
}
