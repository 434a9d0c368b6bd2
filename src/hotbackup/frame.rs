//! The hot-backup wire format: length-prefixed frames over one TCP stream, each with a version,
//! a type, a per-connection sequence number and, when a key is configured, an HMAC-SHA256
//! trailer around a [`Message`]; and a streaming decoder that takes arbitrary byte chunks and
//! yields frames or typed errors. Layouts are drawn in docs/hot-backup-protocol.md.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use thiserror::Error;

use super::message::Message;

/// The protocol version this code speaks (frame header and hello). Version 2 added the DHCP
/// entry state 5 (removed: a tombstone), which a version 1 peer would reject as a bad entry.
pub const VERSION: u8 = 2;
/// Bytes before the payload: length(4) version(1) type(1) flags(1) reserved(1) seq(8).
pub const HEADER_LEN: usize = 16;
/// The HMAC-SHA256 trailer.
pub const MAC_LEN: usize = 32;
/// The largest frame accepted (length field included); a bigger length means a broken or
/// hostile stream, and the connection is dropped since the next frame boundary is lost.
pub const MAX_FRAME: usize = 1 << 20;
/// `flags` bit: an HMAC trailer follows the payload.
const FLAG_MAC: u8 = 0x01;

type HmacSha256 = Hmac<Sha256>;

/// The shared secret of `authentication-key`, ready to sign and verify.
#[derive(Clone)]
pub struct AuthKey(HmacSha256);

impl AuthKey {
    pub fn new(secret: &[u8]) -> AuthKey {
        // HMAC takes keys of any length (RFC 2104 section 3): this cannot fail.
        AuthKey(HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!()))
    }

    fn sign(&self, data: &[u8]) -> [u8; MAC_LEN] {
        let mut m = self.0.clone();
        m.update(data);
        m.finalize().into_bytes().into()
    }

    fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        let mut m = self.0.clone();
        m.update(data);
        m.verify_slice(tag).is_ok()
    }
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthKey(..)")
    }
}

/// Why bytes were not a frame. Every variant is counted by its [`reason`](Self::reason).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("authentication failed (wrong key, or key configured on one side only)")]
    WrongKey,
    #[error("protocol version {0}, this device speaks {VERSION}")]
    WrongVersion(u8),
    #[error("frame shorter than its contents")]
    Truncated,
    #[error("frame length {0} outside {HEADER_LEN}..={MAX_FRAME}")]
    Oversized(usize),
    #[error("frame {got} out of order, expected {expected}")]
    OutOfOrder { expected: u64, got: u64 },
    #[error("frame {got} replayed, expected {expected}")]
    Replayed { expected: u64, got: u64 },
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
}

impl FrameError {
    /// The counter name in `display hot-backup statistics`.
    pub fn reason(&self) -> &'static str {
        match self {
            FrameError::WrongKey => "wrong-key",
            FrameError::WrongVersion(_) => "wrong-version",
            FrameError::Truncated => "truncated",
            FrameError::Oversized(_) => "oversized",
            FrameError::OutOfOrder { .. } => "out-of-order",
            FrameError::Replayed { .. } => "replayed",
            FrameError::Malformed(_) => "malformed",
        }
    }

    /// Whether the stream can go on after this error. A replayed frame is dropped and the
    /// stream continues; after anything else the frame boundaries or the sequence can no
    /// longer be trusted, and the connection is closed (the resend log makes that cheap).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, FrameError::Replayed { .. })
    }
}

/// A decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub seq: u64,
    pub message: Message,
}

/// Writes frames with consecutive sequence numbers from 0.
#[derive(Debug)]
pub struct Encoder {
    key: Option<AuthKey>,
    next_seq: u64,
}

impl Encoder {
    pub fn new(key: Option<AuthKey>) -> Encoder {
        Encoder { key, next_seq: 0 }
    }

    /// Append one frame holding `msg` to `out`.
    pub fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        out.push(VERSION);
        out.push(msg.code());
        out.push(if self.key.is_some() { FLAG_MAC } else { 0 });
        out.push(0);
        out.extend_from_slice(&self.next_seq.to_be_bytes());
        msg.encode_payload(out);
        let len = out.len() - start + self.key.as_ref().map_or(0, |_| MAC_LEN);
        out[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
        if let Some(k) = &self.key {
            let tag = k.sign(&out[start..]);
            out.extend_from_slice(&tag);
        }
        self.next_seq += 1;
    }
}

/// A streaming decoder: `push` bytes as they arrive, then call `next` until it returns `None`.
#[derive(Debug)]
pub struct Decoder {
    key: Option<AuthKey>,
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    pos: usize,
    next_seq: u64,
    /// Set after an oversized length: the frame boundaries are lost.
    broken: bool,
}

impl Decoder {
    pub fn new(key: Option<AuthKey>) -> Decoder {
        Decoder {
            key,
            buf: Vec::new(),
            pos: 0,
            next_seq: 0,
            broken: false,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if self.broken {
            return;
        }
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet a whole frame.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// At close: a partial frame left over is a truncated frame.
    pub fn finish(&mut self) -> Option<FrameError> {
        let partial = !self.broken && self.pending() > 0;
        self.buf.clear();
        self.pos = 0;
        partial.then_some(FrameError::Truncated)
    }

    /// The next frame, an error for a bad one, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        if self.broken {
            return None;
        }
        let avail = &self.buf[self.pos..];
        if avail.len() < 4 {
            self.compact();
            return None;
        }
        let len = u32::from_be_bytes([avail[0], avail[1], avail[2], avail[3]]) as usize;
        if !(HEADER_LEN..=MAX_FRAME).contains(&len) {
            self.broken = true;
            self.buf = Vec::new();
            self.pos = 0;
            return Some(Err(FrameError::Oversized(len)));
        }
        if avail.len() < len {
            self.compact();
            return None;
        }
        let start = self.pos;
        self.pos += len;
        Some(parse(
            self.key.as_ref(),
            &mut self.next_seq,
            &self.buf[start..start + len],
        ))
    }

    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }
}

/// Check and decode one whole frame (its length already checked), advancing `next_seq`.
fn parse(key: Option<&AuthKey>, next_seq: &mut u64, frame: &[u8]) -> Result<Frame, FrameError> {
    let (version, ty, flags) = (frame[4], frame[5], frame[6]);
    // Authenticate before looking at anything else the frame says.
    let body = match (key, flags & FLAG_MAC != 0) {
        (Some(k), true) => {
            if frame.len() < HEADER_LEN + MAC_LEN {
                return Err(FrameError::Truncated);
            }
            let (body, tag) = frame.split_at(frame.len() - MAC_LEN);
            if !k.verify(body, tag) {
                return Err(FrameError::WrongKey);
            }
            body
        }
        (None, false) => frame,
        _ => return Err(FrameError::WrongKey),
    };
    if version != VERSION {
        return Err(FrameError::WrongVersion(version));
    }
    let seq = u64::from_be_bytes(body[8..16].try_into().unwrap_or_default());
    if seq < *next_seq {
        return Err(FrameError::Replayed {
            expected: *next_seq,
            got: seq,
        });
    }
    if seq > *next_seq {
        return Err(FrameError::OutOfOrder {
            expected: *next_seq,
            got: seq,
        });
    }
    let message = Message::decode_payload(ty, &body[HEADER_LEN..])?;
    *next_seq += 1;
    Ok(Frame { seq, message })
}

#[cfg(test)]
mod tests {
    use super::super::message::{Hello, ResumePoint, Role, WireChange};
    use super::*;
    use proptest::prelude::*;

    fn hello() -> Message {
        Message::Hello(Hello {
            version: VERSION,
            device_id: 7,
            boot_id: 99,
            role: Role::Master,
            config_digest: [3; 32],
            resume: Some(ResumePoint { boot: 5, seq: 42 }),
        })
    }

    fn all_kinds() -> Vec<Message> {
        vec![
            hello(),
            Message::Keepalive { role: Role::Backup },
            Message::BatchBegin {
                service: 1,
                from: 3,
                total: 10,
            },
            Message::BatchPage {
                service: 1,
                first: 0,
                entries: [&[1u8, 2][..], &[], &[9; 300]].into_iter().collect(),
            },
            Message::BatchEnd {
                service: 1,
                upto: 8,
            },
            Message::Update {
                service: 1,
                seq: 4,
                change: WireChange::Upsert(vec![1, 2, 3]),
            },
            Message::Update {
                service: 1,
                seq: 5,
                change: WireChange::Remove(vec![10, 0, 0, 1]),
            },
            Message::Ack { upto: 5 },
            Message::Reconcile {
                service: 1,
                from: 2,
                upto: 9,
            },
        ]
    }

    fn decode_all(d: &mut Decoder) -> Vec<Result<Frame, FrameError>> {
        std::iter::from_fn(|| d.next_frame()).collect()
    }

    #[test]
    fn every_kind_round_trips_with_and_without_key() {
        for key in [None, Some(AuthKey::new(b"secret"))] {
            let mut e = Encoder::new(key.clone());
            let mut wire = Vec::new();
            for m in all_kinds() {
                e.encode(&m, &mut wire);
            }
            let mut d = Decoder::new(key);
            d.push(&wire);
            let got: Vec<_> = decode_all(&mut d).into_iter().map(|f| f.unwrap()).collect();
            assert_eq!(
                got.iter().map(|f| f.message.clone()).collect::<Vec<_>>(),
                all_kinds()
            );
            assert_eq!(
                got.iter().map(|f| f.seq).collect::<Vec<_>>(),
                (0..9).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn byte_at_a_time_decodes_the_same() {
        let mut e = Encoder::new(Some(AuthKey::new(b"k")));
        let mut wire = Vec::new();
        for m in all_kinds() {
            e.encode(&m, &mut wire);
        }
        let mut d = Decoder::new(Some(AuthKey::new(b"k")));
        let mut got = Vec::new();
        for b in &wire {
            d.push(std::slice::from_ref(b));
            got.extend(decode_all(&mut d));
        }
        assert_eq!(got.len(), 9);
        assert!(got.iter().all(Result::is_ok));
        assert_eq!(d.pending(), 0);
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn wrong_key_missing_key_and_unexpected_key_are_rejected() {
        let mut wire = Vec::new();
        Encoder::new(Some(AuthKey::new(b"a"))).encode(&hello(), &mut wire);
        let mut d = Decoder::new(Some(AuthKey::new(b"b")));
        d.push(&wire);
        assert_eq!(d.next_frame(), Some(Err(FrameError::WrongKey)));
        let mut d = Decoder::new(None);
        d.push(&wire);
        assert_eq!(d.next_frame(), Some(Err(FrameError::WrongKey)));
        let mut plain = Vec::new();
        Encoder::new(None).encode(&hello(), &mut plain);
        let mut d = Decoder::new(Some(AuthKey::new(b"a")));
        d.push(&plain);
        assert_eq!(d.next_frame(), Some(Err(FrameError::WrongKey)));
    }

    #[test]
    fn a_flipped_bit_fails_authentication() {
        let mut wire = Vec::new();
        Encoder::new(Some(AuthKey::new(b"a"))).encode(&Message::Ack { upto: 1 }, &mut wire);
        wire[17] ^= 1;
        let mut d = Decoder::new(Some(AuthKey::new(b"a")));
        d.push(&wire);
        assert_eq!(d.next_frame(), Some(Err(FrameError::WrongKey)));
    }

    #[test]
    fn wrong_version_is_reported() {
        let mut wire = Vec::new();
        Encoder::new(None).encode(&Message::Ack { upto: 1 }, &mut wire);
        assert_eq!(wire[4], 2);
        // A peer still speaking version 1 (no tombstones) is refused.
        wire[4] = 1;
        let mut d = Decoder::new(None);
        d.push(&wire);
        assert_eq!(d.next_frame(), Some(Err(FrameError::WrongVersion(1))));
    }

    #[test]
    fn replayed_and_out_of_order_frames_are_rejected() {
        let mut e = Encoder::new(None);
        let (mut f0, mut f1, mut f2) = (Vec::new(), Vec::new(), Vec::new());
        e.encode(&Message::Ack { upto: 0 }, &mut f0);
        e.encode(&Message::Ack { upto: 1 }, &mut f1);
        e.encode(&Message::Ack { upto: 2 }, &mut f2);
        let mut d = Decoder::new(None);
        d.push(&f0);
        d.push(&f0);
        d.push(&f2);
        let got = decode_all(&mut d);
        assert!(got[0].is_ok());
        assert_eq!(
            got[1],
            Err(FrameError::Replayed {
                expected: 1,
                got: 0
            })
        );
        assert_eq!(
            got[2],
            Err(FrameError::OutOfOrder {
                expected: 1,
                got: 2
            })
        );
        assert!(!got[1].as_ref().unwrap_err().is_fatal());
        assert!(got[2].as_ref().unwrap_err().is_fatal());
    }

    #[test]
    fn oversized_length_breaks_the_stream() {
        let mut d = Decoder::new(None);
        d.push(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
        assert_eq!(
            d.next_frame(),
            Some(Err(FrameError::Oversized(0xffff_ffff)))
        );
        d.push(&[0; 64]);
        assert_eq!(d.next_frame(), None);
        let mut d = Decoder::new(None);
        d.push(&[0, 0, 0, 3]);
        assert_eq!(d.next_frame(), Some(Err(FrameError::Oversized(3))));
    }

    #[test]
    fn truncated_payload_and_partial_frame_at_close() {
        let mut wire = Vec::new();
        Encoder::new(None).encode(&Message::Ack { upto: 1 }, &mut wire);
        // Cut the payload short but keep the length consistent with what is there.
        wire.truncate(wire.len() - 2);
        let len = wire.len() as u32;
        wire[..4].copy_from_slice(&len.to_be_bytes());
        let mut d = Decoder::new(None);
        d.push(&wire);
        assert_eq!(d.next_frame(), Some(Err(FrameError::Truncated)));
        let mut d = Decoder::new(None);
        d.push(&wire[..10]);
        assert_eq!(d.next_frame(), None);
        assert_eq!(d.finish(), Some(FrameError::Truncated));
    }

    #[test]
    fn page_entries_read_back_in_place_and_an_oversized_entry_is_cut() {
        let mut page = super::super::message::PageEntries::new();
        page.push_with(|out| out.extend_from_slice(&[1, 2, 3]));
        page.push_with(|_| {});
        page.push_with(|out| out.resize(out.len() + 70_000, 7));
        assert_eq!(page.len(), 3);
        assert_eq!(page.wire_len(), 2 + 3 + 2 + 2 + 65_535);
        let got: Vec<&[u8]> = page.iter().collect();
        assert_eq!(got[0], &[1, 2, 3]);
        assert!(got[1].is_empty());
        assert_eq!(got[2], &[7; 65_535][..]);
        let mut wire = Vec::new();
        let m = Message::BatchPage {
            service: 1,
            first: 4,
            entries: page,
        };
        Encoder::new(None).encode(&m, &mut wire);
        let mut d = Decoder::new(None);
        d.push(&wire);
        assert_eq!(d.next_frame().unwrap().unwrap().message, m);
    }

    #[test]
    fn a_page_count_larger_than_the_payload_is_truncated() {
        let mut wire = Vec::new();
        let page = Message::BatchPage {
            service: 1,
            first: 0,
            entries: [&[1u8][..]].into_iter().collect(),
        };
        Encoder::new(None).encode(&page, &mut wire);
        // The entry count sits after service(1) and first(8).
        wire[HEADER_LEN + 9..HEADER_LEN + 13].copy_from_slice(&u32::MAX.to_be_bytes());
        let mut d = Decoder::new(None);
        d.push(&wire);
        assert_eq!(d.next_frame(), Some(Err(FrameError::Truncated)));
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        let role = prop_oneof![
            Just(Role::Initialize),
            Just(Role::Master),
            Just(Role::Backup)
        ];
        let bytes = proptest::collection::vec(any::<u8>(), 0..64);
        prop_oneof![
            (
                any::<u32>(),
                any::<u64>(),
                role.clone(),
                any::<[u8; 32]>(),
                proptest::option::of((any::<u64>(), any::<u64>()))
            )
                .prop_map(|(device_id, boot_id, role, config_digest, r)| {
                    Message::Hello(Hello {
                        version: VERSION,
                        device_id,
                        boot_id,
                        role,
                        config_digest,
                        resume: r.map(|(boot, seq)| ResumePoint { boot, seq }),
                    })
                }),
            role.prop_map(|role| Message::Keepalive { role }),
            (any::<u8>(), any::<u64>(), any::<u64>()).prop_map(|(service, from, total)| {
                Message::BatchBegin {
                    service,
                    from,
                    total,
                }
            }),
            (
                any::<u8>(),
                any::<u64>(),
                proptest::collection::vec(bytes.clone(), 0..8)
            )
                .prop_map(|(service, first, entries)| Message::BatchPage {
                    service,
                    first,
                    entries: entries.iter().map(Vec::as_slice).collect(),
                }),
            (any::<u8>(), any::<u64>())
                .prop_map(|(service, upto)| Message::BatchEnd { service, upto }),
            (any::<u8>(), any::<u64>(), any::<bool>(), bytes).prop_map(|(service, seq, up, b)| {
                Message::Update {
                    service,
                    seq,
                    change: if up {
                        WireChange::Upsert(b)
                    } else {
                        WireChange::Remove(b)
                    },
                }
            }),
            any::<u64>().prop_map(|upto| Message::Ack { upto }),
            (any::<u8>(), any::<u64>(), any::<u64>()).prop_map(|(service, from, upto)| {
                Message::Reconcile {
                    service,
                    from,
                    upto,
                }
            }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip_in_any_chunking(
            msgs in proptest::collection::vec(arb_message(), 0..12),
            keyed in any::<bool>(),
            cuts in proptest::collection::vec(1usize..40, 0..64),
        ) {
            let key = keyed.then(|| AuthKey::new(b"proptest"));
            let mut e = Encoder::new(key.clone());
            let mut wire = Vec::new();
            for m in &msgs {
                e.encode(m, &mut wire);
            }
            let mut d = Decoder::new(key);
            let mut got = Vec::new();
            let mut rest = &wire[..];
            for c in cuts.iter().cycle().take(wire.len() + 1) {
                let n = (*c).min(rest.len());
                d.push(&rest[..n]);
                rest = &rest[n..];
                got.extend(decode_all(&mut d).into_iter().map(|f| f.unwrap().message));
                if rest.is_empty() {
                    break;
                }
            }
            d.push(rest);
            got.extend(decode_all(&mut d).into_iter().map(|f| f.unwrap().message));
            prop_assert_eq!(got, msgs);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8),
            keyed in any::<bool>(),
        ) {
            let mut d = Decoder::new(keyed.then(|| AuthKey::new(b"x")));
            for c in &chunks {
                d.push(c);
                let _ = decode_all(&mut d);
            }
            let _ = d.finish();
        }

        #[test]
        fn corrupted_valid_frames_never_panic(
            m in arb_message(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        ) {
            let mut wire = Vec::new();
            Encoder::new(None).encode(&m, &mut wire);
            for (i, x) in flips {
                let i = i % wire.len();
                wire[i] ^= x;
            }
            let mut d = Decoder::new(None);
            d.push(&wire);
            let _ = decode_all(&mut d);
        }
    }
}
