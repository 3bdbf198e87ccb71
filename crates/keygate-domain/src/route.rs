//! Forward-auth route rules: which permission, resource and workspace a proxied request needs,
//! from its method and path. A path template captures segments (`/w/{workspace}/devices/{device}`)
//! and the other templates use them (`device:{device}`). A final `{name*}` captures the rest.

use std::borrow::Cow;

use serde::Deserialize;

use crate::permission::Permission;
use crate::validate::ValidationError;

/// One `[[route]]` of the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// HTTP methods the rule applies to; empty for any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The path template, starting with `/`, e.g. `/w/{workspace}/devices/{device}`.
    pub path: String,
    /// The permission the request needs; may use the path's captures (`{area}:read`).
    pub permission: String,
    /// The concrete resource the request touches (`device:{device}`); `None` to check only the
    /// permission.
    #[serde(default)]
    pub resource: Option<String>,
    /// The workspace, by slug or id: usually a capture (`{workspace}`), or a fixed slug.
    pub workspace: String,
    /// Whether a token may come in the URL's `api_token` parameter on this route.
    #[serde(default)]
    pub query_token: bool,
}

/// What a matched route asks of the caller: borrowed from the rule and the request's path, unless
/// a template mixes captures with text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDemand<'a> {
    /// The permission, with the captures filled in.
    pub permission: Cow<'a, str>,
    /// The resource, with the captures filled in; `None` when the rule names none.
    pub resource: Option<Cow<'a, str>>,
    /// The workspace's slug or id, with the captures filled in.
    pub workspace: Cow<'a, str>,
    /// Whether a token may come in the URL's `api_token` parameter.
    pub query_token: bool,
    /// The rule's permission, parsed at load when it uses no capture.
    parsed: Option<&'a Permission>,
}

impl<'a> RouteDemand<'a> {
    /// The permission as a [`Permission`]: one filled from the path may not be one.
    pub fn parse_permission(&self) -> Result<Cow<'a, Permission>, ValidationError> {
        match self.parsed {
            Some(parsed) => Ok(Cow::Borrowed(parsed)),
            None => Permission::parse(&self.permission).map(Cow::Owned),
        }
    }
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

/// Characters a server, framework or file system between the proxy and the data could read as
/// structure rather than as part of a name: separators (`/`, `\`), path parameters (`;`, which
/// Tomcat, Jetty and Spring strip with what follows), a second round of escapes (`%`, which only
/// `%25` or a broken escape leaves after decoding), a query or fragment (`?`, `#`), and the
/// compatibility forms that Unicode normalisation (NFKC) turns into one of these or into `.`.
fn is_structural(c: char) -> bool {
    matches!(
        c,
        '/' | '\\'
            | ';'
            | '%'
            | '?'
            | '#'
            // NFKC: `.`
            | '\u{2024}'
            | '\u{FE52}'
            | '\u{FF0E}'
            // NFKC: `..`, `...`
            | '\u{2025}'
            | '\u{2026}'
            // NFKC: `/`, `\`
            | '\u{FF0F}'
            | '\u{FE68}'
            | '\u{FF3C}'
            // NFKC: `;`, `%`, `?`, `#`
            | '\u{FE54}'
            | '\u{FF1B}'
            | '\u{FE6A}'
            | '\u{FF05}'
            | '\u{FE56}'
            | '\u{FF1F}'
            | '\u{FE5F}'
            | '\u{FF03}'
    ) || c.is_control()
}

/// Whether `segment` holds a character [`is_structural`] names; ASCII, the usual case, is checked
/// byte by byte.
fn has_structural(segment: &str) -> bool {
    if segment.is_ascii() {
        segment
            .bytes()
            .any(|b| matches!(b, b'/' | b'\\' | b';' | b'%' | b'?' | b'#') || b.is_ascii_control())
    } else {
        segment.chars().any(is_structural)
    }
}

/// A segment a server could resolve as "this directory" or "the parent", or trim to nothing:
/// `.`, `..`, what Windows and some frameworks trim down to them (`...`, `.. `), and blanks.
fn is_dot_or_blank_segment(segment: &str) -> bool {
    !segment.is_empty() && segment.chars().all(|c| c == '.' || c.is_whitespace())
}

/// The segments of a request path, percent-decoded once. `None` for a path a server could
/// resolve differently from how it reads here: dot or blank segments, separators, path
/// parameters, escapes left after decoding (double encoding), control characters, invalid UTF-8,
/// and empty segments other than a final one (`a//b`, which servers merge, or `files//etc` read
/// as an absolute path).
/// Such requests match no rule, so they are denied.
///
/// WARNING: everything a rule captures comes from these segments, and resource grants are
/// matched against what it captured (`file:reports/*`). Loosening a check here lets a request
/// whose capture reads as inside a grant reach something outside it upstream.
fn request_segments(path: &str) -> Option<Vec<Cow<'_, str>>> {
    let path = path.strip_prefix('/')?;
    plain_segments(path).or_else(|| careful_segments(path))
}

/// Whether each byte may stand in a segment of a plain path: visible ASCII other than the
/// structural characters ([`is_structural`]) and `/`. Not a space: a segment of blanks is a blank
/// segment.
static PLAIN: [bool; 256] = {
    let mut plain = [false; 256];
    let mut b = b'!';
    while b <= b'~' {
        plain[b as usize] = !matches!(b, b'/' | b'\\' | b';' | b'%' | b'?' | b'#');
        b += 1;
    }
    plain
};

/// The segments of `path` (after its leading `/`) when it is plain: [`PLAIN`] bytes and `/`, no
/// empty segment but a final one, no segment of dots alone. What [`careful_segments`] gives such a
/// path (a property test checks it), found in one pass without decoding; `None` for any other path,
/// which the careful way decides.
fn plain_segments(path: &str) -> Option<Vec<Cow<'_, str>>> {
    let count = path.bytes().filter(|b| *b == b'/').count() + 1;
    let mut segments = Vec::with_capacity(count);
    let mut start = 0;
    // Whether the segment so far is dots alone (or nothing).
    let mut dots = true;
    for (i, &b) in path.as_bytes().iter().enumerate() {
        if b == b'/' {
            if dots {
                return None;
            }
            segments.push(Cow::Borrowed(&path[start..i]));
            start = i + 1;
            dots = true;
        } else if PLAIN[usize::from(b)] {
            dots &= b == b'.';
        } else {
            return None;
        }
    }
    if dots && start < path.len() {
        return None;
    }
    segments.push(Cow::Borrowed(&path[start..]));
    Some(segments)
}

/// The segments of `path` (after its leading `/`), each percent-decoded and checked.
fn careful_segments(path: &str) -> Option<Vec<Cow<'_, str>>> {
    let count = path.bytes().filter(|b| *b == b'/').count() + 1;
    let mut segments = Vec::with_capacity(count);
    for (i, raw) in split_slashes(path).enumerate() {
        let decoded = if raw.as_bytes().contains(&b'%') {
            percent_encoding::percent_decode_str(raw)
                .decode_utf8()
                .ok()?
        } else {
            Cow::Borrowed(raw)
        };
        let unsafe_segment = (decoded.is_empty() && i + 1 != count)
            || is_dot_or_blank_segment(&decoded)
            || has_structural(&decoded);
        if unsafe_segment {
            return None;
        }
        segments.push(decoded);
    }
    Some(segments)
}

/// `path` split at each `/`, as `str::split` splits it, looked for byte by byte
/// ([`crate::split_once_byte`]).
fn split_slashes(path: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(path);
    std::iter::from_fn(move || {
        let current = rest?;
        match crate::split_once_byte(current, b'/') {
            Some((segment, after)) => {
                rest = Some(after);
                Some(segment)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
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

/// Where a template takes a capture from: the path template's segment `at` (with a `{name*}`,
/// that segment and all after it), and whether the template has a `:` of its own before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Capture {
    at: usize,
    rest: bool,
    past_separator: bool,
}

impl Capture {
    /// The value captured from `parts`, a request's segments that matched the path template.
    /// `None` for a `:` placed before the template's own first `:`: in `{type}:{id}` or
    /// `{area}:read`, a path segment `device:abc` would move the boundary between type and id (or
    /// area and action), so the decision would be about another resource than the one the
    /// upstream serves.
    fn value<'a>(self, parts: &[Cow<'a, str>]) -> Option<Cow<'a, str>> {
        let value = if self.rest {
            Cow::Owned(parts.get(self.at..)?.join("/"))
        } else {
            parts.get(self.at)?.clone()
        };
        (self.past_separator || !value.as_bytes().contains(&b':')).then_some(value)
    }
}

/// A permission, resource or workspace template, split at load into its text and the captures
/// it uses, so that a request only copies.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Template {
    /// Plain text: the rule's own string.
    Text,
    /// One capture and nothing else (`{workspace}`): borrowed from the path as it is.
    Capture(Capture),
    /// Text and captures (`device:{device}`).
    Mixed(Vec<Piece>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Capture(Capture),
}

impl Template {
    /// Splits `template` at its `{name}`s, each resolved to the segment of `path` that captures
    /// `name` (the last one, should the path repeat it). An error names an unknown capture or an
    /// unclosed `{`.
    fn compile(template: &str, path: &[Segment]) -> Result<Self, String> {
        let capture = |name: &str, past_separator: bool| {
            path.iter()
                .enumerate()
                .rev()
                .find_map(|(at, segment)| match segment {
                    Segment::Capture(n) if n == name => Some((at, false)),
                    Segment::Rest(n) if n == name => Some((at, true)),
                    _ => None,
                })
                .map(|(at, rest)| Capture {
                    at,
                    rest,
                    past_separator,
                })
                .ok_or_else(|| {
                    format!("`{template}` uses `{{{name}}}`, which the path does not capture")
                })
        };
        if !template.contains('{') {
            return Ok(Self::Text);
        }
        if let Some(name) = template
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .filter(|name| !name.contains(['{', '}']))
        {
            return Ok(Self::Capture(capture(name, false)?));
        }
        let mut pieces = Vec::new();
        let mut rest = template;
        let mut past_separator = false;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            past_separator |= rest[..open].contains(':');
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("unclosed `{{` in `{template}`"))?;
            pieces.push(Piece::Capture(capture(&after[..close], past_separator)?));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Self::Mixed(pieces))
    }

    /// The template filled from a request's segments; `text` is the rule's string it was
    /// compiled from.
    fn fill<'a>(&'a self, text: &'a str, parts: &[Cow<'a, str>]) -> Option<Cow<'a, str>> {
        match self {
            Self::Text => Some(Cow::Borrowed(text)),
            Self::Capture(capture) => capture.value(parts),
            Self::Mixed(pieces) => {
                let mut out = String::with_capacity(text.len() + 16);
                for piece in pieces {
                    match piece {
                        Piece::Text(t) => out.push_str(t),
                        Piece::Capture(capture) => out.push_str(&capture.value(parts)?),
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }
}

/// A rule checked at load: its path and templates split.
#[derive(Debug, Clone)]
struct Compiled {
    rule: RouteRule,
    path: Vec<Segment>,
    permission: Template,
    /// The permission parsed, when it is plain text.
    parsed: Option<Permission>,
    resource: Option<Template>,
    workspace: Template,
}

/// Route rules, checked at load and matched in order.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    rules: Vec<Compiled>,
}

impl RouteTable {
    /// Checks every rule: paths parse, and templates use only captured names.
    pub fn new(rules: Vec<RouteRule>) -> Result<Self, ValidationError> {
        let mut checked = Vec::with_capacity(rules.len());
        for (i, rule) in rules.into_iter().enumerate() {
            let err = |m: String| ValidationError::new("route", format!("route {}: {m}", i + 1));
            let path = parse_template(&rule.path).map_err(err)?;
            let permission = Template::compile(&rule.permission, &path).map_err(err)?;
            let resource = rule
                .resource
                .as_deref()
                .map(|r| Template::compile(r, &path))
                .transpose()
                .map_err(err)?;
            let workspace = Template::compile(&rule.workspace, &path).map_err(err)?;
            // A permission without captures is checked now, not found wanting at request time.
            let parsed = match permission {
                Template::Text => {
                    Some(Permission::parse(&rule.permission).map_err(|e| err(e.message))?)
                }
                Template::Capture(_) | Template::Mixed(_) => None,
            };
            checked.push(Compiled {
                rule,
                path,
                permission,
                parsed,
                resource,
                workspace,
            });
        }
        Ok(Self { rules: checked })
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// One line per rule, for `config check`.
    pub fn describe(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|Compiled { rule: r, .. }| {
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
    pub fn matching<'a>(&'a self, method: &str, path: &'a str) -> Option<RouteDemand<'a>> {
        let parts = request_segments(path)?;
        // The first rule whose method and path match decides, even when its templates cannot
        // be filled: a later, perhaps looser, rule never gets a request the first one refused.
        let compiled = self.rules.iter().find(|c| {
            (c.rule.methods.is_empty()
                || c.rule
                    .methods
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(method)))
                && path_matches(&c.path, &parts)
        })?;
        let rule = &compiled.rule;
        Some(RouteDemand {
            permission: compiled.permission.fill(&rule.permission, &parts)?,
            resource: match (&compiled.resource, &rule.resource) {
                (Some(template), Some(text)) => Some(template.fill(text, &parts)?),
                _ => None,
            },
            workspace: compiled.workspace.fill(&rule.workspace, &parts)?,
            query_token: rule.query_token,
            parsed: compiled.parsed.as_ref(),
        })
    }
}

/// Whether a request's segments match a path template: each literal equal, each capture
/// non-empty, and a `{name*}` given at least one named segment.
fn path_matches(template: &[Segment], parts: &[Cow<'_, str>]) -> bool {
    for (i, segment) in template.iter().enumerate() {
        let part = parts.get(i).map(Cow::as_ref);
        match segment {
            Segment::Literal(lit) if part != Some(lit.as_str()) => return false,
            Segment::Literal(_) => {}
            Segment::Capture(_) if part.is_none_or(str::is_empty) => return false,
            Segment::Capture(_) => {}
            // At least one named segment: `/files/` alone names no file.
            Segment::Rest(_) => return part.is_some_and(|p| !p.is_empty()),
        }
    }
    template.len() == parts.len()
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
    fn a_permission_is_parsed_at_load_or_from_what_the_path_filled_in() {
        let t = table();
        let fixed = t.matching("GET", "/w/acme/devices").expect("match");
        assert_eq!(
            fixed.parse_permission().map(|p| p.as_str().to_owned()),
            Ok("devices:read".to_owned())
        );
        let t = RouteTable::new(vec![rule(
            &[],
            "/w/{workspace}/{area}/x",
            "{area}:read",
            None,
        )])
        .expect("valid");
        let filled = t.matching("GET", "/w/acme/devices/x").expect("match");
        assert_eq!(
            filled.parse_permission().map(|p| p.as_str().to_owned()),
            Ok("devices:read".to_owned())
        );
        let not_one = t.matching("GET", "/w/acme/Devices/x").expect("match");
        assert!(not_one.parse_permission().is_err());
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
    fn captures_that_could_mean_something_else_upstream_match_nothing() {
        let t = table();
        for (path, trick) in [
            (
                "/w/acme/files/reports/..;/secret/db.sql",
                "`..;`: Tomcat drops `;`, leaving `..`",
            ),
            ("/w/acme/files/reports/.;/secret/db.sql", "`.;`"),
            (
                "/w/acme/files/reports;x/../secret",
                "a path parameter, then `..`",
            ),
            (
                "/w/acme/files/reports;jsessionid=1/q3.pdf",
                "a path parameter",
            ),
            ("/w/acme/files/reports/%3B/secret", "an encoded `;`"),
            (
                "/w/acme/files/reports/..%3b/secret",
                "`..` with an encoded `;`",
            ),
            (
                "/w/acme/files/reports/%252e%252e/secret/db.sql",
                "double-encoded `..`",
            ),
            (
                "/w/acme/files/reports/%252E%252E/secret",
                "double-encoded `..`, upper case",
            ),
            ("/w/acme/files/reports/..%252fsecret", "double-encoded `/`"),
            ("/w/acme/files/reports/%25/secret", "an encoded `%`"),
            ("/w/acme/files/reports/%zz", "a broken escape"),
            ("/w/acme/files/reports/..%2fsecret", "an encoded `/`"),
            ("/w/acme/files/reports/..%5csecret", "an encoded backslash"),
            ("/w/acme/files/reports/..\\secret", "a backslash"),
            ("/w/acme/files/reports/..%00/secret", "NUL after `..`"),
            ("/w/acme/files/reports/%0a", "a newline"),
            (
                "/w/acme/files/reports/.../secret",
                "`...`, which Windows trims to `..`",
            ),
            (
                "/w/acme/files/reports/..%20/secret",
                "`.. `, which Windows trims to `..`",
            ),
            (
                "/w/acme/files/reports/%ef%bc%8e%ef%bc%8e/secret",
                "full-width `..` (NFKC)",
            ),
            (
                "/w/acme/files/reports/%e2%80%a5/secret",
                "two-dot leader (NFKC `..`)",
            ),
            (
                "/w/acme/files/reports/..%ef%bc%8fsecret",
                "a full-width `/` (NFKC)",
            ),
            ("/w/acme/files/reports/%ef%b9%94x", "a small `;` (NFKC)"),
            (
                "/w/acme/files/reports/%c0%ae%c0%ae/secret",
                "overlong UTF-8 `..`",
            ),
            ("/w/acme/files/reports/a%3Fb", "an encoded `?`"),
            ("/w/acme/files/reports/a%23b", "an encoded `#`"),
            (
                "/w/acme/files//etc/passwd",
                "an absolute path in the capture",
            ),
            ("/w/acme/files/reports//q3.pdf", "an empty segment"),
            (
                "/w/acme/files/reports/%20%20/q3.pdf",
                "a blank segment, which trimming empties",
            ),
            (
                "/w/acme;x/files/reports/q3.pdf",
                "a path parameter in a single capture",
            ),
            (
                "/w/acme/files;x/reports/q3.pdf",
                "a path parameter in a literal",
            ),
            ("//w/acme/files/reports/q3.pdf", "an empty first segment"),
            ("w/acme/files/reports/q3.pdf", "no leading `/`"),
            ("/w/acme/files/", "a rest that names nothing"),
            (
                "/w/acme/devices/a;b/measurements",
                "a path parameter in a device id",
            ),
        ] {
            assert_eq!(t.matching("GET", path), None, "{trick}: {path}");
        }
    }

    #[test]
    fn a_colon_captured_before_the_templates_own_separator_matches_nothing() {
        let t = RouteTable::new(vec![
            rule(
                &["GET"],
                "/w/{workspace}/{kind}/{id}",
                "{kind}:read",
                Some("{kind}:{id}"),
            ),
            rule(&["GET"], "/w/{workspace}/{anything*}", "any:read", None),
        ])
        .expect("valid rules");
        let d = t.matching("GET", "/w/acme/device/abc").expect("match");
        assert_eq!(d.resource.as_deref(), Some("device:abc"));
        // In the id, a `:` is only part of the id.
        let d = t.matching("GET", "/w/acme/device/a:b").expect("match");
        assert_eq!(d.resource.as_deref(), Some("device:a:b"));
        // In the type, it would make `device:abc` the type upstream and `device` here; and the
        // first matching rule decides, so the looser second rule does not take over.
        assert_eq!(t.matching("GET", "/w/acme/device:abc/x"), None);
        assert_eq!(t.matching("GET", "/w/acme/:x/y"), None);
    }

    #[test]
    fn ordinary_names_still_match() {
        let t = table();
        for (path, resource) in [
            ("/w/acme/files/reports/q3.pdf", "file:reports/q3.pdf"),
            ("/w/acme/files/reports/..hidden", "file:reports/..hidden"),
            (
                "/w/acme/files/reports/v1.2..3.txt",
                "file:reports/v1.2..3.txt",
            ),
            ("/w/acme/files/reports/", "file:reports/"),
            ("/w/acme/files/caf%C3%A9", "file:café"),
            ("/w/acme/files/a-b_c~d(e)", "file:a-b_c~d(e)"),
        ] {
            let d = t.matching("GET", path);
            assert_eq!(
                d.and_then(|d| d.resource).as_deref(),
                Some(resource),
                "{path}"
            );
        }
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

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The byte-wise check for ASCII finds exactly what the character-wise one does.
        #[test]
        fn structural_characters_are_found_in_any_text(text in any::<String>(), ascii in "[ -~\\x00-\\x1f\\x7f]{0,12}") {
            for s in [text.as_str(), ascii.as_str()] {
                prop_assert_eq!(has_structural(s), s.chars().any(is_structural), "{:?}", s);
            }
        }

        /// A plain path's segments, found in one pass, are the ones the careful way finds; and
        /// the paths rules are written for are plain.
        #[test]
        fn plain_paths_split_as_the_careful_way_splits_them(
            text in any::<String>(),
            mixed in "[ab./%;#?\\\\ \t\x00é-]{0,4}(/[ab./%;#?\\\\ \t\x00é-]{0,4}){0,5}",
            dotted in "[a.]{0,3}(/[a.]{0,3}){0,5}",
            ordinary in "[a-z0-9_~-][a-z0-9_.~-]{0,8}(/[a-z0-9_~-][a-z0-9_.~-]{0,8}){0,5}/?",
        ) {
            for path in [&text, &mixed, &dotted, &ordinary] {
                if let Some(plain) = plain_segments(path) {
                    prop_assert_eq!(Some(plain), careful_segments(path), "{:?}", path);
                }
            }
            prop_assert!(plain_segments(&ordinary).is_some(), "{:?}", ordinary);
        }

        /// Splitting byte by byte gives the segments `str::split` gives.
        #[test]
        fn paths_split_at_slashes_as_str_split_does(text in any::<String>(), path in "[a-z/%é]{0,16}") {
            for s in [text.as_str(), path.as_str()] {
                prop_assert_eq!(split_slashes(s).collect::<Vec<_>>(), s.split('/').collect::<Vec<_>>());
            }
        }
    }
}
