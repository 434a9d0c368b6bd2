//! The engine with a recording firewall, on tokio, through the gate the web server uses: a
//! login is answered after its journal flush and its firewall element; the users survive a
//! restart (the firewall is loaded with them); a DHCP release logs out;
//! wrong passwords lock the source out; a stop removes the table.

use std::sync::Mutex;

use super::*;
use crate::aaa::network::NetworkUser;
use crate::dhcp::lease::ClientKey;

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 50);
const MAC: [u8; 6] = [0, 0x0d, 0x88, 0xf8, 0x0e, 0xab];

/// Every firewall call, as text.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    fn calls(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn push(&self, s: String) -> BoxFuture<'static, std::io::Result<()>> {
        self.0.lock().unwrap().push(s);
        Box::pin(async { Ok(()) })
    }
}

impl Firewall for Recorder {
    fn load<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, std::io::Result<()>> {
        let users: Vec<String> = plan.authorized.iter().map(|c| c.ip.to_string()).collect();
        self.push(format!(
            "load {} web {}:{} users [{}]",
            plan.ports[0].linux_name,
            plan.web_server.0,
            plan.web_server.1,
            users.join(" ")
        ))
    }
    fn allow(&self, c: Client) -> BoxFuture<'_, std::io::Result<()>> {
        self.push(format!("allow {}", c.ip))
    }
    fn revoke(&self, c: Client) -> BoxFuture<'_, std::io::Result<()>> {
        self.push(format!("revoke {}", c.ip))
    }
    fn active(&self) -> BoxFuture<'_, std::io::Result<Vec<Ipv4Addr>>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn remove(&self) -> BoxFuture<'_, std::io::Result<()>> {
        self.push("remove".into())
    }
}

fn config() -> Config {
    let port: IfName = "ge1/0/1".parse().unwrap();
    let mut cfg = Config::new(std::slice::from_ref(&port));
    let i = cfg.interfaces.get_mut(&port).unwrap();
    i.address = Some((Ipv4Addr::new(10, 1, 1, 1), 24));
    i.portal.enabled = true;
    cfg.network_users.insert(
        "guest".into(),
        NetworkUser {
            password: Some(crate::aaa::password::hash("Guest#2026").unwrap()),
            portal: true,
            ..NetworkUser::default()
        },
    );
    cfg
}

struct Bed {
    handle: PortalHandle,
    firewall: Recorder,
    leases: tokio::sync::broadcast::Sender<LeaseEvent>,
    _config: watch::Sender<Arc<Config>>,
    _status: watch::Sender<Arc<IfStatus>>,
    task: tokio::task::JoinHandle<()>,
}

fn start(dir: &Path, cfg: &Config) -> Bed {
    let (journal, recovered) = Journal::open(dir).unwrap();
    let firewall = Recorder::default();
    let (config_tx, config) = watch::channel(Arc::new(cfg.clone()));
    let (status_tx, if_status) = watch::channel(Arc::new(IfStatus::new()));
    let (leases, lease_rx) = tokio::sync::broadcast::channel(16);
    let port: IfName = "ge1/0/1".parse().unwrap();
    let (engine, handle, inbox) = assemble(Parts {
        journal,
        users: recovered.users,
        config,
        if_status,
        leases: Some(lease_rx),
        firewall: Box::new(firewall.clone()),
        linux_ports: BTreeMap::from([(port, "lan0".to_string())]),
        linux: false,
        pages_dir: None,
    });
    write(&engine.shared.macs).insert(CLIENT, MAC);
    let task = tokio::spawn(engine.run(inbox));
    Bed {
        handle,
        firewall,
        leases,
        _config: config_tx,
        _status: status_tx,
        task,
    }
}

/// Wait (bounded) until `f` holds.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn login_is_durable_and_allowed_before_it_is_answered_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config();
    let bed = start(dir.path(), &cfg);
    let gate = bed.handle.gate();
    let answer = gate
        .logon(CLIENT, "guest".into(), "Guest#2026".into())
        .await;
    assert_eq!(
        answer,
        Logon::Success(Online {
            username: "guest".into(),
            seconds_remaining: None
        })
    );
    // Answered: the element is in, and the journal holds the login.
    assert_eq!(
        bed.firewall.calls(),
        ["load lan0 web 10.1.1.1:80 users []", "allow 10.1.1.50"]
    );
    let (_, on_disk) = Journal::open(dir.path()).unwrap();
    assert_eq!(on_disk.users.len(), 1);
    assert_eq!(gate.online(CLIENT).unwrap().username, "guest");
    // kill -9: the task dies without a word; the journal brings the user back, and the
    // firewall is loaded with it.
    bed.task.abort();
    let _ = bed.task.await;
    let bed = start(dir.path(), &cfg);
    until("the reload", || !bed.firewall.calls().is_empty()).await;
    assert_eq!(
        bed.firewall.calls(),
        ["load lan0 web 10.1.1.1:80 users [10.1.1.50]"]
    );
    assert_eq!(bed.handle.gate().online(CLIENT).unwrap().username, "guest");
}

#[tokio::test]
async fn a_dhcp_release_logs_out_and_forgets_the_mac() {
    let dir = tempfile::tempdir().unwrap();
    let bed = start(dir.path(), &config());
    let gate = bed.handle.gate();
    let ok = gate
        .logon(CLIENT, "guest".into(), "Guest#2026".into())
        .await;
    assert!(matches!(ok, Logon::Success(_)));
    bed.leases
        .send(LeaseEvent {
            seq: 1,
            origin: crate::dhcp::Origin::Local,
            change: LeaseChange::Upsert(crate::dhcp::LeaseRecord {
                ip: CLIENT,
                state: LeaseState::Released,
                client: ClientKey::Hw(MAC.to_vec().into()),
                chaddr: MAC.to_vec().into(),
                expires: 0,
                updated: 0,
                relay_info: None,
                hostname: None,
                is_static: false,
            }),
            new_binding: false,
        })
        .unwrap();
    until("the release", || {
        bed.firewall
            .calls()
            .contains(&"revoke 10.1.1.50".to_string())
    })
    .await;
    assert!(gate.online(CLIENT).is_none());
    // The MAC went with the lease: a login now cannot tell the client apart.
    assert!(matches!(
        gate.logon(CLIENT, "guest".into(), "Guest#2026".into())
            .await,
        Logon::Failed(_)
    ));
    let handle = bed.handle.clone();
    let stats = tokio::task::spawn_blocking(move || {
        handle
            .query(|t, _| t.stats().logouts.get(&Cause::DhcpRelease).copied())
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(stats, Some(1));
}

#[tokio::test]
async fn wrong_passwords_lock_the_source_out_and_a_stop_removes_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let bed = start(dir.path(), &config());
    let gate = bed.handle.gate();
    for _ in 0..5 {
        let Logon::Failed(text) = gate.logon(CLIENT, "guest".into(), "nope".into()).await else {
            panic!("a wrong password passed");
        };
        assert_eq!(text, "The user name or password is incorrect.");
    }
    let Logon::Failed(text) = gate
        .logon(CLIENT, "guest".into(), "Guest#2026".into())
        .await
    else {
        panic!("a locked-out source logged in");
    };
    assert!(text.starts_with("Too many failed logins"), "{text}");
    bed.handle.stop().await;
    assert_eq!(
        bed.firewall.calls().last().map(String::as_str),
        Some("remove")
    );
    bed.task.await.unwrap();
}

#[tokio::test]
async fn the_interface_going_down_and_undo_portal_enable_log_out() {
    use crate::interface::status::PortStatus;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config();
    let bed = start(dir.path(), &cfg);
    let gate = bed.handle.gate();
    let port: IfName = "ge1/0/1".parse().unwrap();
    let status = |up: bool| {
        Arc::new(IfStatus::from([(
            port.clone(),
            PortStatus {
                admin_up: true,
                link_up: up,
                ..PortStatus::default()
            },
        )]))
    };
    bed._status.send_replace(status(true));
    assert!(matches!(
        gate.logon(CLIENT, "guest".into(), "Guest#2026".into())
            .await,
        Logon::Success(_)
    ));
    bed._status.send_replace(status(false));
    until("the interface-down logout", || {
        gate.online(CLIENT).is_none()
    })
    .await;
    // Up again, log in again, then the interface leaves the portal.
    bed._status.send_replace(status(true));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        gate.logon(CLIENT, "guest".into(), "Guest#2026".into())
            .await,
        Logon::Success(_)
    ));
    let mut off = cfg.clone();
    off.interfaces.get_mut(&port).unwrap().portal.enabled = false;
    bed._config.send_replace(Arc::new(off));
    until("the configuration logout", || gate.online(CLIENT).is_none()).await;
    let handle = bed.handle.clone();
    let logouts = tokio::task::spawn_blocking(move || {
        handle.query(|t, _| t.stats().logouts.clone()).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(logouts.get(&Cause::InterfaceDown), Some(&1));
    assert_eq!(logouts.get(&Cause::ConfigChange), Some(&1));
    // Leaving the portal also removed the firewall table.
    assert_eq!(
        bed.firewall.calls().last().map(String::as_str),
        Some("remove")
    );
}
