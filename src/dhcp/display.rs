//! `display dhcp server ...` and `reset dhcp server ...` (grammar in commands/dhcp.yaml), with
//! the Comware 7 layouts of cli-reference.md section 3.2. Everything about leases is computed
//! inside the DHCP engine's task ([`DhcpHandle::query`](super::driver::DhcpHandle::query)) and
//! comes back as data; the session never touches the lease table. `display dhcp server pool`
//! shows configuration only.

use std::net::Ipv4Addr;

use chrono::{Datelike, Local, TimeZone};

use super::config::{BindingClient, DhcpConfig, LeaseDuration};
use super::driver::DhcpHandle;
use super::lease::{LeaseRecord, LeaseState, Millis, NEVER};
use super::options::MessageType;
use super::render::{dashed_hex, split_secs};
use super::server::Server;
use crate::cli::handler::CmdResult;
use crate::cli::table::{self, Column, Table};
use crate::cli::{Args, CmdError};
use crate::device::{Ctx, Registry};
use crate::interface::address::mask_of;
use crate::net::mac_text;

pub fn register(r: &mut Registry) {
    r.add("dhcp.display_ip_in_use", display_ip_in_use);
    r.add("dhcp.display_free_ip", display_free_ip);
    r.add("dhcp.display_statistics", display_statistics);
    r.add("dhcp.display_conflict", display_conflict);
    r.add("dhcp.display_expired", display_expired);
    r.add("dhcp.display_pool", display_pool);
    r.add("dhcp.reset_ip_in_use", reset_ip_in_use);
    r.add("dhcp.reset_conflict", reset_conflict);
    r.add("dhcp.reset_expired", reset_expired);
    r.add("dhcp.reset_statistics", reset_statistics);
}

/// Run `f` in the DHCP engine.
fn query<R: Send + 'static>(
    ctx: &Ctx<'_>,
    f: impl FnOnce(&mut Server, Millis) -> R + Send + 'static,
) -> Result<R, CmdError> {
    let handle: &DhcpHandle = ctx
        .device
        .dhcp
        .get()
        .ok_or_else(|| CmdError::msg("The DHCP server is not running."))?;
    handle.query(f).map_err(|e| CmdError::msg(e.to_string()))
}

/// Which records a `[ ip IP | pool NAME ]` option selects; the pool must exist.
#[derive(Clone)]
enum Filter {
    All,
    Ip(Ipv4Addr),
    Pool(String),
}

impl Filter {
    fn of(ctx: &Ctx<'_>, args: &Args) -> Result<Filter, CmdError> {
        if let Some(ip) = args.ipv4("addr") {
            return Ok(Filter::Ip(ip));
        }
        match args.str("name") {
            Some(typed) => {
                let config = ctx.device.config.lock();
                let (name, _) = config.dhcp.pool(typed).ok_or_else(|| {
                    CmdError::msg(format!("The address pool {typed} does not exist."))
                })?;
                Ok(Filter::Pool(name.clone()))
            }
            None => Ok(Filter::All),
        }
    }

    fn matches(&self, server: &Server, ip: Ipv4Addr) -> bool {
        match self {
            Filter::All => true,
            Filter::Ip(x) => *x == ip,
            Filter::Pool(p) => server.pool_name_of(ip) == Some(p.as_str()),
        }
    }

    /// The addresses of the table the filter selects, collected first so a reset can then
    /// borrow the server mutably.
    fn selected(&self, server: &Server) -> std::collections::HashSet<Ipv4Addr> {
        server
            .leases()
            .iter()
            .filter(|r| self.matches(server, r.ip))
            .map(|r| r.ip)
            .collect()
    }
}

/// A lease time as Comware prints it: `May 1 14:02:49 2009`, `Unlimited`, `After 2100`.
pub fn expiry_text(ms: Millis) -> String {
    if ms == NEVER {
        return "Unlimited".to_string();
    }
    match Local.timestamp_millis_opt(ms as i64).single() {
        Some(t) if t.year() > 2100 => "After 2100".to_string(),
        Some(t) => t.format("%b %-d %H:%M:%S %Y").to_string(),
        None => "After 2100".to_string(),
    }
}

/// Client identifier or hardware address, dashed, cut into rows of 20 characters.
fn client_rows(r: &LeaseRecord) -> Vec<String> {
    let text = dashed_hex(r.client.bytes());
    text.as_bytes()
        .chunks(20)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

/// One row of `ip-in-use`.
struct InUse {
    ip: Ipv4Addr,
    client: Vec<String>,
    expires: String,
    kind: &'static str,
}

/// The `ip-in-use` layout: IP address, client (20 characters a line), expiry, type.
const IN_USE: &[Column] = &[
    Column::left(17),
    Column::left(22),
    Column::left(22),
    Column::rest(),
];

/// `display dhcp server ip-in-use [ ip IP | pool NAME ]`.
fn display_ip_in_use(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let filter = Filter::of(ctx, args)?;
    let config = ctx.device.config.lock().dhcp.clone();
    let rows = query(ctx, move |s, _| {
        let mut rows: Vec<InUse> = s
            .leases()
            .iter()
            .filter(|r| matches!(r.state, LeaseState::Offered | LeaseState::Committed))
            .filter(|r| filter.matches(s, r.ip))
            .map(|r| InUse {
                ip: r.ip,
                client: client_rows(r),
                expires: expiry_text(r.expires),
                kind: match (r.is_static, r.state) {
                    (true, LeaseState::Offered) => "Static(O)",
                    (true, _) => "Static(C)",
                    (false, LeaseState::Offered) => "Auto(O)",
                    (false, _) => "Auto(C)",
                },
            })
            .collect();
        // Static bindings no client holds yet: Static(F).
        for pool in config.pools.values() {
            for b in &pool.static_bindings {
                let held = s
                    .leases()
                    .get(b.ip)
                    .is_some_and(|r| r.is_static && r.state.holds_address());
                if held || !filter.matches(s, b.ip) {
                    continue;
                }
                let client = match &b.client {
                    BindingClient::HardwareAddress(m) => mac_text(m),
                    BindingClient::ClientIdentifier(id) => dashed_hex(id),
                };
                rows.push(InUse {
                    ip: b.ip,
                    client: client
                        .as_bytes()
                        .chunks(20)
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect(),
                    expires: "Not used".to_string(),
                    kind: "Static(F)",
                });
            }
        }
        rows.sort_by_key(|r| r.ip);
        rows
    })?;
    let mut table = Table::new(IN_USE);
    table
        .row([
            "IP address",
            "Client identifier/",
            "Lease expiration",
            "Type",
        ])
        .row(["", "Hardware address"]);
    for r in rows {
        let first = r.client.first().cloned().unwrap_or_default();
        table.row([r.ip.to_string(), first, r.expires, r.kind.into()]);
        for more in r.client.iter().skip(1) {
            table.row(["", more]);
        }
    }
    ctx.table(&table);
    Ok(())
}

/// `display dhcp server free-ip`: per pool, its network and the runs of free addresses.
fn display_free_ip(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let config = ctx.device.config.lock().dhcp.clone();
    let ranges = query(ctx, |s, _| {
        s.free_ranges()
            .into_iter()
            .map(|(n, r)| (n.to_string(), r))
            .collect::<Vec<_>>()
    })?;
    for (name, runs) in ranges {
        let Some(net) = config.pools.get(&name).and_then(|p| p.network) else {
            continue;
        };
        ctx.line(format!("Pool name: {name}"));
        ctx.line(format!(
            "  Network: {} mask {}",
            net.base(),
            mask_of(net.prefix_len)
        ));
        for (a, b) in runs {
            if a == b {
                ctx.line(format!("    IP {a}"));
            } else {
                ctx.line(format!("    IP ranges from {a} to {b}"));
            }
        }
        ctx.line("  Secondary networks:");
        ctx.line("");
    }
    Ok(())
}

/// What `statistics` shows, computed in the engine.
struct Statistics {
    pools: usize,
    /// Dynamic addresses, and dynamic addresses bound (offered or committed).
    size: u64,
    bound: u64,
    automatic: u64,
    manual: u64,
    expired: u64,
    conflict: u64,
    stats: super::event::Stats,
}

/// The `statistics` layout: an indented label, its value at column 39.
const STATS: &[Column] = &[Column::left(39), Column::rest()];

fn stat_line(ctx: &mut Ctx<'_>, indent: usize, label: &str, value: impl std::fmt::Display) {
    let label = " ".repeat(indent) + label;
    ctx.line(table::line(STATS, [label, value.to_string()]));
}

/// `display dhcp server statistics [ pool NAME ]`.
fn display_statistics(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let filter = Filter::of(ctx, args)?;
    let per_pool = matches!(filter, Filter::Pool(_));
    let st = query(ctx, move |s, _| {
        let (mut size, mut pools) = (0u64, 0usize);
        for (name, n, _free) in s.pool_usage() {
            if let Filter::Pool(p) = &filter
                && p != name
            {
                continue;
            }
            pools += 1;
            size += u64::from(n);
        }
        let mut st = Statistics {
            pools,
            size,
            bound: 0,
            automatic: 0,
            manual: 0,
            expired: 0,
            conflict: 0,
            stats: s.stats().clone(),
        };
        for r in s.leases().iter().filter(|r| filter.matches(s, r.ip)) {
            match (r.state, r.is_static) {
                (LeaseState::Committed | LeaseState::Offered, false) => {
                    st.automatic += 1;
                    st.bound += 1;
                }
                (LeaseState::Committed | LeaseState::Offered, true) => st.manual += 1,
                (LeaseState::Expired, _) => st.expired += 1,
                (LeaseState::Declined, _) => st.conflict += 1,
                (LeaseState::Released | LeaseState::Removed, _) => {}
            }
        }
        st
    })?;
    let utilization = if st.size == 0 {
        0.0
    } else {
        st.bound as f64 * 100.0 / st.size as f64
    };
    if !per_pool {
        stat_line(ctx, 4, "Pool number:", st.pools);
    }
    stat_line(ctx, 4, "Pool utilization:", format!("{utilization:.2}%"));
    stat_line(ctx, 4, "Bindings:", "");
    stat_line(ctx, 6, "Automatic:", st.automatic);
    stat_line(ctx, 6, "Manual:", st.manual);
    stat_line(ctx, 6, "Expired:", st.expired);
    if per_pool {
        return Ok(());
    }
    stat_line(ctx, 4, "Conflict:", st.conflict);
    let r = &st.stats;
    let received = [
        ("DHCPDISCOVER:", r.received(MessageType::Discover)),
        ("DHCPREQUEST:", r.received(MessageType::Request)),
        ("DHCPDECLINE:", r.received(MessageType::Decline)),
        ("DHCPRELEASE:", r.received(MessageType::Release)),
        ("DHCPINFORM:", r.received(MessageType::Inform)),
        ("BOOTPREQUEST:", r.bootp_requests),
    ];
    stat_line(
        ctx,
        4,
        "Messages received:",
        received.iter().map(|(_, n)| n).sum::<u64>(),
    );
    for (label, n) in received {
        stat_line(ctx, 6, label, n);
    }
    let sent = [
        ("DHCPOFFER:", r.sent(MessageType::Offer)),
        ("DHCPACK:", r.sent(MessageType::Ack)),
        ("DHCPNAK:", r.sent(MessageType::Nak)),
        ("BOOTPREPLY:", 0),
    ];
    stat_line(
        ctx,
        4,
        "Messages sent:",
        sent.iter().map(|(_, n)| n).sum::<u64>(),
    );
    for (label, n) in sent {
        stat_line(ctx, 6, label, n);
    }
    stat_line(ctx, 4, "Bad Messages:", r.bad_total());
    // Duet's addition: replies built and never sent (an ACK whose lease did not reach the
    // disk, or that the hot-backup peer never confirmed). `Messages sent` counts only what left.
    stat_line(ctx, 4, "Replies withheld:", r.withheld_total());
    for (reason, n) in &r.withheld {
        stat_line(ctx, 6, &format!("{reason}:"), n);
    }
    store_lines(ctx);
    Ok(())
}

/// The lease store's trouble, after the statistics; nothing when it has none.
fn store_lines(ctx: &mut Ctx<'_>) {
    let Some(status) = ctx.device.dhcp.get().map(DhcpHandle::store_status) else {
        return;
    };
    if status == Default::default() {
        return;
    }
    stat_line(ctx, 4, "Lease store:", "");
    if let Some(e) = &status.write_error {
        stat_line(ctx, 6, "Writes failing:", "acknowledgements withheld");
        ctx.line(format!("        {e}"));
    }
    for d in &status.damage {
        ctx.line(format!("      {}", super::driver::damage_text(d)));
    }
}

/// `display dhcp server conflict`: declined addresses and the server's own addresses found in
/// a pool, with the time they were detected and the time they return to the pool (the end of
/// the probation, `dhcp server conflict auto-recycle interval`; a Duet column).
fn display_conflict(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let mut rows = query(ctx, |s, _| {
        s.leases()
            .iter()
            .filter(|r| r.state == LeaseState::Declined)
            .map(|r| (r.ip, r.updated, r.expires))
            .collect::<Vec<_>>()
    })?;
    rows.sort();
    let mut table = Table::new(&[Column::left(20), Column::left(25), Column::rest()]);
    table.row(["IP address", "Detect time", "Recycle time"]);
    for (ip, at, until) in rows {
        table.row([ip.to_string(), expiry_text(at), expiry_text(until)]);
    }
    ctx.table(&table);
    Ok(())
}

/// `display dhcp server expired`: bindings whose lease ran out (kept as history).
fn display_expired(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    let mut rows = query(ctx, |s, _| {
        s.leases()
            .iter()
            .filter(|r| r.state == LeaseState::Expired)
            .map(|r| (r.ip, dashed_hex(r.client.bytes()), r.expires))
            .collect::<Vec<_>>()
    })?;
    rows.sort();
    let mut table = Table::new(&[Column::left(17), Column::left(38), Column::rest()]);
    table.row([
        "IP address",
        "Client-identifier/Hardware address",
        "Lease expiration",
    ]);
    for (ip, client, at) in rows {
        table.row([ip.to_string(), client, expiry_text(at)]);
    }
    ctx.table(&table);
    Ok(())
}

/// `display dhcp server pool [ NAME ]`: the pools' configuration.
fn display_pool(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let config: DhcpConfig = ctx.device.config.lock().dhcp.clone();
    let pools: Vec<_> =
        match args.str("name") {
            Some(typed) => vec![config.pool(typed).ok_or_else(|| {
                CmdError::msg(format!("The address pool {typed} does not exist."))
            })?],
            None => config.pools.iter().collect(),
        };
    for (n, (name, pool)) in pools.into_iter().enumerate() {
        if n > 0 {
            ctx.line("");
        }
        ctx.line(format!("Pool name: {name}"));
        if let Some(net) = pool.network {
            ctx.line(format!(
                "  Network {} mask {}",
                net.base(),
                mask_of(net.prefix_len)
            ));
        }
        if let Some(r) = pool.range {
            ctx.line(format!("  address range {} to {}", r.start, r.end));
        }
        let list = |l: &[Ipv4Addr]| {
            l.iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        if !pool.gateways.is_empty() {
            ctx.line(format!("  gateway-list {}", list(&pool.gateways)));
        }
        if !pool.dns.is_empty() {
            ctx.line(format!("  dns-list {}", list(&pool.dns)));
        }
        if let Some(d) = &pool.domain_name {
            ctx.line(format!("  domain-name {d}"));
        }
        for l in super::render::boot_lines(pool) {
            ctx.line(format!(" {l}"));
        }
        if !pool.forbidden.is_empty() {
            ctx.line(format!("  forbidden-ip {}", list(&pool.forbidden)));
        }
        if !pool.static_bindings.is_empty() {
            ctx.line("  static bindings:");
            for b in &pool.static_bindings {
                let client = match &b.client {
                    BindingClient::HardwareAddress(m) => {
                        format!("hardware-address {}", mac_text(m))
                    }
                    BindingClient::ClientIdentifier(id) => {
                        format!("client-identifier {}", dashed_hex(id))
                    }
                };
                let len = b
                    .prefix_len
                    .or(pool.network.map(|n| n.prefix_len))
                    .unwrap_or(32);
                ctx.line(format!("    ip-address {} mask {}", b.ip, mask_of(len)));
                ctx.line(format!("      {client}"));
            }
        }
        for (code, value) in &pool.options {
            let v = match value {
                super::config::RawOptionValue::Ascii(s) => format!("ascii {s}"),
                super::config::RawOptionValue::Hex(h) => format!("hex {}", super::lease::hex(h)),
                super::config::RawOptionValue::IpAddress(l) => {
                    format!("ip-address {}", list(l))
                }
            };
            ctx.line(format!("  option {code} {v}"));
        }
        match pool.lease {
            LeaseDuration::Seconds(secs) => {
                let (d, h, m, s) = split_secs(secs);
                ctx.line(format!("  expired {d} {h} {m} {s}"));
            }
            LeaseDuration::Unlimited => ctx.line("  expired unlimited"),
        }
    }
    Ok(())
}

/// `reset dhcp server ip-in-use [ ip IP | pool NAME ]`.
fn reset_ip_in_use(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let filter = Filter::of(ctx, args)?;
    query(ctx, move |s, now| {
        let selected = filter.selected(s);
        s.reset_bindings(now, |r| selected.contains(&r.ip))
    })?;
    Ok(())
}

/// `reset dhcp server conflict [ ip IP ]`.
fn reset_conflict(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let ip = args.ipv4("addr");
    query(ctx, move |s, now| s.reset_conflicts(now, ip))
}

/// `reset dhcp server expired [ ip IP | pool NAME ]`.
fn reset_expired(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let filter = Filter::of(ctx, args)?;
    query(ctx, move |s, now| {
        let selected = filter.selected(s);
        s.reset_expired(now, |r| selected.contains(&r.ip))
    })?;
    Ok(())
}

/// `reset dhcp server statistics`.
fn reset_statistics(ctx: &mut Ctx<'_>, _args: &Args) -> CmdResult {
    query(ctx, |s, _| s.reset_statistics())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_times_as_comware_prints_them() {
        assert_eq!(expiry_text(NEVER), "Unlimited");
        // Year 2200: past Comware's horizon.
        assert_eq!(expiry_text(7_258_118_400_000), "After 2100");
        let t = Local.with_ymd_and_hms(2026, 5, 1, 14, 2, 49).unwrap();
        assert_eq!(
            expiry_text(t.timestamp_millis() as Millis),
            "May 1 14:02:49 2026"
        );
    }

    #[test]
    fn long_client_identifiers_wrap_every_20_characters() {
        let r = LeaseRecord {
            ip: [10, 1, 1, 2].into(),
            state: LeaseState::Committed,
            client: super::super::ClientKey::Id(b"00.00f.003-E".to_vec().into()),
            chaddr: vec![0; 6].into(),
            expires: 0,
            updated: 0,
            relay_info: None,
            hostname: None,
            is_static: false,
        };
        assert_eq!(client_rows(&r), ["3030-2e30-3066-2e30-", "3033-2d45"]);
    }
}
