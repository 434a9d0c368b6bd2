//! Matcher tests with the small test grammar of `cli::testing`.

use std::net::Ipv4Addr;

use super::*;
use crate::cli::testing;

fn ok(kind: &str, line: &str) -> (String, Args) {
    let g = testing::grammar();
    let m = match_line(&g, kind, line).unwrap_or_else(|e| panic!("{line}: {e:?}"));
    (m.command.handler.clone(), m.args)
}

fn err(kind: &str, line: &str) -> (ErrorKind, usize) {
    let g = testing::grammar();
    match match_line(&g, kind, line) {
        Ok(m) => panic!("{line}: matched {}", m.command.handler),
        Err(e) => (e.kind, e.offset),
    }
}

#[test]
fn unique_prefixes_any_case() {
    assert_eq!(ok("user", "dis cl").0, "t.clock");
    assert_eq!(ok("user", "DIS CLOCK").0, "t.clock");
    assert_eq!(ok("user", "  display   current-configuration  ").0, "t.cc");
    assert_eq!(ok("user", "sy").0, "t.system_view");
    let (_, args) = ok("user", "dis cl");
    assert_eq!(
        args.items[0],
        Arg {
            name: "display".into(),
            value: Value::Keyword,
            span: (0, 3)
        }
    );
    assert_eq!(
        args.items[1],
        Arg {
            name: "clock".into(),
            value: Value::Keyword,
            span: (4, 6)
        }
    );
    assert!(!args.undo);
}

#[test]
fn exact_keyword_beats_prefixes() {
    assert_eq!(ok("user", "display ip").0, "t.ip");
    assert_eq!(ok("user", "display ip-").0, "t.pool");
}

#[test]
fn aliases_replace_the_first_word_or_the_word_after_undo() {
    assert_eq!(ok("system", "show clock").0, "t.clock");
    assert_eq!(ok("system", "exit").0, "t.quit");
    assert_eq!(ok("system", "end").0, "t.return");
    assert_eq!(ok("system", "write force").0, "t.save");
    let (h, args) = ok("system", "hostname core 1");
    assert_eq!(
        (h.as_str(), args.str("name")),
        ("t.sysname", Some("core 1"))
    );
    let (h, args) = ok("system", "no sysname");
    assert_eq!(h, "t.sysname");
    assert!(args.undo);
    // The word after `undo` too (`no hostname`, `un hostname`).
    for line in ["no hostname", "undo hostname", "un hostname"] {
        let (h, args) = ok("system", line);
        assert_eq!(h, "t.sysname", "{line}");
        assert!(args.undo, "{line}");
    }
    // Nowhere else.
    assert_eq!(err("user", "display show"), (ErrorKind::Unrecognized, 8));
    assert_eq!(
        err("interface", "shutdown hostname"),
        (ErrorKind::TooMany, 9)
    );
}

#[test]
fn unrecognized() {
    assert_eq!(err("user", "foo"), (ErrorKind::Unrecognized, 0));
    assert_eq!(err("user", "display foo"), (ErrorKind::Unrecognized, 8));
    assert_eq!(err("user", "  dis foo"), (ErrorKind::Unrecognized, 6));
    // A command of another view is unknown here.
    assert_eq!(err("user", "sysname a"), (ErrorKind::Unrecognized, 0));
    // An option that does not fit where the line stands.
    assert_eq!(
        err("system", "expired day 1 unlimited"),
        (ErrorKind::Unrecognized, 14)
    );
}

#[test]
fn incomplete_points_past_the_end() {
    assert_eq!(err("user", "display"), (ErrorKind::Incomplete, 8));
    assert_eq!(err("user", "dis "), (ErrorKind::Incomplete, 4));
    assert_eq!(err("system", "sysname"), (ErrorKind::Incomplete, 8));
    assert_eq!(err("interface", "vrrp vrid 1"), (ErrorKind::Incomplete, 12));
    assert_eq!(
        err("interface", "vrrp vrid 1 virtual-ip"),
        (ErrorKind::Incomplete, 23)
    );
}

#[test]
fn ambiguous() {
    assert_eq!(err("user", "dis c"), (ErrorKind::Ambiguous, 4));
    assert_eq!(err("system", "s x"), (ErrorKind::Ambiguous, 0));
    assert_eq!(err("system", "service-type t"), (ErrorKind::Ambiguous, 13));
}

#[test]
fn too_many_parameters() {
    assert_eq!(err("user", "display clock now"), (ErrorKind::TooMany, 14));
    assert_eq!(
        err("interface", "undo shutdown now"),
        (ErrorKind::TooMany, 14)
    );
    assert_eq!(err("system", "undo sysname box"), (ErrorKind::TooMany, 13));
}

#[test]
fn wrong_parameter() {
    assert_eq!(
        err("interface", "vrrp vrid 256 virtual-ip 1.1.1.1"),
        (ErrorKind::WrongParameter, 10)
    );
    assert_eq!(
        err("interface", "vrrp vrid x"),
        (ErrorKind::WrongParameter, 10)
    );
    assert_eq!(
        err("interface", "vrrp vrid 1 virtual-ip 1.1.1"),
        (ErrorKind::WrongParameter, 23)
    );
    assert_eq!(
        err("interface", "ip address 10.0.0.1 33"),
        (ErrorKind::WrongParameter, 20)
    );
    assert_eq!(
        err("interface", "ip address 10.0.0.1 255.0.255.0"),
        (ErrorKind::WrongParameter, 20)
    );
    assert_eq!(
        err("user", "display mac 0-0"),
        (ErrorKind::WrongParameter, 12)
    );
    assert_eq!(
        err("system", "interface ge1/0/1/5"),
        (ErrorKind::WrongParameter, 10)
    );
    assert_eq!(
        err("system", "interface ge 1/x"),
        (ErrorKind::WrongParameter, 13)
    );
}

#[test]
fn text_takes_the_rest_of_the_line() {
    let (_, args) = ok("system", "sysname  my  box ");
    assert_eq!(args.str("name"), Some("my  box"));
    assert_eq!(args.span("name"), Some((9, 16)));
    let (_, args) = ok("system", "sysname a | include b");
    assert_eq!(args.str("name"), Some("a | include b"));
    let long = format!("sysname {}", "x".repeat(65));
    assert_eq!(err("system", &long), (ErrorKind::WrongParameter, 8));
}

#[test]
fn repetition() {
    let (_, args) = ok("system", "gateway-list 10.0.0.1 10.0.0.2 10.0.0.3");
    let all: Vec<&Value> = args.all("ip").collect();
    assert_eq!(all.len(), 3);
    assert_eq!(*all[2], Value::Ipv4(Ipv4Addr::new(10, 0, 0, 3)));
    assert_eq!(args.span("ip"), Some((13, 21)));
    let eight: Vec<String> = (1..=8).map(|i| format!("10.0.0.{i}")).collect();
    assert!(
        match_line(
            &testing::grammar(),
            "system",
            &format!("gateway-list {}", eight.join(" "))
        )
        .is_ok()
    );
    let line = format!("gateway-list {} 10.0.0.9", eight.join(" "));
    assert_eq!(err("system", &line), (ErrorKind::TooMany, line.len() - 8));
    assert_eq!(err("system", "gateway-list"), (ErrorKind::Incomplete, 13));
    assert_eq!(
        err("system", "gateway-list 10.0.0.1 x"),
        (ErrorKind::WrongParameter, 22)
    );
}

#[test]
fn any_order_sets() {
    let (_, args) = ok("system", "service-type telnet ssh");
    assert!(args.has("ssh") && args.has("telnet") && !args.has("terminal"));
    assert_eq!(args.items[1].name, "telnet");
    let (_, args) = ok("system", "service-type term ssh tel");
    assert!(args.has("ssh") && args.has("telnet") && args.has("terminal"));
    // Each alternative at most once.
    assert_eq!(
        err("system", "service-type ssh ssh"),
        (ErrorKind::Unrecognized, 17)
    );
    assert_eq!(err("system", "service-type"), (ErrorKind::Incomplete, 13));
}

#[test]
fn choices_and_optionals() {
    let (_, args) = ok("system", "expired day 1 hour 2");
    assert_eq!((args.int("d"), args.int("h")), (Some(1), Some(2)));
    let (_, args) = ok("system", "expired day 3");
    assert_eq!((args.int("d"), args.int("h")), (Some(3), None));
    assert!(ok("system", "expired unlimited").1.has("unlimited"));
    assert_eq!(
        err("system", "expired day 1 hour 24"),
        (ErrorKind::WrongParameter, 19)
    );
    let (_, args) = ok("interface", "ip address 10.0.0.1 255.255.255.0");
    assert_eq!(args.ipv4("mask"), Some(Ipv4Addr::new(255, 255, 255, 0)));
    let (_, args) = ok("interface", "ip address 10.0.0.1 24");
    assert_eq!((args.int("len"), args.ipv4("mask")), (Some(24), None));
    assert!(ok("user", "save").1.items.len() == 1);
    assert!(ok("user", "save f").1.has("force"));
}

#[test]
fn undo_forms() {
    let (h, args) = ok("interface", "undo vrrp vrid 7");
    assert_eq!(
        (h.as_str(), args.undo, args.int("id")),
        ("t.vip", true, Some(7))
    );
    let (_, args) = ok("interface", "un vr vr 7 vi 10.1.1.1");
    assert!(args.undo);
    assert_eq!(args.ipv4("ip"), Some(Ipv4Addr::new(10, 1, 1, 1)));
    let (h, args) = ok("interface", "undo ip address");
    assert_eq!((h.as_str(), args.undo), ("t.address", true));
    assert!(!ok("interface", "shutdown").1.undo);
    // A command without an undo form.
    assert_eq!(
        err("system", "undo gateway-list"),
        (ErrorKind::Unrecognized, 5)
    );
}

#[test]
fn interface_names_in_one_or_two_words() {
    for line in [
        "interface ge1/0/1",
        "interface GigabitEthernet 1/0/1",
        "int g 1/0/1",
        "i GE1/0/1",
    ] {
        let (_, args) = ok("system", line);
        assert_eq!(args.str("if"), Some("GigabitEthernet1/0/1"), "{line}");
    }
    let (_, args) = ok("system", "interface gigabitethernet 1/0/2");
    assert_eq!(args.span("if"), Some((10, 31)));
    assert_eq!(err("system", "interface ge"), (ErrorKind::Incomplete, 13));
    assert_eq!(err("system", "interface"), (ErrorKind::Incomplete, 10));
}

#[test]
fn pipes_only_after_display() {
    let g = testing::grammar();
    let m = match_line(&g, "user", "display clock | include UTC | exclude Zone").unwrap();
    assert_eq!(m.pipes.len(), 2);
    assert_eq!(
        match_line(&g, "user", "display clock | foo").unwrap_err(),
        MatchError {
            kind: ErrorKind::Unrecognized,
            offset: 16
        }
    );
    assert_eq!(
        match_line(&g, "user", "save | include x").unwrap_err(),
        MatchError {
            kind: ErrorKind::Unrecognized,
            offset: 5
        }
    );
    assert_eq!(
        match_line(&g, "user", "display foo | include x").unwrap_err(),
        MatchError {
            kind: ErrorKind::Unrecognized,
            offset: 8
        }
    );
}

#[test]
fn tokenizer() {
    assert_eq!(tokenize(" a  bc\td "), vec![(1, 2), (4, 6), (7, 8)]);
    assert_eq!(tokenize(""), vec![]);
    assert_eq!(tokenize("é x"), vec![(0, 2), (3, 4)]);
}

#[test]
fn odd_input_never_panics() {
    let g = testing::grammar();
    for line in [
        "",
        " ",
        "|",
        "| |",
        "\u{7f}",
        "ü ü",
        "display clock |",
        "sysname é",
        "interface ge 1/0/1/1/1",
    ] {
        for kind in ["user", "system", "interface"] {
            let _ = match_line(&g, kind, line);
        }
    }
}

mod fuzz {
    use proptest::prelude::*;

    use crate::cli::{help, matcher, syntax, testing};

    /// Words the test grammar knows, pieces of them, values and junk.
    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "display",
                "dis",
                "d",
                "clock",
                "c",
                "undo",
                "no",
                "show",
                "sysname",
                "interface",
                "ge1/0/1",
                "ge",
                "1/0/1",
                "vrrp",
                "vrid",
                "1",
                "256",
                "virtual-ip",
                "1.1.1.1",
                "255.255.255.0",
                "24",
                "|",
                "include",
                "count",
                "(",
                "service-type",
                "ssh",
                "telnet",
                "expired",
                "day",
                "hour",
                "gateway-list",
                "ip",
                "address",
                "mac",
                "0-0-1",
                "save",
                "force",
                "quit",
            ])
            .prop_map(String::from),
            "[ -~é\t]{0,6}",
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(word(), 0..8),
            prop::collection::vec(" {1,2}", 8),
            any::<bool>(),
        )
            .prop_map(|(words, gaps, trailing)| {
                let mut s = String::new();
                for (w, g) in words.iter().zip(&gaps) {
                    s.push_str(w);
                    s.push_str(g);
                }
                if !trailing {
                    s.truncate(s.trim_end().len());
                }
                s
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Any line gives a match or an error whose caret lies on the line (or just past
        /// its end); `?` and Tab never panic.
        #[test]
        fn lines_never_panic(line in line()) {
            let g = testing::grammar();
            for kinds in [&["user"][..], &["system"], &["interface", "system"]] {
                if let Err(e) = matcher::match_line(&g, kinds[0], &line) {
                    prop_assert!(e.offset <= line.trim_end().len() + 1, "{line:?}: {e:?}");
                }
                let _ = help::help(&g, kinds, &line);
                let (start, _) = help::complete(&g, kinds, &line);
                prop_assert!(start <= line.len());
            }
        }

        /// Narrowing the commands by the first word changes nothing: the same command, or
        /// the same error, as running the line through every command of the view.
        #[test]
        fn first_word_narrowing_is_invisible(line in line()) {
            let g = testing::grammar();
            for kind in ["user", "system", "interface"] {
                if line.contains('|') {
                    continue;
                }
                let all = matcher::entries(&g, kind);
                let whole = matcher::analyze(&all, &line);
                let expected = match whole.complete.first() {
                    Some((i, _)) => Ok(all[*i].command.handler.clone()),
                    None => Err(whole.error.unwrap_or(matcher::MatchError {
                        kind: matcher::ErrorKind::Unrecognized,
                        offset: line.len() - line.trim_start().len(),
                    })),
                };
                let got = matcher::match_line(&g, kind, &line).map(|m| m.command.handler.clone());
                prop_assert_eq!(got, expected, "{:?} in {}", line, kind);
            }
        }

        /// Any syntax string parses or is rejected, never panics.
        #[test]
        fn syntax_never_panics(text in "[a-z<>:()&{}|*\\[\\] 0-9-]{0,30}") {
            let _ = syntax::parse(&text);
        }
    }
}
