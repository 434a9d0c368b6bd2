use proptest::prelude::*;

use super::*;

const SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 254);

fn v2(priority: u8, auth: Auth) -> Advertisement {
    Advertisement {
        version: Version::V2,
        vrid: 1,
        priority,
        interval_cs: 100,
        auth,
        addresses: vec![VIP],
    }
}

fn v3(priority: u8) -> Advertisement {
    Advertisement {
        version: Version::V3,
        vrid: 1,
        priority,
        interval_cs: 100,
        auth: Auth::None,
        addresses: vec![VIP],
    }
}

fn ip() -> IpHeader {
    IpHeader::multicast_from(SRC)
}

// Known answers: checksums worked out independently (RFC 1071 sum in Python), the v3 one over
// the pseudo-header src 192.168.1.1, dst 224.0.0.18, protocol 112, length 12.
#[test]
fn v2_known_bytes() {
    let bytes = v2(100, Auth::None).encode(SRC, VRRP_MULTICAST).unwrap();
    assert_eq!(
        bytes,
        [
            0x21, 1, 100, 1, 0, 1, 0xb8, 0x55, 192, 168, 1, 254, 0, 0, 0, 0, 0, 0, 0, 0
        ]
    );
    let bytes = v2(100, Auth::simple("secret"))
        .encode(SRC, VRRP_MULTICAST)
        .unwrap();
    assert_eq!(&bytes[4..8], &[1, 1, 0x7b, 0x09]);
    assert_eq!(&bytes[12..], b"secret\0\0");
}

#[test]
fn v3_checksum_covers_the_pseudo_header() {
    let bytes = v3(100).encode(SRC, VRRP_MULTICAST).unwrap();
    assert_eq!(
        bytes,
        [0x31, 1, 100, 1, 0, 100, 0x05, 0xba, 192, 168, 1, 254]
    );
    // The pre-RFC 9568 reading (checksum over the message only, as v2) is rejected.
    let mut legacy = bytes.clone();
    legacy[6..8].copy_from_slice(&[0xa7, 0xf2]);
    assert_eq!(
        Advertisement::decode(&ip(), &legacy),
        Err(RejectReason::BadChecksum)
    );
    // The pseudo-header makes the source address part of the checksum.
    let other = IpHeader {
        src: Ipv4Addr::new(192, 168, 1, 2),
        ..ip()
    };
    assert_eq!(
        Advertisement::decode(&other, &bytes),
        Err(RejectReason::BadChecksum)
    );
    // v2 does not cover the IP header.
    let bytes = v2(100, Auth::None).encode(SRC, VRRP_MULTICAST).unwrap();
    assert!(Advertisement::decode(&other, &bytes).is_ok());
}

#[test]
fn decode_returns_what_was_encoded() {
    for adv in [
        v2(100, Auth::None),
        v2(0, Auth::simple("12345678")),
        v3(255),
    ] {
        let bytes = adv.encode(SRC, VRRP_MULTICAST).unwrap();
        assert_eq!(Advertisement::decode(&ip(), &bytes), Ok(adv));
    }
}

#[test]
fn each_structural_rejection() {
    let good = v3(100).encode(SRC, VRRP_MULTICAST).unwrap();
    let decode = |ip: IpHeader, msg: &[u8]| Advertisement::decode(&ip, msg);
    assert_eq!(
        decode(IpHeader { ttl: 64, ..ip() }, &good),
        Err(RejectReason::BadTtl)
    );
    assert_eq!(
        decode(
            IpHeader {
                protocol: 17,
                ..ip()
            },
            &good
        ),
        Err(RejectReason::BadIpHeader)
    );
    assert_eq!(decode(ip(), &good[..5]), Err(RejectReason::Truncated));
    assert_eq!(decode(ip(), &good[..11]), Err(RejectReason::AddressCount));
    let mut extra = good.clone();
    extra.push(0);
    assert_eq!(decode(ip(), &extra), Err(RejectReason::AddressCount));

    let resum = |mut msg: Vec<u8>, version: Version| {
        msg[6..8].copy_from_slice(&[0, 0]);
        let sum = checksum(version, SRC, VRRP_MULTICAST, &msg);
        msg[6..8].copy_from_slice(&sum.to_be_bytes());
        msg
    };
    let mut m = good.clone();
    m[0] = 0x41;
    assert_eq!(
        decode(ip(), &resum(m, Version::V3)),
        Err(RejectReason::BadVersion)
    );
    let mut m = good.clone();
    m[0] = 0x32;
    assert_eq!(
        decode(ip(), &resum(m, Version::V3)),
        Err(RejectReason::BadType)
    );
    let mut m = good.clone();
    m[3] = 0;
    m.truncate(8);
    assert_eq!(
        decode(ip(), &resum(m, Version::V3)),
        Err(RejectReason::AddressCount)
    );
    let mut m = good.clone();
    m[5] ^= 1;
    assert_eq!(decode(ip(), &m), Err(RejectReason::BadChecksum));
    let mut m = good.clone();
    m[4..6].copy_from_slice(&[0xf0, 0]);
    assert_eq!(
        decode(ip(), &resum(m, Version::V3)),
        Err(RejectReason::ZeroInterval)
    );

    let v2good = v2(100, Auth::None).encode(SRC, VRRP_MULTICAST).unwrap();
    let mut m = v2good.clone();
    m[4] = 2; // IP Authentication Header: never inside a protocol 112 payload
    assert_eq!(
        decode(ip(), &resum(m, Version::V2)),
        Err(RejectReason::UnknownAuthType)
    );
    assert_eq!(decode(ip(), &v2good[..12]), Err(RejectReason::AddressCount));
}

#[test]
fn v3_reserved_bits_are_ignored() {
    let mut m = v3(100).encode(SRC, VRRP_MULTICAST).unwrap();
    m[4] |= 0xf0;
    m[6..8].copy_from_slice(&[0, 0]);
    let sum = checksum(Version::V3, SRC, VRRP_MULTICAST, &m);
    m[6..8].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(Advertisement::decode(&ip(), &m).unwrap().interval_cs, 100);
}

#[test]
fn encode_refuses_what_the_wire_cannot_carry() {
    let mut a = v3(100);
    a.interval_cs = 4096;
    assert_eq!(
        a.encode(SRC, VRRP_MULTICAST),
        Err(EncodeError::Interval(4096))
    );
    a.interval_cs = 100;
    a.auth = Auth::simple("x");
    assert_eq!(a.encode(SRC, VRRP_MULTICAST), Err(EncodeError::AuthOnV3));
    let mut a = v2(100, Auth::None);
    a.interval_cs = 150;
    assert_eq!(
        a.encode(SRC, VRRP_MULTICAST),
        Err(EncodeError::Interval(150))
    );
    a.interval_cs = 100;
    a.addresses = Vec::new();
    assert_eq!(
        a.encode(SRC, VRRP_MULTICAST),
        Err(EncodeError::AddressCount(0))
    );
    a.addresses = vec![VIP; 256];
    assert_eq!(
        a.encode(SRC, VRRP_MULTICAST),
        Err(EncodeError::AddressCount(256))
    );
}

#[test]
fn ipv4_framing_round_trips_and_drops_padding() {
    let msg = v3(100).encode(SRC, VRRP_MULTICAST).unwrap();
    let mut datagram = build_ipv4(&ip(), &msg);
    // The IPv4 header checksum of what we build is valid.
    assert_eq!(fold(sum16(0, &datagram[..20])), 0);
    datagram.extend_from_slice(&[0; 6]); // Ethernet padding
    let (header, payload) = parse_ipv4(&datagram).unwrap();
    assert_eq!(header, ip());
    assert_eq!(payload, &msg[..]);
    assert_eq!(parse_ipv4(&datagram[..19]), Err(RejectReason::BadIpHeader));
    assert_eq!(parse_ipv4(&datagram[..25]), Err(RejectReason::BadIpHeader));
    let mut v6 = datagram.clone();
    v6[0] = 0x65;
    assert_eq!(parse_ipv4(&v6), Err(RejectReason::BadIpHeader));
}

fn arb_advert() -> impl Strategy<Value = Advertisement> {
    let addresses = prop::collection::vec(any::<[u8; 4]>().prop_map(Ipv4Addr::from), 1..=20);
    prop_oneof![
        (
            any::<u8>(),
            any::<u8>(),
            1u16..=255,
            proptest::option::of(any::<[u8; 8]>()),
            addresses.clone()
        )
            .prop_map(|(vrid, priority, secs, key, addresses)| Advertisement {
                version: Version::V2,
                vrid,
                priority,
                interval_cs: secs * 100,
                auth: key.map_or(Auth::None, Auth::Simple),
                addresses,
            }),
        (
            any::<u8>(),
            any::<u8>(),
            1u16..=MAX_V3_INTERVAL_CS,
            addresses
        )
            .prop_map(|(vrid, priority, interval_cs, addresses)| Advertisement {
                version: Version::V3,
                vrid,
                priority,
                interval_cs,
                auth: Auth::None,
                addresses,
            }),
    ]
}

proptest! {
    #[test]
    fn round_trip(adv in arb_advert(), src in any::<[u8; 4]>(), dst in any::<[u8; 4]>()) {
        let ip = IpHeader { src: src.into(), dst: dst.into(), ttl: VRRP_TTL, protocol: IPPROTO_VRRP };
        let bytes = adv.encode(ip.src, ip.dst).unwrap();
        prop_assert_eq!(Advertisement::decode(&ip, &bytes), Ok(adv));
    }

    #[test]
    fn any_single_bit_flip_is_caught(adv in arb_advert(), bit in any::<prop::sample::Index>()) {
        let bytes = adv.encode(SRC, VRRP_MULTICAST).unwrap();
        let mut flipped = bytes.clone();
        let at = bit.index(bytes.len() * 8);
        flipped[at / 8] ^= 1 << (at % 8);
        prop_assert!(Advertisement::decode(&ip(), &flipped).is_err());
    }

    #[test]
    fn decode_never_panics(msg in prop::collection::vec(any::<u8>(), 0..1100), ttl in any::<u8>(), v3_first in any::<bool>()) {
        let mut msg = msg;
        if v3_first && !msg.is_empty() {
            msg[0] = 0x31; // reach the deeper checks more often
        }
        let ip = IpHeader { ttl, ..ip() };
        let _ = Advertisement::decode(&ip, &msg);
    }

    #[test]
    fn parse_ipv4_never_panics(datagram in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok((header, payload)) = parse_ipv4(&datagram) {
            let _ = Advertisement::decode(&header, payload);
        }
    }
}
