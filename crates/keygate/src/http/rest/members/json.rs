//! Wire types of members and invitations: a member as listed, an invitation as its workspace's
//! managers and as the invited person see it, and what inviting, changing a member and accepting
//! take and return.

use async_graphql::InputObject;
use chrono::{DateTime, Utc};
use keygate_domain::{Invitation, Member, ResourcePattern};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::openapi as doc;
use crate::http::rest::admin::json::{UserJson, user_json};
use crate::http::rest::teams::json::TeamRefJson;
use crate::http::rest::workspaces::json::WorkspaceJson;
use crate::service::{InviteRequest, MemberPatchRequest};

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

/// Whom to invite, and what they get once they accept.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "InviteMemberInput")]
pub struct InviteJson {
    pub email: String,
    /// Role names.
    #[serde(default)]
    #[graphql(default)]
    pub roles: Vec<String>,
    /// Resource patterns the member may reach, such as `device:abc`.
    #[serde(default)]
    #[graphql(default)]
    pub grants: Vec<String>,
}

same_fields!(InviteJson => InviteRequest { email, roles, grants });

/// A member's new roles and grants; a list given replaces the current one, a list left out stays.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "UpdateMemberInput")]
pub struct PatchMemberJson {
    /// Role names.
    pub roles: Option<Vec<String>>,
    /// Resource patterns.
    pub grants: Option<Vec<String>>,
}

same_fields!(PatchMemberJson => MemberPatchRequest { roles, grants });

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

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedJson {
    pub user: UserJson,
    pub workspace: WorkspaceJson,
    /// The new personal token, shown this once.
    pub token: String,
}
