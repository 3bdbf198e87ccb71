//! Joining a workspace is the invitee's choice; sign-in redirects and CSRF.
//!
//! Each test is named after the attack it tries, and must fail.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, OWNER_PASSWORD, TestApp, WebClient, backend_tests, fetch, form, send, signed_in,
    spawn_app_with,
};

const CSRF_COOKIE: &str = "keygate_csrf";

/// Mallory: a user who signed up on her own and owns the workspace `mallory`.
async fn mallory(app: &TestApp) -> crate::helpers::Persona {
    app.persona("mallory@example.net", Some("mallory")).await
}

async fn invite(app: &TestApp, token: &str, workspace: &str, body: Value) -> (StatusCode, Value) {
    send(
        app.with_token(
            token,
            Method::POST,
            &format!("/api/v1/workspaces/{workspace}/members"),
        )
        .json(&body),
    )
    .await
}

/// The workspace slugs `/auth/me` lists for `token`.
async fn workspaces_of(app: &TestApp, token: &str) -> Vec<String> {
    let (status, me) = send(app.with_token(token, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    me["workspaces"]
        .as_array()
        .expect("workspaces")
        .iter()
        .map(|m| m["slug"].as_str().expect("slug").to_owned())
        .collect()
}

/// The keys of a JSON object, and of the objects inside it, as `a.b` paths.
fn shape(value: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let path = format!("{prefix}{k}");
            shape(v, &format!("{path}."), out);
            out.push(path);
        }
    }
    out.sort();
}

async fn inviting_tells_nobody_whether_an_email_has_an_account(app: TestApp) {
    let mallory = mallory(&app).await;
    let (known_status, known) = invite(
        &app,
        &mallory.token,
        "mallory",
        json!({"email": app.owner.email}),
    )
    .await;
    let (unknown_status, unknown) = invite(
        &app,
        &mallory.token,
        "mallory",
        json!({"email": "nobody-here@example.com"}),
    )
    .await;
    assert_eq!(known_status, StatusCode::ACCEPTED, "{known}");
    assert_eq!(unknown_status, StatusCode::ACCEPTED, "{unknown}");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    shape(&known, "", &mut a);
    shape(&unknown, "", &mut b);
    assert_eq!(a, b, "the same answer for a known and an unknown email");
    let text = known.to_string();
    for leak in [
        "is_instance_admin",
        "display_name",
        "\"user\"",
        &app.owner.id.to_string(),
    ] {
        assert!(!text.contains(leak), "{leak} in {known}");
    }
}

async fn inviting_an_existing_user_does_not_enrol_them(app: TestApp) {
    let mallory = mallory(&app).await;
    let (status, invited) = invite(
        &app,
        &mallory.token,
        "mallory",
        json!({"email": app.owner.email, "roles": ["viewer"]}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{invited}");
    // The victim is in no workspace of Mallory's, and not among its members.
    assert_eq!(workspaces_of(&app, &app.owner.token).await, vec!["acme"]);
    let (status, members) = app
        .get_as(&mallory.token, "/api/v1/workspaces/mallory/members")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(members["members"].as_array().expect("members").len(), 1);
    // The invitee sees the invitation and chooses: accepting (here by its id) makes them a
    // member, with the roles they were offered.
    let (_, me) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    let mine = me["invitations"].as_array().expect("invitations");
    assert_eq!(mine.len(), 1, "{me}");
    assert_eq!(mine[0]["workspace"]["slug"], "mallory");
    let id = mine[0]["id"].as_str().expect("id");
    let (status, joined) =
        send(app.as_owner(Method::POST, &format!("/api/v1/invitations/{id}/accept"))).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["workspace"]["slug"], "mallory");
    assert_eq!(joined["member"]["roles"], json!(["viewer"]));
    let mut slugs = workspaces_of(&app, &app.owner.token).await;
    slugs.sort();
    assert_eq!(slugs, vec!["acme", "mallory"]);
    // Once only.
    let again = send(app.as_owner(Method::POST, &format!("/api/v1/invitations/{id}/accept"))).await;
    assert_eq!(again.0, StatusCode::NOT_FOUND, "{}", again.1);
}

async fn another_user_cannot_accept_an_invitation_meant_for_someone_else(app: TestApp) {
    let mallory = mallory(&app).await;
    let (_, invited) = invite(
        &app,
        &app.owner.token,
        "acme",
        json!({"email": "dana@example.com", "roles": ["admin"]}),
    )
    .await;
    let code = invited["code"].as_str().expect("code");
    let id = invited["invitation"]["id"].as_str().expect("id");
    let by_code = app
        .post_as(
            &mallory.token,
            &format!("/api/v1/invitations/{code}/accept"),
        )
        .await;
    assert_eq!(by_code.0, StatusCode::FORBIDDEN, "{}", by_code.1);
    let by_id = app
        .post_as(&mallory.token, &format!("/api/v1/invitations/{id}/accept"))
        .await;
    assert_eq!(by_id.0, StatusCode::NOT_FOUND, "{}", by_id.1);
    assert_eq!(workspaces_of(&app, &mallory.token).await, vec!["mallory"]);
    // A password is no way round it: the account exists, so none is created.
    let dana = app.persona("dana@example.com", None).await;
    let (status, body) = send(
        app.anonymous(Method::POST, &format!("/api/v1/invitations/{code}/accept"))
            .json(&json!({"password": "a long enough password"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(workspaces_of(&app, &dana.token).await.is_empty());
}

async fn a_token_scoped_to_one_workspace_cannot_accept_invitations(app: TestApp) {
    let dana = app.persona("dana@example.com", Some("dana")).await;
    let (status, scoped) = send(
        app.with_token(&dana.token, Method::POST, "/api/v1/tokens")
            .json(&json!({
                "name": "scoped",
                "scope": {"workspaces": ["dana"]},
            })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{scoped}");
    let scoped = scoped["token"].as_str().expect("token").to_owned();
    app.remember(&scoped);
    let (_, invited) = invite(
        &app,
        &app.owner.token,
        "acme",
        json!({"email": dana.email, "roles": ["admin"]}),
    )
    .await;
    let code = invited["code"].as_str().expect("code");
    let (status, body) = app
        .post_as(&scoped, &format!("/api/v1/invitations/{code}/accept"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(workspaces_of(&app, &dana.token).await, vec!["dana"]);
}

async fn flooding_invitations_is_throttled_per_caller(app: TestApp) {
    let mallory = mallory(&app).await;
    for i in 0..50 {
        let (status, body) = invite(
            &app,
            &mallory.token,
            "mallory",
            json!({"email": format!("probe{i}@example.com")}),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "invitation {i}: {body}");
    }
    let response = fetch(
        app.with_token(
            &mallory.token,
            Method::POST,
            "/api/v1/workspaces/mallory/members",
        )
        .json(&json!({"email": "probe50@example.com"})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=3600).contains(&wait), "{wait}");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
    // Another caller is not held back by Mallory's flood.
    let (status, body) = invite(
        &app,
        &app.owner.token,
        "acme",
        json!({"email": "probe50@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

async fn graphql_invite_of_an_existing_user_neither_enrols_nor_reveals_them(app: TestApp) {
    let mallory = mallory(&app).await;
    let query = format!(
        r#"mutation {{ inviteMember(workspace: "mallory", input: {{email: "{}"}}) {{
            __typename
            ... on PendingInvitation {{ code invitation {{ email }} }}
        }} }}"#,
        app.owner.email
    );
    let (status, body) = app.graphql(Some(&mallory.token), &query, Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["inviteMember"]["__typename"], "PendingInvitation",
        "{body}"
    );
    assert_eq!(workspaces_of(&app, &app.owner.token).await, vec!["acme"]);
    // The invitee accepts with their token, by the code from the link.
    let code = body["data"]["inviteMember"]["code"].as_str().expect("code");
    let join = format!(r#"mutation {{ joinWorkspace(code: "{code}") {{ roles }} }}"#);
    let (status, body) = app
        .graphql(Some(&app.owner.token), &join, Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let mut slugs = workspaces_of(&app, &app.owner.token).await;
    slugs.sort();
    assert_eq!(slugs, vec!["acme", "mallory"]);
}

backend_tests!(
    inviting_tells_nobody_whether_an_email_has_an_account,
    inviting_an_existing_user_does_not_enrol_them,
    another_user_cannot_accept_an_invitation_meant_for_someone_else,
    a_token_scoped_to_one_workspace_cannot_accept_invitations,
    flooding_invitations_is_throttled_per_caller,
    graphql_invite_of_an_existing_user_neither_enrols_nor_reveals_them,
    an_account_made_from_its_own_invitation_cannot_take_another_workspaces_invitations,
);

backend_tests!(using super::spawn_with_sign_up:
    an_account_made_by_open_sign_up_cannot_take_invitations_without_their_link,
);

/// An instance with open sign-up.
async fn spawn_with_sign_up(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |c| c.signup = true).await
}

/// Alice's invitations from another workspace, as Mallory would try them with an account of
/// Alice's email that she made herself: neither listed nor accepted by id, through REST or
/// GraphQL; with the link (which goes to whoever the inviter gives it to) it still works.
async fn assert_only_the_link_admits(app: &TestApp, alice: &str, owner: &str, workspace: &str) {
    let (status, invited) = invite(
        app,
        owner,
        workspace,
        json!({"email": "alice@example.com", "roles": ["admin"]}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{invited}");
    let id = invited["invitation"]["id"].as_str().expect("id");
    let code = invited["code"].as_str().expect("code");
    let (status, me) = send(app.with_token(alice, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["invitations"], json!([]), "{me}");
    let by_id = app
        .post_as(alice, &format!("/api/v1/invitations/{id}/accept"))
        .await;
    assert_eq!(by_id.0, StatusCode::FORBIDDEN, "{}", by_id.1);
    let (_, listed) = app
        .graphql(Some(alice), "{ user { invitations { id } } }", Value::Null)
        .await;
    assert_eq!(listed["data"]["user"]["invitations"], json!([]), "{listed}");
    let (_, joined) = app
        .graphql(
            Some(alice),
            "mutation($id: UUID!) { joinWorkspace(id: $id) { roles } }",
            json!({"id": id}),
        )
        .await;
    assert!(
        joined["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("link")),
        "{joined}"
    );
    assert!(
        !workspaces_of(app, alice)
            .await
            .contains(&workspace.to_owned())
    );
    // The link still admits whoever holds it, as it would the real Alice.
    let (status, body) = app
        .post_as(alice, &format!("/api/v1/invitations/{code}/accept"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        workspaces_of(app, alice)
            .await
            .contains(&workspace.to_owned())
    );
}

async fn an_account_made_from_its_own_invitation_cannot_take_another_workspaces_invitations(
    app: TestApp,
) {
    // Mallory invites Alice's address to her own workspace and accepts the link herself.
    let mallory = mallory(&app).await;
    let (_, invited) = invite(
        &app,
        &mallory.token,
        "mallory",
        json!({"email": "alice@example.com"}),
    )
    .await;
    let code = invited["code"].as_str().expect("code");
    let (status, made) = send(
        app.anonymous(Method::POST, &format!("/api/v1/invitations/{code}/accept"))
            .json(&json!({"password": "a long enough password"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let alice = made["token"].as_str().expect("token").to_owned();
    app.remember(&alice);
    assert_only_the_link_admits(&app, &alice, &app.owner.token, "acme").await;
}

async fn an_account_made_by_open_sign_up_cannot_take_invitations_without_their_link(app: TestApp) {
    let alice = app
        .sign_up("alice@example.com", "a long enough password", "alices")
        .await;
    assert_only_the_link_admits(&app, &alice, &app.owner.token, "acme").await;
}

// The web UI.

async fn web_invite_of_an_existing_user_waits_for_them_to_join(app: TestApp) {
    let mallory = app
        .persona_with_password(
            "mallory@example.net",
            Some("mallory"),
            Some("mallory's password"),
        )
        .await;
    let attacker = WebClient::new(&app);
    let page = attacker.sign_in(&mallory.email, "mallory's password").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let page = attacker
        .submit(
            "/w/mallory/members",
            "/w/mallory/members",
            &[("email", &app.owner.email), ("roles", "viewer")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    let link = page
        .input_value("invite-link")
        .expect("the invitation link");
    assert!(!page.body.contains("Member added"));
    assert_eq!(workspaces_of(&app, &app.owner.token).await, vec!["acme"]);

    // The invitee, signed in, finds it on the home page and on the link's page, and joins.
    let web = signed_in(&app).await;
    let home = web.get("/").await;
    assert!(home.body.contains("id=\"my-invitations\""), "{}", home.body);
    let path = link
        .split_once("/invitations/")
        .map(|(_, code)| format!("/invitations/{code}"))
        .expect("an invitation path");
    let invitation = web.get(&path).await;
    assert_eq!(invitation.status, StatusCode::OK);
    assert!(
        invitation.body.contains("id=\"join-form\""),
        "{}",
        invitation.body
    );
    let joined = web.submit(&path, &format!("{path}/join"), &[]).await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert_eq!(joined.location(), Some("/w/mallory?done=joined"));
    let mut slugs = workspaces_of(&app, &app.owner.token).await;
    slugs.sort();
    assert_eq!(slugs, vec!["acme", "mallory"]);
}

/// Signs in with `next` given to the sign-in page, and returns the answer to the form.
async fn sign_in_with_next(app: &TestApp, next_query: &str) -> crate::helpers::WebPage {
    let web = WebClient::new(app);
    let page = web.get(&format!("/signin?next={next_query}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf().expect("a CSRF token");
    // The hidden field as the page carries it (askama escapes `/` as `&#x2f;`).
    let marker = "name=\"next\" value=\"";
    let at = page.body.find(marker).expect("a next field") + marker.len();
    let next = page.body[at..at + page.body[at..].find('"').expect("end of value")]
        .replace("&#x2f;", "/")
        .replace("&#47;", "/");
    post_sign_in(app, &web, &csrf, &next).await
}

/// Posts the sign-in form as the owner with `csrf` and the hidden field `next` as given.
async fn post_sign_in(
    app: &TestApp,
    web: &WebClient,
    csrf: &str,
    next: &str,
) -> crate::helpers::WebPage {
    let fields = [
        ("_csrf", csrf),
        ("email", &app.owner.email),
        ("password", OWNER_PASSWORD),
        ("next", next),
    ];
    web.post("/signin", &fields).await
}

async fn sign_in_cannot_redirect_to_another_host(app: TestApp) {
    // As the page carries it, and as an attacker posts it straight to the form.
    let page = sign_in_with_next(&app, "%2F%09%2Fevil.example%2Fphish").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), Some("/"));
    for next in [
        "/\t/evil.example/phish",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/ /evil.example",
    ] {
        let web = WebClient::new(&app);
        let csrf = web.get("/signin").await.csrf().expect("a CSRF token");
        let page = post_sign_in(&app, &web, &csrf, next).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{next:?}: {}",
            page.body
        );
        assert_eq!(page.location(), Some("/"), "{next:?}");
    }
    // A path on the site is kept.
    let page = sign_in_with_next(&app, "%2Fw%2Facme%2Fmembers").await;
    assert_eq!(page.location(), Some("/w/acme/members"));
}

async fn sign_in_with_a_newline_in_next_cannot_break_the_answer(app: TestApp) {
    let web = WebClient::new(&app);
    let csrf = web.get("/signin").await.csrf().expect("a CSRF token");
    let planted = "/w/acme\r\nSet-Cookie: planted=1";
    let page = post_sign_in(&app, &web, &csrf, planted).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), Some("/"));
    assert!(web.cookie("planted").is_none());
    // The session started is a working one.
    assert_eq!(web.get("/").await.status, StatusCode::OK);
}

async fn a_csrf_cookie_chosen_by_the_client_is_refused_after_sign_in(app: TestApp) {
    let web = signed_in(&app).await;
    // The owner's tokens by id: their last use moves as this test lists them.
    let token_ids = || async {
        let (_, list) = send(app.as_owner(Method::GET, "/api/v1/tokens")).await;
        list["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .map(|t| t["id"].clone())
            .collect::<Vec<_>>()
    };
    let tokens_before = token_ids().await;
    for chosen in ["x", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF"] {
        web.set_cookie(CSRF_COOKIE, chosen);
        let page = web
            .send(form(
                web.request(Method::POST, "/tokens"),
                &[("_csrf", chosen), ("name", "forged"), ("expiry", "7")],
            ))
            .await;
        assert_eq!(
            page.status,
            StatusCode::FORBIDDEN,
            "{chosen}: {}",
            page.body
        );
        assert!(
            page.body.contains("<html") || page.body.contains("<!DOCTYPE"),
            "the web error page"
        );
    }
    assert_eq!(token_ids().await, tokens_before);
    // The session's own token still works.
    let csrf = web.get("/tokens/new").await.csrf().expect("a CSRF token");
    let page = web
        .send(form(
            web.request(Method::POST, "/tokens"),
            &[("_csrf", csrf.as_str()), ("name", "real"), ("expiry", "7")],
        ))
        .await;
    assert!(
        page.status.is_success() || page.status.is_redirection(),
        "{}",
        page.body
    );
}

backend_tests!(using crate::helpers::spawn_web_app:
    web_invite_of_an_existing_user_waits_for_them_to_join,
    sign_in_cannot_redirect_to_another_host,
    sign_in_with_a_newline_in_next_cannot_break_the_answer,
    a_csrf_cookie_chosen_by_the_client_is_refused_after_sign_in,
);
