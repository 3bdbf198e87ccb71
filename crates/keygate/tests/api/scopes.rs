//! Token scopes on `/api/v1/tokens`: a token narrowed to workspaces, permissions and resources,
//! never more than its user holds, and what a scoped token may do itself.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Persona, TestApp, assert_error, backend_tests, send, strings};

backend_tests!(
    callers_alternating_on_one_server_are_each_answered_as_themselves,
    a_scoped_token_is_limited_to_its_workspaces_permissions_and_resources,
    a_scope_names_only_workspaces_the_user_is_in,
    a_scope_asks_only_for_what_the_user_holds,
    a_scoped_token_cannot_reach_management_outside_its_scope,
    tokens_made_by_a_scoped_token_inherit_its_scope,
    a_scoped_token_rotates_only_itself,
    personal_and_plain_tokens_have_no_scope,
    a_scoped_token_hands_out_no_more_than_its_scope,
);

/// The owner's scoped token for `devices:read` on `device:abc` in acme; the owner also owns
/// `lab`.
async fn scoped_owner_token(app: &TestApp) -> Value {
    let (status, lab) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces")
            .json(&json!({"slug": "lab"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{lab}");
    app.create_token(json!({
        "name": "scoped",
        "scope": {"workspaces": ["acme"], "permissions": ["devices:read"], "resources": ["device:abc"]},
    }))
    .await
}

fn secret(token: &Value) -> &str {
    token["token"].as_str().expect("token in clear")
}

/// The `/api/v1/verify` answer for `token` in `workspace`.
async fn verify(
    app: &TestApp,
    token: &str,
    workspace: &str,
    permission: &str,
    resource: Option<&str>,
) -> Value {
    let question = json!({
        "token": token,
        "workspace": workspace,
        "permission": permission,
        "resource": resource,
    });
    app.verify(question).await
}

/// A user with no workspace of their own who joins acme as a viewer.
async fn viewer(app: &TestApp, email: &str) -> Persona {
    app.join(email, &["viewer"]).await
}

async fn workspace_id(app: &TestApp, slug: &str) -> String {
    let (status, ws) = send(app.as_owner(Method::GET, &format!("/api/v1/workspaces/{slug}"))).await;
    assert_eq!(status, StatusCode::OK, "{ws}");
    ws["id"].as_str().expect("id").to_owned()
}

async fn a_scoped_token_is_limited_to_its_workspaces_permissions_and_resources(app: TestApp) {
    let scoped = scoped_owner_token(&app).await;
    let acme = workspace_id(&app, "acme").await;
    assert_eq!(
        scoped["scope"],
        json!({"workspaces": [acme], "permissions": ["devices:read"], "resources": ["device:abc"]})
    );
    let t = secret(&scoped);

    let ok = verify(&app, t, "acme", "devices:read", Some("device:abc")).await;
    assert_eq!(
        (ok["valid"].clone(), ok["code"].clone()),
        (json!(true), json!("ok")),
        "{ok}"
    );
    assert_eq!(ok["permissions"], json!(["devices:read"]));
    let other = verify(&app, t, "acme", "devices:read", Some("device:xyz")).await;
    assert_eq!(other["code"], "forbidden");
    assert_eq!(other["missing"], "device:xyz");
    let write = verify(&app, t, "acme", "devices:write", Some("device:abc")).await;
    assert_eq!(write["code"], "forbidden");
    assert_eq!(write["missing"], "devices:write");
    let lab = verify(&app, t, "lab", "devices:read", Some("device:abc")).await;
    assert_eq!(lab["code"], "not_a_member", "{lab}");
    assert_eq!(lab["valid"], false);
    // The same questions with the unscoped personal token are all yes.
    for (ws, permission, resource) in [
        ("acme", "devices:read", "device:xyz"),
        ("acme", "devices:write", "device:abc"),
        ("lab", "devices:read", "device:abc"),
    ] {
        let body = verify(&app, &app.owner.token, ws, permission, Some(resource)).await;
        assert_eq!(body["code"], "ok", "{ws} {permission} {resource}");
    }

    // The token only sees the workspaces of its scope.
    let (status, me) = send(app.with_token(t, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let slugs = strings(&me["workspaces"], "slug");
    assert_eq!(slugs, ["acme"]);
    let (_, listed) = send(app.as_owner(
        Method::GET,
        &format!("/api/v1/tokens/{}", scoped["id"].as_str().expect("id")),
    ))
    .await;
    assert_eq!(listed["scope"], scoped["scope"]);
}

async fn a_scope_names_only_workspaces_the_user_is_in(app: TestApp) {
    app.persona("other@example.com", Some("beta")).await;
    for workspaces in [
        json!(["beta"]),
        json!(["acme", "nope"]),
        json!(["0190b5a6-8e1f-7c5a-9b8e-0a1b2c3d4e5f"]),
    ] {
        let got = send(
            app.as_owner(Method::POST, "/api/v1/tokens")
                .json(&json!({"scope": {"workspaces": workspaces}})),
        )
        .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "scope", "{workspaces}");
    }
    // By id works as well as by slug.
    let acme = workspace_id(&app, "acme").await;
    let by_id = app
        .create_token(json!({"scope": {"workspaces": [acme]}}))
        .await;
    assert_eq!(by_id["scope"]["workspaces"], json!([acme]));
    let (_, list) = send(app.as_owner(Method::GET, "/api/v1/tokens")).await;
    assert_eq!(
        list["tokens"].as_array().map(Vec::len),
        Some(2),
        "nothing else was created"
    );
}

async fn a_scope_asks_only_for_what_the_user_holds(app: TestApp) {
    let vera = viewer(&app, "vera@example.com").await;
    let ask = |scope: Value| {
        app.with_token(&vera.token, Method::POST, "/api/v1/tokens")
            .json(&json!({"scope": scope}))
    };
    for (scope, named) in [
        (json!({"permissions": ["devices:write"]}), "devices:write"),
        (
            json!({"permissions": ["devices:read", "members:manage"]}),
            "members:manage",
        ),
        (json!({"workspaces": ["acme"], "permissions": ["*"]}), "`*`"),
    ] {
        let got = send(ask(scope.clone())).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "scope");
        let message = got.1["error"]["message"].as_str().expect("message");
        assert!(message.contains(named), "{scope}: {message}");
    }
    // Within what a viewer holds, it works.
    let (status, ok) = send(ask(json!({"permissions": ["devices:read"]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{ok}");
    app.remember(secret(&ok));

    // A member limited to some resources cannot ask for others.
    let (status, _) = send(
        app.as_owner(
            Method::PATCH,
            &format!("/api/v1/workspaces/acme/members/{}", vera.id),
        )
        .json(&json!({"grants": ["device:abc"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let got = send(ask(json!({"resources": ["device:xyz"]}))).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(got.1["error"]["field"], "scope");
    assert!(
        got.1["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("device:xyz"))
    );
    let (status, ok) = send(ask(json!({"resources": ["device:abc"]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{ok}");
    app.remember(secret(&ok));

    for bad in [
        json!({"permissions": ["not a permission"]}),
        json!({"resources": ["bad resource"]}),
    ] {
        let got = send(ask(bad)).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    }
}

async fn a_scoped_token_cannot_reach_management_outside_its_scope(app: TestApp) {
    let scoped = scoped_owner_token(&app).await;
    let t = secret(&scoped);
    for path in [
        "/api/v1/workspaces/lab",
        "/api/v1/workspaces/lab/members",
        "/api/v1/workspaces/lab/roles",
        "/api/v1/workspaces/lab/audit",
    ] {
        let got = send(app.with_token(t, Method::GET, path)).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
    let got = send(
        app.with_token(t, Method::PATCH, "/api/v1/workspaces/lab")
            .json(&json!({"name": "taken over"})),
    )
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(app.with_token(t, Method::DELETE, "/api/v1/workspaces/lab")).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    // In acme, its permissions are only `devices:read`: management is out of reach.
    for (method, path, permission) in [
        (
            Method::GET,
            "/api/v1/workspaces/acme/api-users",
            "api_users:manage",
        ),
        (Method::GET, "/api/v1/workspaces/acme/audit", "audit:read"),
        (
            Method::GET,
            "/api/v1/workspaces/acme/invitations",
            "members:manage",
        ),
    ] {
        let got = send(app.with_token(t, method, path)).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(got.1["error"]["permission"], permission);
    }
    let got = send(
        app.with_token(t, Method::POST, "/api/v1/workspaces/acme/roles")
            .json(&json!({"name": "sneaky", "permissions": ["devices:read"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(got.1["error"]["permission"], "roles:manage");
    let got = send(app.with_token(t, Method::DELETE, "/api/v1/workspaces/acme")).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let (status, lab) = send(app.as_owner(Method::GET, "/api/v1/workspaces/lab")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lab["name"], "lab");
}

async fn tokens_made_by_a_scoped_token_inherit_its_scope(app: TestApp) {
    let scoped = scoped_owner_token(&app).await;
    let t = secret(&scoped);
    let (status, child) = send(
        app.with_token(t, Method::POST, "/api/v1/tokens")
            .json(&json!({"name": "child"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    app.remember(secret(&child));
    assert_eq!(child["scope"], scoped["scope"]);
    let c = secret(&child);
    assert_eq!(
        verify(&app, c, "acme", "devices:read", Some("device:abc")).await["code"],
        "ok"
    );
    assert_eq!(
        verify(&app, c, "acme", "devices:write", Some("device:abc")).await["code"],
        "forbidden"
    );
    assert_eq!(
        verify(&app, c, "acme", "devices:read", Some("device:xyz")).await["code"],
        "forbidden"
    );
    assert_eq!(
        verify(&app, c, "lab", "devices:read", None).await["code"],
        "not_a_member"
    );

    // Narrowing one dimension keeps the others inherited.
    let (status, narrower) = send(
        app.with_token(t, Method::POST, "/api/v1/tokens")
            .json(&json!({"scope": {"resources": ["device:abc"]}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{narrower}");
    app.remember(secret(&narrower));
    assert_eq!(narrower["scope"], scoped["scope"]);

    // A scoped token cannot widen what it passes on.
    for scope in [
        json!({"permissions": ["devices:write"]}),
        json!({"workspaces": ["lab"]}),
        json!({"resources": ["device:xyz"]}),
    ] {
        let got = send(
            app.with_token(t, Method::POST, "/api/v1/tokens")
                .json(&json!({"scope": scope})),
        )
        .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "scope", "{scope}");
    }
}

async fn a_scoped_token_rotates_only_itself(app: TestApp) {
    let scoped = scoped_owner_token(&app).await;
    let plain = app.create_token(json!({"name": "plain"})).await;
    let t = secret(&scoped);
    let plain_id = plain["id"].as_str().expect("id");

    let got = app
        .post_as(t, &format!("/api/v1/tokens/{plain_id}/rotate"))
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = send(app.with_token(t, Method::POST, "/api/v1/auth/personal-token/refresh")).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    // Nothing was rotated.
    for token in [secret(&plain), app.owner.token.as_str()] {
        let (status, _) = send(app.with_token(token, Method::GET, "/api/v1/auth/me")).await;
        assert_eq!(status, StatusCode::OK);
    }

    let scoped_id = scoped["id"].as_str().expect("id");
    let (status, rotated) = app
        .post_as(t, &format!("/api/v1/tokens/{scoped_id}/rotate"))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    app.remember(secret(&rotated));
    assert_eq!(rotated["scope"], scoped["scope"]);
    let got = send(app.with_token(t, Method::GET, "/api/v1/auth/me")).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "invalid_token");
    let body = verify(&app, secret(&rotated), "acme", "devices:write", None).await;
    assert_eq!(body["code"], "forbidden", "the new secret keeps the scope");
}

async fn personal_and_plain_tokens_have_no_scope(app: TestApp) {
    scoped_owner_token(&app).await;
    app.create_token(json!({"name": "plain"})).await;
    let (status, list) = send(app.as_owner(Method::GET, "/api/v1/tokens")).await;
    assert_eq!(status, StatusCode::OK);
    let tokens = list["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 3);
    for t in tokens {
        match t["name"].as_str() {
            Some("scoped") => assert!(t["scope"].is_object(), "{t}"),
            _ => assert!(t["scope"].is_null(), "{t}"),
        }
    }
    let personal = tokens
        .iter()
        .find(|t| t["kind"] == "personal")
        .expect("personal token listed");
    assert!(
        personal.get("scope").is_some_and(Value::is_null),
        "{personal}"
    );
    let body = verify(&app, &app.owner.token, "lab", "anything:at-all", None).await;
    assert_eq!(body["code"], "ok");
}

async fn a_scoped_token_hands_out_no_more_than_its_scope(app: TestApp) {
    let manager = app
        .create_token(json!({
            "name": "bot-manager",
            "scope": {
                "workspaces": ["acme"],
                "permissions": ["api_users:manage", "members:manage", "teams:manage", "devices:read"],
                "resources": ["device:abc"],
            },
        }))
        .await;
    let t = secret(&manager);
    let post = |path: &str, body: Value| {
        app.with_token(t, Method::POST, &format!("/api/v1/workspaces/acme/{path}"))
            .json(&body)
    };
    // The owner holds everything, but this token does not.
    for (path, body) in [
        (
            "api-users",
            json!({"name": "bot", "roles": ["viewer"], "grants": ["device:abc"]}),
        ),
        ("api-users", json!({"name": "bot", "grants": []})),
        (
            "members",
            json!({"email": "x@example.com", "roles": ["admin"], "grants": ["device:abc"]}),
        ),
        (
            "members",
            json!({"email": "x@example.com", "roles": [], "grants": []}),
        ),
        ("teams", json!({"name": "crew", "roles": ["member"]})),
    ] {
        let got = send(post(path, body.clone())).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
        assert!(
            got.1["error"]["message"].as_str().is_some(),
            "{path} {body}"
        );
    }
    let (_, bots) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/api-users")).await;
    assert_eq!(bots["api_users"], json!([]));

    // Within the scope it works.
    let (status, role) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/roles")
            .json(&json!({"name": "reader", "permissions": ["devices:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let (status, bot) = send(post(
        "api-users",
        json!({"name": "bot", "roles": ["reader"], "grants": ["device:abc"]}),
    ))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{bot}");
    app.remember(secret(&bot["token"]));
    let body = verify(
        &app,
        secret(&bot["token"]),
        "acme",
        "devices:read",
        Some("device:abc"),
    )
    .await;
    assert_eq!(body["code"], "ok");
}

/// Each request thread keeps the identity part of the verify answers it wrote, per token: tokens
/// of other users, and a narrower token of the same user, asked about in turn on the same
/// connections, are each answered with their own user, token and permissions every time.
async fn callers_alternating_on_one_server_are_each_answered_as_themselves(app: TestApp) {
    let scoped = scoped_owner_token(&app).await;
    let ivy = viewer(&app, "ivy@example.com").await;
    let callers = [
        (app.owner.token.clone(), app.owner.id),
        (secret(&scoped).to_owned(), app.owner.id),
        (ivy.token.clone(), ivy.id),
    ];
    let mut first: Vec<Value> = Vec::new();
    for round in 0..20 {
        for (i, (token, user)) in callers.iter().enumerate() {
            let answer = verify(&app, token, "acme", "devices:read", Some("device:abc")).await;
            assert_eq!(answer["user"]["id"], user.to_string(), "{answer}");
            if round == 0 {
                first.push(answer);
            } else {
                assert_eq!(answer, first[i], "round {round}");
            }
        }
    }
    let token_ids: Vec<&Value> = first.iter().map(|a| &a["token_id"]).collect();
    assert_eq!(token_ids[1], &scoped["id"]);
    assert!(token_ids[0] != token_ids[1] && token_ids[1] != token_ids[2]);
    // The narrower token of the same user holds only its scope's permission.
    assert_eq!(
        first[1]["permissions"],
        json!(["devices:read"]),
        "{}",
        first[1]
    );
    assert!(
        first[0]["permissions"] != first[1]["permissions"],
        "{}",
        first[0]
    );
    assert!(
        first[2]["permissions"] != first[0]["permissions"],
        "{}",
        first[2]
    );
}
