//! Nobody hands out what they lack: teams, role edits, token lifetimes, scopes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    OWNER_PASSWORD, TestApp, WebClient, assert_error, backend_tests, fetch, send, strings,
};

backend_tests!(
    member_limited_to_one_device_cannot_put_an_api_user_in_an_admin_team,
    member_limited_to_one_device_cannot_move_an_api_user_into_an_admin_team,
    member_limited_to_one_device_cannot_put_an_api_user_in_an_admin_team_through_graphql,
    team_manager_cannot_widen_an_admins_reach_by_adding_them_to_a_team,
    team_manager_cannot_widen_an_admins_reach_by_creating_a_team_around_them,
    member_limited_to_one_device_cannot_add_management_to_a_role_held_by_a_member_without_grants,
    member_limited_to_one_device_cannot_add_management_to_a_role_held_through_a_team,
    api_user_cannot_give_its_own_token_a_lifetime_beyond_the_workspace_cap,
    token_made_before_the_workspace_cap_cannot_be_renewed_by_rotation,
    token_scoped_to_one_workspace_cannot_create_a_workspace,
    look_alike_emails_cannot_make_a_second_account,
    instance_admin_token_in_the_url_is_refused_on_the_instance_audit_log,
    member_manager_cannot_widen_a_members_grants_under_a_role_they_lack,
    admin_cannot_narrow_an_owners_grants,
    member_limited_to_one_device_cannot_add_management_to_a_role_a_pending_invitation_names,
    member_limited_to_one_device_cannot_recreate_a_role_a_pending_invitation_names_with_more,
);

backend_tests!(using crate::helpers::spawn_web_app: display_name_changed_in_the_web_ui_shows_at_once_in_auth_me);

const API_USERS: &str = "/api/v1/workspaces/acme/api-users";
const TEAMS: &str = "/api/v1/workspaces/acme/teams";
const ROLES: &str = "/api/v1/workspaces/acme/roles";

/// As the owner: a request that must succeed; returns its body.
async fn owner_ok(app: &TestApp, method: Method, path: &str, body: Value) -> Value {
    let (status, got) = send(app.as_owner(method, path).json(&body)).await;
    assert!(status.is_success(), "{path}: {status} {got}");
    got
}

/// Creates an API user in acme as the owner; returns its id and token.
async fn api_user(app: &TestApp, name: &str, roles: &[&str], grants: &[&str]) -> (String, String) {
    let created = owner_ok(
        app,
        Method::POST,
        API_USERS,
        json!({"name": name, "roles": roles, "grants": grants}),
    )
    .await;
    let token = created["token"]["token"]
        .as_str()
        .expect("token in clear")
        .to_owned();
    app.remember(&token);
    let id = created["id"].as_str().expect("id").to_owned();
    (id, token)
}

/// A custom role in acme, created by the owner.
async fn role(app: &TestApp, name: &str, permissions: &[&str]) {
    owner_ok(
        app,
        Method::POST,
        ROLES,
        json!({"name": name, "permissions": permissions}),
    )
    .await;
}

/// A team in acme, created by the owner.
async fn team(app: &TestApp, body: Value) {
    owner_ok(app, Method::POST, TEAMS, body).await;
}

/// Caps acme's token lifetimes at `days`, as the owner.
async fn cap_token_lifetime(app: &TestApp, days: u32) {
    let cap = json!({"max_token_lifetime_days": days});
    owner_ok(app, Method::PATCH, "/api/v1/workspaces/acme", cap).await;
}

/// The attacker: an API user whose role has `permissions`, limited to `device:abc`.
async fn limited_member(app: &TestApp, permissions: &[&str]) -> String {
    role(app, "lead", permissions).await;
    api_user(app, "lead", &["lead"], &["device:abc"]).await.1
}

fn assert_forbidden(got: &(StatusCode, Value)) {
    assert_eq!(got.0, StatusCode::FORBIDDEN, "{}", got.1);
}

async fn member_limited_to_one_device_cannot_put_an_api_user_in_an_admin_team(app: TestApp) {
    let lead = limited_member(&app, &["api_users:manage", "devices:read"]).await;
    team(&app, json!({"name": "admins", "roles": ["admin"]})).await;
    let attack = send(app.with_token(&lead, Method::POST, API_USERS).json(&json!({
        "name": "cbot3", "roles": [], "grants": ["device:abc"], "teams": ["admins"],
    })))
    .await;
    assert_forbidden(&attack);
    // A team that gives only what the caller holds on the API user's resources is fine.
    role(&app, "reader", &["devices:read"]).await;
    team(&app, json!({"name": "readers", "roles": ["reader"]})).await;
    let (status, body) = send(app.with_token(&lead, Method::POST, API_USERS).json(&json!({
        "name": "cbot4", "grants": ["device:abc"], "teams": ["readers"],
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.remember(body["token"]["token"].as_str().expect("token"));
}

async fn member_limited_to_one_device_cannot_move_an_api_user_into_an_admin_team(app: TestApp) {
    let lead = limited_member(&app, &["api_users:manage", "devices:read"]).await;
    team(&app, json!({"name": "wide", "roles": ["admin"]})).await;
    let cbot = json!({"name": "cbot", "grants": ["device:abc"]});
    let (status, created) = app.call(&lead, Method::POST, API_USERS, cbot).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let bot = created["token"]["token"].as_str().expect("token");
    let bot = bot.to_owned();
    app.remember(&bot);
    let id = created["id"].as_str().expect("id");
    let attack = send(
        app.with_token(&lead, Method::PATCH, &format!("{API_USERS}/{id}"))
            .json(&json!({"teams": ["wide"]})),
    )
    .await;
    assert_forbidden(&attack);
    assert_eq!(app.verify_code(&bot, "workspace:manage").await, "forbidden");
}

async fn member_limited_to_one_device_cannot_put_an_api_user_in_an_admin_team_through_graphql(
    app: TestApp,
) {
    let lead = limited_member(&app, &["api_users:manage", "devices:read"]).await;
    team(&app, json!({"name": "admins", "roles": ["admin"]})).await;
    let create = "mutation { createApiUser(workspace: \"acme\", input: {name: \"cbot3\", grants: [\"device:abc\"], teams: [\"admins\"]}) { apiUser { id } token { secret } } }";
    let (status, body) = app.graphql(Some(&lead), create, Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    // Nor by moving one in afterwards.
    let create = "mutation { createApiUser(workspace: \"acme\", input: {name: \"cbot4\", grants: [\"device:abc\"]}) { apiUser { id } token { secret } } }";
    let (status, body) = app.graphql(Some(&lead), create, Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let created = &body["data"]["createApiUser"];
    app.remember(created["token"]["secret"].as_str().expect("secret"));
    let update = "mutation($id: UUID!) { updateApiUser(workspace: \"acme\", id: $id, input: {teams: [\"admins\"]}) { id } }";
    let variables = json!({"id": created["apiUser"]["id"]});
    let (status, body) = app.graphql(Some(&lead), update, variables).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
}

async fn team_manager_cannot_widen_an_admins_reach_by_adding_them_to_a_team(app: TestApp) {
    // Every resource, but only these permissions.
    role(&app, "crew", &["teams:manage", "devices:read"]).await;
    let (_, manager) = api_user(&app, "manager", &["crew"], &[]).await;
    let (ops, ops_token) = api_user(&app, "ops", &["admin"], &["device:abc"]).await;
    team(&app, json!({"name": "fleet", "grants": ["device:*"]})).await;
    let attack = send(app.with_token(
        &manager,
        Method::PUT,
        &format!("{TEAMS}/fleet/members/{ops}"),
    ))
    .await;
    assert_forbidden(&attack);
    let (status, body) = send(app.anonymous(Method::POST, "/api/v1/verify").json(&json!({
        "token": ops_token, "workspace": "acme", "permission": "devices:write", "resource": "device:xyz",
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["code"], "forbidden", "{body}");
}

async fn team_manager_cannot_widen_an_admins_reach_by_creating_a_team_around_them(app: TestApp) {
    role(&app, "crew", &["teams:manage", "devices:read"]).await;
    let (_, manager) = api_user(&app, "manager", &["crew"], &[]).await;
    let (ops, _) = api_user(&app, "ops", &["admin"], &["device:abc"]).await;
    let attack = send(app.with_token(&manager, Method::POST, TEAMS).json(&json!({
        "name": "fleet", "grants": ["device:*"], "members": [ops],
    })))
    .await;
    assert_forbidden(&attack);
    // Around a member who gains nothing beyond the manager's own rights, it is allowed.
    role(&app, "reader", &["devices:read"]).await;
    let (reader, _) = api_user(&app, "reader", &["reader"], &["device:abc"]).await;
    let (status, body) = send(app.with_token(&manager, Method::POST, TEAMS).json(&json!({
        "name": "fleet", "grants": ["device:*"], "members": [reader],
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn member_limited_to_one_device_cannot_add_management_to_a_role_held_by_a_member_without_grants(
    app: TestApp,
) {
    let lead = limited_member(
        &app,
        &[
            "roles:manage",
            "members:manage",
            "api_users:manage",
            "devices:read",
        ],
    )
    .await;
    role(&app, "plain", &["devices:read"]).await;
    // No grants: every resource.
    let (_, holder) = api_user(&app, "holder", &["plain"], &[]).await;
    let attack = send(
        app.with_token(&lead, Method::PUT, &format!("{ROLES}/plain"))
            .json(&json!({"permissions": ["devices:read", "members:manage", "api_users:manage"]})),
    )
    .await;
    assert_forbidden(&attack);
    assert_eq!(
        app.verify_code(&holder, "api_users:manage").await,
        "forbidden"
    );
    // Held only by a member within the editor's reach, the same edit is allowed.
    role(&app, "narrow", &["devices:read"]).await;
    api_user(&app, "narrow", &["narrow"], &["device:abc"]).await;
    let (status, body) = send(
        app.with_token(&lead, Method::PUT, &format!("{ROLES}/narrow"))
            .json(&json!({"permissions": ["devices:read", "members:manage", "api_users:manage"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn member_limited_to_one_device_cannot_add_management_to_a_role_held_through_a_team(
    app: TestApp,
) {
    let lead = limited_member(&app, &["roles:manage", "members:manage", "devices:read"]).await;
    role(&app, "plain", &["devices:read"]).await;
    let (holder, _) = api_user(&app, "holder", &[], &[]).await;
    team(
        &app,
        json!({"name": "crew", "roles": ["plain"], "members": [holder]}),
    )
    .await;
    let attack = send(
        app.with_token(&lead, Method::PUT, &format!("{ROLES}/plain"))
            .json(&json!({"permissions": ["devices:read", "members:manage"]})),
    )
    .await;
    assert_forbidden(&attack);
}

async fn api_user_cannot_give_its_own_token_a_lifetime_beyond_the_workspace_cap(app: TestApp) {
    cap_token_lifetime(&app, 1).await;
    let (_, bot) = api_user(&app, "bot", &["viewer"], &[]).await;
    for body in [
        json!({"name": "c4"}),
        json!({"name": "c5", "expires_in_days": 30}),
    ] {
        let got = send(
            app.with_token(&bot, Method::POST, "/api/v1/tokens")
                .json(&body),
        )
        .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "expires_at", "{}", got.1);
    }
    let (status, body) = send(
        app.with_token(&bot, Method::POST, "/api/v1/tokens")
            .json(&json!({"name": "c6", "expires_in_days": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.remember(body["token"].as_str().expect("token"));
    assert!(body["expires_at"].is_string(), "{body}");
}

async fn token_made_before_the_workspace_cap_cannot_be_renewed_by_rotation(app: TestApp) {
    let (_, bot) = api_user(&app, "bot", &["viewer"], &[]).await;
    let (status, forever) = send(
        app.with_token(&bot, Method::POST, "/api/v1/tokens")
            .json(&json!({"name": "forever"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{forever}");
    app.remember(forever["token"].as_str().expect("token"));
    cap_token_lifetime(&app, 1).await;
    let id = forever["id"].as_str().expect("id");
    let got =
        send(app.with_token(&bot, Method::POST, &format!("/api/v1/tokens/{id}/rotate"))).await;
    assert_error(&got, StatusCode::CONFLICT, "token_outlives_workspace");
}

async fn token_scoped_to_one_workspace_cannot_create_a_workspace(app: TestApp) {
    let scoped = app
        .create_token(json!({
            "name": "devices only",
            "scope": {"workspaces": ["acme"], "permissions": ["devices:read"]},
        }))
        .await;
    let token = scoped["token"].as_str().expect("token");
    let attack = send(
        app.with_token(token, Method::POST, "/api/v1/workspaces")
            .json(&json!({"slug": "mallory"})),
    )
    .await;
    assert_forbidden(&attack);
    // The user's unscoped token still can.
    owner_ok(
        &app,
        Method::POST,
        "/api/v1/workspaces",
        json!({"slug": "mallory"}),
    )
    .await;
}

async fn look_alike_emails_cannot_make_a_second_account(app: TestApp) {
    owner_ok(
        &app,
        Method::POST,
        "/api/v1/admin/users",
        json!({"email": "a@example.com"}),
    )
    .await;
    // Full-width `ａ` is the `a` it shows: the same account.
    let full_width = send(
        app.as_owner(Method::POST, "/api/v1/admin/users")
            .json(&json!({"email": "\u{ff41}@example.com"})),
    )
    .await;
    assert_error(&full_width, StatusCode::CONFLICT, "email_taken");
    // Cyrillic `а` only looks like it: refused.
    let cyrillic = send(
        app.as_owner(Method::POST, "/api/v1/admin/users")
            .json(&json!({"email": "\u{430}@example.com"})),
    )
    .await;
    assert_error(&cyrillic, StatusCode::BAD_REQUEST, "invalid_input");
    let (_, users) = send(app.as_owner(Method::GET, "/api/v1/admin/users")).await;
    let emails = strings(&users["users"], "email");
    assert!(emails.iter().all(|e| e.is_ascii()), "{emails:?}");
    assert_eq!(emails.iter().filter(|e| **e == "a@example.com").count(), 1);
}

async fn instance_admin_token_in_the_url_is_refused_on_the_instance_audit_log(app: TestApp) {
    let owner_in_url = format!(
        "/api/v1/admin/audit?format=csv&api_token={}",
        app.owner.token
    );
    let in_url = send(app.anonymous(Method::GET, &owner_in_url)).await;
    assert_error(&in_url, StatusCode::BAD_REQUEST, "query_token_not_allowed");
    // The CSV export works with the token in a header.
    let csv = fetch(app.as_owner(Method::GET, "/api/v1/admin/audit?format=csv")).await;
    assert_eq!(csv.status(), StatusCode::OK);
    // A workspace's export keeps accepting `api_token`.
    let workspace_in_url = format!(
        "/api/v1/workspaces/acme/audit?format=csv&api_token={}",
        app.owner.token
    );
    let workspace = fetch(app.anonymous(Method::GET, &workspace_in_url)).await;
    assert_eq!(workspace.status(), StatusCode::OK);
}

async fn display_name_changed_in_the_web_ui_shows_at_once_in_auth_me(app: TestApp) {
    let (status, me) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_ne!(me["user"]["display_name"], "Grace Hopper");
    let web = WebClient::new(&app);
    let page = web.sign_in(&app.owner.email, OWNER_PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let page = web
        .submit(
            "/account",
            "/account/profile",
            &[("display_name", "Grace Hopper")],
        )
        .await;
    assert!(
        page.status.is_redirection() || page.status.is_success(),
        "{}",
        page.body
    );
    let (status, me) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["display_name"], "Grace Hopper", "{me}");
}

async fn member_manager_cannot_widen_a_members_grants_under_a_role_they_lack(app: TestApp) {
    // The attacker manages members on every device but cannot delete any; the victim may delete
    // device abc only.
    role(&app, "lead", &["members:manage", "devices:read"]).await;
    let (_, attacker) = api_user(&app, "lead", &["lead"], &["device:*"]).await;
    role(&app, "ops", &["devices:delete"]).await;
    let victim = app.persona("ops@example.com", None).await;
    app.add_member(
        &app.owner.token,
        "acme",
        json!({"email": victim.email, "roles": ["ops"], "grants": ["device:abc"]}),
        &victim,
    )
    .await;
    let path = format!("/api/v1/workspaces/acme/members/{}", victim.id);
    let got = send(
        app.with_token(&attacker, Method::PATCH, &path)
            .json(&json!({"grants": ["device:*"]})),
    )
    .await;
    assert_eq!(got.0, StatusCode::FORBIDDEN, "{got:?}");
    let got = send(
        app.with_token(&attacker, Method::PATCH, &path)
            .json(&json!({"grants": ["device:abc", "device:xyz"]})),
    )
    .await;
    assert_eq!(
        got.0,
        StatusCode::FORBIDDEN,
        "still wider than abc: {got:?}"
    );
    let (status, member) = send(app.as_owner(Method::GET, &path)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(member["grants"], json!(["device:abc"]), "{member}");
}

/// Only an owner changes an owner: an admin who narrowed the owner's grants would leave them
/// unable to reach, or hand out, most of the workspace, and unable to undo it.
async fn admin_cannot_narrow_an_owners_grants(app: TestApp) {
    let admin = app.join("max@example.com", &["admin"]).await;
    let owner_path = format!("/api/v1/workspaces/acme/members/{}", app.owner.id);
    for change in [
        json!({"grants": ["device:none"]}),
        json!({"roles": ["owner", "viewer"], "grants": ["device:none"]}),
        json!({"roles": ["owner", "viewer"]}),
    ] {
        let attack = send(
            app.with_token(&admin.token, Method::PATCH, &owner_path)
                .json(&change),
        )
        .await;
        assert_forbidden(&attack);
    }
    let answer = app
        .verify(json!({
            "token": app.owner.token,
            "workspace": "acme",
            "permission": "devices:read",
            "resource": "device:abc",
        }))
        .await;
    assert_eq!(answer["code"], "ok", "{answer}");
    let (_, owner) = send(app.as_owner(Method::GET, &owner_path)).await;
    assert_eq!(owner["roles"], json!(["owner"]));
    assert_eq!(owner["grants"], json!([]));
    // The admin still changes the grants of members who are not owners.
    let nina = app.join("nina@example.com", &["viewer"]).await;
    let nina_path = format!("/api/v1/workspaces/acme/members/{}", nina.id);
    let change = json!({"grants": ["device:abc"]});
    let (status, body) = send(
        app.with_token(&admin.token, Method::PATCH, &nina_path)
            .json(&change),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["grants"], json!(["device:abc"]));
}

/// The owner invites someone to every resource with a role of the name `role`; returns the
/// invitation's code.
async fn invite_to_every_resource(app: &TestApp, email: &str, role: &str) -> String {
    let invite = json!({"email": email, "roles": [role], "grants": []});
    let (status, invited) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/members")
            .json(&invite),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{invited}");
    invited["code"].as_str().expect("code").to_owned()
}

/// The invitee accepts `code`, and asks whether they now hold `permission` in acme.
async fn accept_and_verify(app: &TestApp, email: &str, code: &str, permission: &str) -> String {
    let invitee = app.persona(email, None).await;
    let (status, joined) = app.accept_invitation(&invitee.token, code).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    app.verify_code(&invitee.token, permission).await
}

/// An invitation names its roles, which the invitee gets as they are on accepting: an edit
/// between the two is checked against the invitee as against a member who holds the role.
async fn member_limited_to_one_device_cannot_add_management_to_a_role_a_pending_invitation_names(
    app: TestApp,
) {
    role(&app, "plain", &["devices:read"]).await;
    let code = invite_to_every_resource(&app, "xena@example.com", "plain").await;
    let lead = limited_member(&app, &["roles:manage", "members:manage", "devices:read"]).await;
    let attack = send(
        app.with_token(&lead, Method::PUT, &format!("{ROLES}/plain"))
            .json(&json!({"permissions": ["devices:read", "members:manage"]})),
    )
    .await;
    assert_forbidden(&attack);
    assert_eq!(
        accept_and_verify(&app, "xena@example.com", &code, "members:manage").await,
        "forbidden"
    );
    // Named only by an invitation within the editor's reach, the same edit is allowed.
    role(&app, "narrow", &["devices:read"]).await;
    let invite =
        json!({"email": "yuri@example.com", "roles": ["narrow"], "grants": ["device:abc"]});
    owner_ok(
        &app,
        Method::POST,
        "/api/v1/workspaces/acme/members",
        invite,
    )
    .await;
    let (status, body) = send(
        app.with_token(&lead, Method::PUT, &format!("{ROLES}/narrow"))
            .json(&json!({"permissions": ["devices:read", "members:manage"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Deleting a role and creating another of the same name is an edit for an invitation that
/// names it.
async fn member_limited_to_one_device_cannot_recreate_a_role_a_pending_invitation_names_with_more(
    app: TestApp,
) {
    role(&app, "plain", &[]).await;
    let code = invite_to_every_resource(&app, "xena@example.com", "plain").await;
    let lead = limited_member(&app, &["roles:manage", "members:manage", "devices:read"]).await;
    let (status, body) =
        send(app.with_token(&lead, Method::DELETE, &format!("{ROLES}/plain"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for permissions in [json!(["members:manage"]), json!(["devices:read"])] {
        let attack = send(
            app.with_token(&lead, Method::POST, ROLES)
                .json(&json!({"name": "plain", "permissions": permissions})),
        )
        .await;
        assert_forbidden(&attack);
    }
    assert_eq!(
        accept_and_verify(&app, "xena@example.com", &code, "devices:read").await,
        "forbidden"
    );
    // Once nobody is invited with it, the name is free for a role within the lead's reach.
    let (status, body) = send(
        app.with_token(&lead, Method::POST, ROLES)
            .json(&json!({"name": "plain", "permissions": ["devices:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
