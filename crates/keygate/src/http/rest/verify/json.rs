//! Wire types of decisions: what `/verify` and `/auth/check` take and answer. They are the
//! contract's types (`keygate-proto`), which clients share; `/verify`'s answer is written by
//! `verify_answer` in the shape of `VerifyJson`.

use keygate_domain::Permission;
use keygate_proto::Code;

use crate::service::{AuthFailure, Decision, Question, Refusal, ServiceError, WorkspaceRef};

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

/// The wire code of a decision: `ok`, or the class of its refusal.
pub fn decision_code(refusal: Option<&Refusal>) -> Code {
    match refusal {
        None => Code::Ok,
        Some(Refusal::Credentials(AuthFailure::InvalidToken)) => Code::InvalidToken,
        Some(Refusal::Credentials(AuthFailure::TokenExpired)) => Code::TokenExpired,
        Some(Refusal::Credentials(AuthFailure::TokenRevoked)) => Code::TokenRevoked,
        Some(Refusal::NotAMember) => Code::NotAMember,
        Some(Refusal::Forbidden { .. }) => Code::Forbidden,
    }
}

/// The answer to "may the caller do this?", as `/auth/check` gives it.
pub fn check_json(decision: &Decision) -> CheckJson {
    CheckJson {
        allowed: decision.refusal.is_none(),
        code: decision_code(decision.refusal.as_ref()),
        missing: decision
            .refusal
            .as_ref()
            .and_then(|r| r.missing())
            .map(str::to_owned),
    }
}
