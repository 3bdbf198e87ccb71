//! Prometheus metrics: names, the process-wide recorder, and the `/metrics` handler. Requests by
//! route and status with latency histograms, verification outcomes, cache hits, misses and
//! evictions, change notices received, database pool use.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::api::AppState;

pub const HTTP_REQUESTS: &str = "keygate_http_requests_total";
pub const HTTP_DURATION: &str = "keygate_http_request_duration_seconds";
/// Decisions (`verify`, `auth/check`, forward-auth, GraphQL `check`) by outcome `code`.
pub const DECISIONS: &str = "keygate_decisions_total";
/// Failed authentications of callers, by `reason`.
pub const AUTH_FAILURES: &str = "keygate_auth_failures_total";
/// Cache lookups by `cache` and `result` (`hit` or `miss`).
pub const CACHE_LOOKUPS: &str = "keygate_cache_lookups_total";
pub const CACHE_EVICTIONS: &str = "keygate_cache_evictions_total";
/// Change notices received from the database (other nodes, and this one's echo).
pub const NOTICES_RECEIVED: &str = "keygate_change_notices_received_total";
pub const POOL_CONNECTIONS: &str = "keygate_db_pool_connections";

/// Latency buckets in seconds: fine below a millisecond, where verification lives.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The process-wide recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets(&BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; then this one stays unused.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Middleware: counts every request by matched route, method and status, and times it.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method)
        .record(start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Prometheus metrics in the text exposition format 0.0.4: \
            requests by route, method and status with latency histograms, decisions by code, \
            failed authentications by reason, cache lookups and evictions, change notices \
            received, database pool connections. No token or user appears in them.",
            content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
    )
)]
pub async fn render(State(state): State<AppState>) -> Response {
    let pool = state.keygate.store().pool_state();
    metrics::gauge!(POOL_CONNECTIONS, "state" => "open").set(f64::from(pool.size));
    metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(pool.idle as f64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}
