//! Keygate's integration tests: one binary, the real server on a random port, a real SQLite file
//! and (with `KEYGATE_TEST_DATABASE_URL`) a real PostgreSQL database per test.

mod helpers;

mod bad_input;
mod health;
mod properties;
mod schema;
mod secrets;
mod story;
mod tokens;
mod transports;
mod verify;
mod workspace_tokens;
mod workspaces;
