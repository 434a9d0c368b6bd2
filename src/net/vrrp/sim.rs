//! VRRP on the simulated LAN: adverts and gratuitous ARP as Ethernet frames on the node's
//! ports, virtual IPs as /32 addresses in the port state (the virtual MAC always works here).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::frame::{self, ETHERTYPE_IPV4, VRRP_MULTICAST_MAC};
use crate::interface::name::IfName;
use crate::net::sim::{Lan, NodeId, PortId};
use crate::vrrp::driver::{IoError, MacMode, Received, VrrpIo};
use crate::vrrp::packet::{IpHeader, build_ipv4};

/// Datagrams waiting for the driver.
const QUEUE: usize = 1024;

pub struct SimVrrpIo {
    lan: Lan,
    node: NodeId,
    tx: mpsc::Sender<Received>,
    rx: mpsc::Receiver<Received>,
    /// One task per open port, moving VRRP frames from the port to the queue.
    readers: BTreeMap<IfName, JoinHandle<()>>,
}

impl SimVrrpIo {
    pub fn new(lan: Lan, node: NodeId) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        SimVrrpIo {
            lan,
            node,
            tx,
            rx,
            readers: BTreeMap::new(),
        }
    }

    fn id(&self, port: &IfName) -> PortId {
        PortId {
            node: self.node,
            port: port.clone(),
        }
    }

    fn send_frame(&self, port: &IfName, bytes: &[u8]) -> Result<(), IoError> {
        self.lan
            .send(&self.id(port), bytes)
            .map(|_| ())
            .map_err(|e| IoError::Os(e.to_string()))
    }
}

impl Drop for SimVrrpIo {
    fn drop(&mut self) {
        for (_, task) in std::mem::take(&mut self.readers) {
            task.abort();
        }
    }
}

impl VrrpIo for SimVrrpIo {
    fn open(&mut self, port: &IfName) -> Result<(), IoError> {
        if self.readers.contains_key(port) {
            return Ok(());
        }
        let mut frames = self
            .lan
            .listen(&self.id(port))
            .map_err(|_| IoError::UnknownPort(port.to_string()))?;
        let tx = self.tx.clone();
        let name = port.clone();
        let task = tokio::spawn(async move {
            while let Some(f) = frames.recv().await {
                if let Some(datagram) = frame::vrrp_datagram(&f.bytes) {
                    // A full queue drops, as a socket buffer would.
                    let _ = tx.try_send(Received {
                        port: name.clone(),
                        datagram: datagram.to_vec(),
                        at: Instant::now(),
                    });
                }
            }
        });
        self.readers.insert(port.clone(), task);
        Ok(())
    }

    fn close(&mut self, port: &IfName) {
        if let Some(task) = self.readers.remove(port) {
            task.abort();
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
        let src_mac = match mac {
            Some(m) => m,
            None => self
                .lan
                .port_state(&self.id(port))
                .map_err(|_| IoError::UnknownPort(port.to_string()))?
                .mac
                .unwrap_or([0; 6]),
        };
        let datagram = build_ipv4(&IpHeader::multicast_from(src), msg);
        let f = frame::ethernet(VRRP_MULTICAST_MAC, src_mac, ETHERTYPE_IPV4, &datagram);
        self.send_frame(port, &f)
    }

    async fn add_virtual_ips(
        &mut self,
        port: &IfName,
        _vrid: u8,
        addresses: &[Ipv4Addr],
        _mac: [u8; 6],
    ) -> Result<MacMode, IoError> {
        for a in addresses {
            self.lan
                .add_address(&self.id(port), (*a, 32))
                .map_err(|e| IoError::Os(e.to_string()))?;
        }
        Ok(MacMode::Virtual)
    }

    async fn del_virtual_ips(
        &mut self,
        port: &IfName,
        _vrid: u8,
        addresses: &[Ipv4Addr],
    ) -> Result<(), IoError> {
        for a in addresses {
            self.lan
                .del_address(&self.id(port), (*a, 32))
                .map_err(|e| IoError::Os(e.to_string()))?;
        }
        Ok(())
    }

    async fn sleep_until(deadline: Instant) {
        tokio::time::sleep_until(deadline).await
    }

    fn gratuitous_arp(
        &mut self,
        port: &IfName,
        addresses: &[Ipv4Addr],
        mac: [u8; 6],
    ) -> Result<(), IoError> {
        for a in addresses {
            self.send_frame(port, &frame::gratuitous_arp(mac, *a))?;
        }
        Ok(())
    }
}
