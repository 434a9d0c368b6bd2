//! Building a reply to a request (RFC 2131 section 4.3.1, table 3) and choosing where it goes
//! (section 4.1).

use std::net::Ipv4Addr;

use super::config::{LeaseDuration, Network, PoolConfig};
use super::event::Destination;
use super::options::{self, MessageType, Options};
use super::packet::{FLAG_BROADCAST, Message, Op};

/// What a reply is made of.
pub(crate) struct Params<'a> {
    pub req: &'a Message,
    pub kind: MessageType,
    pub yiaddr: Ipv4Addr,
    pub server_id: Ipv4Addr,
    pub network: Network,
    pub pool: &'a PoolConfig,
    /// The lease to announce (none for NAK and for the ACK of an INFORM).
    pub lease: Option<LeaseDuration>,
    /// `dhcp server relay information enable`.
    pub echo_relay_info: bool,
    /// `dhcp server always-broadcast`.
    pub always_broadcast: bool,
    /// The captive-portal API URI of the pool's network (option 114, RFC 8910), when a portal
    /// guards it.
    pub captive_portal: Option<&'a str>,
}

pub(crate) fn build(p: &Params) -> (Message, Destination) {
    let req = p.req;
    let t = p.kind;
    let mut o = Options {
        message_type: Some(t),
        server_id: Some(p.server_id),
        ..Options::default()
    };
    if t != MessageType::Nak {
        match p.lease {
            Some(LeaseDuration::Seconds(s)) => {
                // RFC 2131 section 4.4.5 defaults: T1 = 0.5, T2 = 0.875 of the lease.
                o.lease_time = Some(s);
                o.renewal_time = Some(s / 2);
                o.rebinding_time = Some((u64::from(s) * 7 / 8) as u32);
            }
            // RFC 2132 section 9.2: 0xffffffff is infinity; no T1/T2 for a lease that never ends.
            Some(LeaseDuration::Unlimited) => o.lease_time = Some(u32::MAX),
            None => {}
        }
        o.subnet_mask = Some(p.network.mask());
        let q = &req.options;
        if q.requests(options::ROUTER) && !p.pool.gateways.is_empty() {
            o.routers = Some(p.pool.gateways.clone());
        }
        if q.requests(options::DNS_SERVERS) && !p.pool.dns.is_empty() {
            o.dns_servers = Some(p.pool.dns.clone());
        }
        if q.requests(options::DOMAIN_NAME)
            && let Some(d) = p.pool.domain_name.as_ref().filter(|d| !d.is_empty())
        {
            o.domain_name = Some(d.as_bytes().to_vec());
        }
        // Boot and NetBIOS options, like the ones above only when asked for (or when the
        // client sent no request list). Inserted before the `option CODE` values so that a
        // generic `option` for the same code overrides the named command.
        let named: [(u8, Option<Vec<u8>>); 6] = [
            (
                options::TFTP_SERVER_NAME,
                p.pool
                    .tftp_server_name
                    .as_ref()
                    .map(|n| n.as_bytes().to_vec()),
            ),
            (
                options::BOOTFILE_NAME,
                p.pool.bootfile_name.as_ref().map(|n| n.as_bytes().to_vec()),
            ),
            (
                options::TFTP_SERVER_ADDRESS,
                p.pool.tftp_server_ip.map(|a| a.octets().to_vec()),
            ),
            (
                options::NBNS_SERVERS,
                (!p.pool.nbns.is_empty())
                    .then(|| p.pool.nbns.iter().flat_map(|a| a.octets()).collect()),
            ),
            (
                options::NETBIOS_NODE_TYPE,
                p.pool.netbios_type.map(|t| vec![t.code()]),
            ),
            // RFC 8910 section 2.1: only to a client that asks (or sends no request list).
            (
                options::CAPTIVE_PORTAL,
                p.captive_portal.map(|uri| uri.as_bytes().to_vec()),
            ),
        ];
        for (code, value) in named {
            if let Some(v) = value.filter(|v| !v.is_empty())
                && q.requests(code)
            {
                o.other.insert(code, v);
            }
        }
        for (&code, v) in &p.pool.options {
            if q.requests(code) {
                o.other.insert(code, v.bytes());
            }
        }
    }
    // RFC 2131 section 2 and table 3: siaddr is the next server of the bootstrap and `file` the
    // boot file name, in OFFER and ACK (never in a NAK). The file field goes out whether or not
    // option 67 was asked for: PXE and BOOTP clients read the header field.
    let (siaddr, file) = if t == MessageType::Nak {
        (Ipv4Addr::UNSPECIFIED, Vec::new())
    } else {
        (
            p.pool.next_server.unwrap_or(Ipv4Addr::UNSPECIFIED),
            p.pool
                .bootfile_name
                .as_ref()
                .map(|n| n.as_bytes().to_vec())
                .unwrap_or_default(),
        )
    };
    // RFC 3046 section 2.2: echo option 82 when the relay sent it.
    if p.echo_relay_info {
        o.relay_agent_info = req.options.relay_agent_info.clone();
    }
    let relayed = !req.giaddr.is_unspecified();
    let mut flags = req.flags;
    if t == MessageType::Nak && relayed {
        // RFC 2131 section 4.3.2: a NAK through a relay is to be broadcast on the client's net.
        flags |= FLAG_BROADCAST;
    }
    let msg = Message {
        op: Op::Reply,
        htype: req.htype,
        hlen: req.hlen,
        hops: 0,
        xid: req.xid,
        secs: 0,
        flags,
        ciaddr: if t == MessageType::Ack {
            req.ciaddr
        } else {
            Ipv4Addr::UNSPECIFIED
        },
        yiaddr: p.yiaddr,
        siaddr,
        giaddr: req.giaddr,
        chaddr: req.chaddr,
        sname: Vec::new(),
        file,
        options: o,
    };
    let to = if relayed {
        Destination::Relay { ip: req.giaddr }
    } else if t == MessageType::Nak {
        Destination::Broadcast
    } else if !req.ciaddr.is_unspecified() {
        Destination::Unicast { ip: req.ciaddr }
    } else if req.broadcast_flag() || p.yiaddr.is_unspecified() || p.always_broadcast {
        // `dhcp server always-broadcast`: for clients that cannot take a unicast before they
        // have an address although they leave the broadcast flag clear.
        Destination::Broadcast
    } else {
        // No address yet and no broadcast flag: a frame to chaddr, IP destination yiaddr.
        Destination::Hardware {
            ip: p.yiaddr,
            chaddr: req.hw_addr().into(),
        }
    };
    (msg, to)
}
