//! Webhook endpoints: a workspace's under `/api/v1/workspaces/{ws}/webhooks` (`webhooks:manage`),
//! the instance's under `/api/v1/admin/webhooks` (instance admins), and their deliveries. The
//! two sets of routes differ only in whose endpoints they reach.

pub(crate) mod json;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use self::json::{
    CreateWebhookJson, DeliveryJson, DeliveryListJson, PatchWebhookJson, WebhookJson,
    WebhookListJson, WebhookWithSecretJson,
};
use super::API_V1;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Caller, InWorkspace, Json, Path};
use crate::http::openapi::{BadRequest, Forbidden, NotFound};
use crate::service::{Actor, Hooks};

/// An endpoint (`.../webhooks/{id}`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// Endpoint id
    id: Uuid,
}

/// A delivery of an endpoint (`.../webhooks/{id}/deliveries/{message}`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    /// Endpoint id
    id: Uuid,
    /// The delivery's `webhook-id` (`msg_...`)
    message: String,
}

/// The event id a `webhook-id` names.
pub(crate) fn message_id(text: &str) -> Result<Uuid, ApiError> {
    text.strip_prefix("msg_")
        .and_then(|id| Uuid::try_parse(id).ok())
        .ok_or_else(|| ApiError::bad_request("invalid_input", "not a webhook-id (msg_...)"))
}

type Answer<T> = Result<axum::Json<T>, ApiError>;

async fn list_in(state: &AppState, actor: &Actor, hooks: Hooks<'_>) -> Answer<WebhookListJson> {
    let webhooks = state.keygate.webhooks(actor, hooks).await?;
    Ok(axum::Json(WebhookListJson {
        webhooks: webhooks.iter().map(WebhookJson::from).collect(),
    }))
}

async fn create_in(
    state: &AppState,
    actor: &Actor,
    hooks: Hooks<'_>,
    body: CreateWebhookJson,
) -> Result<(StatusCode, axum::Json<WebhookWithSecretJson>), ApiError> {
    let endpoint = state
        .keygate
        .create_webhook(actor, hooks, body.into())
        .await?;
    Ok((StatusCode::CREATED, axum::Json((&endpoint).into())))
}

async fn get_in(
    state: &AppState,
    actor: &Actor,
    hooks: Hooks<'_>,
    id: Uuid,
) -> Answer<WebhookJson> {
    let endpoint = state.keygate.webhook(actor, hooks, id).await?;
    Ok(axum::Json((&endpoint).into()))
}

async fn update_in(
    state: &AppState,
    actor: &Actor,
    hooks: Hooks<'_>,
    id: Uuid,
    body: PatchWebhookJson,
) -> Answer<WebhookJson> {
    let endpoint = state
        .keygate
        .update_webhook(actor, hooks, id, body.into())
        .await?;
    Ok(axum::Json((&endpoint).into()))
}

async fn delete_in(
    state: &AppState,
    actor: &Actor,
    hooks: Hooks<'_>,
    id: Uuid,
) -> Result<StatusCode, ApiError> {
    state.keygate.delete_webhook(actor, hooks, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_in(
    state: &AppState,
    actor: &Actor,
    hooks: Hooks<'_>,
    id: Uuid,
) -> Answer<WebhookWithSecretJson> {
    let endpoint = state
        .keygate
        .rotate_webhook_secret(actor, hooks, id)
        .await?;
    Ok(axum::Json((&endpoint).into()))
}

async fn deliveries_in(
    state: &AppState,
    actor: &Actor,
    hooks: Hooks<'_>,
    id: Uuid,
) -> Answer<DeliveryListJson> {
    let deliveries = state.keygate.webhook_deliveries(actor, hooks, id).await?;
    Ok(axum::Json(DeliveryListJson {
        deliveries: deliveries.iter().map(DeliveryJson::from).collect(),
    }))
}

async fn redeliver_in(
    state: &AppState,
    actor: &Actor,
    hooks: Hooks<'_>,
    DeliveryPath { id, message }: DeliveryPath,
) -> Result<StatusCode, ApiError> {
    let message = message_id(&message)?;
    state
        .keygate
        .redeliver_webhook(actor, hooks, id, message)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// The workspace's webhook endpoints.
#[utoipa::path(context_path = API_V1, get, path = "/workspaces/{ws}/webhooks",
    operation_id = "list_webhooks", tag = "webhooks",
    responses((status = 200, description = "The endpoints", body = WebhookListJson)))]
pub async fn list(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
) -> Answer<WebhookListJson> {
    list_in(&state, &actor, Hooks::Workspace(&ws)).await
}

/// Registers an endpoint for some of the workspace's events.
///
/// The answer holds the endpoint's signing secret, shown this once.
#[utoipa::path(context_path = API_V1, post, path = "/workspaces/{ws}/webhooks",
    operation_id = "create_webhook", tag = "webhooks",
    request_body(content = CreateWebhookJson, example = json!({"url": "https://hooks.example.com/keygate", "events": ["token.created", "token.expiring"]})),
    responses(
        (status = 201, description = "Registered, with its secret", body = WebhookWithSecretJson),
        (status = 400, response = BadRequest),
    ))]
pub async fn create(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Json(body): Json<CreateWebhookJson>,
) -> Result<(StatusCode, axum::Json<WebhookWithSecretJson>), ApiError> {
    create_in(&state, &actor, Hooks::Workspace(&ws), body).await
}

/// One endpoint.
#[utoipa::path(context_path = API_V1, get, path = "/workspaces/{ws}/webhooks/{id}",
    operation_id = "get_webhook", tag = "webhooks", params(WebhookPath),
    responses((status = 200, description = "The endpoint", body = WebhookJson),
        (status = 404, response = NotFound)))]
pub async fn get(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(WebhookPath { id }): Path<WebhookPath>,
) -> Answer<WebhookJson> {
    get_in(&state, &actor, Hooks::Workspace(&ws), id).await
}

/// Changes an endpoint's URL, description or events, or disables and enables it.
#[utoipa::path(context_path = API_V1, patch, path = "/workspaces/{ws}/webhooks/{id}",
    operation_id = "update_webhook", tag = "webhooks", params(WebhookPath),
    responses((status = 200, description = "Updated", body = WebhookJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn update(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(WebhookPath { id }): Path<WebhookPath>,
    Json(body): Json<PatchWebhookJson>,
) -> Answer<WebhookJson> {
    update_in(&state, &actor, Hooks::Workspace(&ws), id, body).await
}

/// Deletes an endpoint and its deliveries.
#[utoipa::path(context_path = API_V1, delete, path = "/workspaces/{ws}/webhooks/{id}",
    operation_id = "delete_webhook", tag = "webhooks", params(WebhookPath),
    responses((status = 204, description = "Deleted"), (status = 404, response = NotFound)))]
pub async fn delete(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(WebhookPath { id }): Path<WebhookPath>,
) -> Result<StatusCode, ApiError> {
    delete_in(&state, &actor, Hooks::Workspace(&ws), id).await
}

/// Gives an endpoint a new signing secret, shown this once.
///
/// For 24 hours deliveries carry a signature with each secret, so receivers switch without
/// missing one.
#[utoipa::path(context_path = API_V1, post, path = "/workspaces/{ws}/webhooks/{id}/rotate-secret",
    operation_id = "rotate_webhook_secret", tag = "webhooks", params(WebhookPath),
    responses((status = 200, description = "Rotated, with the new secret", body = WebhookWithSecretJson),
        (status = 404, response = NotFound)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(WebhookPath { id }): Path<WebhookPath>,
) -> Answer<WebhookWithSecretJson> {
    rotate_in(&state, &actor, Hooks::Workspace(&ws), id).await
}

/// An endpoint's latest deliveries (50), newest first, with how the last attempt went.
#[utoipa::path(context_path = API_V1, get, path = "/workspaces/{ws}/webhooks/{id}/deliveries",
    operation_id = "list_webhook_deliveries", tag = "webhooks", params(WebhookPath),
    responses((status = 200, description = "The deliveries", body = DeliveryListJson),
        (status = 404, response = NotFound)))]
pub async fn deliveries(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(WebhookPath { id }): Path<WebhookPath>,
) -> Answer<DeliveryListJson> {
    deliveries_in(&state, &actor, Hooks::Workspace(&ws), id).await
}

/// Sends a delivery again, now, with a fresh schedule of retries.
#[utoipa::path(context_path = API_V1, post,
    path = "/workspaces/{ws}/webhooks/{id}/deliveries/{message}/redeliver",
    operation_id = "redeliver_webhook", tag = "webhooks", params(DeliveryPath),
    responses((status = 202, description = "Queued"), (status = 400, response = BadRequest),
        (status = 404, response = NotFound)))]
pub async fn redeliver(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(path): Path<DeliveryPath>,
) -> Result<StatusCode, ApiError> {
    redeliver_in(&state, &actor, Hooks::Workspace(&ws), path).await
}

/// Instance-wide endpoints, which receive every workspace's events and the instance's own
/// (`user.created`, `user.disabled`, `user.deleted`). Instance admins only.
#[utoipa::path(context_path = API_V1, get, path = "/admin/webhooks",
    operation_id = "admin_list_webhooks", tag = "admin",
    responses((status = 200, description = "The endpoints", body = WebhookListJson),
        (status = 403, response = Forbidden)))]
pub async fn admin_list(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Answer<WebhookListJson> {
    list_in(&state, &actor, Hooks::Instance).await
}

/// Registers an instance-wide endpoint; the answer holds its secret, shown this once.
#[utoipa::path(context_path = API_V1, post, path = "/admin/webhooks",
    operation_id = "admin_create_webhook", tag = "admin",
    request_body(content = CreateWebhookJson, example = json!({"url": "https://hooks.example.com/keygate", "events": ["user.created", "user.deleted"]})),
    responses(
        (status = 201, description = "Registered, with its secret", body = WebhookWithSecretJson),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
    ))]
pub async fn admin_create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(body): Json<CreateWebhookJson>,
) -> Result<(StatusCode, axum::Json<WebhookWithSecretJson>), ApiError> {
    create_in(&state, &actor, Hooks::Instance, body).await
}

/// One instance-wide endpoint.
#[utoipa::path(context_path = API_V1, get, path = "/admin/webhooks/{id}",
    operation_id = "admin_get_webhook", tag = "admin", params(WebhookPath),
    responses((status = 200, description = "The endpoint", body = WebhookJson),
        (status = 404, response = NotFound)))]
pub async fn admin_get(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(WebhookPath { id }): Path<WebhookPath>,
) -> Answer<WebhookJson> {
    get_in(&state, &actor, Hooks::Instance, id).await
}

/// Changes an instance-wide endpoint.
#[utoipa::path(context_path = API_V1, patch, path = "/admin/webhooks/{id}",
    operation_id = "admin_update_webhook", tag = "admin", params(WebhookPath),
    responses((status = 200, description = "Updated", body = WebhookJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn admin_update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(WebhookPath { id }): Path<WebhookPath>,
    Json(body): Json<PatchWebhookJson>,
) -> Answer<WebhookJson> {
    update_in(&state, &actor, Hooks::Instance, id, body).await
}

/// Deletes an instance-wide endpoint.
#[utoipa::path(context_path = API_V1, delete, path = "/admin/webhooks/{id}",
    operation_id = "admin_delete_webhook", tag = "admin", params(WebhookPath),
    responses((status = 204, description = "Deleted"), (status = 404, response = NotFound)))]
pub async fn admin_delete(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(WebhookPath { id }): Path<WebhookPath>,
) -> Result<StatusCode, ApiError> {
    delete_in(&state, &actor, Hooks::Instance, id).await
}

/// Gives an instance-wide endpoint a new signing secret, shown this once.
#[utoipa::path(context_path = API_V1, post, path = "/admin/webhooks/{id}/rotate-secret",
    operation_id = "admin_rotate_webhook_secret", tag = "admin", params(WebhookPath),
    responses((status = 200, description = "Rotated, with the new secret", body = WebhookWithSecretJson),
        (status = 404, response = NotFound)))]
pub async fn admin_rotate_secret(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(WebhookPath { id }): Path<WebhookPath>,
) -> Answer<WebhookWithSecretJson> {
    rotate_in(&state, &actor, Hooks::Instance, id).await
}

/// An instance-wide endpoint's latest deliveries, newest first.
#[utoipa::path(context_path = API_V1, get, path = "/admin/webhooks/{id}/deliveries",
    operation_id = "admin_list_webhook_deliveries", tag = "admin", params(WebhookPath),
    responses((status = 200, description = "The deliveries", body = DeliveryListJson),
        (status = 404, response = NotFound)))]
pub async fn admin_deliveries(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(WebhookPath { id }): Path<WebhookPath>,
) -> Answer<DeliveryListJson> {
    deliveries_in(&state, &actor, Hooks::Instance, id).await
}

/// Sends a delivery of an instance-wide endpoint again, now.
#[utoipa::path(context_path = API_V1, post,
    path = "/admin/webhooks/{id}/deliveries/{message}/redeliver",
    operation_id = "admin_redeliver_webhook", tag = "admin", params(DeliveryPath),
    responses((status = 202, description = "Queued"), (status = 400, response = BadRequest),
        (status = 404, response = NotFound)))]
pub async fn admin_redeliver(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(path): Path<DeliveryPath>,
) -> Result<StatusCode, ApiError> {
    redeliver_in(&state, &actor, Hooks::Instance, path).await
}
