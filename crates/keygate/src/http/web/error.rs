//! What a page answers when something goes wrong: the sign-in page for a missing session, and an
//! error page with the status and message the API would give for everything else.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::layout::Layout;
use crate::http::error::ApiError;
use crate::service::ServiceError;

#[derive(Debug)]
pub enum WebError {
    /// No live session: sign in, then come back to `back`.
    SignIn {
        back: String,
    },
    /// A form without a valid CSRF token, or from another origin.
    Csrf,
    TooLarge,
    Api(ApiError),
}

impl From<ServiceError> for WebError {
    fn from(e: ServiceError) -> Self {
        WebError::Api(ApiError::Service(e))
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        WebError::Api(e)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            WebError::Api(e) => e.retry_after(),
            _ => None,
        };
        let (status, heading, message) = match self {
            WebError::SignIn { back } => {
                let to = if back.starts_with('/') && !back.starts_with("//") {
                    format!("/signin?next={}", super::encode(&back))
                } else {
                    "/signin".to_owned()
                };
                return Redirect::to(&to).into_response();
            }
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form could not be verified (it may be from another site, or from a page \
                 opened before you signed in again). Go back, reload the page and try again."
                    .to_owned(),
            ),
            WebError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The form is larger than Keygate accepts.".to_owned(),
            ),
            WebError::Api(e) => {
                e.log_server_error();
                let status = e.status();
                let heading = match status {
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
                    StatusCode::SERVICE_UNAVAILABLE => "Unavailable",
                    s if s.is_server_error() => "Something went wrong",
                    _ => "Request refused",
                };
                (status, heading, e.public_message())
            }
        };
        let page = ErrorPage {
            layout: Layout::bare(heading),
            status: status.as_u16(),
            heading,
            message,
        };
        let mut response = (status, page).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
