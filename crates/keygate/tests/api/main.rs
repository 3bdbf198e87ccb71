//! Keygate's integration tests: one binary, the real server on a random port, a real SQLite file
//! and (with `KEYGATE_TEST_DATABASE_URL`) a real PostgreSQL database per test.

mod helpers;

mod admin;
mod allowed_ips;
mod api_users;
mod audit;
mod bad_input;
mod browser;
mod cache;
mod forward;
mod graphql;
mod health;
mod isolation;
mod leaks;
mod members;
mod metrics;
mod openapi;
mod properties;
mod rate_limits;
mod roles;
mod rotation;
mod schema;
mod scopes;
mod secrets;
mod security;
mod story;
mod teams;
mod throttle;
mod tokens;
mod transports;
mod ui;
mod verify;
mod webhooks;
mod workspace_tokens;
mod workspaces;
