//! Rendering for the screen: the caret line under an offending word and `?` help rows.

use super::matcher::MatchError;
use super::table::{Column, Table};

/// The caret line and message of a rejected line. `prompt_width` is the width of the prompt the
/// line was typed after (the caret counts it); `offset` is a byte offset into `line`, possibly
/// past its end (`Incomplete`).
pub fn caret(prompt_width: usize, line: &str, offset: usize, message: &str) -> String {
    let within = offset.min(line.len());
    let mut boundary = within;
    while !line.is_char_boundary(boundary) {
        boundary -= 1;
    }
    let column = prompt_width + line[..boundary].chars().count() + (offset - within);
    format!("{}^\n {}\n", " ".repeat(column), message)
}

/// A matcher error with its caret.
pub fn match_error(prompt_width: usize, line: &str, e: MatchError) -> String {
    caret(prompt_width, line, e.offset, e.kind.message())
}

/// `?` rows: two spaces, the word padded to the longest word of the list, two spaces, the
/// help. A row without help (`<cr>`) is the word alone.
pub fn rows(items: &[(String, String)]) -> String {
    let width = items
        .iter()
        .filter(|(_, h)| !h.is_empty())
        .map(|(w, _)| w.chars().count())
        .max()
        .unwrap_or(0);
    let mut table = Table::new(&[Column::left(width).indent(2).gap(2), Column::rest()]);
    for (word, help) in items {
        if help.is_empty() {
            table.text(format!("  {word}"));
        } else {
            table.row([word, help]);
        }
    }
    table.lines().into_iter().map(|l| l + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::matcher::ErrorKind;

    #[test]
    fn caret_counts_the_prompt() {
        let e = MatchError {
            kind: ErrorKind::Unrecognized,
            offset: 8,
        };
        assert_eq!(
            match_error(6, "display ntp-status", e),
            format!(
                "{}^\n % Unrecognized command found at '^' position.\n",
                " ".repeat(14)
            )
        );
        // Past the end (Incomplete) and after a multi-byte character.
        assert_eq!(caret(1, "ab", 3, "m"), "    ^\n m\n");
        assert_eq!(caret(0, "é x", 3, "m"), "  ^\n m\n");
    }

    #[test]
    fn rows_are_aligned() {
        let items = vec![
            ("quit".to_string(), "Exit".to_string()),
            ("system-view".to_string(), "Enter".to_string()),
            ("<cr>".to_string(), String::new()),
        ];
        assert_eq!(
            rows(&items),
            "  quit         Exit\n  system-view  Enter\n  <cr>\n"
        );
    }
}
