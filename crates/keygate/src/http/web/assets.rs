//! The UI's stylesheets and script, embedded in the binary and served under names that carry a
//! hash of their content, so browsers may cache them for a year and still see every change.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    /// The name pages link to: `ui.3f2a9c1b.js`.
    hashed: String,
    logical: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const FILES: [(&str, &str, &[u8]); 3] = [
    (
        "pico.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/vendor/pico-2.1.1.min.css"),
    ),
    (
        "ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/ui.css"),
    ),
    (
        "ui.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/ui.js"),
    ),
];

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(logical, content_type, body)| {
            let digest = Sha256::digest(body);
            let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
            let (stem, ext) = logical.rsplit_once('.').unwrap_or((logical, ""));
            Asset {
                hashed: format!("{stem}.{hash}.{ext}"),
                logical,
                content_type,
                body,
            }
        })
        .collect()
});

/// The URL of an asset by its plain name (`ui.js`).
pub fn url(logical: &str) -> String {
    ASSETS
        .iter()
        .find(|a| a.logical == logical)
        .map_or_else(String::new, |a| format!("/ui/assets/{}", a.hashed))
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.hashed == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            a.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
