//! The metrics part of the configuration: `metrics enable`, `metrics listen A.B.C.D [port P]`.

use std::net::Ipv4Addr;

/// The port `metrics listen` uses without `port` (not node_exporter's 9100, which often runs
/// on the same host).
pub const DEFAULT_PORT: u16 = 9742;

/// Where and whether the Prometheus endpoint listens. Off by default; without
/// `metrics listen` it listens on the loopback only, never on every address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    pub enabled: bool,
    pub address: Ipv4Addr,
    pub port: u16,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: false,
            address: Ipv4Addr::LOCALHOST,
            port: DEFAULT_PORT,
        }
    }
}

impl MetricsConfig {
    /// The lines of `display current-configuration` (a global block; empty when default).
    pub fn render(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let default = MetricsConfig::default();
        if self.address != default.address || self.port != default.port {
            let mut line = format!(" metrics listen {}", self.address);
            if self.port != DEFAULT_PORT {
                line.push_str(&format!(" port {}", self.port));
            }
            lines.push(line);
        }
        if self.enabled {
            lines.push(" metrics enable".into());
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_only_what_differs() {
        assert!(MetricsConfig::default().render().is_empty());
        let c = MetricsConfig {
            enabled: true,
            address: Ipv4Addr::new(10, 0, 0, 1),
            port: DEFAULT_PORT,
        };
        assert_eq!(c.render(), [" metrics listen 10.0.0.1", " metrics enable"]);
        let c = MetricsConfig {
            port: 9999,
            ..Default::default()
        };
        assert_eq!(c.render(), [" metrics listen 127.0.0.1 port 9999"]);
    }
}
