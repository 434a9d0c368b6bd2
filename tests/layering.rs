//! The layering rule (docs/architecture.md, "How the map is kept true"): the shared machinery
//! in `src/cli/` and `src/config/` imports no feature, nor the modules that assemble the
//! features (`device`, `features`, `session`, ...). Features plug in through the feature list
//! (`duet::features::ALL`) only, so there is no import cycle through the shell library or the
//! configuration store.
//!
//! The test reads the sources: every path that leaves the folder (`crate::X`, or enough
//! `super::` to reach the crate root) must name one of the modules the folder may use. The
//! feature names come from the feature list itself, so a new feature is covered at once.

use std::path::{Path, PathBuf};

/// The crate-level modules each shared folder may import.
const ALLOWED: &[(&str, &[&str])] = &[("cli", &["cli"]), ("config", &["config", "cli"])];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

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
        let mut files = Vec::new();
        rust_files(&src.join(folder), &mut files);
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
