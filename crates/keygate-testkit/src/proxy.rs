//! Reverse proxies in front of a Keygate for the forward-auth tests: nginx (and any other proxy
//! binary) started on a free port of 127.0.0.1 with its files in a temp dir, and stopped when the
//! test ends, passed or failed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian and a hand build put nginx.
const NGINX: [&str; 3] = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"];

/// The first of `candidates` that exists.
pub fn find_binary(candidates: &[&'static str]) -> Option<&'static str> {
    candidates.iter().copied().find(|p| Path::new(p).exists())
}

/// The nginx binary, where installed.
pub fn nginx() -> Option<&'static str> {
    find_binary(&NGINX)
}

/// A port of 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// `text` with `from` replaced by `to`, which must occur (a documented configuration that no
/// longer has what a test points elsewhere fails the test).
pub fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the configuration no longer has {from:?}"
    );
    text.replace(from, to)
}

/// A proxy process listening on `base`; killed when dropped.
pub struct Proxy {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub port: u16,
    /// The temp dir holding the proxy's configuration, logs and state.
    pub dir: tempfile::TempDir,
    log_file: PathBuf,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    /// Spawns `command` (a proxy that will listen on `port`, keeping its files in `dir` and its
    /// log in `log_file`) and waits until the port accepts connections; fails the test, with
    /// the log, if that takes more than 15 seconds.
    pub async fn start(
        command: &mut Command,
        dir: tempfile::TempDir,
        port: u16,
        log_file: PathBuf,
    ) -> Proxy {
        let child = command.spawn().expect("start the proxy");
        let proxy = Proxy {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            log_file,
        };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the proxy did not start: {}",
                proxy.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        proxy
    }

    /// What the proxy has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }
}

/// nginx with `site(port)` (server blocks) in its `http` block, or `None` when nginx is not
/// installed.
pub async fn start_nginx(site: impl FnOnce(u16) -> String) -> Option<Proxy> {
    let nginx = nginx()?;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let d = dir.path().display().to_string();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         {}\n}}\n",
        site(port)
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("write nginx.conf");
    let log_file = dir.path().join("error.log");
    let mut command = Command::new(nginx);
    command
        .args(["-c", &conf_path.display().to_string(), "-p", &d])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Some(Proxy::start(&mut command, dir, port, log_file).await)
}

/// An nginx server block on 127.0.0.1:`port` that asks Keygate at `keygate` about every request
/// (`auth_request` to `/auth/forward`) before passing it to `upstream`. The subrequest sets the
/// headers `forward` (`"X-Original-Method $request_method"`, ...); the upstream gets each of
/// `keygate_headers` (`"X-Keygate-User"`, ...) from Keygate's answer.
pub fn nginx_auth_request_site(
    port: u16,
    keygate: SocketAddr,
    upstream: SocketAddr,
    forward: &[&str],
    keygate_headers: &[&str],
) -> String {
    let forward: String = forward
        .iter()
        .map(|header| format!("\n        proxy_set_header {header};"))
        .collect();
    let mut answers = String::new();
    let mut passed = String::new();
    for header in keygate_headers {
        let variable = header.to_ascii_lowercase().replace('-', "_");
        answers.push_str(&format!(
            "\n        auth_request_set ${variable} $upstream_http_{variable};"
        ));
        passed.push_str(&format!("\n        proxy_set_header {header} ${variable};"));
    }
    format!(
        r#"server {{
    listen 127.0.0.1:{port};
    location = /_keygate {{
        internal;
        proxy_pass http://{keygate}/auth/forward;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";{forward}
    }}
    location / {{
        auth_request /_keygate;{answers}{passed}
        proxy_pass http://{upstream};
    }}
}}"#
    )
}
