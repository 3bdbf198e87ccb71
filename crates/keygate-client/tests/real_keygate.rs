//! The client layer against a real Keygate server, on SQLite and (when
//! `KEYGATE_TEST_DATABASE_URL` is set) on PostgreSQL.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use keygate_client::{Guard, Identity, Question, Verifier};
use keygate_testkit::{Keygate, eventually, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(guards_answer_from_keygate_decisions:
    guards_answer_from_keygate_decisions_on_sqlite,
    guards_answer_from_keygate_decisions_on_postgres
);

async fn whoami(identity: Identity) -> axum::Json<Value> {
    axum::Json(json!({
        "user": identity.user_id(),
        "kind": identity.user.as_ref().map(|u| u.kind.clone()),
        "workspace": identity.workspace.as_ref().map(|w| w.slug.clone()),
        "token_id": identity.token_id,
        "permissions": identity.permissions,
    }))
}

async fn guarded_api(verifier: Verifier) -> String {
    let router = Router::new().route(
        "/devices/{id}",
        get(whoami)
            .route_layer(Guard::new(verifier.clone(), "devices:read").resource("device:{id}"))
            .merge(
                axum::routing::delete(whoami)
                    .route_layer(Guard::new(verifier, "devices:delete").resource("device:{id}")),
            ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

async fn status_and_body(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn guards_answer_from_keygate_decisions(keygate: Keygate) {
    keygate
        .create_role(json!({"name": "device-reader", "permissions": ["devices:read"]}))
        .await;
    let api_user = keygate
        .create_api_user(
            json!({"name": "gateway", "roles": ["device-reader"], "grants": ["device:abc"]}),
        )
        .await;
    let token = api_user["token"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let token_id = api_user["token"]["id"]
        .as_str()
        .expect("token id")
        .to_owned();
    let user_id = api_user["id"].as_str().expect("user id").to_owned();

    let verifier = Verifier::builder(&keygate.url)
        .workspace("acme")
        .build()
        .expect("verifier");
    let api = guarded_api(verifier.clone()).await;
    let http = reqwest::Client::new();
    let as_gateway = |method: Method, path: &str| {
        http.request(method, format!("{api}{path}"))
            .header("Authorization", format!("Bearer {token}"))
    };

    // Allowed, with the identity Keygate knows.
    let (status, body) = status_and_body(as_gateway(Method::GET, "/devices/abc")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"], user_id.as_str());
    assert_eq!(body["kind"], "api");
    assert_eq!(body["workspace"], "acme");
    assert_eq!(body["token_id"], token_id.as_str());
    assert_eq!(body["permissions"], json!(["devices:read"]));

    // Another device, another permission, no token, a token Keygate does not know.
    let (status, body) = status_and_body(as_gateway(Method::GET, "/devices/xyz")).await;
    assert_eq!(
        (status, &body["error"]["message"]),
        (403, &json!("missing `device:xyz`"))
    );
    let (status, body) = status_and_body(as_gateway(Method::DELETE, "/devices/abc")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["permission"], "devices:delete");
    let (status, body) = status_and_body(http.get(format!("{api}/devices/abc"))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (status, body) = status_and_body(
        http.get(format!("{api}/devices/abc"))
            .header("X-API-Key", "kga_notARealTokenAtAll000000000000000"),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_token"))
    );

    // A workspace the token's user is not in.
    let elsewhere = verifier
        .verify(Question {
            token: Some(&token),
            workspace: Some("nowhere"),
            permission: Some("devices:read"),
            ..Question::default()
        })
        .await
        .expect("a decision");
    assert_eq!(elsewhere.code, keygate_client::Code::NotAMember);

    // A permission Keygate cannot parse is the caller's 400, not a 503.
    let bad = verifier
        .verify(Question {
            token: Some(&token),
            permission: Some("not a permission"),
            ..Question::default()
        })
        .await;
    assert!(
        matches!(bad, Err(keygate_client::VerifyError::BadQuestion { .. })),
        "{bad:?}"
    );

    // Revoked: the API refuses the token within about a second (the client cache's default
    // lifetime), with some slack for a loaded machine.
    keygate
        .owner(
            Method::DELETE,
            &format!("/api/v1/workspaces/acme/api-users/{user_id}/tokens/{token_id}"),
            None,
            204,
        )
        .await;
    let refused = eventually(Duration::from_secs(2), || async {
        let (status, body) = status_and_body(as_gateway(Method::GET, "/devices/abc")).await;
        status == 401 && body["error"]["code"] == "token_revoked"
    })
    .await;
    assert!(refused, "a revoked token still passes");
}
