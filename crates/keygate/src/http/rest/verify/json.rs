//! Wire types of decisions: what `/verify` and `/auth/check` take and answer. They are the
//! contract's types (`keygate-proto`), which clients share; `/verify`'s answer is written by
//! `verify_answer` in the shape of `VerifyJson`.

use std::borrow::Cow;

use keygate_domain::Permission;

use crate::service::{Decision, Question, ServiceError, WorkspaceRef};

pub use keygate_proto::{
    CheckAnswer as CheckJson, CheckRequest as CheckRequestJson, VerifyAnswer as VerifyJson,
    VerifyRequest as VerifyRequestJson,
};

/// The question the fields of a request ask: a workspace (id or slug), a permission and a
/// resource, each optional.
pub fn question(
    workspace: Option<&str>,
    permission: Option<&str>,
    resource: Option<String>,
) -> Result<Question<'static>, ServiceError> {
    let permission = permission.map(Permission::parse).transpose()?;
    // An empty name or resource, or one with control characters, is a malformed question, not
    // one to answer `forbidden` (or `not_a_member`) about.
    for (field, value) in [("workspace", workspace), ("resource", resource.as_deref())] {
        if value.is_some_and(|v| v.is_empty() || v.chars().any(char::is_control)) {
            return Err(keygate_domain::ValidationError::new(
                field,
                "must not be empty nor hold control characters",
            )
            .into());
        }
    }
    Ok(Question {
        workspace: workspace.map(WorkspaceRef::parse),
        permission: permission.map(Cow::Owned),
        resource: resource.map(Cow::Owned),
        cost: None,
    })
}

/// The answer to "may the caller do this?", as `/auth/check` gives it.
pub fn check_json(decision: &Decision) -> CheckJson {
    CheckJson {
        allowed: decision.refusal.is_none(),
        code: decision.code(),
        missing: decision
            .refusal
            .as_ref()
            .and_then(|r| r.missing())
            .map(str::to_owned),
    }
}
