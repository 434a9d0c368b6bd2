//! The display tables use one renderer (docs/architecture.md, "Where reality differs"): no
//! source outside `src/cli/table.rs` pads text into columns with a `format!` width
//! (`{:<17}`, `{name:<26}`, `{:64}`, `{word:<width$}`). A column layout is a list of
//! `cli::table::Column`s, so every display lines up by the same rules (Comware's spacing,
//! long cells pushing the row, trailing spaces cut).

#[path = "common/sources.rs"]
mod sources;

use std::path::Path;

use sources::rust_files;

/// Width formats that are not columns, each with its reason.
const ALLOWED: &[(&str, &str)] = &[
    (
        "demo/run.rs",
        "`{:>8.1}s`: the demo's event log prints a time stamp, not a display table",
    ),
    (
        "cli/pipe.rs",
        "`{n:>5}`: `| by-linenum` prefixes any output's lines with Comware's five-column number",
    ),
    (
        "system/ping.rs",
        "`{ttl:>2}`: a tracert line starts with its hop number; the rest of the line is free text",
    ),
];

/// Does a format spec (what follows the `:` of `{name:spec}`) pad to a width? Zero-padded
/// numbers (`{:02}`, `{:08x}`) and precision alone (`{:.2}`) do not.
fn pads(spec: &str) -> bool {
    let mut s = spec;
    // [[fill]align]
    let mut chars = s.chars();
    let (first, second) = (chars.next(), chars.next());
    if second.is_some_and(|c| "<^>".contains(c)) {
        s = &s[first.map_or(0, char::len_utf8) + 1..];
    } else if first.is_some_and(|c| "<^>".contains(c)) {
        s = &s[1..];
    }
    s = s.trim_start_matches(['+', '-', '#']);
    if s.starts_with('0') {
        return false;
    }
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        return true;
    }
    let name: String = s
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    !name.is_empty() && s[name.len()..].starts_with('$')
}

/// The padding format specs of one line of code.
fn padding_specs(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(stripped) = after.strip_prefix('{') {
            rest = stripped;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        let inside = &after[..close];
        if let Some((arg, spec)) = inside.split_once(':')
            && arg
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && pads(spec)
        {
            found.push(format!("{{{inside}}}"));
        }
        rest = &after[close + 1..];
    }
    found
}

#[test]
fn columns_are_padded_only_by_the_table_renderer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    let mut offences = Vec::new();
    for file in files {
        let name = file
            .strip_prefix(&src)
            .expect("below src")
            .to_string_lossy()
            .into_owned();
        if name == "cli/table.rs" || ALLOWED.iter().any(|(f, _)| *f == name) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for spec in padding_specs(code) {
                offences.push(format!("{name}:{}: {spec}", n + 1));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "text padded into columns outside src/cli/table.rs; use a `cli::table` layout:\n{}",
        offences.join("\n")
    );
}

/// The check sees the forms a column takes and leaves numbers alone.
#[test]
fn the_check_tells_columns_from_numbers() {
    let line =
        r#"format!("{:<17}{name:<26}{:64}{w:<width$}{x:>8.1} {:02}:{b:02x}{u:.2}{{:<9}}{}")"#;
    assert_eq!(
        padding_specs(line),
        ["{:<17}", "{name:<26}", "{:64}", "{w:<width$}", "{x:>8.1}"]
    );
    assert_eq!(padding_specs("{:*^12}"), ["{:*^12}"]);
    assert!(padding_specs("match x { a => b }").is_empty());
}
