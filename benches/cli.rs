//! Shell and configuration benchmarks (issue: foundation): parse-and-execute of a typical command,
//! loading a 100,000-line configuration, and rendering it.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use duet::cli::View;
use duet::device::{Device, DeviceOptions, NetKind};
use duet::interface::name::IfName;
use duet::session::load::load_text;
use duet::session::{Interaction, Role, Session, SessionState};

struct NoAnswers;
impl Interaction for NoAnswers {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

fn device(ports: usize) -> std::sync::Arc<Device> {
    let ports = (0..ports)
        .map(|i| {
            let name = IfName::parse_parts(
                "GigabitEthernet",
                &format!("{}/0/{}", i / 48 + 1, i % 48 + 1),
            );
            (name.expect("valid port"), format!("eth{i}"))
        })
        .collect();
    Device::new(DeviceOptions {
        data_dir: PathBuf::from("/nonexistent-bench"),
        net: NetKind::Linux { ports },
    })
}

/// A configuration of `lines` lines: interface sections of five lines each.
fn big_config(ports: usize) -> String {
    let mut text = String::from("#\n sysname Bench\n#\n");
    for i in 0..ports {
        let (a, b) = (i / 250, i % 250);
        text.push_str(&format!(
            "interface GigabitEthernet{}/0/{}\n description port {i} of the bench\n ip address 10.{a}.{b}.1 255.255.255.0\n shutdown\n#\n",
            i / 48 + 1,
            i % 48 + 1
        ));
    }
    text.push_str("return\n");
    text
}

fn benches(c: &mut Criterion) {
    let dev = device(4);
    let mut session = Session::new(
        dev.clone(),
        SessionState::new(Role::NetworkAdmin, "**", "con0", "**"),
    );
    session.state.views = vec![
        View::User,
        View::System,
        View::Interface("GigabitEthernet1/0/1".into()),
    ];
    c.bench_function("execute `ip address 192.0.2.1 255.255.255.0`", |b| {
        b.iter(|| black_box(session.execute("ip address 192.0.2.1 255.255.255.0", &mut NoAnswers)))
    });
    c.bench_function("execute `dis cur | include sysname`", |b| {
        b.iter(|| black_box(session.execute("dis cur | include sysname", &mut NoAnswers)))
    });

    let ports = 20_000; // 5 lines each: 100,000 lines
    let text = big_config(ports);
    assert!(text.lines().count() >= 100_000);
    let mut group = c.benchmark_group("config-100k-lines");
    group.sample_size(10);
    group.bench_function("load", |b| {
        b.iter_with_setup(
            || device(ports),
            |dev| {
                let errors = load_text(&dev, &text);
                assert!(errors.is_empty(), "{:?}", errors.first());
            },
        )
    });
    let loaded = device(ports);
    assert!(load_text(&loaded, &text).is_empty());
    let config = loaded.config.snapshot();
    group.bench_function("render", |b| b.iter(|| black_box(config.render())));
    group.finish();
}

criterion_group!(cli, benches);
criterion_main!(cli);
