//! Wire types of a workspace's tokens: each with whom it belongs to.

use serde::Serialize;
use utoipa::ToSchema;

use crate::http::rest::admin::json::UserJson;
use crate::http::rest::tokens::json::TokenJson;

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
