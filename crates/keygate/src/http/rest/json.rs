//! Wire types of the REST API: what requests carry and responses return.

use chrono::{DateTime, Utc};
use keygate_domain::{
    AuditEvent, ClearToken, Invitation, Member, Membership, Permission, ResourcePattern, Role,
    Scope, Team, Token, TokenKind, TokenStatus, User, UserKind, Workspace,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::openapi as doc;

use crate::service::ScopeRequest;

pub use keygate_proto::{
    CheckAnswer as CheckJson, CheckRequest as CheckRequestJson, Membership as MembershipJson,
    User as UserJson, VerifyAnswer as VerifyJson, VerifyRequest as VerifyRequestJson,
    Workspace as WorkspaceJson,
};

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

/// A token as listed: never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenJson {
    pub id: Uuid,
    #[schema(value_type = doc::TokenKind)]
    pub kind: TokenKind,
    pub name: Option<String>,
    pub description: Option<String>,
    pub hint: String,
    #[schema(value_type = doc::TokenStatus)]
    pub status: TokenStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    /// `null` for a token with all of its user's rights.
    #[schema(value_type = Option<doc::Scope>)]
    pub scope: Option<Scope>,
}

impl TokenJson {
    pub fn new(t: &Token, now: DateTime<Utc>) -> Self {
        Self {
            id: t.id,
            kind: t.kind,
            name: t.name.clone(),
            description: t.description.clone(),
            hint: t.hint.clone(),
            status: t.status(now),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            last_used_ip: t.last_used_ip.clone(),
            revoked_at: t.revoked_at,
            rotated_at: t.rotated_at,
            scope: t.scope.clone(),
        }
    }
}

/// The one response that carries a token in clear: after creation or rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenWithSecretJson {
    /// The secret. Shown this once; Keygate keeps only its digest.
    pub token: String,
    #[serde(flatten)]
    pub details: TokenJson,
}

impl TokenWithSecretJson {
    pub fn new(t: &Token, clear: ClearToken, now: DateTime<Utc>) -> Self {
        Self {
            token: clear.into_exposed(),
            details: TokenJson::new(t, now),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenListJson {
    pub tokens: Vec<TokenJson>,
}

/// A token in a workspace's listing, with whom it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnedTokenJson {
    #[serde(flatten)]
    pub token: TokenJson,
    pub owner: UserJson,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnedTokenListJson {
    pub tokens: Vec<OwnedTokenJson>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenJson {
    pub name: Option<String>,
    pub description: Option<String>,
    pub expires_in_days: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub scope: Option<ScopeJson>,
}

impl TryFrom<CreateTokenJson> for crate::service::NewTokenRequest {
    type Error = keygate_domain::ValidationError;

    fn try_from(body: CreateTokenJson) -> Result<Self, Self::Error> {
        Ok(Self {
            name: body.name,
            description: body.description,
            expiry: crate::service::Expiry::from_parts(body.expires_in_days, body.expires_at)?,
            scope: body.scope.map(Into::into),
        })
    }
}

/// A token's narrowing: workspaces (ids or slugs), permission and resource patterns.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeJson {
    pub workspaces: Option<Vec<String>>,
    pub permissions: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
}

impl From<ScopeJson> for ScopeRequest {
    fn from(s: ScopeJson) -> Self {
        ScopeRequest {
            workspaces: s.workspaces,
            permissions: s.permissions,
            resources: s.resources,
        }
    }
}

/// A workspace as the API shows it.
pub fn workspace_json(w: &Workspace) -> WorkspaceJson {
    WorkspaceJson {
        id: w.id,
        slug: w.slug.to_string(),
        name: w.name.clone(),
        max_token_lifetime_days: w.max_token_lifetime_days,
        created_at: w.created_at,
        updated_at: w.updated_at,
    }
}

/// A workspace as a member sees it: with the member's roles in it.
pub fn membership_json(m: &Membership) -> MembershipJson {
    MembershipJson {
        workspace: workspace_json(&m.workspace),
        roles: m.roles.clone(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceListJson {
    pub workspaces: Vec<MembershipJson>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspaceJson {
    pub slug: String,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWorkspaceJson {
    pub slug: Option<String>,
    pub name: Option<String>,
    /// The longest lifetime, in days, of tokens that act in the workspace (API users' tokens and
    /// tokens scoped to it); `null` removes the cap.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, nullable, minimum = 1, maximum = 3650)]
    pub max_token_lifetime_days: Option<Option<u32>>,
}

/// For a field where `null` means something (clear it) and absence means "leave as is".
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The token the caller is using, as `/auth/me` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentTokenJson {
    pub id: Uuid,
    #[schema(value_type = doc::TokenKind)]
    pub kind: TokenKind,
    pub name: Option<String>,
    pub hint: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// `null` for a token with all of its user's rights.
    #[schema(value_type = Option<doc::Scope>)]
    pub scope: Option<Scope>,
}

impl From<&Token> for CurrentTokenJson {
    fn from(t: &Token) -> Self {
        Self {
            id: t.id,
            kind: t.kind,
            name: t.name.clone(),
            hint: t.hint.clone(),
            expires_at: t.expires_at,
            scope: t.scope.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeJson {
    pub user: UserJson,
    pub token: CurrentTokenJson,
    pub workspaces: Vec<MembershipJson>,
    /// Pending invitations addressed to the caller's email (empty for a token limited to some
    /// workspaces, and for API users).
    pub invitations: Vec<MyInvitationJson>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleJson {
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Vec<doc::Permission>)]
    pub permissions: Vec<Permission>,
    /// The public role's resource grants.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<doc::ResourcePattern>>, nullable = false)]
    pub grants: Option<Vec<ResourcePattern>>,
    pub builtin: bool,
}

impl From<&Role> for RoleJson {
    fn from(r: &Role) -> Self {
        Self {
            name: r.name.clone(),
            description: r.description.clone(),
            permissions: r.permissions.iter().cloned().collect(),
            grants: (r.name == keygate_domain::model::builtin_role::PUBLIC)
                .then(|| r.grants.clone()),
            builtin: r.builtin,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleListJson {
    pub roles: Vec<RoleJson>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleJson {
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutRoleJson {
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub grants: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamRefJson {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberJson {
    pub user: UserJson,
    pub roles: Vec<String>,
    #[schema(value_type = Vec<doc::ResourcePattern>)]
    pub grants: Vec<ResourcePattern>,
    pub teams: Vec<TeamRefJson>,
    pub joined_at: DateTime<Utc>,
}

impl From<&Member> for MemberJson {
    fn from(m: &Member) -> Self {
        Self {
            user: user_json(&m.user),
            roles: m.roles.iter().map(|r| r.name.clone()).collect(),
            grants: m.grants.clone(),
            teams: m
                .teams
                .iter()
                .map(|t| TeamRefJson {
                    id: t.id,
                    name: t.name.clone(),
                })
                .collect(),
            joined_at: m.joined_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberListJson {
    pub members: Vec<MemberJson>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteJson {
    pub email: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub grants: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMemberJson {
    pub roles: Option<Vec<String>>,
    pub grants: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationJson {
    pub id: Uuid,
    pub email: String,
    pub roles: Vec<String>,
    #[schema(value_type = Vec<doc::ResourcePattern>)]
    pub grants: Vec<ResourcePattern>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<&Invitation> for InvitationJson {
    fn from(i: &Invitation) -> Self {
        Self {
            id: i.id,
            email: i.email.to_string(),
            roles: i.roles.clone(),
            grants: i.grants.clone(),
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

/// 202 for an invitation: the link to pass on, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitedJson {
    pub invitation: InvitationJson,
    pub accept_url: String,
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationListJson {
    pub invitations: Vec<InvitationJson>,
}

/// What the invited person sees before accepting.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPreviewJson {
    pub email: String,
    pub workspace: WorkspaceJson,
    pub roles: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// For a new person: the password (and display name) of the account to create. A signed-in
/// user (with their token) sends no body, or `{}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationJson {
    pub password: Option<String>,
    pub display_name: Option<String>,
}

/// An existing user accepted: their membership in the workspace.
#[derive(Debug, Serialize, ToSchema)]
pub struct JoinedJson {
    pub workspace: WorkspaceJson,
    pub member: MemberJson,
}

/// A pending invitation addressed to the caller's email. Accept it with
/// `POST /api/v1/invitations/{id}/accept` and the caller's token.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyInvitationJson {
    pub id: Uuid,
    pub workspace: WorkspaceJson,
    pub roles: Vec<String>,
    #[schema(value_type = Vec<doc::ResourcePattern>)]
    pub grants: Vec<ResourcePattern>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedJson {
    pub user: UserJson,
    pub workspace: WorkspaceJson,
    /// The new personal token, shown this once.
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiUserJson {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub disabled: bool,
    pub roles: Vec<String>,
    #[schema(value_type = Vec<doc::ResourcePattern>)]
    pub grants: Vec<ResourcePattern>,
    pub teams: Vec<TeamRefJson>,
    pub created_at: DateTime<Utc>,
}

impl From<&Member> for ApiUserJson {
    fn from(m: &Member) -> Self {
        let member = MemberJson::from(m);
        Self {
            id: m.user.id,
            name: m.user.display_name.clone(),
            description: m.user.description.clone(),
            disabled: m.user.is_disabled(),
            roles: member.roles,
            grants: member.grants,
            teams: member.teams,
            created_at: m.user.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiUserJson {
    #[serde(flatten)]
    pub api_user: ApiUserJson,
    /// The first token, shown this once.
    pub token: TokenWithSecretJson,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiUserListJson {
    pub api_users: Vec<ApiUserJson>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiUserJson {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub grants: Vec<String>,
    #[serde(default)]
    pub teams: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchApiUserJson {
    pub name: Option<String>,
    pub description: Option<String>,
    pub roles: Option<Vec<String>>,
    pub grants: Option<Vec<String>>,
    pub teams: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamJson {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub roles: Vec<String>,
    #[schema(value_type = Vec<doc::ResourcePattern>)]
    pub grants: Vec<ResourcePattern>,
    pub members: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Team> for TeamJson {
    fn from(t: &Team) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            description: t.description.clone(),
            roles: t.roles.iter().map(|r| r.name.clone()).collect(),
            grants: t.grants.clone(),
            members: t.members.clone(),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamListJson {
    pub teams: Vec<TeamJson>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamJson {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub grants: Vec<String>,
    #[serde(default)]
    pub members: Vec<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTeamJson {
    pub name: Option<String>,
    pub description: Option<String>,
    pub roles: Option<Vec<String>>,
    pub grants: Option<Vec<String>>,
    pub members: Option<Vec<Uuid>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventJson {
    pub id: Uuid,
    pub time: DateTime<Utc>,
    pub action: String,
    pub actor_id: Option<Uuid>,
    pub actor: Option<String>,
    pub actor_token_id: Option<Uuid>,
    pub target_type: String,
    pub target_id: Option<String>,
    pub client_ip: Option<String>,
    pub details: serde_json::Value,
}

impl From<&AuditEvent> for AuditEventJson {
    fn from(e: &AuditEvent) -> Self {
        Self {
            id: e.id,
            time: e.created_at,
            action: e.action.clone(),
            actor_id: e.actor_id,
            actor: e.actor_label.clone(),
            actor_token_id: e.actor_token_id,
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            client_ip: e.client_ip.clone(),
            details: e.details.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageJson {
    pub events: Vec<AuditEventJson>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<Uuid>,
}

/// Filters and paging of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQueryJson {
    /// Only events by this user (id).
    pub actor: Option<Uuid>,
    /// Only events with this action, e.g. `token.created`.
    pub action: Option<String>,
    /// Only events about this target (its `target_id`).
    pub target: Option<String>,
    /// Only events at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// Events per page: 1 to 500, 50 by default. Newest first.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `json` (default) or `csv` (every matching event, as one CSV document).
    #[param(value_type = Option<doc::AuditFormat>, inline)]
    pub format: Option<String>,
    /// Accepted here (and only on this endpoint) for tools that cannot set headers; read by the
    /// token extractor, and dropped unread here. Documented as the `api_token` security scheme.
    #[serde(rename = "api_token")]
    #[param(ignore)]
    pub _api_token: Option<serde::de::IgnoredAny>,
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
    pub fn new(link: &crate::service::PasswordLink, base: &str) -> Self {
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
    pub fn new(created: crate::service::CreatedUser, now: DateTime<Utc>, base: &str) -> Self {
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

impl From<&crate::service::PendingForMe> for MyInvitationJson {
    fn from(p: &crate::service::PendingForMe) -> Self {
        Self {
            id: p.invitation.id,
            workspace: workspace_json(&p.workspace),
            roles: p.invitation.roles.clone(),
            grants: p.invitation.grants.clone(),
            created_at: p.invitation.created_at,
            expires_at: p.invitation.expires_at,
        }
    }
}
