//! Loading many of the hot-backup peer's bindings at once (a batch backup): the lease table is
//! sized for the announced batch before its pages arrive, so a million bindings do not rehash
//! the indexes twenty times on the way.

use super::Server;

impl Server {
    /// Make room for `additional` more lease records (a batch backup announces its size). The
    /// number comes from the peer, so it is capped at the pool addresses not yet in the table:
    /// a wrong or hostile count cannot make the device allocate more than its pools need.
    pub fn reserve_leases(&mut self, additional: usize) {
        let addresses: usize = self.pools.iter().map(|p| p.alloc.size() as usize).sum();
        let room = addresses.saturating_sub(self.leases.len());
        self.leases.reserve(additional.min(room));
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use crate::dhcp::config::{DhcpConfig, Network, PoolConfig};
    use crate::dhcp::{ClientKey, LeaseChange, LeaseRecord, LeaseState, Server, ServerOptions};

    fn server() -> Server {
        let mut cfg = DhcpConfig::default();
        cfg.pools.insert(
            "lan".into(),
            PoolConfig {
                network: Some(Network {
                    address: Ipv4Addr::new(10, 0, 0, 0),
                    prefix_len: 24,
                }),
                ..Default::default()
            },
        );
        Server::new(cfg, ServerOptions::default()).unwrap()
    }

    #[test]
    fn an_absurd_batch_size_reserves_no_more_than_the_pools_hold() {
        let mut s = server();
        // Uncapped, either call would abort on a capacity overflow or exhaust memory.
        s.reserve_leases(usize::MAX);
        s.reserve_leases(1 << 40);
        let mac: Box<[u8]> = [2, 0, 0, 0, 0, 1].into();
        s.apply_remote(LeaseChange::Upsert(LeaseRecord {
            ip: Ipv4Addr::new(10, 0, 0, 9),
            state: LeaseState::Committed,
            client: ClientKey::Hw(mac.clone()),
            chaddr: mac,
            expires: 1000,
            updated: 1,
            relay_info: None,
            hostname: None,
            is_static: false,
        }));
        assert_eq!(s.leases().len(), 1);
        assert!(!s.is_free(Ipv4Addr::new(10, 0, 0, 9)));
    }
}
