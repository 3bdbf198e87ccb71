//! Prometheus metrics: names, the process-wide recorder and the request layer (the `/metrics`
//! handler is with the health checks, in `http::rest::health`). Requests by
//! route and status with latency histograms, verification outcomes, cache hits, misses and
//! evictions, change notices received, database pool use.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{OnceLock, RwLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::extract::MatchedPath;
use axum::http::{Method, Request, StatusCode};
use axum::response::Response;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower::{Layer, Service};

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

/// How often the samples recorded into histograms are folded into their buckets.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(1);

/// The process-wide recorder, installed on first use, with its upkeep thread.
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
        start_upkeep(handle.clone());
        handle
    })
}

/// Every histogram sample (a request's latency) is kept as it is recorded until upkeep folds it
/// into the histogram's buckets; a scrape of `/metrics` does so too, but without one, samples
/// would pile up for as long as the server runs, 8 bytes per request. Upkeep every second bounds
/// them to one second's worth, whether or not anyone scrapes. A thread of its own, so that it
/// keeps running with no runtime around (tests build one runtime per test), with the default
/// stack: folding hundreds of series takes more than a small one holds in a debug build.
fn start_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the metrics upkeep thread");
    }
}

/// The counters every verification with a cached token touches, looked up once.
pub struct Hot {
    pub token_cache_hit: Counter,
    pub decision_cache_hit: Counter,
    pub decided_ok: Counter,
}

/// [`Hot`], for the process-wide recorder (installed first, so that the handles kept are its
/// own).
pub fn hot() -> &'static Hot {
    static HOT: OnceLock<Hot> = OnceLock::new();
    HOT.get_or_init(|| {
        handle();
        Hot {
            token_cache_hit: metrics::counter!(CACHE_LOOKUPS, "cache" => "tokens", "result" => "hit"),
            decision_cache_hit: metrics::counter!(CACHE_LOOKUPS, "cache" => "decisions", "result" => "hit"),
            decided_ok: metrics::counter!(DECISIONS, "code" => "ok"),
        }
    })
}

/// Middleware: counts every request by matched route, method and status, and times it.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrackLayer;

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track { inner }
    }
}

/// The service [`TrackLayer`] wraps around each route.
#[derive(Debug, Clone)]
pub struct Track<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for Track<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();
        TrackFuture {
            inner: self.inner.call(request),
            route,
            method,
            start: Instant::now(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request in flight through [`Track`].
    pub struct TrackFuture<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
        method: Method,
        start: Instant,
    }
}

impl<F, E> Future for TrackFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            let route = this.route.as_ref().map_or("unmatched", MatchedPath::as_str);
            let seconds = this.start.elapsed().as_secs_f64();
            request_series().record(route, this.method, response.status(), seconds);
        }
        Poll::Ready(result)
    }
}

/// The counter and the latency histogram of one route, method and status.
struct Series {
    method: Method,
    status: StatusCode,
    requests: Counter,
    duration: Histogram,
}

/// The request series met so far, by route: counting a request looks its handles up instead of
/// building label strings and a registry key.
struct RequestSeries {
    by_route: RwLock<HashMap<Box<str>, Vec<Series>>>,
}

/// The request series, for the process-wide recorder (installed first, so that the handles kept
/// are its own).
fn request_series() -> &'static RequestSeries {
    static SERIES: OnceLock<RequestSeries> = OnceLock::new();
    SERIES.get_or_init(|| {
        handle();
        RequestSeries {
            by_route: RwLock::new(HashMap::new()),
        }
    })
}

/// The methods HTTP defines; any other is counted without keeping its handles, so that made-up
/// methods cannot grow the table.
fn is_standard(method: &Method) -> bool {
    [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ]
    .contains(method)
}

impl RequestSeries {
    fn record(&self, route: &str, method: &Method, status: StatusCode, seconds: f64) {
        {
            let by_route = self.by_route.read().unwrap_or_else(|e| e.into_inner());
            if let Some(known) = by_route
                .get(route)
                .and_then(|known| find(known, method, status))
            {
                known.requests.increment(1);
                known.duration.record(seconds);
                return;
            }
        }
        let series = Series {
            method: method.clone(),
            status,
            requests: metrics::counter!(
                HTTP_REQUESTS,
                "route" => route.to_owned(),
                "method" => method.as_str().to_owned(),
                "status" => status.as_str().to_owned()
            ),
            duration: metrics::histogram!(
                HTTP_DURATION,
                "route" => route.to_owned(),
                "method" => method.as_str().to_owned()
            ),
        };
        series.requests.increment(1);
        series.duration.record(seconds);
        if !is_standard(method) {
            return;
        }
        let mut by_route = self.by_route.write().unwrap_or_else(|e| e.into_inner());
        let known = by_route.entry(route.into()).or_default();
        if find(known, method, status).is_none() {
            known.push(series);
        }
    }
}

fn find<'a>(series: &'a [Series], method: &Method, status: StatusCode) -> Option<&'a Series> {
    series
        .iter()
        .find(|s| s.status == status && s.method == *method)
}
