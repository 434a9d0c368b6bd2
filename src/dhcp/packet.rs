//! The BOOTP/DHCP message codec (RFC 2131 section 2, RFC 951).
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +---------------+---------------+---------------+---------------+
//!  |    op (1)     |   htype (1)   |   hlen (1)    |   hops (1)    |   0
//!  +---------------+---------------+---------------+---------------+
//!  |                            xid (4)                            |   4
//!  +-------------------------------+-------------------------------+
//!  |           secs (2)            |           flags (2)           |   8   flags: B000 0000 0000 0000
//!  +-------------------------------+-------------------------------+
//!  |                          ciaddr  (4)                          |  12   client's current address
//!  |                          yiaddr  (4)                          |  16   "your" (offered) address
//!  |                          siaddr  (4)                          |  20   next server
//!  |                          giaddr  (4)                          |  24   relay agent
//!  +---------------------------------------------------------------+
//!  |                          chaddr  (16)                         |  28   hlen bytes used
//!  |                          sname   (64)                         |  44
//!  |                          file    (128)                        | 108
//!  +---------------------------------------------------------------+
//!  |               magic cookie 99.130.83.99 (4)                   | 236
//!  +---------------------------------------------------------------+
//!  |                  options (variable, ends with 255)            | 240
//!  +---------------------------------------------------------------+
//! ```

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::options::{MessageType, Options};

/// Bytes before the options: the fixed BOOTP header plus the magic cookie.
pub const HEADER_LEN: usize = 240;
/// The largest message accepted: an Ethernet MTU minus the IPv4 and UDP headers.
pub const MAX_LEN: usize = 1500 - 20 - 8;
/// RFC 2131 section 3: the options field starts with 99.130.83.99.
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// The broadcast bit of `flags` (RFC 2131 section 2, figure 2).
pub const FLAG_BROADCAST: u16 = 0x8000;

/// Why a datagram is not a valid DHCP message. Each variant is one "bad message" reason.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("message of {len} bytes is shorter than the {HEADER_LEN}-byte DHCP header")]
    Truncated { len: usize },
    #[error("message of {len} bytes is longer than the {MAX_LEN}-byte maximum")]
    Oversized { len: usize },
    #[error("op {0} is neither BOOTREQUEST (1) nor BOOTREPLY (2)")]
    BadOp(u8),
    #[error("hardware address length {0} exceeds 16")]
    BadHardwareLength(u8),
    #[error("bad magic cookie {0:02x?}")]
    BadMagicCookie([u8; 4]),
    #[error("option {code} at offset {offset} runs past the end of the message")]
    OptionOverrun { code: u8, offset: usize },
    #[error("option {code} has invalid length {len}")]
    BadOptionLength { code: u8, len: usize },
    #[error("options do not end with the End option (255)")]
    MissingEnd,
    #[error("unknown DHCP message type {0}")]
    UnknownMessageType(u8),
    #[error("option 82 sub-option at offset {offset} is truncated")]
    RelayInfoTruncated { offset: usize },
}

impl DecodeError {
    /// A short stable name, the key of the "bad messages by reason" statistics.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::Oversized { .. } => "oversized",
            DecodeError::BadOp(_) => "bad-op",
            DecodeError::BadHardwareLength(_) => "bad-hlen",
            DecodeError::BadMagicCookie(_) => "bad-magic-cookie",
            DecodeError::OptionOverrun { .. } => "option-overrun",
            DecodeError::BadOptionLength { .. } => "bad-option-length",
            DecodeError::MissingEnd => "missing-end",
            DecodeError::UnknownMessageType(_) => "unknown-message-type",
            DecodeError::RelayInfoTruncated { .. } => "option82-truncated",
        }
    }
}

/// BOOTREQUEST or BOOTREPLY.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Request,
    Reply,
}

/// One decoded BOOTP/DHCP message. `sname` and `file` hold their bytes up to the last non-zero
/// byte (the encoder pads them back with zeros). Option overloading (option 52) is not applied:
/// the server never asks for it and keeps option 52 as an unknown option.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub op: Op,
    pub htype: u8,
    pub hlen: u8,
    #[serde(default)]
    pub hops: u8,
    pub xid: u32,
    #[serde(default)]
    pub secs: u16,
    #[serde(default)]
    pub flags: u16,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    pub chaddr: [u8; 16],
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sname: Vec<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file: Vec<u8>,
    pub options: Options,
}

impl Message {
    /// Decode and validate one datagram.
    pub fn decode(b: &[u8]) -> Result<Message, DecodeError> {
        if b.len() < HEADER_LEN {
            return Err(DecodeError::Truncated { len: b.len() });
        }
        if b.len() > MAX_LEN {
            return Err(DecodeError::Oversized { len: b.len() });
        }
        let op = match b[0] {
            1 => Op::Request,
            2 => Op::Reply,
            o => return Err(DecodeError::BadOp(o)),
        };
        if b[2] > 16 {
            return Err(DecodeError::BadHardwareLength(b[2]));
        }
        let cookie = [b[236], b[237], b[238], b[239]];
        if cookie != MAGIC_COOKIE {
            return Err(DecodeError::BadMagicCookie(cookie));
        }
        let ip = |o: usize| Ipv4Addr::new(b[o], b[o + 1], b[o + 2], b[o + 3]);
        let mut chaddr = [0u8; 16];
        chaddr.copy_from_slice(&b[28..44]);
        Ok(Message {
            op,
            htype: b[1],
            hlen: b[2],
            hops: b[3],
            xid: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            secs: u16::from_be_bytes([b[8], b[9]]),
            flags: u16::from_be_bytes([b[10], b[11]]),
            ciaddr: ip(12),
            yiaddr: ip(16),
            siaddr: ip(20),
            giaddr: ip(24),
            chaddr,
            sname: trim_zeros(&b[44..108]),
            file: trim_zeros(&b[108..236]),
            options: Options::decode(&b[HEADER_LEN..], HEADER_LEN)?,
        })
    }

    /// Encode the message. `sname`/`file` longer than their fields are cut to fit.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(300);
        out.push(match self.op {
            Op::Request => 1,
            Op::Reply => 2,
        });
        out.extend_from_slice(&[self.htype, self.hlen, self.hops]);
        out.extend_from_slice(&self.xid.to_be_bytes());
        out.extend_from_slice(&self.secs.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        for a in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            out.extend_from_slice(&a.octets());
        }
        out.extend_from_slice(&self.chaddr);
        pad_field(&mut out, &self.sname, 64);
        pad_field(&mut out, &self.file, 128);
        out.extend_from_slice(&MAGIC_COOKIE);
        self.options.encode(&mut out);
        out
    }

    pub fn message_type(&self) -> Option<MessageType> {
        self.options.message_type
    }

    /// The client hardware address: the first `hlen` bytes of `chaddr`.
    pub fn hw_addr(&self) -> &[u8] {
        &self.chaddr[..usize::from(self.hlen.min(16))]
    }

    pub fn broadcast_flag(&self) -> bool {
        self.flags & FLAG_BROADCAST != 0
    }
}

/// The fuzzing oracle (the fuzz target and the corpus test call it): decode `data`; whatever
/// decodes must encode to bytes that decode to the same message.
///
/// # Panics
/// When that round trip fails: a codec bug for the fuzzer to report.
pub fn check_round_trip(data: &[u8]) -> Result<Message, DecodeError> {
    let m = Message::decode(data)?;
    let again = Message::decode(&m.encode());
    assert_eq!(
        again.as_ref(),
        Ok(&m),
        "re-encoded message does not decode to itself"
    );
    Ok(m)
}

fn trim_zeros(b: &[u8]) -> Vec<u8> {
    let end = b.iter().rposition(|&x| x != 0).map_or(0, |p| p + 1);
    b[..end].to_vec()
}

fn pad_field(out: &mut Vec<u8>, data: &[u8], width: usize) {
    let n = data.len().min(width);
    out.extend_from_slice(&data[..n]);
    out.resize(out.len() + width - n, 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::options::RelaySubOption;
    use proptest::prelude::*;

    fn discover() -> Message {
        Message {
            op: Op::Request,
            htype: 1,
            hlen: 6,
            hops: 0,
            xid: 0x1234_5678,
            secs: 0,
            flags: FLAG_BROADCAST,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: [
                0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            sname: vec![],
            file: vec![],
            options: Options {
                message_type: Some(MessageType::Discover),
                parameter_request_list: Some(vec![1, 3, 6]),
                ..Options::default()
            },
        }
    }

    #[test]
    fn round_trip_of_a_discover() {
        let m = discover();
        let b = m.encode();
        assert_eq!(&b[236..240], &MAGIC_COOKIE);
        assert_eq!(b[240..243], [53, 1, 1]);
        assert_eq!(Message::decode(&b).unwrap(), m);
    }

    #[test]
    fn header_errors() {
        let good = discover().encode();
        assert_eq!(
            Message::decode(&good[..239]),
            Err(DecodeError::Truncated { len: 239 })
        );
        let mut big = good.clone();
        big.resize(MAX_LEN + 1, 0);
        assert_eq!(
            Message::decode(&big),
            Err(DecodeError::Oversized { len: MAX_LEN + 1 })
        );
        let mut b = good.clone();
        b[0] = 3;
        assert_eq!(Message::decode(&b), Err(DecodeError::BadOp(3)));
        let mut b = good.clone();
        b[2] = 17;
        assert_eq!(Message::decode(&b), Err(DecodeError::BadHardwareLength(17)));
        let mut b = good.clone();
        b[236] = 0;
        assert_eq!(
            Message::decode(&b),
            Err(DecodeError::BadMagicCookie([0, 130, 83, 99]))
        );
    }

    #[test]
    fn option_errors() {
        let good = discover().encode();
        // No End option.
        assert_eq!(
            Message::decode(&good[..good.len() - 1]),
            Err(DecodeError::MissingEnd)
        );
        // An option whose length runs past the end.
        let mut b = good[..240].to_vec();
        b.extend_from_slice(&[12, 10, b'a', b'b']);
        assert_eq!(
            Message::decode(&b),
            Err(DecodeError::OptionOverrun {
                code: 12,
                offset: 240
            })
        );
        // A length byte missing.
        let mut b = good[..240].to_vec();
        b.push(12);
        assert_eq!(
            Message::decode(&b),
            Err(DecodeError::OptionOverrun {
                code: 12,
                offset: 240
            })
        );
        // Message type of the wrong length and of an unknown value.
        let mut b = good[..240].to_vec();
        b.extend_from_slice(&[53, 2, 1, 1, 255]);
        assert_eq!(
            Message::decode(&b),
            Err(DecodeError::BadOptionLength { code: 53, len: 2 })
        );
        let mut b = good[..240].to_vec();
        b.extend_from_slice(&[53, 1, 99, 255]);
        assert_eq!(
            Message::decode(&b),
            Err(DecodeError::UnknownMessageType(99))
        );
        // A router list that is not a multiple of 4.
        let mut b = good[..240].to_vec();
        b.extend_from_slice(&[3, 5, 1, 2, 3, 4, 5, 255]);
        assert_eq!(
            Message::decode(&b),
            Err(DecodeError::BadOptionLength { code: 3, len: 5 })
        );
    }

    #[test]
    fn option_82_sub_options() {
        let mut m = discover();
        m.options.relay_agent_info = Some(vec![
            RelaySubOption {
                code: 1,
                data: b"eth0/1".to_vec(),
            },
            RelaySubOption {
                code: 2,
                data: vec![0xaa, 0xbb],
            },
        ]);
        let b = m.encode();
        assert_eq!(Message::decode(&b).unwrap(), m);
        // Truncated: the second sub-option claims more bytes than option 82 holds.
        let mut b = discover().encode();
        b.pop();
        b.extend_from_slice(&[82, 5, 1, 1, b'x', 2, 9, 255]);
        assert_eq!(
            Message::decode(&b),
            Err(DecodeError::RelayInfoTruncated { offset: 3 })
        );
        let mut b = discover().encode();
        b.pop();
        b.extend_from_slice(&[82, 0, 255]);
        assert_eq!(
            Message::decode(&b),
            Err(DecodeError::RelayInfoTruncated { offset: 0 })
        );
    }

    #[test]
    fn long_options_are_split_and_joined() {
        let mut m = discover();
        m.options
            .other
            .insert(200, (0..=255u8).chain(0..100).collect());
        let b = m.encode();
        assert_eq!(Message::decode(&b).unwrap(), m);
    }

    fn arb_ip() -> impl Strategy<Value = Ipv4Addr> {
        any::<u32>().prop_map(Ipv4Addr::from)
    }

    fn arb_nonzero_tail(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..max).prop_map(|mut v| {
            if v.last() == Some(&0) {
                v.pop();
                v.push(1);
            }
            v
        })
    }

    fn arb_options() -> impl Strategy<Value = Options> {
        let bytes = |min| proptest::collection::vec(any::<u8>(), min..40);
        let ips = || proptest::collection::vec(arb_ip(), 1..8);
        let subs = proptest::collection::vec(
            (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..20))
                .prop_map(|(code, data)| RelaySubOption { code, data }),
            1..4,
        );
        let other = proptest::collection::btree_map(
            (100u8..200).prop_filter("typed", |c| *c != 82),
            proptest::collection::vec(any::<u8>(), 0..300),
            0..3,
        );
        (
            (
                proptest::option::of((1u8..=8).prop_map(|c| MessageType::from_code(c).unwrap())),
                proptest::option::of(arb_ip()),
                proptest::option::of(arb_ip()),
                proptest::option::of(any::<u32>()),
                proptest::option::of(any::<u32>()),
                proptest::option::of(any::<u32>()),
                proptest::option::of(arb_ip()),
            ),
            (
                proptest::option::of(ips()),
                proptest::option::of(ips()),
                proptest::option::of(bytes(1)),
                proptest::option::of(bytes(1)),
                proptest::option::of(bytes(2)),
                proptest::option::of(bytes(1)),
                proptest::option::of(subs),
                other,
            ),
        )
            .prop_map(
                |((mt, sid, rip, lt, t1, t2, mask), (r, d, dn, hn, cid, prl, rai, other))| {
                    Options {
                        message_type: mt,
                        server_id: sid,
                        requested_ip: rip,
                        lease_time: lt,
                        renewal_time: t1,
                        rebinding_time: t2,
                        subnet_mask: mask,
                        routers: r,
                        dns_servers: d,
                        domain_name: dn,
                        hostname: hn,
                        client_id: cid,
                        parameter_request_list: prl,
                        relay_agent_info: rai,
                        other,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn any_valid_message_round_trips(
            reply in any::<bool>(), htype in any::<u8>(), hlen in 0u8..=16, hops in any::<u8>(),
            xid in any::<u32>(), secs in any::<u16>(), flags in any::<u16>(),
            addrs in proptest::array::uniform4(arb_ip()), chaddr in any::<[u8; 16]>(),
            sname in arb_nonzero_tail(64), file in arb_nonzero_tail(128), options in arb_options(),
        ) {
            let m = Message {
                op: if reply { Op::Reply } else { Op::Request }, htype, hlen, hops, xid, secs, flags,
                ciaddr: addrs[0], yiaddr: addrs[1], siaddr: addrs[2], giaddr: addrs[3],
                chaddr, sname, file, options,
            };
            let b = m.encode();
            if b.len() <= MAX_LEN {
                prop_assert_eq!(Message::decode(&b).unwrap(), m);
            } else {
                prop_assert_eq!(Message::decode(&b), Err(DecodeError::Oversized { len: b.len() }));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..700)) {
            if let Ok(m) = Message::decode(&b) {
                // Whatever decodes re-encodes to something that decodes to the same message.
                prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m);
            }
        }

        #[test]
        fn arbitrary_options_after_a_valid_header_never_panic(
            opts in proptest::collection::vec(any::<u8>(), 0..400)
        ) {
            let mut b = discover().encode()[..HEADER_LEN].to_vec();
            b.extend_from_slice(&opts);
            if let Ok(m) = Message::decode(&b) {
                prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m);
            }
        }
    }
}
