//! Users: bootstrapping the first instance admin with their workspace and personal token.

use keygate_domain::{
    ClearToken, Email, Slug, Token, TokenKind, User, UserKind, Workspace, validate,
};
use keygate_store::{NewUser, NewWorkspace};
use secrecy::{ExposeSecret, SecretString};
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

impl Keygate {
    /// Creates an instance admin, their personal token and optionally a workspace they own, in
    /// one transaction. Refused when a user with the email exists.
    pub async fn bootstrap(&self, req: Bootstrap) -> ServiceResult<Bootstrapped> {
        let email = Email::parse(&req.email)?;
        let slug = req.workspace.as_deref().map(Slug::parse).transpose()?;
        let password_hash = match req.password {
            Some(p) => {
                validate::password(p.expose_secret())?;
                Some(password::hash(p).await?)
            }
            None => None,
        };
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
        let display_name = email
            .as_str()
            .split_once('@')
            .map_or(email.as_str(), |(local, _)| local)
            .to_owned();
        let new = NewUser {
            id,
            kind: UserKind::Human,
            email: Some(email),
            display_name,
            password_hash,
            is_instance_admin: true,
            created_at: now,
            personal_token: self.token_row(id, &clear, now),
            own_workspace: slug.map(|slug| NewWorkspace {
                id: Uuid::now_v7(),
                name: slug.to_string(),
                slug,
                created_at: now,
            }),
        };
        let (user, token) = self.store.create_user(&new).await?;
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
}

impl Keygate {
    pub async fn user_by_email(&self, email: &Email) -> ServiceResult<Option<User>> {
        Ok(self.store.user_by_email(email).await?)
    }
}
