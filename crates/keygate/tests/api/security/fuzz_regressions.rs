//! The inputs the GraphQL fuzz target once failed on (`fuzz/regressions/graphql/*`), replayed
//! through the real server over HTTP: each gets an answer below 500, and the server lives on.
//! The first byte of an input says how the rest reaches `/graphql`, as in the fuzz target
//! (`fuzz/src/graphql.rs`): 0 the whole POST body, 1 the `query` of a JSON body, 2 the `query`
//! parameter of a GET (each modulo 3).

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, fetch, spawn_app};

fn inputs() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/graphql");
    // No directory: no GraphQL regressions yet (git keeps no empty directories).
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|entry| entry.expect("directory entry").path())
        .map(|path| {
            let data = std::fs::read(&path).expect("regression input");
            (path, data)
        })
        .collect();
    inputs.sort();
    inputs
}

#[tokio::test]
async fn graphql_inputs_the_fuzzer_once_broke_get_a_client_error_and_the_server_lives_on() {
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite");
    for (path, data) in inputs() {
        let Some((&mode, rest)) = data.split_first() else {
            continue;
        };
        let text = String::from_utf8_lossy(rest).into_owned();
        let request = match mode % 3 {
            0 => app
                .anonymous(Method::POST, "/graphql")
                .header("content-type", "application/json")
                .body(rest.to_vec()),
            1 => app
                .anonymous(Method::POST, "/graphql")
                .json(&json!({ "query": text })),
            _ => app
                .anonymous(Method::GET, "/graphql")
                .header("accept", "application/json")
                .query(&[("query", text.as_str())]),
        };
        let response = request.send().await.expect("the server answers");
        assert!(
            !response.status().is_server_error(),
            "{}: {}",
            path.display(),
            response.status()
        );
        let alive = fetch(app.anonymous(Method::GET, "/healthz")).await;
        assert_eq!(alive.status(), StatusCode::OK, "after {}", path.display());
    }
}
