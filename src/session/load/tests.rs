//! Loading files through the test grammar of `cli::testing`.

use super::*;
use crate::testing;

fn load(device: &Device, text: &str) -> Vec<LoadError> {
    load_with(&testing::grammar(), &testing::registry(), device, text)
}

fn error(line: usize, message: &str) -> LoadError {
    LoadError::error(line, message.to_string())
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
            error(
                3,
                "% Unrecognized command found at '^' position. (at \"bogus\")"
            ),
            error(
                5,
                "% Wrong parameter found at '^' position. (at \"GigabitEthernet1/0/9\")"
            ),
            // The header failed: each line under it is reported, none runs.
            error(6, "Not applied: its section header (line 5) was rejected."),
            error(7, "Not applied: its section header (line 5) was rejected."),
            error(11, "% Wrong parameter found at '^' position. (at \"300\")"),
            error(13, "% Incomplete command found at '^' position."),
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
    // `sysname` runs in system view, but the next indented line still runs in the interface
    // section, and so does the unindented line after it (the view stack is still there).
    let text = "interface GigabitEthernet1/0/1\n sysname x\n shutdown\nshutdown\n#\nshutdown\n";
    let errors = load(&device, text);
    assert_eq!(
        errors,
        vec![error(
            6,
            "% Unrecognized command found at '^' position. (at \"shutdown\")"
        )]
    );
    let snap = device.config.snapshot();
    assert_eq!(snap.sysname, "x");
    assert!(snap.interfaces.values().next().unwrap().shutdown);
}

/// A flat file (no indentation, no `#`) loads the way it would if typed: each line in the view
/// the lines before it entered; `system-view` is accepted.
#[test]
fn a_flat_file_follows_the_view_stack() {
    let device = testing::device();
    let text = "system-view\nsysname flat\ninterface GigabitEthernet1/0/2\nshutdown\nip address 10.0.0.1 24\n\
                interface GigabitEthernet1/0/3\nshutdown\nquit\nsysname flat2\n";
    assert_eq!(load(&device, text), vec![]);
    let snap = device.config.snapshot();
    assert_eq!(snap.sysname, "flat2");
    let shut: Vec<bool> = snap.interfaces.values().map(|i| i.shutdown).collect();
    assert_eq!(shut, vec![false, true, true, false]);
}

/// Comware lines Duet skips are found in the view stack like commands: in a flat file a
/// port's `port link-mode route` keeps the interface view, a global `clock protocol` typed
/// there moves to system view, as a system command would.
#[test]
fn skipped_comware_lines_follow_the_view_stack() {
    let device = testing::device();
    let text = "interface GigabitEthernet1/0/2\nport link-mode route\nshutdown\n\
                clock protocol none\nshutdown\n";
    let reports = load(&device, text);
    let lines: Vec<(usize, Severity)> = reports.iter().map(|r| (r.line, r.severity)).collect();
    assert_eq!(
        lines,
        vec![
            (2, Severity::NotSupported),
            (4, Severity::NotSupported),
            (5, Severity::Error)
        ],
        "{reports:?}"
    );
    let shut: Vec<bool> = device
        .config
        .snapshot()
        .interfaces
        .values()
        .map(|i| i.shutdown)
        .collect();
    assert_eq!(shut, vec![false, true, false, false]);
}

/// After a rejected header in a flat file, the lines that do not run in system view belong to
/// it: they are reported and never applied to the interface before it.
#[test]
fn a_flat_files_rejected_section_is_reported_line_by_line() {
    let device = testing::device();
    let text = "interface GigabitEthernet1/0/1\nshutdown\ninterface GigabitEthernet1/0/9\n\
                bogus words\nshutdown\ninterface GigabitEthernet1/0/2\nshutdown\nbogus\n";
    assert_eq!(
        load(&device, text),
        vec![
            error(
                3,
                "% Wrong parameter found at '^' position. (at \"GigabitEthernet1/0/9\")"
            ),
            error(4, "Not applied: its section header (line 3) was rejected."),
            error(5, "Not applied: its section header (line 3) was rejected."),
            // A bad line inside a good section is only itself.
            error(
                8,
                "% Unrecognized command found at '^' position. (at \"bogus\")"
            ),
        ]
    );
    let shut: Vec<bool> = device
        .config
        .snapshot()
        .interfaces
        .values()
        .map(|i| i.shutdown)
        .collect();
    assert_eq!(shut, vec![true, true, false, false]);
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
        vec![
            error(
                5,
                "% Unrecognized command found at '^' position. (at \"bogus\")"
            ),
            // An indented line belongs to the failed line above it.
            error(6, "Not applied: its section header (line 5) was rejected."),
        ]
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
