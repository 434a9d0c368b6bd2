//! IPv4 interface addresses: mask and prefix conversions and the checks `ip address` makes
//! before it accepts an address (host address of its subnet, no overlap with another port).

use std::net::Ipv4Addr;

/// Why an address cannot be configured on an interface. The text is what the user sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("The subnet mask {0} is invalid: a mask is a run of 1 bits followed by 0 bits.")]
    MaskNotContiguous(Ipv4Addr),
    #[error("The subnet mask length must be 1 to 32.")]
    ZeroPrefix,
    #[error("The IP address {0} is not a valid unicast host address.")]
    NotUnicast(Ipv4Addr),
    #[error("The IP address {addr} is the network address of subnet {addr}/{len}.")]
    NetworkAddress { addr: Ipv4Addr, len: u8 },
    #[error("The IP address {addr} is the broadcast address of subnet {net}/{len}.")]
    BroadcastAddress {
        addr: Ipv4Addr,
        net: Ipv4Addr,
        len: u8,
    },
    #[error(
        "The IP address {addr}/{len} overlaps with the subnet of {other} ({other_addr}/{other_len})."
    )]
    Overlap {
        addr: Ipv4Addr,
        len: u8,
        other: String,
        other_addr: Ipv4Addr,
        other_len: u8,
    },
}

/// The dotted mask of a prefix length (`24` -> `255.255.255.0`).
pub fn mask_of(len: u8) -> Ipv4Addr {
    Ipv4Addr::from(mask_bits(len))
}

fn mask_bits(len: u8) -> u32 {
    match len {
        0 => 0,
        l if l >= 32 => u32::MAX,
        l => u32::MAX << (32 - l),
    }
}

/// The prefix length of a dotted mask, or an error when its 1 bits are not contiguous.
pub fn prefix_of(mask: Ipv4Addr) -> Result<u8, AddressError> {
    let bits = u32::from(mask);
    let len = bits.leading_ones();
    if bits.checked_shl(len).unwrap_or(0) != 0 {
        return Err(AddressError::MaskNotContiguous(mask));
    }
    // leading_ones of a u32 is at most 32, so it fits a u8.
    Ok(len as u8)
}

/// The network address of `addr/len`.
pub fn network_of(addr: Ipv4Addr, len: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(addr) & mask_bits(len))
}

/// Can `addr/len` be an interface address at all? Only unicast host addresses: not 0.0.0.0/8,
/// loopback, multicast or class E (RFC 1122 §3.2.1.3, RFC 5771), and for prefixes shorter than
/// /31 neither the network nor the broadcast address of the subnet (/31 links have no
/// broadcast address, RFC 3021 §2.1; /32 is a single host).
pub fn check_host(addr: Ipv4Addr, len: u8) -> Result<(), AddressError> {
    if len == 0 {
        return Err(AddressError::ZeroPrefix);
    }
    let first = addr.octets()[0];
    if first == 0 || addr.is_loopback() || first >= 224 {
        return Err(AddressError::NotUnicast(addr));
    }
    if len < 31 {
        let net = network_of(addr, len);
        if addr == net {
            return Err(AddressError::NetworkAddress { addr, len });
        }
        let broadcast = Ipv4Addr::from(u32::from(net) | !mask_bits(len));
        if addr == broadcast {
            return Err(AddressError::BroadcastAddress { addr, net, len });
        }
    }
    Ok(())
}

/// Do the subnets of `a/alen` and `b/blen` share any address? Two prefixes overlap exactly
/// when they agree on the bits of the shorter one.
pub fn overlaps(a: Ipv4Addr, alen: u8, b: Ipv4Addr, blen: u8) -> bool {
    let len = alen.min(blen);
    network_of(a, len) == network_of(b, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn masks_and_prefixes_round_trip() {
        for len in 0..=32u8 {
            assert_eq!(prefix_of(mask_of(len)), Ok(len));
        }
        assert_eq!(mask_of(24), ip("255.255.255.0"));
        assert_eq!(mask_of(31), ip("255.255.255.254"));
    }

    #[test]
    fn non_contiguous_masks_are_rejected() {
        for m in [
            "255.0.255.0",
            "255.255.255.1",
            "0.255.255.255",
            "255.255.254.128",
        ] {
            assert_eq!(
                prefix_of(ip(m)),
                Err(AddressError::MaskNotContiguous(ip(m))),
                "{m}"
            );
        }
    }

    #[test]
    fn host_addresses() {
        assert!(check_host(ip("10.1.1.1"), 24).is_ok());
        assert!(check_host(ip("10.1.1.254"), 24).is_ok());
        assert!(check_host(ip("10.1.1.0"), 31).is_ok());
        assert!(check_host(ip("10.1.1.1"), 31).is_ok());
        assert!(check_host(ip("10.1.1.255"), 32).is_ok());
        assert_eq!(
            check_host(ip("10.1.1.0"), 24),
            Err(AddressError::NetworkAddress {
                addr: ip("10.1.1.0"),
                len: 24
            })
        );
        assert_eq!(
            check_host(ip("10.1.1.255"), 24),
            Err(AddressError::BroadcastAddress {
                addr: ip("10.1.1.255"),
                net: ip("10.1.1.0"),
                len: 24
            })
        );
        assert_eq!(check_host(ip("10.1.1.1"), 0), Err(AddressError::ZeroPrefix));
        for bad in [
            "0.1.2.3",
            "127.0.0.1",
            "224.0.0.18",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert_eq!(
                check_host(ip(bad), 8),
                Err(AddressError::NotUnicast(ip(bad))),
                "{bad}"
            );
        }
    }

    #[test]
    fn overlap_is_symmetric_and_uses_the_shorter_prefix() {
        assert!(overlaps(ip("10.1.1.1"), 24, ip("10.1.1.200"), 30));
        assert!(overlaps(ip("10.1.1.200"), 30, ip("10.1.1.1"), 24));
        assert!(overlaps(ip("10.1.0.1"), 16, ip("10.1.5.1"), 24));
        assert!(!overlaps(ip("10.1.1.1"), 24, ip("10.1.2.1"), 24));
        assert!(!overlaps(ip("10.1.1.1"), 30, ip("10.1.1.5"), 30));
    }
}
