//! Webhooks: endpoints a workspace's admins (or the instance's) register, the deliveries of the
//! events Keygate's changes produce, signed as the Standard Webhooks specification says, and the
//! expiry events of tokens.
//!
//! The deliveries of an event are written with the change itself (see `keygate-store`); each
//! node runs [`Keygate::run_webhook_dispatcher`], which takes due deliveries with a lease, POSTs
//! them and records the outcome, retrying on the specification's schedule.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use keygate_domain::webhook::{self, Delivery, DeliveryStatus, Endpoint, SECRET_BYTES};
use keygate_domain::{AuditEvent, Manage, ValidationError, validate};
use keygate_store::{DeliveryOutcome, EndpointPatch, NewEndpoint};
use serde_json::json;
use uuid::Uuid;

use super::admin::require_instance_admin;
use super::{
    Actor, Keygate, ServiceError, ServiceResult, Target, WorkspaceRef, from_os_randomness,
};

/// How long a delivery attempt may take.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a node holds the deliveries it took: longer than an attempt can take.
const LEASE: Duration = Duration::from_secs(60);
/// How often a node looks for due deliveries.
const POLL: Duration = Duration::from_millis(500);
/// Attempts a node makes at once.
const IN_FLIGHT: usize = 32;
/// How long a rotated secret keeps signing beside the new one.
pub const PREVIOUS_SECRET_SIGNS_FOR: chrono::Duration = chrono::Duration::hours(24);
/// The deliveries an endpoint shows.
pub const DELIVERIES_SHOWN: u32 = 50;
/// The most endpoints a workspace (or the instance) may have.
pub const MAX_ENDPOINTS: usize = 20;
/// The longest URL an endpoint may have.
const MAX_URL: usize = 2048;

/// Where deliveries may go, and when tokens warn of their expiry.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Networks deliveries may reach although they are internal (loopback, private,
    /// link-local): none by default.
    pub allowed_networks: Vec<IpNet>,
    /// Days before a token's expiry at which `token.expiring` is sent, once each.
    pub expiry_horizons_days: Vec<u32>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allowed_networks: Vec::new(),
            expiry_horizons_days: vec![30, 7, 1],
        }
    }
}

impl WebhookSettings {
    /// Whether a delivery may reach `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        !webhook::is_internal(ip) || self.allowed_networks.iter().any(|n| n.contains(&ip))
    }
}

/// Whose endpoints: a workspace's, or the instance's.
#[derive(Debug, Clone, Copy)]
pub enum Hooks<'a> {
    Workspace(&'a WorkspaceRef),
    Instance,
}

#[derive(Debug, Clone, Default)]
pub struct EndpointRequest {
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EndpointPatchRequest {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

impl Keygate {
    /// The workspace id the caller manages webhooks of (`None`: the instance's), checking that
    /// they may. A delivery carries the audit entry of its event (who acted, from which
    /// address), so managing a workspace's endpoints needs `audit:read` beside
    /// `webhooks:manage`: an endpoint is no side door into the audit log.
    async fn hooks_of(&self, actor: &Actor, hooks: Hooks<'_>) -> ServiceResult<Option<Uuid>> {
        match hooks {
            Hooks::Workspace(ws) => {
                let managed = self.managing(actor, ws, Manage::Webhooks).await?;
                managed.require(Manage::Audit)?;
                Ok(Some(managed.workspace.id))
            }
            Hooks::Instance => {
                require_instance_admin(actor)?;
                Ok(None)
            }
        }
    }

    /// The endpoint `id` of `hooks`, which the caller manages; another's is not found.
    async fn managed_endpoint(
        &self,
        actor: &Actor,
        hooks: Hooks<'_>,
        id: Uuid,
    ) -> ServiceResult<(Option<Uuid>, Endpoint)> {
        let workspace = self.hooks_of(actor, hooks).await?;
        match self.store.endpoint(id).await? {
            Some(endpoint) if endpoint.workspace_id == workspace => Ok((workspace, endpoint)),
            _ => Err(ServiceError::NotFound("webhook")),
        }
    }

    pub async fn webhooks(&self, actor: &Actor, hooks: Hooks<'_>) -> ServiceResult<Vec<Endpoint>> {
        let workspace = self.hooks_of(actor, hooks).await?;
        Ok(self.store.endpoints(workspace).await?)
    }

    pub async fn webhook(
        &self,
        actor: &Actor,
        hooks: Hooks<'_>,
        id: Uuid,
    ) -> ServiceResult<Endpoint> {
        Ok(self.managed_endpoint(actor, hooks, id).await?.1)
    }

    /// Registers an endpoint; the answer holds its secret, which is never shown again.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        hooks: Hooks<'_>,
        req: EndpointRequest,
    ) -> ServiceResult<Endpoint> {
        let workspace = self.hooks_of(actor, hooks).await?;
        if self.store.endpoints(workspace).await?.len() >= MAX_ENDPOINTS {
            return Err(ServiceError::conflict(
                "too_many_webhooks",
                format!("there are {MAX_ENDPOINTS} webhooks already; delete one first"),
            ));
        }
        let url = self.target(&req.url).await?;
        let events = events(&req.events, workspace.is_none())?;
        let description = validate::optional_description(req.description.as_deref())?;
        let now = self.clock.now();
        let new = NewEndpoint {
            id: Uuid::now_v7(),
            workspace_id: workspace,
            url,
            description,
            events,
            secret: self.new_secret()?,
            created_at: now,
        };
        let audit = actor.audit(
            now,
            workspace,
            "webhook.created",
            Target::new("webhook", new.id),
            json!({ "url": new.url, "events": new.events }),
        );
        Ok(self.store.create_endpoint(&new, &audit).await?)
    }

    pub async fn update_webhook(
        &self,
        actor: &Actor,
        hooks: Hooks<'_>,
        id: Uuid,
        req: EndpointPatchRequest,
    ) -> ServiceResult<Endpoint> {
        let (workspace, current) = self.managed_endpoint(actor, hooks, id).await?;
        let url = match &req.url {
            Some(url) => Some(self.target(url).await?),
            None => None,
        };
        let events = match &req.events {
            Some(list) => Some(events(list, workspace.is_none())?),
            None => None,
        };
        let description = match &req.description {
            Some(d) => Some(validate::optional_description(d.as_deref())?),
            None => None,
        };
        let now = self.clock.now();
        let disabled = match req.enabled {
            Some(true) if current.disabled_at.is_some() => Some(None),
            Some(false) if current.disabled_at.is_none() => {
                Some(Some((now, format!("disabled by {}", actor.label()))))
            }
            _ => None,
        };
        let patch = EndpointPatch {
            url,
            description,
            events,
            disabled,
        };
        let audit = actor.audit(
            now,
            workspace,
            "webhook.updated",
            Target::new("webhook", id),
            json!({ "url": patch.url, "events": patch.events, "enabled": req.enabled }),
        );
        self.store
            .update_endpoint(id, &patch, now, Some(&audit))
            .await?
            .ok_or(ServiceError::NotFound("webhook"))
    }

    /// Gives the endpoint a new secret, shown once; the previous one signs too for 24 hours, so
    /// receivers can switch without missing a delivery.
    pub async fn rotate_webhook_secret(
        &self,
        actor: &Actor,
        hooks: Hooks<'_>,
        id: Uuid,
    ) -> ServiceResult<Endpoint> {
        let (workspace, _) = self.managed_endpoint(actor, hooks, id).await?;
        let now = self.clock.now();
        let audit = actor.audit(
            now,
            workspace,
            "webhook.secret_rotated",
            Target::new("webhook", id),
            json!({}),
        );
        let secret = self.new_secret()?;
        self.store
            .rotate_endpoint_secret(id, &secret, now + PREVIOUS_SECRET_SIGNS_FOR, now, &audit)
            .await?
            .ok_or(ServiceError::NotFound("webhook"))
    }

    pub async fn delete_webhook(
        &self,
        actor: &Actor,
        hooks: Hooks<'_>,
        id: Uuid,
    ) -> ServiceResult<()> {
        let (workspace, endpoint) = self.managed_endpoint(actor, hooks, id).await?;
        let audit = actor.audit(
            self.clock.now(),
            workspace,
            "webhook.deleted",
            Target::new("webhook", id),
            json!({ "url": endpoint.url }),
        );
        if !self.store.delete_endpoint(id, &audit).await? {
            return Err(ServiceError::NotFound("webhook"));
        }
        Ok(())
    }

    /// The endpoint's latest deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        hooks: Hooks<'_>,
        id: Uuid,
    ) -> ServiceResult<Vec<Delivery>> {
        self.managed_endpoint(actor, hooks, id).await?;
        Ok(self.store.deliveries(id, DELIVERIES_SHOWN).await?)
    }

    /// Sends a delivery again, now.
    pub async fn redeliver_webhook(
        &self,
        actor: &Actor,
        hooks: Hooks<'_>,
        id: Uuid,
        message: Uuid,
    ) -> ServiceResult<()> {
        let (workspace, _) = self.managed_endpoint(actor, hooks, id).await?;
        let now = self.clock.now();
        let audit = actor.audit(
            now,
            workspace,
            "webhook.redelivered",
            Target::new("webhook", id),
            json!({ "message": webhook::message_id(message) }),
        );
        if !self.store.redeliver(id, message, now, &audit).await? {
            return Err(ServiceError::NotFound("delivery"));
        }
        Ok(())
    }

    fn new_secret(&self) -> ServiceResult<String> {
        from_os_randomness(|fill| {
            let mut bytes = [0u8; SECRET_BYTES];
            fill(&mut bytes);
            webhook::encode_secret(&bytes)
        })
    }

    /// Checks a target URL: http or https, a host, no credentials, and every address the host
    /// resolves to one that deliveries may reach.
    async fn target(&self, url: &str) -> ServiceResult<String> {
        let invalid = |why: &str| ServiceError::from(ValidationError::new("url", why));
        if url.len() > MAX_URL {
            return Err(invalid("is longer than 2048 characters"));
        }
        let parsed =
            reqwest::Url::parse(url).map_err(|e| invalid(&format!("is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("must be an http or https URL"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid("must not hold credentials"));
        }
        let Some(host) = parsed.host_str() else {
            return Err(invalid("must name a host"));
        };
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addresses = resolve(host, port)
            .await
            .map_err(|e| invalid(&format!("names a host that does not resolve: {e}")))?;
        if let Some(refused) = addresses
            .iter()
            .find(|a| !self.webhook_settings.allows(a.ip()))
        {
            return Err(invalid(&format!(
                "reaches {}, an internal address, which webhooks may not reach unless \
                 `webhook_allowed_networks` includes it",
                refused.ip()
            )));
        }
        Ok(parsed.to_string())
    }

    /// Sends the expiry events that are due: `token.expiring` once per horizon as a token nears
    /// its expiry, `token.expired` once when it has expired (within the last 7 days). Every node
    /// runs it; each event is recorded once whichever node gets there first.
    pub async fn note_expiring_tokens(&self) -> ServiceResult<usize> {
        let now = self.clock.now();
        let horizons = &self.webhook_settings.expiry_horizons_days;
        let widest = horizons.iter().copied().max().unwrap_or(0);
        let since = now - chrono::Duration::days(7);
        let until = now + chrono::Duration::days(i64::from(widest));
        let mut sent = 0;
        for token in self.store.expiring_tokens(since, until).await? {
            let left = token.expires_at - now;
            let horizon = if left <= chrono::Duration::zero() {
                0
            } else {
                match horizons
                    .iter()
                    .copied()
                    .filter(|h| left <= chrono::Duration::days(i64::from(*h)))
                    .min()
                {
                    Some(h) => h,
                    None => continue,
                }
            };
            if token.noticed.is_some_and(|n| n <= horizon) {
                continue;
            }
            let in_use = token
                .last_used_at
                .is_some_and(|at| at > now - chrono::Duration::days(7));
            let action = if horizon == 0 {
                "token.expired"
            } else {
                "token.expiring"
            };
            let audit = AuditEvent {
                id: Uuid::now_v7(),
                workspace_id: token.workspace_id,
                actor_id: None,
                actor_label: None,
                actor_token_id: None,
                action: action.to_owned(),
                target_type: "token".into(),
                target_id: Some(token.id.to_string()),
                details: json!({
                    "owner": token.user_id,
                    "kind": token.kind.to_string(),
                    "name": token.name,
                    "hint": token.hint,
                    "expires_at": token.expires_at,
                    "horizon_days": horizon,
                    "in_use": in_use,
                    "last_used_at": token.last_used_at,
                }),
                client_ip: None,
                created_at: now,
            };
            if self.store.note_expiry(token.id, horizon, &audit).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Looks for expiring tokens every minute, for as long as the server runs.
    pub async fn run_expiry_notices(self) {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            if let Err(e) = self.note_expiring_tokens().await {
                tracing::warn!(error = %e, "could not look for expiring tokens");
            }
        }
    }

    /// Delivers due webhook deliveries, for as long as the server runs: up to `IN_FLIGHT`
    /// attempts at once, each in its own task, so a slow endpoint holds up no other.
    pub async fn run_webhook_dispatcher(self) {
        let client = match delivery_client(&self.webhook_settings) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "webhook deliveries are off: no HTTP client");
                return;
            }
        };
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        loop {
            let free = slots.available_permits();
            if free == 0 {
                // Wait until an attempt ends.
                drop(slots.clone().acquire_owned().await);
                continue;
            }
            let now = self.clock.now();
            let lease = chrono::Duration::from_std(LEASE).unwrap_or_default();
            let limit = u32::try_from(free).unwrap_or(u32::MAX);
            match self.store.claim_deliveries(now, now + lease, limit).await {
                Ok(due) if due.is_empty() => tokio::time::sleep(POLL).await,
                Ok(due) => {
                    for delivery in due {
                        let Ok(slot) = slots.clone().acquire_owned().await else {
                            return;
                        };
                        let keygate = self.clone();
                        let client = client.clone();
                        tokio::spawn(async move {
                            if let Err(e) = keygate.attempt(&client, delivery).await {
                                tracing::warn!(error = %e, "could not record a webhook delivery");
                            }
                            drop(slot);
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not take webhook deliveries; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn attempt(&self, client: &reqwest::Client, delivery: Delivery) -> ServiceResult<()> {
        let Some(endpoint) = self.store.endpoint(delivery.endpoint_id).await? else {
            return Ok(()); // Deleted, and its deliveries with it.
        };
        let started = self.clock.now();
        let sent = if endpoint.disabled_at.is_some() {
            Err("the endpoint is disabled".to_owned())
        } else {
            self.post(client, &endpoint, &delivery, started).await
        };
        let latency = u64::try_from((self.clock.now() - started).num_milliseconds()).ok();
        let (status, error) = match sent {
            Ok(status) if (200..300).contains(&status) => (Some(status), None),
            Ok(status) => (Some(status), Some(format!("answered {status}"))),
            Err(e) => (None, Some(e)),
        };
        let gone = status == Some(410);
        let retry = if error.is_none() || gone || endpoint.disabled_at.is_some() {
            None
        } else {
            webhook::retry_after(delivery.attempts)
        };
        let outcome = DeliveryOutcome {
            message_id: delivery.message_id,
            endpoint_id: endpoint.id,
            status: match (&error, retry) {
                (None, _) => DeliveryStatus::Delivered,
                (Some(_), Some(_)) => DeliveryStatus::Pending,
                (Some(_), None) => DeliveryStatus::Failed,
            },
            next_attempt_at: retry
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| started + d),
            attempted_at: started,
            http_status: status,
            latency_ms: latency,
            error,
        };
        // Disabled before the delivery is marked failed, so whoever sees the failure
        // also sees why the endpoint gets no more.
        if gone {
            self.disable_gone(&endpoint, started).await?;
        }
        self.store.finish_delivery(&outcome).await?;
        Ok(())
    }

    /// One POST of the delivery, signed for `at`; the status it got, or why it got none.
    async fn post(
        &self,
        client: &reqwest::Client,
        endpoint: &Endpoint,
        delivery: &Delivery,
        at: DateTime<Utc>,
    ) -> Result<u16, String> {
        // A host given as an address is never resolved, so it is checked here; names are
        // checked as they resolve (`Resolver`), each time.
        let url = reqwest::Url::parse(&endpoint.url).map_err(|e| e.to_string())?;
        if let Some(ip) = url.host_str().and_then(literal_ip)
            && !self.webhook_settings.allows(ip)
        {
            return Err(format!("{ip} is an internal address"));
        }
        let id = delivery.webhook_id();
        let timestamp = at.timestamp();
        let keys = endpoint.signing_keys(at);
        let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let signature = webhook::signature_header(&keys, &id, timestamp, &delivery.payload);
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(response.status().as_u16())
    }

    /// An endpoint that answered `410 Gone` wants no more: disabled, with an audit entry.
    async fn disable_gone(&self, endpoint: &Endpoint, now: DateTime<Utc>) -> ServiceResult<()> {
        let patch = EndpointPatch {
            disabled: Some(Some((now, "the endpoint answered 410 Gone".into()))),
            ..EndpointPatch::default()
        };
        let audit = AuditEvent {
            id: Uuid::now_v7(),
            workspace_id: endpoint.workspace_id,
            actor_id: None,
            actor_label: None,
            actor_token_id: None,
            action: "webhook.disabled".into(),
            target_type: "webhook".into(),
            target_id: Some(endpoint.id.to_string()),
            details: json!({ "url": endpoint.url, "reason": "410 Gone" }),
            client_ip: None,
            created_at: now,
        };
        self.store
            .update_endpoint(endpoint.id, &patch, now, Some(&audit))
            .await?;
        Ok(())
    }
}

/// The events asked for: known ones, each once, at least one.
fn events(asked: &[String], instance_wide: bool) -> ServiceResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for event in asked {
        if !webhook::is_event(event, instance_wide) {
            let which = if instance_wide {
                "an instance-wide"
            } else {
                "a workspace's"
            };
            return Err(ValidationError::new(
                "events",
                format!("`{event}` is not an event {which} endpoint can receive"),
            )
            .into());
        }
        if !out.contains(event) {
            out.push(event.clone());
        }
    }
    if out.is_empty() {
        return Err(ValidationError::new("events", "name at least one event").into());
    }
    out.sort();
    Ok(out)
}

/// The address a URL's host names literally (`[::1]` included), if it does.
fn literal_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

async fn resolve(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    if let Some(ip) = literal_ip(host) {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    Ok(tokio::net::lookup_host((host, port)).await?.collect())
}

/// An error's message with its causes, for the delivery log.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Resolves names for deliveries, dropping addresses deliveries may not reach: a name that
/// resolved to a public address when registered cannot be pointed inside later.
struct Resolver {
    settings: WebhookSettings,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let settings = self.settings.clone();
        Box::pin(async move {
            let all = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = all.filter(|a| settings.allows(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{} resolves to no address webhooks may reach",
                    name.as_str()
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client deliveries are made with: no redirects (a redirect could lead inside), no proxy
/// from the environment, 15 s per attempt.
fn delivery_client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(DELIVERY_TIMEOUT)
        .user_agent(concat!("Keygate-Webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(Resolver {
            settings: settings.clone(),
        }))
        .build()
}
