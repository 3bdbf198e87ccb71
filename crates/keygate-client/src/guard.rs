//! `Guard`: a tower layer that asks Keygate whether a request may do a route's permission on its
//! resource, and hands the verified [`Identity`] to the handler. Also the shared judgement that
//! the extractors use.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::rejection::Rejection;
use crate::transport::presented_token;
use crate::verifier::{Code, Identity, Question, Verifier};

/// The path parameters of the matched route, by name, percent-decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams(HashMap<String, String>);

impl PathParams {
    /// The parameter named `name`; `None` when the route does not capture it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Reads the parameters axum captured for the matched route. Without any (a route without
    /// parameters, or a layer added outside routing) the set is empty.
    pub async fn from_parts(parts: &mut Parts) -> Result<Self, Rejection> {
        match RawPathParams::from_request_parts(parts, &()).await {
            Ok(raw) => Ok(PathParams(
                raw.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            )),
            Err(axum::extract::rejection::RawPathParamsRejection::MissingPathParams(_)) => {
                Ok(PathParams::default())
            }
            Err(other) => Err(Rejection::bad_request("invalid_path", other.body_text())),
        }
    }
}

impl FromIterator<(String, String)> for PathParams {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        PathParams(iter.into_iter().collect())
    }
}

/// A function computing a guard's value from the path parameters.
type FromParams = Arc<dyn Fn(&PathParams) -> Option<String> + Send + Sync>;

/// How a guard finds a value (permission, resource or workspace) for a request.
#[derive(Clone)]
enum Source {
    /// Text with `{name}` placeholders filled from the path parameters, e.g. `device:{id}`.
    Template(String),
    /// A function of the path parameters.
    Function(FromParams),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Template(t) => write!(f, "{t:?}"),
            Source::Function(_) => f.write_str("<function>"),
        }
    }
}

impl Source {
    fn value(&self, params: &PathParams) -> Result<String, Rejection> {
        match self {
            Source::Template(t) => fill(t, params),
            Source::Function(f) => f(params).ok_or_else(|| {
                Rejection::bad_request(
                    "invalid_path",
                    "the path does not name what this route needs",
                )
            }),
        }
    }
}

/// `template` with each `{name}` replaced by the path parameter `name`. `{{` and `}}` are a
/// literal brace.
pub fn fill(template: &str, params: &PathParams) -> Result<String, Rejection> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push('}');
            rest = after;
        } else if let Some(after) = tail.strip_prefix('{') {
            let Some(end) = after.find('}') else {
                return Err(misconfigured(template, "has a `{` without its `}`"));
            };
            let name = &after[..end];
            let value = params.get(name).ok_or_else(|| {
                misconfigured(
                    template,
                    &format!("names `{{{name}}}`, which the route does not capture"),
                )
            })?;
            out.push_str(value);
            rest = &after[end + 1..];
        } else {
            return Err(misconfigured(template, "has a `}` without its `{`"));
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn misconfigured(template: &str, problem: &str) -> Rejection {
    Rejection::Misconfigured(format!("the guard's template {template:?} {problem}"))
}

/// What a route demands: a permission, optionally on a resource, in a workspace.
#[derive(Debug, Clone)]
pub(crate) struct Demand {
    permission: Source,
    resource: Option<Source>,
    workspace: Option<Source>,
}

impl Demand {
    pub(crate) fn new(permission: &str, resource: Option<&str>, workspace: Option<&str>) -> Demand {
        Demand {
            permission: Source::Template(permission.to_owned()),
            resource: resource.map(|r| Source::Template(r.to_owned())),
            workspace: workspace.map(|w| Source::Template(w.to_owned())),
        }
    }
}

/// Judges one request: reads its token, asks Keygate, and turns a refusal into a [`Rejection`].
pub(crate) async fn judge(
    verifier: &Verifier,
    parts: &mut Parts,
    demand: &Demand,
) -> Result<Identity, Rejection> {
    let token = presented_token(&parts.headers, parts.uri.query())?;
    let params = PathParams::from_parts(parts).await?;
    let permission = demand.permission.value(&params)?;
    let resource = demand
        .resource
        .as_ref()
        .map(|r| r.value(&params))
        .transpose()?;
    let workspace = demand
        .workspace
        .as_ref()
        .map(|w| w.value(&params))
        .transpose()?;
    let workspace = workspace
        .as_deref()
        .or(verifier.workspace())
        .ok_or_else(|| {
            Rejection::Misconfigured(
                "no workspace: give one to the Verifier or to the guard".to_owned(),
            )
        })?;
    let decision = verifier
        .verify(Question {
            token: token.as_deref(),
            workspace: Some(workspace),
            permission: Some(&permission),
            resource: resource.as_deref(),
            // The guard cannot tell a proxy's address from its client's: it judges none, and
            // Keygate answers `ip_checked: false` for a token held to an allow-list.
            client_ip: None,
        })
        .await?;
    if decision.valid {
        return Ok(decision.identity.clone());
    }
    Err(match (decision.code, &token) {
        (Code::InvalidToken | Code::TokenExpired | Code::TokenRevoked, _) => {
            Rejection::InvalidToken(decision.code)
        }
        // An anonymous caller the public role does not allow is asked for a token.
        (_, None) => Rejection::Unauthenticated,
        (Code::NotAMember, Some(_)) => Rejection::NotAMember,
        (Code::IpNotAllowed, Some(_)) => Rejection::IpNotAllowed,
        (Code::RateLimited, Some(_)) => Rejection::RateLimited(decision.rate_limit),
        (_, Some(_)) => {
            let missing = decision
                .missing
                .clone()
                .unwrap_or_else(|| permission.clone());
            Rejection::Forbidden {
                missing_permission: missing == permission,
                missing,
            }
        }
    })
}

/// A tower layer that lets a request through only when Keygate allows its caller the route's
/// permission (on the route's resource, in the route's workspace), and puts the caller's
/// [`Identity`] in the request's extensions for the handler.
///
/// Add it where axum has matched the route, so that path parameters are known: on a handler
/// (`get(show.layer(guard))`), a method router, or with `Router::route_layer`.
///
/// Templates name path parameters in braces: `.resource("device:{id}")`.
#[derive(Debug, Clone)]
pub struct Guard {
    verifier: Verifier,
    demand: Demand,
}

impl Guard {
    /// A guard demanding `permission` (a template: `"{area}:read"` works), in the verifier's
    /// workspace, on no particular resource.
    pub fn new(verifier: Verifier, permission: impl Into<String>) -> Self {
        Guard {
            verifier,
            demand: Demand {
                permission: Source::Template(permission.into()),
                resource: None,
                workspace: None,
            },
        }
    }

    /// The resource the request touches, as a template such as `device:{id}`.
    pub fn resource(mut self, template: impl Into<String>) -> Self {
        self.demand.resource = Some(Source::Template(template.into()));
        self
    }

    /// The resource, computed from the path parameters; `None` refuses the request with 400.
    pub fn resource_with(
        mut self,
        f: impl Fn(&PathParams) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.demand.resource = Some(Source::Function(Arc::new(f)));
        self
    }

    /// The workspace (slug or id), as a template such as `{workspace}` or a fixed slug. Without
    /// it, the verifier's workspace is asked about.
    pub fn workspace(mut self, template: impl Into<String>) -> Self {
        self.demand.workspace = Some(Source::Template(template.into()));
        self
    }

    /// The workspace, computed from the path parameters; `None` refuses the request with 400.
    pub fn workspace_with(
        mut self,
        f: impl Fn(&PathParams) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.demand.workspace = Some(Source::Function(Arc::new(f)));
        self
    }
}

impl<S> tower::Layer<S> for Guard {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService {
            inner,
            guard: Arc::new(self.clone()),
        }
    }
}

/// The service a [`Guard`] wraps around a route.
#[derive(Debug, Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: Arc<Guard>,
}

impl<S> tower::Service<Request> for GuardService<S>
where
    S: tower::Service<Request> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone is the service that was polled ready; a fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = Arc::clone(&self.guard);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match judge(&guard.verifier, &mut parts, &guard.demand).await {
                Ok(identity) => {
                    parts.extensions.insert(identity);
                    let response = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(response.into_response())
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> PathParams {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn templates_are_filled_from_path_parameters() {
        let p = params(&[("id", "abc"), ("ws", "acme")]);
        assert_eq!(fill("device:{id}", &p).ok().as_deref(), Some("device:abc"));
        assert_eq!(fill("{ws}", &p).ok().as_deref(), Some("acme"));
        assert_eq!(
            fill("devices:read", &p).ok().as_deref(),
            Some("devices:read")
        );
        assert_eq!(fill("{ws}/{id}", &p).ok().as_deref(), Some("acme/abc"));
        assert_eq!(fill("a{{b}}{id}", &p).ok().as_deref(), Some("a{b}abc"));
    }

    #[test]
    fn broken_templates_are_a_misconfiguration() {
        let p = params(&[("id", "abc")]);
        for bad in ["device:{other}", "device:{id", "device:id}"] {
            match fill(bad, &p) {
                Err(Rejection::Misconfigured(message)) => {
                    assert!(message.contains(bad), "{message}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
