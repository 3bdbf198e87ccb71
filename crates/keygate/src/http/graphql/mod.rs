//! GraphQL at `/graphql`, served over HTTP as the GraphQL-over-HTTP specification describes, with
//! the same token transports as REST and GraphiQL for browsers. Resolvers call the service layer,
//! never the store.
//!
//! Authentication follows the convention platforms such as Datacake document: a missing or
//! invalid token makes the request anonymous, not an error; an invalid one adds
//! `extensions.authentication` with the reason to the response.

mod admin;
mod inputs;
pub mod limits;
mod loaders;
mod page;
mod schema;
mod types;

use async_graphql::dataloader::DataLoader;
use async_graphql::{EmptySubscription, ErrorExtensions, Schema, ServerError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use keygate_domain::{ClearToken, Token};
use serde_json::json;

use super::AppState;
use super::error::{ApiError, error_chain};
use super::extract::{client_ip, presented_token};
use crate::service::{Actor, AuthFailure, Keygate, ServiceError};
use loaders::{TokensOfUser, UserById};
use schema::{Mutation, Query};
use types::{TokenGql, TokenWithSecret};

pub type KeygateSchema = Schema<Query, Mutation, EmptySubscription>;

/// Deepest query accepted (GraphiQL's introspection query needs 13).
pub const MAX_DEPTH: usize = 16;
/// Most complex query accepted: one per field, times the page size asked for (`first`, or the
/// default page) under a paged list.
pub const MAX_COMPLEXITY: usize = 10_000;
/// Most directives on one field.
pub const MAX_DIRECTIVES: usize = 4;

pub fn schema() -> KeygateSchema {
    Schema::build(Query, Mutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_directives(MAX_DIRECTIVES)
        .extension(limits::RequestLimits)
        .finish()
}

/// The schema in SDL, as served to tools.
pub fn sdl() -> String {
    schema().sdl()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/graphql", get(get_graphql).post(post_graphql))
        .route("/assets/{file}", get(page::asset))
}

/// What resolvers see: the services and the caller.
pub struct GqlState {
    pub keygate: Keygate,
    pub actor: Option<Actor>,
    pub public_url: String,
    /// The client's address, for changes made without a token (accepting an invitation).
    pub ip: Option<std::net::IpAddr>,
}

impl GqlState {
    pub fn of<'a>(ctx: &async_graphql::Context<'a>) -> &'a GqlState {
        ctx.data_unchecked::<GqlState>()
    }

    /// The caller, or an `UNAUTHENTICATED` error for an anonymous request.
    pub fn actor(&self) -> async_graphql::Result<&Actor> {
        self.actor
            .as_ref()
            .ok_or_else(|| gql(ServiceError::Unauthenticated))
    }

    /// A token as it is now.
    pub fn token(&self, token: &Token) -> TokenGql {
        TokenGql::new(token, self.keygate.clock().now())
    }

    pub fn with_secret(&self, token: &Token, clear: ClearToken) -> TokenWithSecret {
        TokenWithSecret {
            secret: clear.into_exposed(),
            token: self.token(token),
        }
    }
}

/// What a field fails with: a service error becomes a GraphQL error with `extensions.code`
/// ([`gql`]) through `?`, as any other GraphQL error does.
#[derive(Clone)]
pub struct Failure(async_graphql::Error);

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Failure(gql(e))
    }
}

impl From<keygate_domain::ValidationError> for Failure {
    fn from(e: keygate_domain::ValidationError) -> Self {
        Failure(gql(e.into()))
    }
}

impl From<async_graphql::Error> for Failure {
    fn from(e: async_graphql::Error) -> Self {
        Failure(e)
    }
}

impl From<Failure> for async_graphql::Error {
    fn from(failure: Failure) -> Self {
        failure.0
    }
}

/// A field's value, or its failure.
pub type Answer<T> = std::result::Result<T, Failure>;

/// A service error as a GraphQL error with `extensions.code`.
pub fn gql(e: ServiceError) -> async_graphql::Error {
    let message = match &e {
        ServiceError::Internal(source) => {
            tracing::error!(error = %error_chain(source.as_ref()), "internal error");
            "internal error".to_owned()
        }
        ServiceError::Unavailable(source) => {
            tracing::error!(error = %error_chain(source), "database unavailable");
            "the database is unavailable; try again shortly".to_owned()
        }
        ServiceError::Unauthenticated => "this field needs a token".to_owned(),
        other => other.to_string(),
    };
    async_graphql::Error::new(message).extend_with(|_, ext| match &e {
        ServiceError::Unauthenticated | ServiceError::InvalidCredentials(_) => {
            ext.set("code", "UNAUTHENTICATED")
        }
        ServiceError::Forbidden { missing, .. } => {
            ext.set("code", "FORBIDDEN");
            if let Some(p) = missing {
                ext.set("permission", p.to_string());
            }
        }
        ServiceError::NotFound(_) => ext.set("code", "NOT_FOUND"),
        ServiceError::Invalid(v) => {
            ext.set("code", "BAD_USER_INPUT");
            ext.set("field", v.field);
        }
        ServiceError::Conflict { code, .. } => {
            ext.set("code", "CONFLICT");
            ext.set("reason", *code);
        }
        ServiceError::Throttled(seconds) => {
            ext.set("code", "TOO_MANY_REQUESTS");
            ext.set("retryAfter", *seconds);
        }
        ServiceError::Unavailable(_) => ext.set("code", "UNAVAILABLE"),
        ServiceError::Internal(_) => ext.set("code", "INTERNAL_SERVER_ERROR"),
    })
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// Which media type the client accepts for the answer.
fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(GRAPHQL_RESPONSE))
}

/// A GraphQL response body, in the media type the client accepts.
fn respond(status: StatusCode, body: &serde_json::Value, graphql_media: bool) -> Response {
    let content_type = if graphql_media {
        GRAPHQL_RESPONSE
    } else {
        "application/json"
    };
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        body.to_string(),
    )
        .into_response()
}

/// A request-level failure (before execution) in the GraphQL response shape.
fn request_error(status: StatusCode, code: &str, message: &str, graphql_media: bool) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    respond(status, &body, graphql_media)
}

impl ApiError {
    fn into_graphql(self, graphql_media: bool) -> Response {
        let code = match self.status() {
            StatusCode::SERVICE_UNAVAILABLE => "UNAVAILABLE",
            _ if self.rate_state().is_some() => "RATE_LIMITED",
            StatusCode::TOO_MANY_REQUESTS => "TOO_MANY_REQUESTS",
            StatusCode::FORBIDDEN => "IP_NOT_ALLOWED",
            _ => "BAD_REQUEST",
        };
        let mut response =
            request_error(self.status(), code, &self.public_message(), graphql_media);
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(state) = self.rate_state() {
            crate::http::rate_headers::set(response.headers_mut(), &state);
        }
        response
    }
}

/// The caller from the request's token; an invalid token makes the request anonymous and
/// returns the reason for `extensions.authentication`. A valid token from outside its allow-list
/// refuses the request (403): its holder is known, and not allowed from there.
async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    ip: Option<std::net::IpAddr>,
) -> Result<(Option<Actor>, Option<AuthFailure>), ApiError> {
    let Some(presented) = presented_token(headers, query, false)? else {
        return Ok((None, None));
    };
    match state.keygate.authenticate_caller(&presented, ip).await {
        Ok(actor) => Ok((Some(actor), None)),
        Err(ServiceError::InvalidCredentials(failure)) if failure.is_bad_secret() => {
            Ok((None, Some(failure)))
        }
        Err(other) => Err(other.into()),
    }
}

async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    ip: Option<std::net::IpAddr>,
    request: async_graphql::Request,
) -> Response {
    let graphql_media = wants_graphql_response(headers);
    let (actor, failure) = match caller(state, headers, query, ip).await {
        Ok(found) => found,
        Err(e) => {
            return e
                .redacted(state.keygate.format())
                .into_graphql(graphql_media);
        }
    };
    let keygate = state.keygate.clone();
    let rate = actor.as_ref().and_then(|a| a.rate);
    let request = request
        .data(GqlState {
            keygate: keygate.clone(),
            actor,
            public_url: state.public_url(headers),
            ip,
        })
        .data(DataLoader::new(UserById(keygate.clone()), tokio::spawn))
        .data(DataLoader::new(TokensOfUser(keygate), tokio::spawn));
    let mut response = state.graphql.execute(request).await;
    if let Some(failure) = failure {
        response.extensions.insert(
            "authentication".to_owned(),
            async_graphql::Value::from(failure.code()),
        );
    }
    // Errors without a path come from parsing or validation: the operation never ran.
    let not_executed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response
            .errors
            .iter()
            .all(|e: &ServerError| e.path.is_empty());
    let status = if not_executed && graphql_media {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = if not_executed {
        let mut body = json!({ "errors": response.errors });
        if !response.extensions.is_empty() {
            body["extensions"] = json!(response.extensions);
        }
        body
    } else {
        serde_json::to_value(&response)
            .unwrap_or_else(|_| json!({ "errors": [{ "message": "internal error" }] }))
    };
    let mut response = respond(status, &body, graphql_media);
    if let Some(rate) = rate {
        crate::http::rate_headers::set(response.headers_mut(), &rate);
    }
    response
}

async fn post_graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    let graphql_media = wants_graphql_response(&headers);
    let ip = client_ip(request.extensions(), &headers, &state.trusted_proxies);
    let query = request.uri().query().map(str::to_owned);
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/json") || v.starts_with("application/graphql+json")
        });
    if !is_json {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            "send the GraphQL request as JSON with Content-Type: application/json",
            graphql_media,
        );
    }
    let body = match axum::body::to_bytes(request.into_body(), super::BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => {
            return request_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "BAD_REQUEST",
                "request body too large",
                graphql_media,
            );
        }
    };
    match parse_body(&body) {
        Ok(gql_request) => execute(&state, &headers, query.as_deref(), ip, gql_request).await,
        Err(message) => request_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            &state.keygate.format().redact(&message),
            graphql_media,
        ),
    }
}

fn parse_body(body: &Bytes) -> Result<async_graphql::Request, String> {
    serde_json::from_slice::<async_graphql::Request>(body)
        .map_err(|e| format!("the body is not a GraphQL request: {e}"))
}

/// `GET /graphql`: GraphiQL for a browser; otherwise a query in the URL. Mutations are refused
/// over GET, as the GraphQL-over-HTTP specification requires.
async fn get_graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    let graphql_media = wants_graphql_response(&headers);
    let query_string = request.uri().query().map(str::to_owned);
    let params: Vec<(String, String)> = query_string
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let accepts_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let Some(query) = param("query") else {
        if accepts_html {
            return page::graphiql();
        }
        return request_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "give the GraphQL document in the `query` parameter",
            graphql_media,
        );
    };
    let mut gql_request = async_graphql::Request::new(query.clone());
    if let Some(name) = param("operationName") {
        gql_request = gql_request.operation_name(name);
    }
    if let Some(variables) = param("variables") {
        match serde_json::from_str(&variables) {
            Ok(v) => gql_request = gql_request.variables(async_graphql::Variables::from_json(v)),
            Err(_) => {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "`variables` must be a JSON object",
                    graphql_media,
                );
            }
        }
    }
    if is_mutation(&query, param("operationName").as_deref()) {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_REQUEST",
            "mutations are only accepted over POST",
            graphql_media,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let ip = client_ip(request.extensions(), &headers, &state.trusted_proxies);
    execute(&state, &headers, query_string.as_deref(), ip, gql_request).await
}

/// Whether the operation a GET would run is a mutation. A document that does not parse is left
/// to the executor, which reports it.
fn is_mutation(query: &str, operation: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    // The parser recurses on nested values: never hand it a document the executor would refuse.
    if limits::check_nesting(query).is_err() {
        return false;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let kind = match &document.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match operation {
            Some(name) => ops.get(name).map(|op| op.node.ty),
            None => ops.values().next().map(|op| op.node.ty),
        },
    };
    kind == Some(OperationType::Mutation)
}
