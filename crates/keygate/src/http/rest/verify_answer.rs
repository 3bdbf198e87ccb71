//! The answer of `POST /api/v1/verify`, written straight into bytes: exactly what serde writes
//! for [`VerifyJson`](super::verify::json::VerifyJson), the documented type, but borrowed from the
//! decision and the cached memberships, and without the serializer's work per field. Field
//! names, punctuation, ids and timestamps are written as they are (none can hold a character
//! JSON escapes); every other string (names, emails, roles, permissions) goes through
//! `serde_json`, which escapes it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use keygate_domain::{Membership, Scope, User, Workspace, WorkspaceRights};
use uuid::Uuid;

use crate::service::{Actor, RateState};

/// The verify answer, borrowed. The user, workspace, rights and memberships are the shared values
/// the caches hand out, never changed once read (a change is read anew, into new ones): the same
/// ones, compared by address, say the same thing.
pub(super) struct VerifyAnswer<'a> {
    pub valid: bool,
    pub code: &'static str,
    pub missing: Option<&'a str>,
    pub user: Option<&'a Arc<User>>,
    pub workspace: Option<&'a Arc<Workspace>>,
    pub workspaces: Memberships<'a>,
    pub token_id: Option<Uuid>,
    pub rights: Option<&'a Arc<WorkspaceRights>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The token was presented by a secret a rotation replaced, still in its overlap.
    pub retiring: bool,
    /// For a token held to `allowed_ips`: whether the client's address was judged.
    pub ip_checked: Option<bool>,
    /// For a token held to rate limits: where it stands against the tightest.
    pub rate_limit: Option<RateState>,
}

/// The caller's memberships that their token's scope admits.
pub(super) struct Memberships<'a> {
    pub of: Option<(&'a Actor, &'a Arc<Vec<Membership>>)>,
}

impl<'a> Memberships<'a> {
    pub fn iter(&self) -> impl Iterator<Item = &'a Membership> + use<'a> {
        let (actor, all) = self.of.unzip();
        all.map(|all| all.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(move |m| actor.is_some_and(|a| a.scope_admits(m.workspace.id)))
    }

    /// All the caller's memberships, before the scope chooses.
    fn all(&self) -> Option<&'a Arc<Vec<Membership>>> {
        self.of.map(|(_, all)| all)
    }

    /// The scope of the caller's token, which chooses.
    fn scope(&self) -> Option<&'a Arc<Scope>> {
        self.of
            .and_then(|(actor, _)| actor.token.as_ref())
            .and_then(|t| t.scope.as_ref())
    }
}

impl VerifyAnswer<'_> {
    /// The answer as JSON, in a buffer sized for a typical one. For a token, the part that says
    /// who the caller is (from `user` to `expires_at`) is copied from this thread's last answer
    /// about the token when that was written from the same values.
    pub fn to_bytes(&self) -> serde_json::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(1024);
        self.write_head(&mut out)?;
        match self.token_id {
            Some(token_id) => WRITTEN.with_borrow_mut(|written| -> serde_json::Result<()> {
                if let Some(kept) = written.get(&token_id).filter(|k| k.is_of(self)) {
                    out.extend_from_slice(&kept.bytes);
                    return Ok(());
                }
                let from = out.len();
                self.write_identity(&mut out)?;
                if written.len() >= WRITTEN_PER_THREAD {
                    written.clear();
                }
                written.insert(token_id, Written::of(self, &out[from..]));
                Ok(())
            })?,
            None => self.write_identity(&mut out)?,
        }
        self.write_tail(&mut out)?;
        Ok(out)
    }

    /// `{"valid":…,"code":…` and `"missing"`: what the question asked decides.
    fn write_head(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(if self.valid {
            b"{\"valid\":true,\"code\":"
        } else {
            b"{\"valid\":false,\"code\":"
        });
        text(out, self.code)?;
        if let Some(missing) = self.missing {
            out.extend_from_slice(b",\"missing\":");
            text(out, missing)?;
        }
        Ok(())
    }

    /// From `,"user"` to `"expires_at"`: who the caller is, and what they hold there.
    fn write_identity(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        #[cfg(test)]
        IDENTITY_WRITES.set(IDENTITY_WRITES.get() + 1);
        out.extend_from_slice(b",\"user\":");
        match self.user {
            Some(user) => write_user(out, user)?,
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"workspace\":");
        match self.workspace {
            Some(workspace) => {
                out.push(b'{');
                write_workspace_fields(out, workspace)?;
                out.push(b'}');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"workspaces\":");
        array(out, self.workspaces.iter(), |out, membership| {
            out.push(b'{');
            write_workspace_fields(out, &membership.workspace)?;
            out.extend_from_slice(b",\"roles\":");
            array(out, &membership.roles, |out, role| text(out, role))?;
            out.push(b'}');
            Ok(())
        })?;
        out.extend_from_slice(b",\"token_id\":");
        match self.token_id {
            Some(id) => uuid(out, id),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"permissions\":");
        let held = self.rights.into_iter().flat_map(|r| r.held());
        array(out, held, |out, permission| text(out, permission.as_str()))?;
        out.extend_from_slice(b",\"expires_at\":");
        match &self.expires_at {
            Some(at) => timestamp(out, at),
            None => out.extend_from_slice(b"null"),
        }
        Ok(())
    }

    /// What this request alone decides (a retiring secret, the address, the rate limit), and
    /// the closing brace.
    fn write_tail(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        if self.retiring {
            out.extend_from_slice(b",\"retiring\":true");
        }
        match self.ip_checked {
            Some(true) => out.extend_from_slice(b",\"ip_checked\":true"),
            Some(false) => out.extend_from_slice(b",\"ip_checked\":false"),
            None => {}
        }
        if let Some(rate) = &self.rate_limit {
            out.extend_from_slice(b",\"rate_limit\":{\"limit\":");
            serde_json::to_writer(&mut *out, &rate.limit)?;
            out.extend_from_slice(b",\"remaining\":");
            serde_json::to_writer(&mut *out, &rate.remaining)?;
            out.extend_from_slice(b",\"reset\":");
            serde_json::to_writer(&mut *out, &rate.reset)?;
            out.push(b'}');
        }
        out.push(b'}');
        Ok(())
    }
}

/// An answer's identity part as written, with the values it was written from: holding them keeps
/// their addresses from being reused for other values while the bytes are kept.
struct Written {
    expires_at: Option<DateTime<Utc>>,
    user: Option<Arc<User>>,
    workspace: Option<Arc<Workspace>>,
    rights: Option<Arc<WorkspaceRights>>,
    memberships: Option<Arc<Vec<Membership>>>,
    /// The scope that chose which memberships are listed.
    scope: Option<Arc<Scope>>,
    bytes: Box<[u8]>,
}

impl Written {
    fn of(answer: &VerifyAnswer<'_>, bytes: &[u8]) -> Self {
        Written {
            expires_at: answer.expires_at,
            user: answer.user.cloned(),
            workspace: answer.workspace.cloned(),
            rights: answer.rights.cloned(),
            memberships: answer.workspaces.all().cloned(),
            scope: answer.workspaces.scope().cloned(),
            bytes: bytes.into(),
        }
    }

    /// Whether `answer`'s identity part is the one kept (its token is the one it is kept for).
    fn is_of(&self, answer: &VerifyAnswer<'_>) -> bool {
        fn same<T>(kept: Option<&Arc<T>>, now: Option<&Arc<T>>) -> bool {
            match (kept, now) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
        }
        self.expires_at == answer.expires_at
            && same(self.user.as_ref(), answer.user)
            && same(self.workspace.as_ref(), answer.workspace)
            && same(self.rights.as_ref(), answer.rights)
            && same(self.memberships.as_ref(), answer.workspaces.all())
            && same(self.scope.as_ref(), answer.workspaces.scope())
    }
}

/// How many tokens' identity parts each thread keeps (forgotten all at once when full).
const WRITTEN_PER_THREAD: usize = 64;

#[cfg(test)]
thread_local! {
    /// How many identity parts this thread wrote (rather than copied).
    static IDENTITY_WRITES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

thread_local! {
    /// This thread's identity parts, by token id.
    static WRITTEN: RefCell<HashMap<Uuid, Written, foldhash::fast::RandomState>> =
        RefCell::default();
}

/// [`UserJson`](super::admin::json::UserJson).
fn write_user(out: &mut Vec<u8>, user: &User) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"id\":");
    uuid(out, user.id);
    out.extend_from_slice(b",\"kind\":");
    text(out, user.kind.as_str())?;
    out.extend_from_slice(b",\"email\":");
    match &user.email {
        Some(email) => text(out, email.as_str())?,
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"display_name\":");
    text(out, &user.display_name)?;
    out.extend_from_slice(if user.is_instance_admin {
        b",\"is_instance_admin\":true,\"created_at\":"
    } else {
        b",\"is_instance_admin\":false,\"created_at\":"
    });
    timestamp(out, &user.created_at);
    out.push(b'}');
    Ok(())
}

/// The fields of [`WorkspaceJson`](super::workspaces::json::WorkspaceJson), without braces: a membership
/// adds its roles after them.
fn write_workspace_fields(out: &mut Vec<u8>, workspace: &Workspace) -> serde_json::Result<()> {
    out.extend_from_slice(b"\"id\":");
    uuid(out, workspace.id);
    out.extend_from_slice(b",\"slug\":");
    text(out, workspace.slug.as_str())?;
    out.extend_from_slice(b",\"name\":");
    text(out, &workspace.name)?;
    out.extend_from_slice(b",\"max_token_lifetime_days\":");
    serde_json::to_writer(&mut *out, &workspace.max_token_lifetime_days)?;
    out.extend_from_slice(b",\"created_at\":");
    timestamp(out, &workspace.created_at);
    out.extend_from_slice(b",\"updated_at\":");
    timestamp(out, &workspace.updated_at);
    Ok(())
}

/// A JSON array of `items`, each written by `write`.
fn array<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut Vec<u8>, T) -> serde_json::Result<()>,
) -> serde_json::Result<()> {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item)?;
    }
    out.push(b']');
    Ok(())
}

/// A string, quoted and escaped by `serde_json`.
fn text(out: &mut Vec<u8>, value: &str) -> serde_json::Result<()> {
    serde_json::to_writer(out, value)
}

/// An id, quoted: hex digits and hyphens only.
fn uuid(out: &mut Vec<u8>, id: Uuid) {
    let mut buf = Uuid::encode_buffer();
    out.push(b'"');
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
    out.push(b'"');
}

/// A timestamp as chrono's `Serialize` writes it (RFC 3339, `Z`, as many fraction digits as
/// needed), quoted: digits and separators only.
fn timestamp(out: &mut Vec<u8>, at: &DateTime<Utc>) {
    let mut buf = [0; RFC3339_MAX];
    out.push(b'"');
    match rfc3339(at, &mut buf) {
        Some(text) => out.extend_from_slice(text.as_bytes()),
        None => out.extend_from_slice(at.to_rfc3339_opts(SecondsFormat::AutoSi, true).as_bytes()),
    }
    out.push(b'"');
}

/// The longest text [`rfc3339`] writes: `2025-01-15T10:00:00.123456789Z`.
const RFC3339_MAX: usize = 30;

/// `at` as `to_rfc3339_opts(SecondsFormat::AutoSi, true)` writes it, into `buf` without
/// formatting machinery or allocation; `None` for what only chrono writes (years outside
/// 0–9999, leap seconds).
fn rfc3339<'b>(at: &DateTime<Utc>, buf: &'b mut [u8; RFC3339_MAX]) -> Option<&'b str> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let digits = |buf: &mut [u8; RFC3339_MAX], at: usize, value: u32, width: usize| {
        let mut value = value;
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    digits(buf, 0, year, 4);
    buf[4] = b'-';
    digits(buf, 5, at.month(), 2);
    buf[7] = b'-';
    digits(buf, 8, at.day(), 2);
    buf[10] = b'T';
    digits(buf, 11, at.hour(), 2);
    buf[13] = b':';
    digits(buf, 14, at.minute(), 2);
    buf[16] = b':';
    digits(buf, 17, at.second(), 2);
    let mut len = 19;
    let fraction = match nanos {
        0 => None,
        n if n % 1_000_000 == 0 => Some((n / 1_000_000, 3)),
        n if n % 1_000 == 0 => Some((n / 1_000, 6)),
        n => Some((n, 9)),
    };
    if let Some((value, width)) = fraction {
        buf[len] = b'.';
        digits(buf, len + 1, value, width);
        len += 1 + width;
    }
    buf[len] = b'Z';
    std::str::from_utf8(&buf[..=len]).ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use keygate_domain::{
        Email, Permission, PermissionSet, Rights, Slug, Token, TokenKind, UserKind,
    };

    use super::*;
    use crate::http::rest::admin::json::user_json;
    use crate::http::rest::verify::json::VerifyJson;
    use crate::http::rest::workspaces::json::{membership_json, workspace_json};

    fn workspace(slug: &str, name: String, lifetime: Option<u32>) -> Workspace {
        let at = DateTime::UNIX_EPOCH;
        Workspace {
            id: Uuid::now_v7(),
            slug: Slug::parse(slug).expect("slug"),
            name,
            max_token_lifetime_days: lifetime,
            created_at: at + chrono::Duration::milliseconds(250),
            updated_at: at + chrono::Duration::microseconds(1_000_250),
        }
    }

    fn user(display_name: String, admin: bool, email: Option<&str>) -> User {
        User {
            id: Uuid::now_v7(),
            kind: if email.is_some() {
                UserKind::Human
            } else {
                UserKind::Api
            },
            email: email.map(|e| Email::parse(e).expect("email")),
            display_name,
            description: None,
            workspace_id: None,
            is_instance_admin: admin,
            disabled_at: None,
            created_at: DateTime::UNIX_EPOCH + chrono::Duration::days(400),
            allowed_ips: None,
            rate_limits: None,
        }
    }

    fn token(user: &User, scope_to: Option<Uuid>, expires_at: Option<DateTime<Utc>>) -> Token {
        Token {
            id: Uuid::now_v7(),
            user_id: user.id,
            kind: TokenKind::User,
            name: None,
            description: None,
            hint: "abcd".into(),
            created_at: DateTime::UNIX_EPOCH,
            expires_at,
            last_used_at: None,
            last_used_ip: None,
            revoked_at: None,
            rotated_at: None,
            scope: scope_to.map(|ws| keygate_domain::Scope {
                workspaces: Some(vec![ws]),
                permissions: None,
                resources: None,
            }),
            leak: None,
            allowed_ips: None,
            rate_limits: None,
        }
    }

    fn set(names: &[String]) -> PermissionSet {
        names
            .iter()
            .map(|p| Permission::parse(p).expect("permission"))
            .collect()
    }

    /// What serde writes for the documented type, built from the same parts.
    fn documented(answer: &VerifyAnswer<'_>) -> String {
        let expected = VerifyJson {
            valid: answer.valid,
            code: serde_json::from_value(answer.code.into()).expect("a code"),
            missing: answer.missing.map(str::to_owned),
            user: answer.user.map(|u| user_json(u)),
            workspace: answer.workspace.map(|w| workspace_json(w)),
            workspaces: answer.workspaces.iter().map(membership_json).collect(),
            token_id: answer.token_id,
            permissions: answer
                .rights
                .map(|r| {
                    r.permissions()
                        .iter()
                        .map(|p| p.as_str().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            expires_at: answer.expires_at,
            retiring: answer.retiring,
            ip_checked: answer.ip_checked,
            rate_limit: answer.rate_limit.map(|r| keygate_proto::RateLimitState {
                limit: r.limit,
                remaining: r.remaining,
                reset: r.reset,
            }),
        };
        serde_json::to_string(&expected).expect("expected")
    }

    fn written(answer: &VerifyAnswer<'_>) -> String {
        String::from_utf8(answer.to_bytes().expect("answer")).expect("UTF-8")
    }

    /// A token's answer, and an anonymous caller's, are written exactly as `VerifyJson`; a
    /// scoped token's answer lists only the workspaces its scope admits.
    #[test]
    fn the_answer_is_written_as_verify_json() {
        let ann = user("Ann".into(), false, Some("ann@example.com"));
        let (a, b) = (
            workspace("acme", "The \"acme\" workspace".into(), Some(30)),
            workspace("beta", "Beta".into(), None),
        );
        let memberships = vec![
            Membership {
                roles: vec!["owner".into(), "viewer".into()],
                workspace: a.clone(),
            },
            Membership {
                roles: vec![],
                workspace: b,
            },
        ];
        // Whole seconds, and fractions of each length chrono writes.
        let expires = DateTime::UNIX_EPOCH + chrono::Duration::nanoseconds(86_400_000_000_007);
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        // The member's permissions and the public role's overlap: each is written once, sorted.
        let rights = WorkspaceRights {
            member: Some(Rights::of_member(
                [&set(&names(&["devices:read", "*:write", "zones:read"]))],
                &[],
                &[],
            )),
            public: Rights::of_member([&set(&names(&["devices:read", "alerts:read"]))], &[], &[]),
        };
        let (a, memberships, rights) = (Arc::new(a), Arc::new(memberships), Arc::new(rights));
        for scope in [None, Some(a.id)] {
            let t = token(&ann, scope, Some(expires));
            let actor = Actor {
                user: Arc::new(ann.clone()),
                token: Some(t.clone().into()),
                ip: None,
                rate: None,
            };
            let answer = VerifyAnswer {
                valid: false,
                code: "forbidden",
                missing: Some("devices:delete"),
                user: Some(&actor.user),
                workspace: Some(&a),
                workspaces: Memberships {
                    of: Some((&actor, &memberships)),
                },
                token_id: Some(t.id),
                rights: Some(&rights),
                expires_at: t.expires_at,
                retiring: false,
                ip_checked: None,
                rate_limit: None,
            };
            assert_eq!(
                answer.workspaces.iter().count(),
                2 - usize::from(scope.is_some())
            );
            assert_eq!(written(&answer), documented(&answer));
        }

        let anonymous = VerifyAnswer {
            valid: true,
            code: "ok",
            missing: None,
            user: None,
            workspace: None,
            workspaces: Memberships { of: None },
            token_id: None,
            rights: None,
            expires_at: None,
            retiring: false,
            ip_checked: Some(false),
            rate_limit: Some(RateState {
                limit: 100,
                remaining: 0,
                reset: 60,
            }),
        };
        assert_eq!(written(&anonymous), documented(&anonymous));
    }

    fn permission() -> impl Strategy<Value = String> {
        ("[a-z*][a-z_]{0,6}", "[a-z*][a-z_]{0,6}").prop_map(|(area, action)| {
            let part = |p: String| {
                if p.starts_with('*') {
                    "*".to_owned()
                } else {
                    p
                }
            };
            match (part(area), part(action)) {
                (area, action) if area == "*" && action == "*" => "*".to_owned(),
                (area, action) => format!("{area}:{action}"),
            }
        })
    }

    /// A token's identity part is written once per thread and copied while the answer is about
    /// the same values; a new user, workspace, rights, memberships, scope or expiry writes it
    /// anew.
    #[test]
    fn the_identity_part_is_copied_only_for_the_same_values() {
        let ann = Arc::new(user("Ann".into(), false, Some("ann@example.com")));
        let ws = Arc::new(workspace("acme", "Acme".into(), None));
        let other = workspace("beta", "Beta".into(), None);
        let member_of = |roles: &[&str]| {
            Arc::new(vec![
                Membership {
                    roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                    workspace: Workspace::clone(&ws),
                },
                Membership {
                    roles: vec!["viewer".into()],
                    workspace: other.clone(),
                },
            ])
        };
        let rights = Arc::new(WorkspaceRights {
            member: Some(Rights::of_member(
                [&set(&["devices:read".to_owned()])],
                &[],
                &[],
            )),
            public: Rights::none(),
        });
        let t = token(&ann, None, None);
        let scoped = Arc::new(keygate_domain::Scope {
            workspaces: Some(vec![ws.id]),
            permissions: None,
            resources: None,
        });
        // Each case: the answer, checked against `VerifyJson`, and whether its identity part
        // was written (rather than copied).
        let answer = |user: &Arc<User>,
                      memberships: &Arc<Vec<Membership>>,
                      scope: Option<&Arc<keygate_domain::Scope>>,
                      expires_at: Option<DateTime<Utc>>,
                      valid: bool| {
            let mut credential: keygate_domain::Credential = t.clone().into();
            credential.scope = scope.cloned();
            credential.expires_at = expires_at;
            let actor = Actor {
                user: Arc::clone(user),
                token: Some(credential),
                ip: None,
                rate: None,
            };
            let answer = VerifyAnswer {
                valid,
                code: if valid { "ok" } else { "forbidden" },
                missing: (!valid).then_some("devices:write"),
                user: Some(user),
                workspace: Some(&ws),
                workspaces: Memberships {
                    of: Some((&actor, memberships)),
                },
                token_id: Some(t.id),
                rights: Some(&rights),
                expires_at,
                retiring: false,
                ip_checked: None,
                rate_limit: valid.then_some(RateState {
                    limit: 10,
                    remaining: 9,
                    reset: 60,
                }),
            };
            let before = IDENTITY_WRITES.get();
            let text = written(&answer);
            assert_eq!(text, documented(&answer));
            (text, IDENTITY_WRITES.get() > before)
        };
        let owner = member_of(&["owner"]);
        let (first, wrote) = answer(&ann, &owner, None, None, true);
        assert!(wrote);
        // Another question's head and tail around the same identity: copied.
        let (refused, wrote) = answer(&ann, &owner, None, None, false);
        assert!(!wrote);
        assert!(
            refused.contains("\"missing\":\"devices:write\""),
            "{refused}"
        );
        // Equal content in a new list is written anew, and so is changed content.
        assert!(answer(&ann, &member_of(&["owner"]), None, None, true).1);
        let viewer = member_of(&["viewer"]);
        let (changed, wrote) = answer(&ann, &viewer, None, None, true);
        assert!(wrote);
        assert_ne!(changed, first);
        let renamed = Arc::new(User {
            display_name: "Ann B.".into(),
            ..User::clone(&ann)
        });
        let (text, wrote) = answer(&renamed, &viewer, None, None, true);
        assert!(wrote && text.contains("Ann B."), "{text}");
        let (text, wrote) = answer(&renamed, &viewer, Some(&scoped), None, true);
        assert!(wrote && !text.contains("\"beta\""), "{text}");
        let expires = Some(DateTime::UNIX_EPOCH + chrono::Duration::days(20_000));
        let (text, wrote) = answer(&renamed, &viewer, Some(&scoped), expires, true);
        assert!(wrote && text.contains("2024-10-04T00:00:00Z"), "{text}");
        assert!(!answer(&renamed, &viewer, Some(&scoped), expires, false).1);
    }

    proptest! {
        /// Whatever names, roles and permissions hold (quotes, backslashes, control characters,
        /// any script), the answer is the documented type's JSON.
        #[test]
        fn any_answer_is_written_as_verify_json(
            display_name in any::<String>(),
            workspace_name in any::<String>(),
            roles in prop::collection::vec(any::<String>(), 0..4),
            missing in prop::option::of(any::<String>()),
            member in prop::collection::vec(permission(), 0..5),
            public in prop::collection::vec(permission(), 0..5),
            admin in any::<bool>(),
            valid in any::<bool>(),
            lifetime in prop::option::of(any::<u32>()),
            expires_micros in prop::option::of(0i64..253_402_300_799_999_999i64),
        ) {
            let someone = user(display_name, admin, None);
            let ws = workspace("ws", workspace_name, lifetime);
            let memberships = vec![Membership { roles, workspace: ws.clone() }];
            let expires_at = expires_micros.map(|m| DateTime::from_timestamp_micros(m).expect("in range"));
            let t = token(&someone, None, expires_at);
            let actor = Actor { user: Arc::new(someone), token: Some(t.clone().into()), ip: None, rate: None };
            let rights = WorkspaceRights {
                member: (!member.is_empty()).then(|| Rights::of_member([&set(&member)], &[], &[])),
                public: Rights::of_member([&set(&public)], &[], &[]),
            };
            let (ws, memberships, rights) = (Arc::new(ws), Arc::new(memberships), Arc::new(rights));
            let answer = VerifyAnswer {
                valid,
                code: if valid { "ok" } else { "forbidden" },
                missing: missing.as_deref(),
                user: Some(&actor.user),
                workspace: Some(&ws),
                workspaces: Memberships { of: Some((&actor, &memberships)) },
                token_id: Some(t.id),
                rights: Some(&rights),
                expires_at,
                // Both ways, as the answers vary.
                retiring: valid,
                ip_checked: valid.then_some(admin),
                rate_limit: lifetime.map(|l| RateState { limit: l, remaining: l / 2, reset: l % 86_400 }),
            };
            prop_assert_eq!(written(&answer), documented(&answer));
        }

        #[test]
        fn timestamps_are_written_as_chrono_writes_them(
            micros in -62_135_596_800_000_000i64..253_402_300_799_999_999i64,
            extra_nanos in 1u32..1000,
            precision in 0u8..4,
        ) {
            let at = DateTime::from_timestamp_micros(micros).expect("in range");
            // Whole seconds, milliseconds, microseconds and nanoseconds, each as chrono shortens
            // it.
            let nanos = chrono::Timelike::nanosecond(&at);
            let nanos = match precision {
                0 => 0,
                1 => nanos / 1_000_000 * 1_000_000,
                2 => nanos,
                _ => nanos + extra_nanos,
            };
            let at = chrono::Timelike::with_nanosecond(&at, nanos).expect("valid");
            let mut buf = [0; RFC3339_MAX];
            let ours = rfc3339(&at, &mut buf).expect("a year from 0 to 9999");
            prop_assert_eq!(ours, at.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
    }
}
