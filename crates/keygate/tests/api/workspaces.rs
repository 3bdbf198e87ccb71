//! `/api/v1/workspaces`: create, list, read by id or slug, rename, delete, and tenant isolation.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_error, backend_tests, error_message, send, strings};

backend_tests!(
    the_creator_owns_a_new_workspace,
    a_workspace_is_reached_by_id_or_slug,
    owners_rename_and_delete_workspaces,
    slugs_are_validated_and_unique,
    other_tenants_cannot_see_or_touch_a_workspace,
    a_workspace_caps_the_lifetime_of_tokens_acting_in_it,
);

async fn the_creator_owns_a_new_workspace(app: TestApp) {
    let (status, ws) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces")
            .json(&json!({"slug": "iot-lab", "name": "IoT Lab"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    assert_eq!(ws["slug"], "iot-lab");
    assert_eq!(ws["name"], "IoT Lab");
    assert_eq!(ws["roles"], json!(["owner"]));

    let (status, list) = send(app.as_owner(Method::GET, "/api/v1/workspaces")).await;
    assert_eq!(status, StatusCode::OK);
    let slugs = strings(&list["workspaces"], "slug");
    assert_eq!(slugs, ["acme", "iot-lab"]);

    let (_, me) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(me["workspaces"].as_array().map(Vec::len), Some(2));
    assert_eq!(me["workspaces"][1]["roles"], json!(["owner"]));

    // Without a name, the slug is the name.
    let (status, ws) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces")
            .json(&json!({"slug": "plain"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(ws["name"], "plain");
}

async fn a_workspace_is_reached_by_id_or_slug(app: TestApp) {
    let (status, by_slug) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme")).await;
    assert_eq!(status, StatusCode::OK, "{by_slug}");
    let id = by_slug["id"].as_str().expect("id");
    let (status, by_id) =
        send(app.as_owner(Method::GET, &format!("/api/v1/workspaces/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id, by_slug);
    for missing in ["nope", "0190b5a6-8e1f-7c5a-9b8e-0a1b2c3d4e5f", "NOT_A_SLUG"] {
        let got = send(app.as_owner(Method::GET, &format!("/api/v1/workspaces/{missing}"))).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
}

async fn owners_rename_and_delete_workspaces(app: TestApp) {
    let (status, ws) = send(
        app.as_owner(Method::PATCH, "/api/v1/workspaces/acme")
            .json(&json!({"name": "Acme Devices", "slug": "acme-devices"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ws}");
    assert_eq!(ws["name"], "Acme Devices");
    assert_eq!(ws["slug"], "acme-devices");
    assert_ne!(ws["updated_at"], ws["created_at"]);
    let got = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme")).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    // An empty patch changes nothing but the update time.
    let (status, same) = send(
        app.as_owner(Method::PATCH, "/api/v1/workspaces/acme-devices")
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["name"], "Acme Devices");

    let (status, body) =
        send(app.as_owner(Method::DELETE, "/api/v1/workspaces/acme-devices")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme-devices")).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (_, list) = send(app.as_owner(Method::GET, "/api/v1/workspaces")).await;
    assert_eq!(list["workspaces"], json!([]));
    // The owner's account and token outlive the workspace.
    let (status, _) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK);
}

async fn slugs_are_validated_and_unique(app: TestApp) {
    for bad in [
        "",
        "a",
        "Acme",
        "has space",
        "-edge",
        "edge-",
        "a--b",
        "0190b5a6-8e1f-7c5a-9b8e-0a1b2c3d4e5f",
    ] {
        let got = send(
            app.as_owner(Method::POST, "/api/v1/workspaces")
                .json(&json!({"slug": bad})),
        )
        .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "slug");
    }
    let long = "x".repeat(300);
    let got = send(
        app.as_owner(Method::POST, "/api/v1/workspaces")
            .json(&json!({"slug": "ok-slug", "name": long})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let got = send(
        app.as_owner(Method::POST, "/api/v1/workspaces")
            .json(&json!({"slug": "acme"})),
    )
    .await;
    assert_error(&got, StatusCode::CONFLICT, "slug_taken");
    app.persona("b@example.com", Some("beta")).await;
    let got = send(
        app.as_owner(Method::PATCH, "/api/v1/workspaces/acme")
            .json(&json!({"slug": "beta"})),
    )
    .await;
    assert_error(&got, StatusCode::CONFLICT, "slug_taken");
    let (_, list) = send(app.as_owner(Method::GET, "/api/v1/workspaces")).await;
    assert_eq!(
        list["workspaces"].as_array().map(Vec::len),
        Some(1),
        "nothing half-created"
    );
}

async fn other_tenants_cannot_see_or_touch_a_workspace(app: TestApp) {
    let (_, acme) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme")).await;
    let id = acme["id"].as_str().expect("id").to_owned();
    let eve = app.persona("eve@example.com", Some("evil")).await;
    for path in [
        "/api/v1/workspaces/acme".to_owned(),
        format!("/api/v1/workspaces/{id}"),
    ] {
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(json!({"name": "pwned"}))),
            (Method::DELETE, None),
        ] {
            let mut request = app.with_token(&eve.token, method.clone(), &path);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let got = send(request).await;
            assert_error(&got, StatusCode::NOT_FOUND, "not_found");
        }
    }
    let (_, list) = send(app.with_token(&eve.token, Method::GET, "/api/v1/workspaces")).await;
    let slugs = strings(&list["workspaces"], "slug");
    assert_eq!(slugs, ["evil"]);
    let (status, still) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(still["name"], acme["name"]);
}

async fn a_workspace_caps_the_lifetime_of_tokens_acting_in_it(app: TestApp) {
    let (status, ws) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ws["max_token_lifetime_days"], json!(null));

    for bad in [json!(0), json!(3651), json!("ten")] {
        let got = send(
            app.as_owner(Method::PATCH, "/api/v1/workspaces/acme")
                .json(&json!({"max_token_lifetime_days": bad})),
        )
        .await;
        assert!(got.0.is_client_error(), "{bad}: {got:?}");
    }
    let (status, ws) = send(
        app.as_owner(Method::PATCH, "/api/v1/workspaces/acme")
            .json(&json!({"max_token_lifetime_days": 30})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ws}");
    assert_eq!(ws["max_token_lifetime_days"], 30);

    // Tokens scoped to the workspace must expire within the cap.
    for too_long in [json!({}), json!({"expires_in_days": 31})] {
        let mut body = json!({"name": "ci", "scope": {"workspaces": ["acme"]}});
        body.as_object_mut()
            .expect("object")
            .extend(too_long.as_object().expect("object").clone());
        let got = send(app.as_owner(Method::POST, "/api/v1/tokens").json(&body)).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert!(error_message(&got).contains("at most 30 days"), "{}", got.1);
    }
    app.create_token(
        json!({"name": "ci", "expires_in_days": 30, "scope": {"workspaces": ["acme"]}}),
    )
    .await;
    // A token not scoped to the workspace is the user's own business.
    app.create_token(json!({"name": "laptop"})).await;

    // An API user's first token gets the longest lifetime allowed; more tokens must fit too.
    let created = app
        .create_api_user(json!({"name": "sensor-gw", "roles": ["viewer"]}))
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let first: chrono::DateTime<chrono::Utc> = created["token"]["expires_at"]
        .as_str()
        .expect("the first token expires")
        .parse()
        .expect("timestamp");
    let hours = (first - chrono::Utc::now()).num_hours();
    assert!((29 * 24..=30 * 24).contains(&hours), "{hours} hours");
    let got = send(
        app.as_owner(
            Method::POST,
            &format!("/api/v1/workspaces/acme/api-users/{id}/tokens"),
        )
        .json(&json!({"name": "long", "expires_in_days": 90})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");

    // Removing the cap.
    let (status, ws) = send(
        app.as_owner(Method::PATCH, "/api/v1/workspaces/acme")
            .json(&json!({"max_token_lifetime_days": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ws["max_token_lifetime_days"], json!(null));
    app.create_token(json!({"name": "ci2", "scope": {"workspaces": ["acme"]}}))
        .await;
}
