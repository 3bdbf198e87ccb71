//! The OpenAPI 3.1 description of the REST API, served at `/api/openapi.json`, and the Swagger UI
//! that explores it at `/api/docs`.
//!
//! Paths and operations come from the `#[utoipa::path]` attributes on the handlers, which
//! `utoipa_axum::routes!` also uses to register the routes: a route cannot exist without its
//! description. This module holds what is shared: the document's header, the security schemes
//! (one per token transport of SPEC §3), the error envelope and the reusable error responses, and
//! the schemas of domain types that appear on the wire (the domain crate knows nothing of
//! OpenAPI). The answers every operation that takes a token can give (400, 401, 429) are added
//! to each such operation here, once ([`TokenResponses`]), not by each handler.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Object, Ref, RefOr, Required, Type};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};
use uuid::Uuid;

use super::AppState;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";
/// Where Swagger UI is served (`/api/docs` redirects to `/api/docs/`).
pub const DOCS_PATH: &str = "/api/docs";

/// Security scheme names, as operations refer to them.
pub mod scheme {
    /// `Authorization: Bearer <token>`.
    pub const BEARER: &str = "bearer";
    /// `Authorization: Token <token>`.
    pub const TOKEN: &str = "token";
    /// `API-KEY: <token>`.
    pub const API_KEY: &str = "api_key";
    /// `X-API-Key: <token>`.
    pub const X_API_KEY: &str = "x_api_key";
    /// `?api_token=<token>`, only where an operation lists it.
    pub const QUERY: &str = "api_token";
}

/// The document's header, security schemes, shared components and tags. Paths are added by the
/// routers (`http::rest::rest_router` and `decision_routes`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keygate",
        description = "Accounts, roles and access tokens for a platform's API, and the decision on \
            every request.\n\n\
            Present a token in any one of these ways (header names are case-insensitive): \
            `Authorization: Token <token>`, `Authorization: Bearer <token>`, `API-KEY: <token>` or \
            `X-API-Key: <token>`. The URL parameter `api_token` is accepted only where an operation \
            lists it (the audit export); elsewhere it is refused with 400. Two different tokens in \
            one request are refused with 400. A malformed, unknown, expired or revoked token is \
            refused with 401 and `WWW-Authenticate`; a token without the needed right gets 403. Repeated \
            failures from one client address are refused with 429 and `Retry-After`.\n\n\
            Every error has the body `{\"error\": {\"code\": \"snake_case\", \"message\": \"...\"}}`. \
            An unknown route answers 404 and a known route with another method 405, in the same \
            envelope.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(super::forward::forward),
    modifiers(&SecuritySchemes, &ForwardAuthMethods),
    security(("bearer" = []), ("token" = []), ("api_key" = []), ("x_api_key" = [])),
    components(
        schemas(ErrorBody, ErrorDetail),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unavailable,
            TooManyRequests
        )
    ),
    tags(
        (name = "auth", description = "Who the caller is, and their personal token"),
        (name = "tokens", description = "The caller's own tokens"),
        (name = "workspaces", description = "Workspaces (`{ws}` is an id or a slug)"),
        (name = "members", description = "Members of a workspace, and invitations"),
        (name = "invitations", description = "Accepting an invitation (the code is the credential)"),
        (name = "roles", description = "Roles of a workspace; `public` is the role of anonymous callers"),
        (name = "teams", description = "Teams of a workspace and their members"),
        (name = "api-users", description = "API users (service accounts) of a workspace and their tokens"),
        (name = "workspace-tokens", description = "Every token that belongs to a workspace"),
        (name = "audit", description = "The audit log of a workspace"),
        (name = "webhooks", description = "Webhook endpoints of a workspace and their deliveries, signed as Standard Webhooks"),
        (name = "decisions", description = "Access decisions for other services and for the caller"),
        (name = "admin", description = "Instance administration: users of this Keygate, their tokens, and instance-wide webhooks (instance admins only)"),
        (name = "signup", description = "Open sign-up, when this Keygate allows it"),
        (name = "leaks", description = "Reports of leaked tokens: GitHub secret scanning, GitLab token revocation, and any holder of a token"),
        (name = "health", description = "Liveness, readiness and metrics")
    )
)]
pub struct ApiDoc;

/// One security scheme per token transport (SPEC §3).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            scheme::BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`Authorization: Bearer <token>`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            scheme::TOKEN,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Authorization: Token <token>`: enter the word `Token`, a space, then the token.",
            ))),
        );
        components.add_security_scheme(
            scheme::API_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "API-KEY",
                "`API-KEY: <token>` (also spelled `api-key`).",
            ))),
        );
        components.add_security_scheme(
            scheme::X_API_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "`X-API-Key: <token>`.",
            ))),
        );
        components.add_security_scheme(
            scheme::QUERY,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "api_token",
                "`?api_token=<token>`: only on operations that list this scheme (the audit \
                 export, for tools that cannot set headers); elsewhere refused with 400.",
            ))),
        );
    }
}

/// `/auth/forward` answers every method (a proxy may pass the original one on): its operation is
/// documented once, on GET, and repeated here for the other methods, each with an operation id of
/// its own.
struct ForwardAuthMethods;

/// The path of forward-auth, as routed and documented.
pub const FORWARD_PATH: &str = "/auth/forward";

impl Modify for ForwardAuthMethods {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(item) = openapi.paths.paths.get_mut(FORWARD_PATH) else {
            return;
        };
        let Some(get) = item.get.clone() else {
            return;
        };
        let with_id = |method: &str| {
            let mut op = get.clone();
            op.operation_id = Some(format!("forward_auth_{method}"));
            Some(op)
        };
        item.post = with_id("post");
        item.put = with_id("put");
        item.patch = with_id("patch");
        item.delete = with_id("delete");
        item.head = with_id("head");
        item.options = with_id("options");
    }
}

/// The answers every operation of a kind gives, whatever else it does, added where its handler
/// does not document them; handlers document only the answers of their own:
/// - each operation that accepts a token (all but the public ones): 400 for how the token is
///   presented (in the URL where that is not allowed, two different tokens, another
///   `Authorization` scheme), 401 for the token itself and 429 for a client address with too many
///   failed authentications;
/// - each operation but the liveness check and the metrics (`WITHOUT_DATABASE`): 503 when the
///   database cannot be reached;
/// - each operation on a workspace (`IN_WORKSPACE`): its `ws` path parameter, 403 without the
///   right and 404 for a workspace the caller cannot see;
/// - each operation that reads a request body: 413 for one too large and 415 for one that is not
///   JSON.
///
/// It runs on the merged document (`docs_routes`): the `#[openapi(modifiers(...))]` of [`ApiDoc`]
/// run before the router adds the handlers' paths.
pub struct TokenResponses;

/// The paths whose operations answer without the database.
const WITHOUT_DATABASE: [&str; 2] = ["/healthz", "/metrics"];

/// Where the paths of a workspace and its parts start.
const IN_WORKSPACE: &str = "/api/v1/workspaces/{ws}";

impl TokenResponses {
    /// Whether any of these requirements names a scheme (`[{}]` alone means "no token").
    fn takes_token(security: Option<&[SecurityRequirement]>) -> bool {
        security.is_some_and(|all| all.iter().any(|r| *r != SecurityRequirement::default()))
    }

    /// The workspace a workspace's path names.
    fn workspace_parameter() -> Parameter {
        ParameterBuilder::new()
            .name("ws")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("Workspace id or slug"))
            .example(Some("acme".into()))
            .schema(Some(Object::with_type(Type::String)))
            .build()
    }
}

impl Modify for TokenResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let shared = [
            ("400", BadRequest::response().0),
            ("401", Unauthorized::response().0),
            ("429", TooManyRequests::response().0),
        ];
        let unavailable = [("503", Unavailable::response().0)];
        let in_workspace = [
            ("403", Forbidden::response().0),
            ("404", NotFound::response().0),
        ];
        let with_body = [
            ("413", PayloadTooLarge::response().0),
            ("415", UnsupportedMediaType::response().0),
        ];
        let by_default = Self::takes_token(openapi.security.as_deref());
        for (path, item) in openapi.paths.paths.iter_mut() {
            let uses_database = !WITHOUT_DATABASE.contains(&path.as_str());
            let of_workspace = path.starts_with(IN_WORKSPACE);
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                if of_workspace {
                    // First, in place of the bare one the router adds for the path's `{ws}`.
                    let parameters = operation.parameters.get_or_insert_with(Vec::new);
                    parameters.retain(|p| !matches!(p, RefOr::T(p) if p.name == "ws"));
                    parameters.insert(0, RefOr::T(Self::workspace_parameter()));
                }
                let takes_token = match &operation.security {
                    Some(security) => Self::takes_token(Some(security)),
                    None => by_default,
                };
                let kinds = [
                    (of_workspace, &in_workspace[..]),
                    (operation.request_body.is_some(), &with_body[..]),
                    (uses_database, &unavailable[..]),
                    (takes_token, &shared[..]),
                ];
                let answers = kinds.into_iter().filter(|(applies, _)| *applies);
                let responses = &mut operation.responses.responses;
                for (status, name) in answers.flat_map(|(_, answers)| answers) {
                    responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| Ref::from_response_name(name.to_string()).into());
                }
            }
        }
    }
}

/// The routes that serve the document and Swagger UI. The document is completed
/// ([`TokenResponses`]) and serialized once.
pub fn docs_routes(openapi: &utoipa::openapi::OpenApi) -> Router<AppState> {
    let mut openapi = openapi.clone();
    TokenResponses.modify(&mut openapi);
    let json = openapi
        .to_json()
        .unwrap_or_else(|e| format!(r#"{{"error":"cannot serialize the OpenAPI document: {e}"}}"#));
    let config = Config::new([OPENAPI_PATH])
        // Swagger UI's default validator badge loads an image from validator.swagger.io.
        .validator_url("none")
        .try_it_out_enabled(true)
        .persist_authorization(false);
    let swagger: Router<AppState> = SwaggerUi::new(DOCS_PATH).config(config).into();
    Router::new()
        .route(
            OPENAPI_PATH,
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        json,
                    )
                        .into_response()
                }
            }),
        )
        .merge(swagger)
}

// ---------------------------------------------------------------------------------------------
// The error envelope and the reusable error responses.

pub use keygate_proto::{ErrorDetail, ErrorEnvelope as ErrorBody};

/// The request is malformed: JSON syntax or type, an invalid field, path or query parameter, or
/// the token transport (a token in the URL where not allowed, two different tokens, another
/// `Authorization` scheme).
#[derive(ToResponse)]
#[response(
    description = "The request is malformed: JSON syntax or type, an invalid field, path or query \
        parameter, or how the token is presented",
    example = json!({"error": {"code": "invalid_input", "message": "name: must not be empty", "field": "name"}})
)]
pub struct BadRequest(pub ErrorBody);

/// No token where one is needed, or a malformed, unknown, expired or revoked token.
#[derive(ToResponse)]
#[response(
    description = "No token where one is needed (`unauthenticated`), or a token that is malformed \
        or unknown (`invalid_token`), expired (`token_expired`) or revoked (`token_revoked`)",
    headers(("WWW-Authenticate" = String, description = "`Token realm=\"keygate\"`, with `error=\"invalid_token\"` when a token was presented")),
    example = json!({"error": {"code": "invalid_token", "message": "the token is malformed, unknown or no longer valid"}})
)]
pub struct Unauthorized(pub ErrorBody);

/// Authenticated, but without the right to do this.
#[derive(ToResponse)]
#[response(
    description = "Authenticated, but the token's rights do not allow this; `permission` names \
        what is missing when it is a permission",
    example = json!({"error": {"code": "forbidden", "message": "missing permission `members:manage`", "permission": "members:manage"}})
)]
pub struct Forbidden(pub ErrorBody);

/// The thing does not exist, or the caller may not know that it does.
#[derive(ToResponse)]
#[response(
    description = "Not found, or not visible to the caller",
    example = json!({"error": {"code": "not_found", "message": "workspace not found"}})
)]
pub struct NotFound(pub ErrorBody);

/// Well-formed, but clashes with the current state.
#[derive(ToResponse)]
#[response(
    description = "Well-formed, but clashes with the current state (a taken name, the last owner, \
        a built-in role, a revoked token, an expired invitation)",
    example = json!({"error": {"code": "slug_taken", "message": "a workspace with this slug already exists"}})
)]
pub struct Conflict(pub ErrorBody);

/// The body is larger than the limit (64 KiB).
#[derive(ToResponse)]
#[response(
    description = "The request body is larger than 64 KiB",
    example = json!({"error": {"code": "payload_too_large", "message": "request body too large"}})
)]
pub struct PayloadTooLarge(pub ErrorBody);

/// The body is not declared as JSON.
#[derive(ToResponse)]
#[response(
    description = "The body is not sent with `Content-Type: application/json`",
    example = json!({"error": {"code": "unsupported_media_type", "message": "expected a JSON body with Content-Type: application/json"}})
)]
pub struct UnsupportedMediaType(pub ErrorBody);

/// Too many failed authentications from this client address.
#[derive(ToResponse)]
#[response(
    description = "Too many failed authentications from this client address; retry after the \
        seconds in `Retry-After`",
    headers(("Retry-After" = u64, description = "Seconds to wait before trying again")),
    example = json!({"error": {"code": "too_many_requests", "message": "too many failed authentications from this address; retry in 30 seconds"}})
)]
pub struct TooManyRequests(pub ErrorBody);

/// The database cannot be reached.
#[derive(ToResponse)]
#[response(
    description = "The database cannot be reached; try again shortly",
    example = json!({"error": {"code": "unavailable", "message": "the database is unavailable; try again shortly"}})
)]
pub struct Unavailable(pub ErrorBody);

// ---------------------------------------------------------------------------------------------
// Schemas of domain types as they appear on the wire.

pub use keygate_proto::openapi::{Permission, UserKind};

/// A resource pattern: `kind:id`, where the id may end in `*` (`device:abc`, `device:*`,
/// `project:p1/*`); `*` alone is every resource.
#[derive(ToSchema)]
#[schema(value_type = String, example = "device:abc")]
pub struct ResourcePattern(pub String);

/// A token's narrowing: an absent field leaves that dimension as the user holds it.
#[derive(ToSchema)]
pub struct Scope {
    /// The workspaces (ids) the token reaches.
    #[schema(nullable = false)]
    pub workspaces: Option<Vec<Uuid>>,
    /// The permissions the token keeps, at most.
    #[schema(nullable = false)]
    pub permissions: Option<Vec<Permission>>,
    /// The resources the token reaches.
    #[schema(nullable = false)]
    pub resources: Option<Vec<ResourcePattern>>,
}

/// What a token was issued for.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum TokenKind {
    /// Created with every user; refreshed by its owner.
    Personal,
    /// Created by a user, with a name, description, expiry and scope.
    User,
    /// Belongs to an API user.
    Api,
}

/// A token's state at the time of the response.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

/// The shape of an audit export.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum AuditFormat {
    Json,
    Csv,
}

/// A health answer.
#[derive(ToSchema)]
pub struct HealthJson {
    /// `ok` (liveness) or `ready` (readiness).
    #[schema(example = "ok")]
    pub status: String,
}

#[cfg(test)]
mod tests {
    use keygate_domain::TokenKind as DomainTokenKind;
    use serde_json::{Value, json};

    use super::*;

    fn schema_of<T: ToSchema>() -> Value {
        serde_json::to_value(T::schema()).expect("schema serializes")
    }

    fn enum_values(schema: &Value) -> Vec<String> {
        schema["enum"]
            .as_array()
            .expect("an enum schema")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    /// The documented enums say what the domain types serialize to.
    #[test]
    fn documented_enums_match_the_domain() {
        let kinds: Vec<String> = DomainTokenKind::ALL
            .iter()
            .map(|k| json!(k).as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(enum_values(&schema_of::<TokenKind>()), kinds);
        let statuses: Vec<String> = [
            keygate_domain::TokenStatus::Active,
            keygate_domain::TokenStatus::Expired,
            keygate_domain::TokenStatus::Revoked,
        ]
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
        assert_eq!(enum_values(&schema_of::<TokenStatus>()), statuses);
        let users: Vec<String> = [
            keygate_domain::UserKind::Human,
            keygate_domain::UserKind::Api,
        ]
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
        assert_eq!(enum_values(&schema_of::<UserKind>()), users);
    }

    /// The documented scope has the fields a full domain scope serializes.
    #[test]
    fn documented_scope_matches_the_domain() {
        let scope = keygate_domain::Scope {
            workspaces: Some(vec![Uuid::nil()]),
            permissions: Some([keygate_domain::Permission::all()].into_iter().collect()),
            resources: Some(vec![keygate_domain::ResourcePattern::all()]),
        };
        let serialized = json!(scope);
        let mut fields: Vec<&String> = serialized.as_object().expect("an object").keys().collect();
        fields.sort();
        let documented = schema_of::<Scope>();
        let mut properties: Vec<&String> = documented["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .collect();
        properties.sort();
        assert_eq!(fields, properties);
    }
}
