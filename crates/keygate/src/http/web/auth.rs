//! Signing in and out, accepting an invitation (a new person sets a password, gets their
//! personal token once, and is signed in; a signed-in person joins with one click), and setting a
//! password with a password link.

use std::net::IpAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use keygate_domain::User;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::account::ShownOncePage;
use super::layout::Layout;
use super::session::{self, Signed};
use super::views::{ShownOnce, email, when};
use super::{Form, WebError, WebResult, filled};
use crate::http::AppState;
use crate::http::extract::ClientIp;
use crate::service::{AcceptRequest, ServiceError};

#[derive(Template, WebTemplate)]
#[template(path = "signin.html")]
pub struct SignInPage {
    layout: Layout,
    error: Option<String>,
    email: String,
    next: String,
}

#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    done: Option<String>,
}

/// Where sign-in may send someone afterwards: a path on this site, by a rule a test can state.
/// `next` must start with exactly one `/` (not `//` or `/\\`, which browsers read as another
/// host), hold only visible ASCII other than `\\` (no space, tab, newline or other control
/// character, which browsers drop or a header cannot carry), and be a path with an optional query
/// and nothing else. Anything else is `/`.
pub(crate) fn same_site_path(next: &str) -> Option<&str> {
    let bytes = next.as_bytes();
    let one_slash = bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/' | b'\\'));
    let visible = bytes
        .iter()
        .all(|b| matches!(b, b'!'..=b'~') && *b != b'\\');
    if !one_slash || !visible {
        return None;
    }
    let parsed = next.parse::<axum::http::uri::PathAndQuery>().ok()?;
    (parsed.as_str() == next).then_some(next)
}

fn local(next: Option<&str>) -> String {
    next.and_then(same_site_path).unwrap_or("/").to_owned()
}

pub async fn signin_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Query(q): Query<SignInQuery>,
) -> WebResult<Response> {
    let (csrf, jar) = session::form_csrf(&state, &headers, jar).await?;
    let mut layout = Layout::signed_out_form("Sign in", csrf);
    layout.notice = q.done.as_deref().and_then(super::notice);
    let page = SignInPage {
        layout,
        error: None,
        email: String::new(),
        next: local(q.next.as_deref()),
    };
    Ok((jar, page).into_response())
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn signin(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = local(form.next.as_deref());
    let lifetime = state.session_lifetime;
    match state
        .keygate
        .sign_in(&form.email, form.password.into(), ip, lifetime)
        .await
    {
        Ok(signed) => {
            let secure = session::secure(&state, &headers);
            let cookie =
                session::session_cookie(signed.secret.expose_secret().to_owned(), lifetime, secure);
            (jar.add(cookie), Redirect::to(&next)).into_response()
        }
        Err(ServiceError::Forbidden { message, .. }) => {
            let (csrf, jar) = match session::form_csrf(&state, &headers, jar).await {
                Ok(made) => made,
                Err(e) => return e.into_response(),
            };
            let page = SignInPage {
                layout: Layout::signed_out_form("Sign in", csrf),
                error: Some(message),
                email: form.email,
                next,
            };
            (StatusCode::UNAUTHORIZED, jar, page).into_response()
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

pub async fn signout(
    State(state): State<AppState>,
    jar: CookieJar,
    signed: Signed,
) -> WebResult<Response> {
    state.keygate.sign_out(&signed.session).await?;
    Ok((
        jar.add(session::removal(session::SESSION_COOKIE)),
        Redirect::to("/signin?done=signed-out"),
    )
        .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "invitation.html")]
pub struct InvitationPage {
    layout: Layout,
    code: String,
    workspace: String,
    email: String,
    roles: String,
    expires: String,
    display_name: String,
    error: Option<String>,
    /// The email of the person signed in, if anyone is.
    signed_in_as: Option<String>,
    /// Where signing in comes back to: this page.
    signin_next: String,
}

impl InvitationPage {
    /// Whether the signed-in person is the one invited, and so may join with one click.
    fn for_signed_in(&self) -> bool {
        self.signed_in_as.as_deref() == Some(self.email.as_str())
    }
}

async fn invitation_view(
    state: &AppState,
    code: &str,
    signed: Option<&Signed>,
    csrf: String,
    display_name: String,
    error: Option<String>,
) -> WebResult<InvitationPage> {
    let (invitation, workspace) = state.keygate.invitation(code).await?;
    Ok(InvitationPage {
        layout: Layout::signed_out_form("Accept invitation", csrf),
        code: code.to_owned(),
        workspace: workspace.name,
        email: invitation.email.to_string(),
        roles: invitation.roles.join(", "),
        expires: when(invitation.expires_at),
        display_name,
        error,
        signed_in_as: signed.and_then(|s| s.user.email.as_ref().map(ToString::to_string)),
        signin_next: super::encode(&format!("/invitations/{code}")),
    })
}

pub async fn invitation_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    signed: Option<Signed>,
    Path(code): Path<String>,
) -> WebResult<Response> {
    let (csrf, jar) = match &signed {
        Some(s) => (s.csrf.clone(), jar),
        None => session::form_csrf(&state, &headers, jar).await?,
    };
    let page = invitation_view(&state, &code, signed.as_ref(), csrf, String::new(), None).await?;
    Ok((jar, page).into_response())
}

/// A signed-in person accepts an invitation addressed to them (by the code from the link, or by
/// its id from their home page) and joins the workspace.
pub async fn join(
    State(state): State<AppState>,
    signed: Signed,
    Path(code): Path<String>,
) -> WebResult<Response> {
    let joined = state.keygate.join_with_invitation(&signed, &code).await?;
    Ok(super::done(&format!("/w/{}", joined.workspace.slug), "joined").into_response())
}

#[derive(Deserialize)]
pub struct AcceptForm {
    password: String,
    #[serde(default)]
    display_name: String,
}

pub async fn accept(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    Path(code): Path<String>,
    Form(form): Form<AcceptForm>,
) -> WebResult<Response> {
    let display_name = form.display_name.trim().to_owned();
    let request = AcceptRequest {
        password: form.password.clone().into(),
        display_name: filled(&display_name),
        ip,
    };
    let accepted = match state.keygate.accept_invitation(&code, request).await {
        Ok(accepted) => accepted,
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict { .. })) => {
            let (csrf, jar) = session::form_csrf(&state, &headers, jar).await?;
            let page =
                invitation_view(&state, &code, None, csrf, display_name, Some(e.to_string()))
                    .await?;
            let status = match e {
                ServiceError::Invalid(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::CONFLICT,
            };
            return Ok((status, jar, page).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let (secret, cookie) =
        sign_in_with_new_password(&state, &headers, &accepted.user, form.password, ip).await?;
    let session = state
        .keygate
        .session(&secret, ip)
        .await?
        .ok_or_else(|| ServiceError::internal("a session just started is missing"))?;
    let signed_in = Signed {
        session,
        csrf: session::session_csrf(&secret),
        notice: None,
    };
    let layout = Layout::signed(&state, &signed_in, "Welcome", "", None).await?;
    let page = ShownOncePage {
        layout,
        shown: ShownOnce {
            heading: format!("Welcome to {}", accepted.workspace.name),
            secret: accepted.clear.into_exposed(),
            detail: "Your account is ready and you are signed in. This is your personal API \
                     token: use it with Authorization: Token <token>. You can refresh it \
                     from the API token page at any time."
                .to_owned(),
            back: format!("/w/{}", accepted.workspace.slug),
        },
    };
    Ok((jar.add(cookie), page).into_response())
}

/// Signs in a person who has just chosen their password, accepting an invitation or with a
/// password link: the new session's secret, and the cookie that carries it.
async fn sign_in_with_new_password(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    password: String,
    ip: Option<IpAddr>,
) -> WebResult<(String, Cookie<'static>)> {
    let lifetime = state.session_lifetime;
    let signed = state
        .keygate
        .sign_in(&email(user), password.into(), ip, lifetime)
        .await?;
    let secret = signed.secret.expose_secret().to_owned();
    let cookie = session::session_cookie(secret.clone(), lifetime, session::secure(state, headers));
    Ok((secret, cookie))
}

#[derive(Template, WebTemplate)]
#[template(path = "password_link.html")]
pub struct PasswordLinkPage {
    layout: Layout,
    code: String,
    email: String,
    expires: String,
    error: Option<String>,
}

async fn password_link_view(
    state: &AppState,
    code: &str,
    csrf: String,
    error: Option<String>,
) -> WebResult<PasswordLinkPage> {
    let (user, expires_at) = state.keygate.password_link(code).await?;
    Ok(PasswordLinkPage {
        layout: Layout::signed_out_form("Choose your password", csrf),
        code: code.to_owned(),
        email: email(&user),
        expires: when(expires_at),
        error,
    })
}

pub async fn password_link_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Path(code): Path<String>,
) -> WebResult<Response> {
    let (csrf, jar) = session::form_csrf(&state, &headers, jar).await?;
    let page = password_link_view(&state, &code, csrf, None).await?;
    Ok((jar, page).into_response())
}

#[derive(Deserialize)]
pub struct PasswordLinkForm {
    password: String,
}

/// Sets the password, then signs the person in.
pub async fn set_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    Path(code): Path<String>,
    Form(form): Form<PasswordLinkForm>,
) -> WebResult<Response> {
    let user = match state
        .keygate
        .set_password_with_link(&code, form.password.clone().into(), ip)
        .await
    {
        Ok(user) => user,
        Err(ServiceError::Invalid(e)) => {
            let (csrf, jar) = session::form_csrf(&state, &headers, jar).await?;
            let page = password_link_view(&state, &code, csrf, Some(e.to_string())).await?;
            return Ok((StatusCode::BAD_REQUEST, jar, page).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let (_, cookie) = sign_in_with_new_password(&state, &headers, &user, form.password, ip).await?;
    Ok((jar.add(cookie), Redirect::to("/")).into_response())
}

#[cfg(test)]
mod tests {
    use super::{local, same_site_path};

    #[test]
    fn a_path_on_this_site_is_kept() {
        for next in [
            "/",
            "/w/acme",
            "/w/acme/members?done=member-saved",
            "/invitations/abc123",
            "/w/acme/%2F%2Fevil.example",
            "/a?next=//evil.example",
        ] {
            assert_eq!(same_site_path(next), Some(next), "{next:?}");
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_or_break_the_header_becomes_the_home_page() {
        for next in [
            "",
            "w/acme",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example/phish",
            "/\n/evil.example",
            "/a\r\nSet-Cookie: x=1",
            "/ /evil.example",
            "/\u{0}x",
            "/\u{7f}x",
            "/a\\b",
            "/caf\u{e9}",
            "/a#frag",
            "https://evil.example/",
            "\\\\evil.example",
            " /w/acme",
        ] {
            assert_eq!(same_site_path(next), None, "{next:?}");
            assert_eq!(local(Some(next)), "/", "{next:?}");
        }
        assert_eq!(local(None), "/");
    }
}
