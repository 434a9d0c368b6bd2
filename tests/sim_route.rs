//! Forwarding on the simulated LAN, configured through the shell: a device between two
//! segments carries a host's datagram to a host on the other segment and the answer back,
//! a static route carries it on to a network behind another router, `undo ip route-static`
//! withdraws the route, and a route whose next hop is down waits in the configuration until
//! its port comes up. Tokio's clock is paused: the test takes no real time.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use duet::device::{Device, DeviceOptions, NetKind};
use duet::dhcp::frame::{UdpAddrs, ethernet, parse_ethernet};
use duet::infocenter::info_center_layer;
use duet::interface::name::IfName;
use duet::net::sim::forward::SimRoute;
use duet::net::sim::{Frame, Lan, NodeId, PortId};
use duet::session::{Role, Session, SessionState};
use tokio::sync::mpsc;
use tracing_subscriber::layer::SubscriberExt;

fn ge(n: u32) -> IfName {
    format!("ge1/0/{n}").parse().unwrap()
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

/// Answers every question with end of input.
struct NoAnswers;

impl duet::session::Interaction for NoAnswers {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

fn configure(device: &Arc<Device>, lines: &[&str]) {
    let mut s = Session::new(
        device.clone(),
        SessionState::new(Role::NetworkAdmin, "**", "con0", "**"),
    );
    for line in lines {
        let o = s.execute(line, &mut NoAnswers);
        assert!(o.ok, "{line}: {}", o.output);
    }
}

/// A host or router node with one address per port, each port on its segment.
struct Station {
    ports: Vec<PortId>,
    rx: Vec<mpsc::Receiver<Frame>>,
}

fn station(lan: &Lan, name: &str, legs: &[(duet::net::sim::SegmentId, &str)]) -> Station {
    let names: Vec<IfName> = (1..=legs.len() as u32).map(ge).collect();
    let node = lan.add_node(name, &names);
    let mut st = Station {
        ports: Vec::new(),
        rx: Vec::new(),
    };
    for (name, (seg, addr)) in names.into_iter().zip(legs) {
        let port = PortId { node, port: name };
        lan.attach(&port, *seg).unwrap();
        lan.add_address(&port, (ip(addr), 24)).unwrap();
        st.rx.push(lan.listen(&port).unwrap());
        st.ports.push(port);
    }
    st
}

fn mac(lan: &Lan, port: &PortId) -> [u8; 6] {
    lan.port_state(port).unwrap().mac.unwrap()
}

/// A UDP datagram from `from` (first port) to `dst`, sent to `gateway`'s MAC.
fn send(lan: &Lan, from: &Station, src: &str, dst: &str, gateway: &PortId, payload: &[u8]) {
    let frame = ethernet(
        mac(lan, &from.ports[0]),
        mac(lan, gateway),
        UdpAddrs {
            src: ip(src),
            dst: ip(dst),
            src_port: 40000,
            dst_port: 7,
        },
        payload,
    );
    lan.send(&from.ports[0], &frame).unwrap();
}

/// A datagram as a station receives it: source, destination, payload, TTL, source MAC.
type Received = (Ipv4Addr, Ipv4Addr, Vec<u8>, u8, [u8; 6]);

/// The datagrams waiting at a station's first port, checksums verified by the parser.
fn received(st: &mut Station) -> Vec<Received> {
    let mut out = Vec::new();
    while let Ok(f) = st.rx[0].try_recv() {
        let d = parse_ethernet(&f.bytes).expect("a valid IPv4/UDP frame");
        out.push((
            d.addrs.src,
            d.addrs.dst,
            d.payload.to_vec(),
            f.bytes[14 + 8],
            d.src_mac,
        ));
    }
    out
}

/// Wait (bounded, on the paused clock) until the device's node has these routes.
async fn wait_routes(lan: &Lan, node: NodeId, want: usize) {
    for _ in 0..500 {
        if lan.routes(node).len() == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {want} routes, have {:?}", lan.routes(node));
}

struct Lab {
    lan: Lan,
    device: Arc<Device>,
    node: NodeId,
    /// 10.1.0.2 on the device's first segment.
    a: Station,
    /// 10.2.0.2 on the device's second segment.
    b: Station,
    /// The router R (10.2.0.3 / 10.3.0.1) in front of 10.3.0.0/24.
    r: Station,
    /// 10.3.0.2 behind R.
    c: Station,
    _dir: tempfile::TempDir,
}

fn lab() -> Lab {
    // One subscriber for the whole binary: a scoped one per test misses events whose
    // call site another test's thread (without it) registered first.
    static LOGS: std::sync::Once = std::sync::Once::new();
    LOGS.call_once(|| {
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(info_center_layer()),
        )
        .expect("the only subscriber of this binary");
    });
    let lan = Lan::new();
    let (l, m, n) = (lan.segment(), lan.segment(), lan.segment());
    let dir = tempfile::tempdir().unwrap();
    let device = Device::new(DeviceOptions {
        data_dir: dir.path().to_path_buf(),
        net: NetKind::Sim,
    });
    let node = lan.add_node("Duet", &device.ports);
    for (port, seg) in [(ge(1), l), (ge(2), m)] {
        lan.attach(&PortId { node, port }, seg).unwrap();
    }
    let a = station(&lan, "A", &[(l, "10.1.0.2")]);
    let b = station(&lan, "B", &[(m, "10.2.0.2")]);
    let r = station(&lan, "R", &[(m, "10.2.0.3"), (n, "10.3.0.1")]);
    let c = station(&lan, "C", &[(n, "10.3.0.2")]);
    let r_node = r.ports[0].node;
    lan.set_forwarding(r_node, true);
    lan.replace_route(
        r_node,
        SimRoute {
            dest: ip("10.1.0.0"),
            len: 24,
            metric: 1,
            next_hops: vec![(ip("10.2.0.1"), ge(1))],
        },
    );
    device
        .start_on_lan(&tokio::runtime::Handle::current(), &lan, node)
        .unwrap();
    configure(
        &device,
        &[
            "system-view",
            "interface ge1/0/1",
            "ip address 10.1.0.1 24",
            "interface ge1/0/2",
            "ip address 10.2.0.1 24",
            "quit",
            "ip route-static 10.3.0.0 24 10.2.0.3",
        ],
    );
    Lab {
        lan,
        device,
        node,
        a,
        b,
        r,
        c,
        _dir: dir,
    }
}

fn port(node: NodeId, n: u32) -> PortId {
    PortId { node, port: ge(n) }
}

#[tokio::test(start_paused = true)]
async fn a_datagram_crosses_the_device_and_the_answer_comes_back() {
    let mut lab = lab();
    wait_routes(&lab.lan, lab.node, 1).await;
    let turned_on: Vec<String> = lab
        .device
        .logs
        .entries()
        .iter()
        .filter(|e| e.mnemonic == "RM_FORWARDING")
        .map(|e| format!("{}/{}/{}: {}", e.module, e.severity, e.mnemonic, e.message))
        .collect();
    assert_eq!(
        turned_on,
        [
            "RM/5/RM_FORWARDING: IPv4 forwarding was turned on in the device's network namespace for its static routes."
        ]
    );
    let (lan, node) = (&lab.lan, lab.node);
    send(lan, &lab.a, "10.1.0.2", "10.2.0.2", &port(node, 1), b"ping");
    let got = received(&mut lab.b);
    assert_eq!(
        got,
        [(
            ip("10.1.0.2"),
            ip("10.2.0.2"),
            b"ping".to_vec(),
            63,
            mac(lan, &port(node, 2))
        )]
    );
    send(lan, &lab.b, "10.2.0.2", "10.1.0.2", &port(node, 2), b"pong");
    let got = received(&mut lab.a);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].2, b"pong");
    assert_eq!(lan.forward_counters(node).forwarded, 2);
    // A frame for another station's MAC is not the device's to forward (a hub repeats it).
    send(
        lan,
        &lab.a,
        "10.1.0.2",
        "10.2.0.2",
        &lab.a.ports[0],
        b"not for me",
    );
    assert!(received(&mut lab.b).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_static_route_reaches_a_network_behind_a_router_until_undone() {
    let mut lab = lab();
    wait_routes(&lab.lan, lab.node, 1).await;
    let (lan, node) = (&lab.lan, lab.node);
    send(lan, &lab.a, "10.1.0.2", "10.3.0.2", &port(node, 1), b"far");
    let got = received(&mut lab.c);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].2.as_slice(), got[0].3), (&b"far"[..], 62));
    // And back: C's gateway R routes to the device, which delivers on its connected subnet.
    send(
        lan,
        &lab.c,
        "10.3.0.2",
        "10.1.0.2",
        &lab.r.ports[1],
        b"back",
    );
    let got = received(&mut lab.a);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].2.as_slice(), got[0].3), (&b"back"[..], 62));

    configure(
        &lab.device,
        &["system-view", "undo ip route-static 10.3.0.0 24"],
    );
    wait_routes(lan, node, 0).await;
    let before = lan.forward_counters(node).no_route;
    send(lan, &lab.a, "10.1.0.2", "10.3.0.2", &port(node, 1), b"far");
    assert!(received(&mut lab.c).is_empty());
    assert_eq!(lan.forward_counters(node).no_route, before + 1);
}

#[tokio::test(start_paused = true)]
async fn a_route_waits_for_its_next_hop_and_is_installed_when_the_port_comes_up() {
    let mut lab = lab();
    wait_routes(&lab.lan, lab.node, 1).await;
    configure(
        &lab.device,
        &["system-view", "interface ge1/0/2", "shutdown"],
    );
    wait_routes(&lab.lan, lab.node, 0).await;
    assert_eq!(lab.device.config.snapshot().route.statics.len(), 1);
    configure(
        &lab.device,
        &["system-view", "interface ge1/0/2", "undo shutdown"],
    );
    wait_routes(&lab.lan, lab.node, 1).await;
    let (lan, node) = (&lab.lan, lab.node);
    assert_eq!(
        lan.routes(node),
        [SimRoute {
            dest: ip("10.3.0.0"),
            len: 24,
            metric: 60,
            next_hops: vec![(ip("10.2.0.3"), ge(2))],
        }]
    );
    send(
        lan,
        &lab.a,
        "10.1.0.2",
        "10.3.0.2",
        &port(node, 1),
        b"again",
    );
    assert_eq!(received(&mut lab.c).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_removes_the_devices_routes() {
    let lab = lab();
    wait_routes(&lab.lan, lab.node, 1).await;
    lab.device.shutdown().await;
    assert!(lab.lan.routes(lab.node).is_empty());
}
