//! The sans-IO peer state machine, shaped like quinn-proto: the driver feeds it bytes read
//! from the TCP stream, timeouts, connection up/down, local changes and VRRP role changes, and
//! takes from it bytes to write, the next deadline and events. It never reads a clock or
//! touches a socket.
//!
//! Each device sends its own changes as a numbered stream (`seq` 1, 2, ... per boot) and keeps
//! the last ones in a bounded resend log. On a new connection each side says in its hello how
//! much of the other's stream it holds; the other then resends only the missing changes
//! (`Reconcile`) if its log still has them, or sends its whole table (`BatchBegin` / pages /
//! `BatchEnd`) otherwise. Everything received is merged by the rule in [`super::merge`], so
//! batches in both directions after a split brain leave both devices with the same table.
//!
//! A connection opens with a challenge in each direction (the driver's fresh nonce); the hello
//! goes out once the peer's challenge is in, signed with the connection's key (`frame.rs`), so
//! a recorded session sent again fails at its hello. The hello carries the sender's clock: a
//! peer more than `max_clock_skew` off is refused. Every entry received must be admitted by
//! the replica (in a pool, not from the future) before it is merged.

use std::collections::VecDeque;

use super::frame::{Decoder, Encoder, Nonce, VERSION};
use super::merge::{ReportedConflicts, merge_into};
use super::message::{Hello, Message, PageEntries, ResumePoint, Role, WireChange};
use super::service::{Change, Replica, Service};
use crate::dhcp::Millis;

use super::config::{Mode, SessionConfig};
use super::event::{Event, ProtocolError, SessionError, Unconfirmed};
use super::status::{Phase, Progress, Stats, Status};

/// How far our stream to the peer has got on this connection.
#[derive(Debug)]
enum Outbound<K> {
    /// Waiting for the peer's hello.
    Waiting,
    /// Sending the table: keys taken when the batch began, the next one to send.
    Batch {
        keys: Vec<K>,
        next: usize,
    },
    /// Batch end or reconcile sent; complete once the peer acknowledges `upto`.
    Finishing {
        upto: u64,
        batch: bool,
    },
    Live,
}

/// How far the peer's stream to us has got on this connection.
#[derive(Debug, PartialEq, Eq)]
enum Inbound {
    /// Hello received, waiting for a batch or a reconcile.
    Waiting,
    Batch {
        total: u64,
        received: u64,
    },
    /// Resent updates are coming until `upto`.
    CatchingUp {
        upto: u64,
    },
    Complete,
}

struct Conn<K> {
    dec: Decoder,
    enc: Encoder,
    /// Our challenge on this connection.
    nonce: Nonce,
    /// The peer's challenge arrived and our hello is sent: frames may follow it.
    challenged: bool,
    out: Vec<u8>,
    last_rx: Millis,
    next_keepalive: Millis,
    /// The peer's boot id, once its hello arrived.
    peer: Option<u64>,
    /// When its hello arrived.
    up_since: Millis,
    outbound: Outbound<K>,
    /// The last seq of our stream sent (or covered by the batch) on this connection.
    sent_upto: Option<u64>,
    acked: u64,
    batch_started: Millis,
    inbound: Inbound,
    /// The last seq of the peer's stream applied on this connection.
    in_last: u64,
    /// Positions of the peer's stream applied here and not yet acknowledged, oldest first:
    /// each is acknowledged once the replica has made it durable.
    owed: VecDeque<Owed>,
    /// Entries of the peer applied since the last owed position (a batch under way).
    applied: u64,
    /// Synchronous mode: since when the peer has confirmed none of the held changes (the
    /// first `now` the session saw one waiting, or the last ack that confirmed some).
    ack_wait: Option<Millis>,
    synced: bool,
}

/// A position of the peer's stream to acknowledge once the replica's durable mark reaches
/// `mark` (its applied mark right after the position was applied).
#[derive(Debug)]
struct Owed {
    seq: u64,
    mark: u64,
    /// Entries applied for it (for `display`: the peer's changes not yet saved here).
    entries: u64,
}

impl<K> Conn<K> {
    /// The peer's stream is applied up to `in_last`: acknowledge it once `mark` is durable.
    fn owe_ack(&mut self, mark: u64) {
        self.owed.push_back(Owed {
            seq: self.in_last,
            mark,
            entries: std::mem::take(&mut self.applied),
        });
    }
}

/// A held local change, as [`Event::Unconfirmed`] hands it back if the peer goes down.
struct Pending<S: Service> {
    change: Change<S>,
    new_claim: bool,
}

/// Bytes handed out by one `poll_transmit` call at most (a batch is spread over calls).
const TRANSMIT_CHUNK: usize = 256 * 1024;
/// A batch page ends once its entries take this many bytes (or at `page_size` entries): with
/// one entry of at most 64 KiB on top, a page stays well inside `MAX_FRAME` (1 MiB).
const PAGE_BYTES: usize = 256 * 1024;

/// The hot-backup session with one peer, for service `S`.
pub struct Session<S: Service> {
    cfg: SessionConfig,
    role: Role,
    conn: Option<Conn<S::Key>>,
    /// The last seq given to a local change.
    seq: u64,
    /// Recent local changes, consecutive seqs, oldest first.
    log: VecDeque<(u64, Change<S>)>,
    /// Synchronous mode: (seq, token) of changes sent and not yet acknowledged.
    held: VecDeque<(u64, u64, Pending<S>)>,
    /// How much of the peer's stream this device holds completely.
    resume: Option<ResumePoint>,
    events: VecDeque<Event<S>>,
    stats: Stats,
    ever_up: bool,
    silence_since: Millis,
    partner_down: bool,
    peer_role: Option<Role>,
    peer_device: Option<u32>,
    config_consistent: Option<bool>,
    last_batch_ms: Option<Millis>,
    /// The peer's clock minus ours at its last hello (ms).
    peer_clock_offset: Option<i64>,
    /// Conflicts already reported, so that one seen again is not reported twice.
    reported: ReportedConflicts<S>,
    /// Our versions of the conflicts found, put into the stream for the peer (`merge_entry`)
    /// and not yet acknowledged: (seq, version). A batch skips the log, so a new batch sends
    /// them again.
    notices: Vec<(u64, S::Entry)>,
}

impl<S: Service> Session<S> {
    /// A session in Silence (no connection) at `now`.
    pub fn new(cfg: SessionConfig, now: Millis) -> Session<S> {
        Session {
            cfg,
            role: Role::Initialize,
            conn: None,
            seq: 0,
            log: VecDeque::new(),
            held: VecDeque::new(),
            resume: None,
            events: VecDeque::new(),
            stats: Stats::default(),
            ever_up: false,
            silence_since: now,
            partner_down: false,
            peer_role: None,
            peer_device: None,
            config_consistent: None,
            last_batch_ms: None,
            peer_clock_offset: None,
            reported: ReportedConflicts::default(),
            notices: Vec::new(),
        }
    }

    pub fn phase(&self) -> Phase {
        match &self.conn {
            None => Phase::Silence,
            Some(c) if c.peer.is_none() => Phase::Negotiating,
            Some(c) if c.synced => Phase::RealTime,
            Some(_) => Phase::BatchBackup,
        }
    }

    /// Whether VRRP may let this device preempt (take over as master) now: not while the
    /// peer's table is on its way (negotiating, or its batch or resend not yet applied); with
    /// no connection there is nothing to wait for, and the pool halves keep a split brain
    /// safe.
    pub fn may_preempt(&self) -> bool {
        match &self.conn {
            None => true,
            Some(c) => c.inbound == Inbound::Complete,
        }
    }

    /// Whether new allocations must stay in this device's half of each pool (the DHCP core's
    /// `set_half`): until both tables are reconciled, and while the peer says it is VRRP
    /// master too (a split LAN with the failover link up); not once the partner is declared
    /// down.
    pub fn restrict_to_half(&self) -> bool {
        !self.partner_down
            && (self.phase() != Phase::RealTime || self.peer_role == Some(Role::Master))
    }

    pub fn status(&self) -> Status {
        let (sending, receiving) = match &self.conn {
            Some(c) => (
                match &c.outbound {
                    Outbound::Batch { keys, next } => Some(Progress {
                        done: *next as u64,
                        total: keys.len() as u64,
                    }),
                    _ => None,
                },
                match c.inbound {
                    Inbound::Batch { total, received } => Some(Progress {
                        done: received,
                        total,
                    }),
                    _ => None,
                },
            ),
            None => (None, None),
        };
        Status {
            phase: self.phase(),
            local_role: self.role,
            peer_role: self.peer_role,
            peer_device: self.peer_device,
            sending,
            receiving,
            unacked: self.held.len(),
            peer_up_since: self
                .conn
                .as_ref()
                .filter(|c| c.peer.is_some())
                .map(|c| c.up_since),
            unsaved: self.conn.as_ref().map_or(0, |c| {
                c.applied + c.owed.iter().map(|o| o.entries).sum::<u64>()
            }),
            last_batch_ms: self.last_batch_ms,
            config_consistent: self.config_consistent,
            partner_down: self.partner_down,
            peer_clock_offset: self.peer_clock_offset,
            max_clock_skew: self.cfg.max_clock_skew,
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// `reset hot-backup statistics`.
    pub fn reset_statistics(&mut self) {
        self.stats = Stats::default();
    }

    /// The TCP connection to the peer is up: negotiation starts with our challenge `nonce`,
    /// which must never have been used before (the driver draws it at random); the hello
    /// follows once the peer's challenge is in.
    pub fn handle_connected(&mut self, now: Millis, nonce: Nonce) {
        if self.conn.is_some() {
            self.lose_connection(now);
        }
        let mut c = Conn {
            dec: Decoder::new(self.cfg.key.clone(), nonce),
            // Unsigned until the peer's challenge gives this direction's key.
            enc: Encoder::new(None),
            nonce,
            challenged: false,
            out: Vec::new(),
            last_rx: now,
            next_keepalive: now + self.cfg.keepalive_interval,
            peer: None,
            up_since: now,
            outbound: Outbound::Waiting,
            sent_upto: None,
            acked: 0,
            batch_started: now,
            inbound: Inbound::Waiting,
            in_last: 0,
            owed: VecDeque::new(),
            applied: 0,
            ack_wait: None,
            synced: false,
        };
        send(&mut c, &mut self.stats, &Message::Challenge { nonce });
        self.conn = Some(c);
    }

    /// The TCP connection closed (by the peer, or an error).
    pub fn handle_closed(&mut self, now: Millis) {
        if let Some(c) = &mut self.conn
            && let Some(e) = c.dec.finish()
        {
            self.error(e.into());
        }
        self.lose_connection(now);
    }

    /// The operator says the peer is down (`hot-backup partner-down`): take the whole pool.
    pub fn declare_partner_down(&mut self) {
        if self.phase() != Phase::RealTime {
            self.partner_down = true;
        }
    }

    /// The tracked VRRP group's role changed.
    pub fn handle_role(&mut self, role: Role) {
        if role == self.role {
            return;
        }
        if matches!(
            (self.role, role),
            (Role::Master, Role::Backup) | (Role::Backup, Role::Master)
        ) {
            self.stats.switchovers += 1;
        }
        self.role = role;
        if let Some(c) = &mut self.conn
            && c.peer.is_some()
        {
            send(c, &mut self.stats, &Message::Keepalive { role });
        }
    }

    /// A change made on this device. `token` (increasing: the DHCP event's seq) comes back in
    /// [`Event::Released`] once the change may be answered.
    pub fn handle_local_change(&mut self, token: u64, change: Change<S>) {
        self.local_change(token, change, false);
    }

    /// Like [`Session::handle_local_change`], for a change that claims its key for an owner
    /// that did not hold it here (a new DHCP binding, not a renewal). If the peer goes down
    /// before acknowledging it, [`Event::Unconfirmed`] says so, and the driver may revoke it.
    pub fn handle_new_claim(&mut self, token: u64, change: Change<S>) {
        self.local_change(token, change, true);
    }

    /// Replace every version of `entry`'s key still in the resend log by `entry`, a newer
    /// version. A change withdrawn before the peer confirmed it (a revoked DHCP binding) is
    /// then never resent: a peer that missed it gets the newer version in its place, and its
    /// merge sees no stale claim to report as a conflict. (Versions merge by a per-key
    /// maximum, so receiving the newer one earlier changes nothing else.)
    pub fn supersede(&mut self, entry: &S::Entry) {
        let key = S::key(entry);
        for (_, c) in self.log.iter_mut().filter(|(_, c)| c.key() == key) {
            *c = Change::Upsert(entry.clone());
        }
    }

    fn local_change(&mut self, token: u64, change: Change<S>, new_claim: bool) {
        self.seq += 1;
        let held = self.cfg.mode == Mode::Synchronous
            && self.conn.as_ref().is_some_and(|c| c.peer.is_some());
        if held {
            let pending = Pending {
                change: change.clone(),
                new_claim,
            };
            self.held.push_back((self.seq, token, pending));
        }
        self.log.push_back((self.seq, change));
        if !held {
            self.release(token);
        }
        self.trim_log();
    }

    /// Bytes read from the TCP stream. Entries received are merged into `replica`.
    pub fn handle_bytes<R: Replica<S>>(&mut self, now: Millis, bytes: &[u8], replica: &mut R) {
        self.watch_acks(now);
        let Some(c) = &mut self.conn else { return };
        c.dec.push(bytes);
        loop {
            let Some(c) = &mut self.conn else { return };
            let Some(r) = c.dec.next_frame() else { return };
            let result = match r {
                Ok(f) => {
                    c.last_rx = now;
                    *self
                        .stats
                        .frames_received
                        .entry(f.message.kind())
                        .or_default() += 1;
                    self.handle_message(now, f.message, replica)
                        .map_err(SessionError::from)
                }
                Err(e) => Err(e.into()),
            };
            if let Err(e) = result {
                let fatal = e.is_fatal();
                self.error(e);
                if fatal {
                    self.lose_connection(now);
                    self.events.push_back(Event::Close);
                    return;
                }
            }
        }
    }

    /// Bytes to write to the TCP stream, if any: control frames first, then local changes
    /// not yet sent, then the next batch pages.
    pub fn poll_transmit<R: Replica<S>>(&mut self, replica: &R) -> Option<Vec<u8>> {
        let c = self.conn.as_mut()?;
        // An ack means "durable here": it covers only what the replica has saved (a backup
        // whose disk refuses writes acknowledges nothing, and says so in `status`).
        let durable = replica.durable_mark();
        let mut ack = None;
        while let Some(o) = c.owed.front()
            && o.mark <= durable
        {
            ack = Some(o.seq);
            c.owed.pop_front();
        }
        if let Some(upto) = ack {
            send(c, &mut self.stats, &Message::Ack { upto });
        }
        if let Some(mut upto) = c.sent_upto {
            // Every local change after `sent_upto` is in the log: the log is never trimmed
            // past what a connection has sent.
            while upto < self.seq && c.out.len() < TRANSMIT_CHUNK {
                let front = self.log.front().map_or(self.seq + 1, |e| e.0);
                let Some((seq, change)) = (upto + 1)
                    .checked_sub(front)
                    .and_then(|i| self.log.get(i as usize))
                else {
                    break;
                };
                let change = match change {
                    Change::Upsert(e) => {
                        let mut b = Vec::new();
                        S::encode_entry(e, &mut b);
                        WireChange::Upsert(b)
                    }
                    Change::Remove(k) => {
                        let mut b = Vec::new();
                        S::encode_key(k, &mut b);
                        WireChange::Remove(b)
                    }
                };
                let m = Message::Update {
                    service: S::ID,
                    seq: *seq,
                    change,
                };
                send(c, &mut self.stats, &m);
                self.stats.entries_sent += 1;
                upto = *seq;
            }
            c.sent_upto = Some(upto);
        }
        self.fill_batch(replica);
        let c = self.conn.as_mut()?;
        (!c.out.is_empty()).then(|| std::mem::take(&mut c.out))
    }

    fn fill_batch<R: Replica<S>>(&mut self, replica: &R) {
        let Some(c) = &mut self.conn else { return };
        // Pages only after every pending update is out, so a page never overtakes a change
        // that was made before it was read.
        if c.sent_upto != Some(self.seq) {
            return;
        }
        while c.out.len() < TRANSMIT_CHUNK {
            let Outbound::Batch { keys, next } = &mut c.outbound else {
                return;
            };
            if *next == keys.len() {
                let m = Message::BatchEnd {
                    service: S::ID,
                    upto: self.seq,
                };
                c.outbound = Outbound::Finishing {
                    upto: self.seq,
                    batch: true,
                };
                send(c, &mut self.stats, &m);
                self.stats.batches_sent += 1;
                return;
            }
            let first = *next as u64;
            let mut entries = PageEntries::new();
            let max = self.cfg.page_size.max(1);
            while *next < keys.len() && entries.len() < max && entries.wire_len() < PAGE_BYTES {
                // The entry as it is now; one removed since the batch began is skipped. (A
                // version of ours that a merge replaced went out as an update: `merge_entry`.)
                if let Some(e) = replica.get(&keys[*next]).filter(|e| S::replicated(e)) {
                    entries.push_with(|out| S::encode_entry(e, out));
                }
                *next += 1;
            }
            self.stats.entries_sent += entries.len() as u64;
            let m = Message::BatchPage {
                service: S::ID,
                first,
                entries,
            };
            send(c, &mut self.stats, &m);
        }
    }

    /// When `handle_timeout` next has work.
    pub fn poll_timeout(&self) -> Option<Millis> {
        match &self.conn {
            Some(c) => {
                let dead = self.dead_after();
                let unconfirmed = c.ack_wait.map_or(Millis::MAX, |t| t + dead);
                Some(c.next_keepalive.min(c.last_rx + dead).min(unconfirmed))
            }
            None if !self.partner_down => {
                self.cfg.partner_down_after.map(|d| self.silence_since + d)
            }
            None => None,
        }
    }

    /// Keepalives, the peer-down timer, the ack bound and the partner-down delay.
    pub fn handle_timeout(&mut self, now: Millis) {
        self.watch_acks(now);
        let dead = self.dead_after();
        let interval = self.cfg.keepalive_interval.max(1);
        match &mut self.conn {
            Some(c) if now >= c.last_rx + dead => {
                self.lose_connection(now);
                self.events.push_back(Event::Close);
            }
            // Synchronous mode: a peer that confirms none of the held changes for as long as
            // silence would take to declare it down is treated as down (its disk may refuse
            // writes: it applies but does not acknowledge). The held ACKs are then settled as
            // for any peer loss (`Event::Unconfirmed`) and this device serves alone from its
            // half; the driver reconnects, and the peer is back once it acknowledges again.
            Some(c) if c.ack_wait.is_some_and(|t| now >= t + dead) => {
                let waited = now - c.ack_wait.unwrap_or(now);
                self.stats.ack_timeouts += 1;
                self.events.push_back(Event::AckTimeout {
                    held: self.held.len(),
                    waited,
                });
                self.lose_connection(now);
                self.events.push_back(Event::Close);
            }
            // Nothing but the challenge goes out before the peer's challenge is in.
            Some(c) if !c.challenged => {}
            Some(c) => {
                if now >= c.next_keepalive {
                    send(c, &mut self.stats, &Message::Keepalive { role: self.role });
                    c.next_keepalive = now + interval;
                }
            }
            None => {
                if !self.partner_down
                    && let Some(d) = self.cfg.partner_down_after
                    && now >= self.silence_since + d
                {
                    self.partner_down = true;
                    self.events.push_back(Event::PartnerDown);
                }
            }
        }
    }

    pub fn poll_event(&mut self) -> Option<Event<S>> {
        self.events.pop_front()
    }

    /// Start the ack bound when changes are held for the peer and it is not running yet; stop
    /// it when none is held. Called with every `now` the driver gives, so the bound starts at
    /// most one keepalive interval after the change (the keepalive timer calls at least that
    /// often).
    fn watch_acks(&mut self, now: Millis) {
        if let Some(c) = &mut self.conn {
            if self.held.is_empty() {
                c.ack_wait = None;
            } else if c.ack_wait.is_none() {
                c.ack_wait = Some(now);
            }
        }
    }

    fn dead_after(&self) -> Millis {
        self.cfg.keepalive_interval.max(1) * u64::from(self.cfg.retransmit.max(1))
    }

    fn error(&mut self, e: SessionError) {
        count_error(&mut self.stats, &mut self.events, e);
    }

    fn release(&mut self, token: u64) {
        if let Some(Event::Released { upto }) = self.events.back_mut() {
            *upto = (*upto).max(token);
        } else {
            self.events.push_back(Event::Released { upto: token });
        }
    }

    fn lose_connection(&mut self, now: Millis) {
        let Some(c) = self.conn.take() else { return };
        if c.peer.is_some() {
            self.events.push_back(Event::PeerDown);
            self.peer_role = None;
        }
        // Serving alone now: what waited for the peer is handed back to the driver, which
        // releases or revokes it (the peer may never have seen it).
        if !self.held.is_empty() {
            let changes = self
                .held
                .drain(..)
                .map(|(_, token, p)| Unconfirmed {
                    token,
                    change: p.change,
                    new_claim: p.new_claim,
                })
                .collect();
            self.events.push_back(Event::Unconfirmed(changes));
        }
        self.silence_since = now;
        self.trim_log();
    }

    /// Keep at most `resend_log` changes, but never one a connection has still to send.
    fn trim_log(&mut self) {
        let keep_after = self.conn.as_ref().and_then(|c| c.sent_upto);
        while self.log.len() > self.cfg.resend_log {
            match (self.log.front(), keep_after) {
                (Some(&(seq, _)), Some(sent)) if seq > sent => break,
                _ => {
                    self.log.pop_front();
                }
            }
        }
    }

    fn handle_message<R: Replica<S>>(
        &mut self,
        now: Millis,
        m: Message,
        replica: &mut R,
    ) -> Result<(), ProtocolError> {
        let Some(c) = &mut self.conn else {
            return Ok(());
        };
        let Some(peer_boot) = c.peer else {
            return match m {
                // The decoder lets a challenge through unsigned only as frame 0, a hello only
                // after it; a signed challenge later is out of place.
                Message::Challenge { nonce } if !c.challenged => {
                    self.handle_challenge(now, nonce);
                    Ok(())
                }
                Message::Hello(h) => self.handle_hello(now, h, replica),
                Message::Challenge { .. } => Err(ProtocolError::Unexpected("challenge")),
                other => Err(ProtocolError::BeforeHello(other.kind())),
            };
        };
        // No entry dated after this is admitted (`Replica::admit`).
        let latest = now.saturating_add(self.cfg.max_clock_skew);
        let mut released = None;
        match m {
            Message::Challenge { .. } => return Err(ProtocolError::Unexpected("challenge")),
            Message::Hello(_) => return Err(ProtocolError::DuplicateHello),
            Message::Keepalive { role } => {
                if self.peer_role != Some(role) {
                    self.peer_role = Some(role);
                    self.events.push_back(Event::PeerRole(role));
                }
            }
            Message::BatchBegin {
                service,
                from,
                total,
            } => {
                check_service::<S>(service)?;
                if c.inbound != Inbound::Waiting {
                    return Err(ProtocolError::Unexpected("batch-begin"));
                }
                // Our copy is being replaced: no resume point until the batch is complete.
                self.resume = None;
                replica.reserve(usize::try_from(total).unwrap_or(usize::MAX));
                c.inbound = Inbound::Batch { total, received: 0 };
                c.in_last = from;
            }
            Message::BatchPage {
                service, entries, ..
            } => {
                check_service::<S>(service)?;
                let Inbound::Batch { received, .. } = &mut c.inbound else {
                    return Err(ProtocolError::Unexpected("batch-page"));
                };
                *received += entries.len() as u64;
                c.applied += entries.len() as u64;
                self.stats.entries_received += entries.len() as u64;
                for b in entries.iter() {
                    let e = S::decode_entry(b)?;
                    self.merge_entry(replica, e, now, latest);
                }
            }
            Message::BatchEnd { service, upto } => {
                check_service::<S>(service)?;
                if !matches!(c.inbound, Inbound::Batch { .. }) {
                    return Err(ProtocolError::Unexpected("batch-end"));
                }
                if upto != c.in_last {
                    return Err(ProtocolError::BatchEnd {
                        upto,
                        last: c.in_last,
                    });
                }
                c.inbound = Inbound::Complete;
                c.owe_ack(replica.applied_mark());
                self.resume = Some(ResumePoint {
                    boot: peer_boot,
                    seq: upto,
                });
                self.stats.batches_received += 1;
                self.events.push_back(Event::BatchReceived);
            }
            Message::Reconcile {
                service,
                from,
                upto,
            } => {
                check_service::<S>(service)?;
                let ours = self.resume.filter(|r| r.boot == peer_boot).map(|r| r.seq);
                if c.inbound != Inbound::Waiting || ours != Some(from) || upto < from {
                    return Err(ProtocolError::Unexpected("reconcile"));
                }
                c.in_last = from;
                c.owe_ack(replica.applied_mark());
                if upto == from {
                    c.inbound = Inbound::Complete;
                    self.events.push_back(Event::BatchReceived);
                } else {
                    c.inbound = Inbound::CatchingUp { upto };
                }
            }
            Message::Update {
                service,
                seq,
                change,
            } => {
                check_service::<S>(service)?;
                if c.inbound == Inbound::Waiting {
                    return Err(ProtocolError::Unexpected("update"));
                }
                if seq <= c.in_last {
                    // Already applied (a resend overlapping what arrived): harmless.
                    return Ok(());
                }
                if seq != c.in_last + 1 {
                    return Err(ProtocolError::Gap {
                        last: c.in_last,
                        got: seq,
                    });
                }
                match change {
                    WireChange::Upsert(b) => {
                        let e = S::decode_entry(&b)?;
                        // A refused entry is still acknowledged below (the stream goes on;
                        // the sender has nothing better to send for it).
                        self.merge_entry(replica, e, now, latest);
                    }
                    WireChange::Remove(b) => {
                        let k = S::decode_key(&b)?;
                        if replica.get(&k).is_some() {
                            replica.apply(Change::Remove(k));
                        }
                    }
                }
                // Again: `merge_entry` needed the whole session.
                let Some(c) = &mut self.conn else {
                    return Ok(());
                };
                self.stats.entries_received += 1;
                c.in_last = seq;
                c.applied += 1;
                c.owe_ack(replica.applied_mark());
                match c.inbound {
                    Inbound::Batch { .. } | Inbound::Waiting => {}
                    Inbound::CatchingUp { upto } => {
                        self.resume = Some(ResumePoint {
                            boot: peer_boot,
                            seq,
                        });
                        if seq >= upto {
                            c.inbound = Inbound::Complete;
                            self.events.push_back(Event::BatchReceived);
                        }
                    }
                    Inbound::Complete => {
                        self.resume = Some(ResumePoint {
                            boot: peer_boot,
                            seq,
                        });
                    }
                }
            }
            Message::Ack { upto } => {
                c.acked = c.acked.max(upto);
                self.notices.retain(|&(seq, _)| seq > c.acked);
                while let Some(&(seq, token, _)) = self.held.front() {
                    if seq > c.acked {
                        break;
                    }
                    released = Some(token);
                    self.held.pop_front();
                }
                if released.is_some() {
                    c.ack_wait = (!self.held.is_empty()).then_some(now);
                }
                if let Outbound::Finishing { upto, batch } = c.outbound
                    && c.acked >= upto
                {
                    c.outbound = Outbound::Live;
                    if batch {
                        self.last_batch_ms = Some(now.saturating_sub(c.batch_started));
                    }
                }
            }
        }
        if let Some(t) = released {
            self.release(t);
        }
        self.check_synced();
        Ok(())
    }

    /// Merge an entry the peer sent (a batch entry or an update) if the replica admits it;
    /// a refused one is counted and dropped.
    ///
    /// Both devices report every conflict, naming the same kept and dropped bindings (their
    /// versions may differ by renewals): a device reports it when the peer's version reaches it while it still holds
    /// its own. But what reaches the peer of ours is not always the version that conflicted:
    /// a batch page carries each entry as it is when the page is written, so a device that
    /// took the peer's newer version before its page of that key went out sends the winner
    /// back, and a device that kept its version and changed it since (a release) sends the
    /// change. Either way the peer never sees the pair. So when a merge finds a conflict for
    /// the first time, our version of the pair (the dropped one if we took the peer's, the
    /// kept one otherwise) goes into our stream as an update with no token (never held, never
    /// released), ahead of any later change of the key. The peer's merge then finds the same
    /// conflict and resolves it the same way: an older dropped version changes nothing there,
    /// the kept one is what it would have taken anyway. The peer may see a version twice (in
    /// a page and in this update, or in a batch sent again after a break): a conflict already
    /// reported is not reported, counted or echoed again ([`ReportedConflicts`]).
    ///
    /// Until the peer acknowledges that update, a new batch sends it again (a batch does not
    /// resend the log); a restart forgets it.
    fn merge_entry<R: Replica<S>>(
        &mut self,
        replica: &mut R,
        e: S::Entry,
        now: Millis,
        latest: Millis,
    ) {
        if let Err(why) = replica.admit(&e, latest) {
            count_error(
                &mut self.stats,
                &mut self.events,
                SessionError::Refused(why),
            );
            return;
        }
        let m = merge_into(replica, e);
        let Some(conflict) = m.conflict else { return };
        if !self.reported.first_time(&conflict, now) {
            return;
        }
        let ours = if m.taken {
            &conflict.dropped
        } else {
            &conflict.kept
        };
        self.seq += 1;
        self.log.push_back((self.seq, Change::Upsert(ours.clone())));
        self.notices.push((self.seq, ours.clone()));
        self.trim_log();
        self.stats.conflicts += 1;
        self.events.push_back(Event::Conflict(conflict));
    }

    /// The peer's challenge (frame 0): from now on our frames are signed with this
    /// direction's key of the connection, starting with the hello that answers it.
    fn handle_challenge(&mut self, now: Millis, peer: Nonce) {
        let Some(c) = &mut self.conn else { return };
        let key = self.cfg.key.as_ref().map(|k| k.derive(&c.nonce, &peer));
        c.enc.set_key(key);
        c.challenged = true;
        let hello = Message::Hello(Hello {
            version: VERSION,
            answers: peer,
            time: now,
            device_id: self.cfg.device_id,
            boot_id: self.cfg.boot_id,
            role: self.role,
            config_digest: self.cfg.config_digest,
            resume: self.resume,
        });
        send(c, &mut self.stats, &hello);
    }

    fn handle_hello<R: Replica<S>>(
        &mut self,
        now: Millis,
        h: Hello,
        replica: &R,
    ) -> Result<(), ProtocolError> {
        let Some(c) = &mut self.conn else {
            return Ok(());
        };
        if h.version != VERSION {
            return Err(ProtocolError::Version(h.version));
        }
        // Entry times are compared across the two clocks (merge order, `admit`): refuse a
        // peer too far off, as Kea HA does, and show the offset either way.
        let offset = i128::from(h.time) - i128::from(now);
        let offset = i64::try_from(offset).unwrap_or(if offset > 0 { i64::MAX } else { i64::MIN });
        self.peer_clock_offset = Some(offset);
        if offset.unsigned_abs() > self.cfg.max_clock_skew {
            return Err(ProtocolError::ClockSkew {
                offset,
                limit: self.cfg.max_clock_skew,
            });
        }
        if h.device_id == self.cfg.device_id {
            return Err(ProtocolError::SameDeviceId(h.device_id));
        }
        c.peer = Some(h.boot_id);
        c.up_since = now;
        self.peer_device = Some(h.device_id);
        self.peer_role = Some(h.role);
        let consistent = h.config_digest == self.cfg.config_digest;
        self.config_consistent = Some(consistent);
        if self.ever_up {
            self.stats.reconnects += 1;
        }
        self.ever_up = true;
        self.partner_down = false;
        self.events.push_back(Event::PeerUp {
            device_id: h.device_id,
            role: h.role,
        });
        if !consistent {
            self.events.push_back(Event::ConfigMismatch);
        }
        // Resend only what the peer missed if it holds our stream of this boot up to a point
        // our log still covers; the whole table otherwise.
        let front = self.log.front().map_or(self.seq + 1, |e| e.0);
        let resume = h
            .resume
            .filter(|r| r.boot == self.cfg.boot_id && r.seq <= self.seq && r.seq + 1 >= front);
        c.batch_started = now;
        match resume {
            Some(r) => {
                c.sent_upto = Some(r.seq);
                c.outbound = Outbound::Finishing {
                    upto: self.seq,
                    batch: false,
                };
                let m = Message::Reconcile {
                    service: S::ID,
                    from: r.seq,
                    upto: self.seq,
                };
                send(c, &mut self.stats, &m);
            }
            None => {
                let keys = replica.keys();
                let m = Message::BatchBegin {
                    service: S::ID,
                    from: self.seq,
                    total: keys.len() as u64,
                };
                c.sent_upto = Some(self.seq);
                c.outbound = Outbound::Batch { keys, next: 0 };
                send(c, &mut self.stats, &m);
                // The batch covers the log up to here without resending it: the versions of
                // conflicts the peer has not acknowledged follow as updates, before any page.
                for (seq, e) in &mut self.notices {
                    self.seq += 1;
                    self.log.push_back((self.seq, Change::Upsert(e.clone())));
                    *seq = self.seq;
                }
            }
        }
        Ok(())
    }

    fn check_synced(&mut self) {
        let Some(c) = &mut self.conn else { return };
        if !c.synced && c.inbound == Inbound::Complete && matches!(c.outbound, Outbound::Live) {
            c.synced = true;
            self.events.push_back(Event::Synchronized);
        }
    }
}

fn check_service<S: Service>(id: u8) -> Result<(), ProtocolError> {
    if id == S::ID {
        Ok(())
    } else {
        Err(ProtocolError::Service(id))
    }
}

/// Count a bad frame, violation or refused entry by its reason, and report it.
fn count_error<S: Service>(stats: &mut Stats, events: &mut VecDeque<Event<S>>, e: SessionError) {
    *stats.bad.entry(e.reason()).or_default() += 1;
    events.push_back(Event::Error(e));
}

fn send<K>(c: &mut Conn<K>, stats: &mut Stats, m: &Message) {
    *stats.frames_sent.entry(m.kind()).or_default() += 1;
    c.enc.encode(m, &mut c.out);
}
