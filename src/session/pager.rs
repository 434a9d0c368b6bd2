//! The `---- More ----` pager of interactive terminals: long output stops after each page
//! until the user presses Space (next page), Enter (next line) or q / Ctrl+C (stop).

use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};

/// The prompt shown between pages (Comware's, two leading spaces).
pub const MORE: &str = "  ---- More ----";

/// Erases the More prompt: back to column 0 and clear the line.
const ERASE: &str = "\r\x1b[K";

/// Erases the More prompt without an escape sequence (the SSH byte stream,
/// session/lineedit.rs): back to column 0, blanks over it, back again.
pub const PLAIN_ERASE: &str = "\r                \r";

/// Where the pager's keys come from.
pub trait Keys {
    /// The next key pressed (its first byte), or `None` when input is gone.
    fn key(&mut self) -> io::Result<Option<u8>>;
}

/// Write `text`, stopping every `page_len` lines at the More prompt. Other keys than the
/// documented ones are ignored; end of input stops like `q`.
pub fn page<W: Write + ?Sized>(
    out: &mut W,
    keys: &mut dyn Keys,
    text: &str,
    page_len: usize,
) -> io::Result<()> {
    page_erasing(out, keys, text, page_len, ERASE)
}

/// [`page`], erasing the More prompt with `erase`.
pub fn page_erasing<W: Write + ?Sized>(
    out: &mut W,
    keys: &mut dyn Keys,
    text: &str,
    page_len: usize,
    erase: &str,
) -> io::Result<()> {
    let page_len = page_len.max(1);
    let mut lines = text.split_inclusive('\n');
    let mut budget = page_len;
    loop {
        for _ in 0..budget {
            match lines.next() {
                Some(line) => out.write_all(line.as_bytes())?,
                None => return out.flush(),
            }
        }
        // Nothing left after a full page: no prompt.
        let Some(next) = lines.next() else {
            return out.flush();
        };
        out.write_all(MORE.as_bytes())?;
        out.flush()?;
        let step = loop {
            match keys.key()? {
                Some(b' ') => break Some(page_len),
                Some(b'\r' | b'\n') => break Some(1),
                Some(b'q' | b'Q' | 0x03) | None => break None,
                Some(_) => continue,
            }
        };
        out.write_all(erase.as_bytes())?;
        let Some(step) = step else {
            return out.flush();
        };
        out.write_all(next.as_bytes())?;
        budget = step - 1;
    }
}

/// Single keys from the terminal on stdin: canonical mode, echo and signals are off while the
/// value lives (so Ctrl+C arrives as a key), and restored when it is dropped.
pub struct TerminalKeys {
    saved: Termios,
}

impl TerminalKeys {
    pub fn new() -> io::Result<Self> {
        let stdin = io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd())?;
        let mut raw = saved.clone();
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
        raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSADRAIN, &raw)?;
        Ok(TerminalKeys { saved })
    }

    fn fd() -> BorrowedFd<'static> {
        // SAFETY: fd 0 stays open for the life of the process.
        unsafe { BorrowedFd::borrow_raw(0) }
    }
}

impl Keys for TerminalKeys {
    fn key(&mut self) -> io::Result<Option<u8>> {
        // Read the fd directly (not through std's buffered stdin, which could swallow bytes
        // the line editor needs next); a whole escape sequence is read and its first byte kept.
        let mut buf = [0u8; 16];
        loop {
            match nix::unistd::read(Self::fd(), &mut buf) {
                Ok(0) => return Ok(None),
                Ok(_) => return Ok(Some(buf[0])),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Drop for TerminalKeys {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(Self::fd(), SetArg::TCSADRAIN, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Script<'a>(std::iter::Copied<std::slice::Iter<'a, u8>>);
    impl Keys for Script<'_> {
        fn key(&mut self) -> io::Result<Option<u8>> {
            Ok(self.0.next())
        }
    }

    fn paged(text: &str, len: usize, keys: &[u8]) -> String {
        let mut out = Vec::new();
        page(&mut out, &mut Script(keys.iter().copied()), text, len).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("{i}\n")).collect()
    }

    #[test]
    fn short_output_is_not_paged() {
        assert_eq!(paged(&numbered(3), 3, b""), "1\n2\n3\n");
        assert_eq!(paged("", 3, b""), "");
    }

    #[test]
    fn space_shows_the_next_page_and_enter_one_line() {
        let more = format!("{MORE}{ERASE}");
        assert_eq!(
            paged(&numbered(7), 2, b" \r "),
            format!("1\n2\n{more}3\n4\n{more}5\n{more}6\n7\n")
        );
    }

    #[test]
    fn q_ctrl_c_and_end_of_input_stop() {
        let more = format!("{MORE}{ERASE}");
        for keys in [&b"q"[..], b"\x03", b"", b"xq"] {
            assert_eq!(
                paged(&numbered(5), 2, keys),
                format!("1\n2\n{more}"),
                "keys {keys:?}"
            );
        }
    }

    #[test]
    fn text_without_final_newline() {
        let more = format!("{MORE}{ERASE}");
        assert_eq!(paged("a\nb\nc", 2, b" "), format!("a\nb\n{more}c"));
    }
}
