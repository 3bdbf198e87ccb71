//! Schemas of strings with a grammar of their own, for the server's OpenAPI document.

use utoipa::ToSchema;

/// A permission or permission pattern: `resource:action`, where either part may be `*`
/// (`devices:read`, `devices:*`, `*:read`); `*` alone is everything.
#[derive(ToSchema)]
#[schema(value_type = String, example = "devices:read")]
pub struct Permission(pub String);

/// A person (`human`) or a service account (`api`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum UserKind {
    /// A person.
    Human,
    /// A service account.
    Api,
}
