//! Forward-auth route rules: which permission, resource and workspace a proxied request needs,
//! from its method and path. A path template captures segments (`/w/{workspace}/devices/{device}`)
//! and the other templates use them (`device:{device}`). A final `{name*}` captures the rest.

use std::borrow::Cow;

use serde::Deserialize;

use crate::validate::ValidationError;

/// One `[[route]]` of the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// HTTP methods the rule applies to; empty for any.
    #[serde(default)]
    pub methods: Vec<String>,
    pub path: String,
    pub permission: String,
    #[serde(default)]
    pub resource: Option<String>,
    pub workspace: String,
    /// Whether a token may come in the URL's `api_token` parameter on this route.
    #[serde(default)]
    pub query_token: bool,
}

/// What a matched route asks of the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDemand {
    pub permission: String,
    pub resource: Option<String>,
    pub workspace: String,
    pub query_token: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Capture(String),
    Rest(String),
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}

/// The segments of a request path, percent-decoded. `None` for a path a server could resolve
/// differently from how it reads here: `.` or `..` segments, encoded slashes or backslashes,
/// control characters, invalid UTF-8. Such requests match no rule, so they are denied.
fn request_segments(path: &str) -> Option<Vec<Cow<'_, str>>> {
    segments(path)
        .into_iter()
        .map(|raw| {
            let decoded = percent_encoding::percent_decode_str(raw)
                .decode_utf8()
                .ok()?;
            let unsafe_segment = decoded == "."
                || decoded == ".."
                || decoded
                    .chars()
                    .any(|c| c == '/' || c == '\\' || c.is_control());
            (!unsafe_segment).then_some(decoded)
        })
        .collect()
}

fn parse_template(path: &str) -> Result<Vec<Segment>, String> {
    if !path.starts_with('/') {
        return Err(format!("path `{path}` must start with `/`"));
    }
    let parts = segments(path);
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => match name.strip_suffix('*') {
                Some(name) if i + 1 == parts.len() => Segment::Rest(name.to_owned()),
                Some(_) => {
                    return Err(format!("in `{path}`, `{{name*}}` must be the last segment"));
                }
                None => Segment::Capture(name.to_owned()),
            },
            None if part.contains(['{', '}']) => {
                return Err(format!(
                    "in `{path}`, a capture must be a whole segment: `{part}`"
                ));
            }
            None => Segment::Literal((*part).to_owned()),
        };
        if let Segment::Capture(name) | Segment::Rest(name) = &segment
            && (name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(format!("in `{path}`, `{name}` is not a capture name"));
        }
        out.push(segment);
    }
    Ok(out)
}

/// Fills `{name}` in `template` from `captures`; `None` names an unknown capture.
/// What a request's path captured, by name: a handful at most, so a list.
type Captures<'a> = Vec<(&'a str, Cow<'a, str>)>;

fn fill(template: &str, captures: &Captures<'_>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("unclosed `{{` in `{template}`"))?;
        let name = &after[..close];
        // The last capture of a name wins, should a template repeat it.
        let value = captures
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| {
                format!("`{template}` uses `{{{name}}}`, which the path does not capture")
            })?;
        out.push_str(value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Route rules, checked at load and matched in order.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    rules: Vec<(RouteRule, Vec<Segment>)>,
}

impl RouteTable {
    /// Checks every rule: paths parse, and templates use only captured names.
    pub fn new(rules: Vec<RouteRule>) -> Result<Self, ValidationError> {
        let mut checked = Vec::with_capacity(rules.len());
        for (i, rule) in rules.into_iter().enumerate() {
            let err = |m: String| ValidationError::new("route", format!("route {}: {m}", i + 1));
            let template = parse_template(&rule.path).map_err(err)?;
            let names: Captures<'_> = template
                .iter()
                .filter_map(|s| match s {
                    Segment::Capture(n) | Segment::Rest(n) => Some((n.as_str(), "x".into())),
                    Segment::Literal(_) => None,
                })
                .collect();
            for t in [
                Some(&rule.permission),
                rule.resource.as_ref(),
                Some(&rule.workspace),
            ]
            .into_iter()
            .flatten()
            {
                fill(t, &names).map_err(err)?;
            }
            // A permission without captures is checked now, not found wanting at request time.
            if !rule.permission.contains('{') {
                crate::permission::Permission::parse(&rule.permission)
                    .map_err(|e| err(e.message))?;
            }
            checked.push((rule, template));
        }
        Ok(Self { rules: checked })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// One line per rule, for `config check`.
    pub fn describe(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|(r, _)| {
                let methods = if r.methods.is_empty() {
                    "ANY".to_owned()
                } else {
                    r.methods.join(",")
                };
                format!(
                    "{methods} {} -> {} on {} in {}{}",
                    r.path,
                    r.permission,
                    r.resource.as_deref().unwrap_or("(any resource)"),
                    r.workspace,
                    if r.query_token {
                        " (token in URL allowed)"
                    } else {
                        ""
                    }
                )
            })
            .collect()
    }

    /// The demand of the first rule that matches `method` and `path` (without query string).
    pub fn matching(&self, method: &str, path: &str) -> Option<RouteDemand> {
        let parts = request_segments(path)?;
        self.rules.iter().find_map(|(rule, template)| {
            if !rule.methods.is_empty()
                && !rule.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
            {
                return None;
            }
            let captures = capture(template, &parts)?;
            Some(RouteDemand {
                permission: fill(&rule.permission, &captures).ok()?,
                resource: rule
                    .resource
                    .as_ref()
                    .map(|r| fill(r, &captures))
                    .transpose()
                    .ok()?,
                workspace: fill(&rule.workspace, &captures).ok()?,
                query_token: rule.query_token,
            })
        })
    }
}

fn capture<'a>(template: &'a [Segment], parts: &'a [Cow<'a, str>]) -> Option<Captures<'a>> {
    let mut captures = Vec::new();
    for (i, segment) in template.iter().enumerate() {
        match segment {
            Segment::Literal(lit) => {
                if parts.get(i).map(|p| p.as_ref()) != Some(lit.as_str()) {
                    return None;
                }
            }
            Segment::Capture(name) => {
                let part = parts.get(i).filter(|p| !p.is_empty())?;
                captures.push((name.as_str(), Cow::Borrowed(part.as_ref())));
            }
            Segment::Rest(name) => {
                let rest = parts.get(i..).filter(|r| !r.is_empty())?.join("/");
                captures.push((name.as_str(), Cow::Owned(rest)));
                return Some(captures);
            }
        }
    }
    (template.len() == parts.len()).then_some(captures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(methods: &[&str], path: &str, permission: &str, resource: Option<&str>) -> RouteRule {
        RouteRule {
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
            path: path.into(),
            permission: permission.into(),
            resource: resource.map(Into::into),
            workspace: "{workspace}".into(),
            query_token: false,
        }
    }

    fn table() -> RouteTable {
        RouteTable::new(vec![
            rule(
                &["GET"],
                "/w/{workspace}/devices/{device}/measurements",
                "measurements:read",
                Some("device:{device}"),
            ),
            rule(
                &["POST"],
                "/w/{workspace}/devices/{device}/measurements",
                "measurements:write",
                Some("device:{device}"),
            ),
            rule(
                &[],
                "/w/{workspace}/files/{path*}",
                "files:read",
                Some("file:{path}"),
            ),
            rule(&["get"], "/w/{workspace}/devices", "devices:read", None),
        ])
        .expect("valid rules")
    }

    #[test]
    fn routes_match_in_order_with_captures() {
        let t = table();
        let d = t
            .matching("GET", "/w/acme/devices/abc/measurements")
            .expect("match");
        assert_eq!(d.permission, "measurements:read");
        assert_eq!(d.resource.as_deref(), Some("device:abc"));
        assert_eq!(d.workspace, "acme");
        let d = t
            .matching("POST", "/w/acme/devices/abc/measurements")
            .expect("match");
        assert_eq!(d.permission, "measurements:write");
        let d = t
            .matching("DELETE", "/w/acme/files/a/b/c.txt")
            .expect("any method");
        assert_eq!(d.resource.as_deref(), Some("file:a/b/c.txt"));
        assert!(
            t.matching("GET", "/w/acme/devices").is_some(),
            "methods ignore case"
        );
    }

    #[test]
    fn anything_else_matches_nothing() {
        let t = table();
        for (method, path) in [
            ("DELETE", "/w/acme/devices/abc/measurements"),
            ("GET", "/w/acme/devices/abc"),
            ("GET", "/w/acme/devices/abc/measurements/extra"),
            ("GET", "/w//devices/abc/measurements"),
            ("GET", "/w/acme/files"),
            ("GET", "/other"),
            ("GET", "/"),
        ] {
            assert_eq!(t.matching(method, path), None, "{method} {path}");
        }
    }

    #[test]
    fn paths_a_server_could_resolve_differently_match_nothing() {
        let t = table();
        for path in [
            "/w/acme/files/reports/../secret",
            "/w/acme/files/reports/%2e%2e/secret",
            "/w/acme/files/reports/%2E%2E/secret",
            "/w/acme/files/./x",
            "/w/acme/files/a%2Fb",
            "/w/acme/files/a%5Cb",
            "/w/acme/files/a%00b",
            "/w/acme/files/%ff",
            "/w/%2e%2e/devices/abc/measurements",
        ] {
            assert_eq!(t.matching("GET", path), None, "{path}");
        }
        // Ordinary escapes are decoded before matching and filling.
        let d = t
            .matching("GET", "/w/acme/files/my%20report.txt")
            .expect("match");
        assert_eq!(d.resource.as_deref(), Some("file:my report.txt"));
    }

    #[test]
    fn bad_rules_are_refused_at_load() {
        for bad in [
            rule(&[], "no-slash", "a:b", None),
            rule(&[], "/x/{rest*}/y", "a:b", None),
            rule(&[], "/x/pre{fix}", "a:b", None),
            rule(&[], "/w/{workspace}", "a:b", Some("device:{device}")),
            rule(&[], "/w/{workspace}/{}", "a:b", None),
            rule(&[], "/w/{workspace}", "not a permission", None),
        ] {
            assert!(RouteTable::new(vec![bad.clone()]).is_err(), "{bad:?}");
        }
    }
}
