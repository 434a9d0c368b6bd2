//! Memory per lease at a million leases: the lease table (all its indexes) plus the allocator
//! of a pool of 2^20 addresses, counted by a global allocator that tracks live heap bytes.
//! Run with `--nocapture` to see the figure.

use std::net::Ipv4Addr;

use duet::dhcp::lease::{ClientKey, LeaseRecord, LeaseState, LeaseTable};
use duet::dhcp::pool::Allocator;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{Counting, live_bytes, rss};

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: u32 = 1_000_000;

#[test]
fn a_million_leases_fit_in_a_sane_amount_of_memory() {
    let before = live_bytes();
    let rss_before = rss();
    let base = u32::from(Ipv4Addr::new(10, 0, 0, 1));
    let mut alloc = Allocator::new(base.into(), (base + (1 << 20) - 1).into());
    let mut table = LeaseTable::new();
    for i in 0..N {
        let ip = alloc.allocate().expect("pool larger than N");
        let mac = [0x02, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8, 1];
        // A typical client: option 61 = type 1 + MAC, no option 82, no hostname.
        let mut id = vec![1];
        id.extend_from_slice(&mac);
        table.upsert(LeaseRecord {
            ip,
            state: LeaseState::Committed,
            client: ClientKey::Id(id.into()),
            chaddr: mac.to_vec().into(),
            expires: 86_400_000 + u64::from(i),
            updated: u64::from(i),
            relay_info: None,
            hostname: None,
            is_static: false,
        });
    }
    let bytes = live_bytes() - before;
    let per_lease = bytes as f64 / f64::from(N);
    println!(
        "{N} leases: {:.1} MiB live heap, {per_lease:.0} bytes per lease (allocator {} KiB)",
        bytes as f64 / 1048576.0,
        alloc.heap_bytes() / 1024
    );
    if let (Some(a), Some(b)) = (rss_before, rss()) {
        println!(
            "resident set grew by {:.1} MiB, {:.0} bytes per lease",
            (b - a) as f64 / 1048576.0,
            (b - a) as f64 / f64::from(N)
        );
    }
    assert_eq!(table.len(), N as usize);
    assert!(per_lease < 260.0, "{per_lease:.0} bytes per lease");
}
