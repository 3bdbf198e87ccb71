//! Black-box tests of the compiled `keygate` binary: `--help` on every command, `migrate`,
//! `bootstrap`, `token ...`, `config check`, and `serve` end to end over SQLite and (with
//! `KEYGATE_TEST_DATABASE_URL`) PostgreSQL, including that no clear token leaks into logs or files.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use keygate_testkit::{Backend, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

/// Longest any one command may take before the test fails instead of hanging.
const COMMAND_DEADLINE: Duration = Duration::from_secs(60);
/// Longest `serve` may take to exit after SIGTERM.
const STOP_DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// What a finished command left behind.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {self:?}"))
    }

    #[track_caller]
    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit status: {self:?}");
        self
    }
}

/// The binary, run in `dir` (so no `keygate.toml` of the developer's is read) and with no
/// `KEYGATE_*` or `RUST_LOG` variable inherited from the environment of the test run.
fn keygate_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keygate"));
    cmd.args(args).current_dir(dir);
    for (name, _) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if name_text.starts_with("KEYGATE_") || name_text == "RUST_LOG" {
            cmd.env_remove(&name);
        }
    }
    cmd
}

/// Runs the binary to completion with `envs` set and `stdin` (if any) written to it; fails the
/// test if it takes longer than `COMMAND_DEADLINE`.
fn run_with(dir: &Path, args: &[&str], envs: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut cmd = keygate_command(dir, args);
    cmd.envs(envs.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn keygate");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input.as_bytes()).expect("write to stdin");
        // Dropping the pipe closes it: the binary sees the end of input.
    }
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let status = wait_bounded(&mut child, COMMAND_DEADLINE)
        .unwrap_or_else(|| panic!("keygate {args:?} did not finish within {COMMAND_DEADLINE:?}"));
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout.join().expect("stdout reader")).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.join().expect("stderr reader")).into_owned(),
    }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    run_with(dir, args, &[], None)
}

/// `keygate --database-url URL` and the words of `command`, run in `dir`.
fn run_on(dir: &Path, url: &str, command: &str) -> Run {
    run_on_with(dir, url, command, None)
}

/// [`run_on`] with `stdin` (if any) written to the binary.
fn run_on_with(dir: &Path, url: &str, command: &str, stdin: Option<&str>) -> Run {
    let mut args = vec!["--database-url", url];
    args.extend(command.split_whitespace());
    run_with(dir, &args, &[], stdin)
}

/// Reads a pipe to its end on a thread.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Waits for the child to exit; on timeout kills it and returns `None`.
fn wait_bounded(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return Some(status);
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("k.db").display())
}

/// A temp dir to run in, and the URL of a SQLite file (not there yet) in it.
struct Sqlite {
    dir: TempDir,
    url: String,
}

fn fresh_sqlite() -> Sqlite {
    let dir = TempDir::new().expect("temp dir");
    let url = sqlite_url(dir.path());
    Sqlite { dir, url }
}

impl Sqlite {
    /// `keygate --database-url URL` and the words of `command`, run in the dir.
    fn run(&self, command: &str) -> Run {
        run_on(self.dir.path(), &self.url, command)
    }

    /// [`Sqlite::run`] with `stdin` (if any) written to the binary.
    fn run_with(&self, command: &str, stdin: Option<&str>) -> Run {
        run_on_with(self.dir.path(), &self.url, command, stdin)
    }
}

/// `bootstrap --json` on `url`; returns the JSON document it printed.
fn bootstrap(dir: &Path, url: &str, email: &str) -> Value {
    let run = run_on(dir, url, &format!("bootstrap --email {email} --json"));
    run.assert_code(0);
    run.json()
}

/// The clear token and the id of a token as `token create --json` and the API answer it.
fn token_and_id(created: &Value) -> (String, String) {
    let token = str_field(created, "/token").to_owned();
    (token, str_field(created, "/id").to_owned())
}

fn str_field<'a>(doc: &'a Value, pointer: &str) -> &'a str {
    doc.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {doc}"))
}

/// Removes ANSI escape sequences (`ESC [ ... final`), which the log formatter may add.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

/// A running `keygate serve`; killed when dropped, so a failed test leaves no process behind.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// Everything the server wrote to standard error so far.
    stderr: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit; returns its status and the
    /// complete standard error.
    fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let kill = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(kill.success(), "kill -TERM {pid} failed");
        let status = wait_bounded(&mut self.child, STOP_DEADLINE)
            .unwrap_or_else(|| panic!("serve did not exit within {STOP_DEADLINE:?} of SIGTERM"));
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stderr reader");
        }
        (status, self.stderr_text())
    }

    fn stderr_text(&self) -> String {
        let bytes = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `keygate --database-url URL serve --bind 127.0.0.1:0` with trace logging, and returns
/// once it logs the address it listens on.
fn spawn_serve(dir: &Path, url: &str) -> Server {
    spawn_serve_with(dir, url, &[("RUST_LOG", "trace")])
}

/// [`spawn_serve`] with `envs` set instead of trace logging.
fn spawn_serve_with(dir: &Path, url: &str, envs: &[(&str, &str)]) -> Server {
    let mut child = keygate_command(
        dir,
        &["--database-url", url, "serve", "--bind", "127.0.0.1:0"],
    )
    .envs(envs.iter().copied())
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn keygate serve");
    let pipe = child.stderr.take().expect("stderr is piped");
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let sink = Arc::clone(&stderr);
    let reader = std::thread::spawn(move || {
        let mut pipe = BufReader::new(pipe);
        let mut line = Vec::new();
        while pipe.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(&line);
            // The receiver is gone once the address is known; keep capturing regardless.
            let _ = lines_tx.send(String::from_utf8_lossy(&line).into_owned());
            line.clear();
        }
    });
    let mut server = Server {
        child,
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        stderr,
        reader: Some(reader),
    };
    let start = Instant::now();
    loop {
        let left = COMMAND_DEADLINE.saturating_sub(start.elapsed());
        let line = match lines_rx.recv_timeout(left) {
            Ok(line) => strip_ansi(&line),
            Err(e) => panic!(
                "serve did not log its address ({e:?}); status {:?}; stderr:\n{}",
                server.child.try_wait(),
                server.stderr_text()
            ),
        };
        if let Some((_, rest)) = line.split_once("listening on http://") {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            server.addr = addr
                .parse()
                .unwrap_or_else(|e| panic!("bad address {addr:?} in {line:?}: {e}"));
            assert_ne!(server.addr.port(), 0, "the log names the port chosen");
            return server;
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("HTTP client")
}

/// Sends the request and returns the status, the `WWW-Authenticate` header and the JSON body
/// (`Null` when empty).
async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Option<String>, Value) {
    let res = req.send().await.expect("request reaches the server");
    let status = res.status();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = res.bytes().await.expect("response body");
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {body:?}"))
    };
    (status, challenge, body)
}

/// The status of `GET path` on `server`.
async fn status_of(client: &reqwest::Client, server: &Server, path: &str) -> StatusCode {
    let res = client.get(server.url(path)).send().await;
    res.expect("request reaches the server").status()
}

/// Requests to a server with one bearer token.
struct Caller<'a> {
    client: &'a reqwest::Client,
    server: &'a Server,
    token: &'a str,
}

impl<'a> Caller<'a> {
    fn new(client: &'a reqwest::Client, server: &'a Server, token: &'a str) -> Self {
        Caller {
            client,
            server,
            token,
        }
    }

    /// `method path`, with `body` as JSON unless it is `null`; answers as [`send`] does.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Option<String>, Value) {
        let request = self.client.request(method, self.server.url(path));
        let request = request.bearer_auth(self.token);
        send(if body.is_null() {
            request
        } else {
            request.json(&body)
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// 1. --help on every command
// ---------------------------------------------------------------------------------------------

/// `keygate ARGS --help` exits 0 and prints the usage line of exactly that command.
fn assert_help(command: &[&str]) {
    let dir = TempDir::new().expect("temp dir");
    let mut args = command.to_vec();
    args.push("--help");
    let run = run(dir.path(), &args);
    run.assert_code(0);
    let usage = format!(
        "Usage: {}",
        ["keygate"]
            .iter()
            .chain(command)
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert!(
        run.stdout.contains(&usage),
        "`{usage}` missing from help: {run:?}"
    );
}

/// `#[test]`s of `assert_help`: `name: [command words];`.
macro_rules! help_tests {
    ($($name:ident: [$($word:literal),*];)*) => {
        $(
            #[test]
            fn $name() {
                assert_help(&[$($word),*]);
            }
        )*
    };
}

help_tests! {
    help_works_at_the_top_level: [];
    help_works_for_serve: ["serve"];
    help_works_for_migrate: ["migrate"];
    help_works_for_bootstrap: ["bootstrap"];
    help_works_for_token: ["token"];
    help_works_for_token_create: ["token", "create"];
    help_works_for_token_list: ["token", "list"];
    help_works_for_token_revoke: ["token", "revoke"];
    help_works_for_token_rotate: ["token", "rotate"];
    help_works_for_config: ["config"];
    help_works_for_config_check: ["config", "check"];
}

#[test]
fn help_works_for_user() {
    for command in ["create", "list", "disable", "enable", "delete"] {
        assert_help(&["user", command]);
    }
    assert_help(&["user"]);
}

// ---------------------------------------------------------------------------------------------
// 2. migrate
// ---------------------------------------------------------------------------------------------

#[test]
fn migrate_creates_a_fresh_sqlite_file_and_says_so() {
    let db = fresh_sqlite();
    let d = db.dir.path();
    let run = db.run("migrate");
    run.assert_code(0);
    assert!(run.stdout.contains("migrations applied"), "{run:?}");
    assert!(d.join("k.db").is_file(), "k.db was not created");
    // Applying them again is a no-op that succeeds.
    db.run("migrate").assert_code(0);
}

// ---------------------------------------------------------------------------------------------
// 3. and 4. bootstrap
// ---------------------------------------------------------------------------------------------

#[test]
fn bootstrap_json_prints_one_document_with_the_user_workspace_and_personal_token() {
    let db = fresh_sqlite();
    let run = db.run("bootstrap --email ada@example.com --workspace acme --json");
    run.assert_code(0);
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "one line of JSON: {}",
        run.stdout
    );
    let doc = run.json();
    assert_eq!(doc["user"]["email"], "ada@example.com");
    assert_eq!(doc["user"]["is_instance_admin"], true);
    assert!(doc["user"]["id"].is_string(), "{doc}");
    assert_eq!(doc["workspace"]["slug"], "acme");
    assert!(doc["workspace"]["id"].is_string(), "{doc}");
    let token = str_field(&doc, "/token");
    assert!(token.starts_with("kgp_"), "{token}");
    assert_eq!(token.len(), 37, "{token}");
    assert!(
        token[4..].chars().all(|c| c.is_ascii_alphanumeric()),
        "base62 body: {token}"
    );
}

#[test]
fn a_second_bootstrap_with_the_same_email_fails_and_prints_no_token() {
    let db = fresh_sqlite();
    let (d, url) = (db.dir.path(), db.url.as_str());
    bootstrap(d, url, "ada@example.com");
    for extra in ["--json", ""] {
        let run = db.run(&format!("bootstrap --email ada@example.com {extra}"));
        run.assert_code(1);
        assert!(
            run.stderr.contains("ada@example.com") && run.stderr.contains("already exists"),
            "{run:?}"
        );
        assert!(!run.stdout.contains("kgp_"), "a token was printed: {run:?}");
    }
}

#[test]
fn bootstrap_text_mode_prints_the_token_exactly_once() {
    let db = fresh_sqlite();
    let run = db.run("bootstrap --email ada@example.com --workspace acme");
    run.assert_code(0);
    assert_eq!(run.stdout.matches("kgp_").count(), 1, "{run:?}");
    let token = run
        .stdout
        .lines()
        .find(|l| l.starts_with("kgp_"))
        .expect("the token on a line of its own");
    assert_eq!(token.len(), 37, "{token}");
    assert!(run.stdout.contains("ada@example.com"), "{run:?}");
    assert!(run.stdout.contains("acme"), "{run:?}");
    assert!(!run.stderr.contains(token), "token in stderr: {run:?}");
}

#[tokio::test]
async fn bootstrap_password_stdin_stores_an_argon2id_hash_not_the_password() {
    let db = fresh_sqlite();
    let url = db.url.as_str();
    let password = "correct horse battery staple";
    let run = db.run_with(
        "bootstrap --email ada@example.com --password-stdin --json",
        Some(&format!("{password}\n")),
    );
    run.assert_code(0);
    assert!(!run.stdout.contains(password) && !run.stderr.contains(password));

    let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=ro"))
        .await
        .expect("open k.db");
    let hashes: Vec<Option<String>> = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_all(&pool)
        .await
        .expect("read users");
    pool.close().await;
    assert_eq!(hashes.len(), 1, "{hashes:?}");
    let hash = hashes[0].as_deref().expect("a password hash is stored");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(password), "{hash}");
}

#[test]
fn bootstrap_refuses_a_password_shorter_than_eight_characters() {
    let db = fresh_sqlite();
    let run = db.run_with(
        "bootstrap --email ada@example.com --password-stdin",
        Some("short\n"),
    );
    run.assert_code(1);
    assert!(!run.stdout.contains("kgp_"), "{run:?}");
    assert!(run.stderr.starts_with("error:"), "{run:?}");
}

// ---------------------------------------------------------------------------------------------
// 5. token create | list | rotate | revoke
// ---------------------------------------------------------------------------------------------

#[test]
fn token_commands_create_list_rotate_and_revoke_a_users_tokens() {
    let db = fresh_sqlite();
    let (d, url) = (db.dir.path(), db.url.as_str());
    let personal = bootstrap(d, url, "ada@example.com");
    let personal_secret = str_field(&personal, "/token").to_owned();

    // create
    let run = db.run("token create --user ada@example.com --name ci --expires-in-days 30 --json");
    run.assert_code(0);
    let created = run.json();
    let (secret, id) = token_and_id(&created);
    assert!(secret.starts_with("kgt_") && secret.len() == 37, "{secret}");
    assert_eq!(created["name"], "ci");
    let expires: DateTime<Utc> = str_field(&created, "/expires_at")
        .parse()
        .expect("expires_at is RFC 3339");
    let days = (expires - Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.0..=30.1).contains(&days), "expires in {days} days");

    // list, JSON: both tokens, never a secret
    let run = db.run("token list --user ada@example.com --json");
    run.assert_code(0);
    let listed = run.json();
    let tokens = listed["tokens"].as_array().expect("a tokens array");
    assert_eq!(tokens.len(), 2, "{listed}");
    assert!(
        tokens.iter().any(|t| t["kind"] == "personal"),
        "personal token listed: {listed}"
    );
    assert!(
        tokens
            .iter()
            .any(|t| t["id"] == id.as_str() && t["name"] == "ci"),
        "ci token listed: {listed}"
    );
    assert!(tokens.iter().all(|t| t.get("token").is_none()), "{listed}");
    assert!(!run.stdout.contains(&secret) && !run.stdout.contains(&personal_secret));
    let ci_hint = tokens
        .iter()
        .find(|t| t["id"] == id.as_str())
        .and_then(|t| t["hint"].as_str())
        .expect("a hint")
        .to_owned();

    // list, text: a table with the hint
    let run = db.run("token list --user ada@example.com");
    run.assert_code(0);
    assert!(run.stdout.starts_with("ID"), "header row: {run:?}");
    assert!(run.stdout.contains("HINT"), "{run:?}");
    assert!(run.stdout.contains(&ci_hint), "hint {ci_hint} in {run:?}");
    assert!(run.stdout.contains(&id), "{run:?}");
    assert!(!run.stdout.contains(&secret) && !run.stdout.contains(&personal_secret));

    // rotate: same id, new secret
    let run = db.run(&format!("token rotate --user ada@example.com {id} --json"));
    run.assert_code(0);
    let rotated = run.json();
    assert_eq!(rotated["id"], id.as_str());
    let new_secret = str_field(&rotated, "/token");
    assert!(new_secret.starts_with("kgt_"), "{new_secret}");
    assert_ne!(new_secret, secret);

    // revoke
    let run = db.run(&format!("token revoke --user ada@example.com {id}"));
    run.assert_code(0);
    assert!(run.stdout.contains(&id), "{run:?}");
    let run = db.run("token list --user ada@example.com --json");
    run.assert_code(0);
    let listed = run.json();
    let ci = listed["tokens"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["id"] == id.as_str()))
        .unwrap_or_else(|| panic!("revoked token still listed: {listed}"));
    assert_eq!(ci["status"], "revoked", "{listed}");
}

#[tokio::test]
async fn user_commands_create_list_disable_enable_and_delete_users() {
    let db = fresh_sqlite();
    let (d, url) = (db.dir.path(), db.url.as_str());
    bootstrap(d, url, "ada@example.com");

    // create, with a password from standard input and a workspace of their own
    let created = db.run_with(
        "user create --email grace@example.com --name Grace --workspace graces --password-stdin --json",
        Some("a long enough password\n"),
    );
    created.assert_code(0);
    let created = created.json();
    assert_eq!(str_field(&created, "/user/email"), "grace@example.com");
    assert_eq!(str_field(&created, "/user/display_name"), "Grace");
    assert_eq!(str_field(&created, "/workspace/slug"), "graces");
    assert_eq!(created["user"]["is_instance_admin"], false);
    let token = str_field(&created, "/personal_token/token").to_owned();
    assert!(token.starts_with("kgp_"));
    let id = str_field(&created, "/user/id").to_owned();

    // In text mode the token is printed exactly once.
    let text = db.run_with("user create --email lin@example.com", None);
    text.assert_code(0);
    assert!(
        text.stdout.contains("Created user lin@example.com"),
        "{text:?}"
    );
    assert_eq!(text.stdout.matches("kgp_").count(), 1, "{text:?}");

    // list, with filters
    let list = db.run_with("user list --json", None);
    list.assert_code(0);
    let list = list.json();
    let emails: Vec<&str> = list["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(
        emails,
        ["ada@example.com", "grace@example.com", "lin@example.com"]
    );
    let found = db.run_with("user list --search GRACE --json", None);
    assert_eq!(found.json()["users"].as_array().map(Vec::len), Some(1));
    let table = db.run_with("user list", None);
    table.assert_code(0);
    assert!(table.stdout.contains("grace@example.com"), "{table:?}");
    assert!(!table.stdout.contains("kgp_"), "{table:?}");

    // disable by email: a server running on the same database refuses the token within a second
    let server = spawn_serve(d, url);
    wait_for_notices(&server);
    let client = http();
    let me = |token: String| {
        client
            .get(server.url("/api/v1/auth/me"))
            .header("Authorization", format!("Token {token}"))
    };
    let until = |expected: StatusCode| {
        let me = &me;
        let token = token.clone();
        async move {
            let start = Instant::now();
            while send(me(token.clone())).await.0 != expected {
                assert!(
                    start.elapsed() < PROPAGATION,
                    "the server does not answer {expected} within {PROPAGATION:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    // Cached as valid first.
    assert_eq!(send(me(token.clone())).await.0, StatusCode::OK);
    db.run_with("user disable grace@example.com", None)
        .assert_code(0);
    until(StatusCode::UNAUTHORIZED).await;
    let disabled = db.run_with("user list --disabled --json", None);
    let disabled = disabled.json();
    assert_eq!(disabled["users"].as_array().map(Vec::len), Some(1));
    assert_eq!(str_field(&disabled, "/users/0/id"), id);

    // enable by id
    let enabled = db.run_with(&format!("user enable {id} --json"), None);
    enabled.assert_code(0);
    assert_eq!(enabled.json()["disabled"], false);
    until(StatusCode::OK).await;

    // delete: refused while Grace is the last owner of her workspace
    let refused = db.run_with("user delete grace@example.com", None);
    refused.assert_code(1);
    assert!(refused.stderr.contains("last owner"), "{refused:?}");
    let deleted = db.run_with("user delete lin@example.com", None);
    deleted.assert_code(0);
    assert!(
        deleted.stdout.contains("Deleted user lin@example.com"),
        "{deleted:?}"
    );
    let unknown = db.run_with("user disable nobody@example.com", None);
    unknown.assert_code(1);
    assert!(unknown.stderr.contains("no user with email"), "{unknown:?}");

    // The operator's changes are in the instance's audit log, by "command line".
    let ada = db.run_with("token create --user ada@example.com --json", None);
    let ada = ada.json();
    let (status, _, log) = send(
        client
            .get(server.url("/api/v1/admin/audit?action=user.disabled"))
            .header(
                "Authorization",
                format!("Token {}", str_field(&ada, "/token")),
            ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(str_field(&log, "/events/0/actor"), "command line", "{log}");
    assert_eq!(log["events"][0]["actor_id"], Value::Null, "{log}");
    server.stop();
}

#[test]
fn token_commands_refuse_an_unknown_user_and_a_malformed_id() {
    let db = fresh_sqlite();
    let (d, url) = (db.dir.path(), db.url.as_str());
    bootstrap(d, url, "ada@example.com");

    let run = db.run("token list --user bob@example.com");
    run.assert_code(1);
    assert!(
        run.stderr.contains("no user with email bob@example.com"),
        "{run:?}"
    );
    let run = db.run("token create --user bob@example.com");
    run.assert_code(1);
    assert!(run.stderr.contains("no user with email"), "{run:?}");
    assert!(!run.stdout.contains("kgt_"), "{run:?}");

    for command in ["revoke", "rotate"] {
        let run = db.run(&format!(
            "token {command} --user ada@example.com not-a-uuid"
        ));
        run.assert_code(2);
        assert!(run.stderr.contains("not-a-uuid"), "{run:?}");
    }
}

#[test]
fn token_create_holds_a_token_to_networks_and_rate_limits() {
    let db = fresh_sqlite();
    let (d, url) = (db.dir.path(), db.url.as_str());
    bootstrap(d, url, "ada@example.com");
    let create = |extra: &[&str]| {
        let mut args = vec![
            "--database-url",
            url,
            "token",
            "create",
            "--user",
            "ada@example.com",
        ];
        args.extend_from_slice(extra);
        run(d, &args)
    };
    let made = create(&[
        "--json",
        "--allowed-ip",
        "10.0.0.0/8",
        "--allowed-ip",
        "2001:db8::/32",
        "--rate-limit",
        "default 100/60",
        "--rate-limit",
        "burst 5/1s",
    ]);
    made.assert_code(0);
    let token = made.json();
    assert_eq!(token["allowed_ips"], json!(["10.0.0.0/8", "2001:db8::/32"]));
    assert_eq!(
        token["rate_limits"],
        json!([
            {"name": "default", "limit": 100, "per_seconds": 60},
            {"name": "burst", "limit": 5, "per_seconds": 1}
        ])
    );
    for bad in [["--rate-limit", "default"], ["--allowed-ip", "10.1.2.3/8"]] {
        let refused = create(&bad);
        refused.assert_code(1);
        assert!(!refused.stdout.contains("kgt_"), "{refused:?}");
        assert!(
            refused.stderr.contains("rate_limits") || refused.stderr.contains("10.0.0.0/8"),
            "{refused:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6. config check
// ---------------------------------------------------------------------------------------------

#[test]
fn config_check_prints_the_defaults() {
    let dir = TempDir::new().expect("temp dir");
    let run = run(dir.path(), &["config", "check"]);
    run.assert_code(0);
    for line in [
        "bind = \"127.0.0.1:8080\"",
        "database_url = \"sqlite://keygate.db\"",
        "token_prefix = \"kg\"",
        "token_pepper = \"[not set]\"",
    ] {
        assert!(run.stdout.contains(line), "`{line}` missing: {run:?}");
    }
    assert!(
        !dir.path().join("keygate.db").exists(),
        "config check must not open the database"
    );
}

#[test]
fn config_check_hides_the_token_pepper() {
    let dir = TempDir::new().expect("temp dir");
    let pepper = "s3cret-pepper-XYZ-20";
    assert_eq!(pepper.len(), 20);
    let run = run_with(
        dir.path(),
        &["config", "check"],
        &[("KEYGATE_TOKEN_PEPPER", pepper)],
        None,
    );
    run.assert_code(0);
    assert!(
        run.stdout.contains("token_pepper = \"[set, hidden]\""),
        "{run:?}"
    );
    assert!(
        !run.stdout.contains(pepper) && !run.stderr.contains(pepper),
        "{run:?}"
    );
}

#[test]
fn config_check_refuses_an_invalid_keygate_toml() {
    for body in ["bnd = \"127.0.0.1:1\"\n", "token_prefix = \"Bad_\"\n"] {
        let dir = TempDir::new().expect("temp dir");
        std::fs::write(dir.path().join("keygate.toml"), body).expect("write keygate.toml");
        let run = run(dir.path(), &["config", "check"]);
        run.assert_code(1);
        assert!(
            run.stderr.contains("invalid configuration"),
            "{body}: {run:?}"
        );
        assert!(!run.stdout.contains("configuration is valid"), "{run:?}");
    }
}

#[test]
fn config_check_refuses_a_missing_config_file() {
    let dir = TempDir::new().expect("temp dir");
    let run = run(dir.path(), &["--config", "missing.toml", "config", "check"]);
    run.assert_code(1);
    assert!(run.stderr.contains("missing.toml"), "{run:?}");
}

#[test]
fn config_precedence_is_flag_then_env_then_file() {
    let dir = TempDir::new().expect("temp dir");
    std::fs::write(
        dir.path().join("keygate.toml"),
        "database_url = \"sqlite://from-file.db\"\n",
    )
    .expect("write keygate.toml");
    let env = [("KEYGATE_DATABASE_URL", "sqlite://from-env.db")];

    let run = run(dir.path(), &["config", "check"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("database_url = \"sqlite://from-file.db\""),
        "{run:?}"
    );

    let run = run_with(dir.path(), &["config", "check"], &env, None);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("database_url = \"sqlite://from-env.db\""),
        "{run:?}"
    );

    let run = run_with(
        dir.path(),
        &["--database-url", "sqlite://from-flag.db", "config", "check"],
        &env,
        None,
    );
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("database_url = \"sqlite://from-flag.db\""),
        "{run:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. and 8. serve end to end
// ---------------------------------------------------------------------------------------------

/// Presents `token` in each accepted way to `/api/v1/auth/me`; every one is a 200 for `email`.
async fn assert_me_for_each_header_form(
    client: &reqwest::Client,
    server: &Server,
    token: &str,
    email: &str,
) {
    let me = server.url("/api/v1/auth/me");
    for (name, value) in [
        ("Authorization", format!("Token {token}")),
        ("Authorization", format!("Bearer {token}")),
        ("API-KEY", token.to_owned()),
        ("api-key", token.to_owned()),
        ("X-API-Key", token.to_owned()),
    ] {
        let (status, _, body) = send(client.get(&me).header(name, &value)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert_eq!(body["user"]["email"], email, "{name}: {body}");
    }
}

/// Asserts a 401 whose error code is `code`, with the `WWW-Authenticate` challenge.
async fn assert_refused(client: &reqwest::Client, server: &Server, token: &str, code: &str) {
    let (status, challenge, body) =
        send(client.get(server.url("/api/v1/auth/me")).bearer_auth(token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let challenge = challenge.expect("a WWW-Authenticate header");
    assert!(
        challenge.starts_with("Token realm=\"keygate\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn serve_on_sqlite_answers_and_stops_on_sigterm_without_leaking_a_token() {
    let db = fresh_sqlite();
    let (d, url) = (db.dir.path(), db.url.as_str());
    let server = spawn_serve(d, url);
    let client = http();

    // A second process writes to the same file while the server runs.
    let boot = bootstrap(d, url, "ada@example.com");
    let personal = str_field(&boot, "/token").to_owned();

    assert_me_for_each_header_form(&client, &server, &personal, "ada@example.com").await;

    let ada = Caller::new(&client, &server, &personal);
    let (status, _, created) = ada
        .call(Method::POST, "/api/v1/tokens", json!({"name": "ci"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (ci, id) = token_and_id(&created);
    assert!(ci.starts_with("kgt_"), "{ci}");
    assert_eq!(created["name"], "ci");

    let rotate = format!("/api/v1/tokens/{id}/rotate");
    let (status, _, rotated) = ada.call(Method::POST, &rotate, Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["id"], id.as_str());
    let ci_rotated = str_field(&rotated, "/token").to_owned();
    assert_ne!(ci_rotated, ci);
    assert_refused(&client, &server, &ci, "invalid_token").await;
    assert_me_for_each_header_form(&client, &server, &ci_rotated, "ada@example.com").await;

    let token_path = format!("/api/v1/tokens/{id}");
    let (status, _, body) = ada.call(Method::DELETE, &token_path, Value::Null).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_refused(&client, &server, &ci_rotated, "token_revoked").await;

    let (status, _, body) =
        send(client.get(server.url(&format!("/api/v1/auth/me?api_token={personal}")))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "query_token_not_allowed", "{body}");

    for path in ["/healthz", "/readyz"] {
        let status = status_of(&client, &server, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }

    let (status, stderr) = server.stop();
    assert!(
        status.success(),
        "serve exited with {status}; stderr:\n{stderr}"
    );
    let plain = strip_ansi(&stderr);
    assert!(plain.contains("listening on http://"), "{plain}");
    // The leak checks below mean something only if the logs are verbose and cover the request
    // that carried a token in its URL.
    assert!(
        plain.contains("sqlx::query"),
        "trace logs include SQL statements"
    );
    assert!(
        plain.contains("/api/v1/auth/me?[query]"),
        "the request with a URL token is logged, without its query string"
    );

    let mut files = Vec::new();
    for name in ["k.db", "k.db-wal", "k.db-shm"] {
        if let Ok(bytes) = std::fs::read(d.join(name)) {
            files.push((name, bytes));
        }
    }
    assert!(files.iter().any(|(n, _)| *n == "k.db"), "k.db exists");
    for secret in [&personal, &ci, &ci_rotated] {
        assert!(
            !stderr.contains(secret.as_str()) && !plain.contains(secret.as_str()),
            "a clear token is in the server's stderr"
        );
        for (name, bytes) in &files {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a clear token is in {name}"
            );
        }
    }
}

/// The request lines (the access log) `serve` wrote to standard error.
fn request_lines(stderr: &str) -> Vec<String> {
    strip_ansi(stderr)
        .lines()
        .filter(|line| line.contains("keygate::access"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn serve_writes_request_lines_only_when_the_access_log_is_turned_on() {
    let db = fresh_sqlite();
    let (d, url) = (db.dir.path(), db.url.as_str());
    let client = http();
    let path = "/api/v1/auth/me?api_token=kgp_not_a_real_token";

    // The default log setting (`info`): no request line.
    let server = spawn_serve_with(d, url, &[]);
    let (status, _, body) = send(client.get(server.url(path))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, stderr) = server.stop();
    assert!(status.success(), "serve exited with {status}:\n{stderr}");
    let plain = strip_ansi(&stderr);
    assert!(plain.contains("listening on http://"), "{plain}");
    assert_eq!(request_lines(&stderr), Vec::<String>::new(), "{plain}");
    assert!(!plain.contains("/api/v1/auth/me"), "{plain}");

    // The access log turned on: one line for the one request, without its query string.
    let server = spawn_serve_with(d, url, &[("KEYGATE_LOG", "info,keygate::access=debug")]);
    let (status, _, body) = send(client.get(server.url(path))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, stderr) = server.stop();
    assert!(status.success(), "serve exited with {status}:\n{stderr}");
    let lines = request_lines(&stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(line.contains("DEBUG"), "{line}");
    assert!(line.contains("method=GET"), "{line}");
    assert!(line.contains("uri=/api/v1/auth/me?[query]"), "{line}");
    assert!(line.contains("status=400"), "{line}");
    assert!(line.contains("latency_us="), "{line}");
    assert!(!stderr.contains("api_token"), "{stderr}");
    assert!(!stderr.contains("kgp_not_a_real_token"), "{stderr}");
}

/// The decision paths, answered by the front door without the router, are logged as every other
/// path is when the access log is on.
#[tokio::test]
async fn the_decision_paths_have_request_lines_when_the_access_log_is_on() {
    let db = fresh_sqlite();
    let (d, url) = (db.dir.path(), db.url.as_str());
    let client = http();
    let server = spawn_serve_with(d, url, &[("KEYGATE_LOG", "info,keygate::access=debug")]);
    let (status, _, body) = send(
        client
            .post(server.url("/api/v1/verify"))
            .json(&json!({"token": "kgt_not_a_real_token"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send(
        client
            .get(server.url("/auth/forward"))
            .header("X-Forwarded-Uri", "/nowhere"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) = send(client.get(server.url("/healthz"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, stderr) = server.stop();
    assert!(status.success(), "serve exited with {status}:\n{stderr}");
    let lines = request_lines(&stderr);
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (line, (method, uri, status)) in lines.iter().zip([
        ("POST", "/api/v1/verify", 200),
        ("GET", "/auth/forward", 403),
        ("GET", "/healthz", 200),
    ]) {
        assert!(line.contains(&format!("method={method}")), "{line}");
        assert!(line.contains(&format!("uri={uri}")), "{line}");
        assert!(line.contains(&format!("status={status}")), "{line}");
    }
    assert!(!stderr.contains("kgt_not_a_real_token"), "{stderr}");
}

#[tokio::test]
async fn serve_on_postgres_answers_and_stops_on_sigterm() {
    on_fresh_postgres(postgres_flow).await;
}

/// Runs `flow` on the URL of a fresh PostgreSQL database, dropped afterwards even when the flow
/// fails; says it skipped without `KEYGATE_TEST_DATABASE_URL`.
async fn on_fresh_postgres<F, Fut>(flow: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // The database is dropped with `_db`, when the flow ends or unwinds.
    let Some((_db, url)) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    flow(url).await;
}

async fn postgres_flow(url: String) {
    let dir = TempDir::new().expect("temp dir");
    let d = dir.path();
    let run = run_on(d, &url, "migrate");
    run.assert_code(0);
    assert!(run.stdout.contains("migrations applied"), "{run:?}");
    let boot = bootstrap(d, &url, "ada@example.com");
    let personal = str_field(&boot, "/token").to_owned();

    let server = spawn_serve(d, &url);
    let client = http();
    let ada = Caller::new(&client, &server, &personal);
    assert_me_for_each_header_form(&client, &server, &personal, "ada@example.com").await;

    let (status, _, created) = ada
        .call(Method::POST, "/api/v1/tokens", json!({"name": "ci"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (ci, id) = token_and_id(&created);
    assert_me_for_each_header_form(&client, &server, &ci, "ada@example.com").await;

    let token_path = format!("/api/v1/tokens/{id}");
    let (status, _, body) = ada.call(Method::DELETE, &token_path, Value::Null).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_refused(&client, &server, &ci, "token_revoked").await;

    let ready = status_of(&client, &server, "/readyz").await;
    assert_eq!(ready, StatusCode::OK);

    let (status, stderr) = server.stop();
    assert!(
        status.success(),
        "serve exited with {status}; stderr:\n{stderr}"
    );
    for secret in [&personal, &ci] {
        assert!(
            !stderr.contains(secret.as_str()),
            "a clear token is in the server's stderr"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Two nodes on one PostgreSQL: a change on one reaches the other's cache within a second
// ---------------------------------------------------------------------------------------------

/// How soon another node must refuse what a change took away (SPEC §2, §6).
const PROPAGATION: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgresql_see_each_others_changes_within_a_second() {
    on_fresh_postgres(cluster_flow).await;
}

/// Waits (bounded) until the server says it receives other nodes' change notices.
fn wait_for_notices(server: &Server) {
    let start = Instant::now();
    while !strip_ansi(&server.stderr_text()).contains("change notices connected") {
        assert!(
            start.elapsed() < COMMAND_DEADLINE,
            "no change notices: {}",
            server.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn verify_on(client: &reqwest::Client, server: &Server, body: Value) -> Value {
    let (status, _, answer) = send(client.post(server.url("/api/v1/verify")).json(&body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

/// Asks `server` until the answer's code is `code`, for at most [`PROPAGATION`]; returns how
/// long it took.
async fn until_code(
    client: &reqwest::Client,
    server: &Server,
    body: Value,
    code: &str,
) -> Duration {
    let start = Instant::now();
    loop {
        let answer = verify_on(client, server, body.clone()).await;
        if answer["code"] == code {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < PROPAGATION,
            "node B still answers {answer} after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn cluster_flow(url: String) {
    let dir = TempDir::new().expect("temp dir");
    let d = dir.path();
    run_on(d, &url, "migrate").assert_code(0);
    let boot = bootstrap(d, &url, "ada@example.com");
    let owner = str_field(&boot, "/token").to_owned();
    let a = spawn_serve(d, &url);
    let b = spawn_serve(d, &url);
    wait_for_notices(&a);
    wait_for_notices(&b);
    let client = http();
    let on_a = |method: reqwest::Method, path: &str| {
        client
            .request(method, a.url(path))
            .header("Authorization", format!("Token {owner}"))
    };

    // On node A: a workspace, a role, an API user holding it, and a user token.
    let (status, _, _) =
        send(on_a(reqwest::Method::POST, "/api/v1/workspaces").json(&json!({"slug": "acme"})))
            .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = send(
        on_a(reqwest::Method::POST, "/api/v1/workspaces/acme/roles")
            .json(&json!({"name": "device-reader", "permissions": ["devices:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, api_user) = send(
        on_a(reqwest::Method::POST, "/api/v1/workspaces/acme/api-users")
            .json(&json!({"name": "gateway", "roles": ["device-reader"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{api_user}");
    let api_token = str_field(&api_user, "/token/token").to_owned();
    let api_user_id = str_field(&api_user, "/id").to_owned();
    let (status, _, created) =
        send(on_a(reqwest::Method::POST, "/api/v1/tokens").json(&json!({"name": "ci"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (user_token, user_token_id) = token_and_id(&created);

    let token_question = json!({"token": user_token});
    let device_question = json!({"token": api_token, "workspace": "acme", "permission": "devices:read", "resource": "device:1"});
    let public_question = json!({"workspace": "acme", "permission": "devices:read"});
    // Warm both nodes' caches.
    for server in [&a, &b] {
        assert_eq!(
            verify_on(&client, server, token_question.clone()).await["code"],
            "ok"
        );
        assert_eq!(
            verify_on(&client, server, device_question.clone()).await["code"],
            "ok"
        );
        assert_eq!(
            verify_on(&client, server, public_question.clone()).await["code"],
            "forbidden"
        );
    }

    // A revocation on A reaches B.
    let (status, _, _) = send(on_a(
        reqwest::Method::DELETE,
        &format!("/api/v1/tokens/{user_token_id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let took = until_code(&client, &b, token_question, "token_revoked").await;
    println!("revocation reached node B in {took:?}");

    // Taking a role away on A reaches B.
    let (status, _, _) = send(
        on_a(
            reqwest::Method::PATCH,
            &format!("/api/v1/workspaces/acme/api-users/{api_user_id}"),
        )
        .json(&json!({"roles": []})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let took = until_code(&client, &b, device_question, "forbidden").await;
    println!("role removal reached node B in {took:?}");

    // Opening the public role on A reaches B.
    let (status, _, _) = send(
        on_a(reqwest::Method::PUT, "/api/v1/workspaces/acme/roles/public")
            .json(&json!({"permissions": ["devices:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let took = until_code(&client, &b, public_question, "ok").await;
    println!("public role change reached node B in {took:?}");

    // Disabling a user on A reaches B; so does deleting one.
    for (email, action) in [
        ("grace@example.com", "disable"),
        ("lin@example.com", "delete"),
    ] {
        let (status, _, created) =
            send(on_a(reqwest::Method::POST, "/api/v1/admin/users").json(&json!({"email": email})))
                .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let question = json!({"token": str_field(&created, "/personal_token/token")});
        let user = str_field(&created, "/user/id").to_owned();
        assert_eq!(verify_on(&client, &b, question.clone()).await["code"], "ok");
        let (method, path) = match action {
            "disable" => (
                reqwest::Method::POST,
                format!("/api/v1/admin/users/{user}/disable"),
            ),
            _ => (
                reqwest::Method::DELETE,
                format!("/api/v1/admin/users/{user}"),
            ),
        };
        let (status, _, body) = send(on_a(method, &path)).await;
        assert!(status.is_success(), "{action}: {status} {body}");
        let took = until_code(&client, &b, question, "invalid_token").await;
        println!("user {action} reached node B in {took:?}");
    }

    for server in [a, b] {
        let (status, _) = server.stop();
        assert!(status.success());
    }
}

// ---------------------------------------------------------------------------------------------
// 10. The command line beside a running server on one SQLite file
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_from_the_command_line_reaches_a_running_server_within_a_second() {
    let db = fresh_sqlite();
    let (d, url) = (db.dir.path(), db.url.as_str());
    db.run("migrate").assert_code(0);
    bootstrap(d, url, "ada@example.com");
    let created = db.run("token create --user ada@example.com --json");
    created.assert_code(0);
    let created = created.json();
    let (token, id) = token_and_id(&created);
    let server = spawn_serve(d, url);
    wait_for_notices(&server);
    let client = http();
    let question = json!({ "token": token });
    // Cached on the server.
    assert_eq!(
        verify_on(&client, &server, question.clone()).await["code"],
        "ok"
    );
    db.run(&format!("token revoke --user ada@example.com {id}"))
        .assert_code(0);
    let took = until_code(&client, &server, question, "token_revoked").await;
    println!("a command-line revocation reached the server in {took:?}");
    let (status, _) = server.stop();
    assert!(status.success());
}

// ---------------------------------------------------------------------------------------------
// token check
// ---------------------------------------------------------------------------------------------

#[test]
fn token_check_tells_a_well_formed_token_offline_and_says_what_is_wrong_otherwise() {
    let db = fresh_sqlite();
    let d = db.dir.path();
    let url = sqlite_url(d);
    let boot = bootstrap(d, &url, "check@example.com");
    let token = str_field(&boot, "/token").to_owned();
    // No database is opened: a missing one is not created.
    let offline = tempfile::tempdir().expect("dir");
    let run = run(offline.path(), &["token", "check", &token]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("well-formed Keygate token: kind personal (kgp_)"),
        "{run:?}"
    );
    assert!(!run.stdout.contains(&token[8..]), "{run:?}");
    assert_eq!(std::fs::read_dir(offline.path()).expect("dir").count(), 0);
    let mut changed = token.clone();
    let last = changed.pop().expect("a character");
    changed.push(if last == 'a' { 'b' } else { 'a' });
    for (bad, why) in [
        (changed.as_str(), "checksum"),
        ("kgt_short", "length"),
        ("ghp_0123456789012345678901234567890123456", "prefix"),
    ] {
        let run = run_in(offline.path(), bad);
        run.assert_code(1);
        assert!(run.stdout.contains(why), "{bad}: {run:?}");
    }
}

fn run_in(dir: &Path, token: &str) -> Run {
    run(dir, &["token", "check", token])
}

#[tokio::test]
async fn user_create_with_a_password_link_prints_a_link_that_sets_the_password_once() {
    let db = fresh_sqlite();
    let (d, url) = (db.dir.path(), db.url.as_str());
    bootstrap(d, url, "ada@example.com");
    let created = db.run_with(
        "user create --email kim@example.com --password-link --json",
        None,
    );
    created.assert_code(0);
    let created = created.json();
    let link = str_field(&created, "/password_link/url").to_owned();
    assert!(
        link.starts_with("http://127.0.0.1:8080/password/"),
        "{link}"
    );
    assert!(created["password_link"]["expires_at"].is_string());
    // In text mode the link is printed, once, after the token.
    let text = db.run_with("user create --email lee@example.com --password-link", None);
    text.assert_code(0);
    assert_eq!(text.stdout.matches("/password/").count(), 1, "{text:?}");
    // A password from standard input and a link are one or the other.
    let both = db.run_with(
        "user create --email both@example.com --password-link --password-stdin",
        Some("a long enough password\n"),
    );
    both.assert_code(2);

    // The link's code sets the password, once, on a running server.
    let code = link.rsplit('/').next().expect("code").to_owned();
    let server = spawn_serve(d, url);
    let client = http();
    let set = |password: &str| {
        client
            .post(server.url(&format!("/api/v1/password-links/{code}")))
            .json(&json!({"password": password}))
    };
    assert_eq!(send(set("kim's long password")).await.0, StatusCode::OK);
    assert_ne!(send(set("another long password")).await.0, StatusCode::OK);
    server.stop();
}
