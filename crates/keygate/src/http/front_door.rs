//! Where every request enters: the decision paths other services call on each of their own
//! requests (forward-auth, `verify`, `auth/check`, `/healthz`) go straight to their handlers,
//! everything else to the router.
//!
//! The router finds a route by matching the path, records the path it matched and the path's
//! parameters in the request's extensions, picks the method's handler, clones its boxed service
//! and boxes its future: about 2 400 instructions per request, a tenth of a forward-auth request
//! (`scripts/instructions.sh`). The front door compares the path with the four decision paths
//! instead. A decision path asked with
//! another method (`HEAD /healthz`, `GET /api/v1/verify`) still goes to the router, which answers
//! it as before; so does every request while the access log is on, since its layer is the
//! router's.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::handler::Handler;
use axum::http::{Method, Request};
use axum::response::Response;
use tower::Service;

use super::middleware::AroundLayer;
use super::openapi::FORWARD_PATH;
use super::rest::{API_V1_CHECK, API_V1_VERIFY, HEALTHZ};
use super::{AppState, forward, rest};

/// A decision handler inside its [`AroundLayer`], called with the request and the state.
type Door = Box<dyn Fn(Request<Body>, AppState) -> DoorFuture + Send + Sync>;

type DoorFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

fn door<H, T>(around: AroundLayer, route: &'static str, handler: H) -> Door
where
    H: Handler<T, AppState> + Sync,
    T: 'static,
{
    let handler = around.counted_as(route).handler(handler);
    Box::new(move |request, state| Box::pin(handler.clone().call(request, state)))
}

/// The handlers of the decision paths, and the state they are called with.
struct Doors {
    forward: Door,
    verify: Door,
    check: Door,
    healthz: Door,
    state: AppState,
}

/// The service Keygate serves: a door for each decision path (none while the access log is
/// on), and the router.
#[derive(Clone)]
pub struct FrontDoor {
    doors: Option<Arc<Doors>>,
    router: Router,
}

impl FrontDoor {
    /// In front of `router`, made by [`super::router`] from `state`; each door's handler is
    /// inside `around`, the layer the router's routes are in.
    pub(super) fn new(router: Router, state: AppState, around: AroundLayer) -> Self {
        let doors = (!super::middleware::access_log_on()).then(|| {
            Arc::new(Doors {
                forward: door(around, FORWARD_PATH, forward::forward),
                verify: door(around, API_V1_VERIFY, rest::verify::verify),
                check: door(around, API_V1_CHECK, rest::verify::check),
                healthz: door(around, HEALTHZ, rest::health::healthz),
                state,
            })
        });
        Self { doors, router }
    }

    /// The door of `request`'s path and method, if it has one.
    fn door(&self, request: &Request<Body>) -> Option<(&Door, &AppState)> {
        let doors = self.doors.as_deref()?;
        let door = match Decision::of(request.uri().path(), request.method())? {
            Decision::Forward => &doors.forward,
            Decision::Verify => &doors.verify,
            Decision::Check => &doors.check,
            Decision::Healthz => &doors.healthz,
        };
        Some((door, &doors.state))
    }
}

/// The decision paths, with the methods their doors take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// Any method: forward-auth answers whatever method the proxy asks with.
    Forward,
    Verify,
    Check,
    Healthz,
}

impl Decision {
    /// The decision a request of `path` and `method` asks for; `None` for everything the router
    /// answers, a decision path with another method included.
    fn of(path: &str, method: &Method) -> Option<Self> {
        match path {
            FORWARD_PATH => Some(Self::Forward),
            API_V1_VERIFY if method == Method::POST => Some(Self::Verify),
            API_V1_CHECK if method == Method::POST => Some(Self::Check),
            HEALTHZ if method == Method::GET => Some(Self::Healthz),
            _ => None,
        }
    }
}

impl Service<Request<Body>> for FrontDoor {
    type Response = Response;
    type Error = Infallible;
    type Future = FrontDoorFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request<Body>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: Request<Body>) -> FrontDoorFuture {
        match self.door(&request) {
            Some((door, state)) => FrontDoorFuture::Door {
                inner: door(request, state.clone()),
            },
            None => FrontDoorFuture::Router {
                inner: self.router.call(request),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// A request in flight through a door or the router.
    #[project = FrontDoorProjection]
    pub enum FrontDoorFuture {
        Door { inner: DoorFuture },
        Router { #[pin] inner: axum::routing::future::RouteFuture<Infallible> },
    }
}

impl Future for FrontDoorFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            FrontDoorProjection::Door { inner } => inner.as_mut().poll(cx).map(Ok),
            FrontDoorProjection::Router { inner } => inner.poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_doors_are_the_documented_decision_paths() {
        let around = AroundLayer::new(None);
        let (_, documented) = rest::decision_routes(around).split_for_parts();
        let documented: Vec<&str> = documented.paths.paths.keys().map(String::as_str).collect();
        for path in [API_V1_VERIFY, API_V1_CHECK, HEALTHZ] {
            assert!(documented.contains(&path), "{path} in {documented:?}");
        }
        assert_eq!(FORWARD_PATH, "/auth/forward");
    }

    #[test]
    fn each_door_takes_its_path_with_its_methods_only() {
        for (path, method, decision) in [
            ("/auth/forward", Method::GET, Decision::Forward),
            ("/auth/forward", Method::POST, Decision::Forward),
            ("/auth/forward", Method::HEAD, Decision::Forward),
            ("/auth/forward", Method::DELETE, Decision::Forward),
            ("/api/v1/verify", Method::POST, Decision::Verify),
            ("/api/v1/auth/check", Method::POST, Decision::Check),
            ("/healthz", Method::GET, Decision::Healthz),
        ] {
            assert_eq!(
                Decision::of(path, &method),
                Some(decision),
                "{method} {path}"
            );
        }
        // Another method, or another path however close, is the router's.
        for (path, method) in [
            ("/api/v1/verify", Method::GET),
            ("/api/v1/auth/check", Method::PUT),
            ("/healthz", Method::HEAD),
            ("/healthz", Method::POST),
            ("/api/v1/verify/", Method::POST),
            ("//api/v1/verify", Method::POST),
            ("/api/v1/%76erify", Method::POST),
            ("/API/V1/VERIFY", Method::POST),
            ("/auth/forward/", Method::GET),
            ("/auth/forward/x", Method::GET),
            ("/auth/forwarded", Method::GET),
            ("", Method::GET),
        ] {
            assert_eq!(Decision::of(path, &method), None, "{method} {path}");
        }
    }
}
