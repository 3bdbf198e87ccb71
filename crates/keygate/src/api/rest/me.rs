//! `GET /api/v1/auth/me`: who the caller is.

use axum::Json;
use axum::extract::State;

use super::json::{MeJson, MembershipJson};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::Caller;
use crate::api::openapi::Unavailable;
use crate::service::ServiceError;

/// Who the caller is.
///
/// The user, the token in use (hint, expiry), and their workspaces and roles.
#[utoipa::path(
    get,
    path = "/auth/me",
    operation_id = "me",
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = MeJson),
        (status = 503, response = Unavailable),
    )
)]
pub async fn me(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<MeJson>, ApiError> {
    let credential = actor.token.as_ref().ok_or(ServiceError::Unauthenticated)?;
    let token = state.keygate.token(&actor.user, credential.id).await?;
    let memberships = state.keygate.list_workspaces(&actor).await?;
    Ok(Json(MeJson {
        user: (&*actor.user).into(),
        token: (&token).into(),
        workspaces: memberships.iter().map(MembershipJson::from).collect(),
    }))
}
