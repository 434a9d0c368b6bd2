//! What a scrape shows: one collector function per feature, read from the engines' published
//! status at scrape time (nothing is kept here between scrapes).
//!
//! A feature adds its metrics by adding one function to [`COLLECTORS`]. Names follow Prometheus's conventions: `duet_` prefix, base units
//! (seconds), `_total` counters, `_ratio` for 0-1 fractions, enums as one gauge per state
//! set to 1 for the current one.

use std::sync::atomic::Ordering;

use super::text::{Exposition, Kind};
use crate::device::Device;
use crate::dhcp::lease::LeaseState;
use crate::dhcp::options::MessageType;
use crate::hotbackup::status::Phase;
use crate::vrrp::io::State;

/// Adds one feature's families to a scrape. Runs on a blocking thread: it may wait for an
/// engine (the DHCP engine answers queries inside its task).
pub type Collector = fn(&Device, &mut Exposition);

/// Every feature's collector, in the order of the scrape.
pub const COLLECTORS: &[Collector] = &[build_info, infocenter, vrrp, dhcp, hotbackup, portal];

/// The whole text of a scrape of `device`.
pub fn scrape(device: &Device) -> String {
    let mut e = Exposition::default();
    for collect in COLLECTORS {
        collect(device, &mut e);
    }
    e.into_text()
}

fn build_info(_: &Device, e: &mut Exposition) {
    e.family(
        "duet_build_info",
        "Duet's version; the value is always 1.",
        Kind::Gauge,
    );
    e.sample(
        "duet_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
}

fn infocenter(device: &Device, e: &mut Exposition) {
    let c = &device.loghost.counters;
    let counters = [
        (
            "duet_loghost_datagrams_sent_total",
            "Syslog datagrams sent to the info-center log hosts.",
            c.sent.load(Ordering::Relaxed),
        ),
        (
            "duet_loghost_messages_dropped_total",
            "Log lines not sent to the log hosts because the send queue was full.",
            c.dropped.load(Ordering::Relaxed),
        ),
        (
            "duet_loghost_datagrams_failed_total",
            "Syslog datagrams the kernel refused to send.",
            c.failed.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, n) in counters {
        e.family(name, help, Kind::Counter);
        e.sample(name, &[], n as f64);
    }
    let stats = device.logs.stats();
    e.family(
        "duet_logbuffer_messages",
        "Log lines in the log buffer.",
        Kind::Gauge,
    );
    e.sample("duet_logbuffer_messages", &[], stats.current as f64);
}

const VRRP_STATES: [(State, &str); 3] = [
    (State::Initialize, "initialize"),
    (State::Backup, "backup"),
    (State::Master, "master"),
];

fn vrrp(device: &Device, e: &mut Exposition) {
    let status = device.vrrp_status.borrow().clone();
    let groups: Vec<(String, String, &crate::vrrp::driver::GroupStatus)> = status
        .groups
        .iter()
        .map(|((ifname, vrid), g)| (ifname.to_string(), vrid.to_string(), g))
        .collect();
    e.family(
        "duet_vrrp_state",
        "VRRP group state: 1 for the group's current state, 0 for the others.",
        Kind::Gauge,
    );
    for (ifname, vrid, g) in &groups {
        for (state, name) in VRRP_STATES {
            let v = if g.status.state == state { 1.0 } else { 0.0 };
            e.sample(
                "duet_vrrp_state",
                &[("interface", ifname), ("vrid", vrid), ("state", name)],
                v,
            );
        }
    }
    e.family(
        "duet_vrrp_state_changes_total",
        "VRRP group state changes (Initialize, Backup, Master).",
        Kind::Counter,
    );
    for (ifname, vrid, g) in &groups {
        e.sample(
            "duet_vrrp_state_changes_total",
            &[("interface", ifname), ("vrid", vrid)],
            g.statistics.state_changes as f64,
        );
    }
    e.family(
        "duet_vrrp_became_master_total",
        "Times the VRRP group became master.",
        Kind::Counter,
    );
    for (ifname, vrid, g) in &groups {
        e.sample(
            "duet_vrrp_became_master_total",
            &[("interface", ifname), ("vrid", vrid)],
            g.statistics.became_master as f64,
        );
    }
}

const LEASE_STATES: [(LeaseState, &str); 5] = [
    (LeaseState::Offered, "offered"),
    (LeaseState::Committed, "committed"),
    (LeaseState::Released, "released"),
    (LeaseState::Expired, "expired"),
    (LeaseState::Declined, "declined"),
];

/// What the DHCP engine reports for a scrape (gathered inside its task).
struct DhcpFigures {
    stats: crate::dhcp::event::Stats,
    /// Per pool: name, addresses, leases by state (in [`LEASE_STATES`] order), bound
    /// dynamic leases.
    pools: Vec<(String, u32, [u64; 5], u64)>,
}

fn dhcp(device: &Device, e: &mut Exposition) {
    let Some(handle) = device.dhcp.get() else {
        return;
    };
    e.family(
        "duet_dhcp_journal_fsync_seconds",
        "Time the lease journal's fsync took.",
        Kind::Histogram,
    );
    e.histogram(
        "duet_dhcp_journal_fsync_seconds",
        &[],
        &handle.fsync.snapshot(),
    );
    // One pass over the lease table inside the engine (a few milliseconds for 100 000 leases).
    let figures = handle.query(|s, _| {
        let mut pools: Vec<(String, u32, [u64; 5], u64)> = s
            .pool_usage()
            .map(|(name, size, _)| (name.to_string(), size, [0; 5], 0))
            .collect();
        for r in s.leases().iter() {
            let Some(pool) = s.pool_name_of(r.ip) else {
                continue;
            };
            let Some(p) = pools.iter_mut().find(|p| p.0 == pool) else {
                continue;
            };
            if let Some(i) = LEASE_STATES.iter().position(|(st, _)| *st == r.state) {
                p.2[i] += 1;
            }
            if !r.is_static && matches!(r.state, LeaseState::Committed | LeaseState::Offered) {
                p.3 += 1;
            }
        }
        DhcpFigures {
            stats: s.stats().clone(),
            pools,
        }
    });
    let Ok(f) = figures else {
        return;
    };
    e.family(
        "duet_dhcp_messages_received_total",
        "DHCP messages received, by type.",
        Kind::Counter,
    );
    for (t, name) in [
        (MessageType::Discover, "discover"),
        (MessageType::Request, "request"),
        (MessageType::Decline, "decline"),
        (MessageType::Release, "release"),
        (MessageType::Inform, "inform"),
    ] {
        e.sample(
            "duet_dhcp_messages_received_total",
            &[("type", name)],
            f.stats.received(t) as f64,
        );
    }
    e.sample(
        "duet_dhcp_messages_received_total",
        &[("type", "bootp")],
        f.stats.bootp_requests as f64,
    );
    e.family(
        "duet_dhcp_messages_sent_total",
        "DHCP replies that left the device, by type.",
        Kind::Counter,
    );
    for (t, name) in [
        (MessageType::Offer, "offer"),
        (MessageType::Ack, "ack"),
        (MessageType::Nak, "nak"),
    ] {
        e.sample(
            "duet_dhcp_messages_sent_total",
            &[("type", name)],
            f.stats.sent(t) as f64,
        );
    }
    e.family(
        "duet_dhcp_bad_messages_total",
        "Undecodable or invalid DHCP messages received.",
        Kind::Counter,
    );
    e.sample(
        "duet_dhcp_bad_messages_total",
        &[],
        f.stats.bad_total() as f64,
    );
    e.family(
        "duet_dhcp_replies_withheld_total",
        "DHCP replies built and never sent, by reason.",
        Kind::Counter,
    );
    for (reason, n) in &f.stats.withheld {
        e.sample(
            "duet_dhcp_replies_withheld_total",
            &[("reason", reason)],
            *n as f64,
        );
    }
    e.family(
        "duet_dhcp_leases",
        "Lease records by pool and state.",
        Kind::Gauge,
    );
    for (pool, _, by_state, _) in &f.pools {
        for (i, (_, state)) in LEASE_STATES.iter().enumerate() {
            e.sample(
                "duet_dhcp_leases",
                &[("pool", pool), ("state", state)],
                by_state[i] as f64,
            );
        }
    }
    e.family(
        "duet_dhcp_pool_addresses",
        "Addresses of the pool's range.",
        Kind::Gauge,
    );
    for (pool, size, _, _) in &f.pools {
        e.sample(
            "duet_dhcp_pool_addresses",
            &[("pool", pool)],
            f64::from(*size),
        );
    }
    e.family(
        "duet_dhcp_pool_utilization_ratio",
        "Dynamic leases bound (offered or committed) over the pool's addresses, 0 to 1.",
        Kind::Gauge,
    );
    for (pool, size, _, bound) in &f.pools {
        let ratio = if *size == 0 {
            0.0
        } else {
            *bound as f64 / f64::from(*size)
        };
        e.sample("duet_dhcp_pool_utilization_ratio", &[("pool", pool)], ratio);
    }
}

const PHASES: [(Phase, &str); 4] = [
    (Phase::Silence, "silence"),
    (Phase::Negotiating, "negotiating"),
    (Phase::BatchBackup, "batch_backup"),
    (Phase::RealTime, "real_time"),
];

fn hotbackup(device: &Device, e: &mut Exposition) {
    let Some(handle) = device.hotbackup.get() else {
        return;
    };
    let report = handle.report();
    let gauge = |e: &mut Exposition, name: &str, help: &str, v: f64| {
        e.family(name, help, Kind::Gauge);
        e.sample(name, &[], v);
    };
    let counter = |e: &mut Exposition, name: &str, help: &str, v: u64| {
        e.family(name, help, Kind::Counter);
        e.sample(name, &[], v as f64);
    };
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    gauge(
        e,
        "duet_hotbackup_running",
        "1 when the hot-backup engine runs (enabled, with a peer, DHCP under hot backup).",
        flag(report.running),
    );
    gauge(
        e,
        "duet_hotbackup_peer_connected",
        "1 when the backup channel to the peer is connected.",
        flag(report.connected),
    );
    e.family(
        "duet_hotbackup_phase",
        "Hot-backup phase: 1 for the current phase, 0 for the others.",
        Kind::Gauge,
    );
    let status = report.status.as_ref();
    for (phase, name) in PHASES {
        let v = flag(status.is_some_and(|s| s.phase == phase));
        e.sample("duet_hotbackup_phase", &[("phase", name)], v);
    }
    gauge(
        e,
        "duet_hotbackup_updates_unacked",
        "Local lease changes waiting for the peer's acknowledgement.",
        status.map_or(0, |s| s.unacked) as f64,
    );
    if let Some(ms) = status.and_then(|s| s.last_batch_ms) {
        gauge(
            e,
            "duet_hotbackup_last_batch_duration_seconds",
            "How long the last batch backup to the peer took.",
            ms as f64 / 1000.0,
        );
    }
    let s = &report.stats;
    counter(
        e,
        "duet_hotbackup_batches_sent_total",
        "Batch backups sent to the peer.",
        s.batches_sent,
    );
    counter(
        e,
        "duet_hotbackup_batches_received_total",
        "Batch backups received from the peer.",
        s.batches_received,
    );
    counter(
        e,
        "duet_hotbackup_entries_sent_total",
        "Lease entries sent to the peer.",
        s.entries_sent,
    );
    counter(
        e,
        "duet_hotbackup_entries_received_total",
        "Lease entries received from the peer.",
        s.entries_received,
    );
    counter(
        e,
        "duet_hotbackup_switchovers_total",
        "Local VRRP role changes between master and backup.",
        s.switchovers,
    );
    counter(
        e,
        "duet_hotbackup_reconnects_total",
        "Times the peer came up again after having been up.",
        s.reconnects,
    );
}

/// Portal authentication: users online, logins, refusals by reason, logouts by cause (one
/// query to the portal engine per scrape).
fn portal(device: &Device, e: &mut Exposition) {
    use crate::portal::users::Cause;
    let Some(handle) = device.portal.get() else {
        return;
    };
    let Ok((online, stats)) = handle.query(|t, _| (t.len(), t.stats().clone())) else {
        return;
    };
    e.family(
        "duet_portal_users",
        "Users logged in through the portal.",
        Kind::Gauge,
    );
    e.sample("duet_portal_users", &[], online as f64);
    e.family(
        "duet_portal_logins_total",
        "Successful portal logins.",
        Kind::Counter,
    );
    e.sample("duet_portal_logins_total", &[], stats.logins as f64);
    e.family(
        "duet_portal_login_failures_total",
        "Refused portal logins, by reason.",
        Kind::Counter,
    );
    for (reason, n) in &stats.failures {
        let reason = reason.replace('-', "_");
        e.sample(
            "duet_portal_login_failures_total",
            &[("reason", reason.as_str())],
            *n as f64,
        );
    }
    e.family(
        "duet_portal_logouts_total",
        "Portal users logged out, by cause.",
        Kind::Counter,
    );
    for (cause, n) in &stats.logouts {
        let cause = match cause {
            Cause::Logoff => "logoff",
            Cause::DeleteUser => "delete_user",
            Cause::IdleCut => "idle_cut",
            Cause::SessionTimeout => "session_timeout",
            Cause::DhcpRelease => "dhcp_release",
            Cause::InterfaceDown => "interface_down",
            Cause::ConfigChange => "config_change",
            Cause::Replaced => "replaced",
        };
        e.sample("duet_portal_logouts_total", &[("cause", cause)], *n as f64);
    }
}
