//! The one renderer of the shell's column layouts: the display tables (`display interface
//! brief`, `display vrrp`, `display dhcp server ip-in-use`, `display users`, ...), the
//! `Label : value` blocks of the verbose and statistics displays, and the `?` help rows.
//!
//! A layout is a list of [`Column`]s: each has an indent (spaces before its text), a width
//! and a gap (spaces after it), the way Comware lines its columns up; the last column is
//! usually [`Column::rest`], as wide as its text. Header lines are rows like any other (they
//! line up with the same columns); a [`Table::text`] line stands outside the columns (the
//! `Location:` line under a `display users` row). Every row ends at its last character:
//! trailing spaces are cut, as on Comware.
//!
//! Drawing is comfy-table's (borderless style, no content arrangement, each column's width
//! fixed and its indent and gap as padding). comfy-table is built without its `tty` feature:
//! it never asks a terminal for its width, so it cannot squeeze columns on a 0-column terminal
//! (an SSH client without a PTY), and a display looks the same on every terminal, as
//! Comware's do. Two cases take the renderer's own path instead, because comfy-table would
//! draw them differently from Comware (docs/architecture.md, "Where reality differs"):
//! - a cell longer than its column: comfy-table wraps it inside the column, Comware prints it
//!   whole and pushes the rest of the row to the right;
//! - a cell that is not printable ASCII: comfy-table measures display width (a CJK character
//!   counts two), Comware pads by characters.
//!
//! Both paths give the same text wherever comfy-table draws (a property test below).

use comfy_table::presets::NOTHING;
use comfy_table::{ColumnConstraint, ContentArrangement, Width};

/// One column of a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Spaces before the text.
    indent: usize,
    /// Characters of text; `None`: as wide as the column's widest text.
    width: Option<usize>,
    /// Spaces after the text.
    gap: usize,
}

impl Column {
    /// A column `width` characters wide, its text on the left.
    pub const fn left(width: usize) -> Column {
        Column {
            indent: 0,
            width: Some(width),
            gap: 0,
        }
    }

    /// A column as wide as its widest text: the last one of a layout.
    pub const fn rest() -> Column {
        Column {
            indent: 0,
            width: None,
            gap: 0,
        }
    }

    /// `n` spaces before the text (the first column's indent of the whole row).
    pub const fn indent(self, n: usize) -> Column {
        Column { indent: n, ..self }
    }

    /// `n` spaces after the text, before the next column.
    pub const fn gap(self, n: usize) -> Column {
        Column { gap: n, ..self }
    }

    /// The text's width in a table whose widest text in this column is `widest` (comfy-table
    /// gives every column at least one character).
    fn text_width(&self, widest: usize) -> usize {
        self.width.unwrap_or(widest).max(1)
    }
}

enum Line {
    Cells(Vec<String>),
    Text(String),
}

/// A table being built: rows of cells in `columns`, and free lines between them.
pub struct Table {
    columns: Vec<Column>,
    lines: Vec<Line>,
}

impl Table {
    pub fn new(columns: &[Column]) -> Self {
        Table {
            columns: columns.to_vec(),
            lines: Vec::new(),
        }
    }

    /// A row: one cell per column (missing cells are empty; cells past the last column are
    /// a mistake of the caller and not shown).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        let mut cells: Vec<String> = cells.into_iter().map(Into::into).collect();
        debug_assert!(cells.len() <= self.columns.len(), "more cells than columns");
        cells.resize(self.columns.len(), String::new());
        self.lines.push(Line::Cells(cells));
        self
    }

    /// A line outside the columns, shown as it is.
    pub fn text(&mut self, line: impl Into<String>) -> &mut Self {
        self.lines.push(Line::Text(line.into()));
        self
    }

    /// The table's lines, without line ends.
    pub fn lines(&self) -> Vec<String> {
        let rows: Vec<&[String]> = self.rows().collect();
        let drawn = if rows.is_empty() || !self.comfy_draws(&rows) {
            self.plain(&rows)
        } else {
            self.comfy(&rows)
        };
        let mut drawn = drawn.into_iter();
        self.lines
            .iter()
            .map(|line| match line {
                Line::Cells(_) => drawn.next().unwrap_or_default(),
                Line::Text(text) => text.clone(),
            })
            .collect()
    }

    fn rows(&self) -> impl Iterator<Item = &[String]> {
        self.lines.iter().filter_map(|l| match l {
            Line::Cells(cells) => Some(cells.as_slice()),
            Line::Text(_) => None,
        })
    }

    /// Does comfy-table draw these rows as Comware would: every cell printable ASCII (its
    /// width is its length) and within its column's width?
    fn comfy_draws(&self, rows: &[&[String]]) -> bool {
        rows.iter().all(|cells| {
            self.columns.iter().zip(cells.iter()).all(|(column, cell)| {
                cell.bytes().all(|b| (b' '..=b'~').contains(&b))
                    && column.width.is_none_or(|w| cell.len() <= w.max(1))
                    && column.indent + cell.len() + column.gap <= usize::from(u16::MAX)
            })
        })
    }

    /// The rows drawn by comfy-table: one line per row (no cell wraps, see `comfy_draws`).
    fn comfy(&self, rows: &[&[String]]) -> Vec<String> {
        let mut table = comfy_table::Table::new();
        table
            .load_style(NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled);
        for cells in rows {
            table.add_row(cells.to_vec());
        }
        for (column, spec) in table.column_iter_mut().zip(&self.columns) {
            column.set_padding((to_u16(spec.indent), to_u16(spec.gap)));
            if let Some(w) = spec.width {
                let outer = spec.indent + w.max(1) + spec.gap;
                column.set_constraint(ColumnConstraint::Absolute(Width::Fixed(to_u16(outer))));
            }
        }
        table.lines().map(|l| l.trim_end().to_string()).collect()
    }

    /// The rows padded by hand, as `format!("{:<width$}")` does: a longer cell is printed
    /// whole and pushes the rest of its row.
    fn plain(&self, rows: &[&[String]]) -> Vec<String> {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, column)| {
                let widest = rows
                    .iter()
                    .map(|cells| cells[i].chars().count())
                    .max()
                    .unwrap_or(0);
                column.text_width(widest)
            })
            .collect();
        rows.iter()
            .map(|cells| {
                let mut line = String::new();
                for ((column, width), cell) in self.columns.iter().zip(&widths).zip(cells.iter()) {
                    let pad = width.saturating_sub(cell.chars().count()) + column.gap;
                    line.extend(std::iter::repeat_n(' ', column.indent));
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
                line.truncate(line.trim_end().len());
                line
            })
            .collect()
    }
}

fn to_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// One row in `columns`: a line of a `Label : value` block, printed as it is made.
pub fn line<S: Into<String>>(columns: &[Column], cells: impl IntoIterator<Item = S>) -> String {
    let mut table = Table::new(columns);
    table.row(cells);
    table.lines().pop().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const BRIEF: &[Column] = &[
        Column::left(19).indent(1),
        Column::left(6),
        Column::left(8).gap(1),
        Column::rest(),
    ];

    #[test]
    fn columns_line_up_with_indent_and_gaps() {
        let mut t = Table::new(BRIEF);
        t.row(["Interface", "VRID", "State", "Virtual"])
            .row(["GE1/0/1", "1", "Master", "1.1.1.1"])
            .row(["", "", "", "1.1.1.3"])
            .text("   a line of its own")
            .row(["GE1/0/2", "2", "Backup"]);
        assert_eq!(
            t.lines(),
            [
                " Interface          VRID  State    Virtual",
                " GE1/0/1            1     Master   1.1.1.1",
                "                                   1.1.1.3",
                "   a line of its own",
                " GE1/0/2            2     Backup",
            ]
        );
    }

    #[test]
    fn a_long_cell_pushes_the_rest_of_its_row() {
        let mut t = Table::new(BRIEF);
        t.row(["GigabitEthernet1/0/1", "1", "Initialize", "1.1.1.1"])
            .row(["GE1/0/2", "2", "Backup", "1.1.1.2"]);
        assert_eq!(
            t.lines(),
            [
                " GigabitEthernet1/0/11     Initialize 1.1.1.1",
                " GE1/0/2            2     Backup   1.1.1.2",
            ]
        );
        assert_eq!(
            format!(
                " {:<19}{:<6}{:<8} {}",
                "GigabitEthernet1/0/1", "1", "Initialize", "1.1.1.1"
            ),
            t.lines()[0]
        );
    }

    #[test]
    fn wide_characters_are_padded_by_characters() {
        let columns = [Column::left(6), Column::rest()];
        assert_eq!(line(&columns, ["端口", "x"]), "端口    x");
        assert_eq!(line(&columns, ["\u{fffd}", "x"]), "\u{fffd}     x");
    }

    #[test]
    fn a_row_ends_at_its_last_character() {
        let columns = [Column::left(4).gap(2), Column::left(4), Column::rest()];
        assert_eq!(line(&columns, ["a", "", ""]), "a");
        assert_eq!(line(&columns, ["a", "b"]), "a     b");
        assert_eq!(line(&columns, ["", "", ""]), "");
        assert!(Table::new(&columns).lines().is_empty());
    }

    fn column() -> impl Strategy<Value = Column> {
        (0..3usize, proptest::option::of(0..8usize), 0..3usize)
            .prop_map(|(indent, width, gap)| Column { indent, width, gap })
    }

    /// A table whose cells fit their columns: the case comfy-table draws.
    fn fitting() -> impl Strategy<Value = (Vec<Column>, Vec<Vec<String>>)> {
        proptest::collection::vec(column(), 1..5).prop_flat_map(|columns| {
            let cell = |c: &Column| {
                let most = c.width.map_or(12, |w| w.max(1));
                proptest::string::string_regex(&format!("[ -~]{{0,{most}}}")).unwrap()
            };
            let row: Vec<_> = columns.iter().map(cell).collect();
            (Just(columns), proptest::collection::vec(row, 1..6))
        })
    }

    proptest! {
        /// comfy-table's drawing is Comware's padding wherever it is used.
        #[test]
        fn comfy_table_draws_what_plain_padding_gives((columns, rows) in fitting()) {
            let mut t = Table::new(&columns);
            for r in &rows {
                t.row(r.clone());
            }
            let rows: Vec<&[String]> = t.rows().collect();
            prop_assert!(t.comfy_draws(&rows));
            prop_assert_eq!(t.comfy(&rows), t.plain(&rows));
        }
    }
}
