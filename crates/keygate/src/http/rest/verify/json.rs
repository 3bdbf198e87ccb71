//! Wire types of decisions: what `/verify` and `/auth/check` take and answer. They are the
//! contract's types (`keygate-proto`), which clients share; `/verify`'s answer is written by
//! `verify_answer` in the shape of `VerifyJson`.

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
) -> Result<Question, ServiceError> {
    let permission = permission.map(Permission::parse).transpose()?;
    Ok(Question {
        workspace: workspace.map(WorkspaceRef::parse),
        permission,
        resource,
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
