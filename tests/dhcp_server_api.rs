//! The server's API beyond packets: bindings from the peer (hot backup), configuration
//! changes, restore from the store, pool usage and statistics resets.

mod dhcp_common;

use std::net::Ipv4Addr;

use dhcp_common::{PacketSpec, lan_config, lan_pool};
use duet::dhcp::config::{DhcpConfig, IpRange, Network};
use duet::dhcp::event::{Ingress, LeaseChange, Origin};
use duet::dhcp::lease::{ClientKey, LeaseRecord, LeaseState};
use duet::dhcp::options::MessageType;
use duet::dhcp::packet::Message;
use duet::dhcp::server::{Server, ServerOptions};

fn config() -> DhcpConfig {
    lan_config(lan_pool(19))
}

fn ingress() -> Ingress {
    Ingress {
        interface: "GigabitEthernet1/0/1".into(),
        address: Ipv4Addr::new(10, 1, 1, 1),
        pool: None,
    }
}

fn peer_lease(ip: [u8; 4]) -> LeaseRecord {
    LeaseRecord {
        ip: ip.into(),
        state: LeaseState::Committed,
        client: ClientKey::Hw(vec![2, 0, 0, 0, 0, 0x99].into()),
        chaddr: vec![2, 0, 0, 0, 0, 0x99].into(),
        expires: 3_600_000,
        updated: 5,
        relay_info: None,
        hostname: None,
        is_static: false,
    }
}

fn offer(s: &mut Server, mac: &str, requested: Option<Ipv4Addr>) -> Option<Ipv4Addr> {
    let spec = PacketSpec {
        requested,
        broadcast: true,
        ..PacketSpec::new(MessageType::Discover, mac, 1)
    };
    let r = s.handle_packet(10, &ingress(), &spec.message().encode());
    r.first().map(|r| Message::decode(&r.bytes).unwrap().yiaddr)
}

#[test]
fn peer_bindings_are_respected_and_not_sent_back() {
    let mut s = Server::new(config(), ServerOptions::default()).unwrap();
    s.set_serving(false);
    s.apply_remote(LeaseChange::Upsert(peer_lease([10, 1, 1, 10])));
    let ev = s.drain_events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].origin, Origin::Peer);
    assert_eq!(
        s.leases().get(Ipv4Addr::new(10, 1, 1, 10)).unwrap().state,
        LeaseState::Committed
    );
    // Becoming master: the peer's binding is not handed to another client.
    s.set_serving(true);
    assert_eq!(
        offer(
            &mut s,
            "02:00:00:00:00:01",
            Some(Ipv4Addr::new(10, 1, 1, 10))
        ),
        Some(Ipv4Addr::new(10, 1, 1, 11))
    );
    // The peer's client renews with us.
    let renew = PacketSpec {
        ciaddr: Some(Ipv4Addr::new(10, 1, 1, 10)),
        ..PacketSpec::new(MessageType::Request, "02:00:00:00:00:99", 2)
    };
    let r = s.handle_packet(20, &ingress(), &renew.message().encode());
    assert_eq!(
        Message::decode(&r[0].bytes).unwrap().options.message_type,
        Some(MessageType::Ack)
    );
    assert_eq!(s.drain_events()[0].origin, Origin::Local);
    // The peer removes the binding: the address is free again.
    s.apply_remote(LeaseChange::Remove(Ipv4Addr::new(10, 1, 1, 10)));
    assert_eq!(
        offer(
            &mut s,
            "02:00:00:00:00:02",
            Some(Ipv4Addr::new(10, 1, 1, 10))
        ),
        Some(Ipv4Addr::new(10, 1, 1, 10))
    );
}

#[test]
fn an_absurd_batch_size_reserves_no_more_than_the_pools_hold() {
    let mut s = Server::new(config(), ServerOptions::default()).unwrap();
    // Uncapped, either call would abort on a capacity overflow or exhaust memory.
    s.reserve_leases(usize::MAX);
    s.reserve_leases(1 << 40);
    s.apply_remote(LeaseChange::Upsert(peer_lease([10, 1, 1, 12])));
    assert_eq!(s.leases().len(), 1);
    assert!(!s.is_free(Ipv4Addr::new(10, 1, 1, 12)));
}

#[test]
fn configuration_changes_keep_covered_leases_and_drop_the_rest() {
    let mut s = Server::new(config(), ServerOptions::default()).unwrap();
    s.restore([peer_lease([10, 1, 1, 12]), peer_lease([192, 168, 9, 9])]);
    // Restore drops what no pool covers and takes no event.
    assert_eq!(s.leases().len(), 1);
    assert!(s.drain_events().is_empty());
    assert_eq!(s.pool_usage().collect::<Vec<_>>(), vec![("lan", 10, 9)]);
    // A new range in the same network keeps the binding.
    let mut c = config();
    c.pools.get_mut("lan").unwrap().range = Some(IpRange {
        start: Ipv4Addr::new(10, 1, 1, 12),
        end: Ipv4Addr::new(10, 1, 1, 13),
    });
    s.set_config(c).unwrap();
    assert_eq!(s.pool_usage().collect::<Vec<_>>(), vec![("lan", 2, 1)]);
    assert_eq!(
        offer(&mut s, "02:00:00:00:00:01", None),
        Some(Ipv4Addr::new(10, 1, 1, 13))
    );
    // Another network: the binding goes, with an event for the journal.
    let mut c = config();
    c.pools.get_mut("lan").unwrap().network = Some(Network {
        address: Ipv4Addr::new(10, 5, 0, 0),
        prefix_len: 16,
    });
    c.pools.get_mut("lan").unwrap().range = None;
    s.set_config(c).unwrap();
    let ev = s.drain_events();
    let changes: Vec<LeaseChange> = ev.into_iter().map(|e| e.change).collect();
    assert_eq!(
        changes,
        vec![LeaseChange::Remove(Ipv4Addr::new(10, 1, 1, 12))],
        "offers are not journaled"
    );
    assert!(
        s.leases().is_empty(),
        "the offer of .13 went with the pool too"
    );
    // An invalid configuration is refused and changes nothing.
    let mut bad = config();
    bad.pools.get_mut("lan").unwrap().gateways = vec![Ipv4Addr::LOCALHOST; 9];
    assert!(s.set_config(bad).is_err());
    assert_eq!(
        s.config().pools["lan"].network.unwrap().address,
        Ipv4Addr::new(10, 5, 0, 0)
    );
}

#[test]
fn statistics_count_and_reset() {
    let mut s = Server::new(config(), ServerOptions::default()).unwrap();
    let spec = PacketSpec {
        broadcast: true,
        ..PacketSpec::new(MessageType::Discover, "02:00:00:00:00:01", 1)
    };
    let offers = s.handle_packet(10, &ingress(), &spec.message().encode());
    s.handle_packet(0, &ingress(), b"short");
    assert_eq!(s.stats().received(MessageType::Discover), 1);
    // A reply is counted as sent when the driver says it left, not when it is built.
    assert_eq!(s.stats().sent(MessageType::Offer), 0);
    s.reply_sent(&offers[0]);
    assert_eq!(s.stats().sent(MessageType::Offer), 1);
    // An ACK the driver drops is withheld, not sent.
    let offered = Message::decode(&offers[0].bytes).unwrap().yiaddr;
    let request = select("02:00:00:00:00:01", offered).message().encode();
    let acks = s.handle_packet(20, &ingress(), &request);
    assert_eq!(acks[0].kind, MessageType::Ack);
    s.reply_withheld("journal-failed");
    assert_eq!(s.stats().sent(MessageType::Ack), 0);
    assert_eq!(s.stats().withheld["journal-failed"], 1);
    assert_eq!(s.stats().withheld_total(), 1);
    assert_eq!(s.stats().bad_total(), 1);
    s.reset_statistics();
    assert_eq!(s.stats(), &Default::default());
}

#[test]
fn with_the_peer_unreachable_new_bindings_come_from_our_half_only() {
    use duet::dhcp::pool::Half;
    let mut s = Server::new(config(), ServerOptions::default()).unwrap();
    // A binding made before the split, in what becomes the peer's half (offset 1).
    s.restore([peer_lease([10, 1, 1, 11])]);
    s.set_half(Some(Half::Even));
    let mut got = vec![];
    for n in 1..=6 {
        got.push(offer(
            &mut s,
            &format!("02:00:00:00:00:{n:02x}"),
            Some(Ipv4Addr::new(10, 1, 1, 13)),
        ));
    }
    // Offsets 0, 2, 4, 6, 8 of .10-.19; the requested odd .13 is never honoured.
    let even: Vec<_> = [10, 12, 14, 16, 18]
        .iter()
        .map(|&h| Some(Ipv4Addr::new(10, 1, 1, h)))
        .collect();
    assert_eq!(got[..5], even[..]);
    assert_eq!(
        got[5], None,
        "our half is exhausted; the odd half stays the peer's"
    );
    // The existing binding in the peer's half still renews.
    let renew = PacketSpec {
        ciaddr: Some(Ipv4Addr::new(10, 1, 1, 11)),
        ..PacketSpec::new(MessageType::Request, "02:00:00:00:00:99", 2)
    };
    let r = s.handle_packet(20, &ingress(), &renew.message().encode());
    assert_eq!(
        Message::decode(&r[0].bytes).unwrap().options.message_type,
        Some(MessageType::Ack)
    );
    // Back in touch with the peer: the whole pool again.
    s.set_half(None);
    assert_eq!(
        offer(
            &mut s,
            "02:00:00:00:00:07",
            Some(Ipv4Addr::new(10, 1, 1, 13))
        ),
        Some(Ipv4Addr::new(10, 1, 1, 13))
    );
}

/// The reply type and address a request got.
fn answer(s: &mut Server, now: u64, spec: PacketSpec) -> Option<(MessageType, Ipv4Addr)> {
    let r = s.handle_packet(now, &ingress(), &spec.message().encode());
    r.first().map(|r| {
        let m = Message::decode(&r.bytes).unwrap();
        (m.options.message_type.unwrap(), m.yiaddr)
    })
}

fn select(mac: &str, ip: Ipv4Addr) -> PacketSpec {
    PacketSpec {
        server_id: Some(ingress().address),
        requested: Some(ip),
        broadcast: true,
        ..PacketSpec::new(MessageType::Request, mac, 2)
    }
}

#[test]
fn with_the_peer_unreachable_an_offer_or_a_previous_address_in_the_peers_half_is_refused() {
    use duet::dhcp::pool::Half;
    let odd = Ipv4Addr::new(10, 1, 1, 11);
    let other_odd = Ipv4Addr::new(10, 1, 1, 13);
    let mut s = Server::new(config(), ServerOptions::default()).unwrap();
    // Before the split: client 1 is offered .11; client 2 holds .13 and releases it.
    assert_eq!(offer(&mut s, "02:00:00:00:00:01", Some(odd)), Some(odd));
    assert_eq!(
        offer(&mut s, "02:00:00:00:00:02", Some(other_odd)),
        Some(other_odd)
    );
    assert_eq!(
        answer(&mut s, 20, select("02:00:00:00:00:02", other_odd)),
        Some((MessageType::Ack, other_odd))
    );
    let release = PacketSpec {
        ciaddr: Some(other_odd),
        ..PacketSpec::new(MessageType::Release, "02:00:00:00:00:02", 3)
    };
    assert_eq!(answer(&mut s, 30, release), None);
    s.set_half(Some(Half::Even));
    // The offer is not confirmed (the peer may be offering .11 too): NAK, and a new DISCOVER
    // gets an address of our half.
    assert_eq!(
        answer(&mut s, 40, select("02:00:00:00:00:01", odd)),
        Some((MessageType::Nak, Ipv4Addr::UNSPECIFIED))
    );
    let again = offer(&mut s, "02:00:00:00:00:01", None).unwrap();
    assert_ne!(again, odd);
    assert_eq!(
        (u32::from(again) - u32::from(Ipv4Addr::new(10, 1, 1, 10))) % 2,
        0
    );
    // Client 2's previous address is not offered again, asked for or not.
    for requested in [None, Some(other_odd)] {
        let got = offer(&mut s, "02:00:00:00:00:02", requested).unwrap();
        assert_ne!(got, other_odd);
    }
    // Nor confirmed in INIT-REBOOT.
    let reboot = PacketSpec {
        requested: Some(other_odd),
        broadcast: true,
        ..PacketSpec::new(MessageType::Request, "02:00:00:00:00:02", 4)
    };
    assert_eq!(
        answer(&mut s, 50, reboot).map(|a| a.0),
        Some(MessageType::Nak)
    );
}

#[test]
fn lease_events_say_which_bindings_are_new_and_a_revoked_binding_leaves_a_tombstone() {
    use duet::dhcp::pool::Half;
    let ip = Ipv4Addr::new(10, 1, 1, 11);
    let mac = "02:00:00:00:00:01";
    let mut s = Server::new(config(), ServerOptions::default()).unwrap();
    assert_eq!(offer(&mut s, mac, Some(ip)), Some(ip));
    assert_eq!(
        answer(&mut s, 20, select(mac, ip)),
        Some((MessageType::Ack, ip))
    );
    let renew = PacketSpec {
        ciaddr: Some(ip),
        ..PacketSpec::new(MessageType::Request, mac, 3)
    };
    assert_eq!(answer(&mut s, 30, renew), Some((MessageType::Ack, ip)));
    let flags: Vec<bool> = s.drain_events().iter().map(|e| e.new_binding).collect();
    assert_eq!(
        flags,
        vec![true, false],
        "the DORA binds, the renewal does not"
    );
    // Revoked (hot backup: the peer never confirmed it): a tombstone newer than the binding,
    // journaled as a local change, and the address is free.
    assert_eq!(
        s.revoke(Ipv4Addr::new(10, 1, 1, 12)),
        None,
        "nothing bound there"
    );
    let seq = s.revoke(ip).unwrap();
    let ev = s.drain_events();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].seq, ev[0].origin, ev[0].new_binding),
        (seq, Origin::Local, false)
    );
    let LeaseChange::Upsert(t) = &ev[0].change else {
        panic!("a tombstone is a record");
    };
    assert_eq!((t.state, t.updated), (LeaseState::Removed, 31));
    assert_eq!(s.leases().get(ip), Some(t));
    assert!(s.is_free(ip));
    // The client's retransmitted REQUEST is refused while the half restriction is on.
    s.set_half(Some(Half::Even));
    assert_eq!(
        answer(&mut s, 50, select(mac, ip)).map(|a| a.0),
        Some(MessageType::Nak)
    );
    // Removals by the operator leave tombstones too.
    s.set_half(None);
    assert_eq!(
        answer(&mut s, 60, select(mac, ip)),
        Some((MessageType::Ack, ip))
    );
    s.drain_events();
    assert_eq!(s.reset_bindings(70, |r| r.ip == ip), 1);
    let ev = s.drain_events();
    assert!(
        matches!(&ev[0].change, LeaseChange::Upsert(r) if r.state == LeaseState::Removed && r.updated == 70)
    );
}

/// DISCOVER, REQUEST, then DECLINE of the address it got: what a client does when it finds its
/// address in use (or an attacker does to empty a pool). Returns the address declined.
fn take_and_decline(s: &mut Server, now: u64, mac: &str) -> Option<Ipv4Addr> {
    let spec = PacketSpec {
        broadcast: true,
        ..PacketSpec::new(MessageType::Discover, mac, 1)
    };
    let (_, ip) = answer(s, now, spec)?;
    assert_eq!(
        answer(s, now, select(mac, ip)),
        Some((MessageType::Ack, ip))
    );
    let decline = PacketSpec {
        server_id: Some(ingress().address),
        requested: Some(ip),
        ..PacketSpec::new(MessageType::Decline, mac, 3)
    };
    assert_eq!(answer(s, now, decline), None);
    Some(ip)
}

#[test]
fn declined_addresses_return_to_the_pool_after_the_probation() {
    const DAY_MS: u64 = 86_400_000;
    let mut s = Server::new(config(), ServerOptions::default()).unwrap();
    // One client declines every address of the pool (10 addresses), one per second.
    let mut declined = Vec::new();
    for i in 0..10u64 {
        declined.push(take_and_decline(&mut s, 1000 * (i + 1), "02:00:00:00:00:66").unwrap());
    }
    declined.sort();
    assert_eq!(offer(&mut s, "02:00:00:00:00:01", None), None, "pool empty");
    // The default probation (Kea's decline-probation-period, 1 day) ends the first conflict
    // a day after it was detected.
    assert_eq!(s.poll_timeout(), Some(1000 + DAY_MS));
    s.handle_timeout(1000 + DAY_MS - 1);
    assert!(s.drain_events().iter().all(|e| match &e.change {
        LeaseChange::Upsert(r) => r.state != LeaseState::Removed,
        LeaseChange::Remove(_) => false,
    }));
    // The first one is back at the end of its probation, as a versioned removal (a
    // tombstone, journaled and replicated like `reset dhcp server conflict`).
    s.handle_timeout(1000 + DAY_MS);
    let ev = s.drain_events();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert!(matches!(&ev[0].change, LeaseChange::Upsert(r)
        if r.state == LeaseState::Removed && r.ip == declined[0] && r.updated == 1000 + DAY_MS));
    assert!(s.is_free(declined[0]));
    // And all of them a day after the last.
    s.handle_timeout(10_000 + DAY_MS);
    for ip in &declined {
        assert!(s.is_free(*ip), "{ip} still out of service");
    }
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn the_probation_is_configured_and_only_the_serving_device_ends_it() {
    let cfg = DhcpConfig {
        conflict_recycle_secs: 60,
        ..config()
    };
    let mut master = Server::new(cfg.clone(), ServerOptions::default()).unwrap();
    let ip = take_and_decline(&mut master, 1000, "02:00:00:00:00:66").unwrap();
    let conflict = master
        .drain_events()
        .into_iter()
        .filter_map(|e| match e.change {
            LeaseChange::Upsert(r) if r.state == LeaseState::Declined => Some(r),
            _ => None,
        })
        .next_back()
        .expect("the decline is journaled");
    // The end of the probation is in the record (journal and hot backup carry it); the detect
    // time is `updated`.
    assert_eq!((conflict.updated, conflict.expires), (1000, 61_000));
    // The backup holds the peer's copy and does not end it: it neither wakes for it nor
    // frees the address, however late.
    let mut backup = Server::new(cfg, ServerOptions::default()).unwrap();
    backup.set_serving(false);
    backup.apply_remote(LeaseChange::Upsert(conflict.clone()));
    backup.drain_events();
    assert_eq!(backup.poll_timeout(), None);
    backup.handle_timeout(10_000_000);
    assert!(backup.drain_events().is_empty());
    assert!(!backup.is_free(ip));
    // The master ends it and replicates the tombstone; the backup applies it.
    assert_eq!(master.poll_timeout(), Some(61_000));
    master.handle_timeout(61_000);
    let tomb = master.drain_events().pop().unwrap();
    backup.apply_remote(tomb.change);
    assert!(backup.is_free(ip) && master.is_free(ip));
    // A backup that takes over ends the probations it holds.
    let mut other = Server::new(config(), ServerOptions::default()).unwrap();
    other.set_serving(false);
    other.apply_remote(LeaseChange::Upsert(conflict));
    other.set_serving(true);
    assert_eq!(other.poll_timeout(), Some(61_000));
    other.handle_timeout(61_000);
    assert!(other.is_free(ip));
    // Out of range: refused with a sentence.
    let bad = DhcpConfig {
        conflict_recycle_secs: 0,
        ..config()
    };
    assert!(bad.validate().unwrap_err().to_string().contains("1 second"));
}

/// Split brain, both links cut: this device keeps a binding the peer made (in this device's
/// half) and cannot see the peer renew it. When its copy expires here the address must not go
/// to another client while the peer is unreachable; the client that held it may have it back;
/// once the tables are reconciled (the restriction lifted) the address is free again.
#[test]
fn with_the_peer_unreachable_an_expired_binding_is_not_given_to_another_client() {
    use duet::dhcp::pool::Half;
    let ip = Ipv4Addr::new(10, 1, 1, 10);
    let mut s = Server::new(config(), ServerOptions::default()).unwrap();
    // The peer's client holds .10 (offset 0: our half) until 3_600_000.
    s.apply_remote(LeaseChange::Upsert(peer_lease([10, 1, 1, 10])));
    s.set_half(Some(Half::Even));
    s.handle_timeout(3_600_000);
    assert_eq!(
        s.leases().get(ip).map(|r| r.state),
        Some(LeaseState::Expired)
    );
    assert!(!s.is_free(ip), "the peer may still be renewing it");
    // A new client asking for it gets another address of our half.
    let got = offer(&mut s, "02:00:00:00:00:01", Some(ip)).unwrap();
    assert_ne!(got, ip);
    // Its own client may have it back (the peer would renew it for that same client).
    assert_eq!(offer(&mut s, "02:00:00:00:00:99", Some(ip)), Some(ip));
    // Reconciled with the peer: free again once nobody holds it.
    s.handle_timeout(3_700_000);
    s.set_half(None);
    assert!(s.is_free(ip));
}

/// The failover link cut silently, the LAN whole: the master renews a binding, the backup
/// never hears of it and expires its own copy. The expiry is dated just after the binding it
/// ends, not when the timer fired, so the renewal (made after that binding) wins the merge
/// after healing, and both devices expire one binding into the same record.
#[test]
fn an_expiry_is_older_than_any_renewal_of_the_binding_it_ends() {
    use duet::hotbackup::{DhcpBindings, Service};
    let binding = peer_lease([10, 1, 1, 10]);
    let mut backup = Server::new(config(), ServerOptions::default()).unwrap();
    backup.apply_remote(LeaseChange::Upsert(binding.clone()));
    backup.drain_events();
    // The master renewed at half the lease; the backup expires its copy at the end.
    let renewal = LeaseRecord {
        updated: 1_800_000,
        expires: 5_400_000,
        ..binding.clone()
    };
    backup.handle_timeout(3_600_005);
    let expired = backup.leases().get(binding.ip).unwrap().clone();
    assert_eq!(expired.state, LeaseState::Expired);
    assert!(
        DhcpBindings::version_cmp(&renewal, &expired).is_gt(),
        "the renewal must win: {renewal:?} vs {expired:?}"
    );
    assert!(DhcpBindings::version_cmp(&expired, &binding).is_gt());
    // The master, had it not renewed, expires the same binding into the same record.
    let mut master = Server::new(config(), ServerOptions::default()).unwrap();
    master.apply_remote(LeaseChange::Upsert(binding.clone()));
    master.handle_timeout(3_600_900);
    assert_eq!(master.leases().get(binding.ip), Some(&expired));
}

/// After a split heals, a client the peer served may renew with this device before the peer's
/// batch arrives. While the half restriction is on, a renewal of an address in the peer's
/// half that is unbound here, or whose binding expired here, gets no answer (the peer may hold
/// the binding; the client retries) instead of a DHCPNAK that would take its valid lease.
/// What this device knows the client gave up is still refused.
#[test]
fn with_the_peer_unreachable_a_renewal_the_peer_may_hold_is_not_refused() {
    use duet::dhcp::pool::Half;
    let mut s = Server::new(config(), ServerOptions::default()).unwrap();
    // .13 was bound by the peer to client 99 and expired here; .15 is unknown here.
    s.apply_remote(LeaseChange::Upsert(peer_lease([10, 1, 1, 13])));
    s.set_half(Some(Half::Even));
    s.handle_timeout(3_600_000);
    let renew = |ip: [u8; 4], mac: &str| PacketSpec {
        ciaddr: Some(ip.into()),
        ..PacketSpec::new(MessageType::Request, mac, 7)
    };
    let mac = "02:00:00:00:00:99";
    assert_eq!(answer(&mut s, 3_600_010, renew([10, 1, 1, 13], mac)), None);
    assert_eq!(
        answer(
            &mut s,
            3_600_020,
            renew([10, 1, 1, 15], "02:00:00:00:00:05")
        ),
        None
    );
    // Reconciled: the peer's renewal arrived; the next retry is ACKed.
    s.apply_remote(LeaseChange::Upsert(LeaseRecord {
        updated: 3_500_000,
        expires: 7_000_000,
        ..peer_lease([10, 1, 1, 13])
    }));
    s.set_half(None);
    assert_eq!(
        answer(&mut s, 3_600_030, renew([10, 1, 1, 13], mac)),
        Some((MessageType::Ack, Ipv4Addr::new(10, 1, 1, 13)))
    );
    // A client that released its address here is refused, restriction or not.
    let release = PacketSpec {
        ciaddr: Some(Ipv4Addr::new(10, 1, 1, 13)),
        ..PacketSpec::new(MessageType::Release, mac, 8)
    };
    assert_eq!(answer(&mut s, 3_600_040, release), None);
    s.set_half(Some(Half::Even));
    assert_eq!(
        answer(&mut s, 3_600_050, renew([10, 1, 1, 13], mac)).map(|a| a.0),
        Some(MessageType::Nak)
    );
}

/// RFC 8910: option 114 carries the captive-portal API URI of a network behind a portal, to
/// the clients that ask for it, and to nobody on a network without a portal.
#[test]
fn the_captive_portal_api_goes_to_clients_that_ask_on_portal_networks() {
    let mut s = Server::new(config(), ServerOptions::default()).unwrap();
    let discover = |s: &mut Server, mac: &str, prl: Vec<u8>| {
        let spec = PacketSpec {
            broadcast: true,
            prl: Some(prl),
            ..PacketSpec::new(MessageType::Discover, mac, 7)
        };
        let r = s.handle_packet(10, &ingress(), &spec.message().encode());
        Message::decode(&r[0].bytes).unwrap()
    };
    let uri = "http://10.1.1.1/portal/api";
    let asks = discover(&mut s, "02:00:00:00:00:01", vec![1, 3, 114]);
    assert_eq!(
        asks.options.other.get(&114),
        None,
        "no portal configured yet"
    );

    s.set_captive_portals(vec![(
        Network {
            address: Ipv4Addr::new(10, 1, 1, 0),
            prefix_len: 24,
        },
        uri.into(),
    )]);
    let asks = discover(&mut s, "02:00:00:00:00:02", vec![1, 3, 114]);
    assert_eq!(
        asks.options.other.get(&114).map(|v| v.as_slice()),
        Some(uri.as_bytes())
    );
    let does_not_ask = discover(&mut s, "02:00:00:00:00:03", vec![1, 3, 6]);
    assert_eq!(does_not_ask.options.other.get(&114), None);

    s.set_captive_portals(vec![(
        Network {
            address: Ipv4Addr::new(10, 9, 9, 0),
            prefix_len: 24,
        },
        uri.into(),
    )]);
    let other_network = discover(&mut s, "02:00:00:00:00:04", vec![1, 3, 114]);
    assert_eq!(other_network.options.other.get(&114), None);
}

/// `dhcp server ping packets 1` on a pool of .10 to .19.
fn probing_server() -> Server {
    let mut c = config();
    c.ping_packets = 1;
    c.ping_timeout_ms = 500;
    Server::new(c, ServerOptions::default()).unwrap()
}

fn discover(mac: &str) -> Vec<u8> {
    PacketSpec {
        broadcast: true,
        ..PacketSpec::new(MessageType::Discover, mac, 1)
    }
    .message()
    .encode()
}

fn probe_of(s: &mut Server) -> Ipv4Addr {
    let probes = s.drain_probes();
    assert_eq!(probes.len(), 1, "{probes:?}");
    assert_eq!((probes[0].packets, probes[0].timeout_ms), (1, 500));
    probes[0].ip
}

#[test]
fn with_ping_on_an_address_is_offered_only_after_its_probe_goes_unanswered() {
    let mut s = probing_server();
    // The DISCOVER gets no OFFER yet: its candidate is probed.
    assert!(
        s.handle_packet(10, &ingress(), &discover("02:00:00:00:00:01"))
            .is_empty()
    );
    let first = probe_of(&mut s);
    // Held for that client: a second client is given another candidate meanwhile (the probe
    // blocks nobody), and the first client's retransmission starts no second probe.
    assert!(
        s.handle_packet(11, &ingress(), &discover("02:00:00:00:00:02"))
            .is_empty()
    );
    let second = probe_of(&mut s);
    assert_ne!(first, second);
    assert!(
        s.handle_packet(12, &ingress(), &discover("02:00:00:00:00:01"))
            .is_empty()
    );
    assert!(s.drain_probes().is_empty());
    // Nobody answered: the OFFER goes out, and the REQUEST binds the address.
    let r = s.probe_result(20, first, false);
    assert_eq!(r.len(), 1);
    let m = Message::decode(&r[0].bytes).unwrap();
    assert_eq!(
        (m.options.message_type, m.yiaddr, m.xid),
        (Some(MessageType::Offer), first, 1)
    );
    assert_eq!(
        answer(&mut s, 30, select("02:00:00:00:00:01", first)),
        Some((MessageType::Ack, first))
    );
    // A result nobody waits for (already used) is ignored.
    assert!(s.probe_result(40, first, false).is_empty());
    // A client renewing its own binding is not probed (it answers for its address).
    let again = PacketSpec {
        broadcast: true,
        ..PacketSpec::new(MessageType::Discover, "02:00:00:00:00:01", 5)
    };
    assert_eq!(answer(&mut s, 50, again), Some((MessageType::Offer, first)));
    assert!(s.drain_probes().is_empty());
}

#[test]
fn with_ping_on_an_address_that_answers_becomes_a_conflict_and_the_next_one_is_probed() {
    let mut s = probing_server();
    assert!(
        s.handle_packet(10, &ingress(), &discover("02:00:00:00:00:01"))
            .is_empty()
    );
    let squatted = probe_of(&mut s);
    s.drain_events();
    // A squatter answers: the address goes to the conflict list as a journaled record, the
    // one hot backup replicates for a DECLINE, and the next candidate is probed.
    assert!(s.probe_result(20, squatted, true).is_empty());
    let ev = s.drain_events();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert!(matches!(&ev[0].change, LeaseChange::Upsert(r)
        if r.ip == squatted && r.state == LeaseState::Declined && r.updated == 20));
    assert_eq!(ev[0].origin, Origin::Local, "sent to the hot-backup peer");
    assert!(!s.is_free(squatted));
    let next = probe_of(&mut s);
    assert_ne!(next, squatted);
    let r = s.probe_result(30, next, false);
    assert_eq!(Message::decode(&r[0].bytes).unwrap().yiaddr, next);
    // A LAN of squatters: after three answered probes the DISCOVER is dropped (the client
    // retransmits), so one DISCOVER cannot keep the server probing the whole pool.
    assert!(
        s.handle_packet(40, &ingress(), &discover("02:00:00:00:00:02"))
            .is_empty()
    );
    for _ in 0..3 {
        let ip = probe_of(&mut s);
        assert!(s.probe_result(50, ip, true).is_empty());
    }
    assert!(s.drain_probes().is_empty());
    assert_eq!(s.stats().ignored.get("probe-conflicts"), Some(&1));
}

#[test]
fn probes_in_progress_are_forgotten_when_the_device_stops_serving() {
    let mut s = probing_server();
    assert!(
        s.handle_packet(10, &ingress(), &discover("02:00:00:00:00:01"))
            .is_empty()
    );
    let ip = probe_of(&mut s);
    assert!(!s.is_free(ip));
    s.set_serving(false);
    assert!(s.is_free(ip), "the candidate goes back to the pool");
    s.set_serving(true);
    assert!(
        s.probe_result(20, ip, false).is_empty(),
        "a stale result is ignored"
    );
    assert!(s.is_free(ip));
}
