//! Users: bootstrapping the first instance admin with their workspace and personal token, and
//! finding users.

use keygate_domain::{Email, Slug, Token, TokenKind, User, UserKind, validate};
use keygate_store::{NewAuditEvent, NewUser, NewWorkspace};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use super::{Actor, CreatedUser, Keygate, ServiceError, ServiceResult, Target, password};

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
    /// Who creates the account; `None` when the person creates it themselves.
    pub actor: Option<&'a Actor>,
    pub ip: Option<std::net::IpAddr>,
    /// The audit action: `user.bootstrapped`, `user.created`, `user.signed_up`.
    pub action: &'static str,
}

impl Keygate {
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
        let id = Uuid::now_v7();
        let clear = self.generate(TokenKind::Personal)?;
        let new = NewUser {
            id,
            kind: UserKind::Human,
            display_name,
            email: Some(email.clone()),
            description: None,
            workspace_id: None,
            password_hash: req.password_hash,
            is_instance_admin: req.instance_admin,
            created_at: now,
            first_token: self.token_row(id, &clear, now),
            own_workspace: slug.map(|slug| NewWorkspace {
                id: Uuid::now_v7(),
                name: slug.to_string(),
                slug,
                created_at: now,
            }),
            membership: None,
        };
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
            None => NewAuditEvent {
                id: Uuid::now_v7(),
                workspace_id,
                actor_id: Some(id),
                actor_label: Some(email.to_string()),
                actor_token_id: None,
                action: req.action.into(),
                target_type: target.kind.into(),
                target_id: Some(target.id),
                details,
                client_ip: req.ip.map(|ip| ip.to_string()),
                created_at: now,
            },
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

impl Keygate {
    /// Users by id, for resolving lists the caller already reached with their rights (a team's
    /// members), in one query.
    pub async fn users_by_id(&self, ids: &[Uuid]) -> ServiceResult<Vec<User>> {
        Ok(self.store.users(ids).await?)
    }

    /// Tokens of several users at once, for lists the caller already reached with their rights
    /// (the API users of a workspace).
    pub async fn tokens_of_users(&self, ids: &[Uuid]) -> ServiceResult<Vec<Token>> {
        Ok(self.store.tokens_of_users(ids).await?)
    }
}
