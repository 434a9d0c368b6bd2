//! VRRP on Linux (see docs/vrrp.md and reference/platform-notes.md for why each step is
//! done this way):
//!
//! - receive: one raw IPv4 socket (protocol 112) per port, bound to the device with
//!   SO_BINDTODEVICE and joined to 224.0.0.18 by interface index, not bound to an address
//!   (a bound raw socket would filter out the multicast destination);
//! - send: a second raw socket per port bound to the primary address (the v3 checksum covers
//!   the source, so it must be the primary, never a virtual IP), multicast TTL 255, loop off.
//!   A master whose macvlan is in place sends from a raw socket bound to the macvlan instead
//!   (same address, TTL and loop), so its adverts carry the virtual MAC as Ethernet source
//!   (RFC 5798 section 7.3);
//! - virtual MAC: a macvlan `vrrp-<ifindex>-<vrid>` with MAC 00-00-5E-00-01-{VRID} carrying
//!   the virtual IPs as /32 (accept mode: they are local addresses), with `arp_ignore=1` and
//!   `arp_announce=2` on the parent and the macvlan so only the macvlan answers ARP for them.
//!   When the kernel refuses the macvlan, the virtual IPs go on the port itself and its own
//!   MAC answers ([`MacMode::Real`]);
//! - gratuitous ARP: whole Ethernet frames through an AF_PACKET socket on the port.
//!
//! Every macvlan, and every virtual IP put on a port itself, is recorded in the device's
//! kernel-object ledger before it is made and forgotten once removed (`net::ledger`), so
//! `duet cleanup` removes them after a crash. Leftover macvlans of an earlier run (after
//! `kill -9` without cleanup) are replaced when the group becomes master again.

use std::collections::BTreeMap;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::MacVlanMode;
use rtnetlink::{Handle, LinkMacVlan, LinkUnspec};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::frame;
use crate::interface::name::IfName;
use crate::net::NetError;
use crate::net::ledger::{KernelObject, Ledger};
use crate::vrrp::driver::{IoError, MacMode, Received, VrrpIo};
use crate::vrrp::packet::{IPPROTO_VRRP, VRRP_MULTICAST, VRRP_TTL};

/// Datagrams waiting for the driver.
const QUEUE: usize = 1024;
/// Largest datagram read (VRRP adverts are < 1100 bytes).
const RECV_BUF: usize = 2048;

fn os(e: impl std::fmt::Display) -> IoError {
    IoError::Os(e.to_string())
}

struct OpenPort {
    ifindex: u32,
    linux: String,
    reader: JoinHandle<()>,
    /// The send socket on the port itself and the address it is bound to.
    sender: Sender,
}

/// A raw send socket and the source address it is bound to.
type Sender = Option<(Ipv4Addr, Socket)>;

/// Where a master's virtual IPs were put.
enum Installed {
    Macvlan {
        index: u32,
        name: String,
        mac: [u8; 6],
        /// Adverts from the virtual MAC; made at the first send, dropped with the macvlan
        /// (a socket bound to a deleted device cannot send on its successor).
        sender: Sender,
    },
    Parent {
        index: u32,
    },
}

pub struct LinuxVrrpIo {
    ports: BTreeMap<IfName, String>,
    handle: Handle,
    tx: mpsc::Sender<Received>,
    rx: mpsc::Receiver<Received>,
    open: BTreeMap<IfName, OpenPort>,
    installed: BTreeMap<(IfName, u8), Installed>,
    /// AF_PACKET socket for gratuitous ARP (send only: protocol 0 receives nothing).
    packet: Option<OwnedFd>,
    /// Where macvlans and virtual IPs are recorded before they are made.
    kernel: Arc<Ledger>,
}

fn macvlan_object(name: &str) -> KernelObject {
    KernelObject::Link {
        name: name.to_string(),
        kind: "macvlan".into(),
    }
}

fn parent_vip_object(linux: &str, addr: Ipv4Addr) -> KernelObject {
    KernelObject::Address {
        dev: linux.to_string(),
        addr,
        prefix: 32,
    }
}

/// Record in the ledger (write-ahead) or forget; a failure is logged, never fatal: a master
/// that cannot write its ledger still serves (cleanup's name-based sweep still finds its
/// macvlans).
fn ledger_log(result: std::io::Result<()>, object: &KernelObject) {
    if let Err(e) = result {
        tracing::warn!(object = %object, error = %e, "cannot update the kernel-object ledger");
    }
}

impl LinuxVrrpIo {
    /// Must run inside a tokio runtime, in the network namespace of the ports. What it adds
    /// to the kernel is recorded in `kernel`.
    pub fn new(ports: &[(IfName, String)], kernel: Arc<Ledger>) -> Result<Self, NetError> {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|e| NetError::Socket(e.to_string()))?;
        tokio::spawn(conn);
        let (tx, rx) = mpsc::channel(QUEUE);
        Ok(LinuxVrrpIo {
            ports: ports.iter().cloned().collect(),
            handle,
            tx,
            rx,
            open: BTreeMap::new(),
            installed: BTreeMap::new(),
            packet: None,
            kernel,
        })
    }

    fn port(&self, port: &IfName) -> Result<&OpenPort, IoError> {
        self.open
            .get(port)
            .ok_or_else(|| IoError::UnknownPort(port.to_string()))
    }

    async fn link_index(&self, name: &str) -> Option<u32> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.next().await {
            Some(Ok(link)) => Some(link.header.index),
            _ => None,
        }
    }

    /// Create the macvlan of a group (replacing a leftover one) with the virtual IPs on it.
    async fn add_macvlan(
        &self,
        parent: u32,
        vrid: u8,
        addresses: &[Ipv4Addr],
        mac: [u8; 6],
    ) -> Result<(u32, String), String> {
        let name = format!("vrrp-{parent}-{vrid}");
        if name.len() > 15 {
            return Err(format!("the macvlan name {name} is too long"));
        }
        if let Some(old) = self.link_index(&name).await {
            let _ = self.handle.link().del(old).execute().await;
        }
        let object = macvlan_object(&name);
        ledger_log(self.kernel.record(object.clone()), &object);
        self.handle
            .link()
            .add(
                LinkMacVlan::new(&name, parent, MacVlanMode::Bridge)
                    .address(mac.to_vec())
                    .build(),
            )
            .execute()
            .await
            .map_err(|e| format!("cannot create the macvlan {name}: {e}"))?;
        let index = self
            .link_index(&name)
            .await
            .ok_or_else(|| format!("the macvlan {name} vanished"))?;
        let result = async {
            set_arp_sysctls(&name)?;
            for a in addresses {
                self.handle
                    .address()
                    .add(index, IpAddr::V4(*a), 32)
                    .execute()
                    .await
                    .map_err(|e| format!("cannot add {a} to {name}: {e}"))?;
            }
            self.handle
                .link()
                .set(LinkUnspec::new_with_index(index).up().build())
                .execute()
                .await
                .map_err(|e| format!("cannot bring {name} up: {e}"))
        }
        .await;
        if let Err(e) = result {
            if self.handle.link().del(index).execute().await.is_ok() {
                ledger_log(self.kernel.forget(&object), &object);
            }
            return Err(e);
        }
        Ok((index, name))
    }

    async fn del_parent_addresses(
        &self,
        index: u32,
        addresses: &[Ipv4Addr],
    ) -> Result<(), IoError> {
        let mut stream = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        let mut doomed = Vec::new();
        while let Some(m) = stream.next().await {
            let m = m.map_err(os)?;
            let ours = m.header.family == AddressFamily::Inet
                && m.header.index == index
                && m.header.prefix_len == 32
                && m.attributes.iter().any(|a| {
                    matches!(a, AddressAttribute::Local(IpAddr::V4(v4)) if addresses.contains(v4))
                });
            if ours {
                doomed.push(m);
            }
        }
        for m in doomed {
            self.handle.address().del(m).execute().await.map_err(os)?;
        }
        if let Some(linux) = self.open.values().find(|p| p.ifindex == index) {
            for a in addresses {
                let object = parent_vip_object(&linux.linux, *a);
                ledger_log(self.kernel.forget(&object), &object);
            }
        }
        Ok(())
    }
}

/// Only the interface holding an address answers ARP for it, and ARP requests use the
/// primary address of the sending interface (platform-notes: otherwise the parent answers
/// for the virtual IP with its own MAC).
fn set_arp_sysctls(ifname: &str) -> Result<(), String> {
    for (name, value) in [("arp_ignore", "1"), ("arp_announce", "2")] {
        let path = format!("/proc/sys/net/ipv4/conf/{ifname}/{name}");
        std::fs::write(&path, value).map_err(|e| format!("cannot set {path}: {e}"))?;
    }
    Ok(())
}

fn receive_socket(linux: &str, ifindex: u32) -> std::io::Result<Socket> {
    let s = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(i32::from(IPPROTO_VRRP))),
    )?;
    s.bind_device(Some(linux.as_bytes()))?;
    s.join_multicast_v4_n(&VRRP_MULTICAST, &InterfaceIndexOrAddress::Index(ifindex))?;
    s.set_nonblocking(true)?;
    // Arrival timestamps: Master_Down_Timer runs from the arrival, not from when the driver
    // got around to the packet.
    let on: libc::c_int = 1;
    // SAFETY: setsockopt with a valid int option on our socket.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(s)
}

/// A raw socket sending adverts out of `device` from `src`. On the port itself
/// IP_MULTICAST_IF names the primary address; on a macvlan it must not (the address belongs
/// to another device: EINVAL, platform-notes), and SO_BINDTODEVICE alone picks the device.
/// The source is the primary address of the parent either way: the route lookup accepts any
/// local address as source, and the v3 checksum needs that one.
fn send_socket(device: &str, src: Ipv4Addr, multicast_if: bool) -> std::io::Result<Socket> {
    let s = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(i32::from(IPPROTO_VRRP))),
    )?;
    s.bind_device(Some(device.as_bytes()))?;
    s.set_multicast_ttl_v4(u32::from(VRRP_TTL))?;
    s.set_ttl_v4(u32::from(VRRP_TTL))?;
    // Our own adverts must not come back to the receive socket as a peer's.
    s.set_multicast_loop_v4(false)?;
    s.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))?;
    if multicast_if {
        s.set_multicast_if_v4(&src)?;
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Send `msg` to 224.0.0.18 through `sender`, (re)making it with `make` when it is missing or
/// bound to another source address.
fn send_through(
    sender: &mut Sender,
    src: Ipv4Addr,
    make: impl FnOnce() -> std::io::Result<Socket>,
    msg: &[u8],
) -> std::io::Result<()> {
    if sender.as_ref().is_none_or(|(bound, _)| *bound != src) {
        *sender = Some((src, make()?));
    }
    let Some((_, socket)) = sender else {
        return Err(std::io::Error::other("no send socket"));
    };
    let dst = SockAddr::from(SocketAddrV4::new(VRRP_MULTICAST, 0));
    socket.send_to(msg, &dst).map(|_| ())
}

/// A non-blocking timerfd that fires once, `left` from now, registered with the reactor.
fn timer_fd(left: Duration) -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: plain timerfd_create(2); the result is checked and owned at once.
    let raw = unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: raw is a new, valid descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: left.as_secs() as libc::time_t,
            tv_nsec: libc::c_long::from(left.subsec_nanos() as i32),
        },
    };
    // SAFETY: fd is a valid timerfd and spec a valid itimerspec; no old value is asked for.
    if unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the AsyncFd owns the descriptor for its whole life.
    unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Read datagrams from a port's receive socket into the driver's queue until aborted.
async fn read_loop(port: IfName, socket: Socket, tx: mpsc::Sender<Received>) {
    // SAFETY: the socket is owned by this AsyncFd for its whole life and not used elsewhere.
    let fd = match unsafe { AsyncFd::register(socket) } {
        Ok(fd) => fd,
        Err(e) => {
            tracing::warn!(port = %port, error = %e, "cannot watch the VRRP socket");
            return;
        }
    };
    let mut buf = [0u8; RECV_BUF];
    loop {
        let Ok(mut guard) = fd.readable().await else {
            return;
        };
        match guard.try_io(|s| recv_stamped(s.get_ref(), &mut buf)) {
            Ok(Ok((n, at))) => {
                let _ = tx.try_send(Received {
                    port: port.clone(),
                    datagram: buf[..n].to_vec(),
                    at,
                });
            }
            Ok(Err(e)) => {
                tracing::warn!(port = %port, error = %e, "VRRP receive failed");
                return;
            }
            Err(_would_block) => {}
        }
    }
}

/// One datagram and when it arrived: the kernel's SO_TIMESTAMPNS stamp (wall clock) turned
/// into an age and taken off the monotonic now; now itself when there is no stamp.
fn recv_stamped(socket: &Socket, buf: &mut [u8]) -> std::io::Result<(usize, Instant)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for one timespec control message.
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain old data; all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: msg points at valid buffers of the lengths it states.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, 0) };
    let (now, wall) = (Instant::now(), std::time::SystemTime::now());
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut at = now;
    // SAFETY: the CMSG macros walk the control buffer the kernel filled, within its length.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                let stamp =
                    std::time::UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
                if let Ok(age) = wall.duration_since(stamp) {
                    at = now.checked_sub(age).unwrap_or(now);
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, at))
}

impl Drop for LinuxVrrpIo {
    fn drop(&mut self) {
        for (_, p) in std::mem::take(&mut self.open) {
            p.reader.abort();
        }
        // Best effort when the engine is stopped without resigning: remove the macvlans
        // (they would keep answering ARP for the virtual IPs).
        let macvlans: Vec<(u32, String)> = self
            .installed
            .values()
            .filter_map(|i| match i {
                Installed::Macvlan { index, name, .. } => Some((*index, name.clone())),
                Installed::Parent { .. } => None,
            })
            .collect();
        if !macvlans.is_empty()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let handle = self.handle.clone();
            let kernel = self.kernel.clone();
            rt.spawn(async move {
                for (index, name) in macvlans {
                    if handle.link().del(index).execute().await.is_ok() {
                        let object = macvlan_object(&name);
                        ledger_log(kernel.forget(&object), &object);
                    }
                }
            });
        }
    }
}

impl VrrpIo for LinuxVrrpIo {
    fn open(&mut self, port: &IfName) -> Result<(), IoError> {
        if self.open.contains_key(port) {
            return Ok(());
        }
        let linux = self
            .ports
            .get(port)
            .cloned()
            .ok_or_else(|| IoError::UnknownPort(port.to_string()))?;
        let ifindex = nix::net::if_::if_nametoindex(linux.as_str()).map_err(os)?;
        let socket = receive_socket(&linux, ifindex).map_err(os)?;
        let reader = tokio::spawn(read_loop(port.clone(), socket, self.tx.clone()));
        self.open.insert(
            port.clone(),
            OpenPort {
                ifindex,
                linux,
                reader,
                sender: None,
            },
        );
        Ok(())
    }

    fn close(&mut self, port: &IfName) {
        if let Some(p) = self.open.remove(port) {
            p.reader.abort();
        }
    }

    async fn recv(&mut self) -> Received {
        match self.rx.recv().await {
            Some(got) => got,
            // This struct holds a sender, so the channel never closes.
            None => std::future::pending().await,
        }
    }

    fn send(
        &mut self,
        port: &IfName,
        src: Ipv4Addr,
        mac: Option<[u8; 6]>,
        msg: &[u8],
    ) -> Result<(), IoError> {
        let p = self
            .open
            .get_mut(port)
            .ok_or_else(|| IoError::UnknownPort(port.to_string()))?;
        // RFC 5798 section 7.3: a master sends from the virtual MAC, so from its macvlan when
        // there is one. Without it (the real-MAC fallback, or before it is set up) the port
        // sends with its own MAC.
        let macvlan = mac.and_then(|want| {
            self.installed.iter_mut().find_map(|((p, _), i)| match i {
                Installed::Macvlan {
                    name, mac, sender, ..
                } if p == port && *mac == want => Some((name.as_str(), sender)),
                _ => None,
            })
        });
        if let Some((name, sender)) = macvlan {
            match send_through(sender, src, || send_socket(name, src, false), msg) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    // An advert from the port MAC still keeps the backups from taking over.
                    *sender = None;
                    tracing::warn!(port = %port, macvlan = name, error = %e, "cannot send a VRRP advertisement from the virtual MAC, sending from the port");
                }
            }
        }
        let linux = &p.linux;
        send_through(&mut p.sender, src, || send_socket(linux, src, true), msg).map_err(os)
    }

    async fn add_virtual_ips(
        &mut self,
        port: &IfName,
        vrid: u8,
        addresses: &[Ipv4Addr],
        mac: [u8; 6],
    ) -> Result<MacMode, IoError> {
        let (ifindex, linux) = {
            let p = self.port(port)?;
            (p.ifindex, p.linux.clone())
        };
        let key = (port.clone(), vrid);
        if let Some(Installed::Macvlan { index, name, .. }) = self.installed.remove(&key)
            && self.handle.link().del(index).execute().await.is_ok()
        {
            let object = macvlan_object(&name);
            ledger_log(self.kernel.forget(&object), &object);
        }
        let attempt = match set_arp_sysctls(&linux) {
            Ok(()) => self.add_macvlan(ifindex, vrid, addresses, mac).await,
            Err(e) => Err(e),
        };
        match attempt {
            Ok((index, name)) => {
                self.installed.insert(
                    key,
                    Installed::Macvlan {
                        index,
                        name,
                        mac,
                        sender: None,
                    },
                );
                Ok(MacMode::Virtual)
            }
            Err(reason) => {
                for a in addresses {
                    let object = parent_vip_object(&linux, *a);
                    ledger_log(self.kernel.record(object.clone()), &object);
                    match self
                        .handle
                        .address()
                        .add(ifindex, IpAddr::V4(*a), 32)
                        .execute()
                        .await
                    {
                        Ok(()) => {}
                        // Already there (EEXIST) is what we want.
                        Err(rtnetlink::Error::NetlinkError(m)) if m.raw_code().abs() == 17 => {}
                        Err(e) => return Err(os(e)),
                    }
                }
                self.installed
                    .insert(key, Installed::Parent { index: ifindex });
                Ok(MacMode::Real { reason })
            }
        }
    }

    async fn del_virtual_ips(
        &mut self,
        port: &IfName,
        vrid: u8,
        addresses: &[Ipv4Addr],
    ) -> Result<(), IoError> {
        match self.installed.remove(&(port.clone(), vrid)) {
            Some(Installed::Macvlan { index, name, .. }) => {
                self.handle.link().del(index).execute().await.map_err(os)?;
                let object = macvlan_object(&name);
                ledger_log(self.kernel.forget(&object), &object);
                Ok(())
            }
            Some(Installed::Parent { index }) => self.del_parent_addresses(index, addresses).await,
            None => Ok(()),
        }
    }

    async fn sleep_until(deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        match timer_fd(left) {
            Ok(fd) => {
                let _ = fd.readable().await;
            }
            // No timerfd: tokio's millisecond timer will do.
            Err(_) => tokio::time::sleep_until(deadline).await,
        }
    }

    fn gratuitous_arp(
        &mut self,
        port: &IfName,
        addresses: &[Ipv4Addr],
        mac: [u8; 6],
    ) -> Result<(), IoError> {
        let ifindex = self.port(port)?.ifindex;
        if self.packet.is_none() {
            // SAFETY: plain socket(2) call; the result is checked and owned at once.
            let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
            if fd < 0 {
                return Err(os(std::io::Error::last_os_error()));
            }
            // SAFETY: fd is a new, valid descriptor nobody else owns.
            self.packet = Some(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let Some(fd) = &self.packet else {
            return Err(IoError::Os("no packet socket".into()));
        };
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { MaybeUninit::zeroed().assume_init() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ARP as u16).to_be();
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame::BROADCAST);
        for a in addresses {
            let f = frame::gratuitous_arp(mac, *a);
            // SAFETY: the buffer and the address are valid for the lengths given.
            let rc = unsafe {
                libc::sendto(
                    fd.as_raw_fd(),
                    f.as_ptr().cast(),
                    f.len(),
                    0,
                    (&sll as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            if rc < 0 {
                return Err(os(std::io::Error::last_os_error()));
            }
        }
        Ok(())
    }
}
