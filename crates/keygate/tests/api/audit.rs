//! `GET /api/v1/workspaces/{ws}/audit`: every change leaves an entry; filters, pages, the CSV
//! export (the one place a token may ride in the URL) and who may read it.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_error, backend_tests, captured_logs, fetch, fetch_text, send,
};

backend_tests!(
    every_change_writes_an_entry_with_actor_target_time_and_address,
    member_role_team_and_invitation_changes_are_audited_too,
    entries_are_filtered_by_action_actor_and_target,
    entries_are_filtered_by_time,
    pages_walk_every_entry_once,
    the_log_exports_as_csv,
    the_csv_export_takes_a_token_in_the_url_and_nothing_else_does,
    reading_the_log_needs_audit_read,
    a_token_in_the_url_never_reaches_the_logs,
    accepting_an_invitation_records_the_client_address,
    viewers_and_members_cannot_read_the_audit_log,
);

const AUDIT: &str = "/api/v1/workspaces/acme/audit";

/// The events of one page as the owner sees it, with `query` parameters.
async fn events(app: &TestApp, query: &[(&str, &str)]) -> Vec<Value> {
    let (status, page) = send(app.as_owner(Method::GET, &at(AUDIT, query))).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"].as_array().expect("events").clone()
}

/// `path` with `query` appended, form-encoded.
fn at(path: &str, query: &[(&str, &str)]) -> String {
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    format!("{path}?{encoded}")
}

fn actions(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["action"].as_str()).collect()
}

async fn create_role(app: &TestApp, token: &str, name: &str) {
    let (status, role) = send(
        app.with_token(token, Method::POST, "/api/v1/workspaces/acme/roles")
            .json(&json!({"name": name, "permissions": ["devices:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
}

fn time(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn every_change_writes_an_entry_with_actor_target_time_and_address(app: TestApp) {
    let (_, me) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    let owner_token = me["token"]["id"].clone();
    let started = app.clock.now();

    let bot = app
        .create_api_user(json!({"name": "bot", "roles": ["viewer"]}))
        .await;
    let bot_id = bot["id"].as_str().expect("id").to_owned();
    let bot_path = format!("/api/v1/workspaces/acme/api-users/{bot_id}");
    let (status, token) = send(
        app.as_owner(Method::POST, &format!("{bot_path}/tokens"))
            .json(&json!({"name": "extra"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    app.remember(token["token"].as_str().expect("token"));
    let token_id = token["id"].as_str().expect("id").to_owned();
    let (status, _) =
        send(app.as_owner(Method::DELETE, &format!("{bot_path}/tokens/{token_id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, invited) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/members")
            .json(&json!({"email": "new@example.com", "roles": ["viewer"]})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{invited}");
    let invitation_id = invited["invitation"]["id"].as_str().expect("id").to_owned();
    create_role(&app, &app.owner.token, "ops").await;
    let (status, _) = send(
        app.as_owner(Method::PUT, "/api/v1/workspaces/acme/roles/public")
            .json(&json!({"permissions": ["devices:read"], "grants": ["device:lobby"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, team) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/teams")
            .json(&json!({"name": "crew", "roles": ["ops"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team_id = team["id"].as_str().expect("id").to_owned();
    let (status, _) = send(
        app.as_owner(Method::PATCH, &bot_path)
            .json(&json!({"name": "bot-2", "roles": ["member"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(app.as_owner(Method::DELETE, &bot_path)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let log = events(&app, &[("limit", "500")]).await;
    for (action, target_type, target_id) in [
        ("api_user.created", "user", bot_id.as_str()),
        ("token.created", "token", token_id.as_str()),
        ("token.revoked", "token", token_id.as_str()),
        ("member.invited", "invitation", invitation_id.as_str()),
        ("role.created", "role", "ops"),
        ("public_role.updated", "role", "public"),
        ("team.created", "team", team_id.as_str()),
        ("api_user.updated", "user", bot_id.as_str()),
        ("api_user.deleted", "user", bot_id.as_str()),
    ] {
        let entry = log
            .iter()
            .find(|e| e["action"] == action && e["target_id"] == target_id)
            .unwrap_or_else(|| panic!("no {action} on {target_id} in {log:#?}"));
        assert_eq!(entry["target_type"], target_type, "{entry}");
        assert_eq!(entry["actor_id"], app.owner.id.to_string(), "{entry}");
        assert_eq!(entry["actor"], app.owner.email, "{entry}");
        assert_eq!(entry["actor_token_id"], owner_token, "{entry}");
        assert_eq!(entry["client_ip"], "127.0.0.1", "{entry}");
        let at: DateTime<Utc> = serde_json::from_value(entry["time"].clone()).expect("time");
        assert!(at >= started && at <= app.clock.now(), "{entry}");
        assert!(entry["details"].is_object(), "{entry}");
    }
    // Newest first: the deletion leads.
    assert_eq!(log[0]["action"], "api_user.deleted");
    // Secrets never enter the log.
    let text = serde_json::to_string(&log).expect("json");
    assert!(!text.contains(&bot["token"]["token"].as_str().expect("token")[4..]));
    assert!(!text.contains(&token["token"].as_str().expect("token")[4..]));
    assert!(!text.contains(invited["code"].as_str().expect("code")));
}

/// The one entry with `action` on `target`.
fn entry<'a>(log: &'a [Value], action: &str, target: &str) -> &'a Value {
    let found: Vec<&Value> = log
        .iter()
        .filter(|e| e["action"] == action && e["target_id"] == target)
        .collect();
    assert_eq!(found.len(), 1, "one {action} on {target} in {log:#?}");
    found[0]
}

async fn member_role_team_and_invitation_changes_are_audited_too(app: TestApp) {
    let members = "/api/v1/workspaces/acme/members";
    let ivy = app.join("ivy@example.com", &["viewer"]).await;
    let ivy_id = ivy.id.to_string();
    let (status, _) = send(
        app.as_owner(Method::PATCH, &format!("{members}/{ivy_id}"))
            .json(&json!({"roles": ["member"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        send(app.with_token(&ivy.token, Method::DELETE, &format!("{members}/{ivy_id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (_, cancelled) = send(
        app.as_owner(Method::POST, members)
            .json(&json!({"email": "gone@example.com", "roles": ["viewer"]})),
    )
    .await;
    let cancelled_id = cancelled["invitation"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, _) = send(app.as_owner(
        Method::DELETE,
        &format!("/api/v1/workspaces/acme/invitations/{cancelled_id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, kept) = send(
        app.as_owner(Method::POST, members)
            .json(&json!({"email": "jay@example.com", "roles": ["viewer"]})),
    )
    .await;
    let kept_id = kept["invitation"]["id"].as_str().expect("id").to_owned();
    let (status, accepted) = send(
        app.anonymous(
            Method::POST,
            &format!(
                "/api/v1/invitations/{}/accept",
                kept["code"].as_str().expect("code")
            ),
        )
        .json(&json!({"password": "jay's password"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    app.remember(accepted["token"].as_str().expect("token"));

    create_role(&app, &app.owner.token, "ops").await;
    let (status, _) = send(
        app.as_owner(Method::PUT, "/api/v1/workspaces/acme/roles/ops")
            .json(&json!({"permissions": ["devices:write"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(app.as_owner(Method::DELETE, "/api/v1/workspaces/acme/roles/ops")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (_, team) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/teams")
            .json(&json!({"name": "crew"})),
    )
    .await;
    let team_id = team["id"].as_str().expect("id").to_owned();
    let (status, _) = send(
        app.as_owner(
            Method::PATCH,
            &format!("/api/v1/workspaces/acme/teams/{team_id}"),
        )
        .json(&json!({"name": "crew-2"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(app.as_owner(
        Method::DELETE,
        &format!("/api/v1/workspaces/acme/teams/{team_id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (_, bot) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/api-users")
            .json(&json!({"name": "bot", "roles": ["viewer"]})),
    )
    .await;
    app.remember(bot["token"]["token"].as_str().expect("token"));
    let bot_token = bot["token"]["id"].as_str().expect("id").to_owned();
    let (status, rotated) = send(app.as_owner(
        Method::POST,
        &format!(
            "/api/v1/workspaces/acme/api-users/{}/tokens/{bot_token}/rotate",
            bot["id"].as_str().expect("id")
        ),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    app.remember(rotated["token"].as_str().expect("token"));

    let log = events(&app, &[("limit", "500")]).await;
    let owner_id = app.owner.id.to_string();
    for (action, target) in [
        ("member.updated", ivy_id.as_str()),
        ("invitation.cancelled", cancelled_id.as_str()),
        ("member.invited", kept_id.as_str()),
        ("role.updated", "ops"),
        ("role.deleted", "ops"),
        ("team.updated", team_id.as_str()),
        ("team.deleted", team_id.as_str()),
        ("token.rotated", bot_token.as_str()),
    ] {
        let e = entry(&log, action, target);
        assert_eq!(e["actor_id"], owner_id.as_str(), "{e}");
        assert_eq!(e["client_ip"], "127.0.0.1", "{e}");
    }
    // Joining is the invitee's act: an existing user's acceptance is recorded with them as the
    // actor.
    let ivy_joined: Vec<&Value> = log
        .iter()
        .filter(|e| e["action"] == "invitation.accepted" && e["actor_id"] == ivy_id.as_str())
        .collect();
    assert_eq!(ivy_joined.len(), 1, "{log:#?}");
    assert_eq!(ivy_joined[0]["actor"], "ivy@example.com");
    assert_eq!(ivy_joined[0]["target_type"], "invitation");
    // Leaving is recorded with the member as the actor.
    let left = entry(&log, "member.removed", &ivy_id);
    assert_eq!(left["actor_id"], ivy_id.as_str());
    assert_eq!(left["actor"], "ivy@example.com");
    // Accepting is recorded with the new user as the actor.
    let joined = entry(&log, "invitation.accepted", &kept_id);
    assert_eq!(joined["actor_id"], accepted["user"]["id"]);
    assert_eq!(joined["actor"], "jay@example.com");
    assert!(!joined["time"].is_null());
    // Nothing secret in the details.
    let text = serde_json::to_string(&log).expect("json");
    assert!(!text.contains(&rotated["token"].as_str().expect("token")[4..]));
    assert!(!text.contains(kept["code"].as_str().expect("code")));
}

/// SPEC §8: every change records the client address; accepting an invitation adds a member.
async fn accepting_an_invitation_records_the_client_address(app: TestApp) {
    let (_, invited) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/members")
            .json(&json!({"email": "kay@example.com", "roles": ["viewer"]})),
    )
    .await;
    let (status, accepted) = send(
        app.anonymous(
            Method::POST,
            &format!(
                "/api/v1/invitations/{}/accept",
                invited["code"].as_str().expect("code")
            ),
        )
        .json(&json!({"password": "kay's password"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    app.remember(accepted["token"].as_str().expect("token"));
    let log = events(&app, &[("action", "invitation.accepted")]).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["client_ip"], "127.0.0.1", "{}", log[0]);
}

async fn entries_are_filtered_by_action_actor_and_target(app: TestApp) {
    let ada = app.join("ada@example.com", &["admin"]).await;
    create_role(&app, &app.owner.token, "by-owner").await;
    create_role(&app, &ada.token, "by-ada").await;
    let (status, team) = send(
        app.with_token(&ada.token, Method::POST, "/api/v1/workspaces/acme/teams")
            .json(&json!({"name": "crew"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");

    let roles = events(&app, &[("action", "role.created")]).await;
    assert_eq!(actions(&roles), ["role.created", "role.created"]);
    let targets: Vec<&Value> = roles.iter().map(|e| &e["target_id"]).collect();
    assert_eq!(targets, [&json!("by-ada"), &json!("by-owner")]);

    let ada_id = ada.id.to_string();
    let by_ada = events(&app, &[("actor", ada_id.as_str())]).await;
    // Newest first: ada joined (accepting her invitation) before she made anything.
    assert_eq!(
        actions(&by_ada),
        ["team.created", "role.created", "invitation.accepted"]
    );
    assert!(
        by_ada
            .iter()
            .all(|e| e["actor_id"] == ada_id && e["actor"] == "ada@example.com")
    );
    let ada_roles = events(
        &app,
        &[("actor", ada_id.as_str()), ("action", "role.created")],
    )
    .await;
    assert_eq!(ada_roles.len(), 1);
    assert_eq!(ada_roles[0]["target_id"], "by-ada");

    let team_id = team["id"].as_str().expect("id");
    let on_team = events(&app, &[("target", team_id)]).await;
    assert_eq!(actions(&on_team), ["team.created"]);
    let on_role = events(&app, &[("target", "by-owner")]).await;
    assert_eq!(actions(&on_role), ["role.created"]);
    assert_eq!(on_role[0]["actor_id"], app.owner.id.to_string());

    assert_eq!(
        events(&app, &[("action", "no.such.action")]).await,
        Vec::<Value>::new()
    );
    let nobody = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        events(&app, &[("actor", nobody.as_str())]).await,
        Vec::<Value>::new()
    );
    for bad in [
        [("actor", "not-a-uuid")],
        [("since", "yesterday")],
        [("limit", "-1")],
        [("format", "xml")],
        [("colour", "red")],
    ] {
        let got = send(app.as_owner(Method::GET, &at(AUDIT, &bad))).await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{bad:?}: {}", got.1);
    }
}

async fn entries_are_filtered_by_time(app: TestApp) {
    create_role(&app, &app.owner.token, "early").await;
    app.clock.advance(Duration::hours(1));
    let middle = app.clock.now();
    app.clock.advance(Duration::hours(1));
    create_role(&app, &app.owner.token, "late").await;

    let since = time(middle);
    let recent = events(&app, &[("since", since.as_str())]).await;
    assert_eq!(actions(&recent), ["role.created"]);
    assert_eq!(recent[0]["target_id"], "late");
    let older = events(
        &app,
        &[("until", since.as_str()), ("action", "role.created")],
    )
    .await;
    assert_eq!(older.len(), 1);
    assert_eq!(older[0]["target_id"], "early");
    for e in events(&app, &[("until", since.as_str())]).await {
        let at: DateTime<Utc> = serde_json::from_value(e["time"].clone()).expect("time");
        assert!(at < middle, "{e}");
    }
    let window = events(
        &app,
        &[
            ("since", time(middle - Duration::minutes(1)).as_str()),
            ("until", since.as_str()),
        ],
    )
    .await;
    assert_eq!(window, Vec::<Value>::new());
}

async fn pages_walk_every_entry_once(app: TestApp) {
    for i in 0..7 {
        create_role(&app, &app.owner.token, &format!("role-{i}")).await;
    }
    let all = events(&app, &[("limit", "500")]).await;
    assert!(all.len() >= 7, "{all:?}");
    let all_ids: Vec<&Value> = all.iter().map(|e| &e["id"]).collect();

    let mut walked: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "2")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let (status, page) = send(app.as_owner(Method::GET, &at(AUDIT, &query))).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let events = page["events"].as_array().expect("events");
        assert!(events.len() <= 2 && !events.is_empty(), "{page}");
        walked.extend(events.iter().map(|e| e["id"].clone()));
        pages += 1;
        assert!(pages <= all.len(), "the walk must end");
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(Some(&Value::from(next)), events.last().map(|e| &e["id"]));
                cursor = Some(next.to_owned());
            }
            None => break,
        }
    }
    let walked_refs: Vec<&Value> = walked.iter().collect();
    assert_eq!(walked_refs, all_ids, "every entry once, in order");
    assert_eq!(pages, all.len().div_ceil(2));

    // The default page is 50 at most; a cursor works with filters too.
    let (_, first) = send(app.as_owner(
        Method::GET,
        &at(AUDIT, &[("action", "role.created"), ("limit", "3")]),
    ))
    .await;
    assert_eq!(first["events"].as_array().map(Vec::len), Some(3));
    let next = first["next_cursor"]
        .as_str()
        .expect("more follow")
        .to_owned();
    let rest = events(
        &app,
        &[("action", "role.created"), ("cursor", next.as_str())],
    )
    .await;
    assert_eq!(rest.len(), 4);
    assert!(rest.iter().all(|e| e["action"] == "role.created"));
    assert_eq!(rest.last().map(|e| &e["target_id"]), Some(&json!("role-0")));
}

async fn the_log_exports_as_csv(app: TestApp) {
    create_role(&app, &app.owner.token, "ops").await;
    create_role(&app, &app.owner.token, "dev").await;
    let response = fetch(app.as_owner(Method::GET, &at(AUDIT, &[("format", "csv")]))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let body = response.text().await.expect("body");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "id,time,action,actor_id,actor,actor_token_id,target_type,target_id,client_ip,details"
    );
    let json = events(&app, &[("limit", "500")]).await;
    assert_eq!(lines.len(), json.len() + 1, "{body}");
    for (line, event) in lines[1..].iter().zip(&json) {
        let id = event["id"].as_str().expect("id");
        assert!(line.starts_with(&format!("{id},")), "{line}");
        assert!(
            line.contains(event["action"].as_str().expect("action")),
            "{line}"
        );
    }
    let ops = lines
        .iter()
        .find(|l| l.contains(",role.created,") && l.contains(",role,ops,"))
        .expect("the ops role in the export");
    assert!(
        ops.contains(&app.owner.id.to_string()) && ops.contains("127.0.0.1"),
        "{ops}"
    );

    // Filters apply to the export.
    let filtered = fetch(app.as_owner(
        Method::GET,
        &at(AUDIT, &[("format", "csv"), ("target", "dev")]),
    ))
    .await
    .text()
    .await
    .expect("body");
    assert_eq!(filtered.lines().count(), 2, "{filtered}");
}

async fn the_csv_export_takes_a_token_in_the_url_and_nothing_else_does(app: TestApp) {
    create_role(&app, &app.owner.token, "ops").await;
    let created = app.create_token(json!({"name": "export"})).await;
    let secret = created["token"].as_str().expect("secret");

    let response = fetch_text(app.anonymous(
        Method::GET,
        &at(AUDIT, &[("format", "csv"), ("api_token", secret)]),
    ))
    .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("content-type").starts_with("text/csv"));
    let body = response.body;
    assert!(body.starts_with("id,time,action,"), "{body}");
    assert!(body.contains(",role.created,"), "{body}");

    // Without a token, or with a bad one, the export is refused.
    let got = send(app.anonymous(Method::GET, &at(AUDIT, &[("format", "csv")]))).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "unauthenticated");
    let got = send(app.anonymous(
        Method::GET,
        &at(
            AUDIT,
            &[("format", "csv"), ("api_token", "kgt_not-a-token")],
        ),
    ))
    .await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "invalid_token");

    for path in [
        "/api/v1/auth/me",
        "/api/v1/tokens",
        "/api/v1/workspaces",
        "/api/v1/workspaces/acme",
        "/api/v1/workspaces/acme/members",
        "/api/v1/workspaces/acme/roles",
        "/api/v1/workspaces/acme/api-users",
    ] {
        let got = send(app.anonymous(Method::GET, &at(path, &[("api_token", secret)]))).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "query_token_not_allowed");
        assert!(!got.1.to_string().contains(secret), "{}", got.1);
    }
}

async fn reading_the_log_needs_audit_read(app: TestApp) {
    let (status, _) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/roles")
            .json(&json!({"name": "operator", "permissions": ["devices:read", "devices:write"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let operator = app.join("operator@example.com", &["operator"]).await;
    let got = send(app.with_token(&operator.token, Method::GET, AUDIT)).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(got.1["error"]["permission"], "audit:read");
    let got = send(app.anonymous(
        Method::GET,
        &at(
            AUDIT,
            &[("format", "csv"), ("api_token", operator.token.as_str())],
        ),
    ))
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(got.1["error"]["permission"], "audit:read");

    // A custom role with audit:read is enough.
    let (status, _) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/roles")
            .json(&json!({"name": "auditor", "permissions": ["audit:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let auditor = app.join("auditor@example.com", &["auditor"]).await;
    let (status, page) = send(app.with_token(&auditor.token, Method::GET, AUDIT)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(actions(page["events"].as_array().expect("events")).contains(&"role.created"));
    // A stranger does not learn the workspace exists.
    let stranger = app.persona("stranger@example.com", Some("elsewhere")).await;
    let got = send(app.with_token(&stranger.token, Method::GET, AUDIT)).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

/// `viewer` ("reads the platform's resources") and `member` ("no management") hold `*:read`,
/// which must not include Keygate's own `audit:read`.
async fn viewers_and_members_cannot_read_the_audit_log(app: TestApp) {
    for role in ["viewer", "member"] {
        let person = app.join(&format!("{role}@example.com"), &[role]).await;
        let got = send(app.with_token(&person.token, Method::GET, AUDIT)).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(got.1["error"]["permission"], "audit:read", "{role}");
    }
}

async fn a_token_in_the_url_never_reaches_the_logs(app: TestApp) {
    let created = app.create_token(json!({"name": "in-url"})).await;
    let secret = created["token"].as_str().expect("secret").to_owned();
    let response = fetch(app.anonymous(
        Method::GET,
        &at(AUDIT, &[("format", "csv"), ("api_token", secret.as_str())]),
    ))
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = send(app.anonymous(
        Method::GET,
        &at(
            "/api/v1/workspaces/acme/members",
            &[("api_token", secret.as_str())],
        ),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(app.anonymous(
        Method::GET,
        &at(AUDIT, &[("api_token", secret.as_str()), ("limit", "1")]),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);

    let logs = captured_logs();
    assert!(
        logs.contains("uri=/api/v1/workspaces/acme/audit?[query]"),
        "the requests were logged, without their query strings, so the scan means something"
    );
    assert!(!logs.contains(&secret), "the clear token is in the logs");
    assert!(
        !logs.contains(&secret[4..]),
        "the token body is in the logs"
    );
}
