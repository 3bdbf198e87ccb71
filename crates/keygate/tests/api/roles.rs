//! `/api/v1/workspaces/{ws}/roles`: the built-in roles, custom roles, and the public role.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Persona, TestApp, acme_question, assert_error, backend_tests, send, strings};

const ROLES: &str = "/api/v1/workspaces/acme/roles";

fn role_path(name: &str) -> String {
    format!("{ROLES}/{name}")
}

backend_tests!(
    every_workspace_has_the_built_in_roles,
    a_custom_role_is_created_and_read,
    role_names_are_unique_and_built_in_names_are_taken,
    bad_role_names_and_permissions_are_refused,
    put_replaces_a_custom_roles_permissions_and_members_feel_it,
    built_in_roles_other_than_public_cannot_change,
    deleting_a_custom_role_takes_it_from_its_holders,
    built_in_roles_cannot_be_deleted,
    the_public_role_opens_permissions_to_anonymous_callers,
    the_public_role_never_holds_management_permissions,
    managing_roles_needs_roles_manage,
);

async fn create_role(app: &TestApp, name: &str, permissions: &[&str]) -> (StatusCode, Value) {
    send(
        app.as_owner(Method::POST, ROLES)
            .json(&json!({"name": name, "permissions": permissions})),
    )
    .await
}

/// The role names of a member of acme, as the owner sees them.
async fn member_roles(app: &TestApp, user: &Persona) -> Value {
    let (status, member) = send(app.as_owner(
        Method::GET,
        &format!("/api/v1/workspaces/acme/members/{}", user.id),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{member}");
    member["roles"].clone()
}

/// Whether `token`'s holder may do `permission` in acme, by `/api/v1/verify`.
async fn verify_code(
    app: &TestApp,
    token: Option<&str>,
    permission: &str,
    resource: Option<&str>,
) -> Value {
    let answer = app.verify(acme_question(token, permission, resource)).await;
    answer["code"].clone()
}

async fn every_workspace_has_the_built_in_roles(app: TestApp) {
    let (status, list) = send(app.as_owner(Method::GET, ROLES)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let roles = list["roles"].as_array().expect("roles");
    let summary: Vec<(&str, &Value, &Value)> = roles
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name"),
                &r["permissions"],
                &r["builtin"],
            )
        })
        .collect();
    let mut names: Vec<&str> = summary.iter().map(|(n, _, _)| *n).collect();
    names.sort_unstable();
    assert_eq!(names, ["admin", "member", "owner", "public", "viewer"]);
    for (name, permissions) in [
        ("owner", json!(["*"])),
        ("admin", json!(["*"])),
        ("member", json!(["*:read", "*:write"])),
        ("viewer", json!(["*:read"])),
        ("public", json!([])),
    ] {
        let role = roles.iter().find(|r| r["name"] == name).expect("listed");
        assert_eq!(role["permissions"], permissions, "{name}");
        assert_eq!(role["builtin"], true, "{name}");
        assert!(role["description"].as_str().is_some_and(|d| !d.is_empty()));
        let (status, one) = send(app.as_owner(Method::GET, &role_path(name))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&one, role);
    }
    // Only the public role shows resource grants.
    let public = roles
        .iter()
        .find(|r| r["name"] == "public")
        .expect("public");
    assert_eq!(public["grants"], json!([]));
    let viewer = roles
        .iter()
        .find(|r| r["name"] == "viewer")
        .expect("viewer");
    assert!(viewer.get("grants").is_none(), "{viewer}");

    // Any member may read them.
    let reader = app.join("reader@example.com", &["viewer"]).await;
    let (status, theirs) = send(app.with_token(&reader.token, Method::GET, ROLES)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(theirs, list);
    let got = send(app.as_owner(Method::GET, &role_path("nope"))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn a_custom_role_is_created_and_read(app: TestApp) {
    let (status, role) = send(app.as_owner(Method::POST, ROLES).json(&json!({
        "name": "device-operator",
        "description": "Runs the devices",
        "permissions": ["devices:*", "measurements:read", "devices:read"],
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    assert_eq!(role["name"], "device-operator");
    assert_eq!(role["description"], "Runs the devices");
    assert_eq!(role["builtin"], false);
    let mut permissions: Vec<String> =
        serde_json::from_value(role["permissions"].clone()).expect("permissions");
    permissions.sort();
    assert!(
        permissions.contains(&"devices:*".to_owned())
            && permissions.contains(&"measurements:read".to_owned()),
        "{permissions:?}"
    );
    assert!(role.get("grants").is_none());

    let (status, one) = send(app.as_owner(Method::GET, &role_path("device-operator"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, role);
    let (_, list) = send(app.as_owner(Method::GET, ROLES)).await;
    let names = strings(&list["roles"], "name");
    assert_eq!(names.len(), 6);
    assert_eq!(
        names.last(),
        Some(&"device-operator"),
        "built-in first: {names:?}"
    );

    // Holders of the role get its permissions.
    let op = app.join("op@example.com", &["device-operator"]).await;
    assert_eq!(
        verify_code(&app, Some(&op.token), "devices:reboot", None).await,
        "ok"
    );
    assert_eq!(
        verify_code(&app, Some(&op.token), "measurements:write", None).await,
        "forbidden"
    );
}

async fn role_names_are_unique_and_built_in_names_are_taken(app: TestApp) {
    let (status, _) = create_role(&app, "auditor", &["audit:read"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let got = create_role(&app, "auditor", &["devices:read"]).await;
    assert_error(&got, StatusCode::CONFLICT, "role_exists");
    for builtin in ["owner", "admin", "member", "viewer", "public"] {
        let got = create_role(&app, builtin, &["devices:read"]).await;
        assert_error(&got, StatusCode::CONFLICT, "role_exists");
    }
    let (_, role) = send(app.as_owner(Method::GET, &role_path("auditor"))).await;
    assert_eq!(role["permissions"], json!(["audit:read"]));
    let (_, viewer) = send(app.as_owner(Method::GET, &role_path("viewer"))).await;
    assert_eq!(viewer["permissions"], json!(["*:read"]));
}

async fn bad_role_names_and_permissions_are_refused(app: TestApp) {
    let long = format!("r{}", "x".repeat(63));
    for name in [
        "",
        "a",
        "Ops",
        "has space",
        "1ops",
        "-ops",
        "ops!",
        "ops.team",
        long.as_str(),
    ] {
        let got = create_role(&app, name, &["devices:read"]).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "name", "{name:?}");
    }
    for permission in [
        "devices",
        "Devices:read",
        "*:*",
        "devices:",
        ":read",
        "a:b:c",
        "devices read",
    ] {
        let got = create_role(&app, "ops", &[permission]).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "permissions", "{permission:?}");
    }
    let got = send(app.as_owner(Method::POST, ROLES).json(
        &json!({"name": "ops", "permissions": ["devices:read"], "description": "x".repeat(5000)}),
    ))
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    // Nothing was created.
    let (_, list) = send(app.as_owner(Method::GET, ROLES)).await;
    assert_eq!(list["roles"].as_array().map(Vec::len), Some(5), "{list}");
}

async fn put_replaces_a_custom_roles_permissions_and_members_feel_it(app: TestApp) {
    let (status, _) = create_role(&app, "ops", &["devices:read", "devices:write"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let holder = app.join("holder@example.com", &["ops"]).await;
    assert_eq!(
        verify_code(&app, Some(&holder.token), "devices:write", None).await,
        "ok"
    );

    let (status, role) = send(
        app.as_owner(Method::PUT, &role_path("ops"))
            .json(&json!({"permissions": ["measurements:read"], "description": "read-only now"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{role}");
    assert_eq!(role["permissions"], json!(["measurements:read"]));
    assert_eq!(role["description"], "read-only now");
    let (_, again) = send(app.as_owner(Method::GET, &role_path("ops"))).await;
    assert_eq!(again, role);

    // The holder's token follows at once.
    assert_eq!(
        verify_code(&app, Some(&holder.token), "devices:write", None).await,
        "forbidden"
    );
    assert_eq!(
        verify_code(&app, Some(&holder.token), "measurements:read", None).await,
        "ok"
    );

    let got = send(
        app.as_owner(Method::PUT, &role_path("ops"))
            .json(&json!({"permissions": ["nope"]})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(got.1["error"]["field"], "permissions");
    // Grants belong to the public role only.
    let got = send(
        app.as_owner(Method::PUT, &role_path("ops"))
            .json(&json!({"permissions": ["devices:read"], "grants": ["device:1"]})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(got.1["error"]["field"], "grants");
    let got = send(
        app.as_owner(Method::PUT, &role_path("missing"))
            .json(&json!({"permissions": ["devices:read"]})),
    )
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (_, unchanged) = send(app.as_owner(Method::GET, &role_path("ops"))).await;
    assert_eq!(unchanged["permissions"], json!(["measurements:read"]));
}

async fn built_in_roles_other_than_public_cannot_change(app: TestApp) {
    for name in ["owner", "admin", "member", "viewer"] {
        let got = send(
            app.as_owner(Method::PUT, &role_path(name))
                .json(&json!({"permissions": ["devices:read"]})),
        )
        .await;
        assert_error(&got, StatusCode::CONFLICT, "builtin_role");
    }
    let (_, viewer) = send(app.as_owner(Method::GET, &role_path("viewer"))).await;
    assert_eq!(viewer["permissions"], json!(["*:read"]));
    let (_, owner) = send(app.as_owner(Method::GET, &role_path("owner"))).await;
    assert_eq!(owner["permissions"], json!(["*"]));
}

async fn deleting_a_custom_role_takes_it_from_its_holders(app: TestApp) {
    let (status, _) = create_role(&app, "ops", &["devices:write"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let holder = app.join("holder@example.com", &["ops", "viewer"]).await;
    let mut before: Vec<String> =
        serde_json::from_value(member_roles(&app, &holder).await).expect("roles");
    before.sort();
    assert_eq!(before, ["ops", "viewer"]);
    assert_eq!(
        verify_code(&app, Some(&holder.token), "devices:write", None).await,
        "ok"
    );

    let (status, body) = send(app.as_owner(Method::DELETE, &role_path("ops"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = send(app.as_owner(Method::GET, &role_path("ops"))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(member_roles(&app, &holder).await, json!(["viewer"]));
    assert_eq!(
        verify_code(&app, Some(&holder.token), "devices:write", None).await,
        "forbidden"
    );
    let (_, me) = send(app.with_token(&holder.token, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(me["workspaces"][0]["roles"], json!(["viewer"]));

    let got = send(app.as_owner(Method::DELETE, &role_path("ops"))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    // The name is free again.
    let (status, _) = create_role(&app, "ops", &["devices:read"]).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(member_roles(&app, &holder).await, json!(["viewer"]));
}

async fn built_in_roles_cannot_be_deleted(app: TestApp) {
    for name in ["owner", "admin", "member", "viewer", "public"] {
        let got = send(app.as_owner(Method::DELETE, &role_path(name))).await;
        assert_error(&got, StatusCode::CONFLICT, "builtin_role");
        let (status, _) = send(app.as_owner(Method::GET, &role_path(name))).await;
        assert_eq!(status, StatusCode::OK, "{name} is still there");
    }
}

async fn the_public_role_opens_permissions_to_anonymous_callers(app: TestApp) {
    assert_eq!(
        verify_code(&app, None, "devices:read", Some("device:lobby")).await,
        "forbidden"
    );
    let (status, role) = send(
        app.as_owner(Method::PUT, &role_path("public"))
            .json(&json!({
                "permissions": ["devices:read"],
                "grants": ["device:lobby", "project:demo/*"],
                "description": "the lobby display",
            })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{role}");
    assert_eq!(role["name"], "public");
    assert_eq!(role["permissions"], json!(["devices:read"]));
    assert_eq!(role["builtin"], true);
    let mut grants: Vec<String> = serde_json::from_value(role["grants"].clone()).expect("grants");
    grants.sort();
    assert_eq!(grants, ["device:lobby", "project:demo/*"]);
    let (_, again) = send(app.as_owner(Method::GET, &role_path("public"))).await;
    assert_eq!(again, role);

    assert_eq!(
        verify_code(&app, None, "devices:read", Some("device:lobby")).await,
        "ok"
    );
    assert_eq!(
        verify_code(&app, None, "devices:read", Some("project:demo/screen")).await,
        "ok"
    );
    assert_eq!(
        verify_code(&app, None, "devices:read", Some("device:secret")).await,
        "forbidden"
    );
    assert_eq!(
        verify_code(&app, None, "devices:write", Some("device:lobby")).await,
        "forbidden"
    );

    // A PUT without grants leaves the public role with none, which (as for members) means its
    // permissions apply to every resource.
    let (status, open) = send(
        app.as_owner(Method::PUT, &role_path("public"))
            .json(&json!({"permissions": ["devices:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{open}");
    assert_eq!(open["grants"], json!([]));
    assert_eq!(
        verify_code(&app, None, "devices:read", Some("device:secret")).await,
        "ok"
    );
    // And an empty permission list closes it again.
    let (status, closed) = send(
        app.as_owner(Method::PUT, &role_path("public"))
            .json(&json!({"permissions": []})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["permissions"], json!([]));
    assert_eq!(
        verify_code(&app, None, "devices:read", Some("device:lobby")).await,
        "forbidden"
    );

    let got = send(
        app.as_owner(Method::PUT, &role_path("public"))
            .json(&json!({"permissions": ["devices:read"], "grants": ["bad grant"]})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(got.1["error"]["field"], "grants");
}

async fn the_public_role_never_holds_management_permissions(app: TestApp) {
    for permission in [
        "members:manage",
        "tokens:manage",
        "audit:read",
        "workspace:manage",
        "*",
        "members:*",
    ] {
        let got = send(
            app.as_owner(Method::PUT, &role_path("public"))
                .json(&json!({"permissions": ["devices:read", permission]})),
        )
        .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "permissions", "{permission}");
    }
    let (_, public) = send(app.as_owner(Method::GET, &role_path("public"))).await;
    assert_eq!(public["permissions"], json!([]));
    assert_eq!(
        verify_code(&app, None, "members:manage", None).await,
        "forbidden"
    );
    // `*:read` reaches the platform's permissions only, never Keygate's management.
    let (status, _) = send(
        app.as_owner(Method::PUT, &role_path("public"))
            .json(&json!({"permissions": ["*:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verify_code(&app, None, "devices:read", None).await, "ok");
    assert_eq!(
        verify_code(&app, None, "audit:read", None).await,
        "forbidden"
    );
}

async fn managing_roles_needs_roles_manage(app: TestApp) {
    let (status, _) = create_role(&app, "ops", &["devices:read"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = create_role(&app, "devices-admin", &["devices:*"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let holder = app
        .join("holder@example.com", &["devices-admin", "viewer"])
        .await;
    let as_holder = |method: Method, path: &str| app.with_token(&holder.token, method, path);

    for request in [
        as_holder(Method::POST, ROLES)
            .json(&json!({"name": "mine", "permissions": ["devices:read"]})),
        as_holder(Method::PUT, &role_path("ops")).json(&json!({"permissions": ["devices:write"]})),
        as_holder(Method::PUT, &role_path("public"))
            .json(&json!({"permissions": ["devices:read"]})),
        as_holder(Method::DELETE, &role_path("ops")),
    ] {
        let got = send(request).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(got.1["error"]["permission"], "roles:manage");
    }
    let (_, ops) = send(app.as_owner(Method::GET, &role_path("ops"))).await;
    assert_eq!(ops["permissions"], json!(["devices:read"]));
    let (_, list) = send(app.as_owner(Method::GET, ROLES)).await;
    assert_eq!(list["roles"].as_array().map(Vec::len), Some(7));

    // A role manager cannot create a role wider than what they hold.
    let (status, _) = create_role(&app, "role-keeper", &["roles:manage", "devices:read"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let keeper = app.join("keeper@example.com", &["role-keeper"]).await;
    let got = send(
        app.with_token(&keeper.token, Method::POST, ROLES)
            .json(&json!({"name": "wider", "permissions": ["devices:write"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let (status, narrow) = send(
        app.with_token(&keeper.token, Method::POST, ROLES)
            .json(&json!({"name": "narrow", "permissions": ["devices:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{narrow}");
}
