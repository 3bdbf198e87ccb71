//! Decisions: `POST /api/v1/verify` for other services (the token is in the body, or absent for
//! an anonymous caller) and `POST /api/v1/auth/check` for the caller's own token. Both answer 200
//! for a well-formed request.

use axum::extract::State;
use keygate_domain::Permission;

use super::json::{
    CheckJson, CheckRequestJson, MembershipJson, VerifyJson, VerifyRequestJson, WorkspaceJson,
};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Json, MaybeCaller};
use crate::service::{Question, ServiceError, WorkspaceRef};

fn question(
    workspace: Option<&str>,
    permission: Option<&str>,
    resource: Option<String>,
) -> Result<Question, ApiError> {
    let permission = permission
        .map(Permission::parse)
        .transpose()
        .map_err(ServiceError::from)?;
    Ok(Question {
        workspace: workspace.map(WorkspaceRef::parse),
        permission,
        resource,
    })
}

pub async fn verify(
    State(state): State<AppState>,
    Json(body): Json<VerifyRequestJson>,
) -> Result<axum::Json<VerifyJson>, ApiError> {
    let token = body.token.as_deref().map(str::trim);
    if token.is_none() && body.workspace.is_none() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "give a token, a workspace, or both (no token asks about an anonymous caller)",
        ));
    }
    let question = question(
        body.workspace.as_deref(),
        body.permission.as_deref(),
        body.resource,
    )?;
    let decision = state.keygate.decide(token, &question).await?;
    let actor = decision.actor.as_ref();
    Ok(axum::Json(VerifyJson {
        valid: decision.refusal.is_none(),
        code: decision.refusal.as_ref().map_or("ok", |r| r.code()),
        missing: decision
            .refusal
            .as_ref()
            .and_then(|r| r.missing())
            .map(str::to_owned),
        user: actor.map(|a| (&a.user).into()),
        // The workspace is named back only to its members.
        workspace: decision
            .workspace
            .as_ref()
            .filter(|ws| decision.memberships.iter().any(|m| m.workspace.id == ws.id))
            .map(WorkspaceJson::from),
        workspaces: decision
            .memberships
            .iter()
            .map(MembershipJson::from)
            .collect(),
        token_id: actor.and_then(|a| a.token.as_ref()).map(|t| t.id),
        permissions: decision
            .rights
            .as_ref()
            .map(|r| r.permissions().iter().cloned().collect())
            .unwrap_or_default(),
        expires_at: actor
            .and_then(|a| a.token.as_ref())
            .and_then(|t| t.expires_at),
    }))
}

pub async fn check(
    State(state): State<AppState>,
    MaybeCaller(actor): MaybeCaller,
    Json(body): Json<CheckRequestJson>,
) -> Result<axum::Json<CheckJson>, ApiError> {
    let question = question(Some(&body.workspace), Some(&body.permission), body.resource)?;
    let decision = state.keygate.decide_for(actor.as_ref(), &question).await?;
    Ok(axum::Json(CheckJson {
        allowed: decision.refusal.is_none(),
        code: decision.refusal.as_ref().map_or("ok", |r| r.code()),
        missing: decision
            .refusal
            .as_ref()
            .and_then(|r| r.missing())
            .map(str::to_owned),
    }))
}
