//! Permissions (`area:action`, with `area:*`, `*:action` and `*`), resource patterns (`type:id`,
//! `type:*`, `type:id/*`, `*`) and the matching between them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::split_once_byte;
use crate::validate::ValidationError;

const MAX_LEN: usize = 128;

fn is_word(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

/// A permission or permission pattern: `devices:read`, `devices:*`, `*:read` or `*` (which is
/// `*:*`). A pattern stands for every permission it matches part by part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Permission(String);

impl Permission {
    /// Everything: the owner role's permission.
    pub fn all() -> Self {
        Self("*".to_owned())
    }

    /// Parses `s` as a permission or pattern: at most 128 characters, each part `*` or a word
    /// (a lowercase letter, then lowercase letters, digits, `_`, `-` or `.`); `*:*` is written `*`.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let part = |p: &str| p == "*" || is_word(p);
        let valid = s.len() <= MAX_LEN
            && (s == "*"
                || split_once_byte(s, b':')
                    .is_some_and(|(area, action)| part(area) && part(action) && s != "*:*"));
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::new(
                "permission",
                format!(
                    "`{s}` is not a permission: expected `area:action`, `area:*`, `*:action` or `*`"
                ),
            ))
        }
    }

    /// The permission's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `(area, action)`, with `*` for either wildcard.
    fn parts(&self) -> (&str, &str) {
        split_once_byte(&self.0, b':').unwrap_or(("*", "*"))
    }

    pub(crate) fn from_parts(area: &str, action: &str) -> Self {
        if area == "*" && action == "*" {
            Self::all()
        } else {
            Self(format!("{area}:{action}"))
        }
    }

    /// Whether holding `self` grants `other` (which may itself be a pattern): every permission
    /// `other` matches, `self` matches too.
    pub fn covers(&self, other: &Permission) -> bool {
        let ((area, action), (their_area, their_action)) = (self.parts(), other.parts());
        reaches_area(area, action, their_area) && (action == "*" || action == their_action)
    }

    /// The permissions both patterns match, as one pattern; `None` when they share none.
    pub fn meet(&self, other: &Permission) -> Option<Permission> {
        let ((a1, x1), (a2, x2)) = (self.parts(), other.parts());
        let area = match (a1, a2) {
            ("*", "*") => "*",
            ("*", x) if reaches_area(a1, x1, x) => x,
            (x, "*") if reaches_area(a2, x2, x) => x,
            (x, y) if x == y => x,
            _ => return None,
        };
        let action = match (x1, x2) {
            ("*", x) | (x, "*") => x,
            (x, y) if x == y => x,
            _ => return None,
        };
        Some(Self::from_parts(area, action))
    }
}

/// Areas of Keygate's own management permissions. A pattern with a wildcard area and a named
/// action (`*:read`) reaches application permissions only: management is reached by `*` or by
/// naming its area, so that a viewer's `*:read` does not include `audit:read`.
pub const MANAGEMENT_AREAS: [&str; 8] = [
    "tokens",
    "members",
    "roles",
    "api_users",
    "teams",
    "audit",
    "workspace",
    "webhooks",
];

/// Whether a pattern with `area` and `action` reaches permissions in `their_area` (which may be
/// `*` when comparing patterns).
fn reaches_area(area: &str, action: &str, their_area: &str) -> bool {
    area == their_area
        || (area == "*" && (action == "*" || !MANAGEMENT_AREAS.contains(&their_area)))
}

impl TryFrom<String> for Permission {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Permission> for String {
    fn from(p: Permission) -> Self {
        p.0
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of permission patterns, as held by a role or a member.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PermissionSet(Vec<Permission>);

impl PermissionSet {
    /// A set of `permissions`, sorted and without duplicates.
    pub fn new(mut permissions: Vec<Permission>) -> Self {
        permissions.sort();
        permissions.dedup();
        Self(permissions)
    }

    /// Whether some permission in the set covers `wanted`.
    pub fn allows(&self, wanted: &Permission) -> bool {
        self.0.iter().any(|p| p.covers(wanted))
    }

    /// The permissions, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Permission> {
        self.0.iter()
    }

    /// Adds `other`'s permissions to this set.
    pub fn extend(&mut self, other: &PermissionSet) {
        self.0.extend(other.0.iter().cloned());
        self.0.sort();
        self.0.dedup();
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Self::new(iter.into_iter().collect())
    }
}

/// A resource pattern: `device:abc`, `device:*`, `project:p1/*` or `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResourcePattern(String);

impl ResourcePattern {
    /// `*`: every resource.
    pub fn all() -> Self {
        Self("*".to_owned())
    }

    /// Parses `s` as a resource pattern: at most 128 characters, a word type and a non-empty id
    /// without blanks or control characters, where `*` stands only for the whole id or a final
    /// `/*` segment.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let valid = s.len() <= MAX_LEN
            && (s == "*"
                || split_once_byte(s, b':').is_some_and(|(kind, id)| {
                    is_word(kind)
                        && !id.is_empty()
                        && !id.chars().any(|c| c.is_whitespace() || c.is_control())
                        // No `.` or `..` segment: a grant never names a way out of itself.
                        && !id.split('/').any(is_dot_segment)
                        // `*` only as the whole id or as a final `/*` segment.
                        && match id.strip_suffix("/*") {
                            Some(stem) => !stem.is_empty() && !stem.contains('*'),
                            None => id == "*" || !id.contains('*'),
                        }
                }));
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::new(
                "resource",
                format!(
                    "`{s}` is not a resource pattern: expected `type:id`, `type:*`, `type:id/*` or `*`"
                ),
            ))
        }
    }

    /// The pattern's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this pattern reaches the concrete resource `resource` (`type:id`).
    pub fn matches(&self, resource: &str) -> bool {
        let pattern = self.0.as_str();
        if pattern == "*" {
            return true;
        }
        let (Some((kind, id)), Some((their_kind, their_id))) = (
            split_once_byte(pattern, b':'),
            split_once_byte(resource, b':'),
        ) else {
            return false;
        };
        if kind != their_kind {
            return false;
        }
        if id == "*" {
            return true;
        }
        match id.strip_suffix("/*") {
            // `project:p1/*` reaches `project:p1` itself and everything below it, and nothing a
            // dot segment (`p1/../p2`, encoded or not) would climb to in a guard that decodes it.
            Some(stem) => {
                their_id == stem
                    || their_id.strip_prefix(stem).is_some_and(|rest| {
                        rest.starts_with('/') && !rest.split('/').any(is_dot_segment)
                    })
            }
            None => id == their_id,
        }
    }
}

/// `.` or `..`, also percent-encoded (`%2e`), as a path segment.
fn is_dot_segment(segment: &str) -> bool {
    match after_dot(segment) {
        Some("") => true,
        Some(after) => after_dot(after) == Some(""),
        None => false,
    }
}

/// What follows a leading `.` or `%2e`.
fn after_dot(s: &str) -> Option<&str> {
    s.strip_prefix('.').or_else(|| {
        s.get(..3)
            .filter(|p| p.eq_ignore_ascii_case("%2e"))
            .map(|_| &s[3..])
    })
}

impl ResourcePattern {
    /// `(type, stem, is_prefix)`: `project:p1/*` is `("project", "p1", true)`, `device:*` is
    /// `("device", "", true)`, `*` is `("", "", true)`.
    fn shape(&self) -> (&str, &str, bool) {
        if self.0 == "*" {
            return ("", "", true);
        }
        let (kind, id) = split_once_byte(&self.0, b':').unwrap_or(("", ""));
        match id {
            "*" => (kind, "", true),
            _ => match id.strip_suffix("/*") {
                Some(stem) => (kind, stem, true),
                None => (kind, id, false),
            },
        }
    }

    /// Whether every resource `other` reaches, `self` reaches too.
    pub fn covers(&self, other: &ResourcePattern) -> bool {
        let (kind, stem, prefix) = self.shape();
        let (their_kind, their_stem, their_prefix) = other.shape();
        if self.0 == "*" {
            return true;
        }
        if other.0 == "*" || kind != their_kind {
            return false;
        }
        match (prefix, stem.is_empty()) {
            (true, true) => true,
            (true, false) => {
                their_stem == stem
                    || their_stem
                        .strip_prefix(stem)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
            (false, _) => !their_prefix && their_stem == stem,
        }
    }

    /// The resources both patterns reach. Patterns nest (a prefix contains or misses another
    /// entirely), so the answer is one of the two, or `None`.
    pub fn meet(&self, other: &ResourcePattern) -> Option<ResourcePattern> {
        if self.covers(other) {
            Some(other.clone())
        } else if other.covers(self) {
            Some(self.clone())
        } else {
            None
        }
    }
}

impl TryFrom<String> for ResourcePattern {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ResourcePattern> for String {
    fn from(p: ResourcePattern) -> Self {
        p.0
    }
}

impl fmt::Display for ResourcePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Keygate's own management permissions: what the management API, GraphQL and the web UI check
/// before changing a workspace. The public role never holds one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Manage {
    /// `tokens:manage`: the workspace's tokens.
    Tokens,
    /// `members:manage`: inviting, changing and removing members, and invitations.
    Members,
    /// `roles:manage`: custom roles and the public role.
    Roles,
    /// `api_users:manage`: API users and their tokens, reading included.
    ApiUsers,
    /// `teams:manage`: teams and their members.
    Teams,
    /// `audit:read`: the audit log.
    Audit,
    /// `workspace:manage`: the workspace's name, slug and maximum token lifetime.
    Workspace,
    /// `workspace:delete`: deleting the workspace.
    WorkspaceDelete,
    /// `webhooks:manage`: the workspace's webhook endpoints and their deliveries.
    Webhooks,
}

impl Manage {
    /// Every management permission.
    pub const ALL: [Manage; 9] = [
        Manage::Tokens,
        Manage::Members,
        Manage::Roles,
        Manage::ApiUsers,
        Manage::Teams,
        Manage::Audit,
        Manage::Workspace,
        Manage::WorkspaceDelete,
        Manage::Webhooks,
    ];

    /// The permission's text, as roles hold it.
    pub fn as_str(self) -> &'static str {
        match self {
            Manage::Tokens => "tokens:manage",
            Manage::Members => "members:manage",
            Manage::Roles => "roles:manage",
            Manage::ApiUsers => "api_users:manage",
            Manage::Teams => "teams:manage",
            Manage::Audit => "audit:read",
            Manage::Workspace => "workspace:manage",
            Manage::WorkspaceDelete => "workspace:delete",
            Manage::Webhooks => "webhooks:manage",
        }
    }
}

impl From<Manage> for Permission {
    fn from(m: Manage) -> Self {
        Permission(m.as_str().to_owned())
    }
}

impl fmt::Display for Manage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A permission as a test writes it (shared with the rights tests).
    pub(crate) fn p(s: &str) -> Permission {
        Permission::parse(s).expect(s)
    }

    /// A resource pattern as a test writes it.
    pub(crate) fn r(s: &str) -> ResourcePattern {
        ResourcePattern::parse(s).expect(s)
    }

    /// Each management permission is a permission as parsing makes it, and no two are the same.
    #[test]
    fn management_permissions_are_well_formed_permissions() {
        let all: std::collections::BTreeSet<Permission> =
            Manage::ALL.into_iter().map(Permission::from).collect();
        assert_eq!(all.len(), Manage::ALL.len());
        for m in Manage::ALL {
            assert_eq!(Permission::from(m), p(m.as_str()));
        }
    }

    #[test]
    fn permission_grammar() {
        for ok in [
            "*",
            "devices:read",
            "devices:*",
            "api_users:manage",
            "a.b:c-d",
            "*:read",
        ] {
            assert!(Permission::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "devices",
            "devices:",
            ":read",
            "*:*",
            "*:",
            "Devices:read",
            "devices:re*d",
            "devices:read:x",
            "dev ices:read",
        ] {
            assert!(Permission::parse(bad).is_err(), "{bad}");
        }
        assert!(Permission::parse(&format!("a:{}", "b".repeat(200))).is_err());
    }

    #[test]
    fn permission_covering() {
        let table = [
            ("*", "devices:read", true),
            ("*", "*", true),
            ("devices:*", "devices:read", true),
            ("devices:*", "devices:*", true),
            ("devices:*", "devicesx:read", false),
            ("devices:*", "*", false),
            ("devices:read", "devices:read", true),
            ("devices:read", "devices:write", false),
            ("devices:read", "devices:*", false),
            ("tokens:manage", "tokens:manager", false),
            ("*:read", "devices:read", true),
            ("*:read", "audit:read", false),
            ("*:manage", "members:manage", false),
            ("*", "audit:read", true),
            ("*:read", "devices:write", false),
            ("*:read", "devices:*", false),
            ("*:read", "*:read", true),
            ("devices:*", "*:read", false),
            ("*", "*:read", true),
        ];
        for (held, wanted, expected) in table {
            assert_eq!(
                p(held).covers(&p(wanted)),
                expected,
                "{held} covers {wanted}"
            );
        }
    }

    #[test]
    fn permission_meets() {
        let table = [
            ("*", "devices:read", Some("devices:read")),
            ("devices:*", "*:read", Some("devices:read")),
            ("devices:*", "devices:*", Some("devices:*")),
            ("*:read", "*", Some("*:read")),
            ("*", "*", Some("*")),
            ("devices:read", "devices:write", None),
            ("devices:*", "sensors:*", None),
            ("*:read", "audit:*", None),
            ("*", "audit:*", Some("audit:*")),
        ];
        for (a, b, expected) in table {
            let got = p(a).meet(&p(b));
            assert_eq!(got.as_ref().map(Permission::as_str), expected, "{a} ∧ {b}");
            assert_eq!(got, p(b).meet(&p(a)), "meet is symmetric");
        }
    }

    #[test]
    fn resource_covering_and_meets() {
        let table = [
            ("*", "device:abc", true),
            ("*", "*", true),
            ("device:*", "*", false),
            ("device:*", "device:abc", true),
            ("device:*", "device:x/*", true),
            ("device:*", "sensor:abc", false),
            ("device:abc", "device:abc", true),
            ("device:abc", "device:*", false),
            ("device:abc", "device:abc/*", false),
            ("project:p1/*", "project:p1", true),
            ("project:p1/*", "project:p1/x/*", true),
            ("project:p1/*", "project:p10", false),
            ("project:p1/*", "project:*", false),
        ];
        for (a, b, expected) in table {
            assert_eq!(r(a).covers(&r(b)), expected, "{a} covers {b}");
        }
        assert_eq!(r("device:*").meet(&r("device:abc")), Some(r("device:abc")));
        assert_eq!(
            r("project:p1/*").meet(&r("project:p1/x/*")),
            Some(r("project:p1/x/*"))
        );
        assert_eq!(r("device:abc").meet(&r("device:xyz")), None);
        assert_eq!(r("device:*").meet(&r("sensor:*")), None);
    }

    #[test]
    fn resource_grammar() {
        for ok in [
            "*",
            "device:abc",
            "device:*",
            "project:p1/*",
            "project:p1/x/y",
        ] {
            assert!(ResourcePattern::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "device",
            "device:",
            ":abc",
            "device:a*",
            "device:*/x",
            "project:/*",
            "device:a b",
            "project:p1/../p2",
            "project:p1/%2E%2e/*",
            "project:./*",
            "device:..",
        ] {
            assert!(ResourcePattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_matching() {
        let table = [
            ("*", "device:abc", true),
            ("device:*", "device:abc", true),
            ("device:*", "sensor:abc", false),
            ("device:abc", "device:abc", true),
            ("device:abc", "device:abcd", false),
            ("project:p1/*", "project:p1", true),
            ("project:p1/*", "project:p1/x", true),
            ("project:p1/*", "project:p1/x/y", true),
            ("project:p1/*", "project:p10", false),
            ("project:p1/*", "project:p10/x", false),
            // A dot segment could climb out of the grant in a guard that decodes the path.
            ("project:p1/*", "project:p1/../p2", false),
            ("project:p1/*", "project:p1/x/../../p2", false),
            ("project:p1/*", "project:p1/%2e%2e/p2", false),
            ("project:p1/*", "project:p1/.%2E/p2", false),
            ("project:p1/*", "project:p1/./x", false),
            ("project:p1/*", "project:p1/..", false),
            // Dots inside a name are names.
            ("project:p1/*", "project:p1/.../x", true),
            ("project:p1/*", "project:p1/a..b", true),
            ("project:p1/*", "project:p1/.env", true),
        ];
        for (pattern, resource, expected) in table {
            assert_eq!(
                r(pattern).matches(resource),
                expected,
                "{pattern} ~ {resource}"
            );
        }
    }

    #[test]
    fn permission_sets_union_and_dedupe() {
        let mut a = PermissionSet::new(vec![p("devices:read"), p("devices:read")]);
        assert_eq!(a.iter().count(), 1);
        a.extend(&PermissionSet::new(vec![p("tokens:manage")]));
        assert!(a.allows(&p("tokens:manage")));
        assert!(!a.allows(&p("members:manage")));
        assert!(!PermissionSet::default().allows(&p("devices:read")));
    }
}
