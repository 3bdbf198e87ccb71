//! GraphQL input objects: what a mutation that creates or changes something is made of. Which
//! thing it acts on (the workspace, a team, an API user, a member, a role's name) stays in the
//! mutation's own arguments.
//!
//! Where REST takes a body of the same shape, an input converts into that body and the body into
//! the service's request, so that both APIs reach the service through one conversion. Defaults
//! match REST's: a list left out of a create is empty, a field left out of an update is kept.

use async_graphql::{InputObject, MaybeUndefined};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::http::rest::api_users::json::{CreateApiUserJson, PatchApiUserJson};
use crate::http::rest::members::json::{InviteJson, PatchMemberJson};
use crate::http::rest::roles::json::CreateRoleJson;
use crate::http::rest::teams::json::{CreateTeamJson, PatchTeamJson};
use crate::http::rest::tokens::json::{CreateTokenJson, ScopeJson};
use crate::http::rest::workspaces::json::{CreateWorkspaceJson, PatchWorkspaceJson};
use crate::service::{
    AcceptRequest, ApiUserPatchRequest, ApiUserRequest, InviteRequest, MemberPatchRequest,
    NewWorkspaceRequest, RoleRequest, RoleUpdateRequest, TeamPatchRequest, TeamRequest,
    WorkspacePatchRequest,
};

/// A token's narrowing; a dimension left out stays as the token's user holds it.
#[derive(InputObject, Default)]
pub struct ScopeInput {
    /// Workspaces by id or slug.
    pub workspaces: Option<Vec<String>>,
    /// Permissions, or patterns such as `devices:*`.
    pub permissions: Option<Vec<String>>,
    /// Resource patterns such as `device:abc` or `device:site-3/*`.
    pub resources: Option<Vec<String>>,
}

impl From<ScopeInput> for ScopeJson {
    fn from(s: ScopeInput) -> Self {
        Self {
            workspaces: s.workspaces,
            permissions: s.permissions,
            resources: s.resources,
        }
    }
}

/// A new token: of the caller (`createToken`) or of an API user (`createApiUserToken`).
#[derive(InputObject, Default)]
pub struct CreateTokenInput {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Lifetime in days from now; give this or `expiresAt`, not both.
    pub expires_in_days: Option<i64>,
    /// When the token stops working; give this or `expiresInDays`, not both.
    pub expires_at: Option<DateTime<Utc>>,
    /// What the token may do of its user's rights; left out, all of them.
    pub scope: Option<ScopeInput>,
}

/// The REST body of the same request: both APIs make a token request, and check its expiry,
/// through one conversion.
impl From<CreateTokenInput> for CreateTokenJson {
    fn from(input: CreateTokenInput) -> Self {
        Self {
            name: input.name,
            description: input.description,
            expires_in_days: input.expires_in_days,
            expires_at: input.expires_at,
            scope: input.scope.map(Into::into),
        }
    }
}

/// A new workspace; its creator is its first owner.
#[derive(InputObject)]
pub struct CreateWorkspaceInput {
    /// 2–63 characters of `a-z`, `0-9` and inner `-`; unique in the instance.
    pub slug: String,
    /// The display name; left out, the slug.
    pub name: Option<String>,
}

impl From<CreateWorkspaceInput> for CreateWorkspaceJson {
    fn from(input: CreateWorkspaceInput) -> Self {
        Self {
            slug: input.slug,
            name: input.name,
        }
    }
}

impl From<CreateWorkspaceInput> for NewWorkspaceRequest {
    fn from(input: CreateWorkspaceInput) -> Self {
        CreateWorkspaceJson::from(input).into()
    }
}

/// Changes to a workspace; a field left out stays as it is.
#[derive(InputObject)]
pub struct UpdateWorkspaceInput {
    /// A new slug, under the same rules as a new workspace's.
    pub slug: Option<String>,
    pub name: Option<String>,
    /// The longest token lifetime in days; null removes the cap.
    pub max_token_lifetime_days: MaybeUndefined<u32>,
}

impl From<UpdateWorkspaceInput> for PatchWorkspaceJson {
    fn from(input: UpdateWorkspaceInput) -> Self {
        Self {
            slug: input.slug,
            name: input.name,
            max_token_lifetime_days: match input.max_token_lifetime_days {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(days) => Some(Some(days)),
            },
        }
    }
}

impl From<UpdateWorkspaceInput> for WorkspacePatchRequest {
    fn from(input: UpdateWorkspaceInput) -> Self {
        PatchWorkspaceJson::from(input).into()
    }
}

/// Whom to invite, and what they get once they accept.
#[derive(InputObject)]
pub struct InviteMemberInput {
    pub email: String,
    /// Role names.
    #[graphql(default)]
    pub roles: Vec<String>,
    /// Resource patterns the member may reach, such as `device:abc`.
    #[graphql(default)]
    pub grants: Vec<String>,
}

impl From<InviteMemberInput> for InviteJson {
    fn from(input: InviteMemberInput) -> Self {
        Self {
            email: input.email,
            roles: input.roles,
            grants: input.grants,
        }
    }
}

impl From<InviteMemberInput> for InviteRequest {
    fn from(input: InviteMemberInput) -> Self {
        InviteJson::from(input).into()
    }
}

/// A member's new roles and grants; a list given replaces the current one, a list left out stays.
#[derive(InputObject)]
pub struct UpdateMemberInput {
    /// Role names.
    pub roles: Option<Vec<String>>,
    /// Resource patterns.
    pub grants: Option<Vec<String>>,
}

impl From<UpdateMemberInput> for PatchMemberJson {
    fn from(input: UpdateMemberInput) -> Self {
        Self {
            roles: input.roles,
            grants: input.grants,
        }
    }
}

impl From<UpdateMemberInput> for MemberPatchRequest {
    fn from(input: UpdateMemberInput) -> Self {
        PatchMemberJson::from(input).into()
    }
}

/// The account an invited person creates by accepting.
#[derive(InputObject)]
pub struct AcceptInvitationInput {
    /// The new account's password: 8 to 1024 characters.
    pub password: String,
    /// Left out, the part of the email before the `@`.
    pub display_name: Option<String>,
}

impl AcceptInvitationInput {
    /// The service's request, with the accepting client's address for the audit log.
    pub fn into_request(self, ip: Option<std::net::IpAddr>) -> AcceptRequest {
        AcceptRequest {
            password: self.password.into(),
            display_name: self.display_name,
            ip,
        }
    }
}

/// A new custom role.
#[derive(InputObject)]
pub struct CreateRoleInput {
    /// 2–63 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter.
    pub name: String,
    pub description: Option<String>,
    /// Permissions, or patterns such as `devices:*`.
    pub permissions: Vec<String>,
}

impl From<CreateRoleInput> for CreateRoleJson {
    fn from(input: CreateRoleInput) -> Self {
        Self {
            name: input.name,
            description: input.description,
            permissions: input.permissions,
        }
    }
}

impl From<CreateRoleInput> for RoleRequest {
    fn from(input: CreateRoleInput) -> Self {
        CreateRoleJson::from(input).into()
    }
}

/// A custom role's new content: it replaces the current one.
#[derive(InputObject)]
pub struct UpdateRoleInput {
    pub description: Option<String>,
    /// Permissions, or patterns such as `devices:*`.
    pub permissions: Vec<String>,
}

/// Only the public role has grants (`setPublicRole`), so this is not REST's `PUT` body.
impl From<UpdateRoleInput> for RoleUpdateRequest {
    fn from(input: UpdateRoleInput) -> Self {
        Self {
            description: input.description,
            permissions: input.permissions,
            grants: None,
        }
    }
}

/// What anonymous callers may do in a workspace: it replaces the public role's content.
#[derive(InputObject)]
pub struct SetPublicRoleInput {
    /// Permissions, or patterns such as `devices:*`.
    pub permissions: Vec<String>,
    /// Resource patterns anonymous callers may reach, such as `device:demo`.
    #[graphql(default)]
    pub grants: Vec<String>,
}

impl From<SetPublicRoleInput> for RoleUpdateRequest {
    fn from(input: SetPublicRoleInput) -> Self {
        Self {
            description: None,
            permissions: input.permissions,
            grants: Some(input.grants),
        }
    }
}

/// A new team: its roles and grants apply to its members.
#[derive(InputObject)]
pub struct CreateTeamInput {
    /// Unique in the workspace, and never a UUID.
    pub name: String,
    pub description: Option<String>,
    /// Role names.
    #[graphql(default)]
    pub roles: Vec<String>,
    /// Resource patterns.
    #[graphql(default)]
    pub grants: Vec<String>,
    /// User ids of members: people or API users of the workspace.
    #[graphql(default)]
    pub members: Vec<Uuid>,
}

impl From<CreateTeamInput> for CreateTeamJson {
    fn from(input: CreateTeamInput) -> Self {
        Self {
            name: input.name,
            description: input.description,
            roles: input.roles,
            grants: input.grants,
            members: input.members,
        }
    }
}

impl From<CreateTeamInput> for TeamRequest {
    fn from(input: CreateTeamInput) -> Self {
        CreateTeamJson::from(input).into()
    }
}

/// Changes to a team; a field left out stays, a list given replaces the current one.
#[derive(InputObject)]
pub struct UpdateTeamInput {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Role names.
    pub roles: Option<Vec<String>>,
    /// Resource patterns.
    pub grants: Option<Vec<String>>,
    /// User ids of members.
    pub members: Option<Vec<Uuid>>,
}

impl From<UpdateTeamInput> for PatchTeamJson {
    fn from(input: UpdateTeamInput) -> Self {
        Self {
            name: input.name,
            description: input.description,
            roles: input.roles,
            grants: input.grants,
            members: input.members,
        }
    }
}

impl From<UpdateTeamInput> for TeamPatchRequest {
    fn from(input: UpdateTeamInput) -> Self {
        PatchTeamJson::from(input).into()
    }
}

/// A new API user: a service account of the workspace.
#[derive(InputObject)]
pub struct CreateApiUserInput {
    pub name: String,
    pub description: Option<String>,
    /// Role names.
    #[graphql(default)]
    pub roles: Vec<String>,
    /// Resource patterns the API user may reach, such as `device:abc`.
    #[graphql(default)]
    pub grants: Vec<String>,
    /// Teams by id or name.
    #[graphql(default)]
    pub teams: Vec<String>,
}

impl From<CreateApiUserInput> for CreateApiUserJson {
    fn from(input: CreateApiUserInput) -> Self {
        Self {
            name: input.name,
            description: input.description,
            roles: input.roles,
            grants: input.grants,
            teams: input.teams,
        }
    }
}

impl From<CreateApiUserInput> for ApiUserRequest {
    fn from(input: CreateApiUserInput) -> Self {
        CreateApiUserJson::from(input).into()
    }
}

/// Changes to an API user; a field left out stays, a list given replaces the current one.
#[derive(InputObject)]
pub struct UpdateApiUserInput {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Role names.
    pub roles: Option<Vec<String>>,
    /// Resource patterns.
    pub grants: Option<Vec<String>>,
    /// Teams by id or name.
    pub teams: Option<Vec<String>>,
    /// A disabled API user's tokens stop working until it is enabled again.
    pub disabled: Option<bool>,
}

impl From<UpdateApiUserInput> for PatchApiUserJson {
    fn from(input: UpdateApiUserInput) -> Self {
        Self {
            name: input.name,
            description: input.description,
            roles: input.roles,
            grants: input.grants,
            teams: input.teams,
            disabled: input.disabled,
        }
    }
}

impl From<UpdateApiUserInput> for ApiUserPatchRequest {
    fn from(input: UpdateApiUserInput) -> Self {
        PatchApiUserJson::from(input).into()
    }
}
