//! Webhook endpoints, a workspace's (`/w/{ws}/webhooks`) or, for instance admins, the
//! instance's (`/admin/webhooks`): registering one (its secret shown once), its deliveries with
//! how each went and a "Send again" button, changing, disabling, rotating its secret and
//! deleting it. Those who may not manage them get the service's 403.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use keygate_domain::webhook::{Delivery, Endpoint, INSTANCE_EVENTS, WORKSPACE_EVENTS};
use serde::Deserialize;
use uuid::Uuid;

use super::account::ShownOncePage;
use super::layout::Layout;
use super::request::WorkspaceRequest;
use super::session::Signed;
use super::views::ShownOnce;
use super::{Form, WebResult, done, filled, refused};
use crate::http::AppState;
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

/// Whose endpoints a page is about, and where its links lead.
struct Scope<'a> {
    state: &'a AppState,
    signed: &'a Signed,
    hooks: Hooks<'a>,
    /// `/w/{slug}/webhooks` or `/admin/webhooks`.
    base: String,
    /// The workspace's slug, for the navigation; `None` for the instance's.
    slug: Option<String>,
}

impl<'a> Scope<'a> {
    async fn of_workspace(req: &'a WorkspaceRequest) -> WebResult<Scope<'a>> {
        let slug = req.slug().await?;
        Ok(Scope {
            state: &req.state,
            signed: &req.signed,
            hooks: Hooks::Workspace(&req.reference),
            base: format!("/w/{}/webhooks", req.ws),
            slug: Some(slug),
        })
    }

    fn of_instance(state: &'a AppState, signed: &'a Signed) -> Scope<'a> {
        Scope {
            state,
            signed,
            hooks: Hooks::Instance,
            base: "/admin/webhooks".to_owned(),
            slug: None,
        }
    }

    async fn layout(&self, title: &str) -> WebResult<Layout> {
        let section = if self.slug.is_some() {
            "webhooks"
        } else {
            "admin-webhooks"
        };
        Layout::signed(
            self.state,
            self.signed,
            title,
            section,
            self.slug.as_deref(),
        )
        .await
    }

    /// The events its endpoints can receive.
    fn events(&self) -> Vec<&'static str> {
        match self.hooks {
            Hooks::Workspace(_) => WORKSPACE_EVENTS.to_vec(),
            Hooks::Instance => WORKSPACE_EVENTS
                .iter()
                .chain(&INSTANCE_EVENTS)
                .copied()
                .collect(),
        }
    }

    fn keygate(&self) -> &'a crate::service::Keygate {
        &self.state.keygate
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "webhooks.html")]
pub struct WebhooksPage {
    layout: Layout,
    base: String,
    instance: bool,
    webhooks: Vec<WebhookRow>,
    events: Vec<&'static str>,
    error: Option<String>,
}

async fn webhooks_page(scope: &Scope<'_>, error: Option<String>) -> WebResult<WebhooksPage> {
    let webhooks = scope
        .keygate()
        .webhooks(scope.signed, scope.hooks)
        .await?
        .iter()
        .map(WebhookRow::new)
        .collect();
    Ok(WebhooksPage {
        layout: scope.layout("Webhooks").await?,
        base: scope.base.clone(),
        instance: scope.slug.is_none(),
        webhooks,
        events: scope.events(),
        error,
    })
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

/// The secret of an endpoint, shown once.
async fn shown_once(
    scope: &Scope<'_>,
    endpoint: &Endpoint,
    heading: String,
) -> WebResult<ShownOncePage> {
    Ok(ShownOncePage {
        layout: scope.layout("Webhook secret").await?,
        shown: ShownOnce {
            heading,
            secret: endpoint.secret.clone(),
            detail: "Give this secret to the receiver: it verifies each delivery's \
                     webhook-signature with it (any Standard Webhooks library does)."
                .into(),
            back: format!("{}/{}", scope.base, endpoint.id),
        },
    })
}

async fn create_in(scope: &Scope<'_>, form: WebhookForm) -> WebResult<Response> {
    let request = EndpointRequest {
        url: form.url.trim().to_owned(),
        description: filled(&form.description),
        events: form.events,
    };
    match scope
        .keygate()
        .create_webhook(scope.signed, scope.hooks, request)
        .await
    {
        Ok(endpoint) => {
            let heading = format!("Webhook for {} registered", endpoint.url);
            Ok(shown_once(scope, &endpoint, heading).await?.into_response())
        }
        Err(e) => refused(e, |error| webhooks_page(scope, Some(error))).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "webhook.html")]
pub struct WebhookPage {
    layout: Layout,
    base: String,
    webhook: WebhookRow,
    deliveries: Vec<DeliveryRow>,
    events: Vec<&'static str>,
    error: Option<String>,
}

async fn webhook_page(
    scope: &Scope<'_>,
    id: Uuid,
    error: Option<String>,
) -> WebResult<WebhookPage> {
    let keygate = scope.keygate();
    let endpoint = keygate.webhook(scope.signed, scope.hooks, id).await?;
    let deliveries = keygate
        .webhook_deliveries(scope.signed, scope.hooks, id)
        .await?;
    Ok(WebhookPage {
        layout: scope.layout("Webhook").await?,
        base: scope.base.clone(),
        webhook: WebhookRow::new(&endpoint),
        deliveries: deliveries.iter().map(DeliveryRow::new).collect(),
        events: scope.events(),
        error,
    })
}

async fn update_in(scope: &Scope<'_>, id: Uuid, form: WebhookForm) -> WebResult<Response> {
    let request = EndpointPatchRequest {
        url: Some(form.url.trim().to_owned()),
        description: Some(filled(&form.description)),
        events: Some(form.events),
        enabled: Some(form.enabled.is_some()),
    };
    match scope
        .keygate()
        .update_webhook(scope.signed, scope.hooks, id, request)
        .await
    {
        Ok(_) => Ok(done(&format!("{}/{id}", scope.base), "webhook-saved").into_response()),
        Err(e) => refused(e, |error| webhook_page(scope, id, Some(error))).await,
    }
}

async fn rotate_in(scope: &Scope<'_>, id: Uuid) -> WebResult<ShownOncePage> {
    let endpoint = scope
        .keygate()
        .rotate_webhook_secret(scope.signed, scope.hooks, id)
        .await?;
    let heading = "New webhook secret: the previous one signs too for 24 hours".to_owned();
    shown_once(scope, &endpoint, heading).await
}

async fn redeliver_in(scope: &Scope<'_>, id: Uuid, message: &str) -> WebResult<Response> {
    let Ok(message) = message_id(message) else {
        return Err(crate::service::ServiceError::NotFound("delivery").into());
    };
    scope
        .keygate()
        .redeliver_webhook(scope.signed, scope.hooks, id, message)
        .await?;
    Ok(done(&format!("{}/{id}", scope.base), "webhook-redelivered").into_response())
}

async fn delete_in(scope: &Scope<'_>, id: Uuid) -> WebResult<Response> {
    scope
        .keygate()
        .delete_webhook(scope.signed, scope.hooks, id)
        .await?;
    Ok(done(&scope.base, "webhook-deleted").into_response())
}

// A workspace's endpoints.

pub async fn list(req: WorkspaceRequest) -> WebResult<WebhooksPage> {
    webhooks_page(&Scope::of_workspace(&req).await?, None).await
}

pub async fn create(req: WorkspaceRequest, Form(form): Form<WebhookForm>) -> WebResult<Response> {
    create_in(&Scope::of_workspace(&req).await?, form).await
}

pub async fn show(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
) -> WebResult<WebhookPage> {
    webhook_page(&Scope::of_workspace(&req).await?, id, None).await
}

pub async fn update(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
    Form(form): Form<WebhookForm>,
) -> WebResult<Response> {
    update_in(&Scope::of_workspace(&req).await?, id, form).await
}

pub async fn rotate(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
) -> WebResult<ShownOncePage> {
    rotate_in(&Scope::of_workspace(&req).await?, id).await
}

pub async fn redeliver(
    req: WorkspaceRequest,
    Path((_, id, message)): Path<(String, Uuid, String)>,
) -> WebResult<Response> {
    redeliver_in(&Scope::of_workspace(&req).await?, id, &message).await
}

pub async fn delete(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
) -> WebResult<Response> {
    delete_in(&Scope::of_workspace(&req).await?, id).await
}

// The instance's endpoints, for instance admins.

pub async fn admin_list(State(state): State<AppState>, signed: Signed) -> WebResult<WebhooksPage> {
    webhooks_page(&Scope::of_instance(&state, &signed), None).await
}

pub async fn admin_create(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<WebhookForm>,
) -> WebResult<Response> {
    create_in(&Scope::of_instance(&state, &signed), form).await
}

pub async fn admin_show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> WebResult<WebhookPage> {
    webhook_page(&Scope::of_instance(&state, &signed), id, None).await
}

pub async fn admin_update(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<WebhookForm>,
) -> WebResult<Response> {
    update_in(&Scope::of_instance(&state, &signed), id, form).await
}

pub async fn admin_rotate(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> WebResult<ShownOncePage> {
    rotate_in(&Scope::of_instance(&state, &signed), id).await
}

pub async fn admin_redeliver(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, message)): Path<(Uuid, String)>,
) -> WebResult<Response> {
    redeliver_in(&Scope::of_instance(&state, &signed), id, &message).await
}

pub async fn admin_delete(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> WebResult<Response> {
    delete_in(&Scope::of_instance(&state, &signed), id).await
}
