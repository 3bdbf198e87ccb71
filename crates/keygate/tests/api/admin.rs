//! Instance administration (`/api/v1/admin/users`) and open sign-up (`/api/v1/signup`): who may
//! use them, what they create, and that a disabled or deleted user's tokens stop at once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_error, backend_tests, error_message, fetch, fetch_text, send,
    spawn_app_with, strings,
};

backend_tests!(
    an_instance_admin_creates_a_user_whose_personal_token_works,
    a_created_user_with_a_password_signs_in_and_owns_their_workspace,
    users_are_listed_with_filters_and_pages,
    only_unscoped_instance_admins_administer_users,
    a_disabled_user_is_refused_at_once_and_works_again_when_enabled,
    a_deleted_user_is_refused_at_once,
    admins_cannot_remove_themselves_or_a_last_owner,
    an_admin_issues_a_token_for_a_user,
    user_administration_is_audited,
    bad_admin_input_gets_clear_errors,
    sign_up_is_off_by_default,
    a_password_link_sets_the_password_once,
    a_password_link_works_in_the_browser_and_signs_in,
    user_search_ignores_case_in_every_script,
    a_last_owner_is_deleted_with_their_workspace_or_after_handing_it_over,
    instance_administration_works_in_graphql_for_instance_admins_only,
);

async fn instance_administration_works_in_graphql_for_instance_admins_only(app: TestApp) {
    let owner = Some(app.owner.token.as_str());
    let create = "mutation { createUser(input: {email: \"nia@example.com\", \
                  displayName: \"Nia Ångström\", workspace: \"nias\", passwordLink: true}) \
                  { personalToken passwordLink user { id email disabled } } }";
    let (status, created) = app.graphql(owner, create, Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let made = &created["data"]["createUser"];
    let token = made["personalToken"].as_str().expect("token").to_owned();
    app.remember(&token);
    let id = made["user"]["id"].as_str().expect("id").to_owned();
    let link = made["passwordLink"].as_str().expect("link");
    assert!(link.contains("/password/"), "{link}");
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);

    let list = "query($search: String) { admin { users(search: $search) { users { id email \
                displayName tokens { kind status } } nextCursor } } }";
    let (_, listed) = app
        .graphql(owner, list, json!({"search": "ÅNGSTRÖM"}))
        .await;
    let users = &listed["data"]["admin"]["users"]["users"];
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(users[0]["email"], "nia@example.com");
    assert_eq!(users[0]["tokens"][0]["kind"], "PERSONAL", "{listed}");

    let disable = "mutation($id: UUID!) { disableUser(id: $id) { disabled } }";
    let (_, done) = app.graphql(owner, disable, json!({"id": id})).await;
    assert_eq!(done["data"]["disableUser"]["disabled"], true, "{done}");
    assert_eq!(me(&app, &token).await.0, StatusCode::UNAUTHORIZED);
    let enable = "mutation($id: UUID!) { enableUser(id: $id) { disabled } }";
    let (_, done) = app.graphql(owner, enable, json!({"id": id})).await;
    assert_eq!(done["data"]["enableUser"]["disabled"], false, "{done}");
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);

    let audit = "{ admin { audit(first: 5, action: \"user.disabled\") { edges { node { action targetId } } } } }";
    let (_, log) = app.graphql(owner, audit, Value::Null).await;
    assert_eq!(
        log["data"]["admin"]["audit"]["edges"][0]["node"]["targetId"],
        id.as_str(),
        "{log}"
    );

    // Someone who is no instance admin reads and changes nothing.
    for query in [list, audit] {
        let (_, refused) = app
            .graphql(Some(&token), query, json!({"search": "nia"}))
            .await;
        assert!(refused["errors"].is_array(), "{refused}");
        assert!(
            !refused.to_string().contains("owner@example.com"),
            "{refused}"
        );
    }
    let (_, refused) = app
        .graphql(Some(&token), disable, json!({"id": app.owner.id}))
        .await;
    assert!(refused["errors"].is_array(), "{refused}");
    assert_eq!(me(&app, &app.owner.token).await.0, StatusCode::OK);

    // The last owner of `nias` is deleted with it, or the deletion is refused.
    let delete = "mutation($id: UUID!, $drop: Boolean!) { deleteUser(id: $id, deleteOrphanedWorkspaces: $drop) }";
    let (_, refused) = app
        .graphql(owner, delete, json!({"id": id, "drop": false}))
        .await;
    assert!(refused.to_string().contains("last_owner"), "{refused}");
    let (_, deleted) = app
        .graphql(owner, delete, json!({"id": id, "drop": true}))
        .await;
    assert_eq!(deleted["data"]["deleteUser"], true, "{deleted}");
    assert_eq!(me(&app, &token).await.0, StatusCode::UNAUTHORIZED);
}

async fn a_last_owner_is_deleted_with_their_workspace_or_after_handing_it_over(app: TestApp) {
    // Refused without saying what becomes of the workspace, and nothing changes.
    let grace = app
        .admin_create_user(json!({"email": "grace@example.com", "workspace": "graces"}))
        .await;
    let path = user_path(&grace);
    let got = send(app.as_owner(Method::DELETE, &path)).await;
    assert_error(&got, StatusCode::CONFLICT, "last_owner");
    assert!(error_message(&got).contains("hand_over_to"), "{}", got.1);
    for bad in [
        "?orphaned_workspaces=keep",
        &format!("?orphaned_workspaces=delete&hand_over_to={}", app.owner.id),
        &format!(
            "?hand_over_to={}",
            grace["user"]["id"].as_str().expect("id")
        ),
    ] {
        let got = send(app.as_owner(Method::DELETE, &format!("{path}{bad}"))).await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{bad}: {}", got.1);
    }
    assert_eq!(me(&app, token_of(&grace)).await.0, StatusCode::OK);

    // Deleted with the workspace.
    let got = send(app.as_owner(
        Method::DELETE,
        &format!("{path}?orphaned_workspaces=delete"),
    ))
    .await;
    assert_eq!(got.0, StatusCode::NO_CONTENT, "{}", got.1);
    let (status, _) = app
        .get_as(&app.owner.token, "/api/v1/workspaces/graces")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(me(&app, token_of(&grace)).await.0, StatusCode::UNAUTHORIZED);

    // Handed over: the heir, a viewer there, becomes an owner; an API user cannot be the heir.
    let lin = app
        .admin_create_user(json!({"email": "lin@example.com", "workspace": "lins"}))
        .await;
    let heir = app
        .admin_create_user(json!({"email": "heir@example.com"}))
        .await;
    let heir_id = heir["user"]["id"].as_str().expect("id").to_owned();
    let invite = json!({"email": "heir@example.com", "roles": ["viewer"]});
    let (status, invited) = app
        .call(
            token_of(&lin),
            Method::POST,
            "/api/v1/workspaces/lins/members",
            invite,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{invited}");
    let code = invited["code"].as_str().expect("code");
    let (status, _) = app.accept_invitation(token_of(&heir), code).await;
    assert_eq!(status, StatusCode::OK);
    let robot = app
        .create_api_user(json!({"name": "robot", "roles": ["viewer"]}))
        .await;
    let robot_id = robot["id"].as_str().expect("id");
    let path = user_path(&lin);
    let got = send(app.as_owner(Method::DELETE, &format!("{path}?hand_over_to={robot_id}"))).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let got = send(app.as_owner(Method::DELETE, &format!("{path}?hand_over_to={heir_id}"))).await;
    assert_eq!(got.0, StatusCode::NO_CONTENT, "{}", got.1);
    let (status, ws) = app.get_as(token_of(&heir), "/api/v1/workspaces/lins").await;
    assert_eq!(status, StatusCode::OK, "{ws}");
    let roles: Vec<&str> = ws["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(roles.contains(&"owner"), "{ws}");
    let (status, _) = app
        .call(
            token_of(&heir),
            Method::PATCH,
            "/api/v1/workspaces/lins",
            json!({"name": "Lin's, now the heir's"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me(&app, token_of(&lin)).await.0, StatusCode::UNAUTHORIZED);
}

async fn user_search_ignores_case_in_every_script(app: TestApp) {
    app.admin_create_user(
        json!({"email": "elodie@example.com", "display_name": "Élodie Ünal-Şahin"}),
    )
    .await;
    app.admin_create_user(json!({"email": "other@example.com", "display_name": "Ωmega"}))
        .await;
    for (search, found) in [
        ("élodie", "elodie@example.com"),
        ("ÉLODIE", "elodie@example.com"),
        ("ünal-ŞAHIN", "elodie@example.com"),
        ("ωMEGA", "other@example.com"),
        ("OTHER@", "other@example.com"),
    ] {
        let path = format!("{USERS}?search={}", urlencoding(search));
        let (status, page) = send(app.as_owner(Method::GET, &path)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let emails: Vec<&str> = page["users"]
            .as_array()
            .expect("users")
            .iter()
            .filter_map(|u| u["email"].as_str())
            .collect();
        assert_eq!(emails, [found], "{search}");
    }
    // A renamed API user is found by the new name, not the old one.
    let created = app
        .create_api_user(json!({"name": "gateway-alpha", "roles": ["viewer"]}))
        .await;
    let id = created["id"].as_str().expect("id");
    let (status, renamed) = app
        .owner_call(
            Method::PATCH,
            &format!("/api/v1/workspaces/acme/api-users/{id}"),
            json!({"name": "Ärger-Gateway"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    for (search, count) in [("äRGER-gateway", 1), ("alpha", 0)] {
        let path = format!("{USERS}?search={}", urlencoding(search));
        let (_, page) = send(app.as_owner(Method::GET, &path)).await;
        assert_eq!(
            page["users"].as_array().map(Vec::len),
            Some(count),
            "{search}"
        );
    }
}

/// `text` percent-encoded for a query string.
fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const USERS: &str = "/api/v1/admin/users";

fn token_of(created: &Value) -> &str {
    created["personal_token"]["token"]
        .as_str()
        .expect("personal token in clear")
}

fn user_path(created: &Value) -> String {
    format!("{USERS}/{}", created["user"]["id"].as_str().expect("id"))
}

async fn me(app: &TestApp, token: &str) -> (StatusCode, Value) {
    send(app.with_token(token, Method::GET, "/api/v1/auth/me")).await
}

async fn an_instance_admin_creates_a_user_whose_personal_token_works(app: TestApp) {
    let created = app
        .admin_create_user(json!({"email": "Grace@Example.com", "display_name": "Grace"}))
        .await;
    assert_eq!(created["user"]["email"], "grace@example.com");
    assert_eq!(created["user"]["display_name"], "Grace");
    assert_eq!(created["user"]["kind"], "human");
    assert_eq!(created["user"]["is_instance_admin"], false);
    assert_eq!(created["user"]["disabled"], false);
    assert_eq!(created["workspace"], Value::Null);
    assert_eq!(created["personal_token"]["kind"], "personal");
    assert!(token_of(&created).starts_with("kgp_"));

    let (status, who) = me(&app, token_of(&created)).await;
    assert_eq!(status, StatusCode::OK, "{who}");
    assert_eq!(who["user"]["email"], "grace@example.com");

    // The same email twice is a conflict.
    let (status, body) = send(
        app.as_owner(Method::POST, USERS)
            .json(&json!({"email": "grace@example.com"})),
    )
    .await;
    assert_error(&(status, body), StatusCode::CONFLICT, "email_taken");

    // The admin reads the user and their tokens (hints only).
    let (status, got) = send(app.as_owner(Method::GET, &user_path(&created))).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["email"], "grace@example.com");
    let (status, tokens) =
        send(app.as_owner(Method::GET, &format!("{}/tokens", user_path(&created)))).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["tokens"].as_array().map(Vec::len), Some(1));
    assert!(tokens["tokens"][0].get("token").is_none());
}

async fn a_created_user_with_a_password_signs_in_and_owns_their_workspace(app: TestApp) {
    let created = app.admin_create_user(json!({"email": "lin@example.com", "password": "a long enough password", "workspace": "lin-lab"}),
    )
    .await;
    assert_eq!(created["workspace"]["slug"], "lin-lab");
    let (status, who) = me(&app, token_of(&created)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(who["workspaces"][0]["slug"], "lin-lab", "{who}");
    assert_eq!(who["workspaces"][0]["roles"], json!(["owner"]), "{who}");

    let web = crate::helpers::WebClient::new(&app);
    let page = web
        .sign_in("lin@example.com", "a long enough password")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let home = web.get("/").await;
    assert!(home.body.contains("lin-lab"), "{}", home.body);

    // A short password is refused before anything is created.
    let (status, body) = send(
        app.as_owner(Method::POST, USERS)
            .json(&json!({"email": "short@example.com", "password": "short"})),
    )
    .await;
    assert_error(&(status, body), StatusCode::BAD_REQUEST, "invalid_input");
    let (_, list) = send(app.as_owner(Method::GET, &format!("{USERS}?search=short"))).await;
    assert_eq!(list["users"], json!([]));
}

async fn users_are_listed_with_filters_and_pages(app: TestApp) {
    for i in 0..5 {
        app.admin_create_user(json!({"email": format!("user{i}@example.com")}))
            .await;
    }
    let (status, _) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/api-users")
            .json(&json!({"name": "gateway"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, all) = send(app.as_owner(Method::GET, USERS)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    // The owner, five people, one API user; oldest first.
    let users = all["users"].as_array().expect("users");
    assert_eq!(users.len(), 7, "{all}");
    assert_eq!(users[0]["email"], "owner@example.com");
    assert_eq!(all["next_cursor"], Value::Null);

    let (_, people) = send(app.as_owner(Method::GET, &format!("{USERS}?kind=human"))).await;
    assert_eq!(people["users"].as_array().map(Vec::len), Some(6));
    let (_, api) = send(app.as_owner(Method::GET, &format!("{USERS}?kind=api"))).await;
    assert_eq!(api["users"].as_array().map(Vec::len), Some(1));
    assert_eq!(api["users"][0]["display_name"], "gateway");
    assert!(api["users"][0]["workspace_id"].is_string());

    let (_, found) = send(app.as_owner(Method::GET, &format!("{USERS}?search=USER3"))).await;
    assert_eq!(found["users"].as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found["users"][0]["email"], "user3@example.com");
    // `_` and `%` are literal characters, not patterns.
    let (_, none) = send(app.as_owner(Method::GET, &format!("{USERS}?search=user_"))).await;
    assert_eq!(none["users"], json!([]), "{none}");

    // Pages of two, following the cursor, see everyone once.
    let mut seen = Vec::new();
    let mut path = format!("{USERS}?limit=2");
    loop {
        let (status, page) = send(app.as_owner(Method::GET, &path)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let users = page["users"].as_array().expect("users");
        assert!(users.len() <= 2);
        seen.extend(users.iter().map(|u| u["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{USERS}?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let expected: Vec<Value> = users.iter().map(|u| u["id"].clone()).collect();
    assert_eq!(seen, expected);

    // Disabled users only.
    let target = format!("{USERS}/{}/disable", users[2]["id"].as_str().expect("id"));
    let (status, _) = send(app.as_owner(Method::POST, &target)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, disabled) = send(app.as_owner(Method::GET, &format!("{USERS}?disabled=true"))).await;
    assert_eq!(disabled["users"].as_array().map(Vec::len), Some(1));
    assert_eq!(disabled["users"][0]["id"], users[2]["id"]);
    let (_, enabled) = send(app.as_owner(Method::GET, &format!("{USERS}?disabled=false"))).await;
    assert_eq!(enabled["users"].as_array().map(Vec::len), Some(6));
}

async fn only_unscoped_instance_admins_administer_users(app: TestApp) {
    let grace = app
        .admin_create_user(json!({"email": "grace@example.com"}))
        .await;
    let token = token_of(&grace).to_owned();
    let paths = [
        (Method::GET, USERS.to_owned()),
        (Method::POST, USERS.to_owned()),
        (Method::GET, user_path(&grace)),
        (Method::DELETE, user_path(&grace)),
        (Method::POST, format!("{}/disable", user_path(&grace))),
        (Method::POST, format!("{}/enable", user_path(&grace))),
        (Method::GET, format!("{}/tokens", user_path(&grace))),
        (Method::POST, format!("{}/tokens", user_path(&grace))),
    ];
    for (method, path) in &paths {
        let mut request = app.with_token(&token, method.clone(), path);
        if *method == Method::POST && path == USERS {
            request = request.json(&json!({"email": "x@example.com"}));
        } else if *method == Method::POST {
            request = request.json(&json!({}));
        }
        let got = send(request).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
        assert!(
            error_message(&got).contains("instance admins"),
            "{method} {path}: {}",
            got.1
        );
        // No token at all: 401.
        let got = send(app.anonymous(method.clone(), path)).await;
        assert_eq!(
            got.0,
            StatusCode::UNAUTHORIZED,
            "{method} {path}: {}",
            got.1
        );
    }
    // A scoped token of an instance admin cannot administer users either.
    let scoped = app
        .create_token(json!({"name": "narrow", "scope": {"workspaces": ["acme"]}}))
        .await;
    let got =
        send(app.with_token(scoped["token"].as_str().expect("token"), Method::GET, USERS)).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");

    // An admin-created instance admin can.
    let root = app
        .admin_create_user(json!({"email": "root@example.com", "instance_admin": true}))
        .await;
    let (status, _) = send(app.with_token(token_of(&root), Method::GET, USERS)).await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_disabled_user_is_refused_at_once_and_works_again_when_enabled(app: TestApp) {
    let grace = app
        .admin_create_user(json!({"email": "grace@example.com"}))
        .await;
    let token = token_of(&grace).to_owned();
    let question = json!({"token": token});
    // A second token, not used before she is disabled: the cache knows Grace through the first
    // one only, and must not lend that entry to the second.
    let (status, issued) = send(
        app.as_owner(Method::POST, &format!("{}/tokens", user_path(&grace)))
            .json(&json!({"name": "spare"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let spare = issued["token"].as_str().expect("token").to_owned();
    app.remember(&spare);
    // Cached as valid first.
    let (_, answer) = send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&question),
    )
    .await;
    assert_eq!(answer["code"], "ok");
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);

    let (status, disabled) =
        send(app.as_owner(Method::POST, &format!("{}/disable", user_path(&grace)))).await;
    assert_eq!(status, StatusCode::OK, "{disabled}");
    assert_eq!(disabled["disabled"], true);
    assert!(disabled["disabled_at"].is_string());
    let (status, body) = me(&app, &token).await;
    assert_error(&(status, body), StatusCode::UNAUTHORIZED, "invalid_token");
    let (_, answer) = send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&question),
    )
    .await;
    assert_eq!(answer["valid"], false);
    assert_eq!(answer["code"], "invalid_token");
    let (_, answer) = send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&json!({"token": spare})),
    )
    .await;
    assert_eq!(answer["code"], "invalid_token");
    // Disabling twice is not an error.
    let (status, _) =
        send(app.as_owner(Method::POST, &format!("{}/disable", user_path(&grace)))).await;
    assert_eq!(status, StatusCode::OK);

    let (status, enabled) =
        send(app.as_owner(Method::POST, &format!("{}/enable", user_path(&grace)))).await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    assert_eq!(enabled["disabled"], false);
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);
    assert_eq!(me(&app, &spare).await.0, StatusCode::OK);
}

async fn a_deleted_user_is_refused_at_once(app: TestApp) {
    let grace = app
        .admin_create_user(json!({"email": "grace@example.com", "workspace": "graces"}))
        .await;
    let token = token_of(&grace).to_owned();
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);
    // Grace is the last owner of `graces`: deleting her is refused until someone else owns it.
    let got = send(app.as_owner(Method::DELETE, &user_path(&grace))).await;
    assert_error(&got, StatusCode::CONFLICT, "last_owner");
    let (status, _) =
        send(app.with_token(&token, Method::DELETE, "/api/v1/workspaces/graces")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, _) = send(app.as_owner(Method::DELETE, &user_path(&grace))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = me(&app, &token).await;
    assert_error(&(status, body), StatusCode::UNAUTHORIZED, "invalid_token");
    let got = send(app.as_owner(Method::GET, &user_path(&grace))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(app.as_owner(Method::DELETE, &user_path(&grace))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn admins_cannot_remove_themselves_or_a_last_owner(app: TestApp) {
    let own = format!("{USERS}/{}", app.owner.id);
    let got = send(app.as_owner(Method::POST, &format!("{own}/disable"))).await;
    assert_error(&got, StatusCode::CONFLICT, "own_account");
    let got = send(app.as_owner(Method::DELETE, &own)).await;
    assert_error(&got, StatusCode::CONFLICT, "own_account");
    assert_eq!(me(&app, &app.owner.token).await.0, StatusCode::OK);
}

async fn an_admin_issues_a_token_for_a_user(app: TestApp) {
    let grace = app
        .admin_create_user(json!({"email": "grace@example.com", "workspace": "graces"}))
        .await;
    let path = format!("{}/tokens", user_path(&grace));
    let (status, issued) = send(
        app.as_owner(Method::POST, &path)
            .json(&json!({"name": "mobile", "expires_in_days": 30, "scope": {"workspaces": ["graces"], "permissions": ["devices:read"]}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let token = issued["token"].as_str().expect("token").to_owned();
    app.remember(&token);
    assert!(token.starts_with("kgt_"));
    assert_eq!(issued["name"], "mobile");
    assert!(issued["expires_at"].is_string());

    // The token authenticates as Grace, within its scope.
    let (status, who) = me(&app, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(who["user"]["email"], "grace@example.com");
    let (_, answer) = send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&json!({"token": token, "workspace": "graces", "permission": "devices:read"})),
    )
    .await;
    assert_eq!(answer["code"], "ok", "{answer}");
    let (_, answer) = send(
        app.anonymous(Method::POST, "/api/v1/verify")
            .json(&json!({"token": token, "workspace": "graces", "permission": "devices:write"})),
    )
    .await;
    assert_eq!(answer["code"], "forbidden", "{answer}");

    // A scope beyond what Grace holds is refused.
    let got = send(
        app.as_owner(Method::POST, &path)
            .json(&json!({"scope": {"workspaces": ["acme"]}})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    // Grace sees the token among hers.
    let (_, tokens) = send(app.with_token(&token, Method::GET, "/api/v1/tokens")).await;
    assert_eq!(
        tokens["tokens"].as_array().map(Vec::len),
        Some(2),
        "{tokens}"
    );
}

async fn user_administration_is_audited(app: TestApp) {
    let grace = app
        .admin_create_user(json!({"email": "grace@example.com", "workspace": "graces"}))
        .await;
    let user_id = grace["user"]["id"].as_str().expect("id").to_owned();
    // The workspace made with the account carries its creation in its log.
    let (status, log) = app
        .get_as(token_of(&grace), "/api/v1/workspaces/graces/audit")
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let created = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "user.created")
        .cloned()
        .expect("user.created in the log");
    assert_eq!(created["actor_id"], app.owner.id.to_string());
    assert_eq!(created["target_id"], user_id);
    for action in ["disable", "enable"] {
        let (status, _) =
            send(app.as_owner(Method::POST, &format!("{}/{action}", user_path(&grace)))).await;
        assert_eq!(status, StatusCode::OK);
    }
    // The instance's log has them all, with the events of no workspace.
    let (status, log) = send(app.as_owner(
        Method::GET,
        &format!("/api/v1/admin/audit?target={user_id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let actions = strings(&log["events"], "action");
    assert_eq!(
        actions,
        ["user.enabled", "user.disabled", "user.created"],
        "{log}"
    );
    let (_, bootstrapped) =
        send(app.as_owner(Method::GET, "/api/v1/admin/audit?action=user.bootstrapped")).await;
    assert_eq!(
        bootstrapped["events"].as_array().map(Vec::len),
        Some(1),
        "{bootstrapped}"
    );
    // As CSV too, with the token in a header: an instance admin's token never goes in a URL.
    let csv = fetch_text(app.as_owner(
        Method::GET,
        &format!("/api/v1/admin/audit?format=csv&target={user_id}"),
    ))
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").starts_with("text/csv"));
    let csv = csv.body;
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.contains("user.disabled"), "{csv}");
    // Only instance admins read it.
    let got = send(app.with_token(token_of(&grace), Method::GET, "/api/v1/admin/audit")).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
}

async fn bad_admin_input_gets_clear_errors(app: TestApp) {
    for (body, field) in [
        (json!({"email": "not an email"}), "email"),
        (
            json!({"email": "a@example.com", "workspace": "Not A Slug"}),
            "slug",
        ),
        (
            json!({"email": "a@example.com", "display_name": ""}),
            "display_name",
        ),
    ] {
        let got = send(app.as_owner(Method::POST, USERS).json(&body)).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert!(error_message(&got).contains(field), "{body}: {}", got.1);
    }
    let got = send(
        app.as_owner(Method::POST, USERS)
            .json(&json!({"email": "a@example.com", "role": "admin"})),
    )
    .await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    let got = send(app.as_owner(Method::GET, &format!("{USERS}?kind=robot"))).await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    let got = send(app.as_owner(Method::GET, &format!("{USERS}?limit=many"))).await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    let got = send(app.as_owner(Method::GET, &format!("{USERS}/not-a-uuid"))).await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    let got = send(app.as_owner(Method::GET, &format!("{USERS}/{}", uuid::Uuid::now_v7()))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn sign_up_is_off_by_default(app: TestApp) {
    let got = send(
        app.anonymous(Method::POST, "/api/v1/signup")
            .json(&json!({"email": "eve@example.com", "password": "a long enough password"})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    assert!(
        error_message(&got).contains("sign-up is turned off"),
        "{}",
        got.1
    );
    let (_, list) = send(app.as_owner(Method::GET, &format!("{USERS}?search=eve"))).await;
    assert_eq!(list["users"], json!([]));
}

/// With `signup = true`, anyone creates their own account and workspace, and repeated sign-ups
/// from one address are throttled.
async fn sign_up_creates_an_account_and_is_throttled(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.signup = true;
        c.auth_failures_per_minute = 2;
    })
    .await
    else {
        return;
    };
    let (status, created) = send(app.anonymous(Method::POST, "/api/v1/signup").json(
        &json!({"email": "eve@example.com", "password": "a long enough password", "workspace": "eves"}),
    ))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    app.remember(token_of(&created));
    assert_eq!(created["user"]["is_instance_admin"], false);
    assert_eq!(created["workspace"]["slug"], "eves");
    let (status, who) = me(&app, token_of(&created)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(who["workspaces"][0]["roles"], json!(["owner"]), "{who}");
    // Not an instance admin.
    let got = send(app.with_token(token_of(&created), Method::GET, USERS)).await;
    assert_eq!(got.0, StatusCode::FORBIDDEN);

    let got = send(
        app.anonymous(Method::POST, "/api/v1/signup")
            .json(&json!({"email": "eve@example.com", "password": "a long enough password"})),
    )
    .await;
    assert_error(&got, StatusCode::CONFLICT, "email_taken");

    // The quota is two a minute: the next attempts are refused with 429 and Retry-After.
    let mut refused = None;
    for i in 0..10 {
        let response = fetch(app.anonymous(Method::POST, "/api/v1/signup").json(
            &json!({"email": format!("bot{i}@example.com"), "password": "a long enough password"}),
        ))
        .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("sign-ups are throttled");
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
}

#[tokio::test]
async fn sign_up_creates_an_account_and_is_throttled_sqlite() {
    sign_up_creates_an_account_and_is_throttled(Backend::Sqlite).await;
}

#[tokio::test]
async fn sign_up_creates_an_account_and_is_throttled_postgres() {
    sign_up_creates_an_account_and_is_throttled(Backend::Postgres).await;
}

/// The code at the end of a password link.
fn link_code(link: &Value) -> String {
    let url = link["url"].as_str().expect("url");
    let (_, code) = url.rsplit_once("/password/").expect("a /password/ link");
    code.to_owned()
}

async fn a_password_link_sets_the_password_once(app: TestApp) {
    let created = app
        .admin_create_user(json!({"email": "grace@example.com", "password_link": true}))
        .await;
    let link = &created["password_link"];
    assert!(link["expires_at"].is_string(), "{created}");
    let code = link_code(link);
    app.remember(&code);
    let set = format!("/api/v1/password-links/{code}");

    // A short password is refused and the link still works.
    let got = send(
        app.anonymous(Method::POST, &set)
            .json(&json!({"password": "short"})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let (status, user) = send(
        app.anonymous(Method::POST, &set)
            .json(&json!({"password": "grace's long password"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["email"], "grace@example.com");
    // Once only.
    let got = send(
        app.anonymous(Method::POST, &set)
            .json(&json!({"password": "another long password"})),
    )
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let web = crate::helpers::WebClient::new(&app);
    let page = web
        .sign_in("grace@example.com", "grace's long password")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    // A new link replaces an unused one; a password and a link together are refused.
    let path = format!("{}/password-link", user_path(&created));
    let (status, first) = send(app.as_owner(Method::POST, &path)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (_, second) = send(app.as_owner(Method::POST, &path)).await;
    let (first, second) = (link_code(&first), link_code(&second));
    app.remember(&first);
    app.remember(&second);
    let got = send(
        app.anonymous(Method::POST, &format!("/api/v1/password-links/{first}"))
            .json(&json!({"password": "replaced long password"})),
    )
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(app.as_owner(Method::POST, USERS).json(
        &json!({"email": "x@example.com", "password": "a long enough password", "password_link": true}),
    ))
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    // Only instance admins make links; API users have no password.
    let got = send(app.with_token(token_of(&created), Method::POST, &path)).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let (_, api_user) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/api-users")
            .json(&json!({"name": "gateway"})),
    )
    .await;
    app.remember(api_user["token"]["token"].as_str().expect("token"));
    let got = send(app.as_owner(
        Method::POST,
        &format!(
            "{USERS}/{}/password-link",
            api_user["id"].as_str().expect("id")
        ),
    ))
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
}

async fn a_password_link_works_in_the_browser_and_signs_in(app: TestApp) {
    let created = app
        .admin_create_user(
            json!({"email": "lin@example.com", "password_link": true, "workspace": "lins"}),
        )
        .await;
    let code = link_code(&created["password_link"]);
    app.remember(&code);
    let web = crate::helpers::WebClient::new(&app);
    let form = web.get(&format!("/password/{code}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("lin@example.com"), "{}", form.body);
    let done = web
        .submit(
            &format!("/password/{code}"),
            &format!("/password/{code}"),
            &[("password", "lin's long password")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/"));
    // Signed in: the home page lists Lin's workspace.
    let home = web.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("lins"), "{}", home.body);
    // The link is spent.
    let again = web.get(&format!("/password/{code}")).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
}
