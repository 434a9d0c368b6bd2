//! Two or three VRRP routers wired back to back on a virtual clock (a tiny in-test LAN, as in
//! quinn-proto's `Pair`): who is master, and exactly when takeover happens.

use std::net::Ipv4Addr;
use std::time::Duration;

use duet::vrrp::packet::{build_ipv4, parse_ipv4};
use duet::vrrp::timers::{master_down_interval, skew_time};
use duet::vrrp::{
    Event, GroupConfig, Output, Router, State, StateReason, TrackedInterface, Version,
};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn addr(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn group(priority: u8) -> GroupConfig {
    GroupConfig {
        priority,
        ..GroupConfig::new(1, vec![VIP])
    }
}

struct Node {
    router: Router,
    config: GroupConfig,
    primary: Ipv4Addr,
    /// Cable plugged in: sends and receives.
    connected: bool,
    /// Process alive: a dead node is never called again (a crash, not a shutdown).
    alive: bool,
    /// When this node last sent an advert, and with which priority.
    last_sent: Option<(Duration, u8)>,
}

/// The LAN: every advert a connected node sends reaches every other connected node at once
/// (zero latency keeps takeover times exact), as real bytes through the IPv4 framing.
struct Lan {
    now: Duration,
    nodes: Vec<Node>,
    queue: Vec<(usize, Vec<u8>)>,
    /// (time, node, event) for every event any node produced.
    events: Vec<(Duration, usize, Event)>,
}

impl Lan {
    fn new(groups: Vec<(GroupConfig, Ipv4Addr)>) -> Lan {
        let mut lan = Lan {
            now: Duration::ZERO,
            nodes: Vec::new(),
            queue: Vec::new(),
            events: Vec::new(),
        };
        for (config, primary) in groups {
            lan.add(config, primary);
        }
        lan
    }

    /// Two routers, started together: `a` on 10.0.0.1, `b` on 10.0.0.2.
    fn pair(a: GroupConfig, b: GroupConfig) -> Lan {
        Lan::new(vec![(a, addr(1)), (b, addr(2))])
    }

    /// Three routers on 10.0.0.1-3.
    fn trio(a: GroupConfig, b: GroupConfig, c: GroupConfig) -> Lan {
        Lan::new(vec![(a, addr(1)), (b, addr(2)), (c, addr(3))])
    }

    /// Start one more router now.
    fn add(&mut self, config: GroupConfig, primary: Ipv4Addr) -> usize {
        let mut router = Router::new(config.vrid, true);
        router
            .handle_config(self.now, &config, Some(primary))
            .unwrap();
        self.nodes.push(Node {
            router,
            config,
            primary,
            connected: true,
            alive: true,
            last_sent: None,
        });
        let i = self.nodes.len() - 1;
        self.flush(i);
        self.settle();
        i
    }

    fn flush(&mut self, i: usize) {
        let now = self.now;
        let node = &mut self.nodes[i];
        for out in node.router.drain_outputs() {
            match out {
                Output::Transmit(t) => {
                    assert_eq!(t.ip.src, node.primary);
                    node.last_sent = Some((now, t.advert.priority));
                    if node.connected {
                        let msg = t.encode().expect("router adverts always encode");
                        self.queue.push((i, build_ipv4(&t.ip, &msg)));
                    }
                }
                Output::Event(e) => self.events.push((now, i, e)),
            }
        }
    }

    /// Deliver queued adverts until nothing more is sent at this instant.
    fn settle(&mut self) {
        while !self.queue.is_empty() {
            for (from, datagram) in std::mem::take(&mut self.queue) {
                let (ip, payload) = parse_ipv4(&datagram).unwrap();
                for to in 0..self.nodes.len() {
                    let n = &mut self.nodes[to];
                    if to != from && n.alive && n.connected {
                        n.router.handle_packet(self.now, &ip, payload);
                        self.flush(to);
                    }
                }
            }
        }
    }

    fn next_deadline(&self) -> Option<Duration> {
        self.nodes
            .iter()
            .filter(|n| n.alive)
            .filter_map(|n| n.router.poll_timeout())
            .min()
    }

    /// Run every timer due up to and including `until`, then stop the clock there.
    fn run_until(&mut self, until: Duration) {
        while let Some(t) = self.next_deadline().filter(|t| *t <= until) {
            assert!(
                t >= self.now,
                "a deadline in the past: {t:?} < {:?}",
                self.now
            );
            self.now = t;
            for i in 0..self.nodes.len() {
                if self.nodes[i].alive
                    && self.nodes[i].router.poll_timeout().is_some_and(|d| d <= t)
                {
                    self.nodes[i].router.handle_timeout(t);
                    self.flush(i);
                    self.settle();
                }
            }
        }
        self.now = until;
    }

    fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// The one master among the live nodes.
    fn master(&self) -> usize {
        let masters: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].alive && self.state(*i) == State::Master)
            .collect();
        assert_eq!(
            masters.len(),
            1,
            "expected exactly one master at {:?}: {masters:?}",
            self.now
        );
        masters[0]
    }

    fn state(&self, i: usize) -> State {
        self.nodes[i].router.state()
    }

    /// When node `i` last became master.
    fn became_master_at(&self, i: usize) -> Duration {
        self.events
            .iter()
            .rev()
            .find_map(|(t, n, e)| match e {
                Event::StateChanged {
                    to: State::Master, ..
                } if *n == i => Some(*t),
                _ => None,
            })
            .unwrap_or_else(|| panic!("node {i} never became master"))
    }

    fn last_reason(&self, i: usize) -> StateReason {
        self.events
            .iter()
            .rev()
            .find_map(|(_, n, e)| match e {
                Event::StateChanged { reason, .. } if *n == i => Some(*reason),
                _ => None,
            })
            .unwrap()
    }

    /// Run until `i` sends an advert, and return when it did.
    fn run_until_advert_from(&mut self, i: usize) -> Duration {
        let before = self.nodes[i].last_sent;
        while self.nodes[i].last_sent == before {
            let t = self.next_deadline().expect("a timer is armed");
            self.run_until(t);
        }
        self.nodes[i].last_sent.unwrap().0
    }

    fn reconfigure(&mut self, i: usize, change: impl FnOnce(&mut GroupConfig)) {
        change(&mut self.nodes[i].config);
        let (config, primary) = (self.nodes[i].config.clone(), self.nodes[i].primary);
        self.nodes[i]
            .router
            .handle_config(self.now, &config, Some(primary))
            .unwrap();
        self.flush(i);
        self.settle();
    }

    fn track(&mut self, i: usize, interface: &str, up: bool) {
        self.nodes[i]
            .router
            .handle_track(self.now, &interface.parse().unwrap(), up);
        self.flush(i);
        self.settle();
    }
}

fn mdi(priority: u8, interval_cs: u16) -> Duration {
    master_down_interval(Version::V3, priority, interval_cs)
}

#[test]
fn higher_priority_wins_the_first_election_at_its_master_down_interval() {
    let mut lan = Lan::pair(group(200), group(100));
    assert_eq!(lan.state(0), State::Backup);
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 0);
    assert_eq!(lan.became_master_at(0), mdi(200, 100));
    assert_eq!(lan.became_master_at(0), Duration::from_nanos(3_218_750_000));
    assert_eq!(lan.state(1), State::Backup);
    let status = lan.nodes[1].router.status(lan.now);
    assert_eq!(status.master_ip, Some(addr(1)));
    assert_eq!(status.master_priority, Some(200));
}

#[test]
fn equal_priority_between_two_masters_is_broken_by_the_higher_primary_address() {
    let mut lan = Lan::pair(group(100), group(100));
    lan.run_for(ms(10_000));
    // On a zero-latency LAN the first to time out wins and the other accepts its adverts.
    assert_eq!(lan.master(), 0);
    // Two masters (a healed partition): the lower address steps down on the first advert.
    lan.nodes[0].connected = false;
    lan.run_for(ms(10_000));
    assert_eq!(lan.state(1), State::Master);
    lan.nodes[0].connected = true;
    lan.run_for(ms(3_000));
    assert_eq!(lan.master(), 1);
    assert_eq!(lan.last_reason(0), StateReason::HigherPriorityMaster);
    lan.run_for(ms(60_000));
    assert_eq!(lan.master(), 1);
}

#[test]
fn backup_takes_over_exactly_master_down_interval_after_the_last_advert() {
    let mut lan = Lan::pair(group(200), group(100));
    lan.run_for(ms(20_000));
    let last = lan.run_until_advert_from(0);
    lan.nodes[0].alive = false; // crash right after this advert
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 1);
    assert_eq!(lan.became_master_at(1), last + mdi(100, 100));
    assert_eq!(
        lan.became_master_at(1) - last,
        Duration::from_micros(3_609_375)
    );
    assert_eq!(lan.last_reason(1), StateReason::MasterDownExpired);
}

#[test]
fn priority_zero_hands_over_after_skew_time() {
    let mut lan = Lan::pair(group(200), group(100));
    lan.run_for(ms(20_500));
    let shutdown_at = lan.now;
    lan.reconfigure(0, |c| c.shutdown = true);
    assert_eq!(lan.nodes[0].last_sent, Some((shutdown_at, 0)));
    assert_eq!(lan.state(0), State::Initialize);
    lan.run_for(ms(5_000));
    assert_eq!(lan.master(), 1);
    assert_eq!(
        lan.became_master_at(1) - shutdown_at,
        skew_time(Version::V3, 100, 100)
    );
    assert_eq!(
        lan.became_master_at(1) - shutdown_at,
        Duration::from_micros(609_375)
    );
    assert_eq!(lan.last_reason(1), StateReason::MasterResigned);
    assert_eq!(lan.nodes[1].router.statistics().priority_zero_received, 1);
}

#[test]
fn a_returning_higher_priority_router_preempts_at_its_master_down_interval() {
    let mut lan = Lan::new(vec![(group(100), addr(2))]);
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 0);
    let a = lan.add(group(200), addr(1));
    let joined = lan.now;
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), a);
    // It discards the lower-priority adverts, so its first Master_Down_Timer runs out.
    assert_eq!(lan.became_master_at(a), joined + mdi(200, 100));
    assert_eq!(lan.state(0), State::Backup);
}

#[test]
fn preemption_waits_for_the_delay_counted_from_the_first_lower_advert() {
    let mut lan = Lan::new(vec![(group(100), addr(2))]);
    lan.run_for(ms(10_000));
    let a = lan.add(
        GroupConfig {
            preempt_delay_cs: 500,
            ..group(200)
        },
        addr(1),
    );
    let first_lower = lan.run_until_advert_from(0);
    // Adverts heard before first_lower + 5 s keep the old master; the last of them is at
    // first_lower + 4 s (1 s adverts), and the takeover is one Master_Down_Interval later.
    lan.run_until(first_lower + ms(4_999));
    assert_eq!(lan.master(), 0);
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), a);
    assert_eq!(
        lan.became_master_at(a),
        first_lower + ms(4_000) + mdi(200, 100)
    );
}

#[test]
fn without_preemption_the_higher_priority_router_stays_backup() {
    let mut lan = Lan::new(vec![(group(100), addr(2))]);
    lan.run_for(ms(10_000));
    let a = lan.add(
        GroupConfig {
            preempt: false,
            ..group(200)
        },
        addr(1),
    );
    lan.run_for(ms(60_000));
    assert_eq!(lan.master(), 0);
    assert_eq!(lan.state(a), State::Backup);
    // It still takes over when the master goes away.
    lan.reconfigure(0, |c| c.shutdown = true);
    lan.run_for(ms(1_000));
    assert_eq!(lan.master(), a);
}

#[test]
fn the_address_owner_is_master_at_once_and_takes_back_over_on_return() {
    let owner = GroupConfig::new(1, vec![addr(1)]);
    let mut lan = Lan::new(vec![
        (owner.clone(), addr(1)),
        (GroupConfig::new(1, vec![addr(1)]), addr(2)),
    ]);
    assert_eq!(lan.master(), 0);
    assert_eq!(lan.became_master_at(0), Duration::ZERO);
    assert_eq!(lan.last_reason(0), StateReason::AddressOwner);
    assert_eq!(lan.nodes[0].router.status(lan.now).running_priority, 255);
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 0);

    lan.nodes[0].router.handle_link(lan.now, false);
    lan.flush(0);
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 1);
    let back = lan.now;
    lan.nodes[0].router.handle_link(back, true);
    lan.flush(0);
    lan.settle();
    assert_eq!(lan.master(), 0);
    assert_eq!(lan.became_master_at(0), back);
    assert_eq!(lan.state(1), State::Backup);
}

#[test]
fn tracking_lowers_the_priority_and_restoring_it_preempts_back() {
    let tracked = GroupConfig {
        tracks: vec![TrackedInterface {
            interface: "ge1/0/2".parse().unwrap(),
            reduced: 30,
        }],
        ..group(120)
    };
    let mut lan = Lan::pair(tracked, group(100));
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 0);

    let last_120 = lan.run_until_advert_from(0);
    lan.run_for(ms(300));
    lan.track(0, "GigabitEthernet1/0/2", false);
    // The master tells the backup at once that it now runs at 90.
    assert_eq!(lan.nodes[0].last_sent, Some((lan.now, 90)));
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 1);
    assert_eq!(lan.became_master_at(1), last_120 + mdi(100, 100));

    let last_b = lan.run_until_advert_from(1);
    lan.run_for(ms(100));
    lan.track(0, "ge1/0/2", true);
    assert_eq!(lan.nodes[0].router.status(lan.now).running_priority, 120);
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 0);
    // Timed by the Master_Down_Interval set by B's last advert, at priority 90.
    assert_eq!(lan.became_master_at(0), last_b + mdi(90, 100));
}

#[test]
fn a_v3_backup_adopts_the_masters_interval_and_times_it_by_that() {
    let fast = GroupConfig {
        advertise_interval_cs: 50,
        ..group(200)
    };
    let mut lan = Lan::pair(fast, group(100));
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 0);
    assert!(
        lan.events
            .iter()
            .any(|(_, n, e)| *n == 1 && *e == Event::AdoptInterval { interval_cs: 50 })
    );
    assert_eq!(
        lan.nodes[1].router.status(lan.now).master_adver_interval_cs,
        50
    );
    let last = lan.run_until_advert_from(0);
    lan.nodes[0].alive = false;
    lan.run_for(ms(5_000));
    assert_eq!(lan.became_master_at(1), last + mdi(100, 50));
    assert_eq!(
        lan.became_master_at(1) - last,
        Duration::from_nanos(1_804_687_500)
    );
}

#[test]
fn v2_pair_with_simple_authentication_elects_and_fails_over() {
    let v2 = |p| GroupConfig {
        version: Version::V2,
        simple_key: Some("duet".into()),
        ..group(p)
    };
    let mut lan = Lan::pair(v2(200), v2(100));
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 0);
    let last = lan.run_until_advert_from(0);
    lan.nodes[0].alive = false;
    lan.run_for(ms(10_000));
    assert_eq!(
        lan.became_master_at(1) - last,
        master_down_interval(Version::V2, 100, 100)
    );
    assert_eq!(lan.nodes[1].router.statistics().rejected_total(), 0);
}

#[test]
fn a_split_brain_heals_to_the_higher_priority() {
    let mut lan = Lan::pair(group(200), group(100));
    lan.run_for(ms(10_000));
    lan.nodes[0].connected = false;
    lan.run_for(ms(10_000));
    assert_eq!(lan.state(0), State::Master);
    assert_eq!(lan.state(1), State::Master);
    lan.nodes[0].connected = true;
    lan.run_for(ms(3_000));
    assert_eq!(lan.master(), 0);
}

#[test]
fn trio_fails_over_down_the_priority_order() {
    let mut lan = Lan::trio(group(200), group(150), group(100));
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 0);

    let last_a = lan.run_until_advert_from(0);
    lan.nodes[0].alive = false;
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 1);
    assert_eq!(lan.became_master_at(1), last_a + mdi(150, 100));
    assert_eq!(lan.state(2), State::Backup);

    let last_b = lan.run_until_advert_from(1);
    lan.nodes[1].alive = false;
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 2);
    assert_eq!(lan.became_master_at(2), last_b + mdi(100, 100));
}

#[test]
fn the_master_adds_the_virtual_ip_announces_it_and_removes_it_on_handover() {
    let mut lan = Lan::pair(group(200), group(100));
    lan.run_for(ms(10_000));
    let mac = [0, 0, 0x5e, 0, 1, 1];
    let of_a: Vec<&Event> = lan
        .events
        .iter()
        .filter(|(_, n, _)| *n == 0)
        .map(|(_, _, e)| e)
        .collect();
    assert!(of_a.contains(&&Event::AddVirtualIps {
        addresses: vec![VIP],
        mac
    }));
    assert!(of_a.contains(&&Event::GratuitousArp {
        addresses: vec![VIP],
        mac
    }));
    lan.reconfigure(0, |c| c.priority = 50);
    lan.run_for(ms(10_000));
    assert_eq!(lan.master(), 1);
    assert!(lan.events.iter().any(|(_, n, e)| *n == 0
        && *e
            == Event::RemoveVirtualIps {
                addresses: vec![VIP],
                mac
            }));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn the_highest_priority_ends_as_master_and_its_successor_is_exact(
            priorities in prop::collection::vec(1u8..=254, 2..=3),
            interval_cs in 10u16..=300,
            start_gaps in prop::collection::vec(0u64..5000, 3),
        ) {
            let mut lan = Lan::new(Vec::new());
            for (i, p) in priorities.iter().enumerate() {
                lan.run_for(ms(start_gaps[i]));
                lan.add(GroupConfig { advertise_interval_cs: interval_cs, ..group(*p) }, addr(i as u8 + 1));
            }
            lan.run_for(ms(60_000));
            let top = *priorities.iter().max().unwrap();
            let m = lan.master();
            prop_assert_eq!(priorities[m], top);

            let last = lan.run_until_advert_from(m);
            lan.nodes[m].alive = false;
            lan.run_for(ms(60_000));
            let next = lan.master();
            let rest_top = priorities.iter().enumerate().filter(|(i, _)| *i != m).map(|(_, p)| *p).max().unwrap();
            prop_assert_eq!(priorities[next], rest_top);
            prop_assert_eq!(lan.became_master_at(next), last + mdi(rest_top, interval_cs));
        }
    }
}
