//! Prometheus metrics: names, the process-wide recorder and the request timer (the `/metrics`
//! handler is with the health checks, in `http::rest::health`). Requests by
//! route and status with latency histograms, verification outcomes, cache hits, misses and
//! evictions, change notices received, database pool use.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::MatchedPath;
use axum::http::{Method, Request, StatusCode};
use metrics::Counter;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::sharded::Sharded;

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

/// The process-wide recorder of the metrics other than the request series, installed on first
/// use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; then this one stays unused.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Everything `/metrics` shows, in the Prometheus text format.
pub fn render() -> String {
    hot().fold();
    let mut text = handle().render();
    registry().render(&mut text);
    text
}

/// A counter that every verification with a cached token adds to: counted per thread, added to
/// its Prometheus counter when the metrics are read.
pub struct HotCounter {
    total: Counter,
    pending: Sharded<AtomicU64>,
}

impl HotCounter {
    fn new(total: Counter) -> Self {
        Self {
            total,
            pending: Sharded::default(),
        }
    }

    pub fn increment(&self, n: u64) {
        self.pending.local().fetch_add(n, Ordering::Relaxed);
    }

    fn fold(&self) {
        let n: u64 = self
            .pending
            .all()
            .map(|a| a.swap(0, Ordering::Relaxed))
            .sum();
        self.total.increment(n);
    }
}

/// The counters every verification with a cached token touches.
pub struct Hot {
    pub token_cache_hit: HotCounter,
    pub decision_cache_hit: HotCounter,
    pub decided_ok: HotCounter,
}

impl Hot {
    fn fold(&self) {
        for counter in [
            &self.token_cache_hit,
            &self.decision_cache_hit,
            &self.decided_ok,
        ] {
            counter.fold();
        }
    }
}

/// [`Hot`], for the process-wide recorder (installed first, so that the handles kept are its
/// own).
pub fn hot() -> &'static Hot {
    static HOT: OnceLock<Hot> = OnceLock::new();
    HOT.get_or_init(|| {
        handle();
        Hot {
            token_cache_hit: HotCounter::new(
                metrics::counter!(CACHE_LOOKUPS, "cache" => "tokens", "result" => "hit"),
            ),
            decision_cache_hit: HotCounter::new(
                metrics::counter!(CACHE_LOOKUPS, "cache" => "decisions", "result" => "hit"),
            ),
            decided_ok: HotCounter::new(metrics::counter!(DECISIONS, "code" => "ok")),
        }
    })
}

/// The timing of one request: started when it arrives, added to its series of matched route,
/// method and status when its answer is ready (`http::middleware` wraps every route in one).
#[derive(Debug)]
pub struct RequestTimer {
    route: &'static str,
    method: &'static str,
    start: Instant,
}

impl RequestTimer {
    /// The timing of `request`, counted under `route` when given, else under the route the
    /// router matched.
    pub fn start<B>(request: &Request<B>, route: Option<&'static str>) -> Self {
        Self {
            route: route.unwrap_or_else(|| {
                request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or(UNMATCHED, |path| intern(path.as_str()))
            }),
            method: method_label(request.method()),
            start: Instant::now(),
        }
    }

    pub fn finish(self, status: StatusCode) {
        series(self.route, self.method, status).record(self.start.elapsed());
    }
}

const UNMATCHED: &str = "unmatched";

/// The methods HTTP defines, by their own names; any other is counted as `other`, so that
/// made-up methods cannot grow the table.
fn method_label(method: &Method) -> &'static str {
    static STANDARD: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    STANDARD
        .iter()
        .find(|standard| *standard == method)
        .map_or("other", Method::as_str)
}

/// One copy of each route template requests matched, for as long as the process runs (there are
/// as many as the router declares).
fn intern(route: &str) -> &'static str {
    thread_local! {
        static SEEN: RefCell<HashSet<&'static str, FastHash>> = RefCell::default();
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some(known) = seen.get(route) {
            return *known;
        }
        let known = registry().intern(route);
        seen.insert(known);
        known
    })
}

/// The series of a route, method and status: looked up in this thread's copy of the table, then
/// in the process's.
fn series(route: &'static str, method: &'static str, status: StatusCode) -> &'static Series {
    thread_local! {
        static SEEN: RefCell<HashMap<SeriesKey, &'static Series, FastHash>> = RefCell::default();
    }
    let key = (route, method, status.as_u16());
    SEEN.with_borrow_mut(|seen| *seen.entry(key).or_insert_with(|| registry().series(key)))
}

type SeriesKey = (&'static str, &'static str, u16);

/// For the per-thread tables, whose keys no client chooses (routes as the router declares them).
type FastHash = foldhash::fast::RandomState;

/// Requests of one route, method and status: their count and latencies, by bucket.
struct Series {
    tallies: Sharded<Tally>,
}

/// One thread's requests of a series: how many fell in each bucket (the last: above them all)
/// and their total time.
#[derive(Default)]
struct Tally {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    nanos: AtomicU64,
}

impl Series {
    fn record(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(BUCKETS.len());
        let tally = self.tallies.local();
        tally.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        tally.nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Requests by bucket, and their total time, over all threads.
    fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for tally in self.tallies.all() {
            for (total, count) in totals.buckets.iter_mut().zip(&tally.buckets) {
                *total += count.load(Ordering::Relaxed);
            }
            totals.nanos = totals
                .nanos
                .wrapping_add(tally.nanos.load(Ordering::Relaxed));
        }
        totals
    }
}

/// Requests by latency bucket, and their total time.
#[derive(Default, Clone, Copy)]
struct Totals {
    buckets: [u64; BUCKETS.len() + 1],
    nanos: u64,
}

impl Totals {
    fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    fn add(&mut self, other: &Totals) {
        for (total, count) in self.buckets.iter_mut().zip(other.buckets) {
            *total += count;
        }
        self.nanos = self.nanos.wrapping_add(other.nanos);
    }
}

/// The routes and series met so far. Neither is ever removed: there are as many routes as the
/// router declares, standard methods and statuses.
#[derive(Default)]
struct Registry {
    routes: Mutex<HashSet<&'static str>>,
    series: Mutex<BTreeMap<SeriesKey, &'static Series>>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

impl Registry {
    fn intern(&self, route: &str) -> &'static str {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = routes.get(route) {
            return known;
        }
        let known: &'static str = Box::leak(route.into());
        routes.insert(known);
        known
    }

    fn series(&self, key: SeriesKey) -> &'static Series {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        series.entry(key).or_insert_with(|| {
            Box::leak(Box::new(Series {
                tallies: Sharded::default(),
            }))
        })
    }

    /// The request counter and the latency histogram (by route and method), as the Prometheus
    /// exporter writes its own.
    fn render(&self, text: &mut String) {
        let series: Vec<(SeriesKey, Totals)> = self
            .series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(key, series)| (*key, series.totals()))
            .collect();
        if series.is_empty() {
            return;
        }
        let _ = writeln!(text, "# TYPE {HTTP_REQUESTS} counter");
        for ((route, method, status), totals) in &series {
            let _ = writeln!(
                text,
                "{HTTP_REQUESTS}{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {}",
                escape(route),
                totals.count()
            );
        }
        text.push('\n');
        // By route and method, over all statuses; the map is sorted, so the series of a route and
        // method stand together.
        let mut by_route: Vec<((&str, &str), Totals)> = Vec::new();
        for ((route, method, _), totals) in &series {
            match by_route.last_mut() {
                Some((key, sum)) if *key == (*route, *method) => sum.add(totals),
                _ => by_route.push(((route, method), *totals)),
            }
        }
        let _ = writeln!(text, "# TYPE {HTTP_DURATION} histogram");
        for ((route, method), totals) in by_route {
            let labels = format!("route=\"{}\",method=\"{method}\"", escape(route));
            let mut cumulative = 0;
            for (le, count) in BUCKETS.iter().zip(totals.buckets) {
                cumulative += count;
                let _ = writeln!(
                    text,
                    "{HTTP_DURATION}_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            let count = totals.count();
            let _ = writeln!(
                text,
                "{HTTP_DURATION}_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                text,
                "{HTTP_DURATION}_sum{{{labels}}} {}",
                totals.nanos as f64 / 1e9
            );
            let _ = writeln!(text, "{HTTP_DURATION}_count{{{labels}}} {count}");
        }
        text.push('\n');
    }
}

/// A label value as the text format wants it.
fn escape(value: &str) -> Cow<'_, str> {
    if value.contains(['\\', '"', '\n']) {
        Cow::Owned(
            value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n"),
        )
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_rendered_as_a_counter_and_a_cumulative_histogram() {
        let route = intern("/test/render/{id}");
        for (status, micros) in [(200, 50), (200, 700), (404, 3_000_000)] {
            series(route, "GET", StatusCode::from_u16(status).expect("status"))
                .record(Duration::from_micros(micros));
        }
        let mut text = String::new();
        registry().render(&mut text);
        for expected in [
            r#"keygate_http_requests_total{route="/test/render/{id}",method="GET",status="200"} 2"#,
            r#"keygate_http_requests_total{route="/test/render/{id}",method="GET",status="404"} 1"#,
            r#"keygate_http_request_duration_seconds_bucket{route="/test/render/{id}",method="GET",le="0.0001"} 1"#,
            r#"keygate_http_request_duration_seconds_bucket{route="/test/render/{id}",method="GET",le="0.001"} 2"#,
            r#"keygate_http_request_duration_seconds_bucket{route="/test/render/{id}",method="GET",le="2.5"} 2"#,
            r#"keygate_http_request_duration_seconds_bucket{route="/test/render/{id}",method="GET",le="+Inf"} 3"#,
            r#"keygate_http_request_duration_seconds_sum{route="/test/render/{id}",method="GET"} 3.00075"#,
            r#"keygate_http_request_duration_seconds_count{route="/test/render/{id}",method="GET"} 3"#,
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
    }

    #[test]
    fn counts_from_every_thread_are_added_up() {
        let route = intern("/test/threads");
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        series(route, "POST", StatusCode::OK).record(Duration::from_micros(10));
                    }
                });
            }
        });
        assert_eq!(series(route, "POST", StatusCode::OK).totals().count(), 4000);
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let made_up = Method::from_bytes(b"BREW").expect("a method");
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("/plain"), "/plain");
    }
}
