//! `GET /api/v1/auth/me`: who the caller is.

use axum::Json;
use axum::extract::State;

use super::json::{MeJson, MembershipJson};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::Caller;

pub async fn me(
    State(state): State<AppState>,
    Caller(principal): Caller,
) -> Result<Json<MeJson>, ApiError> {
    let memberships = state.keygate.memberships(&principal.user).await?;
    Ok(Json(MeJson {
        user: (&principal.user).into(),
        token: (&principal.token).into(),
        workspaces: memberships.iter().map(MembershipJson::from).collect(),
    }))
}
