//! `GET /api/v1/workspaces/{ws}/audit`: the audit log as JSON pages, or as CSV (the one endpoint
//! that accepts `api_token` in the URL, for tools that cannot set headers).

pub(crate) mod json;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use self::json::{AuditEventJson, AuditPageJson, AuditQueryJson};
use super::API_V1;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{InWorkspace, Query};
use crate::service::{AuditQuery, MAX_PAGE, WorkspaceRef};

/// Rows a CSV export carries at most.
const CSV_MAX_ROWS: usize = 100_000;

/// The workspace's audit log.
///
/// Newest first, filtered and paged; or, with `format=csv`, every matching event as one CSV
/// document. Needs `audit:read`. The one endpoint that also accepts the token as `api_token` in
/// the URL.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/audit",
    operation_id = "list_audit_events",
    tag = "audit",
    params(
        AuditQueryJson,
    ),
    security(("bearer" = []), ("token" = []), ("api_key" = []), ("x_api_key" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "A page of events (JSON), or the CSV export",
            content(
                (AuditPageJson = "application/json"),
                (String = "text/csv", example = "id,time,action,actor_id,actor,actor_token_id,target_type,target_id,client_ip,details\n")
            )),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Query(params): Query<AuditQueryJson>,
) -> Result<Response, ApiError> {
    respond(&state, &actor, AuditLogOf::Workspace(&ws), params).await
}

/// Whose audit log: one workspace's, or the whole instance's.
#[derive(Clone, Copy)]
pub(crate) enum AuditLogOf<'a> {
    Workspace(&'a WorkspaceRef),
    Instance,
}

async fn page(
    state: &AppState,
    actor: &crate::service::Actor,
    of: AuditLogOf<'_>,
    query: &AuditQuery,
) -> Result<crate::service::AuditPage, ApiError> {
    Ok(match of {
        AuditLogOf::Workspace(reference) => {
            state.keygate.audit_log(actor, reference, query).await?
        }
        AuditLogOf::Instance => state.keygate.instance_audit_log(actor, query).await?,
    })
}

/// The page of JSON or the CSV export a query asks for.
pub(crate) async fn respond(
    state: &AppState,
    actor: &crate::service::Actor,
    of: AuditLogOf<'_>,
    params: AuditQueryJson,
) -> Result<Response, ApiError> {
    let query = AuditQuery {
        actor: params.actor,
        action: params.action,
        target: params.target,
        since: params.since,
        until: params.until,
        cursor: params.cursor,
        limit: params.limit,
    };
    match params.format.as_deref() {
        None | Some("json") => {
            let page = page(state, actor, of, &query).await?;
            Ok(axum::Json(AuditPageJson {
                events: page.events.iter().map(AuditEventJson::from).collect(),
                next_cursor: page.next_cursor,
            })
            .into_response())
        }
        Some("csv") => csv(state, actor, of, query).await,
        Some(other) => Err(ApiError::bad_request(
            "invalid_query",
            format!("format must be json or csv, not `{other}`"),
        )),
    }
}

/// Every matching event of the audit log as one CSV document, newest first (at most
/// `CSV_MAX_ROWS` rows). Shared by the REST exports and the web UI's download.
pub(crate) async fn csv(
    state: &AppState,
    actor: &crate::service::Actor,
    of: AuditLogOf<'_>,
    mut query: AuditQuery,
) -> Result<Response, ApiError> {
    // Pages are read until the end (or the cap), then sent as one CSV document.
    let mut out = String::from(
        "id,time,action,actor_id,actor,actor_token_id,target_type,target_id,client_ip,details\n",
    );
    let mut rows = 0;
    query.limit = Some(MAX_PAGE);
    loop {
        let page = page(state, actor, of, &query).await?;
        for e in &page.events {
            let fields = [
                e.id.to_string(),
                e.created_at.to_rfc3339(),
                e.action.clone(),
                e.actor_id.map(|a| a.to_string()).unwrap_or_default(),
                e.actor_label.clone().unwrap_or_default(),
                e.actor_token_id.map(|t| t.to_string()).unwrap_or_default(),
                e.target_type.clone(),
                e.target_id.clone().unwrap_or_default(),
                e.client_ip.clone().unwrap_or_default(),
                e.details.to_string(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
            rows += 1;
        }
        match page.next_cursor {
            Some(cursor) if rows < CSV_MAX_ROWS => query.cursor = Some(cursor),
            _ => break,
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"keygate-audit.csv\"",
            ),
        ],
        Body::from(out),
    )
        .into_response())
}

/// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed with `'` so that spreadsheets do
/// not run it as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("{\"a\":1}"), "\"{\"\"a\"\":1}\"");
    }
}
