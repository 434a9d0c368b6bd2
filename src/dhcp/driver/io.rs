//! The DHCP driver's sockets: one reader task per served interface feeding one channel, and
//! the sending side. On Linux: a UDP socket per interface (SO_REUSEADDR, SO_BROADCAST,
//! SO_BINDTODEVICE, bound to 0.0.0.0:67, see platform-notes.md) and an AF_PACKET socket for
//! replies to a client's hardware address. On the simulated LAN: Ethernet frames built and
//! parsed by [`crate::dhcp::frame`].

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::dhcp::event::{Destination, Reply};
use crate::dhcp::frame::{self, BROADCAST_MAC, UdpAddrs};
use crate::interface::name::IfName;
use crate::net::sim::{Lan, NodeId, PortId};

pub const SERVER_PORT: u16 = 67;
pub const CLIENT_PORT: u16 = 68;
/// The largest datagram read; longer ones are cut and then rejected by the decoder.
const RECV_BUFFER: usize = 4096;
/// Datagrams a reader takes from its socket per wake-up and hands over in one message (one
/// wake-up of the engine instead of one per datagram).
pub const READ_BATCH: usize = 64;

/// What a reader hands the engine: the datagrams it found waiting.
pub type Batch = Vec<Received>;

/// One datagram received on port 67.
#[derive(Debug)]
pub struct Received {
    /// The port it arrived on (Comware name).
    pub interface: Arc<str>,
    pub bytes: Vec<u8>,
}

/// An interface the server answers on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    pub name: IfName,
    pub address: Ipv4Addr,
    /// The VRRP virtual IPs of the interface. On Linux the master holds them on a macvlan
    /// device, so a client's unicast renewal to the virtual IP (hot backup makes it the server
    /// identifier) never reaches the socket bound to the port: a socket bound to each virtual
    /// IP (IP_FREEBIND, so it exists before the address does) takes them.
    pub virtual_ips: Vec<Ipv4Addr>,
}

/// Why a reply could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("no socket on {0}")]
    NotServed(String),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Net(#[from] crate::net::NetError),
}

/// The sockets of one backend.
pub enum DhcpIo {
    Linux(LinuxIo),
    Sim(SimIo),
}

impl DhcpIo {
    /// Serve exactly these interfaces: readers of interfaces no longer served stop, new ones
    /// start (an interface whose address changed is reopened). Errors are per interface.
    pub fn serve(
        &mut self,
        served: &[Served],
        tx: &mpsc::Sender<Batch>,
    ) -> Vec<(IfName, io::Error)> {
        match self {
            DhcpIo::Linux(l) => l.serve(served, tx),
            DhcpIo::Sim(s) => s.serve(served, tx),
        }
    }

    /// Where this backend's conflict probes go (`dhcp server ping`).
    pub fn probe_net(&self) -> super::conflict_probe::ProbeNet {
        match self {
            DhcpIo::Linux(_) => super::conflict_probe::ProbeNet::Linux,
            DhcpIo::Sim(s) => super::conflict_probe::ProbeNet::Sim(s.lan.clone(), s.node),
        }
    }

    /// Send one reply out of its interface.
    pub fn send(&mut self, reply: &Reply) -> Result<(), SendError> {
        match self {
            DhcpIo::Linux(l) => l.send(reply),
            DhcpIo::Sim(s) => s.send(reply),
        }
    }
}

/// The client hardware address of a BOOTP message (chaddr, 6 bytes for Ethernet).
fn chaddr_of(bytes: &[u8]) -> Option<[u8; 6]> {
    bytes.get(28..34)?.try_into().ok()
}

/// A served Linux interface: its UDP socket, raw socket and reader.
struct LinuxPort {
    served: Served,
    udp: Arc<UdpSocket>,
    /// AF_PACKET `SOCK_DGRAM` socket for frames to a hardware address; `None` when it could
    /// not be opened (replies then go out as broadcasts, as RFC 2131 allows).
    raw: Option<OwnedFd>,
    ifindex: u32,
    reader: JoinHandle<()>,
    /// Readers of the sockets bound to the virtual IPs.
    vip_readers: Vec<JoinHandle<()>>,
}

impl Drop for LinuxPort {
    fn drop(&mut self) {
        self.reader.abort();
        self.vip_readers.iter().for_each(JoinHandle::abort);
    }
}

/// Linux sockets, one set per served port.
pub struct LinuxIo {
    /// Port -> Linux interface name.
    names: HashMap<IfName, String>,
    ports: HashMap<Arc<str>, LinuxPort>,
}

impl LinuxIo {
    pub fn new(ports: &[(IfName, String)]) -> LinuxIo {
        LinuxIo {
            names: ports.iter().cloned().collect(),
            ports: HashMap::new(),
        }
    }

    fn serve(&mut self, served: &[Served], tx: &mpsc::Sender<Batch>) -> Vec<(IfName, io::Error)> {
        self.ports.retain(|_, p| served.contains(&p.served));
        let mut errors = Vec::new();
        for s in served {
            let key: Arc<str> = s.name.to_string().into();
            if self.ports.contains_key(&key) {
                continue;
            }
            let Some(linux) = self.names.get(&s.name) else {
                errors.push((
                    s.name.clone(),
                    io::Error::new(io::ErrorKind::NotFound, "not mapped to a Linux interface"),
                ));
                continue;
            };
            match open_linux_port(s, linux, key.clone(), tx.clone()) {
                Ok(p) => {
                    self.ports.insert(key, p);
                }
                Err(e) => errors.push((s.name.clone(), e)),
            }
        }
        errors
    }

    fn send(&mut self, reply: &Reply) -> Result<(), SendError> {
        let port = self
            .ports
            .get(reply.interface.as_str())
            .ok_or_else(|| SendError::NotServed(reply.interface.clone()))?;
        let to = match &reply.to {
            Destination::Broadcast => SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT),
            Destination::Unicast { ip } => SocketAddrV4::new(*ip, CLIENT_PORT),
            Destination::Relay { ip } => SocketAddrV4::new(*ip, SERVER_PORT),
            Destination::Hardware { ip, chaddr } => {
                if let (Some(raw), Ok(mac)) = (&port.raw, <[u8; 6]>::try_from(&chaddr[..])) {
                    let packet = frame::ipv4_udp(
                        UdpAddrs {
                            src: port.served.address,
                            dst: *ip,
                            src_port: SERVER_PORT,
                            dst_port: CLIENT_PORT,
                        },
                        &reply.bytes,
                    );
                    return send_raw(raw, port.ifindex, mac, &packet).map_err(SendError::Io);
                }
                SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT)
            }
        };
        port.udp.try_send_to(&reply.bytes, to.into())?;
        Ok(())
    }
}

fn open_linux_port(
    served: &Served,
    linux: &str,
    key: Arc<str>,
    tx: mpsc::Sender<Batch>,
) -> io::Result<LinuxPort> {
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_reuse_address(true)?;
    sock.set_broadcast(true)?;
    sock.bind_device(Some(linux.as_bytes()))?;
    // Room for bursts: the driver reads a batch per wake-up.
    let _ = sock.set_recv_buffer_size(4 << 20);
    sock.set_nonblocking(true)?;
    sock.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, SERVER_PORT).into())?;
    let udp = Arc::new(UdpSocket::from_std(std::net::UdpSocket::from(sock))?);
    let ifindex = nix::net::if_::if_nametoindex(linux).map_err(io::Error::from)?;
    let raw = open_raw().ok();
    let mut vip_readers = Vec::new();
    for vip in &served.virtual_ips {
        match open_vip_socket(*vip) {
            Ok(s) => vip_readers.push(tokio::spawn(read_udp(s, key.clone(), tx.clone()))),
            Err(e) => tracing::debug!(%vip, error = %e, "DHCP socket on the virtual IP not opened"),
        }
    }
    let reader = tokio::spawn(read_udp(udp.clone(), key, tx));
    Ok(LinuxPort {
        served: served.clone(),
        udp,
        raw,
        ifindex,
        reader,
        vip_readers,
    })
}

/// A UDP socket on VIP:67 that receives unicast requests to a VRRP virtual IP (only while
/// this device holds it; broadcasts never match a socket bound to a unicast address).
fn open_vip_socket(vip: Ipv4Addr) -> io::Result<Arc<UdpSocket>> {
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_reuse_address(true)?;
    sock.set_freebind_v4(true)?;
    sock.set_nonblocking(true)?;
    sock.bind(&SocketAddrV4::new(vip, SERVER_PORT).into())?;
    Ok(Arc::new(UdpSocket::from_std(std::net::UdpSocket::from(
        sock,
    ))?))
}

async fn read_udp(sock: Arc<UdpSocket>, interface: Arc<str>, tx: mpsc::Sender<Batch>) {
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        if let Err(e) = sock.readable().await {
            tracing::debug!(interface = %interface, error = %e, "DHCP socket wait failed");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        }
        let mut batch = Vec::new();
        while batch.len() < READ_BATCH {
            match sock.try_recv_from(&mut buf) {
                Ok((n, _)) => batch.push(Received {
                    interface: interface.clone(),
                    bytes: buf[..n].to_vec(),
                }),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // E.g. an ICMP error reported on the socket: it is consumed by this read.
                    tracing::debug!(interface = %interface, error = %e, "DHCP socket read failed");
                    break;
                }
            }
        }
        if !batch.is_empty() && tx.send(batch).await.is_err() {
            return;
        }
    }
}

/// An AF_PACKET datagram socket for IPv4 (the kernel adds the Ethernet header).
fn open_raw() -> io::Result<OwnedFd> {
    let s = Socket::new(
        Domain::PACKET,
        Type::DGRAM,
        Some(Protocol::from(i32::from((libc::ETH_P_IP as u16).to_be()))),
    )?;
    // Receive nothing on it: it only sends.
    s.set_recv_buffer_size(0).ok();
    Ok(s.into())
}

fn send_raw(fd: &OwnedFd, ifindex: u32, mac: [u8; 6], packet: &[u8]) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain data; every field we rely on is set below.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = (libc::ETH_P_IP as u16).to_be();
    addr.sll_ifindex = ifindex as i32;
    addr.sll_halen = 6;
    addr.sll_addr[..6].copy_from_slice(&mac);
    // SAFETY: the buffer and address are valid for the lengths given; the fd is open.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            packet.as_ptr().cast(),
            packet.len(),
            libc::MSG_DONTWAIT,
            (&addr as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Ports on the simulated LAN.
pub struct SimIo {
    lan: Lan,
    node: NodeId,
    ports: HashMap<Arc<str>, (Served, JoinHandle<()>)>,
}

impl SimIo {
    pub fn new(lan: Lan, node: NodeId) -> SimIo {
        SimIo {
            lan,
            node,
            ports: HashMap::new(),
        }
    }

    fn serve(&mut self, served: &[Served], tx: &mpsc::Sender<Batch>) -> Vec<(IfName, io::Error)> {
        self.ports.retain(|_, (s, reader)| {
            let keep = served.contains(s);
            if !keep {
                reader.abort();
            }
            keep
        });
        let mut errors = Vec::new();
        for s in served {
            let key: Arc<str> = s.name.to_string().into();
            if self.ports.contains_key(&key) {
                continue;
            }
            let port = PortId {
                node: self.node,
                port: s.name.clone(),
            };
            match self.lan.listen(&port) {
                Ok(rx) => {
                    let reader = tokio::spawn(read_sim(rx, key.clone(), tx.clone()));
                    self.ports.insert(key, (s.clone(), reader));
                }
                Err(e) => errors.push((s.name.clone(), io::Error::other(e.to_string()))),
            }
        }
        errors
    }

    fn send(&mut self, reply: &Reply) -> Result<(), SendError> {
        let (served, _) = self
            .ports
            .get(reply.interface.as_str())
            .ok_or_else(|| SendError::NotServed(reply.interface.clone()))?;
        let port = PortId {
            node: self.node,
            port: served.name.clone(),
        };
        let src_mac = self.lan.port_state(&port)?.mac.unwrap_or_default();
        // No ARP on the simulated LAN: unicasts go to the client's hardware address, relayed
        // replies to every station of the segment.
        let chaddr = chaddr_of(&reply.bytes).unwrap_or(BROADCAST_MAC);
        let (dst_mac, dst, dst_port) = match &reply.to {
            Destination::Broadcast => (BROADCAST_MAC, Ipv4Addr::BROADCAST, CLIENT_PORT),
            Destination::Unicast { ip } => (chaddr, *ip, CLIENT_PORT),
            Destination::Hardware { ip, .. } => (chaddr, *ip, CLIENT_PORT),
            Destination::Relay { ip } => (BROADCAST_MAC, *ip, SERVER_PORT),
        };
        let f = frame::ethernet(
            src_mac,
            dst_mac,
            UdpAddrs {
                src: served.address,
                dst,
                src_port: SERVER_PORT,
                dst_port,
            },
            &reply.bytes,
        );
        self.lan.send(&port, &f)?;
        Ok(())
    }
}

impl Drop for SimIo {
    fn drop(&mut self) {
        for (_, reader) in self.ports.values() {
            reader.abort();
        }
    }
}

async fn read_sim(
    mut rx: mpsc::Receiver<crate::net::sim::Frame>,
    interface: Arc<str>,
    tx: mpsc::Sender<Batch>,
) {
    let mut frames = Vec::with_capacity(READ_BATCH);
    while rx.recv_many(&mut frames, READ_BATCH).await > 0 {
        let batch: Batch = frames
            .drain(..)
            .filter_map(|f| {
                let d = frame::parse_ethernet(&f.bytes)?;
                (d.addrs.dst_port == SERVER_PORT).then(|| Received {
                    interface: interface.clone(),
                    bytes: d.payload.to_vec(),
                })
            })
            .collect();
        if !batch.is_empty() && tx.send(batch).await.is_err() {
            return;
        }
    }
}
