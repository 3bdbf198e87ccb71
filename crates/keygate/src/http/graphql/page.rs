//! GraphiQL, served from the binary: the page, its script and the vendored assets. The page
//! loads nothing from other hosts and runs no inline script.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("../../../assets/graphiql.html");

/// `(name, content type, body, immutable)`: vendored files carry their version in their name.
const ASSETS: [(&str, &str, &[u8], bool); 6] = [
    (
        "graphiql-4.1.2.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/vendor/graphiql-4.1.2.min.js"),
        true,
    ),
    (
        "graphiql-4.1.2.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/vendor/graphiql-4.1.2.min.css"),
        true,
    ),
    (
        "react-18.3.1.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/vendor/react-18.3.1.production.min.js"),
        true,
    ),
    (
        "react-dom-18.3.1.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/vendor/react-dom-18.3.1.production.min.js"),
        true,
    ),
    (
        "graphiql-init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/graphiql-init.js"),
        false,
    ),
    (
        "graphiql-page.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/graphiql-page.css"),
        false,
    ),
];

/// Scripts and styles from this origin only; GraphiQL sets inline styles, so styles allow them.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub fn graphiql() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _, _)| *name == file) {
        Some((_, content_type, body, immutable)) => {
            let cache = if *immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (
                [
                    (header::CONTENT_TYPE, *content_type),
                    (header::CACHE_CONTROL, cache),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                *body,
            )
                .into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            crate::http::error::ApiError::RouteNotFound,
        )
            .into_response(),
    }
}
