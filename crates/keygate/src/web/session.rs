//! Who is signed in to the UI, and the CSRF check every form passes.
//!
//! The session secret lives only in an HttpOnly, SameSite=Strict cookie (Secure when Keygate is
//! reached over TLS); the database keeps its digest. Every form carries a CSRF token: derived
//! from the session secret once signed in, or from a random pre-session cookie on the sign-in and
//! invitation pages. A POST whose token matches neither is refused before any handler runs.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::WebError;
use crate::api::AppState;
use crate::api::extract::client_ip;
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

/// The pre-session CSRF token for a signed-out form, with the jar that sets its cookie when it
/// is new.
pub fn presession_csrf(jar: CookieJar, secure: bool) -> (String, CookieJar) {
    if let Some(c) = jar.get(CSRF_COOKIE)
        && c.value().len() == keygate_domain::token::CODE_LEN
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

/// Refuses a state-changing request whose form does not carry a CSRF token matching the
/// session's or the pre-session cookie's, or that comes from another origin.
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
    let Ok(bytes) = to_bytes(body, crate::api::BODY_LIMIT).await else {
        return WebError::TooLarge.into_response();
    };
    let presented = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    let jar = CookieJar::from_headers(&parts.headers);
    let expected = [
        jar.get(SESSION_COOKIE).map(|c| session_csrf(c.value())),
        jar.get(CSRF_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|v| !v.is_empty()),
    ];
    let valid = presented.is_some_and(|p| {
        expected
            .iter()
            .flatten()
            .any(|e| bool::from(e.as_bytes().ct_eq(p.as_bytes())))
    });
    if !valid {
        return WebError::Csrf.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
