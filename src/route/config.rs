//! The static routes of the running configuration (`ip route-static ...`, system view) and
//! their lines in `display current-configuration`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Comware's preference of a static route when none is given.
pub const DEFAULT_PREFERENCE: u8 = 60;

/// Static routes a device holds: enough for a gateway, and a bound on what a configuration
/// file can make the device keep and install.
pub const MAX_STATIC_ROUTES: usize = 1024;

/// One static route: a destination network (host bits zero) and a next hop. Comware keys a
/// static route by both, so one destination may have several next hops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StaticKey {
    /// The network address (`ip route-static` clears the host bits of what was typed).
    pub dest: Ipv4Addr,
    pub len: u8,
    pub next_hop: Ipv4Addr,
}

/// What a static route carries besides its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaticRoute {
    /// `preference P` (1-255, lower wins; Direct routes have 0).
    pub preference: u8,
}

impl Default for StaticRoute {
    fn default() -> Self {
        StaticRoute {
            preference: DEFAULT_PREFERENCE,
        }
    }
}

/// The route feature's part of the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteConfig {
    /// Invariant: every key's `dest` is its own network address (`network_of(dest, len)`),
    /// kept by the `ip route-static` handler, and there are at most [`MAX_STATIC_ROUTES`].
    pub statics: BTreeMap<StaticKey, StaticRoute>,
}

impl RouteConfig {
    /// The global lines of `display current-configuration`, in Comware's form
    /// (` ip route-static 10.3.0.0 24 10.2.0.3`, ` ... preference 70` when not 60), sorted by
    /// destination, length and next hop; empty when no route is configured.
    pub fn render(&self) -> Vec<String> {
        self.statics
            .iter()
            .map(|(k, r)| {
                let mut line = format!(" ip route-static {} {} {}", k.dest, k.len, k.next_hop);
                if r.preference != DEFAULT_PREFERENCE {
                    line.push_str(&format!(" preference {}", r.preference));
                }
                line
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_in_order_with_preference_only_when_not_default() {
        let mut c = RouteConfig::default();
        assert!(c.render().is_empty());
        let key = |d: &str, l, n: &str| StaticKey {
            dest: d.parse().unwrap(),
            len: l,
            next_hop: n.parse().unwrap(),
        };
        c.statics.insert(
            key("10.3.0.0", 24, "10.2.0.3"),
            StaticRoute { preference: 70 },
        );
        c.statics
            .insert(key("0.0.0.0", 0, "10.2.0.1"), StaticRoute::default());
        assert_eq!(
            c.render(),
            [
                " ip route-static 0.0.0.0 0 10.2.0.1",
                " ip route-static 10.3.0.0 24 10.2.0.3 preference 70"
            ]
        );
    }
}
