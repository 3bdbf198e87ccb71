//! Wire types of workspaces: a workspace, a membership (a workspace with the member's roles in
//! it), and what creating and changing one take. `WorkspaceJson` and `MembershipJson` are the
//! contract's types (`keygate-proto`), which clients share.

use async_graphql::InputObject;
use keygate_domain::{Membership, Workspace};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::{NewWorkspaceRequest, WorkspacePatchRequest};

pub use keygate_proto::{Membership as MembershipJson, Workspace as WorkspaceJson};

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

/// A new workspace; its creator is its first owner.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "CreateWorkspaceInput")]
pub struct CreateWorkspaceJson {
    /// 2–63 characters of `a-z`, `0-9` and inner `-`; unique in the instance.
    pub slug: String,
    /// The display name; left out, the slug.
    pub name: Option<String>,
}

same_fields!(CreateWorkspaceJson => NewWorkspaceRequest { slug, name });

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

same_fields!(PatchWorkspaceJson => WorkspacePatchRequest { slug, name, max_token_lifetime_days });

/// For a field where `null` means something (clear it) and absence means "leave as is".
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
