//! Online detection of idle users (`portal user-detect`), Linux only: an ICMP echo request
//! (`type icmp`), or a look at whether the kernel's neighbour entry of the client is confirmed
//! after a datagram makes the kernel resolve it (`type arp`: an entry that answered ARP is
//! REACHABLE). Each probe answers true when the client answered.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use crate::portal::config::DetectKind;

/// Probe `ip`, waiting at most `wait` for the answer.
pub async fn probe(kind: DetectKind, ip: Ipv4Addr, wait: Duration) -> bool {
    match kind {
        DetectKind::Icmp => tokio::task::spawn_blocking(move || icmp_echo(ip, wait))
            .await
            .unwrap_or(false),
        DetectKind::Arp => arp(ip, wait).await,
    }
}

/// One ICMP echo request on a raw socket; true on a reply from `ip`.
fn icmp_echo(ip: Ipv4Addr, wait: Duration) -> bool {
    use socket2::{Domain, Protocol, Socket, Type};
    let Ok(sock) = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)) else {
        return false;
    };
    let id = (std::process::id() & 0xffff) as u16;
    // RFC 792: type 8, code 0, checksum, identifier, sequence, data.
    let mut req = [
        8u8,
        0,
        0,
        0,
        (id >> 8) as u8,
        id as u8,
        0,
        1,
        b'd',
        b'u',
        b'e',
        b't',
    ];
    let sum = checksum(&req);
    req[2..4].copy_from_slice(&sum.to_be_bytes());
    if sock
        .send_to(&req, &SocketAddrV4::new(ip, 0).into())
        .is_err()
    {
        return false;
    }
    let deadline = std::time::Instant::now() + wait;
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || sock.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            return false;
        };
        // SAFETY: recv_from initialized the first n bytes.
        let bytes: Vec<u8> = buf[..n]
            .iter()
            .map(|b| unsafe { b.assume_init() })
            .collect();
        let from_ip = from.as_socket_ipv4().map(|a| *a.ip());
        // The IP header, then an echo reply (type 0) with our identifier.
        let ihl = usize::from(bytes.first().map_or(0, |b| b & 0x0f)) * 4;
        if from_ip == Some(ip)
            && bytes.get(ihl) == Some(&0)
            && bytes.get(ihl + 4..ihl + 6) == Some(&[(id >> 8) as u8, id as u8])
        {
            return true;
        }
    }
}

/// The Internet checksum (RFC 1071).
fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Make the kernel resolve `ip` (a datagram to the discard port), then read its neighbour
/// state: REACHABLE means the client answered ARP within the kernel's reachable time.
async fn arp(ip: Ipv4Addr, wait: Duration) -> bool {
    if let Ok(sock) = tokio::net::UdpSocket::bind("0.0.0.0:0").await {
        let _ = sock.send_to(b"", SocketAddrV4::new(ip, 9)).await;
    }
    tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("ip")
            .args(["-4", "neigh", "show", &ip.to_string()])
            .output()
    })
    .await;
    matches!(out, Ok(Ok(o)) if String::from_utf8_lossy(&o.stdout).contains("REACHABLE"))
}

/// The client's MAC from the kernel's neighbour table (`/proc/net/arp`), Linux only.
pub fn neighbour_mac(ip: Ipv4Addr) -> Option<[u8; 6]> {
    let text = std::fs::read_to_string("/proc/net/arp").ok()?;
    let wanted = ip.to_string();
    text.lines().skip(1).find_map(|line| {
        let mut cols = line.split_whitespace();
        if cols.next()? != wanted {
            return None;
        }
        let flags = cols.nth(1)?;
        let mac = cols.next()?;
        // 0x0: incomplete.
        if flags == "0x0" {
            return None;
        }
        let mut out = [0u8; 6];
        let mut parts = mac.split(':');
        for b in &mut out {
            *b = u8::from_str_radix(parts.next()?, 16).ok()?;
        }
        (out != [0; 6]).then_some(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_an_echo_request() {
        // RFC 1071's example bytes.
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&b), !0xddf2);
    }
}
