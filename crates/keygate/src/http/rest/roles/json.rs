//! Wire types of roles: a role as listed, and what creating and replacing one take.

use async_graphql::InputObject;
use keygate_domain::{Permission, ResourcePattern, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::openapi as doc;
use crate::service::{RoleRequest, RoleUpdateRequest};

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

/// A new custom role.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "CreateRoleInput")]
pub struct CreateRoleJson {
    /// 2–63 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter.
    pub name: String,
    pub description: Option<String>,
    /// Permissions, or patterns such as `devices:*`.
    pub permissions: Vec<String>,
}

same_fields!(CreateRoleJson => RoleRequest { name, description, permissions });

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutRoleJson {
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub grants: Option<Vec<String>>,
}

same_fields!(PutRoleJson => RoleUpdateRequest { description, permissions, grants });
