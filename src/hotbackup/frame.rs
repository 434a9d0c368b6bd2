//! The hot-backup wire format: length-prefixed frames over one TCP stream, each with a version,
//! a type, a per-connection sequence number and, when a key is configured, an HMAC-SHA256
//! trailer around a [`Message`]; and a streaming decoder that takes arbitrary byte chunks and
//! yields frames or typed errors. Layouts are drawn in docs/hot-backup-protocol.md.
//!
//! Each direction of a connection opens with a challenge (a fresh nonce, frame 0, never
//! signed); every later frame is signed with a key derived from the configured secret and both
//! challenges ([`AuthKey::derive`]), so frames recorded on another connection never verify on
//! this one: a replay fails at its first authenticated frame, the hello.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use thiserror::Error;

use super::message::Message;

/// The protocol version this code speaks (frame header and hello). Version 2 added the DHCP
/// entry state 5 (removed: a tombstone), which a version 1 peer would reject as a bad entry.
/// Version 3 opens each direction with a challenge and signs every later frame with a key of
/// that connection, and its hello carries the sender's clock.
pub const VERSION: u8 = 3;
/// Bytes before the payload: length(4) version(1) type(1) flags(1) reserved(1) seq(8).
pub const HEADER_LEN: usize = 16;
/// The HMAC-SHA256 trailer.
pub const MAC_LEN: usize = 32;
/// The largest frame accepted (length field included); a bigger length means a broken or
/// hostile stream, and the connection is dropped since the next frame boundary is lost.
pub const MAX_FRAME: usize = 1 << 20;
/// `flags` bit: an HMAC trailer follows the payload.
const FLAG_MAC: u8 = 0x01;

/// A connection's challenge: 16 bytes the driver draws at random for each connection. Only
/// uniqueness matters for replay protection: a nonce never used before makes keys never
/// used before.
pub type Nonce = [u8; 16];
/// Byte offset, in a hello frame, of the nonce the hello answers (after the version byte).
const HELLO_ANSWERS: usize = HEADER_LEN + 1;
/// Domain separation of the connection keys from any other use of the secret.
const KEY_LABEL: &[u8] = b"duet hot-backup v3 direction key";

type HmacSha256 = Hmac<Sha256>;

/// The shared secret of `authentication-key`, or a key derived from it, ready to sign and
/// verify.
#[derive(Clone)]
pub struct AuthKey(HmacSha256);

impl AuthKey {
    pub fn new(secret: &[u8]) -> AuthKey {
        // HMAC takes keys of any length (RFC 2104 section 3): this cannot fail.
        AuthKey(HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!()))
    }

    /// The key that signs the frames `sender` sends to `receiver` on one connection:
    /// HMAC-SHA256(secret, label || sender's challenge || receiver's challenge). Each side's
    /// fresh challenge makes the key new on every connection, so nothing recorded on another
    /// connection verifies; the order makes the two directions' keys differ, so a device's
    /// own frames reflected back to it do not verify either.
    pub fn derive(&self, sender: &Nonce, receiver: &Nonce) -> AuthKey {
        let mut m = self.0.clone();
        m.update(KEY_LABEL);
        m.update(sender);
        m.update(receiver);
        AuthKey::new(&m.finalize().into_bytes())
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
    /// A hello that answers another connection's challenge: a recorded session sent again.
    #[error("hello of another connection (a recorded session sent again)")]
    ReplayedSession,
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
            FrameError::ReplayedSession => "replayed-session",
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
    /// An encoder that signs with `key` (none: frames go unsigned).
    pub fn new(key: Option<AuthKey>) -> Encoder {
        Encoder { key, next_seq: 0 }
    }

    /// Sign the frames from now on with `key`: the connection's key for this direction, once
    /// the peer's challenge is known.
    pub fn set_key(&mut self, key: Option<AuthKey>) {
        self.key = key;
    }

    /// Append one frame holding `msg` to `out`. A challenge is never signed: it is what the
    /// keys are derived from.
    pub fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) {
        let key = self
            .key
            .as_ref()
            .filter(|_| !matches!(msg, Message::Challenge { .. }));
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        out.push(VERSION);
        out.push(msg.code());
        out.push(if key.is_some() { FLAG_MAC } else { 0 });
        out.push(0);
        out.extend_from_slice(&self.next_seq.to_be_bytes());
        msg.encode_payload(out);
        let len = out.len() - start + key.map_or(0, |_| MAC_LEN);
        out[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
        if let Some(k) = key {
            let tag = k.sign(&out[start..]);
            out.extend_from_slice(&tag);
        }
        self.next_seq += 1;
    }
}

/// What a decoder knows of the connection's authentication.
#[derive(Debug)]
struct Auth {
    /// The configured secret (`authentication-key`), if any.
    secret: Option<AuthKey>,
    /// Our challenge on this connection.
    local: Nonce,
    /// The peer's challenge, once frame 0 arrived.
    peer: Option<Nonce>,
    /// The key the peer's frames after its challenge are signed with.
    key: Option<AuthKey>,
}

/// A streaming decoder: `push` bytes as they arrive, then call `next` until it returns `None`.
/// Frame 0 must be the peer's challenge, frame 1 a hello answering ours (see
/// [`Decoder::new`]).
#[derive(Debug)]
pub struct Decoder {
    auth: Auth,
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    pos: usize,
    next_seq: u64,
    /// Set after an oversized length: the frame boundaries are lost.
    broken: bool,
}

impl Decoder {
    /// A decoder for one connection on which we sent the challenge `local`, with the
    /// configured secret `secret`. The peer's frame 0 must be its challenge (unsigned); every
    /// later frame must be signed with the key derived from both challenges, and frame 1 must
    /// be a hello that answers `local`.
    pub fn new(secret: Option<AuthKey>, local: Nonce) -> Decoder {
        Decoder {
            auth: Auth {
                secret,
                local,
                peer: None,
                key: None,
            },
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
            &mut self.auth,
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
fn parse(auth: &mut Auth, next_seq: &mut u64, frame: &[u8]) -> Result<Frame, FrameError> {
    if *next_seq == 0 {
        return parse_challenge(auth, next_seq, frame);
    }
    let (version, ty, flags) = (frame[4], frame[5], frame[6]);
    // Authenticate before looking at anything else the frame says.
    let body = match (&auth.key, flags & FLAG_MAC != 0) {
        (Some(k), true) => {
            if frame.len() < HEADER_LEN + MAC_LEN {
                return Err(FrameError::Truncated);
            }
            let (body, tag) = frame.split_at(frame.len() - MAC_LEN);
            if !k.verify(body, tag) {
                return Err(misfit_hello(auth, *next_seq, ty, body, tag));
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
    // The hello must answer our challenge. With a key, a hello that verifies always does (its
    // key is derived from our challenge); without one, this still turns away a replay of an
    // unauthenticated session.
    if let Message::Hello(h) = &message
        && h.answers != auth.local
    {
        return Err(FrameError::ReplayedSession);
    }
    *next_seq += 1;
    Ok(Frame { seq, message })
}

/// Frame 0: the peer's challenge, unsigned. Its nonce and ours give the key of the peer's
/// later frames.
fn parse_challenge(auth: &mut Auth, next_seq: &mut u64, frame: &[u8]) -> Result<Frame, FrameError> {
    let (version, ty, flags) = (frame[4], frame[5], frame[6]);
    if version != VERSION {
        return Err(FrameError::WrongVersion(version));
    }
    let seq = u64::from_be_bytes(frame[8..16].try_into().unwrap_or_default());
    if flags & FLAG_MAC != 0 || seq != 0 {
        return Err(FrameError::Malformed(
            "a connection must open with a challenge",
        ));
    }
    let message = Message::decode_payload(ty, &frame[HEADER_LEN..])?;
    let Message::Challenge { nonce } = message else {
        return Err(FrameError::Malformed(
            "a connection must open with a challenge",
        ));
    };
    auth.peer = Some(nonce);
    auth.key = auth.secret.as_ref().map(|s| s.derive(&nonce, &auth.local));
    *next_seq = 1;
    Ok(Frame { seq, message })
}

/// Why a frame failed authentication. Frame 1 is the peer's hello, which names the challenge
/// it answers: if that is not ours and the frame verifies under the key of the challenge it
/// names, it is a genuine hello of another connection, a recorded session sent again
/// (`replayed-session`); anything else is a wrong key.
fn misfit_hello(auth: &Auth, seq: u64, ty: u8, body: &[u8], tag: &[u8]) -> FrameError {
    let answers = body
        .get(HELLO_ANSWERS..HELLO_ANSWERS + 16)
        .and_then(|b| Nonce::try_from(b).ok());
    match (
        seq,
        ty == Message::HELLO_CODE,
        answers,
        &auth.secret,
        auth.peer,
    ) {
        (1, true, Some(answers), Some(secret), Some(peer))
            if answers != auth.local && secret.derive(&peer, &answers).verify(body, tag) =>
        {
            FrameError::ReplayedSession
        }
        _ => FrameError::WrongKey,
    }
}

#[cfg(test)]
mod tests {
    use super::super::message::{Hello, ResumePoint, Role, WireChange};
    use super::*;
    use proptest::prelude::*;

    /// Our challenge (the decoder's side) and the peer's (the encoder's side).
    const LOCAL: Nonce = [1; 16];
    const PEER: Nonce = [2; 16];

    /// The peer's end of a connection: its challenge written to `wire`, then an encoder that
    /// signs with its direction's key.
    fn peer(secret: Option<&AuthKey>, wire: &mut Vec<u8>) -> Encoder {
        peer_of(secret, PEER, LOCAL, wire)
    }

    fn peer_of(secret: Option<&AuthKey>, own: Nonce, ours: Nonce, wire: &mut Vec<u8>) -> Encoder {
        let mut e = Encoder::new(None);
        e.encode(&Message::Challenge { nonce: own }, wire);
        e.set_key(secret.map(|k| k.derive(&own, &ours)));
        e
    }

    fn decoder(secret: Option<AuthKey>) -> Decoder {
        Decoder::new(secret, LOCAL)
    }

    fn challenge() -> Message {
        Message::Challenge { nonce: PEER }
    }

    fn hello() -> Message {
        hello_answering(LOCAL)
    }

    fn hello_answering(answers: Nonce) -> Message {
        Message::Hello(Hello {
            version: VERSION,
            answers,
            time: 1_796_000_000_000,
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
            let mut wire = Vec::new();
            let mut e = peer(key.as_ref(), &mut wire);
            for m in all_kinds() {
                e.encode(&m, &mut wire);
            }
            let mut d = decoder(key);
            d.push(&wire);
            let got: Vec<_> = decode_all(&mut d).into_iter().map(|f| f.unwrap()).collect();
            let mut want = vec![challenge()];
            want.extend(all_kinds());
            assert_eq!(
                got.iter().map(|f| f.message.clone()).collect::<Vec<_>>(),
                want
            );
            assert_eq!(
                got.iter().map(|f| f.seq).collect::<Vec<_>>(),
                (0..10).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn byte_at_a_time_decodes_the_same() {
        let key = AuthKey::new(b"k");
        let mut wire = Vec::new();
        let mut e = peer(Some(&key), &mut wire);
        for m in all_kinds() {
            e.encode(&m, &mut wire);
        }
        let mut d = decoder(Some(key));
        let mut got = Vec::new();
        for b in &wire {
            d.push(std::slice::from_ref(b));
            got.extend(decode_all(&mut d));
        }
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(Result::is_ok));
        assert_eq!(d.pending(), 0);
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn wrong_key_missing_key_and_unexpected_key_are_rejected() {
        let a = AuthKey::new(b"a");
        let mut wire = Vec::new();
        peer(Some(&a), &mut wire).encode(&hello(), &mut wire);
        for other in [Some(AuthKey::new(b"b")), None] {
            let mut d = decoder(other);
            d.push(&wire);
            assert_eq!(
                d.next_frame(),
                Some(Ok(Frame {
                    seq: 0,
                    message: challenge()
                }))
            );
            assert_eq!(d.next_frame(), Some(Err(FrameError::WrongKey)));
        }
        let mut plain = Vec::new();
        peer(None, &mut plain).encode(&hello(), &mut plain);
        let mut d = decoder(Some(a));
        d.push(&plain);
        assert!(matches!(d.next_frame(), Some(Ok(_))));
        assert_eq!(d.next_frame(), Some(Err(FrameError::WrongKey)));
    }

    #[test]
    fn a_flipped_bit_fails_authentication() {
        let key = AuthKey::new(b"a");
        let mut wire = Vec::new();
        let mut e = peer(Some(&key), &mut wire);
        let at = wire.len();
        e.encode(&Message::Ack { upto: 1 }, &mut wire);
        wire[at + 17] ^= 1;
        let mut d = decoder(Some(key));
        d.push(&wire);
        assert!(matches!(d.next_frame(), Some(Ok(_))));
        assert_eq!(d.next_frame(), Some(Err(FrameError::WrongKey)));
    }

    #[test]
    fn a_recorded_connection_fails_at_its_hello_with_or_without_a_key() {
        // Recorded on an earlier connection, where our challenge was OLD.
        const OLD: Nonce = [9; 16];
        for key in [Some(AuthKey::new(b"k")), None] {
            let mut capture = Vec::new();
            let mut e = peer_of(key.as_ref(), PEER, OLD, &mut capture);
            e.encode(&hello_answering(OLD), &mut capture);
            e.encode(&Message::Keepalive { role: Role::Master }, &mut capture);
            let mut d = decoder(key);
            d.push(&capture);
            assert_eq!(
                d.next_frame(),
                Some(Ok(Frame {
                    seq: 0,
                    message: challenge()
                }))
            );
            assert_eq!(d.next_frame(), Some(Err(FrameError::ReplayedSession)));
            assert!(FrameError::ReplayedSession.is_fatal());
            assert_eq!(FrameError::ReplayedSession.reason(), "replayed-session");
        }
    }

    #[test]
    fn our_own_frames_reflected_back_do_not_verify() {
        let key = AuthKey::new(b"k");
        let mut wire = Vec::new();
        // The peer's challenge, then frames signed with the key of *our* direction.
        let mut e = peer(None, &mut wire);
        e.set_key(Some(key.derive(&LOCAL, &PEER)));
        e.encode(&hello(), &mut wire);
        let mut d = decoder(Some(key));
        d.push(&wire);
        assert!(matches!(d.next_frame(), Some(Ok(_))));
        assert_eq!(d.next_frame(), Some(Err(FrameError::WrongKey)));
    }

    #[test]
    fn a_connection_must_open_with_an_unsigned_challenge() {
        let key = AuthKey::new(b"k");
        for first in [hello(), Message::Ack { upto: 0 }] {
            let mut wire = Vec::new();
            Encoder::new(Some(key.clone())).encode(&first, &mut wire);
            let mut d = decoder(Some(key.clone()));
            d.push(&wire);
            assert!(matches!(
                d.next_frame(),
                Some(Err(FrameError::Malformed(_)))
            ));
        }
    }

    #[test]
    fn wrong_version_is_reported() {
        let mut wire = Vec::new();
        peer(None, &mut wire);
        assert_eq!(wire[4], 3);
        // A peer still speaking version 2 (no challenge, sessions replayable) is refused.
        wire[4] = 2;
        let mut d = decoder(None);
        d.push(&wire);
        assert_eq!(d.next_frame(), Some(Err(FrameError::WrongVersion(2))));
    }

    #[test]
    fn replayed_and_out_of_order_frames_are_rejected() {
        let mut c = Vec::new();
        let mut e = peer(None, &mut c);
        let (mut f1, mut f2, mut f3) = (Vec::new(), Vec::new(), Vec::new());
        e.encode(&Message::Ack { upto: 0 }, &mut f1);
        e.encode(&Message::Ack { upto: 1 }, &mut f2);
        e.encode(&Message::Ack { upto: 2 }, &mut f3);
        let mut d = decoder(None);
        d.push(&c);
        d.push(&f1);
        d.push(&f1);
        d.push(&f3);
        let got = decode_all(&mut d);
        assert!(got[0].is_ok() && got[1].is_ok());
        let got = &got[1..];
        assert_eq!(
            got[1],
            Err(FrameError::Replayed {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            got[2],
            Err(FrameError::OutOfOrder {
                expected: 2,
                got: 3
            })
        );
        assert!(!got[1].as_ref().unwrap_err().is_fatal());
        assert!(got[2].as_ref().unwrap_err().is_fatal());
    }

    #[test]
    fn oversized_length_breaks_the_stream() {
        let mut d = decoder(None);
        d.push(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
        assert_eq!(
            d.next_frame(),
            Some(Err(FrameError::Oversized(0xffff_ffff)))
        );
        d.push(&[0; 64]);
        assert_eq!(d.next_frame(), None);
        let mut d = decoder(None);
        d.push(&[0, 0, 0, 3]);
        assert_eq!(d.next_frame(), Some(Err(FrameError::Oversized(3))));
    }

    #[test]
    fn truncated_payload_and_partial_frame_at_close() {
        let mut c = Vec::new();
        let mut wire = Vec::new();
        peer(None, &mut c).encode(&Message::Ack { upto: 1 }, &mut wire);
        // Cut the payload short but keep the length consistent with what is there.
        wire.truncate(wire.len() - 2);
        let len = wire.len() as u32;
        wire[..4].copy_from_slice(&len.to_be_bytes());
        let mut d = decoder(None);
        d.push(&c);
        d.push(&wire);
        assert!(matches!(d.next_frame(), Some(Ok(_))));
        assert_eq!(d.next_frame(), Some(Err(FrameError::Truncated)));
        let mut d = decoder(None);
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
        peer(None, &mut wire).encode(&m, &mut wire);
        let mut d = decoder(None);
        d.push(&wire);
        assert_eq!(d.next_frame().unwrap().unwrap().message, challenge());
        assert_eq!(d.next_frame().unwrap().unwrap().message, m);
    }

    #[test]
    fn a_page_count_larger_than_the_payload_is_truncated() {
        let mut c = Vec::new();
        let mut wire = Vec::new();
        let page = Message::BatchPage {
            service: 1,
            first: 0,
            entries: [&[1u8][..]].into_iter().collect(),
        };
        peer(None, &mut c).encode(&page, &mut wire);
        // The entry count sits after service(1) and first(8).
        wire[HEADER_LEN + 9..HEADER_LEN + 13].copy_from_slice(&u32::MAX.to_be_bytes());
        let mut d = decoder(None);
        d.push(&c);
        d.push(&wire);
        assert!(matches!(d.next_frame(), Some(Ok(_))));
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
                proptest::option::of((any::<u64>(), any::<u64>())),
                any::<u64>(),
            )
                .prop_map(|(device_id, boot_id, role, config_digest, r, time)| {
                    Message::Hello(Hello {
                        version: VERSION,
                        answers: LOCAL,
                        time,
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
            let mut wire = Vec::new();
            let mut e = peer(key.as_ref(), &mut wire);
            for m in &msgs {
                e.encode(m, &mut wire);
            }
            let mut msgs = msgs;
            msgs.insert(0, challenge());
            let mut d = decoder(key);
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
            let mut d = decoder(keyed.then(|| AuthKey::new(b"x")));
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
            peer(None, &mut wire).encode(&m, &mut wire);
            for (i, x) in flips {
                let i = i % wire.len();
                wire[i] ^= x;
            }
            let mut d = decoder(None);
            d.push(&wire);
            let _ = decode_all(&mut d);
        }
    }
}
