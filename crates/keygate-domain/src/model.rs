//! The entities Keygate manages: users, workspaces, roles, memberships and tokens.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::allowed_ips::AllowedIps;
use crate::permission::{PermissionSet, ResourcePattern};
use crate::rate_limit::RateLimits;
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
    /// The kind as stored and serialized: `human` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Human => "human",
            UserKind::Api => "api",
        }
    }

    /// The kind named `s` (`human` or `api`); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "human" => Some(UserKind::Human),
            "api" => Some(UserKind::Api),
            _ => None,
        }
    }
}

/// A Keygate user: a person or an API user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The id.
    pub id: Uuid,
    /// Whether the user is a person or an API user.
    pub kind: UserKind,
    /// Humans have one; API users do not.
    pub email: Option<Email>,
    /// The name shown for the user; an API user's name.
    pub display_name: String,
    /// A free-text description; `None` for none.
    pub description: Option<String>,
    /// The workspace an API user lives in.
    pub workspace_id: Option<Uuid>,
    /// Whether the user administers the whole instance (the `/api/v1/admin` routes).
    pub is_instance_admin: bool,
    /// When the user was disabled; `None` while enabled. A disabled user's tokens are invalid.
    pub disabled_at: Option<DateTime<Utc>>,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// Where the user's tokens may be used from (API users only); `None` for anywhere.
    pub allowed_ips: Option<AllowedIps>,
    /// How often all the user's tokens together may be used (API users only); `None`: no limit.
    pub rate_limits: Option<RateLimits>,
}

impl User {
    /// Whether the user is disabled.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// A tenant: roles, teams, invitations, API users and the audit log belong to one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// The id.
    pub id: Uuid,
    /// The slug, unique in the instance; paths name the workspace by it or by its id.
    pub slug: Slug,
    /// The display name.
    pub name: String,
    /// The longest lifetime, in days, of a token that acts in this workspace (an API user's token,
    /// or a token scoped to it); `None` for no cap.
    pub max_token_lifetime_days: Option<u32>,
    /// When the workspace was created.
    pub created_at: DateTime<Utc>,
    /// When the workspace was last changed.
    pub updated_at: DateTime<Utc>,
}

/// The roles every workspace has. Their permission sets are fixed, except `public`'s.
pub mod builtin_role {
    /// The role that may do everything, including deleting the workspace and changing its owners.
    pub const OWNER: &str = "owner";
    /// The role that may do everything except deleting the workspace and changing its owners.
    pub const ADMIN: &str = "admin";
    /// The role that reads and writes the platform's resources, without management.
    pub const MEMBER: &str = "member";
    /// The role that reads the platform's resources.
    pub const VIEWER: &str = "viewer";
    /// The role whose permissions everyone has, anonymous callers included; empty until opened.
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

    /// Whether `name` is the name of a built-in role.
    pub fn is_builtin(name: &str) -> bool {
        ALL.iter().any(|(n, _, _)| *n == name)
    }
}

/// A role of a workspace: a named set of permissions held by members, teams and API users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// The id.
    pub id: Uuid,
    /// The workspace the role belongs to.
    pub workspace_id: Uuid,
    /// The name, unique in the workspace.
    pub name: String,
    /// A free-text description; `None` for none.
    pub description: Option<String>,
    /// The permissions the role gives.
    pub permissions: PermissionSet,
    /// Resource grants; only the public role has them.
    pub grants: Vec<ResourcePattern>,
    /// Whether the role is one of the built-in roles every workspace has ([`builtin_role`]).
    pub builtin: bool,
}

/// A user's place in a workspace, as they see it: the workspace and the names of their roles in
/// it, in name order. What the roles permit is the business of [`crate::Rights`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The workspace.
    pub workspace: Workspace,
    /// The names of the user's roles in the workspace, in name order.
    pub roles: Vec<String>,
}

impl Membership {
    /// Whether the user holds the role named `name` in the workspace.
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r == name)
    }
}

/// A member of a workspace as managers see them: the user, their roles, grants and teams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's user.
    pub user: User,
    /// The roles the member holds directly (not through a team).
    pub roles: Vec<Role>,
    /// The member's own resource grants; none means every resource.
    pub grants: Vec<ResourcePattern>,
    /// The teams the member belongs to.
    pub teams: Vec<TeamRef>,
    /// When the user joined the workspace.
    pub joined_at: DateTime<Utc>,
}

impl Member {
    /// Whether the member holds the role named `name` directly.
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r.name == name)
    }
}

/// A team named in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRef {
    /// The id.
    pub id: Uuid,
    /// The name.
    pub name: String,
}

/// A named group of members whose roles and grants apply to each of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// The id.
    pub id: Uuid,
    /// The workspace the team belongs to.
    pub workspace_id: Uuid,
    /// The name, unique in the workspace.
    pub name: String,
    /// A free-text description; `None` for none.
    pub description: Option<String>,
    /// The roles each member holds through the team.
    pub roles: Vec<Role>,
    /// Resource grants that add to those of each member who has grants of their own (see
    /// [`Rights::of_member`](crate::Rights::of_member)).
    pub grants: Vec<ResourcePattern>,
    /// The user ids of the team's members.
    pub members: Vec<Uuid>,
    /// When the team was created.
    pub created_at: DateTime<Utc>,
    /// When the team was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A pending invitation to join a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The id.
    pub id: Uuid,
    /// The workspace the invitation is to.
    pub workspace_id: Uuid,
    /// The address invited.
    pub email: Email,
    /// The names of the roles the invited person gets on accepting.
    pub roles: Vec<String>,
    /// The resource grants the invited person gets on accepting; none means every resource.
    pub grants: Vec<ResourcePattern>,
    /// The user who invited; `None` once that user is deleted.
    pub invited_by: Option<Uuid>,
    /// When the invitation was created.
    pub created_at: DateTime<Utc>,
    /// When the invitation can no longer be accepted.
    pub expires_at: DateTime<Utc>,
    /// When the invitation was accepted; `None` while pending.
    pub accepted_at: Option<DateTime<Utc>>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// The id.
    pub id: Uuid,
    /// The workspace the change happened in; `None` for an entry that belongs to no workspace
    /// (instance administration, a user's own account and tokens, a failed authentication).
    pub workspace_id: Option<Uuid>,
    /// The user who acted; `None` when no user did (the command line, a failed authentication).
    pub actor_id: Option<Uuid>,
    /// The actor's email or API user name at the time.
    pub actor_label: Option<String>,
    /// The token the actor used; `None` for changes made at the command line and for accepted
    /// invitations.
    pub actor_token_id: Option<Uuid>,
    /// `token.created`, `member.invited`, `role.updated`, ...
    pub action: String,
    /// What kind of thing was changed: `token`, `user`, `invitation`, `role`, `team`, ...
    pub target_type: String,
    /// Which one: an id, a role's name, or a client address; `None` when there is none.
    pub target_id: Option<String>,
    /// Facts particular to the action, as a JSON object (e.g. a token's hint and owner).
    pub details: serde_json::Value,
    /// The client's address; `None` when there was none (the command line).
    pub client_ip: Option<String>,
    /// When the change was made.
    pub created_at: DateTime<Utc>,
}

/// A token's state at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    /// Neither revoked nor past its expiry.
    Active,
    /// Past its expiry, and not revoked.
    Expired,
    /// Revoked, whether or not it has also expired.
    Revoked,
}

impl TokenStatus {
    /// The status as the API shows it: `active`, `expired` or `revoked`.
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
    /// The id.
    pub id: Uuid,
    /// The user the token belongs to and acts as.
    pub user_id: Uuid,
    /// What the token was issued for.
    pub kind: TokenKind,
    /// The name; `None` for a personal token, or when none was given.
    pub name: Option<String>,
    /// A free-text description; `None` for none.
    pub description: Option<String>,
    /// What may be shown of the secret, e.g. `kgt_YpW5…xH8C`; rotation replaces it.
    pub hint: String,
    /// When the token was created.
    pub created_at: DateTime<Utc>,
    /// When the token expires; `None` for never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the token last authenticated a request; `None` before its first use. Written in
    /// batches, so up to about two seconds late.
    pub last_used_at: Option<DateTime<Utc>>,
    /// The client address of that last use; `None` before the first use, or when the last use
    /// carried no address (a check through `POST /api/v1/verify`).
    pub last_used_ip: Option<String>,
    /// When the token was revoked; `None` while it is not.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the token last got a new secret (rotation or refresh); `None` if it never did.
    pub rotated_at: Option<DateTime<Utc>>,
    /// What the token is narrowed to; `None` for a token with all of its user's rights.
    pub scope: Option<Scope>,
    /// Where and when it was reported leaked; `None` while it was not.
    pub leak: Option<TokenLeak>,
    /// Where the token may be used from; `None` for anywhere (its user's list still applies).
    pub allowed_ips: Option<AllowedIps>,
    /// How often the token may be used; `None`: no limit of its own.
    pub rate_limits: Option<RateLimits>,
}

/// A report that a token leaked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLeak {
    /// When it was first reported.
    pub at: DateTime<Utc>,
    /// Where it was found, as the latest report said.
    pub url: Option<String>,
    /// Who reported it: `github`, `gitlab` or `holder`.
    pub reporter: String,
}

impl Token {
    /// The token's status at `now`.
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
    /// The token's id.
    pub id: Uuid,
    /// What the token was issued for.
    pub kind: TokenKind,
    /// When the token expires; `None` for never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the token was revoked; `None` while it is not.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Shared: cloning a credential, as every request does, copies no scope.
    pub scope: Option<Arc<Scope>>,
    /// Set when the token was presented by a secret that a rotation replaced: until when that
    /// secret works, as far as known when it was read.
    pub retiring_until: Option<DateTime<Utc>>,
    /// Whether a replaced secret keeps working until the current one is first used: its first use
    /// starts the grace period.
    pub overlap_pending: bool,
    /// Where the token may be used from; `None` for anywhere. Shared, like the scope.
    pub allowed_ips: Option<Arc<AllowedIps>>,
    /// How often the token may be used; `None`: no limit of its own. Shared.
    pub rate_limits: Option<Arc<RateLimits>>,
}

impl Credential {
    /// The token's status at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> TokenStatus {
        TokenStatus::of(self.revoked_at, self.expires_at, now)
    }

    /// Whether it was presented by a replaced secret whose overlap is over at `now`.
    pub fn is_retired(&self, now: DateTime<Utc>) -> bool {
        self.retiring_until.is_some_and(|until| now >= until)
    }

    /// Whether a request from `ip` may use this token of `user`: each allow-list there is (the
    /// token's, its user's) must allow the address, and an unknown address passes none.
    pub fn usable_from(&self, user: &User, ip: Option<IpAddr>) -> bool {
        self.allow_lists(user)
            .all(|list| ip.is_some_and(|ip| list.allows(ip)))
    }

    /// Whether an allow-list (the token's or its user's) holds the token to some addresses.
    pub fn is_ip_restricted(&self, user: &User) -> bool {
        self.allow_lists(user).next().is_some()
    }

    fn allow_lists<'a>(&'a self, user: &'a User) -> impl Iterator<Item = &'a AllowedIps> {
        [self.allowed_ips.as_deref(), user.allowed_ips.as_ref()]
            .into_iter()
            .flatten()
    }
}

/// The longest grace period a rotation may give the replaced secret, counted from the new
/// secret's first use: a day.
pub const MAX_GRACE_SECONDS: u32 = 86_400;

/// However the grace period runs, a replaced secret works at most this long after its rotation.
pub fn max_overlap() -> chrono::Duration {
    chrono::Duration::days(7)
}

/// A secret that a rotation replaced, kept working for a grace period so that those who hold it
/// can move to the new one: until `grace_seconds` after the new secret's first use, never past
/// its `deadline`, never after it was ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiringSecret {
    /// What may be shown of the replaced secret.
    pub hint: String,
    /// When the rotation replaced it.
    pub rotated_at: DateTime<Utc>,
    /// How long it works after the new secret's first use.
    pub grace_seconds: u32,
    /// The latest it works: seven days after the rotation, or the token's expiry if sooner.
    pub deadline: DateTime<Utc>,
    /// Set at the new secret's first use: then plus the grace period, or the deadline if sooner.
    pub retires_at: Option<DateTime<Utc>>,
    /// When the overlap was ended early: rotated again, revoked, user disabled, or by hand.
    pub ended_at: Option<DateTime<Utc>>,
    /// How many requests it authenticated since the rotation (written in batches).
    pub uses: u64,
    /// When it last authenticated a request since the rotation.
    pub last_used_at: Option<DateTime<Utc>>,
    /// The client address of that use, when it carried one.
    pub last_used_ip: Option<String>,
    /// How many requests it authenticated in the hour before it was read.
    pub uses_last_hour: u64,
}

impl RetiringSecret {
    /// When it stops working (or stopped), as far as known now.
    pub fn works_until(&self) -> DateTime<Utc> {
        works_until(self.deadline, self.retires_at, self.ended_at)
    }
}

/// When a replaced secret stops working: the earliest of its deadline, its end of grace (once
/// known) and its early end (if any).
pub fn works_until(
    deadline: DateTime<Utc>,
    retires_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    [retires_at, ended_at]
        .into_iter()
        .flatten()
        .fold(deadline, DateTime::min)
}

impl From<Token> for Credential {
    fn from(token: Token) -> Self {
        Credential {
            id: token.id,
            kind: token.kind,
            expires_at: token.expires_at,
            revoked_at: token.revoked_at,
            scope: token.scope.map(Arc::new),
            retiring_until: None,
            overlap_pending: false,
            allowed_ips: token.allowed_ips.map(Arc::new),
            rate_limits: token.rate_limits.map(Arc::new),
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
            leak: None,
            allowed_ips: None,
            rate_limits: None,
        }
    }

    fn user(allowed_ips: Option<&[&str]>) -> User {
        User {
            id: Uuid::nil(),
            kind: UserKind::Api,
            email: None,
            display_name: "sensor fleet".into(),
            description: None,
            workspace_id: None,
            is_instance_admin: false,
            disabled_at: None,
            created_at: DateTime::UNIX_EPOCH,
            allowed_ips: allowed_ips.map(|l| AllowedIps::parse(l).expect("valid")),
            rate_limits: None,
        }
    }

    #[test]
    fn a_token_is_usable_only_from_where_both_its_lists_allow() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("valid"));
        let mut credential = Credential::from(token(None, None));
        let anywhere = user(None);
        assert!(credential.usable_from(&anywhere, ip("198.51.100.1")));
        assert!(credential.usable_from(&anywhere, None));
        assert!(!credential.is_ip_restricted(&anywhere));

        let fleet = user(Some(&["10.0.0.0/8"]));
        assert!(credential.is_ip_restricted(&fleet));
        assert!(credential.usable_from(&fleet, ip("10.1.2.3")));
        assert!(!credential.usable_from(&fleet, ip("198.51.100.1")));
        // An unknown address passes no list.
        assert!(!credential.usable_from(&fleet, None));

        credential.allowed_ips = Some(Arc::new(
            AllowedIps::parse(&["10.1.0.0/16"]).expect("valid"),
        ));
        assert!(credential.usable_from(&fleet, ip("10.1.2.3")));
        assert!(!credential.usable_from(&fleet, ip("10.2.0.1")));
        assert!(!credential.usable_from(&anywhere, ip("10.2.0.1")));
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

    #[test]
    fn a_replaced_secret_works_until_the_earliest_of_its_ends() {
        let rotated = DateTime::UNIX_EPOCH + Duration::days(10);
        let secret = RetiringSecret {
            hint: "kgt_abcd…wxyz".into(),
            rotated_at: rotated,
            grace_seconds: 60,
            deadline: rotated + max_overlap(),
            retires_at: None,
            ended_at: None,
            uses: 0,
            last_used_at: None,
            last_used_ip: None,
            uses_last_hour: 0,
        };
        // Nobody used the new secret: the deadline.
        assert_eq!(secret.works_until(), rotated + Duration::days(7));
        let retires = rotated + Duration::hours(1);
        let started = RetiringSecret {
            retires_at: Some(retires),
            ..secret.clone()
        };
        assert_eq!(started.works_until(), retires);
        // Ended early, or ended after it had retired anyway: whichever came first.
        let ended = rotated + Duration::minutes(5);
        for (retires_at, ended_at, until) in [
            (Some(retires), Some(ended), ended),
            (None, Some(ended), ended),
            (Some(retires), Some(retires + Duration::hours(1)), retires),
        ] {
            let s = RetiringSecret {
                retires_at,
                ended_at,
                ..secret.clone()
            };
            assert_eq!(s.works_until(), until);
        }
    }

    #[test]
    fn a_credential_by_a_replaced_secret_is_retired_from_its_end_on() {
        let now = DateTime::UNIX_EPOCH + Duration::days(10);
        let mut credential = Credential::from(token(None, None));
        assert!(!credential.is_retired(now), "the current secret never is");
        credential.retiring_until = Some(now + Duration::seconds(1));
        assert!(!credential.is_retired(now));
        credential.retiring_until = Some(now);
        assert!(credential.is_retired(now));
    }
}
