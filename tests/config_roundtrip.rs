//! `display current-configuration` re-parses to the same configuration: for every configuration
//! a device can reach, loading its rendered text into a new device gives that configuration back.
//!
//! When a feature adds to `Config`, extend `config_strategy` so the property covers it.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use duet::config::Config;
use duet::config::load::load_text;
use duet::device::{Device, DeviceOptions, NetKind};
use duet::interface::config::InterfaceConfig;
use duet::interface::name::IfName;
use duet::vrrp::Version;
use duet::vrrp::config::{GroupConfig, InterfaceVrrp, TrackedInterface};
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
    (
        vips,
        1u8..=254,
        proptest::option::of(0u32..=180_000),
        1u16..=4095,
        proptest::option::of("[!-~]{1,8}"),
        tracks,
        any::<bool>(),
    )
        .prop_map(
            move |(vips, priority, preempt, interval, key, tracks, shutdown)| GroupConfig {
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
                shutdown,
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
    (
        proptest::option::of(description()),
        any::<bool>(),
        proptest::option::of(address),
        vrrp(index, ports),
    )
        .prop_map(|(description, shutdown, address, vrrp)| InterfaceConfig {
            description,
            shutdown,
            address,
            vrrp,
        })
}

fn config_strategy() -> impl Strategy<Value = Config> {
    let ports = sim_device().ports.clone();
    let ifaces: Vec<_> = (0..ports.len())
        .map(|i| interface(i as u8, ports.clone()))
        .collect();
    (sysname(), 0usize..=1024, ifaces).prop_map(move |(sysname, logbuffer_size, ifaces)| {
        let mut config = Config::new(&ports);
        config.sysname = sysname;
        config.infocenter.logbuffer_size = logbuffer_size;
        for (port, cfg) in ports.iter().zip(ifaces) {
            config.interfaces.insert(port.clone(), cfg);
        }
        config
    })
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
