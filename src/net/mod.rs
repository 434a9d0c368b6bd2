//! Network backends: `linux` (real interfaces, netlink, sockets) and `sim` (an in-process LAN
//! with a virtual clock), behind the same driver traits.
