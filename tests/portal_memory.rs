//! Memory per logged-in portal user at 100,000 users, in Duet's process: the user table (all
//! its indexes and timers), counted by a global allocator that tracks live heap bytes. The
//! kernel's share (the nftables set `auth4`) is measured by bench/portal.sh. Run with
//! `--nocapture` to see the figures (docs/performance.md, "Portal").

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use duet::aaa::network::Grant;
use duet::portal::users::{Limits, LoginRequest, PortLimits, Table};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{Counting, live_bytes};

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: u32 = 100_000;
const PORT: &str = "GigabitEthernet1/0/1";

/// The target: under 1 KiB per user, kernel set included (about 100 bytes, measured
/// by bench/portal.sh), so the table must stay well under it.
#[test]
fn a_hundred_thousand_portal_users_fit_in_a_kibibyte_each() {
    let mut table = Table::new(Limits {
        max_users: None,
        interfaces: BTreeMap::from([(PORT.to_string(), PortLimits::default())]),
    });
    let before = live_bytes();
    for i in 0..N {
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 64, 0, 1)) + i);
        let req = LoginRequest {
            ip,
            mac: [0x02, 0, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8],
            interface: PORT.to_string(),
            username: format!("user{:05}", i % 5000),
        };
        // Typical users: an idle-cut and a session limit, so every user has a deadline.
        let grant = Grant {
            username: req.username.clone(),
            access_limit: None,
            idle_cut_secs: Some(900),
            session_secs: Some(86_400),
        };
        table
            .login(u64::from(i), req, Ok(grant))
            .expect("no limit configured");
        if i % 1000 == 999 {
            // The driver drains the events (journal, firewall) as it goes.
            table.drain();
        }
    }
    table.drain();
    assert_eq!(table.users().count(), N as usize);
    let bytes = live_bytes() - before;
    let per_user = bytes / N as usize;
    eprintln!(
        "portal user table: {N} users in {:.1} MiB of live heap, {per_user} bytes per user",
        bytes as f64 / (1024.0 * 1024.0)
    );
    assert!(per_user < 1024, "{per_user} bytes per user");
}
