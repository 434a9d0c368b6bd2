//! A lease journal that fails on every batch (the disk is full) must not flood the log buffer:
//! the store error is logged once, the repeats are counted and reported when writes succeed
//! again, and the ACKs it withheld are counted as withheld.
//!
//! The disk fills by a limit on file size (RLIMIT_FSIZE: every write past 16 bytes fails with
//! EFBIG, as on a full disk), which needs no root. The limit is per process, so this file holds
//! one test: no other test of the binary writes files meanwhile.

mod dhcp_common;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use dhcp_common::{PacketSpec, client_broadcast, run_lines};
use duet::device::{Device, DeviceOptions, NetKind};
use duet::dhcp::options::MessageType;
use duet::dhcp::packet::Message;
use duet::infocenter::info_center_layer;
use duet::interface::name::IfName;
use duet::net::sim::{Lan, PortId};
use tracing_subscriber::layer::SubscriberExt;

/// Run `lines` in one session; returns the output of the last.
fn run_all(device: &Arc<Device>, lines: &[&str]) -> String {
    run_lines(device, lines).pop().unwrap_or_default()
}

fn run(device: &Arc<Device>, line: &str) -> String {
    run_all(device, &[line])
}

/// The value at the end of the statistics line that starts with `label`, 0 if absent.
fn stat(device: &Arc<Device>, label: &str) -> u64 {
    run(device, "display dhcp server statistics")
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0)
}

fn set_file_size_limit(bytes: libc::rlim_t) {
    let lim = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain system calls with valid arguments; SIGXFSZ ignored so that a write past
    // the limit fails with EFBIG instead of killing the process.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
}

#[test]
fn a_failing_journal_logs_once_then_a_count_not_a_line_per_batch() {
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(info_center_layer()),
    )
    .expect("the only subscriber of this binary");
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let device = Device::new(DeviceOptions {
        data_dir: dir.path().to_path_buf(),
        net: NetKind::Sim,
    });
    let ge1: IfName = "ge1/0/1".parse().unwrap();
    run_all(
        &device,
        &[
            "system-view",
            "dhcp enable",
            "dhcp server ip-pool lan",
            "network 10.1.1.0 24",
            "quit",
            "interface ge1/0/1",
            "ip address 10.1.1.1 24",
            "return",
        ],
    );
    let lan = Lan::new();
    let node = lan.add_node("duet", &device.ports);
    let client_node = lan.add_node("client", std::slice::from_ref(&ge1));
    let seg = lan.segment();
    let client = PortId {
        node: client_node,
        port: ge1.clone(),
    };
    lan.attach(&PortId { node, port: ge1 }, seg).unwrap();
    lan.attach(&client, seg).unwrap();
    device.start_on_lan(rt.handle(), &lan, node).unwrap();
    let send = |m: Message| {
        let f = client_broadcast([2, 0, 0, 0, 0, 0x21], &m.encode());
        lan.send(&client, &f).unwrap();
    };
    let request = PacketSpec {
        requested: Some(Ipv4Addr::new(10, 1, 1, 50)),
        broadcast: true,
        ..PacketSpec::new(MessageType::Request, "02:00:00:00:00:21", 1)
    };
    // Until `stat(label)` reaches `n` (bounded: 10 s), sending `request` every 100 ms
    // (the first frames may meet a port the interface engine has not brought up yet).
    let until = |label: &str, n: u64| {
        for _ in 0..100 {
            if stat(&device, label) >= n {
                return;
            }
            send(request.message());
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "{label} never reached {n}:\n{}",
            run(&device, "display dhcp server statistics")
        );
    };
    // INIT-REBOOT of a known client is how a lease is taken here: bind it first by SELECTING.
    let selecting = PacketSpec {
        server_id: Some(Ipv4Addr::new(10, 1, 1, 1)),
        ..request.clone()
    };
    for _ in 0..100 {
        if stat(&device, "DHCPACK:") >= 1 {
            break;
        }
        send(selecting.message());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(stat(&device, "DHCPACK:"), 1);

    // The disk is full: every batch fails its flush.
    set_file_size_limit(16);
    until("journal-failed:", 20);
    set_file_size_limit(libc::RLIM_INFINITY);
    until("DHCPACK:", 2);

    let logs = device.logs.entries();
    let store: Vec<_> = logs
        .iter()
        .filter(|e| e.mnemonic == "DHCPS_STORE")
        .collect();
    assert_eq!(store.len(), 1, "one line for the burst: {store:#?}");
    let recovered: Vec<_> = logs
        .iter()
        .filter(|e| e.mnemonic == "DHCPS_STORE_RECOVERED")
        .collect();
    assert_eq!(recovered.len(), 1, "{logs:#?}");
    // At least 19 more failed flushes. A failed write is retried by the next flush; only a
    // failed fsync (a poisoned store) is followed by a compaction.
    let repeated: u64 = recovered[0]
        .message
        .split("repeated ")
        .nth(1)
        .and_then(|t| t.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{}", recovered[0].message));
    assert!(repeated >= 19, "{}", recovered[0].message);
    device.stop();
}
