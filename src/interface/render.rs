//! The interface sections of `display current-configuration`.

use super::address::mask_of;
use super::config::InterfaceConfig;
use super::name::IfName;

/// The lines of one interface section: the unindented `interface X` header, then one line per
/// setting with one space of indentation, in Comware's order (description, shutdown, address,
/// then VRRP).
/// An unconfigured port is the header alone: Comware lists every port.
pub fn render_interface(name: &IfName, cfg: &InterfaceConfig) -> Vec<String> {
    let mut lines = vec![format!("interface {name}")];
    if let Some(text) = &cfg.description {
        lines.push(format!(" description {text}"));
    }
    if cfg.shutdown {
        lines.push(" shutdown".to_string());
    }
    if let Some((addr, len)) = cfg.address {
        lines.push(format!(" ip address {addr} {}", mask_of(len)));
    }
    for (addr, len) in &cfg.secondary {
        lines.push(format!(" ip address {addr} {} sub", mask_of(*len)));
    }
    lines.extend(crate::vrrp::render::render_vrrp(&cfg.vrrp));
    if cfg.dhcp.select_server {
        lines.push(" dhcp select server".to_string());
    }
    if let Some(pool) = &cfg.dhcp.apply_pool {
        lines.push(format!(" dhcp server apply ip-pool {pool}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interface::config::InterfaceDhcp;

    #[test]
    fn unconfigured_port_is_its_header() {
        let name: IfName = "ge1/0/3".parse().unwrap();
        assert_eq!(
            render_interface(&name, &InterfaceConfig::default()),
            ["interface GigabitEthernet1/0/3"]
        );
    }

    #[test]
    fn settings_in_comware_order() {
        let name: IfName = "ge1/0/1".parse().unwrap();
        let cfg = InterfaceConfig {
            description: Some("to core switch".to_string()),
            shutdown: true,
            address: Some(("192.168.10.1".parse().unwrap(), 24)),
            secondary: vec![("10.2.0.1".parse().unwrap(), 16)],
            dhcp: InterfaceDhcp {
                select_server: true,
                apply_pool: Some("lan".to_string()),
            },
            ..InterfaceConfig::default()
        };
        assert_eq!(
            render_interface(&name, &cfg),
            [
                "interface GigabitEthernet1/0/1",
                " description to core switch",
                " shutdown",
                " ip address 192.168.10.1 255.255.255.0",
                " ip address 10.2.0.1 255.255.0.0 sub",
                " dhcp select server",
                " dhcp server apply ip-pool lan",
            ]
        );
    }
}
