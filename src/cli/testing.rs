//! A small grammar, its handlers and a device for the tests of the CLI core (built only for
//! tests).

use std::sync::Arc;

use super::grammar::Grammar;
use super::{Args, CmdError, CmdResult, Ctx, Registry, View};
use crate::device::{Device, DeviceOptions, NetKind};
use crate::interface::name::IfName;
use crate::session::Interaction;

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

fn ok(_: &mut Ctx<'_>, _: &Args) -> CmdResult {
    Ok(())
}

fn system_view(ctx: &mut Ctx<'_>, _: &Args) -> CmdResult {
    ctx.session.views.push(View::System);
    Ok(())
}

fn quit(ctx: &mut Ctx<'_>, _: &Args) -> CmdResult {
    if ctx.session.views.len() > 1 {
        ctx.session.views.pop();
    } else {
        ctx.session.exit = true;
    }
    Ok(())
}

fn clock(ctx: &mut Ctx<'_>, _: &Args) -> CmdResult {
    ctx.line("10:38:12.320 UTC Sat 11/21/2026");
    ctx.line("Time Zone : UTC");
    Ok(())
}

fn sysname(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let name = if args.undo {
        crate::config::DEFAULT_SYSNAME
    } else {
        args.str("name").unwrap_or_default()
    };
    if name == "bad" {
        return Err(CmdError::WrongParameter("name".into()));
    }
    if name == "refused" {
        ctx.line("partial output");
        return Err(CmdError::msg("The name is refused."));
    }
    ctx.device.config.lock().sysname = name.to_string();
    Ok(())
}

fn interface(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let name = args.str("if").unwrap_or_default().to_string();
    let parsed: IfName = name
        .parse()
        .map_err(|_| CmdError::WrongParameter("if".into()))?;
    if !ctx.device.ports.contains(&parsed) {
        return Err(CmdError::WrongParameter("if".into()));
    }
    ctx.session.views.push(View::Interface(name));
    Ok(())
}

fn shutdown(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let View::Interface(name) = ctx.session.view().clone() else {
        return Err(CmdError::msg("not in interface view"));
    };
    let name: IfName = name.parse().map_err(|_| CmdError::msg("bad interface"))?;
    if let Some(i) = ctx.device.config.lock().interfaces.get_mut(&name) {
        i.shutdown = !args.undo;
    }
    Ok(())
}

pub fn registry() -> Registry {
    let mut r = Registry::default();
    r.add("t.system_view", system_view);
    r.add("t.quit", quit);
    r.add("t.clock", clock);
    r.add("t.sysname", sysname);
    r.add("t.interface", interface);
    r.add("t.shutdown", shutdown);
    for name in [
        "t.return",
        "t.cc",
        "t.ip",
        "t.pool",
        "t.save",
        "t.vip",
        "t.priority",
        "t.gateways",
        "t.expired",
        "t.service",
        "t.address",
        "t.mac",
    ] {
        r.add(name, ok);
    }
    r
}

/// A simulated device (its own handlers are not used by the tests: they pass [`registry`]).
pub fn device() -> Arc<Device> {
    Device::new(DeviceOptions {
        data_dir: std::env::temp_dir(),
        net: NetKind::Sim,
    })
}

/// Answers every question with "no".
pub struct Silent;

impl Interaction for Silent {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}
