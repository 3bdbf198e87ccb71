//! Keygate: accounts, roles and access tokens for a platform's API, and a fast answer on every
//! request to "who is this and may they do that?".
//!
//! Layers, outermost first: `cli` and `config` (the binary), `startup` (wiring), `http` (REST,
//! GraphQL, forward-auth and the web UI), `service` (use cases), `metrics`, `sharded`, then
//! the `keygate_store` and `keygate_domain` crates. No top-level module uses one above it
//! (`tests/modules.rs` checks).

pub mod cli;
pub mod config;
pub mod http;
pub mod metrics;
pub mod service;
pub mod sharded;
pub mod startup;
pub mod telemetry;
