//! The client-side invariants of a pair (design.md section 9), checked on what the simulated
//! clients recorded: no client loses a lease it was ACKed (no NAK, no different address, no
//! expiry while it kept asking), and no address is held by two clients at once.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use super::client::ClientEvent;
use super::station::StationView;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A client holding a valid lease was refused (DHCPNAK).
    Nak {
        client: usize,
        ip: Ipv4Addr,
        at: Duration,
    },
    /// A client's lease ran out although it kept renewing and rebinding.
    Expired {
        client: usize,
        ip: Ipv4Addr,
        at: Duration,
    },
    /// A client holding one address was ACKed another.
    Moved {
        client: usize,
        from: Ipv4Addr,
        to: Ipv4Addr,
        at: Duration,
    },
    /// Two clients held the same address at the same time.
    Shared {
        ip: Ipv4Addr,
        clients: (usize, usize),
        at: Duration,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Nak { client, ip, at } => {
                write!(
                    f,
                    "client {client} was NAKed for {ip} at {at:?} while its lease was valid"
                )
            }
            Violation::Expired { client, ip, at } => {
                write!(
                    f,
                    "client {client} lost {ip} at {at:?}: no server renewed it"
                )
            }
            Violation::Moved {
                client,
                from,
                to,
                at,
            } => {
                write!(f, "client {client} holding {from} was ACKed {to} at {at:?}")
            }
            Violation::Shared { ip, clients, at } => write!(
                f,
                "{ip} was held by clients {} and {} at {at:?}",
                clients.0, clients.1
            ),
        }
    }
}

/// The span during which a client held an address.
#[derive(Clone, Copy, Debug)]
struct Holding {
    client: usize,
    from: Duration,
    until: Duration,
}

/// Every violation in the clients' records (client numbers are indexes into `views`).
pub fn check(views: &[StationView]) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut held: BTreeMap<Ipv4Addr, Vec<Holding>> = BTreeMap::new();
    for (client, v) in views.iter().enumerate() {
        // (address, since, valid until) of the lease being held.
        let mut current: Option<(Ipv4Addr, Duration, Duration)> = None;
        let close = |held: &mut BTreeMap<Ipv4Addr, Vec<Holding>>,
                     c: Option<(Ipv4Addr, Duration, Duration)>,
                     end: Duration| {
            if let Some((ip, from, expiry)) = c {
                held.entry(ip).or_default().push(Holding {
                    client,
                    from,
                    until: end.min(expiry),
                });
            }
        };
        for ev in &v.events {
            match *ev {
                ClientEvent::Ack { at, lease } => match current {
                    Some((ip, from, _)) if ip == lease.ip => {
                        current = Some((ip, from, lease.expiry));
                    }
                    prev => {
                        if let Some((from_ip, _, expiry)) = prev
                            && at < expiry
                        {
                            out.push(Violation::Moved {
                                client,
                                from: from_ip,
                                to: lease.ip,
                                at,
                            });
                        }
                        close(&mut held, prev, at);
                        current = Some((lease.ip, at, lease.expiry));
                    }
                },
                ClientEvent::Nak { at, held: h } => {
                    if let Some(ip) = h {
                        out.push(Violation::Nak { client, ip, at });
                    }
                    close(&mut held, current.take(), at);
                }
                ClientEvent::Expired { at, ip } => {
                    out.push(Violation::Expired { client, ip, at });
                    close(&mut held, current.take(), at);
                }
            }
        }
        close(&mut held, current, Duration::MAX);
    }
    for (ip, spans) in held {
        for (i, a) in spans.iter().enumerate() {
            for b in &spans[i + 1..] {
                if a.client != b.client && a.from < b.until && b.from < a.until {
                    out.push(Violation::Shared {
                        ip,
                        clients: (a.client.min(b.client), a.client.max(b.client)),
                        at: a.from.max(b.from),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::client::{ClientState, Lease};

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn ack(at: u64, ip: [u8; 4], expiry: u64) -> ClientEvent {
        ClientEvent::Ack {
            at: s(at),
            lease: Lease {
                ip: ip.into(),
                server_id: [10, 0, 0, 254].into(),
                start: s(at),
                t1: s(at),
                t2: s(at),
                expiry: s(expiry),
            },
        }
    }

    fn view(events: Vec<ClientEvent>) -> StationView {
        StationView {
            mac: [2, 0, 0, 0, 0, 1],
            state: ClientState::Bound,
            lease: None,
            events,
        }
    }

    #[test]
    fn renewals_of_one_address_are_clean() {
        let v = view(vec![
            ack(0, [10, 0, 0, 100], 60),
            ack(30, [10, 0, 0, 100], 90),
        ]);
        let w = view(vec![ack(0, [10, 0, 0, 102], 60)]);
        assert_eq!(check(&[v, w]), []);
    }

    #[test]
    fn an_address_reused_after_its_lease_ran_out_is_not_shared() {
        let v = view(vec![
            ack(0, [10, 0, 0, 100], 60),
            ClientEvent::Expired {
                at: s(60),
                ip: [10, 0, 0, 100].into(),
            },
        ]);
        let w = view(vec![ack(61, [10, 0, 0, 100], 120)]);
        let found = check(&[v, w]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(matches!(found[0], Violation::Expired { client: 0, .. }));
    }

    #[test]
    fn overlap_move_and_nak_are_found() {
        let v = view(vec![
            ack(0, [10, 0, 0, 100], 60),
            ack(30, [10, 0, 0, 101], 90),
            ClientEvent::Nak {
                at: s(40),
                held: Some([10, 0, 0, 101].into()),
            },
        ]);
        let w = view(vec![ack(10, [10, 0, 0, 100], 70)]);
        let found = check(&[v, w]);
        assert!(found.contains(&Violation::Moved {
            client: 0,
            from: [10, 0, 0, 100].into(),
            to: [10, 0, 0, 101].into(),
            at: s(30)
        }));
        assert!(found.contains(&Violation::Nak {
            client: 0,
            ip: [10, 0, 0, 101].into(),
            at: s(40)
        }));
        assert!(found.contains(&Violation::Shared {
            ip: [10, 0, 0, 100].into(),
            clients: (0, 1),
            at: s(10)
        }));
        assert_eq!(found.len(), 3, "{found:?}");
    }
}
