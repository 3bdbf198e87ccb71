//! REST handlers under `/api/v1`, one file per resource. Handlers translate wire types and call
//! the service layer; they hold no rules of their own.

pub mod health;
pub mod json;
pub mod me;
pub mod tokens;
pub mod verify;
pub mod workspaces;
