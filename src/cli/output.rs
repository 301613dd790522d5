//! Everything the command line prints goes through here, so what a workspace stores (titles,
//! captions, segment and source names, file names, product names from a feed) reaches the
//! terminal inert: control characters are written as visible escapes (`\x1b`, `\u{9b}`) instead
//! of being sent to the terminal, where an escape sequence could retitle the window, clear the
//! screen or write the clipboard (OSC 52). Newlines and tabs are kept: they are the output's
//! own layout (and a CSV field's newline).

use std::borrow::Cow;
use std::io::Write;

/// Whether `c` is a character a terminal would act on rather than print: C0 controls except tab
/// and newline, DEL, and the C1 controls (U+0080–U+009F, which include a one-character CSI).
fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c)
}

fn escape(c: char) -> String {
    if (c as u32) < 0x80 {
        format!("\\x{:02x}", c as u32)
    } else {
        format!("\\u{{{:x}}}", c as u32)
    }
}

/// `text` with every control character (see [`is_control`]) written as an escape.
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| if is_control(c) { escape(c) } else { c.to_string() }).collect())
}

/// A writer that passes text through [`inert`] (bytes that are not UTF-8 pass as they are).
pub struct Inert<W: Write> {
    inner: W,
    /// The first byte of a character split between two writes.
    partial: Vec<u8>,
}

impl<W: Write> Inert<W> {
    pub fn new(inner: W) -> Self {
        Self { inner, partial: Vec::new() }
    }
}

impl<W: Write> Write for Inert<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = std::mem::take(&mut self.partial);
        bytes.extend_from_slice(buf);
        // A character cut at the end waits for the next write.
        let (whole, rest) = match std::str::from_utf8(&bytes) {
            Ok(_) => (bytes.len(), 0),
            Err(e) if e.error_len().is_none() => (e.valid_up_to(), bytes.len() - e.valid_up_to()),
            Err(_) => (bytes.len(), 0),
        };
        let (head, tail) = bytes.split_at(whole);
        match std::str::from_utf8(head) {
            Ok(text) => self.inner.write_all(inert(text).as_bytes())?,
            Err(_) => self.inner.write_all(
                &String::from_utf8_lossy(head)
                    .chars()
                    .map(|c| if is_control(c) { escape(c) } else { c.to_string() })
                    .collect::<String>()
                    .into_bytes(),
            )?,
        }
        self.partial = tail[..rest].to_vec();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.partial.is_empty() {
            let partial = std::mem::take(&mut self.partial);
            self.inner.write_all(&partial)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Inert<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Standard output, inert.
pub fn stdout() -> Inert<std::io::StdoutLock<'static>> {
    Inert::new(std::io::stdout().lock())
}

/// Standard error, inert.
pub fn stderr() -> Inert<std::io::StderrLock<'static>> {
    Inert::new(std::io::stderr().lock())
}

/// `println!` through [`stdout`]; an error (a closed pipe) is returned, not a panic.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!($crate::cli::output::stdout(), $($arg)*)
    }};
}

/// `eprintln!` through [`stderr`].
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!($crate::cli::output::stderr(), $($arg)*);
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_reach_the_terminal_as_text() {
        // A title that would retitle the window, clear the screen and write the clipboard.
        let planted = "Q3\x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZWNobyBoaQ==\x07 review\u{9b}31m";
        let shown = inert(planted);
        assert!(!shown.chars().any(is_control), "{shown}");
        assert_eq!(shown, "Q3\\x1b]0;pwned\\x07\\x1b[2J\\x1b]52;c;ZWNobyBoaQ==\\x07 review\\u{9b}31m");
        assert_eq!(inert("São Paulo\tline\n"), "São Paulo\tline\n");

        let mut out = Inert::new(Vec::new());
        // 'é' and U+009B split across writes still come out right.
        out.write_all(&"é\u{9b}x\x1b".as_bytes()[..1]).unwrap();
        out.write_all(&"é\u{9b}x\x1b".as_bytes()[1..3]).unwrap();
        out.write_all(&"é\u{9b}x\x1b".as_bytes()[3..]).unwrap();
        out.flush().unwrap();
        assert_eq!(String::from_utf8(std::mem::take(&mut out.inner)).unwrap(), "é\\u{9b}x\\x1b");
    }
}
