//! Ethernet frames VRRP puts on a LAN: IPv4 adverts to the VRRP multicast MAC and gratuitous
//! ARP, and the reverse (the IPv4 datagram of a VRRP frame).
//!
//! ```text
//! Ethernet: dst(6) src(6) type(2)            0x0800 IPv4, 0x0806 ARP
//! ARP:      htype=1(2) ptype=0x0800(2) hlen=6 plen=4 op=1(2)
//!           sender MAC(6) sender IP(4) target MAC(6)=0 target IP(4)=sender IP
//! ```

use std::net::Ipv4Addr;

use crate::vrrp::packet::IPPROTO_VRRP;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const BROADCAST: [u8; 6] = [0xff; 6];
/// 224.0.0.18 mapped onto Ethernet (RFC 1112 section 6.4).
pub const VRRP_MULTICAST_MAC: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];

/// An Ethernet frame carrying `payload`.
pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A broadcast gratuitous ARP request announcing that `ip` is at `mac` (RFC 5227 section
/// 3: sender and target IP both the announced address), as keepalived and Comware send.
pub fn gratuitous_arp(mac: [u8; 6], ip: Ipv4Addr) -> Vec<u8> {
    let mut arp = Vec::with_capacity(28);
    arp.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    arp.extend_from_slice(&mac);
    arp.extend_from_slice(&ip.octets());
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&ip.octets());
    ethernet(BROADCAST, mac, ETHERTYPE_ARP, &arp)
}

/// The sender of an ARP frame (request or reply): (MAC, IP).
pub fn arp_sender(frame: &[u8]) -> Option<([u8; 6], Ipv4Addr)> {
    if frame.len() < 42 || u16::from_be_bytes([frame[12], frame[13]]) != ETHERTYPE_ARP {
        return None;
    }
    let mac: [u8; 6] = frame[22..28].try_into().ok()?;
    let ip = Ipv4Addr::new(frame[28], frame[29], frame[30], frame[31]);
    Some((mac, ip))
}

/// The IPv4 datagram of a frame when it carries VRRP (protocol 112), else `None`.
pub fn vrrp_datagram(frame: &[u8]) -> Option<&[u8]> {
    if frame.len() < 14 + 20 || u16::from_be_bytes([frame[12], frame[13]]) != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = &frame[14..];
    (ip[9] == IPPROTO_VRRP).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gratuitous_arp_layout() {
        let mac = [0, 0, 0x5e, 0, 1, 7];
        let ip = Ipv4Addr::new(10, 0, 0, 254);
        let f = gratuitous_arp(mac, ip);
        assert_eq!(f.len(), 42);
        assert_eq!(&f[..6], &BROADCAST);
        assert_eq!(&f[6..12], &mac);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[20..22], &[0, 1], "request");
        assert_eq!(&f[38..42], &ip.octets(), "target IP = sender IP");
        assert_eq!(arp_sender(&f), Some((mac, ip)));
        assert_eq!(vrrp_datagram(&f), None);
    }

    #[test]
    fn only_vrrp_datagrams_are_taken() {
        let mut ip = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 255, 112, 0, 0];
        ip.extend_from_slice(&[10, 0, 0, 1, 224, 0, 0, 18]);
        let f = ethernet(VRRP_MULTICAST_MAC, [2; 6], ETHERTYPE_IPV4, &ip);
        assert_eq!(vrrp_datagram(&f), Some(&ip[..]));
        ip[9] = 17;
        let f = ethernet(VRRP_MULTICAST_MAC, [2; 6], ETHERTYPE_IPV4, &ip);
        assert_eq!(vrrp_datagram(&f), None);
        assert_eq!(vrrp_datagram(&[0; 10]), None);
        assert_eq!(arp_sender(&[0; 10]), None);
    }
}
