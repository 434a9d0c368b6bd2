//! Loading files through the test grammar of `cli::testing`.

use super::*;
use crate::cli::testing;

fn load(device: &Device, text: &str) -> Vec<LoadError> {
    load_with(&testing::grammar(), &testing::registry(), device, text)
}

#[test]
fn a_comware_file_loads() {
    let device = testing::device();
    let mut rx = device.config.subscribe();
    rx.mark_unchanged();
    let text = "#\n version 7.1.064, Duet 0.1.0\n#\n sysname core-1\n#\ninterface GigabitEthernet1/0/2\n shutdown\n#\ninterface GigabitEthernet1/0/3\n#\nreturn\n";
    assert_eq!(load(&device, text), vec![]);
    let snap = device.config.snapshot();
    assert_eq!(snap.sysname, "core-1");
    let shut: Vec<bool> = snap.interfaces.values().map(|i| i.shutdown).collect();
    assert_eq!(shut, vec![false, true, false, false]);
    // Published once, at the end.
    assert!(rx.has_changed().unwrap());
}

#[test]
fn bad_lines_are_reported_and_skipped() {
    let device = testing::device();
    let text = "#\r\n sysname a\r\n bogus line\r\n#\r\ninterface GigabitEthernet1/0/9\r\n shutdown\r\n undo shutdown\r\n#\r\ninterface GigabitEthernet1/0/1\r\n shutdown\r\n vrrp vrid 300 virtual-ip 1.1.1.1\r\n#\r\nsysname\r\n";
    let errors = load(&device, text);
    assert_eq!(
        errors,
        vec![
            LoadError {
                line: 3,
                message: "% Unrecognized command found at '^' position. (at \"bogus\")".into()
            },
            // The header failed: its two indented lines are not reported again.
            LoadError {
                line: 5,
                message: "% Wrong parameter found at '^' position. (at \"GigabitEthernet1/0/9\")"
                    .into()
            },
            LoadError {
                line: 11,
                message: "% Wrong parameter found at '^' position. (at \"300\")".into()
            },
            LoadError {
                line: 13,
                message: "% Incomplete command found at '^' position.".into()
            },
        ]
    );
    let snap = device.config.snapshot();
    assert_eq!(snap.sysname, "a");
    let shut: Vec<bool> = snap.interfaces.values().map(|i| i.shutdown).collect();
    assert_eq!(shut, vec![true, false, false, false]);
}

#[test]
fn indented_lines_run_in_their_section_view() {
    let device = testing::device();
    // `sysname` falls back to system view, but the next indented line still runs in the
    // interface section; an unindented line leaves the section.
    let text = "interface GigabitEthernet1/0/1\n sysname x\n shutdown\nshutdown\n";
    let errors = load(&device, text);
    assert_eq!(
        errors,
        vec![LoadError {
            line: 4,
            message: "% Unrecognized command found at '^' position. (at \"shutdown\")".into()
        }]
    );
    let snap = device.config.snapshot();
    assert_eq!(snap.sysname, "x");
    assert!(snap.interfaces.values().next().unwrap().shutdown);
}

#[test]
fn load_text_uses_the_built_in_grammar() {
    let device = testing::device();
    let errors = load_text(
        &device,
        "#\n version 7.1.064\n#\n display history-command\nbogus\n quit\nreturn\n",
    );
    assert_eq!(
        errors,
        vec![LoadError {
            line: 5,
            message: "% Unrecognized command found at '^' position. (at \"bogus\")".into()
        }]
    );
}

/// A bad line that may hold a secret is reported without quoting it: the report goes to
/// standard error and the operator log (design.md §9).
#[test]
fn a_bad_secret_is_not_quoted_in_the_report() {
    let device = testing::device();
    let text = "hot-backup\n authentication-key cipher NotOurs1\n#\ninterface GigabitEthernet1/0/1\n \
                vrrp vrid 1 authentication-mode simple plain TooLongKey9\n#\nlocal-user u1 class manage\n password simple Pw1 Pw2\n";
    let errors = load_text(&device, text);
    assert_eq!(errors.len(), 3, "{errors:?}");
    for e in &errors {
        assert!(e.message.ends_with("(at \"******\")"), "{e:?}");
    }
    // The first word is no secret and is still quoted.
    let errors = load_text(&device, "passwd simple x\n");
    assert!(errors[0].message.ends_with("(at \"passwd\")"), "{errors:?}");
}
