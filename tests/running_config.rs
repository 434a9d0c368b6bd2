//! The example configurations in `running-config/` stay valid: each passes `duet check`, and
//! the demo's two files are exactly what `duet demo` configures with its default options.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use duet::demo::pair::{PairOptions, Side, config_lines};
use duet::device::{Device, DeviceOptions, NetKind};
use duet::features::Config;
use duet::session::load::load_file;
use duet::session::{Interaction, Role, Session, SessionState};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("running-config")
}

/// The examples the docs and the README point to; any other `.cfg` there is checked too.
const PROMISED: &[&str] = &[
    "single.cfg",
    "pair-A.cfg",
    "pair-B.cfg",
    "demo-A.cfg",
    "demo-B.cfg",
    "portal.cfg",
];

#[test]
fn every_example_passes_duet_check() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("running-config/ exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cfg"))
        .collect();
    files.sort();
    for name in PROMISED {
        assert!(
            files
                .iter()
                .any(|f| f.file_name().is_some_and(|n| n == *name)),
            "running-config/{name} is missing"
        );
    }
    for file in files {
        let out = Command::new(env!("CARGO_BIN_EXE_duet"))
            .arg("check")
            .arg(&file)
            .output()
            .expect("duet runs");
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "duet check {}: status {:?}\n{}{}",
            file.display(),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

struct NoAnswers;

impl Interaction for NoAnswers {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

fn device(dir: &Path) -> Arc<Device> {
    Device::new(DeviceOptions {
        data_dir: dir.to_path_buf(),
        net: NetKind::Sim,
    })
}

/// What `duet demo` (default options) types into one device, as its running configuration.
fn demo_config(side: Side, dir: &Path) -> Config {
    let device = device(dir);
    let opts = PairOptions {
        hot_backup: Some(10241),
        ..PairOptions::default()
    };
    let mut session = Session::new(
        device.clone(),
        SessionState::new(Role::NetworkAdmin, "**", "con0", "**"),
    );
    let mut lines = config_lines(side, &opts);
    lines.extend(["system-view".to_string(), "dhcp enable".to_string()]);
    for line in &lines {
        let o = session.execute(line, &mut NoAnswers);
        assert!(o.ok, "the demo's line `{line}` failed: {}", o.output);
    }
    device.config.lock().clone()
}

#[test]
fn demo_files_are_what_the_demo_configures() {
    for (side, file) in [(Side::A, "demo-A.cfg"), (Side::B, "demo-B.cfg")] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let expected = demo_config(side, &dir.path().join("typed"));
        let loaded = device(&dir.path().join("file"));
        let errors = load_file(&loaded, &examples_dir().join(file)).expect("readable");
        assert!(errors.is_empty(), "{file}: {errors:?}");
        let got = loaded.config.lock().clone();
        assert!(
            got == expected,
            "running-config/{file} differs from what `duet demo` configures; it renders:\n{}\nthe demo's:\n{}",
            got.render(),
            expected.render()
        );
    }
}
