//! The audit log, a workspace's or (for instance admins) the whole instance's: filters, pages
//! newest first, and the CSV download.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::layout::Layout;
use super::request::WorkspaceRequest;
use super::session::Signed;
use super::views::when;
use super::{WebResult, encode, filled};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::service::{AuditPage as LogPage, AuditQuery};

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
    /// The page's own path: a workspace's log, or the instance's.
    path: String,
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
    let layout = req.layout(&slug, "Audit log", "audit").await?;
    Ok(page(layout, format!("/w/{slug}/audit"), &log, filter).into_response())
}

/// The instance's audit log, every workspace's entries and those of no workspace: for instance
/// admins (anyone else gets the service's 403).
pub async fn instance(
    State(state): State<AppState>,
    signed: Signed,
    Query(filter): Query<AuditFilterForm>,
) -> WebResult<Response> {
    let query = filter.query()?;
    if filter.format == "csv" {
        return Ok(crate::http::rest::audit::csv(
            &state,
            &signed,
            crate::http::rest::audit::AuditLogOf::Instance,
            query,
        )
        .await?);
    }
    let log = state.keygate.instance_audit_log(&signed, &query).await?;
    let layout = Layout::signed(&state, &signed, "Instance audit log", "admin-audit", None).await?;
    Ok(page(layout, "/admin/audit".to_owned(), &log, filter).into_response())
}

/// The page of `log` at `path`, filtered by `filter`.
fn page(layout: Layout, path: String, log: &LogPage, filter: AuditFilterForm) -> AuditPage {
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
    let base = format!("{path}?{}", filter.query_string());
    AuditPage {
        layout,
        next: log.next_cursor.map(|c| format!("{base}&cursor={c}")),
        csv: format!("{base}&format=csv"),
        path,
        events,
        filter,
    }
}
