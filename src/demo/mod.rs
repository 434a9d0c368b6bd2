//! `duet demo` and what it is built from: simulated DHCP clients ([`client`], run on the LAN
//! by [`station`]), the two-device network ([`pair`]) that the whole-system simulation tests
//! use too, the client-side invariants ([`check`]) and the demo program itself ([`run`]).

pub mod check;
pub mod client;
pub mod pair;
pub mod run;
pub mod station;

pub use client::{Client, ClientEvent, ClientOptions, ClientState, Lease};
pub use pair::{Pair, PairError, PairOptions, Side};
pub use station::{Station, StationView};
