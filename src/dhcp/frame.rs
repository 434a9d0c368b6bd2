//! A small IPv4/UDP (and Ethernet II) builder and parser for the DHCP driver: the frames it
//! sends to a client's hardware address through AF_PACKET (RFC 2131 section 4.1: the client
//! has no address yet and cannot answer ARP), and everything it sends and receives on the
//! simulated LAN.

use std::net::Ipv4Addr;

pub const ETH_HEADER: usize = 14;
pub const IPV4_HEADER: usize = 20;
pub const UDP_HEADER: usize = 8;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];
const PROTO_UDP: u8 = 17;
const TTL: u8 = 64;

/// A UDP datagram's addressing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpAddrs {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
}

/// An IPv4 header and UDP header around `payload` (what an AF_PACKET `SOCK_DGRAM` socket
/// sends: the kernel adds the Ethernet header).
pub fn ipv4_udp(addrs: UdpAddrs, payload: &[u8]) -> Vec<u8> {
    let total = IPV4_HEADER + UDP_HEADER + payload.len();
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, TTL, PROTO_UDP, 0, 0]);
    p.extend_from_slice(&addrs.src.octets());
    p.extend_from_slice(&addrs.dst.octets());
    let sum = checksum(&[&p[..IPV4_HEADER]]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    let udp_len = (UDP_HEADER + payload.len()) as u16;
    p.extend_from_slice(&addrs.src_port.to_be_bytes());
    p.extend_from_slice(&addrs.dst_port.to_be_bytes());
    p.extend_from_slice(&udp_len.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    // RFC 768: the checksum covers a pseudo-header; 0 is sent as 0xffff.
    let mut pseudo = [0u8; 12];
    pseudo[..4].copy_from_slice(&addrs.src.octets());
    pseudo[4..8].copy_from_slice(&addrs.dst.octets());
    pseudo[9] = PROTO_UDP;
    pseudo[10..12].copy_from_slice(&udp_len.to_be_bytes());
    let sum = match checksum(&[&pseudo, &p[IPV4_HEADER..]]) {
        0 => 0xffff,
        s => s,
    };
    p[IPV4_HEADER + 6..IPV4_HEADER + 8].copy_from_slice(&sum.to_be_bytes());
    p
}

/// An Ethernet II frame carrying `ipv4_udp(addrs, payload)`.
pub fn ethernet(src_mac: [u8; 6], dst_mac: [u8; 6], addrs: UdpAddrs, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETH_HEADER + IPV4_HEADER + UDP_HEADER + payload.len());
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    f.extend_from_slice(&ipv4_udp(addrs, payload));
    f
}

/// A UDP datagram taken out of an Ethernet frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub addrs: UdpAddrs,
    pub payload: &'a [u8],
}

/// The UDP datagram in an Ethernet frame, or `None` for anything else (other protocols,
/// fragments, bad lengths or checksums).
pub fn parse_ethernet(frame: &[u8]) -> Option<Datagram<'_>> {
    let eth = frame.get(..ETH_HEADER)?;
    if u16::from_be_bytes([eth[12], eth[13]]) != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = &frame[ETH_HEADER..];
    let first = *ip.first()?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < IPV4_HEADER || ip.len() < ihl + UDP_HEADER {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    // More fragments, or a fragment offset: the driver does not reassemble.
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    if ip[9] != PROTO_UDP || frag & 0x3fff != 0 || total < ihl + UDP_HEADER || total > ip.len() {
        return None;
    }
    if checksum(&[&ip[..ihl]]) != 0 {
        return None;
    }
    let udp = &ip[ihl..total];
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    if udp_len < UDP_HEADER || udp_len > udp.len() {
        return None;
    }
    let mut src_mac = [0; 6];
    let mut dst_mac = [0; 6];
    dst_mac.copy_from_slice(&eth[..6]);
    src_mac.copy_from_slice(&eth[6..12]);
    Some(Datagram {
        src_mac,
        dst_mac,
        addrs: UdpAddrs {
            src: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            dst: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            src_port: u16::from_be_bytes([udp[0], udp[1]]),
            dst_port: u16::from_be_bytes([udp[2], udp[3]]),
        },
        payload: &udp[UDP_HEADER..udp_len],
    })
}

/// The Internet checksum (RFC 1071) over the concatenated parts.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(hi) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addrs() -> UdpAddrs {
        UdpAddrs {
            src: [10, 1, 1, 1].into(),
            dst: [255, 255, 255, 255].into(),
            src_port: 67,
            dst_port: 68,
        }
    }

    #[test]
    fn known_ipv4_header_checksum() {
        // RFC 1071 example-style check: a header with its checksum sums to zero.
        let p = ipv4_udp(addrs(), b"hello");
        assert_eq!(checksum(&[&p[..IPV4_HEADER]]), 0);
        assert_eq!(p.len(), 20 + 8 + 5);
    }

    #[test]
    fn frame_round_trip() {
        let f = ethernet([2, 0, 0, 0, 0, 1], BROADCAST_MAC, addrs(), b"payload");
        let d = parse_ethernet(&f).unwrap();
        assert_eq!(d.addrs, addrs());
        assert_eq!(d.payload, b"payload");
        assert_eq!(d.src_mac, [2, 0, 0, 0, 0, 1]);
        assert_eq!(d.dst_mac, BROADCAST_MAC);
    }

    #[test]
    fn damaged_frames_are_refused() {
        let f = ethernet([2, 0, 0, 0, 0, 1], BROADCAST_MAC, addrs(), b"payload");
        let mut bad = f.clone();
        bad[ETH_HEADER + 8] ^= 1; // TTL: header checksum no longer matches
        assert!(parse_ethernet(&bad).is_none());
        assert!(parse_ethernet(&f[..f.len() - 3]).is_none());
        let mut frag = f.clone();
        frag[ETH_HEADER + 6] = 0x20; // more fragments
        assert!(parse_ethernet(&frag).is_none());
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = parse_ethernet(&bytes);
        }
    }
}
