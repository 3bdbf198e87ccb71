//! `/api/v1/workspaces/{ws}/tokens`: the tokens that belong to a workspace (its API users', and
//! members' tokens scoped to it alone), for managers with `tokens:manage`.

use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::json::{OwnedTokenJson, OwnedTokenListJson, TokenJson};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, Path};
use crate::service::WorkspaceRef;

pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
) -> Result<axum::Json<OwnedTokenListJson>, ApiError> {
    let tokens = state
        .keygate
        .workspace_tokens(&actor, &WorkspaceRef::parse(&ws))
        .await?;
    let now = state.keygate.clock().now();
    Ok(axum::Json(OwnedTokenListJson {
        tokens: tokens
            .iter()
            .map(|o| OwnedTokenJson {
                token: TokenJson::new(&o.token, now),
                owner: (&o.owner.user).into(),
            })
            .collect(),
    }))
}

pub async fn revoke(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, id)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .revoke_workspace_token(&actor, &WorkspaceRef::parse(&ws), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
