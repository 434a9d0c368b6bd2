//! `duet demo` and what it is built from: simulated DHCP clients ([`client`], run on the LAN
//! by [`station`]) and the client-side invariants ([`check`]).

pub mod check;
pub mod client;
pub mod station;

pub use client::{Client, ClientEvent, ClientOptions, ClientState, Lease};
pub use station::{Station, StationView};
