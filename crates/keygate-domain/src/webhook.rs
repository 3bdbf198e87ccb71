//! Webhooks as the Standard Webhooks specification (<https://www.standardwebhooks.com>) defines
//! them: the events a change produces, the endpoint secret (`whsec_` + base64), the signature of
//! a delivery, the retry schedule, and which target addresses a delivery must not reach.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use crate::{AuditEvent, ValidationError};

/// An endpoint that receives a workspace's events, or (without a workspace) the instance's.
#[derive(Clone, PartialEq)]
pub struct Endpoint {
    /// The id.
    pub id: Uuid,
    /// The workspace whose events it receives; `None` for an instance-wide endpoint.
    pub workspace_id: Option<Uuid>,
    /// Where deliveries are POSTed.
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// The events it receives.
    pub events: Vec<String>,
    /// The secret deliveries are signed with (`whsec_...`).
    pub secret: String,
    /// The secret a rotation replaced, which signs too until `previous_secret_until`.
    pub previous_secret: Option<String>,
    /// When the previous secret stops signing.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// When it was disabled (by hand, or by a `410 Gone`); `None` while it receives events.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("workspace_id", &self.workspace_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The keys that sign a delivery at `now`: the secret, and the previous one during its
    /// rotation.
    pub fn signing_keys(&self, now: DateTime<Utc>) -> Vec<Vec<u8>> {
        let previous = self
            .previous_secret
            .as_deref()
            .filter(|_| self.previous_secret_until.is_some_and(|until| until > now));
        std::iter::once(self.secret.as_str())
            .chain(previous)
            .filter_map(|secret| decode_secret(secret).ok())
            .collect()
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not delivered yet: waiting for its first attempt or its next retry.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed, or the endpoint is gone (`410`) or disabled.
    Failed,
}

impl DeliveryStatus {
    /// As stored and shown: `pending`, `delivered` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status [`as_str`](Self::as_str) writes.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One event for one endpoint, and how its delivery went.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The event's id; with `msg_` before it, the `webhook-id` header, the same on every attempt.
    pub message_id: Uuid,
    /// The endpoint it goes to.
    pub endpoint_id: Uuid,
    /// The event type.
    pub event: String,
    /// The body, exactly as it is signed and sent.
    pub payload: String,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the last attempt was made.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status the last attempt got; `None` when it got no answer.
    pub last_status: Option<u16>,
    /// How long the last attempt took, in milliseconds.
    pub last_latency_ms: Option<u32>,
    /// Why the last attempt failed, when it did.
    pub last_error: Option<String>,
}

impl Delivery {
    /// The `webhook-id` header.
    pub fn webhook_id(&self) -> String {
        message_id(self.message_id)
    }
}

/// The `webhook-id` of the event with `id`.
pub fn message_id(id: Uuid) -> String {
    format!("msg_{}", id.simple())
}

/// The body of the event `event` that the audited change `audit` produced:
/// `{"type", "timestamp", "data"}` as the specification shapes it, `data` holding what the audit
/// entry holds (never a clear token: audit entries hold none).
pub fn payload(event: &str, audit: &AuditEvent) -> String {
    json!({
        "type": event,
        "timestamp": audit.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": {
            "id": audit.id,
            "workspace_id": audit.workspace_id,
            "actor": {
                "id": audit.actor_id,
                "label": audit.actor_label,
                "token_id": audit.actor_token_id,
            },
            "target": { "type": audit.target_type, "id": audit.target_id },
            "client_ip": audit.client_ip,
            "details": audit.details,
        },
    })
    .to_string()
}

/// Events of a workspace: its API users' tokens, its members and its API users.
pub const WORKSPACE_EVENTS: [&str; 11] = [
    "token.created",
    "token.rotated",
    "token.revoked",
    "token.expiring",
    "token.expired",
    "token.retired_secret_used",
    "token.leaked",
    "member.joined",
    "member.removed",
    "api_user.created",
    "api_user.disabled",
];

/// Events of the instance, which only instance-wide endpoints receive (besides every
/// workspace's events and those of personal tokens).
pub const INSTANCE_EVENTS: [&str; 3] = ["user.created", "user.disabled", "user.deleted"];

/// Whether `event` is one an endpoint can subscribe to; instance events only instance-wide.
pub fn is_event(event: &str, instance_wide: bool) -> bool {
    WORKSPACE_EVENTS.contains(&event) || (instance_wide && INSTANCE_EVENTS.contains(&event))
}

/// The event an audited change produces, if any: most events are audit actions under the same
/// name; a rotation and a refresh are both `token.rotated`, an accepted invitation is
/// `member.joined`, and an API user disabled is `api_user.disabled`.
pub fn event_of(action: &str, details: &Value) -> Option<&'static str> {
    let event = match action {
        "token.refreshed" => "token.rotated",
        "invitation.accepted" => "member.joined",
        "api_user.updated" if details.get("disabled") == Some(&Value::Bool(true)) => {
            "api_user.disabled"
        }
        "user.signed_up" | "user.bootstrapped" => "user.created",
        other => {
            return WORKSPACE_EVENTS
                .iter()
                .chain(&INSTANCE_EVENTS)
                .find(|e| **e == other)
                .copied();
        }
    };
    Some(event)
}

/// The prefix of an endpoint secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// How many random bytes an endpoint secret holds (the specification asks for 24 to 64).
pub const SECRET_BYTES: usize = 32;

/// An endpoint secret as it is shown and stored: `whsec_` and the base64 of `bytes`.
pub fn encode_secret(bytes: &[u8; SECRET_BYTES]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a secret written as [`encode_secret`] writes it.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, ValidationError> {
    secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b64| STANDARD.decode(b64).ok())
        .filter(|key| (24..=64).contains(&key.len()))
        .ok_or_else(|| ValidationError::new("secret", "is not a whsec_ secret"))
}

/// One signature of a delivery, `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
/// under `key`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per key, separated by spaces (during a secret's
/// rotation, the new and the previous one, so receivers with either accept it).
pub fn signature_header(keys: &[&[u8]], id: &str, timestamp: i64, body: &str) -> String {
    keys.iter()
        .map(|key| sign(key, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How long after each failed attempt the next one is made: the specification's schedule. A
/// delivery is attempted once at once and then after each of these; after the last, it failed.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// When to try again after the `attempts`-th failed attempt (1 for the first); `None` when that
/// was the last.
pub fn retry_after(attempts: u32) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    RETRY_SCHEDULE.get(index).copied()
}

/// Whether a delivery must not reach `ip` unless the deployment allows it: loopback, private,
/// link-local, shared (carrier-grade NAT), unspecified, multicast and broadcast addresses, the
/// deployer's own network rather than the internet. IPv4 written in IPv6 is judged as IPv4.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internal(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local()
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The example of the specification's reference libraries.
    #[test]
    fn signs_as_the_specification_example() {
        let key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_secret_round_trips_and_junk_is_refused() {
        let bytes = [7u8; SECRET_BYTES];
        let secret = encode_secret(&bytes);
        assert!(secret.starts_with("whsec_"));
        assert_eq!(decode_secret(&secret).expect("decodes"), bytes);
        for junk in ["", "whsec_", "whsec_!!!", "sk_AAAA", "whsec_AAAA"] {
            assert!(decode_secret(junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn during_a_rotation_both_keys_sign() {
        let header = signature_header(&[b"new-key", b"old-key"], "msg_1", 1, "{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], sign(b"new-key", "msg_1", 1, "{}"));
        assert_eq!(parts[1], sign(b"old-key", "msg_1", 1, "{}"));
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        assert_eq!(retry_after(0), None);
        assert_eq!(retry_after(1), Some(Duration::from_secs(5)));
        assert_eq!(retry_after(2), Some(Duration::from_secs(300)));
        assert_eq!(retry_after(7), Some(Duration::from_secs(36_000)));
        assert_eq!(retry_after(8), None);
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = internal.parse().expect(internal);
            assert!(is_internal(ip), "{internal}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "100.128.0.1", "2606:4700::1111"] {
            let ip: IpAddr = public.parse().expect(public);
            assert!(!is_internal(ip), "{public}");
        }
    }

    #[test]
    fn events_come_from_audited_changes() {
        let none = json!({});
        assert_eq!(event_of("token.created", &none), Some("token.created"));
        assert_eq!(event_of("token.refreshed", &none), Some("token.rotated"));
        assert_eq!(
            event_of("invitation.accepted", &none),
            Some("member.joined")
        );
        assert_eq!(event_of("user.deleted", &none), Some("user.deleted"));
        assert_eq!(
            event_of("api_user.updated", &json!({"disabled": true})),
            Some("api_user.disabled")
        );
        assert_eq!(
            event_of("api_user.updated", &json!({"disabled": false})),
            None
        );
        assert_eq!(event_of("role.updated", &none), None);
        assert_eq!(event_of("session.created", &none), None);
        assert!(is_event("token.expiring", false));
        assert!(!is_event("user.created", false));
        assert!(is_event("user.created", true));
        assert!(!is_event("role.updated", true));
    }
}
