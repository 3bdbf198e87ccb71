//! `/api/v1/workspaces/{ws}/tokens`: the tokens that belong to a workspace (its API users', and
//! members' tokens scoped to it alone), for managers with `tokens:manage`.

pub(crate) mod json;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use self::json::{OwnedTokenJson, OwnedTokenListJson};
use super::API_V1;
use super::admin::json::user_json;
use super::tokens::json::TokenJson;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{InWorkspace, Path};
use crate::http::openapi::Conflict;

/// A token of the workspace (`.../tokens/{id}`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WorkspaceTokenPath {
    /// Token id
    id: Uuid,
}

/// The tokens that belong to a workspace.
///
/// Its API users' tokens, and members' tokens scoped to it alone. Needs `tokens:manage`.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/tokens",
    operation_id = "list_workspace_tokens",
    tag = "workspace-tokens",
    responses(
        (status = 200, description = "The tokens, with their owners", body = OwnedTokenListJson),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
) -> Result<axum::Json<OwnedTokenListJson>, ApiError> {
    let tokens = state.keygate.workspace_tokens(&actor, &ws).await?;
    let now = state.keygate.clock().now();
    Ok(axum::Json(OwnedTokenListJson {
        tokens: tokens
            .iter()
            .map(|o| OwnedTokenJson {
                token: TokenJson::new(&o.token, now),
                owner: user_json(&o.owner.user),
            })
            .collect(),
    }))
}

/// Revokes a token that belongs to the workspace.
///
/// Needs `tokens:manage`.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/workspaces/{ws}/tokens/{id}",
    operation_id = "revoke_workspace_token",
    tag = "workspace-tokens",
    params(WorkspaceTokenPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 409, response = Conflict),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(WorkspaceTokenPath { id }): Path<WorkspaceTokenPath>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .revoke_workspace_token(&actor, &ws, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
