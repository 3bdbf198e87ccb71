//! Wire types of the audit log: an event, a page of events, and the filters of a listing (the
//! admin's instance-wide log takes the same).

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use keygate_domain::AuditEvent;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::openapi as doc;

// An event, as REST lists it and as GraphQL's `AuditEvent`.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "AuditEvent")]
pub struct AuditEventJson {
    pub id: Uuid,
    pub time: DateTime<Utc>,
    pub action: String,
    pub actor_id: Option<Uuid>,
    pub actor: Option<String>,
    pub actor_token_id: Option<Uuid>,
    pub target_type: String,
    pub target_id: Option<String>,
    pub client_ip: Option<String>,
    pub details: serde_json::Value,
}

impl From<&AuditEvent> for AuditEventJson {
    fn from(e: &AuditEvent) -> Self {
        Self {
            id: e.id,
            time: e.created_at,
            action: e.action.clone(),
            actor_id: e.actor_id,
            actor: e.actor_label.clone(),
            actor_token_id: e.actor_token_id,
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            client_ip: e.client_ip.clone(),
            details: e.details.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageJson {
    pub events: Vec<AuditEventJson>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<Uuid>,
}

/// Filters and paging of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQueryJson {
    /// Only events by this user (id).
    pub actor: Option<Uuid>,
    /// Only events with this action, e.g. `token.created`.
    pub action: Option<String>,
    /// Only events about this target (its `target_id`).
    pub target: Option<String>,
    /// Only events at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// Events per page: 1 to 500, 50 by default. Newest first.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `json` (default) or `csv` (every matching event, as one CSV document).
    #[param(value_type = Option<doc::AuditFormat>, inline)]
    pub format: Option<String>,
    /// Accepted here (and only on this endpoint) for tools that cannot set headers; read by the
    /// token extractor, and dropped unread here. Documented as the `api_token` security scheme.
    #[serde(rename = "api_token")]
    #[param(ignore)]
    pub _api_token: Option<serde::de::IgnoredAny>,
}
