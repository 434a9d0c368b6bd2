//! Lab tests of portal authentication with real clients, in network namespaces (root needed):
//!
//! ```text
//!  [client ns C] c0 ------- d0 [device ns D] d1 ------- i0 [internet ns I]
//!   02:00:00:00:01:02   10.1.1.0/24        10.2.0.0/24   10.2.0.2, 10.2.0.3
//!   curl, dhclient                                        tests/portal/internet.py (80, 443, 2222),
//!                                                        dnsmasq (example.test and the probe names)
//! ```
//!
//! `nftables_table_intercepts_captive_clients` proves the firewall and the web server without
//! the rest of Duet: the test process loads the table with `Nft` in D and serves the portal
//! there with a gate that calls `Nft::allow`/`revoke`, and curl in C checks each rule.
//!
//! `duet_portal_from_dhcp_to_logoff` runs `duet run --net linux` in D with the portal on two
//! ports (C by DHCP on GE1/0/1, a second client E with a static address on GE1/0/3) and goes
//! through the issue's scenario with curl: redirect with the original URL, HTTPS failing at
//! once, the probe not 204; bad and good passwords; logoff; access-limit, delete-user,
//! max-user, the DHCP release; no table left after `duet run` stops.
//! `browser_logs_on_through_the_portal` does the logon in headless Chromium with Selenium.
//!
//! Without root or one of the tools the tests skip with the reason; `DUET_REQUIRE_LAB=1` turns
//! the skip into a failure.

use std::collections::HashMap;
use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use duet::portal::firewall::{Client, FreeRule, Nft, Plan, PortalPort, Transport};
use duet::portal::web::{Gate, Logon, Online, Site, UrlParam, WebStats, serve};
use futures::FutureExt;
use futures::future::BoxFuture;

#[path = "common/netns.rs"]
mod netns;

use netns::{LabRun, ip, lab_or_skip, link_up, private_resolv_conf, sysctl_in, veth, wait_until};

const TOOLS: &[&str] = &["nft", "curl", "dnsmasq", "python3"];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 1, 2];
const CLIENT_MAC_TEXT: &str = "02:00:00:00:01:02";
const MARKER: &str = "DUET-LAB-MARKER";

/// Namespaces, files and processes of one run ([`LabRun`]: all removed on drop, also when a
/// check fails), with this test's steps.
type Lab = LabRun;

impl Lab {
    /// The three namespaces and their links; the internet's server and DNS running. The
    /// device's addresses are left to the test (set by hand, or by `duet run`).
    fn new() -> Lab {
        let mut lab = Lab::with_prefix("pt");
        for n in ["C", "D", "I"] {
            lab.add_namespace(n);
        }
        let (c, d, i) = (lab.ns("C"), lab.ns("D"), lab.ns("I"));
        lab.add_resolv_conf("C", "nameserver 10.2.0.2\n");
        veth(&d, "d0", &c, "c0");
        veth(&d, "d1", &i, "i0");
        ip(&["-n", &c, "link", "set", "c0", "address", CLIENT_MAC_TEXT]);
        ip(&["-n", &i, "addr", "add", "10.2.0.2/24", "dev", "i0"]);
        ip(&["-n", &i, "addr", "add", "10.2.0.3/24", "dev", "i0"]);
        for (ns, dev) in [(&c, "c0"), (&d, "d0"), (&d, "d1"), (&i, "i0")] {
            link_up(ns, dev);
        }
        ip(&["-n", &i, "route", "add", "default", "via", "10.2.0.1"]);

        let server = env!("CARGO_MANIFEST_DIR").to_string() + "/tests/portal/internet.py";
        lab.spawn("I", "internet.log", &["python3", &server]);
        let pid_file = lab.p("dnsmasq.pid");
        lab.spawn(
            "I",
            "dnsmasq.log",
            &[
                "dnsmasq",
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=10.2.0.2",
                "--user=root",
                &format!("--pid-file={pid_file}"),
                "--log-queries",
                "--log-facility=-",
                "--address=/example.test/10.2.0.2",
                "--address=/connectivitycheck.gstatic.com/10.2.0.2",
                "--address=/captive.apple.com/10.2.0.2",
                "--address=/www.msftconnecttest.com/10.2.0.2",
            ],
        );
        let inet = lab.ns("I");
        wait_until("the internet's web server", Duration::from_secs(10), || {
            curl(&inet, &["http://10.2.0.2/"]).out.contains(MARKER)
        });
        lab
    }

    /// curl in the client namespace.
    fn curl(&self, args: &[&str]) -> Curl {
        curl(&self.ns("C"), args)
    }

    /// `status redirect-url` of a GET from the client.
    fn status(&self, url: &str) -> String {
        self.curl(&["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", url])
            .out
    }
}

struct Curl {
    code: i32,
    out: String,
    took: Duration,
}

/// `curl -s --max-time 5 ARGS` in `ns`, without any proxy from the environment.
fn curl(ns: &str, args: &[&str]) -> Curl {
    let started = Instant::now();
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "curl",
            "-s",
            "--noproxy",
            "*",
            "--max-time",
            "5",
        ])
        .args(args)
        .output()
        .expect("run curl");
    Curl {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        took: started.elapsed(),
    }
}

fn nft_in(ns: &str, args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "nft"])
        .args(args)
        .output()
        .expect("run nft");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The portal's side without the user table: one user, and the firewall told at logon and
/// logoff, as the driver does.
struct LabGate {
    nft: Nft,
    online: Mutex<HashMap<Ipv4Addr, Online>>,
}

impl Gate for LabGate {
    fn logon(
        &self,
        client: Ipv4Addr,
        username: String,
        password: String,
    ) -> BoxFuture<'static, Logon> {
        if username != "guest" || password != "Guest#2026" {
            return async { Logon::Failed("Wrong username or password.".into()) }.boxed();
        }
        let online = Online {
            username,
            seconds_remaining: None,
        };
        self.online.lock().unwrap().insert(client, online.clone());
        let nft = self.nft.clone();
        async move {
            match nft
                .allow(Client {
                    ip: client,
                    mac: CLIENT_MAC,
                })
                .await
            {
                Ok(()) => Logon::Success(online),
                Err(e) => Logon::Failed(format!("firewall: {e}")),
            }
        }
        .boxed()
    }
    fn logoff(&self, client: Ipv4Addr) -> BoxFuture<'static, bool> {
        let was = self.online.lock().unwrap().remove(&client).is_some();
        let nft = self.nft.clone();
        async move {
            nft.revoke(Client {
                ip: client,
                mac: CLIENT_MAC,
            })
            .await
            .unwrap();
            was
        }
        .boxed()
    }
    fn online(&self, client: Ipv4Addr) -> Option<Online> {
        self.online.lock().unwrap().get(&client).cloned()
    }
    fn mac_of(&self, _client: Ipv4Addr) -> Option<[u8; 6]> {
        Some(CLIENT_MAC)
    }
}

/// A runtime whose threads (workers and the blocking pool, where `nft` is started) all live
/// in namespace `ns`, as `duet run` does when started with `ip netns exec`.
fn runtime_in(ns: &str) -> tokio::runtime::Runtime {
    netns::enter(ns);
    let ns = ns.to_string();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || netns::enter(&ns))
        .build()
        .unwrap()
}

/// The device's side without the rest of Duet: addresses and forwarding set by hand, the
/// table loaded by `Nft`, the portal served with a [`LabGate`] on 10.1.1.1:8080.
struct EdgeDevice {
    rt: tokio::runtime::Runtime,
    nft: Nft,
    stats: Arc<WebStats>,
    server: tokio::task::JoinHandle<()>,
    _site: tokio::sync::watch::Sender<Site>,
}

impl Drop for EdgeDevice {
    fn drop(&mut self) {
        self.server.abort();
    }
}

const EDGE_PORTAL: &str = "http://10.1.1.1:8080/portal/";

fn edge_device(lab: &Lab) -> EdgeDevice {
    let (c, d) = (lab.ns("C"), lab.ns("D"));
    ip(&["-n", &d, "addr", "add", "10.1.1.1/24", "dev", "d0"]);
    ip(&["-n", &d, "addr", "add", "10.2.0.1/24", "dev", "d1"]);
    ip(&["-n", &c, "addr", "add", "10.1.1.2/24", "dev", "c0"]);
    ip(&["-n", &c, "route", "add", "default", "via", "10.1.1.1"]);
    sysctl_in(&d, "net.ipv4.ip_forward=1");
    // Before any table: names resolve and the internet answers.
    assert!(lab.curl(&["http://example.test/"]).out.contains(MARKER));

    let rt = runtime_in(&d);
    let nft = Nft::new(&format!("lab{}", lab.tag));
    let gate = Arc::new(LabGate {
        nft: nft.clone(),
        online: Mutex::default(),
    });
    let site = Site {
        portal_url: EDGE_PORTAL.into(),
        url_parameters: vec![
            ("userurl".into(), UrlParam::OriginalUrl),
            ("userip".into(), UrlParam::SourceAddress),
            ("usermac".into(), UrlParam::SourceMac),
        ],
        pages: None,
    };
    let (site_tx, site_rx) = tokio::sync::watch::channel(site);
    let stats = Arc::new(WebStats::default());
    let server = rt.spawn(serve_on("10.1.1.1:8080", site_rx, gate, stats.clone()));
    let plan = Plan {
        ports: vec![PortalPort {
            linux_name: "d0".into(),
            local_addresses: vec![Ipv4Addr::new(10, 1, 1, 1)],
        }],
        web_server: (Ipv4Addr::new(10, 1, 1, 1), 8080),
        free_rules: vec![
            FreeRule::Destination {
                net: Some((Ipv4Addr::new(10, 2, 0, 2), 32)),
                port: Some((Transport::Udp, 53)),
            },
            FreeRule::Destination {
                net: Some((Ipv4Addr::new(10, 2, 0, 3), 32)),
                port: Some((Transport::Tcp, 80)),
            },
        ],
        authorized: vec![],
    };
    rt.block_on(nft.load(&plan)).expect("load the table");
    // Loading again replaces it (atomically, no error for an existing table).
    rt.block_on(nft.load(&plan)).expect("load the table again");
    assert!(nft_in(&d, &["list", "tables"]).contains(nft.table()));
    wait_until("the portal answering", Duration::from_secs(10), || {
        lab.curl(&[EDGE_PORTAL]).out.contains("name=\"PtUser\"")
    });
    EdgeDevice {
        rt,
        nft,
        stats,
        server,
        _site: site_tx,
    }
}

#[test]
fn nftables_table_intercepts_captive_clients() {
    if !lab_or_skip("nftables_table_intercepts_captive_clients", TOOLS) {
        return;
    }
    let lab = Lab::new();
    let dev = edge_device(&lab);
    let (c, d) = (lab.ns("C"), lab.ns("D"));
    let (rt, nft) = (&dev.rt, &dev.nft);
    let portal = EDGE_PORTAL;
    // Captive: any HTTP goes to the portal with its original URL (DNAT keeps the Host).
    assert_eq!(
        lab.status("http://example.test/some/page?x=1"),
        format!(
            "302 {portal}?userurl=http%3A%2F%2Fexample.test%2Fsome%2Fpage%3Fx%3D1\
             &userip=10.1.1.2&usermac=0200-0000-0102"
        )
    );
    let probe = lab.status("http://connectivitycheck.gstatic.com/generate_204");
    assert!(probe.starts_with("302 "), "{probe}");
    // DNS reached through its free rule (curl resolved the names above); a free
    // destination is reached without the portal.
    assert!(lab.curl(&["http://10.2.0.3/"]).out.contains(MARKER));
    // HTTPS fails at once (TCP reset), other ports are refused (ICMP), not left to time out.
    for url in ["http://example.test:443/", "http://example.test:2222/"] {
        let r = lab.curl(&[url]);
        assert_eq!(r.code, 7, "{url}: curl exit {} ({})", r.code, r.out);
        assert!(r.took < Duration::from_secs(1), "{url} took {:?}", r.took);
    }
    // Bad password: still captive.
    let cgi = format!("{portal}logon.cgi?userurl=http%3A%2F%2Fexample.test%2F");
    let fail = lab.curl(&["-d", "PtUser=guest&PtPwd=bad&PtButton=Logon", &cgi]);
    assert!(fail.out.contains("Log on failed"), "{}", fail.out);
    assert!(lab.status("http://example.test/").starts_with("302 "));

    // Good password: the page answers once the element is in; everything passes.
    let ok = lab.curl(&["-d", "PtUser=guest&PtPwd=Guest%232026&PtButton=Logon", &cgi]);
    assert!(ok.out.contains("You are logged on"), "{}", ok.out);
    assert!(ok.out.contains("href=\"http://example.test/\""));
    assert!(lab.curl(&["http://example.test/"]).out.contains(MARKER));
    assert_eq!(
        lab.status("http://connectivitycheck.gstatic.com/generate_204"),
        "204 "
    );
    for url in ["http://example.test:443/", "http://example.test:2222/"] {
        assert!(lab.curl(&[url]).out.contains(MARKER), "{url}");
    }
    // Its traffic shows in active4, read once.
    let active = rt.block_on(nft.active()).unwrap();
    assert_eq!(active, vec![Ipv4Addr::new(10, 1, 1, 2)]);
    assert!(rt.block_on(nft.active()).unwrap().is_empty());

    // The same IP with another MAC is not the logged-in client.
    ip(&[
        "-n",
        &c,
        "link",
        "set",
        "c0",
        "address",
        "02:00:00:00:01:99",
    ]);
    ip(&["-n", &d, "neigh", "flush", "dev", "d0"]);
    assert!(lab.status("http://example.test/").starts_with("302 "));
    ip(&["-n", &c, "link", "set", "c0", "address", CLIENT_MAC_TEXT]);
    ip(&["-n", &d, "neigh", "flush", "dev", "d0"]);
    assert!(lab.curl(&["http://example.test/"]).out.contains(MARKER));

    // Logoff: captive again.
    let off = lab.curl(&["-d", "PtButton=Logoff", &format!("{portal}logon.cgi")]);
    assert!(off.out.contains("You are logged off"), "{}", off.out);
    assert!(lab.status("http://example.test/").starts_with("302 "));

    // Batching: many concurrent changes, few nft runs; each resolves once it is in.
    let clients: Vec<Client> = (0..1000u32)
        .map(|i| Client {
            ip: Ipv4Addr::from(0x0a01_0000 + 256 + i),
            mac: [2, 1, 0, 0, (i >> 8) as u8, i as u8],
        })
        .collect();
    let started = Instant::now();
    let results = rt.block_on(futures::future::join_all(
        clients.iter().map(|c| nft.allow(*c)),
    ));
    let batch = started.elapsed();
    assert!(results.iter().all(|r| r.is_ok()));
    let listed = nft_in(&d, &["list", "set", "inet", nft.table(), "auth4"]);
    assert_eq!(listed.matches(" . 02:01:").count(), 1000);
    let started = Instant::now();
    for c in &clients[..20] {
        rt.block_on(nft.revoke(*c)).unwrap();
    }
    let single = started.elapsed() / 20;
    eprintln!("nft: 1000 concurrent allows in {batch:?}; one change alone {single:?}");
    assert!(
        rt.block_on(futures::future::join_all(
            clients.iter().map(|c| nft.revoke(*c))
        ))
        .iter()
        .all(|r| r.is_ok())
    );

    // Stop: the table is gone and nothing is intercepted any more.
    rt.block_on(nft.remove()).unwrap();
    rt.block_on(nft.remove())
        .expect("removing twice is no error");
    assert!(!nft_in(&d, &["list", "tables"]).contains(nft.table()));
    assert!(lab.curl(&["http://example.test/"]).out.contains(MARKER));
    let counters = dev.stats.snapshot();
    assert!(
        counters.redirects >= 4 && counters.logon_posts == 3,
        "{counters:?}"
    );
}

/// A python3 that has Selenium (Debian's first: a pyenv or venv python3 in PATH may not),
/// when chromium and chromedriver are installed too.
fn browser_python() -> Result<String, String> {
    for program in ["chromium", "chromedriver"] {
        if netns::lab_unavailable(&[program]).is_some() {
            return Err(format!("{program} not installed"));
        }
    }
    ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|py| {
            Command::new(py)
                .args(["-c", "import selenium"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_string)
        .ok_or_else(|| "no python3 with selenium (python3-selenium)".to_string())
}

#[test]
fn browser_logs_on_through_the_portal() {
    if !lab_or_skip("browser_logs_on_through_the_portal", TOOLS) {
        return;
    }
    let python = match browser_python() {
        Ok(p) => p,
        Err(reason) => {
            assert!(
                std::env::var("DUET_REQUIRE_LAB").as_deref() != Ok("1"),
                "browser_logs_on_through_the_portal: lab required (DUET_REQUIRE_LAB=1) but {reason}"
            );
            eprintln!("skipping browser_logs_on_through_the_portal: {reason}");
            return;
        }
    };
    // The real device; the client has an address of its own (the DHCP path is the scenario
    // test's).
    let mut lab = Lab::new();
    let _second = add_second_client(&mut lab);
    let _device = Device::start(&lab, CONFIG);
    let c = lab.ns("C");
    ip(&["-n", &c, "addr", "add", "10.1.1.2/24", "dev", "c0"]);
    ip(&["-n", &c, "route", "add", "default", "via", "10.1.1.1"]);
    let script = env!("CARGO_MANIFEST_DIR").to_string() + "/tests/browser/portal_login.py";
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns("C"), &python, &script])
        .args([
            "http://example.test/",
            "guest",
            "Guest#2026",
            MARKER,
            &lab.p("chromium"),
        ])
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser logon failed:\n{said}");
    assert!(
        said.contains("marker page at http://example.test/"),
        "{said}"
    );
}

async fn serve_on(
    addr: &str,
    site: tokio::sync::watch::Receiver<Site>,
    gate: Arc<dyn Gate>,
    stats: Arc<WebStats>,
) {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind the portal");
    serve(listener, site, gate, stats).await
}

const DUET: &str = env!("CARGO_BIN_EXE_duet");

/// The device: a DHCP pool and the portal on GE1/0/1 (the client C, by DHCP), a second portal
/// port GE1/0/3 (the client C2, 10.1.2.2 set by hand) and the upstream port GE1/0/2. `guest`
/// may log in once at a time (access-limit 1); `roamer` as often as it likes.
const CONFIG: &str = "\
#
 sysname PortalLab
#
 dhcp enable
#
dhcp server ip-pool lan
 gateway-list 10.1.1.1
 dns-list 10.2.0.2
 network 10.1.1.0 mask 255.255.255.0
 address range 10.1.1.100 10.1.1.150
#
local-user guest class network
 password simple Guest#2026
 service-type portal
 access-limit 1
#
local-user roamer class network
 password simple Roam#2026
 service-type portal
#
portal local-web-server http
#
portal web-server local
 url http://10.1.1.1/portal/
 url-parameter userurl original-url
#
portal free-rule 1 destination ip 10.2.0.2 32 udp 53
#
interface GigabitEthernet1/0/1
 ip address 10.1.1.1 255.255.255.0
 dhcp server apply ip-pool lan
 portal enable method direct
 portal apply web-server local
#
interface GigabitEthernet1/0/2
 ip address 10.2.0.1 255.255.255.0
#
interface GigabitEthernet1/0/3
 ip address 10.1.2.1 255.255.255.0
 portal enable method direct
 portal apply web-server local
#
return
";

/// `duet run` in D, with its data directory in the lab.
struct Device {
    child: Child,
    data: String,
}

impl Device {
    fn start(lab: &Lab, config: &str) -> Device {
        fs::write(lab.path("duet.cfg"), config).unwrap();
        let data = lab.p("data");
        let child = netns::spawn_duet(
            &lab.ns("D"),
            &lab.path("duet.out"),
            &[
                "--port",
                "GigabitEthernet1/0/1=d0",
                "--port",
                "GigabitEthernet1/0/2=d1",
                "--port",
                "GigabitEthernet1/0/3=d2",
                "--data-dir",
                &data,
                "--config",
                &lab.p("duet.cfg"),
            ],
        );
        let device = Device { child, data };
        wait_until("duet answering", Duration::from_secs(15), || {
            device.try_run(&["display portal user all"]).is_some()
        });
        device
    }

    fn try_run(&self, commands: &[&str]) -> Option<String> {
        let mut cmd = Command::new(DUET);
        cmd.args(["connect", "--data-dir", &self.data]);
        for c in commands {
            cmd.args(["-c", c]);
        }
        let out = cmd.output().expect("run duet connect");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn run(&self, lab: &Lab, commands: &[&str]) -> String {
        self.try_run(commands).unwrap_or_else(|| {
            panic!(
                "{commands:?} failed; duet output:\n{}",
                lab.read("duet.out")
            )
        })
    }

    /// SIGTERM, and wait (bounded) for the process to end.
    fn stop(&mut self) {
        // SAFETY: kill(2) on the pid of a child we started and have not reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "duet ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn logon(ns: &str, user: &str, password: &str) -> String {
    let form = format!(
        "PtUser={user}&PtPwd={}&PtButton=Logon",
        password.replace('#', "%23")
    );
    curl(ns, &["-d", &form, "http://10.1.1.1/portal/logon.cgi"]).out
}

fn status_in(ns: &str, url: &str) -> String {
    curl(
        ns,
        &["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", url],
    )
    .out
}

fn captive(ns: &str) -> bool {
    status_in(ns, "http://example.test/").starts_with("302 ")
}

fn through(ns: &str) -> bool {
    curl(ns, &["http://example.test/"]).out.contains(MARKER)
}

#[test]
fn duet_portal_from_dhcp_to_logoff() {
    if !lab_or_skip(
        "duet_portal_from_dhcp_to_logoff",
        &[TOOLS, &["dhclient"]].concat(),
    ) {
        return;
    }
    let mut lab = Lab::new();
    let (c, d) = (lab.ns("C"), lab.ns("D"));
    let _second = add_second_client(&mut lab);
    let c2 = lab.ns("E");

    let mut device = Device::start(&lab, CONFIG);

    // The client leases through the table (DHCP is open to captive clients), with the
    // device as its gateway.
    let script = lab.script(
        "dhclient",
        r#"case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    ip route replace default via "$new_routers" ;;
  RELEASE|EXPIRE|STOP) [ -n "$old_ip_address" ] && ip addr del "$old_ip_address/$old_subnet_mask" dev "$interface" ;;
esac
echo "reason=$reason ip=$new_ip_address" >> LOG"#,
    );
    let (pf, lf) = (lab.p("dhclient.pid"), lab.p("dhclient.leases"));
    let dhclient = [
        "dhclient", "-4", "-d", "-v", "-sf", &script, "-pf", &pf, "-lf", &lf, "c0",
    ];
    lab.spawn("C", "dhclient.out", &dhclient);
    wait_until("a lease", Duration::from_secs(15), || {
        lab.read("dhclient.log").contains("reason=BOUND")
    });
    let ip_c = lab
        .read("dhclient.log")
        .lines()
        .find(|l| l.starts_with("reason=BOUND"))
        .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("ip=")))
        .filter(|ip| !ip.is_empty())
        .expect("the bound address")
        .to_string();

    // Captive: any HTTP to the portal with the original URL; HTTPS fails at once; the probe
    // does not answer 204.
    assert_eq!(
        status_in(&c, "http://example.test/page?a=1"),
        "302 http://10.1.1.1/portal/?userurl=http%3A%2F%2Fexample.test%2Fpage%3Fa%3D1"
    );
    let https = curl(&c, &["-k", "https://example.test/"]);
    assert!(
        https.code != 0 && https.took < Duration::from_secs(1),
        "{:?}",
        https.took
    );
    assert!(status_in(&c, "http://connectivitycheck.gstatic.com/generate_204").starts_with("302 "));

    // Bad password: logonFail, still captive.
    assert!(logon(&c, "guest", "wrong").contains("Log on failed"));
    assert!(captive(&c));
    // Good password: logonSuccess, the marker and the 204 come through.
    let ok = logon(&c, "guest", "Guest#2026");
    assert!(
        ok.contains("You are logged on"),
        "{ok}\n{}",
        lab.read("duet.out")
    );
    assert!(through(&c));
    assert_eq!(
        status_in(&c, "http://connectivitycheck.gstatic.com/generate_204"),
        "204 "
    );
    let users = device.run(&lab, &["display portal user all"]);
    assert!(users.contains("guest") && users.contains(&ip_c), "{users}");

    // Logoff: captive again.
    let off = curl(
        &c,
        &["-d", "PtButton=Logoff", "http://10.1.1.1/portal/logon.cgi"],
    )
    .out;
    assert!(off.contains("You are logged off"), "{off}");
    // The element goes right after the logout; allow its nft batch a moment.
    wait_until("captive after logoff", Duration::from_secs(5), || {
        captive(&c)
    });

    // access-limit 1: guest in from C, then refused from C2; roamer gets in from C2.
    assert!(logon(&c, "guest", "Guest#2026").contains("You are logged on"));
    assert!(logon(&c2, "guest", "Guest#2026").contains("Log on failed"));
    assert!(captive(&c2));
    assert!(logon(&c2, "roamer", "Roam#2026").contains("You are logged on"));
    assert!(through(&c2));

    // portal delete-user: C2's user is out, C's stays.
    device.run(&lab, &["system-view", "portal delete-user 10.1.2.2"]);
    wait_until("captive after delete-user", Duration::from_secs(5), || {
        captive(&c2)
    });
    assert!(through(&c));

    // max-user 1 on the device: C is in, so C2 is refused.
    device.run(&lab, &["system-view", "portal max-user 1"]);
    assert!(logon(&c2, "roamer", "Roam#2026").contains("Log on failed"));
    device.run(&lab, &["system-view", "undo portal max-user"]);

    // The client's DHCP release logs it out.
    let release = [
        "dhclient", "-4", "-r", "-sf", &script, "-pf", &pf, "-lf", &lf, "c0",
    ];
    let out = Command::new("ip")
        .args(["netns", "exec", &c])
        .args(release)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let released = Instant::now();
    while device
        .run(&lab, &["display portal user all"])
        .contains(&ip_c)
    {
        assert!(
            released.elapsed() < Duration::from_secs(20),
            "the release did not log the user out:\n{}\nduet:\n{}\ndhclient:\n{}",
            device.run(
                &lab,
                &["display portal user all", "display dhcp server ip-in-use"]
            ),
            lab.read("duet.out"),
            lab.read("dhclient.out")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Each way out and each refusal was logged with its cause.
    let log = device.run(&lab, &["display logbuffer"]);
    for cause in [
        "PORTAL_USER_LOGONFAILED: -UserName=guest-IPAddr=10.1.1.",
        "Reason=User request; User logged off.",
        "Reason=The user's access limit is reached.",
        "Reason=Deleted by administrator; User logged off.",
        "Reason=The device's maximum number of users is reached.",
        "Reason=DHCP lease released or expired; User logged off.",
    ] {
        assert!(log.contains(cause), "no {cause:?} in:\n{log}");
    }

    // Stopped, Duet leaves no table behind.
    assert!(nft_in(&d, &["list", "tables"]).contains("duet_"));
    device.stop();
    assert!(
        !nft_in(&d, &["list", "tables"]).contains("duet_"),
        "{}",
        nft_in(&d, &["list", "ruleset"])
    );
}

/// The second client, namespace E on GE1/0/3 (d2), 10.1.2.2 by hand; its resolv.conf goes
/// with the returned guard.
fn add_second_client(lab: &mut Lab) -> DirGuard {
    let (c2, d) = (lab.ns("E"), lab.ns("D"));
    lab.add_namespace("E");
    veth(&d, "d2", &c2, "c0");
    ip(&["-n", &c2, "addr", "add", "10.1.2.2/24", "dev", "c0"]);
    ip(&["-n", &c2, "link", "set", "c0", "up"]);
    ip(&["-n", &c2, "route", "add", "default", "via", "10.1.2.1"]);
    DirGuard(private_resolv_conf(&c2, "nameserver 10.2.0.2\n"))
}

/// Removes a directory on drop.
struct DirGuard(PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Idle-cut and the session limit, whose shortest settings are a minute each: the test takes
/// about 80 s, so it runs only with `DUET_PORTAL_TIMERS=1` (the user table's timers are also
/// covered with a clock passed in by the portal core's tests).
#[test]
fn duet_portal_timers_log_users_out() {
    if std::env::var("DUET_PORTAL_TIMERS").as_deref() != Ok("1") {
        eprintln!(
            "skipping duet_portal_timers_log_users_out: set DUET_PORTAL_TIMERS=1 (about 80 s)"
        );
        return;
    }
    if !lab_or_skip("duet_portal_timers_log_users_out", TOOLS) {
        return;
    }
    let config = CONFIG.replace(
        "local-user roamer class network\n password simple Roam#2026\n service-type portal\n",
        "local-user roamer class network\n password simple Roam#2026\n service-type portal\n \
         authorization-attribute idle-cut 1\n#\nlocal-user timed class network\n \
         password simple Timed#2026\n service-type portal\n authorization-attribute session-timeout 1\n",
    );
    let mut lab = Lab::new();
    let _second = add_second_client(&mut lab);
    let device = Device::start(&lab, &config);
    let (c, c2) = (lab.ns("C"), lab.ns("E"));
    ip(&["-n", &c, "addr", "add", "10.1.1.2/24", "dev", "c0"]);
    ip(&["-n", &c, "route", "add", "default", "via", "10.1.1.1"]);
    let started = Instant::now();
    let timed = logon(&c, "timed", "Timed#2026");
    assert!(
        timed.contains("Time left in this session: 1 min."),
        "{timed}"
    );
    assert!(logon(&c2, "roamer", "Roam#2026").contains("You are logged on"));
    // C keeps busy (so only its session limit can log it out); E stays silent.
    let deadline = Instant::now() + Duration::from_secs(150);
    let log = loop {
        let log = device.run(&lab, &["display logbuffer"]);
        if log.contains("Reason=Idle cut") && log.contains("Reason=Session timeout") {
            break log;
        }
        assert!(
            Instant::now() < deadline,
            "no idle-cut and session timeout:\n{log}"
        );
        let _ = curl(&c, &["http://example.test/"]);
        std::thread::sleep(Duration::from_secs(2));
    };
    eprintln!("both logged out {:?} after logon", started.elapsed());
    assert!(log.contains("-UserName=timed-IPAddr=10.1.1.2-"), "{log}");
    assert!(captive(&c) && captive(&c2));
}
