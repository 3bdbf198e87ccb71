//! Wire types of webhooks: an endpoint as listed, with its secret once, what registering and
//! changing one take, and its deliveries.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use keygate_domain::webhook::{Delivery, Endpoint};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::service::{EndpointPatchRequest, EndpointRequest};

/// An endpoint; its secret is shown only when it is made.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Webhook")]
pub struct WebhookJson {
    pub id: Uuid,
    /// `null` for an instance-wide endpoint.
    pub workspace_id: Option<Uuid>,
    pub url: String,
    pub description: Option<String>,
    /// The events it receives.
    pub events: Vec<String>,
    /// False once disabled, by hand or because it answered `410 Gone`.
    pub enabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    /// Until when the secret a rotation replaced still signs deliveries beside the new one.
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Endpoint> for WebhookJson {
    fn from(e: &Endpoint) -> Self {
        Self {
            id: e.id,
            workspace_id: e.workspace_id,
            url: e.url.clone(),
            description: e.description.clone(),
            events: e.events.clone(),
            enabled: e.disabled_at.is_none(),
            disabled_at: e.disabled_at,
            disabled_reason: e.disabled_reason.clone(),
            previous_secret_until: e.previous_secret_until,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// An endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "WebhookWithSecret")]
pub struct WebhookWithSecretJson {
    pub webhook: WebhookJson,
    /// `whsec_` and the base64 of the key, as Standard Webhooks libraries take it. Shown once.
    pub secret: String,
}

impl From<&Endpoint> for WebhookWithSecretJson {
    fn from(e: &Endpoint) -> Self {
        Self {
            webhook: e.into(),
            secret: e.secret.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookListJson {
    pub webhooks: Vec<WebhookJson>,
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "CreateWebhookInput")]
pub struct CreateWebhookJson {
    /// An http or https URL whose host resolves to public addresses (internal ones only where
    /// the deployment allows them).
    pub url: String,
    pub description: Option<String>,
    /// The events to receive, e.g. `token.created`, `token.expiring`.
    pub events: Vec<String>,
}

same_fields!(CreateWebhookJson => EndpointRequest { url, description, events });

/// Changes to an endpoint; what is absent stays.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "UpdateWebhookInput")]
pub struct PatchWebhookJson {
    pub url: Option<String>,
    /// An empty text removes it.
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    /// False disables it (nothing is sent to it); true enables it again.
    pub enabled: Option<bool>,
}

impl From<PatchWebhookJson> for EndpointPatchRequest {
    fn from(body: PatchWebhookJson) -> Self {
        Self {
            url: body.url,
            description: body.description.map(|d| Some(d).filter(|d| !d.is_empty())),
            events: body.events,
            enabled: body.enabled,
        }
    }
}

/// One event sent (or to be sent) to an endpoint.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "WebhookDelivery")]
pub struct DeliveryJson {
    /// The `webhook-id` header: the same on every attempt.
    pub id: String,
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last attempt; `null` when it got no answer.
    pub last_status: Option<u16>,
    pub last_latency_ms: Option<u32>,
    pub last_error: Option<String>,
    /// The body sent, as JSON text.
    pub payload: String,
}

impl From<&Delivery> for DeliveryJson {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.webhook_id(),
            event: d.event.clone(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            created_at: d.created_at,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_status: d.last_status,
            last_latency_ms: d.last_latency_ms,
            last_error: d.last_error.clone(),
            payload: d.payload.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryListJson {
    pub deliveries: Vec<DeliveryJson>,
}
