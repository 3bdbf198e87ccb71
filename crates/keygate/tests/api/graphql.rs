//! GraphQL over HTTP: authentication as REST's transports, every mutation, permission errors,
//! tenant isolation, the GraphQL-over-HTTP rules, limits, GraphiQL, and the checked-in SDL.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, backend_tests, fetch, fetch_text, send};

backend_tests!(
    a_missing_or_invalid_token_makes_the_request_anonymous,
    a_valid_token_sees_the_same_user_as_rest,
    token_mutations_work_and_show_the_secret_once,
    workspace_member_role_and_team_mutations,
    api_user_mutations,
    input_fields_left_out_get_the_defaults,
    input_objects_past_reason_are_refused_with_a_clear_error,
    permission_errors_and_tenant_isolation_carry_codes,
    http_rules_of_the_graphql_over_http_specification,
    abusive_queries_are_refused_and_introspection_stays_on,
);

async fn gql(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Value {
    let (status, body) = app.graphql(token, query, variables).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The data of a response that must have no errors.
#[track_caller]
fn data(body: &Value) -> &Value {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    &body["data"]
}

/// The `extensions.code` of the first error.
fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

async fn a_missing_or_invalid_token_makes_the_request_anonymous(app: TestApp) {
    let body = gql(&app, None, "{ user { id } }", json!({})).await;
    assert_eq!(body, json!({"data": {"user": null}}));

    let body = gql(
        &app,
        Some("kgt_not_a_real_token"),
        "{ user { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        body,
        json!({"data": {"user": null}, "extensions": {"authentication": "invalid_token"}})
    );

    let created = app.create_token(json!({"expires_in_days": 1})).await;
    let secret = created["token"].as_str().expect("secret");
    let id = created["id"].as_str().expect("id");
    send(app.as_owner(Method::DELETE, &format!("/api/v1/tokens/{id}"))).await;
    let body = gql(&app, Some(secret), "{ user { id } }", json!({})).await;
    assert_eq!(body["extensions"]["authentication"], "token_revoked");

    let expiring = app.create_token(json!({"expires_in_days": 1})).await;
    app.clock.advance(chrono::Duration::days(2));
    let body = gql(
        &app,
        expiring["token"].as_str(),
        "{ user { id } }",
        json!({}),
    )
    .await;
    assert_eq!(body["extensions"]["authentication"], "token_expired");
    assert_eq!(body["data"]["user"], Value::Null);

    // Anonymous callers get UNAUTHENTICATED on fields that need a caller.
    let body = gql(&app, None, "{ workspaces { slug } }", json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
}

async fn a_valid_token_sees_the_same_user_as_rest(app: TestApp) {
    let (_, me) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    for header in ["Authorization", "API-KEY", "X-API-Key"] {
        let value = if header == "Authorization" {
            format!("Bearer {}", app.owner.token)
        } else {
            app.owner.token.clone()
        };
        let (status, body) = send(
            app.anonymous(Method::POST, "/graphql")
                .header(header, value)
                .json(&json!({"query": "{ user { id email currentToken { kind } memberships { workspace { slug myRoles } roles } } }"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let user = &data(&body)["user"];
        assert_eq!(user["id"], me["user"]["id"]);
        assert_eq!(user["email"], app.owner.email);
        assert_eq!(user["currentToken"]["kind"], "PERSONAL");
        assert_eq!(user["memberships"][0]["workspace"]["slug"], "acme");
        assert_eq!(
            user["memberships"][0]["workspace"]["myRoles"],
            json!(["owner"])
        );
    }
    // GET works for queries, with the same transports.
    let (status, body) = send(
        app.as_owner(Method::GET, "/graphql")
            .query(&[("query", "{ user { id } }")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(data(&body)["user"]["id"], me["user"]["id"]);
}

async fn token_mutations_work_and_show_the_secret_once(app: TestApp) {
    let t = Some(app.owner.token.as_str());
    let body = gql(
        &app,
        t,
        "mutation($input: CreateTokenInput!) { createToken(input: $input) { secret token { id name hint status scope { permissions } } } }",
        json!({"input": {"name": "gql", "expiresInDays": 5, "scope": {"permissions": ["devices:read"]}}}),
    )
    .await;
    let created = &data(&body)["createToken"];
    let secret = created["secret"].as_str().expect("secret").to_owned();
    app.remember(&secret);
    assert!(secret.starts_with("kgt_"));
    assert_eq!(created["token"]["status"], "ACTIVE");
    assert_eq!(
        created["token"]["scope"]["permissions"],
        json!(["devices:read"])
    );
    let id = created["token"]["id"].as_str().expect("id").to_owned();

    let body = gql(&app, t, "{ user { tokens { id hint } } }", json!({})).await;
    let listing = data(&body).to_string();
    assert!(listing.contains(&id) && !listing.contains(&secret[4..]));

    let body = gql(
        &app,
        t,
        "mutation($id: UUID!) { rotateToken(id: $id) { secret token { id } } }",
        json!({"id": id}),
    )
    .await;
    let rotated = data(&body)["rotateToken"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    app.remember(&rotated);
    assert_ne!(rotated, secret);
    let (status, _) = send(app.with_token(&secret, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let body = gql(
        &app,
        t,
        "mutation($id: UUID!) { revokeToken(id: $id) { status } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(data(&body)["revokeToken"]["status"], "REVOKED");
    let (status, _) = send(app.with_token(&rotated, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let body = gql(
        &app,
        t,
        "mutation { refreshPersonalToken { secret token { kind } } }",
        json!({}),
    )
    .await;
    let fresh = data(&body)["refreshPersonalToken"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    app.remember(&fresh);
    assert!(fresh.starts_with("kgp_"));
    let body = gql(&app, t, "{ user { id } }", json!({})).await;
    assert_eq!(
        body["extensions"]["authentication"], "invalid_token",
        "the old personal token is dead"
    );
    let body = gql(&app, Some(&fresh), "{ user { id } }", json!({})).await;
    assert_eq!(data(&body)["user"]["id"], app.owner.id.to_string());
}

async fn workspace_member_role_and_team_mutations(app: TestApp) {
    let t = Some(app.owner.token.as_str());
    let body = gql(
        &app,
        t,
        "mutation { createWorkspace(input: {slug: \"lab\", name: \"Lab\"}) { slug name myRoles } }",
        json!({}),
    )
    .await;
    assert_eq!(
        data(&body)["createWorkspace"],
        json!({"slug": "lab", "name": "Lab", "myRoles": ["owner"]})
    );
    let body = gql(
        &app,
        t,
        "mutation { updateWorkspace(workspace: \"lab\", input: {name: \"Lab 2\"}) { name } }",
        json!({}),
    )
    .await;
    assert_eq!(data(&body)["updateWorkspace"]["name"], "Lab 2");

    let body = gql(&app, t, "mutation { createRole(workspace: \"lab\", input: {name: \"reader\", permissions: [\"devices:read\"]}) { name permissions builtin } }", json!({})).await;
    assert_eq!(
        data(&body)["createRole"],
        json!({"name": "reader", "permissions": ["devices:read"], "builtin": false})
    );
    let body = gql(&app, t, "mutation { updateRole(workspace: \"lab\", name: \"reader\", input: {permissions: [\"devices:read\", \"measurements:read\"]}) { permissions } }", json!({})).await;
    assert_eq!(
        data(&body)["updateRole"]["permissions"],
        json!(["devices:read", "measurements:read"])
    );
    let body = gql(&app, t, "mutation { setPublicRole(workspace: \"lab\", input: {permissions: [\"status:read\"]}) { name permissions } }", json!({})).await;
    assert_eq!(
        data(&body)["setPublicRole"]["permissions"],
        json!(["status:read"])
    );
    let body = gql(
        &app,
        None,
        "{ check(workspace: \"lab\", permission: \"status:read\") { allowed code } }",
        json!({}),
    )
    .await;
    assert_eq!(data(&body)["check"], json!({"allowed": true, "code": "ok"}));

    // Invite someone new and someone existing: both get an invitation; nobody joins unasked.
    let body = gql(&app, t, "mutation { inviteMember(workspace: \"lab\", input: {email: \"new@example.com\", roles: [\"reader\"]}) { __typename ... on PendingInvitation { code acceptUrl invitation { email } } } }", json!({})).await;
    let pending = &data(&body)["inviteMember"];
    assert_eq!(pending["__typename"], "PendingInvitation");
    let code = pending["code"].as_str().expect("code").to_owned();
    assert!(pending["acceptUrl"].as_str().expect("url").contains(&code));
    let existing = app.persona("existing@example.com", None).await;
    let body = gql(&app, t, "mutation { inviteMember(workspace: \"lab\", input: {email: \"existing@example.com\", roles: [\"viewer\"]}) { __typename ... on PendingInvitation { code invitation { email } } } }", json!({})).await;
    let invited = &data(&body)["inviteMember"];
    assert_eq!(invited["__typename"], "PendingInvitation");
    assert_eq!(invited["invitation"]["email"], "existing@example.com");
    // The existing user finds the invitation and accepts it with their token.
    let body = gql(
        &app,
        Some(&existing.token),
        "{ user { invitations { id workspace { slug } roles } } }",
        json!({}),
    )
    .await;
    let mine = &data(&body)["user"]["invitations"];
    assert_eq!(mine[0]["workspace"]["slug"], "lab", "{body}");
    assert_eq!(mine[0]["roles"], json!(["viewer"]));
    let body = gql(
        &app,
        Some(&existing.token),
        "mutation($id: UUID!) { joinWorkspace(id: $id) { user { email } roles } }",
        json!({"id": mine[0]["id"]}),
    )
    .await;
    assert_eq!(
        data(&body)["joinWorkspace"],
        json!({"user": {"email": "existing@example.com"}, "roles": ["viewer"]})
    );

    let body = gql(&app, None, "mutation($code: String!) { acceptInvitation(code: $code, input: {password: \"long enough password\"}) { secret user { email } workspace { slug } } }", json!({"code": code})).await;
    let accepted = &data(&body)["acceptInvitation"];
    assert_eq!(accepted["workspace"]["slug"], "lab");
    let newcomer = accepted["secret"].as_str().expect("secret").to_owned();
    app.remember(&newcomer);
    let body = gql(
        &app,
        Some(&newcomer),
        "{ user { memberships { roles } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        data(&body)["user"]["memberships"][0]["roles"],
        json!(["reader"])
    );

    let body = gql(&app, t, "mutation($u: UUID!) { updateMember(workspace: \"lab\", user: $u, input: {roles: [\"reader\"], grants: [\"device:a\"]}) { roles grants } }", json!({"u": existing.id})).await;
    assert_eq!(
        data(&body)["updateMember"],
        json!({"roles": ["reader"], "grants": ["device:a"]})
    );

    let body = gql(&app, t, "mutation($u: UUID!) { createTeam(workspace: \"lab\", input: {name: \"ops\", roles: [\"reader\"], members: [$u]}) { id name members { email } } }", json!({"u": existing.id})).await;
    let team = &data(&body)["createTeam"];
    assert_eq!(team["members"], json!([{"email": "existing@example.com"}]));
    let body = gql(
        &app,
        t,
        "mutation { updateTeam(workspace: \"lab\", team: \"ops\", input: {name: \"operations\"}) { name } }",
        json!({}),
    )
    .await;
    assert_eq!(data(&body)["updateTeam"]["name"], "operations");
    let body = gql(&app, t, "mutation($u: UUID!) { removeTeamMember(workspace: \"lab\", team: \"operations\", user: $u) { memberIds } }", json!({"u": existing.id})).await;
    assert_eq!(data(&body)["removeTeamMember"]["memberIds"], json!([]));
    let body = gql(&app, t, "mutation($u: UUID!) { addTeamMember(workspace: \"lab\", team: \"operations\", user: $u) { memberIds } }", json!({"u": existing.id})).await;
    assert_eq!(
        data(&body)["addTeamMember"]["memberIds"],
        json!([existing.id.to_string()])
    );
    let body = gql(&app, t, "{ workspace(slug: \"lab\") { teams { name } members(first: 1) { edges { node { user { email } } } pageInfo { hasNextPage } } } }", json!({})).await;
    assert_eq!(
        data(&body)["workspace"]["teams"],
        json!([{"name": "operations"}])
    );
    assert_eq!(
        data(&body)["workspace"]["members"]["pageInfo"]["hasNextPage"],
        true
    );
    let body = gql(
        &app,
        t,
        "mutation { deleteTeam(workspace: \"lab\", team: \"operations\") }",
        json!({}),
    )
    .await;
    assert_eq!(data(&body)["deleteTeam"], true);

    let body = gql(
        &app,
        t,
        "mutation($u: UUID!) { removeMember(workspace: \"lab\", user: $u) }",
        json!({"u": existing.id}),
    )
    .await;
    assert_eq!(data(&body)["removeMember"], true);
    let body = gql(&app, t, "mutation { inviteMember(workspace: \"lab\", input: {email: \"later@example.com\"}) { ... on PendingInvitation { invitation { id } } } }", json!({})).await;
    let invitation = data(&body)["inviteMember"]["invitation"]["id"].clone();
    let body = gql(
        &app,
        t,
        "mutation($id: UUID!) { cancelInvitation(workspace: \"lab\", id: $id) }",
        json!({"id": invitation}),
    )
    .await;
    assert_eq!(data(&body)["cancelInvitation"], true);
    let body = gql(
        &app,
        t,
        "mutation { deleteRole(workspace: \"lab\", name: \"reader\") }",
        json!({}),
    )
    .await;
    assert_eq!(data(&body)["deleteRole"], true);

    let body = gql(
        &app,
        t,
        "{ workspace(slug: \"lab\") { audit(first: 50) { edges { node { action } } } } }",
        json!({}),
    )
    .await;
    let actions = data(&body).to_string();
    for action in [
        "role.created",
        "member.invited",
        "team.deleted",
        "invitation.cancelled",
        "public_role.updated",
    ] {
        assert!(actions.contains(action), "{action} in {actions}");
    }
    let body = gql(
        &app,
        t,
        "mutation { deleteWorkspace(workspace: \"lab\") }",
        json!({}),
    )
    .await;
    assert_eq!(data(&body)["deleteWorkspace"], true);
}

async fn api_user_mutations(app: TestApp) {
    let t = Some(app.owner.token.as_str());
    let body = gql(&app, t, "mutation { createApiUser(workspace: \"acme\", input: {name: \"gateway\", grants: [\"device:a\"], roles: [\"viewer\"]}) { apiUser { id name grants roles } token { secret token { kind } } } }", json!({})).await;
    let created = &data(&body)["createApiUser"];
    let id = created["apiUser"]["id"].as_str().expect("id").to_owned();
    let secret = created["token"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    app.remember(&secret);
    assert!(secret.starts_with("kga_"));
    assert_eq!(created["token"]["token"]["kind"], "API");

    let body = gql(&app, t, "mutation($id: UUID!) { createApiUserToken(workspace: \"acme\", apiUser: $id, input: {name: \"second\", scope: {permissions: [\"devices:read\"]}}) { secret token { id } } }", json!({"id": id})).await;
    let second = &data(&body)["createApiUserToken"];
    let second_id = second["token"]["id"].as_str().expect("id").to_owned();
    app.remember(second["secret"].as_str().expect("secret"));
    let body = gql(&app, t, "mutation($id: UUID!, $t: UUID!) { rotateApiUserToken(workspace: \"acme\", apiUser: $id, token: $t) { secret } }", json!({"id": id, "t": second_id})).await;
    app.remember(
        data(&body)["rotateApiUserToken"]["secret"]
            .as_str()
            .expect("secret"),
    );
    let body = gql(&app, t, "mutation($id: UUID!, $t: UUID!) { revokeApiUserToken(workspace: \"acme\", apiUser: $id, token: $t) { status } }", json!({"id": id, "t": second_id})).await;
    assert_eq!(data(&body)["revokeApiUserToken"]["status"], "REVOKED");

    let body = gql(&app, t, "{ workspace(slug: \"acme\") { apiUsers { edges { node { name tokens { name status } } } } tokens { token { name } owner { displayName } } } }", json!({})).await;
    let ws = &data(&body)["workspace"];
    assert_eq!(
        ws["apiUsers"]["edges"][0]["node"]["tokens"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(ws["tokens"].as_array().map(Vec::len), Some(2));

    let body = gql(&app, t, "mutation($id: UUID!) { updateApiUser(workspace: \"acme\", id: $id, input: {disabled: true}) { disabled } }", json!({"id": id})).await;
    assert_eq!(data(&body)["updateApiUser"]["disabled"], true);
    let (status, _) = send(app.with_token(&secret, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body = gql(&app, t, "mutation($id: UUID!) { updateApiUser(workspace: \"acme\", id: $id, input: {disabled: false}) { disabled } }", json!({"id": id})).await;
    assert_eq!(data(&body)["updateApiUser"]["disabled"], false);
    let (status, _) = send(app.with_token(&secret, Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK);

    let first_token = {
        let body = gql(
            &app,
            t,
            "{ workspace(slug: \"acme\") { tokens { token { id name } } } }",
            json!({}),
        )
        .await;
        data(&body)["workspace"]["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .find(|o| o["token"]["name"] == "default")
            .map(|o| o["token"]["id"].clone())
            .expect("default token")
    };
    let body = gql(
        &app,
        t,
        "mutation($t: UUID!) { revokeWorkspaceToken(workspace: \"acme\", token: $t) { status } }",
        json!({"t": first_token}),
    )
    .await;
    assert_eq!(data(&body)["revokeWorkspaceToken"]["status"], "REVOKED");
    let body = gql(
        &app,
        t,
        "mutation($id: UUID!) { deleteApiUser(workspace: \"acme\", id: $id) }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(data(&body)["deleteApiUser"], true);
}

async fn input_fields_left_out_get_the_defaults(app: TestApp) {
    let t = Some(app.owner.token.as_str());
    // Lists left out of a create are empty, optional fields null.
    let body = gql(
        &app,
        t,
        "mutation { createTeam(workspace: \"acme\", input: {name: \"bare\"}) { name description roles grants memberIds } }",
        json!({}),
    )
    .await;
    assert_eq!(
        data(&body)["createTeam"],
        json!({"name": "bare", "description": null, "roles": [], "grants": [], "memberIds": []})
    );
    let body = gql(
        &app,
        t,
        "mutation { createApiUser(workspace: \"acme\", input: {name: \"plain\"}) { apiUser { id description roles grants teams { name } disabled } } }",
        json!({}),
    )
    .await;
    let api_user = &data(&body)["createApiUser"]["apiUser"];
    let id = api_user["id"].clone();
    assert_eq!(
        api_user,
        &json!({"id": id, "description": null, "roles": [], "grants": [], "teams": [], "disabled": false})
    );
    let body = gql(
        &app,
        t,
        "mutation { inviteMember(workspace: \"acme\", input: {email: \"plain@example.com\"}) { ... on PendingInvitation { invitation { roles grants } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        data(&body)["inviteMember"]["invitation"],
        json!({"roles": [], "grants": []})
    );
    let body = gql(
        &app,
        t,
        "mutation { setPublicRole(workspace: \"acme\", input: {permissions: [\"status:read\"]}) { permissions grants } }",
        json!({}),
    )
    .await;
    assert_eq!(
        data(&body)["setPublicRole"],
        json!({"permissions": ["status:read"], "grants": []})
    );

    // Fields left out of an update stay as they are; an explicit null clears where null means
    // something.
    let body = gql(&app, t, "mutation($id: UUID!) { updateApiUser(workspace: \"acme\", id: $id, input: {grants: [\"device:a\"], description: \"gateway\"}) { description grants } }", json!({"id": id})).await;
    assert_eq!(
        data(&body)["updateApiUser"],
        json!({"description": "gateway", "grants": ["device:a"]})
    );
    let body = gql(
        &app,
        t,
        "mutation($id: UUID!) { updateApiUser(workspace: \"acme\", id: $id, input: {}) { name description grants disabled } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        data(&body)["updateApiUser"],
        json!({"name": "plain", "description": "gateway", "grants": ["device:a"], "disabled": false})
    );
    let update = "mutation($input: UpdateWorkspaceInput!) { updateWorkspace(workspace: \"acme\", input: $input) { name maxTokenLifetimeDays } }";
    let body = gql(
        &app,
        t,
        update,
        json!({"input": {"maxTokenLifetimeDays": 30}}),
    )
    .await;
    let name = data(&body)["updateWorkspace"]["name"].clone();
    assert_eq!(data(&body)["updateWorkspace"]["maxTokenLifetimeDays"], 30);
    let body = gql(&app, t, update, json!({"input": {"name": "Acme 2"}})).await;
    assert_eq!(
        data(&body)["updateWorkspace"],
        json!({"name": "Acme 2", "maxTokenLifetimeDays": 30})
    );
    let body = gql(
        &app,
        t,
        update,
        json!({"input": {"name": name, "maxTokenLifetimeDays": null}}),
    )
    .await;
    assert_eq!(
        data(&body)["updateWorkspace"],
        json!({"name": name, "maxTokenLifetimeDays": null})
    );
}

async fn input_objects_past_reason_are_refused_with_a_clear_error(app: TestApp) {
    let t = Some(app.owner.token.as_str());
    let teams = "{ workspace(slug: \"acme\") { teams { name } } }";

    // A field the input does not have, inline or in a variable: a validation error that names it.
    let body = gql(
        &app,
        t,
        "mutation { createTeam(workspace: \"acme\", input: {name: \"x\", owner: true}) { id } }",
        json!({}),
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("unknown field \"owner\""), "{body}");
    assert_eq!(body["data"], Value::Null, "{body}");
    let body = gql(
        &app,
        t,
        "mutation($input: CreateTeamInput!) { createTeam(workspace: \"acme\", input: $input) { id } }",
        json!({"input": {"name": "x", "owner": true}}),
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("unknown field \"owner\""), "{body}");
    // A required field left out.
    let body = gql(
        &app,
        t,
        "mutation { createTeam(workspace: \"acme\", input: {description: \"x\"}) { id } }",
        json!({}),
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("\"name\""), "{body}");

    // Lists nested past the bracket limit are refused before they are parsed.
    let deep = format!(
        "mutation {{ createTeam(workspace: \"acme\", input: {{name: \"x\", roles: {}\"viewer\"{}}}) {{ id }} }}",
        "[".repeat(100),
        "]".repeat(100)
    );
    let body = gql(&app, t, &deep, json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("nests deeper than"), "{body}");

    // Ten thousand roles: past the body limit, refused before anything runs.
    let roles = vec!["viewer"; 10_000];
    let (status, body) = app
        .graphql(
            t,
            "mutation($input: CreateTeamInput!) { createTeam(workspace: \"acme\", input: $input) { id } }",
            json!({"input": {"name": "x", "roles": roles}}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["errors"][0]["message"], "request body too large");
    // Ten thousand short ones fit: the service names the first it does not know.
    let roles = vec!["x"; 10_000];
    let body = gql(
        &app,
        t,
        "mutation($input: CreateTeamInput!) { createTeam(workspace: \"acme\", input: $input) { id } }",
        json!({"input": {"name": "x", "roles": roles}}),
    )
    .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "roles");

    // None of it made a team.
    let body = gql(&app, t, teams, json!({})).await;
    assert_eq!(data(&body)["workspace"]["teams"], json!([]));
}

async fn permission_errors_and_tenant_isolation_carry_codes(app: TestApp) {
    let viewer = app.join("viewer@example.com", &["viewer"]).await;
    let body = gql(
        &app,
        Some(&viewer.token),
        "mutation { createRole(workspace: \"acme\", input: {name: \"x\", permissions: []}) { name } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&body), "FORBIDDEN");
    assert_eq!(
        body["errors"][0]["extensions"]["permission"],
        "roles:manage"
    );
    let body = gql(
        &app,
        Some(&viewer.token),
        "{ workspace(slug: \"acme\") { apiUsers { edges { node { id } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&body), "FORBIDDEN");

    let stranger = app.persona("stranger@example.com", Some("elsewhere")).await;
    for query in [
        "{ workspace(slug: \"acme\") { id } }",
        "mutation { createRole(workspace: \"acme\", input: {name: \"x\", permissions: []}) { name } }",
        "mutation { deleteWorkspace(workspace: \"acme\") }",
    ] {
        let body = gql(&app, Some(&stranger.token), query, json!({})).await;
        assert_eq!(code(&body), "NOT_FOUND", "{query}: {body}");
    }
    let body = gql(
        &app,
        Some(&stranger.token),
        "{ workspaces { slug } }",
        json!({}),
    )
    .await;
    assert_eq!(data(&body)["workspaces"], json!([{"slug": "elsewhere"}]));
    let body = gql(
        &app,
        Some(&app.owner.token),
        "mutation { createWorkspace(input: {slug: \"Bad Slug\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "slug");
}

async fn http_rules_of_the_graphql_over_http_specification(app: TestApp) {
    // A mutation over GET is refused; a query over GET runs.
    let response = fetch(
        app.as_owner(Method::GET, "/graphql")
            .query(&[("query", "mutation { refreshPersonalToken { secret } }")]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    let (status, _) = send(app.as_owner(Method::GET, "/api/v1/auth/me")).await;
    assert_eq!(status, StatusCode::OK, "the refused mutation did not run");

    // Validation errors: 400 with application/graphql-response+json, 200 with application/json.
    let response = fetch(
        app.anonymous(Method::POST, "/graphql")
            .header("Accept", "application/graphql-response+json")
            .json(&json!({"query": "{ nope }"})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json"
    );
    let body: Value = response.json().await.expect("json");
    assert!(body.get("data").is_none() && body["errors"].is_array());
    let response = fetch(
        app.anonymous(Method::POST, "/graphql")
            .header("Accept", "application/json")
            .json(&json!({"query": "{ nope }"})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    // A query that runs answers 200 in both media types.
    let response = fetch(
        app.anonymous(Method::POST, "/graphql")
            .header("Accept", "application/graphql-response+json")
            .json(&json!({"query": "{ user { id } }"})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Malformed requests.
    let (status, body) = send(
        app.anonymous(Method::POST, "/graphql")
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = send(
        app.anonymous(Method::POST, "/graphql")
            .body("query { user { id } }"),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _) = send(app.anonymous(Method::GET, "/graphql")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A token in the URL is refused here as on REST.
    let (status, body) = send(app.anonymous(Method::GET, "/graphql").query(&[
        ("query", "{ user { id } }"),
        ("api_token", app.owner.token.as_str()),
    ]))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.to_string().contains(&app.owner.token[4..]));
}

async fn abusive_queries_are_refused_and_introspection_stays_on(app: TestApp) {
    // Twenty levels of `ofType`: deeper than any real query, and than the limit.
    let nested = format!(
        "{{ __type(name: \"Query\") {{ fields {{ type {}{{ name }}{} }} }} }}",
        "{ ofType ".repeat(20),
        " }".repeat(20)
    );
    let body = gql(&app, None, &nested, json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("nested too deep") || message.contains("depth"),
        "{body}"
    );
    let many = format!(
        "{{ {} }}",
        (0..3000)
            .map(|i| format!("a{i}: user {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let body = gql(&app, None, &many, json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("complex"), "{body}");
    let body = gql(
        &app,
        None,
        "{ __schema { queryType { name } mutationType { name } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        data(&body)["__schema"],
        json!({"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}})
    );
}

#[tokio::test]
async fn graphiql_is_served_from_this_host_only() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .expect("SQLite");
    let html = "text/html,application/xhtml+xml";
    let response = fetch_text(
        app.anonymous(Method::GET, "/graphql")
            .header("Accept", html),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("content-type").starts_with("text/html"));
    let csp = response.header("content-security-policy").to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let page = response.body;
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "no inline script");
    let sources: Vec<&str> = page
        .split(['"', '\''])
        .filter(|s| s.starts_with("/assets/"))
        .collect();
    assert_eq!(sources.len(), 6, "{sources:?}");
    for source in sources {
        let response = fetch(app.anonymous(Method::GET, source)).await;
        assert_eq!(response.status(), StatusCode::OK, "{source}");
        let body = response.text().await.expect("asset");
        // Vendored code mentions URLs in comments and messages; none is loaded.
        for line in body
            .lines()
            .filter(|l| l.contains("import(") || l.contains("<script src"))
        {
            assert!(
                !line.contains("https://") && !line.contains("http://"),
                "{source} loads {line}"
            );
        }
        if source.ends_with("init.js") {
            assert!(
                body.contains("Token <paste your token>"),
                "the headers editor is pre-filled"
            );
        }
    }
}

/// The checked-in SDL (`docs/schema.graphql`) is the schema the server serves. Run with
/// `KEYGATE_UPDATE_SCHEMA=1` to rewrite it after a deliberate change.
#[test]
fn the_checked_in_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/schema.graphql");
    let sdl = keygate::http::graphql::sdl();
    if std::env::var_os("KEYGATE_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &sdl).expect("write schema");
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == sdl,
        "docs/schema.graphql is stale: run KEYGATE_UPDATE_SCHEMA=1 cargo test -p keygate --test api the_checked_in_schema_is_current"
    );
}
