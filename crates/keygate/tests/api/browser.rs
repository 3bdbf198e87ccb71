//! Headless Chromium through WebDriver (Debian's `chromium` and `chromium-driver`), with the helpers
//! browser tests share (open, fill, click, wait, sign in, confirm). GraphiQL runs `{ user { id } }`
//! with a pasted token and shows the id; the API docs page loads. Screenshots go to
//! `ci-artifacts/` at the repository root. Skipped, saying so, where chromedriver is missing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
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
    /// chromedriver's address and the session's id, to end the session when a test fails
    /// before closing it (killing chromedriver alone would leave Chromium running).
    driver_addr: SocketAddr,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(session) = &self.session {
            end_session(self.driver_addr, session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Asks chromedriver to end `session` (which quits its Chromium), without an async runtime:
/// drops may run while a test unwinds.
fn end_session(driver: SocketAddr, session: &str) {
    let Ok(mut stream) = TcpStream::connect_timeout(&driver, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: {driver}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // chromedriver answers once Chromium has quit: wait for the status line and headers.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
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
        let session = client.session_id().await.ok().flatten();
        Some(Browser {
            client,
            driver,
            driver_addr: SocketAddr::from(([127, 0, 0, 1], port)),
            session,
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

    /// Opens `path` on `app`.
    pub async fn open(&self, app: &TestApp, path: &str) {
        self.client
            .goto(&app.url(path))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The element matching `css`, once it is there (at most 20 seconds).
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                self.screenshot("failed").await;
                let path = self.path().await;
                panic!("no {css} on {path}: {e}");
            }
        }
    }

    /// Types `text` into the field matching `css`, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field.clear().await.expect("clear the field");
        field.send_keys(text).await.expect("type into the field");
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The current value of the input matching `css`.
    pub async fn value(&self, css: &str) -> String {
        self.wait_for(css)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("text")
    }

    /// The current page's path and query.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the current path and query satisfy `done`, and returns them.
    pub async fn wait_for_path(&self, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let path = self.path().await;
            if done(&path) {
                return path;
            }
            if Instant::now() >= deadline {
                self.screenshot("failed").await;
                panic!("timed out waiting to leave {path}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Reloads the page until the text of the element matching `css` satisfies `done` (at most
    /// 20 seconds), and returns that text: for what the server writes in the background.
    pub async fn reload_until(&self, css: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text(css).await;
            if done(&text) {
                return text;
            }
            if Instant::now() >= deadline {
                self.screenshot("failed").await;
                panic!("{css} still shows {text:?}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            self.client.refresh().await.expect("reload");
        }
    }

    /// Signs in through the sign-in page and waits until the browser has left it.
    pub async fn sign_in(&self, app: &TestApp, email: &str, password: &str) {
        self.open(app, "/signin").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("form[action='/signin'] button[type=submit]")
            .await;
        self.wait_for_path(|p| !p.starts_with("/signin")).await;
    }

    /// Waits for the confirmation dialog a guarded form opens, and returns its message.
    pub async fn confirmation(&self) -> String {
        self.wait_for("dialog#confirm-dialog[open]").await;
        self.text("#confirm-message").await
    }

    /// Ends the WebDriver session.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        self.session = None;
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

    browser.close().await;
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
    browser.close().await;
}
