//! Effective rights: what a request may do in one workspace.
//!
//! A member's rights are the permissions of their roles and their teams' roles, limited to the
//! resources of their grants and their teams' grants (all resources when there are none). A
//! token's scope narrows them: the result is computed exactly, as the meet of patterns, so a token
//! never carries more than its user holds now. The workspace's public role applies to everyone,
//! member or not, as it does to anonymous callers.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::permission::{Permission, PermissionSet, ResourcePattern};

/// A set of resources: all of them, or those some patterns reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resources {
    /// Every resource.
    All,
    /// The resources some pattern of the list reaches; none when the list is empty.
    Only(Vec<ResourcePattern>),
}

impl Resources {
    /// Grants as held by a member: none means all resources.
    pub fn from_grants(grants: &[ResourcePattern]) -> Self {
        if grants.is_empty() {
            Resources::All
        } else {
            Self::of(grants.to_vec())
        }
    }

    /// Exactly the resources `patterns` reach (none when empty), without redundant patterns.
    pub fn of(patterns: Vec<ResourcePattern>) -> Self {
        if patterns.iter().any(|p| *p == ResourcePattern::all()) {
            return Resources::All;
        }
        let mut kept: Vec<ResourcePattern> = Vec::new();
        for p in patterns {
            if kept.iter().any(|k| k.covers(&p)) {
                continue;
            }
            kept.retain(|k| !p.covers(k));
            kept.push(p);
        }
        kept.sort();
        Resources::Only(kept)
    }

    /// Whether the concrete resource `resource` (`type:id`) is in this set.
    pub fn reaches(&self, resource: &str) -> bool {
        match self {
            Resources::All => true,
            Resources::Only(patterns) => patterns.iter().any(|p| p.matches(resource)),
        }
    }

    /// Whether every resource `pattern` reaches is in this set.
    pub fn covers(&self, pattern: &ResourcePattern) -> bool {
        match self {
            Resources::All => true,
            Resources::Only(patterns) => patterns.iter().any(|p| p.covers(pattern)),
        }
    }

    /// The resources both sets contain.
    pub fn meet(&self, other: &Resources) -> Resources {
        match (self, other) {
            (Resources::All, x) | (x, Resources::All) => x.clone(),
            (Resources::Only(a), Resources::Only(b)) => Self::of(
                a.iter()
                    .flat_map(|x| b.iter().filter_map(move |y| x.meet(y)))
                    .collect(),
            ),
        }
    }
}

/// Permissions limited to resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rights {
    /// The permissions held.
    pub permissions: PermissionSet,
    /// The resources on which they are held.
    pub resources: Resources,
}

impl Rights {
    /// No permission, on no resource.
    pub fn none() -> Self {
        Rights {
            permissions: PermissionSet::default(),
            resources: Resources::Only(Vec::new()),
        }
    }

    /// A member's rights from the permission sets of all their roles (direct and through teams)
    /// and their grants. A member without grants of their own reaches every resource; otherwise
    /// their teams' grants add to their own. (So joining a team never narrows anyone.)
    pub fn of_member<'a>(
        role_permissions: impl IntoIterator<Item = &'a PermissionSet>,
        grants: &[ResourcePattern],
        team_grants: &[ResourcePattern],
    ) -> Self {
        let mut permissions = PermissionSet::default();
        for set in role_permissions {
            permissions.extend(set);
        }
        let resources = if grants.is_empty() {
            Resources::All
        } else {
            Resources::of(grants.iter().chain(team_grants).cloned().collect())
        };
        Rights {
            permissions,
            resources,
        }
    }

    /// Whether `permission` is held, on `resource` when one is named.
    pub fn allows(&self, permission: &Permission, resource: Option<&str>) -> bool {
        self.permissions.allows(permission) && resource.is_none_or(|r| self.resources.reaches(r))
    }

    /// Whether granting `permissions` on `resources` to someone else stays within these rights.
    /// Returns the first thing not held.
    pub fn grantable(
        &self,
        permissions: &PermissionSet,
        resources: &Resources,
    ) -> Result<(), String> {
        if let Some(p) = permissions.iter().find(|p| !self.permissions.allows(p)) {
            return Err(format!("permission `{p}`"));
        }
        match resources {
            Resources::All if self.resources != Resources::All => {
                Err("all resources (`*`); name the resources to grant".to_owned())
            }
            Resources::All => Ok(()),
            Resources::Only(patterns) => {
                match patterns.iter().find(|r| !self.resources.covers(r)) {
                    Some(r) => Err(format!("resource `{r}`")),
                    None => Ok(()),
                }
            }
        }
    }

    /// These rights narrowed by a scope: exactly what both allow.
    pub fn narrowed(&self, scope: &Scope) -> Rights {
        let permissions = match &scope.permissions {
            None => self.permissions.clone(),
            Some(limit) => self
                .permissions
                .iter()
                .flat_map(|held| limit.iter().filter_map(move |l| held.meet(l)))
                .collect(),
        };
        let resources = match &scope.resources {
            None => self.resources.clone(),
            Some(limit) => self.resources.meet(&Resources::of(limit.clone())),
        };
        Rights {
            permissions,
            resources,
        }
    }
}

/// A token's optional narrowing. `None` in a field leaves that dimension as the user holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The ids of the workspaces the token may act in; `None` for all of its user's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspaces: Option<Vec<Uuid>>,
    /// The permissions the token is limited to; `None` for all its user holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<PermissionSet>,
    /// The resource patterns the token is limited to; `None` for all its user reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ResourcePattern>>,
}

impl Scope {
    /// Whether the scope lets the token act in the workspace with id `workspace`.
    pub fn admits_workspace(&self, workspace: Uuid) -> bool {
        self.workspaces
            .as_ref()
            .is_none_or(|ids| ids.contains(&workspace))
    }
}

/// Why a request is refused in a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The caller has no membership there (or their token's scope excludes it), and the public
    /// role does not allow the request.
    NotAMember,
    /// `missing` is the permission, or the resource when the permission is held elsewhere.
    Forbidden {
        /// The permission lacking, or the resource when the permission is held but not on it.
        missing: String,
    },
}

/// Everything that decides a request in one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRights {
    /// The caller's rights as a member, already narrowed by their token's scope.
    pub member: Option<Rights>,
    /// The public role's rights, which everyone has.
    pub public: Rights,
}

impl WorkspaceRights {
    /// Whether the member part or the public role allows `permission`, on `resource` when one is
    /// named.
    pub fn allows(&self, permission: &Permission, resource: Option<&str>) -> bool {
        self.member
            .as_ref()
            .is_some_and(|m| m.allows(permission, resource))
            || self.public.allows(permission, resource)
    }

    /// The decision on `permission` (optionally on `resource`); with no permission, whether the
    /// caller is a member at all.
    pub fn check(
        &self,
        permission: Option<&Permission>,
        resource: Option<&str>,
    ) -> Result<(), Denial> {
        let Some(permission) = permission else {
            return match self.member {
                Some(_) => Ok(()),
                None => Err(Denial::NotAMember),
            };
        };
        if self.allows(permission, resource) {
            return Ok(());
        }
        if self.member.is_none() {
            return Err(Denial::NotAMember);
        }
        let holds_permission = self
            .member
            .iter()
            .chain(std::iter::once(&self.public))
            .any(|r| r.permissions.allows(permission));
        let missing = match resource {
            Some(r) if holds_permission => r.to_owned(),
            _ => permission.to_string(),
        };
        Err(Denial::Forbidden { missing })
    }

    /// The permissions that apply, member's and public's together, sorted and each once: merged
    /// from the two sets as they are read, without building a third.
    pub fn held(&self) -> impl Iterator<Item = &Permission> {
        let mut public = self.public.permissions.iter().peekable();
        let mut member = self
            .member
            .iter()
            .flat_map(|m| m.permissions.iter())
            .peekable();
        std::iter::from_fn(move || match (public.peek(), member.peek()) {
            (None, None) => None,
            (Some(_), None) => public.next(),
            (None, Some(_)) => member.next(),
            (Some(p), Some(m)) => match p.cmp(m) {
                std::cmp::Ordering::Less => public.next(),
                std::cmp::Ordering::Greater => member.next(),
                std::cmp::Ordering::Equal => {
                    member.next();
                    public.next()
                }
            },
        })
    }

    /// [`WorkspaceRights::held`], as a set.
    pub fn permissions(&self) -> PermissionSet {
        self.held().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permission::Manage;
    use crate::permission::tests::{p, r};
    use proptest::prelude::*;

    fn perms(list: &[&str]) -> PermissionSet {
        list.iter().map(|s| p(s)).collect()
    }

    fn rights(list: &[&str], grants: &[&str]) -> Rights {
        Rights::of_member(
            [&perms(list)],
            &grants.iter().map(|g| r(g)).collect::<Vec<_>>(),
            &[],
        )
    }

    #[test]
    fn grants_limit_resources_and_none_means_all() {
        let limited = rights(&["devices:read"], &["device:abc"]);
        assert!(limited.allows(&p("devices:read"), Some("device:abc")));
        assert!(!limited.allows(&p("devices:read"), Some("device:xyz")));
        assert!(limited.allows(&p("devices:read"), None));
        assert!(!limited.allows(&p("devices:write"), Some("device:abc")));
        let open = rights(&["devices:read"], &[]);
        assert!(open.allows(&p("devices:read"), Some("device:xyz")));
    }

    #[test]
    fn team_grants_add_to_a_members_own_and_never_narrow() {
        let devices = perms(&["devices:read"]);
        let limited = Rights::of_member([&devices], &[r("device:abc")], &[r("device:xyz")]);
        assert!(limited.allows(&p("devices:read"), Some("device:xyz")));
        assert!(!limited.allows(&p("devices:read"), Some("device:other")));
        let open = Rights::of_member([&devices], &[], &[r("device:xyz")]);
        assert!(open.allows(&p("devices:read"), Some("device:other")));
    }

    #[test]
    fn a_scope_narrows_exactly() {
        let held = rights(&["devices:*", "measurements:read"], &["device:*"]);
        let scope = Scope {
            workspaces: None,
            permissions: Some(perms(&["*:read"])),
            resources: Some(vec![r("device:abc"), r("sensor:1")]),
        };
        let n = held.narrowed(&scope);
        assert_eq!(n.permissions, perms(&["devices:read", "measurements:read"]));
        assert_eq!(n.resources, Resources::Only(vec![r("device:abc")]));
        assert!(n.allows(&p("devices:read"), Some("device:abc")));
        assert!(!n.allows(&p("devices:write"), Some("device:abc")));
        assert!(!n.allows(&p("devices:read"), Some("device:x")));
    }

    #[test]
    fn grantable_names_what_is_not_held() {
        let held = rights(&["devices:read", "members:manage"], &["device:abc"]);
        assert_eq!(
            held.grantable(
                &perms(&["devices:read"]),
                &Resources::of(vec![r("device:abc")])
            ),
            Ok(())
        );
        assert_eq!(
            held.grantable(
                &perms(&["devices:write"]),
                &Resources::of(vec![r("device:abc")])
            ),
            Err("permission `devices:write`".to_owned())
        );
        assert_eq!(
            held.grantable(
                &perms(&["devices:read"]),
                &Resources::of(vec![r("device:*")])
            ),
            Err("resource `device:*`".to_owned())
        );
        assert!(held.grantable(&perms(&[]), &Resources::All).is_err());
    }

    #[test]
    fn workspace_decisions() {
        let w = WorkspaceRights {
            member: Some(rights(&["devices:read"], &["device:abc"])),
            public: rights(&["status:read"], &[]),
        };
        assert_eq!(
            w.check(Some(&p("devices:read")), Some("device:abc")),
            Ok(())
        );
        assert_eq!(w.check(Some(&p("status:read")), Some("status:x")), Ok(()));
        assert_eq!(
            w.check(Some(&p("devices:read")), Some("device:xyz")),
            Err(Denial::Forbidden {
                missing: "device:xyz".into()
            })
        );
        assert_eq!(
            w.check(Some(&p("devices:write")), Some("device:abc")),
            Err(Denial::Forbidden {
                missing: "devices:write".into()
            })
        );
        assert_eq!(w.check(None, None), Ok(()));
        let stranger = WorkspaceRights { member: None, ..w };
        assert_eq!(stranger.check(Some(&p("status:read")), None), Ok(()));
        assert_eq!(
            stranger.check(Some(&p("devices:read")), None),
            Err(Denial::NotAMember)
        );
        assert_eq!(stranger.check(None, None), Err(Denial::NotAMember));
    }

    // Property tests over a small vocabulary, so that random patterns overlap often; two of its
    // areas are management areas.

    const AREAS: [&str; 4] = ["devices", "measurements", "members", "webhooks"];
    const ACTIONS: [&str; 3] = ["read", "write", "manage"];
    const KINDS: [&str; 2] = ["device", "project"];
    const IDS: [&str; 4] = ["a", "b", "a/x", "a/x/y"];

    fn any_permission() -> impl Strategy<Value = Permission> {
        let area = prop_oneof![Just("*"), proptest::sample::select(AREAS.to_vec())];
        let action = prop_oneof![Just("*"), proptest::sample::select(ACTIONS.to_vec())];
        (area, action).prop_map(|(a, x)| Permission::from_parts(a, x))
    }

    fn any_concrete_permission() -> impl Strategy<Value = Permission> {
        (
            proptest::sample::select(AREAS.to_vec()),
            proptest::sample::select(ACTIONS.to_vec()),
        )
            .prop_map(|(a, x)| p(&format!("{a}:{x}")))
    }

    fn any_resource() -> impl Strategy<Value = String> {
        (
            proptest::sample::select(KINDS.to_vec()),
            proptest::sample::select(IDS.to_vec()),
        )
            .prop_map(|(k, i)| format!("{k}:{i}"))
    }

    fn any_pattern() -> impl Strategy<Value = ResourcePattern> {
        prop_oneof![
            1 => Just(ResourcePattern::all()),
            2 => proptest::sample::select(KINDS.to_vec()).prop_map(|k| r(&format!("{k}:*"))),
            4 => any_resource().prop_map(|x| r(&x)),
            3 => any_resource().prop_map(|x| r(&format!("{x}/*"))),
        ]
    }

    fn any_rights() -> impl Strategy<Value = Rights> {
        (
            proptest::collection::vec(any_permission(), 0..4),
            proptest::collection::vec(any_pattern(), 0..3),
        )
            .prop_map(|(ps, gs)| Rights::of_member([&PermissionSet::new(ps)], &gs, &[]))
    }

    fn any_scope() -> impl Strategy<Value = Scope> {
        (
            proptest::option::of(proptest::collection::vec(any_permission(), 0..3)),
            proptest::option::of(proptest::collection::vec(any_pattern(), 0..3)),
        )
            .prop_map(|(ps, rs)| Scope {
                workspaces: None,
                permissions: ps.map(PermissionSet::new),
                resources: rs,
            })
    }

    /// The reference: matching written out character by character, no shared helpers.
    fn naive_permission_matches(pattern: &str, permission: &str) -> bool {
        if pattern == "*" {
            return true;
        }
        let pat: Vec<&str> = pattern.split(':').collect();
        let got: Vec<&str> = permission.split(':').collect();
        // `*:action` leaves Keygate's management areas alone: the areas of its management
        // permissions, read off the enum rather than the list matching uses.
        let management: Vec<&str> = Manage::ALL
            .iter()
            .filter_map(|m| m.as_str().split(':').next())
            .collect();
        pat.len() == 2
            && got.len() == 2
            && (pat[0] == got[0] || (pat[0] == "*" && !management.contains(&got[0])))
            && (pat[1] == "*" || pat[1] == got[1])
    }

    fn naive_resource_matches(pattern: &str, resource: &str) -> bool {
        if pattern == "*" {
            return true;
        }
        if let Some(kind) = pattern.strip_suffix(":*") {
            return resource.starts_with(&format!("{kind}:"));
        }
        if let Some(stem) = pattern.strip_suffix("/*") {
            return resource == stem || resource.starts_with(&format!("{stem}/"));
        }
        pattern == resource
    }

    fn universe_permissions() -> Vec<Permission> {
        AREAS
            .iter()
            .flat_map(|a| ACTIONS.iter().map(move |x| p(&format!("{a}:{x}"))))
            .collect()
    }

    fn universe_resources() -> Vec<String> {
        KINDS
            .iter()
            .flat_map(|k| IDS.iter().map(move |i| format!("{k}:{i}")))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn wildcard_matching_agrees_with_the_naive_reference(
            pattern in any_permission(), permission in any_concrete_permission(),
            resource_pattern in any_pattern(), resource in any_resource(),
        ) {
            prop_assert_eq!(
                pattern.covers(&permission),
                naive_permission_matches(pattern.as_str(), permission.as_str())
            );
            prop_assert_eq!(
                resource_pattern.matches(&resource),
                naive_resource_matches(resource_pattern.as_str(), &resource)
            );
        }

        #[test]
        fn covers_and_meet_agree_with_enumeration(
            a in any_permission(), b in any_permission(),
            x in any_pattern(), y in any_pattern(),
        ) {
            let perms = universe_permissions();
            let a_all: Vec<bool> = perms.iter().map(|q| a.covers(q)).collect();
            let b_all: Vec<bool> = perms.iter().map(|q| b.covers(q)).collect();
            let covers = a_all.iter().zip(&b_all).all(|(ia, ib)| !ib || *ia);
            prop_assert_eq!(a.covers(&b), covers);
            let meet = a.meet(&b);
            for (i, q) in perms.iter().enumerate() {
                prop_assert_eq!(meet.as_ref().is_some_and(|m| m.covers(q)), a_all[i] && b_all[i]);
            }
            let resources = universe_resources();
            let x_meet_y = x.meet(&y);
            for res in &resources {
                prop_assert_eq!(
                    x_meet_y.as_ref().is_some_and(|m| m.matches(res)),
                    x.matches(res) && y.matches(res)
                );
                if x.covers(&y) {
                    prop_assert!(!y.matches(res) || x.matches(res));
                }
            }
        }

        #[test]
        fn a_tokens_rights_are_never_more_than_its_users(held in any_rights(), scope in any_scope()) {
            let token = held.narrowed(&scope);
            for q in universe_permissions() {
                for res in universe_resources() {
                    let by_token = token.allows(&q, Some(&res));
                    prop_assert!(!by_token || held.allows(&q, Some(&res)));
                    // Exactly the conjunction of the user's rights and the scope.
                    let scope_allows = scope.permissions.as_ref().is_none_or(|s| s.allows(&q))
                        && scope.resources.as_ref().is_none_or(|rs| rs.iter().any(|r| r.matches(&res)));
                    prop_assert_eq!(by_token, held.allows(&q, Some(&res)) && scope_allows);
                }
            }
        }

        #[test]
        fn adding_to_a_scope_never_widens(
            held in any_rights(),
            scope in any_scope(),
            extra_permissions in proptest::collection::vec(any_permission(), 0..3),
            extra_resources in proptest::collection::vec(any_pattern(), 0..3),
        ) {
            // A further restriction, intersected with the first.
            let tighter = Scope {
                workspaces: None,
                permissions: Some(PermissionSet::new(extra_permissions)),
                resources: Some(extra_resources),
            };
            let once = held.narrowed(&scope);
            let twice = once.narrowed(&tighter);
            for q in universe_permissions() {
                for res in universe_resources() {
                    prop_assert!(!twice.allows(&q, Some(&res)) || once.allows(&q, Some(&res)));
                }
            }
        }

        #[test]
        fn grantable_means_held(held in any_rights(), wanted in any_rights()) {
            if held.grantable(&wanted.permissions, &wanted.resources).is_ok() {
                for q in universe_permissions() {
                    for res in universe_resources() {
                        prop_assert!(!wanted.allows(&q, Some(&res)) || held.allows(&q, Some(&res)));
                    }
                }
            }
        }
    }

    proptest! {
        /// The merged permissions are the union of the member's and the public role's, sorted,
        /// each once.
        #[test]
        fn held_permissions_are_the_sorted_union(
            member in proptest::option::of(any_rights()),
            public in any_rights(),
        ) {
            let rights = WorkspaceRights { member: member.clone(), public: public.clone() };
            let mut union: Vec<&Permission> = public
                .permissions
                .iter()
                .chain(member.iter().flat_map(|m| m.permissions.iter()))
                .collect();
            union.sort();
            union.dedup();
            prop_assert_eq!(rights.held().collect::<Vec<_>>(), union);
        }
    }
}
