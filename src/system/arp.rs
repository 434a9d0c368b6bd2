//! `display arp [ all | dynamic | static | interface IF ]`: the device's IPv4 neighbours in
//! Comware 7's columns.
//!
//! Where the entries come from: on Linux, the kernel's neighbour table of the device's network
//! namespace (`/proc/net/arp`: complete entries, permanent ones as static), each mapped to the
//! port whose Linux interface holds it (a VRRP macvlan counts as its parent's); on the
//! simulated LAN, the ports a port reaches on its segment ([`crate::net::sim::Lan::neighbours`]).
//! Besides, a VRRP master lists each virtual IP it owns with the MAC it answers ARP with (the
//! virtual MAC 0000-5e00-01xx where the backend set it up), as a static entry: that pair is
//! what the LAN's hosts learn for the gateway. Linux ages neighbours by reachability, not with
//! a minute counter as Comware does, so `Aging` shows `N/A`.

use std::net::Ipv4Addr;

use crate::cli::handler::CmdResult;
use crate::cli::table::{Column, Table};
use crate::cli::{Args, CmdError};
use crate::device::{Ctx, Device, NetKind};
use crate::interface::name::IfName;
use crate::net::mac_text;
use crate::vrrp::driver::MacMode;

/// One entry of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArpEntry {
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
    pub port: IfName,
    /// `D` (learned) or `S` (static: permanent in the kernel, or the master's virtual IP).
    pub dynamic: bool,
}

const LEGEND: &str = "  Type: S-Static   D-Dynamic   O-Openflow   R-Rule   M-Multiport  I-Invalid";
const COLUMNS: [Column; 6] = [
    Column::left(15).gap(1),
    Column::left(14).gap(1),
    Column::left(13).gap(1),
    Column::left(24).gap(1),
    Column::left(5).gap(1),
    Column::rest(),
];

/// The port a Linux interface belongs to: the port mapped onto it, or onto its lower
/// interface (a macvlan's parent, from `/sys/class/net/DEV/lower_*`).
fn port_of(ports: &[(IfName, String)], dev: &str) -> Option<IfName> {
    if let Some((port, _)) = ports.iter().find(|(_, linux)| linux == dev) {
        return Some(port.clone());
    }
    let dir = std::fs::read_dir(format!("/sys/class/net/{dev}")).ok()?;
    dir.filter_map(Result::ok).find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let lower = name.strip_prefix("lower_")?;
        ports
            .iter()
            .find(|(_, linux)| linux == lower)
            .map(|(p, _)| p.clone())
    })
}

/// Parse `/proc/net/arp`: `IP address  HW type  Flags  HW address  Mask  Device`. Incomplete
/// entries (flags without ATF_COM, 0x2) and lines that do not parse are left out.
pub fn parse_proc_arp(text: &str, ports: &[(IfName, String)]) -> Vec<ArpEntry> {
    const ATF_COM: u32 = 0x2;
    const ATF_PERM: u32 = 0x4;
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [ip, _hw, flags, mac, _mask, dev] = f.as_slice() else {
                return None;
            };
            let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).ok()?;
            if flags & ATF_COM == 0 {
                return None;
            }
            let bytes: Vec<u8> = mac
                .split(':')
                .map(|b| u8::from_str_radix(b, 16))
                .collect::<Result<_, _>>()
                .ok()?;
            Some(ArpEntry {
                ip: ip.parse().ok()?,
                mac: bytes.try_into().ok()?,
                port: port_of(ports, dev)?,
                dynamic: flags & ATF_PERM == 0,
            })
        })
        .collect()
}

/// Every entry the device knows, sorted by address.
fn entries(device: &Device) -> Result<Vec<ArpEntry>, CmdError> {
    let mut all = match &device.options.net {
        NetKind::Linux { ports } => {
            let text = std::fs::read_to_string("/proc/net/arp").map_err(|e| {
                CmdError::msg(format!("Failed to read the kernel's ARP table: {e}."))
            })?;
            parse_proc_arp(&text, ports)
        }
        NetKind::Sim => match device.sim.get() {
            Some((lan, node)) => lan
                .neighbours(*node)
                .into_iter()
                .map(|n| ArpEntry {
                    ip: n.ip,
                    mac: n.mac,
                    port: n.port,
                    dynamic: true,
                })
                .collect(),
            None => Vec::new(),
        },
    };
    // The master's virtual IPs with the MAC it answers for them.
    let interfaces = device.interfaces();
    for group in device.vrrp_status.borrow().groups.values() {
        if !group.is_master() {
            continue;
        }
        let mac = match &group.mac_mode {
            Some(MacMode::Virtual) => Some(group.status.virtual_mac),
            _ => interfaces.get(&group.interface).and_then(|s| s.mac),
        };
        let Some(mac) = mac else { continue };
        for ip in &group.status.virtual_ips {
            all.retain(|e| e.ip != *ip);
            all.push(ArpEntry {
                ip: *ip,
                mac,
                port: group.interface.clone(),
                dynamic: false,
            });
        }
    }
    all.sort_by_key(|e| (e.ip, e.port.clone()));
    Ok(all)
}

/// `display arp [ all | dynamic | static | interface IF ]`
pub fn display_arp(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let port = match args.str("if") {
        None => None,
        Some(text) => {
            let name: IfName = text
                .parse()
                .map_err(|_| CmdError::WrongParameter("if".into()))?;
            if !ctx.device.has_port(&name) {
                return Err(CmdError::WrongParameter("if".into()));
            }
            Some(name)
        }
    };
    let shown: Vec<ArpEntry> = entries(ctx.device)?
        .into_iter()
        .filter(|e| !args.has("dynamic") || e.dynamic)
        .filter(|e| !args.has("static") || !e.dynamic)
        .filter(|e| port.as_ref().is_none_or(|p| *p == e.port))
        .collect();
    ctx.table(&table(&shown));
    Ok(())
}

/// The legend, the header and one row per entry.
pub fn table(entries: &[ArpEntry]) -> Table {
    let mut t = Table::new(&COLUMNS);
    t.text(LEGEND);
    t.row([
        "IP address",
        "MAC address",
        "VLAN/VSI name",
        "Interface",
        "Aging",
        "Type",
    ]);
    for e in entries {
        t.row([
            e.ip.to_string(),
            mac_text(&e.mac),
            "N/A".to_string(),
            e.port.short(),
            "N/A".to_string(),
            if e.dynamic { "D" } else { "S" }.to_string(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_arp_lines() {
        let ports = vec![("ge1/0/1".parse::<IfName>().unwrap(), "veth-a".to_string())];
        let text = "IP address       HW type     Flags       HW address            Mask     Device\n\
                    10.1.1.20        0x1         0x2         02:00:00:00:00:14     *        veth-a\n\
                    10.1.1.30        0x1         0x0         00:00:00:00:00:00     *        veth-a\n\
                    10.1.1.40        0x1         0x6         02:00:00:00:00:28     *        veth-a\n\
                    10.9.9.9         0x1         0x2         02:00:00:00:00:99     *        no-such-dev0\n\
                    garbage\n";
        let got = parse_proc_arp(text, &ports);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].ip, Ipv4Addr::new(10, 1, 1, 20));
        assert!(got[0].dynamic);
        assert_eq!(got[0].mac, [2, 0, 0, 0, 0, 0x14]);
        assert!(!got[1].dynamic, "permanent is static");
    }

    #[test]
    fn layout() {
        let rows = table(&[ArpEntry {
            ip: Ipv4Addr::new(10, 1, 100, 1),
            mac: [0, 0x14, 0x1c, 0x57, 0xa4, 0xc2],
            port: "ge1/0/1".parse().unwrap(),
            dynamic: true,
        }])
        .lines();
        assert_eq!(
            rows,
            [
                LEGEND,
                "IP address      MAC address    VLAN/VSI name Interface                Aging Type",
                "10.1.100.1      0014-1c57-a4c2 N/A           GE1/0/1                  N/A   D",
            ]
        );
    }
}
