//! `POST /api/v1/verify`: the decision other services ask for. Always 200 for a well-formed
//! request; the answer says whether the token is valid and why not.

use axum::extract::State;

use super::json::{MembershipJson, VerifyJson, VerifyRequestJson};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::Json;

pub async fn verify(
    State(state): State<AppState>,
    Json(body): Json<VerifyRequestJson>,
) -> Result<axum::Json<VerifyJson>, ApiError> {
    let outcome = state.keygate.verify(&body.token).await?;
    Ok(axum::Json(match outcome.result {
        Ok((principal, memberships)) => VerifyJson {
            valid: true,
            code: "ok",
            user: Some((&principal.user).into()),
            workspaces: memberships.iter().map(MembershipJson::from).collect(),
            token_id: Some(principal.token.id),
            expires_at: principal.token.expires_at,
        },
        Err(failure) => VerifyJson {
            valid: false,
            code: failure.code(),
            user: None,
            workspaces: Vec::new(),
            token_id: None,
            expires_at: None,
        },
    }))
}
