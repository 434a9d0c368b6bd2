//! How long the shell takes to match a line, answer `?` and complete a word, with a grammar
//! shaped like the real one (a few dozen commands, options, repetitions and sets).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use duet::cli::grammar::Grammar;
use duet::cli::{help, matcher};

const GRAMMAR: &str = r#"
words:
  display: Display current system information
  undo: Cancel current setting
  current-configuration: Current configuration
  interface: Specify an interface
  brief: Brief information
  vrrp: VRRP
  vrid: Virtual router
  virtual-ip: Virtual IP
  priority: Priority
  preempt-mode: Preemption
  delay: Delay
  verbose: Details
  dhcp: DHCP
  server: Server
  ip-pool: Address pool
  gateway-list: Gateways
  dns-list: DNS servers
  service-type: Services
  ssh: SSH
  telnet: Telnet
  terminal: Terminal
  http: HTTP
commands:
  - syntax: display current-configuration [ interface <if:interface> ]
    views: [any]
    handler: b.cc
    params: {if: Interface}
  - syntax: display interface [ <if:interface> ] [ brief ]
    views: [any]
    handler: b.if
    params: {if: Interface}
  - syntax: display vrrp [ interface <if:interface> [ vrid <id:int(1-255)> ] ] [ verbose ]
    views: [any]
    handler: b.vrrp
    params: {if: Interface, id: VRID}
  - syntax: interface <if:interface>
    views: [system]
    handler: b.enter
    params: {if: Interface}
  - syntax: vrrp vrid <id:int(1-255)> virtual-ip <ip:ipv4>
    undo: undo vrrp vrid <id:int(1-255)> [ virtual-ip <ip:ipv4> ]
    views: [interface]
    handler: b.vip
    params: {id: VRID, ip: Address}
  - syntax: vrrp vrid <id:int(1-255)> priority <p:int(1-254)>
    undo: undo vrrp vrid <id:int(1-255)> priority
    views: [interface]
    handler: b.pri
    params: {id: VRID, p: Priority}
  - syntax: vrrp vrid <id:int(1-255)> preempt-mode [ delay <d:int(0-180000)> ]
    undo: undo vrrp vrid <id:int(1-255)> preempt-mode
    views: [interface]
    handler: b.preempt
    params: {id: VRID, d: Delay}
  - syntax: dhcp server ip-pool <name:string(1-63)>
    views: [system]
    handler: b.pool
    params: {name: Pool}
  - syntax: gateway-list <ip:ipv4>&<1-8>
    views: [system]
    handler: b.gw
    params: {ip: Gateway}
  - syntax: dns-list <ip:ipv4>&<1-8>
    views: [system]
    handler: b.dns
    params: {ip: DNS}
  - syntax: service-type { ssh | telnet | terminal | http } *
    views: [system]
    handler: b.svc
"#;

fn bench(c: &mut Criterion) {
    let g = Grammar::load(&[("bench.yaml", GRAMMAR)]).expect("grammar");
    c.bench_function("match `dis cu`", |b| {
        b.iter(|| matcher::match_line(&g, "user", black_box("dis cu")).is_ok())
    });
    c.bench_function(
        "match `display vrrp interface gigabitethernet 1/0/1 vrid 1 verbose`",
        |b| {
            b.iter(|| {
                matcher::match_line(
                    &g,
                    "user",
                    black_box("display vrrp interface gigabitethernet 1/0/1 vrid 1 verbose"),
                )
                .is_ok()
            })
        },
    );
    c.bench_function("match `gateway-list` with 8 addresses", |b| {
        let line =
            "gateway-list 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7 10.0.0.8";
        b.iter(|| matcher::match_line(&g, "system", black_box(line)).is_ok())
    });
    c.bench_function("match `service-type http terminal telnet ssh`", |b| {
        b.iter(|| {
            matcher::match_line(
                &g,
                "system",
                black_box("service-type http terminal telnet ssh"),
            )
            .is_ok()
        })
    });
    c.bench_function("reject `display vrrp foo`", |b| {
        b.iter(|| matcher::match_line(&g, "user", black_box("display vrrp foo")).is_err())
    });
    c.bench_function("help `vrrp vrid 1 ?`", |b| {
        b.iter(|| help::help(&g, &["interface", "system"], black_box("vrrp vrid 1 ")).is_ok())
    });
    c.bench_function("complete `display v`", |b| {
        b.iter(|| {
            help::complete(&g, &["user"], black_box("display v"))
                .1
                .len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
