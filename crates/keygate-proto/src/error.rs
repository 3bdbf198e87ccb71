//! The error envelope every refusal carries, `{"error":{"code","message"}}`, and the
//! `WWW-Authenticate` challenges of a 401.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(
        as = ErrorBody,
        example = json!({"error": {"code": "forbidden", "message": "missing permission `members:manage`", "permission": "members:manage"}})
    )
)]
pub struct ErrorEnvelope {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong. `code` is stable and machine-readable; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// A snake_case code, e.g. `invalid_input`, `invalid_token`, `token_expired`,
    /// `token_revoked`, `unauthenticated`, `forbidden`, `not_found`, `slug_taken`, `unavailable`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub code: Cow<'static, str>,
    /// What went wrong, for people; it never quotes a token.
    pub message: String,
    /// With `forbidden`: the permission that is missing, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub permission: Option<String>,
    /// With `invalid_input`: the field that is invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub field: Option<String>,
}

impl ErrorDetail {
    /// An error with a code and a message, and neither a permission nor a field.
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            permission: None,
            field: None,
        }
    }
}

impl From<ErrorDetail> for ErrorEnvelope {
    fn from(error: ErrorDetail) -> Self {
        Self { error }
    }
}

/// The challenge of a 401 to a request without a token.
pub const CHALLENGE: &str = r#"Token realm="keygate""#;

/// The challenge of a 401 to a request whose token is malformed, unknown, expired or revoked.
pub const CHALLENGE_INVALID_TOKEN: &str = r#"Token realm="keygate", error="invalid_token""#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_written_with_only_the_fields_it_has() {
        let plain = ErrorEnvelope::from(ErrorDetail::new("not_found", "no such workspace"));
        assert_eq!(
            serde_json::to_string(&plain).expect("serialises"),
            r#"{"error":{"code":"not_found","message":"no such workspace"}}"#
        );
        let forbidden = ErrorEnvelope::from(ErrorDetail {
            permission: Some("members:manage".into()),
            ..ErrorDetail::new("forbidden", "missing permission `members:manage`")
        });
        let text = serde_json::to_string(&forbidden).expect("serialises");
        assert_eq!(
            text,
            r#"{"error":{"code":"forbidden","message":"missing permission `members:manage`","permission":"members:manage"}}"#
        );
        assert_eq!(
            serde_json::from_str::<ErrorEnvelope>(&text).expect("parses"),
            forbidden
        );
    }
}
