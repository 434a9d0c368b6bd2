//! Fuzz the VRRP receive path with whole IPv4 datagrams, as a raw socket returns them:
//! `cargo +nightly fuzz run vrrp_packet fuzz/corpus/vrrp_packet` from the repository root.
#![no_main]

use std::net::Ipv4Addr;
use std::time::Duration;

use duet::vrrp::packet::{Advertisement, parse_ipv4};
use duet::vrrp::{GroupConfig, Router, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((ip, msg)) = parse_ipv4(data) else { return };
    if let Ok(adv) = Advertisement::decode(&ip, msg) {
        // Whatever decodes encodes again, and to the same advertisement.
        let bytes = adv.encode(ip.src, ip.dst).expect("a decoded advert encodes");
        assert_eq!(Advertisement::decode(&ip, &bytes), Ok(adv));
    }
    // The router's own checks and state machine must take anything too.
    for version in [Version::V2, Version::V3] {
        let config = GroupConfig {
            version,
            simple_key: Some("duet".into()),
            ..GroupConfig::new(1, vec![Ipv4Addr::new(10, 0, 0, 254)])
        };
        let mut router = Router::new(1, true);
        router.handle_config(Duration::ZERO, &config, Some(Ipv4Addr::new(10, 0, 0, 1))).expect("valid config");
        router.handle_packet(Duration::from_millis(10), &ip, msg);
        let stats = router.statistics();
        assert_eq!(stats.received, stats.accepted + stats.rejected_total());
    }
});
