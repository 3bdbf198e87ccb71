//! A workspace's webhook endpoints: registering one (its secret shown once), its deliveries
//! with how each went and a "Send again" button, changing, disabling, rotating its secret and
//! deleting it. Those who may not manage webhooks get the service's 403.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use keygate_domain::webhook::{Delivery, Endpoint, WORKSPACE_EVENTS};
use serde::Deserialize;
use uuid::Uuid;

use super::account::ShownOncePage;
use super::layout::Layout;
use super::request::WorkspaceRequest;
use super::views::ShownOnce;
use super::{Form, WebResult, done, filled, refused};
use crate::http::rest::webhooks::message_id;
use crate::service::{EndpointPatchRequest, EndpointRequest, Hooks};

pub struct WebhookRow {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: String,
    pub previous_secret_until: String,
}

impl WebhookRow {
    fn new(e: &Endpoint) -> Self {
        WebhookRow {
            id: e.id,
            url: e.url.clone(),
            description: e.description.clone().unwrap_or_default(),
            events: e.events.clone(),
            enabled: e.disabled_at.is_none(),
            disabled_reason: e.disabled_reason.clone().unwrap_or_default(),
            previous_secret_until: e
                .previous_secret_until
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
        }
    }

    pub fn wants(&self, event: &&str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

pub struct DeliveryRow {
    pub id: String,
    pub event: String,
    pub status: &'static str,
    pub attempts: u32,
    pub created_at: String,
    /// The last attempt's HTTP status, or why it got none.
    pub outcome: String,
    pub latency: String,
    pub next_attempt: String,
}

impl DeliveryRow {
    fn new(d: &Delivery) -> Self {
        let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
        DeliveryRow {
            id: d.webhook_id(),
            event: d.event.clone(),
            status: d.status.as_str(),
            attempts: d.attempts,
            created_at: when(d.created_at),
            outcome: match (d.last_status, &d.last_error) {
                (Some(status), _) => status.to_string(),
                (None, Some(error)) => error.clone(),
                (None, None) => String::new(),
            },
            latency: d
                .last_latency_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_default(),
            next_attempt: d.next_attempt_at.map(when).unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "webhooks.html")]
pub struct WebhooksPage {
    layout: Layout,
    slug: String,
    webhooks: Vec<WebhookRow>,
    events: &'static [&'static str],
    error: Option<String>,
}

async fn webhooks_page(req: &WorkspaceRequest, error: Option<String>) -> WebResult<WebhooksPage> {
    let slug = req.slug().await?;
    let webhooks = req
        .keygate()
        .webhooks(&req.signed, Hooks::Workspace(&req.reference))
        .await?
        .iter()
        .map(WebhookRow::new)
        .collect();
    Ok(WebhooksPage {
        webhooks,
        events: &WORKSPACE_EVENTS,
        error,
        layout: req.layout(&slug, "Webhooks", "webhooks").await?,
        slug,
    })
}

pub async fn list(req: WorkspaceRequest) -> WebResult<WebhooksPage> {
    webhooks_page(&req, None).await
}

#[derive(Deserialize)]
pub struct WebhookForm {
    url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    events: Vec<String>,
    /// On the edit form only: "on" when the box is ticked.
    #[serde(default)]
    enabled: Option<String>,
}

/// The secret of an endpoint, shown once on a page of the webhooks section.
async fn shown_once(
    req: &WorkspaceRequest,
    endpoint: &Endpoint,
    heading: String,
) -> WebResult<ShownOncePage> {
    Ok(ShownOncePage {
        layout: req.layout(&req.ws, "Webhook secret", "webhooks").await?,
        shown: ShownOnce {
            heading,
            secret: endpoint.secret.clone(),
            detail: "Give this secret to the receiver: it verifies each delivery's \
                     webhook-signature with it (any Standard Webhooks library does)."
                .into(),
            back: format!("/w/{}/webhooks/{}", req.ws, endpoint.id),
        },
    })
}

pub async fn create(req: WorkspaceRequest, Form(form): Form<WebhookForm>) -> WebResult<Response> {
    let request = EndpointRequest {
        url: form.url.trim().to_owned(),
        description: filled(&form.description),
        events: form.events,
    };
    let hooks = Hooks::Workspace(&req.reference);
    match req
        .keygate()
        .create_webhook(&req.signed, hooks, request)
        .await
    {
        Ok(endpoint) => {
            let heading = format!("Webhook for {} registered", endpoint.url);
            Ok(shown_once(&req, &endpoint, heading).await?.into_response())
        }
        Err(e) => refused(e, |error| webhooks_page(&req, Some(error))).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "webhook.html")]
pub struct WebhookPage {
    layout: Layout,
    slug: String,
    webhook: WebhookRow,
    deliveries: Vec<DeliveryRow>,
    events: &'static [&'static str],
    error: Option<String>,
}

async fn webhook_page(
    req: &WorkspaceRequest,
    id: Uuid,
    error: Option<String>,
) -> WebResult<WebhookPage> {
    let slug = req.slug().await?;
    let hooks = Hooks::Workspace(&req.reference);
    let keygate = req.keygate();
    let endpoint = keygate.webhook(&req.signed, hooks, id).await?;
    let deliveries = keygate.webhook_deliveries(&req.signed, hooks, id).await?;
    Ok(WebhookPage {
        layout: req.layout(&slug, "Webhook", "webhooks").await?,
        slug,
        webhook: WebhookRow::new(&endpoint),
        deliveries: deliveries.iter().map(DeliveryRow::new).collect(),
        events: &WORKSPACE_EVENTS,
        error,
    })
}

pub async fn show(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
) -> WebResult<WebhookPage> {
    webhook_page(&req, id, None).await
}

pub async fn update(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
    Form(form): Form<WebhookForm>,
) -> WebResult<Response> {
    let request = EndpointPatchRequest {
        url: Some(form.url.trim().to_owned()),
        description: Some(filled(&form.description)),
        events: Some(form.events),
        enabled: Some(form.enabled.is_some()),
    };
    let hooks = Hooks::Workspace(&req.reference);
    match req
        .keygate()
        .update_webhook(&req.signed, hooks, id, request)
        .await
    {
        Ok(_) => Ok(done(&format!("/w/{}/webhooks/{id}", req.ws), "webhook-saved").into_response()),
        Err(e) => refused(e, |error| webhook_page(&req, id, Some(error))).await,
    }
}

pub async fn rotate(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
) -> WebResult<ShownOncePage> {
    let hooks = Hooks::Workspace(&req.reference);
    let endpoint = req
        .keygate()
        .rotate_webhook_secret(&req.signed, hooks, id)
        .await?;
    let heading = "New webhook secret: the previous one signs too for 24 hours".to_owned();
    shown_once(&req, &endpoint, heading).await
}

pub async fn redeliver(
    req: WorkspaceRequest,
    Path((_, id, message)): Path<(String, Uuid, String)>,
) -> WebResult<Response> {
    let message = match message_id(&message) {
        Ok(message) => message,
        Err(_) => return Err(crate::service::ServiceError::NotFound("delivery").into()),
    };
    req.keygate()
        .redeliver_webhook(&req.signed, Hooks::Workspace(&req.reference), id, message)
        .await?;
    Ok(done(
        &format!("/w/{}/webhooks/{id}", req.ws),
        "webhook-redelivered",
    )
    .into_response())
}

pub async fn delete(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
) -> WebResult<Redirect> {
    req.keygate()
        .delete_webhook(&req.signed, Hooks::Workspace(&req.reference), id)
        .await?;
    Ok(done(&format!("/w/{}/webhooks", req.ws), "webhook-deleted"))
}
