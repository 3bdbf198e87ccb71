//! `GET /api/v1/auth/me`: who the caller is.

pub(crate) mod json;

use axum::Json;
use axum::extract::State;

use self::json::{MeJson, MyInvitationJson};
use super::API_V1;
use super::admin::json::user_json;
use super::workspaces::json::membership_json;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::Caller;
use crate::service::ServiceError;

/// Who the caller is.
///
/// The user, the token in use (hint, expiry), their workspaces and roles, and the invitations
/// waiting for them.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/auth/me",
    operation_id = "me",
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = MeJson),
    )
)]
pub async fn me(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<MeJson>, ApiError> {
    let credential = actor.token.as_ref().ok_or(ServiceError::Unauthenticated)?;
    let token = state.keygate.token(&actor.user, credential.id).await?;
    let memberships = state.keygate.list_workspaces(&actor).await?;
    // Only a person's unscoped token sees the invitations addressed to them.
    let invitations = match state.keygate.my_invitations(&actor).await {
        Ok(pending) => pending,
        Err(ServiceError::Forbidden { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(Json(MeJson {
        user: user_json(&actor.user),
        token: (&token).into(),
        workspaces: memberships.iter().map(membership_json).collect(),
        invitations: invitations.iter().map(MyInvitationJson::from).collect(),
    }))
}
