//! Test helpers shared by the DHCP test files: a client-side description of a request that
//! builds the wire message, so cases read like what a client sends.
#![allow(dead_code)] // each test binary uses a different part

use std::net::Ipv4Addr;

use duet::dhcp::lease::unhex;
use duet::dhcp::options::{MessageType, Options, RelaySubOption};
use duet::dhcp::packet::{FLAG_BROADCAST, Message, Op};
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
