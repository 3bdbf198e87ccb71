//! The GraphQL entry under arbitrary input: the real router (every layer the server puts in front
//! of `/graphql`) over a fresh SQLite database, called with no token. Whatever the bytes, the
//! answer is not a 5xx and the process lives on (a stack overflow aborts it, which the fuzzer
//! reports as a crash).

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use keygate::http::{self, AppState, Shared};
use keygate::config::Config;
use keygate::service::Clock;
use tower::ServiceExt;

struct Harness {
    runtime: tokio::runtime::Runtime,
    router: Router,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        // Worker threads keep tokio's default stack (2 MiB), as in the server: a recursion that
        // only fits the main thread's 8 MiB must still be found.
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => panic!("a tokio runtime: {e}"),
        };
        let db = std::env::temp_dir().join(format!("keygate-fuzz-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&db);
        let config = Config {
            database_url: format!("sqlite://{}", db.display()),
            ..Config::default()
        };
        let router = runtime.block_on(async {
            let keygate = match keygate::startup::services(&config, Clock::default()).await {
                Ok(keygate) => keygate,
                Err(e) => panic!("services over {}: {e}", config.database_url),
            };
            let (Ok(routes), Ok(session_lifetime)) = (config.routes(), config.session_lifetime())
            else {
                panic!("the default configuration is valid");
            };
            http::router(AppState::new(Shared {
                keygate,
                graphql: http::graphql::schema(),
                public_url: None,
                trusted_proxies: std::sync::Arc::new(Vec::new()),
                routes: std::sync::Arc::new(routes),
                forward_auth_headers: config.forward_auth_headers,
                session_lifetime,
            }))
        });
        Harness { runtime, router }
    })
}

/// A string as a JSON string literal, escaping what JSON requires.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The first byte picks how the rest reaches `/graphql`: as the whole POST body, as the `query`
/// of a JSON body (so the GraphQL parser sees it without the fuzzer having to write JSON), or as
/// the `query` parameter of a GET.
pub fn graphql(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let request = match mode % 3 {
        0 => Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(rest.to_vec())),
        1 => Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(format!("{{\"query\":{}}}", json_string(&text)))),
        _ => {
            let query: String =
                percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
                    .collect();
            Request::builder()
                .method(Method::GET)
                .uri(format!("/graphql?query={query}"))
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())
        }
    };
    let Ok(request) = request else {
        return;
    };
    let h = harness();
    let router = h.router.clone();
    let answer = h
        .runtime
        .block_on(async move { tokio::spawn(router.oneshot(request)).await });
    let status = match answer {
        Ok(Ok(response)) => response.status(),
        Ok(Err(never)) => match never {},
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    assert!(
        status != StatusCode::INTERNAL_SERVER_ERROR && !status.is_server_error(),
        "/graphql answered {status}"
    );
}
