//! `display vrrp [interface IF [vrid N]] [verbose]`, `display vrrp statistics [...]` and
//! `reset vrrp statistics [...]` (grammar in commands/vrrp.yaml), in Comware 7's layouts.
//! They read what the driver published on `Device::vrrp_status`, once it has applied the last
//! configuration change (a bounded wait: `Device::settled_vrrp`), never the driver itself;
//! `reset` records the counters as a baseline that later displays subtract.

use std::collections::BTreeMap;

use super::driver::{GroupStatus, MacMode, VrrpStatus, state_text};
use super::io::State;
use super::packet::{RejectReason, Version};
use super::status::{Statistics, virtual_mac};
use crate::cli::handler::CmdResult;
use crate::cli::table::{self, Column, Table};
use crate::cli::{Args, CmdError};
use crate::device::{Ctx, Registry};
use crate::interface::name::IfName;
use crate::net::mac_text;

pub fn register(r: &mut Registry) {
    r.add("vrrp.display", display);
    r.add("vrrp.display_statistics", display_statistics);
    r.add("vrrp.reset_statistics", reset_statistics);
}

type Key = (IfName, u8);

/// The groups a command names: all, those of one interface, or one group.
fn selected<'a>(
    ctx: &Ctx<'_>,
    status: &'a VrrpStatus,
    args: &Args,
) -> Result<Vec<(&'a Key, &'a GroupStatus)>, CmdError> {
    let port = match args.str("if") {
        Some(text) => {
            let name: IfName = text
                .parse()
                .map_err(|_| CmdError::WrongParameter("if".into()))?;
            if !ctx.device.ports.contains(&name) {
                return Err(CmdError::msg(format!(
                    "The interface {name} does not exist."
                )));
            }
            Some(name)
        }
        None => None,
    };
    let vrid = args.int("id");
    Ok(status
        .groups
        .iter()
        .filter(|((p, v), _)| {
            port.as_ref().is_none_or(|want| want == p) && vrid.is_none_or(|n| n == u64::from(*v))
        })
        .collect())
}

/// Comware shows `Inactive` for a group that cannot run because its interface is down.
fn state_word(g: &GroupStatus) -> &'static str {
    match g.status.state {
        State::Initialize if !g.status.link_up => "Inactive",
        s => state_text(s),
    }
}

fn auth_word(g: &GroupStatus) -> &'static str {
    match (g.status.version, g.status.simple_auth) {
        (Version::V3, _) => "Not supported",
        (Version::V2, true) => "Simple",
        (Version::V2, false) => "None",
    }
}

fn header(ctx: &mut Ctx<'_>, total: usize) {
    ctx.line("IPv4 Virtual Router Information:");
    ctx.line(" Running Mode      : Standard");
    ctx.line(format!(" Total number of virtual routers : {total}"));
}

/// `display vrrp [ interface IF [ vrid N ] ] [ verbose ]`
fn display(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let status = ctx.device.settled_vrrp();
    let groups = selected(ctx, &status, args)?;
    header(ctx, groups.len());
    if args.has("verbose") {
        verbose(ctx, &groups);
    } else {
        brief(ctx, &groups);
    }
    Ok(())
}

/// The brief layout: interface, VRID, state, running priority, advertisement timer,
/// authentication type, virtual IPs.
const BRIEF: &[Column] = &[
    Column::left(19).indent(1),
    Column::left(6),
    Column::left(13),
    Column::left(8),
    Column::left(8),
    Column::left(9),
    Column::rest(),
];

fn brief(ctx: &mut Ctx<'_>, groups: &[(&Key, &GroupStatus)]) {
    let mut head = Table::new(BRIEF);
    head.row([
        "Interface",
        "VRID",
        "State",
        "Running",
        "Adver",
        "Auth",
        "Virtual",
    ])
    .row(["", "", "", "Pri", "Timer", "Type", "   IP"]);
    ctx.table(&head);
    ctx.line(format!(" {}", "-".repeat(69)));
    let mut table = Table::new(BRIEF);
    for ((port, vrid), g) in groups {
        let auth = match auth_word(g) {
            "Not supported" => "None",
            word => word,
        };
        let mut vips = g.status.virtual_ips.iter();
        let first = vips.next().map(|a| a.to_string()).unwrap_or_default();
        table.row([
            port.short(),
            vrid.to_string(),
            state_word(g).into(),
            g.status.running_priority.to_string(),
            g.status.adver_timer_cs.to_string(),
            auth.into(),
            first,
        ]);
        for vip in vips {
            table.row(["", "", "", "", "", "", &vip.to_string()]);
        }
    }
    ctx.table(&table);
}

/// The verbose layout: two `Label : value` pairs side by side (the value cells carry their
/// `: `; a value continued on the next line has blanks there).
const PAIRS: &[Column] = &[
    Column::left(15).indent(5),
    Column::left(23),
    Column::left(13),
    Column::rest(),
];

/// One `Label : value` pair of the verbose layout, or two side by side.
fn pair(left: &str, lvalue: impl ToString, right: Option<(&str, String)>) -> String {
    let lvalue = format!(": {}", lvalue.to_string());
    match right {
        Some((label, value)) => table::line(PAIRS, [left, &lvalue, label, &format!(": {value}")]),
        None => table::line(PAIRS, [left, &lvalue]),
    }
}

/// The track line: interface, its state, the priority it takes off.
const TRACK: &[Column] = &[
    Column::left(15).indent(5),
    Column::left(23),
    Column::left(6),
    Column::left(13),
    Column::left(12),
    Column::rest(),
];

fn verbose(ctx: &mut Ctx<'_>, groups: &[(&Key, &GroupStatus)]) {
    for ((port, vrid), g) in groups {
        let s = &g.status;
        ctx.line(format!("   Interface {port}"));
        ctx.line(pair(
            "VRID",
            vrid,
            Some(("Adver Timer", s.adver_timer_cs.to_string())),
        ));
        ctx.line(pair(
            "Admin Status",
            if s.admin_up { "Up" } else { "Down" },
            Some(("State", state_word(g).to_string())),
        ));
        ctx.line(pair(
            "Config Pri",
            s.config_priority,
            Some(("Running Pri", s.running_priority.to_string())),
        ));
        ctx.line(pair(
            "Preempt Mode",
            if s.preempt { "Yes" } else { "No" },
            Some(("Delay Time", s.preempt_delay_cs.to_string())),
        ));
        if s.state == State::Backup
            && let Some(left) = g.become_master_in()
        {
            ctx.line(pair(
                "Become Master",
                format!("{}ms left", left.as_millis()),
                None,
            ));
        }
        if s.simple_auth {
            ctx.line(pair("Auth Type", "Simple", Some(("Key", "******".into()))));
            ctx.line(pair("Version", "2", None));
        } else {
            ctx.line(pair(
                "Auth Type",
                auth_word(g),
                Some(("Version", s.version.number().to_string())),
            ));
        }
        let mut vips = s.virtual_ips.iter();
        match vips.next() {
            Some(first) => ctx.line(pair("Virtual IP", first, None)),
            None => ctx.line(pair("Virtual IP", "--", None)),
        }
        for vip in vips {
            ctx.line(table::line(PAIRS, ["", &format!("  {vip}")]));
        }
        if s.state == State::Master {
            let mac = match &g.mac_mode {
                Some(MacMode::Real { reason }) => {
                    let real = ctx
                        .device
                        .if_status
                        .borrow()
                        .get(port)
                        .and_then(|p| p.mac)
                        .map(|m| mac_text(&m))
                        .unwrap_or_else(|| "--".into());
                    format!("{real} (real MAC: {reason})")
                }
                _ => mac_text(&virtual_mac(*vrid)),
            };
            ctx.line(pair("Virtual MAC", mac, None));
        }
        let master = s
            .master_ip
            .map(|a| a.to_string())
            .unwrap_or_else(|| "0.0.0.0".into());
        ctx.line(pair("Master IP", master, None));
        if !s.tracks.is_empty() || !s.track_entries.is_empty() {
            ctx.line("   VRRP Track Information:");
            // Comware 7: `Track Object : N  State : Positive  Pri Reduced : R`, or
            // `Switchover` in place of the reduction.
            for t in &s.track_entries {
                let mut cells = vec![
                    "Track Object".to_string(),
                    format!(": {}", t.entry),
                    "State".into(),
                    format!(": {}", t.state.text()),
                ];
                match t.action {
                    super::TrackAction::Reduce(r) => {
                        cells.push("Pri Reduced".into());
                        cells.push(format!(": {r}"));
                    }
                    super::TrackAction::Switchover => cells.push("Switchover".into()),
                }
                ctx.line(table::line(TRACK, cells).trim_end());
            }
            for t in &s.tracks {
                let short = t
                    .interface
                    .parse::<IfName>()
                    .map(|n| n.short())
                    .unwrap_or_else(|_| t.interface.clone());
                let state = if t.up { "Up" } else { "Down" };
                ctx.line(table::line(
                    TRACK,
                    [
                        "Track IF".to_string(),
                        format!(": {short}"),
                        "State".into(),
                        format!(": {state}"),
                        "Pri Reduced".into(),
                        format!(": {}", t.reduced),
                    ],
                ));
            }
        }
    }
}

/// The counters since the last `reset vrrp statistics` of that group.
fn since_reset(ctx: &Ctx<'_>, key: &Key, g: &GroupStatus) -> Statistics {
    let baseline = ctx
        .device
        .vrrp_baseline
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(key)
        .filter(|(instance, _)| *instance == g.instance)
        .map(|(_, s)| s.clone())
        .unwrap_or_default();
    let now = &g.statistics;
    let mut rejected = BTreeMap::new();
    for (reason, n) in &now.rejected {
        let d = n.saturating_sub(baseline.rejected(*reason));
        if d > 0 {
            rejected.insert(*reason, d);
        }
    }
    Statistics {
        received: now.received.saturating_sub(baseline.received),
        accepted: now.accepted.saturating_sub(baseline.accepted),
        sent: now.sent.saturating_sub(baseline.sent),
        priority_zero_received: now
            .priority_zero_received
            .saturating_sub(baseline.priority_zero_received),
        priority_zero_sent: now
            .priority_zero_sent
            .saturating_sub(baseline.priority_zero_sent),
        became_master: now.became_master.saturating_sub(baseline.became_master),
        state_changes: now.state_changes.saturating_sub(baseline.state_changes),
        rejected,
    }
}

/// The statistics line each reason of a dropped packet is counted under.
fn reason_label(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::BadChecksum => "CheckSum Errors",
        RejectReason::BadVersion => "Version Errors",
        RejectReason::VridNotConfigured => "VRID Errors",
        RejectReason::IntervalMismatch | RejectReason::ZeroInterval => {
            "Advertisement Interval Errors"
        }
        RejectReason::BadTtl => "IP TTL Errors",
        RejectReason::AuthMismatch => "Auth Failures",
        RejectReason::UnknownAuthType => "Invalid Auth Type",
        RejectReason::BadIpHeader | RejectReason::Truncated | RejectReason::AddressCount => {
            "Packet Length Errors"
        }
        RejectReason::AddressListMismatch => "Address List Errors",
        RejectReason::BadType => "Invalid Type Pkts Rcvd",
        RejectReason::LocalIsOwner | RejectReason::OwnAdvert | RejectReason::Inactive => {
            "Other Discarded Pkts"
        }
    }
}

const LABELS: [&str; 10] = [
    "CheckSum Errors",
    "Version Errors",
    "VRID Errors",
    "Advertisement Interval Errors",
    "IP TTL Errors",
    "Auth Failures",
    "Invalid Auth Type",
    "Packet Length Errors",
    "Address List Errors",
    "Invalid Type Pkts Rcvd",
];

/// The statistics layout: `Label : count`.
const STATS: &[Column] = &[Column::left(31).indent(1), Column::rest()];

fn stat(ctx: &mut Ctx<'_>, label: &str, n: impl std::fmt::Display) {
    ctx.line(table::line(STATS, [label.to_string(), format!(": {n}")]));
}

/// `display vrrp statistics [ interface IF [ vrid N ] ]`
fn display_statistics(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let status = ctx.device.settled_vrrp();
    let groups = selected(ctx, &status, args)?;
    for (i, (key, g)) in groups.iter().enumerate() {
        if i > 0 {
            ctx.line("");
        }
        let s = since_reset(ctx, key, g);
        let mut by_label: BTreeMap<&str, u64> = BTreeMap::new();
        for (reason, n) in &s.rejected {
            *by_label.entry(reason_label(*reason)).or_default() += n;
        }
        stat(ctx, "Interface", &key.0);
        stat(ctx, "VRID", u64::from(key.1));
        for label in LABELS {
            stat(ctx, label, by_label.get(label).copied().unwrap_or(0));
        }
        stat(
            ctx,
            "Other Discarded Pkts",
            by_label.get("Other Discarded Pkts").copied().unwrap_or(0),
        );
        stat(ctx, "Become Master", s.became_master);
        stat(ctx, "Priority Zero Pkts Rcvd", s.priority_zero_received);
        stat(ctx, "Advertisements Rcvd", s.received);
        stat(ctx, "Priority Zero Pkts Sent", s.priority_zero_sent);
        stat(ctx, "Advertisements Sent", s.sent);
    }
    if args.str("if").is_none() {
        if !groups.is_empty() {
            ctx.line("");
        }
        ctx.line(" Global statistics:");
        let unknown: u64 = status.unknown_vrid.values().sum();
        stat(ctx, "VRID Errors", unknown);
    }
    Ok(())
}

/// `reset vrrp statistics [ interface IF [ vrid N ] ]`
fn reset_statistics(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let status = ctx.device.settled_vrrp();
    let groups = selected(ctx, &status, args)?;
    let mut baseline = ctx
        .device
        .vrrp_baseline
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    for (key, g) in groups {
        baseline.insert(key.clone(), (g.instance, g.statistics.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::device::testing::TestIo;
    use crate::session::Session;
    use crate::vrrp::TrackStatus;
    use crate::vrrp::status::Status;

    fn ge(n: u32) -> IfName {
        format!("ge1/0/{n}").parse().unwrap()
    }

    fn status(vrid: u8, state: State, version: Version) -> Status {
        Status {
            vrid,
            state,
            admin_up: true,
            link_up: true,
            version,
            config_priority: 150,
            running_priority: 150,
            preempt: true,
            preempt_delay_cs: 5,
            adver_timer_cs: 100,
            master_adver_interval_cs: 100,
            simple_auth: version == Version::V2,
            virtual_ips: vec!["1.1.1.1".parse().unwrap(), "1.1.1.3".parse().unwrap()],
            virtual_mac: virtual_mac(vrid),
            master_ip: Some("1.1.1.2".parse().unwrap()),
            master_priority: Some(150),
            become_master_in: None,
            tracks: vec![TrackStatus {
                interface: "GigabitEthernet1/0/2".into(),
                up: false,
                reduced: 50,
            }],
            track_entries: vec![
                crate::vrrp::EntryTrackStatus {
                    entry: 1,
                    state: crate::track::TrackState::Positive,
                    action: crate::vrrp::TrackAction::Reduce(50),
                },
                crate::vrrp::EntryTrackStatus {
                    entry: 12,
                    state: crate::track::TrackState::NotReady,
                    action: crate::vrrp::TrackAction::Switchover,
                },
            ],
        }
    }

    fn published() -> VrrpStatus {
        let mut stats = Statistics {
            received: 10,
            sent: 3,
            became_master: 1,
            ..Statistics::default()
        };
        stats.rejected.insert(RejectReason::BadTtl, 2);
        stats.rejected.insert(RejectReason::OwnAdvert, 1);
        let master = GroupStatus {
            interface: ge(1),
            instance: 1,
            status: status(1, State::Master, Version::V2),
            statistics: stats,
            master_down_at: None,
            mac_mode: Some(MacMode::Virtual),
        };
        let mut backup = GroupStatus {
            interface: ge(1),
            instance: 2,
            status: Status {
                simple_auth: false,
                ..status(2, State::Backup, Version::V3)
            },
            statistics: Statistics::default(),
            master_down_at: None,
            mac_mode: None,
        };
        backup.set_become_master_in(Duration::from_millis(2370));
        VrrpStatus {
            groups: [((ge(1), 1), master), ((ge(1), 2), backup)]
                .into_iter()
                .collect(),
            unknown_vrid: [(ge(1), 4)].into_iter().collect(),
        }
    }

    fn session() -> (tempfile::TempDir, Session) {
        let (dir, s) = crate::device::testing::admin_session();
        s.device.vrrp_status.send_replace(Arc::new(published()));
        (dir, s)
    }

    fn run(s: &mut Session, line: &str) -> String {
        let o = s.execute(line, &mut TestIo);
        assert!(o.ok, "{line}: {}", o.output);
        o.output
    }

    #[test]
    fn brief_layout() {
        let (_d, mut s) = session();
        assert_eq!(
            run(&mut s, "display vrrp"),
            "IPv4 Virtual Router Information:
 Running Mode      : Standard
 Total number of virtual routers : 2
 Interface          VRID  State        Running Adver   Auth     Virtual
                                       Pri     Timer   Type        IP
 ---------------------------------------------------------------------
 GE1/0/1            1     Master       150     100     Simple   1.1.1.1
                                                                1.1.1.3
 GE1/0/1            2     Backup       150     100     None     1.1.1.1
                                                                1.1.1.3
"
        );
        let one = run(&mut s, "display vrrp interface ge1/0/1 vrid 2");
        assert!(one.contains("Total number of virtual routers : 1"), "{one}");
        assert!(run(&mut s, "display vrrp interface ge1/0/2").contains("routers : 0"));
    }

    #[test]
    fn verbose_layout_master_and_backup() {
        let (_d, mut s) = session();
        let text = run(&mut s, "display vrrp verbose");
        let expected_master = "   Interface GigabitEthernet1/0/1
     VRID           : 1                    Adver Timer  : 100
     Admin Status   : Up                   State        : Master
     Config Pri     : 150                  Running Pri  : 150
     Preempt Mode   : Yes                  Delay Time   : 5
     Auth Type      : Simple               Key          : ******
     Version        : 2
     Virtual IP     : 1.1.1.1
                      1.1.1.3
     Virtual MAC    : 0000-5e00-0101
     Master IP      : 1.1.1.2
   VRRP Track Information:
     Track Object   : 1                    State : Positive   Pri Reduced : 50
     Track Object   : 12                   State : NotReady   Switchover
     Track IF       : GE1/0/2              State : Down       Pri Reduced : 50
";
        assert!(text.contains(expected_master), "{text}");
        // The backup: time left before it takes over, v3 has no authentication, no MAC.
        let backup = &text[text.find("     VRID           : 2").unwrap()..];
        assert!(backup.contains("     Become Master  : "), "{backup}");
        assert!(backup.contains("ms left\n"), "{backup}");
        assert!(
            backup.contains("     Auth Type      : Not supported        Version      : 3\n"),
            "{backup}"
        );
        assert!(!backup.contains("Virtual MAC"), "{backup}");
    }

    #[test]
    fn real_mac_fallback_is_said() {
        let (_d, mut s) = session();
        let mut st = published();
        st.groups.get_mut(&(ge(1), 1)).unwrap().mac_mode = Some(MacMode::Real {
            reason: "cannot create the macvlan".into(),
        });
        s.device.vrrp_status.send_replace(Arc::new(st));
        let text = run(&mut s, "display vrrp verbose");
        assert!(
            text.contains("(real MAC: cannot create the macvlan)"),
            "{text}"
        );
    }

    #[test]
    fn statistics_and_reset() {
        let (_d, mut s) = session();
        let text = run(&mut s, "display vrrp statistics interface ge1/0/1 vrid 1");
        for line in [
            " Interface                      : GigabitEthernet1/0/1\n",
            " VRID                           : 1\n",
            " IP TTL Errors                  : 2\n",
            " Other Discarded Pkts           : 1\n",
            " Become Master                  : 1\n",
            " Advertisements Rcvd            : 10\n",
            " Advertisements Sent            : 3\n",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
        assert!(!text.contains("Global"), "{text}");
        let all = run(&mut s, "display vrrp statistics");
        assert!(
            all.contains(" Global statistics:\n VRID Errors                    : 4\n"),
            "{all}"
        );
        assert!(all.contains("VRID                           : 2"), "{all}");

        run(&mut s, "reset vrrp statistics interface ge1/0/1 vrid 1");
        let text = run(&mut s, "display vrrp statistics interface ge1/0/1 vrid 1");
        assert!(
            text.contains(" IP TTL Errors                  : 0\n"),
            "{text}"
        );
        assert!(
            text.contains(" Advertisements Sent            : 0\n"),
            "{text}"
        );
        // New counts show on top of the baseline; a recreated group starts afresh.
        let mut st = published();
        let g = st.groups.get_mut(&(ge(1), 1)).unwrap();
        g.statistics.sent = 5;
        s.device.vrrp_status.send_replace(Arc::new(st.clone()));
        let text = run(&mut s, "display vrrp statistics interface ge1/0/1 vrid 1");
        assert!(
            text.contains(" Advertisements Sent            : 2\n"),
            "{text}"
        );
        st.groups.get_mut(&(ge(1), 1)).unwrap().instance = 9;
        s.device.vrrp_status.send_replace(Arc::new(st));
        let text = run(&mut s, "display vrrp statistics interface ge1/0/1 vrid 1");
        assert!(
            text.contains(" Advertisements Sent            : 5\n"),
            "{text}"
        );
        assert!(!s.execute("display vrrp interface ge1/0/9", &mut TestIo).ok);
    }
}
