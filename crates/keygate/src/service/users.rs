//! Users: bootstrapping the first instance admin with their workspace and personal token, and
//! finding users.

use chrono::{DateTime, Utc};
use keygate_domain::{ClearToken, Email, Manage, Slug, Token, TokenKind, User, UserKind, validate};
use keygate_store::{NewUser, NewWorkspace};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use super::{Acting, Actor, CreatedUser, Keygate, ServiceError, ServiceResult, Target, password};

pub struct Bootstrap {
    pub email: String,
    pub workspace: Option<String>,
    pub password: Option<SecretString>,
}

/// The first user, with their personal token (shown once) and workspace.
pub type Bootstrapped = CreatedUser;

/// The part of an email before `@`: a person's display name until they choose one.
pub(super) fn default_display_name(email: &Email) -> String {
    email
        .as_str()
        .split_once('@')
        .map_or(email.as_str(), |(local, _)| local)
        .to_owned()
}

/// Hashes a new password after checking its length.
pub(super) async fn hash_new_password(password: SecretString) -> ServiceResult<String> {
    validate::password(password.expose_secret())?;
    password::hash(password).await
}

/// As [`hash_new_password`], for a password that may not be given.
pub(super) async fn password_hash(password: Option<SecretString>) -> ServiceResult<Option<String>> {
    match password {
        Some(p) => Ok(Some(hash_new_password(p).await?)),
        None => Ok(None),
    }
}

/// A person's account to create, with their personal token and optionally a workspace they own.
pub(super) struct NewHuman<'a> {
    pub email: &'a str,
    pub display_name: Option<&'a str>,
    pub password_hash: Option<String>,
    /// Slug of a workspace to create with the user as its owner.
    pub workspace: Option<&'a str>,
    pub instance_admin: bool,
    /// Whether the instance vouches that the person holds the email: an account made at the
    /// command line or by an instance admin, not by open sign-up.
    pub email_vouched: bool,
    /// Who creates the account; `None` when the person creates it themselves.
    pub actor: Option<&'a Actor>,
    pub ip: Option<std::net::IpAddr>,
    /// The audit action: `user.bootstrapped`, `user.created`, `user.signed_up`.
    pub action: &'static str,
}

impl Keygate {
    /// A person's account as it is to be stored, with their personal token (also returned in
    /// clear): in no workspace, with no membership, and with an email the instance does not
    /// vouch for.
    pub(super) fn new_person(
        &self,
        email: Email,
        display_name: String,
        password_hash: Option<String>,
        now: DateTime<Utc>,
    ) -> ServiceResult<(NewUser, ClearToken)> {
        let id = Uuid::now_v7();
        let clear = self.generate(TokenKind::Personal)?;
        let new = NewUser {
            id,
            kind: UserKind::Human,
            email: Some(email),
            display_name,
            description: None,
            workspace_id: None,
            password_hash,
            is_instance_admin: false,
            email_vouched: false,
            created_at: now,
            allowed_ips: None,
            rate_limits: None,
            first_token: self.token_row(id, &clear, now),
            own_workspace: None,
            membership: None,
        };
        Ok((new, clear))
    }

    /// Creates a person's account, their personal token and optionally their workspace, in one
    /// transaction. An email already taken is a conflict, and so is a workspace slug.
    pub(super) async fn create_human(&self, req: NewHuman<'_>) -> ServiceResult<CreatedUser> {
        let email = Email::parse(req.email)?;
        let slug = req.workspace.map(Slug::parse).transpose()?;
        let display_name = match req.display_name {
            Some(name) => validate::name("display_name", name)?,
            None => default_display_name(&email),
        };
        if self.store.user_by_email(&email).await?.is_some() {
            return Err(ServiceError::conflict(
                "email_taken",
                format!("a user with email {email} already exists"),
            ));
        }
        let now = self.clock.now();
        let (mut new, clear) =
            self.new_person(email.clone(), display_name, req.password_hash, now)?;
        let id = new.id;
        new.is_instance_admin = req.instance_admin;
        new.email_vouched = req.email_vouched;
        new.own_workspace = slug.map(|slug| NewWorkspace {
            id: Uuid::now_v7(),
            name: slug.to_string(),
            slug,
            created_at: now,
        });
        let details = json!({
            "email": email,
            "workspace": new.own_workspace.as_ref().map(|w| &w.slug),
            "instance_admin": req.instance_admin,
        });
        let workspace_id = new.own_workspace.as_ref().map(|w| w.id);
        let target = Target::new("user", id);
        let audit = match req.actor {
            Some(actor) => actor.audit(now, workspace_id, req.action, target, details),
            // The person creating their own account is the actor.
            None => Acting::newcomer(id, &email, req.ip).audit(
                now,
                workspace_id,
                req.action,
                target,
                details,
            ),
        };
        let (user, token) = self.store.create_user(&new, &audit).await?;
        let workspace = match workspace_id {
            Some(ws) => self.store.workspace(ws).await?,
            None => None,
        };
        Ok(CreatedUser {
            user,
            workspace,
            token,
            clear,
            password_link: None,
        })
    }

    /// Creates an instance admin, their personal token and optionally a workspace they own, in
    /// one transaction. Refused when a user with the email exists.
    pub async fn bootstrap(&self, req: Bootstrap) -> ServiceResult<Bootstrapped> {
        let password_hash = password_hash(req.password).await?;
        let created = self
            .create_human(NewHuman {
                email: &req.email,
                display_name: None,
                password_hash,
                workspace: req.workspace.as_deref(),
                instance_admin: true,
                email_vouched: true,
                actor: None,
                ip: None,
                action: "user.bootstrapped",
            })
            .await?;
        tracing::info!(user = %created.user.id, "user bootstrapped");
        Ok(created)
    }

    pub async fn user_by_email(&self, email: &Email) -> ServiceResult<Option<User>> {
        Ok(self.store.user_by_email(email).await?)
    }
}

/// A team member the caller was shown, as a key to load that user in one query with others.
/// Only [`Keygate::team_member_keys`] makes one, after checking that the caller is a member of
/// the workspace: a user the caller may not see cannot be loaded, because the key cannot be
/// written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberKey {
    workspace: Uuid,
    user: Uuid,
}

impl MemberKey {
    pub fn user(&self) -> Uuid {
        self.user
    }
}

/// An API user whose tokens the caller may list, as a key to load them in one query with
/// others. Only [`Keygate::api_user_token_keys`] makes one, after checking `api_users:manage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokensKey {
    workspace: Uuid,
    user: Uuid,
}

impl TokensKey {
    pub fn user(&self) -> Uuid {
        self.user
    }
}

impl Keygate {
    /// Keys to load the members `ids` of a team of `workspace`: the caller must be a member
    /// there (through a token whose scope admits it), as for reading its teams.
    pub async fn team_member_keys(
        &self,
        actor: &Actor,
        workspace: Uuid,
        ids: &[Uuid],
    ) -> ServiceResult<Vec<MemberKey>> {
        self.member_rights(actor, workspace)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))?;
        Ok(ids
            .iter()
            .map(|&user| MemberKey { workspace, user })
            .collect())
    }

    /// Keys to load the tokens of the API users `ids` of `workspace`: the caller must hold
    /// `api_users:manage` there, as for listing them.
    pub async fn api_user_token_keys(
        &self,
        actor: &Actor,
        workspace: Uuid,
        ids: &[Uuid],
    ) -> ServiceResult<Vec<TokensKey>> {
        let rights = self
            .member_rights(actor, workspace)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))?;
        super::access::require(&rights, Manage::ApiUsers)?;
        Ok(ids
            .iter()
            .map(|&user| TokensKey { workspace, user })
            .collect())
    }

    /// The users the keys name, each only while still a member of the key's workspace; one
    /// query per workspace.
    pub async fn users_by_id(&self, keys: &[MemberKey]) -> ServiceResult<Vec<(MemberKey, User)>> {
        let mut out = Vec::new();
        let mut workspaces: Vec<Uuid> = keys.iter().map(|k| k.workspace).collect();
        workspaces.sort();
        workspaces.dedup();
        for workspace in workspaces {
            let members = self.store.members(workspace, None).await?;
            for key in keys.iter().filter(|k| k.workspace == workspace) {
                if let Some(m) = members.iter().find(|m| m.user.id == key.user) {
                    out.push((*key, m.user.clone()));
                }
            }
        }
        Ok(out)
    }

    /// The tokens of the API users the keys name, each only if it is an API user of the key's
    /// workspace, in two queries.
    pub async fn tokens_of_users(
        &self,
        keys: &[TokensKey],
    ) -> ServiceResult<Vec<(TokensKey, Vec<Token>)>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.user).collect();
        let users = self.store.users(&ids).await?;
        let keys: Vec<TokensKey> = keys
            .iter()
            .filter(|k| {
                users.iter().any(|u| {
                    u.id == k.user && u.kind == UserKind::Api && u.workspace_id == Some(k.workspace)
                })
            })
            .copied()
            .collect();
        let ids: Vec<Uuid> = keys.iter().map(|k| k.user).collect();
        let tokens = self.store.tokens_of_users(&ids).await?;
        Ok(keys
            .into_iter()
            .map(|k| {
                let of: Vec<Token> = tokens
                    .iter()
                    .filter(|t| t.user_id == k.user)
                    .cloned()
                    .collect();
                (k, of)
            })
            .collect())
    }
}
