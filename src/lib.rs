//! Duet: a network operating system for a pair of devices (VRRP, DHCPv4 server, lease hot backup)
//! with a Comware-style command shell. See docs/architecture.md for the map.

pub mod aaa;
pub mod cli;
pub mod config;
pub mod datadir;
pub mod demo;
pub mod device;
pub mod dhcp;
pub mod features;
pub mod fuzzing;
pub mod hotbackup;
pub mod infocenter;
pub mod interface;
pub mod metrics;
pub mod net;
pub mod portal;
pub mod route;
pub mod session;
pub mod system;
#[cfg(test)]
pub(crate) mod testing;
pub mod track;
pub mod vrrp;
