//! Account settings: profile, password, and the personal "API token" with its Refresh button.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::layout::Layout;
use super::session::Signed;
use super::views::{ShownOnce, TokenView, email};
use super::{Form, WebResult, again, done};
use crate::http::AppState;
use crate::service::ServiceError;

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    layout: Layout,
    display_name: String,
    email: String,
    profile_error: Option<String>,
    password_error: Option<String>,
}

async fn account_page(
    state: &AppState,
    signed: &Signed,
    profile_error: Option<String>,
    password_error: Option<String>,
) -> WebResult<AccountPage> {
    Ok(AccountPage {
        layout: Layout::signed(state, signed, "Account", "account", None).await?,
        display_name: signed.user.display_name.clone(),
        email: email(&signed.user),
        profile_error,
        password_error,
    })
}

pub async fn page(State(state): State<AppState>, signed: Signed) -> WebResult<AccountPage> {
    account_page(&state, &signed, None, None).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    display_name: String,
}

pub async fn profile(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<ProfileForm>,
) -> WebResult<Response> {
    match state
        .keygate
        .update_profile(&signed, form.display_name.trim())
        .await
    {
        Ok(_) => Ok(done("/account", "profile").into_response()),
        Err(ServiceError::Invalid(e)) => Ok(again(
            account_page(&state, &signed, Some(e.to_string()), None).await?,
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

pub async fn password(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<PasswordForm>,
) -> WebResult<Response> {
    if form.new_password != form.confirm_password {
        let differ = "The new password and its confirmation differ.".to_owned();
        return Ok(again(
            account_page(&state, &signed, None, Some(differ)).await?,
        ));
    }
    match state
        .keygate
        .change_password(
            &signed.session,
            form.current_password.into(),
            form.new_password.into(),
        )
        .await
    {
        Ok(()) => Ok(done("/account", "password").into_response()),
        Err(ServiceError::Invalid(e)) => Ok(again(
            account_page(&state, &signed, None, Some(e.to_string())).await?,
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "api_token.html")]
pub struct ApiTokenPage {
    layout: Layout,
    token: Option<TokenView>,
}

pub async fn token_page(State(state): State<AppState>, signed: Signed) -> WebResult<ApiTokenPage> {
    let now = state.keygate.clock().now();
    let token = state
        .keygate
        .list_tokens(&signed.user)
        .await?
        .into_iter()
        .find(|t| t.kind == keygate_domain::TokenKind::Personal)
        .map(|t| TokenView::new(&t, now, &|id| id.to_string()));
    Ok(ApiTokenPage {
        layout: Layout::signed(&state, &signed, "API token", "api-token", None).await?,
        token,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "shown_once.html")]
pub(super) struct ShownOncePage {
    pub layout: Layout,
    pub shown: ShownOnce,
}

pub async fn refresh(State(state): State<AppState>, signed: Signed) -> WebResult<ShownOncePage> {
    let (_, clear) = state.keygate.refresh_personal_token(&signed, 0).await?;
    Ok(ShownOncePage {
        layout: Layout::signed(&state, &signed, "New API token", "api-token", None).await?,
        shown: ShownOnce {
            heading: "Your new API token".into(),
            secret: clear.into_exposed(),
            detail: "Your personal token was refreshed. The old token stopped working at once, \
                     on every node: replace it wherever you used it."
                .into(),
            back: "/account/token".into(),
        },
    })
}
