//! Removing bindings from the server's table: the operator's resets, and hot backup's
//! revocation of bindings the peer never confirmed and withholding of addresses the peer may
//! still hold. A removal is a versioned change (a [`LeaseState::Removed`] tombstone), so the
//! hot-backup merge cannot bring a removed binding back from the peer's older copy.

use std::net::Ipv4Addr;

use super::Server;
use crate::dhcp::event::{LeaseChange, Origin};
use crate::dhcp::lease::{LeaseRecord, LeaseState, Millis};

impl Server {
    /// Hot backup: the peer went down before confirming that `ip` was freed (a release, an
    /// expiry, a revocation). The peer may still hold the old binding and renew it for its
    /// client, so no new binding gets the address until [`Server::set_half`] lifts the half
    /// restriction (the tables are reconciled by then). The client that held it may have it
    /// back: the peer would renew it for that same client.
    pub fn withhold(&mut self, ip: Ipv4Addr) {
        if let Some(p) = self.pool_of(ip)
            && self.pools[p].alloc.take(ip)
        {
            self.withheld.push(ip);
        }
    }

    /// `reset dhcp server conflict [ip IP]`: conflicts go back to the free addresses.
    pub fn reset_conflicts(&mut self, now: Millis, ip: Option<Ipv4Addr>) {
        self.remove_where(now, |r| {
            r.state == LeaseState::Declined && ip.is_none_or(|x| x == r.ip)
        });
    }

    /// Conflicts whose probation is over go back to the pool, as `reset dhcp server conflict`
    /// would put them (Kea's decline-probation-period): a client that declines every address
    /// it is offered takes them out of service for the probation only.
    ///
    /// Invariant: only the serving device ends a probation (a backup keeps the peer's copy of
    /// the conflict until the master's tombstone arrives), so both devices of a pair agree on
    /// when the address returned; [`Server::poll_timeout`] leaves these times out while not
    /// serving, so a backup is not woken for work it will not do.
    pub(super) fn end_probations(&mut self, now: Millis) {
        if !self.serving {
            return;
        }
        for ip in self.leases.probation_over(now) {
            if self.bury(now, ip).is_some() {
                tracing::info!(
                    module = "DHCPS",
                    severity = 6u8,
                    mnemonic = "DHCPS_CONFLICT_RECYCLED",
                    %ip,
                    "The conflict probation of {ip} ended: the address is back in its pool."
                );
            }
        }
    }

    /// `reset dhcp server ip-in-use`: drop the bindings (offered or committed) that `which`
    /// selects; their addresses go back to the pool. Returns how many were removed.
    pub fn reset_bindings(&mut self, now: Millis, which: impl Fn(&LeaseRecord) -> bool) -> usize {
        self.remove_where(now, |r| {
            matches!(r.state, LeaseState::Offered | LeaseState::Committed) && which(r)
        })
    }

    /// `reset dhcp server expired`: forget expired bindings that `which` selects (their
    /// addresses are already free). Returns how many were removed.
    pub fn reset_expired(&mut self, now: Millis, which: impl Fn(&LeaseRecord) -> bool) -> usize {
        self.remove_where(now, |r| r.state == LeaseState::Expired && which(r))
    }

    /// Hot backup: take back the committed binding `ip` holds, a new binding the peer never
    /// confirmed (its DHCPACK is dropped, so no client holds it). Like a reset, it leaves a
    /// tombstone, dated just after the binding: newer than the binding, so the removal wins
    /// the merge on the peer if the peer applied the binding, and older than anything the
    /// peer did with the address since (a renewal for a client that did get its ACK there).
    /// Returns the event's sequence number, or `None` when `ip` has no committed binding.
    pub fn revoke(&mut self, ip: Ipv4Addr) -> Option<u64> {
        let r = self.leases.get(ip)?;
        if r.state != LeaseState::Committed {
            return None;
        }
        let at = r.updated + 1;
        self.bury(at, ip)
    }

    fn remove_where(&mut self, now: Millis, which: impl Fn(&LeaseRecord) -> bool) -> usize {
        let gone: Vec<Ipv4Addr> = self
            .leases
            .iter()
            .filter(|r| which(r))
            .map(|r| r.ip)
            .collect();
        for &ip in &gone {
            self.bury(now, ip);
        }
        gone.len()
    }

    /// Remove the record of `ip` as a versioned change: a [`LeaseState::Removed`] tombstone
    /// dated `now`, and newer than the record in any case (the hot-backup merge keeps the newer
    /// version, so the peer's older copy cannot bring the binding back). An offer, never
    /// journaled, just goes. Returns the event's sequence number.
    fn bury(&mut self, now: Millis, ip: Ipv4Addr) -> Option<u64> {
        let old = self.leases.remove(ip)?;
        if old.state.holds_address() {
            self.free_address(ip);
        }
        if old.state == LeaseState::Offered {
            return None;
        }
        let tombstone = LeaseRecord {
            state: LeaseState::Removed,
            expires: now,
            updated: now.max(old.updated + 1),
            ..old
        };
        self.leases.upsert(tombstone.clone());
        Some(self.emit(Origin::Local, LeaseChange::Upsert(tombstone)))
    }
}
