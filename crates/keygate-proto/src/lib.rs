//! Keygate's wire contract: what travels between Keygate and the services that ask it, written
//! once for the server and for its clients.
//!
//! - [`transport`]: where a request carries its token, and which combinations are refused.
//! - [`verify`]: the questions of `POST /api/v1/verify` and `POST /api/v1/auth/check`, and their
//!   answers.
//! - [`error`]: the error envelope `{"error":{"code","message"}}` and the `WWW-Authenticate`
//!   challenges.
//! - [`forward`]: the headers of forward-auth, asked and answered.
//!
//! The crate does no I/O and depends on no part of the server. With the `openapi` feature, its
//! types carry the schemas of the server's OpenAPI document, from which clients in other languages
//! take them.

#![warn(missing_docs)]

pub mod error;
pub mod forward;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod transport;
pub mod verify;

pub use error::{ErrorDetail, ErrorEnvelope};
pub use transport::{QUERY_TOKEN_PARAM, TransportError, presented_token};
pub use verify::{
    CheckAnswer, CheckRequest, Code, Membership, RateLimitState, User, VerifyAnswer, VerifyRequest,
    Workspace,
};
