//! Tenant isolation (SPEC §8): nothing in workspace B is visible or changeable with a token that
//! has no role in B, whether B is named in the path or B's ids are slipped under A's path.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Persona, TestApp, assert_error, backend_tests, send, strings};

backend_tests!(
    every_path_into_another_workspace_is_not_found,
    another_workspaces_ids_are_not_found_under_ones_own,
    verify_answers_not_a_member_for_another_workspace,
);

/// What workspace B (`beta`, owned by another persona) holds.
struct Beta {
    owner: Persona,
    id: String,
    member: Persona,
    team: String,
    api_user: String,
    api_token: String,
    api_token_secret: String,
    invitation: String,
}

/// Workspace `beta` with a member, a custom role, a team, an API user with a token and a pending
/// invitation, all made by its own owner.
async fn beta(app: &TestApp) -> Beta {
    let owner = app.persona("bea@example.com", Some("beta")).await;
    let member = app.persona("bert@example.com", None).await;
    let as_bea = |method: Method, path: &str| app.with_token(&owner.token, method, path);
    let created = |got: (StatusCode, Value), status: StatusCode| {
        assert_eq!(got.0, status, "{}", got.1);
        got.1
    };

    let ws = created(
        send(as_bea(Method::GET, "/api/v1/workspaces/beta")).await,
        StatusCode::OK,
    );
    app.add_member(
        &owner.token,
        "beta",
        json!({"email": "bert@example.com", "roles": ["viewer"]}),
        &member,
    )
    .await;
    let invited = created(
        send(
            as_bea(Method::POST, "/api/v1/workspaces/beta/members")
                .json(&json!({"email": "pending@example.com", "roles": ["viewer"]})),
        )
        .await,
        StatusCode::ACCEPTED,
    );
    created(
        send(
            as_bea(Method::POST, "/api/v1/workspaces/beta/roles")
                .json(&json!({"name": "b-role", "permissions": ["devices:read"]})),
        )
        .await,
        StatusCode::CREATED,
    );
    let team = created(
        send(
            as_bea(Method::POST, "/api/v1/workspaces/beta/teams")
                .json(&json!({"name": "b-team", "roles": ["b-role"], "members": [member.id]})),
        )
        .await,
        StatusCode::CREATED,
    );
    let bot = created(
        send(
            as_bea(Method::POST, "/api/v1/workspaces/beta/api-users")
                .json(&json!({"name": "b-bot", "roles": ["viewer"]})),
        )
        .await,
        StatusCode::CREATED,
    );
    let secret = bot["token"]["token"].as_str().expect("token").to_owned();
    app.remember(&secret);
    Beta {
        id: ws["id"].as_str().expect("id").to_owned(),
        member,
        team: team["id"].as_str().expect("id").to_owned(),
        api_user: bot["id"].as_str().expect("id").to_owned(),
        api_token: bot["token"]["id"].as_str().expect("id").to_owned(),
        api_token_secret: secret,
        invitation: invited["invitation"]["id"].as_str().expect("id").to_owned(),
        owner,
    }
}

/// The requests on B's API user at `bot` (its path) and on its token.
fn api_user_requests(bot: &str, b: &Beta) -> Vec<(Method, String, Option<Value>)> {
    let token = format!("{bot}/tokens/{}", b.api_token);
    vec![
        (Method::GET, bot.to_owned(), None),
        (
            Method::PATCH,
            bot.to_owned(),
            Some(json!({"disabled": true})),
        ),
        (Method::DELETE, bot.to_owned(), None),
        (Method::GET, format!("{bot}/tokens"), None),
        (Method::POST, format!("{bot}/tokens"), Some(json!({}))),
        (Method::DELETE, token.clone(), None),
        (Method::POST, format!("{token}/rotate"), None),
        (
            Method::POST,
            format!("{token}/rotate"),
            Some(json!({"grace_seconds": 3600})),
        ),
    ]
}

/// Asserts that each request, as A's owner, is a 404 `not_found`.
async fn all_not_found(app: &TestApp, requests: Vec<(Method, String, Option<Value>)>) {
    for (method, path, body) in requests {
        let mut request = app.as_owner(method.clone(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let got = send(request).await;
        assert_eq!(got.0, StatusCode::NOT_FOUND, "{method} {path}: {}", got.1);
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
}

/// Asserts that B is exactly as its owner made it.
async fn beta_is_untouched(app: &TestApp, b: &Beta) {
    let as_bea = |path: &str| app.with_token(&b.owner.token, Method::GET, path);
    let (status, ws) = send(as_bea("/api/v1/workspaces/beta")).await;
    assert_eq!(status, StatusCode::OK, "{ws}");
    assert_eq!(ws["name"], "beta");
    let (_, members) = send(as_bea("/api/v1/workspaces/beta/members")).await;
    assert_eq!(
        members["members"].as_array().map(Vec::len),
        Some(2),
        "{members}"
    );
    let (_, bert) = send(as_bea(&format!(
        "/api/v1/workspaces/beta/members/{}",
        b.member.id
    )))
    .await;
    assert_eq!(bert["roles"], json!(["viewer"]));
    let (_, role) = send(as_bea("/api/v1/workspaces/beta/roles/b-role")).await;
    assert_eq!(role["permissions"], json!(["devices:read"]));
    let (_, public) = send(as_bea("/api/v1/workspaces/beta/roles/public")).await;
    assert_eq!(public["permissions"], json!([]));
    let (_, team) = send(as_bea(&format!("/api/v1/workspaces/beta/teams/{}", b.team))).await;
    assert_eq!(team["name"], "b-team");
    assert_eq!(team["members"], json!([b.member.id]));
    let (_, bot) = send(as_bea(&format!(
        "/api/v1/workspaces/beta/api-users/{}",
        b.api_user
    )))
    .await;
    assert_eq!(bot["name"], "b-bot");
    assert_eq!(bot["disabled"], false);
    let (_, invitations) = send(as_bea("/api/v1/workspaces/beta/invitations")).await;
    assert_eq!(invitations["invitations"][0]["id"], b.invitation.as_str());
    let (status, me) =
        send(app.with_token(&b.api_token_secret, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK, "B's API token still works: {me}");
    // Nothing A tried shows up in B's audit log as A.
    let (_, audit) = send(as_bea("/api/v1/workspaces/beta/audit?limit=500")).await;
    let owner_id = app.owner.id.to_string();
    assert!(
        audit["events"]
            .as_array()
            .expect("events")
            .iter()
            .all(|e| e["actor_id"] != owner_id.as_str()),
        "{audit}"
    );
}

async fn every_path_into_another_workspace_is_not_found(app: TestApp) {
    let b = beta(&app).await;
    let mut requests = Vec::new();
    for ws in ["beta".to_owned(), b.id.clone()] {
        let w = format!("/api/v1/workspaces/{ws}");
        let bot = format!("{w}/api-users/{}", b.api_user);
        let team = format!("{w}/teams/{}", b.team);
        let member = b.member.id;
        requests.extend([
            (Method::GET, w.clone(), None),
            (Method::PATCH, w.clone(), Some(json!({"name": "pwned"}))),
            (Method::DELETE, w.clone(), None),
            (Method::GET, format!("{w}/members"), None),
            (
                Method::POST,
                format!("{w}/members"),
                Some(json!({"email": "spy@example.com", "roles": ["admin"]})),
            ),
            (Method::GET, format!("{w}/members/{member}"), None),
            (
                Method::PATCH,
                format!("{w}/members/{member}"),
                Some(json!({"roles": ["admin"]})),
            ),
            (Method::DELETE, format!("{w}/members/{member}"), None),
            (Method::GET, format!("{w}/roles"), None),
            (
                Method::POST,
                format!("{w}/roles"),
                Some(json!({"name": "spy", "permissions": ["*"]})),
            ),
            (Method::GET, format!("{w}/roles/b-role"), None),
            (
                Method::PUT,
                format!("{w}/roles/b-role"),
                Some(json!({"permissions": ["*"]})),
            ),
            (Method::DELETE, format!("{w}/roles/b-role"), None),
            (
                Method::PUT,
                format!("{w}/roles/public"),
                Some(json!({"permissions": ["devices:read"]})),
            ),
            (Method::GET, format!("{w}/teams"), None),
            (
                Method::POST,
                format!("{w}/teams"),
                Some(json!({"name": "spies"})),
            ),
            (Method::GET, team.clone(), None),
            (Method::GET, format!("{w}/teams/b-team"), None),
            (
                Method::PATCH,
                team.clone(),
                Some(json!({"roles": ["admin"]})),
            ),
            (Method::DELETE, team.clone(), None),
            (Method::PUT, format!("{team}/members/{member}"), None),
            (Method::DELETE, format!("{team}/members/{member}"), None),
            (Method::GET, format!("{w}/api-users"), None),
            (
                Method::POST,
                format!("{w}/api-users"),
                Some(json!({"name": "spy-bot", "roles": ["admin"]})),
            ),
        ]);
        requests.extend(api_user_requests(&bot, &b));
        requests.extend([
            (Method::GET, format!("{w}/audit"), None),
            (Method::GET, format!("{w}/audit?format=csv"), None),
            (Method::GET, format!("{w}/invitations"), None),
            (
                Method::DELETE,
                format!("{w}/invitations/{}", b.invitation),
                None,
            ),
        ]);
    }
    all_not_found(&app, requests).await;
    // A workspace that does not exist answers the same.
    let missing = Uuid::now_v7();
    all_not_found(
        &app,
        vec![
            (
                Method::GET,
                "/api/v1/workspaces/gamma/members".to_owned(),
                None,
            ),
            (
                Method::GET,
                format!("/api/v1/workspaces/{missing}/roles"),
                None,
            ),
        ],
    )
    .await;
    let (_, list) = send(app.as_owner(Method::GET, "/api/v1/workspaces")).await;
    assert_eq!(
        list["workspaces"].as_array().map(Vec::len),
        Some(1),
        "{list}"
    );
    beta_is_untouched(&app, &b).await;
}

async fn another_workspaces_ids_are_not_found_under_ones_own(app: TestApp) {
    let b = beta(&app).await;
    let a_bot = app
        .create_api_user(json!({"name": "a-bot", "roles": ["viewer"]}))
        .await;
    let a_bot = a_bot["id"].as_str().expect("id");

    let w = "/api/v1/workspaces/acme";
    let mut requests = Vec::new();
    for user in [b.member.id, b.owner.id] {
        requests.extend([
            (Method::GET, format!("{w}/members/{user}"), None),
            (
                Method::PATCH,
                format!("{w}/members/{user}"),
                Some(json!({"roles": ["viewer"]})),
            ),
            (Method::DELETE, format!("{w}/members/{user}"), None),
        ]);
    }
    let bot = format!("{w}/api-users/{}", b.api_user);
    requests.extend([
        (Method::GET, format!("{w}/teams/{}", b.team), None),
        (Method::GET, format!("{w}/teams/b-team"), None),
        (
            Method::PATCH,
            format!("{w}/teams/{}", b.team),
            Some(json!({"name": "mine"})),
        ),
        (Method::DELETE, format!("{w}/teams/{}", b.team), None),
        (
            Method::PUT,
            format!("{w}/teams/{}/members/{}", b.team, b.member.id),
            None,
        ),
        (Method::GET, format!("{w}/roles/b-role"), None),
        (
            Method::PUT,
            format!("{w}/roles/b-role"),
            Some(json!({"permissions": ["devices:read"]})),
        ),
        (Method::DELETE, format!("{w}/roles/b-role"), None),
    ]);
    requests.extend(api_user_requests(&bot, &b));
    requests.extend([
        // B's token under A's own API user.
        (
            Method::DELETE,
            format!("{w}/api-users/{a_bot}/tokens/{}", b.api_token),
            None,
        ),
        (
            Method::POST,
            format!("{w}/api-users/{a_bot}/tokens/{}/rotate", b.api_token),
            None,
        ),
        (
            Method::DELETE,
            format!("{w}/invitations/{}", b.invitation),
            None,
        ),
        // And among A's own tokens.
        (Method::GET, format!("/api/v1/tokens/{}", b.api_token), None),
        (
            Method::DELETE,
            format!("/api/v1/tokens/{}", b.api_token),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/tokens/{}/rotate", b.api_token),
            None,
        ),
    ]);
    all_not_found(&app, requests).await;
    // A's member listing does not mention B's people or API users.
    let (_, members) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/members")).await;
    let text = members.to_string();
    for foreign in [
        b.member.id.to_string(),
        b.owner.id.to_string(),
        b.api_user.clone(),
    ] {
        assert!(!text.contains(&foreign), "{text}");
    }
    // B's API token does not reach into A either.
    let got =
        send(app.with_token(&b.api_token_secret, Method::GET, "/api/v1/workspaces/acme")).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = app
        .get_as(&b.api_token_secret, "/api/v1/workspaces/acme/members")
        .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    beta_is_untouched(&app, &b).await;
}

async fn verify_answers_not_a_member_for_another_workspace(app: TestApp) {
    let b = beta(&app).await;
    for ws in ["beta", b.id.as_str()] {
        for permission in [None, Some("devices:read")] {
            let (status, body) = send(app.anonymous(Method::POST, "/api/v1/verify").json(&json!({
                "token": app.owner.token,
                "workspace": ws,
                "permission": permission,
            })))
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["valid"], false, "{body}");
            assert_eq!(body["code"], "not_a_member", "{body}");
            assert!(
                body["workspace"].is_null(),
                "B is not named back to A: {body}"
            );
            assert_eq!(body["permissions"], json!([]), "{body}");
            let slugs = strings(&body["workspaces"], "slug");
            assert_eq!(slugs, ["acme"]);
        }
    }
    // B's own member is answered yes, so the question itself was well-formed.
    let (_, yes) = send(app.anonymous(Method::POST, "/api/v1/verify").json(&json!({
        "token": b.member.token,
        "workspace": "beta",
        "permission": "devices:read",
    })))
    .await;
    assert_eq!(yes["code"], "ok", "{yes}");
    assert_eq!(yes["workspace"]["id"], b.id.as_str());
    let (_, check) = send(
        app.as_owner(Method::POST, "/api/v1/auth/check")
            .json(&json!({"workspace": "beta", "permission": "devices:read"})),
    )
    .await;
    assert_eq!(check["allowed"], false, "{check}");
    assert_eq!(check["code"], "not_a_member");
}
