//! Lab test of hot backup with real binaries and clients, in network namespaces (root needed):
//!
//! ```text
//!            [ns A: duet A] a0 ---+                    +--- b0 [ns B: duet B]
//!             10.1.1.2     a1 ----|-- fa  br1  fb ---|---- b1  10.1.1.3
//!                          10.9.0.1/30  failover link      10.9.0.2/30
//!                                 +-- br0 [ns C: dhclient, perfdhcp] --+
//!                                         LAN 10.1.0.0/16, VRRP VIP 10.1.1.1
//! ```
//!
//! Two `duet run --net linux --no-console` devices in synchronous hot backup; A is the VRRP
//! master. [`Lab::started`] builds this and starts both devices for every test:
//!
//! - kill -9 of A under load (perfdhcp, ISC dhclient with 30-second leases): B becomes master;
//!   every lease a client got an ACK for is in B's `display dhcp server ip-in-use`, and
//!   dhclient's next renewal is ACKed by B with the same address;
//! - failover link down (cut at the bridge br1) and up again: both devices go to Silence
//!   within the keepalive window, A serves new clients from its half only while B stays a
//!   silent backup, the link's return reconciles both tables to equal, and B renews a lease A
//!   gave during the outage after kill -9 of A;
//! - B restarted with its journal (refilled by a batch, including the leases of the gap), then
//!   empty with a higher priority than A: it stays backup while it has no batch (also past
//!   Master_Down_Interval with the link cut) and preempts only after Batch backup ended;
//! - split brain with busybox udhcpc stations, each in a namespace of its own, on both sides
//!   of a LAN that can be cut in two (B's port and its stations on bridge br2, joined to br0
//!   by the veth pair sa-sb; [`Lab::split_capable_lan`]), 30 s leases and an 8-address pool:
//!   failover link and LAN cut together, B expires the bindings A renews and must not give
//!   their addresses to its own new stations; no address is held by two stations at any
//!   sampled instant, during the split or after it heals.
//!
//! Without root or a tool a test skips with the reason; `DUET_REQUIRE_LAB=1` turns the skip
//! into a failure.

#[path = "common/netns.rs"]
mod netns;

use netns::run;

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

const TOOLS: &[&str] = &["dhclient", "perfdhcp"];

/// Namespaces, files and processes of one run; all removed on drop, also when a check fails.
struct Lab {
    tag: String,
    setup: Setup,
    dir: tempfile::TempDir,
    children: Vec<Child>,
    duets: Vec<(String, Option<Child>)>,
    /// Client stations' namespaces ([`Lab::add_station`]).
    stations: Vec<String>,
}

/// What the tests vary in the devices' configuration.
#[derive(Clone, Copy)]
struct Setup {
    /// The pool's lease time.
    lease_secs: u32,
    /// `keepalive interval SECONDS retransmit COUNT`, when not the default (1 s x 3).
    keepalive: Option<(u32, u32)>,
    /// The pool's last address (its first is 10.1.1.10).
    pool_last: &'static str,
}

/// The pools of most tests: room for every perfdhcp client.
const BIG_POOL: &str = "10.1.200.250";

/// A's configuration: VRRP priority 120, failover address 10.9.0.1.
const A: (&str, &str, &str, &str) = ("A", "10.1.1.2", "10.9.0.1", "10.9.0.2");
/// B's: failover address 10.9.0.2, priority as the test says (100 below A).
const B: (&str, &str, &str, &str) = ("B", "10.1.1.3", "10.9.0.2", "10.9.0.1");

fn config((name, lan, source, peer): (&str, &str, &str, &str), prio: u8, setup: Setup) -> String {
    let (lease, pool_last) = (setup.lease_secs, setup.pool_last);
    let (h, m, s) = (lease / 3600, lease / 60 % 60, lease % 60);
    let keepalive = setup.keepalive.map_or(String::new(), |(secs, count)| {
        format!(" keepalive interval {secs} retransmit {count}\n")
    });
    format!(
        "#
 sysname {name}
#
 dhcp enable
 dhcp server hot-backup
#
dhcp server ip-pool lan
 gateway-list 10.1.1.1
 network 10.1.0.0 mask 255.255.0.0
 address range 10.1.1.10 {pool_last}
 expired day 0 hour {h} minute {m} second {s}
#
hot-backup
 peer {peer} source {source}
{keepalive} track vrrp vrid 1 interface GigabitEthernet1/0/1
 authentication-key plain lab-secret
 hot-backup enable
#
interface GigabitEthernet1/0/1
 ip address {lan} 255.255.0.0
 vrrp vrid 1 virtual-ip 10.1.1.1
 vrrp vrid 1 priority {prio}
 vrrp vrid 1 timer advertise 50
 dhcp server apply ip-pool lan
#
interface GigabitEthernet1/0/2
 ip address {source} 255.255.255.252
#
return
"
    )
}

impl Lab {
    fn ns(&self, which: &str) -> String {
        format!("dh{which}{}", self.tag)
    }

    /// The topology above with both devices started, once A is master in real-time backup.
    fn started(setup: Setup) -> Lab {
        let mut lab = Lab::new(setup);
        lab.start_duet("A");
        lab.start_duet("B");
        lab.wait("real-time backup with A as master", 30, || {
            let a = lab.hot_backup("A");
            a.contains("Real-time backup") && a.contains("Local VRRP role           : Master")
        });
        lab
    }

    fn new(setup: Setup) -> Lab {
        let tag = netns::unique_tag();
        let lab = Lab {
            tag,
            setup,
            dir: tempfile::tempdir().unwrap(),
            children: Vec::new(),
            duets: Vec::new(),
            stations: Vec::new(),
        };
        for n in ["A", "B", "C"] {
            netns::ip(&["netns", "add", &lab.ns(n)]);
            netns::ip(&["-n", &lab.ns(n), "link", "set", "lo", "up"]);
        }
        let etc = PathBuf::from(format!("/etc/netns/{}", lab.ns("C")));
        fs::create_dir_all(&etc).unwrap();
        fs::write(etc.join("resolv.conf"), "# lab namespace\n").unwrap();
        let (a, b, c) = (lab.ns("A"), lab.ns("B"), lab.ns("C"));
        netns::ip(&["-n", &c, "link", "add", "br0", "type", "bridge"]);
        for (ns, dev, peer) in [(&a, "a0", "ca"), (&b, "b0", "cb")] {
            netns::ip(&[
                "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", peer, "netns", &c,
            ]);
            netns::ip(&["-n", &c, "link", "set", peer, "master", "br0", "up"]);
        }
        netns::ip(&["-n", &c, "link", "set", "br0", "up"]);
        // perfdhcp sends from an address of its interface; this one is outside the pool.
        netns::ip(&["-n", &c, "addr", "add", "10.1.0.9/16", "dev", "br0"]);
        // The failover link runs through bridge br1 in C too: Duet owns the admin state of
        // its ports (it sets a1 and b1 up again), so a test cuts the link at C's end, fa or fb.
        netns::ip(&["-n", &c, "link", "add", "br1", "type", "bridge"]);
        for (ns, dev, peer) in [(&a, "a1", "fa"), (&b, "b1", "fb")] {
            netns::ip(&[
                "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", peer, "netns", &c,
            ]);
            netns::ip(&["-n", &c, "link", "set", peer, "master", "br1", "up"]);
        }
        netns::ip(&["-n", &c, "link", "set", "br1", "up"]);
        lab.configure(A, 120);
        lab.configure(B, 100);
        lab
    }

    /// Write the configuration a device starts with.
    fn configure(&self, device: (&str, &str, &str, &str), prio: u8) {
        let file = format!("{}.cfg", device.0.to_lowercase());
        fs::write(self.path(&file), config(device, prio, self.setup)).unwrap();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// `ip netns exec NS ARGS` in the background, output to `log`.
    fn spawn(&mut self, ns: &str, log: &str, args: &[&str]) -> usize {
        let child = netns::spawn_in(&self.ns(ns), &self.path(log), args);
        self.children.push(child);
        self.children.len() - 1
    }

    /// Start device `which` ("A" or "B") with its ports on `x0` and `x1`.
    fn start_duet(&mut self, which: &str) {
        let lower = which.to_lowercase();
        let child = netns::spawn_duet(
            &self.ns(which),
            &self.path(&format!("duet-{lower}.out")),
            &[
                "--port",
                &format!("GigabitEthernet1/0/1={lower}0"),
                "--port",
                &format!("GigabitEthernet1/0/2={lower}1"),
                "--data-dir",
                &self.p(&format!("data-{lower}")),
                "--config",
                &self.p(&format!("{lower}.cfg")),
            ],
        );
        self.duets.push((which.to_string(), Some(child)));
    }

    fn kill_duet(&mut self, which: &str) {
        for (name, child) in &mut self.duets {
            if name == which
                && let Some(mut c) = child.take()
            {
                let _ = c.kill(); // SIGKILL
                let _ = c.wait();
            }
        }
    }

    fn try_display(&self, which: &str, command: &str) -> Option<String> {
        let data = self.p(&format!("data-{}", which.to_lowercase()));
        netns::duet_command(&data, command)
    }

    fn display(&self, which: &str, command: &str) -> String {
        self.try_display(which, command)
            .unwrap_or_else(|| panic!("{command} on {which} failed\n{}", self.outputs()))
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    fn outputs(&self) -> String {
        let client = self.read("dhclient.out");
        let tail: Vec<&str> = client.lines().rev().take(30).collect();
        format!(
            "duet A:\n{}\nduet B:\n{}\nA:\n{}B:\n{}{}{}{}\ndhclient (last lines, newest first):\n{}",
            self.read("duet-a.out"),
            self.read("duet-b.out"),
            self.hot_backup("A"),
            self.hot_backup("B"),
            self.try_display("B", "display dhcp server statistics").unwrap_or_default(),
            self.try_display("B", "display vrrp verbose").unwrap_or_default(),
            String::from_utf8_lossy(
                &run("sh", &["-c", &format!(
                    "ip -n {c} neigh; ip -n {c} link; ip -n {a} addr; ip -n {b} addr; ip netns exec {c} ping -c1 -W1 10.1.1.1",
                    a = self.ns("A"), b = self.ns("B"), c = self.ns("C")
                )]).stdout
            ),
            tail.join("\n")
        )
    }

    fn wait(&self, what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !cond() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                self.outputs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `display hot-backup verbose` on `which` (empty while it does not answer).
    fn hot_backup(&self, which: &str) -> String {
        self.try_display(which, "display hot-backup verbose")
            .unwrap_or_default()
    }

    /// The committed dynamic bindings `which` shows in `display dhcp server ip-in-use`.
    fn bindings(&self, which: &str) -> Table {
        parse_in_use(&self.display(which, "display dhcp server ip-in-use"))
    }

    /// Wait until A and B show the same committed bindings; the table.
    fn tables_equal(&self, secs: u64) -> Table {
        let mut table = Table::new();
        self.wait("equal tables on A and B", secs, || {
            let (a, b) = (self.bindings("A"), self.bindings("B"));
            let same = a == b;
            table = a;
            same
        });
        table
    }

    /// `display logbuffer` of `which`, one entry per line, oldest first.
    fn logs(&self, which: &str) -> Vec<String> {
        self.display(which, "display logbuffer")
            .lines()
            .filter(|l| l.starts_with('%'))
            .map(str::to_string)
            .collect()
    }

    /// `ip link set DEV up|down` in namespace `which`.
    fn set_link(&self, which: &str, dev: &str, state: &str) {
        netns::ip(&["-n", &self.ns(which), "link", "set", dev, state]);
    }

    /// Wait (bounded) for background process `index` to end.
    fn wait_exit(&mut self, index: usize, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !matches!(self.children[index].try_wait(), Ok(Some(_))) {
            assert!(Instant::now() < deadline, "process {index} did not finish");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Start perfdhcp in C: `rate` new clients a second for `secs` seconds, hardware addresses
    /// random below `mac` (a different base per run keeps the runs' clients apart).
    fn spawn_perfdhcp(&mut self, name: &str, mac: &str, rate: u32, secs: u32) -> usize {
        let (rate, secs, mac) = (rate.to_string(), secs.to_string(), format!("mac={mac}"));
        let args = [
            "perfdhcp", "-4", "-l", "br0", "-b", &mac, "-r", &rate, "-R", "1000000", "-p", &secs,
        ];
        self.spawn("C", &format!("{name}.out"), &args)
    }

    /// Run perfdhcp to its end (see [`Lab::spawn_perfdhcp`]); the ACKs it got (at least one).
    fn perfdhcp(&mut self, name: &str, mac: &str, rate: u32, secs: u32) -> u64 {
        let child = self.spawn_perfdhcp(name, mac, rate, secs);
        self.wait_exit(child, u64::from(secs) + 15);
        let out = self.read(&format!("{name}.out"));
        let acked = acks(&out);
        assert!(acked > 0, "perfdhcp {name} got no ACK:\n{out}");
        acked
    }

    /// Start ISC dhclient on C's `br0` (its script logs `reason=... ip=...` to dhclient.log);
    /// the address it is bound to.
    fn start_dhclient(&mut self) -> String {
        let script = self.script(
            "dhclient",
            r#"case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
esac
echo "reason=$reason ip=$new_ip_address" >> LOG"#,
        );
        let (pf, lf) = (self.p("dhclient.pid"), self.p("dhclient.leases"));
        let dhclient = [
            "dhclient", "-4", "-d", "-v", "-sf", &script, "-pf", &pf, "-lf", &lf, "br0",
        ];
        self.spawn("C", "dhclient.out", &dhclient);
        self.wait("dhclient bound", 15, || {
            !logged(&self.read("dhclient.log"), "reason=BOUND").is_empty()
        });
        logged(&self.read("dhclient.log"), "reason=BOUND")[0].clone()
    }

    /// Wait for dhclient's next RENEW after `before` of them; its address.
    fn next_renewal(&self, before: usize, secs: u64) -> String {
        self.wait("a dhclient renewal", secs, || {
            logged(&self.read("dhclient.log"), "reason=RENEW").len() > before
        });
        let renewed = logged(&self.read("dhclient.log"), "reason=RENEW");
        renewed.last().cloned().unwrap_or_default()
    }

    /// Give B a LAN bridge of its own, br2 in C, joined to br0 by the veth pair sa-sb: taking
    /// `sa` down splits the LAN (A and br0's stations on one side, B and br2's on the other).
    fn split_capable_lan(&self) {
        let c = self.ns("C");
        netns::ip(&["-n", &c, "link", "add", "br2", "type", "bridge"]);
        netns::ip(&[
            "-n", &c, "link", "add", "sa", "type", "veth", "peer", "name", "sb",
        ]);
        netns::ip(&["-n", &c, "link", "set", "sa", "master", "br0", "up"]);
        netns::ip(&["-n", &c, "link", "set", "sb", "master", "br2", "up"]);
        netns::ip(&["-n", &c, "link", "set", "cb", "master", "br2"]);
        netns::ip(&["-n", &c, "link", "set", "br2", "up"]);
    }

    /// A client station: a namespace of its own whose `c0` is a port of `bridge` in C, running
    /// busybox udhcpc (its script puts the leased address on `c0` and takes it off when the
    /// lease is lost). Returns the station's number.
    fn add_station(&mut self, bridge: &str) -> usize {
        let k = self.stations.len();
        let ns = format!("dhk{k}{}", self.tag);
        netns::ip(&["netns", "add", &ns]);
        self.stations.push(ns.clone());
        let c = self.ns("C");
        let port = format!("k{k}");
        netns::ip(&[
            "-n", &c, "link", "add", &port, "type", "veth", "peer", "name", "c0", "netns", &ns,
        ]);
        netns::ip(&["-n", &c, "link", "set", &port, "master", bridge, "up"]);
        netns::ip(&["-n", &ns, "link", "set", "c0", "up"]);
        let name = format!("udhcpc-{k}");
        let script = self.script(
            &name,
            r#"case "$1" in
  bound|renew) ip addr replace "$ip/$mask" dev "$interface" ;;
  deconfig|leasefail|nak) ip -4 addr flush dev "$interface" ;;
esac
echo "event=$1 ip=$ip at=$(date +%s.%N)" >> LOG"#,
        );
        let child = netns::spawn_in(
            &ns,
            &self.path(&format!("{name}.out")),
            &[
                "udhcpc", "-f", "-i", "c0", "-s", &script, "-t", "3", "-T", "1", "-A", "1",
            ],
        );
        self.children.push(child);
        k
    }

    /// The address station `k` holds now (on its `c0`), if any.
    fn station_address(&self, k: usize) -> Option<Ipv4Addr> {
        let out = run(
            "ip",
            &[
                "-n",
                &self.stations[k],
                "-4",
                "-o",
                "addr",
                "show",
                "dev",
                "c0",
            ],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .skip_while(|w| *w != "inet")
            .nth(1)
            .and_then(|a| a.split('/').next()?.parse().ok())
    }

    /// The stations' udhcpc logs and both devices' log buffers, for a failure report.
    fn station_logs(&self) -> String {
        let mut out = String::new();
        for k in 0..self.stations.len() {
            out += &format!("station {k}:\n{}", self.read(&format!("udhcpc-{k}.log")));
        }
        for d in ["A", "B"] {
            out += &format!("{d}:\n{}\n", self.logs(d).join("\n"));
        }
        out
    }

    /// The addresses held by two stations or more at this instant.
    fn held_twice(&self) -> Vec<Ipv4Addr> {
        let mut seen = BTreeMap::<Ipv4Addr, usize>::new();
        for k in 0..self.stations.len() {
            if let Some(ip) = self.station_address(k) {
                *seen.entry(ip).or_default() += 1;
            }
        }
        seen.into_iter()
            .filter(|&(_, n)| n > 1)
            .map(|(ip, _)| ip)
            .collect()
    }

    fn script(&self, name: &str, body: &str) -> String {
        netns::client_script(self.dir.path(), name, body)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.kill_duet("A");
        self.kill_duet("B");
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in ["A", "B", "C"] {
            let _ = run("ip", &["netns", "del", &self.ns(n)]);
        }
        for ns in &self.stations {
            let _ = run("ip", &["netns", "del", ns]);
        }
        let _ = fs::remove_dir_all(format!("/etc/netns/{}", self.ns("C")));
    }
}

/// Committed dynamic bindings: address -> (client identifier or hardware address, expiry).
type Table = BTreeMap<Ipv4Addr, (String, String)>;

/// The `Auto(C)` rows of `display dhcp server ip-in-use` (fixed columns: address 17, client
/// 22, expiry 22, type; a long client identifier continues on the next lines).
fn parse_in_use(text: &str) -> Table {
    let mut table = Table::new();
    let mut last: Option<(Ipv4Addr, bool)> = None;
    for line in text.lines() {
        let col = |from: usize, to: usize| line.get(from..to.min(line.len())).unwrap_or("").trim();
        if let Ok(ip) = col(0, 17).parse::<Ipv4Addr>() {
            let committed = col(61, usize::MAX) == "Auto(C)";
            if committed {
                table.insert(ip, (col(17, 39).to_string(), col(39, 61).to_string()));
            }
            last = Some((ip, committed));
        } else if let Some((ip, true)) = last
            && col(0, 17).is_empty()
            && let Some(row) = table.get_mut(&ip)
        {
            row.0.push_str(col(17, usize::MAX));
        }
    }
    table
}

/// The value of `  NAME   : VALUE` in a display.
fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(" : ")?;
            (k.trim() == name).then(|| v.trim())
        })
        .unwrap_or("")
}

/// Whether `ip` is in the even half of the pool (offset from 10.1.1.10, its first address):
/// A's half, since its failover address is the lower one (docs/hot-backup-protocol.md §6).
fn in_even_half(ip: Ipv4Addr) -> bool {
    (u32::from(ip) - u32::from(Ipv4Addr::new(10, 1, 1, 10))) % 2 == 0
}

/// The DHCP messages sent, from `display dhcp server statistics`.
fn messages_sent(stats: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.trim().strip_prefix("Messages sent:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no message count in\n{stats}"))
}

/// The position of the first entry at or after `from` containing every one of `words`.
fn position(logs: &[String], from: usize, words: &[&str]) -> Option<usize> {
    logs.iter()
        .skip(from)
        .position(|l| words.iter().all(|w| l.contains(w)))
        .map(|i| i + from)
}

/// The addresses of `reason=EVENT ip=...` lines, in order.
fn logged(log: &str, event: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.starts_with(event))
        .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("ip=")))
        .map(str::to_string)
        .collect()
}

/// perfdhcp's count of received packets in the `REQUEST-ACK` exchange.
fn acks(perfdhcp: &str) -> u64 {
    let mut in_ack = false;
    for line in perfdhcp.lines() {
        if line.contains("Statistics for: REQUEST-ACK") {
            in_ack = true;
        } else if in_ack && let Some(n) = line.trim().strip_prefix("received packets:") {
            return n.trim().parse().unwrap_or(0);
        }
    }
    panic!("no REQUEST-ACK statistics in perfdhcp output:\n{perfdhcp}");
}

#[test]
fn the_backup_takes_over_every_acked_lease_after_kill_9_of_the_master() {
    if !netns::lab_or_skip(
        "the_backup_takes_over_every_acked_lease_after_kill_9_of_the_master",
        TOOLS,
    ) {
        return;
    }
    let mut lab = Lab::started(Setup {
        lease_secs: 30,
        keepalive: None,
        pool_last: BIG_POOL,
    });
    let ip = lab.start_dhclient();

    // Load: fresh clients at 200 DORA/s for 6 s; A dies 2 s in.
    let perf_child = lab.spawn_perfdhcp("perfdhcp", "00:0c:01:00:00:00", 200, 6);
    std::thread::sleep(Duration::from_secs(2));
    let killed = Instant::now();
    lab.kill_duet("A");
    lab.wait("B as VRRP master", 10, || {
        field(&lab.hot_backup("B"), "Local VRRP role") == "Master"
    });
    eprintln!(
        "B master {} ms after kill -9 of A",
        killed.elapsed().as_millis()
    );
    let renewals_before = logged(&lab.read("dhclient.log"), "reason=RENEW").len();
    lab.wait_exit(perf_child, 20);
    let perf_out = lab.read("perfdhcp.out");
    let acked = acks(&perf_out);
    assert!(acked > 0, "perfdhcp got no ACK:\n{perf_out}");

    // (1) Every lease a client got an ACK for is on B.
    let on_b = lab.bindings("B");
    let dhclient_ip: Ipv4Addr = ip.parse().unwrap();
    assert!(
        on_b.contains_key(&dhclient_ip),
        "dhclient's {ip} is not on B:\n{on_b:?}"
    );
    assert!(
        on_b.len() as u64 > acked,
        "B holds {} bindings but clients got {acked} ACKs (plus dhclient's)\n{perf_out}",
        on_b.len()
    );
    // (2) dhclient's next renewal (unicast to the virtual IP) is ACKed by B, same address.
    let renewed = lab.next_renewal(renewals_before, 30);
    assert_eq!(renewed, ip, "{}", lab.read("dhclient.out"));
    let shown = lab.hot_backup("B");
    assert_eq!(field(&shown, "Channel state"), "Disconnected", "{shown}");
    assert_eq!(
        field(&shown, "DHCP server identifier"),
        "10.1.1.1",
        "{shown}"
    );
}

/// Keepalive 1 s x 2: the peer is declared down 2 s after the failover link goes silent.
const FAST_KEEPALIVE: Setup = Setup {
    lease_secs: 30,
    keepalive: Some((1, 2)),
    pool_last: BIG_POOL,
};

#[test]
fn a_failover_link_down_and_up_keeps_a_serving_from_its_half_and_heals_to_equal_tables() {
    if !netns::lab_or_skip(
        "a_failover_link_down_and_up_keeps_a_serving_from_its_half_and_heals_to_equal_tables",
        TOOLS,
    ) {
        return;
    }
    let mut lab = Lab::started(FAST_KEEPALIVE);
    lab.perfdhcp("perf-before", "00:0c:01:00:00:00", 100, 2);
    let before = lab.tables_equal(10);

    // The failover link goes silent: A's cable is pulled at the bridge (a1 loses its
    // carrier; no FIN, no RST reaches either device).
    lab.set_link("C", "fa", "down");
    let cut = Instant::now();
    // Declared down after interval x retransmit = 2 s; the bound leaves room for a loaded
    // machine (the time itself is printed, not asserted: timing belongs to benchmarks).
    lab.wait("both devices in Silence", 8, || {
        ["A", "B"].iter().all(|d| {
            let hb = lab.hot_backup(d);
            field(&hb, "Backup phase") == "Silence" && field(&hb, "Channel state") == "Disconnected"
        })
    });
    eprintln!(
        "both devices in Silence {} ms after the cut",
        cut.elapsed().as_millis()
    );

    // A serves alone, new addresses from its (even) half only; B stays a silent backup.
    let shown = lab.hot_backup("A");
    assert_eq!(field(&shown, "Local VRRP role"), "Master", "{shown}");
    assert_eq!(
        field(&shown, "New addresses from"),
        "Even half of each pool",
        "{shown}"
    );
    let ip = lab.start_dhclient();
    let outage_ip: Ipv4Addr = ip.parse().unwrap();
    lab.perfdhcp("perf-outage", "00:0c:02:00:00:00", 50, 2);
    let on_a = lab.bindings("A");
    let new: Vec<Ipv4Addr> = on_a
        .keys()
        .filter(|ip| !before.contains_key(ip))
        .copied()
        .collect();
    assert!(new.contains(&outage_ip), "{ip} not on A: {on_a:?}");
    assert!(
        new.len() > 1,
        "no perfdhcp lease during the outage: {new:?}"
    );
    let odd: Vec<_> = new.iter().filter(|ip| !in_even_half(**ip)).collect();
    assert!(
        odd.is_empty(),
        "A gave addresses of B's half while unreconciled: {odd:?}"
    );
    let shown = lab.hot_backup("B");
    assert_eq!(field(&shown, "Local VRRP role"), "Backup", "{shown}");
    assert_eq!(field(&shown, "DHCP answering"), "No (backup)", "{shown}");
    assert_eq!(
        messages_sent(&lab.display("B", "display dhcp server statistics")),
        0
    );
    assert!(
        !lab.bindings("B").contains_key(&outage_ip),
        "the cut link still carried {ip} to B"
    );

    // The link returns: both directions reconcile, B gets every outage lease.
    lab.set_link("C", "fa", "up");
    let up = Instant::now();
    lab.wait("real-time backup on both devices", 15, || {
        ["A", "B"]
            .iter()
            .all(|d| field(&lab.hot_backup(d), "Backup phase") == "Real-time backup")
    });
    eprintln!(
        "real-time backup {} ms after the link came up",
        up.elapsed().as_millis()
    );
    let healed = lab.tables_equal(10);
    let missing: Vec<_> = new.iter().filter(|ip| !healed.contains_key(ip)).collect();
    assert!(
        missing.is_empty(),
        "outage leases not on B after healing: {missing:?}"
    );
    let shown = lab.hot_backup("A");
    assert_eq!(field(&shown, "New addresses from"), "Whole pool", "{shown}");

    // A dies: B renews the lease A gave during the outage, same address.
    let renewals_before = logged(&lab.read("dhclient.log"), "reason=RENEW").len();
    lab.kill_duet("A");
    lab.wait("B as VRRP master", 10, || {
        field(&lab.hot_backup("B"), "Local VRRP role") == "Master"
    });
    let renewed = lab.next_renewal(renewals_before, 25);
    assert_eq!(renewed, ip, "{}", lab.read("dhclient.out"));
    let stats = lab.display("B", "display dhcp server statistics");
    assert!(
        stats
            .lines()
            .find_map(|l| l.trim().strip_prefix("DHCPACK:"))
            .is_some_and(|n| n.trim() != "0"),
        "the renewal was not ACKed by B:\n{stats}"
    );
}

#[test]
fn a_restarted_backup_is_refilled_by_batch_backup_before_it_may_preempt() {
    if !netns::lab_or_skip(
        "a_restarted_backup_is_refilled_by_batch_backup_before_it_may_preempt",
        TOOLS,
    ) {
        return;
    }
    let mut lab = Lab::started(Setup {
        lease_secs: 3600,
        keepalive: None,
        pool_last: BIG_POOL,
    });
    let acked = lab.perfdhcp("perf-1", "00:0c:03:00:00:00", 600, 5);
    let table = lab.tables_equal(15);
    assert!(
        table.len() as u64 >= acked,
        "{} bindings, {acked} ACKs",
        table.len()
    );
    eprintln!("{} bindings on A and B", table.len());

    // B restarts with its journal; A gives more leases while B is down (the gap).
    lab.kill_duet("B");
    lab.perfdhcp("perf-gap", "00:0c:04:00:00:00", 100, 1);
    let with_gap = lab.bindings("A");
    assert!(with_gap.len() > table.len());
    lab.start_duet("B");
    lab.wait("B back in real-time backup", 20, || {
        field(&lab.hot_backup("B"), "Backup phase") == "Real-time backup"
    });
    let resynced = lab.tables_equal(10);
    assert!(
        with_gap.keys().all(|ip| resynced.contains_key(ip)),
        "leases of the gap missing after B's restart"
    );
    // A new process has no resume point for A's stream: A sends a batch (protocol §2).
    let stats = lab.display("B", "display hot-backup statistics");
    assert_eq!(field(&stats, "Batch backups received"), "1", "{stats}");
    assert_eq!(field(&lab.hot_backup("A"), "Local VRRP role"), "Master");

    // B restarts empty (a new data directory) with a higher priority than A, preempting:
    // it must not take over before A's batch has filled it. First with the failover link
    // cut for longer than Master_Down_Interval (3 x 0.5 s + skew): B hears A's adverts and
    // outranks them, yet stays backup and silent while clients get leases from A.
    lab.kill_duet("B");
    fs::remove_dir_all(lab.path("data-b")).unwrap();
    lab.configure(B, 200);
    lab.set_link("C", "fb", "down");
    lab.start_duet("B");
    lab.wait("B up as VRRP backup", 10, || {
        field(&lab.hot_backup("B"), "Local VRRP role") == "Backup"
    });
    lab.perfdhcp("perf-hold", "00:0c:05:00:00:00", 100, 3);
    let shown = lab.hot_backup("B");
    assert_eq!(field(&shown, "Local VRRP role"), "Backup", "{shown}");
    assert_eq!(field(&shown, "Backup phase"), "Silence", "{shown}");
    assert_eq!(field(&lab.hot_backup("A"), "Local VRRP role"), "Master");
    assert_eq!(
        messages_sent(&lab.display("B", "display dhcp server statistics")),
        0
    );
    let with_hold = lab.bindings("A");
    assert!(with_hold.len() > with_gap.len());
    lab.set_link("C", "fb", "up");
    let mut early = Vec::new();
    let mut phases = Vec::new();
    lab.wait("B preempting A", 20, || {
        let hb = lab.hot_backup("B");
        let (phase, role) = (field(&hb, "Backup phase"), field(&hb, "Local VRRP role"));
        if phases.last().map(String::as_str) != Some(phase) && !phase.is_empty() {
            phases.push(phase.to_string());
        }
        if phase != "Real-time backup"
            && (role == "Master" || field(&hb, "DHCP answering") == "Yes")
        {
            early.push(hb.clone());
        }
        role == "Master"
    });
    let shown = lab.hot_backup("B");
    eprintln!(
        "B's phases as polled: {phases:?}; last batch duration {}",
        field(&shown, "Last batch duration")
    );
    assert!(
        field(&shown, "Last batch duration").ends_with(" ms"),
        "{shown}"
    );
    assert!(
        early.is_empty(),
        "B served before its batch ended:\n{}",
        early.join("\n")
    );
    let logs = lab.logs("B");
    let batch = position(&logs, 0, &["HOTBACKUP_PHASE", "to Batch backup"]);
    let done = batch.and_then(|i| position(&logs, i, &["HOTBACKUP_BATCH_DONE"]));
    let realtime =
        done.and_then(|i| position(&logs, i, &["HOTBACKUP_PHASE", "to Real-time backup"]));
    let master = position(&logs, 0, &["VRRP_STATUS_CHANGE", "to Master"]);
    assert!(
        batch.is_some() && done.is_some() && realtime.is_some(),
        "B did not go through Batch backup to Real-time backup:\n{}",
        logs.join("\n")
    );
    assert!(
        master > done,
        "B became master before its batch ended:\n{}",
        logs.join("\n")
    );
    // A hears B's first advert a moment after B's own display says Master.
    lab.wait("A giving way to B", 5, || {
        position(
            &lab.logs("A"),
            0,
            &["VRRP_STATUS_CHANGE", "from Master to Backup"],
        )
        .is_some()
    });
    let refilled = lab.tables_equal(10);
    assert!(
        with_hold.keys().all(|ip| refilled.contains_key(ip)),
        "bindings missing on the refilled B"
    );
}

/// What [`watch_held_twice`] saw: the addresses ever held by two stations at once, and for
/// how long in all (sampled every 200 ms).
#[derive(Debug, Default)]
struct Doubles {
    addresses: std::collections::BTreeSet<Ipv4Addr>,
    sampled: Duration,
}

/// Sample every station's address for `secs` seconds.
fn watch_held_twice(lab: &Lab, secs: u64, doubles: &mut Doubles) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        let twice = lab.held_twice();
        if !twice.is_empty() {
            doubles.sampled += Duration::from_millis(200);
            doubles.addresses.extend(twice);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Split brain with real clients: failover link and LAN cut together, so both devices are
/// VRRP masters, each serving its side's udhcpc clients alone (30 s leases, an 8-address
/// pool). A renews the bindings of its side; B cannot see those renewals, expires its
/// copies, and must not give their addresses (one is in B's half) to B's new clients: B
/// withholds an address it expired while the peer is unreachable. No address is held by two
/// stations at any sampled instant, during the partition or after the healing, and the
/// tables end equal (the renewals A made win over B's expiries in the merge).
#[test]
fn a_split_brain_never_gives_an_address_the_peer_renews_to_another_client() {
    if !netns::lab_or_skip(
        "a_split_brain_never_gives_an_address_the_peer_renews_to_another_client",
        &["udhcpc"],
    ) {
        return;
    }
    // 30 s: busybox udhcpc takes no shorter lease (it renews at 15 s whatever it is told).
    let mut lab = Lab::new(Setup {
        lease_secs: 30,
        keepalive: Some((1, 2)),
        pool_last: "10.1.1.17",
    });
    lab.split_capable_lan();
    lab.start_duet("A");
    lab.start_duet("B");
    lab.wait("real-time backup with A as master", 30, || {
        let a = lab.hot_backup("A");
        a.contains("Real-time backup") && a.contains("Local VRRP role           : Master")
    });
    // Three stations on A's side bind through A: .10, .11 and .12 (.11 is in B's half).
    let a_side: Vec<usize> = (0..3).map(|_| lab.add_station("br0")).collect();
    lab.wait("A's side bound", 20, || {
        a_side.iter().all(|&k| lab.station_address(k).is_some())
    });
    let held: Vec<Ipv4Addr> = a_side
        .iter()
        .filter_map(|&k| lab.station_address(k))
        .collect();
    assert!(
        held.iter().any(|&ip| !in_even_half(ip)),
        "no address of B's half on A's side: {held:?}"
    );
    lab.tables_equal(10);

    // The split: failover link and LAN at once.
    lab.set_link("C", "fa", "down");
    lab.set_link("C", "sa", "down");
    lab.wait(
        "both devices VRRP master, hot backup in Silence",
        15,
        || {
            ["A", "B"].iter().all(|d| {
                let hb = lab.hot_backup(d);
                field(&hb, "Local VRRP role") == "Master" && field(&hb, "Backup phase") == "Silence"
            })
        },
    );
    // B's copies of A's side's bindings run out (A keeps renewing them).
    let mut doubles = Doubles::default();
    lab.wait("B expires the bindings A renews", 45, || {
        let expired = lab.display("B", "display dhcp server expired");
        held.iter().all(|ip| expired.contains(&format!("{ip} ")))
    });
    // New clients on B's side: B has .11 .13 .15 .17 in its half, one of them A's client's.
    let b_side: Vec<usize> = (0..3).map(|_| lab.add_station("br2")).collect();
    lab.wait("B's side bound", 20, || {
        b_side.iter().all(|&k| lab.station_address(k).is_some())
    });
    watch_held_twice(&lab, 8, &mut doubles);
    let during = doubles.addresses.clone();

    // Healing: the link and the LAN come back; A is the only master and the tables agree.
    lab.set_link("C", "fa", "up");
    lab.set_link("C", "sa", "up");
    lab.wait("A the only master, real-time backup", 30, || {
        let (a, b) = (lab.hot_backup("A"), lab.hot_backup("B"));
        field(&a, "Local VRRP role") == "Master"
            && field(&b, "Local VRRP role") == "Backup"
            && [a, b]
                .iter()
                .all(|h| field(h, "Backup phase") == "Real-time backup")
    });
    watch_held_twice(&lab, 8, &mut doubles);
    let table = lab.tables_equal(15);
    eprintln!(
        "addresses held by two stations: {} during the split {:?}, {} in all {:?}, \
         for {:?} of sampled time; tables after healing: {table:?}",
        during.len(),
        during,
        doubles.addresses.len(),
        doubles.addresses,
        doubles.sampled
    );
    assert!(
        doubles.addresses.is_empty(),
        "addresses held by two clients: {doubles:?}\n{}\nB:\n{}",
        lab.outputs(),
        lab.display("B", "display dhcp server ip-in-use")
    );
    // Every station holds its own address, and both devices have its binding.
    for k in 0..lab.stations.len() {
        let ip = lab.station_address(k);
        assert!(
            ip.is_some_and(|ip| table.contains_key(&ip)),
            "station {k} holds {ip:?}; tables {table:?}\n{}",
            lab.station_logs()
        );
    }
}
