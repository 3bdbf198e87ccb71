//! The caller's own tokens: `/api/v1/tokens` and the personal token refresh.

pub(crate) mod json;

use axum::extract::State;
use axum::http::StatusCode;
use keygate_domain::{ClearToken, Token};
use uuid::Uuid;

use self::json::{
    CreateTokenJson, RotateJson, TokenJson, TokenListJson, TokenQueryJson, TokenWithSecretJson,
    UpdateTokenJson,
};
use super::API_V1;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Caller, Json, Path, Query};
use crate::http::openapi::{BadRequest, Conflict, Forbidden, NotFound};
use crate::service::{NewTokenRequest, TokenFilter, TokenView};

/// A token as answered: as it is now, never its secret.
pub(crate) fn token_json(state: &AppState, token: &Token) -> axum::Json<TokenJson> {
    axum::Json(TokenJson::new(token, state.keygate.clock().now()))
}

/// A token with its replaced secret as answered: as they are now, never a secret.
fn view_json(state: &AppState, view: &TokenView) -> axum::Json<TokenJson> {
    axum::Json(TokenJson::of_view(view, state.keygate.clock().now()))
}

/// Tokens as answered: as they are now, never their secrets.
pub(crate) fn token_list(state: &AppState, tokens: &[Token]) -> axum::Json<TokenListJson> {
    let now = state.keygate.clock().now();
    axum::Json(TokenListJson {
        tokens: tokens.iter().map(|t| TokenJson::new(t, now)).collect(),
    })
}

/// A token with a new secret as answered: the secret is shown this once.
pub(crate) fn with_secret(
    state: &AppState,
    (token, clear): (Token, ClearToken),
) -> axum::Json<TokenWithSecretJson> {
    axum::Json(TokenWithSecretJson::new(
        &token,
        clear,
        state.keygate.clock().now(),
    ))
}

/// A new token as answered: created, with its secret shown this once.
pub(crate) fn issued(
    state: &AppState,
    issued: (Token, ClearToken),
) -> (StatusCode, axum::Json<TokenWithSecretJson>) {
    (StatusCode::CREATED, with_secret(state, issued))
}

/// The caller's tokens.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/tokens",
    operation_id = "list_tokens",
    tag = "tokens",
    params(TokenQueryJson),
    responses(
        (status = 200, description = "The caller's tokens, never their secrets", body = TokenListJson),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Query(query): Query<TokenQueryJson>,
) -> Result<axum::Json<TokenListJson>, ApiError> {
    let filter = TokenFilter::new(query.status, query.expiring_within_days)?;
    let tokens = state.keygate.list_tokens_where(&actor.user, filter).await?;
    Ok(token_list(&state, &tokens))
}

/// Creates a token for the caller.
///
/// Optionally with an expiry and a scope, no wider than the token that creates it. The secret is
/// in the response, this once.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/tokens",
    operation_id = "create_token",
    tag = "tokens",
    request_body(
        content = CreateTokenJson,
        examples(
            ("Scoped" = (
                summary = "A read-only token for one workspace, for 90 days",
                value = json!({
                    "name": "ci-reader",
                    "description": "CI reads device data",
                    "expires_in_days": 90,
                    "scope": {
                        "workspaces": ["acme"],
                        "permissions": ["devices:read"],
                        "resources": ["device:*"]
                    }
                })
            )),
            ("Unscoped" = (
                summary = "A token with all of the caller's rights, until revoked",
                value = json!({"name": "laptop"})
            ))
        )
    ),
    responses(
        (status = 201, description = "Created; `token` is the secret, shown this once", body = TokenWithSecretJson,
            example = json!({
                "token": "kgt_<secret, shown once>",
                "id": "0190f5a6-3c1e-7b7a-9a52-6f1d2c3b4a59",
                "kind": "user",
                "name": "ci-reader",
                "description": "CI reads device data",
                "hint": "kgt_Ab3d…x9Zq",
                "status": "active",
                "created_at": "2025-01-15T10:00:00Z",
                "expires_at": "2025-04-15T10:00:00Z",
                "last_used_at": null,
                "last_used_ip": null,
                "revoked_at": null,
                "rotated_at": null,
                "scope": {
                    "workspaces": ["0190f5a6-0000-7000-8000-000000000001"],
                    "permissions": ["devices:read"],
                    "resources": ["device:*"]
                }
            })),
        (status = 403, response = Forbidden),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(body): Json<CreateTokenJson>,
) -> Result<(StatusCode, axum::Json<TokenWithSecretJson>), ApiError> {
    let request = NewTokenRequest::try_from(body)?;
    let created = state.keygate.create_token(&actor, request).await?;
    Ok(issued(&state, created))
}

/// One of the caller's tokens.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/tokens/{id}",
    operation_id = "get_token",
    tag = "tokens",
    params(("id" = Uuid, Path, description = "Token id")),
    responses(
        (status = 200, description = "The token, never its secret", body = TokenJson),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<TokenJson>, ApiError> {
    let token = state.keygate.token(&actor.user, id).await?;
    let view = state.keygate.token_view(token).await?;
    Ok(view_json(&state, &view))
}

/// Ends the overlap of one of the caller's tokens.
///
/// The secret that a rotation with a grace period replaced stops working now, on every node.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/tokens/{id}/retiring-secret",
    operation_id = "end_token_overlap",
    tag = "tokens",
    params(("id" = Uuid, Path, description = "Token id")),
    responses(
        (status = 200, description = "Ended; the token with its retired secret", body = TokenJson),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn end_overlap(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<TokenJson>, ApiError> {
    let view = state.keygate.end_token_overlap(&actor, id).await?;
    Ok(view_json(&state, &view))
}

/// Changes one of the caller's tokens: where it may be used from.
///
/// Takes effect at once on every node. A scoped token may change only itself; a token held to an
/// allow-list may set only lists within its own, and cannot lift one.
#[utoipa::path(
    context_path = API_V1,
    patch,
    path = "/tokens/{id}",
    operation_id = "update_token",
    tag = "tokens",
    params(("id" = Uuid, Path, description = "Token id")),
    request_body = UpdateTokenJson,
    responses(
        (status = 200, description = "The token as it is now", body = TokenJson),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateTokenJson>,
) -> Result<axum::Json<TokenJson>, ApiError> {
    let token = state.keygate.update_token(&actor, id, body.into()).await?;
    Ok(token_json(&state, &token))
}

/// Revokes one of the caller's tokens.
///
/// Not the personal token: refresh that instead.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/tokens/{id}",
    operation_id = "revoke_token",
    tag = "tokens",
    params(("id" = Uuid, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.keygate.revoke_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotates one of the caller's tokens.
///
/// A new secret. The old secret stops working at once, or, with `grace_seconds`, that long after
/// the new secret's first use (never past the token's expiry, at most seven days after the
/// rotation); a request it authenticates meanwhile is marked `X-Keygate-Token-Retiring: true`. A
/// scoped token may rotate only itself.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/tokens/{id}/rotate",
    operation_id = "rotate_token",
    tag = "tokens",
    params(("id" = Uuid, Path, description = "Token id")),
    request_body(content = Option<RotateJson>, description = "Optional: a grace period for the old secret"),
    responses(
        (status = 200, description = "Rotated; `token` is the new secret, shown this once", body = TokenWithSecretJson),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn rotate(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
    body: Option<Json<RotateJson>>,
) -> Result<axum::Json<TokenWithSecretJson>, ApiError> {
    let grace = body.map_or(0, |Json(b)| b.grace_seconds);
    let rotated = state.keygate.rotate_token(&actor, id, grace).await?;
    Ok(with_secret(&state, rotated))
}

/// Refreshes the caller's personal token.
///
/// A new personal token; the old one stops working at once, or with `grace_seconds` that long
/// after the new one's first use.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/auth/personal-token/refresh",
    operation_id = "refresh_personal_token",
    tag = "auth",
    request_body(content = Option<RotateJson>, description = "Optional: a grace period for the old secret"),
    responses(
        (status = 200, description = "Refreshed; `token` is the new secret, shown this once (a personal token revoked as leaked is revived with it)", body = TokenWithSecretJson),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn refresh_personal(
    State(state): State<AppState>,
    Caller(actor): Caller,
    body: Option<Json<RotateJson>>,
) -> Result<axum::Json<TokenWithSecretJson>, ApiError> {
    let grace = body.map_or(0, |Json(b)| b.grace_seconds);
    let refreshed = state.keygate.refresh_personal_token(&actor, grace).await?;
    Ok(with_secret(&state, refreshed))
}
