//! A workspace's audit log: filters, pages newest first, and the CSV download.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::layout::Layout;
use super::request::WorkspaceRequest;
use super::views::when;
use super::{WebResult, encode, filled};
use crate::http::error::ApiError;
use crate::service::AuditQuery;

pub struct EventRow {
    pub time: String,
    pub action: String,
    pub actor: String,
    pub target: String,
    pub ip: String,
    pub details: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    layout: Layout,
    slug: String,
    events: Vec<EventRow>,
    filter: AuditFilterForm,
    next: Option<String>,
    csv: String,
}

#[derive(Deserialize, Default)]
pub struct AuditFilterForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    cursor: String,
    /// `csv` for the download.
    #[serde(default)]
    format: String,
}

fn day(
    field: &'static str,
    s: &str,
    days_after: i64,
) -> Result<Option<chrono::DateTime<Utc>>, ApiError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let date = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request("invalid_query", format!("{field} must be a date")))?;
    let start = date
        .and_hms_opt(0, 0, 0)
        .map(|t| Utc.from_utc_datetime(&t) + chrono::Duration::days(days_after));
    Ok(start)
}

impl AuditFilterForm {
    fn query(&self) -> Result<AuditQuery, ApiError> {
        let cursor = match self.cursor.trim() {
            "" => None,
            c => Some(Uuid::parse_str(c).map_err(|_| {
                ApiError::bad_request("invalid_query", "the page cursor is not valid")
            })?),
        };
        Ok(AuditQuery {
            actor: None,
            action: filled(&self.action),
            target: filled(&self.target),
            since: day("since", &self.since, 0)?,
            // The whole `until` day is included.
            until: day("until", &self.until, 1)?,
            cursor,
            limit: Some(50),
        })
    }

    /// The filter as a query string, without the page cursor.
    fn query_string(&self) -> String {
        format!(
            "action={}&target={}&since={}&until={}",
            encode(&self.action),
            encode(&self.target),
            encode(&self.since),
            encode(&self.until)
        )
    }
}

pub async fn list(
    req: WorkspaceRequest,
    Query(filter): Query<AuditFilterForm>,
) -> WebResult<Response> {
    let query = filter.query()?;
    if filter.format == "csv" {
        return Ok(crate::http::rest::audit::csv(
            &req.state,
            &req.signed,
            crate::http::rest::audit::AuditLogOf::Workspace(&req.reference),
            query,
        )
        .await?);
    }
    let log = req
        .keygate()
        .audit_log(&req.signed, &req.reference, &query)
        .await?;
    let slug = req.slug().await?;
    let events = log
        .events
        .iter()
        .map(|e| EventRow {
            time: when(e.created_at),
            action: e.action.clone(),
            actor: e.actor_label.clone().unwrap_or_else(|| "—".into()),
            target: match &e.target_id {
                Some(id) => format!("{} {id}", e.target_type),
                None => e.target_type.clone(),
            },
            ip: e.client_ip.clone().unwrap_or_default(),
            details: if e.details.as_object().is_some_and(|o| o.is_empty()) {
                String::new()
            } else {
                e.details.to_string()
            },
        })
        .collect();
    let base = format!("/w/{slug}/audit?{}", filter.query_string());
    Ok(AuditPage {
        layout: req.layout(&slug, "Audit log", "audit").await?,
        next: log.next_cursor.map(|c| format!("{base}&cursor={c}")),
        csv: format!("{base}&format=csv"),
        slug,
        events,
        filter,
    }
    .into_response())
}
