//! REST handlers under `/api/v1`, one file per resource, with the resource's wire types in its
//! `json` module (a type several resources use lives with the one that owns it). Handlers
//! translate wire types and call the service layer; they hold no rules of their own.

pub mod admin;
pub mod api_users;
pub mod audit;
pub mod health;
pub mod me;
pub mod members;
pub mod roles;
pub mod teams;
pub mod tokens;
pub mod verify;
mod verify_answer;
pub mod workspace_tokens;
pub mod workspaces;

/// Where the REST API lives: every handler here but the health checks is routed and documented
/// under it (`context_path`), without nesting, which would strip the prefix on every request.
pub const API_V1: &str = "/api/v1";
