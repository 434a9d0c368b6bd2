//! Memory per logged-in portal user at 100,000 users (issue 12's target: under 1 KiB): the user
//! table with all its indexes, counted by a global allocator that tracks live heap bytes. Run
//! with `--nocapture` to see the figure.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};

use duet::aaa::network::Grant;
use duet::portal::users::{Limits, LoginRequest, PortLimits, Table};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: u32 = 100_000;
const PORT: &str = "GigabitEthernet1/0/1";

#[test]
fn a_hundred_thousand_users_take_under_a_kibibyte_each() {
    let limits = Limits {
        max_users: None,
        interfaces: BTreeMap::from([(PORT.to_string(), PortLimits::default())]),
    };
    let mut table = Table::new(limits);
    let before = LIVE.load(Ordering::Relaxed);
    let base = u32::from(Ipv4Addr::new(10, 0, 0, 1));
    for i in 0..N {
        // Typical users: a name each, an idle cut and a session limit (both timers armed).
        let req = LoginRequest {
            ip: Ipv4Addr::from(base + i),
            mac: [0x02, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8, 1],
            interface: PORT.to_string(),
            username: format!("guest{i:06}"),
        };
        let grant = Grant {
            username: req.username.clone(),
            access_limit: None,
            idle_cut_secs: Some(900),
            session_secs: Some(28_800),
        };
        table.login(u64::from(i), req, Ok(grant)).expect("login");
        // The driver takes the events every round.
        drop(table.drain());
    }
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    let per_user = bytes as f64 / f64::from(N);
    println!(
        "{N} portal users: {:.1} MiB live heap, {per_user:.0} bytes per user",
        bytes as f64 / 1048576.0
    );
    assert_eq!(table.len(), N as usize);
    assert!(per_user < 1024.0, "{per_user:.0} bytes per user");
}
