//! The Debian package that packaging/build-deb.sh builds (target/debian/duet_<version>-1_*.deb,
//! or the file named by DUET_DEB): its contents and modes (`dpkg-deb -c`), conffiles and
//! maintainer scripts (enable, never start, an owner-only /var/lib/duet), and the extracted
//! `duet` checking the shipped configuration in a fresh directory root (`dpkg-deb -x`).
//!
//! Building the package takes a release build, so `cargo test` does not build it: without a
//! package the test skips with the reason; `DUET_REQUIRE_LAB=1` (CI, which runs build-deb.sh
//! first) turns the skip into a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The package to test: DUET_DEB, else the newest one of this version in target/debian.
fn find_deb() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DUET_DEB") {
        return Some(PathBuf::from(path));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let prefix = format!("duet_{VERSION}-");
    std::fs::read_dir(target.join("debian"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .expect("run dpkg-deb");
    assert!(
        out.status.success(),
        "dpkg-deb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The mode string and owner `dpkg-deb -c` shows for `path` (`./usr/bin/duet`).
fn entry<'a>(listing: &'a str, path: &str) -> (&'a str, &'a str) {
    let line = listing
        .lines()
        .find(|l| l.split_whitespace().nth(5) == Some(path))
        .unwrap_or_else(|| panic!("{path} is not in the package:\n{listing}"));
    let mut words = line.split_whitespace();
    (words.next().unwrap(), words.next().unwrap())
}

#[test]
fn the_package_installs_what_a_device_needs() {
    let Some(deb) = find_deb() else {
        assert!(
            std::env::var("DUET_REQUIRE_LAB").as_deref() != Ok("1"),
            "the package is required (DUET_REQUIRE_LAB=1): run packaging/build-deb.sh first"
        );
        eprintln!(
            "skipping the_package_installs_what_a_device_needs: no target/debian/duet_{VERSION}-*.deb (run packaging/build-deb.sh)"
        );
        return;
    };
    let have = |p: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {p}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("dpkg-deb") {
        assert!(
            std::env::var("DUET_REQUIRE_LAB").as_deref() != Ok("1"),
            "dpkg-deb required"
        );
        eprintln!("skipping the_package_installs_what_a_device_needs: dpkg-deb not installed");
        return;
    }
    eprintln!("testing {}", deb.display());

    // Contents and modes.
    let listing = dpkg_deb(&["-c"], &deb);
    let unit = if listing.contains("./usr/lib/systemd/system/duet.service") {
        "./usr/lib/systemd/system/duet.service"
    } else {
        "./lib/systemd/system/duet.service"
    };
    for (path, mode) in [
        ("./usr/bin/duet", "-rwxr-xr-x"),
        (unit, "-rw-r--r--"),
        // The startup configuration holds password hashes and keys once edited.
        ("./etc/duet/startup.cfg", "-rw-------"),
        ("./etc/default/duet", "-rw-r--r--"),
        ("./usr/share/man/man1/duet.1.gz", "-rw-r--r--"),
        ("./usr/share/man/man1/duet-run.1.gz", "-rw-r--r--"),
        ("./usr/share/man/man1/duet-cleanup.1.gz", "-rw-r--r--"),
        ("./usr/share/bash-completion/completions/duet", "-rw-r--r--"),
        ("./usr/share/zsh/vendor-completions/_duet", "-rw-r--r--"),
        (
            "./usr/share/fish/vendor_completions.d/duet.fish",
            "-rw-r--r--",
        ),
    ] {
        let (m, owner) = entry(&listing, path);
        assert_eq!(m, mode, "{path}");
        assert!(
            matches!(owner, "root/root" | "0/0"),
            "{path} owned by {owner}"
        );
    }
    // Stripped (debug symbols go to the -dbgsym package): a few MB, not 100.
    let size: u64 = listing
        .lines()
        .find(|l| l.ends_with(" ./usr/bin/duet"))
        .and_then(|l| l.split_whitespace().nth(2)?.parse().ok())
        .unwrap();
    assert!(
        size < 40_000_000,
        "/usr/bin/duet is {size} bytes: not stripped?"
    );
    // The hidden `generate` command has no page of its own.
    assert!(!listing.contains("duet-generate"), "{listing}");

    // Control files: conffiles, and scripts that enable the unit but never start it.
    let control = tempfile::tempdir().unwrap();
    let out = Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(control.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let read = |name: &str| std::fs::read_to_string(control.path().join(name)).unwrap_or_default();
    let conffiles = read("conffiles");
    for f in ["/etc/duet/startup.cfg", "/etc/default/duet"] {
        assert!(
            conffiles.lines().any(|l| l == f),
            "{f} not a conffile:\n{conffiles}"
        );
    }
    let postinst = read("postinst");
    assert!(postinst.contains("deb-systemd-helper enable"), "{postinst}");
    assert!(
        !postinst.contains("deb-systemd-invoke start")
            && !postinst.contains("deb-systemd-invoke $_dh_action"),
        "the package must not start the unit:\n{postinst}"
    );
    assert!(
        postinst.contains("install -d -m 0700 -o root -g root /var/lib/duet"),
        "{postinst}"
    );
    assert!(read("control").contains(&format!("Version: {VERSION}-")));

    // Installed into a fresh root: the binary runs and accepts the shipped configuration.
    let root = tempfile::tempdir().unwrap();
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(root.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let duet = root.path().join("usr/bin/duet");
    let version = Command::new(&duet).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains(VERSION));
    let check = Command::new(&duet)
        .arg("check")
        .arg(root.path().join("etc/duet/startup.cfg"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "duet check on the shipped startup.cfg: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    // The unit in the package is the one in packaging/ (tests/systemd_unit.rs verifies it).
    let shipped = std::fs::read_to_string(root.path().join(unit.trim_start_matches("./"))).unwrap();
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/duet.service"
    ))
    .unwrap();
    assert_eq!(shipped, source);
}
