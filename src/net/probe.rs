//! One ICMP echo probe at a time, for `ping` and `tracert`: on Linux through a raw ICMP socket
//! in the device's network namespace (the process's), on the simulated LAN from its topology.
//! The commands (src/system/ping.rs) format what [`Prober::probe`] reports.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::icmp::{self, Answer};
use super::sim::{Lan, NodeId};

/// One echo request to send.
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    pub dst: Ipv4Addr,
    /// `-a SOURCE`: the source address (one of the device's).
    pub source: Option<Ipv4Addr>,
    pub ttl: u8,
    /// Bytes of data after the ICMP header (`-s SIZE`).
    pub data_len: usize,
    /// How long to wait for the answer (`-t TIMEOUT`).
    pub timeout: Duration,
    pub id: u16,
    pub seq: u16,
}

/// What came back.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Reply {
        from: Ipv4Addr,
        ttl: u8,
        data_len: usize,
        rtt: Duration,
    },
    TimeExceeded {
        from: Ipv4Addr,
        rtt: Duration,
    },
    Unreachable {
        from: Ipv4Addr,
        code: u8,
        rtt: Duration,
    },
    /// Nothing within the timeout.
    Timeout,
    /// The user stopped the wait (Ctrl+C).
    Stopped,
}

/// Why a probe could not be sent. The text is what the user sees.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("The source address {0} is not an address of this device.")]
    NotLocal(Ipv4Addr),
    #[error("Cannot open an ICMP socket: {0}.")]
    Socket(std::io::Error),
    #[error("Cannot send to {0}: {1}.")]
    Send(Ipv4Addr, std::io::Error),
    #[error("The device's network is not running.")]
    NoNetwork,
}

/// Sends one probe and waits for its answer; `stop` is asked now and then while waiting.
pub trait Prober {
    fn probe(
        &mut self,
        probe: &Probe,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<Outcome, ProbeError>;
}

/// How often a wait looks at `stop`.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Probes through a raw IPv4 ICMP socket (root or CAP_NET_RAW), opened once per command.
pub struct LinuxProber {
    socket: Socket,
    bound: Option<Ipv4Addr>,
}

impl LinuxProber {
    pub fn new() -> Result<Self, ProbeError> {
        let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
            .map_err(ProbeError::Socket)?;
        Ok(LinuxProber {
            socket,
            bound: None,
        })
    }
}

impl Prober for LinuxProber {
    fn probe(
        &mut self,
        probe: &Probe,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<Outcome, ProbeError> {
        if let Some(source) = probe.source
            && self.bound != Some(source)
        {
            self.socket
                .bind(&SocketAddrV4::new(source, 0).into())
                .map_err(|e| match e.raw_os_error() {
                    Some(libc::EADDRNOTAVAIL) => ProbeError::NotLocal(source),
                    _ => ProbeError::Socket(e),
                })?;
            self.bound = Some(source);
        }
        self.socket
            .set_ttl_v4(u32::from(probe.ttl))
            .map_err(ProbeError::Socket)?;
        let packet = icmp::echo_request(probe.id, probe.seq, probe.data_len);
        let sent = Instant::now();
        let deadline = sent + probe.timeout;
        if let Err(e) = self
            .socket
            .send_to(&packet, &SocketAddrV4::new(probe.dst, 0).into())
        {
            // No route, or the neighbour never answered ARP: the request is lost, as a
            // timeout says on Comware.
            return match e.raw_os_error() {
                Some(libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EHOSTDOWN) => {
                    Ok(Outcome::Timeout)
                }
                _ => Err(ProbeError::Send(probe.dst, e)),
            };
        }
        let mut buf = [0u8; 65536];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(Outcome::Timeout);
            }
            if stop() {
                return Ok(Outcome::Stopped);
            }
            let wait = (deadline - now).min(STOP_CHECK);
            self.socket
                .set_read_timeout(Some(wait))
                .map_err(ProbeError::Socket)?;
            let n = match (&self.socket).read(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(ProbeError::Socket(e)),
            };
            // Every raw ICMP socket sees every ICMP message: keep only answers to this probe.
            let Some(answer) = icmp::parse(&buf[..n]) else {
                continue;
            };
            if answer.request() != (probe.id, probe.seq) {
                continue;
            }
            let rtt = sent.elapsed();
            return Ok(match answer {
                Answer::Reply {
                    from,
                    ttl,
                    data_len,
                    ..
                } => {
                    if from != probe.dst {
                        continue;
                    }
                    Outcome::Reply {
                        from,
                        ttl,
                        data_len,
                        rtt,
                    }
                }
                Answer::TimeExceeded { from, .. } => Outcome::TimeExceeded { from, rtt },
                Answer::Unreachable { from, code, .. } => Outcome::Unreachable { from, code, rtt },
            });
        }
    }
}

/// Probes on the simulated LAN: the answer follows from its topology at once (virtual time, so
/// every round trip is 0 ms and a lost request needs no waiting). Frame filters (fault
/// injection) are not applied to probes.
pub struct SimProber {
    pub lan: Lan,
    pub node: NodeId,
}

impl Prober for SimProber {
    fn probe(
        &mut self,
        probe: &Probe,
        _stop: &mut dyn FnMut() -> bool,
    ) -> Result<Outcome, ProbeError> {
        if let Some(source) = probe.source
            && !self.lan.is_local(self.node, source)
        {
            return Err(ProbeError::NotLocal(source));
        }
        Ok(match self.lan.answers_echo(self.node, probe.dst) {
            true => Outcome::Reply {
                from: probe.dst,
                ttl: SIM_REPLY_TTL,
                data_len: probe.data_len,
                rtt: Duration::ZERO,
            },
            false => Outcome::Timeout,
        })
    }
}

/// The TTL of a simulated answer: one hop away, sent with 255 as Comware devices do.
pub const SIM_REPLY_TTL: u8 = 255;
