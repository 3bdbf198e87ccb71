//! How often a token may be used: named limits on tokens and on API users (for all their tokens
//! together), answered with `429 rate_limited` and the IETF `RateLimit-*` headers on REST,
//! GraphQL and forward-auth, with `rate_limited` by `verify` (which takes a `cost`), held per
//! deployment across nodes, and never loosened through a side door.
//!
//! Every limit here counts in day-long windows, so that no window ends during a test.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_error, backend_tests, route_rule, send, spawn_app_with,
};

backend_tests!(
    using super::spawn:
    a_token_is_refused_past_its_limit_with_the_ietf_headers,
    an_api_users_limits_count_all_its_tokens_together,
    a_limited_token_cannot_hand_out_a_looser_one,
    verify_charges_the_cost_it_is_told_and_nothing_when_the_token_is_refused,
    two_nodes_share_the_count_within_the_documented_bound,
    malformed_limits_are_refused_with_the_field_named,
    an_api_users_own_token_cannot_shed_its_rate_limits_through_the_api_user_routes,
);

/// An app with a forward-auth rule for devices.
async fn spawn(backend: Backend) -> Option<TestApp> {
    let app = spawn_app_with(backend, |c| {
        c.route = vec![route_rule(
            &["GET"],
            "/w/{workspace}/devices/{device}",
            "devices:read",
            Some("device:{device}"),
            "{workspace}",
        )];
    })
    .await?;
    // Far from the end of a day-long window.
    let seconds_into_day = app.clock.now().timestamp().rem_euclid(86_400);
    if seconds_into_day > 86_400 - 600 {
        app.clock.advance(chrono::Duration::minutes(20));
    }
    Some(app)
}

fn per_day(name: &str, limit: u32) -> Value {
    json!({"name": name, "limit": limit, "per_seconds": 86400})
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.with_token(token, Method::GET, "/api/v1/auth/me")
        .send()
        .await
        .expect("send")
}

/// Forward-auth asked about reading device abc in acme with `token`.
async fn forward(app: &TestApp, token: &str) -> reqwest::Response {
    app.with_token(token, Method::GET, "/auth/forward")
        .header("X-Forwarded-Method", "GET")
        .header("X-Forwarded-Uri", "/w/acme/devices/abc")
        .send()
        .await
        .expect("send")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn a_token_is_refused_past_its_limit_with_the_ietf_headers(app: TestApp) {
    let created = app
        .create_token(json!({"name": "metered", "rate_limits": [per_day("default", 3)]}))
        .await;
    assert_eq!(created["rate_limits"], json!([per_day("default", 3)]));
    let token = created["token"].as_str().expect("token").to_owned();

    for left in ["2", "1", "0"] {
        let ok = me(&app, &token).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(header(&ok, "ratelimit-limit"), Some("3"));
        assert_eq!(header(&ok, "ratelimit-remaining"), Some(left));
        let reset: u32 = header(&ok, "ratelimit-reset")
            .expect("reset")
            .parse()
            .expect("number");
        assert!((1..=86_400).contains(&reset), "{reset}");
    }
    let refused = me(&app, &token).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "ratelimit-remaining"), Some("0"));
    let retry: u32 = header(&refused, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("n");
    assert!((1..=86_400).contains(&retry));
    assert!(header(&refused, "www-authenticate").is_none());
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");

    // GraphQL and forward-auth refuse it alike.
    let (status, body) = app
        .graphql(Some(&token), "{ user { id } }", Value::Null)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    let answered = forward(&app, &token).await;
    assert_eq!(answered.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&answered, "ratelimit-limit"), Some("3"));
    // verify says so too, without charging a question that costs nothing.
    let free = app.verify(json!({"token": token, "cost": 0})).await;
    assert_eq!(free["code"], "ok", "{free}");
    assert_eq!(free["rate_limit"]["remaining"], 0);
    let charged = app.verify(json!({"token": token})).await;
    assert_eq!(charged["code"], "rate_limited");
    assert_eq!(charged["valid"], false);
    assert_eq!(charged["rate_limit"]["limit"], 3);

    // A token without limits carries no such headers; lifting the limit frees the token.
    let unlimited = me(&app, &app.owner.token).await;
    assert!(header(&unlimited, "ratelimit-limit").is_none());
    let id = created["id"].as_str().expect("id");
    let (status, body) = app
        .owner_call(
            Method::PATCH,
            &format!("/api/v1/tokens/{id}"),
            json!({"rate_limits": null}),
        )
        .await;
    assert_eq!(
        (status, &body["rate_limits"]),
        (StatusCode::OK, &Value::Null)
    );
    assert_eq!(me(&app, &token).await.status(), StatusCode::OK);

    // Forward-auth answers with the headers when it lets a limited token through.
    let (status, _) = app
        .owner_call(
            Method::PATCH,
            &format!("/api/v1/tokens/{id}"),
            json!({"rate_limits": [per_day("default", 100)]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let answered = forward(&app, &token).await;
    assert_eq!(answered.status(), StatusCode::OK);
    // The window's count goes on across a change of limits: its 3 uses, and this one.
    assert_eq!(header(&answered, "ratelimit-remaining"), Some("96"));
}

async fn an_api_users_limits_count_all_its_tokens_together(app: TestApp) {
    let created = app
        .create_api_user(json!({"name": "fleet", "rate_limits": [per_day("default", 4)]}))
        .await;
    assert_eq!(created["rate_limits"], json!([per_day("default", 4)]));
    let api_user = created["id"].as_str().expect("id").to_owned();
    let first = created["token"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let tokens = format!("/api/v1/workspaces/acme/api-users/{api_user}/tokens");
    let (status, second) = app
        .owner_call(Method::POST, &tokens, json!({"name": "second"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second = second["token"].as_str().expect("token").to_owned();
    app.remember(&second);

    for token in [&first, &second, &first, &second] {
        assert_eq!(me(&app, token).await.status(), StatusCode::OK);
    }
    assert_eq!(
        me(&app, &first).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        me(&app, &second).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // A token's own limit applies on top: with room at the API user, the token's is used up.
    let path = format!("/api/v1/workspaces/acme/api-users/{api_user}");
    let (status, _) = app
        .owner_call(
            Method::PATCH,
            &path,
            json!({"rate_limits": [per_day("default", 100)]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, own) = app
        .owner_call(
            Method::POST,
            &tokens,
            json!({"name": "own", "rate_limits": [per_day("own", 1)]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let own = own["token"].as_str().expect("token").to_owned();
    app.remember(&own);
    let ok = me(&app, &own).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        header(&ok, "ratelimit-remaining"),
        Some("0"),
        "the tightest limit is told"
    );
    assert_eq!(me(&app, &own).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(me(&app, &first).await.status(), StatusCode::OK);
}

async fn a_limited_token_cannot_hand_out_a_looser_one(app: TestApp) {
    let held = app
        .create_token(json!({"name": "held", "rate_limits": [per_day("default", 50)]}))
        .await;
    let token = held["token"].as_str().expect("token").to_owned();
    let id = held["id"].as_str().expect("id").to_owned();

    // What it makes gets its limits, and may only tighten them.
    let (status, child) = app
        .call(
            &token,
            Method::POST,
            "/api/v1/tokens",
            json!({"name": "child"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    app.remember(child["token"].as_str().expect("token"));
    assert_eq!(child["rate_limits"], json!([per_day("default", 50)]));
    for looser in [
        json!([per_day("default", 1000)]),
        json!([{"name": "default", "limit": 50, "per_seconds": 1}]),
    ] {
        let got = app
            .call(
                &token,
                Method::POST,
                "/api/v1/tokens",
                json!({"name": "loose", "rate_limits": looser}),
            )
            .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "rate_limits");
    }
    let (status, stricter) = app
        .call(
            &token,
            Method::POST,
            "/api/v1/tokens",
            json!({"name": "strict", "rate_limits": [per_day("default", 5), per_day("burst", 2)]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stricter}");
    app.remember(stricter["token"].as_str().expect("token"));

    // Nor lift or loosen its own.
    for body in [
        json!({"rate_limits": null}),
        json!({"rate_limits": [per_day("default", 51)]}),
    ] {
        let got = app
            .call(&token, Method::PATCH, &format!("/api/v1/tokens/{id}"), body)
            .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    }
    let (_, now) = send(app.as_owner(Method::GET, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(now["rate_limits"], json!([per_day("default", 50)]));
}

async fn verify_charges_the_cost_it_is_told_and_nothing_when_the_token_is_refused(app: TestApp) {
    let created = app
        .create_token(json!({"name": "batch", "rate_limits": [per_day("default", 10)]}))
        .await;
    let token = created["token"].as_str().expect("token");
    let five = app.verify(json!({"token": token, "cost": 5})).await;
    assert_eq!(
        (five["code"].as_str(), &five["rate_limit"]["remaining"]),
        (Some("ok"), &json!(5))
    );
    let six = app.verify(json!({"token": token, "cost": 6})).await;
    assert_eq!(six["code"], "rate_limited");
    assert_eq!(
        six["rate_limit"]["remaining"], 5,
        "a refused question is not charged"
    );
    let rest = app.verify(json!({"token": token, "cost": 5})).await;
    assert_eq!(rest["code"], "ok");
    assert_eq!(rest["rate_limit"]["remaining"], 0);
    // A question answered `not_a_member` is a use like any other.
    let other = app
        .create_token(json!({"name": "other", "rate_limits": [per_day("default", 10)]}))
        .await;
    let elsewhere = app
        .verify(json!({"token": other["token"], "workspace": "nowhere", "cost": 2}))
        .await;
    assert_eq!(elsewhere["code"], "not_a_member");
    assert_eq!(elsewhere["rate_limit"]["remaining"], 8);
    let bad = send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&json!({"token": token, "cost": -1})),
    )
    .await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST, "{}", bad.1);
}

/// Two nodes share one count: each admits against the total it last heard plus what it admitted
/// since, and they exchange counts every 200 ms. A burst that hits both nodes within one
/// exchange may go over the limit, by at most one limit per extra node; once they have
/// exchanged, both refuse.
async fn two_nodes_share_the_count_within_the_documented_bound(app: TestApp) {
    const LIMIT: usize = 20;
    let b = app.second_node().await;
    crate::cache::until_notices_flow(&app, &b).await;
    let created = app
        .create_token(json!({"name": "shared", "rate_limits": [per_day("default", LIMIT as u32)]}))
        .await;
    let token = created["token"].as_str().expect("token").to_owned();
    let on = |url: String| {
        app.client
            .get(url)
            .header("Authorization", format!("Token {token}"))
            .send()
    };
    let mut admitted = 0;
    for i in 0..(3 * LIMIT) {
        let url = if i % 2 == 0 {
            app.url("/api/v1/auth/me")
        } else {
            b.url("/api/v1/auth/me")
        };
        if on(url).await.expect("send").status() == StatusCode::OK {
            admitted += 1;
        }
    }
    assert!(
        (LIMIT..=2 * LIMIT).contains(&admitted),
        "two nodes admitted {admitted} of a limit of {LIMIT}"
    );
    // Once the counts are exchanged, neither node admits more.
    tokio::time::sleep(Duration::from_millis(600)).await;
    for url in [app.url("/api/v1/auth/me"), b.url("/api/v1/auth/me")] {
        assert_eq!(
            on(url).await.expect("send").status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}

async fn malformed_limits_are_refused_with_the_field_named(app: TestApp) {
    for limits in [
        json!([]),
        json!([{"name": "Bad Name", "limit": 1, "per_seconds": 60}]),
        json!([{"name": "zero", "limit": 0, "per_seconds": 60}]),
        json!([{"name": "long", "limit": 1, "per_seconds": 86401}]),
        json!([per_day("twice", 1), per_day("twice", 2)]),
    ] {
        let got = send(
            app.as_owner(Method::POST, "/api/v1/tokens")
                .json(&json!({"name": "bad", "rate_limits": limits})),
        )
        .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "rate_limits", "{limits}");
    }
    for limits in [
        json!([{"name": "x", "limit": 1}]),
        json!([{"name": "x", "limit": -1, "per_seconds": 1}]),
        json!([{"name": "x", "limit": 1, "per_seconds": 1, "extra": true}]),
    ] {
        let got = send(
            app.as_owner(Method::POST, "/api/v1/tokens")
                .json(&json!({"name": "bad", "rate_limits": limits})),
        )
        .await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{limits}: {}", got.1);
    }
    // GraphQL reads and sets them.
    let created = app.create_token(json!({"name": "gql"})).await;
    let set = "mutation($id: UUID!) { updateToken(id: $id, \
        input: {rateLimits: [{name: \"default\", limit: 7, perSeconds: 60}]}) \
        { rateLimits { name limit perSeconds } } }";
    let (status, body) = app
        .graphql(Some(&app.owner.token), set, json!({"id": created["id"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["updateToken"]["rateLimits"],
        json!([{"name": "default", "limit": 7, "perSeconds": 60}])
    );
}

/// An API user that manages API users, acting with a token held to a limit on its own API user's
/// routes: what it makes inherits the limit, and it can neither take the secret of an unlimited
/// sibling nor loosen its API user's limits.
async fn an_api_users_own_token_cannot_shed_its_rate_limits_through_the_api_user_routes(
    app: TestApp,
) {
    let (base, first, token) = app
        .self_managing_api_user(
            json!({"rate_limits": [per_day("all", 1000)]}),
            json!({"name": "held", "rate_limits": [per_day("default", 50)]}),
        )
        .await;

    let (status, child) = app
        .call(
            &token,
            Method::POST,
            &format!("{base}/tokens"),
            json!({"name": "c"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    app.remember(child["token"].as_str().expect("token"));
    assert_eq!(
        child["rate_limits"],
        json!([per_day("default", 50)]),
        "{child}"
    );
    for path in [
        format!("{base}/tokens/{first}/rotate"),
        format!("/api/v1/tokens/{first}/rotate"),
    ] {
        let got = app.call(&token, Method::POST, &path, json!({})).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    }
    for body in [
        json!({"rate_limits": null}),
        json!({"rate_limits": [per_day("all", 100_000)]}),
    ] {
        let got = app.call(&token, Method::PATCH, &base, body).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    }
    let tighter = json!({"rate_limits": [per_day("all", 500)]});
    let (status, body) = app.call(&token, Method::PATCH, &base, tighter).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
