//! Headless Chromium through WebDriver (Debian's `chromium` and `chromium-driver`): GraphiQL runs
//! `{ user { id } }` with a pasted token and shows the id; the API docs page loads. Screenshots go
//! to `ci-artifacts/` at the repository root. Skipped, saying so, where chromedriver is missing.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, send, spawn_app};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process and a session in headless Chromium; both end when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// `None` (after printing why) where Chromium or chromedriver is not installed.
    pub async fn start() -> Option<Browser> {
        if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists()
        {
            println!(
                "skipped: no Chromium ({CHROMIUM}) or chromedriver ({CHROMEDRIVER}); .ci/run installs them"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1400,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut driver = driver;
        let client = loop {
            let mut builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            builder.capabilities(caps.clone());
            match builder.connect(&url).await {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => {
                    let _ = driver.kill();
                    panic!("chromedriver did not start a session: {e}");
                }
            }
        };
        Some(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Polls `script` (which returns a value) until `done` accepts it, for at most 20 seconds.
    pub async fn wait_for_value(&self, script: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let value = self
                .client
                .execute(script, vec![])
                .await
                .unwrap_or(Value::Null);
            if done(&value) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting; last value {value}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Saves a screenshot as `ci-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ci-artifacts");
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
    }
}

/// The text of every CodeMirror editor on the page whose container's label matches `label`.
fn editor_text(label: &str) -> String {
    format!(
        "return Array.from(document.querySelectorAll('.CodeMirror'))\
           .filter(e => (e.closest('[aria-label]') || {{ getAttribute: () => '' }}).getAttribute('aria-label').includes('{label}'))\
           .map(e => e.CodeMirror.getValue()).join('\\n');"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_a_query_with_a_pasted_token() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app: TestApp = spawn_app(Backend::Sqlite).await.expect("SQLite");
    let (_, me) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    let id = me["user"]["id"].as_str().expect("id").to_owned();

    browser
        .client
        .goto(&app.url("/graphql"))
        .await
        .expect("open GraphiQL");
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(".graphiql-execute-button"))
        .await
        .expect("GraphiQL renders");
    // The headers editor is shown and pre-filled with the placeholder.
    let headers = browser
        .wait_for_value(&editor_text("Headers"), |v| {
            v.as_str().is_some_and(|s| s.contains("Token"))
        })
        .await;
    assert!(
        headers
            .as_str()
            .is_some_and(|h| h.contains("<paste your token>")),
        "{headers}"
    );

    // Paste the token and a query, then run it.
    let set = format!(
        "const eds = Array.from(document.querySelectorAll('.CodeMirror'));\
         const by = l => eds.filter(e => (e.closest('[aria-label]') || {{ getAttribute: () => '' }}).getAttribute('aria-label').includes(l));\
         by('Headers').forEach(e => e.CodeMirror.setValue(JSON.stringify({{ Authorization: 'Token {}' }})));\
         by('Query').forEach(e => e.CodeMirror.setValue('{{ user {{ id }} }}'));\
         return true;",
        app.owner.token
    );
    browser
        .client
        .execute(&set, vec![])
        .await
        .expect("type into the editors");
    // GraphiQL takes edits into its state asynchronously: run until the answer shows the id, a
    // bounded number of times.
    let mut result = Value::Null;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser
            .client
            .find(Locator::Css(".graphiql-execute-button"))
            .await
            .expect("run button")
            .click()
            .await
            .expect("run");
        tokio::time::sleep(Duration::from_millis(700)).await;
        result = browser
            .client
            .execute(&editor_text("Result"), vec![])
            .await
            .unwrap_or(Value::Null);
        if result.as_str().is_some_and(|s| s.contains(&id)) {
            break;
        }
    }
    if !result.as_str().is_some_and(|s| s.contains(&id)) {
        browser.screenshot("graphiql-failed").await;
        panic!("GraphiQL showed {result}");
    }
    assert!(
        result.as_str().is_some_and(|r| r.contains("\"user\"")),
        "{result}"
    );
    browser.screenshot("graphiql-user-id").await;

    let _ = browser.client.clone().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_playground_loads_with_every_operation() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app: TestApp = spawn_app(Backend::Sqlite).await.expect("SQLite");
    // The API playground.
    browser
        .client
        .goto(&app.url("/api/docs"))
        .await
        .expect("open the docs");
    let title = browser
        .wait_for_value(
            "const t = document.querySelector('.swagger-ui .info .title'); return t ? t.textContent : null;",
            |v| v.as_str().is_some_and(|s| s.contains("Keygate")),
        )
        .await;
    assert!(title.as_str().is_some_and(|t| t.contains("Keygate")));
    let operations = browser
        .wait_for_value(
            "return document.querySelectorAll('.swagger-ui .opblock').length;",
            |v| v.as_u64().is_some_and(|n| n > 10),
        )
        .await;
    assert!(operations.as_u64().is_some_and(|n| n > 10), "{operations}");
    browser.screenshot("api-docs").await;
    let _ = browser.client.clone().close().await;
}
