//! `/api/openapi.json` and `/api/docs`: the document lists exactly the REST routes (the list
//! below is the reference: a route added without its description, or a description without its
//! route, fails here), every documented operation is routed, every operation that takes a token
//! documents the answers it gives a badly presented one, and Swagger UI is served from the binary
//! without loading anything from another host.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_error, backend_tests, fetch, fetch_text, send, spawn_app,
    spawn_app_with,
};

backend_tests!(every_documented_operation_is_routed);
backend_tests!(using super::spawn_unthrottled:
    every_operation_that_takes_a_token_answers_a_badly_presented_one_as_documented
);

/// A server that lets one address fail to authenticate without end: the test below presents
/// bad tokens to every operation.
async fn spawn_unthrottled(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |config| {
        config.auth_failures_per_minute = 1_000_000
    })
    .await
}

/// Every REST operation: `/api/v1/...`, the health checks, the metrics and forward-auth (routed
/// for every method). GraphQL, the docs themselves and the admin UI are not REST operations and
/// are not listed.
const OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/auth/forward"),
    ("POST", "/auth/forward"),
    ("PUT", "/auth/forward"),
    ("PATCH", "/auth/forward"),
    ("DELETE", "/auth/forward"),
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/personal-token/refresh"),
    ("POST", "/api/v1/auth/check"),
    ("POST", "/api/v1/verify"),
    ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"),
    ("GET", "/api/v1/tokens/{id}"),
    ("PATCH", "/api/v1/tokens/{id}"),
    ("DELETE", "/api/v1/tokens/{id}"),
    ("POST", "/api/v1/tokens/{id}/rotate"),
    ("DELETE", "/api/v1/tokens/{id}/retiring-secret"),
    ("GET", "/api/v1/invitations/{code}"),
    ("POST", "/api/v1/invitations/{code}/accept"),
    ("GET", "/api/v1/workspaces"),
    ("POST", "/api/v1/workspaces"),
    ("GET", "/api/v1/workspaces/{ws}"),
    ("PATCH", "/api/v1/workspaces/{ws}"),
    ("DELETE", "/api/v1/workspaces/{ws}"),
    ("GET", "/api/v1/workspaces/{ws}/members"),
    ("POST", "/api/v1/workspaces/{ws}/members"),
    ("GET", "/api/v1/workspaces/{ws}/members/{user}"),
    ("PATCH", "/api/v1/workspaces/{ws}/members/{user}"),
    ("DELETE", "/api/v1/workspaces/{ws}/members/{user}"),
    ("GET", "/api/v1/workspaces/{ws}/invitations"),
    ("DELETE", "/api/v1/workspaces/{ws}/invitations/{id}"),
    ("GET", "/api/v1/workspaces/{ws}/roles"),
    ("POST", "/api/v1/workspaces/{ws}/roles"),
    ("GET", "/api/v1/workspaces/{ws}/roles/{name}"),
    ("PUT", "/api/v1/workspaces/{ws}/roles/{name}"),
    ("DELETE", "/api/v1/workspaces/{ws}/roles/{name}"),
    ("GET", "/api/v1/workspaces/{ws}/teams"),
    ("POST", "/api/v1/workspaces/{ws}/teams"),
    ("GET", "/api/v1/workspaces/{ws}/teams/{team}"),
    ("PATCH", "/api/v1/workspaces/{ws}/teams/{team}"),
    ("DELETE", "/api/v1/workspaces/{ws}/teams/{team}"),
    ("PUT", "/api/v1/workspaces/{ws}/teams/{team}/members/{user}"),
    (
        "DELETE",
        "/api/v1/workspaces/{ws}/teams/{team}/members/{user}",
    ),
    ("GET", "/api/v1/workspaces/{ws}/api-users"),
    ("POST", "/api/v1/workspaces/{ws}/api-users"),
    ("GET", "/api/v1/workspaces/{ws}/api-users/{id}"),
    ("PATCH", "/api/v1/workspaces/{ws}/api-users/{id}"),
    ("DELETE", "/api/v1/workspaces/{ws}/api-users/{id}"),
    ("GET", "/api/v1/workspaces/{ws}/api-users/{id}/tokens"),
    ("POST", "/api/v1/workspaces/{ws}/api-users/{id}/tokens"),
    (
        "PATCH",
        "/api/v1/workspaces/{ws}/api-users/{id}/tokens/{token}",
    ),
    (
        "DELETE",
        "/api/v1/workspaces/{ws}/api-users/{id}/tokens/{token}",
    ),
    (
        "POST",
        "/api/v1/workspaces/{ws}/api-users/{id}/tokens/{token}/rotate",
    ),
    ("GET", "/api/v1/workspaces/{ws}/tokens"),
    ("DELETE", "/api/v1/workspaces/{ws}/tokens/{id}"),
    ("GET", "/api/v1/workspaces/{ws}/audit"),
    ("GET", "/api/v1/workspaces/{ws}/leak-policy"),
    ("PUT", "/api/v1/workspaces/{ws}/leak-policy"),
    ("POST", "/api/v1/tokens/revoke"),
    ("POST", "/api/v1/leaks/github"),
    ("GET", "/api/v1/leaks/gitlab/v1/revocable_token_types"),
    ("POST", "/api/v1/leaks/gitlab/v1/revoke_tokens"),
    ("GET", "/api/v1/workspaces/{ws}/webhooks"),
    ("POST", "/api/v1/workspaces/{ws}/webhooks"),
    ("GET", "/api/v1/workspaces/{ws}/webhooks/{id}"),
    ("PATCH", "/api/v1/workspaces/{ws}/webhooks/{id}"),
    ("DELETE", "/api/v1/workspaces/{ws}/webhooks/{id}"),
    (
        "POST",
        "/api/v1/workspaces/{ws}/webhooks/{id}/rotate-secret",
    ),
    ("GET", "/api/v1/workspaces/{ws}/webhooks/{id}/deliveries"),
    (
        "POST",
        "/api/v1/workspaces/{ws}/webhooks/{id}/deliveries/{message}/redeliver",
    ),
    ("GET", "/api/v1/admin/webhooks"),
    ("POST", "/api/v1/admin/webhooks"),
    ("GET", "/api/v1/admin/webhooks/{id}"),
    ("PATCH", "/api/v1/admin/webhooks/{id}"),
    ("DELETE", "/api/v1/admin/webhooks/{id}"),
    ("POST", "/api/v1/admin/webhooks/{id}/rotate-secret"),
    ("GET", "/api/v1/admin/webhooks/{id}/deliveries"),
    (
        "POST",
        "/api/v1/admin/webhooks/{id}/deliveries/{message}/redeliver",
    ),
    ("GET", "/api/v1/admin/users"),
    ("POST", "/api/v1/admin/users"),
    ("GET", "/api/v1/admin/users/{id}"),
    ("DELETE", "/api/v1/admin/users/{id}"),
    ("POST", "/api/v1/admin/users/{id}/disable"),
    ("POST", "/api/v1/admin/users/{id}/enable"),
    ("GET", "/api/v1/admin/users/{id}/tokens"),
    ("POST", "/api/v1/admin/users/{id}/tokens"),
    ("POST", "/api/v1/admin/users/{id}/password-link"),
    ("POST", "/api/v1/password-links/{code}"),
    ("GET", "/api/v1/admin/audit"),
    ("POST", "/api/v1/signup"),
];

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

async fn document(app: &TestApp) -> Value {
    let response = fetch_text(app.anonymous(Method::GET, "/api/openapi.json")).await;
    assert_eq!(response.status, StatusCode::OK);
    let content_type = response.header("content-type").to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    serde_json::from_str(&response.body).expect("the document is JSON")
}

/// (method, path) of every operation in the document.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|k| METHODS.contains(&k.to_uppercase().as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &doc["paths"][path][method.to_lowercase()];
    assert!(op.is_object(), "{method} {path} is documented");
    op
}

/// The value a JSON pointer made of a `$ref` names, if it exists.
/// The names of an operation's parameters that are `location` ones (`header`, `query`, ...).
fn parameter_names<'a>(op: &'a Value, location: &str) -> BTreeSet<&'a str> {
    op["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["in"] == location)
        .filter_map(|p| p["name"].as_str())
        .collect()
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    reference
        .strip_prefix('#')
        .and_then(|pointer| doc.pointer(pointer))
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref"
                    && let Some(r) = v.as_str()
                {
                    out.push(r.to_owned());
                }
                collect_refs(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The security scheme names an operation accepts (the document's default when it sets none).
fn security_of(doc: &Value, op: &Value) -> Vec<Value> {
    op.get("security")
        .unwrap_or(&doc["security"])
        .as_array()
        .expect("security requirements")
        .clone()
}

/// Whether an operation accepts a token: some security requirement names a scheme (`{}` alone
/// means none).
fn takes_token(doc: &Value, op: &Value) -> bool {
    security_of(doc, op).iter().any(|r| r != &json!({}))
}

/// The documented response for `status`, resolved when it is a reference.
fn documented_response<'a>(doc: &'a Value, op: &'a Value, status: &str) -> Option<&'a Value> {
    let response = op["responses"].get(status)?;
    match response["$ref"].as_str() {
        Some(r) => resolve(doc, r),
        None => Some(response),
    }
}

#[tokio::test]
async fn the_document_describes_exactly_the_rest_api() {
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    let doc = document(&app).await;

    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1, got {}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Keygate");

    // Exactly the REST routes, no more, no fewer.
    let expected: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        expected.len(),
        OPERATIONS.len(),
        "no duplicates in the list"
    );
    let documented = documented_operations(&doc);
    let missing: Vec<_> = expected.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not documented: {missing:?}; documented but not in the reference list: {extra:?}"
    );

    // Security schemes: one per token transport.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["bearer"],
        json!({"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]})
    );
    for (name, header) in [
        ("token", "Authorization"),
        ("api_key", "API-KEY"),
        ("x_api_key", "X-API-Key"),
    ] {
        assert_eq!(schemes[name]["type"], "apiKey", "{name}");
        assert_eq!(schemes[name]["in"], "header", "{name}");
        assert_eq!(schemes[name]["name"], header, "{name}");
    }
    assert!(
        schemes["token"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("Token <token>")),
        "the Authorization apiKey says how to write it: {}",
        schemes["token"]
    );
    assert_eq!(schemes["api_token"]["type"], "apiKey");
    assert_eq!(schemes["api_token"]["in"], "query");
    assert_eq!(schemes["api_token"]["name"], "api_token");

    // The URL token is offered by a workspace's audit route only (never for the instance admin's
    // log); the header transports everywhere a token is taken.
    let query_token = json!({"api_token": []});
    for (method, path) in OPERATIONS {
        let op = operation(&doc, method, path);
        let security = security_of(&doc, op);
        let audit = *path == "/api/v1/workspaces/{ws}/audit";
        assert_eq!(
            security.contains(&query_token),
            audit,
            "{method} {path}: api_token in the URL only on a workspace's audit route"
        );
        let public = security == [json!({})];
        if !public {
            for scheme in ["bearer", "token", "api_key", "x_api_key"] {
                assert!(
                    security.contains(&json!({ scheme: [] })),
                    "{method} {path} accepts {scheme}: {security:?}"
                );
            }
        }
    }
    for (method, path) in [
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("POST", "/api/v1/verify"),
        ("GET", "/api/v1/invitations/{code}"),
    ] {
        let op = operation(&doc, method, path);
        assert_eq!(
            security_of(&doc, op),
            [json!({})],
            "{method} {path} needs no token"
        );
    }
    // A new person accepts without a token; a person with an account, with theirs.
    let accept = security_of(
        &doc,
        operation(&doc, "POST", "/api/v1/invitations/{code}/accept"),
    );
    assert!(accept.contains(&json!({})), "{accept:?}");
    for scheme in ["bearer", "token", "api_key", "x_api_key"] {
        assert!(accept.contains(&json!({ scheme: [] })), "{accept:?}");
    }
    // Without a token, /auth/check and forward-auth answer for an anonymous caller.
    let check = security_of(&doc, operation(&doc, "POST", "/api/v1/auth/check"));
    assert!(check.contains(&json!({})) && check.contains(&json!({"bearer": []})));
    let forward = security_of(&doc, operation(&doc, "GET", "/auth/forward"));
    assert_eq!(
        forward, check,
        "forward-auth takes a token as /auth/check does"
    );

    // Forward-auth: the same operation for every method (HEAD and OPTIONS too), the headers it
    // reads, and the headers of its 200.
    let get = operation(&doc, "GET", "/auth/forward");
    for method in ["post", "put", "patch", "delete", "head", "options"] {
        let op = &doc["paths"]["/auth/forward"][method];
        assert_eq!(op["responses"], get["responses"], "{method} /auth/forward");
        assert_eq!(
            op["parameters"], get["parameters"],
            "{method} /auth/forward"
        );
    }
    let read = parameter_names(get, "header");
    assert_eq!(
        read,
        BTreeSet::from([
            "X-Forwarded-Method",
            "X-Forwarded-Uri",
            "X-Original-Method",
            "X-Original-URI",
            "X-Forwarded-For"
        ])
    );
    let allowed = &get["responses"]["200"]["headers"];
    for header in [
        "X-Keygate-User",
        "X-Keygate-Workspace",
        "X-Keygate-Token-Id",
    ] {
        assert!(allowed[header].is_object(), "forward-auth 200 has {header}");
    }
    for status in ["400", "401", "403", "429", "503"] {
        assert!(
            get["responses"][status].is_object(),
            "forward-auth documents {status}"
        );
    }
    let metrics = operation(&doc, "GET", "/metrics");
    assert!(
        metrics["responses"]["200"]["content"]["text/plain; version=0.0.4; charset=utf-8"]
            .is_object()
    );

    // Every reference resolves; operation ids are unique.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in &refs {
        assert!(resolve(&doc, r).is_some(), "dangling $ref {r}");
    }
    let mut ids = BTreeMap::new();
    for (method, path) in OPERATIONS {
        let id = operation(&doc, method, path)["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has an operationId"))
            .to_owned();
        if let Some(other) = ids.insert(id.clone(), format!("{method} {path}")) {
            panic!("operationId {id} used by {other} and {method} {path}");
        }
    }

    // The error envelope.
    let error_body = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error_body["required"], json!(["error"]));
    let detail = resolve(
        &doc,
        error_body["properties"]["error"]["$ref"]
            .as_str()
            .expect("ErrorBody.error is a reference"),
    )
    .expect("error detail schema");
    assert_eq!(detail["required"], json!(["code", "message"]));

    for (method, path) in OPERATIONS {
        let op = operation(&doc, method, path);
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path} documents its success"
        );
        // Each error response is the envelope.
        for (status, response) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
            let response = match response["$ref"].as_str() {
                Some(r) => resolve(&doc, r).expect("response reference resolves"),
                None => response,
            };
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path} {status}"
            );
        }
        // Path parameters: each one in the template is declared, and no other.
        let in_template: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().expect("name").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(in_template, declared, "{method} {path} path parameters");
        // Operations that take a token can refuse how it is presented (400), the token itself
        // (401) and the client address (429); those with a body can refuse it.
        let statuses: BTreeSet<&str> = responses.keys().map(String::as_str).collect();
        if takes_token(&doc, op) {
            for status in ["400", "401", "429"] {
                assert!(
                    statuses.contains(status),
                    "{method} {path} documents {status}"
                );
            }
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                assert!(
                    statuses.contains(status),
                    "{method} {path} documents {status}"
                );
            }
        }
    }
    let readyz = operation(&doc, "GET", "/readyz");
    assert!(readyz["responses"]["503"].is_object());

    // The audit route's query parameters.
    let audit = operation(&doc, "GET", "/api/v1/workspaces/{ws}/audit");
    let query = parameter_names(audit, "query");
    assert_eq!(
        query,
        BTreeSet::from([
            "actor", "action", "target", "since", "until", "cursor", "limit", "format"
        ])
    );
    assert!(audit["responses"]["200"]["content"]["text/csv"].is_object());

    // Request and response schemas, with examples for the main calls.
    for (method, path, status) in [
        ("POST", "/api/v1/tokens", "201"),
        ("POST", "/api/v1/verify", "200"),
        ("POST", "/api/v1/workspaces/{ws}/api-users", "201"),
    ] {
        let op = operation(&doc, method, path);
        let request = &op["requestBody"]["content"]["application/json"];
        assert!(request["schema"]["$ref"].is_string(), "{method} {path}");
        assert!(
            request.get("example").is_some() || request.get("examples").is_some(),
            "{method} {path} has a request example"
        );
        let response = &op["responses"][status]["content"]["application/json"];
        assert!(response["schema"]["$ref"].is_string(), "{method} {path}");
        assert!(
            response.get("example").is_some() || response.get("examples").is_some(),
            "{method} {path} has a response example"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for name in [
        "TokenJson",
        "TokenWithSecretJson",
        "CreateTokenJson",
        "VerifyRequestJson",
        "VerifyJson",
        "CreateApiUserJson",
        "CreatedApiUserJson",
        "MeJson",
        "AuditPageJson",
    ] {
        assert!(schemas[name].is_object(), "schema {name}");
    }
    // Domain types have schemas of their own.
    assert_eq!(
        schemas["TokenKind"]["enum"],
        json!(["personal", "user", "api"])
    );
    assert_eq!(
        schemas["TokenStatus"]["enum"],
        json!(["active", "expired", "revoked"])
    );
    assert_eq!(schemas["UserKind"]["enum"], json!(["human", "api"]));
    assert_eq!(schemas["Permission"]["type"], "string");
    assert_eq!(schemas["ResourcePattern"]["type"], "string");
    assert!(schemas["Scope"]["properties"]["permissions"].is_object());
}

/// A documented operation with its placeholders filled in: real ids where the test made them,
/// dummies elsewhere. Any answer but a missing route (404 `no such route`) or 405 will do: auth
/// and validation errors are fine, the route exists.
async fn every_documented_operation_is_routed(app: TestApp) {
    let doc = document(&app).await;
    assert_eq!(documented_operations(&doc).len(), OPERATIONS.len());

    // A token to call with that survives the calls below (personal token refresh, revocations).
    let caller = app.create_token(json!({"name": "caller"})).await;
    let caller = caller["token"].as_str().expect("token").to_owned();
    let victim = app.create_token(json!({"name": "victim"})).await;
    let (_, api_user) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/api-users")
            .json(&json!({"name": "probe"})),
    )
    .await;
    let (_, team) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/teams")
            .json(&json!({"name": "probe-team"})),
    )
    .await;
    let (_, role) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/roles")
            .json(&json!({"name": "probe-role", "permissions": ["devices:read"]})),
    )
    .await;
    let (_, invited) = send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/members")
            .json(&json!({"email": "probe@example.com"})),
    )
    .await;
    let text = |v: &Value, what: &str| {
        v.as_str()
            .unwrap_or_else(|| panic!("{what} in the setup responses"))
            .to_owned()
    };
    let values: BTreeMap<&str, String> = BTreeMap::from([
        ("ws", "acme".to_owned()),
        ("user", app.owner.id.to_string()),
        ("name", text(&role["name"], "role name")),
        ("team", text(&team["name"], "team name")),
        ("code", text(&invited["code"], "invitation code")),
        ("message", format!("msg_{}", uuid::Uuid::nil().simple())),
    ]);
    let id_for = |path: &str| -> String {
        if path.contains("/api-users/") {
            text(&api_user["id"], "API user id")
        } else if path.contains("/invitations/") {
            text(&invited["invitation"]["id"], "invitation id")
        } else {
            text(&victim["id"], "token id")
        }
    };

    // Deleting comes last, the deepest paths first, and the workspace itself at the very end.
    let mut operations: Vec<(&str, &str)> = OPERATIONS.to_vec();
    operations.sort_by_key(|(m, p)| {
        let delete = *m == "DELETE";
        (
            delete,
            delete && *p == "/api/v1/workspaces/{ws}",
            delete.then_some(std::cmp::Reverse(p.len())),
        )
    });
    for (method, template) in operations {
        let mut path = template.replace("{id}", &id_for(template));
        path = path.replace("{token}", &text(&api_user["token"]["id"], "API token id"));
        for (name, value) in &values {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        assert!(!path.contains('{'), "{template}: every placeholder filled");
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = app.with_token(&caller, method.clone(), &path);
        if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
            request = request.json(&json!({}));
        }
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is routed: {body}"
        );
        assert!(
            !(status == StatusCode::NOT_FOUND && body.contains("no such route")),
            "{method} {path} is routed: {body}"
        );
    }

    // And the methods a documented path does not list are not routed either.
    let documented = documented_operations(&doc);
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for template in paths {
        let path = template.replace(['{', '}'], "");
        for method in METHODS {
            if documented.contains(&(method.to_owned(), template.clone())) {
                continue;
            }
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            let (status, body) = send(app.with_token(&caller, method.clone(), &path)).await;
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {template} is not documented, so not routed: {body}"
            );
        }
    }
}

/// Every operation that takes a token, called for real with a token presented badly, answers with
/// the error envelope and a status its document lists, in that envelope: two different tokens,
/// a token in the URL (refused, or a second token on the routes that allow the URL), another
/// `Authorization` scheme (400 each), and a malformed token (401). A client that follows the
/// document is never surprised by how Keygate refuses a token.
async fn every_operation_that_takes_a_token_answers_a_badly_presented_one_as_documented(
    app: TestApp,
) {
    let doc = document(&app).await;
    let other = app.persona("other@example.com", None).await;
    let mut checked = 0;
    for (method, template) in OPERATIONS {
        let op = operation(&doc, method, template);
        // Forward-auth first needs the proxy's headers; how it refuses a token is tested with
        // them in forward.rs.
        if !takes_token(&doc, op) || template.starts_with("/auth/") {
            continue;
        }
        checked += 1;
        // Well-formed placeholders, so that nothing but the token is wrong.
        let mut path = template.replace("{ws}", "acme");
        for name in ["{id}", "{user}", "{token}", "{name}", "{team}", "{code}"] {
            path = path.replace(name, "0190f5a6-3c1e-7b7a-9a52-6f1d2c3b4a59");
        }
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let url_token_allowed = security_of(&doc, op).contains(&json!({"api_token": []}));
        let with_body = |request: reqwest::RequestBuilder| {
            if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
                request.json(&json!({}))
            } else {
                request
            }
        };
        let cases = [
            (
                "two different tokens",
                app.as_owner(method.clone(), &path)
                    .header("X-API-Key", &other.token),
                StatusCode::BAD_REQUEST,
                "conflicting_tokens",
            ),
            (
                "a token in the URL beside one in a header",
                app.as_owner(method.clone(), &format!("{path}?api_token={}", other.token)),
                StatusCode::BAD_REQUEST,
                if url_token_allowed {
                    "conflicting_tokens"
                } else {
                    "query_token_not_allowed"
                },
            ),
            (
                "another Authorization scheme",
                app.anonymous(method.clone(), &path)
                    .header("Authorization", "Basic dXNlcjpwYXNzd29yZA=="),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
            (
                "a malformed token",
                app.anonymous(method.clone(), &path)
                    .header("Authorization", "Bearer not-a-token"),
                StatusCode::UNAUTHORIZED,
                "invalid_token",
            ),
        ];
        for (what, request, status, code) in cases {
            let got = send(with_body(request)).await;
            assert_error(&got, status, code);
            let documented = documented_response(&doc, op, got.0.as_str()).unwrap_or_else(|| {
                panic!("{method} {template}: {what} gets {}, undocumented", got.0)
            });
            assert_eq!(
                documented["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {template}: {what}"
            );
        }
    }
    assert!(checked >= 50, "{checked} operations take a token");
}

/// `http://` and `https://` references in `text` to hosts other than this machine.
fn external_references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for scheme in ["http://", "https://"] {
        for (at, _) in text.match_indices(scheme) {
            let rest = &text[at + scheme.len()..];
            let host: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || ".-_".contains(*c))
                .collect();
            if !(host == "localhost" || host == "127.0.0.1") {
                found.push(format!("{scheme}{host}"));
            }
        }
    }
    found
}

/// The `src` and `href` values in an HTML page.
fn linked(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let rest = &html[at + attribute.len()..];
            if let Some(end) = rest.find('"') {
                links.push(rest[..end].to_owned());
            }
        }
    }
    links
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary_and_loads_nothing_from_elsewhere() {
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    // `/api/docs` redirects to `/api/docs/`; reqwest follows it.
    let response = fetch(app.anonymous(Method::GET, "/api/docs")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page_url = response.url().clone();
    assert_eq!(page_url.path(), "/api/docs/");
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"))
    );
    let html = response.text().await.expect("body");
    assert!(html.contains("swagger-ui"), "{html}");
    assert_eq!(external_references(&html), Vec::<String>::new(), "{html}");

    let links = linked(&html);
    assert!(
        links.iter().any(|l| l.ends_with(".js")),
        "the page loads its scripts: {links:?}"
    );
    let mut initializer = None;
    for link in &links {
        assert!(
            !link.starts_with("//") && !link.contains("://"),
            "{link} is relative to this server"
        );
        let url = page_url.join(link).expect("link resolves");
        let response = app.client.get(url.clone()).send().await.expect("asset");
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        let is_text = link.ends_with(".js") || link.ends_with(".css");
        let body = response.bytes().await.expect("asset body");
        if !is_text {
            continue;
        }
        let text = String::from_utf8_lossy(&body).into_owned();
        if link.ends_with("swagger-initializer.js") {
            initializer = Some(text.clone());
        }
        if link.ends_with("swagger-ui-bundle.js")
            || link.ends_with("swagger-ui-standalone-preset.js")
        {
            // The vendored Swagger UI bundles quote URLs they never fetch (XML namespaces, RFC
            // and licence links, the default validator that the initializer turns off), so they
            // are checked for what would load something: no absolute URL in a load position.
            for pattern in [
                "url(http",
                "url(\"http",
                "url('http",
                "url(//",
                "src=\"http",
                "src=\"//",
                "href=\"http",
                "href=\"//",
                "import(\"http",
                "importScripts(",
                "fetch(\"http",
                "@import",
            ] {
                assert!(!text.contains(pattern), "{link} contains {pattern:?}");
            }
        } else {
            // The initializer and the style sheets: nothing but the SVG namespace of inline
            // `data:` images, which is a name, not a request.
            let text = text.replace("http://www.w3.org/2000/svg", "");
            assert_eq!(external_references(&text), Vec::<String>::new(), "{link}");
        }
    }

    // The initializer points at this server's document and turns off the online validator
    // (whose badge is an image from validator.swagger.io).
    let initializer = initializer.expect("the page loads swagger-initializer.js");
    assert!(
        initializer.contains("\"url\": \"/api/openapi.json\""),
        "{initializer}"
    );
    assert!(
        initializer.contains("\"validatorUrl\": \"none\""),
        "{initializer}"
    );
    let (status, _) = send(app.anonymous(Method::GET, "/api/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
}
