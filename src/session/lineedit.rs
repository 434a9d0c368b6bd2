//! A line editor over a byte stream that writes what a Comware device writes: the prompt, the
//! typed characters echoed, `\b` and spaces to edit, `\n` to end a line, and nothing else: no
//! escape sequence ever leaves it (no bracketed paste, synchronized output, cursor moves or
//! position queries). Screen-scraping clients (Netmiko's `hp_comware` driver, Ansible, Nornir)
//! read an SSH session's stream as a Comware one, so an SSH login's shell uses this editor
//! (docs/cli.md, "The SSH byte stream"); the console keeps rustyline.
//!
//! The editor is sans-IO: [`LineEditor::feed`] takes the bytes read from the terminal and
//! appends what to echo to an output buffer; what the front end must do (run a line, show
//! help, complete a word) comes back as an [`Edit`]. Every change of the line is drawn by one
//! routine ([`LineEditor::show`]): back up with `\b` to where the old and new line differ, write
//! the new text from there, blank what is left of the old one, back up to the cursor.
//! Characters count one column each (Comware's lines are ASCII).

use super::frontend::MAX_LINE_CHARS;

/// What the front end must do after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Enter: execute this line (already echoed, the cursor on the next line).
    Line(String),
    /// `?`: show help for `left` (the text before the cursor); the `?` and the line end are
    /// already written. Call [`LineEditor::redraw`] after the help.
    Help { left: String },
    /// Tab: complete the word ending at the cursor; answer with [`LineEditor::complete`].
    Complete { left: String },
    /// Ctrl+Z: go to user view; the line was abandoned and the cursor is on a new line.
    UserView,
    /// Ctrl+C: the line was abandoned and the cursor is on a new line.
    Interrupt,
    /// Ctrl+D on an empty line: end of input.
    Eof,
}

/// Where the decoder is inside an escape sequence (arrow keys and the like).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    None,
    /// After ESC.
    Start,
    /// After `ESC [` or `ESC O`; the number read so far (for `ESC [ 3 ~`).
    Csi(u16),
}

/// The Tab cycle in progress: repeated Tabs replace the word with the next candidate.
#[derive(Clone, Debug)]
struct Cycle {
    /// Where the completed word starts (in characters).
    start: usize,
    candidates: Vec<String>,
    next: usize,
}

/// The line being edited, its recall list and the key decoder.
#[derive(Debug)]
pub struct LineEditor {
    line: Vec<char>,
    cursor: usize,
    /// Lines offered by Up/Down, oldest first.
    history: Vec<String>,
    /// Index into `history` while recalling; the line being typed is kept in `draft`.
    recall: Option<usize>,
    draft: Vec<char>,
    escape: Escape,
    /// The last key was `\r`: a `\n` right after it is the same Enter (CR LF clients).
    after_cr: bool,
    /// Bytes of a UTF-8 character not complete yet.
    utf8: Vec<u8>,
    cycle: Option<Cycle>,
}

impl Default for LineEditor {
    fn default() -> Self {
        LineEditor::new()
    }
}

impl LineEditor {
    pub fn new() -> Self {
        LineEditor {
            line: Vec::new(),
            cursor: 0,
            history: Vec::new(),
            recall: None,
            draft: Vec::new(),
            escape: Escape::None,
            after_cr: false,
            utf8: Vec::new(),
            cycle: None,
        }
    }

    /// The line as typed so far.
    pub fn text(&self) -> String {
        self.line.iter().collect()
    }

    /// Offer `line` for recall (the front end adds only what the session kept in its history).
    pub fn add_history(&mut self, line: &str) {
        if self.history.last().map(String::as_str) != Some(line) {
            self.history.push(line.to_string());
        }
        if self.history.len() > 1024 {
            self.history.remove(0);
        }
    }

    /// Write `prompt` and the line with the cursor in place: a new prompt (empty line) or the
    /// line again after help or a message printed above it.
    pub fn redraw(&self, prompt: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(prompt.as_bytes());
        out.extend(self.text().bytes());
        back(out, self.line.len() - self.cursor);
    }

    /// Feed one byte read from the terminal; echo goes to `out`.
    pub fn feed(&mut self, byte: u8, out: &mut Vec<u8>) -> Option<Edit> {
        let after_cr = std::mem::take(&mut self.after_cr);
        if self.escape != Escape::None {
            self.escape_byte(byte, out);
            return None;
        }
        if byte >= 0x80 || !self.utf8.is_empty() {
            return self.utf8_byte(byte, out);
        }
        if byte != b'\t' {
            self.cycle = None;
        }
        match byte {
            b'\r' => {
                self.after_cr = true;
                Some(self.enter(out))
            }
            b'\n' if after_cr => None,
            b'\n' => Some(self.enter(out)),
            b'?' => {
                let left: String = self.line[..self.cursor].iter().collect();
                let cursor = self.cursor;
                self.move_to_end(out);
                out.extend_from_slice(b"?\n");
                // The terminal's cursor is on a new line now; `redraw` puts it back here.
                self.cursor = cursor;
                Some(Edit::Help { left })
            }
            b'\t' => Some(Edit::Complete {
                left: self.line[..self.cursor].iter().collect(),
            }),
            0x1b => {
                self.escape = Escape::Start;
                None
            }
            0x03 => Some(self.abandon(Edit::Interrupt, out)),
            0x1a => Some(self.abandon(Edit::UserView, out)),
            0x04 if self.line.is_empty() => Some(Edit::Eof),
            0x04 => {
                self.delete_forward(out);
                None
            }
            0x7f | 0x08 => {
                if self.cursor > 0 {
                    let mut line = self.line.clone();
                    line.remove(self.cursor - 1);
                    self.show(line, self.cursor - 1, out);
                }
                None
            }
            0x01 => self.move_to(0, out),
            0x05 => self.move_to(self.line.len(), out),
            0x02 => self.move_to(self.cursor.saturating_sub(1), out),
            0x06 => self.move_to((self.cursor + 1).min(self.line.len()), out),
            // Ctrl+X and Ctrl+U: delete to the start of the line (Comware: Ctrl+X).
            0x18 | 0x15 => {
                let line = self.line[self.cursor..].to_vec();
                self.show(line, 0, out);
                None
            }
            // Ctrl+Y and Ctrl+K: delete to the end of the line (Comware: Ctrl+Y).
            0x19 | 0x0b => {
                let line = self.line[..self.cursor].to_vec();
                self.show(line, self.cursor, out);
                None
            }
            // Ctrl+W: delete the word before the cursor.
            0x17 => {
                let mut start = self.cursor;
                while start > 0 && self.line[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && self.line[start - 1] != ' ' {
                    start -= 1;
                }
                let mut line = self.line[..start].to_vec();
                line.extend_from_slice(&self.line[self.cursor..]);
                self.show(line, start, out);
                None
            }
            0x10 => self.recall_step(true, out),
            0x0e => self.recall_step(false, out),
            0x20..=0x7e => {
                self.insert(char::from(byte), out);
                None
            }
            // Other control characters are not echoed.
            _ => None,
        }
    }

    /// Answer to [`Edit::Complete`]: `start` is the byte offset in `left` where the word
    /// starts, `candidates` the words that may replace it. The first Tab puts the first
    /// candidate in; each Tab right after puts the next one (Comware cycles the same way).
    pub fn complete(&mut self, start: usize, candidates: Vec<String>, out: &mut Vec<u8>) {
        let cycle = match self.cycle.take() {
            Some(cycle) => cycle,
            None => {
                if candidates.is_empty() {
                    return;
                }
                let left: String = self.line[..self.cursor].iter().collect();
                let start = left
                    .get(..start.min(left.len()))
                    .map_or(self.cursor, |s| s.chars().count());
                Cycle {
                    start,
                    candidates,
                    next: 0,
                }
            }
        };
        let word = &cycle.candidates[cycle.next % cycle.candidates.len()];
        let mut line = self.line[..cycle.start].to_vec();
        line.extend(word.chars());
        let cursor = line.len();
        line.extend_from_slice(&self.line[self.cursor..]);
        if line.len() <= MAX_LINE_CHARS {
            self.show(line, cursor, out);
        }
        self.cycle = Some(Cycle {
            next: cycle.next + 1,
            ..cycle
        });
    }

    fn enter(&mut self, out: &mut Vec<u8>) -> Edit {
        self.move_to_end(out);
        out.push(b'\n');
        let text = self.text();
        self.reset();
        Edit::Line(text)
    }

    fn abandon(&mut self, edit: Edit, out: &mut Vec<u8>) -> Edit {
        self.move_to_end(out);
        out.push(b'\n');
        self.reset();
        edit
    }

    fn reset(&mut self) {
        self.line.clear();
        self.cursor = 0;
        self.recall = None;
        self.draft.clear();
        self.cycle = None;
    }

    /// The edit buffer holds 511 characters: further characters are refused (not echoed).
    fn insert(&mut self, c: char, out: &mut Vec<u8>) {
        if self.line.len() >= MAX_LINE_CHARS {
            return;
        }
        let mut line = self.line.clone();
        line.insert(self.cursor, c);
        self.show(line, self.cursor + 1, out);
    }

    fn delete_forward(&mut self, out: &mut Vec<u8>) {
        if self.cursor < self.line.len() {
            let mut line = self.line.clone();
            line.remove(self.cursor);
            self.show(line, self.cursor, out);
        }
    }

    fn move_to(&mut self, cursor: usize, out: &mut Vec<u8>) -> Option<Edit> {
        self.show(self.line.clone(), cursor, out);
        None
    }

    fn move_to_end(&mut self, out: &mut Vec<u8>) {
        self.move_to(self.line.len(), out);
    }

    /// Up (`older`) or Down through the recall list; Down past the newest gives the draft back.
    fn recall_step(&mut self, older: bool, out: &mut Vec<u8>) -> Option<Edit> {
        let next = match (self.recall, older) {
            (None, true) if !self.history.is_empty() => Some(self.history.len() - 1),
            (None, _) => return None,
            (Some(0), true) => return None,
            (Some(i), true) => Some(i - 1),
            (Some(i), false) if i + 1 < self.history.len() => Some(i + 1),
            (Some(_), false) => None,
        };
        if self.recall.is_none() {
            self.draft = self.line.clone();
        }
        self.recall = next;
        let line: Vec<char> = match next {
            Some(i) => self.history[i].chars().take(MAX_LINE_CHARS).collect(),
            None => std::mem::take(&mut self.draft),
        };
        let cursor = line.len();
        self.show(line, cursor, out);
        None
    }

    fn escape_byte(&mut self, byte: u8, out: &mut Vec<u8>) {
        self.escape = match (self.escape, byte) {
            (Escape::Start, b'[' | b'O') => Escape::Csi(0),
            (Escape::Csi(n), b'0'..=b'9') => {
                Escape::Csi(n.saturating_mul(10) + u16::from(byte - b'0'))
            }
            (Escape::Csi(_), b';') => Escape::Csi(0),
            (Escape::Csi(n), final_byte) => {
                self.cycle = None;
                match (final_byte, n) {
                    (b'A', _) => _ = self.recall_step(true, out),
                    (b'B', _) => _ = self.recall_step(false, out),
                    (b'C', _) => _ = self.move_to((self.cursor + 1).min(self.line.len()), out),
                    (b'D', _) => _ = self.move_to(self.cursor.saturating_sub(1), out),
                    (b'H', _) | (b'~', 1 | 7) => _ = self.move_to(0, out),
                    (b'F', _) | (b'~', 4 | 8) => _ = self.move_to(self.line.len(), out),
                    (b'~', 3) => self.delete_forward(out),
                    _ => {}
                }
                Escape::None
            }
            // ESC and a plain key (Alt+key): both ignored.
            (Escape::Start, _) | (Escape::None, _) => Escape::None,
        };
        // A sequence that never ends (a lone ESC followed by text) must not swallow input
        // forever: parameters are short.
        if let Escape::Csi(n) = self.escape
            && n > 9999
        {
            self.escape = Escape::None;
        }
    }

    fn utf8_byte(&mut self, byte: u8, out: &mut Vec<u8>) -> Option<Edit> {
        self.utf8.push(byte);
        match std::str::from_utf8(&self.utf8) {
            Ok(s) => {
                let c = s.chars().next();
                self.utf8.clear();
                if let Some(c) = c.filter(|c| !c.is_control()) {
                    self.insert(c, out);
                }
            }
            // Not complete yet (at most 4 bytes), or not UTF-8: dropped.
            Err(e) if e.error_len().is_none() && self.utf8.len() < 4 => {}
            Err(_) => self.utf8.clear(),
        }
        None
    }

    /// Make `line` the edited line with the cursor at `cursor`, writing the fewest plain
    /// bytes: `\b` back to the first difference, the new text from there, spaces over what is
    /// left of the old text, `\b` back to the cursor.
    fn show(&mut self, line: Vec<char>, cursor: usize, out: &mut Vec<u8>) {
        let same = self
            .line
            .iter()
            .zip(&line)
            .take_while(|(a, b)| a == b)
            .count();
        let cursor = cursor.min(line.len());
        let from = same.min(cursor);
        // The terminal's cursor is at self.cursor; get it to `from`.
        if self.cursor > from {
            back(out, self.cursor - from);
        } else {
            out.extend(
                self.line[self.cursor..from]
                    .iter()
                    .collect::<String>()
                    .bytes(),
            );
        }
        let old_len = self.line.len();
        if line != self.line || cursor != from {
            let tail: String = line[from..].iter().collect();
            out.extend_from_slice(tail.as_bytes());
            let blank = old_len.saturating_sub(line.len());
            out.extend(std::iter::repeat_n(b' ', blank));
            back(out, line.len() + blank - cursor);
        }
        self.line = line;
        self.cursor = cursor;
    }
}

fn back(out: &mut Vec<u8>, n: usize) {
    out.extend(std::iter::repeat_n(b'\x08', n));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `keys`; the echo and the edits.
    fn type_keys(editor: &mut LineEditor, keys: &[u8]) -> (String, Vec<Edit>) {
        let mut out = Vec::new();
        let mut edits = Vec::new();
        for &b in keys {
            edits.extend(editor.feed(b, &mut out));
        }
        (String::from_utf8(out).unwrap(), edits)
    }

    fn line(s: &str) -> Edit {
        Edit::Line(s.to_string())
    }

    #[test]
    fn plain_typing_is_echoed_as_typed_and_enter_ends_the_line() {
        let mut e = LineEditor::new();
        let (echo, edits) = type_keys(&mut e, b"display version\n");
        assert_eq!(echo, "display version\n");
        assert_eq!(edits, [line("display version")]);
        // CR LF (Netmiko over some transports, telnet habits) is one Enter.
        let (echo, edits) = type_keys(&mut e, b"a\r\nb\r");
        assert_eq!(echo, "a\nb\n");
        assert_eq!(edits, [line("a"), line("b")]);
    }

    #[test]
    fn editing_writes_only_backspaces_spaces_and_text() {
        let mut e = LineEditor::new();
        let (echo, _) = type_keys(&mut e, b"disx\x7fplay");
        assert_eq!(echo, "disx\x08 \x08play");
        // Left twice, insert in the middle: the tail is rewritten and the cursor backs up.
        let (echo, _) = type_keys(&mut e, b"\x1b[D\x1b[DZ");
        assert_eq!(echo, "\x08\x08Zay\x08\x08");
        assert_eq!(e.text(), "displZay");
        let all = type_keys(&mut e, b"\x01\x05\x1b[3~\x08\x1b[H\x1b[3~").0;
        assert!(!all.contains('\x1b'), "{all:?}");
        assert_eq!(e.text(), "isplZa");
    }

    #[test]
    fn ctrl_x_deletes_to_the_start_and_ctrl_y_to_the_end() {
        let mut e = LineEditor::new();
        type_keys(
            &mut e,
            b"display version\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D",
        );
        assert_eq!(e.text(), "display version");
        let (echo, _) = type_keys(&mut e, b"\x18");
        assert_eq!(e.text(), "version");
        assert_eq!(
            echo,
            "\x08\x08\x08\x08\x08\x08\x08\x08version        \x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08"
        );
        type_keys(&mut e, b"\x1b[C\x1b[C\x1b[C");
        let (_, edits) = type_keys(&mut e, b"\x19\r");
        assert_eq!(edits, [line("ver")]);
    }

    #[test]
    fn the_edit_buffer_refuses_the_512th_character() {
        let mut e = LineEditor::new();
        let keys = vec![b'x'; MAX_LINE_CHARS + 20];
        let (echo, _) = type_keys(&mut e, &keys);
        assert_eq!(echo.len(), MAX_LINE_CHARS);
        let (_, edits) = type_keys(&mut e, b"\r");
        assert_eq!(edits, [line(&"x".repeat(MAX_LINE_CHARS))]);
    }

    #[test]
    fn help_tab_and_recall() {
        let mut e = LineEditor::new();
        let (echo, edits) = type_keys(&mut e, b"dis ver\x1b[D\x1b[D\x1b[D?");
        assert_eq!(echo, "dis ver\x08\x08\x08ver?\n");
        assert_eq!(
            edits,
            [Edit::Help {
                left: "dis ".into()
            }]
        );
        let mut out = Vec::new();
        e.redraw("<Duet>", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "<Duet>dis ver\x08\x08\x08");
        // Tab: the word before the cursor is replaced, then cycled.
        let mut e = LineEditor::new();
        let (_, edits) = type_keys(&mut e, b"display cu\t");
        assert_eq!(
            edits,
            [Edit::Complete {
                left: "display cu".into()
            }]
        );
        let mut out = Vec::new();
        e.complete(
            8,
            vec!["current-configuration".into(), "cut".into()],
            &mut out,
        );
        assert_eq!(String::from_utf8(out).unwrap(), "rrent-configuration");
        type_keys(&mut e, b"\t");
        e.complete(8, vec![], &mut Vec::new());
        assert_eq!(e.text(), "display cut");
        // Recall: Up shows the newest line, Down gives back what was being typed.
        let mut e = LineEditor::new();
        e.add_history("display version");
        e.add_history("system-view");
        type_keys(&mut e, b"dis");
        let (echo, _) = type_keys(&mut e, b"\x1b[A");
        assert_eq!(echo, "\x08\x08\x08system-view");
        type_keys(&mut e, b"\x1b[A");
        assert_eq!(e.text(), "display version");
        type_keys(&mut e, b"\x1b[B\x1b[B");
        assert_eq!(e.text(), "dis");
    }

    #[test]
    fn control_keys() {
        let mut e = LineEditor::new();
        let (echo, edits) = type_keys(&mut e, b"abc\x03\x04x\x1az");
        assert_eq!(echo, "abc\nx\nz");
        assert_eq!(edits, [Edit::Interrupt, Edit::Eof, Edit::UserView]);
        // Unknown control characters and escape sequences are not echoed; UTF-8 is.
        let (echo, _) = type_keys(&mut e, b"\x07\x1b[15~\x1bOP\xc3\xa9\xff");
        assert_eq!(echo, "\u{e9}");
        assert_eq!(e.text(), "z\u{e9}");
    }
}
