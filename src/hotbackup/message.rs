//! The messages of the hot-backup protocol and their payload encoding (big-endian, every
//! read length-checked). Framing, authentication and sequence checks are in `frame.rs`.

use super::frame::{FrameError, Nonce};
use crate::dhcp::Millis;

/// The VRRP role a device reports for the tracked group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Not master nor backup yet (VRRP Initialize, or no group tracked).
    Initialize,
    Master,
    Backup,
}

impl Role {
    fn code(self) -> u8 {
        match self {
            Role::Initialize => 0,
            Role::Master => 1,
            Role::Backup => 2,
        }
    }
    fn from_code(c: u8) -> Option<Role> {
        Some(match c {
            0 => Role::Initialize,
            1 => Role::Master,
            2 => Role::Backup,
            _ => return None,
        })
    }
}

/// Where the sender's replication stream stands for the receiver: "I hold everything of your
/// stream `boot` up to `seq`".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResumePoint {
    pub boot: u64,
    pub seq: u64,
}

/// The negotiation message, sent on every connection once the peer's challenge arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub version: u8,
    /// The receiver's challenge on this connection (the hello of another connection is a
    /// replay).
    pub answers: Nonce,
    /// The sender's clock (ms since the Unix epoch) when it sent the hello: the receiver
    /// refuses a peer whose clock is too far off (its entries' times would be wrong).
    pub time: Millis,
    pub device_id: u32,
    /// Changes on every start of the sender: a new boot id means its stream starts over.
    pub boot_id: u64,
    pub role: Role,
    /// SHA-256 of the replicated services' configuration (the DHCP pools).
    pub config_digest: [u8; 32],
    /// How much of the receiver's stream the sender already holds, if it holds a complete copy.
    pub resume: Option<ResumePoint>,
}

/// One change of a replicated entry, encoded by its service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireChange {
    Upsert(Vec<u8>),
    Remove(Vec<u8>),
}

/// A frame's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Frame 0 in each direction, never signed: the sender's fresh nonce for this connection.
    Challenge {
        nonce: Nonce,
    },
    Hello(Hello),
    /// Sent every keepalive interval; carries the current VRRP role.
    Keepalive {
        role: Role,
    },
    /// A full table follows: `total` entries, and every update after `from` of the stream.
    BatchBegin {
        service: u8,
        from: u64,
        total: u64,
    },
    /// Entries of the table; `first` is the index of the first one (progress).
    BatchPage {
        service: u8,
        first: u64,
        entries: PageEntries,
    },
    /// The table is complete; with the updates sent so far it holds the stream up to `upto`.
    BatchEnd {
        service: u8,
        upto: u64,
    },
    /// A real-time change, number `seq` of the sender's stream.
    Update {
        service: u8,
        seq: u64,
        change: WireChange,
    },
    /// The receiver applied every change of the sender's stream up to `upto` (cumulative).
    Ack {
        upto: u64,
    },
    /// No batch: the receiver's resume point `from` is still in the sender's resend log; the
    /// updates after it are resent, and the receiver is caught up once it has `upto`.
    Reconcile {
        service: u8,
        from: u64,
        upto: u64,
    },
}

/// Frame type codes.
/// The entries of a batch page as they travel: `count x (len u16, entry)`, kept in one buffer.
/// A page of thousands of entries is built and read in place (one allocation per page, not
/// one per entry); its lengths are checked once, when the page is decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageEntries {
    count: u32,
    bytes: Vec<u8>,
}

impl PageEntries {
    pub fn new() -> PageEntries {
        PageEntries::default()
    }

    /// Append one entry written by `encode` (cut at 65,535 bytes like every length-prefixed
    /// field of the wire; no service entry comes near that).
    pub fn push_with(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        let at = self.bytes.len();
        self.bytes.extend_from_slice(&[0, 0]);
        encode(&mut self.bytes);
        let n = (self.bytes.len() - at - 2).min(u16::MAX as usize);
        self.bytes.truncate(at + 2 + n);
        self.bytes[at..at + 2].copy_from_slice(&(n as u16).to_be_bytes());
        self.count += 1;
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the entries take on the wire (their length fields included).
    pub fn wire_len(&self) -> usize {
        self.bytes.len()
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = &self.bytes[..];
        std::iter::from_fn(move || {
            // Well-formed by construction (push_with) or by the check in `decode`.
            let (len, tail) = rest.split_first_chunk::<2>()?;
            let (entry, tail) = tail.split_at_checked(u16::from_be_bytes(*len) as usize)?;
            rest = tail;
            Some(entry)
        })
    }

    /// `count` entries from the front of `r`, each length checked.
    fn decode(r: &mut Reader<'_>, count: u32) -> Result<PageEntries, FrameError> {
        let start = r.0;
        for _ in 0..count {
            r.bytes()?;
        }
        let used = start.len() - r.0.len();
        Ok(PageEntries {
            count,
            bytes: start[..used].to_vec(),
        })
    }
}

impl<'a> FromIterator<&'a [u8]> for PageEntries {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(iter: I) -> PageEntries {
        let mut p = PageEntries::new();
        for e in iter {
            p.push_with(|out| out.extend_from_slice(e));
        }
        p
    }
}

mod code {
    pub const HELLO: u8 = 1;
    pub const KEEPALIVE: u8 = 2;
    pub const BATCH_BEGIN: u8 = 3;
    pub const BATCH_PAGE: u8 = 4;
    pub const BATCH_END: u8 = 5;
    pub const UPDATE: u8 = 6;
    pub const ACK: u8 = 7;
    pub const RECONCILE: u8 = 8;
    pub const CHALLENGE: u8 = 9;
}

impl Message {
    /// The frame type of a hello (the decoder reads which challenge a hello answers).
    pub(super) const HELLO_CODE: u8 = code::HELLO;

    /// The frame type name used in statistics.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Challenge { .. } => "challenge",
            Message::Hello(_) => "hello",
            Message::Keepalive { .. } => "keepalive",
            Message::BatchBegin { .. } => "batch-begin",
            Message::BatchPage { .. } => "batch-page",
            Message::BatchEnd { .. } => "batch-end",
            Message::Update { .. } => "update",
            Message::Ack { .. } => "ack",
            Message::Reconcile { .. } => "reconcile",
        }
    }

    pub(super) fn code(&self) -> u8 {
        match self {
            Message::Challenge { .. } => code::CHALLENGE,
            Message::Hello(_) => code::HELLO,
            Message::Keepalive { .. } => code::KEEPALIVE,
            Message::BatchBegin { .. } => code::BATCH_BEGIN,
            Message::BatchPage { .. } => code::BATCH_PAGE,
            Message::BatchEnd { .. } => code::BATCH_END,
            Message::Update { .. } => code::UPDATE,
            Message::Ack { .. } => code::ACK,
            Message::Reconcile { .. } => code::RECONCILE,
        }
    }

    pub(super) fn encode_payload(&self, out: &mut Vec<u8>) {
        match self {
            Message::Challenge { nonce } => out.extend_from_slice(nonce),
            Message::Hello(h) => {
                // `answers` right after the version: the decoder finds it at a fixed offset.
                out.push(h.version);
                out.extend_from_slice(&h.answers);
                out.extend_from_slice(&h.time.to_be_bytes());
                out.extend_from_slice(&h.device_id.to_be_bytes());
                out.extend_from_slice(&h.boot_id.to_be_bytes());
                out.push(h.role.code());
                out.extend_from_slice(&h.config_digest);
                match h.resume {
                    None => out.push(0),
                    Some(r) => {
                        out.push(1);
                        out.extend_from_slice(&r.boot.to_be_bytes());
                        out.extend_from_slice(&r.seq.to_be_bytes());
                    }
                }
            }
            Message::Keepalive { role } => out.push(role.code()),
            Message::BatchBegin {
                service,
                from,
                total,
            } => {
                out.push(*service);
                out.extend_from_slice(&from.to_be_bytes());
                out.extend_from_slice(&total.to_be_bytes());
            }
            Message::BatchPage {
                service,
                first,
                entries,
            } => {
                out.push(*service);
                out.extend_from_slice(&first.to_be_bytes());
                out.extend_from_slice(&entries.count.to_be_bytes());
                out.extend_from_slice(&entries.bytes);
            }
            Message::BatchEnd { service, upto } => {
                out.push(*service);
                out.extend_from_slice(&upto.to_be_bytes());
            }
            Message::Update {
                service,
                seq,
                change,
            } => {
                out.push(*service);
                out.extend_from_slice(&seq.to_be_bytes());
                let (op, b) = match change {
                    WireChange::Upsert(b) => (1, b),
                    WireChange::Remove(b) => (2, b),
                };
                out.push(op);
                put_bytes(out, b);
            }
            Message::Ack { upto } => out.extend_from_slice(&upto.to_be_bytes()),
            Message::Reconcile {
                service,
                from,
                upto,
            } => {
                out.push(*service);
                out.extend_from_slice(&from.to_be_bytes());
                out.extend_from_slice(&upto.to_be_bytes());
            }
        }
    }

    pub(super) fn decode_payload(ty: u8, p: &[u8]) -> Result<Message, FrameError> {
        let mut r = Reader(p);
        let m = match ty {
            code::CHALLENGE => Message::Challenge { nonce: r.array()? },
            code::HELLO => {
                let version = r.u8()?;
                let answers = r.array()?;
                let time = r.u64()?;
                let device_id = r.u32()?;
                let boot_id = r.u64()?;
                let role = r.role()?;
                let config_digest = r.array::<32>()?;
                let resume = match r.u8()? {
                    0 => None,
                    1 => Some(ResumePoint {
                        boot: r.u64()?,
                        seq: r.u64()?,
                    }),
                    _ => return Err(FrameError::Malformed("hello resume flag")),
                };
                Message::Hello(Hello {
                    version,
                    answers,
                    time,
                    device_id,
                    boot_id,
                    role,
                    config_digest,
                    resume,
                })
            }
            code::KEEPALIVE => Message::Keepalive { role: r.role()? },
            code::BATCH_BEGIN => Message::BatchBegin {
                service: r.u8()?,
                from: r.u64()?,
                total: r.u64()?,
            },
            code::BATCH_PAGE => {
                let service = r.u8()?;
                let first = r.u64()?;
                let n = r.u32()?;
                // Every entry takes at least its 2-byte length: a count the payload cannot
                // hold is a truncated page, found before anything is walked or allocated.
                if n as usize > r.0.len() / 2 {
                    return Err(FrameError::Truncated);
                }
                Message::BatchPage {
                    service,
                    first,
                    entries: PageEntries::decode(&mut r, n)?,
                }
            }
            code::BATCH_END => Message::BatchEnd {
                service: r.u8()?,
                upto: r.u64()?,
            },
            code::UPDATE => {
                let service = r.u8()?;
                let seq = r.u64()?;
                let op = r.u8()?;
                let b = r.bytes()?.to_vec();
                let change = match op {
                    1 => WireChange::Upsert(b),
                    2 => WireChange::Remove(b),
                    _ => return Err(FrameError::Malformed("update operation")),
                };
                Message::Update {
                    service,
                    seq,
                    change,
                }
            }
            code::ACK => Message::Ack { upto: r.u64()? },
            code::RECONCILE => Message::Reconcile {
                service: r.u8()?,
                from: r.u64()?,
                upto: r.u64()?,
            },
            _ => return Err(FrameError::Malformed("unknown frame type")),
        };
        if !r.0.is_empty() {
            return Err(FrameError::Malformed("trailing bytes in payload"));
        }
        Ok(m)
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    // Entries are small (a lease record is under 600 bytes); the frame limit bounds them.
    let n = u16::try_from(b.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&b[..n as usize]);
}

/// A cursor over a payload; every read checks the length.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.0.len() < n {
            return Err(FrameError::Truncated);
        }
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        Ok(h)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], FrameError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, FrameError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, FrameError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn bytes(&mut self) -> Result<&'a [u8], FrameError> {
        let n = u16::from_be_bytes(self.array()?) as usize;
        self.take(n)
    }
    fn role(&mut self) -> Result<Role, FrameError> {
        Role::from_code(self.u8()?).ok_or(FrameError::Malformed("role"))
    }
}
