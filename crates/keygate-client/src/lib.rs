//! Guard an axum (or any tower) service with Keygate.
//!
//! A [`Verifier`] asks Keygate's `POST /api/v1/verify` over a pooled HTTP client and keeps each
//! answer for a moment (one second by default) in a local cache keyed by a SHA-256 digest of the
//! question, so a revocation or a change of rights lands within about that long. A [`Guard`] layer
//! reads the caller's token from the transports Keygate accepts (`Authorization: Token|Bearer`,
//! `API-KEY`, `X-API-Key`; none: an anonymous caller, judged by the workspace's public role), asks
//! for the route's permission on the route's resource, and answers refusals the way Keygate does:
//! `401` with `WWW-Authenticate`, `403` naming what is missing, `400` for two different tokens,
//! and `503 keygate_unavailable` when Keygate cannot be reached or fails (fail closed). Handlers
//! get the caller as an [`Identity`].
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use keygate_client::{Guard, Identity, Verifier};
//!
//! async fn show(Identity { user, .. }: Identity) -> String {
//!     format!("hello {}", user.map_or("anonymous".into(), |u| u.display_name))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let keygate = Verifier::builder("http://127.0.0.1:8080").workspace("acme").build()?;
//! let read = Guard::new(keygate.clone(), "devices:read").resource("device:{id}");
//! let app: Router = Router::new().route("/devices/{id}", get(show).route_layer(read));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8090").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! The [`Require`] extractor does the same as a guard from a [`Requirement`] type, and
//! [`Verifier::verify`] answers any other question (e.g. which items of a list the caller may
//! read), with the caller's [`PresentedToken`].

#![warn(missing_docs)]

mod extract;
mod guard;
mod rejection;
mod transport;
mod verifier;

pub use extract::{PresentedToken, Require, Requirement};
pub use guard::{Guard, GuardService, PathParams, fill};
pub use rejection::Rejection;
pub use transport::{QUERY_TOKEN_PARAM, presented_token};
pub use verifier::{
    BuildError, Code, DEFAULT_CACHE_SIZE, DEFAULT_CACHE_TTL, DEFAULT_TIMEOUT, Decision, Identity,
    Question, RateLimitState, User, Verifier, VerifierBuilder, VerifyError, Workspace,
};
