//! The nftables text: the whole table from a [`Plan`], and the element changes.
//!
//! The rules, in the order H3C matches them (docs/portal.md, "The nftables table"): on a
//! portal port, an authorized client (IP and MAC both match an `auth4` element) passes and its
//! source is noted in `active4`; free rules pass; the device's own DHCP, DNS and portal are
//! reachable; other TCP/80 is sent to the portal (DNAT keeps the Host header, so the portal
//! knows the original URL); TCP/443 gets a reset (a browser fails at once instead of hanging);
//! the rest is refused with an ICMP error. Traffic from other ports is never touched, and no
//! rule depends on conntrack state for forwarding decisions, so a logout cuts open flows.

use std::fmt::Write;
use std::net::Ipv4Addr;

use super::{Client, FreeRule, Plan, Transport};

/// How long `active4` keeps a source nobody read: only bounds the set, the driver decides
/// idleness from what [`super::Nft::active`] reads.
const ACTIVE_TIMEOUT: &str = "10m";

/// `duet_` and the suffix, with anything but ASCII letters, digits and `_` made `_` (nft
/// identifiers), so two devices in one namespace or test never share a table.
pub fn table_name(suffix: &str) -> String {
    let clean: String = suffix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("duet_{clean}")
}

/// `add; delete; define` in one `nft -f` transaction: the table is replaced atomically
/// whether or not it existed (nft 1.0.6 has no `destroy`), and packets see the old table or
/// the new one, never none.
pub(super) fn load(table: &str, plan: &Plan) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "add table inet {table}");
    let _ = writeln!(t, "delete table inet {table}");
    let _ = writeln!(t, "table inet {table} {{");
    // Written by userspace only: a login adds, a logout removes.
    t.push_str("  set auth4 {\n    type ipv4_addr . ether_addr\n");
    if !plan.authorized.is_empty() {
        let elements: Vec<String> = plan.authorized.iter().map(|c| element(*c)).collect();
        let _ = writeln!(t, "    elements = {{ {} }}", elements.join(", "));
    }
    t.push_str("  }\n");
    // Written by packets of authorized clients, read and flushed by `active()`.
    let _ = writeln!(
        t,
        "  set active4 {{\n    type ipv4_addr\n    flags dynamic,timeout\n    timeout {ACTIVE_TIMEOUT}\n  }}"
    );
    if !plan.ports.is_empty() {
        chains(&mut t, plan);
    }
    t.push_str("}\n");
    t
}

fn chains(t: &mut String, plan: &Plan) {
    let ports: Vec<String> = plan
        .ports
        .iter()
        .map(|p| format!("\"{}\"", p.linux_name.replace('"', "")))
        .collect();
    let not_portal = format!("iifname != {{ {} }} return", ports.join(", "));
    let authorized = "ip saddr . ether saddr @auth4";
    let (web, web_port) = plan.web_server;
    let mut locals: Vec<Ipv4Addr> = plan
        .ports
        .iter()
        .flat_map(|p| p.local_addresses.iter().copied())
        .chain([web])
        .collect();
    locals.sort();
    locals.dedup();
    let locals = locals
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ");

    // Which connections go to the portal. NAT sees only a connection's first packet, so a
    // login changes where new connections go, not the ones already sent to the portal.
    let _ = writeln!(
        t,
        "  chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;"
    );
    let _ = writeln!(t, "    {not_portal}");
    let _ = writeln!(t, "    {authorized} return");
    for rule in &plan.free_rules {
        let _ = writeln!(t, "    {} return", free_match(rule));
    }
    let _ = writeln!(
        t,
        "    meta nfproto ipv4 tcp dport 80 dnat ip to {web}:{web_port}\n  }}"
    );

    // What a captive client may reach on the device itself.
    let _ = writeln!(
        t,
        "  chain input {{\n    type filter hook input priority filter; policy accept;"
    );
    let _ = writeln!(t, "    {not_portal}");
    let _ = writeln!(t, "    {authorized} update @active4 {{ ip saddr }} accept");
    // Answers to what the device itself opened (probes, the hot-backup channel).
    let _ = writeln!(t, "    ct state established,related accept");
    let _ = writeln!(t, "    udp dport 67 accept");
    // ICMP (errors, the ICMP user-detect's echo replies), ICMPv6 (neighbour discovery), VRRP.
    let _ = writeln!(t, "    meta l4proto {{ icmp, ipv6-icmp, 112 }} accept");
    let _ = writeln!(
        t,
        "    ip daddr {{ {locals} }} meta l4proto {{ tcp, udp }} th dport 53 accept"
    );
    let _ = writeln!(t, "    ip daddr {{ {locals} }} tcp dport {web_port} accept");
    refuse_rest(t, plan);

    // What a captive client may reach through the device.
    let _ = writeln!(
        t,
        "  chain forward {{\n    type filter hook forward priority filter; policy accept;"
    );
    let _ = writeln!(t, "    {not_portal}");
    let _ = writeln!(t, "    {authorized} update @active4 {{ ip saddr }} accept");
    refuse_rest(t, plan);
}

fn refuse_rest(t: &mut String, plan: &Plan) {
    for rule in &plan.free_rules {
        let _ = writeln!(t, "    {} accept", free_match(rule));
    }
    let _ = writeln!(t, "    tcp dport 443 reject with tcp reset");
    let _ = writeln!(t, "    reject with icmpx type admin-prohibited\n  }}");
}

/// The match of one `portal free-rule`.
fn free_match(rule: &FreeRule) -> String {
    match rule {
        FreeRule::SourceMac(mac) => format!("ether saddr {}", colons(*mac)),
        FreeRule::Destination { net, port } => {
            let mut m = String::from("meta nfproto ipv4");
            if let Some((addr, len)) = net {
                let len = (*len).min(32);
                // nft refuses host bits under the mask: keep the network only.
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                let _ = write!(
                    m,
                    " ip daddr {}/{len}",
                    Ipv4Addr::from(u32::from(*addr) & mask)
                );
            }
            match port {
                Some((Transport::Tcp, p)) => {
                    let _ = write!(m, " tcp dport {p}");
                }
                Some((Transport::Udp, p)) => {
                    let _ = write!(m, " udp dport {p}");
                }
                None => {}
            }
            m
        }
    }
}

fn colons(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn element(c: Client) -> String {
    format!("{} . {}", c.ip, colons(c.mac))
}

/// Authorize `client`.
pub(super) fn allow(table: &str, client: Client) -> String {
    format!("add element inet {table} auth4 {{ {} }}\n", element(client))
}

/// Take `client`'s authorization away. Adding first makes deleting a missing element a
/// no-op instead of an error that would fail the whole batch (nft 1.0.6 has no `destroy`).
pub(super) fn revoke(table: &str, client: Client) -> String {
    let e = element(client);
    format!(
        "add element inet {table} auth4 {{ {e} }}\ndelete element inet {table} auth4 {{ {e} }}\n"
    )
}

/// Drop the table, whether or not it exists.
pub(super) fn remove(table: &str) -> String {
    format!("add table inet {table}\ndelete table inet {table}\n")
}

#[cfg(test)]
mod tests {
    use super::super::PortalPort;
    use super::*;

    #[test]
    fn the_table_text_holds_users_free_rules_and_the_portal() {
        let plan = Plan {
            ports: vec![PortalPort {
                linux_name: "lan0".into(),
                local_addresses: vec![Ipv4Addr::new(10, 1, 1, 1), Ipv4Addr::new(10, 1, 1, 254)],
            }],
            web_server: (Ipv4Addr::new(10, 1, 1, 254), 80),
            free_rules: vec![
                FreeRule::Destination {
                    net: Some((Ipv4Addr::new(10, 2, 0, 77), 24)),
                    port: Some((Transport::Udp, 53)),
                },
                FreeRule::SourceMac([2, 0, 0, 0, 0, 0xaa]),
            ],
            authorized: vec![Client {
                ip: Ipv4Addr::new(10, 1, 1, 5),
                mac: [2, 0, 0, 0, 0, 5],
            }],
        };
        let text = load(&table_name("dev-a/1"), &plan);
        assert!(text.starts_with("add table inet duet_dev_a_1\ndelete table inet duet_dev_a_1\n"));
        assert!(text.contains("elements = { 10.1.1.5 . 02:00:00:00:00:05 }"));
        assert!(text.contains("iifname != { \"lan0\" } return"));
        assert!(text.contains("meta nfproto ipv4 ip daddr 10.2.0.0/24 udp dport 53 return"));
        assert!(text.contains("ether saddr 02:00:00:00:00:aa accept"));
        assert!(text.contains("dnat ip to 10.1.1.254:80"));
        assert!(text.contains("ip daddr { 10.1.1.1, 10.1.1.254 } tcp dport 80 accept"));
        // No port: sets only, no chain intercepts anything.
        let idle = load(
            "duet_x",
            &Plan {
                ports: vec![],
                ..plan
            },
        );
        assert!(!idle.contains("chain"));
    }
}
