//! The entities Keygate manages: users, workspaces, roles, memberships and tokens.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::permission::{PermissionSet, ResourcePattern};
use crate::rights::Scope;
use crate::token::TokenKind;
use crate::validate::{Email, Slug};

/// Whether a user is a person or a service account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    /// A person: email, password, can sign in to the web UI.
    Human,
    /// An API user: a service account inside one workspace, no password.
    Api,
}

impl UserKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Human => "human",
            UserKind::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "human" => Some(UserKind::Human),
            "api" => Some(UserKind::Api),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub kind: UserKind,
    /// Humans have one; API users do not.
    pub email: Option<Email>,
    pub display_name: String,
    pub description: Option<String>,
    /// The workspace an API user lives in.
    pub workspace_id: Option<Uuid>,
    pub is_instance_admin: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: Uuid,
    pub slug: Slug,
    pub name: String,
    /// The longest lifetime, in days, of a token that acts in this workspace (an API user's token,
    /// or a token scoped to it); `None` for no cap.
    pub max_token_lifetime_days: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The roles every workspace has. Their permission sets are fixed, except `public`'s.
pub mod builtin_role {
    pub const OWNER: &str = "owner";
    pub const ADMIN: &str = "admin";
    pub const MEMBER: &str = "member";
    pub const VIEWER: &str = "viewer";
    pub const PUBLIC: &str = "public";

    /// Name, description and permissions of each built-in role.
    pub const ALL: [(&str, &str, &[&str]); 5] = [
        (
            OWNER,
            "Everything, including deleting the workspace and changing its owners.",
            &["*"],
        ),
        (
            ADMIN,
            "Everything except deleting the workspace and changing its owners.",
            &["*"],
        ),
        (
            MEMBER,
            "Reads and writes the platform's resources; no management.",
            &["*:read", "*:write"],
        ),
        (VIEWER, "Reads the platform's resources.", &["*:read"]),
        (
            PUBLIC,
            "What anonymous callers may do. Empty until opened.",
            &[],
        ),
    ];

    pub fn is_builtin(name: &str) -> bool {
        ALL.iter().any(|(n, _, _)| *n == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub permissions: PermissionSet,
    /// Resource grants; only the public role has them.
    pub grants: Vec<ResourcePattern>,
    pub builtin: bool,
}

/// A user's place in a workspace, as they see it: the workspace and the names of their roles in
/// it, in name order. What the roles permit is the business of [`crate::Rights`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub workspace: Workspace,
    pub roles: Vec<String>,
}

impl Membership {
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r == name)
    }
}

/// A member of a workspace as managers see them: the user, their roles, grants and teams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub roles: Vec<Role>,
    pub grants: Vec<ResourcePattern>,
    pub teams: Vec<TeamRef>,
    pub joined_at: DateTime<Utc>,
}

impl Member {
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r.name == name)
    }
}

/// A team named in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRef {
    pub id: Uuid,
    pub name: String,
}

/// A named group of members whose roles and grants apply to each of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub roles: Vec<Role>,
    pub grants: Vec<ResourcePattern>,
    pub members: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A pending invitation to join a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub email: Email,
    pub roles: Vec<String>,
    pub grants: Vec<ResourcePattern>,
    pub invited_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub workspace_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    /// The actor's email or API user name at the time.
    pub actor_label: Option<String>,
    pub actor_token_id: Option<Uuid>,
    /// `token.created`, `member.invited`, `role.updated`, ...
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub details: serde_json::Value,
    pub client_ip: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A token's state at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
        }
    }
}

/// A token as stored: everything but the secret, of which only the digest and hint are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: TokenKind,
    pub name: Option<String>,
    pub description: Option<String>,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub scope: Option<Scope>,
}

impl Token {
    pub fn status(&self, now: DateTime<Utc>) -> TokenStatus {
        TokenStatus::of(self.revoked_at, self.expires_at, now)
    }
}

impl TokenStatus {
    /// Revocation wins over expiry: a revoked token reports `revoked` even once past its expiry.
    fn of(
        revoked_at: Option<DateTime<Utc>>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        if revoked_at.is_some() {
            TokenStatus::Revoked
        } else if expires_at.is_some_and(|at| at <= now) {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }
}

/// What deciding a request needs of a token, and all the verification cache keeps of it: the
/// rest of the row (name, description, hint, last use) is read from the store where it is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: Uuid,
    pub kind: TokenKind,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Shared: cloning a credential, as every request does, copies no scope.
    pub scope: Option<Arc<Scope>>,
}

impl Credential {
    pub fn status(&self, now: DateTime<Utc>) -> TokenStatus {
        TokenStatus::of(self.revoked_at, self.expires_at, now)
    }
}

impl From<Token> for Credential {
    fn from(token: Token) -> Self {
        Credential {
            id: token.id,
            kind: token.kind,
            expires_at: token.expires_at,
            revoked_at: token.revoked_at,
            scope: token.scope.map(Arc::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn token(expires_at: Option<DateTime<Utc>>, revoked_at: Option<DateTime<Utc>>) -> Token {
        Token {
            id: Uuid::nil(),
            user_id: Uuid::nil(),
            kind: TokenKind::User,
            name: None,
            description: None,
            hint: String::new(),
            created_at: DateTime::UNIX_EPOCH,
            expires_at,
            last_used_at: None,
            last_used_ip: None,
            revoked_at,
            rotated_at: None,
            scope: None,
        }
    }

    #[test]
    fn token_status_at_a_moment() {
        let now = DateTime::UNIX_EPOCH + Duration::days(10);
        let past = now - Duration::seconds(1);
        let future = now + Duration::seconds(1);
        assert_eq!(token(None, None).status(now), TokenStatus::Active);
        assert_eq!(token(Some(future), None).status(now), TokenStatus::Active);
        assert_eq!(token(Some(now), None).status(now), TokenStatus::Expired);
        assert_eq!(token(Some(past), None).status(now), TokenStatus::Expired);
        assert_eq!(
            token(Some(past), Some(past)).status(now),
            TokenStatus::Revoked
        );
        assert_eq!(token(None, Some(past)).status(now), TokenStatus::Revoked);
    }

    #[test]
    fn a_credential_keeps_the_status_of_its_token() {
        let now = DateTime::UNIX_EPOCH + Duration::days(10);
        let past = now - Duration::seconds(1);
        let future = now + Duration::seconds(1);
        for (expires, revoked) in [
            (None, None),
            (Some(future), None),
            (Some(past), None),
            (None, Some(past)),
            (Some(past), Some(past)),
        ] {
            let token = token(expires, revoked);
            let status = token.status(now);
            let credential = Credential::from(token.clone());
            assert_eq!(credential.status(now), status);
            assert_eq!(
                (credential.id, credential.kind, credential.scope.as_deref()),
                (token.id, token.kind, token.scope.as_ref())
            );
        }
    }
}
