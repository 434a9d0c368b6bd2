//! `duet cleanup`: remove from the kernel what a device that is no longer running added to it,
//! so a crashed VRRP master does not keep answering ARP for the virtual IP from the virtual MAC
//! (docs/operations.md, "What the unit does on a crash"). `duet run` does the same at start for
//! what an earlier run left, and the systemd unit runs it as `ExecStopPost=`.
//!
//! Three sources, nothing else is touched:
//! 1. the data directory's ledger ([`super::ledger`]): every object recorded and still present
//!    is removed (nftables tables, then routes, addresses, links), and its record forgotten; an
//!    object already gone is forgotten too; one that cannot be removed stays recorded;
//! 2. the VRRP macvlans identifiable by name and address (`vrrp-<parent ifindex>-<vrid>` with
//!    MAC 00-00-5E-00-01-{vrid}, as src/net/vrrp/linux.rs makes them) on the given parents
//!    (the device's ports; none given, no sweep): what a Duet from before the ledger, or a
//!    lost ledger, left behind;
//! 3. with `--config FILE`, the VRRP virtual IPs FILE configures, as /32 on the mapped ports
//!    (where a device puts them when it cannot make a macvlan), recorded or not.
//!
//! The caller must hold the data directory's lock (`datadir::DataDir`), so this never runs
//! while the device that owns the objects runs.

use std::net::IpAddr;
use std::process::Command;

use futures::StreamExt;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::packet_route::route::{RouteProtocol, RouteScope, RouteType};
use rtnetlink::{Handle, RouteMessageBuilder};

use super::NetError;
use super::ledger::{KernelObject, Ledger};

const ENODEV: i32 = 19;
const ESRCH: i32 = 3;
const EADDRNOTAVAIL: i32 = 99;

/// What a cleanup did, one line per object (`removed link vrrp-3-1 macvlan`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub removed: Vec<String>,
    /// Objects that are still there, with the reason; their records are kept.
    pub failed: Vec<String>,
}

fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(m.raw_code().abs()),
        _ => None,
    }
}

/// Order of removal: what refers to an interface goes before the interface.
fn rank(o: &KernelObject) -> u8 {
    match o {
        KernelObject::NftTable { .. } => 0,
        KernelObject::Route { .. } => 1,
        KernelObject::Address { .. } => 2,
        KernelObject::Link { .. } => 3,
    }
}

/// Remove what `ledger` records, the `configured` objects (the virtual IPs a configuration
/// names; removed if present, never recorded) and what is identifiable as Duet's VRRP
/// macvlans on the Linux interfaces `parents`. Acts on the calling
/// thread's network namespace; must run inside a tokio runtime.
pub async fn cleanup(
    ledger: &Ledger,
    configured: &[KernelObject],
    parents: &[String],
) -> Result<Report, NetError> {
    let (conn, handle, _) =
        rtnetlink::new_connection().map_err(|e| NetError::Socket(e.to_string()))?;
    let conn = tokio::spawn(conn);
    let mut report = Report::default();
    let mut objects = ledger.objects();
    objects.sort_by_key(rank);
    for object in configured {
        match remove(&handle, object).await {
            Ok(true) => report.removed.push(object.to_string()),
            Ok(false) => {}
            Err(reason) => report.failed.push(format!("{object}: {reason}")),
        }
    }
    for object in objects {
        match remove(&handle, &object).await {
            Ok(present) => {
                if present {
                    report.removed.push(object.to_string());
                }
                if let Err(e) = ledger.forget(&object) {
                    report
                        .failed
                        .push(format!("{object}: removed, but the ledger: {e}"));
                }
            }
            Err(reason) => report.failed.push(format!("{object}: {reason}")),
        }
    }
    sweep_vrrp_macvlans(&handle, parents, &mut report).await?;
    conn.abort();
    Ok(report)
}

/// Remove one object; `Ok(false)` when it was not there (or is no longer Duet's).
async fn remove(handle: &Handle, object: &KernelObject) -> Result<bool, String> {
    match object {
        KernelObject::Link { name, kind } => {
            let Some(link) = link_by_name(handle, name).await? else {
                return Ok(false);
            };
            // Same name, another kind: someone else's interface now.
            if kind_of(&link).as_deref() != Some(kind.as_str()) {
                return Ok(false);
            }
            del_link(handle, link.header.index).await
        }
        KernelObject::Address { dev, addr, prefix } => {
            let Some(link) = link_by_name(handle, dev).await? else {
                return Ok(false);
            };
            let index = link.header.index;
            let mut stream = handle
                .address()
                .get()
                .set_link_index_filter(index)
                .execute();
            let mut found = None;
            while let Some(m) = stream.next().await {
                let m = m.map_err(|e| e.to_string())?;
                let local = m
                    .attributes
                    .iter()
                    .any(|a| matches!(a, AddressAttribute::Local(IpAddr::V4(v4)) if v4 == addr));
                if m.header.family == AddressFamily::Inet
                    && m.header.index == index
                    && m.header.prefix_len == *prefix
                    && local
                {
                    found = Some(m);
                }
            }
            let Some(m) = found else {
                return Ok(false);
            };
            match handle.address().del(m).execute().await {
                Ok(()) => Ok(true),
                Err(e) if errno(&e) == Some(EADDRNOTAVAIL) => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        }
        KernelObject::Route {
            dst,
            prefix,
            table,
            metric,
            protocol,
        } => {
            // Any scope and type, but this table, metric and protocol only (the kernel
            // matches them).
            let message = RouteMessageBuilder::<std::net::Ipv4Addr>::new()
                .destination_prefix(*dst, *prefix)
                .table_id(*table)
                .priority(*metric)
                .protocol(RouteProtocol::from(*protocol))
                .scope(RouteScope::NoWhere)
                .kind(RouteType::Unspec)
                .build();
            match handle.route().del(message).execute().await {
                Ok(()) => Ok(true),
                Err(e) if errno(&e) == Some(ESRCH) => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        }
        KernelObject::NftTable { family, name } => {
            let nft = |verb: &str| {
                Command::new("nft")
                    .args([verb, "table", family, name])
                    .output()
                    .map_err(|e| format!("cannot run nft: {e}"))
            };
            if !nft("list")?.status.success() {
                return Ok(false);
            }
            let out = nft("delete")?;
            if out.status.success() {
                Ok(true)
            } else {
                Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
            }
        }
    }
}

async fn link_by_name(handle: &Handle, name: &str) -> Result<Option<LinkMessage>, String> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.next().await {
        Some(Ok(link)) => Ok(Some(link)),
        Some(Err(e)) if errno(&e) == Some(ENODEV) => Ok(None),
        Some(Err(e)) => Err(e.to_string()),
        None => Ok(None),
    }
}

async fn del_link(handle: &Handle, index: u32) -> Result<bool, String> {
    match handle.link().del(index).execute().await {
        Ok(()) => Ok(true),
        Err(e) if errno(&e) == Some(ENODEV) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// The link's kind as `ip -d link` names it (`macvlan`, `dummy`), if it has one.
fn kind_of(link: &LinkMessage) -> Option<String> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(kind) => Some(kind.to_string()),
            _ => None,
        }),
        _ => None,
    })
}

fn name_of(link: &LinkMessage) -> Option<&str> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(name) => Some(name.as_str()),
        _ => None,
    })
}

/// Is this a VRRP macvlan as Duet names it: `vrrp-<parent>-<vrid>`, kind macvlan, on
/// `parent`, with the group's virtual MAC?
fn is_duet_vrrp_macvlan(link: &LinkMessage) -> bool {
    let Some(name) = name_of(link) else {
        return false;
    };
    let Some((parent, vrid)) = name
        .strip_prefix("vrrp-")
        .and_then(|rest| rest.split_once('-'))
    else {
        return false;
    };
    let (Ok(parent), Ok(vrid)) = (parent.parse::<u32>(), vrid.parse::<u8>()) else {
        return false;
    };
    let macvlan = link.attributes.iter().any(|a| {
        matches!(a, LinkAttribute::LinkInfo(infos)
            if infos.iter().any(|i| matches!(i, LinkInfo::Kind(InfoKind::MacVlan))))
    });
    let on_parent = link
        .attributes
        .iter()
        .any(|a| matches!(a, LinkAttribute::Link(p) if *p == parent));
    let vmac = link.attributes.iter().any(
        |a| matches!(a, LinkAttribute::Address(mac) if mac.as_slice() == [0, 0, 0x5e, 0, 1, vrid]),
    );
    vrid > 0 && macvlan && on_parent && vmac
}

async fn sweep_vrrp_macvlans(
    handle: &Handle,
    parents: &[String],
    report: &mut Report,
) -> Result<(), NetError> {
    // Without the port mapping there is no telling whose macvlan it is (another device may run
    // on this host): no sweep.
    if parents.is_empty() {
        return Ok(());
    }
    let mut allowed = Vec::new();
    for p in parents {
        // A parent that does not exist has no macvlans.
        if let Ok(index) = nix::net::if_::if_nametoindex(p.as_str()) {
            allowed.push(index);
        }
    }
    let mut links = handle.link().get().execute();
    let mut doomed = Vec::new();
    while let Some(link) = links.next().await {
        let link = link.map_err(|e| NetError::Netlink(e.to_string()))?;
        let parent_ok = link
            .attributes
            .iter()
            .any(|a| matches!(a, LinkAttribute::Link(p) if allowed.contains(p)));
        if parent_ok && is_duet_vrrp_macvlan(&link) {
            doomed.push((
                link.header.index,
                name_of(&link).unwrap_or_default().to_string(),
            ));
        }
    }
    for (index, name) in doomed {
        let object = KernelObject::Link {
            name,
            kind: "macvlan".into(),
        };
        match del_link(handle, index).await {
            Ok(true) => report.removed.push(object.to_string()),
            Ok(false) => {}
            Err(e) => report.failed.push(format!("{object}: {e}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, kind: InfoKind, parent: u32, mac: [u8; 6]) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.attributes = vec![
            LinkAttribute::IfName(name.into()),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(kind)]),
            LinkAttribute::Link(parent),
            LinkAttribute::Address(mac.to_vec()),
        ];
        m
    }

    #[test]
    fn only_macvlans_named_and_addressed_as_duets_vrrp_groups_are_swept() {
        let vmac = |vrid| [0, 0, 0x5e, 0, 1, vrid];
        assert!(is_duet_vrrp_macvlan(&link(
            "vrrp-3-7",
            InfoKind::MacVlan,
            3,
            vmac(7)
        )));
        // keepalived's name, another parent, another group's MAC, another kind, VRID 0.
        for other in [
            link("vrrp.7", InfoKind::MacVlan, 3, vmac(7)),
            link("vrrp-3-7", InfoKind::MacVlan, 4, vmac(7)),
            link("vrrp-3-7", InfoKind::MacVlan, 3, vmac(8)),
            link("vrrp-3-7", InfoKind::Dummy, 3, vmac(7)),
            link("vrrp-3-0", InfoKind::MacVlan, 3, vmac(0)),
            link("vrrp-3-x", InfoKind::MacVlan, 3, vmac(7)),
        ] {
            assert!(!is_duet_vrrp_macvlan(&other), "{other:?}");
        }
        assert_eq!(
            kind_of(&link("a", InfoKind::MacVlan, 1, vmac(1))).as_deref(),
            Some("macvlan")
        );
    }
}
