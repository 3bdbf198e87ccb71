//! axum extractors: the [`Identity`] a [`Guard`](crate::Guard) verified, [`Require`], which
//! verifies a route's [`Requirement`] itself, and the [`PresentedToken`], for handlers that ask
//! Keygate more questions about the same caller.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use crate::guard::{Demand, judge};
use crate::rejection::Rejection;
use crate::transport::presented_token;
use crate::verifier::{Identity, Verifier};

/// The caller a [`Guard`](crate::Guard) verified. A handler on a route without a guard gets a
/// 500 `guard_misconfigured` (use `Option<Identity>` where a guard is optional).
impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        parts.extensions.get::<Identity>().cloned().ok_or_else(|| {
            Rejection::Misconfigured(
                "the handler takes an Identity but its route has no Keygate guard".to_owned(),
            )
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Identity>().cloned())
    }
}

/// What a route demands, for the [`Require`] extractor. Templates name path parameters in braces.
///
/// ```
/// struct ReadDevice;
/// impl keygate_client::Requirement for ReadDevice {
///     const PERMISSION: &'static str = "devices:read";
///     const RESOURCE: Option<&'static str> = Some("device:{id}");
/// }
/// ```
pub trait Requirement {
    /// The permission the route needs, e.g. `devices:read`.
    const PERMISSION: &'static str;
    /// The resource the request touches, e.g. `device:{id}`; without one, only the permission.
    const RESOURCE: Option<&'static str> = None;
    /// Without one, the verifier's workspace.
    const WORKSPACE: Option<&'static str> = None;
}

/// An extractor that asks Keygate for the requirement `R` and yields the verified caller
/// (`Require(identity, _): Require<ReadDevice>`); the
/// verifier comes from the router's state (`Verifier: FromRef<S>`). Refusals are the same as a
/// [`Guard`](crate::Guard)'s.
pub struct Require<R>(pub Identity, pub PhantomData<R>);

impl<R> Require<R> {
    /// The verified caller.
    pub fn identity(&self) -> &Identity {
        &self.0
    }

    /// The verified caller, by value.
    pub fn into_identity(self) -> Identity {
        self.0
    }
}

impl<R> std::fmt::Debug for Require<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Require").field(&self.0).finish()
    }
}

impl<R, S> FromRequestParts<S> for Require<R>
where
    R: Requirement + Send + Sync,
    S: Send + Sync,
    Verifier: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let verifier = Verifier::from_ref(state);
        let demand = Demand::new(R::PERMISSION, R::RESOURCE, R::WORKSPACE);
        let identity = judge(&verifier, parts, &demand).await?;
        parts.extensions.insert(identity.clone());
        Ok(Require(identity, PhantomData))
    }
}

/// The token the request presents, by the same transports a guard reads (`None`: anonymous).
/// Its `Debug` never shows it.
#[derive(Clone)]
pub struct PresentedToken(pub Option<String>);

impl PresentedToken {
    /// The token, if the request presents one.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl std::fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.0.as_ref().map(|_| "<redacted>");
        f.debug_tuple("PresentedToken").field(&shown).finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PresentedToken {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        Ok(PresentedToken(presented_token(
            &parts.headers,
            parts.uri.query(),
        )?))
    }
}
