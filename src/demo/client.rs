//! A simulated DHCP client: the RFC 2131 client state machine (section 4.4, figure 5) as a
//! sans-IO core. It takes `now` (time since the simulation's epoch) as an argument, returns
//! what to send through [`Client::poll_transmit`] and when to wake through
//! [`Client::poll_timeout`], and records every ACK, NAK and lease expiry it sees
//! ([`ClientEvent`]) so tests can check that no lease is lost and no address is shared.
//! [`super::station`] runs one on the simulated LAN.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::dhcp::options::{MessageType, Options};
use crate::dhcp::packet::{Message, Op};

/// Retransmission timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// The first retransmission delay (RFC 2131 section 4.1: 4 s), doubled on each retry.
    pub first_retransmit: Duration,
    /// The largest retransmission delay (RFC 2131: 64 s).
    pub max_retransmit: Duration,
    /// REQUESTs sent in REQUESTING before starting over with a DISCOVER.
    pub request_attempts: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            first_retransmit: Duration::from_secs(4),
            max_retransmit: Duration::from_secs(64),
            request_attempts: 4,
        }
    }
}

/// The client states of RFC 2131 figure 5 (INIT-REBOOT and REBOOTING are not modelled: a
/// simulated client never reboots).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    Init,
    Selecting,
    Requesting,
    Bound,
    Renewing,
    Rebinding,
}

impl ClientState {
    pub fn name(self) -> &'static str {
        match self {
            ClientState::Init => "INIT",
            ClientState::Selecting => "SELECTING",
            ClientState::Requesting => "REQUESTING",
            ClientState::Bound => "BOUND",
            ClientState::Renewing => "RENEWING",
            ClientState::Rebinding => "REBINDING",
        }
    }
}

/// The lease a client holds, with absolute times since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    pub ip: Ipv4Addr,
    pub server_id: Ipv4Addr,
    /// When the REQUEST that obtained it was first sent (RFC 2131 4.4.1: lease times count
    /// from there).
    pub start: Duration,
    pub t1: Duration,
    pub t2: Duration,
    pub expiry: Duration,
}

/// What happened to a client, for invariant checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// A DHCPACK that bound (or extended) `lease`, received at `at`.
    Ack { at: Duration, lease: Lease },
    /// A DHCPNAK; `held` is the address the client held while it was still valid (a lost
    /// lease), `None` when the NAK answered a fresh REQUEST.
    Nak {
        at: Duration,
        held: Option<Ipv4Addr>,
    },
    /// The lease ran out in REBINDING without any server answering.
    Expired { at: Duration, ip: Ipv4Addr },
}

/// A message to send, with its IP addressing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub src: Ipv4Addr,
    /// 255.255.255.255, or the server (RENEWING).
    pub dst: Ipv4Addr,
    pub bytes: Vec<u8>,
}

/// Why a received datagram was not used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ignored {
    pub undecodable: u64,
    /// Not a reply for this client (other xid or hardware address): normal on a shared LAN.
    pub not_ours: u64,
    /// A reply the current state does not expect (a late duplicate, an offer after choosing).
    pub unexpected: u64,
}

/// One client.
pub struct Client {
    mac: [u8; 6],
    opts: ClientOptions,
    rng: u64,
    state: ClientState,
    xid: u32,
    lease: Option<Lease>,
    /// The offer being requested: (address, server id).
    offer: Option<(Ipv4Addr, Ipv4Addr)>,
    /// When the current exchange's first message went out.
    exchange_start: Duration,
    attempts: u32,
    retransmit_at: Option<Duration>,
    outbox: VecDeque<Transmit>,
    events: Vec<ClientEvent>,
    ignored: Ignored,
}

impl Client {
    /// A client in INIT; `seed` makes its transaction ids and retransmission jitter
    /// reproducible.
    pub fn new(mac: [u8; 6], seed: u64, opts: ClientOptions) -> Client {
        Client {
            mac,
            opts,
            // splitmix-style scramble so neighbouring seeds differ in every bit.
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            state: ClientState::Init,
            xid: 0,
            lease: None,
            offer: None,
            exchange_start: Duration::ZERO,
            attempts: 0,
            retransmit_at: None,
            outbox: VecDeque::new(),
            events: Vec::new(),
            ignored: Ignored::default(),
        }
    }

    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The lease held (BOUND, RENEWING, REBINDING).
    pub fn lease(&self) -> Option<Lease> {
        self.lease
    }

    pub fn ignored(&self) -> Ignored {
        self.ignored
    }

    /// Take the events recorded since the last call.
    pub fn drain_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox.pop_front()
    }

    /// The next time [`Client::handle_timeout`] must run.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let lease_timer = self.lease.and_then(|l| match self.state {
            ClientState::Bound => Some(l.t1),
            ClientState::Renewing => Some(l.t2),
            ClientState::Rebinding => Some(l.expiry),
            _ => None,
        });
        match (self.retransmit_at, lease_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// RFC 2131 section 4.1: the delay doubles per attempt up to the maximum and is randomized
    /// (by +-1 s for the RFC's 4 s; here by +-1/4 of the first delay).
    fn backoff(&mut self) -> Duration {
        let doubled = self
            .opts
            .first_retransmit
            .saturating_mul(1u32 << self.attempts.min(16));
        let base = doubled.min(self.opts.max_retransmit);
        let quarter = (self.opts.first_retransmit / 4).as_micros() as u64;
        if quarter == 0 {
            return base;
        }
        let jitter = Duration::from_micros(self.next_random() % (2 * quarter + 1));
        (base + jitter).saturating_sub(Duration::from_micros(quarter))
    }

    /// Start (or start over) in INIT: send a DISCOVER.
    pub fn start(&mut self, now: Duration) {
        self.lease = None;
        self.offer = None;
        self.state = ClientState::Selecting;
        self.xid = self.next_random() as u32;
        self.exchange_start = now;
        self.attempts = 0;
        self.send_current(now);
    }

    /// A datagram that arrived on UDP port 68.
    pub fn handle_datagram(&mut self, now: Duration, bytes: &[u8]) {
        let Ok(msg) = Message::decode(bytes) else {
            self.ignored.undecodable += 1;
            return;
        };
        if msg.op != Op::Reply || msg.xid != self.xid || msg.hw_addr() != self.mac {
            self.ignored.not_ours += 1;
            return;
        }
        match (self.state, msg.message_type()) {
            // RFC 2131 4.4.1: take the first offer and request it from its server.
            (ClientState::Selecting, Some(MessageType::Offer)) => {
                let Some(server) = msg.options.server_id else {
                    self.ignored.unexpected += 1;
                    return;
                };
                self.offer = Some((msg.yiaddr, server));
                self.state = ClientState::Requesting;
                self.exchange_start = now;
                self.attempts = 0;
                self.send_current(now);
            }
            (ClientState::Requesting, Some(MessageType::Ack)) => {
                let Some((ip, server)) = self.offer else {
                    return;
                };
                // 4.4.1: an ACK from a server other than the chosen one is not ours.
                if msg.yiaddr != ip || msg.options.server_id.is_some_and(|s| s != server) {
                    self.ignored.unexpected += 1;
                    return;
                }
                self.bind(now, &msg, server);
            }
            (ClientState::Renewing | ClientState::Rebinding, Some(MessageType::Ack)) => {
                let Some(held) = self.lease else { return };
                let server = msg.options.server_id.unwrap_or(held.server_id);
                self.bind(now, &msg, server);
            }
            (ClientState::Requesting, Some(MessageType::Nak)) => {
                self.events.push(ClientEvent::Nak {
                    at: now,
                    held: None,
                });
                self.start(now);
            }
            // 4.4.5: a NAK in RENEWING/REBINDING ends the lease at once.
            (ClientState::Renewing | ClientState::Rebinding, Some(MessageType::Nak)) => {
                let held = self.lease.map(|l| l.ip);
                self.events.push(ClientEvent::Nak { at: now, held });
                self.start(now);
            }
            _ => self.ignored.unexpected += 1,
        }
    }

    fn bind(&mut self, now: Duration, msg: &Message, server: Ipv4Addr) {
        let o = &msg.options;
        // RFC 2132 9.2: 0xffffffff is infinite; a year is infinite enough for a simulation.
        let secs = match o.lease_time {
            Some(u32::MAX) | None => 365 * 86400,
            Some(s) => u64::from(s),
        };
        let lease_len = Duration::from_secs(secs);
        // RFC 2131 4.4.5: T1 defaults to 0.5, T2 to 0.875 of the lease.
        let t1 = o
            .renewal_time
            .map(|s| Duration::from_secs(s.into()))
            .unwrap_or(lease_len / 2);
        let t2 = o
            .rebinding_time
            .map(|s| Duration::from_secs(s.into()))
            .unwrap_or(lease_len * 7 / 8);
        let start = self.exchange_start;
        let lease = Lease {
            ip: msg.yiaddr,
            server_id: server,
            start,
            t1: start + t1.min(lease_len),
            t2: start + t2.min(lease_len),
            expiry: start + lease_len,
        };
        self.lease = Some(lease);
        self.offer = None;
        self.state = ClientState::Bound;
        self.retransmit_at = None;
        self.events.push(ClientEvent::Ack { at: now, lease });
    }

    pub fn handle_timeout(&mut self, now: Duration) {
        if let Some(l) = self.lease {
            match self.state {
                // 4.4.5: at T1 renew by unicast to the server that granted the lease.
                ClientState::Bound if now >= l.t1 => {
                    self.state = ClientState::Renewing;
                    self.begin_exchange(now);
                    return;
                }
                // At T2 broadcast to any server.
                ClientState::Renewing if now >= l.t2 => {
                    self.state = ClientState::Rebinding;
                    self.begin_exchange(now);
                    return;
                }
                // At expiry give the address up and start over.
                ClientState::Rebinding if now >= l.expiry => {
                    self.events.push(ClientEvent::Expired { at: now, ip: l.ip });
                    self.start(now);
                    return;
                }
                _ => {}
            }
        }
        if self.retransmit_at.is_some_and(|t| now >= t) {
            self.attempts += 1;
            if self.state == ClientState::Requesting && self.attempts >= self.opts.request_attempts
            {
                self.start(now);
            } else {
                self.send_current(now);
            }
        }
    }

    fn begin_exchange(&mut self, now: Duration) {
        self.xid = self.next_random() as u32;
        self.exchange_start = now;
        self.attempts = 0;
        self.send_current(now);
    }

    /// Send the current state's message and arm its retransmission.
    fn send_current(&mut self, now: Duration) {
        let z = Ipv4Addr::UNSPECIFIED;
        let b = Ipv4Addr::BROADCAST;
        let (kind, ciaddr, requested, server_id, dst) = match (self.state, self.lease, self.offer) {
            (ClientState::Selecting, ..) => (MessageType::Discover, z, None, None, b),
            (ClientState::Requesting, _, Some((ip, server))) => {
                (MessageType::Request, z, Some(ip), Some(server), b)
            }
            (ClientState::Renewing, Some(l), _) => {
                (MessageType::Request, l.ip, None, None, l.server_id)
            }
            (ClientState::Rebinding, Some(l), _) => (MessageType::Request, l.ip, None, None, b),
            _ => return,
        };
        let mut chaddr = [0u8; 16];
        chaddr[..6].copy_from_slice(&self.mac);
        let msg = Message {
            op: Op::Request,
            htype: 1,
            hlen: 6,
            hops: 0,
            xid: self.xid,
            secs: 0,
            flags: 0,
            ciaddr,
            yiaddr: z,
            siaddr: z,
            giaddr: z,
            chaddr,
            sname: vec![],
            file: vec![],
            options: Options {
                message_type: Some(kind),
                requested_ip: requested,
                server_id,
                ..Options::default()
            },
        };
        self.outbox.push_back(Transmit {
            src: ciaddr,
            dst,
            bytes: msg.encode(),
        });
        // 4.4.5: in RENEWING/REBINDING wait half the time left (to T2 or expiry), at least
        // the first retransmission delay (the RFC's 60 s floor scaled to simulated leases).
        let wait = match (self.state, self.lease) {
            (ClientState::Renewing, Some(l)) => {
                ((l.t2.saturating_sub(now)) / 2).max(self.opts.first_retransmit)
            }
            (ClientState::Rebinding, Some(l)) => {
                ((l.expiry.saturating_sub(now)) / 2).max(self.opts.first_retransmit)
            }
            _ => self.backoff(),
        };
        self.retransmit_at = Some(now + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::packet::Message;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 7];
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);
    const IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 20);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn sent(c: &mut Client) -> Message {
        let t = c.poll_transmit().expect("a message to send");
        Message::decode(&t.bytes).expect("valid message")
    }

    fn reply(to: &Message, kind: MessageType, lease: Option<u32>) -> Vec<u8> {
        let mut m = to.clone();
        m.op = Op::Reply;
        m.yiaddr = IP;
        m.options = Options {
            message_type: Some(kind),
            server_id: Some(SERVER),
            lease_time: lease,
            ..Options::default()
        };
        m.encode()
    }

    /// A client bound at time 0 to IP with a 60 s lease.
    fn bound() -> Client {
        let mut c = Client::new(MAC, 1, ClientOptions::default());
        c.start(Duration::ZERO);
        let d = sent(&mut c);
        assert_eq!(d.message_type(), Some(MessageType::Discover));
        c.handle_datagram(Duration::ZERO, &reply(&d, MessageType::Offer, Some(60)));
        let r = sent(&mut c);
        assert_eq!(r.message_type(), Some(MessageType::Request));
        assert_eq!(
            (r.options.server_id, r.options.requested_ip),
            (Some(SERVER), Some(IP))
        );
        c.handle_datagram(Duration::ZERO, &reply(&r, MessageType::Ack, Some(60)));
        assert_eq!(c.state(), ClientState::Bound);
        c
    }

    #[test]
    fn dora_then_renew_at_t1_by_unicast() {
        let mut c = bound();
        let ev = c.drain_events();
        assert!(matches!(ev[..], [ClientEvent::Ack { lease, .. }] if lease.ip == IP));
        assert_eq!(c.poll_timeout(), Some(secs(30)));
        c.handle_timeout(secs(30));
        assert_eq!(c.state(), ClientState::Renewing);
        let t = c.poll_transmit().unwrap();
        assert_eq!((t.src, t.dst), (IP, SERVER));
        let r = Message::decode(&t.bytes).unwrap();
        assert_eq!((r.ciaddr, r.options.server_id), (IP, None));
        c.handle_datagram(secs(30), &reply(&r, MessageType::Ack, Some(60)));
        assert_eq!(c.state(), ClientState::Bound);
        assert_eq!(c.lease().unwrap().expiry, secs(90));
    }

    #[test]
    fn silence_leads_to_rebinding_then_expiry_and_a_new_discover() {
        let mut c = bound();
        c.drain_events();
        c.handle_timeout(secs(30));
        // Renewal retransmissions: half the time to T2 (52.5 s), at least 4 s.
        let mut now = secs(30);
        while c.state() == ClientState::Renewing {
            assert!(c.poll_transmit().is_some());
            now = c.poll_timeout().unwrap();
            c.handle_timeout(now);
        }
        assert_eq!(c.state(), ClientState::Rebinding);
        assert_eq!(now, Duration::from_millis(52_500));
        assert_eq!(c.poll_transmit().unwrap().dst, Ipv4Addr::BROADCAST);
        while c.state() == ClientState::Rebinding {
            now = c.poll_timeout().unwrap();
            c.handle_timeout(now);
        }
        assert_eq!(now, secs(60));
        assert_eq!(c.state(), ClientState::Selecting);
        assert_eq!(
            c.drain_events(),
            [ClientEvent::Expired {
                at: secs(60),
                ip: IP
            }]
        );
        while c.poll_transmit().is_some() {}
        assert_eq!(c.lease(), None);
    }

    #[test]
    fn nak_in_renewing_is_recorded_as_a_lost_lease() {
        let mut c = bound();
        c.drain_events();
        c.handle_timeout(secs(30));
        let r = sent(&mut c);
        c.handle_datagram(secs(31), &reply(&r, MessageType::Nak, None));
        assert_eq!(
            c.drain_events(),
            [ClientEvent::Nak {
                at: secs(31),
                held: Some(IP)
            }]
        );
        assert_eq!(sent(&mut c).message_type(), Some(MessageType::Discover));
    }

    #[test]
    fn discover_backs_off_exponentially_with_bounded_jitter() {
        let mut c = Client::new(MAC, 9, ClientOptions::default());
        c.start(Duration::ZERO);
        let mut last = Duration::ZERO;
        for expect in [4u64, 8, 16, 32, 64, 64] {
            let _ = c.poll_transmit().unwrap();
            let at = c.poll_timeout().unwrap();
            let gap = at - last;
            assert!(
                gap >= secs(expect) - secs(1) && gap <= secs(expect) + secs(1),
                "{gap:?} vs {expect}"
            );
            last = at;
            c.handle_timeout(at);
        }
    }

    #[test]
    fn replies_for_other_clients_and_garbage_are_ignored() {
        let mut c = Client::new(MAC, 3, ClientOptions::default());
        c.start(Duration::ZERO);
        let d = sent(&mut c);
        let mut other = d.clone();
        other.chaddr[5] = 9;
        c.handle_datagram(Duration::ZERO, &reply(&other, MessageType::Offer, Some(60)));
        c.handle_datagram(Duration::ZERO, b"\x02\x01junk");
        let mut late = d.clone();
        late.xid ^= 1;
        c.handle_datagram(Duration::ZERO, &reply(&late, MessageType::Offer, Some(60)));
        assert_eq!(c.state(), ClientState::Selecting);
        let i = c.ignored();
        assert_eq!((i.not_ours, i.undecodable), (2, 1));
    }

    #[test]
    fn requesting_gives_up_after_its_attempts() {
        let mut c = Client::new(MAC, 4, ClientOptions::default());
        c.start(Duration::ZERO);
        let d = sent(&mut c);
        c.handle_datagram(Duration::ZERO, &reply(&d, MessageType::Offer, Some(60)));
        for _ in 0..4 {
            assert_eq!(sent(&mut c).message_type(), Some(MessageType::Request));
            let t = c.poll_timeout().unwrap();
            c.handle_timeout(t);
        }
        assert_eq!(c.state(), ClientState::Selecting);
        assert_eq!(sent(&mut c).message_type(), Some(MessageType::Discover));
    }
}
