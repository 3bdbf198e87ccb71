//! Wire types of teams: a team as listed, a reference to one (as members and API users list
//! theirs), and what creating and changing one take.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use keygate_domain::{ResourcePattern, Team};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::openapi as doc;
use crate::service::{TeamPatchRequest, TeamRequest};

// GraphQL's `TeamRefGql`, by the name the published schema gives it.
#[derive(Debug, Clone, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "TeamRefGql")]
pub struct TeamRefJson {
    pub id: Uuid,
    pub name: String,
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

/// A new team: its roles and grants apply to its members.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "CreateTeamInput")]
pub struct CreateTeamJson {
    /// Unique in the workspace, and never a UUID.
    pub name: String,
    pub description: Option<String>,
    /// Role names.
    #[serde(default)]
    #[graphql(default)]
    pub roles: Vec<String>,
    /// Resource patterns.
    #[serde(default)]
    #[graphql(default)]
    pub grants: Vec<String>,
    /// User ids of members: people or API users of the workspace.
    #[serde(default)]
    #[graphql(default)]
    pub members: Vec<Uuid>,
}

same_fields!(CreateTeamJson => TeamRequest { name, description, roles, grants, members });

/// Changes to a team; a field left out stays, a list given replaces the current one.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "UpdateTeamInput")]
pub struct PatchTeamJson {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Role names.
    pub roles: Option<Vec<String>>,
    /// Resource patterns.
    pub grants: Option<Vec<String>>,
    /// User ids of members.
    pub members: Option<Vec<Uuid>>,
}

same_fields!(PatchTeamJson => TeamPatchRequest { name, description, roles, grants, members });
