//! A small grammar for the tests of the CLI core (built only for tests). Its handlers and a
//! device to run them on are in `crate::testing`: the shell library knows no device.

use super::grammar::Grammar;

pub const GRAMMAR: &str = r#"
words:
  display: Display current system information
  undo: Cancel current setting
  system-view: Enter the System View
  sysname: Specify the host name
  interface: Specify an interface
  vrrp: Specify VRRP configuration
  vrid: Specify a virtual router
  virtual-ip: Specify the virtual IP address
  priority: Specify the priority
  gateway-list: Specify gateways
  expired: Specify the lease duration
  day: Specify days
  hour: Specify hours
  unlimited: Never expire
  service-type: Specify service types
  ssh: SSH service
  telnet: Telnet service
  terminal: Terminal service
  save: Save the current configuration
  force: Save without asking
  clock: Display the system clock
  current-configuration: Display the running configuration
  ip: Specify IP configuration
  ip-pool: Display address pools
  address: Specify an IP address
  shutdown: Shut down the interface
  quit: Exit from current command view
  return: Exit to User View
  mac: Specify a MAC address
commands:
  - syntax: system-view
    views: [user]
    handler: t.system_view
  - syntax: quit
    views: [any]
    handler: t.quit
    role: operator
  - syntax: return
    views: [any]
    handler: t.return
    role: operator
  - syntax: display clock
    views: [any]
    handler: t.clock
  - syntax: display current-configuration
    views: [any]
    handler: t.cc
  - syntax: display ip
    views: [any]
    handler: t.ip
  - syntax: display ip-pool
    views: [any]
    handler: t.pool
  - syntax: save [ force ]
    views: [any]
    handler: t.save
  - syntax: sysname <name:text(1-64)>
    undo: undo sysname
    views: [system]
    handler: t.sysname
    params:
      name: Host name (1 to 64 characters)
  - syntax: interface <if:interface>
    views: [system]
    handler: t.interface
    params:
      if: Interface name
  - syntax: vrrp vrid <id:int(1-255)> virtual-ip <ip:ipv4>
    undo: undo vrrp vrid <id:int(1-255)> [ virtual-ip <ip:ipv4> ]
    views: [interface]
    handler: t.vip
    params:
      id: Virtual router identifier
      ip: Virtual IP address
  - syntax: vrrp vrid <id:int(1-255)> priority <pri:int(1-254)>
    views: [interface]
    handler: t.priority
    params:
      id: Virtual router identifier
      pri: Priority value
  - syntax: gateway-list <ip:ipv4>&<1-8>
    views: [system]
    handler: t.gateways
    params:
      ip: Gateway address
  - syntax: expired { day <d:int(0-365)> [ hour <h:int(0-23)> ] | unlimited }
    views: [system]
    handler: t.expired
    params:
      d: Days
      h: Hours
  - syntax: service-type { ssh | telnet | terminal } *
    views: [system]
    handler: t.service
  - syntax: ip address <addr:ipv4> { <mask:mask> | <len:int(0-32)> }
    undo: undo ip address
    views: [interface]
    handler: t.address
    params:
      addr: IP address
      mask: Subnet mask
      len: Mask length
  - syntax: shutdown
    undo: undo shutdown
    views: [interface]
    handler: t.shutdown
  - syntax: display mac <m:mac>
    views: [any]
    handler: t.mac
    params:
      m: MAC address
"#;

pub fn grammar() -> Grammar {
    Grammar::load(&[("test.yaml", GRAMMAR)]).unwrap_or_else(|e| panic!("{e}"))
}
