//! GraphQL input objects: what a mutation that creates or changes something is made of. Which
//! thing it acts on (the workspace, a team, an API user, a member, a role's name) stays in the
//! mutation's own arguments.
//!
//! Where REST takes a body of the same shape, that body is the input object too (`CreateTeamJson`
//! is `CreateTeamInput`, and so on, in `rest/<resource>/json.rs`), so both APIs read a request
//! into one type and convert it to the service's request once. Here are the inputs with no REST
//! body of their shape. Defaults match REST's: a list left out of a create is empty, a field left
//! out of an update is kept.

use async_graphql::{InputObject, MaybeUndefined};

use crate::http::rest::workspaces::json::PatchWorkspaceJson;
use crate::service::{AcceptRequest, RoleUpdateRequest, WorkspacePatchRequest};

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
