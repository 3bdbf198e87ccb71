//! Keygate: accounts, roles and access tokens for a platform's API, and a fast answer on every
//! request to "who is this and may they do that?".
//!
//! Layers, outermost first: `cli` and `config` (the binary), `startup` (wiring), `api` (HTTP),
//! `service` (use cases), then the `keygate_store` and `keygate_domain` crates.

pub mod api;
pub mod cli;
pub mod config;
pub mod metrics;
pub mod service;
pub mod startup;
pub mod telemetry;
pub mod web;
