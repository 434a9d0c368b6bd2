//! Deterministic whole-system simulation without hot backup: devices A and B (VRRP + DHCP,
//! the `duet demo` pair without its hot backup) and simulated clients on one LAN, on tokio's
//! paused clock, under seeded faults (tests/sim_common): crash either device at a random
//! moment (drop it, start a new one on the same data dir), drop frames at random, delay (and
//! so reorder) the clients' messages, cut the failover link, split the LAN so that each device
//! serves part of the clients alone, and combinations of these. After every run the
//! invariants are checked; a failure names its seed, and `DUET_SIM_SEED=N` replays just that
//! one. `DUET_SIM_SEEDS=N` runs more seeds (default 200).
//!
//! Without hot backup the two devices never exchange bindings, so the pair runs with the
//! split pool (each device gives new bindings only from its own half): the invariants are
//! that no address is ever held by two clients, that every client ends up bound once the
//! faults heal, and that the pair ends with one master, A. The same runs with hot backup, and
//! its stronger invariants, are in tests/sim_hotbackup.rs.

mod sim_common;

use std::fmt::Write as _;

use duet::demo::check::{Violation, check};
use duet::demo::pair::{PairOptions, Side, VRID, lan_port};
use duet::demo::run::views;
use sim_common::{campaign, pair_options, report_unbound, seeds, simulate};

/// One seeded run: its failures as text (empty when every invariant held).
async fn run_seed(seed: u64) -> Result<String, String> {
    let opts = PairOptions {
        split_pool: true,
        ..pair_options()
    };
    let run = simulate(seed, opts).await?;
    let seen = views(&run.pair);
    let mut failures = String::new();
    for v in check(&seen) {
        // Without hot backup a device NAKs a renewal of the peer's half it does not know,
        // and a client moves; sharing an address is never allowed.
        if matches!(v, Violation::Shared { .. }) {
            let _ = writeln!(failures, "  {v}");
        }
    }
    report_unbound(&seen, &mut failures);
    let masters: Vec<Side> = Side::BOTH
        .into_iter()
        .filter(|&s| {
            run.pair
                .device(s)
                .is_some_and(|d| d.vrrp_status.borrow().is_master(&lan_port(), VRID))
        })
        .collect();
    if masters != [Side::A] {
        let _ = writeln!(failures, "  masters at the end: {masters:?}");
    }
    if failures.is_empty() {
        Ok(String::new())
    } else {
        Ok(format!("faults:\n{}violations:\n{failures}", run.story))
    }
}

#[tokio::test(start_paused = true)]
async fn seeded_faults_never_share_an_address_and_the_pair_heals() {
    campaign("split pool", &seeds(200), run_seed).await;
}
