//! Forward-auth (`/auth/forward`): the headers in which a reverse proxy names the original
//! request, and the headers in which Keygate answers who is calling.

use http::HeaderName;

/// The original request's method, as Traefik and Caddy send it.
pub const X_FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
/// The original request's URI, as Traefik and Caddy send it.
pub const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
/// The original request's method, as nginx's configuration sets it.
pub const X_ORIGINAL_METHOD: HeaderName = HeaderName::from_static("x-original-method");
/// The original request's URI, as nginx's configuration sets it.
pub const X_ORIGINAL_URI: HeaderName = HeaderName::from_static("x-original-uri");

/// In the answer: the caller's user id, or `anonymous` when the public role allowed the request.
pub const X_KEYGATE_USER: HeaderName = HeaderName::from_static("x-keygate-user");
/// In the answer: the id of the workspace the route rule named.
pub const X_KEYGATE_WORKSPACE: HeaderName = HeaderName::from_static("x-keygate-workspace");
/// In the answer: the id of the token presented; absent for an anonymous caller.
pub const X_KEYGATE_TOKEN_ID: HeaderName = HeaderName::from_static("x-keygate-token-id");
/// In the answer (forward-auth and the REST API): `true` when the token was presented by a secret
/// that a rotation replaced and that still works for its grace period; absent otherwise.
pub const X_KEYGATE_TOKEN_RETIRING: HeaderName =
    HeaderName::from_static("x-keygate-token-retiring");
