//! DHCP options (RFC 2132) as a typed set, and their wire codec.
//!
//! Each option is a TLV: one code byte, one length byte, `length` data bytes; code 0 (Pad) and
//! 255 (End) have no length byte. An option longer than 255 bytes is split into several TLVs
//! with the same code, which the decoder concatenates (RFC 3396 section 5), so the typed set
//! holds each code at most once.
//!
//! ```text
//!  +------+-----+---------------------+  +------+-----+-----------+       +-----+
//!  | code | len | data (len bytes)... |  | code | len | data ...  |  ...  | 255 |
//!  +------+-----+---------------------+  +------+-----+-----------+       +-----+
//! ```
//!
//! Option 82 (relay agent information, RFC 3046) holds sub-options in the same TLV shape:
//!
//! ```text
//!  +----+-----+------+-----+---------+------+-----+---------+
//!  | 82 | len | sub1 | n1  | data... | sub2 | n2  | data... |   (n1 + n2 + 4 == len)
//!  +----+-----+------+-----+---------+------+-----+---------+
//! ```

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::packet::DecodeError;

pub const PAD: u8 = 0;
pub const SUBNET_MASK: u8 = 1;
pub const ROUTER: u8 = 3;
pub const DNS_SERVERS: u8 = 6;
pub const HOSTNAME: u8 = 12;
pub const DOMAIN_NAME: u8 = 15;
/// RFC 2132 section 8.5: NetBIOS over TCP/IP name servers.
pub const NBNS_SERVERS: u8 = 44;
/// RFC 2132 section 8.7: NetBIOS over TCP/IP node type.
pub const NETBIOS_NODE_TYPE: u8 = 46;
/// RFC 8910 section 2.1: the URI of the captive-portal API (RFC 8908).
pub const CAPTIVE_PORTAL: u8 = 114;
pub const REQUESTED_IP: u8 = 50;
pub const LEASE_TIME: u8 = 51;
pub const MESSAGE_TYPE: u8 = 53;
pub const SERVER_ID: u8 = 54;
pub const PARAMETER_REQUEST_LIST: u8 = 55;
pub const RENEWAL_TIME: u8 = 58;
pub const REBINDING_TIME: u8 = 59;
pub const CLIENT_ID: u8 = 61;
/// RFC 2132 section 9.4: TFTP server name.
pub const TFTP_SERVER_NAME: u8 = 66;
/// RFC 2132 section 9.5: bootfile name.
pub const BOOTFILE_NAME: u8 = 67;
/// TFTP server address (Cisco's and Comware's option 150; not in an RFC, listed by IANA).
pub const TFTP_SERVER_ADDRESS: u8 = 150;
pub const RELAY_AGENT_INFO: u8 = 82;
pub const END: u8 = 255;

/// The DHCP message type (option 53, RFC 2132 section 9.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    Discover,
    Offer,
    Request,
    Decline,
    Ack,
    Nak,
    Release,
    Inform,
}

impl MessageType {
    pub fn code(self) -> u8 {
        match self {
            MessageType::Discover => 1,
            MessageType::Offer => 2,
            MessageType::Request => 3,
            MessageType::Decline => 4,
            MessageType::Ack => 5,
            MessageType::Nak => 6,
            MessageType::Release => 7,
            MessageType::Inform => 8,
        }
    }

    pub fn from_code(code: u8) -> Option<MessageType> {
        Some(match code {
            1 => MessageType::Discover,
            2 => MessageType::Offer,
            3 => MessageType::Request,
            4 => MessageType::Decline,
            5 => MessageType::Ack,
            6 => MessageType::Nak,
            7 => MessageType::Release,
            8 => MessageType::Inform,
            _ => return None,
        })
    }

    /// The Comware display name (`DHCPDISCOVER`, ...).
    pub fn display_name(self) -> &'static str {
        match self {
            MessageType::Discover => "DHCPDISCOVER",
            MessageType::Offer => "DHCPOFFER",
            MessageType::Request => "DHCPREQUEST",
            MessageType::Decline => "DHCPDECLINE",
            MessageType::Ack => "DHCPACK",
            MessageType::Nak => "DHCPNAK",
            MessageType::Release => "DHCPRELEASE",
            MessageType::Inform => "DHCPINFORM",
        }
    }
}

/// One sub-option of option 82 (RFC 3046 section 2.0): 1 = circuit id, 2 = remote id, ...
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelaySubOption {
    pub code: u8,
    pub data: Vec<u8>,
}

/// The options of one message. Fields for the options the server reads or writes; every other
/// option is kept by code in `other`, so nothing a client sends is lost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<MessageType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_ip: Option<Ipv4Addr>,
    /// Seconds; 0xffff_ffff means infinite (RFC 2132 section 9.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebinding_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_mask: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routers: Option<Vec<Ipv4Addr>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_servers: Option<Vec<Ipv4Addr>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_request_list: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_agent_info: Option<Vec<RelaySubOption>>,
    /// Every other option, by code (never 0, 255 or a code with a field above).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub other: BTreeMap<u8, Vec<u8>>,
}

impl Options {
    /// Decode the option area starting at `base` (the offset is only used in errors).
    /// Returns the options; the area must end with an End option (RFC 2131 section 4.1).
    pub fn decode(area: &[u8], base: usize) -> Result<Options, DecodeError> {
        // First pass: collect raw TLVs, concatenating repeated codes (RFC 3396).
        let mut raw: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
        let mut i = 0;
        loop {
            let Some(&code) = area.get(i) else {
                return Err(DecodeError::MissingEnd);
            };
            match code {
                PAD => i += 1,
                END => break,
                _ => {
                    let Some(&len) = area.get(i + 1) else {
                        return Err(DecodeError::OptionOverrun {
                            code,
                            offset: base + i,
                        });
                    };
                    let start = i + 2;
                    let end = start + len as usize;
                    let Some(data) = area.get(start..end) else {
                        return Err(DecodeError::OptionOverrun {
                            code,
                            offset: base + i,
                        });
                    };
                    raw.entry(code).or_default().extend_from_slice(data);
                    i = end;
                }
            }
        }
        let mut o = Options::default();
        for (code, data) in raw {
            o.set_raw(code, data)?;
        }
        Ok(o)
    }

    fn set_raw(&mut self, code: u8, data: Vec<u8>) -> Result<(), DecodeError> {
        let bad = |data: &Vec<u8>| DecodeError::BadOptionLength {
            code,
            len: data.len(),
        };
        match code {
            MESSAGE_TYPE => {
                let [t] = data[..] else {
                    return Err(bad(&data));
                };
                self.message_type =
                    Some(MessageType::from_code(t).ok_or(DecodeError::UnknownMessageType(t))?);
            }
            SERVER_ID => self.server_id = Some(ip(&data).ok_or_else(|| bad(&data))?),
            REQUESTED_IP => self.requested_ip = Some(ip(&data).ok_or_else(|| bad(&data))?),
            SUBNET_MASK => self.subnet_mask = Some(ip(&data).ok_or_else(|| bad(&data))?),
            LEASE_TIME => self.lease_time = Some(u32_of(&data).ok_or_else(|| bad(&data))?),
            RENEWAL_TIME => self.renewal_time = Some(u32_of(&data).ok_or_else(|| bad(&data))?),
            REBINDING_TIME => self.rebinding_time = Some(u32_of(&data).ok_or_else(|| bad(&data))?),
            ROUTER => self.routers = Some(ip_list(&data).ok_or_else(|| bad(&data))?),
            DNS_SERVERS => self.dns_servers = Some(ip_list(&data).ok_or_else(|| bad(&data))?),
            // RFC 2132 sections 3.14, 3.17, 9.8, 9.14: minimum length 1 (client id: 2).
            DOMAIN_NAME | HOSTNAME | PARAMETER_REQUEST_LIST if data.is_empty() => {
                return Err(bad(&data));
            }
            CLIENT_ID if data.len() < 2 => return Err(bad(&data)),
            DOMAIN_NAME => self.domain_name = Some(data),
            HOSTNAME => self.hostname = Some(data),
            PARAMETER_REQUEST_LIST => self.parameter_request_list = Some(data),
            CLIENT_ID => self.client_id = Some(data),
            RELAY_AGENT_INFO => self.relay_agent_info = Some(decode_relay_info(&data)?),
            _ => {
                self.other.insert(code, data);
            }
        }
        Ok(())
    }

    /// Append the options (then End) to `out`. Option 82 goes last, as RFC 3046 section 2.1
    /// asks of relay agents, so an echoed copy sits where the relay expects it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        if let Some(t) = self.message_type {
            put(out, MESSAGE_TYPE, &[t.code()]);
        }
        let ip_opt = |out: &mut Vec<u8>, code, v: Option<Ipv4Addr>| {
            if let Some(a) = v {
                put(out, code, &a.octets());
            }
        };
        let u32_opt = |out: &mut Vec<u8>, code, v: Option<u32>| {
            if let Some(n) = v {
                put(out, code, &n.to_be_bytes());
            }
        };
        let list_opt = |out: &mut Vec<u8>, code, v: &Option<Vec<Ipv4Addr>>| {
            if let Some(l) = v {
                let bytes: Vec<u8> = l.iter().flat_map(|a| a.octets()).collect();
                put(out, code, &bytes);
            }
        };
        let bytes_opt = |out: &mut Vec<u8>, code, v: &Option<Vec<u8>>| {
            if let Some(b) = v {
                put(out, code, b);
            }
        };
        ip_opt(out, SERVER_ID, self.server_id);
        u32_opt(out, LEASE_TIME, self.lease_time);
        u32_opt(out, RENEWAL_TIME, self.renewal_time);
        u32_opt(out, REBINDING_TIME, self.rebinding_time);
        ip_opt(out, SUBNET_MASK, self.subnet_mask);
        list_opt(out, ROUTER, &self.routers);
        list_opt(out, DNS_SERVERS, &self.dns_servers);
        bytes_opt(out, DOMAIN_NAME, &self.domain_name);
        bytes_opt(out, HOSTNAME, &self.hostname);
        ip_opt(out, REQUESTED_IP, self.requested_ip);
        bytes_opt(out, CLIENT_ID, &self.client_id);
        bytes_opt(out, PARAMETER_REQUEST_LIST, &self.parameter_request_list);
        for (&code, data) in &self.other {
            put(out, code, data);
        }
        if let Some(subs) = &self.relay_agent_info {
            put(out, RELAY_AGENT_INFO, &encode_relay_info(subs));
        }
        out.push(END);
    }

    /// Whether the client asked for `code` in its parameter request list (RFC 2132 section
    /// 9.8). A client that sent no list gets every configured option.
    pub fn requests(&self, code: u8) -> bool {
        self.parameter_request_list
            .as_ref()
            .is_none_or(|l| l.contains(&code))
    }
}

/// Write one option, split into 255-byte pieces when longer (RFC 3396).
fn put(out: &mut Vec<u8>, code: u8, data: &[u8]) {
    if data.is_empty() {
        out.extend_from_slice(&[code, 0]);
        return;
    }
    for chunk in data.chunks(255) {
        out.push(code);
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
}

fn ip(data: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(data).ok().map(Ipv4Addr::from)
}

fn u32_of(data: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(data).ok().map(u32::from_be_bytes)
}

/// A non-empty list of addresses (RFC 2132 sections 3.5, 3.8: length a multiple of 4, >= 4).
fn ip_list(data: &[u8]) -> Option<Vec<Ipv4Addr>> {
    if data.is_empty() || !data.len().is_multiple_of(4) {
        return None;
    }
    Some(
        data.chunks_exact(4)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
            .collect(),
    )
}

/// Decode option 82's sub-options; every sub-option must fit exactly (RFC 3046 section 2.0).
pub fn decode_relay_info(data: &[u8]) -> Result<Vec<RelaySubOption>, DecodeError> {
    if data.is_empty() {
        return Err(DecodeError::RelayInfoTruncated { offset: 0 });
    }
    let mut subs = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let code = data[i];
        let Some(&len) = data.get(i + 1) else {
            return Err(DecodeError::RelayInfoTruncated { offset: i });
        };
        let Some(sub) = data.get(i + 2..i + 2 + len as usize) else {
            return Err(DecodeError::RelayInfoTruncated { offset: i });
        };
        subs.push(RelaySubOption {
            code,
            data: sub.to_vec(),
        });
        i += 2 + len as usize;
    }
    Ok(subs)
}

/// The data bytes of an option 82 holding these sub-options.
pub fn encode_relay_info(subs: &[RelaySubOption]) -> Vec<u8> {
    let mut v = Vec::new();
    for s in subs {
        v.push(s.code);
        v.push(s.data.len().min(255) as u8);
        v.extend_from_slice(&s.data[..s.data.len().min(255)]);
    }
    v
}
