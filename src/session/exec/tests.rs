//! Session execution: with the built-in grammar (the shell commands) through [`Session`], and
//! with the test grammar of `cli::testing` through [`execute`].

use super::*;
use crate::session::{Completion, Session, SessionState};
use crate::testing::{self, Silent};

fn session(role: Role) -> Session {
    Session::new(
        testing::device(),
        SessionState::new(role, "**", "con0", "**"),
    )
}

fn caret(column: usize, message: &str) -> String {
    format!("{}^\n {message}\n", " ".repeat(column))
}

#[test]
fn views_and_prompts() {
    let mut s = session(Role::NetworkAdmin);
    assert_eq!(s.prompt(), "<Duet>");
    let o = s.execute("system-view", &mut Silent);
    assert_eq!(
        o,
        Outcome {
            output: "System View: return to User View with Ctrl+Z.\n".into(),
            ok: true
        }
    );
    assert_eq!(s.prompt(), "[Duet]");
    assert!(s.execute("quit", &mut Silent).ok);
    assert_eq!(s.prompt(), "<Duet>");
    assert!(!s.state.exit);
    s.execute("sys", &mut Silent);
    s.execute("end", &mut Silent);
    assert_eq!(s.state.views, vec![View::User]);
    s.execute("exit", &mut Silent);
    assert!(s.state.exit);
}

#[test]
fn empty_lines_do_nothing() {
    let mut s = session(Role::NetworkAdmin);
    assert_eq!(
        s.execute("   ", &mut Silent),
        Outcome {
            output: String::new(),
            ok: true
        }
    );
    assert!(s.state.history.is_empty());
}

#[test]
fn errors_have_a_caret_counting_the_prompt() {
    let mut s = session(Role::NetworkAdmin);
    let o = s.execute("foo", &mut Silent);
    assert_eq!(
        o,
        Outcome {
            output: caret(6, "% Unrecognized command found at '^' position."),
            ok: false
        }
    );
    let o = s.execute("display history-command all x", &mut Silent);
    assert_eq!(
        o.output,
        caret(6 + 28, "% Too many parameters found at '^' position.")
    );
    s.execute("system-view", &mut Silent);
    let o = s.execute("display", &mut Silent);
    assert_eq!(
        o.output,
        caret(6 + 8, "% Incomplete command found at '^' position.")
    );
    let o = s.execute("screen-length disable", &mut Silent);
    // A user-view command is not found from system view.
    assert_eq!(
        o.output,
        caret(6, "% Unrecognized command found at '^' position.")
    );
}

#[test]
fn history_as_typed_without_repeats_or_failures() {
    let mut s = session(Role::NetworkAdmin);
    for line in [
        "sys",
        "quit",
        "quit ",
        "bogus",
        "sys",
        "return",
        "display history-command",
    ] {
        s.execute(line, &mut Silent);
    }
    assert_eq!(
        s.state.history,
        vec!["sys", "quit", "sys", "return", "display history-command"]
    );
    let o = s.execute("dis hist | include ^ (sys|dis)", &mut Silent);
    assert_eq!(
        o.output,
        " sys\n sys\n display history-command\n dis hist | include ^ (sys|dis)\n"
    );
    let o = s.execute("dis hist | count", &mut Silent);
    assert_eq!(o.output, "Total lines: 7.\n");
}

/// Front ends add a line to their recall list (Up-arrow) when `last_in_history` says the
/// history kept it: after each line it tells about that line alone, so recall holds what the
/// history holds, never a line with a secret.
#[test]
fn recall_follows_the_history_line_by_line() {
    let mut s = session(Role::NetworkAdmin);
    let mut recalled = Vec::new();
    for line in [
        "sys",
        " ",
        "local-user u",
        "bogus",
        "password simple Zq7Secr1",
        "quit",
    ] {
        s.execute(line, &mut Silent);
        if s.state.last_in_history {
            recalled.push(line);
        }
    }
    assert_eq!(recalled, ["sys", "local-user u", "quit"]);
    assert_eq!(s.state.history, recalled);
}

#[test]
fn screen_length_for_this_session() {
    let mut s = session(Role::NetworkOperator);
    assert!(s.execute("screen-length disable", &mut Silent).ok);
    assert_eq!(s.state.screen_length, None);
    assert!(s.execute("undo screen-length disable", &mut Silent).ok);
    assert_eq!(s.state.screen_length, Some(24));
}

#[test]
fn operators_only_display() {
    let mut s = session(Role::NetworkOperator);
    let o = s.execute("system-view", &mut Silent);
    assert_eq!(
        o,
        Outcome {
            output: "Permission denied.\n".into(),
            ok: false
        }
    );
    assert_eq!(s.state.views, vec![View::User]);
    assert!(s.execute("display history-command", &mut Silent).ok);
    assert!(s.execute("quit", &mut Silent).ok);
    assert!(s.state.exit);
}

fn run(state: &mut SessionState, device: &Device, line: &str) -> Outcome {
    execute(
        &testing::grammar(),
        &testing::registry(),
        device,
        state,
        line,
        &mut Silent,
    )
}

#[test]
fn fallback_to_the_view_above() {
    let device = testing::device();
    let mut st = SessionState::new(Role::NetworkAdmin, "**", "con0", "**");
    assert!(run(&mut st, &device, "system-view").ok);
    assert!(run(&mut st, &device, "interface ge1/0/1").ok);
    assert_eq!(st.view(), &View::Interface("GigabitEthernet1/0/1".into()));
    // An interface command runs here; a system command moves the session to system view.
    assert!(run(&mut st, &device, "shutdown").ok);
    assert!(run(&mut st, &device, "interface ge1/0/2").ok);
    assert_eq!(st.views.len(), 3);
    assert_eq!(st.view(), &View::Interface("GigabitEthernet1/0/2".into()));
    assert!(run(&mut st, &device, "sysname core").ok);
    assert_eq!(st.views, vec![View::User, View::System]);
    assert_eq!(device.sysname(), "core");
    // Published after the command.
    assert_eq!(device.config.snapshot().sysname, "core");
    let shut: Vec<bool> = device
        .config
        .snapshot()
        .interfaces
        .values()
        .map(|i| i.shutdown)
        .collect();
    assert_eq!(shut, vec![true, false, false, false]);
}

/// A command of the view above that fails changes nothing, the view included.
#[test]
fn a_failed_command_of_the_view_above_keeps_the_view() {
    let device = testing::device();
    let mut st = SessionState::new(Role::NetworkAdmin, "**", "con0", "**");
    run(&mut st, &device, "system-view");
    run(&mut st, &device, "interface ge1/0/1");
    let here = st.views.clone();
    let o = run(&mut st, &device, "sysname refused");
    assert!(!o.ok);
    assert_eq!(st.views, here);
    let o = run(&mut st, &device, "interface ge1/0/9");
    assert!(!o.ok);
    assert_eq!(st.views, here);
    assert!(run(&mut st, &device, "sysname fine").ok);
    assert_eq!(st.views, vec![View::User, View::System]);
}

#[test]
fn the_furthest_attempt_reports() {
    let device = testing::device();
    let mut st = SessionState::new(Role::NetworkAdmin, "**", "con0", "**");
    run(&mut st, &device, "system-view");
    run(&mut st, &device, "interface ge1/0/1");
    let prompt = "[Duet-GigabitEthernet1/0/1]".len();
    let o = run(&mut st, &device, "vrrp vrid 1 virtual-ip");
    assert_eq!(
        o.output,
        caret(prompt + 23, "% Incomplete command found at '^' position.")
    );
    // `sysname` got further in system view than anything in interface view.
    let o = run(&mut st, &device, "sysname");
    assert_eq!(
        o.output,
        caret(prompt + 8, "% Incomplete command found at '^' position.")
    );
    assert_eq!(st.view(), &View::Interface("GigabitEthernet1/0/1".into()));
    // User view is never tried from a deeper view.
    let o = run(&mut st, &device, "system-view");
    assert_eq!(
        o.output,
        caret(prompt, "% Unrecognized command found at '^' position.")
    );
}

#[test]
fn handler_errors() {
    let device = testing::device();
    let mut st = SessionState::new(Role::NetworkAdmin, "**", "con0", "**");
    st.views.push(View::System);
    let o = run(&mut st, &device, "sysname  bad");
    assert_eq!(
        o,
        Outcome {
            output: caret(6 + 9, "% Wrong parameter found at '^' position."),
            ok: false
        }
    );
    let o = run(&mut st, &device, "sysname refused");
    assert_eq!(
        o,
        Outcome {
            output: "partial output\nThe name is refused.\n".into(),
            ok: false
        }
    );
    let o = run(&mut st, &device, "interface ge1/0/9");
    assert_eq!(
        o.output,
        caret(6 + 10, "% Wrong parameter found at '^' position.")
    );
    // Type and number as two words: the caret is under the number.
    let o = run(&mut st, &device, "interface gigabitethernet  1/0/9");
    assert_eq!(
        o.output,
        caret(6 + 27, "% Wrong parameter found at '^' position.")
    );
    assert_eq!(device.sysname(), "Duet");
}

#[test]
fn handler_missing_from_the_registry() {
    let device = testing::device();
    let mut st = SessionState::new(Role::NetworkAdmin, "**", "con0", "**");
    let o = execute(
        &testing::grammar(),
        &Registry::default(),
        &device,
        &mut st,
        "display clock",
        &mut Silent,
    );
    assert!(!o.ok);
    assert_eq!(
        o.output,
        "The command's handler t.clock is not available.\n"
    );
}

#[test]
fn pipes_filter_output() {
    let device = testing::device();
    let mut st = SessionState::new(Role::NetworkOperator, "**", "con0", "**");
    let o = run(&mut st, &device, "display clock | include Zone");
    assert_eq!(
        o,
        Outcome {
            output: "Time Zone : UTC\n".into(),
            ok: true
        }
    );
    let o = run(
        &mut st,
        &device,
        "display clock | exclude Zone | include UTC",
    );
    assert_eq!(o.output, "10:38:12.320 UTC Sat 11/21/2026\n");
    let o = run(&mut st, &device, "display clock | include (");
    assert_eq!(
        o.output,
        caret(6 + 24, "% Wrong parameter found at '^' position.")
    );
}

#[test]
fn help_and_completion_through_the_session() {
    let s = session(Role::NetworkAdmin);
    let h = s.help("");
    assert!(h.starts_with("User view commands:\n"), "{h}");
    assert!(h.contains("  system-view "), "{h}");
    assert!(s.help("display history-command ").ends_with("  <cr>\n"));
    assert_eq!(
        s.help("bogus "),
        caret(6, "% Unrecognized command found at '^' position.")
    );
    assert_eq!(
        s.complete("system-v"),
        Completion {
            start: 0,
            candidates: vec!["system-view".into()]
        }
    );
    assert_eq!(
        s.complete("display hi").candidates,
        vec!["history-command".to_string()]
    );
}

/// One word of a line the grammar accepts: a keyword, or a parameter slot to fill.
enum Tok<'a> {
    Word(&'a str),
    Slot(&'a crate::cli::syntax::Param),
}

/// Every way through a syntax (each `[ ]` with and without, each alternative of `{ }` and of
/// `{ } *` on its own), as lists of words and slots.
fn expansions(node: &crate::cli::syntax::Node) -> Vec<Vec<Tok<'_>>> {
    use crate::cli::syntax::Node;
    match node {
        Node::Keyword(w) => vec![vec![Tok::Word(w)]],
        Node::Param(p) => vec![vec![Tok::Slot(p)]],
        Node::Seq(items) => items.iter().fold(vec![Vec::new()], |heads, item| {
            let tails = expansions(item);
            let mut out = Vec::new();
            for head in &heads {
                for tail in &tails {
                    let mut line: Vec<Tok<'_>> = head.iter().map(Tok::copy).collect();
                    line.extend(tail.iter().map(Tok::copy));
                    out.push(line);
                }
            }
            out
        }),
        Node::Optional(inner) => {
            let mut out = vec![Vec::new()];
            out.extend(expansions(inner));
            out
        }
        Node::Choice(alts) | Node::Multi(alts) => alts.iter().flat_map(expansions).collect(),
    }
}

impl Tok<'_> {
    fn copy(&self) -> Self {
        match self {
            Tok::Word(w) => Tok::Word(w),
            Tok::Slot(p) => Tok::Slot(p),
        }
    }
}

/// A value a non-secret slot accepts.
fn sample(ty: &crate::cli::syntax::ParamType) -> String {
    use crate::cli::syntax::ParamType;
    match *ty {
        ParamType::Str { min, .. } | ParamType::Text { min, .. } => "a".repeat(min.max(1) as usize),
        ParamType::Int { min, .. } => min.to_string(),
        ParamType::Ipv4 => "10.1.1.1".into(),
        ParamType::Mask => "255.255.255.0".into(),
        ParamType::Mac => "0011-2233-4455".into(),
        ParamType::Hex { min, .. } => "0".repeat(min.max(1) as usize),
        ParamType::Interface => "GigabitEthernet1/0/1".into(),
    }
}

/// The lines that take a new admin session to a view of this kind, with the objects its
/// commands act on (VRRP group 1 on the interface).
fn enter(kind: &str) -> &'static [&'static str] {
    match kind {
        "user" => &[],
        "system" | "any" => &["system-view"],
        "interface" => &[
            "system-view",
            "interface GigabitEthernet1/0/1",
            "ip address 10.1.1.1 24",
            "vrrp vrid 1 virtual-ip 10.1.1.254",
        ],
        "local-user" => &["system-view", "local-user u1 class manage"],
        "line" => &["system-view", "line vty 0"],
        "hot-backup" => &["system-view", "hot-backup"],
        "dhcp-pool" => &["system-view", "dhcp server ip-pool p1"],
        other => panic!("no way into view `{other}` known to this test: add one"),
    }
}

/// Design invariant (docs/grammar.md, cli::secret): for every command of the grammar with a
/// `secret:` parameter, in every view it lives in and every form that fills a secret slot, a
/// secret typed there reaches neither the history (`display history-command`) nor the log
/// buffer, whether the command succeeds or fails; the log shows `******` in its place. Each
/// secret slot is tried with a plain key, its `$c$3$` ciphertext and an argon2id hash, and
/// at least one of them must make the command succeed (so the logging path is covered).
#[test]
fn every_secret_stays_out_of_logs_and_history() {
    let grammar = crate::cli::grammar::builtin().unwrap_or_else(|e| panic!("{e}"));
    let plain = "Zq7Secr1";
    let candidates = [
        plain.to_string(),
        crate::vrrp::cipher::encrypt(plain),
        crate::aaa::password::hash(plain).unwrap(),
    ];
    let mut checked = 0;
    for command in grammar.commands.iter().filter(|c| !c.secret.is_empty()) {
        let forms = std::iter::once(&command.syntax).chain(command.undo.as_ref());
        for form in expansions_of(forms) {
            let secret_slots = form
                .iter()
                .filter(|t| matches!(t, Tok::Slot(p) if command.secret.contains(&p.name)))
                .count();
            if secret_slots == 0 {
                continue;
            }
            for view in &command.views {
                let mut succeeded = None;
                for value in &candidates {
                    let line: Vec<String> = form
                        .iter()
                        .map(|t| match t {
                            Tok::Word(w) => w.to_string(),
                            Tok::Slot(p) if command.secret.contains(&p.name) => value.clone(),
                            Tok::Slot(p) => {
                                let n = p.repeat.map_or(1, |(min, _)| min as usize);
                                vec![sample(&p.ty); n].join(" ")
                            }
                        })
                        .collect();
                    let line = line.join(" ");
                    let mut s = session(Role::NetworkAdmin);
                    for step in enter(view) {
                        assert!(s.execute(step, &mut Silent).ok, "{step}");
                    }
                    let ok = s.execute(&line, &mut Silent).ok;
                    // Nor does a line editor's recall list (Up-arrow), which follows this.
                    assert!(
                        !s.state.last_in_history,
                        "`{line}` (commands/{}, {view} view) would be recalled",
                        command.file
                    );
                    let history = s.execute("display history-command", &mut Silent).output;
                    let logs: Vec<String> = s
                        .device
                        .logs
                        .entries()
                        .into_iter()
                        .map(|e| e.message)
                        .collect();
                    for shown in [&history, &s.state.history.join("\n"), &logs.join("\n")] {
                        assert!(
                            !shown.contains(value.as_str()) && !shown.contains(plain),
                            "`{line}` (commands/{}, {view} view) leaks its secret: {shown}",
                            command.file
                        );
                    }
                    if ok {
                        assert!(
                            logs.iter()
                                .any(|m| m.contains("Command is ") && m.contains("******")),
                            "`{line}` is logged with its secret masked: {logs:?}"
                        );
                        succeeded = Some(line);
                        break;
                    }
                }
                assert!(
                    succeeded.is_some(),
                    "no sample secret makes a form of `{}` succeed in {view} view",
                    command.text
                );
                checked += 1;
            }
        }
    }
    // aaa password (2 forms), line password (2), hot-backup key (2), VRRP key (2).
    assert!(checked >= 8, "only {checked} secret forms checked");
}

fn expansions_of<'a>(
    forms: impl Iterator<Item = &'a crate::cli::syntax::Node>,
) -> Vec<Vec<Tok<'a>>> {
    forms.flat_map(expansions).collect()
}

/// What the log shows of a line whose command panicked: masked when it matches, its first
/// word only when it does not (help on a half-typed key, a typo).
#[test]
fn a_line_that_panicked_is_logged_without_its_secret() {
    let views = [
        View::User,
        View::System,
        crate::hotbackup::commands::hot_backup_view(),
    ];
    assert_eq!(
        loggable(&views, " authentication-key plain K3yK3y "),
        "authentication-key plain ******"
    );
    assert_eq!(loggable(&views, "auth cipher $c$3$x extra"), "auth ******");
    assert_eq!(loggable(&views, "display"), "display");
    assert_eq!(
        loggable(&views, "peer 10.0.0.2 source 10.0.0.1"),
        "peer 10.0.0.2 source 10.0.0.1"
    );
}
