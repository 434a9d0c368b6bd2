//! `display current-configuration` re-parses to the same configuration: for every configuration
//! a device can reach, loading its rendered text into a new device gives that configuration back.
//!
//! When a feature adds to `Config`, extend `config_strategy` so the property covers it.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use duet::aaa::network::{Domain, DomainsConfig, NetworkUser};
use duet::aaa::{AuthMode, LineConfig, LocalUser, SshServerConfig, VTY_LINES};
use duet::device::{Device, DeviceOptions, NetKind};
use duet::dhcp::config::{
    BindingClient, DhcpConfig, IpRange, LeaseDuration, MAX_LEASE_SECS, NetbiosType, Network,
    PoolConfig, RawOptionValue, StaticBinding,
};
use duet::features::Config;
use duet::hotbackup::Mode;
use duet::hotbackup::settings::{HotBackupConfig, PeerConfig, TrackVrrp};
use duet::interface::config::{InterfaceConfig, InterfaceDhcp};
use duet::interface::name::IfName;
use duet::portal::config::{
    Detect, DetectKind, InterfacePortal, LocalWebServer, PortalConfig, WebServer,
};
use duet::portal::firewall::{FreeRule, Transport};
use duet::portal::web::UrlParam;
use duet::route::RouteConfig;
use duet::route::config::{StaticKey, StaticRoute};
use duet::session::Role;
use duet::session::load::load_text;
use duet::system::clock::TimeZone;
use duet::track::{TrackConfig, TrackObject};
use duet::vrrp::Version;
use duet::vrrp::config::{GroupConfig, InterfaceVrrp, TrackAction, TrackedEntry, TrackedInterface};
use proptest::prelude::*;

fn sim_device() -> Arc<Device> {
    Device::new(DeviceOptions {
        data_dir: PathBuf::from("/nonexistent-roundtrip"),
        net: NetKind::Sim,
    })
}

/// Names Comware accepts: 1-64 printable characters without spaces.
fn sysname() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.:<>()\\[\\]-]{1,64}"
}

/// Description text: printable, may hold inner spaces, not starting or ending with one.
fn description() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,80}[!-~])?"
}

/// One VRRP group (a group exists while it has a virtual IP) with virtual IPs in 172.16.<index>.0/24 (unique per port), any reachable
/// setting, and tracking of some of the device's ports.
fn group(
    index: u8,
    vrid: u8,
    version: Version,
    ports: Vec<IfName>,
) -> impl Strategy<Value = GroupConfig> {
    let vips = proptest::collection::btree_set(1u8..=254, 1..=3);
    let tracks = proptest::collection::btree_map(0..ports.len(), 1u8..=255, 0..=2);
    // Track entries (existing or not) with a reduction or switchover.
    let entries =
        proptest::collection::btree_map(1u16..=1024, proptest::option::of(1u8..=255), 0..=2);
    (
        vips,
        1u8..=254,
        proptest::option::of(0u32..=180_000),
        1u16..=4095,
        proptest::option::of("[!-~]{1,8}"),
        (tracks, entries),
        any::<bool>(),
    )
        .prop_map(
            move |(vips, priority, preempt, interval, key, (tracks, entries), shutdown)| {
                GroupConfig {
                    vrid,
                    // Distinct across the groups of a port: the host part carries the VRID.
                    virtual_ips: vips
                        .into_iter()
                        .map(|h| Ipv4Addr::new(172, 16 + index, vrid, h))
                        .collect(),
                    priority,
                    preempt: preempt.is_some(),
                    preempt_delay_cs: preempt.unwrap_or(0),
                    advertise_interval_cs: interval,
                    version,
                    simple_key: key,
                    tracks: tracks
                        .into_iter()
                        .map(|(p, reduced)| TrackedInterface {
                            interface: ports[p].clone(),
                            reduced,
                        })
                        .collect(),
                    track_entries: entries
                        .into_iter()
                        .map(|(entry, reduced)| TrackedEntry {
                            entry,
                            action: reduced.map_or(TrackAction::Switchover, TrackAction::Reduce),
                        })
                        .collect(),
                    shutdown,
                }
            },
        )
}

/// Track entries on the device's ports.
fn track_strategy(ports: Vec<IfName>) -> impl Strategy<Value = TrackConfig> {
    proptest::collection::btree_map(1u16..=1024, (0..ports.len(), any::<bool>()), 0..=3).prop_map(
        move |entries| TrackConfig {
            entries: entries
                .into_iter()
                .map(|(n, (p, physical))| {
                    (
                        n,
                        TrackObject::Interface {
                            interface: ports[p].clone(),
                            physical,
                        },
                    )
                })
                .collect(),
        },
    )
}

/// The VRRP part of an interface: its version and up to three groups.
fn vrrp(index: u8, ports: Vec<IfName>) -> impl Strategy<Value = InterfaceVrrp> {
    (
        prop_oneof![Just(Version::V2), Just(Version::V3)],
        proptest::collection::btree_set(1u8..=255, 0..=3),
    )
        .prop_flat_map(move |(version, vrids)| {
            let groups: Vec<_> = vrids
                .into_iter()
                .map(|v| group(index, v, version, ports.clone()))
                .collect();
            groups.prop_map(move |groups| InterfaceVrrp {
                version,
                groups: groups.into_iter().map(|g| (g.vrid, g)).collect(),
            })
        })
}

/// One interface; `index` keeps each port's subnet apart (overlaps are rejected, rightly).
fn interface(index: u8, ports: Vec<IfName>) -> impl Strategy<Value = InterfaceConfig> {
    let address = (1u8..=30, any::<u32>()).prop_map(move |(len, host_bits)| {
        // A subnet inside 10.<index>.0.0/16 for prefixes >= 16, else one of its own /8.
        let len = len.max(16);
        let base = u32::from(Ipv4Addr::new(10, index, 0, 0));
        let host_mask = (1u32 << (32 - len)) - 1;
        // Not the network or broadcast address.
        let host = (host_bits & host_mask).clamp(1, host_mask - 1);
        (Ipv4Addr::from(base | host), len)
    });
    let dhcp = (any::<bool>(), proptest::option::of(pool_name())).prop_map(
        |(select_server, apply_pool)| InterfaceDhcp {
            select_server,
            apply_pool,
        },
    );
    // Secondary addresses in 192.168.<index>.0/24 and 192.169.<index>.0/24, beside a primary.
    let secondary = (any::<bool>(), any::<bool>()).prop_map(move |(a, b)| {
        let mut subs = Vec::new();
        if a {
            subs.push((Ipv4Addr::new(192, 168, index, 1), 24));
        }
        if b {
            subs.push((Ipv4Addr::new(192, 169, index, 9), 25));
        }
        subs
    });
    (
        proptest::option::of(description()),
        any::<bool>(),
        proptest::option::of(address),
        secondary,
        vrrp(index, ports),
        dhcp,
        interface_portal(),
    )
        .prop_map(
            |(description, shutdown, address, secondary, vrrp, dhcp, portal)| InterfaceConfig {
                description,
                shutdown,
                // Secondaries only beside a primary (the handler's invariant).
                secondary: if address.is_some() {
                    secondary
                } else {
                    Vec::new()
                },
                address,
                vrrp,
                dhcp,
                portal,
            },
        )
}

/// The portal lines of an interface: any reachable combination.
fn interface_portal() -> impl Strategy<Value = InterfacePortal> {
    let detect = (any::<bool>(), 1u32..=10, 1u32..=1200, 60u32..=3600).prop_map(
        |(icmp, retry, interval_secs, idle_secs)| Detect {
            kind: if icmp {
                DetectKind::Icmp
            } else {
                DetectKind::Arp
            },
            retry,
            interval_secs,
            idle_secs,
        },
    );
    (
        any::<bool>(),
        proptest::option::of("[a-z][a-z0-9.-]{0,12}"),
        proptest::option::of("[a-z][a-z0-9_]{0,12}"),
        proptest::option::of(detect),
        proptest::option::of(1u32..=100_000),
    )
        .prop_map(
            |(enabled, domain, web_server, detect, max_users)| InterfacePortal {
                enabled,
                domain,
                web_server,
                detect,
                max_users,
            },
        )
}

/// `portal ...` in system view and the portal views.
fn portal_strategy() -> impl Strategy<Value = PortalConfig> {
    let param = prop_oneof![
        Just(UrlParam::OriginalUrl),
        Just(UrlParam::SourceAddress),
        Just(UrlParam::SourceMac)
    ];
    let web_server = (
        proptest::option::of("http://10\\.[0-9]{1,3}\\.1\\.1(:[0-9]{2,4})?/portal/"),
        proptest::collection::btree_map("[a-z][a-z0-9_]{0,10}", param, 0..3),
    )
        .prop_map(|(url, params)| WebServer {
            url,
            url_parameters: params.into_iter().collect(),
        });
    let transport = prop_oneof![Just(Transport::Tcp), Just(Transport::Udp)];
    let rule = prop_oneof![
        (
            proptest::option::of((any::<u32>(), 0u8..=32)),
            proptest::option::of((transport, any::<u16>()))
        )
            .prop_map(|(net, port)| FreeRule::Destination {
                // The handler keeps the network address of the prefix.
                net: net.map(|(ip, len)| {
                    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                    (Ipv4Addr::from(ip & mask), len)
                }),
                port,
            }),
        any::<[u8; 6]>().prop_map(FreeRule::SourceMac),
    ];
    (
        proptest::option::of(1u16..=65535),
        proptest::collection::btree_map("[a-z][a-z0-9_]{0,12}", web_server, 0..3),
        proptest::collection::btree_map(0u32..=4_294_967_294, rule, 0..4),
        proptest::option::of(1u32..=100_000),
    )
        .prop_map(|(local, web_servers, free_rules, max_users)| PortalConfig {
            local_web_server: local.map(|tcp_port| LocalWebServer { tcp_port }),
            web_servers,
            free_rules,
            max_users,
        })
}

fn network_users() -> impl Strategy<Value = std::collections::BTreeMap<String, NetworkUser>> {
    let user = (
        proptest::option::of(0usize..2),
        any::<bool>(),
        proptest::option::of(1u32..=2_147_483_646),
        proptest::option::of(1u32..=120),
        proptest::option::of(1u32..=525_600),
    )
        .prop_map(
            |(password, portal, access_limit, idle_cut_minutes, session_timeout_minutes)| {
                NetworkUser {
                    password: password.map(|i| hashes()[i].clone()),
                    portal,
                    access_limit,
                    idle_cut_minutes,
                    session_timeout_minutes,
                }
            },
        );
    proptest::collection::btree_map("[a-z][a-z0-9_.-]{3,20}", user, 0..3)
}

fn domains() -> impl Strategy<Value = DomainsConfig> {
    (
        any::<bool>(),
        proptest::collection::btree_map("[a-z][a-z0-9.-]{0,12}", any::<bool>(), 0..3),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(system_local, extra, pick)| {
            let mut d = DomainsConfig::default();
            d.domains.get_mut("system").unwrap().portal_local = system_local;
            for (name, portal_local) in extra {
                // `domain d` would be the keyword `default`.
                if "default".starts_with(&name) {
                    continue;
                }
                d.domains.insert(name, Domain { portal_local });
            }
            let names: Vec<String> = d.domains.keys().cloned().collect();
            d.default = names[pick.index(names.len())].clone();
            d
        })
}

fn timezone() -> impl Strategy<Value = TimeZone> {
    ("[A-Za-z][A-Za-z0-9+_-]{0,31}", -86399i32..=86399)
        .prop_map(|(name, offset_secs)| TimeZone { name, offset_secs })
}

fn pool_name() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_.-]{0,14}"
}

/// Distinct addresses from `pick`, in first-seen order.
fn distinct(ips: Vec<Ipv4Addr>) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    for ip in ips {
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

fn host_in(index: u8) -> impl Strategy<Value = Ipv4Addr> {
    (1u8..=254).prop_map(move |h| Ipv4Addr::new(172, 16, index, h))
}

fn any_ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn option_value() -> impl Strategy<Value = RawOptionValue> {
    prop_oneof![
        "[A-Za-z0-9._-]{1,20}".prop_map(RawOptionValue::Ascii),
        proptest::collection::vec(any::<u8>(), 1..12).prop_map(RawOptionValue::Hex),
        proptest::collection::vec(any_ip(), 1..=3).prop_map(RawOptionValue::IpAddress),
    ]
}

/// A pool on 172.16.`index`.0/24 (pools may not share a network).
fn pool(index: u8) -> impl Strategy<Value = PoolConfig> {
    let lease = prop_oneof![
        (1u32..=MAX_LEASE_SECS).prop_map(LeaseDuration::Seconds),
        Just(LeaseDuration::Unlimited),
    ];
    let statics = proptest::collection::vec(
        (
            host_in(index),
            proptest::option::of(24u8..=32),
            prop_oneof![
                any::<[u8; 6]>().prop_map(BindingClient::HardwareAddress),
                proptest::collection::vec(any::<u8>(), 2..10)
                    .prop_map(BindingClient::ClientIdentifier),
            ],
        ),
        0..3,
    )
    .prop_map(|v| {
        let mut out: Vec<StaticBinding> = Vec::new();
        for (ip, prefix_len, client) in v {
            if out.iter().all(|b| b.ip != ip && b.client != client) {
                out.push(StaticBinding {
                    ip,
                    prefix_len,
                    client,
                });
            }
        }
        out
    });
    let options = proptest::collection::btree_map(
        prop::sample::select(vec![3u8, 6, 15, 42, 43, 66, 150]),
        option_value(),
        0..3,
    );
    let range = proptest::option::of((host_in(index), host_in(index)).prop_map(|(a, b)| IpRange {
        start: a.min(b),
        end: a.max(b),
    }));
    // The boot and NetBIOS settings (next-server, bootfile-name, tftp-server, nbns-list,
    // netbios-type).
    let boot = (
        proptest::option::of(any_ip()),
        proptest::option::of("[A-Za-z0-9./_-]{1,63}"),
        proptest::option::of(any_ip()),
        proptest::option::of("[a-z0-9.-]{1,63}"),
        proptest::collection::vec(any_ip(), 0..9),
        proptest::option::of(prop::sample::select(vec![
            NetbiosType::BNode,
            NetbiosType::PNode,
            NetbiosType::MNode,
            NetbiosType::HNode,
        ])),
    );
    (
        any::<bool>(),
        range,
        proptest::collection::vec(any_ip(), 0..4),
        proptest::collection::vec(any_ip(), 0..4),
        proptest::option::of("[a-z0-9.-]{1,30}"),
        lease,
        proptest::collection::vec(host_in(index), 0..10),
        statics,
        options,
        boot,
    )
        .prop_map(
            move |(
                has_net,
                range,
                gw,
                dns,
                domain_name,
                lease,
                forbidden,
                statics,
                options,
                (next_server, bootfile_name, tftp_server_ip, tftp_server_name, nbns, netbios_type),
            )| {
                PoolConfig {
                    network: has_net.then_some(Network {
                        address: Ipv4Addr::new(172, 16, index, 0),
                        prefix_len: 24,
                    }),
                    range: if has_net { range } else { None },
                    gateways: distinct(gw),
                    dns: distinct(dns),
                    domain_name,
                    lease,
                    forbidden: distinct(forbidden),
                    static_bindings: statics,
                    options,
                    next_server,
                    bootfile_name,
                    tftp_server_ip,
                    tftp_server_name,
                    nbns: distinct(nbns),
                    netbios_type,
                }
            },
        )
}

fn dhcp_strategy() -> impl Strategy<Value = DhcpConfig> {
    let forbidden = proptest::collection::vec(
        (any::<u32>(), 0u32..16).prop_map(|(a, n)| {
            let a = a.min(u32::MAX - 16);
            IpRange {
                start: a.into(),
                end: (a + n).into(),
            }
        }),
        0..3,
    );
    let pools = proptest::collection::vec((pool_name(), 0u8..=255), 0..4).prop_flat_map(|named| {
        let mut names: Vec<String> = Vec::new();
        for (n, _) in named {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let strategies: Vec<_> = (0..names.len()).map(|i| pool(i as u8)).collect();
        (Just(names), strategies)
    });
    // The conflict recycle interval: the default (1 day, not rendered) or any allowed value.
    let recycle = prop_oneof![
        Just(duet::dhcp::config::DEFAULT_CONFLICT_RECYCLE_SECS),
        1..=MAX_LEASE_SECS
    ];
    (
        any::<bool>(),
        any::<bool>(),
        forbidden,
        pools,
        recycle,
        any::<bool>(),
        // `dhcp server ping packets` and `timeout`: the defaults (not rendered) or any value.
        (
            prop_oneof![Just(0u8), 0..=duet::dhcp::config::MAX_PING_PACKETS],
            prop_oneof![
                Just(duet::dhcp::config::DEFAULT_PING_TIMEOUT_MS),
                1..=duet::dhcp::config::MAX_PING_TIMEOUT_MS
            ],
        ),
    )
        .prop_map(
            |(
                enabled,
                relay_information,
                forbidden,
                (names, pools),
                conflict_recycle_secs,
                always_broadcast,
                (ping_packets, ping_timeout_ms),
            )| {
                let mut f: Vec<IpRange> = Vec::new();
                for r in forbidden {
                    if !f.contains(&r) {
                        f.push(r);
                    }
                }
                DhcpConfig {
                    enabled,
                    relay_information,
                    forbidden: f,
                    pools: names.into_iter().zip(pools).collect(),
                    conflict_recycle_secs,
                    always_broadcast,
                    ping_packets,
                    ping_timeout_ms,
                }
            },
        )
}

/// Two real argon2id hashes (hashing is slow: computed once) and a public key.
fn hashes() -> Vec<String> {
    static HASHES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    HASHES
        .get_or_init(|| {
            ["first", "second"]
                .iter()
                .map(|p| duet::aaa::password::hash(p).expect("hash"))
                .collect()
        })
        .clone()
}

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM/7LMFoG8lWXdvsSttO6L4hS1Ek5uAE3tdk+YYurKFh";

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::NetworkAdmin), Just(Role::NetworkOperator)]
}

fn line() -> impl Strategy<Value = LineConfig> {
    let auth = prop_oneof![
        Just(AuthMode::None),
        Just(AuthMode::Password),
        Just(AuthMode::Scheme)
    ];
    (auth, proptest::option::of(0usize..2), role(), 0u32..=3700).prop_map(
        |(auth, password, role, idle_secs)| LineConfig {
            auth,
            password: password.map(|i| hashes()[i].clone()),
            role,
            idle_secs,
        },
    )
}

/// The 64 vty lines: mostly runs of a few distinct settings, as real configurations have.
fn vty_lines() -> impl Strategy<Value = Vec<LineConfig>> {
    (
        proptest::collection::vec(line(), 1..4),
        proptest::collection::vec(0usize..5, VTY_LINES),
    )
        .prop_map(|(choices, picks)| {
            picks
                .into_iter()
                .map(|p| {
                    choices
                        .get(p)
                        .cloned()
                        .unwrap_or_else(LineConfig::vty_default)
                })
                .collect()
        })
}

fn user() -> impl Strategy<Value = LocalUser> {
    (
        proptest::option::of(0usize..2),
        any::<bool>(),
        any::<bool>(),
        role(),
        any::<bool>(),
    )
        .prop_map(|(password, ssh, terminal, role, key)| LocalUser {
            password: password.map(|i| hashes()[i].clone()),
            ssh,
            terminal,
            role,
            keys: if key {
                vec![KEY.to_string()]
            } else {
                Vec::new()
            },
        })
}

fn users() -> impl Strategy<Value = std::collections::BTreeMap<String, LocalUser>> {
    proptest::collection::btree_map("[a-z][a-z0-9_.-]{3,20}", user(), 0..4)
}

fn ssh() -> impl Strategy<Value = SshServerConfig> {
    (any::<bool>(), 1u16..=65535, 1u32..=86400, 1u32..=120).prop_map(
        |(enabled, port, lockout_secs, auth_timeout_secs)| SshServerConfig {
            enabled,
            port,
            lockout_secs,
            auth_timeout_secs,
        },
    )
}

/// The `hot-backup` view: any reachable combination of its settings.
fn hotbackup_strategy(ports: Vec<IfName>) -> impl Strategy<Value = HotBackupConfig> {
    let peer = proptest::option::of((any::<[u8; 4]>(), any::<[u8; 4]>(), 1u16..=65535).prop_map(
        |(a, b, port)| {
            // Unicast and different: first octets 1-223 except 127, last octets told apart.
            let fix = |mut o: [u8; 4], last: u8| {
                o[0] = 1 + o[0] % 126;
                o[3] = last;
                Ipv4Addr::from(o)
            };
            PeerConfig {
                peer: fix(a, 1),
                source: fix(b, 2),
                port,
            }
        },
    ));
    let key = proptest::option::of("[!-~]{1,63}");
    let track =
        proptest::option::of(
            (1u8..=255, 0..ports.len()).prop_map(move |(vrid, i)| TrackVrrp {
                vrid,
                interface: ports[i].clone(),
            }),
        );
    (
        peer,
        (1u32..=10, 1u32..=20),
        key,
        track,
        any::<bool>(),
        proptest::option::of(1u32..=86_400),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                peer,
                (keepalive_secs, retransmit),
                key,
                track,
                asynchronous,
                partner_down_secs,
                enabled,
                dhcp,
            )| {
                HotBackupConfig {
                    peer,
                    keepalive_secs,
                    retransmit,
                    key,
                    track,
                    mode: if asynchronous {
                        Mode::Asynchronous
                    } else {
                        Mode::Synchronous
                    },
                    partner_down_secs,
                    enabled,
                    dhcp,
                }
            },
        )
}

/// Static routes: any unicast destination and length (the key holds the network address, as
/// the handler stores it), next hops that are no port's address, any preference.
fn routes() -> impl Strategy<Value = RouteConfig> {
    let key =
        (0u32..0xe000_0000, 0u8..=32, 0u8..=255, 1u8..=254).prop_map(|(dest, len, third, host)| {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            StaticKey {
                dest: Ipv4Addr::from(dest & mask),
                len,
                next_hop: Ipv4Addr::new(192, 168, third, host),
            }
        });
    let route = (1u8..=255).prop_map(|preference| StaticRoute { preference });
    proptest::collection::btree_map(key, route, 0..6).prop_map(|statics| RouteConfig { statics })
}

fn config_strategy() -> impl Strategy<Value = Config> {
    let ports = sim_device().ports.clone();
    let ifaces: Vec<_> = (0..ports.len())
        .map(|i| interface(i as u8, ports.clone()))
        .collect();
    let login = (line(), vty_lines(), ssh(), users());
    let portal = (portal_strategy(), network_users(), domains());
    (
        (sysname(), proptest::option::of(timezone())),
        0usize..=1024,
        ifaces,
        dhcp_strategy(),
        (
            hotbackup_strategy(ports.clone()),
            track_strategy(ports.clone()),
        ),
        login,
        portal,
        routes(),
    )
        .prop_map(
            move |(
                (sysname, timezone),
                logbuffer_size,
                ifaces,
                dhcp,
                (hotbackup, track),
                (console, vty, ssh, users),
                (portal, mut network_users, domains),
                route,
            )| {
                let mut config = Config::new(&ports);
                config.sysname = sysname;
                config.timezone = timezone;
                config.infocenter.logbuffer_size = logbuffer_size;
                config.dhcp = dhcp;
                config.hotbackup = hotbackup;
                config.track = track;
                for (port, cfg) in ports.iter().zip(ifaces) {
                    config.interfaces.insert(port.clone(), cfg);
                }
                config.lines.console = console;
                config.lines.vty = vty;
                config.ssh = ssh;
                // One name is one class of local user.
                network_users.retain(|name, _| !users.contains_key(name));
                config.users = users;
                config.network_users = network_users;
                config.domains = domains;
                config.portal = portal;
                config.route = route;
                config
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn render_then_load_gives_the_same_configuration(config in config_strategy()) {
        let text = config.render();
        let device = sim_device();
        let errors = load_text(&device, &text);
        prop_assert!(errors.is_empty(), "loading the rendered text failed: {errors:?}\n{text}");
        let loaded = device.config.lock().clone();
        prop_assert_eq!(&loaded, &config, "text was:\n{}", text);
        // And rendering is stable.
        prop_assert_eq!(loaded.render(), text);
    }
}
