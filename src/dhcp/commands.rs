//! The DHCP configuration commands (grammar in commands/dhcp.yaml): system view `dhcp enable`,
//! `dhcp server ip-pool NAME` (enters the pool view), `dhcp server forbidden-ip`,
//! `dhcp server relay information enable`, `dhcp server conflict auto-recycle interval`,
//! `dhcp server always-broadcast`; the pool view's settings (addresses, leases, client options
//! and the boot and NetBIOS options); the interface view's
//! `dhcp select server` and `dhcp server apply ip-pool NAME`; `undo` of each.
//!
//! Every change is made on a copy of the DHCP configuration, validated whole
//! ([`DhcpConfig::validate`]) and only then stored, so a rejected command changes nothing.

use std::net::Ipv4Addr;

use super::config::{
    BindingClient, DEFAULT_CONFLICT_RECYCLE_SECS, DEFAULT_PING_TIMEOUT_MS, DhcpConfig, IpRange,
    LeaseDuration, MAX_DNS, MAX_GATEWAYS, MAX_LEASE_SECS, MAX_NBNS, MAX_POOL_NAME, NetbiosType,
    Network, PoolConfig, RawOptionValue, StaticBinding,
};
use super::lease::unhex;
use crate::cli::handler::CmdResult;
use crate::cli::{Args, CmdError, Value, View};
use crate::device::{Ctx, Registry};
use crate::interface::address::prefix_of;
use crate::interface::name::IfName;

/// The view kind of pool views (`views: [dhcp-pool]` in commands/dhcp.yaml).
pub const POOL_VIEW: &str = "dhcp-pool";

/// The view `dhcp server ip-pool NAME` enters, `[Sysname-dhcp-pool-NAME]`; holds the pool's
/// name as configured.
pub fn pool_view(name: &str) -> View {
    View::feature(POOL_VIEW, name, format!("dhcp-pool-{name}"))
}

pub fn register(r: &mut Registry) {
    r.add("dhcp.enable", enable);
    r.add("dhcp.ip_pool", ip_pool);
    r.add("dhcp.forbidden_global", forbidden_global);
    r.add("dhcp.relay_information", relay_information);
    r.add("dhcp.conflict_recycle", conflict_recycle);
    r.add("dhcp.network", network);
    r.add("dhcp.address_range", address_range);
    r.add("dhcp.gateway_list", gateway_list);
    r.add("dhcp.dns_list", dns_list);
    r.add("dhcp.domain_name", domain_name);
    r.add("dhcp.expired", expired);
    r.add("dhcp.forbidden_pool", forbidden_pool);
    r.add("dhcp.static_bind", static_bind);
    r.add("dhcp.option", option);
    r.add("dhcp.always_broadcast", always_broadcast);
    r.add("dhcp.ping_packets", ping_packets);
    r.add("dhcp.ping_timeout", ping_timeout);
    r.add("dhcp.next_server", next_server);
    r.add("dhcp.bootfile_name", bootfile_name);
    r.add("dhcp.tftp_server", tftp_server);
    r.add("dhcp.nbns_list", nbns_list);
    r.add("dhcp.netbios_type", netbios_type);
    r.add("dhcp.select_server", select_server);
    r.add("dhcp.apply_pool", apply_pool);
    super::display::register(r);
}

/// Apply `change` to a copy of the DHCP configuration; store it only if it validates.
fn edit(ctx: &mut Ctx<'_>, change: impl FnOnce(&mut DhcpConfig) -> CmdResult) -> CmdResult {
    let mut config = ctx.device.config.lock();
    let mut dhcp = config.dhcp.clone();
    change(&mut dhcp)?;
    dhcp.validate().map_err(|e| CmdError::msg(e.to_string()))?;
    config.dhcp = dhcp;
    Ok(())
}

/// Edit the pool whose view the session is in.
fn edit_pool(ctx: &mut Ctx<'_>, change: impl FnOnce(&mut PoolConfig) -> CmdResult) -> CmdResult {
    let Some(name) = ctx
        .session
        .view()
        .feature_arg(POOL_VIEW)
        .map(str::to_string)
    else {
        return Err(CmdError::msg(
            "This command must be run in DHCP address pool view.",
        ));
    };
    edit(ctx, |dhcp| {
        let pool = dhcp
            .pools
            .get_mut(&name)
            .ok_or_else(|| CmdError::msg(format!("The address pool {name} does not exist.")))?;
        change(pool)
    })
}

fn ip(args: &Args, name: &str) -> Result<Ipv4Addr, CmdError> {
    args.ipv4(name)
        .ok_or_else(|| CmdError::WrongParameter(name.into()))
}

fn ips(args: &Args, name: &str) -> Vec<Ipv4Addr> {
    args.all(name)
        .filter_map(|v| match v {
            Value::Ipv4(a) => Some(*a),
            _ => None,
        })
        .collect()
}

/// `dhcp enable` / `undo dhcp enable`.
fn enable(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let on = !args.undo;
    edit(ctx, |d| {
        d.enabled = on;
        Ok(())
    })
}

/// `dhcp server ip-pool NAME` creates the pool if needed and enters its view;
/// `undo dhcp server ip-pool NAME` deletes it.
fn ip_pool(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let typed = args
        .str("name")
        .ok_or_else(|| CmdError::WrongParameter("name".into()))?
        .to_string();
    if typed.is_empty()
        || typed.chars().count() > MAX_POOL_NAME
        || typed.chars().any(|c| c.is_control() || c == '?')
    {
        return Err(CmdError::WrongParameter("name".into()));
    }
    // Names compare case-insensitively: an existing pool keeps the spelling it was made with.
    let existing = ctx
        .device
        .config
        .lock()
        .dhcp
        .pool(&typed)
        .map(|(n, _)| n.clone());
    if args.undo {
        let name = existing
            .ok_or_else(|| CmdError::msg(format!("The address pool {typed} does not exist.")))?;
        return edit(ctx, |d| {
            d.pools.remove(&name);
            Ok(())
        });
    }
    let name = match existing {
        Some(n) => n,
        None => {
            edit(ctx, |d| {
                d.pools.insert(typed.clone(), PoolConfig::default());
                Ok(())
            })?;
            typed
        }
    };
    View::enter_under_system(&mut ctx.session.views, pool_view(&name));
    Ok(())
}

/// `dhcp server forbidden-ip START [END]`; `undo` must name the same range.
fn forbidden_global(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let start = ip(args, "start")?;
    let end = args.ipv4("end").unwrap_or(start);
    if end < start {
        return Err(CmdError::WrongParameter("end".into()));
    }
    let range = IpRange { start, end };
    let undo = args.undo;
    edit(ctx, |d| {
        if undo {
            let before = d.forbidden.len();
            d.forbidden.retain(|r| *r != range);
            if d.forbidden.len() == before {
                return Err(CmdError::msg(
                    "The specified forbidden IP address range does not exist.",
                ));
            }
        } else if !d.forbidden.contains(&range) {
            d.forbidden.push(range);
        }
        Ok(())
    })
}

/// `dhcp server relay information enable` (default) / `undo ...`: echo option 82 or ignore it.
fn relay_information(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let on = !args.undo;
    edit(ctx, |d| {
        d.relay_information = on;
        Ok(())
    })
}

/// `dhcp server conflict auto-recycle interval day D [hour H [minute M [second S]]]` / `undo
/// ...` (1 day): how long a declined address stays out of its pool.
fn conflict_recycle(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let secs = if args.undo {
        DEFAULT_CONFLICT_RECYCLE_SECS
    } else {
        let secs = duration_secs(args)?;
        if secs == 0 {
            return Err(CmdError::msg(
                "The conflict recycle interval must be at least 1 second.",
            ));
        }
        secs
    };
    edit(ctx, |d| {
        d.conflict_recycle_secs = secs;
        Ok(())
    })
}

/// Seconds of `day D [hour H [minute M [second S]]]` (at most 365 days 23:59:59).
fn duration_secs(args: &Args) -> Result<u32, CmdError> {
    let part = |n: &str| args.int(n).unwrap_or(0);
    let secs = part("days") * 86400 + part("hours") * 3600 + part("minutes") * 60 + part("seconds");
    u32::try_from(secs)
        .ok()
        .filter(|s| *s <= MAX_LEASE_SECS)
        .ok_or_else(|| CmdError::WrongParameter("days".into()))
}

/// The prefix length of `[ LEN | mask M ]` under the given argument names, if given.
fn prefix(args: &Args, len: &str, mask: &str) -> Result<Option<u8>, CmdError> {
    if let Some(m) = args.ipv4(mask) {
        let l = prefix_of(m).map_err(|_| CmdError::WrongParameter(mask.into()))?;
        if l == 0 {
            return Err(CmdError::WrongParameter(mask.into()));
        }
        return Ok(Some(l));
    }
    match args.int(len) {
        Some(l) if (1..=32).contains(&l) => Ok(Some(l as u8)),
        Some(_) => Err(CmdError::WrongParameter(len.into())),
        None => Ok(None),
    }
}

/// `network A.B.C.D [ LEN | mask M ]` (without a length: the address's natural class mask).
fn network(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    if args.undo {
        return edit_pool(ctx, |p| {
            p.network = None;
            Ok(())
        });
    }
    let addr = ip(args, "net")?;
    let len = match prefix(args, "len", "netmask")? {
        Some(l) => l,
        None => natural_prefix(addr).ok_or_else(|| CmdError::WrongParameter("net".into()))?,
    };
    if len > 31 {
        let slot = if args.has("netmask") {
            "netmask"
        } else {
            "len"
        };
        return Err(CmdError::WrongParameter(slot.into()));
    }
    let net = Network {
        address: addr,
        prefix_len: len,
    };
    let net = Network {
        address: net.base(),
        prefix_len: len,
    };
    edit_pool(ctx, |p| {
        p.network = Some(net);
        Ok(())
    })
}

/// The classful mask Comware uses when `network` has no length (class A, B or C).
fn natural_prefix(ip: Ipv4Addr) -> Option<u8> {
    match ip.octets()[0] {
        1..=127 => Some(8),
        128..=191 => Some(16),
        192..=223 => Some(24),
        _ => None,
    }
}

/// `address range START END` / `undo address range`.
fn address_range(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let range = if args.undo {
        None
    } else {
        let (start, end) = (ip(args, "start")?, ip(args, "end")?);
        if end < start {
            return Err(CmdError::WrongParameter("end".into()));
        }
        Some(IpRange { start, end })
    };
    edit_pool(ctx, |p| {
        p.range = range;
        Ok(())
    })
}

/// Add addresses to a list of at most `max` (`gateway-list`, `dns-list`), or remove them
/// (`undo` with addresses), or clear it (`undo` alone).
fn edit_list(list: &mut Vec<Ipv4Addr>, given: Vec<Ipv4Addr>, undo: bool, max: usize) -> CmdResult {
    if undo {
        if given.is_empty() {
            list.clear();
        } else {
            list.retain(|a| !given.contains(a));
        }
        return Ok(());
    }
    for a in given {
        if !list.contains(&a) {
            list.push(a);
        }
    }
    if list.len() > max {
        return Err(CmdError::msg(format!(
            "The number of addresses exceeds the limit ({max})."
        )));
    }
    Ok(())
}

/// `gateway-list IP&<1-8>` / `undo gateway-list [IP&<1-8>]`.
fn gateway_list(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let (given, undo) = (ips(args, "gw"), args.undo);
    edit_pool(ctx, |p| {
        edit_list(&mut p.gateways, given, undo, MAX_GATEWAYS)
    })
}

/// `dns-list IP&<1-8>` / `undo dns-list [IP&<1-8>]`.
fn dns_list(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let (given, undo) = (ips(args, "dns"), args.undo);
    edit_pool(ctx, |p| edit_list(&mut p.dns, given, undo, MAX_DNS))
}

/// `domain-name NAME` / `undo domain-name`.
fn domain_name(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let name = if args.undo {
        None
    } else {
        let d = args
            .str("domain")
            .ok_or_else(|| CmdError::WrongParameter("domain".into()))?;
        if d.is_empty() || !d.chars().all(|c| c.is_ascii_graphic()) {
            return Err(CmdError::WrongParameter("domain".into()));
        }
        Some(d.to_string())
    };
    edit_pool(ctx, |p| {
        p.domain_name = name;
        Ok(())
    })
}

/// `expired { day D [hour H [minute M [second S]]] | unlimited }` / `undo expired` (1 day).
fn expired(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let lease = if args.undo {
        LeaseDuration::default()
    } else if args.has("unlimited") {
        LeaseDuration::Unlimited
    } else {
        let secs = duration_secs(args)?;
        if secs == 0 {
            return Err(CmdError::msg(
                "The lease duration must be at least 1 second.",
            ));
        }
        LeaseDuration::Seconds(secs)
    };
    edit_pool(ctx, |p| {
        p.lease = lease;
        Ok(())
    })
}

/// `forbidden-ip IP&<1-8>` / `undo forbidden-ip [IP&<1-8>]` (pool-local).
fn forbidden_pool(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let (given, undo) = (ips(args, "fip"), args.undo);
    edit_pool(ctx, |p| {
        edit_list(&mut p.forbidden, given, undo, usize::MAX)
    })
}

/// Hex digits, optionally in `-`-separated groups (`0100-e0fc-0000-01`), as bytes.
fn parse_dashed_hex(text: &str) -> Option<Vec<u8>> {
    let digits: String = text.chars().filter(|c| *c != '-').collect();
    if digits.is_empty() || text.starts_with('-') || text.ends_with('-') || text.contains("--") {
        return None;
    }
    unhex(&digits)
}

/// `static-bind ip-address IP [LEN | mask M] { client-identifier ID | hardware-address MAC }`;
/// `undo static-bind ip-address IP`. Rebinding an address needs the undo first (Comware).
fn static_bind(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let sip = ip(args, "sip")?;
    if args.undo {
        return edit_pool(ctx, |p| {
            let before = p.static_bindings.len();
            p.static_bindings.retain(|b| b.ip != sip);
            if p.static_bindings.len() == before {
                return Err(CmdError::msg(format!(
                    "The static binding of {sip} does not exist."
                )));
            }
            Ok(())
        });
    }
    let prefix_len = prefix(args, "slen", "smask")?;
    let client = if let Some(mac) = args.mac("hw") {
        BindingClient::HardwareAddress(mac)
    } else {
        let text = args
            .str("cid")
            .ok_or_else(|| CmdError::WrongParameter("cid".into()))?;
        BindingClient::ClientIdentifier(
            parse_dashed_hex(text)
                .filter(|b| b.len() >= 2)
                .ok_or_else(|| CmdError::WrongParameter("cid".into()))?,
        )
    };
    edit_pool(ctx, |p| {
        if p.static_bindings.iter().any(|b| b.ip == sip) {
            return Err(CmdError::msg(format!(
                "The IP address {sip} is already statically bound; undo the binding first."
            )));
        }
        if p.static_bindings.iter().any(|b| b.client == client) {
            return Err(CmdError::msg(
                "The client already has a static binding in this pool.",
            ));
        }
        p.static_bindings.push(StaticBinding {
            ip: sip,
            prefix_len,
            client,
        });
        Ok(())
    })
}

/// `option CODE { ascii S | hex H | ip-address IP&<1-8> }` / `undo option CODE`.
fn option(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let code = args
        .int("code")
        .and_then(|c| u8::try_from(c).ok())
        .ok_or_else(|| CmdError::WrongParameter("code".into()))?;
    if args.undo {
        return edit_pool(ctx, |p| {
            p.options.remove(&code);
            Ok(())
        });
    }
    let value = if let Some(t) = args.str("text") {
        RawOptionValue::Ascii(t.to_string())
    } else if let Some(h) = args.str("bytes") {
        RawOptionValue::Hex(
            parse_dashed_hex(h)
                .filter(|b| b.len() <= 255)
                .ok_or_else(|| CmdError::WrongParameter("bytes".into()))?,
        )
    } else {
        let l = ips(args, "oip");
        if l.is_empty() {
            return Err(CmdError::WrongParameter("oip".into()));
        }
        RawOptionValue::IpAddress(l)
    };
    edit_pool(ctx, |p| {
        p.options.insert(code, value);
        Ok(())
    })
}

/// `dhcp server always-broadcast` / `undo ...` (default off).
fn always_broadcast(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let on = !args.undo;
    edit(ctx, |d| {
        d.always_broadcast = on;
        Ok(())
    })
}

/// `dhcp server ping packets N` / `undo ...` (Duet's default 0, the probe off: docs/dhcp.md).
fn ping_packets(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let n = match args.undo {
        true => 0,
        false => args
            .int("n")
            .and_then(|n| u8::try_from(n).ok())
            .ok_or_else(|| CmdError::WrongParameter("n".into()))?,
    };
    edit(ctx, |d| {
        d.ping_packets = n;
        Ok(())
    })
}

/// `dhcp server ping timeout MS` / `undo ...` (default 500 ms).
fn ping_timeout(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let ms = match args.undo {
        true => DEFAULT_PING_TIMEOUT_MS,
        false => args
            .int("ms")
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| CmdError::WrongParameter("ms".into()))?,
    };
    edit(ctx, |d| {
        d.ping_timeout_ms = ms;
        Ok(())
    })
}

/// A name sent in an option or header field: printable ASCII without spaces (what a TFTP
/// client can use), at most `max` characters (the grammar checks the length too).
fn boot_name(args: &Args, name: &str, max: usize) -> Result<String, CmdError> {
    args.str(name)
        .filter(|t| !t.is_empty() && t.len() <= max && t.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
        .ok_or_else(|| CmdError::WrongParameter(name.into()))
}

/// `next-server IP` / `undo next-server`.
fn next_server(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let ns = if args.undo {
        None
    } else {
        Some(ip(args, "ns")?)
    };
    edit_pool(ctx, |p| {
        p.next_server = ns;
        Ok(())
    })
}

/// `bootfile-name NAME` / `undo bootfile-name`.
fn bootfile_name(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let file = if args.undo {
        None
    } else {
        Some(boot_name(args, "file", 63)?)
    };
    edit_pool(ctx, |p| {
        p.bootfile_name = file;
        Ok(())
    })
}

/// `tftp-server { ip-address IP | domain-name NAME }` / `undo tftp-server { ip-address |
/// domain-name }`: the two are separate settings (options 150 and 66).
fn tftp_server(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let by_address = args.has("ip-address");
    if args.undo {
        return edit_pool(ctx, |p| {
            if by_address {
                p.tftp_server_ip = None;
            } else {
                p.tftp_server_name = None;
            }
            Ok(())
        });
    }
    if by_address {
        let a = ip(args, "tip")?;
        edit_pool(ctx, |p| {
            p.tftp_server_ip = Some(a);
            Ok(())
        })
    } else {
        let n = boot_name(args, "tname", 63)?;
        edit_pool(ctx, |p| {
            p.tftp_server_name = Some(n);
            Ok(())
        })
    }
}

/// `nbns-list IP&<1-8>` / `undo nbns-list [IP&<1-8>]`.
fn nbns_list(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let (given, undo) = (ips(args, "nbns"), args.undo);
    edit_pool(ctx, |p| edit_list(&mut p.nbns, given, undo, MAX_NBNS))
}

/// `netbios-type { b-node | p-node | m-node | h-node }` / `undo netbios-type`.
fn netbios_type(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let t = if args.undo {
        None
    } else {
        let t = [
            NetbiosType::BNode,
            NetbiosType::PNode,
            NetbiosType::MNode,
            NetbiosType::HNode,
        ]
        .into_iter()
        .find(|t| args.has(t.keyword()))
        .ok_or_else(|| CmdError::WrongParameter("netbios-type".into()))?;
        Some(t)
    };
    edit_pool(ctx, |p| {
        p.netbios_type = t;
        Ok(())
    })
}

/// The port whose view the session is in.
fn current_port(ctx: &Ctx<'_>) -> Result<IfName, CmdError> {
    let View::Interface(text) = ctx.session.view() else {
        return Err(CmdError::msg("This command must be run in interface view."));
    };
    text.parse::<IfName>()
        .ok()
        .filter(|name| ctx.device.ports.contains(name))
        .ok_or_else(|| CmdError::msg(format!("The interface {text} does not exist.")))
}

/// `dhcp select server` / `undo dhcp select server` (interface view).
fn select_server(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let port = current_port(ctx)?;
    let mut config = ctx.device.config.lock();
    if let Some(i) = config.interfaces.get_mut(&port) {
        i.dhcp.select_server = !args.undo;
    }
    Ok(())
}

/// `dhcp server apply ip-pool NAME` / `undo dhcp server apply ip-pool` (interface view). The
/// pool need not exist yet (Comware accepts it and serves once it is created).
fn apply_pool(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let port = current_port(ctx)?;
    let pool = if args.undo {
        None
    } else {
        let name = args
            .str("name")
            .filter(|n| !n.is_empty() && n.chars().count() <= MAX_POOL_NAME)
            .ok_or_else(|| CmdError::WrongParameter("name".into()))?;
        Some(name.to_string())
    };
    let mut config = ctx.device.config.lock();
    if let Some(i) = config.interfaces.get_mut(&port) {
        i.dhcp.apply_pool = pool;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::testing::{TestIo, admin_session};
    use crate::session::Session;

    /// Run lines through the real grammar; returns (last prompt, outputs of failed lines).
    fn shell(lines: &[&str]) -> (Session, Vec<String>) {
        // The sim device is never started: its data directory is not used.
        let (_dir, mut s) = admin_session();
        let mut errors = Vec::new();
        for l in lines {
            let o = s.execute(l, &mut TestIo);
            if !o.ok {
                errors.push(format!("{l}: {}", o.output));
            }
        }
        (s, errors)
    }

    fn dhcp(s: &Session) -> DhcpConfig {
        s_device(s).config.lock().dhcp.clone()
    }

    fn s_device(s: &Session) -> &crate::device::Device {
        &s.device
    }

    #[test]
    fn pool_view_and_every_setting() {
        let (s, errors) = shell(&[
            "system-view",
            "dhcp enable",
            "dhcp server forbidden-ip 10.1.1.2 10.1.1.5",
            "dhcp server forbidden-ip 10.1.1.9",
            "undo dhcp server relay information enable",
            "dhcp server ip-pool Lan",
            "network 10.1.1.77 mask 255.255.255.0",
            "address range 10.1.1.10 10.1.1.100",
            "gateway-list 10.1.1.1 10.1.1.254",
            "dns-list 8.8.8.8",
            "domain-name example.com",
            "expired day 1 hour 2 minute 3 second 4",
            "forbidden-ip 10.1.1.50 10.1.1.51",
            "static-bind ip-address 10.1.1.20 mask 255.255.255.0 hardware-address 0011-2233-4455",
            "static-bind ip-address 10.1.1.21 client-identifier 0100-e0fc-0000-01",
            "option 43 hex 01ab",
            "option 66 ascii tftp.example",
            "option 150 ip-address 10.1.1.3 10.1.1.4",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(s.prompt(), "[Duet-dhcp-pool-Lan]");
        let d = dhcp(&s);
        assert!(d.enabled && !d.relay_information);
        assert_eq!(d.forbidden.len(), 2);
        let p = &d.pools["Lan"];
        assert_eq!(
            p.network,
            Some(Network {
                address: [10, 1, 1, 0].into(),
                prefix_len: 24
            })
        );
        assert_eq!(p.gateways.len(), 2);
        assert_eq!(p.lease, LeaseDuration::Seconds(86400 + 7200 + 180 + 4));
        assert_eq!(p.forbidden.len(), 2);
        assert_eq!(p.static_bindings.len(), 2);
        assert_eq!(
            p.static_bindings[1].client,
            BindingClient::ClientIdentifier(vec![1, 0, 0xe0, 0xfc, 0, 0, 1])
        );
        assert_eq!(p.options[&43], RawOptionValue::Hex(vec![1, 0xab]));
        // The rendered text shows the pool in its own section, before the interfaces.
        let text = s_device(&s).config.lock().render();
        let pool_at = text
            .find("#\ndhcp server ip-pool Lan\n gateway-list")
            .unwrap();
        assert!(pool_at < text.find("interface GigabitEthernet1/0/1").unwrap());
        assert!(text.contains(" dhcp enable\n dhcp server forbidden-ip 10.1.1.2 10.1.1.5\n"));
    }

    #[test]
    fn undo_forms_restore_defaults() {
        let (s, errors) = shell(&[
            "system-view",
            "dhcp enable",
            "dhcp server ip-pool p",
            "network 10.2.0.0 16",
            "gateway-list 10.2.0.1 10.2.0.2",
            "undo gateway-list 10.2.0.1",
            "dns-list 10.2.0.3",
            "undo dns-list",
            "expired unlimited",
            "undo expired",
            "domain-name x",
            "undo domain-name",
            "static-bind ip-address 10.2.0.9 hardware-address 0011-2233-4455",
            "undo static-bind ip-address 10.2.0.9",
            "option 43 hex 01",
            "undo option 43",
            "address range 10.2.0.10 10.2.0.20",
            "undo address range",
            "quit",
            "dhcp server forbidden-ip 10.2.0.5",
            "undo dhcp server forbidden-ip 10.2.0.5",
            "undo dhcp enable",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        let d = dhcp(&s);
        let p = &d.pools["p"];
        assert_eq!(p.gateways, [Ipv4Addr::new(10, 2, 0, 2)]);
        assert!(p.dns.is_empty() && p.domain_name.is_none() && p.range.is_none());
        assert_eq!(p.lease, LeaseDuration::default());
        assert!(p.static_bindings.is_empty() && p.options.is_empty());
        assert!(!d.enabled && d.forbidden.is_empty());
        let (s, errors) = shell(&[
            "system-view",
            "dhcp server ip-pool p",
            "quit",
            "undo dhcp server ip-pool P",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(dhcp(&s).pools.is_empty());
    }

    #[test]
    fn rejected_commands_change_nothing() {
        let (s, errors) = shell(&[
            "system-view",
            "dhcp server ip-pool a",
            "network 10.1.1.0 24",
            "static-bind ip-address 10.1.1.5 hardware-address 0011-2233-4455",
            // Outside the network, rebinding without undo, the same client twice.
            "address range 10.1.2.1 10.1.2.9",
            "static-bind ip-address 10.1.1.5 hardware-address 0011-2233-4466",
            "static-bind ip-address 10.1.1.6 hardware-address 0011-2233-4455",
            "address range 10.1.1.9 10.1.1.1",
            "option 53 hex 01",
            "option 43 hex 123",
            "static-bind ip-address 10.1.1.7 client-identifier 01-",
            "undo static-bind ip-address 10.1.1.99",
            "quit",
            "undo dhcp server forbidden-ip 10.9.9.9",
            "dhcp server ip-pool b",
            "network 10.1.1.0 mask 255.255.255.0",
            "expired day 0",
        ]);
        assert_eq!(errors.len(), 11, "{errors:#?}");
        assert!(errors[0].contains("is not inside network"), "{}", errors[0]);
        let d = dhcp(&s);
        assert_eq!(d.pools["a"].static_bindings.len(), 1);
        assert!(d.pools["a"].range.is_none() && d.pools["a"].options.is_empty());
        assert!(d.pools["b"].network.is_none());
    }

    #[test]
    fn conflict_recycle_interval_sets_renders_and_undoes() {
        let (s, errors) = shell(&[
            "system-view",
            "dhcp server conflict auto-recycle interval day 0 hour 0 minute 10",
            "dhcp server conflict auto-recycle interval day 0",
        ]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("at least 1 second"), "{}", errors[0]);
        assert_eq!(dhcp(&s).conflict_recycle_secs, 600);
        let text = s_device(&s).config.lock().render();
        assert!(
            text.contains("\n dhcp server conflict auto-recycle interval day 0 hour 0 minute 10\n"),
            "{text}"
        );
        let (s, errors) = shell(&[
            "system-view",
            "dhcp server conflict auto-recycle interval day 2 hour 1",
            "undo dhcp server conflict auto-recycle interval",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            dhcp(&s).conflict_recycle_secs,
            DEFAULT_CONFLICT_RECYCLE_SECS
        );
        assert!(!s_device(&s).config.lock().render().contains("auto-recycle"));
    }

    #[test]
    fn ping_probe_settings_set_render_and_undo() {
        let (s, errors) = shell(&[
            "system-view",
            "dhcp server ping packets 3",
            "dhcp server ping timeout 200",
            // Out of range: 11 packets, 0 ms.
            "dhcp server ping packets 11",
            "dhcp server ping timeout 0",
        ]);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        let d = dhcp(&s);
        assert_eq!((d.ping_packets, d.ping_timeout_ms), (3, 200));
        let text = s_device(&s).config.lock().render();
        assert!(
            text.contains("\n dhcp server ping packets 3\n dhcp server ping timeout 200\n"),
            "{text}"
        );
        let (s, errors) = shell(&[
            "system-view",
            "dhcp server ping packets 3",
            "dhcp server ping timeout 200",
            "undo dhcp server ping packets",
            "undo dhcp server ping timeout",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        let d = dhcp(&s);
        assert_eq!(
            (d.ping_packets, d.ping_timeout_ms),
            (0, DEFAULT_PING_TIMEOUT_MS)
        );
        assert!(!s_device(&s).config.lock().render().contains("ping"));
    }

    #[test]
    fn boot_and_netbios_settings_set_render_and_undo() {
        let (s, errors) = shell(&[
            "system-view",
            "dhcp server always-broadcast",
            "dhcp server ip-pool pxe",
            "network 10.3.0.0 24",
            "next-server 10.3.0.5",
            "bootfile-name pxelinux.0",
            "tftp-server ip-address 10.3.0.6",
            "tftp-server domain-name tftp.example",
            "nbns-list 10.3.0.7 10.3.0.8",
            "netbios-type h-node",
            // Refused: a space in a file name, a ninth WINS server.
            "bootfile-name \"a b\"",
            "nbns-list 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7",
        ]);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[1].contains("exceeds the limit (8)"), "{}", errors[1]);
        let d = dhcp(&s);
        assert!(d.always_broadcast);
        let p = &d.pools["pxe"];
        assert_eq!(p.next_server, Some(Ipv4Addr::new(10, 3, 0, 5)));
        assert_eq!(p.bootfile_name.as_deref(), Some("pxelinux.0"));
        assert_eq!(p.tftp_server_ip, Some(Ipv4Addr::new(10, 3, 0, 6)));
        assert_eq!(p.tftp_server_name.as_deref(), Some("tftp.example"));
        assert_eq!(p.nbns.len(), 2);
        assert_eq!(p.netbios_type, Some(NetbiosType::HNode));
        let text = s_device(&s).config.lock().render();
        assert!(
            text.contains(
                " bootfile-name pxelinux.0\n next-server 10.3.0.5\n tftp-server ip-address 10.3.0.6\n tftp-server domain-name tftp.example\n nbns-list 10.3.0.7 10.3.0.8\n netbios-type h-node\n"
            ),
            "{text}"
        );
        assert!(text.contains("\n dhcp server always-broadcast\n"), "{text}");
        let (s, errors) = shell(&[
            "system-view",
            "dhcp server always-broadcast",
            "undo dhcp server always-broadcast",
            "dhcp server ip-pool pxe",
            "next-server 10.3.0.5",
            "bootfile-name pxelinux.0",
            "tftp-server ip-address 10.3.0.6",
            "tftp-server domain-name tftp.example",
            "nbns-list 10.3.0.7 10.3.0.8",
            "netbios-type b-node",
            "undo next-server",
            "undo bootfile-name",
            "undo tftp-server ip-address",
            "undo nbns-list 10.3.0.7",
            "undo netbios-type",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        let d = dhcp(&s);
        let p = &d.pools["pxe"];
        assert!(!d.always_broadcast);
        assert!(p.next_server.is_none() && p.bootfile_name.is_none());
        assert!(p.tftp_server_ip.is_none() && p.netbios_type.is_none());
        // `undo tftp-server ip-address` leaves the name; `undo nbns-list IP` one address.
        assert_eq!(p.tftp_server_name.as_deref(), Some("tftp.example"));
        assert_eq!(p.nbns, [Ipv4Addr::new(10, 3, 0, 8)]);
    }

    #[test]
    fn interface_lines() {
        let (s, errors) = shell(&[
            "system-view",
            "interface ge1/0/2",
            "dhcp select server",
            "dhcp server apply ip-pool lan",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        let text = s_device(&s).config.lock().render();
        assert!(
            text.contains(
                "interface GigabitEthernet1/0/2\n dhcp select server\n dhcp server apply ip-pool lan\n"
            ),
            "{text}"
        );
        let (s, errors) = shell(&[
            "system-view",
            "interface ge1/0/2",
            "dhcp server apply ip-pool lan",
            "undo dhcp server apply ip-pool",
            "dhcp select server",
            "undo dhcp select server",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        let cfg = s_device(&s).config.lock().clone();
        assert_eq!(
            cfg.interfaces[&"ge1/0/2".parse::<IfName>().unwrap()].dhcp,
            Default::default()
        );
    }
}
