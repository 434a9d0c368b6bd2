//! The VRRP driver on the simulated LAN, configured through the shell: two devices elect the
//! higher priority, the master installs the virtual IP and sends gratuitous ARP from the
//! virtual MAC, a dead master is replaced exactly Master_Down_Interval after its last advert,
//! the old master preempts back, and every state change is logged the Comware way. Tokio's
//! clock is paused, so the timings are exact and the test takes no real time.

use std::sync::Arc;
use std::time::Duration;

use duet::device::{Device, DeviceOptions, NetKind};
use duet::infocenter::info_center_layer;
use duet::interface::name::IfName;
use duet::net::sim::{Frame, Lan, NodeId, PortId};
use duet::net::vrrp::frame::{arp_sender, vrrp_datagram};
use duet::session::{Role, Session, SessionState};
use duet::vrrp::State;
use duet::vrrp::driver::VrrpStatus;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing_subscriber::layer::SubscriberExt;

fn ge(n: u32) -> IfName {
    format!("ge1/0/{n}").parse().unwrap()
}

struct Node {
    device: Arc<Device>,
    node: NodeId,
    _dir: tempfile::TempDir,
}

fn device(lan: &Lan, name: &str) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::new(DeviceOptions {
        data_dir: dir.path().to_path_buf(),
        net: NetKind::Sim,
    });
    let node = lan.add_node(name, &device.ports);
    Node {
        device,
        node,
        _dir: dir,
    }
}

/// Answers every question with end of input.
struct NoAnswers;

impl duet::session::Interaction for NoAnswers {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

/// Run lines in a new session; the output of the last one.
fn configure(device: &Arc<Device>, lines: &[&str]) -> String {
    let mut s = Session::new(
        device.clone(),
        SessionState::new(Role::NetworkAdmin, "**", "con0", "**"),
    );
    let mut output = String::new();
    for line in lines {
        let o = s.execute(line, &mut NoAnswers);
        assert!(o.ok, "{line}: {}", o.output);
        output = o.output;
    }
    output
}

async fn wait_for(device: &Device, what: &str, pred: impl Fn(&VrrpStatus) -> bool) {
    let mut rx = device.vrrp_status.subscribe();
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if pred(&rx.borrow_and_update()) {
                return;
            }
            rx.changed().await.expect("driver alive");
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "timed out waiting for {what}: {:?}",
        device.vrrp_status.borrow()
    );
}

fn state(device: &Device) -> Option<State> {
    device
        .vrrp_status
        .borrow()
        .groups
        .get(&(ge(1), 1))
        .map(|g| g.status.state)
}

/// Frames seen by a probe port on the LAN, with the (virtual) time they arrived.
fn capture(mut rx: mpsc::Receiver<Frame>) -> mpsc::UnboundedReceiver<(Instant, Vec<u8>)> {
    let (tx, out) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(f) = rx.recv().await {
            let _ = tx.send((Instant::now(), f.bytes));
        }
    });
    out
}

/// The source address of a VRRP advert frame.
fn advert_source(frame: &[u8]) -> Option<std::net::Ipv4Addr> {
    let ip = vrrp_datagram(frame)?;
    Some(std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]))
}

#[tokio::test(start_paused = true)]
async fn election_failover_and_preemption_on_the_sim_lan() {
    let _log =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(info_center_layer()));
    let lan = Lan::new();
    let a = device(&lan, "A");
    let b = device(&lan, "B");
    let probe = lan.add_node("probe", &[ge(1)]);
    let seg = lan.segment();
    let port = |node| PortId { node, port: ge(1) };
    for node in [a.node, b.node, probe] {
        lan.attach(&port(node), seg).unwrap();
    }
    let mut frames = capture(lan.listen(&port(probe)).unwrap());
    let rt = tokio::runtime::Handle::current();
    a.device.start_on_lan(&rt, &lan, a.node).unwrap();
    b.device.start_on_lan(&rt, &lan, b.node).unwrap();
    configure(
        &a.device,
        &[
            "system-view",
            "sysname A",
            "interface ge1/0/1",
            "ip address 10.0.0.1 24",
            "vrrp vrid 1 virtual-ip 10.0.0.254",
            "vrrp vrid 1 priority 120",
            "vrrp vrid 1 preempt-mode delay 200",
        ],
    );
    configure(
        &b.device,
        &[
            "system-view",
            "sysname B",
            "interface ge1/0/1",
            "ip address 10.0.0.2 24",
            "vrrp vrid 1 virtual-ip 10.0.0.254",
        ],
    );

    wait_for(&a.device, "A master", |s| s.is_master(&ge(1), 1)).await;
    wait_for(&b.device, "B backup", |s| {
        s.groups
            .get(&(ge(1), 1))
            .is_some_and(|g| g.status.state == State::Backup && g.status.master_ip.is_some())
    })
    .await;
    let shown = configure(&b.device, &["display vrrp verbose"]);
    for want in [
        "     Admin Status   : Up                   State        : Backup\n",
        "ms left\n",
        "     Master IP      : 10.0.0.1\n",
    ] {
        assert!(shown.contains(want), "{want:?} in\n{shown}");
    }
    let shown = configure(&a.device, &["display vrrp"]);
    assert!(
        shown.contains(
            " GE1/0/1            1     Master       120     100     None     10.0.0.254\n"
        ),
        "{shown}"
    );
    let vip = ("10.0.0.254".parse().unwrap(), 32);
    assert!(
        lan.port_state(&port(a.node))
            .unwrap()
            .addresses
            .contains(&vip),
        "the master holds the virtual IP"
    );
    assert!(
        !lan.port_state(&port(b.node))
            .unwrap()
            .addresses
            .contains(&vip)
    );

    // Gratuitous ARP from the virtual MAC for the virtual IP.
    let vmac = [0, 0, 0x5e, 0, 1, 1];
    let mut garp = false;
    while let Ok((_, f)) = frames.try_recv() {
        garp |= arp_sender(&f) == Some((vmac, vip.0));
    }
    assert!(garp, "no gratuitous ARP from the virtual MAC");

    // A's link fails: B takes over Master_Down_Interval (3 s + (256-100)/256 s) after A's
    // last advert.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    lan.set_cable(&port(a.node), false).unwrap();
    wait_for(&b.device, "B master", |s| s.is_master(&ge(1), 1)).await;
    let mut last_a = None;
    let mut first_b = None;
    while let Ok((at, f)) = frames.try_recv() {
        match advert_source(&f) {
            Some(src) if src == "10.0.0.1".parse::<std::net::Ipv4Addr>().unwrap() => {
                last_a = Some(at)
            }
            Some(src)
                if first_b.is_none()
                    && src == "10.0.0.2".parse::<std::net::Ipv4Addr>().unwrap() =>
            {
                first_b = Some(at)
            }
            _ => {}
        }
    }
    let takeover = first_b.unwrap() - last_a.unwrap();
    let mdi = Duration::from_micros(3_609_375);
    assert!(
        takeover >= mdi && takeover <= mdi + Duration::from_millis(5),
        "takeover {takeover:?}, Master_Down_Interval {mdi:?}"
    );
    assert!(
        lan.port_state(&port(b.node))
            .unwrap()
            .addresses
            .contains(&vip)
    );

    // A comes back and preempts after its delay; B gives the virtual IP up.
    lan.set_cable(&port(a.node), true).unwrap();
    wait_for(&a.device, "A master again", |s| s.is_master(&ge(1), 1)).await;
    wait_for(&b.device, "B backup again", |s| {
        s.groups
            .get(&(ge(1), 1))
            .is_some_and(|g| g.status.state == State::Backup)
    })
    .await;
    assert!(
        !lan.port_state(&port(b.node))
            .unwrap()
            .addresses
            .contains(&vip)
    );
    assert_eq!(state(&a.device), Some(State::Master));
    // Three more adverts of A as master, from here on.
    while frames.try_recv().is_ok() {}
    tokio::time::sleep(Duration::from_millis(3100)).await;

    // Deleting the group on the master: it resigns with priority 0, B takes over after
    // Skew_Time instead of Master_Down_Interval.
    let before = Instant::now();
    configure(
        &a.device,
        &["system-view", "interface ge1/0/1", "undo vrrp vrid 1"],
    );
    wait_for(&b.device, "B master after resignation", |s| {
        s.is_master(&ge(1), 1)
    })
    .await;
    assert!(Instant::now() - before < Duration::from_millis(700));
    assert_eq!(state(&a.device), None);
    let stats = b.device.vrrp_status.borrow().groups[&(ge(1), 1)]
        .statistics
        .clone();
    assert!(stats.priority_zero_received >= 1, "{stats:?}");
    // RFC 5798 section 7.3: the master's adverts, its resignation included, leave from the
    // virtual MAC.
    let a_ip: std::net::Ipv4Addr = "10.0.0.1".parse().unwrap();
    let mut from_a = Vec::new();
    while let Ok((_, f)) = frames.try_recv() {
        if advert_source(&f) == Some(a_ip) {
            let ip = vrrp_datagram(&f).unwrap();
            let priority = ip[usize::from(ip[0] & 0x0f) * 4 + 2];
            from_a.push((<[u8; 6]>::try_from(&f[6..12]).unwrap(), priority));
        }
    }
    assert!(from_a.len() >= 4, "{from_a:?}");
    assert!(from_a.iter().all(|(mac, _)| *mac == vmac), "{from_a:?}");
    assert_eq!(from_a.last().map(|x| x.1), Some(0), "{from_a:?}");

    let logs: Vec<String> = b
        .device
        .logs
        .entries()
        .iter()
        .map(|e| e.to_string())
        .filter(|l| l.contains("VRRP/6/VRRP_STATUS_CHANGE"))
        .collect();
    assert!(
        logs.iter().any(|l| l.contains(
            "The status of IPv4 virtual router 1 (configured on GigabitEthernet1/0/1) changed from Backup to Master: Master down timer expired."
        )),
        "{logs:#?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("Received an advertisement with priority 0")),
        "{logs:#?}"
    );
}

/// Bad packets are counted one by one but logged at most once per reason per 10 s; adverts
/// for a VRID configured nowhere count as global VRID errors.
#[tokio::test(start_paused = true)]
async fn rejected_packets_are_counted_and_logged_without_flooding() {
    use duet::net::vrrp::frame::{ETHERTYPE_IPV4, VRRP_MULTICAST_MAC, ethernet};
    use duet::vrrp::packet::{IPPROTO_VRRP, VRRP_MULTICAST, build_ipv4};
    use duet::vrrp::{Advertisement, Auth, IpHeader, RejectReason, Version};

    let _log =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(info_center_layer()));
    let lan = Lan::new();
    let a = device(&lan, "A");
    let probe = lan.add_node("probe", &[ge(1)]);
    let seg = lan.segment();
    let port = |node| PortId { node, port: ge(1) };
    lan.attach(&port(a.node), seg).unwrap();
    lan.attach(&port(probe), seg).unwrap();
    a.device
        .start_on_lan(&tokio::runtime::Handle::current(), &lan, a.node)
        .unwrap();
    configure(
        &a.device,
        &[
            "system-view",
            "interface ge1/0/1",
            "ip address 10.0.0.1 24",
            "vrrp vrid 1 virtual-ip 10.0.0.254",
        ],
    );
    wait_for(&a.device, "group running", |s| {
        s.groups
            .get(&(ge(1), 1))
            .is_some_and(|g| g.status.state != State::Initialize)
    })
    .await;

    let src: std::net::Ipv4Addr = "10.0.0.9".parse().unwrap();
    let send = |vrid: u8, ttl: u8| {
        let advert = Advertisement {
            version: Version::V3,
            vrid,
            priority: 100,
            interval_cs: 100,
            auth: Auth::None,
            addresses: vec!["10.0.0.254".parse().unwrap()],
        };
        let msg = advert.encode(src, VRRP_MULTICAST).unwrap();
        let ip = IpHeader {
            src,
            dst: VRRP_MULTICAST,
            ttl,
            protocol: IPPROTO_VRRP,
        };
        let frame = ethernet(
            VRRP_MULTICAST_MAC,
            [2, 0, 0, 0, 0, 9],
            ETHERTYPE_IPV4,
            &build_ipv4(&ip, &msg),
        );
        lan.send(&port(probe), &frame).unwrap();
    };
    for _ in 0..50 {
        send(1, 254);
    }
    for _ in 0..3 {
        send(9, 255);
    }
    wait_for(&a.device, "50 bad TTLs and 3 unknown VRIDs counted", |s| {
        s.groups[&(ge(1), 1)]
            .statistics
            .rejected(RejectReason::BadTtl)
            == 50
            && s.unknown_vrid.get(&ge(1)) == Some(&3)
    })
    .await;
    let errors = |d: &Device| -> Vec<String> {
        d.logs
            .entries()
            .iter()
            .map(|e| e.to_string())
            .filter(|l| l.contains("VRRP/6/VRRP_PACKET_ERROR"))
            .collect()
    };
    let logged = errors(&a.device);
    assert_eq!(logged.len(), 2, "one line per (VRID, reason): {logged:#?}");
    assert!(
        logged[0].contains(
            "The IPv4 virtual router 1 (configured on GigabitEthernet1/0/1) received an error packet from 10.0.0.9: TTL is not 255."
        ),
        "{logged:#?}"
    );
    // Ten seconds later the next one is logged, with the count of the silent ones.
    tokio::time::sleep(Duration::from_secs(11)).await;
    send(1, 254);
    wait_for(&a.device, "51 bad TTLs", |s| {
        s.groups[&(ge(1), 1)]
            .statistics
            .rejected(RejectReason::BadTtl)
            == 51
    })
    .await;
    let logged = errors(&a.device);
    assert_eq!(logged.len(), 3, "{logged:#?}");
    assert!(
        logged[2].contains("(49 more since the last message)"),
        "{logged:#?}"
    );
    let shown = configure(&a.device, &["display vrrp statistics"]);
    assert!(
        shown.contains(" IP TTL Errors                  : 51\n"),
        "{shown}"
    );
    assert!(
        shown.contains(" Global statistics:\n VRID Errors                    : 3\n"),
        "{shown}"
    );
}

/// Interface tracking through the driver: while A's tracked uplink is down its running
/// priority drops below B's and B preempts; when it comes back A preempts again.
#[tokio::test(start_paused = true)]
async fn tracked_interface_down_hands_the_master_role_over() {
    let lan = Lan::new();
    let a = device(&lan, "A");
    let b = device(&lan, "B");
    let (lan_seg, uplink_seg) = (lan.segment(), lan.segment());
    let port = |node, n| PortId { node, port: ge(n) };
    lan.attach(&port(a.node, 1), lan_seg).unwrap();
    lan.attach(&port(b.node, 1), lan_seg).unwrap();
    lan.attach(&port(a.node, 2), uplink_seg).unwrap();
    let rt = tokio::runtime::Handle::current();
    a.device.start_on_lan(&rt, &lan, a.node).unwrap();
    b.device.start_on_lan(&rt, &lan, b.node).unwrap();
    configure(
        &a.device,
        &[
            "system-view",
            "interface ge1/0/1",
            "ip address 10.0.0.1 24",
            "vrrp vrid 1 virtual-ip 10.0.0.254",
            "vrrp vrid 1 priority 120",
            "vrrp vrid 1 track interface ge1/0/2 reduced 30",
        ],
    );
    configure(
        &b.device,
        &[
            "system-view",
            "interface ge1/0/1",
            "ip address 10.0.0.2 24",
            "vrrp vrid 1 virtual-ip 10.0.0.254",
        ],
    );
    wait_for(&a.device, "A master", |s| s.is_master(&ge(1), 1)).await;
    wait_for(&b.device, "B backup", |s| {
        s.groups
            .get(&(ge(1), 1))
            .is_some_and(|g| g.status.state == State::Backup)
    })
    .await;

    lan.set_cable(&port(a.node, 2), false).unwrap();
    wait_for(&b.device, "B master", |s| s.is_master(&ge(1), 1)).await;
    wait_for(&a.device, "A backup at 90", |s| {
        s.groups.get(&(ge(1), 1)).is_some_and(|g| {
            g.status.state == State::Backup
                && g.status.running_priority == 90
                && !g.status.tracks[0].up
        })
    })
    .await;
    let shown = configure(&a.device, &["display vrrp verbose"]);
    assert!(
        shown.contains(
            "     Track IF       : GE1/0/2              State : Down       Pri Reduced : 30\n"
        ),
        "{shown}"
    );

    lan.set_cable(&port(a.node, 2), true).unwrap();
    wait_for(&a.device, "A master again at 120", |s| {
        s.groups
            .get(&(ge(1), 1))
            .is_some_and(|g| g.is_master() && g.status.running_priority == 120)
    })
    .await;
    wait_for(&b.device, "B backup again", |s| {
        s.groups
            .get(&(ge(1), 1))
            .is_some_and(|g| g.status.state == State::Backup)
    })
    .await;
}

/// Comware 7 tracking through the track module: A's group follows track entry 1 (its uplink
/// ge1/0/2) with `priority reduced 30`. When the entry turns Negative A runs at 90 and B (100)
/// preempts; `display track` and `display vrrp verbose` say why; Positive gives the role back.
#[tokio::test(start_paused = true)]
async fn a_negative_track_entry_reduces_the_priority_and_hands_the_master_role_over() {
    let lan = Lan::new();
    let a = device(&lan, "A");
    let b = device(&lan, "B");
    let (lan_seg, uplink_seg) = (lan.segment(), lan.segment());
    let port = |node, n| PortId { node, port: ge(n) };
    lan.attach(&port(a.node, 1), lan_seg).unwrap();
    lan.attach(&port(b.node, 1), lan_seg).unwrap();
    lan.attach(&port(a.node, 2), uplink_seg).unwrap();
    let rt = tokio::runtime::Handle::current();
    a.device.start_on_lan(&rt, &lan, a.node).unwrap();
    b.device.start_on_lan(&rt, &lan, b.node).unwrap();
    configure(
        &a.device,
        &[
            "system-view",
            "track 1 interface ge1/0/2",
            "interface ge1/0/1",
            "ip address 10.0.0.1 24",
            "vrrp vrid 1 virtual-ip 10.0.0.254",
            "vrrp vrid 1 priority 120",
            "vrrp vrid 1 track 1 priority reduced 30",
        ],
    );
    configure(
        &b.device,
        &[
            "system-view",
            "interface ge1/0/1",
            "ip address 10.0.0.2 24",
            "vrrp vrid 1 virtual-ip 10.0.0.254",
        ],
    );
    wait_for(&a.device, "A master", |s| s.is_master(&ge(1), 1)).await;
    wait_for(&b.device, "B backup", |s| {
        s.groups
            .get(&(ge(1), 1))
            .is_some_and(|g| g.status.state == State::Backup)
    })
    .await;

    lan.set_cable(&port(a.node, 2), false).unwrap();
    wait_for(&b.device, "B master", |s| s.is_master(&ge(1), 1)).await;
    wait_for(&a.device, "A backup at 90", |s| {
        s.groups
            .get(&(ge(1), 1))
            .is_some_and(|g| g.status.state == State::Backup && g.status.running_priority == 90)
    })
    .await;
    let shown = configure(&a.device, &["display vrrp verbose"]);
    assert!(
        shown.contains(
            "     Track Object   : 1                    State : Negative   Pri Reduced : 30\n"
        ),
        "{shown}"
    );
    let track = configure(&a.device, &["display track 1"]);
    assert!(
        track.starts_with("Track ID: 1\n  State: Negative\n"),
        "{track}"
    );
    assert!(
        track.ends_with("    Interface status: GigabitEthernet1/0/2\n"),
        "{track}"
    );

    lan.set_cable(&port(a.node, 2), true).unwrap();
    wait_for(&a.device, "A master again at 120", |s| {
        s.groups
            .get(&(ge(1), 1))
            .is_some_and(|g| g.is_master() && g.status.running_priority == 120)
    })
    .await;
}

/// `vrrp vrid 1 track 1 switchover`: B's entry watches the path to the master (here B's own
/// ge1/0/2, standing for what BFD would watch). When the master dies and the entry turns
/// Negative together, B becomes master at once instead of after Master_Down_Interval
/// (3 x 1 s + skew).
#[tokio::test(start_paused = true)]
async fn a_switchover_track_entry_makes_the_backup_master_at_once() {
    let lan = Lan::new();
    let a = device(&lan, "A");
    let b = device(&lan, "B");
    let (lan_seg, watch_seg) = (lan.segment(), lan.segment());
    let port = |node, n| PortId { node, port: ge(n) };
    lan.attach(&port(a.node, 1), lan_seg).unwrap();
    lan.attach(&port(b.node, 1), lan_seg).unwrap();
    lan.attach(&port(b.node, 2), watch_seg).unwrap();
    let rt = tokio::runtime::Handle::current();
    a.device.start_on_lan(&rt, &lan, a.node).unwrap();
    b.device.start_on_lan(&rt, &lan, b.node).unwrap();
    configure(
        &a.device,
        &[
            "system-view",
            "interface ge1/0/1",
            "ip address 10.0.0.1 24",
            "vrrp vrid 1 virtual-ip 10.0.0.254",
            "vrrp vrid 1 priority 120",
        ],
    );
    configure(
        &b.device,
        &[
            "system-view",
            "track 1 interface ge1/0/2 physical",
            "interface ge1/0/1",
            "ip address 10.0.0.2 24",
            "vrrp vrid 1 virtual-ip 10.0.0.254",
            "vrrp vrid 1 track 1 switchover",
        ],
    );
    wait_for(&a.device, "A master", |s| s.is_master(&ge(1), 1)).await;
    wait_for(&b.device, "B backup", |s| {
        s.groups
            .get(&(ge(1), 1))
            .is_some_and(|g| g.status.state == State::Backup)
    })
    .await;

    let cut = Instant::now();
    lan.set_cable(&port(a.node, 1), false).unwrap();
    lan.set_cable(&port(b.node, 2), false).unwrap();
    wait_for(&b.device, "B master", |s| s.is_master(&ge(1), 1)).await;
    let took = Instant::now() - cut;
    assert!(
        took < Duration::from_millis(500),
        "B took {took:?}: switchover must not wait for Master_Down_Interval"
    );
    let shown = configure(&b.device, &["display vrrp verbose"]);
    assert!(
        shown
            .contains("     Track Object   : 1                    State : Negative   Switchover\n"),
        "{shown}"
    );
}
