//! The forward-auth setup of docs/guard-your-api.md, run for real: nginx with
//! `examples/iot-api/nginx.conf` in front of the example API, asking a Keygate that loaded the
//! route rules of `examples/iot-api/keygate.toml`. Skipped when nginx is not installed.

mod common;

use std::path::Path;
use std::time::Duration;

use keygate::config::{Config, ForwardAuthHeaders, Overrides};
use keygate_testkit::proxy::{nginx, replaced, start_nginx};
use keygate_testkit::{Backend, eventually, spawn_keygate_with};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn nginx_guards_the_iot_api_with_route_rules() {
    if nginx().is_none() {
        println!("skipped: nginx is not installed");
        return;
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = Config::load(Some(&here.join("keygate.toml")), &Overrides::default())
        .expect("keygate.toml loads");
    assert_eq!(
        loaded.route.len(),
        5,
        "one rule per route of the example API"
    );
    assert_eq!(loaded.forward_auth_headers, ForwardAuthHeaders::XOriginal);
    let keygate = spawn_keygate_with(Backend::Sqlite, |config| {
        config.route = loaded.route;
        config.forward_auth_headers = loaded.forward_auth_headers;
    })
    .await
    .expect("SQLite is always available");

    // The example API on a random port.
    let api_addr = common::spawn_iot_api(&keygate.url).await;

    // nginx with the documented server block, pointed at both.
    let site = std::fs::read_to_string(here.join("nginx.conf")).expect("nginx.conf");
    let keygate_addr = keygate.url.trim_start_matches("http://");
    let site = |port| {
        let site = replaced(
            &site,
            "server 127.0.0.1:8080;",
            &format!("server {keygate_addr};"),
        );
        let site = replaced(
            &site,
            "server 127.0.0.1:8090;",
            &format!("server {api_addr};"),
        );
        replaced(
            &site,
            "listen 127.0.0.1:8000;",
            &format!("listen 127.0.0.1:{port};"),
        )
    };
    let nginx = start_nginx(site).await.expect("nginx is installed");
    let (base, port) = (nginx.base.clone(), nginx.port);
    let http = reqwest::Client::new();

    // An API user with devices:read and measurements:write on device abc.
    keygate.create_role(json!({"name": "sensor-gateway", "permissions": ["devices:read", "measurements:write"]})).await;
    let sensor = keygate
        .create_api_user(
            json!({"name": "sensor-1", "roles": ["sensor-gateway"], "grants": ["device:abc"]}),
        )
        .await;
    let token = sensor["token"]["token"].as_str().expect("token").to_owned();

    let status = |method: Method, path: &str, with_token: bool| {
        let mut request = http.request(method.clone(), format!("{base}{path}"));
        if with_token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if method == Method::POST {
            request = request.json(&json!({"value": 20.0}));
        }
        async move {
            let response = request.send().await.expect("nginx answers");
            (
                response.status().as_u16(),
                response
                    .headers()
                    .get("www-authenticate")
                    .map(|v| v.to_str().unwrap_or_default().to_owned()),
            )
        }
    };
    for (method, path, expected) in [
        (Method::GET, "/devices/abc", 200),
        (Method::POST, "/devices/abc/measurements", 201),
        (Method::GET, "/devices", 200),
        (Method::GET, "/devices/xyz", 403),
        (Method::DELETE, "/devices/abc", 403),
        (Method::GET, "/devices/abc/measurements", 403),
        // No rule: refused by Keygate before the API sees it.
        (Method::PUT, "/devices/abc", 403),
        (Method::GET, "/elsewhere", 403),
    ] {
        let (got, _) = status(method.clone(), path, true).await;
        assert_eq!(got, expected, "{method} {path}");
    }
    // A client naming another method or path in proxy headers is judged by what it does.
    let forged = http
        .delete(format!("{base}/devices/abc"))
        .header("Authorization", format!("Bearer {token}"))
        .header("X-Forwarded-Method", "GET")
        .header("X-Forwarded-Uri", "/devices/abc")
        .header("X-Original-Method", "GET")
        .header("X-Original-URI", "/devices/abc")
        .send()
        .await
        .expect("nginx answers");
    assert_eq!(forged.status().as_u16(), 403, "forged DELETE");

    let (got, challenge) = status(Method::GET, "/devices/abc", false).await;
    assert_eq!(got, 401);
    assert_eq!(challenge.as_deref(), Some(r#"Token realm="keygate""#));
    assert_eq!(status(Method::GET, "/devices/demo", false).await.0, 401);

    keygate
        .set_public_role(json!({"permissions": ["devices:read"], "grants": ["device:demo"]}))
        .await;
    // Keygate applies the change at once; the API's own cache may hold the refusal a second.
    let opened = eventually(Duration::from_secs(2), || async {
        status(Method::GET, "/devices/demo", false).await.0 == 200
    })
    .await;
    assert!(opened, "the public role did not open device demo");
    assert_eq!(status(Method::GET, "/devices/abc", false).await.0, 401);

    // Paths with `.` or `..` segments never reach Keygate's rules. Sent as raw bytes: an HTTP
    // client would resolve the segments itself.
    for path in [
        "/devices/demo/../abc",
        "/devices/demo/%2e%2e/abc",
        "/devices/./abc",
    ] {
        assert_eq!(raw_status(port, path).await, 400, "{path}");
    }
}

/// The status nginx answers to `GET {path}`, sent exactly as written.
async fn raw_status(port: u16, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to nginx");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .expect("read the answer");
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"))
}
