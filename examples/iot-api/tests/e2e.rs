//! The example API end to end: a real Keygate server and the real IoT API, both on random ports,
//! on SQLite and (when `KEYGATE_TEST_DATABASE_URL` is set) on PostgreSQL. An owner gives an API
//! user one device, a team adds another, the public role opens a demo device, and a revocation
//! stops the token, each change reaching the API within about a second.

mod common;

use std::time::{Duration, Instant};

use keygate_testkit::{Keygate, eventually, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

/// How long a change in Keygate may take to reach the API: the client cache's lifetime (1 s),
/// with slack for a loaded machine.
const WITHIN: Duration = Duration::from_secs(2);

on_both_backends!(the_iot_api_follows_keygate:
    the_iot_api_follows_keygate_on_sqlite,
    the_iot_api_follows_keygate_on_postgres
);

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.expect("the IoT API answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        if let Some(t) = token {
            assert!(!text.contains(t), "an answer shows the token: {text}");
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        self.call(token, Method::GET, path, None).await
    }

    /// The status of `DELETE path`.
    async fn delete(&self, token: Option<&str>, path: &str) -> u16 {
        self.call(token, Method::DELETE, path, None).await.0
    }
}

fn ids(list: &Value) -> Vec<&str> {
    list["devices"]
        .as_array()
        .map(|d| d.iter().filter_map(|d| d["id"].as_str()).collect())
        .unwrap_or_default()
}

async fn the_iot_api_follows_keygate(keygate: Keygate) {
    let api = Api {
        base: format!("http://{}", common::spawn_iot_api(&keygate.url).await),
        http: reqwest::Client::new(),
    };

    // The owner makes a role and an API user that holds it on device abc only.
    keygate
        .create_role(
            json!({"name": "gateway", "description": "Reads devices, writes measurements",
                        "permissions": ["devices:read", "measurements:write"]}),
        )
        .await;
    let gateway = keygate
        .create_api_user(json!({"name": "gateway", "roles": ["gateway"], "grants": ["device:abc"]}))
        .await;
    let gateway_id = gateway["id"].as_str().expect("id").to_owned();
    let token = gateway["token"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let token_id = gateway["token"]["id"]
        .as_str()
        .expect("token id")
        .to_owned();
    let t = Some(token.as_str());

    // Device abc: reading it and posting a measurement pass; reading measurements needs a
    // permission the role lacks.
    let (status, device) = api.get(t, "/devices/abc").await;
    assert_eq!(status, 200, "{device}");
    assert_eq!(device["id"], "abc");
    let (status, measurement) = api
        .call(
            t,
            Method::POST,
            "/devices/abc/measurements",
            Some(json!({"value": 21.5, "unit": "°C"})),
        )
        .await;
    assert_eq!(status, 201, "{measurement}");
    assert_eq!(measurement["value"], 21.5);
    assert_eq!(measurement["recorded_by"], gateway_id.as_str());
    let (status, body) = api.get(t, "/devices/abc/measurements").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["permission"], "measurements:read");
    let (status, body) = api
        .call(
            t,
            Method::POST,
            "/devices/abc/measurements",
            Some(json!({"value": "warm"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_body"))
    );

    // Bad input gets a clear JSON error, once the caller is allowed.
    let raw = |method: Method, path: &str| {
        api.http
            .request(method, format!("{}{path}", api.base))
            .header("Authorization", format!("Token {token}"))
    };
    for (request, status, code) in [
        (
            raw(Method::POST, "/devices/abc/measurements")
                .header("Content-Type", "application/json")
                .body("{\"value\": "),
            400,
            "malformed_json",
        ),
        (
            raw(Method::POST, "/devices/abc/measurements").body("21.5"),
            415,
            "unsupported_media_type",
        ),
        (
            raw(Method::POST, "/devices/abc/measurements").json(&json!({"value": 1, "extra": 2})),
            400,
            "invalid_body",
        ),
        (raw(Method::PUT, "/devices/abc"), 405, "method_not_allowed"),
        (raw(Method::GET, "/sensors"), 404, "not_found"),
    ] {
        let response = request.send().await.expect("the IoT API answers");
        assert_eq!(response.status().as_u16(), status);
        let body: Value = response.json().await.expect("a JSON error");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }

    // Device xyz and deleting abc are refused, naming what is missing.
    let (status, body) = api.get(t, "/devices/xyz").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(body["error"]["message"], "missing `device:xyz`");
    let (status, body) = api.call(t, Method::DELETE, "/devices/abc", None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["permission"], "devices:delete");
    assert_eq!(
        api.get(t, "/devices").await.1,
        json!({"devices": [{"id": "abc", "name": "Boiler room thermometer", "measurements": 1}]})
    );

    // A team grant adds device xyz; the next calls pass once the change lands.
    let team = keygate
        .owner(
            Method::POST,
            "/api/v1/workspaces/acme/teams",
            Some(json!({"name": "field", "grants": ["device:xyz"], "members": [gateway_id]})),
            201,
        )
        .await;
    assert_eq!(team["grants"], json!(["device:xyz"]));
    let changed = Instant::now();
    assert!(
        eventually(WITHIN, || async {
            api.get(t, "/devices/xyz").await.0 == 200
        })
        .await,
        "the team's grant did not reach the API within {WITHIN:?}"
    );
    println!("team grant effective after {:?}", changed.elapsed());
    let (status, list) = api.get(t, "/devices").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(ids(&list), ["abc", "xyz"]);
    let (status, _) = api
        .call(
            t,
            Method::POST,
            "/devices/xyz/measurements",
            Some(json!({"value": 7})),
        )
        .await;
    assert_eq!(status, 201);

    // Anonymous callers: refused, until the public role opens devices:read on device:demo.
    let (status, body) = api.get(None, "/devices/demo").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    keygate
        .set_public_role(json!({"permissions": ["devices:read"], "grants": ["device:demo"]}))
        .await;
    assert!(
        eventually(WITHIN, || async {
            api.get(None, "/devices/demo").await.0 == 200
        })
        .await,
        "the public role did not reach the API within {WITHIN:?}"
    );
    assert_eq!(api.get(None, "/devices/abc").await.0, 401);
    assert_eq!(api.get(None, "/devices/demo/measurements").await.0, 401);
    assert_eq!(api.delete(None, "/devices/demo").await, 401);
    let (status, list) = api.get(None, "/devices").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(ids(&list), ["demo"]);
    // The public role applies to the token as well.
    assert_eq!(ids(&api.get(t, "/devices").await.1), ["abc", "demo", "xyz"]);

    // The owner may do everything, deleting included.
    let owner = Some(keygate.owner_token.as_str());
    assert_eq!(api.delete(owner, "/devices/xyz").await, 204);
    let (status, body) = api.get(owner, "/devices/xyz").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );

    // Revoking the token stops it within about a second.
    assert_eq!(api.get(t, "/devices/abc").await.0, 200);
    keygate
        .owner(
            Method::DELETE,
            &format!("/api/v1/workspaces/acme/api-users/{gateway_id}/tokens/{token_id}"),
            None,
            204,
        )
        .await;
    let revoked = Instant::now();
    assert!(
        eventually(WITHIN, || async {
            let (status, body) = api.get(t, "/devices/abc").await;
            status == 401 && body["error"]["code"] == "token_revoked"
        })
        .await,
        "the revoked token still passed after {WITHIN:?}"
    );
    println!("revocation effective after {:?}", revoked.elapsed());
}
