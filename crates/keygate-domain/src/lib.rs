//! Keygate's domain: the token format and digests, permissions and resource patterns, validated
//! input and the entities the rest of Keygate stores and serves. No I/O happens here: the clock
//! and the random source are parameters, so every rule is testable on its own.

#![warn(missing_docs)]

pub mod allowed_ips;
pub mod leak;
pub mod model;
pub mod permission;
pub mod rate_limit;
pub mod rights;
pub mod route;
pub mod token;
pub mod validate;
pub mod webhook;

pub use allowed_ips::AllowedIps;
pub use model::{
    AuditEvent, Credential, Invitation, MAX_GRACE_SECONDS, Member, Membership, RetiringSecret,
    Role, Team, TeamRef, Token, TokenLeak, TokenStatus, User, UserKind, Workspace, max_overlap,
};
pub use permission::{Manage, Permission, PermissionSet, ResourcePattern};
pub use rate_limit::{RateLimit, RateLimits};
pub use rights::{Denial, Resources, Rights, Scope, WorkspaceRights};
pub use token::{
    ClearToken, Digester, ParsedToken, TokenDigest, TokenFormat, TokenFormatError, TokenKind,
};
pub use validate::{Email, Slug, ValidationError};
