//! `/api/v1/workspaces/{ws}/teams`: teams by id or name, their members, and the rights a team's
//! roles give its members.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error, backend_tests, send, strings};

backend_tests!(
    a_team_is_created_with_roles_grants_and_members,
    a_team_is_reached_by_id_or_by_name,
    a_team_is_renamed_and_its_roles_and_members_replaced,
    single_members_are_added_and_removed,
    only_workspace_members_can_join_a_team,
    team_names_are_unique,
    a_deleted_team_is_gone,
    a_team_role_reaches_its_members_at_once,
    managing_teams_needs_teams_manage,
);

const TEAMS: &str = "/api/v1/workspaces/acme/teams";

fn team_path(team: impl std::fmt::Display) -> String {
    format!("{TEAMS}/{team}")
}

/// Creates a team as the owner and returns the 201 body.
async fn create_team(app: &TestApp, body: Value) -> Value {
    let (status, team) = send(app.as_owner(Method::POST, TEAMS).json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    team
}

fn sorted(value: &Value) -> Vec<String> {
    let mut list: Vec<String> = serde_json::from_value(value.clone()).expect("list of strings");
    list.sort();
    list
}

async fn a_team_is_created_with_roles_grants_and_members(app: TestApp) {
    let ann = app.join("ann@example.com", &["viewer"]).await;
    let ben = app.join("ben@example.com", &["viewer"]).await;
    let team = create_team(
        &app,
        json!({
            "name": "Field crew",
            "description": "people in the field",
            "roles": ["member"],
            "grants": ["device:*"],
            "members": [ann.id, ben.id],
        }),
    )
    .await;
    assert!(Uuid::try_parse(team["id"].as_str().expect("id")).is_ok());
    assert_eq!(team["name"], "Field crew");
    assert_eq!(team["description"], "people in the field");
    assert_eq!(team["roles"], json!(["member"]));
    assert_eq!(team["grants"], json!(["device:*"]));
    let mut expected = vec![ann.id.to_string(), ben.id.to_string()];
    expected.sort();
    assert_eq!(sorted(&team["members"]), expected);
    assert!(!team["created_at"].is_null() && !team["updated_at"].is_null());

    let (status, list) = send(app.as_owner(Method::GET, TEAMS)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["teams"], json!([team]));
    // Members list their teams.
    let (_, member) = send(app.as_owner(
        Method::GET,
        &format!("/api/v1/workspaces/acme/members/{}", ann.id),
    ))
    .await;
    assert_eq!(
        member["teams"],
        json!([{"id": team["id"], "name": "Field crew"}])
    );

    // A team with nothing but a name.
    let bare = create_team(&app, json!({"name": "empty"})).await;
    assert_eq!(bare["roles"], json!([]));
    assert_eq!(bare["members"], json!([]));
    assert!(bare["description"].is_null());

    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": Uuid::now_v7().to_string()}), "name"),
        (json!({"name": "x", "roles": ["nope"]}), "roles"),
        (json!({"name": "x", "roles": ["public"]}), "roles"),
        (json!({"name": "x", "grants": ["bad grant"]}), "grants"),
    ] {
        let got = send(app.as_owner(Method::POST, TEAMS).json(&body)).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], field, "{body}");
    }
    let (_, list) = send(app.as_owner(Method::GET, TEAMS)).await;
    assert_eq!(list["teams"].as_array().map(Vec::len), Some(2));
}

async fn a_team_is_reached_by_id_or_by_name(app: TestApp) {
    let team = create_team(&app, json!({"name": "ops", "roles": ["viewer"]})).await;
    let id = team["id"].as_str().expect("id");
    let (status, by_id) = send(app.as_owner(Method::GET, &team_path(id))).await;
    assert_eq!(status, StatusCode::OK, "{by_id}");
    let (status, by_name) = send(app.as_owner(Method::GET, &team_path("ops"))).await;
    assert_eq!(status, StatusCode::OK, "{by_name}");
    assert_eq!(by_id, team);
    assert_eq!(by_name, team);
    // Names with spaces travel percent-encoded.
    let spaced = create_team(&app, json!({"name": "night shift"})).await;
    let (status, found) = send(app.as_owner(Method::GET, &team_path("night%20shift"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["id"], spaced["id"]);

    for missing in ["nope".to_owned(), Uuid::now_v7().to_string()] {
        let got = send(app.as_owner(Method::GET, &team_path(&missing))).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
}

async fn a_team_is_renamed_and_its_roles_and_members_replaced(app: TestApp) {
    let ann = app.join("ann@example.com", &["viewer"]).await;
    let ben = app.join("ben@example.com", &["viewer"]).await;
    let team = create_team(
        &app,
        json!({"name": "ops", "roles": ["viewer"], "grants": ["device:a"], "members": [ann.id]}),
    )
    .await;
    let id = team["id"].as_str().expect("id");

    let (status, renamed) = send(
        app.as_owner(Method::PATCH, &team_path("ops"))
            .json(&json!({"name": "operations", "description": "24/7"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["id"], id);
    assert_eq!(renamed["name"], "operations");
    assert_eq!(renamed["description"], "24/7");
    // What the patch leaves out stays.
    assert_eq!(renamed["roles"], json!(["viewer"]));
    assert_eq!(renamed["grants"], json!(["device:a"]));
    assert_eq!(renamed["members"], json!([ann.id]));
    let got = send(app.as_owner(Method::GET, &team_path("ops"))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    let (status, replaced) = send(app.as_owner(Method::PATCH, &team_path(id)).json(&json!({
        "roles": ["member"],
        "grants": ["device:b", "device:c"],
        "members": [ben.id],
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["name"], "operations");
    assert_eq!(replaced["roles"], json!(["member"]));
    assert_eq!(sorted(&replaced["grants"]), ["device:b", "device:c"]);
    assert_eq!(replaced["members"], json!([ben.id]));
    let (_, again) = send(app.as_owner(Method::GET, &team_path("operations"))).await;
    assert_eq!(again, replaced);

    let (status, emptied) = send(
        app.as_owner(Method::PATCH, &team_path(id))
            .json(&json!({"roles": [], "members": []})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emptied["roles"], json!([]));
    assert_eq!(emptied["members"], json!([]));

    let got = send(
        app.as_owner(Method::PATCH, &team_path("nope"))
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn single_members_are_added_and_removed(app: TestApp) {
    let ann = app.join("ann@example.com", &["viewer"]).await;
    let ben = app.join("ben@example.com", &["viewer"]).await;
    let team = create_team(&app, json!({"name": "ops", "members": [ann.id]})).await;
    let id = team["id"].as_str().expect("id");

    let (status, added) = send(app.as_owner(
        Method::PUT,
        &format!("{}/members/{}", team_path("ops"), ben.id),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let mut expected = vec![ann.id.to_string(), ben.id.to_string()];
    expected.sort();
    assert_eq!(sorted(&added["members"]), expected);
    // Adding twice changes nothing.
    let (status, same) = send(app.as_owner(
        Method::PUT,
        &format!("{}/members/{}", team_path(id), ben.id),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sorted(&same["members"]), expected);

    let (status, body) = send(app.as_owner(
        Method::DELETE,
        &format!("{}/members/{}", team_path(id), ann.id),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, now) = send(app.as_owner(Method::GET, &team_path(id))).await;
    assert_eq!(now["members"], json!([ben.id]));
    let got = send(app.as_owner(
        Method::DELETE,
        &format!("{}/members/{}", team_path(id), ann.id),
    ))
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(app.as_owner(
        Method::PUT,
        &format!("{}/members/{}", team_path("nope"), ann.id),
    ))
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn only_workspace_members_can_join_a_team(app: TestApp) {
    let outsider = app.persona("outsider@example.com", Some("elsewhere")).await;
    let ann = app.join("ann@example.com", &["viewer"]).await;
    for members in [json!([outsider.id]), json!([ann.id, Uuid::now_v7()])] {
        let got = send(
            app.as_owner(Method::POST, TEAMS)
                .json(&json!({"name": "ops", "members": members})),
        )
        .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "members");
    }
    let team = create_team(&app, json!({"name": "ops", "members": [ann.id]})).await;
    let got = send(app.as_owner(
        Method::PUT,
        &format!("{}/members/{}", team_path("ops"), outsider.id),
    ))
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(got.1["error"]["field"], "members");
    let got = send(
        app.as_owner(Method::PATCH, &team_path("ops"))
            .json(&json!({"members": [outsider.id]})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let (_, now) = send(app.as_owner(Method::GET, &team_path("ops"))).await;
    assert_eq!(now["members"], team["members"]);
}

async fn team_names_are_unique(app: TestApp) {
    create_team(&app, json!({"name": "ops"})).await;
    create_team(&app, json!({"name": "dev"})).await;
    let got = send(
        app.as_owner(Method::POST, TEAMS)
            .json(&json!({"name": "ops"})),
    )
    .await;
    assert_error(&got, StatusCode::CONFLICT, "team_exists");
    let got = send(
        app.as_owner(Method::PATCH, &team_path("dev"))
            .json(&json!({"name": "ops"})),
    )
    .await;
    assert_error(&got, StatusCode::CONFLICT, "team_exists");
    // Keeping one's own name is no clash.
    let (status, _) = send(
        app.as_owner(Method::PATCH, &team_path("dev"))
            .json(&json!({"name": "dev"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = send(app.as_owner(Method::GET, TEAMS)).await;
    let mut names = strings(&list["teams"], "name");
    names.sort_unstable();
    assert_eq!(names, ["dev", "ops"]);
}

async fn a_deleted_team_is_gone(app: TestApp) {
    let ann = app.join("ann@example.com", &["viewer"]).await;
    let team = create_team(&app, json!({"name": "ops", "members": [ann.id]})).await;
    let id = team["id"].as_str().expect("id");
    let (status, body) = send(app.as_owner(Method::DELETE, &team_path(id))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for reference in [id, "ops"] {
        let got = send(app.as_owner(Method::GET, &team_path(reference))).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
    let got = send(app.as_owner(Method::DELETE, &team_path(id))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (_, list) = send(app.as_owner(Method::GET, TEAMS)).await;
    assert_eq!(list["teams"], json!([]));
    let (_, member) = send(app.as_owner(
        Method::GET,
        &format!("/api/v1/workspaces/acme/members/{}", ann.id),
    ))
    .await;
    assert_eq!(member["teams"], json!([]));
    // Deleting by name works too.
    create_team(&app, json!({"name": "dev"})).await;
    let (status, _) = send(app.as_owner(Method::DELETE, &team_path("dev"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn a_team_role_reaches_its_members_at_once(app: TestApp) {
    let (status, role) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/roles")
            .json(&json!({"name": "firmware", "permissions": ["firmware:deploy"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let ann = app.join("ann@example.com", &["viewer"]).await;
    assert_eq!(
        app.verify_code(&ann.token, "firmware:deploy").await,
        "forbidden"
    );

    let team = create_team(&app, json!({"name": "release", "roles": ["firmware"]})).await;
    let id = team["id"].as_str().expect("id");
    // In a team without the member, nothing changes.
    assert_eq!(
        app.verify_code(&ann.token, "firmware:deploy").await,
        "forbidden"
    );

    let (status, _) = send(app.as_owner(
        Method::PUT,
        &format!("{}/members/{}", team_path(id), ann.id),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.verify_code(&ann.token, "firmware:deploy").await, "ok");
    // A token created before joining carries the new right too.
    assert_eq!(app.verify_code(&ann.token, "devices:read").await, "ok");

    let (status, _) = send(
        app.as_owner(Method::PATCH, &team_path(id))
            .json(&json!({"roles": []})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.verify_code(&ann.token, "firmware:deploy").await,
        "forbidden"
    );

    // And back, then leaving the team takes it away again.
    let (status, _) = send(
        app.as_owner(Method::PATCH, &team_path(id))
            .json(&json!({"roles": ["firmware"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.verify_code(&ann.token, "firmware:deploy").await, "ok");
    let (status, _) = send(app.as_owner(
        Method::DELETE,
        &format!("{}/members/{}", team_path(id), ann.id),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.verify_code(&ann.token, "firmware:deploy").await,
        "forbidden"
    );
}

async fn managing_teams_needs_teams_manage(app: TestApp) {
    let ann = app.join("ann@example.com", &["viewer"]).await;
    let team = create_team(&app, json!({"name": "ops", "members": [ann.id]})).await;
    let id = team["id"].as_str().expect("id");
    let as_ann = |method: Method, path: &str| app.with_token(&ann.token, method, path);

    // Reading is open to members.
    let (status, list) = send(as_ann(Method::GET, TEAMS)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["teams"], json!([team]));

    for request in [
        as_ann(Method::POST, TEAMS).json(&json!({"name": "mine"})),
        as_ann(Method::PATCH, &team_path(id)).json(&json!({"roles": ["admin"]})),
        as_ann(
            Method::PUT,
            &format!("{}/members/{}", team_path(id), ann.id),
        ),
        as_ann(
            Method::DELETE,
            &format!("{}/members/{}", team_path(id), ann.id),
        ),
        as_ann(Method::DELETE, &team_path(id)),
    ] {
        let got = send(request).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(got.1["error"]["permission"], "teams:manage");
    }
    let (_, still) = send(app.as_owner(Method::GET, &team_path(id))).await;
    assert_eq!(still, team);
}
