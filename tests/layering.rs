//! The layering rule (docs/architecture.md, "How the map is kept true"): the shared machinery
//! in `src/cli/` and `src/config/` imports no feature, nor the modules that assemble the
//! features (`device`, `features`, `session`, ...). Features plug in through the feature list
//! (`duet::features::ALL`) only, so there is no import cycle through the shell library or the
//! configuration store.
//!
//! The test reads the sources: every path that leaves the folder (`crate::X`, or enough
//! `super::` to reach the crate root) must name one of the modules the folder may use. The
//! feature names come from the feature list itself, so a new feature is covered at once.
//!
//! Views too: a feature's view (the pool view, the line views, ...) is data its feature makes
//! (`cli::View::Feature`), so cli/ and config/ name none of the view kinds the grammar's
//! commands use beyond the shell's own (user, system, interface). The kinds come from the
//! grammar, so a new feature's view is covered at once.

#[path = "common/sources.rs"]
mod sources;

use std::path::Path;

use sources::rust_files;

/// The crate-level modules each shared folder may import.
const ALLOWED: &[(&str, &[&str])] = &[("cli", &["cli"]), ("config", &["config", "cli"])];

/// The module path of a source file below `src/` (`cli/matcher/tests.rs` -> cli, matcher,
/// tests; `cli/mod.rs` -> cli).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let mut parts: Vec<String> = file
        .strip_prefix(src)
        .expect("file below src")
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The code of a line without its `//` comment (doc comments name modules in prose).
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

fn ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The crate-level modules a file's code names: `crate::X`, `crate::{X, Y::..}` and `super::`
/// chains that climb to the crate root.
fn crate_roots(module: &[String], text: &str) -> Vec<(usize, String)> {
    let mut roots = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = code(line);
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                for item in group.split(',') {
                    let name = ident(item.trim());
                    if !name.is_empty() && name != "self" {
                        roots.push((n + 1, name));
                    }
                }
            } else {
                roots.push((n + 1, ident(after)));
            }
            rest = after;
        }
        // `super::super::X` from cli/a/b.rs climbs to the crate root after two steps.
        let mut rest = line;
        while let Some(i) = rest.find("super::") {
            let mut after = &rest[i..];
            let mut depth = 0;
            while let Some(next) = after.strip_prefix("super::") {
                depth += 1;
                after = next;
            }
            if depth >= module.len() {
                roots.push((n + 1, ident(after)));
            }
            rest = after;
        }
    }
    roots
}

#[test]
fn shared_machinery_imports_no_feature() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let features: Vec<&str> = duet::features::ALL.iter().map(|f| f.name).collect();
    assert!(
        features.contains(&"dhcp"),
        "the feature list is read: {features:?}"
    );
    let mut offences = Vec::new();
    for (folder, allowed) in ALLOWED {
        for feature in &features {
            assert!(
                !allowed.contains(feature),
                "{feature} is a feature; {folder}/ may not import it"
            );
        }
        let files = rust_files(&src.join(folder));
        assert!(!files.is_empty(), "src/{folder} has sources");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable source");
            let module = module_path(&src, &file);
            for (line, root) in crate_roots(&module, &text) {
                if !allowed.contains(&root.as_str()) {
                    let what = if features.contains(&root.as_str()) {
                        "the feature"
                    } else {
                        "the module"
                    };
                    offences.push(format!(
                        "{}:{line}: {folder}/ uses {what} `{root}`",
                        file.strip_prefix(&src).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "cli/ and config/ are shared machinery: they import no feature and no module that \
         assembles features (features plug in through src/features.rs):\n{}",
        offences.join("\n")
    );
}

/// The view kinds the shell itself knows (`View::User`, `View::System`, `View::Interface`), and
/// `any`.
fn shared_view_kinds() -> Vec<&'static str> {
    use duet::cli::View;
    vec![
        View::User.kind(),
        View::System.kind(),
        View::Interface(String::new()).kind(),
        "any",
    ]
}

/// The names code would give a view kind: the kind as a string (`"dhcp-pool"`) and as a type
/// or variant (`DhcpPool`).
fn view_kind_names(kind: &str) -> (String, String) {
    let camel = kind
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect();
    (format!("\"{kind}\""), camel)
}

/// Where a file's code (comments left out) names one of `kinds`: as a string literal, as a
/// variant of `View`, or, for a kind of several words (`DhcpPool`), as any whole identifier.
/// A one-word kind is also an ordinary word (a table's `Line`, `Place::Line`), so only its
/// `View::` form counts.
fn view_kind_uses(text: &str, kinds: &[String]) -> Vec<(usize, String)> {
    let mut uses = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = code(line);
        let words: Vec<&str> = line
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .collect();
        for kind in kinds {
            let (literal, ident) = view_kind_names(kind);
            let variant = format!("View::{ident}");
            let named = if kind.contains('-') {
                words.contains(&ident.as_str())
            } else {
                line.contains(&variant)
            };
            if line.contains(&literal) || named {
                uses.push((n + 1, kind.clone()));
            }
        }
    }
    uses
}

#[test]
fn shared_machinery_names_no_feature_view() {
    let grammar = duet::cli::grammar::builtin().expect("the built-in grammar loads");
    let shared = shared_view_kinds();
    let mut kinds: Vec<String> = grammar
        .commands
        .iter()
        .flat_map(|c| c.views.iter())
        .filter(|v| !shared.contains(&v.as_str()))
        .cloned()
        .collect();
    kinds.sort();
    kinds.dedup();
    assert!(
        kinds.iter().any(|k| k == "dhcp-pool"),
        "the grammar's view kinds are read: {kinds:?}"
    );
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offences = Vec::new();
    for (folder, _) in ALLOWED {
        let files = rust_files(&src.join(folder));
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable source");
            for (line, kind) in view_kind_uses(&text, &kinds) {
                offences.push(format!(
                    "{}:{line}: {folder}/ names the view `{kind}`",
                    file.strip_prefix(&src).unwrap_or(&file).display()
                ));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "a feature's view is data its feature makes (cli::View::Feature); the shared \
         machinery names none:\n{}",
        offences.join("\n")
    );
}

/// The view check finds a view kind as a string, a type or a variant, not in comments nor
/// inside longer names.
#[test]
fn the_view_check_sees_each_form() {
    let kinds = vec!["dhcp-pool".to_string(), "line".to_string()];
    let text = "View::DhcpPool(x)\n\"dhcp-pool\" => 1,\n// View::DhcpPool in prose\n\
                fn match_line() {}\nView::Line(r)\nlet line = 1;\nenum Line { Place::Line }\n";
    let lines: Vec<usize> = view_kind_uses(text, &kinds)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(lines, [1, 2, 5]);
}

/// The checker itself finds what it must (so a passing test means something).
#[test]
fn the_check_sees_each_form_of_import() {
    let module = vec![
        "cli".to_string(),
        "matcher".to_string(),
        "tests".to_string(),
    ];
    let text = "use crate::dhcp::X;\nuse crate::{vrrp, cli::View};\n// crate::aaa in prose\n\
                fn f() { super::super::super::hotbackup::g(); super::super::View; }\n";
    let roots: Vec<String> = crate_roots(&module, text)
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(roots, ["dhcp", "vrrp", "cli", "hotbackup"]);
}
