//! Wire types of API users: an API user as listed, the answer to creating one (with its first
//! token), and what creating and changing one take. Their tokens are tokens' wire types.

use async_graphql::InputObject;
use chrono::{DateTime, Utc};
use keygate_domain::{Member, ResourcePattern};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::openapi as doc;
use crate::http::rest::members::json::MemberJson;
use crate::http::rest::teams::json::TeamRefJson;
use crate::http::rest::tokens::json::TokenWithSecretJson;
use crate::service::{ApiUserPatchRequest, ApiUserRequest};

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

/// A new API user: a service account of the workspace.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "CreateApiUserInput")]
pub struct CreateApiUserJson {
    pub name: String,
    pub description: Option<String>,
    /// Role names.
    #[serde(default)]
    #[graphql(default)]
    pub roles: Vec<String>,
    /// Resource patterns the API user may reach, such as `device:abc`.
    #[serde(default)]
    #[graphql(default)]
    pub grants: Vec<String>,
    /// Teams by id or name.
    #[serde(default)]
    #[graphql(default)]
    pub teams: Vec<String>,
}

impl From<CreateApiUserJson> for ApiUserRequest {
    fn from(body: CreateApiUserJson) -> Self {
        Self {
            name: body.name,
            description: body.description,
            roles: body.roles,
            grants: body.grants,
            teams: body.teams,
        }
    }
}

/// Changes to an API user; a field left out stays, a list given replaces the current one.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "UpdateApiUserInput")]
pub struct PatchApiUserJson {
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

impl From<PatchApiUserJson> for ApiUserPatchRequest {
    fn from(body: PatchApiUserJson) -> Self {
        Self {
            name: body.name,
            description: body.description,
            roles: body.roles,
            grants: body.grants,
            teams: body.teams,
            disabled: body.disabled,
        }
    }
}
