//! Instance administration under `/api/v1/admin/users` (instance admins only), and open sign-up
//! at `/api/v1/signup` (when the deployment allows it).

pub(crate) mod json;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::API_V1;
use super::audit::AuditLogOf;
use uuid::Uuid;

use self::json::{
    AdminUserJson, AdminUserListJson, CreateUserJson, CreatedUserJson, PasswordLinkJson,
    SetPasswordJson, SignupJson, UserJson, UserQueryJson, user_json,
};
use super::audit::json::{AuditPageJson, AuditQueryJson};
use super::tokens::json::{CreateTokenJson, TokenListJson, TokenWithSecretJson};
use super::tokens::{issued, token_list};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Caller, ClientIp, Json, Path, Query};
use crate::http::openapi::{BadRequest, Conflict, Forbidden, NotFound, TooManyRequests};
use crate::service::{CreatedUser, NewTokenRequest, NewUserRequest, Orphans, UserQuery};

/// The users of this Keygate.
///
/// People and API users, oldest first, filtered and paged. Instance admins only.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/admin/users",
    operation_id = "admin_list_users",
    tag = "admin",
    params(UserQueryJson),
    responses(
        (status = 200, description = "A page of users", body = AdminUserListJson),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Query(params): Query<UserQueryJson>,
) -> Result<axum::Json<AdminUserListJson>, ApiError> {
    let query = UserQuery {
        kind: params.kind,
        search: params.search,
        disabled: params.disabled,
        cursor: params.cursor,
        limit: params.limit,
    };
    let page = state.keygate.admin_list_users(&actor, &query).await?;
    Ok(axum::Json(AdminUserListJson {
        users: page.users.iter().map(AdminUserJson::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Creates a person's account with their personal token.
///
/// Optionally with a password (to sign in to the web UI) and a workspace they own. This is how a
/// platform's own sign-up provisions its users: the personal token is in the response, this
/// once. Instance admins only.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/admin/users",
    operation_id = "admin_create_user",
    tag = "admin",
    request_body(content = CreateUserJson, example = json!({"email": "grace@example.com", "display_name": "Grace", "workspace": "grace"})),
    responses(
        (status = 201, description = "Created; `personal_token.token` is the secret, shown this once", body = CreatedUserJson),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    Json(body): Json<CreateUserJson>,
) -> Result<(StatusCode, axum::Json<CreatedUserJson>), ApiError> {
    let created = state
        .keygate
        .admin_create_user(
            &actor,
            NewUserRequest {
                email: body.email,
                display_name: body.display_name,
                password: body.password,
                workspace: body.workspace,
                instance_admin: body.instance_admin,
                password_link: body.password_link,
            },
        )
        .await?;
    Ok(created_user(&state, &headers, created))
}

/// One user.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/admin/users/{id}",
    operation_id = "admin_get_user",
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = AdminUserJson),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<AdminUserJson>, ApiError> {
    let user = state.keygate.admin_user(&actor, id).await?;
    Ok(axum::Json((&user).into()))
}

/// What becomes of the workspaces a deleted user is the last owner of.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteUserQuery {
    /// `delete`: delete them with everything in them.
    #[param(pattern = "^delete$")]
    orphaned_workspaces: Option<String>,
    /// A person (user id) who becomes their owner instead.
    hand_over_to: Option<Uuid>,
}

/// Deletes a user with their tokens, sessions and memberships.
///
/// Their tokens stop working at once, on every node. Refused for your own account. A workspace
/// the user is the last owner of is deleted with `orphaned_workspaces=delete`, or handed over to
/// the person `hand_over_to` names (who becomes an owner); without either, the deletion is refused
/// with `409 last_owner`. Instance admins only.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/admin/users/{id}",
    operation_id = "admin_delete_user",
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id"), DeleteUserQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
    Query(query): Query<DeleteUserQuery>,
) -> Result<StatusCode, ApiError> {
    let orphans = match (query.orphaned_workspaces.as_deref(), query.hand_over_to) {
        (None, None) => Orphans::Refuse,
        (Some("delete"), None) => Orphans::Delete,
        (None, Some(heir)) => Orphans::HandOverTo(heir),
        (Some(_), None) => {
            return Err(ApiError::bad_request(
                "invalid_input",
                "orphaned_workspaces: the one value is `delete`",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_input",
                "give orphaned_workspaces=delete or hand_over_to, not both",
            ));
        }
    };
    state.keygate.admin_delete_user(&actor, id, orphans).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disables a user.
///
/// Their tokens and web sign-ins stop working at once, on every node, until they are enabled
/// again. Instance admins only.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/admin/users/{id}/disable",
    operation_id = "admin_disable_user",
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Disabled", body = AdminUserJson),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn disable(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<AdminUserJson>, ApiError> {
    let user = state.keygate.admin_set_disabled(&actor, id, true).await?;
    Ok(axum::Json((&user).into()))
}

/// Enables a disabled user.
///
/// Their tokens work again, except those revoked or expired meanwhile. Instance admins only.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/admin/users/{id}/enable",
    operation_id = "admin_enable_user",
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Enabled", body = AdminUserJson),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn enable(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<AdminUserJson>, ApiError> {
    let user = state.keygate.admin_set_disabled(&actor, id, false).await?;
    Ok(axum::Json((&user).into()))
}

/// A user's tokens.
///
/// Hints only, never the secrets. Instance admins only.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/admin/users/{id}/tokens",
    operation_id = "admin_list_user_tokens",
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user's tokens", body = TokenListJson),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<TokenListJson>, ApiError> {
    let user = state.keygate.admin_user(&actor, id).await?;
    let tokens = state.keygate.list_tokens(&user).await?;
    Ok(token_list(&state, &tokens))
}

/// Issues a token for a user.
///
/// Optionally with an expiry and a scope within what the user holds. The secret is in the
/// response, this once; give it to the user. Instance admins only.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/admin/users/{id}/tokens",
    operation_id = "admin_issue_token",
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    request_body(content = CreateTokenJson, example = json!({"name": "mobile app", "expires_in_days": 365})),
    responses(
        (status = 201, description = "Issued; `token` is the secret, shown this once", body = TokenWithSecretJson),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn issue_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<CreateTokenJson>,
) -> Result<(StatusCode, axum::Json<TokenWithSecretJson>), ApiError> {
    let request = NewTokenRequest::try_from(body)?;
    let created = state.keygate.admin_issue_token(&actor, id, request).await?;
    Ok(issued(&state, created))
}

/// Makes a one-time link with which a person sets their password.
///
/// For an account created without a password, or when they forgot it. The link works once, for
/// seven days; an earlier unused link stops working. Give it to the person. Instance admins only.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/admin/users/{id}/password-link",
    operation_id = "admin_create_password_link",
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 201, description = "The link, shown this once", body = PasswordLinkJson),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn password_link(
    State(state): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<PasswordLinkJson>), ApiError> {
    let link = state.keygate.admin_password_link(&actor, id).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(PasswordLinkJson::new(&link, &state.public_url(&headers))),
    ))
}

/// Sets a password with a password link.
///
/// The code is the last part of the link. It works once; the person's other web sessions end.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/password-links/{code}",
    operation_id = "set_password_with_link",
    tag = "admin",
    security(()),
    params(("code" = String, Path, description = "The code from the password link")),
    request_body(content = SetPasswordJson, example = json!({"password": "correct horse battery staple"})),
    responses(
        (status = 200, description = "The password is set; sign in with it", body = UserJson),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn set_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    Json(body): Json<SetPasswordJson>,
) -> Result<axum::Json<UserJson>, ApiError> {
    let user = state
        .keygate
        .set_password_with_link(&code, body.password, ip)
        .await?;
    Ok(axum::Json(user_json(&user)))
}

/// The whole instance's audit log.
///
/// Every workspace's entries, and those of no workspace: accounts created, disabled, enabled and
/// deleted, sign-ups, a user's own tokens, sampled failed authentications. Newest first, filtered
/// and paged like a workspace's log; or, with `format=csv`, every matching event as one CSV
/// document. Instance admins only. Unlike a workspace's log, it refuses a token in the URL
/// (`api_token`): an instance admin's token must not travel where URLs are logged.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/admin/audit",
    operation_id = "admin_list_audit_events",
    tag = "admin",
    params(AuditQueryJson),
    security(("bearer" = []), ("token" = []), ("api_key" = []), ("x_api_key" = [])),
    responses(
        (status = 200, description = "A page of events (JSON), or the CSV export",
            content(
                (AuditPageJson = "application/json"),
                (String = "text/csv")
            )),
        (status = 403, response = Forbidden),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    _: NoTokenInUrl,
    Caller(actor): Caller,
    Query(params): Query<AuditQueryJson>,
) -> Result<Response, ApiError> {
    super::audit::respond(&state, &actor, AuditLogOf::Instance, params).await
}

/// Creates your own account.
///
/// Only when this Keygate allows sign-up (`signup = true`; 403 otherwise). Your personal token
/// is in the response, this once, and you can sign in to the web UI with the password. Every
/// attempt counts against your address like a failed sign-in: too many answer 429.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/signup",
    operation_id = "signup",
    tag = "signup",
    security(()),
    request_body(content = SignupJson, example = json!({"email": "lin@example.com", "password": "correct horse battery staple", "workspace": "lin"})),
    responses(
        (status = 201, description = "Created; `personal_token.token` is the secret, shown this once", body = CreatedUserJson),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(body): Json<SignupJson>,
) -> Result<(StatusCode, axum::Json<CreatedUserJson>), ApiError> {
    let created = state
        .keygate
        .sign_up(
            &body.email,
            body.password,
            body.display_name.as_deref(),
            body.workspace.as_deref(),
            ip,
        )
        .await?;
    Ok(created_user(&state, &headers, created))
}

/// A new account as answered: created, with its personal token's secret shown this once.
fn created_user(
    state: &AppState,
    headers: &HeaderMap,
    created: CreatedUser,
) -> (StatusCode, axum::Json<CreatedUserJson>) {
    let now = state.keygate.clock().now();
    let base = state.public_url(headers);
    (
        StatusCode::CREATED,
        axum::Json(CreatedUserJson::new(created, now, &base)),
    )
}

/// Refuses a request that carries a token in its URL, before anyone is authenticated: the
/// instance admin's token opens everything, and URLs end up in logs, histories and `Referer`s.
pub struct NoTokenInUrl;

impl axum::extract::FromRequestParts<AppState> for NoTokenInUrl {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &AppState,
    ) -> Result<Self, ApiError> {
        let in_url = parts.uri.query().is_some_and(|q| {
            form_urlencoded::parse(q.as_bytes())
                .any(|(key, _)| key == keygate_proto::QUERY_TOKEN_PARAM)
        });
        if in_url {
            return Err(ApiError::bad_request(
                "query_token_not_allowed",
                "the instance audit log does not accept a token in the URL; send it in the \
                 Authorization, API-KEY or X-API-Key header",
            ));
        }
        Ok(NoTokenInUrl)
    }
}
