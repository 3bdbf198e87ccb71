//! `/api/v1/workspaces/{ws}/api-users`: service accounts, their `kga_` tokens, and what
//! disabling or deleting one does to those tokens.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, acme_question, assert_error, backend_tests, send, strings};

backend_tests!(
    an_api_user_is_created_with_its_first_token,
    an_api_users_token_authenticates_as_the_api_user,
    api_users_are_listed_read_and_changed,
    more_tokens_are_issued_and_may_be_narrower,
    a_token_scope_cannot_exceed_the_api_user,
    token_listings_show_hints_only,
    a_revoked_api_user_token_stops_at_once,
    an_api_user_token_is_rotated,
    disabling_an_api_user_stops_every_token_until_enabled,
    deleting_an_api_user_kills_its_tokens,
    api_users_cannot_create_workspaces,
    api_users_are_not_members_and_members_are_not_api_users,
    managing_api_users_needs_api_users_manage,
    a_manager_cannot_take_a_token_worth_more_than_they_hold,
);

const API_USERS: &str = "/api/v1/workspaces/acme/api-users";

fn api_user_path(id: &str) -> String {
    format!("{API_USERS}/{id}")
}

/// Creates an API user as the owner; returns the 201 body, whose `token.token` is its secret.
async fn create_api_user(app: &TestApp, body: Value) -> Value {
    let (status, created) = send(app.as_owner(Method::POST, API_USERS).json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    app.remember(secret(&created["token"]));
    created
}

fn secret(token: &Value) -> &str {
    token["token"].as_str().expect("token in clear")
}

fn id(value: &Value) -> &str {
    value["id"].as_str().expect("id")
}

/// Issues another token for an API user as the owner.
async fn issue(app: &TestApp, api_user: &str, body: Value) -> (StatusCode, Value) {
    let got = send(
        app.as_owner(Method::POST, &format!("{}/tokens", api_user_path(api_user)))
            .json(&body),
    )
    .await;
    if got.0 == StatusCode::CREATED {
        app.remember(secret(&got.1));
    }
    got
}

/// The `/api/v1/verify` answer for `token` asking `permission` (on `resource`) in acme.
async fn verify(app: &TestApp, token: &str, permission: &str, resource: Option<&str>) -> Value {
    app.verify(acme_question(Some(token), permission, resource))
        .await
}

/// Asserts that `/api/v1/verify` refuses `token` `permission` on `resource`, naming what is
/// `missing`.
async fn assert_forbidden(
    app: &TestApp,
    token: &str,
    permission: &str,
    resource: &str,
    missing: &str,
) {
    let answer = verify(app, token, permission, Some(resource)).await;
    assert_eq!(answer["code"], "forbidden");
    assert_eq!(answer["missing"], missing);
}

/// Disables or enables an API user as the owner, and checks the answer says so.
async fn set_disabled(app: &TestApp, api_user: &str, disabled: bool) {
    let (status, body) = send(
        app.as_owner(Method::PATCH, &api_user_path(api_user))
            .json(&json!({ "disabled": disabled })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["disabled"], disabled);
}

async fn who_am_i(app: &TestApp, token: &str) -> (StatusCode, Value) {
    send(app.with_token(token, Method::GET, "/api/v1/auth/me")).await
}

async fn an_api_user_is_created_with_its_first_token(app: TestApp) {
    let (status, role) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/roles")
            .json(&json!({"name": "ingest", "permissions": ["measurements:write"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let (status, team) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/teams")
            .json(&json!({"name": "collectors"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");

    let created = create_api_user(
        &app,
        json!({
            "name": "ingest-bot",
            "description": "pushes measurements",
            "roles": ["ingest", "viewer"],
            "grants": ["device:*"],
            "teams": ["collectors"],
        }),
    )
    .await;
    assert!(Uuid::try_parse(id(&created)).is_ok());
    assert_eq!(created["name"], "ingest-bot");
    assert_eq!(created["description"], "pushes measurements");
    assert_eq!(created["disabled"], false);
    let mut roles: Vec<String> = serde_json::from_value(created["roles"].clone()).expect("roles");
    roles.sort();
    assert_eq!(roles, ["ingest", "viewer"]);
    assert_eq!(created["grants"], json!(["device:*"]));
    assert_eq!(
        created["teams"],
        json!([{"id": team["id"], "name": "collectors"}])
    );
    assert!(!created["created_at"].is_null());

    let token = &created["token"];
    let clear = secret(token);
    assert!(clear.starts_with("kga_"), "{clear}");
    assert_eq!(token["kind"], "api");
    assert_eq!(token["status"], "active");
    assert_eq!(token["name"], "default");
    assert!(token["scope"].is_null());
    assert_eq!(
        token["hint"],
        format!("{}…{}", &clear[..8], &clear[clear.len() - 4..])
    );

    // The team lists its new member.
    let (_, team_now) =
        send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/teams/collectors")).await;
    assert_eq!(team_now["members"], json!([created["id"]]));

    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x", "roles": ["nope"]}), "roles"),
        (json!({"name": "x", "roles": ["public"]}), "roles"),
        (json!({"name": "x", "grants": ["not a grant"]}), "grants"),
        (json!({"name": "x", "teams": ["no-such-team"]}), "teams"),
    ] {
        let got = send(app.as_owner(Method::POST, API_USERS).json(&body)).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], field, "{body}");
    }
    let (_, list) = send(app.as_owner(Method::GET, API_USERS)).await;
    assert_eq!(list["api_users"].as_array().map(Vec::len), Some(1));
}

async fn an_api_users_token_authenticates_as_the_api_user(app: TestApp) {
    let created = create_api_user(
        &app,
        json!({"name": "reader-bot", "roles": ["viewer"], "grants": ["device:abc"]}),
    )
    .await;
    let clear = secret(&created["token"]);
    let (status, me) = who_am_i(&app, clear).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["id"], created["id"]);
    assert_eq!(me["user"]["kind"], "api");
    assert!(me["user"]["email"].is_null());
    assert_eq!(me["user"]["display_name"], "reader-bot");
    assert_eq!(me["token"]["kind"], "api");
    assert_eq!(me["token"]["id"], created["token"]["id"]);
    assert_eq!(me["workspaces"].as_array().map(Vec::len), Some(1));
    assert_eq!(me["workspaces"][0]["slug"], "acme");
    assert_eq!(me["workspaces"][0]["roles"], json!(["viewer"]));

    assert_eq!(
        verify(&app, clear, "devices:read", Some("device:abc")).await["code"],
        "ok"
    );
    assert_forbidden(&app, clear, "devices:read", "device:xyz", "device:xyz").await;
    assert_forbidden(&app, clear, "devices:write", "device:abc", "devices:write").await;
}

async fn api_users_are_listed_read_and_changed(app: TestApp) {
    let a = create_api_user(&app, json!({"name": "alpha", "roles": ["viewer"]})).await;
    let b = create_api_user(&app, json!({"name": "beta"})).await;
    let (status, list) = send(app.as_owner(Method::GET, API_USERS)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed = list["api_users"].as_array().expect("api_users");
    let mut names: Vec<&str> = listed.iter().filter_map(|u| u["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["alpha", "beta"]);
    for u in listed {
        assert!(u.get("token").is_none(), "no secrets in listings: {u}");
    }

    let (status, one) = send(app.as_owner(Method::GET, &api_user_path(id(&a)))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["name"], "alpha");
    assert_eq!(one["roles"], json!(["viewer"]));
    assert!(one.get("token").is_none());

    let (status, changed) = send(app.as_owner(Method::PATCH, &api_user_path(id(&a))).json(
        &json!({
            "name": "alpha-2",
            "description": "renamed",
            "roles": ["member"],
            "grants": ["device:abc", "project:p1/*"],
        }),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "alpha-2");
    assert_eq!(changed["description"], "renamed");
    assert_eq!(changed["roles"], json!(["member"]));
    assert_eq!(changed["grants"], json!(["device:abc", "project:p1/*"]));
    let (_, again) = send(app.as_owner(Method::GET, &api_user_path(id(&a)))).await;
    assert_eq!(again, changed);

    // The token follows the change at once.
    let clear = secret(&a["token"]);
    assert_eq!(
        verify(&app, clear, "devices:write", Some("device:abc")).await["code"],
        "ok"
    );
    assert_eq!(
        verify(&app, clear, "devices:write", Some("device:zzz")).await["code"],
        "forbidden"
    );
    let (_, me) = who_am_i(&app, clear).await;
    assert_eq!(me["user"]["display_name"], "alpha-2");

    // A patch of one field keeps the rest.
    let (status, partial) = send(
        app.as_owner(Method::PATCH, &api_user_path(id(&a)))
            .json(&json!({"grants": []})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(partial["name"], "alpha-2");
    assert_eq!(partial["roles"], json!(["member"]));
    assert_eq!(partial["grants"], json!([]));

    let got = send(
        app.as_owner(Method::PATCH, &api_user_path(id(&b)))
            .json(&json!({"roles": ["nope"]})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(got.1["error"]["field"], "roles");
    let missing = Uuid::now_v7().to_string();
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "x"}))),
        (Method::DELETE, None),
    ] {
        let mut request = app.as_owner(method, &api_user_path(&missing));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let got = send(request).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
}

async fn more_tokens_are_issued_and_may_be_narrower(app: TestApp) {
    let bot = create_api_user(&app, json!({"name": "bot", "roles": ["member"]})).await;
    let (status, plain) = issue(
        &app,
        id(&bot),
        json!({"name": "second", "description": "for staging", "expires_in_days": 30}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{plain}");
    assert!(secret(&plain).starts_with("kga_"));
    assert_eq!(plain["kind"], "api");
    assert_eq!(plain["name"], "second");
    assert_eq!(plain["description"], "for staging");
    assert!(!plain["expires_at"].is_null());
    assert!(plain["scope"].is_null());
    let (status, me) = who_am_i(&app, secret(&plain)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["id"], bot["id"]);
    assert_eq!(
        verify(&app, secret(&plain), "devices:write", None).await["code"],
        "ok"
    );

    let (status, narrow) = issue(
        &app,
        id(&bot),
        json!({"name": "narrow", "scope": {"permissions": ["devices:read"], "resources": ["device:abc"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{narrow}");
    assert_eq!(narrow["scope"]["permissions"], json!(["devices:read"]));
    assert_eq!(narrow["scope"]["resources"], json!(["device:abc"]));
    let clear = secret(&narrow);
    assert_eq!(
        verify(&app, clear, "devices:read", Some("device:abc")).await["code"],
        "ok"
    );
    assert_forbidden(&app, clear, "devices:write", "device:abc", "devices:write").await;
    assert_forbidden(&app, clear, "devices:read", "device:other", "device:other").await;

    let got = issue(&app, id(&bot), json!({"expires_in_days": 0})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(got.1["error"]["field"], "expires_in_days");
}

async fn a_token_scope_cannot_exceed_the_api_user(app: TestApp) {
    let bot = create_api_user(
        &app,
        json!({"name": "bot", "roles": ["viewer"], "grants": ["device:*"]}),
    )
    .await;
    for scope in [
        json!({"permissions": ["devices:write"]}),
        json!({"permissions": ["devices:read", "*"]}),
        json!({"permissions": ["members:manage"]}),
        json!({"resources": ["sensor:1"]}),
        json!({"resources": ["*"]}),
    ] {
        let got = issue(&app, id(&bot), json!({"scope": scope})).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "scope", "{scope}");
    }
    let got = issue(&app, id(&bot), json!({"scope": {"permissions": ["bad"]}})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    // Only the first token exists.
    let (_, tokens) =
        send(app.as_owner(Method::GET, &format!("{}/tokens", api_user_path(id(&bot))))).await;
    assert_eq!(tokens["tokens"].as_array().map(Vec::len), Some(1));

    let (status, within) = issue(
        &app,
        id(&bot),
        json!({"scope": {"permissions": ["devices:read"], "resources": ["device:abc"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{within}");
}

async fn token_listings_show_hints_only(app: TestApp) {
    let bot = create_api_user(&app, json!({"name": "bot", "roles": ["viewer"]})).await;
    let (status, second) = issue(&app, id(&bot), json!({"name": "second"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, list) =
        send(app.as_owner(Method::GET, &format!("{}/tokens", api_user_path(id(&bot))))).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let tokens = list["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 2);
    let ids: Vec<&Value> = tokens.iter().map(|t| &t["id"]).collect();
    assert!(
        ids.contains(&&second["id"]) && ids.contains(&&bot["token"]["id"]),
        "{list}"
    );
    for t in tokens {
        assert_eq!(t["kind"], "api");
        assert!(t["hint"].as_str().is_some_and(|h| h.starts_with("kga_")));
        assert!(t.get("token").is_none(), "{t}");
    }
    let text = list.to_string();
    for clear in [secret(&bot["token"]), secret(&second)] {
        assert!(!text.contains(&clear[4..]), "secret in {text}");
    }
    // The owner's own token list does not mix them in.
    let (_, mine) = send(app.as_owner(Method::GET, "/api/v1/tokens")).await;
    assert_eq!(mine["tokens"].as_array().map(Vec::len), Some(1));
}

async fn a_revoked_api_user_token_stops_at_once(app: TestApp) {
    let bot = create_api_user(&app, json!({"name": "bot", "roles": ["viewer"]})).await;
    let (_, second) = issue(&app, id(&bot), json!({"name": "second"})).await;
    let path = format!("{}/tokens/{}", api_user_path(id(&bot)), id(&second));
    let (status, body) = send(app.as_owner(Method::DELETE, &path)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = who_am_i(&app, secret(&second)).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_revoked");
    assert_eq!(
        verify(&app, secret(&second), "devices:read", None).await["code"],
        "token_revoked"
    );
    // The other token is untouched.
    let (status, _) = who_am_i(&app, secret(&bot["token"])).await;
    assert_eq!(status, StatusCode::OK);

    let (_, list) =
        send(app.as_owner(Method::GET, &format!("{}/tokens", api_user_path(id(&bot))))).await;
    let revoked = list["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["id"] == second["id"])
        .expect("still listed");
    assert_eq!(revoked["status"], "revoked");
    assert!(!revoked["revoked_at"].is_null());
    // Again is fine; an unknown id is not.
    let (status, _) = send(app.as_owner(Method::DELETE, &path)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = send(app.as_owner(
        Method::DELETE,
        &format!("{}/tokens/{}", api_user_path(id(&bot)), Uuid::now_v7()),
    ))
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    // Another API user's token is not reachable through this one.
    let other = create_api_user(&app, json!({"name": "other", "roles": ["viewer"]})).await;
    let foreign = format!("{}/tokens/{}", api_user_path(id(&bot)), id(&other["token"]));
    let got = send(app.as_owner(Method::DELETE, &foreign)).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(app.as_owner(Method::POST, &format!("{foreign}/rotate"))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (status, _) = who_am_i(&app, secret(&other["token"])).await;
    assert_eq!(status, StatusCode::OK);
    // The owner's own tokens are not reachable through an API user.
    let (_, me_owner) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    let owner_token = me_owner["token"]["id"].as_str().expect("id");
    let got = send(app.as_owner(
        Method::DELETE,
        &format!("{}/tokens/{owner_token}", api_user_path(id(&bot))),
    ))
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn an_api_user_token_is_rotated(app: TestApp) {
    let bot = create_api_user(&app, json!({"name": "bot", "roles": ["viewer"]})).await;
    let old = secret(&bot["token"]);
    let path = format!(
        "{}/tokens/{}/rotate",
        api_user_path(id(&bot)),
        id(&bot["token"])
    );
    let (status, rotated) = send(app.as_owner(Method::POST, &path)).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = secret(&rotated);
    app.remember(new);
    assert!(new.starts_with("kga_"));
    assert_ne!(new, old);
    assert_eq!(rotated["id"], bot["token"]["id"]);
    assert_eq!(rotated["name"], "default");
    assert!(!rotated["rotated_at"].is_null());

    let got = who_am_i(&app, old).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "invalid_token");
    let (status, me) = who_am_i(&app, new).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["id"], bot["id"]);

    // A revoked token cannot be rotated.
    let (_, second) = issue(&app, id(&bot), json!({})).await;
    let token_path = format!("{}/tokens/{}", api_user_path(id(&bot)), id(&second));
    send(app.as_owner(Method::DELETE, &token_path)).await;
    let got = send(app.as_owner(Method::POST, &format!("{token_path}/rotate"))).await;
    assert_error(&got, StatusCode::CONFLICT, "token_revoked");
}

async fn disabling_an_api_user_stops_every_token_until_enabled(app: TestApp) {
    let bot = create_api_user(&app, json!({"name": "bot", "roles": ["viewer"]})).await;
    let (_, second) = issue(&app, id(&bot), json!({"name": "second"})).await;
    let tokens = [secret(&bot["token"]).to_owned(), secret(&second).to_owned()];
    for t in &tokens {
        assert_eq!(who_am_i(&app, t).await.0, StatusCode::OK);
    }

    set_disabled(&app, id(&bot), true).await;
    for t in &tokens {
        let got = who_am_i(&app, t).await;
        assert_error(&got, StatusCode::UNAUTHORIZED, "invalid_token");
        assert_eq!(
            verify(&app, t, "devices:read", None).await["code"],
            "invalid_token"
        );
    }
    let (_, listed) = send(app.as_owner(Method::GET, &api_user_path(id(&bot)))).await;
    assert_eq!(listed["disabled"], true);

    set_disabled(&app, id(&bot), false).await;
    for t in &tokens {
        let (status, body) = who_am_i(&app, t).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(verify(&app, t, "devices:read", None).await["code"], "ok");
    }
}

async fn deleting_an_api_user_kills_its_tokens(app: TestApp) {
    let bot = create_api_user(&app, json!({"name": "bot", "roles": ["viewer"]})).await;
    let (_, second) = issue(&app, id(&bot), json!({"name": "second"})).await;
    let (status, body) = send(app.as_owner(Method::DELETE, &api_user_path(id(&bot)))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for t in [secret(&bot["token"]), secret(&second)] {
        let got = who_am_i(&app, t).await;
        assert_error(&got, StatusCode::UNAUTHORIZED, "invalid_token");
        assert_eq!(verify(&app, t, "devices:read", None).await["valid"], false);
    }
    let got = send(app.as_owner(Method::GET, &api_user_path(id(&bot)))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(app.as_owner(Method::GET, &format!("{}/tokens", api_user_path(id(&bot))))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (_, list) = send(app.as_owner(Method::GET, API_USERS)).await;
    assert_eq!(list["api_users"], json!([]));
    let got = send(app.as_owner(Method::DELETE, &api_user_path(id(&bot)))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn api_users_cannot_create_workspaces(app: TestApp) {
    let bot = create_api_user(&app, json!({"name": "bot", "roles": ["admin"]})).await;
    let got = send(
        app.with_token(secret(&bot["token"]), Method::POST, "/api/v1/workspaces")
            .json(&json!({"slug": "bot-land"})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let (_, list) =
        send(app.with_token(secret(&bot["token"]), Method::GET, "/api/v1/workspaces")).await;
    let slugs = strings(&list["workspaces"], "slug");
    assert_eq!(slugs, ["acme"]);
}

async fn api_users_are_not_members_and_members_are_not_api_users(app: TestApp) {
    let bot = create_api_user(&app, json!({"name": "bot", "roles": ["viewer"]})).await;
    let member_path = format!("/api/v1/workspaces/acme/members/{}", id(&bot));
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"roles": ["admin"]}))),
        (Method::DELETE, None),
    ] {
        let mut request = app.as_owner(method, &member_path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let got = send(request).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
    let (_, members) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/members")).await;
    assert!(
        !members.to_string().contains(id(&bot)),
        "API users are listed apart: {members}"
    );
    // And a person is not reachable as an API user.
    let owner = app.owner.id.to_string();
    let got = send(app.as_owner(Method::GET, &api_user_path(&owner))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(app.as_owner(Method::GET, &format!("{}/tokens", api_user_path(&owner)))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(
        app.as_owner(Method::PATCH, &api_user_path(&owner))
            .json(&json!({"disabled": true})),
    )
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (status, _) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, bot_now) = send(app.as_owner(Method::GET, &api_user_path(id(&bot)))).await;
    assert_eq!(bot_now["roles"], json!(["viewer"]));
}

async fn managing_api_users_needs_api_users_manage(app: TestApp) {
    let bot = create_api_user(&app, json!({"name": "bot", "roles": ["viewer"]})).await;
    let viewer = app.join("viewer@example.com", &["viewer"]).await;
    let as_viewer = |method: Method, path: &str| app.with_token(&viewer.token, method, path);
    let tokens = format!("{}/tokens", api_user_path(id(&bot)));
    for request in [
        as_viewer(Method::GET, API_USERS),
        as_viewer(Method::POST, API_USERS).json(&json!({"name": "mine"})),
        as_viewer(Method::GET, &api_user_path(id(&bot))),
        as_viewer(Method::PATCH, &api_user_path(id(&bot))).json(&json!({"disabled": true})),
        as_viewer(Method::DELETE, &api_user_path(id(&bot))),
        as_viewer(Method::GET, &tokens),
        as_viewer(Method::POST, &tokens).json(&json!({})),
    ] {
        let got = send(request).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(got.1["error"]["permission"], "api_users:manage");
    }
    let (status, _) = who_am_i(&app, secret(&bot["token"])).await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_manager_cannot_take_a_token_worth_more_than_they_hold(app: TestApp) {
    let (status, _) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/roles")
            .json(
                &json!({"name": "bot-keeper", "permissions": ["api_users:manage", "devices:read"]}),
            ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let keeper = app.join("keeper@example.com", &["bot-keeper"]).await;
    let strong = create_api_user(&app, json!({"name": "strong", "roles": ["member"]})).await;
    let as_keeper = |method: Method, path: &str| app.with_token(&keeper.token, method, path);
    let tokens = format!("{}/tokens", api_user_path(id(&strong)));

    // Listing hints is harmless; taking a secret of a `member` is not.
    let (status, _) = send(as_keeper(Method::GET, &tokens)).await;
    assert_eq!(status, StatusCode::OK);
    let got = send(as_keeper(Method::POST, &tokens).json(&json!({}))).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = send(as_keeper(
        Method::POST,
        &format!("{tokens}/{}/rotate", id(&strong["token"])),
    ))
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let (status, _) = who_am_i(&app, secret(&strong["token"])).await;
    assert_eq!(status, StatusCode::OK, "the token was not rotated");
    // Nor can they raise an API user above themselves.
    let got = send(
        as_keeper(Method::PATCH, &api_user_path(id(&strong))).json(&json!({"roles": ["admin"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = send(
        as_keeper(Method::POST, API_USERS).json(&json!({"name": "mine", "roles": ["viewer"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");

    // A token narrowed to what the keeper holds is theirs to take.
    let (status, narrow) = send(
        as_keeper(Method::POST, &tokens).json(&json!({"scope": {"permissions": ["devices:read"]}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{narrow}");
    app.remember(secret(&narrow));
    let (status, own) = send(
        as_keeper(Method::POST, API_USERS).json(&json!({"name": "mine", "roles": ["bot-keeper"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    app.remember(secret(&own["token"]));
}
