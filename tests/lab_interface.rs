//! Lab test of the Linux backend and the interface engine: a network namespace of its own with
//! a veth pair, the engine driving one end through netlink from inside the namespace, and
//! `ip -n NS ...` checking that addresses and link state follow the configuration.
//!
//! Needs root and iproute2; without them it skips with a printed reason, and with
//! `DUET_REQUIRE_LAB=1` the skip is a failure.

use std::time::{Duration, Instant};

#[path = "common/netns.rs"]
mod netns;
use netns::{NsGuard, ip, lab_or_skip, unique_tag};

use duet::device::{Device, DeviceOptions, NetKind};
use duet::infocenter::info_center_layer;
use duet::interface::name::IfName;
use duet::interface::status::IfStatus;
use tracing_subscriber::layer::SubscriberExt;

/// The names of a lab: a network namespace with a veth pair.
#[derive(Clone)]
struct Lab {
    name: String,
    /// The end Duet drives.
    ours: String,
    /// The other end, standing in for the neighbour.
    peer: String,
    /// A name mapped to a port but created only later in the test.
    late: String,
}

impl Lab {
    /// Create the namespace and the veth pair (peer end up); names unique to this test run.
    fn new() -> (Lab, NsGuard) {
        let tag = unique_tag();
        let lab = Lab {
            name: format!("duet-if-{tag}"),
            ours: format!("dia{tag}"),
            peer: format!("dib{tag}"),
            late: format!("dic{tag}"),
        };
        let guard = NsGuard::new(&lab.name);
        ip(&[
            "-n", &lab.name, "link", "add", &lab.ours, "type", "veth", "peer", "name", &lab.peer,
        ]);
        ip(&["-n", &lab.name, "link", "set", &lab.peer, "up"]);
        (lab, guard)
    }

    /// Move the calling thread into the namespace (netlink sockets opened afterwards live there).
    fn enter(&self) {
        netns::enter(&self.name);
    }

    fn addrs(&self) -> String {
        ip(&[
            "-n", &self.name, "-o", "-4", "addr", "show", "dev", &self.ours,
        ])
    }

    fn link(&self) -> String {
        ip(&["-n", &self.name, "-o", "link", "show", "dev", &self.ours])
    }
}

/// Poll (bounded) until `cond` holds.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Wait (bounded) until the published status satisfies `pred`.
async fn status_until(device: &Device, what: &str, pred: impl Fn(&IfStatus) -> bool) {
    let mut rx = device.if_status.subscribe();
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if pred(&rx.borrow_and_update()) {
                return;
            }
            rx.changed().await.expect("status sender alive");
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "timed out waiting for {what}: {:?}",
        device.interfaces()
    );
}

fn ge(n: u32) -> IfName {
    format!("ge1/0/{n}").parse().unwrap()
}

/// Run `body` on a thread inside the namespace with a current-thread runtime and the
/// info-center layer as its subscriber.
fn in_namespace<F>(lab: &Lab, body: impl FnOnce() -> F + Send + 'static)
where
    F: std::future::Future<Output = ()>,
{
    let lab = lab.clone();
    let handle = std::thread::spawn(move || {
        lab.enter();
        let _log = tracing::subscriber::set_default(
            tracing_subscriber::registry().with(info_center_layer()),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(body());
    });
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn linux_backend_follows_the_configuration() {
    if !lab_or_skip("linux_backend_follows_the_configuration", &[]) {
        return;
    }
    let (lab, _guard) = Lab::new();
    let check = lab.clone();
    let (ours, peer, late) = (lab.ours.clone(), lab.peer.clone(), lab.late.clone());
    in_namespace(&lab, move || async move {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::new(DeviceOptions {
            data_dir: dir.path().to_path_buf(),
            net: NetKind::Linux {
                ports: vec![(ge(1), ours.clone()), (ge(2), late.clone())],
            },
        });
        device
            .start(&tokio::runtime::Handle::current())
            .expect("netlink");

        // The engine brings the port up (not shut down by default); the peer is up, so the
        // carrier follows.
        status_until(&device, "GE1/0/1 up", |s| s[&ge(1)].physical_up()).await;
        let st = device.interfaces();
        assert_eq!(st[&ge(1)].linux_name.as_deref(), Some(ours.as_str()));
        assert!(st[&ge(1)].mac.is_some());
        assert!(check.link().contains(",UP"), "{}", check.link());
        // A port mapped to a missing Linux interface reports it.
        assert_eq!(
            st[&ge(2)].error.as_deref(),
            Some(format!("the Linux interface {late} does not exist").as_str())
        );

        let configure = |addr: Option<&str>, shutdown: bool| {
            let mut cfg = device.config.lock();
            let c = cfg.interfaces.get_mut(&ge(1)).unwrap();
            c.address = addr.map(|a| (a.parse().unwrap(), 24));
            c.shutdown = shutdown;
            drop(cfg);
            device.config.publish();
        };

        configure(Some("10.77.0.1"), false);
        until("address added", || {
            check.addrs().contains("inet 10.77.0.1/24")
        })
        .await;
        status_until(&device, "address in status", |s| {
            s[&ge(1)].addresses == [("10.77.0.1".parse().unwrap(), 24)]
        })
        .await;

        // An address the operator added by hand stays when the primary changes.
        ip(&[
            "-n",
            &check.name,
            "addr",
            "add",
            "10.88.0.9/24",
            "dev",
            &ours,
        ]);
        // It shows in the status (learnt from the address notification or the poll).
        status_until(&device, "foreign address in status", |s| {
            s[&ge(1)]
                .addresses
                .contains(&("10.88.0.9".parse().unwrap(), 24))
        })
        .await;
        configure(Some("10.77.1.1"), false);
        until("address replaced", || {
            let a = check.addrs();
            a.contains("inet 10.77.1.1/24")
                && !a.contains("inet 10.77.0.1/")
                && a.contains("inet 10.88.0.9/24")
        })
        .await;

        configure(Some("10.77.1.1"), true);
        until("admin down", || !check.link().contains(",UP")).await;
        status_until(&device, "admin down in status", |s| !s[&ge(1)].admin_up).await;
        configure(Some("10.77.1.1"), false);
        until("admin up", || check.link().contains(",UP")).await;
        status_until(&device, "up again", |s| s[&ge(1)].physical_up()).await;

        // The neighbour goes away: the carrier drops, learnt from netlink.
        ip(&["-n", &check.name, "link", "set", &peer, "down"]);
        status_until(&device, "carrier lost", |s| {
            s[&ge(1)].admin_up && !s[&ge(1)].link_up
        })
        .await;

        configure(None, false);
        until("address removed", || !check.addrs().contains("10.77.1.1")).await;

        // The missing interface appears: the engine picks it up, brings it up and the
        // error clears.
        let late_peer = format!("{late}p");
        ip(&[
            "-n",
            &check.name,
            "link",
            "add",
            &late,
            "type",
            "veth",
            "peer",
            "name",
            &late_peer,
        ]);
        ip(&["-n", &check.name, "link", "set", &late_peer, "up"]);
        status_until(&device, "late port up", |s| {
            s[&ge(2)].error.is_none() && s[&ge(2)].physical_up()
        })
        .await;
        until("late port admin up", || {
            ip(&["-n", &check.name, "-o", "link", "show", "dev", &late]).contains(",UP")
        })
        .await;

        let logs: Vec<String> = device
            .logs
            .entries()
            .iter()
            .map(|e| format!("{}/{}: {}", e.module, e.mnemonic, e.message))
            .collect();
        let phy = |state: &str| {
            format!(
                "IFNET/PHY_UPDOWN: Physical state on the interface GigabitEthernet1/0/1 changed to {state}."
            )
        };
        let phy_logs: Vec<&String> = logs
            .iter()
            .filter(|l| l.contains("PHY_UPDOWN") && l.contains("1/0/1 "))
            .collect();
        assert_eq!(
            phy_logs,
            [&phy("up"), &phy("down"), &phy("up"), &phy("down")],
            "{logs:#?}"
        );
        device.stop();
    });
}
