//! Users: bootstrapping the first instance admin with their workspace and personal token, and
//! finding users.

use keygate_domain::{
    ClearToken, Email, Slug, Token, TokenKind, User, UserKind, Workspace, validate,
};
use keygate_store::{NewAuditEvent, NewUser, NewWorkspace};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use super::{Keygate, ServiceError, ServiceResult, password};

pub struct Bootstrap {
    pub email: String,
    pub workspace: Option<String>,
    pub password: Option<SecretString>,
}

pub struct Bootstrapped {
    pub user: User,
    pub workspace: Option<Workspace>,
    pub token: Token,
    pub clear: ClearToken,
}

/// The part of an email before `@`: a person's display name until they choose one.
pub(super) fn default_display_name(email: &Email) -> String {
    email
        .as_str()
        .split_once('@')
        .map_or(email.as_str(), |(local, _)| local)
        .to_owned()
}

/// Hashes a password after checking its length.
pub(super) async fn password_hash(password: Option<SecretString>) -> ServiceResult<Option<String>> {
    match password {
        Some(p) => {
            validate::password(p.expose_secret())?;
            Ok(Some(password::hash(p).await?))
        }
        None => Ok(None),
    }
}

impl Keygate {
    /// Creates an instance admin, their personal token and optionally a workspace they own, in
    /// one transaction. Refused when a user with the email exists.
    pub async fn bootstrap(&self, req: Bootstrap) -> ServiceResult<Bootstrapped> {
        let email = Email::parse(&req.email)?;
        let slug = req.workspace.as_deref().map(Slug::parse).transpose()?;
        let password_hash = password_hash(req.password).await?;
        if self.store.user_by_email(&email).await?.is_some() {
            return Err(ServiceError::conflict(
                "email_taken",
                format!(
                    "a user with email {email} already exists; bootstrap only creates new users"
                ),
            ));
        }
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let clear = self.generate(TokenKind::Personal)?;
        let new = NewUser {
            id,
            kind: UserKind::Human,
            display_name: default_display_name(&email),
            email: Some(email.clone()),
            description: None,
            workspace_id: None,
            password_hash,
            is_instance_admin: true,
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
        let audit = NewAuditEvent {
            id: Uuid::now_v7(),
            workspace_id: new.own_workspace.as_ref().map(|w| w.id),
            actor_id: Some(id),
            actor_label: Some(email.to_string()),
            actor_token_id: None,
            action: "user.bootstrapped".into(),
            target_type: "user".into(),
            target_id: Some(id.to_string()),
            details: json!({ "email": email, "workspace": new.own_workspace.as_ref().map(|w| &w.slug) }),
            client_ip: None,
            created_at: now,
        };
        let (user, token) = self.store.create_user(&new, &audit).await?;
        let workspace = match &new.own_workspace {
            Some(ws) => self.store.workspace(ws.id).await?,
            None => None,
        };
        tracing::info!(user = %user.id, "user bootstrapped");
        Ok(Bootstrapped {
            user,
            workspace,
            token,
            clear,
        })
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
