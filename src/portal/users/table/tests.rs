//! The user table's unit and property tests: limits, lockout, timers, and the invariants of
//! `users/mod.rs` (the firewall set and the journal follow the table exactly).

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::portal::config::{Detect, DetectKind};
use crate::portal::firewall::Client;

const PORT: &str = "GigabitEthernet1/0/1";
const PORT2: &str = "GigabitEthernet1/0/2";

fn limits() -> Limits {
    Limits {
        max_users: None,
        interfaces: BTreeMap::from([
            (PORT.to_string(), PortLimits::default()),
            (PORT2.to_string(), PortLimits::default()),
        ]),
    }
}

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 1, 1, n)
}

fn mac(n: u8) -> [u8; 6] {
    [0, 0x11, 0x22, 0x33, 0x44, n]
}

fn req(n: u8, m: u8, name: &str) -> LoginRequest {
    LoginRequest {
        ip: ip(n),
        mac: mac(m),
        interface: PORT.to_string(),
        username: name.to_string(),
    }
}

fn grant(name: &str) -> Result<Grant, Refusal> {
    Ok(Grant {
        username: name.to_string(),
        access_limit: None,
        idle_cut_secs: None,
        session_secs: None,
    })
}

fn logs(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Log(l) => Some(format!("{}: {}", l.mnemonic, l.message)),
            _ => None,
        })
        .collect()
}

#[test]
fn login_allows_journals_and_logs_then_logoff_revokes() {
    let mut t = Table::new(limits());
    let done = t.login(1000, req(10, 1, "guest"), grant("guest")).unwrap();
    assert_eq!(done.commit, Some(1));
    let ev = t.drain();
    assert_eq!(ev[0], Event::Journal(Change::Login(done.user.clone())));
    assert_eq!(
        ev[1],
        Event::Allow(Client {
            ip: ip(10),
            mac: mac(1)
        })
    );
    assert_eq!(
        logs(&ev),
        [
            "PORTAL_USER_LOGON: -UserName=guest-IPAddr=10.1.1.10-IfName=GigabitEthernet1/0/1-OuterVLAN=N/A-InnerVLAN=N/A-MACAddr=0011-2233-4401; User got online successfully."
        ]
    );
    // The same client again: nothing changes, nothing to wait for.
    let again = t.login(2000, req(10, 1, "guest"), grant("guest")).unwrap();
    assert_eq!(again.commit, None);
    assert!(t.drain().is_empty());
    assert!(t.logoff(3000, ip(10)));
    let ev = t.drain();
    assert_eq!(
        ev[0],
        Event::Revoke(Client {
            ip: ip(10),
            mac: mac(1)
        })
    );
    assert_eq!(ev[1], Event::Journal(Change::Logout { ip: ip(10), seq: 2 }));
    assert!(logs(&ev)[0].ends_with("-Reason=User request; User logged off."));
    assert!(!t.logoff(3000, ip(10)));
    assert_eq!(t.stats().logouts[&Cause::Logoff], 1);
}

#[test]
fn a_reused_ip_with_another_mac_replaces_the_old_user() {
    let mut t = Table::new(limits());
    t.login(0, req(10, 1, "a"), grant("a")).unwrap();
    t.drain();
    t.login(10, req(10, 2, "b"), grant("b")).unwrap();
    let ev = t.drain();
    assert_eq!(
        ev[0],
        Event::Revoke(Client {
            ip: ip(10),
            mac: mac(1)
        })
    );
    assert!(ev.contains(&Event::Allow(Client {
        ip: ip(10),
        mac: mac(2)
    })));
    assert_eq!(t.get(ip(10)).unwrap().username, "b");
    assert_eq!(t.stats().logouts[&Cause::Replaced], 1);
}

#[test]
fn limits_hold() {
    let mut l = limits();
    l.max_users = Some(3);
    l.interfaces.get_mut(PORT).unwrap().max_users = Some(2);
    let mut t = Table::new(l);
    let limited = |name: &str| {
        Ok(Grant {
            access_limit: Some(1),
            ..grant(name).unwrap()
        })
    };
    t.login(0, req(1, 1, "u"), limited("u")).unwrap();
    assert_eq!(
        t.login(0, req(2, 2, "u"), limited("u")),
        Err(LoginError::AccessLimit)
    );
    t.login(0, req(2, 2, "v"), grant("v")).unwrap();
    assert_eq!(
        t.login(0, req(3, 3, "w"), grant("w")),
        Err(LoginError::InterfaceFull)
    );
    let mut other = req(4, 4, "w");
    other.interface = PORT2.to_string();
    t.login(0, other.clone(), grant("w")).unwrap();
    other.ip = ip(5);
    other.mac = mac(5);
    assert_eq!(t.login(0, other, grant("x")), Err(LoginError::DeviceFull));
    // Re-logging in the same client is not a new user.
    assert!(t.login(0, req(1, 1, "u"), limited("u")).is_ok());
    let mut off = req(9, 9, "z");
    off.interface = "GigabitEthernet1/0/3".into();
    assert_eq!(t.login(0, off, grant("z")), Err(LoginError::NotPortal));
    assert_eq!(t.stats().failures["max-user"], 2);
}

#[test]
fn five_failures_lock_the_source_out_for_a_minute() {
    let mut t = Table::new(limits());
    for i in 0..MAX_FAILURES {
        assert_eq!(
            t.login(u64::from(i), req(7, 7, "g"), Err(Refusal::BadPassword)),
            Err(LoginError::Refused(Refusal::BadPassword))
        );
    }
    let ev = t.drain();
    assert!(
        logs(&ev)
            .iter()
            .any(|l| l.starts_with("PORTAL_USER_LOCKOUT"))
    );
    assert_eq!(
        logs(&ev)
            .iter()
            .filter(|l| l.starts_with("PORTAL_USER_LOGONFAILED"))
            .count(),
        5
    );
    // Even the right password waits; another source does not.
    assert_eq!(
        t.login(1000, req(7, 7, "g"), grant("g")),
        Err(LoginError::LockedOut { secs: 60 })
    );
    assert!(t.login(1000, req(8, 8, "g"), grant("g")).is_ok());
    assert!(t.login(LOCKOUT_MS + 10, req(7, 7, "g"), grant("g")).is_ok());
    assert_eq!(t.stats().lockouts, 1);
}

#[test]
fn session_timeout_and_idle_cut_fire_once() {
    let mut t = Table::new(limits());
    let g = Grant {
        idle_cut_secs: Some(60),
        session_secs: Some(300),
        ..grant("g").unwrap()
    };
    t.login(0, req(1, 1, "g"), Ok(g.clone())).unwrap();
    t.login(0, req(2, 2, "g"), Ok(g)).unwrap();
    t.drain();
    assert_eq!(t.poll_timeout(), Some(60_000));
    // Client 1 keeps sending; client 2 is idle.
    for s in (10..=290).step_by(10) {
        t.activity(s * 1000, [ip(1)]);
        t.handle_timeout(s * 1000);
    }
    assert!(t.get(ip(2)).is_none());
    assert_eq!(t.stats().logouts[&Cause::IdleCut], 1);
    assert_eq!(t.poll_timeout(), Some(300_000));
    t.handle_timeout(300_000);
    t.handle_timeout(300_001);
    assert!(t.is_empty());
    assert_eq!(t.stats().logouts[&Cause::SessionTimeout], 1);
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn detection_probes_retry_times_before_the_idle_cut() {
    let mut l = limits();
    l.interfaces.get_mut(PORT).unwrap().detect = Some(Detect {
        kind: DetectKind::Icmp,
        retry: 2,
        interval_secs: 3,
        idle_secs: 60,
    });
    let mut t = Table::new(l);
    t.login(0, req(1, 1, "g"), grant("g")).unwrap();
    t.drain();
    t.handle_timeout(60_000);
    let probes = |ev: Vec<Event>| {
        ev.iter()
            .filter(|e| matches!(e, Event::Probe { .. }))
            .count()
    };
    assert_eq!(probes(t.drain()), 1);
    // An answer ends the probing.
    t.activity(61_000, [ip(1)]);
    assert_eq!(t.poll_timeout(), Some(121_000));
    t.handle_timeout(121_000);
    t.handle_timeout(124_000);
    assert_eq!(probes(t.drain()), 2);
    assert!(t.get(ip(1)).is_some());
    t.handle_timeout(127_000);
    assert!(t.get(ip(1)).is_none());
    assert_eq!(t.stats().probes, 3);
}

#[test]
fn leaving_the_portal_logs_the_interface_out() {
    let mut t = Table::new(limits());
    t.login(0, req(1, 1, "g"), grant("g")).unwrap();
    let mut l = limits();
    l.interfaces.remove(PORT);
    t.set_limits(5, l);
    assert!(t.is_empty());
    assert_eq!(t.stats().logouts[&Cause::ConfigChange], 1);
}

#[test]
fn restore_keeps_sequence_numbers_growing() {
    let mut t = Table::new(limits());
    let u = t.login(0, req(1, 1, "g"), grant("g")).unwrap().user;
    let mut t2 = Table::new(limits());
    t2.restore(0, vec![User { seq: 41, ..u }]);
    assert_eq!(t2.next_seq(), 42);
    assert!(t2.drain().is_empty());
    assert_eq!(
        t2.login(0, req(2, 2, "h"), grant("h")).unwrap().commit,
        Some(42)
    );
}

/// One step of the property test.
#[derive(Clone, Debug)]
enum Op {
    Login {
        ip: u8,
        mac: u8,
        user: u8,
        port2: bool,
        good: bool,
    },
    Logoff(u8),
    DeleteAll,
    DeleteMac(u8),
    Activity(u8),
    Advance(u32),
    Detect(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..8, 0u8..3, 0u8..3, any::<bool>(), prop::bool::weighted(0.8)).prop_map(
            |(ip, mac, user, port2, good)| Op::Login { ip, mac, user, port2, good }
        ),
        1 => (0u8..8).prop_map(Op::Logoff),
        1 => Just(Op::DeleteAll),
        1 => (0u8..3).prop_map(Op::DeleteMac),
        2 => (0u8..8).prop_map(Op::Activity),
        3 => (0u32..200_000).prop_map(Op::Advance),
        1 => any::<bool>().prop_map(Op::Detect),
    ]
}

/// User 0 may log in twice at once, user 1 is cut after 60 s idle, user 2 after 300 s online.
fn grant_of(user: u8) -> Grant {
    Grant {
        username: format!("u{user}"),
        access_limit: (user == 0).then_some(2),
        idle_cut_secs: (user == 1).then_some(60),
        session_secs: (user == 2).then_some(300),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No element without a user, no user without an element; the journal replays to the
    /// table; limits hold; no deadline is left behind or fires twice.
    #[test]
    fn the_firewall_and_the_journal_follow_the_table(ops in proptest::collection::vec(op(), 1..80)) {
        let mut l = limits();
        l.max_users = Some(6);
        l.interfaces.get_mut(PORT2).unwrap().max_users = Some(2);
        let mut t = Table::new(l.clone());
        let mut now: Millis = 1_000_000;
        let mut allowed: HashSet<Client> = HashSet::new();
        let mut journal: BTreeMap<Ipv4Addr, User> = BTreeMap::new();
        let mut last_seq = 0;
        let mut ended: HashSet<u64> = HashSet::new();
        for op in ops {
            match op {
                Op::Login { ip: n, mac: m, user, port2, good } => {
                    let mut r = req(n, m, &format!("u{user}"));
                    if port2 { r.interface = PORT2.to_string(); }
                    let verdict = if good { Ok(grant_of(user)) } else { Err(Refusal::BadPassword) };
                    let _ = t.login(now, r, verdict);
                }
                Op::Logoff(n) => { t.logoff(now, ip(n)); }
                Op::DeleteAll => { t.logout(now, &Selector::All, Cause::DeleteUser); }
                Op::DeleteMac(m) => { t.logout(now, &Selector::Mac(mac(m)), Cause::DeleteUser); }
                Op::Activity(n) => t.activity(now, [ip(n)]),
                Op::Advance(ms) => {
                    now += u64::from(ms);
                    t.handle_timeout(now);
                }
                Op::Detect(on) => {
                    l.interfaces.get_mut(PORT).unwrap().detect = on.then_some(Detect {
                        kind: DetectKind::Arp, retry: 2, interval_secs: 3, idle_secs: 120,
                    });
                    t.set_limits(now, l.clone());
                }
            }
            for e in t.drain() {
                match e {
                    Event::Allow(c) => {
                        prop_assert!(!allowed.iter().any(|a| a.ip == c.ip), "{c:?} allowed twice");
                        allowed.insert(c);
                    }
                    Event::Revoke(c) => prop_assert!(allowed.remove(&c), "{c:?} revoked but not allowed"),
                    Event::Journal(change) => match change {
                        Change::Login(u) => {
                            prop_assert!(u.seq > last_seq);
                            last_seq = u.seq;
                            journal.insert(u.ip, u);
                        }
                        Change::Logout { ip, seq } => {
                            prop_assert!(seq > last_seq);
                            last_seq = seq;
                            let u = journal.remove(&ip);
                            prop_assert!(u.is_some());
                            prop_assert!(ended.insert(u.unwrap().seq), "a login ended twice");
                        }
                    },
                    Event::Log(_) | Event::Probe { .. } => {}
                }
            }
            let users: HashSet<Client> = t.users().map(User::client).collect();
            prop_assert_eq!(&users, &allowed);
            let replayed: Vec<&User> = journal.values().collect();
            let table: Vec<&User> = t.users().collect();
            prop_assert_eq!(replayed, table);
            prop_assert!(t.len() <= 6);
            prop_assert!(t.users().filter(|u| u.interface == PORT2).count() <= 2);
            prop_assert!(t.count_of("u0") <= 2);
            // Every deadline due has run.
            prop_assert!(t.poll_timeout().is_none_or(|d| d > now));
            for u in t.users() {
                prop_assert!(u.session_deadline_ms.is_none_or(|d| d > now));
            }
        }
    }
}
