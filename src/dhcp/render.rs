//! The DHCP part of the configuration text, in Comware 7 order: global lines in the system
//! section (` dhcp enable`, forbidden ranges, option 82 switch) and one `#` section per pool
//! (`dhcp server ip-pool NAME` and its settings). The interface lines are rendered with the
//! interface (`interface::render`).

use super::commands::pool_view;
use super::config::{
    BindingClient, DEFAULT_CONFLICT_RECYCLE_SECS, DEFAULT_LEASE_SECS, DEFAULT_PING_TIMEOUT_MS,
    DhcpConfig, LeaseDuration, PoolConfig, RawOptionValue,
};
use crate::config::render::Section;
use crate::interface::address::mask_of;
use crate::net::mac_text;

/// The system-view lines: ` dhcp enable`, ` dhcp server forbidden-ip ...`,
/// ` undo dhcp server relay information enable` (only when off: on is the default) and
/// ` dhcp server conflict auto-recycle interval ...` (only when not the default day) and
/// ` dhcp server always-broadcast` (only when on), ` dhcp server ping packets N` and
/// ` dhcp server ping timeout MS` (only when not the default).
pub fn global_lines(cfg: &DhcpConfig) -> Vec<String> {
    let mut lines = Vec::new();
    if cfg.enabled {
        lines.push(" dhcp enable".to_string());
    }
    for r in &cfg.forbidden {
        if r.start == r.end {
            lines.push(format!(" dhcp server forbidden-ip {}", r.start));
        } else {
            lines.push(format!(" dhcp server forbidden-ip {} {}", r.start, r.end));
        }
    }
    if !cfg.relay_information {
        lines.push(" undo dhcp server relay information enable".to_string());
    }
    if cfg.conflict_recycle_secs != DEFAULT_CONFLICT_RECYCLE_SECS {
        lines.push(format!(
            " dhcp server conflict auto-recycle interval {}",
            duration_text(cfg.conflict_recycle_secs)
        ));
    }
    if cfg.always_broadcast {
        lines.push(" dhcp server always-broadcast".to_string());
    }
    if cfg.ping_packets != 0 {
        lines.push(format!(" dhcp server ping packets {}", cfg.ping_packets));
    }
    if cfg.ping_timeout_ms != DEFAULT_PING_TIMEOUT_MS {
        lines.push(format!(" dhcp server ping timeout {}", cfg.ping_timeout_ms));
    }
    lines
}

/// One section per pool, in name order.
pub fn pool_sections(cfg: &DhcpConfig) -> Vec<Section> {
    cfg.pools
        .iter()
        .map(|(name, pool)| Section {
            view: pool_view(name),
            lines: pool_lines(name, pool),
        })
        .collect()
}

/// `dhcp server ip-pool NAME` and its settings, each indented by one space.
pub fn pool_lines(name: &str, pool: &PoolConfig) -> Vec<String> {
    let mut lines = vec![format!("dhcp server ip-pool {name}")];
    if !pool.gateways.is_empty() {
        lines.push(format!(" gateway-list {}", join(&pool.gateways)));
    }
    if let Some(net) = pool.network {
        lines.push(format!(
            " network {} mask {}",
            net.base(),
            mask_of(net.prefix_len)
        ));
    }
    if let Some(r) = pool.range {
        lines.push(format!(" address range {} {}", r.start, r.end));
    }
    if !pool.dns.is_empty() {
        lines.push(format!(" dns-list {}", join(&pool.dns)));
    }
    if let Some(d) = &pool.domain_name {
        lines.push(format!(" domain-name {d}"));
    }
    lines.extend(boot_lines(pool));
    match pool.lease {
        LeaseDuration::Seconds(DEFAULT_LEASE_SECS) => {}
        LeaseDuration::Seconds(s) => lines.push(format!(" {}", expired_text(s))),
        LeaseDuration::Unlimited => lines.push(" expired unlimited".to_string()),
    }
    for chunk in pool.forbidden.chunks(8) {
        lines.push(format!(" forbidden-ip {}", join(chunk)));
    }
    for b in &pool.static_bindings {
        let mask = b
            .prefix_len
            .map(|l| format!(" mask {}", mask_of(l)))
            .unwrap_or_default();
        let client = match &b.client {
            BindingClient::ClientIdentifier(id) => {
                format!("client-identifier {}", dashed_hex(id))
            }
            BindingClient::HardwareAddress(mac) => format!("hardware-address {}", mac_text(mac)),
        };
        lines.push(format!(" static-bind ip-address {}{mask} {client}", b.ip));
    }
    for (code, value) in &pool.options {
        let v = match value {
            RawOptionValue::Ascii(s) => format!("ascii {s}"),
            RawOptionValue::Hex(h) => format!("hex {}", super::lease::hex(h)),
            RawOptionValue::IpAddress(l) => format!("ip-address {}", join(l)),
        };
        lines.push(format!(" option {code} {v}"));
    }
    lines
}

/// The boot and NetBIOS settings of a pool as commands indented by one space, in the order the
/// configuration and `display dhcp server pool` show them.
pub fn boot_lines(pool: &PoolConfig) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(f) = &pool.bootfile_name {
        lines.push(format!(" bootfile-name {f}"));
    }
    if let Some(a) = pool.next_server {
        lines.push(format!(" next-server {a}"));
    }
    if let Some(a) = pool.tftp_server_ip {
        lines.push(format!(" tftp-server ip-address {a}"));
    }
    if let Some(n) = &pool.tftp_server_name {
        lines.push(format!(" tftp-server domain-name {n}"));
    }
    if !pool.nbns.is_empty() {
        lines.push(format!(" nbns-list {}", join(&pool.nbns)));
    }
    if let Some(t) = pool.netbios_type {
        lines.push(format!(" netbios-type {}", t.keyword()));
    }
    lines
}

/// `expired day D [hour H [minute M [second S]]]`, the shortest form that gives `secs` back.
pub fn expired_text(secs: u32) -> String {
    format!("expired {}", duration_text(secs))
}

/// `day D [hour H [minute M [second S]]]`, the shortest form that gives `secs` back.
pub fn duration_text(secs: u32) -> String {
    let (d, h, m, s) = split_secs(secs);
    let mut t = format!("day {d}");
    if h != 0 || m != 0 || s != 0 {
        t.push_str(&format!(" hour {h}"));
    }
    if m != 0 || s != 0 {
        t.push_str(&format!(" minute {m}"));
    }
    if s != 0 {
        t.push_str(&format!(" second {s}"));
    }
    t
}

/// Days, hours, minutes, seconds.
pub fn split_secs(secs: u32) -> (u32, u32, u32, u32) {
    (
        secs / 86400,
        secs % 86400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    )
}

/// Bytes as Comware writes a client identifier: hex digits in groups of four, joined by `-`
/// (`0100-e0fc-0000-01`).
pub fn dashed_hex(b: &[u8]) -> String {
    let h = super::lease::hex(b);
    h.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-")
}

fn join(ips: &[std::net::Ipv4Addr]) -> String {
    ips.iter()
        .map(|ip| ip.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::config::{IpRange, Network, StaticBinding};

    #[test]
    fn pool_in_comware_order() {
        let mut pool = PoolConfig {
            network: Some(Network {
                address: [10, 1, 1, 0].into(),
                prefix_len: 24,
            }),
            range: Some(IpRange {
                start: [10, 1, 1, 10].into(),
                end: [10, 1, 1, 100].into(),
            }),
            gateways: vec![[10, 1, 1, 1].into()],
            dns: vec![[8, 8, 8, 8].into(), [8, 8, 4, 4].into()],
            domain_name: Some("example.com".into()),
            lease: LeaseDuration::Seconds(2 * 86400 + 3 * 3600 + 60),
            forbidden: vec![[10, 1, 1, 20].into()],
            ..PoolConfig::default()
        };
        pool.static_bindings.push(StaticBinding {
            ip: [10, 1, 1, 5].into(),
            prefix_len: Some(24),
            client: BindingClient::HardwareAddress([0, 0x11, 0x22, 0x33, 0x44, 0x55]),
        });
        pool.static_bindings.push(StaticBinding {
            ip: [10, 1, 1, 6].into(),
            prefix_len: None,
            client: BindingClient::ClientIdentifier(vec![1, 0, 0xe0, 0xfc, 0, 0, 1]),
        });
        pool.options.insert(43, RawOptionValue::Hex(vec![1, 0xab]));
        pool.options
            .insert(66, RawOptionValue::Ascii("tftp".into()));
        assert_eq!(
            pool_lines("lan", &pool),
            [
                "dhcp server ip-pool lan",
                " gateway-list 10.1.1.1",
                " network 10.1.1.0 mask 255.255.255.0",
                " address range 10.1.1.10 10.1.1.100",
                " dns-list 8.8.8.8 8.8.4.4",
                " domain-name example.com",
                " expired day 2 hour 3 minute 1",
                " forbidden-ip 10.1.1.20",
                " static-bind ip-address 10.1.1.5 mask 255.255.255.0 hardware-address 0011-2233-4455",
                " static-bind ip-address 10.1.1.6 client-identifier 0100-e0fc-0000-01",
                " option 43 hex 01ab",
                " option 66 ascii tftp",
            ]
        );
    }

    #[test]
    fn globals_only_when_not_default() {
        assert!(global_lines(&DhcpConfig::default()).is_empty());
        let cfg = DhcpConfig {
            enabled: true,
            forbidden: vec![
                IpRange::single([10, 1, 1, 1].into()),
                IpRange {
                    start: [10, 1, 1, 2].into(),
                    end: [10, 1, 1, 9].into(),
                },
            ],
            relay_information: false,
            conflict_recycle_secs: 600,
            ..DhcpConfig::default()
        };
        assert_eq!(
            global_lines(&cfg),
            [
                " dhcp enable",
                " dhcp server forbidden-ip 10.1.1.1",
                " dhcp server forbidden-ip 10.1.1.2 10.1.1.9",
                " undo dhcp server relay information enable",
                " dhcp server conflict auto-recycle interval day 0 hour 0 minute 10",
            ]
        );
        assert_eq!(expired_text(0), "expired day 0");
        assert_eq!(expired_text(59), "expired day 0 hour 0 minute 0 second 59");
    }
}
