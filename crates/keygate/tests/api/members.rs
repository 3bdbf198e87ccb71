//! `/api/v1/workspaces/{ws}/members`, `.../invitations` and accepting an invitation: who may add
//! whom with which roles, and the owner rules.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, backend_tests, send, strings};

backend_tests!(
    an_existing_user_joins_only_when_they_accept,
    inviting_an_unknown_email_gives_a_one_time_accept_link,
    accepting_creates_the_account_with_the_invited_roles,
    an_invitation_code_works_only_once,
    a_refused_acceptance_leaves_the_code_usable,
    an_expired_invitation_cannot_be_previewed_or_accepted,
    re_inviting_replaces_the_pending_invitation,
    pending_invitations_are_listed_and_cancelled,
    member_roles_and_grants_are_changed,
    a_removed_member_loses_the_workspace,
    the_last_owner_cannot_be_removed_or_demoted,
    a_second_owner_lets_the_first_step_down,
    two_owners_demoting_each_other_at_once_leave_an_owner,
    only_owners_make_owners,
    nobody_hands_out_permissions_they_lack,
    unknown_and_public_roles_are_refused,
    viewers_list_members_but_cannot_invite,
    a_member_can_leave_on_their_own,
);

const MEMBERS: &str = "/api/v1/workspaces/acme/members";

/// Invites `email` into acme as the owner; returns the status and body.
async fn invite(app: &TestApp, email: &str, roles: &[&str]) -> (StatusCode, Value) {
    send(
        app.as_owner(Method::POST, MEMBERS)
            .json(&json!({"email": email, "roles": roles})),
    )
    .await
}

/// Invites an email as the owner and returns the 202 body.
async fn invite_pending(app: &TestApp, email: &str, roles: &[&str]) -> Value {
    let (status, body) = invite(app, email, roles).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body
}

async fn accept(app: &TestApp, code: &str, password: &str) -> (StatusCode, Value) {
    send(
        app.anonymous(Method::POST, &format!("/api/v1/invitations/{code}/accept"))
            .json(&json!({"password": password})),
    )
    .await
}

fn member_path(user: impl std::fmt::Display) -> String {
    format!("{MEMBERS}/{user}")
}

/// The user ids listed in `.../members`, as seen by the owner.
async fn member_ids(app: &TestApp) -> Vec<String> {
    let (status, list) = send(app.as_owner(Method::GET, MEMBERS)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["user"]["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn an_existing_user_joins_only_when_they_accept(app: TestApp) {
    let bob = app.persona("bob@example.com", None).await;
    let (status, invited) = send(app.as_owner(Method::POST, MEMBERS).json(&json!({
        "email": "bob@example.com",
        "roles": ["member"],
        "grants": ["device:*", "project:p1/*"],
    })))
    .await;
    // The same answer as for an unknown email: nothing says that bob has an account.
    assert_eq!(status, StatusCode::ACCEPTED, "{invited}");
    assert_eq!(invited["invitation"]["email"], "bob@example.com");
    assert!(invited["user"].is_null(), "{invited}");
    assert!(!member_ids(&app).await.contains(&bob.id.to_string()));
    let got = send(app.as_owner(Method::GET, &member_path(bob.id))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    // Bob sees the invitation and accepts it with his own token.
    let (_, me) = send(app.with_token(&bob.token, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(me["workspaces"], json!([]));
    assert_eq!(
        me["invitations"][0]["id"], invited["invitation"]["id"],
        "{me}"
    );
    assert_eq!(me["invitations"][0]["workspace"]["slug"], "acme");
    assert_eq!(me["invitations"][0]["roles"], json!(["member"]));
    let code = invited["code"].as_str().expect("code");
    let (status, joined) = app.accept_invitation(&bob.token, code).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["workspace"]["slug"], "acme");
    let member = &joined["member"];
    assert_eq!(member["user"]["id"], bob.id.to_string());
    assert_eq!(member["user"]["email"], "bob@example.com");
    assert_eq!(member["user"]["kind"], "human");
    assert_eq!(member["roles"], json!(["member"]));
    assert_eq!(member["grants"], json!(["device:*", "project:p1/*"]));
    assert_eq!(member["teams"], json!([]));
    assert!(!member["joined_at"].is_null());

    let (status, one) = send(app.as_owner(Method::GET, &member_path(bob.id))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&one, member);
    let (_, me) = send(app.with_token(&bob.token, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(me["workspaces"][0]["slug"], "acme");
    assert_eq!(me["workspaces"][0]["roles"], json!(["member"]));
    assert_eq!(me["invitations"], json!([]));

    let again = invite(&app, "bob@example.com", &["viewer"]).await;
    assert_error(&again, StatusCode::CONFLICT, "already_member");
}

async fn inviting_an_unknown_email_gives_a_one_time_accept_link(app: TestApp) {
    let body = invite_pending(&app, "carol@example.com", &["viewer"]).await;
    let code = body["code"].as_str().expect("code");
    assert!(code.len() >= 20, "a code hard to guess: {code}");
    let accept_url = body["accept_url"].as_str().expect("accept_url");
    assert!(
        accept_url.starts_with("http://")
            && accept_url.ends_with(&format!("/invitations/{code}"))
            && !accept_url.contains("/api/"),
        "{accept_url}"
    );
    let invitation = &body["invitation"];
    assert_eq!(invitation["email"], "carol@example.com");
    assert_eq!(invitation["roles"], json!(["viewer"]));
    assert!(!invitation["id"].is_null());
    let created: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(invitation["created_at"].clone()).expect("time");
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(invitation["expires_at"].clone()).expect("time");
    assert_eq!(expires - created, Duration::days(7));

    // The holder of the link sees what is offered, without a token.
    let (status, preview) =
        send(app.anonymous(Method::GET, &format!("/api/v1/invitations/{code}"))).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["email"], "carol@example.com");
    assert_eq!(preview["workspace"]["slug"], "acme");
    assert_eq!(preview["roles"], json!(["viewer"]));
    assert_eq!(preview["expires_at"], invitation["expires_at"]);

    // Not a member until accepted.
    assert_eq!(member_ids(&app).await, [app.owner.id.to_string()]);
    let got = send(app.anonymous(Method::GET, "/api/v1/invitations/not-a-real-code")).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn accepting_creates_the_account_with_the_invited_roles(app: TestApp) {
    let (status, body) = send(app.as_owner(Method::POST, MEMBERS).json(&json!({
        "email": "dave@example.com",
        "roles": ["member", "viewer"],
        "grants": ["device:abc"],
    })))
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["invitation"]["grants"], json!(["device:abc"]));
    let code = body["code"].as_str().expect("code");
    let (status, accepted) = send(
        app.anonymous(Method::POST, &format!("/api/v1/invitations/{code}/accept"))
            .json(&json!({"password": "correct horse battery staple", "display_name": "Dave"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    let token = accepted["token"].as_str().expect("token");
    app.remember(token);
    assert!(token.starts_with("kgp_"), "{token}");
    assert_eq!(accepted["user"]["email"], "dave@example.com");
    assert_eq!(accepted["user"]["display_name"], "Dave");
    assert_eq!(accepted["user"]["kind"], "human");
    assert_eq!(accepted["workspace"]["slug"], "acme");

    let (status, me) = send(app.with_token(token, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["id"], accepted["user"]["id"]);
    assert_eq!(me["token"]["kind"], "personal");
    assert_eq!(me["workspaces"].as_array().map(Vec::len), Some(1));
    assert_eq!(me["workspaces"][0]["slug"], "acme");
    let mut roles: Vec<String> =
        serde_json::from_value(me["workspaces"][0]["roles"].clone()).expect("roles");
    roles.sort();
    assert_eq!(roles, ["member", "viewer"]);

    let user_id = accepted["user"]["id"].as_str().expect("id").to_owned();
    assert!(member_ids(&app).await.contains(&user_id));
    let (_, member) = send(app.as_owner(Method::GET, &member_path(&user_id))).await;
    assert_eq!(member["grants"], json!(["device:abc"]), "{member}");
    let (_, pending) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/invitations")).await;
    assert_eq!(pending["invitations"], json!([]));
}

async fn an_invitation_code_works_only_once(app: TestApp) {
    let body = invite_pending(&app, "erin@example.com", &["viewer"]).await;
    let code = body["code"].as_str().expect("code");
    let (status, first) = accept(&app, code, "first password 123").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    app.remember(first["token"].as_str().expect("token"));

    let again = accept(&app, code, "second password 456").await;
    assert_error(&again, StatusCode::NOT_FOUND, "not_found");
    let preview = send(app.anonymous(Method::GET, &format!("/api/v1/invitations/{code}"))).await;
    assert_error(&preview, StatusCode::NOT_FOUND, "not_found");
    // Still one account for the email, the first one.
    let (_, list) = send(app.as_owner(Method::GET, MEMBERS)).await;
    let erins: Vec<&Value> = list["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter(|m| m["user"]["email"] == "erin@example.com")
        .collect();
    assert_eq!(erins.len(), 1);
    assert_eq!(erins[0]["user"]["id"], first["user"]["id"]);
}

async fn a_refused_acceptance_leaves_the_code_usable(app: TestApp) {
    let body = invite_pending(&app, "fay@example.com", &["viewer"]).await;
    let code = body["code"].as_str().expect("code");
    for password in ["", "short", "1234567"] {
        let got = accept(&app, code, password).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "password");
    }
    let got = send(
        app.anonymous(Method::POST, &format!("/api/v1/invitations/{code}/accept"))
            .json(&json!({"password": "long enough now", "display_name": ""})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(got.1["error"]["field"], "display_name");
    let (status, preview) =
        send(app.anonymous(Method::GET, &format!("/api/v1/invitations/{code}"))).await;
    assert_eq!(status, StatusCode::OK, "{preview}");

    // An account made for the email in the meantime blocks a second one.
    let other = invite_pending(&app, "gus@example.com", &["viewer"]).await;
    app.persona("gus@example.com", None).await;
    let got = accept(
        &app,
        other["code"].as_str().expect("code"),
        "a fine password",
    )
    .await;
    assert_error(&got, StatusCode::CONFLICT, "email_taken");

    let (status, accepted) = accept(&app, code, "long enough now").await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    app.remember(accepted["token"].as_str().expect("token"));
}

async fn an_expired_invitation_cannot_be_previewed_or_accepted(app: TestApp) {
    let body = invite_pending(&app, "frank@example.com", &["viewer"]).await;
    let code = body["code"].as_str().expect("code");
    app.clock.advance(Duration::days(8));
    let preview = send(app.anonymous(Method::GET, &format!("/api/v1/invitations/{code}"))).await;
    assert_error(&preview, StatusCode::CONFLICT, "invitation_expired");
    let got = accept(&app, code, "too late password").await;
    assert_error(&got, StatusCode::CONFLICT, "invitation_expired");
    assert_eq!(member_ids(&app).await, [app.owner.id.to_string()]);
}

async fn re_inviting_replaces_the_pending_invitation(app: TestApp) {
    let first = invite_pending(&app, "gina@example.com", &["viewer"]).await;
    let second = invite_pending(&app, "gina@example.com", &["member"]).await;
    assert_ne!(first["code"], second["code"]);
    let old = first["code"].as_str().expect("code");
    let new = second["code"].as_str().expect("code");

    let got = send(app.anonymous(Method::GET, &format!("/api/v1/invitations/{old}"))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = accept(&app, old, "old link password").await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    let (_, list) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/invitations")).await;
    let invitations = list["invitations"].as_array().expect("invitations");
    assert_eq!(invitations.len(), 1, "{list}");
    assert_eq!(invitations[0]["id"], second["invitation"]["id"]);

    let (status, accepted) = accept(&app, new, "new link password").await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    app.remember(accepted["token"].as_str().expect("token"));
    let (_, me) = app
        .get_as(
            accepted["token"].as_str().expect("token"),
            "/api/v1/auth/me",
        )
        .await;
    assert_eq!(me["workspaces"][0]["roles"], json!(["member"]));
}

async fn pending_invitations_are_listed_and_cancelled(app: TestApp) {
    let a = invite_pending(&app, "hank@example.com", &["viewer"]).await;
    let b = invite_pending(&app, "ida@example.com", &["member"]).await;
    let (status, list) =
        send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/invitations")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mut emails = strings(&list["invitations"], "email");
    emails.sort_unstable();
    assert_eq!(emails, ["hank@example.com", "ida@example.com"]);
    // The listing never carries the codes.
    for code in [&a["code"], &b["code"]] {
        assert!(!list.to_string().contains(code.as_str().expect("code")));
    }

    let id = a["invitation"]["id"].as_str().expect("id");
    let path = format!("/api/v1/workspaces/acme/invitations/{id}");
    let (status, body) = send(app.as_owner(Method::DELETE, &path)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = send(app.as_owner(Method::DELETE, &path)).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let code = a["code"].as_str().expect("code");
    let got = accept(&app, code, "cancelled link password").await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    let (_, list) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/invitations")).await;
    let left = list["invitations"].as_array().expect("invitations");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["email"], "ida@example.com");
}

async fn member_roles_and_grants_are_changed(app: TestApp) {
    let jo = app.join("jo@example.com", &["viewer"]).await;
    let path = member_path(jo.id);
    let (status, changed) = send(
        app.as_owner(Method::PATCH, &path)
            .json(&json!({"roles": ["member"], "grants": ["device:abc"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["roles"], json!(["member"]));
    assert_eq!(changed["grants"], json!(["device:abc"]));

    // A patch of grants alone keeps the roles.
    let (status, changed) = send(
        app.as_owner(Method::PATCH, &path)
            .json(&json!({"grants": ["device:*"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["roles"], json!(["member"]));
    assert_eq!(changed["grants"], json!(["device:*"]));

    // The change is what the member's token carries now.
    let check = |resource: &'static str| {
        app.with_token(&jo.token, Method::POST, "/api/v1/auth/check")
            .json(
                &json!({"workspace": "acme", "permission": "devices:write", "resource": resource}),
            )
    };
    let (_, allowed) = send(check("device:abc")).await;
    assert_eq!(allowed["allowed"], true, "{allowed}");
    let (_, refused) = send(check("sensor:1")).await;
    assert_eq!(refused["allowed"], false, "{refused}");

    let got = send(
        app.as_owner(Method::PATCH, &path)
            .json(&json!({"grants": ["not a pattern"]})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(got.1["error"]["field"], "grants");
    let got = send(
        app.as_owner(Method::PATCH, &member_path(uuid::Uuid::now_v7()))
            .json(&json!({"roles": ["viewer"]})),
    )
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn a_removed_member_loses_the_workspace(app: TestApp) {
    let kim = app.join("kim@example.com", &["member"]).await;
    let (status, body) = send(app.as_owner(Method::DELETE, &member_path(kim.id))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = send(app.as_owner(Method::GET, &member_path(kim.id))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    assert!(!member_ids(&app).await.contains(&kim.id.to_string()));

    let (status, me) = send(app.with_token(&kim.token, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK, "the account stays");
    assert_eq!(me["workspaces"], json!([]));
    let got = send(app.with_token(&kim.token, Method::GET, MEMBERS)).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(app.as_owner(Method::DELETE, &member_path(kim.id))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn the_last_owner_cannot_be_removed_or_demoted(app: TestApp) {
    let owner = member_path(app.owner.id);
    let got = send(app.as_owner(Method::DELETE, &owner)).await;
    assert_error(&got, StatusCode::CONFLICT, "last_owner");
    let got = send(
        app.as_owner(Method::PATCH, &owner)
            .json(&json!({"roles": ["admin"]})),
    )
    .await;
    assert_error(&got, StatusCode::CONFLICT, "last_owner");
    let (_, me) = send(app.as_owner(Method::GET, &owner)).await;
    assert_eq!(me["roles"], json!(["owner"]));

    // Adding a role keeps ownership, so it is allowed.
    let (status, both) = send(
        app.as_owner(Method::PATCH, &owner)
            .json(&json!({"roles": ["owner", "admin"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{both}");
    let mut roles: Vec<String> = serde_json::from_value(both["roles"].clone()).expect("roles");
    roles.sort();
    assert_eq!(roles, ["admin", "owner"]);
}

async fn a_second_owner_lets_the_first_step_down(app: TestApp) {
    let lee = app.join("lee@example.com", &["owner"]).await;
    let (status, demoted) = send(
        app.as_owner(Method::PATCH, &member_path(app.owner.id))
            .json(&json!({"roles": ["admin"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{demoted}");
    assert_eq!(demoted["roles"], json!(["admin"]));
    // Now lee is the last owner, and an admin cannot remove them.
    let got = send(app.as_owner(Method::DELETE, &member_path(lee.id))).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = send(app.with_token(&lee.token, Method::DELETE, &member_path(lee.id))).await;
    assert_error(&got, StatusCode::CONFLICT, "last_owner");
}

async fn only_owners_make_owners(app: TestApp) {
    let admin = app.join("max@example.com", &["admin"]).await;
    let nina = app.join("nina@example.com", &["viewer"]).await;
    let got = send(
        app.with_token(&admin.token, Method::POST, MEMBERS)
            .json(&json!({"email": "oscar@example.com", "roles": ["owner"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = send(
        app.with_token(&admin.token, Method::PATCH, &member_path(nina.id))
            .json(&json!({"roles": ["owner"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = send(
        app.with_token(&admin.token, Method::PATCH, &member_path(admin.id))
            .json(&json!({"roles": ["owner"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    // An admin cannot demote or remove the owner either.
    let got = send(
        app.with_token(&admin.token, Method::PATCH, &member_path(app.owner.id))
            .json(&json!({"roles": ["viewer"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = send(app.with_token(&admin.token, Method::DELETE, &member_path(app.owner.id))).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");

    // But an admin does manage other roles.
    let (status, nina_now) = send(
        app.with_token(&admin.token, Method::PATCH, &member_path(nina.id))
            .json(&json!({"roles": ["member"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{nina_now}");
    assert_eq!(nina_now["roles"], json!(["member"]));
    let (_, owner) = send(app.as_owner(Method::GET, &member_path(app.owner.id))).await;
    assert_eq!(owner["roles"], json!(["owner"]));
    let (_, pending) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/invitations")).await;
    assert_eq!(pending["invitations"], json!([]));
}

async fn nobody_hands_out_permissions_they_lack(app: TestApp) {
    let (status, role) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/roles")
            .json(&json!({"name": "recruiter", "permissions": ["members:manage", "devices:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let recruiter = app.join("pat@example.com", &["recruiter"]).await;

    // `member` carries `*:read` and `*:write`, which a recruiter does not hold.
    let got = send(
        app.with_token(&recruiter.token, Method::POST, MEMBERS)
            .json(&json!({"email": "quinn@example.com", "roles": ["member"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let got = send(
        app.with_token(&recruiter.token, Method::POST, MEMBERS)
            .json(&json!({"email": "quinn@example.com", "roles": ["admin"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let (_, pending) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/invitations")).await;
    assert_eq!(pending["invitations"], json!([]), "nothing was written");

    // Their own role is theirs to give.
    let (status, body) = send(
        app.with_token(&recruiter.token, Method::POST, MEMBERS)
            .json(&json!({"email": "quinn@example.com", "roles": ["recruiter"]})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    // A member limited to some resources cannot grant all of them.
    let (status, _) = send(
        app.as_owner(Method::PATCH, &member_path(recruiter.id))
            .json(&json!({"grants": ["device:abc"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let got = send(
        app.with_token(&recruiter.token, Method::POST, MEMBERS)
            .json(&json!({"email": "rose@example.com", "roles": ["recruiter"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = send(
        app.with_token(&recruiter.token, Method::POST, MEMBERS)
            .json(&json!({"email": "rose@example.com", "roles": ["recruiter"], "grants": ["device:abc"]})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

async fn unknown_and_public_roles_are_refused(app: TestApp) {
    for roles in [
        json!(["nope"]),
        json!(["viewer", "nope"]),
        json!(["public"]),
    ] {
        let got = send(
            app.as_owner(Method::POST, MEMBERS)
                .json(&json!({"email": "sam@example.com", "roles": roles})),
        )
        .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "roles", "{roles}");
    }
    let tom = app.join("tom@example.com", &["viewer"]).await;
    for roles in [json!(["nope"]), json!(["public"])] {
        let got = send(
            app.as_owner(Method::PATCH, &member_path(tom.id))
                .json(&json!({"roles": roles})),
        )
        .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], "roles");
    }
    let got = send(
        app.as_owner(Method::POST, MEMBERS)
            .json(&json!({"email": "not-an-email", "roles": ["viewer"]})),
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
    let (_, pending) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/invitations")).await;
    assert_eq!(pending["invitations"], json!([]));
    let (_, tom_now) = send(app.as_owner(Method::GET, &member_path(tom.id))).await;
    assert_eq!(tom_now["roles"], json!(["viewer"]));
}

async fn viewers_list_members_but_cannot_invite(app: TestApp) {
    let uma = app.join("uma@example.com", &["viewer"]).await;
    let (status, list) = send(app.with_token(&uma.token, Method::GET, MEMBERS)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["members"].as_array().map(Vec::len), Some(2));
    let (status, _) =
        send(app.with_token(&uma.token, Method::GET, &member_path(app.owner.id))).await;
    assert_eq!(status, StatusCode::OK);

    let got = send(
        app.with_token(&uma.token, Method::POST, MEMBERS)
            .json(&json!({"email": "vic@example.com", "roles": ["viewer"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(got.1["error"]["permission"], "members:manage");
    let got = app
        .get_as(&uma.token, "/api/v1/workspaces/acme/invitations")
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(got.1["error"]["permission"], "members:manage");
    let got = send(
        app.with_token(&uma.token, Method::PATCH, &member_path(uma.id))
            .json(&json!({"roles": ["member"]})),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(got.1["error"]["permission"], "members:manage");
    let got = send(app.with_token(&uma.token, Method::DELETE, &member_path(app.owner.id))).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(got.1["error"]["permission"], "members:manage");
}

async fn a_member_can_leave_on_their_own(app: TestApp) {
    let wes = app.join("wes@example.com", &["viewer"]).await;
    let (status, body) =
        send(app.with_token(&wes.token, Method::DELETE, &member_path(wes.id))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(member_ids(&app).await, [app.owner.id.to_string()]);
    let (_, me) = send(app.with_token(&wes.token, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(me["workspaces"], json!([]));
}

/// The owners of acme, by email.
async fn owners(app: &TestApp, token: &str) -> Vec<String> {
    let (status, list) = send(app.with_token(token, Method::GET, MEMBERS)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter(|m| {
            m["roles"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("owner")))
        })
        .map(|m| m["user"]["email"].as_str().expect("email").to_owned())
        .collect()
}

/// The last-owner rule holds under concurrency: two owners who take `owner` from each other at
/// the same moment cannot both succeed.
async fn two_owners_demoting_each_other_at_once_leave_an_owner(app: TestApp) {
    let olga = app.join("olga@example.com", &["owner"]).await;
    let people = [
        (
            app.owner.token.clone(),
            app.owner.id,
            app.owner.email.clone(),
        ),
        (olga.token.clone(), olga.id, olga.email.clone()),
    ];
    let demote = |(token, _, _): &(String, uuid::Uuid, String), other: uuid::Uuid| {
        send(
            app.with_token(token, Method::PATCH, &member_path(other))
                .json(&json!({"roles": ["admin"]})),
        )
    };
    for round in 0..20 {
        let (first, second) = tokio::join!(
            demote(&people[0], people[1].1),
            demote(&people[1], people[0].1),
        );
        let left = owners(&app, &people[0].0).await;
        assert_eq!(
            left.len(),
            1,
            "round {round}: {first:?} {second:?} left {left:?}"
        );
        // One wins; the other is refused: `last_owner`, or, when the winner's change landed
        // before the other request was judged, because its sender is no longer an owner.
        let results = [&first, &second];
        let won = results.iter().filter(|got| got.0 == StatusCode::OK).count();
        let refused = results
            .iter()
            .filter(|got| {
                (got.0 == StatusCode::CONFLICT && got.1["error"]["code"] == "last_owner")
                    || (got.0 == StatusCode::FORBIDDEN && got.1["error"]["code"] == "forbidden")
            })
            .count();
        assert_eq!(
            (won, refused),
            (1, 1),
            "round {round}: {first:?} {second:?}"
        );
        // The one still an owner makes the other an owner again.
        let (keeper, demoted) = if left[0] == people[0].2 {
            (&people[0], &people[1])
        } else {
            (&people[1], &people[0])
        };
        let (status, body) = send(
            app.with_token(&keeper.0, Method::PATCH, &member_path(demoted.1))
                .json(&json!({"roles": ["owner"]})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}
