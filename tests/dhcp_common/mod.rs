//! Test helpers shared by the DHCP test files: a client-side description of a request that
//! builds the wire message, so cases read like what a client sends, and the frame it goes out
//! in; the one-pool configuration the server tests start from; a console session that runs
//! configuration lines on a device.
#![allow(dead_code)] // each test binary uses a different part

use std::net::Ipv4Addr;
use std::sync::Arc;

use duet::device::Device;
use duet::dhcp::config::{DhcpConfig, IpRange, Network, PoolConfig};
use duet::dhcp::frame::{self, BROADCAST_MAC, UdpAddrs};
use duet::dhcp::lease::unhex;
use duet::dhcp::options::{MessageType, Options, RelaySubOption};
use duet::dhcp::packet::{FLAG_BROADCAST, Message, Op};
use duet::session::{Interaction, Role, Session, SessionState};
use serde::{Deserialize, Serialize};

/// A request as a client would describe it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacketSpec {
    /// Option 53; absent means a BOOTP request.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<MessageType>,
    /// `00:11:22:33:44:55`.
    pub mac: String,
    pub xid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ciaddr: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub giaddr: Option<Ipv4Addr>,
    pub broadcast: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prl: Option<Vec<u8>>,
    /// Option 82 sub-options: (code, hex data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option82: Option<Vec<(u8, String)>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

pub fn mac(s: &str) -> Vec<u8> {
    s.split([':', '-'])
        .map(|p| u8::from_str_radix(p, 16).expect("hex MAC byte"))
        .collect()
}

impl PacketSpec {
    pub fn new(kind: MessageType, mac: &str, xid: u32) -> PacketSpec {
        PacketSpec {
            kind: Some(kind),
            mac: mac.to_string(),
            xid,
            ..PacketSpec::default()
        }
    }

    pub fn message(&self) -> Message {
        let hw = mac(&self.mac);
        let mut chaddr = [0u8; 16];
        chaddr[..hw.len()].copy_from_slice(&hw);
        let z = Ipv4Addr::UNSPECIFIED;
        Message {
            op: Op::Request,
            htype: 1,
            hlen: hw.len() as u8,
            hops: 0,
            xid: self.xid,
            secs: 0,
            flags: if self.broadcast { FLAG_BROADCAST } else { 0 },
            ciaddr: self.ciaddr.unwrap_or(z),
            yiaddr: z,
            siaddr: z,
            giaddr: self.giaddr.unwrap_or(z),
            chaddr,
            sname: vec![],
            file: vec![],
            options: Options {
                message_type: self.kind,
                server_id: self.server_id,
                requested_ip: self.requested,
                client_id: self
                    .client_id
                    .as_ref()
                    .map(|h| unhex(h).expect("hex client id")),
                parameter_request_list: self.prl.clone(),
                hostname: self.hostname.as_ref().map(|h| h.as_bytes().to_vec()),
                relay_agent_info: self.option82.as_ref().map(|subs| {
                    subs.iter()
                        .map(|(code, h)| RelaySubOption {
                            code: *code,
                            data: unhex(h).expect("hex sub-option"),
                        })
                        .collect()
                }),
                ..Options::default()
            },
        }
    }
}

/// Pool `lan` on 10.1.1.0/24 handing out 10.1.1.10 to 10.1.1.`last`; the rest as configured
/// by default (a test sets more with `PoolConfig { .., ..lan_pool(last) }`).
pub fn lan_pool(last: u8) -> PoolConfig {
    PoolConfig {
        network: Some(Network {
            address: Ipv4Addr::new(10, 1, 1, 0),
            prefix_len: 24,
        }),
        range: Some(IpRange {
            start: Ipv4Addr::new(10, 1, 1, 10),
            end: Ipv4Addr::new(10, 1, 1, last),
        }),
        ..PoolConfig::default()
    }
}

/// The DHCP server enabled with `pool` as its only pool, named `lan`.
pub fn lan_config(pool: PoolConfig) -> DhcpConfig {
    let mut c = DhcpConfig {
        enabled: true,
        ..DhcpConfig::default()
    };
    c.pools.insert("lan".into(), pool);
    c
}

/// The Ethernet frame a client without an address sends `payload` (a BOOTP message) in: from
/// `mac` and 0.0.0.0:68 to the broadcast MAC and 255.255.255.255:67.
pub fn client_broadcast(mac: [u8; 6], payload: &[u8]) -> Vec<u8> {
    frame::ethernet(
        mac,
        BROADCAST_MAC,
        UdpAddrs {
            src: Ipv4Addr::UNSPECIFIED,
            dst: Ipv4Addr::BROADCAST,
            src_port: 68,
            dst_port: 67,
        },
        payload,
    )
}

/// An operator who answers no question (a command that asks gets no answer).
pub struct NoQuestions;

impl Interaction for NoQuestions {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

/// A network-admin console session on `device`.
pub fn admin_session(device: &Arc<Device>) -> Session {
    Session::new(
        device.clone(),
        SessionState::new(Role::NetworkAdmin, "test", "con0", "-"),
    )
}

/// Run `lines` one after the other in one network-admin session; each must succeed. Their
/// outputs, in order.
pub fn run_lines<L: AsRef<str>>(device: &Arc<Device>, lines: &[L]) -> Vec<String> {
    let mut s = admin_session(device);
    lines
        .iter()
        .map(|l| {
            let l = l.as_ref();
            let o = s.execute(l, &mut NoQuestions);
            assert!(o.ok, "{l}: {}", o.output);
            o.output
        })
        .collect()
}
