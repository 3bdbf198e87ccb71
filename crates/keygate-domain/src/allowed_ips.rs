//! Where a token may be used from: an allow-list of networks (CIDR, IPv4 and IPv6) on a token or
//! on an API user (for all of its tokens). A request from elsewhere is refused.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::ValidationError;

/// The most networks one allow-list holds.
pub const MAX_NETWORKS: usize = 100;

/// The networks a token (or every token of an API user) may be used from: never empty (no list
/// at all lets a token be used from anywhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedIps(Vec<IpNet>);

impl AllowedIps {
    /// Parses a list as given by a person: each entry a network (`10.0.0.0/8`, `2001:db8::/32`)
    /// or a single address (`203.0.113.7`). Refused: an empty list, more than [`MAX_NETWORKS`]
    /// entries, and a network with host bits set (`10.1.2.3/8`), which is most likely a mistake.
    /// Repeated entries are kept once.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, ValidationError> {
        let invalid = |message: String| ValidationError::new("allowed_ips", message);
        if entries.is_empty() {
            return Err(invalid(
                "an empty list would let the token be used from nowhere; leave the list out (null) \
                 to allow every address"
                    .into(),
            ));
        }
        if entries.len() > MAX_NETWORKS {
            return Err(invalid(format!(
                "at most {MAX_NETWORKS} networks; this list has {}",
                entries.len()
            )));
        }
        let mut networks: Vec<IpNet> = Vec::with_capacity(entries.len());
        for entry in entries {
            let net = parse_network(entry.as_ref().trim()).map_err(invalid)?;
            if !networks.contains(&net) {
                networks.push(net);
            }
        }
        Ok(Self(networks))
    }

    /// Whether a request from `ip` may use the token. An IPv4 address written as IPv6
    /// (`::ffff:10.0.0.1`, as a dual-stack socket reports it) is judged as the IPv4 address.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether every address this list allows, `outer` allows too: a token's list must lie
    /// inside its API user's.
    pub fn is_within(&self, outer: &AllowedIps) -> bool {
        self.0
            .iter()
            .all(|net| outer.0.iter().any(|o| o.contains(net)))
    }

    /// The networks, written as CIDR (`10.0.0.0/8`, `203.0.113.7/32`).
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// The form the web UI edits: one network per line.
    pub fn to_lines(&self) -> String {
        self.to_strings().join("\n")
    }

    /// The networks.
    pub fn networks(&self) -> &[IpNet] {
        &self.0
    }
}

impl fmt::Display for AllowedIps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, net) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{net}")?;
        }
        Ok(())
    }
}

/// One entry: a network, or an address standing for itself alone.
fn parse_network(entry: &str) -> Result<IpNet, String> {
    if entry.contains('/') {
        let net: IpNet = entry.parse().map_err(|_| {
            format!("{entry:?} is not a network such as 10.0.0.0/8 or 2001:db8::/32")
        })?;
        if net.trunc() != net {
            return Err(format!(
                "{entry} has bits set past its prefix length: did you mean {}?",
                net.trunc()
            ));
        }
        Ok(net)
    } else {
        let ip: IpAddr = entry
            .parse()
            .map_err(|_| format!("{entry:?} is not an address or a network such as 10.0.0.0/8"))?;
        Ok(IpNet::from(ip.to_canonical()))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn list(entries: &[&str]) -> AllowedIps {
        AllowedIps::parse(entries).expect("valid")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("valid")
    }

    #[test]
    fn networks_and_single_addresses_of_both_families_are_allowed() {
        let l = list(&["10.0.0.0/8", "2001:db8::/32", "203.0.113.7"]);
        assert!(l.allows(ip("10.200.1.1")));
        assert!(l.allows(ip("2001:db8:1::5")));
        assert!(l.allows(ip("203.0.113.7")));
        assert!(!l.allows(ip("203.0.113.8")));
        assert!(!l.allows(ip("11.0.0.1")));
        assert!(!l.allows(ip("2001:db9::1")));
        assert_eq!(
            l.to_strings(),
            ["10.0.0.0/8", "2001:db8::/32", "203.0.113.7/32"]
        );
    }

    #[test]
    fn an_ipv4_address_written_as_ipv6_is_judged_as_itself() {
        let l = list(&["10.0.0.0/8"]);
        assert!(l.allows(ip("::ffff:10.1.2.3")));
        assert!(!list(&["192.168.0.0/16"]).allows(ip("::ffff:10.1.2.3")));
        // And a mapped entry means the IPv4 address.
        assert!(list(&["::ffff:10.1.2.3"]).allows(ip("10.1.2.3")));
    }

    #[test]
    fn an_empty_list_a_long_list_and_malformed_entries_are_refused() {
        assert!(AllowedIps::parse::<&str>(&[]).is_err());
        let many: Vec<String> = (0..=MAX_NETWORKS)
            .map(|i| format!("10.0.{i}.0/24"))
            .collect();
        assert!(AllowedIps::parse(&many).is_err());
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0",
            "example.com",
            "10.0.0.0/8/8",
            "::/129",
        ] {
            assert!(AllowedIps::parse(&[bad]).is_err(), "{bad}");
        }
        let e = AllowedIps::parse(&["10.1.2.3/8"]).expect_err("refused");
        assert!(e.message.contains("10.0.0.0/8"), "{}", e.message);
        assert_eq!(e.field, "allowed_ips");
    }

    #[test]
    fn a_list_lies_within_another_only_when_each_network_does() {
        let outer = list(&["10.0.0.0/8", "2001:db8::/32"]);
        assert!(list(&["10.1.0.0/16", "10.2.3.4"]).is_within(&outer));
        assert!(list(&["2001:db8:5::/48"]).is_within(&outer));
        assert!(!list(&["10.0.0.0/7"]).is_within(&outer));
        assert!(!list(&["10.1.0.0/16", "192.168.0.1"]).is_within(&outer));
        assert!(!list(&["::/0"]).is_within(&outer));
    }

    proptest! {
        /// What a list inside another allows, the other allows too.
        #[test]
        fn within_means_every_allowed_address_is_allowed_outside(
            a in any::<u32>(), outer_len in 0u8..=32, extra in 0u8..=32, probe in any::<u32>(),
        ) {
            let inner_len = outer_len.saturating_add(extra).min(32);
            let outer = list(&[&IpNet::new(IpAddr::from(a.to_be_bytes()), outer_len).expect("valid").trunc().to_string()]);
            let inner = list(&[&IpNet::new(IpAddr::from(a.to_be_bytes()), inner_len).expect("valid").trunc().to_string()]);
            prop_assert!(inner.is_within(&outer));
            let probe = IpAddr::from(probe.to_be_bytes());
            if inner.allows(probe) {
                prop_assert!(outer.allows(probe));
            }
        }
    }
}
