//! VRRP I/O behind [`VrrpIo`](crate::vrrp::driver::VrrpIo): `linux` (raw sockets, macvlan,
//! AF_PACKET) and `sim` (frames on the simulated LAN), and the frames both build.

pub mod frame;
pub mod linux;
pub mod sim;
