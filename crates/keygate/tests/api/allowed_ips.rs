//! Where a token may be used from: allow-lists of networks on tokens and on API users (for all
//! their tokens), judged on REST, GraphQL and `verify` (with the `client_ip` the asking service
//! gives), changed at once on every node, and never widened through a side door.
//!
//! Every loopback address (127.0.0.0/8) is this machine's, so a client bound to 127.0.0.2 and
//! one bound to 127.0.0.3 are two real clients at two addresses.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_error, backend_tests, error_message, send, spawn_app_with,
};

backend_tests!(
    a_token_is_refused_from_outside_its_allow_list_on_rest_graphql_and_verify,
    an_api_users_list_holds_all_its_tokens_and_theirs_must_lie_within_it,
    an_allow_listed_token_cannot_hand_out_a_token_that_works_elsewhere,
    another_users_token_and_a_scoped_tokens_sibling_cannot_be_changed,
    a_member_without_api_users_manage_cannot_lift_an_api_users_limits,
    a_change_reaches_a_second_node_within_a_second,
    graphql_reads_and_sets_allow_lists,
    malformed_and_oversized_lists_are_refused_with_the_field_named,
    an_api_users_own_token_cannot_shed_its_allow_list_through_the_api_user_routes,
    an_admins_allow_listed_token_cannot_issue_itself_an_unrestricted_one,
);

/// A client whose requests come from `ip` (a loopback address).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("address"))
        .build()
        .expect("client")
}

/// `method path` with `token`, from `ip`.
fn from(app: &TestApp, ip: &str, token: &str, method: Method, path: &str) -> RequestBuilder {
    client_from(ip)
        .request(method, app.url(path))
        .header("Authorization", format!("Token {token}"))
}

async fn me_from(app: &TestApp, ip: &str, token: &str) -> (StatusCode, Value) {
    send(from(app, ip, token, Method::GET, "/api/v1/auth/me")).await
}

fn token_of(created: &Value) -> String {
    created["token"].as_str().expect("token").to_owned()
}

async fn a_token_is_refused_from_outside_its_allow_list_on_rest_graphql_and_verify(app: TestApp) {
    let created = app
        .create_token(json!({"name": "office", "allowed_ips": ["127.0.0.2", "2001:db8::/32"]}))
        .await;
    assert_eq!(
        created["allowed_ips"],
        json!(["127.0.0.2/32", "2001:db8::/32"])
    );
    let token = token_of(&created);

    // REST: from the listed address, the caller; from another, 403 naming that address.
    assert_eq!(me_from(&app, "127.0.0.2", &token).await.0, StatusCode::OK);
    let refused = me_from(&app, "127.0.0.3", &token).await;
    assert_error(&refused, StatusCode::FORBIDDEN, "ip_not_allowed");
    assert!(
        error_message(&refused).contains("127.0.0.3"),
        "{}",
        refused.1
    );
    let challenged = from(&app, "127.0.0.3", &token, Method::GET, "/api/v1/auth/me")
        .send()
        .await
        .expect("send");
    assert!(
        challenged.headers().get("www-authenticate").is_none(),
        "a right secret from the wrong place is not asked to authenticate again"
    );

    // GraphQL: the same refusal, not an anonymous request.
    let query = json!({"query": "{ user { id } }"});
    let (status, body) =
        send(from(&app, "127.0.0.3", &token, Method::POST, "/graphql").json(&query)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "IP_NOT_ALLOWED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("127.0.0.3"))
    );
    let (status, body) =
        send(from(&app, "127.0.0.2", &token, Method::POST, "/graphql").json(&query)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user"]["id"], app.owner.id.to_string());

    // verify: the client's address as the asking service reports it.
    let ask = |client_ip: Option<&str>| {
        let mut q = json!({"token": token, "workspace": "acme", "permission": "devices:read"});
        if let Some(ip) = client_ip {
            q["client_ip"] = json!(ip);
        }
        q
    };
    let inside = app.verify(ask(Some("127.0.0.2"))).await;
    assert_eq!(
        (inside["code"].as_str(), inside["ip_checked"].as_bool()),
        (Some("ok"), Some(true))
    );
    let inside_v6 = app.verify(ask(Some("2001:db8:7::1"))).await;
    assert_eq!(inside_v6["code"], "ok");
    let outside = app.verify(ask(Some("198.51.100.9"))).await;
    assert_eq!(outside["valid"], false);
    assert_eq!(outside["code"], "ip_not_allowed");
    assert_eq!(outside["user"], Value::Null);
    let unjudged = app.verify(ask(None)).await;
    assert_eq!(
        (unjudged["code"].as_str(), unjudged["ip_checked"].as_bool()),
        (Some("ok"), Some(false)),
        "without client_ip nothing is judged, and the answer says so"
    );
    let unrestricted = app
        .verify(json!({"token": app.owner.token, "client_ip": "198.51.100.9"}))
        .await;
    assert_eq!(unrestricted["code"], "ok");
    assert!(unrestricted.get("ip_checked").is_none(), "{unrestricted}");
    let bad = send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&json!({"token": token, "client_ip": "not an address"})),
    )
    .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_body");

    // The owner sees where it was refused, sampled once a minute per token.
    for _ in 0..3 {
        me_from(&app, "127.0.0.3", &token).await;
    }
    let (_, audit) = send(app.as_owner(
        Method::GET,
        "/api/v1/admin/audit?action=token.ip_not_allowed",
    ))
    .await;
    let entries = audit["events"].as_array().expect("events");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["client_ip"], "127.0.0.3");
    assert_eq!(entries[0]["target_id"], created["id"]);

    // Lifted: it works from anywhere again, at once.
    let id = created["id"].as_str().expect("id");
    let (status, body) = app
        .owner_call(
            Method::PATCH,
            &format!("/api/v1/tokens/{id}"),
            json!({"allowed_ips": null}),
        )
        .await;
    assert_eq!(
        (status, &body["allowed_ips"]),
        (StatusCode::OK, &Value::Null)
    );
    assert_eq!(me_from(&app, "127.0.0.3", &token).await.0, StatusCode::OK);
}

async fn an_api_users_list_holds_all_its_tokens_and_theirs_must_lie_within_it(app: TestApp) {
    let created = app
        .create_api_user(json!({"name": "plant", "allowed_ips": ["127.0.0.2/31"]}))
        .await;
    assert_eq!(created["allowed_ips"], json!(["127.0.0.2/31"]));
    let api_user = created["id"].as_str().expect("id").to_owned();
    let first = created["token"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(me_from(&app, "127.0.0.3", &first).await.0, StatusCode::OK);
    assert_error(
        &me_from(&app, "127.0.0.4", &first).await,
        StatusCode::FORBIDDEN,
        "ip_not_allowed",
    );

    // A token's own list must lie inside the API user's.
    let tokens = format!("/api/v1/workspaces/acme/api-users/{api_user}/tokens");
    let wider = app
        .owner_call(
            Method::POST,
            &tokens,
            json!({"name": "wide", "allowed_ips": ["127.0.0.0/8"]}),
        )
        .await;
    assert_error(&wider, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(wider.1["error"]["field"], "allowed_ips");
    let (status, narrow) = app
        .owner_call(
            Method::POST,
            &tokens,
            json!({"name": "narrow", "allowed_ips": ["127.0.0.2"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{narrow}");
    let narrow_token = narrow["token"].as_str().expect("token").to_owned();
    app.remember(&narrow_token);
    assert_eq!(
        me_from(&app, "127.0.0.2", &narrow_token).await.0,
        StatusCode::OK
    );
    assert_error(
        &me_from(&app, "127.0.0.3", &narrow_token).await,
        StatusCode::FORBIDDEN,
        "ip_not_allowed",
    );

    // The token's list changed through the API user's routes, within the API user's list.
    let narrow_path = format!("{tokens}/{}", narrow["id"].as_str().expect("id"));
    let outside = app
        .owner_call(
            Method::PATCH,
            &narrow_path,
            json!({"allowed_ips": ["10.0.0.1"]}),
        )
        .await;
    assert_error(&outside, StatusCode::BAD_REQUEST, "invalid_input");
    let (status, moved) = app
        .owner_call(
            Method::PATCH,
            &narrow_path,
            json!({"allowed_ips": ["127.0.0.3"]}),
        )
        .await;
    assert_eq!(
        (status, &moved["allowed_ips"]),
        (StatusCode::OK, &json!(["127.0.0.3/32"]))
    );
    assert_eq!(
        me_from(&app, "127.0.0.3", &narrow_token).await.0,
        StatusCode::OK
    );

    // Moving the API user's list moves every token it holds, at once; the token's own list
    // still applies on top.
    let path = format!("/api/v1/workspaces/acme/api-users/{api_user}");
    let (status, body) = app
        .owner_call(Method::PATCH, &path, json!({"allowed_ips": ["127.0.0.4"]}))
        .await;
    assert_eq!(
        (status, &body["allowed_ips"]),
        (StatusCode::OK, &json!(["127.0.0.4/32"]))
    );
    assert_eq!(me_from(&app, "127.0.0.4", &first).await.0, StatusCode::OK);
    assert_eq!(
        me_from(&app, "127.0.0.3", &first).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        me_from(&app, "127.0.0.3", &narrow_token).await.0,
        StatusCode::FORBIDDEN
    );
    // Lifted: anywhere (the other token keeps its own list).
    let (status, _) = app
        .owner_call(Method::PATCH, &path, json!({"allowed_ips": null}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me_from(&app, "127.0.0.9", &first).await.0, StatusCode::OK);
    assert_eq!(
        me_from(&app, "127.0.0.3", &narrow_token).await.0,
        StatusCode::OK
    );
    assert_eq!(
        me_from(&app, "127.0.0.9", &narrow_token).await.0,
        StatusCode::FORBIDDEN
    );
}

async fn an_allow_listed_token_cannot_hand_out_a_token_that_works_elsewhere(app: TestApp) {
    let held = app
        .create_token(json!({"name": "held", "allowed_ips": ["127.0.0.2"]}))
        .await;
    let token = token_of(&held);
    let held_id = held["id"].as_str().expect("id").to_owned();
    let as_held = |method: Method, path: &str, body: Value| {
        send(from(&app, "127.0.0.2", &token, method, path).json(&body))
    };

    // A token it makes inherits its list, and may not ask for a wider one.
    let (status, child) = as_held(Method::POST, "/api/v1/tokens", json!({"name": "child"})).await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    app.remember(&token_of(&child));
    assert_eq!(child["allowed_ips"], json!(["127.0.0.2/32"]));
    assert_eq!(
        me_from(&app, "127.0.0.3", &token_of(&child)).await.0,
        StatusCode::FORBIDDEN
    );
    let wide = as_held(
        Method::POST,
        "/api/v1/tokens",
        json!({"name": "wide", "allowed_ips": ["0.0.0.0/0"]}),
    )
    .await;
    assert_error(&wide, StatusCode::BAD_REQUEST, "invalid_input");

    // Nor lift or widen its own list, or lift another token's.
    for body in [
        json!({"allowed_ips": null}),
        json!({"allowed_ips": ["127.0.0.0/8"]}),
    ] {
        let widened = as_held(Method::PATCH, &format!("/api/v1/tokens/{held_id}"), body).await;
        assert_error(&widened, StatusCode::BAD_REQUEST, "invalid_input");
    }
    let other = app.create_token(json!({"name": "other"})).await;
    let other_id = other["id"].as_str().expect("id");
    let lifted = as_held(
        Method::PATCH,
        &format!("/api/v1/tokens/{other_id}"),
        json!({"allowed_ips": null}),
    )
    .await;
    assert_error(&lifted, StatusCode::BAD_REQUEST, "invalid_input");
    // Narrowing is fine.
    let (status, narrowed) = as_held(
        Method::PATCH,
        &format!("/api/v1/tokens/{other_id}"),
        json!({"allowed_ips": ["127.0.0.2"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");

    // Forged proxy headers do not move the caller: without trusted proxies the peer is the
    // client.
    let forged = send(
        from(&app, "127.0.0.3", &token, Method::GET, "/api/v1/auth/me")
            .header("X-Forwarded-For", "127.0.0.2")
            .header("X-Real-IP", "127.0.0.2")
            .header("Forwarded", "for=127.0.0.2"),
    )
    .await;
    assert_error(&forged, StatusCode::FORBIDDEN, "ip_not_allowed");
    assert!(error_message(&forged).contains("127.0.0.3"));

    // Refusals by address do not throttle the address: the secret was right.
    for _ in 0..40 {
        me_from(&app, "127.0.0.5", &token).await;
    }
    assert_eq!(
        me_from(&app, "127.0.0.5", &app.owner.token).await.0,
        StatusCode::OK
    );
}

async fn another_users_token_and_a_scoped_tokens_sibling_cannot_be_changed(app: TestApp) {
    let mallory = app.persona("mallory@example.com", Some("mallory")).await;
    let owners = app.create_token(json!({"name": "owner's"})).await;
    let id = owners["id"].as_str().expect("id");
    let path = format!("/api/v1/tokens/{id}");
    let got = app
        .call(
            &mallory.token,
            Method::PATCH,
            &path,
            json!({"allowed_ips": ["127.0.0.9"]}),
        )
        .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    // An API user's token in another workspace.
    let plant = app.create_api_user(json!({"name": "plant"})).await;
    let api_user = plant["id"].as_str().expect("id");
    let token_id = plant["token"]["id"].as_str().expect("id");
    let elsewhere = format!("/api/v1/workspaces/mallory/api-users/{api_user}/tokens/{token_id}");
    let got = app
        .call(
            &mallory.token,
            Method::PATCH,
            &elsewhere,
            json!({"allowed_ips": null}),
        )
        .await;
    assert_eq!(got.0, StatusCode::NOT_FOUND, "{}", got.1);
    let in_acme = format!("/api/v1/workspaces/acme/api-users/{api_user}/tokens/{token_id}");
    let got = app
        .call(
            &mallory.token,
            Method::PATCH,
            &in_acme,
            json!({"allowed_ips": null}),
        )
        .await;
    assert!(
        matches!(got.0, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{got:?}"
    );
    // A scoped token changes only itself.
    let scoped = app
        .create_token(json!({"name": "scoped", "scope": {"permissions": ["devices:read"]}}))
        .await;
    let got = app
        .call(
            &token_of(&scoped),
            Method::PATCH,
            &path,
            json!({"allowed_ips": ["127.0.0.9"]}),
        )
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    // Nothing changed.
    let (_, list) = send(app.as_owner(Method::GET, &path)).await;
    assert_eq!(list["allowed_ips"], Value::Null);
}

async fn a_member_without_api_users_manage_cannot_lift_an_api_users_limits(app: TestApp) {
    let limits = json!([{"name": "default", "limit": 5, "per_seconds": 86400}]);
    let created = app
        .create_api_user(
            json!({"name": "plant", "allowed_ips": ["127.0.0.2"], "rate_limits": limits}),
        )
        .await;
    let api_user = created["id"].as_str().expect("id");
    let token_id = created["token"]["id"].as_str().expect("id");
    let path = format!("/api/v1/workspaces/acme/api-users/{api_user}");
    let token_path = format!("{path}/tokens/{token_id}");
    for roles in [&["viewer"][..], &["member"][..]] {
        let email = format!("{}@example.com", roles[0]);
        let person = app.join(&email, roles).await;
        let lift = json!({"allowed_ips": null, "rate_limits": null});
        let got = app
            .call(&person.token, Method::PATCH, &path, lift.clone())
            .await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
        let got = app
            .call(&person.token, Method::PATCH, &token_path, lift)
            .await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    }
    // Nothing changed.
    let (_, now) = send(app.as_owner(Method::GET, &path)).await;
    assert_eq!(now["allowed_ips"], json!(["127.0.0.2/32"]));
    assert_eq!(now["rate_limits"], limits);
}

async fn a_change_reaches_a_second_node_within_a_second(app: TestApp) {
    let b = app.second_node().await;
    crate::cache::until_notices_flow(&app, &b).await;
    let created = app.create_token(json!({"name": "fleet"})).await;
    let question = json!({"token": created["token"], "client_ip": "198.51.100.7"});
    let code_on = |url: String| {
        let request = app.client.post(url).json(&question);
        async move {
            send(request).await.1["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    // Cached on both nodes.
    assert_eq!(code_on(app.url("/api/v1/verify")).await, "ok");
    assert_eq!(code_on(b.url("/api/v1/verify")).await, "ok");
    let id = created["id"].as_str().expect("id");
    let (status, _) = app
        .owner_call(
            Method::PATCH,
            &format!("/api/v1/tokens/{id}"),
            json!({"allowed_ips": ["203.0.113.0/24"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(code_on(app.url("/api/v1/verify")).await, "ip_not_allowed");
    let start = Instant::now();
    loop {
        let got = code_on(b.url("/api/v1/verify")).await;
        if got == "ip_not_allowed" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the other node still answers {got} after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn graphql_reads_and_sets_allow_lists(app: TestApp) {
    let created = app.create_token(json!({"name": "gql"})).await;
    let id = created["id"].as_str().expect("id");
    let set = "mutation($id: UUID!, $ips: [String!]) { \
        updateToken(id: $id, input: {allowedIps: $ips}) { id allowedIps } }";
    let (status, body) = app
        .graphql(
            Some(&app.owner.token),
            set,
            json!({"id": id, "ips": ["127.0.0.2"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["updateToken"]["allowedIps"],
        json!(["127.0.0.2/32"])
    );
    assert_eq!(
        me_from(&app, "127.0.0.3", &token_of(&created)).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, body) = app
        .graphql(
            Some(&app.owner.token),
            set,
            json!({"id": id, "ips": ["nowhere"]}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["field"], "allowed_ips");
    // Leaving the field out changes nothing; null lifts the list.
    let keep = "mutation($id: UUID!) { updateToken(id: $id, input: {}) { allowedIps } }";
    let (_, body) = app
        .graphql(Some(&app.owner.token), keep, json!({"id": id}))
        .await;
    assert_eq!(
        body["data"]["updateToken"]["allowedIps"],
        json!(["127.0.0.2/32"])
    );
    let (_, body) = app
        .graphql(Some(&app.owner.token), set, json!({"id": id, "ips": null}))
        .await;
    assert_eq!(
        body["data"]["updateToken"]["allowedIps"],
        Value::Null,
        "{body}"
    );

    // An API user's list, on creation and on change.
    let create = "mutation { createApiUser(workspace: \"acme\", \
        input: {name: \"meter\", allowedIps: [\"10.0.0.0/8\"]}) { apiUser { id allowedIps } token { secret } } }";
    let (status, body) = app
        .graphql(Some(&app.owner.token), create, Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let created = &body["data"]["createApiUser"];
    assert_eq!(
        created["apiUser"]["allowedIps"],
        json!(["10.0.0.0/8"]),
        "{body}"
    );
    let secret = created["token"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    app.remember(&secret);
    assert_eq!(
        me_from(&app, "127.0.0.2", &secret).await.0,
        StatusCode::FORBIDDEN
    );
    let update = "mutation($id: UUID!) { updateApiUser(workspace: \"acme\", id: $id, \
        input: {allowedIps: null}) { allowedIps } }";
    let api_user = created["apiUser"]["id"].clone();
    let (_, body) = app
        .graphql(Some(&app.owner.token), update, json!({"id": api_user}))
        .await;
    assert_eq!(
        body["data"]["updateApiUser"]["allowedIps"],
        Value::Null,
        "{body}"
    );
    assert_eq!(me_from(&app, "127.0.0.2", &secret).await.0, StatusCode::OK);
}

async fn malformed_and_oversized_lists_are_refused_with_the_field_named(app: TestApp) {
    let many: Vec<String> = (0..101).map(|i| format!("10.0.{i}.0/24")).collect();
    for list in [
        json!([]),
        json!(["10.1.2.3/8"]),
        json!(["example.com"]),
        json!(["10.0.0.0/33"]),
        json!(many),
        json!([42]),
    ] {
        let (status, body) = send(
            app.as_owner(Method::POST, "/api/v1/tokens")
                .json(&json!({"name": "bad", "allowed_ips": list})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{list}: {body}");
        let code = body["error"]["code"].as_str().unwrap_or_default();
        assert!(
            code == "invalid_input" || code == "invalid_body",
            "{list}: {body}"
        );
    }
    // The host bits named, with the network meant.
    let (_, body) = send(
        app.as_owner(Method::POST, "/api/v1/tokens")
            .json(&json!({"name": "bad", "allowed_ips": ["10.1.2.3/8"]})),
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("10.0.0.0/8")),
        "{body}"
    );
    assert_eq!(body["error"]["field"], "allowed_ips");
    // Nothing was created.
    let (_, list) = send(app.as_owner(Method::GET, "/api/v1/tokens")).await;
    assert!(
        list["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .all(|t| t["name"] != "bad")
    );
}

/// Keygate on SQLite behind a trusted proxy at 127.0.0.1, with one forward-auth rule:
/// `GET /w/{workspace}/devices/{device}` needs `devices:read` on the device.
async fn spawn_behind_local_proxy() -> TestApp {
    spawn_app_with(Backend::Sqlite, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
        c.route = vec![crate::helpers::route_rule(
            &["GET"],
            "/w/{workspace}/devices/{device}",
            "devices:read",
            Some("device:{device}"),
            "{workspace}",
        )];
    })
    .await
    .expect("SQLite")
}

/// A real nginx at 127.0.0.1 asking `app` with `auth_request`, which sets `X-Forwarded-For` to
/// `forwarded_for`; `None` (having said so) when nginx is not installed.
async fn nginx_in_front(
    app: &TestApp,
    forwarded_for: &str,
) -> Option<keygate_testkit::proxy::Proxy> {
    use keygate_testkit::proxy::{nginx_auth_request_site, start_nginx};
    let upstream = crate::forward::upstream().await;
    let keygate = app.addr;
    let forward = [
        "X-Forwarded-Method $request_method".to_owned(),
        "X-Forwarded-Uri $request_uri".to_owned(),
        format!("X-Forwarded-For {forwarded_for}"),
    ];
    let forward: Vec<&str> = forward.iter().map(String::as_str).collect();
    let site = |port| nginx_auth_request_site(port, keygate, upstream, &forward, &[]);
    let nginx = start_nginx(site).await;
    if nginx.is_none() {
        println!("skipped: nginx is not installed (.ci/run installs Debian's nginx-light)");
    }
    nginx
}

/// Forward-auth through a real nginx: the client's address reaches Keygate as nginx's
/// `X-Forwarded-For`, trusted because nginx is a trusted proxy.
#[tokio::test]
async fn nginx_forward_auth_refuses_a_client_outside_the_allow_list() {
    let app = spawn_behind_local_proxy().await;
    let created = app
        .create_token(json!({"name": "gateway", "allowed_ips": ["127.0.0.2"]}))
        .await;
    let token = token_of(&created);
    let Some(nginx) = nginx_in_front(&app, "$remote_addr").await else {
        return;
    };
    let get = |ip: &str| {
        client_from(ip)
            .get(format!("{}/w/acme/devices/abc", nginx.base))
            .header("Authorization", format!("Token {token}"))
            .send()
    };
    let inside = get("127.0.0.2").await.expect("send");
    assert_eq!(inside.status(), StatusCode::OK);
    let outside = get("127.0.0.3").await.expect("send");
    assert_eq!(outside.status(), StatusCode::FORBIDDEN);
    // And forward-auth asked directly by a proxy that is not trusted: the peer is judged.
    let direct = send(
        from(&app, "127.0.0.3", &token, Method::GET, "/auth/forward")
            .header("X-Forwarded-Method", "GET")
            .header("X-Forwarded-Uri", "/w/acme/devices/abc")
            .header("X-Forwarded-For", "127.0.0.2"),
    )
    .await;
    assert_error(&direct, StatusCode::FORBIDDEN, "ip_not_allowed");
    drop(nginx);
}

/// nginx's documented `X-Forwarded-For $proxy_add_x_forwarded_for` appends the client's address
/// to whatever the client sent, on the same line. A byte that is not ASCII in what the client
/// sent must not make Keygate drop the line and take the proxy (whose network the allow-list
/// holds) for the client.
#[tokio::test]
async fn a_forwarded_for_line_with_a_byte_that_is_not_ascii_does_not_make_the_client_the_proxy() {
    let app = spawn_behind_local_proxy().await;
    // Held to the proxy's own address: no client behind it may use the token.
    let created = app
        .create_token(json!({"name": "internal", "allowed_ips": ["127.0.0.1"]}))
        .await;
    let token = token_of(&created);
    let me = |forwarded: Option<&'static [u8]>| {
        let request = from(&app, "127.0.0.1", &token, Method::GET, "/api/v1/auth/me");
        match forwarded {
            Some(line) => request.header(
                "X-Forwarded-For",
                reqwest::header::HeaderValue::from_bytes(line).expect("a header value"),
            ),
            None => request,
        }
    };
    // The proxy itself, asking for no one else: allowed.
    let (status, body) = send(me(None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for line in [
        &b"203.0.113.9"[..],
        b"\xc3\xa9, 203.0.113.9",
        b"\xff, 203.0.113.9",
        // The nearest entry cannot be read: the client is unknown, so the list refuses it.
        b"\xff",
    ] {
        let got = send(me(Some(line))).await;
        assert_error(&got, StatusCode::FORBIDDEN, "ip_not_allowed");
    }

    let Some(nginx) = nginx_in_front(&app, "$proxy_add_x_forwarded_for").await else {
        return;
    };
    for line in [None, Some(&b"\xff"[..]), Some(b"\xc3\xa9, 198.51.100.1")] {
        let mut request = client_from("127.0.0.2")
            .get(format!("{}/w/acme/devices/abc", nginx.base))
            .header("Authorization", format!("Token {token}"));
        if let Some(line) = line {
            let value = reqwest::header::HeaderValue::from_bytes(line).expect("a header value");
            request = request.header("X-Forwarded-For", value);
        }
        let got = request.send().await.expect("send");
        assert_eq!(got.status(), StatusCode::FORBIDDEN, "{line:?}");
    }
    drop(nginx);
}

/// An API user that manages API users, acting with a token held to one address on its own API
/// user's routes: what it makes inherits the list, as on `/api/v1/tokens`, and it can neither take
/// the secret of a sibling that works from anywhere nor lift its API user's list.
async fn an_api_users_own_token_cannot_shed_its_allow_list_through_the_api_user_routes(
    app: TestApp,
) {
    let (base, first, token) = app
        .self_managing_api_user(
            json!({"allowed_ips": ["127.0.0.0/24"]}),
            json!({"name": "held", "allowed_ips": ["127.0.0.2"]}),
        )
        .await;
    let as_held = |method: Method, path: String, body: Value| {
        send(from(&app, "127.0.0.2", &token, method, &path).json(&body))
    };

    let (status, child) =
        as_held(Method::POST, format!("{base}/tokens"), json!({"name": "c"})).await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    app.remember(&token_of(&child));
    assert_eq!(child["allowed_ips"], json!(["127.0.0.2/32"]), "{child}");
    assert_eq!(
        me_from(&app, "127.0.0.3", &token_of(&child)).await.0,
        StatusCode::FORBIDDEN
    );
    for path in [
        format!("{base}/tokens/{first}/rotate"),
        format!("/api/v1/tokens/{first}/rotate"),
    ] {
        let got = as_held(Method::POST, path, json!({})).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    }
    for body in [
        json!({"allowed_ips": null}),
        json!({"allowed_ips": ["0.0.0.0/0"]}),
    ] {
        let got = as_held(Method::PATCH, base.clone(), body).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    }
    // Tightening its own list is fine.
    let (status, body) = as_held(
        Method::PATCH,
        base.clone(),
        json!({"allowed_ips": ["127.0.0.2"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A manager of API users still rotates the sibling and lifts the list.
    let rotate = format!("{base}/tokens/{first}/rotate");
    let (status, rotated) = app.owner_call(Method::POST, &rotate, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    app.remember(&token_of(&rotated));
    let (status, body) = app
        .owner_call(Method::PATCH, &base, json!({"allowed_ips": null}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// An instance admin issuing a token for themselves through the admin routes is held to the
/// token they act with, as on `/api/v1/tokens`.
async fn an_admins_allow_listed_token_cannot_issue_itself_an_unrestricted_one(app: TestApp) {
    let held = app
        .create_token(json!({"name": "held", "allowed_ips": ["127.0.0.2"]}))
        .await;
    let token = token_of(&held);
    let path = format!("/api/v1/admin/users/{}/tokens", app.owner.id);
    let (status, issued) =
        send(from(&app, "127.0.0.2", &token, Method::POST, &path).json(&json!({"name": "x"})))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    app.remember(&token_of(&issued));
    assert_eq!(issued["allowed_ips"], json!(["127.0.0.2/32"]), "{issued}");
    assert_eq!(
        me_from(&app, "127.0.0.3", &token_of(&issued)).await.0,
        StatusCode::FORBIDDEN
    );
}
