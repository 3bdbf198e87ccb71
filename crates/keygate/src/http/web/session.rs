//! Who is signed in to the UI, and the CSRF check every form passes.
//!
//! The session secret lives only in an HttpOnly, SameSite=Strict cookie (Secure when Keygate is
//! reached over TLS); the database keeps its digest. Every form carries a CSRF token. Signed in,
//! it is derived from the live session's secret, and nothing else is accepted: a cookie the
//! client set itself cannot stand in for it. Signed out (the sign-in, invitation and password
//! pages), it is a random pre-session cookie of a fixed length. A POST whose token does not match
//! is refused before any handler runs.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::WebError;
use crate::http::AppState;
use crate::http::extract::client_ip;
use crate::service::SessionActor;

pub const SESSION_COOKIE: &str = "keygate_session";
pub const CSRF_COOKIE: &str = "keygate_csrf";
pub const CSRF_FIELD: &str = "_csrf";

/// A signed-in person, with the CSRF token their forms carry.
pub struct Signed {
    pub session: SessionActor,
    pub csrf: String,
    /// What the last change did, from the redirect's `?done=`.
    pub notice: Option<&'static str>,
}

impl std::ops::Deref for Signed {
    type Target = crate::service::Actor;
    fn deref(&self) -> &Self::Target {
        &self.session.actor
    }
}

/// The CSRF token of a signed-in session: bound to the session's secret, which pages never see.
pub(super) fn session_csrf(secret: &str) -> String {
    let digest = Sha256::digest(format!("keygate csrf\0{secret}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let back = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let Some(secret) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
            return Err(WebError::SignIn { back });
        };
        let ip = client_ip(&parts.extensions, &parts.headers, &state.trusted_proxies);
        match state.keygate.session(&secret, ip).await? {
            Some(session) => Ok(Signed {
                session,
                csrf: session_csrf(&secret),
                notice: parts.uri.query().and_then(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == "done")
                        .and_then(|(_, v)| super::notice(&v))
                }),
            }),
            None => Err(WebError::SignIn { back }),
        }
    }
}

/// On pages anyone may open (an invitation): the signed-in person, or `None` when nobody is.
impl OptionalFromRequestParts<AppState> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Signed as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(signed) => Ok(Some(signed)),
            Err(WebError::SignIn { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Whether cookies should be marked Secure: when people reach Keygate over TLS.
pub fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.public_url(headers).starts_with("https://")
}

/// The session cookie for a fresh sign-in.
pub fn session_cookie(secret: String, max_age: chrono::Duration, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, secret))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build()
}

/// A cookie that tells the browser to forget `name`.
pub fn removal(name: &'static str) -> Cookie<'static> {
    let mut c = Cookie::build((name, "")).path("/").build();
    c.make_removal();
    c
}

/// Whether `value` can be a pre-session CSRF cookie this server set: a one-time code's length
/// and letters. Anything else (empty, short, chosen by hand) is never accepted.
fn presession_shaped(value: &str) -> bool {
    value.len() == keygate_domain::token::CODE_LEN
        && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The CSRF token of the live session the cookie names, if it names one.
async fn live_session_csrf(state: &AppState, jar: &CookieJar) -> Result<Option<String>, WebError> {
    let Some(secret) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    Ok(state
        .keygate
        .session(&secret, None)
        .await?
        .map(|_| session_csrf(&secret)))
}

/// The CSRF token for a form on a page anyone may open (sign-in, invitation, password link): the
/// session's when someone is signed in (the only one the guard then accepts), else the
/// pre-session cookie's, with the jar that sets that cookie when it is new.
pub async fn form_csrf(
    state: &AppState,
    headers: &HeaderMap,
    jar: CookieJar,
) -> Result<(String, CookieJar), WebError> {
    match live_session_csrf(state, &jar).await? {
        Some(token) => Ok((token, jar)),
        None => Ok(presession_csrf(jar, secure(state, headers))),
    }
}

/// The pre-session CSRF token for a signed-out form, with the jar that sets its cookie when it
/// is new.
fn presession_csrf(jar: CookieJar, secure: bool) -> (String, CookieJar) {
    if let Some(c) = jar.get(CSRF_COOKIE)
        && presession_shaped(c.value())
    {
        return (c.value().to_owned(), jar);
    }
    let mut failure = false;
    let token = keygate_domain::token::one_time_code(|buf| {
        failure |= getrandom::fill(buf).is_err();
    });
    if failure {
        // Without randomness no form can be protected; the POST will be refused.
        return (String::new(), jar);
    }
    let cookie = Cookie::build((CSRF_COOKIE, token.clone()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build();
    (token, jar.add(cookie))
}

/// Refuses a state-changing request that comes from another origin, or whose form does not carry
/// the CSRF token of the live session (when the request names one) or else of the pre-session
/// cookie.
pub async fn csrf_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        let expected = state.public_url(&parts.headers);
        let same = origin.to_str().is_ok_and(|o| {
            o == expected
                || parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .is_some_and(|host| {
                        o == format!("http://{host}") || o == format!("https://{host}")
                    })
        });
        if !same {
            return WebError::Csrf.into_response();
        }
    }
    let Ok(bytes) = to_bytes(body, crate::http::BODY_LIMIT).await else {
        return WebError::TooLarge.into_response();
    };
    let presented = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    let jar = CookieJar::from_headers(&parts.headers);
    // Signed in, only the token bound to the session counts: a pre-session cookie is something
    // the client (or anyone who can plant a cookie for this site) may have chosen.
    let expected = match live_session_csrf(&state, &jar).await {
        Ok(Some(token)) => Some(token),
        Ok(None) => jar
            .get(CSRF_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|v| presession_shaped(v)),
        Err(e) => return e.into_response(),
    };
    let valid = match (presented, expected) {
        (Some(p), Some(e)) => bool::from(e.as_bytes().ct_eq(p.as_bytes())),
        _ => false,
    };
    if !valid {
        return WebError::Csrf.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::presession_shaped;

    #[test]
    fn only_a_server_made_code_can_be_a_presession_token() {
        assert!(presession_shaped("aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF"));
        for forged in [
            "",
            "x",
            "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1d",
            "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dFx",
            "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1d-",
            "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1d\u{e9}",
        ] {
            assert!(!presession_shaped(forged), "{forged:?}");
        }
    }
}
