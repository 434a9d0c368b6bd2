//! A Duet device on real Linux interfaces, configured from the command line, for
//! bench/vrrp-failover.sh (until `duet run` is on the branch): runs until killed.
//!
//! `vrrp_node --port GigabitEthernet1/0/1=eth0 --line "system-view" --line "interface ge1/0/1" ...`

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use duet::device::{Device, DeviceOptions, NetKind};
use duet::net::linux::parse_port_map;
use duet::session::{Interaction, Role, Session, SessionState};

#[derive(Parser)]
struct Args {
    /// PORT=LINUXIF, repeatable.
    #[arg(long = "port", required = true)]
    ports: Vec<String>,
    /// A configuration line, run as network-admin from user view; repeatable.
    #[arg(long = "line")]
    lines: Vec<String>,
}

struct NoAnswers;

impl Interaction for NoAnswers {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ports = args
        .ports
        .iter()
        .map(|p| parse_port_map(p))
        .collect::<Result<Vec<_>, _>>()?;
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let device = Device::new(DeviceOptions {
        data_dir: dir.path().to_path_buf(),
        net: NetKind::Linux { ports },
    });
    device.start(rt.handle()).context("starting the device")?;
    let mut s = Session::new(
        device.clone(),
        SessionState::new(Role::NetworkAdmin, "**", "con0", "**"),
    );
    for line in &args.lines {
        let o = s.execute(line, &mut NoAnswers);
        if !o.ok {
            bail!("{line}: {}", o.output);
        }
    }
    println!("started");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
