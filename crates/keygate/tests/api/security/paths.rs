//! Forward-auth path tricks: `..;`, path parameters and encoded `%` in captured segments, and
//! every other way a captured segment could mean something else to the server behind the proxy.
//! A caller granted `file:reports/*` must not reach a file outside `reports/`.

use keygate_domain::route::RouteRule;
use reqwest::{Method, StatusCode};

use crate::helpers::{Backend, TestApp, fetch, route_rule, spawn_app_with};

/// Files under `/w/{workspace}/files/`, the resource being the rest of the path.
fn rules() -> Vec<RouteRule> {
    let path = "/w/{workspace}/files/{path*}";
    vec![route_rule(
        &["GET"],
        path,
        "files:read",
        Some("file:{path}"),
        "{workspace}",
    )]
}

/// The app, and the token of an API user in `acme` that may read the files under `reports/`.
async fn app_and_reports_reader() -> (TestApp, String) {
    let app = spawn_app_with(Backend::Sqlite, |c| c.route = rules())
        .await
        .expect("SQLite");
    let token = app
        .api_user_token("file-reader", &["files:read"], &["file:reports/*"])
        .await;
    (app, token)
}

/// Forward-auth's answer for `GET uri`, as a proxy asks it. Both header families carry the same
/// method and URI, so the answer does not depend on which one the server trusts.
async fn ask(app: &TestApp, token: &str, uri: &str) -> StatusCode {
    fetch(
        app.anonymous(Method::GET, "/auth/forward")
            .header("X-Original-Method", "GET")
            .header("X-Original-URI", uri)
            .header("X-Forwarded-Method", "GET")
            .header("X-Forwarded-Uri", uri)
            .header("Authorization", format!("Bearer {token}")),
    )
    .await
    .status()
}

#[tokio::test]
async fn dot_dot_semicolon_segment_cannot_reach_a_file_outside_the_granted_folder() {
    let (app, token) = app_and_reports_reader().await;
    assert_eq!(
        ask(&app, &token, "/w/acme/files/reports/q3.pdf").await,
        StatusCode::OK,
        "the grant itself works"
    );
    for uri in [
        "/w/acme/files/reports/..;/secret/db.sql",
        "/w/acme/files/reports/..;x=1/secret/db.sql",
        "/w/acme/files/reports/.;/../secret/db.sql",
        "/w/acme/files/reports/..%3B/secret/db.sql",
    ] {
        assert_eq!(ask(&app, &token, uri).await, StatusCode::FORBIDDEN, "{uri}");
    }
}

#[tokio::test]
async fn double_encoded_dot_dot_cannot_reach_a_file_outside_the_granted_folder() {
    let (app, token) = app_and_reports_reader().await;
    for uri in [
        "/w/acme/files/reports/%252e%252e/secret/db.sql",
        "/w/acme/files/reports/%252E%252E/secret/db.sql",
        "/w/acme/files/reports/..%252fsecret%252fdb.sql",
        "/w/acme/files/reports/%25252e%25252e/secret/db.sql",
    ] {
        assert_eq!(ask(&app, &token, uri).await, StatusCode::FORBIDDEN, "{uri}");
    }
}

#[tokio::test]
async fn path_parameter_or_escape_in_a_captured_segment_cannot_reach_a_file_outside_the_granted_folder()
 {
    let (app, token) = app_and_reports_reader().await;
    for uri in [
        // A path parameter, which servers strip with what follows.
        "/w/acme/files/reports/..;jsessionid=x/secret/db.sql",
        "/w/acme/files/reports/x;/secret/db.sql",
        // An escape left over after decoding once, or a broken one.
        "/w/acme/files/reports/%25/secret",
        "/w/acme/files/reports/%zz/secret",
        // Separators in disguise: encoded, backslash, NUL, NFKC look-alikes, overlong UTF-8.
        "/w/acme/files/reports/..%2fsecret/db.sql",
        "/w/acme/files/reports/..\\secret\\db.sql",
        "/w/acme/files/reports/..%5csecret%5cdb.sql",
        "/w/acme/files/reports/..%00/secret/db.sql",
        "/w/acme/files/reports/%ef%bc%8e%ef%bc%8e/secret/db.sql",
        "/w/acme/files/reports/..%ef%bc%8fsecret",
        "/w/acme/files/reports/%c0%ae%c0%ae/secret/db.sql",
        // Dot segments Windows trims to `..`.
        "/w/acme/files/reports/.../secret/db.sql",
        "/w/acme/files/reports/..%20/secret/db.sql",
        // A query or fragment hidden in a segment.
        "/w/acme/files/reports/x%3F/../../secret/db.sql",
        "/w/acme/files/reports/x%23/secret/db.sql",
        // Empty segments: merged by servers, or an absolute path once joined.
        "/w/acme/files/reports//..//secret/db.sql",
    ] {
        assert_eq!(ask(&app, &token, uri).await, StatusCode::FORBIDDEN, "{uri}");
    }
}

#[tokio::test]
async fn colon_in_a_captured_type_cannot_change_which_resource_is_judged() {
    // A rule whose resource type comes from the path: `/w/acme/device/abc` is `device:abc`.
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.route = vec![RouteRule {
            methods: vec![],
            path: "/w/{workspace}/{kind}/{id}".into(),
            permission: "objects:read".into(),
            resource: Some("{kind}:{id}".into()),
            workspace: "{workspace}".into(),
            query_token: false,
        }]
    })
    .await
    .expect("SQLite");
    let token = app
        .api_user_token("device-reader", &["objects:read"], &["device:*"])
        .await;
    assert_eq!(
        ask(&app, &token, "/w/acme/device/abc").await,
        StatusCode::OK,
        "the grant itself works"
    );
    // Upstream, the type is `device:vault`; judged as `device:vault:x`, `device:*` would reach it.
    for uri in ["/w/acme/device:vault/x", "/w/acme/device%3Avault/x"] {
        assert_eq!(ask(&app, &token, uri).await, StatusCode::FORBIDDEN, "{uri}");
    }
}

/// A service guarded with the client layer or `POST /api/v1/verify` asks about the resource as its
/// framework decoded it: `reports/../secret` (or its encoded dots) is not under `reports/` for a
/// server that normalises the path, so it is not under `file:reports/*` either.
#[tokio::test]
async fn a_dot_segment_in_a_verified_resource_cannot_climb_out_of_the_grant() {
    let (app, token) = app_and_reports_reader().await;
    let question = |resource: &str| {
        serde_json::json!({
            "token": token,
            "workspace": "acme",
            "permission": "files:read",
            "resource": resource,
        })
    };
    let answer = app.verify(question("file:reports/q3.pdf")).await;
    assert_eq!(answer["code"], "ok", "the grant itself works: {answer}");
    for resource in [
        "file:reports/../secret",
        "file:reports/%2e%2e/secret",
        "file:reports/x/../../secret",
        "file:reports/./../secret",
    ] {
        let answer = app.verify(question(resource)).await;
        assert_eq!(answer["code"], "forbidden", "{resource}: {answer}");
    }
    // Nor can such a grant be handed out.
    let (status, body) = crate::helpers::send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/api-users")
            .json(&serde_json::json!({
                "name": "climber",
                "grants": ["file:reports/../secret"],
            })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
