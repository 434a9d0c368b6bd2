//! ICMP echo (RFC 792) for `ping` and `tracert`: building echo requests and reading what a
//! raw IPv4 ICMP socket receives. Sans-IO: bytes in, bytes out.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Identifier          |        Sequence Number        |   echo (8) / reply (0)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Data ...
//! ```
//!
//! Errors (time exceeded 11, destination unreachable 3) carry the offending datagram's IP
//! header and its first 8 bytes (RFC 792), which for an echo request are its identifier and
//! sequence number: that is how a probe's answer is matched.

use std::net::Ipv4Addr;

pub const ECHO_REPLY: u8 = 0;
pub const DEST_UNREACHABLE: u8 = 3;
pub const ECHO_REQUEST: u8 = 8;
pub const TIME_EXCEEDED: u8 = 11;
/// ICMP header length.
pub const HEADER: usize = 8;

/// The Internet checksum (RFC 1071) of `bytes`.
pub fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in bytes.chunks(2) {
        let word = match chunk {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum += u32::from(word);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with `data_len` bytes of data (a repeating pattern, as ping sends).
pub fn echo_request(id: u16, seq: u16, data_len: usize) -> Vec<u8> {
    let mut packet = vec![ECHO_REQUEST, 0, 0, 0];
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend((0..data_len).map(|i| (i % 256) as u8));
    let sum = checksum(&packet);
    packet[2..4].copy_from_slice(&sum.to_be_bytes());
    packet
}

/// What a received ICMP message says about one of our echo requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The target answered: `data_len` bytes of data came back.
    Reply {
        from: Ipv4Addr,
        ttl: u8,
        id: u16,
        seq: u16,
        data_len: usize,
    },
    /// A router on the way dropped the request when its TTL ran out (`tracert`'s hops).
    TimeExceeded { from: Ipv4Addr, id: u16, seq: u16 },
    /// A router or the target could not deliver it (code: RFC 792's net, host, port ...).
    Unreachable {
        from: Ipv4Addr,
        code: u8,
        id: u16,
        seq: u16,
    },
}

impl Answer {
    /// The identifier and sequence number of the request it answers.
    pub fn request(&self) -> (u16, u16) {
        match self {
            Answer::Reply { id, seq, .. }
            | Answer::TimeExceeded { id, seq, .. }
            | Answer::Unreachable { id, seq, .. } => (*id, *seq),
        }
    }
}

/// The IPv4 header's length, TTL, protocol and source, if `bytes` starts with a valid one.
fn ip_header(bytes: &[u8]) -> Option<(usize, u8, u8, Ipv4Addr)> {
    let first = *bytes.first()?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < 20 || bytes.len() < ihl {
        return None;
    }
    let src = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
    Some((ihl, bytes[8], bytes[9], src))
}

/// Read a datagram as a raw IPv4 ICMP socket delivers it (IP header included). `None` for
/// anything that is not an answer to an echo request: other ICMP types, other protocols,
/// truncated or damaged messages (bad checksum).
pub fn parse(datagram: &[u8]) -> Option<Answer> {
    let (ihl, ttl, protocol, from) = ip_header(datagram)?;
    if protocol != 1 {
        return None;
    }
    let icmp = &datagram[ihl..];
    if icmp.len() < HEADER || checksum(icmp) != 0 {
        return None;
    }
    let word = |at: usize, b: &[u8]| u16::from_be_bytes([b[at], b[at + 1]]);
    match icmp[0] {
        ECHO_REPLY => Some(Answer::Reply {
            from,
            ttl,
            id: word(4, icmp),
            seq: word(6, icmp),
            data_len: icmp.len() - HEADER,
        }),
        TIME_EXCEEDED | DEST_UNREACHABLE => {
            // The quoted datagram: its IP header, then at least 8 bytes of our request.
            let quoted = &icmp[HEADER..];
            let (qihl, _, qproto, _) = ip_header(quoted)?;
            let inner = quoted.get(qihl..qihl + HEADER)?;
            if qproto != 1 || inner[0] != ECHO_REQUEST {
                return None;
            }
            let (id, seq) = (word(4, inner), word(6, inner));
            Some(if icmp[0] == TIME_EXCEEDED {
                Answer::TimeExceeded { from, id, seq }
            } else {
                Answer::Unreachable {
                    from,
                    code: icmp[1],
                    id,
                    seq,
                }
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal IPv4 header (no options) around `payload`.
    fn ip(src: [u8; 4], ttl: u8, protocol: u8, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0x45, 0, 0, 0, 0, 0, 0, 0, ttl, protocol, 0, 0];
        h.extend_from_slice(&src);
        h.extend_from_slice(&[10, 0, 0, 1]);
        let len = (h.len() + payload.len()) as u16;
        h[2..4].copy_from_slice(&len.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }

    fn with_checksum(mut icmp: Vec<u8>) -> Vec<u8> {
        icmp[2] = 0;
        icmp[3] = 0;
        let sum = checksum(&icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        icmp
    }

    #[test]
    fn request_layout_and_checksum() {
        let p = echo_request(0x1234, 7, 56);
        assert_eq!(p.len(), 64);
        assert_eq!(&p[..2], &[8, 0]);
        assert_eq!(&p[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        // Odd length.
        assert_eq!(checksum(&echo_request(1, 1, 3)), 0);
    }

    #[test]
    fn replies_and_errors() {
        let mut reply = echo_request(9, 3, 56);
        reply[0] = ECHO_REPLY;
        let reply = with_checksum(reply);
        assert_eq!(
            parse(&ip([10, 0, 0, 9], 63, 1, &reply)),
            Some(Answer::Reply {
                from: Ipv4Addr::new(10, 0, 0, 9),
                ttl: 63,
                id: 9,
                seq: 3,
                data_len: 56
            })
        );
        // A router's time exceeded quotes our request.
        let quoted = ip([10, 0, 0, 1], 1, 1, &echo_request(9, 4, 56)[..8]);
        let mut te = vec![TIME_EXCEEDED, 0, 0, 0, 0, 0, 0, 0];
        te.extend_from_slice(&quoted);
        let te = ip([10, 0, 1, 1], 64, 1, &with_checksum(te));
        let answer = parse(&te).unwrap();
        assert_eq!(
            answer,
            Answer::TimeExceeded {
                from: Ipv4Addr::new(10, 0, 1, 1),
                id: 9,
                seq: 4
            }
        );
        assert_eq!(answer.request(), (9, 4));
        let mut un = vec![DEST_UNREACHABLE, 1, 0, 0, 0, 0, 0, 0];
        un.extend_from_slice(&quoted);
        assert!(matches!(
            parse(&ip([10, 0, 1, 1], 64, 1, &with_checksum(un))),
            Some(Answer::Unreachable {
                code: 1,
                seq: 4,
                ..
            })
        ));
    }

    #[test]
    fn anything_else_is_ignored_without_panic() {
        let req = echo_request(1, 1, 8);
        assert_eq!(parse(&ip([1, 1, 1, 1], 64, 1, &req)), None, "a request");
        assert_eq!(parse(&ip([1, 1, 1, 1], 64, 17, &req)), None, "UDP");
        let mut bad = req.clone();
        bad[0] = ECHO_REPLY;
        assert_eq!(parse(&ip([1, 1, 1, 1], 64, 1, &bad)), None, "bad checksum");
        for cut in 0..40 {
            let whole = ip([1, 1, 1, 1], 64, 1, &req);
            let _ = parse(&whole[..cut.min(whole.len())]);
        }
        let mut te = vec![TIME_EXCEEDED, 0, 0, 0, 0, 0, 0, 0, 0x45];
        te = with_checksum(te);
        assert_eq!(
            parse(&ip([1, 1, 1, 1], 64, 1, &te)),
            None,
            "truncated quote"
        );
    }
}
