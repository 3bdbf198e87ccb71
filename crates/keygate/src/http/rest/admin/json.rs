//! Wire types of the users of this Keygate: a user as the API shows them (`UserJson`, the
//! contract's type in `keygate-proto`) and as instance admins see them, the user list and its
//! filters, creating a user or signing up, and password links.

use chrono::{DateTime, Utc};
use keygate_domain::{User, UserKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::openapi as doc;
use crate::http::rest::tokens::json::TokenWithSecretJson;
use crate::http::rest::workspaces::json::{WorkspaceJson, workspace_json};
use crate::service::{CreatedUser, PasswordLink};

pub use keygate_proto::User as UserJson;

/// A user as the API shows it.
pub fn user_json(u: &User) -> UserJson {
    UserJson {
        id: u.id,
        kind: u.kind.as_str().to_owned(),
        email: u.email.as_ref().map(ToString::to_string),
        display_name: u.display_name.clone(),
        is_instance_admin: u.is_instance_admin,
        created_at: u.created_at,
    }
}

/// A user as instance admins see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserJson {
    #[serde(flatten)]
    pub user: UserJson,
    pub description: Option<String>,
    /// The workspace an API user lives in; `null` for people.
    pub workspace_id: Option<Uuid>,
    /// A disabled user's tokens and sign-ins do not work.
    pub disabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<&User> for AdminUserJson {
    fn from(u: &User) -> Self {
        Self {
            user: user_json(u),
            description: u.description.clone(),
            workspace_id: u.workspace_id,
            disabled: u.is_disabled(),
            disabled_at: u.disabled_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserListJson {
    pub users: Vec<AdminUserJson>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<Uuid>,
}

/// Filters and paging of the user list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQueryJson {
    /// Only people (`human`) or only API users (`api`).
    #[param(value_type = Option<doc::UserKind>, inline)]
    pub kind: Option<UserKind>,
    /// Only users whose email or display name contains this text (case-insensitive).
    pub search: Option<String>,
    /// Only disabled users (`true`) or only enabled ones (`false`).
    pub disabled: Option<bool>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// Users per page: 1 to 500, 50 by default. Oldest first.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A person's account to create. Without a password they cannot sign in to the web UI, and
/// their personal token (in the response) is how they call the API.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserJson {
    pub email: String,
    /// Defaults to the part of the email before `@`.
    pub display_name: Option<String>,
    /// At least 8 characters.
    #[schema(value_type = Option<String>)]
    pub password: Option<secrecy::SecretString>,
    /// Slug of a workspace to create with the user as its owner.
    pub workspace: Option<String>,
    /// Whether the user administers this Keygate too.
    #[serde(default)]
    pub instance_admin: bool,
    /// Also make a one-time link (valid 7 days) with which the person sets their password; give
    /// it to them. Not with `password`.
    #[serde(default)]
    pub password_link: bool,
}

/// A one-time link with which a person sets their password.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordLinkJson {
    /// Opens a page where the person chooses their password. Shown this once.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

impl PasswordLinkJson {
    pub fn new(link: &PasswordLink, base: &str) -> Self {
        Self {
            url: crate::http::password_link_url(base, &link.code),
            expires_at: link.expires_at,
        }
    }
}

/// A password chosen with a password link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordJson {
    /// At least 8 characters.
    #[schema(value_type = String)]
    pub password: secrecy::SecretString,
}

/// Open sign-up: the caller's own account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupJson {
    pub email: String,
    /// At least 8 characters.
    #[schema(value_type = String)]
    pub password: secrecy::SecretString,
    /// Defaults to the part of the email before `@`.
    pub display_name: Option<String>,
    /// Slug of a workspace to create with the new user as its owner.
    pub workspace: Option<String>,
}

/// A new account with its personal token, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUserJson {
    pub user: AdminUserJson,
    /// The workspace created with the account, if one was asked for.
    pub workspace: Option<WorkspaceJson>,
    /// The personal token; `token.token` is the secret, shown this once.
    pub personal_token: TokenWithSecretJson,
    /// When asked for with `password_link`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_link: Option<PasswordLinkJson>,
}

impl CreatedUserJson {
    /// `base` is where people reach this Keygate, for the password link.
    pub fn new(created: CreatedUser, now: DateTime<Utc>, base: &str) -> Self {
        Self {
            user: (&created.user).into(),
            workspace: created.workspace.as_ref().map(workspace_json),
            personal_token: TokenWithSecretJson::new(&created.token, created.clear, now),
            password_link: created
                .password_link
                .as_ref()
                .map(|link| PasswordLinkJson::new(link, base)),
        }
    }
}
