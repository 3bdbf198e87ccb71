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

/// `s` split at the first `byte` (an ASCII separator), as `split_once` splits it, found byte by
/// byte: what is split here is short (a permission, a path), and the general search spends more
/// setting up than finding the separator. A byte below 128 never occurs inside a multi-byte
/// character, so both halves are whole text.
pub(crate) fn split_once_byte(s: &str, byte: u8) -> Option<(&str, &str)> {
    debug_assert!(byte.is_ascii());
    let at = s.bytes().position(|b| b == byte)?;
    Some((&s[..at], &s[at + 1..]))
}

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

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// Whatever the text (separators first, last, repeated, beside multi-byte characters),
        /// it is split where `split_once` splits it.
        #[test]
        fn text_is_split_at_a_byte_as_split_once_does(s in "[a-z:*/é\u{FF1A}\u{FF0F}]{0,12}") {
            for separator in [':', '/'] {
                proptest::prop_assert_eq!(
                    super::split_once_byte(&s, separator as u8),
                    s.split_once(separator)
                );
            }
        }
    }
}
