//! Runs every file of the fuzzer's corpus (`fuzz/corpus/vrrp_packet/`, whole IPv4 datagrams)
//! through the receive path. Seeds named `ok-*` must decode, `bad-*` must be rejected; files
//! the fuzzer added only have to go through without a panic.

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use duet::vrrp::packet::{Advertisement, parse_ipv4};
use duet::vrrp::{GroupConfig, Router};

#[test]
fn corpus_files_decode_as_their_names_say() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/vrrp_packet");
    let mut ok = 0;
    let mut bad = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = fs::read(&path).unwrap();
        let decoded = parse_ipv4(&data)
            .and_then(|(ip, msg)| Advertisement::decode(&ip, msg).map(|a| (ip, a)));
        if name.starts_with("ok-") {
            let (ip, adv) = decoded.unwrap_or_else(|e| panic!("{name}: {e}"));
            let again = adv.encode(ip.src, ip.dst).unwrap();
            assert_eq!(
                Advertisement::decode(&ip, &again).as_ref(),
                Ok(&adv),
                "{name}"
            );
            ok += 1;
        } else if name.starts_with("bad-") {
            assert!(decoded.is_err(), "{name} decoded: {decoded:?}");
            bad += 1;
        }
        // The router counts whatever it is given, once.
        if let Ok((ip, msg)) = parse_ipv4(&data) {
            let mut router = Router::new(1, true);
            let config = GroupConfig::new(1, vec![Ipv4Addr::new(10, 0, 0, 254)]);
            router
                .handle_config(Duration::ZERO, &config, Some(Ipv4Addr::new(10, 0, 0, 1)))
                .unwrap();
            router.handle_packet(Duration::from_millis(1), &ip, msg);
            let s = router.statistics();
            assert_eq!(
                (s.received, s.accepted + s.rejected_total()),
                (1, 1),
                "{name}"
            );
        }
    }
    assert!(
        ok >= 5 && bad >= 5,
        "seed corpus missing: {ok} ok, {bad} bad"
    );
}
