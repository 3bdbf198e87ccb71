//! The whole authorization story, end to end through HTTP: a workspace, an invited viewer, an API
//! user limited to one device, a team that adds a permission, the public role, tenant isolation
//! and the audit log that records every step.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_decision, assert_error, backend_tests, fetch_text, send, strings,
};

backend_tests!(an_api_user_gets_exactly_the_rights_it_is_given);

async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    send(app.as_owner(Method::POST, path).json(&body)).await
}

async fn an_api_user_gets_exactly_the_rights_it_is_given(app: TestApp) {
    // The owner creates a workspace.
    let (status, ws) = post(
        &app,
        "/api/v1/workspaces",
        json!({"slug": "iot", "name": "IoT"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");

    // ... invites a person as viewer, who accepts and signs in with their new token.
    let (status, invited) = post(
        &app,
        "/api/v1/workspaces/iot/members",
        json!({"email": "vera@example.com", "roles": ["viewer"]}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{invited}");
    let code = invited["code"].as_str().expect("code");
    assert!(invited["accept_url"].as_str().expect("url").ends_with(code));
    let (status, accepted) = send(
        app.anonymous(Method::POST, &format!("/api/v1/invitations/{code}/accept"))
            .json(&json!({"password": "a long passphrase"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    let vera = accepted["token"]
        .as_str()
        .expect("personal token")
        .to_owned();
    app.remember(&vera);
    let (_, me) = send(app.with_token(&vera, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(me["workspaces"][0]["slug"], "iot");
    assert_eq!(me["workspaces"][0]["roles"], json!(["viewer"]));
    // A viewer reads but does not manage.
    let got = send(
        app.with_token(&vera, Method::POST, "/api/v1/workspaces/iot/roles")
            .json(&json!({"name": "x", "permissions": []})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(got.1["error"]["permission"], "roles:manage");

    // ... creates a role and an API user with it, limited to device abc.
    for (name, permission) in [
        ("device-reader", "devices:read"),
        ("measurement-reader", "measurements:read"),
    ] {
        let (status, role) = post(
            &app,
            "/api/v1/workspaces/iot/roles",
            json!({"name": name, "description": "test", "permissions": [permission]}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{role}");
    }
    let (status, api_user) = post(
        &app,
        "/api/v1/workspaces/iot/api-users",
        json!({"name": "ingest", "description": "sensor gateway", "roles": ["device-reader"], "grants": ["device:abc"], "teams": []}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{api_user}");
    let api_user_id = api_user["id"].as_str().expect("id").to_owned();
    let token = api_user["token"]["token"]
        .as_str()
        .expect("kga_ token")
        .to_owned();
    assert!(token.starts_with("kga_"));
    app.remember(&token);

    // ... and a team that adds measurements:read, with the API user in it.
    let (status, team) = post(
        &app,
        "/api/v1/workspaces/iot/teams",
        json!({"name": "sensors", "roles": ["measurement-reader"], "members": [api_user_id]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team_id = team["id"].as_str().expect("team id").to_owned();

    let ask = |permission: &str, resource: &str| json!({"token": token, "workspace": "iot", "permission": permission, "resource": resource});
    assert_decision(
        &app.verify(ask("devices:read", "device:abc")).await,
        "ok",
        None,
    );
    assert_decision(
        &app.verify(ask("devices:read", "device:xyz")).await,
        "forbidden",
        Some("device:xyz"),
    );
    assert_decision(
        &app.verify(ask("devices:write", "device:abc")).await,
        "forbidden",
        Some("devices:write"),
    );
    assert_decision(
        &app.verify(ask("measurements:read", "device:abc")).await,
        "ok",
        None,
    );

    // Taking the role from the team takes effect on the next call.
    let (status, _) = send(
        app.as_owner(
            Method::PATCH,
            &format!("/api/v1/workspaces/iot/teams/{team_id}"),
        )
        .json(&json!({"roles": []})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_decision(
        &app.verify(ask("measurements:read", "device:abc")).await,
        "forbidden",
        Some("measurements:read"),
    );

    // The public role: closed, opened to devices:read, closed again.
    let anonymous =
        json!({"workspace": "iot", "permission": "devices:read", "resource": "device:demo"});
    assert_decision(
        &app.verify(anonymous.clone()).await,
        "forbidden",
        Some("devices:read"),
    );
    let (status, public) = send(
        app.as_owner(Method::PUT, "/api/v1/workspaces/iot/roles/public")
            .json(&json!({"permissions": ["devices:read"], "grants": []})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{public}");
    assert_decision(&app.verify(anonymous.clone()).await, "ok", None);
    let (status, _) = send(
        app.as_owner(Method::PUT, "/api/v1/workspaces/iot/roles/public")
            .json(&json!({"permissions": []})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_decision(
        &app.verify(anonymous).await,
        "forbidden",
        Some("devices:read"),
    );

    // Tenant isolation: the API user's token, and the owner's, see nothing of another tenant.
    let other = app.persona("bob@example.com", Some("bobs")).await;
    let (_, bob_role) = send(
        app.with_token(&other.token, Method::POST, "/api/v1/workspaces/bobs/roles")
            .json(&json!({"name": "bobs-role", "permissions": ["devices:read"]})),
    )
    .await;
    assert_eq!(bob_role["name"], "bobs-role");
    for path in [
        "/api/v1/workspaces/bobs",
        "/api/v1/workspaces/bobs/members",
        "/api/v1/workspaces/bobs/roles",
        "/api/v1/workspaces/bobs/roles/bobs-role",
        "/api/v1/workspaces/bobs/teams",
        "/api/v1/workspaces/bobs/api-users",
        "/api/v1/workspaces/bobs/audit",
        "/api/v1/workspaces/bobs/invitations",
    ] {
        for t in [&token, &app.owner.token] {
            let got = send(app.with_token(t, Method::GET, path)).await;
            assert_error(&got, StatusCode::NOT_FOUND, "not_found");
        }
    }
    let (_, answer) = send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&json!({"token": token, "workspace": "bobs", "permission": "devices:read"})),
    )
    .await;
    assert_decision(&answer, "not_a_member", None);

    // Revoking the API user's token stops it at once.
    let token_id = api_user["token"]["id"].as_str().expect("token id");
    let (status, _) = send(app.as_owner(
        Method::DELETE,
        &format!("/api/v1/workspaces/iot/api-users/{api_user_id}/tokens/{token_id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_decision(
        &app.verify(ask("devices:read", "device:abc")).await,
        "token_revoked",
        None,
    );

    // The audit log lists every step, as JSON and as CSV fetched with the token in the URL.
    let (status, log) =
        send(app.as_owner(Method::GET, "/api/v1/workspaces/iot/audit?limit=100")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let actions = strings(&log["events"], "action");
    let expected = [
        "workspace.created",
        "member.invited",
        "invitation.accepted",
        "role.created",
        "role.created",
        "api_user.created",
        "team.created",
        "team.updated",
        "public_role.updated",
        "public_role.updated",
        "token.revoked",
    ];
    let mut chronological = actions.clone();
    chronological.reverse();
    assert_eq!(chronological, expected);
    for event in log["events"].as_array().expect("events") {
        assert!(
            !event["time"].is_null() && !event["target_type"].is_null(),
            "{event}"
        );
        if event["action"] != "invitation.accepted" {
            assert_eq!(event["actor"], app.owner.email, "{event}");
            assert_eq!(event["client_ip"], "127.0.0.1", "{event}");
        }
    }
    let response = fetch_text(app.anonymous(
        Method::GET,
        &format!(
            "/api/v1/workspaces/iot/audit?format=csv&api_token={}",
            app.owner.token
        ),
    ))
    .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("content-type").starts_with("text/csv"));
    let csv = response.body;
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("id,time,action,actor"))
    );
    assert_eq!(lines.count(), expected.len());
    for action in expected {
        assert!(csv.contains(&format!(",{action},")), "{action} in CSV");
    }
}
