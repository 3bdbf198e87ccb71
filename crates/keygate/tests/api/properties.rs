//! Property test over the real service and database: random workspaces, members, roles, teams,
//! grants, public roles and token scopes, every decision checked against a naive model. Checks
//! tenant isolation and that a token never carries more than its user holds.

use keygate::service::{
    Actor, InviteRequest, MemberPatchRequest, NewTokenRequest, Question, RoleRequest,
    RoleUpdateRequest, ScopeRequest, ServiceError, TeamRequest, WorkspaceRef,
};
use keygate_domain::Permission;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::helpers::{Backend, TestApp, spawn_app_with};

const PERMISSION_PATTERNS: [&str; 7] = [
    "devices:read",
    "devices:write",
    "measurements:read",
    "devices:*",
    "*:read",
    "*:write",
    "*",
];
const PUBLIC_PATTERNS: [&str; 4] = [
    "devices:read",
    "measurements:read",
    "devices:write",
    "measurements:*",
];
const CONCRETE_PERMISSIONS: [&str; 4] = [
    "devices:read",
    "devices:write",
    "measurements:read",
    "measurements:write",
];
const RESOURCE_PATTERNS: [&str; 5] = ["device:a", "device:b", "device:*", "project:p/*", "*"];
const RESOURCES: [&str; 4] = ["device:a", "device:b", "project:p/x", "project:q"];

/// One generated tenant: custom roles, a team, two members' roles and grants, the public role.
#[derive(Debug, Clone)]
struct WorkspaceSpec {
    roles: Vec<Vec<&'static str>>,
    /// Per member: indexes of custom roles, and grants.
    members: Vec<(Vec<usize>, Vec<&'static str>)>,
    /// The team: role indexes, grants, and which members are in it.
    team: (Vec<usize>, Vec<&'static str>, Vec<bool>),
    public: (Vec<&'static str>, Vec<&'static str>),
}

#[derive(Debug, Clone)]
struct ScopeSpec {
    /// Which of the two workspaces, or all.
    workspaces: Option<Vec<usize>>,
    permissions: Option<Vec<&'static str>>,
    resources: Option<Vec<&'static str>>,
}

#[derive(Debug, Clone)]
struct World {
    workspaces: [WorkspaceSpec; 2],
    /// Per member (2): whether they belong to each workspace.
    membership: [[bool; 2]; 2],
    scopes: [ScopeSpec; 2],
}

fn subset(of: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<&'static str>> {
    proptest::sample::subsequence(of.to_vec(), 0..=max)
}

fn indexes() -> impl Strategy<Value = Vec<usize>> {
    proptest::sample::subsequence(vec![0usize, 1, 2], 0..=2)
}

fn workspace_spec() -> impl Strategy<Value = WorkspaceSpec> {
    (
        proptest::collection::vec(subset(&PERMISSION_PATTERNS, 2), 3),
        proptest::collection::vec((indexes(), subset(&RESOURCE_PATTERNS, 2)), 2),
        (
            indexes(),
            subset(&RESOURCE_PATTERNS, 2),
            proptest::collection::vec(any::<bool>(), 2),
        ),
        (subset(&PUBLIC_PATTERNS, 2), subset(&RESOURCE_PATTERNS, 1)),
    )
        .prop_map(|(roles, members, team, public)| WorkspaceSpec {
            roles,
            members,
            team,
            public,
        })
}

fn scope_spec() -> impl Strategy<Value = ScopeSpec> {
    (
        proptest::option::of(proptest::sample::subsequence(vec![0usize, 1], 1..=2)),
        proptest::option::of(subset(&PERMISSION_PATTERNS, 2)),
        proptest::option::of(subset(&RESOURCE_PATTERNS, 2)),
    )
        .prop_map(|(workspaces, permissions, resources)| ScopeSpec {
            workspaces,
            permissions,
            resources,
        })
}

fn world() -> impl Strategy<Value = World> {
    (
        workspace_spec(),
        workspace_spec(),
        any::<[[bool; 2]; 2]>(),
        scope_spec(),
        scope_spec(),
    )
        .prop_map(|(a, b, membership, s0, s1)| World {
            workspaces: [a, b],
            membership,
            scopes: [s0, s1],
        })
}

// The model: matching written out plainly, independent of the domain crate.

fn perm_matches(pattern: &str, permission: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let (pa, px) = pattern.split_once(':').unwrap_or(("", ""));
    let (a, x) = permission.split_once(':').unwrap_or(("", ""));
    (pa == "*" || pa == a) && (px == "*" || px == x)
}

fn resource_matches(pattern: &str, resource: &str) -> bool {
    match pattern {
        "*" => true,
        p if p.ends_with(":*") => resource.starts_with(&p[..p.len() - 1]),
        p if p.ends_with("/*") => {
            let stem = &p[..p.len() - 2];
            resource == stem || resource.starts_with(&format!("{stem}/"))
        }
        p => p == resource,
    }
}

/// What member `m` holds in workspace `w`, by the model: (permission patterns, resource
/// patterns, or None for all resources).
fn held(
    world: &World,
    m: usize,
    w: usize,
) -> Option<(Vec<&'static str>, Option<Vec<&'static str>>)> {
    if !world.membership[m][w] {
        return None;
    }
    let spec = &world.workspaces[w];
    let (role_ids, grants) = &spec.members[m];
    let (team_roles, team_grants, team_members) = &spec.team;
    let in_team = team_members[m];
    let mut permissions: Vec<&str> = role_ids
        .iter()
        .flat_map(|i| spec.roles[*i].clone())
        .collect();
    if in_team {
        permissions.extend(team_roles.iter().flat_map(|i| spec.roles[*i].clone()));
    }
    let resources = if grants.is_empty() {
        None
    } else {
        let mut all = grants.clone();
        if in_team {
            all.extend(team_grants.iter().copied());
        }
        Some(all)
    };
    Some((permissions, resources))
}

fn public_allows(world: &World, w: usize, permission: &str, resource: &str) -> bool {
    let (permissions, grants) = &world.workspaces[w].public;
    permissions.iter().any(|p| perm_matches(p, permission))
        && (grants.is_empty() || grants.iter().any(|r| resource_matches(r, resource)))
}

fn model_allows(
    world: &World,
    m: usize,
    w: usize,
    scope: Option<&ScopeSpec>,
    permission: &str,
    resource: &str,
) -> bool {
    let member_allows = held(world, m, w).is_some_and(|(permissions, resources)| {
        permissions.iter().any(|p| perm_matches(p, permission))
            && resources.is_none_or(|rs| rs.iter().any(|r| resource_matches(r, resource)))
            && scope.is_none_or(|s| {
                s.workspaces.as_ref().is_none_or(|ws| ws.contains(&w))
                    && s.permissions
                        .as_ref()
                        .is_none_or(|ps| ps.iter().any(|p| perm_matches(p, permission)))
                    && s.resources
                        .as_ref()
                        .is_none_or(|rs| rs.iter().any(|r| resource_matches(r, resource)))
            })
    });
    member_allows || public_allows(world, w, permission, resource)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Builds the world through the service, as the owner, and returns the members' tokens:
/// (personal, scoped if the scope was accepted).
async fn build(
    app: &TestApp,
    world: &World,
    case: u64,
) -> ([String; 2], [WorkspaceRef; 2], Vec<(usize, Option<String>)>) {
    let owner: Actor = app
        .keygate
        .authenticate(&app.owner.token, None)
        .await
        .expect("owner");
    let slugs = [format!("pa{case}"), format!("pb{case}")];
    let refs = [
        WorkspaceRef::Slug(slugs[0].clone()),
        WorkspaceRef::Slug(slugs[1].clone()),
    ];
    let mut members = Vec::new();
    for m in 0..2 {
        members.push(app.persona(&format!("m{m}-{case}@example.com"), None).await);
    }
    for (w, spec) in world.workspaces.iter().enumerate() {
        app.keygate
            .create_workspace(
                &owner,
                keygate::service::NewWorkspaceRequest {
                    slug: slugs[w].clone(),
                    name: None,
                },
            )
            .await
            .expect("workspace");
        for (i, permissions) in spec.roles.iter().enumerate() {
            app.keygate
                .create_role(
                    &owner,
                    &refs[w],
                    RoleRequest {
                        name: format!("r{i}"),
                        description: None,
                        permissions: strings(permissions),
                    },
                )
                .await
                .expect("role");
        }
        let mut team_members = Vec::new();
        for (m, member) in members.iter().enumerate() {
            if !world.membership[m][w] {
                continue;
            }
            let (role_ids, grants) = &spec.members[m];
            let invited = app
                .keygate
                .invite(
                    &owner,
                    &refs[w],
                    InviteRequest {
                        email: member.email.clone(),
                        roles: role_ids.iter().map(|i| format!("r{i}")).collect(),
                        grants: strings(grants),
                    },
                )
                .await
                .expect("invite");
            let invitee: Actor = app
                .keygate
                .authenticate(&member.token, None)
                .await
                .expect("member");
            app.keygate
                .join_with_invitation(&invitee, &invited.code)
                .await
                .expect("the invitee accepts");
            if spec.team.2[m] {
                team_members.push(member.id);
            }
        }
        app.keygate
            .create_team(
                &owner,
                &refs[w],
                TeamRequest {
                    name: "t".into(),
                    description: None,
                    roles: spec.team.0.iter().map(|i| format!("r{i}")).collect(),
                    grants: strings(&spec.team.1),
                    members: team_members,
                },
            )
            .await
            .expect("team");
        app.keygate
            .update_role(
                &owner,
                &refs[w],
                "public",
                RoleUpdateRequest {
                    description: None,
                    permissions: strings(&spec.public.0),
                    grants: Some(strings(&spec.public.1)),
                },
            )
            .await
            .expect("public role");
    }
    // A membership edit with no change, so that the update path is exercised too.
    if world.membership[0][0] {
        app.keygate
            .update_member(
                &owner,
                &refs[0],
                members[0].id,
                MemberPatchRequest::default(),
            )
            .await
            .expect("no-op update");
    }
    let mut tokens = Vec::new();
    for (m, member) in members.iter().enumerate() {
        let actor = app
            .keygate
            .authenticate(&member.token, None)
            .await
            .expect("member");
        let spec = &world.scopes[m];
        let request = NewTokenRequest {
            name: Some("scoped".into()),
            description: None,
            expiry: keygate::service::Expiry::Never,
            scope: Some(ScopeRequest {
                workspaces: spec
                    .workspaces
                    .as_ref()
                    .map(|ws| ws.iter().map(|w| slugs[*w].clone()).collect()),
                permissions: spec.permissions.as_ref().map(|p| strings(p)),
                resources: spec.resources.as_ref().map(|r| strings(r)),
            }),
            allowed_ips: None,
            rate_limits: None,
        };
        let scoped = match app.keygate.create_token(&actor, request).await {
            Ok((_, clear)) => Some(clear.into_exposed()),
            // Refused: it asked for more than the member holds. Fine; there is nothing to check.
            Err(ServiceError::Invalid(e)) if e.field == "scope" => None,
            Err(e) => panic!("unexpected error creating a scoped token: {e}"),
        };
        tokens.push((m, scoped));
    }
    let personal = [members[0].token.clone(), members[1].token.clone()];
    (personal, refs, tokens)
}

async fn check(app: &TestApp, world: &World, case: u64) -> Result<u64, TestCaseError> {
    let (personal, refs, scoped) = build(app, world, case).await;
    let mut checked = 0;
    for (m, scoped_token) in scoped {
        for (w, reference) in refs.iter().enumerate() {
            for permission in CONCRETE_PERMISSIONS {
                for resource in RESOURCES {
                    let question = Question {
                        workspace: Some(reference.clone()),
                        permission: Some(std::borrow::Cow::Owned(
                            Permission::parse(permission).expect("permission"),
                        )),
                        resource: Some((*resource).into()),
                        cost: None,
                    };
                    let by_user = app
                        .keygate
                        .decide(Some(&personal[m]), None, &question)
                        .await
                        .expect("decision")
                        .refusal
                        .is_none();
                    prop_assert_eq!(
                        by_user,
                        model_allows(world, m, w, None, permission, resource),
                        "member {} in workspace {} on {} {}",
                        m,
                        w,
                        permission,
                        resource
                    );
                    // Isolation: outside a membership only the public role can allow.
                    if !world.membership[m][w] {
                        prop_assert_eq!(by_user, public_allows(world, w, permission, resource));
                    }
                    if let Some(token) = &scoped_token {
                        let by_token = app
                            .keygate
                            .decide(Some(token), None, &question)
                            .await
                            .expect("decision")
                            .refusal
                            .is_none();
                        prop_assert_eq!(
                            by_token,
                            model_allows(world, m, w, Some(&world.scopes[m]), permission, resource),
                            "scoped token of member {} in workspace {} on {} {}",
                            m,
                            w,
                            permission,
                            resource
                        );
                        // Never more than the user holds.
                        prop_assert!(!by_token || by_user);
                        checked += 1;
                    }
                    checked += 1;
                }
            }
        }
    }
    Ok(checked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_worlds_never_give_a_token_more_than_its_user_or_cross_tenants() {
    // Every case invites its members: more than one caller's hourly quota of invitations.
    let app = spawn_app_with(Backend::Sqlite, |c| c.invitations_per_hour = 100_000)
        .await
        .expect("SQLite");
    let handle = tokio::runtime::Handle::current();
    let total = tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        });
        let case = std::sync::atomic::AtomicU64::new(0);
        let checked = std::sync::atomic::AtomicU64::new(0);
        let result = runner.run(&world(), |world| {
            let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let done = handle.block_on(check(&app, &world, n))?;
            checked.fetch_add(done, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        checked.load(std::sync::atomic::Ordering::Relaxed)
    })
    .await
    .expect("property run");
    // Thousands of decisions, each compared with the model.
    assert!(total >= 4000, "only {total} decisions were checked");
    println!("{total} decisions checked against the model");
}

#[test]
fn the_model_matches_like_the_specification_says() {
    assert!(perm_matches("*:read", "devices:read"));
    assert!(!perm_matches("devices:*", "measurements:read"));
    assert!(resource_matches("project:p/*", "project:p/x"));
    assert!(!resource_matches("project:p/*", "project:q"));
    assert!(resource_matches("device:*", "device:b"));
}
