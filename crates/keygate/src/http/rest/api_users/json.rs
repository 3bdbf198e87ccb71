//! Wire types of API users: an API user as listed, the answer to creating one (with its first
//! token), and what creating and changing one take. Their tokens are tokens' wire types.

use async_graphql::{InputObject, MaybeUndefined};
use chrono::{DateTime, Utc};
use keygate_domain::{AllowedIps, Member, RateLimit, ResourcePattern};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::openapi as doc;
use crate::http::rest::members::json::MemberJson;
use crate::http::rest::teams::json::TeamRefJson;
use crate::http::rest::tokens::json::{
    RateLimitJson, TokenWithSecretJson, change, rate_limits_json, rate_limits_request,
};
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
    /// Networks (CIDR) all its tokens may be used from; `null` for anywhere.
    #[schema(example = json!(["10.20.0.0/16"]))]
    pub allowed_ips: Option<Vec<String>>,
    /// How often all its tokens together may be used; `null` for no limit.
    pub rate_limits: Option<Vec<RateLimitJson>>,
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
            allowed_ips: m.user.allowed_ips.as_ref().map(AllowedIps::to_strings),
            rate_limits: rate_limits_json(m.user.rate_limits.as_ref()),
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
    /// Networks (`10.0.0.0/8`, `2001:db8::/32`) or single addresses all its tokens may be used
    /// from; left out, anywhere.
    #[schema(example = json!(["10.20.0.0/16"]))]
    pub allowed_ips: Option<Vec<String>>,
    /// How often all its tokens together may be used; left out, no limit.
    pub rate_limits: Option<Vec<RateLimitJson>>,
}

impl From<CreateApiUserJson> for ApiUserRequest {
    fn from(body: CreateApiUserJson) -> Self {
        Self {
            name: body.name,
            description: body.description,
            roles: body.roles,
            grants: body.grants,
            teams: body.teams,
            allowed_ips: body.allowed_ips,
            rate_limits: rate_limits_request(body.rate_limits),
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
    /// Where all its tokens may be used from, replacing the current list; `null` for anywhere.
    /// A token's own list still applies on top of it.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>, nullable, example = json!(["10.20.0.0/16"]))]
    pub allowed_ips: MaybeUndefined<Vec<String>>,
    /// How often all its tokens together may be used, replacing the current limits; `null`:
    /// no limit. A token's own limits still apply on top of them.
    #[serde(default)]
    #[schema(value_type = Option<Vec<RateLimitJson>>, nullable)]
    pub rate_limits: MaybeUndefined<Vec<RateLimitJson>>,
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
            allowed_ips: change(body.allowed_ips, |l| l),
            rate_limits: change(body.rate_limits, |l| {
                l.into_iter().map(RateLimit::from).collect()
            }),
        }
    }
}
