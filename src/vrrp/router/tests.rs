use super::*;
use crate::vrrp::config::TrackedInterface;
use crate::vrrp::timers::master_down_interval;

const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(priority: u8) -> GroupConfig {
    GroupConfig {
        priority,
        ..GroupConfig::new(1, vec![VIP])
    }
}

fn started(config: &GroupConfig) -> Router {
    let mut r = Router::new(config.vrid, true);
    r.handle_config(Duration::ZERO, config, Some(ME)).unwrap();
    r
}

fn master(config: &GroupConfig) -> Router {
    let mut r = started(config);
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    assert_eq!(r.state(), State::Master);
    r.drain_outputs();
    r
}

fn receive(r: &mut Router, now: Duration, from: Ipv4Addr, priority: u8) {
    let adv = Advertisement {
        version: r.config().version,
        vrid: 1,
        priority,
        interval_cs: r.config().effective_interval_cs(),
        auth: r
            .config()
            .simple_key
            .as_deref()
            .map_or(Auth::None, Auth::simple),
        addresses: vec![VIP],
    };
    let ip = IpHeader::multicast_from(from);
    r.handle_packet(now, &ip, &adv.encode(ip.src, ip.dst).unwrap());
}

#[test]
fn polls_split_transmits_from_events_in_order() {
    let mut r = started(&config(100));
    r.handle_timeout(r.poll_timeout().unwrap());
    let t = r.poll_transmit().unwrap();
    assert_eq!(t.advert.priority, 100);
    assert_eq!(t.ip, IpHeader::multicast_from(ME));
    assert!(t.encode().is_ok());
    assert!(r.poll_transmit().is_none());
    assert!(matches!(
        r.poll_event(),
        Some(Event::StateChanged {
            from: State::Initialize,
            to: State::Backup,
            ..
        })
    ));
    assert!(matches!(
        r.poll_event(),
        Some(Event::StateChanged {
            to: State::Master,
            ..
        })
    ));
    assert!(matches!(
        r.poll_output(),
        Some(Output::Event(Event::AddVirtualIps { .. }))
    ));
    assert!(matches!(r.poll_event(), Some(Event::GratuitousArp { .. })));
    assert!(r.poll_output().is_none());
}

#[test]
fn timers_fire_only_when_due_and_restart_from_the_firing_time() {
    let mut r = master(&config(100));
    let due = r.poll_timeout().unwrap();
    r.handle_timeout(due - Duration::from_nanos(1));
    assert!(r.poll_transmit().is_none());
    // A driver that wakes late sends once and re-arms from when it ran.
    let late = due + ms(250);
    r.handle_timeout(late);
    assert!(r.poll_transmit().is_some());
    assert!(r.poll_transmit().is_none());
    assert_eq!(r.poll_timeout(), Some(late + ms(1000)));
}

#[test]
fn status_shows_the_countdown_to_mastership_and_the_virtual_mac() {
    let mut r = started(&GroupConfig {
        vrid: 7,
        ..config(100)
    });
    let s = r.status(ms(1000));
    assert_eq!(s.state, State::Backup);
    assert_eq!(s.become_master_in, Some(Duration::from_micros(2_609_375)));
    assert_eq!(s.virtual_mac, [0x00, 0x00, 0x5e, 0x00, 0x01, 7]);
    assert_eq!((s.config_priority, s.running_priority), (100, 100));
    assert!(s.admin_up && s.link_up);
    assert_eq!(s.master_ip, None);
    r.handle_timeout(r.poll_timeout().unwrap());
    let s = r.status(ms(4000));
    assert_eq!(s.become_master_in, None);
    assert_eq!(s.master_ip, Some(ME));
}

#[test]
fn invalid_or_vrid_changing_configuration_changes_nothing() {
    let mut r = master(&config(100));
    assert_eq!(
        r.handle_config(ms(10), &config(0), Some(ME)),
        Err(ConfigError::Priority(0))
    );
    let other = GroupConfig {
        vrid: 2,
        ..config(100)
    };
    assert_eq!(
        r.handle_config(ms(10), &other, Some(ME)),
        Err(ConfigError::VridChanged { from: 1, to: 2 })
    );
    assert_eq!(r.state(), State::Master);
    assert!(r.poll_output().is_none());
}

#[test]
fn master_keeps_its_role_against_lower_priority_and_lower_address() {
    let mut r = master(&config(100));
    receive(&mut r, ms(5000), PEER, 50);
    receive(&mut r, ms(5001), Ipv4Addr::new(10, 0, 0, 0), 100);
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.statistics().accepted, 2);
    assert!(r.poll_output().is_none());
}

#[test]
fn tracking_never_drops_the_priority_below_one_nor_touches_the_owner() {
    let tracks = vec![
        TrackedInterface {
            interface: "ge1/0/2".parse().unwrap(),
            reduced: 200,
        },
        TrackedInterface {
            interface: "ge1/0/3".parse().unwrap(),
            reduced: 200,
        },
    ];
    let mut r = started(&GroupConfig {
        tracks: tracks.clone(),
        ..config(100)
    });
    r.handle_track(ms(1), &"ge1/0/2".parse().unwrap(), false);
    r.handle_track(ms(2), &"ge1/0/3".parse().unwrap(), false);
    assert_eq!(r.status(ms(2)).running_priority, 1);
    assert!(!r.status(ms(2)).tracks[0].up);
    r.handle_track(ms(3), &"ge1/0/3".parse().unwrap(), true);
    assert_eq!(r.status(ms(3)).running_priority, 1);
    r.handle_track(ms(4), &"ge1/0/2".parse().unwrap(), true);
    assert_eq!(r.status(ms(4)).running_priority, 100);

    let mut owner = started(&GroupConfig {
        tracks,
        ..GroupConfig::new(1, vec![ME])
    });
    owner.handle_track(ms(1), &"ge1/0/2".parse().unwrap(), false);
    assert_eq!(owner.status(ms(1)).running_priority, 255);
}

/// Comware 7's `vrrp vrid N track M priority reduced R`: Negative lowers the running
/// priority, Positive and NotReady (the entry deleted) give it back; the owner keeps 255.
#[test]
fn a_negative_track_entry_reduces_the_priority_until_positive_or_not_ready() {
    use crate::track::TrackState::*;
    use crate::vrrp::config::{TrackAction, TrackedEntry};
    let entries = vec![
        TrackedEntry {
            entry: 1,
            action: TrackAction::Reduce(30),
        },
        TrackedEntry {
            entry: 2,
            action: TrackAction::Reduce(80),
        },
    ];
    // The state told before the configuration that names the entry still counts.
    let mut r = Router::new(1, true);
    r.handle_track_entry(ms(0), 1, Negative);
    r.handle_config(
        ms(0),
        &GroupConfig {
            track_entries: entries.clone(),
            ..config(100)
        },
        Some(ME),
    )
    .unwrap();
    assert_eq!(r.status(ms(0)).running_priority, 70);
    r.handle_track_entry(ms(1), 2, Negative);
    assert_eq!(r.status(ms(1)).running_priority, 1);
    let shown = &r.status(ms(1)).track_entries;
    assert_eq!((shown[1].entry, shown[1].state), (2, Negative));
    r.handle_track_entry(ms(2), 2, NotReady);
    assert_eq!(r.status(ms(2)).running_priority, 70);
    r.handle_track_entry(ms(3), 1, Positive);
    assert_eq!(r.status(ms(3)).running_priority, 100);

    let mut owner = started(&GroupConfig {
        track_entries: entries,
        ..GroupConfig::new(1, vec![ME])
    });
    owner.handle_track_entry(ms(1), 1, Negative);
    assert_eq!(owner.status(ms(1)).running_priority, 255);
}

/// A master whose priority drops below a backup's tells it at once (an advert with the new
/// priority), so the backup can preempt.
#[test]
fn a_master_advertises_a_reduction_at_once() {
    use crate::vrrp::config::{TrackAction, TrackedEntry};
    let mut r = master(&GroupConfig {
        track_entries: vec![TrackedEntry {
            entry: 5,
            action: TrackAction::Reduce(50),
        }],
        ..config(120)
    });
    r.handle_track_entry(ms(10), 5, crate::track::TrackState::Negative);
    assert_eq!(r.poll_transmit().unwrap().advert.priority, 70);
}

/// `switchover`: a backup becomes master as soon as the entry turns Negative, without
/// waiting for Master_Down_Timer; Positive changes nothing, nor does a master's entry.
#[test]
fn a_switchover_entry_turning_negative_makes_a_backup_master_at_once() {
    use crate::track::TrackState::*;
    use crate::vrrp::config::{TrackAction, TrackedEntry};
    let cfg = GroupConfig {
        track_entries: vec![TrackedEntry {
            entry: 3,
            action: TrackAction::Switchover,
        }],
        ..config(100)
    };
    let mut r = started(&cfg);
    assert_eq!(r.state(), State::Backup);
    r.handle_track_entry(ms(5), 3, Positive);
    assert_eq!(r.state(), State::Backup);
    r.handle_track_entry(ms(10), 3, Negative);
    assert_eq!(r.state(), State::Master);
    assert!(r.drain_outputs().iter().any(|o| matches!(
        o,
        Output::Event(Event::StateChanged {
            to: State::Master,
            reason: StateReason::TrackSwitchover,
            ..
        })
    )));
    // The priority is not reduced by a switchover entry.
    assert_eq!(r.status(ms(10)).running_priority, 100);
}

/// The driver tells a new group its tracked interfaces' states before its configuration; a
/// group created while its uplink is down must start reduced (it started at full priority
/// until the uplink flapped).
#[test]
fn a_track_state_told_before_the_configuration_counts() {
    let mut r = Router::new(1, true);
    r.handle_track(ms(0), &"ge1/0/2".parse().unwrap(), false);
    r.handle_config(
        ms(0),
        &GroupConfig {
            tracks: vec![TrackedInterface {
                interface: "ge1/0/2".parse().unwrap(),
                reduced: 30,
            }],
            ..config(100)
        },
        Some(ME),
    )
    .unwrap();
    assert_eq!(r.status(ms(0)).running_priority, 70);
    // An interface no configuration names changes nothing.
    r.handle_track(ms(1), &"ge1/0/3".parse().unwrap(), false);
    assert_eq!(r.status(ms(1)).running_priority, 70);
}

#[test]
fn becoming_the_owner_takes_over_at_once() {
    let mut r = started(&config(100));
    r.drain_outputs();
    r.handle_config(ms(500), &GroupConfig::new(1, vec![ME]), Some(ME))
        .unwrap();
    assert_eq!(r.state(), State::Master);
    assert!(
        r.drain_outputs()
            .contains(&Output::Event(Event::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: StateReason::AddressOwner,
            }))
    );
}

#[test]
fn removing_a_backup_sends_nothing() {
    let mut r = started(&config(100));
    r.drain_outputs();
    r.handle_remove();
    assert_eq!(r.state(), State::Initialize);
    assert!(r.poll_transmit().is_none());
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn a_v2_backup_follows_a_changed_interval_and_statistics_reset() {
    let v2 = GroupConfig {
        version: Version::V2,
        ..config(100)
    };
    let mut r = started(&v2);
    let slower = GroupConfig {
        advertise_interval_cs: 250,
        ..v2
    };
    r.handle_config(ms(100), &slower, Some(ME)).unwrap();
    assert_eq!(r.status(ms(100)).master_adver_interval_cs, 300);
    receive(&mut r, ms(200), PEER, 150);
    assert_eq!(r.statistics().accepted, 1);
    assert_eq!(
        r.poll_timeout(),
        Some(ms(200) + master_down_interval(Version::V2, 100, 300))
    );
    r.reset_statistics();
    assert_eq!(r.statistics(), &Statistics::default());
}

#[test]
fn a_group_without_address_or_virtual_ip_waits_in_initialize() {
    let mut r = Router::new(1, true);
    r.handle_config(Duration::ZERO, &config(100), None).unwrap();
    assert_eq!(r.state(), State::Initialize);
    r.handle_config(Duration::ZERO, &GroupConfig::new(1, Vec::new()), Some(ME))
        .unwrap();
    assert_eq!(r.state(), State::Initialize);
    let mut down = Router::new(1, false);
    down.handle_config(Duration::ZERO, &config(100), Some(ME))
        .unwrap();
    assert_eq!(down.state(), State::Initialize);
    down.handle_link(ms(5), true);
    assert_eq!(down.state(), State::Backup);
    assert_eq!(
        down.poll_timeout(),
        Some(ms(5) + master_down_interval(Version::V3, 100, 100))
    );
}

mod properties {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Advert {
            from_peer: bool,
            priority: u8,
            interval_cs: u16,
            v2: bool,
        },
        Wait(u64),
        FireTimer,
        Link(bool),
        Track(bool),
        Config {
            priority: u8,
            preempt: bool,
            delay_cs: u32,
            shutdown: bool,
            v2: bool,
            owner: bool,
        },
        Remove,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<bool>(), any::<u8>(), 1u16..400, any::<bool>())
                .prop_map(|(from_peer, priority, interval_cs, v2)| Op::Advert { from_peer, priority, interval_cs, v2 }),
            2 => (0u64..5000).prop_map(Op::Wait),
            4 => Just(Op::FireTimer),
            1 => any::<bool>().prop_map(Op::Link),
            1 => any::<bool>().prop_map(Op::Track),
            1 => (1u8..=254, any::<bool>(), 0u32..500, prop::bool::weighted(0.1), any::<bool>(), prop::bool::weighted(0.1))
                .prop_map(|(priority, preempt, delay_cs, shutdown, v2, owner)| Op::Config { priority, preempt, delay_cs, shutdown, v2, owner }),
            1 => Just(Op::Remove),
        ]
    }

    proptest! {
        #[test]
        fn any_input_sequence_keeps_the_router_consistent(ops in prop::collection::vec(op(), 1..80)) {
            let ge2: IfName = "ge1/0/2".parse().unwrap();
            let tracks = vec![TrackedInterface { interface: ge2.clone(), reduced: 60 }];
            let mut r = started(&GroupConfig { tracks: tracks.clone(), ..config(100) });
            let mut now = Duration::ZERO;
            let mut installed: BTreeSet<Ipv4Addr> = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Advert { from_peer, priority, interval_cs, v2 } => {
                        let adv = Advertisement {
                            version: if v2 { Version::V2 } else { Version::V3 },
                            vrid: 1,
                            priority,
                            interval_cs: if v2 { 100 } else { interval_cs },
                            auth: Auth::None,
                            addresses: vec![VIP],
                        };
                        let ip = IpHeader::multicast_from(if from_peer { PEER } else { Ipv4Addr::new(10, 0, 0, 3) });
                        r.handle_packet(now, &ip, &adv.encode(ip.src, ip.dst).unwrap());
                    }
                    Op::Wait(n) => now += ms(n),
                    Op::FireTimer => {
                        if let Some(t) = r.poll_timeout() {
                            now = now.max(t);
                            r.handle_timeout(now);
                            prop_assert!(r.poll_timeout().is_none_or(|d| d > now), "a timer stays due after firing");
                        }
                    }
                    Op::Link(up) => r.handle_link(now, up),
                    Op::Track(up) => r.handle_track(now, &ge2, up),
                    Op::Config { priority, preempt, delay_cs, shutdown, v2, owner } => {
                        let c = GroupConfig {
                            priority,
                            preempt,
                            preempt_delay_cs: delay_cs,
                            shutdown,
                            version: if v2 { Version::V2 } else { Version::V3 },
                            tracks: tracks.clone(),
                            ..GroupConfig::new(1, vec![if owner { ME } else { VIP }])
                        };
                        prop_assert_eq!(r.handle_config(now, &c, Some(ME)), Ok(()));
                    }
                    Op::Remove => r.handle_remove(),
                }
                for out in r.drain_outputs() {
                    match out {
                        Output::Event(Event::AddVirtualIps { addresses, .. }) => installed.extend(addresses),
                        Output::Event(Event::RemoveVirtualIps { addresses, .. }) => {
                            for a in addresses {
                                prop_assert!(installed.remove(&a), "removed {a} that was never added");
                            }
                        }
                        Output::Transmit(t) => {
                            prop_assert!(t.encode().is_ok());
                            prop_assert_eq!(t.ip.src, ME);
                        }
                        Output::Event(_) => {}
                    }
                }
                let s = r.statistics();
                prop_assert_eq!(s.received, s.accepted + s.rejected_total());
                let timers = (r.adver_timer.is_some(), r.master_down_timer.is_some());
                match r.state() {
                    State::Master => {
                        prop_assert_eq!(timers, (true, false));
                        prop_assert_eq!(installed.iter().collect::<Vec<_>>(), r.config().virtual_ips.iter().collect::<Vec<_>>());
                    }
                    State::Backup => {
                        prop_assert_eq!(timers, (false, true));
                        prop_assert!(installed.is_empty());
                    }
                    State::Initialize => {
                        prop_assert_eq!(timers, (false, false));
                        prop_assert!(installed.is_empty());
                    }
                }
            }
        }
    }
}

#[test]
fn held_preemption_accepts_a_lower_master_until_released() {
    let cfg = GroupConfig {
        preempt: true,
        ..config(200)
    };
    let mut r = started(&cfg);
    r.set_preempt_held(true);
    // A lower-priority master keeps advertising: held, this backup does not take over.
    for i in 0..10u64 {
        receive(&mut r, ms(i * 1000), PEER, 100);
        r.handle_timeout(ms(i * 1000 + 1));
    }
    assert_eq!(r.state(), State::Backup);
    // Released: the next advert is discarded and Master_Down_Timer runs out.
    r.set_preempt_held(false);
    receive(&mut r, ms(10_000), PEER, 100);
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    assert_eq!(r.state(), State::Master);
}
