//! CLI transcripts: each `tests/transcripts/*.txt` holds a session's input and the exact
//! screen it must produce (format in tests/transcripts/README.md). The real binary runs with a
//! fresh data directory and the input piped; the whole screen is compared and a mismatch is
//! shown as a line diff. `DUET_BLESS=1` rewrites the expected screens.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CONFIG: &str = "--- config ---";
const INPUT: &str = "--- input ---";
const SCREEN: &str = "--- screen ---";
const STDERR: &str = "--- stderr ---";
/// In an expected line: any text.
const ANY_TEXT: &str = "{*}";
/// An expected line that is exactly this: any number of lines (none included).
const ANY_LINES: &str = "{...}";

/// A transcript file, split into its parts.
#[derive(Debug, PartialEq)]
struct Transcript {
    /// Everything before the input marker (a description), kept verbatim when blessing.
    preamble: String,
    /// A configuration file given with `--config` (the `--- config ---` section).
    config: Option<String>,
    input: String,
    screen: String,
    /// What standard error must show (the `--- stderr ---` section); when absent, anything.
    stderr: Option<String>,
}

fn parse(text: &str) -> Result<Transcript, String> {
    let (head, rest) = split_at_marker(text, INPUT).ok_or_else(|| format!("no `{INPUT}` line"))?;
    let (preamble, config) = match split_at_marker(head, CONFIG) {
        Some((p, c)) => (p, Some(c.to_string())),
        None => (head, None),
    };
    let (input, tail) = split_at_marker(rest, SCREEN)
        .ok_or_else(|| format!("no `{SCREEN}` line after the input"))?;
    let (screen, stderr) = match split_at_marker(tail, STDERR) {
        Some((s, e)) => (s, Some(e.to_string())),
        None => (tail, None),
    };
    Ok(Transcript {
        preamble: preamble.into(),
        config,
        input: input.into(),
        screen: screen.into(),
        stderr,
    })
}

/// The text before the line `marker` and the text after it.
fn split_at_marker<'a>(text: &'a str, marker: &str) -> Option<(&'a str, &'a str)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']) == marker {
            return Some((&text[..offset], &text[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

fn render(t: &Transcript) -> String {
    let config = t
        .config
        .as_ref()
        .map(|c| format!("{CONFIG}\n{c}"))
        .unwrap_or_default();
    let stderr = t
        .stderr
        .as_ref()
        .map(|e| format!("{STDERR}\n{e}"))
        .unwrap_or_default();
    format!(
        "{}{config}{INPUT}\n{}{SCREEN}\n{}{stderr}",
        t.preamble, t.input, t.screen
    )
}

/// Does one actual line match one expected line (with `{*}` wildcards)?
fn line_matches(expected: &str, actual: &str) -> bool {
    if !expected.contains(ANY_TEXT) {
        return expected == actual;
    }
    let pieces: Vec<&str> = expected.split(ANY_TEXT).collect();
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &actual[first.len()..];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Does the whole screen match (with `{*}` and `{...}`)?
fn screen_matches(expected: &[&str], actual: &[&str]) -> bool {
    fn go(e: &[&str], a: &[&str], failed: &mut HashSet<(usize, usize)>) -> bool {
        let key = (e.len(), a.len());
        if failed.contains(&key) {
            return false;
        }
        let ok = match e.first() {
            None => a.is_empty(),
            Some(&ANY_LINES) => (0..=a.len()).any(|k| go(&e[1..], &a[k..], failed)),
            Some(line) => !a.is_empty() && line_matches(line, a[0]) && go(&e[1..], &a[1..], failed),
        };
        if !ok {
            failed.insert(key);
        }
        ok
    }
    go(expected, actual, &mut HashSet::new())
}

/// A line diff (longest common subsequence): `-` expected only, `+` actual only.
fn diff(expected: &[&str], actual: &[&str]) -> String {
    let (n, m) = (expected.len(), actual.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if line_matches(expected[i], actual[j]) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && line_matches(expected[i], actual[j]) {
            out += &format!("  {}\n", actual[j]);
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out += &format!("- {}\n", expected[i]);
            i += 1;
        } else {
            out += &format!("+ {}\n", actual[j]);
            j += 1;
        }
    }
    out
}

/// The expected screen rewritten to `actual`, keeping `{*}` lines that still match.
fn blessed(expected: &[&str], actual: &[&str]) -> String {
    actual
        .iter()
        .enumerate()
        .map(|(i, a)| match expected.get(i) {
            Some(e) if e.contains(ANY_TEXT) && line_matches(e, a) => format!("{e}\n"),
            _ => format!("{a}\n"),
        })
        .collect()
}

/// Run `duet run` on a fresh data directory with `input` piped (and `config` given with
/// `--config DATA/given.cfg`); its stdout and stderr.
fn run_duet(config: Option<&str>, input: &str) -> Result<(String, String), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_duet"));
    command.args(["run", "--data-dir"]).arg(dir.path());
    if let Some(config) = config {
        let path = dir.path().join("given.cfg");
        std::fs::write(&path, config).map_err(|e| e.to_string())?;
        command.arg("--config").arg(path);
    }
    let mut child = command
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start duet: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("duet did not exit within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    let out = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    let err = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    if !status.success() {
        return Err(format!(
            "duet exited with {status}\nstdout:\n{out}\nstderr:\n{err}"
        ));
    }
    if dir.path().join("duet.sock").exists() {
        return Err("the control socket was not removed at exit".into());
    }
    Ok((out, err))
}

/// Check one transcript file; with `bless`, rewrite its screen instead of failing.
fn check_file(path: &Path, bless: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let transcript = parse(&text)?;
    let (actual, stderr) = run_duet(transcript.config.as_deref(), &transcript.input)?;
    if let Some(want) = &transcript.stderr {
        let want: Vec<&str> = want.lines().collect();
        let got: Vec<&str> = stderr.lines().collect();
        if !screen_matches(&want, &got) {
            return Err(format!(
                "standard error differs (- expected, + actual; not blessed):\n{}",
                diff(&want, &got)
            ));
        }
    }
    let expected: Vec<&str> = transcript.screen.lines().collect();
    let actual_lines: Vec<&str> = actual.lines().collect();
    if screen_matches(&expected, &actual_lines) {
        return Ok(());
    }
    if bless {
        let new = Transcript {
            screen: blessed(&expected, &actual_lines),
            ..transcript
        };
        return std::fs::write(path, render(&new)).map_err(|e| e.to_string());
    }
    Err(format!(
        "screen differs (- expected, + actual; DUET_BLESS=1 rewrites):\n{}{}",
        diff(&expected, &actual_lines),
        if stderr.is_empty() {
            String::new()
        } else {
            format!("stderr:\n{stderr}")
        }
    ))
}

fn transcripts_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("transcript directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    files
}

fn check_all(dir: &Path) {
    let bless = std::env::var_os("DUET_BLESS").is_some_and(|v| v == "1");
    let files = transcripts_in(dir);
    assert!(!files.is_empty(), "no transcripts in {}", dir.display());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            check_file(f, bless)
                .err()
                .map(|e| format!("{}: {e}", f.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} transcript(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts")
}

/// The session transcripts (they need the whole shell: matcher, commands, help).
#[test]
fn transcripts() {
    check_all(&root());
}

/// Transcripts of the front end alone (blank lines, refused lines, end of input): they check
/// the harness end to end without any command.
#[test]
fn harness_transcripts() {
    check_all(&root().join("harness"));
}

#[test]
fn harness_parses_and_renders_files() {
    let text = "A description.\n--- input ---\nsysname A\n--- screen ---\n<Duet>sysname A\n";
    let t = parse(text).unwrap();
    assert_eq!(t.preamble, "A description.\n");
    assert_eq!(t.input, "sysname A\n");
    assert_eq!(t.screen, "<Duet>sysname A\n");
    assert_eq!((&t.config, &t.stderr), (&None, &None));
    assert_eq!(render(&t), text);
    let text = "About.\n--- config ---\n sysname B\n--- input ---\n\n--- screen ---\n<B>\n--- stderr ---\n{*}.cfg:1: x\n";
    let t = parse(text).unwrap();
    assert_eq!(t.preamble, "About.\n");
    assert_eq!(t.config.as_deref(), Some(" sysname B\n"));
    assert_eq!(t.screen, "<B>\n");
    assert_eq!(t.stderr.as_deref(), Some("{*}.cfg:1: x\n"));
    assert_eq!(render(&t), text);
    assert!(parse("--- screen ---\n").is_err());
    assert!(parse("--- input ---\nx\n").is_err());
}

#[test]
fn harness_wildcards() {
    assert!(line_matches(
        "uptime is {*} minutes",
        "uptime is 0 weeks, 0 days 3 minutes"
    ));
    assert!(line_matches("{*}", ""));
    assert!(line_matches("a{*}b{*}c", "aXbYc"));
    assert!(!line_matches("a{*}b{*}c", "aXcYb"));
    assert!(!line_matches("ab{*}ba", "aba"));
    assert!(!line_matches("x", "y"));
    assert!(screen_matches(&["a", "{...}", "d"], &["a", "b", "c", "d"]));
    assert!(screen_matches(&["a", "{...}", "d"], &["a", "d"]));
    assert!(!screen_matches(&["a", "{...}", "d"], &["a", "b"]));
    assert!(!screen_matches(&["a"], &["a", "b"]));
    assert!(screen_matches(
        &["{...}", "x {*}", "{...}"],
        &["1", "x 2", "3"]
    ));
}

#[test]
fn harness_diff_and_bless() {
    let d = diff(&["<Duet>a", "one", "<Duet>"], &["<Duet>a", "two", "<Duet>"]);
    assert_eq!(d, "  <Duet>a\n- one\n+ two\n  <Duet>\n");
    assert_eq!(
        blessed(&["up {*} s", "old"], &["up 5 s", "new", "more"]),
        "up {*} s\nnew\nmore\n"
    );
}

#[test]
fn harness_reports_a_mismatch_and_blesses_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.txt");
    std::fs::write(&path, "--- input ---\n\n--- screen ---\n<Duet>\n<Wrong>\n").unwrap();
    let err = check_file(&path, false).unwrap_err();
    assert!(err.contains("- <Wrong>"), "{err}");
    check_file(&path, true).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "--- input ---\n\n--- screen ---\n<Duet>\n<Duet>\n"
    );
    check_file(&path, false).unwrap();
}
