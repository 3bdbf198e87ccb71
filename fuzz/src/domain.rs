//! Invariants of the domain's parsers under arbitrary input: the token format, the forward-auth
//! route matcher, permissions and resource patterns. Each function panics when an invariant
//! breaks, which is what a fuzzer reports. Depends on `keygate_domain` only, so that the domain
//! crate's tests can include this file and replay the kept crash inputs.

use keygate_domain::route::{RouteRule, RouteTable};
use keygate_domain::{
    Digester, Permission, PermissionSet, ResourcePattern, Resources, Rights, Scope, TokenFormat,
    TokenKind,
};

/// The input as text; invalid UTF-8 becomes U+FFFD, as an HTTP layer would never hand it over.
fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Token parsing, checksums, hints, digests and redaction.
pub fn token(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let prefix = ["kg", "x", "abcdefgh", "k9"][usize::from(selector % 4)];
    let Ok(format) = TokenFormat::new(prefix) else {
        panic!("`{prefix}` is a valid prefix");
    };
    let presented = text(rest);
    if let Ok(parsed) = format.parse(&presented) {
        assert_eq!(parsed.as_str(), presented);
        assert_eq!(presented.len(), format.token_len());
        assert!(presented.is_ascii());
        let hint = parsed.hint();
        assert!(hint.starts_with(prefix));
        assert!(
            hint.chars().count() < presented.len(),
            "a hint is shorter than the token"
        );
        let digester = Digester::new(Some(rest));
        assert_eq!(digester.digest(&parsed), digester.digest(&parsed));
        let redacted = format.redact(&presented);
        assert!(
            !redacted.contains(presented.as_str()),
            "a valid token is redacted"
        );
    }
    // Whatever the text, nothing that parses as a token survives redaction.
    let redacted = format.redact(&presented);
    let len = format.token_len();
    for start in 0..redacted.len() {
        if let Some(window) = redacted.get(start..start + len) {
            assert!(
                format.parse(window).is_err(),
                "a token survived redaction at byte {start}"
            );
        }
    }
    // Tokens generated from any random bytes parse back, with their kind. (Bytes from 248 up
    // are rejected by the sampler; a source of nothing else would never finish, as no CSPRNG is.)
    let kind = TokenKind::ALL[usize::from(selector / 4 % 3)];
    let mut source = rest
        .iter()
        .map(|b| b % 248)
        .cycle()
        .chain(std::iter::repeat(7u8));
    let token = format.generate(kind, |buf| {
        for b in buf.iter_mut() {
            *b = source.next().unwrap_or(7);
        }
    });
    match format.parse(token.expose()) {
        Ok(parsed) => assert_eq!(parsed.kind(), kind),
        Err(e) => panic!("a generated token does not parse: {e}"),
    }
}

fn rule(methods: &[&str], path: &str, permission: &str, resource: Option<&str>) -> RouteRule {
    RouteRule {
        methods: methods.iter().map(|m| (*m).to_owned()).collect(),
        path: path.to_owned(),
        permission: permission.to_owned(),
        resource: resource.map(str::to_owned),
        workspace: "{workspace}".to_owned(),
        query_token: false,
    }
}

/// The rules the route target matches against: literals, single captures, a capture in the
/// permission and a final `{path*}`.
pub fn route_table() -> RouteTable {
    let rules = vec![
        rule(
            &["GET"],
            "/w/{workspace}/devices/{device}/measurements",
            "measurements:read",
            Some("device:{device}"),
        ),
        rule(
            &["POST", "put"],
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
        rule(
            &["GET"],
            "/w/{workspace}/{area}/{id}",
            "{area}:read",
            Some("{area}:{id}"),
        ),
        rule(&[], "/w/{workspace}/all/{rest*}", "all:read", None),
    ];
    match RouteTable::new(rules) {
        Ok(table) => table,
        Err(e) => panic!("the fuzz route table is valid: {e}"),
    }
}

/// Whether a captured value could mean something other than itself to a server behind the
/// proxy. Mirrors what `route.rs` refuses, written independently of it.
fn suspicious_segment(segment: &str) -> Option<&'static str> {
    if segment.is_empty() {
        return Some("empty");
    }
    if segment.chars().all(|c| c == '.' || c.is_whitespace()) {
        return Some("dot or blank segment");
    }
    for (c, why) in [
        (';', "path parameter"),
        ('%', "escape left after decoding"),
        ('\\', "backslash"),
        ('?', "query"),
        ('#', "fragment"),
        ('\u{FF0E}', "full-width dot"),
        ('\u{FF0F}', "full-width slash"),
    ] {
        if segment.contains(c) {
            return Some(why);
        }
    }
    if segment.chars().any(char::is_control) {
        return Some("control character");
    }
    None
}

fn assert_clean(what: &str, value: &str, input: &str) {
    for segment in value.split('/') {
        if let Some(why) = suspicious_segment(segment) {
            panic!("{input:?} captured {what} {value:?}: segment {segment:?} is a {why}");
        }
    }
}

/// The route matcher: `METHOD\nURI\nTEMPLATE`. The URI is split at `?` as forward-auth does.
pub fn route(data: &[u8]) {
    let input = text(data);
    let mut parts = input.splitn(3, '\n');
    let method = parts.next().unwrap_or_default();
    let uri = parts.next().unwrap_or_default();
    let template = parts.next();
    let path = uri.split_once('?').map_or(uri, |(p, _)| p);

    static TABLE: std::sync::OnceLock<RouteTable> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(route_table);
    if let Some(demand) = table.matching(method, path) {
        // Every capture shows up in the workspace or the resource (`{area}` in both).
        assert_clean("workspace", &demand.workspace, &input);
        assert!(!demand.workspace.contains('/'), "one segment: {input:?}");
        if let Some(resource) = &demand.resource {
            let Some((kind, id)) = resource.split_once(':') else {
                panic!("{input:?}: resource {resource:?} has no type");
            };
            assert_clean("resource type", kind, &input);
            // The final capture keeps its inner slashes, but a trailing slash is a directory.
            assert_clean("resource", id.strip_suffix('/').unwrap_or(id), &input);
        }
        assert_eq!(table.matching(method, path).as_ref(), Some(&demand));
    }

    // Any rule path either loads or is refused, and a loaded one matches without panicking.
    if let Some(template) = template {
        let fuzzed = rule(&[], template, "a:b", None);
        if let Ok(table) = RouteTable::new(vec![fuzzed]) {
            let _ = table.describe();
            let _ = table.matching(method, path);
            let _ = table.matching(method, template);
        }
    }
}

/// Permissions and resource patterns: parsing, `covers`, `meet`, `matches` and rights built from
/// them. Input: up to six lines — two permissions, a permission to ask for, two resource
/// patterns and a concrete resource.
pub fn permission(data: &[u8]) {
    let input = text(data);
    let mut lines = input.split('\n');
    let mut next = || lines.next().unwrap_or_default().to_owned();
    let (p1, p2, wanted, r1, r2, resource) = (next(), next(), next(), next(), next(), next());

    let perms: Vec<Permission> = [&p1, &p2, &wanted]
        .into_iter()
        .filter_map(|s| Permission::parse(s).ok())
        .collect();
    for p in &perms {
        assert!(p.covers(p), "{p} covers itself");
        assert_eq!(Permission::parse(&p.to_string()).ok().as_ref(), Some(p));
        assert!(Permission::all().covers(p), "`*` covers {p}");
    }
    for a in &perms {
        for b in &perms {
            let meet = a.meet(b);
            assert_eq!(meet, b.meet(a), "meet of {a} and {b} is symmetric");
            if let Some(m) = &meet {
                assert!(
                    a.covers(m) && b.covers(m),
                    "{a} and {b} cover their meet {m}"
                );
            }
            if a.covers(b) {
                for c in &perms {
                    if b.covers(c) {
                        assert!(a.covers(c), "covers is transitive: {a} ⊇ {b} ⊇ {c}");
                    }
                    // Whatever both patterns cover, their meet covers too.
                }
            }
            for c in &perms {
                if a.covers(c) && b.covers(c) {
                    assert!(
                        meet.as_ref().is_some_and(|m| m.covers(c)),
                        "{a} and {b} both cover {c}, so their meet does"
                    );
                }
            }
        }
    }

    let patterns: Vec<ResourcePattern> = [&r1, &r2]
        .into_iter()
        .filter_map(|s| ResourcePattern::parse(s).ok())
        .collect();
    for r in &patterns {
        assert!(r.covers(r), "{r} covers itself");
        assert_eq!(
            ResourcePattern::parse(&r.to_string()).ok().as_ref(),
            Some(r)
        );
        assert!(ResourcePattern::all().covers(r));
        // A concrete resource (no wildcard) is reached by the pattern that names it.
        if !r.as_str().contains('*') {
            assert!(r.matches(r.as_str()), "{r} matches itself");
        }
    }
    for a in &patterns {
        for b in &patterns {
            // `covers` must agree with `matches`: never claim more than is reached.
            if a.covers(b) && b.matches(&resource) {
                assert!(
                    a.matches(&resource),
                    "{a} covers {b}, which reaches {resource:?}"
                );
            }
            let meet = a.meet(b);
            if let Some(m) = &meet
                && m.matches(&resource)
            {
                assert!(
                    a.matches(&resource) && b.matches(&resource),
                    "meet {m} of {a} and {b} reaches {resource:?}"
                );
            }
        }
    }

    // Rights built from these, and narrowed by a scope of the same values: never more than held.
    let Some(wanted) = Permission::parse(&wanted).ok() else {
        return;
    };
    let held = PermissionSet::new(perms.iter().take(1).cloned().collect());
    let rights = Rights {
        permissions: held,
        resources: Resources::of(patterns.iter().take(1).cloned().collect()),
    };
    let scope = Scope {
        workspaces: None,
        permissions: Some(PermissionSet::new(perms.iter().skip(1).cloned().collect())),
        resources: Some(patterns.iter().skip(1).cloned().collect()),
    };
    let narrowed = rights.narrowed(&scope);
    for on in [None, Some(resource.as_str())] {
        if narrowed.allows(&wanted, on) {
            assert!(
                rights.allows(&wanted, on),
                "narrowing added {wanted} on {on:?}"
            );
        }
    }
    let everything = Resources::All;
    let _ = rights.grantable(&narrowed.permissions, &narrowed.resources);
    let _ = rights.grantable(&narrowed.permissions, &everything);
}
