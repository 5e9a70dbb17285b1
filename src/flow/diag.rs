//! Diagnostics: a message tied to a file, line and column.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem found in a file, pointing at where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
    pub message: String,
    /// For the last line of a file with too many errors to list: how many
    /// more errors it stands for (0 for an error of its own).
    pub more: usize,
}

impl Diagnostic {
    /// How many errors this line counts for: itself, or those it stands
    /// for.
    pub fn errors(&self) -> usize {
        if self.more > 0 { self.more } else { 1 }
    }

    /// A problem with a file as a whole (unreadable, badly named): points at 1:1.
    pub fn whole_file(path: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            line: 1,
            col: 1,
            message: message.into(),
            more: 0,
        }
    }

    /// A file that is not UTF-8 text: points at its first bad byte.
    pub fn not_utf8(path: &Path, e: &std::string::FromUtf8Error) -> Self {
        let (line, col) = utf8_position(e);
        Diagnostic {
            path: path.to_path_buf(),
            line,
            col,
            message: "not UTF-8 text: save the file as UTF-8".into(),
            more: 0,
        }
    }
}

/// Where text that is not UTF-8 goes wrong: the 1-based line and column
/// (in characters) of its first bad byte.
fn utf8_position(e: &std::string::FromUtf8Error) -> (usize, usize) {
    let at = e.utf8_error().valid_up_to();
    let bytes = &e.as_bytes()[..at];
    let line = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&bytes[start..]).chars().count() + 1;
    (line, col)
}

/// Longest message shown whole, in characters. A longer one echoes a huge
/// string from the file (a megabyte-long key): its middle is cut.
pub const MAX_MESSAGE_CHARS: usize = 1000;

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.col,
            clip(&self.message)
        )
    }
}

/// `message`, or for one over `MAX_MESSAGE_CHARS` its start and end with
/// how much was cut between them (the end often says what to do).
fn clip(message: &str) -> std::borrow::Cow<'_, str> {
    const HEAD: usize = 600;
    const TAIL: usize = 300;
    let count = message.chars().count();
    if count <= MAX_MESSAGE_CHARS {
        return message.into();
    }
    let head_end = message.char_indices().nth(HEAD).map_or(0, |(i, _)| i);
    let tail_start = message
        .char_indices()
        .nth(count - TAIL)
        .map_or(message.len(), |(i, _)| i);
    format!(
        "{} …[{} characters cut]… {}",
        &message[..head_end],
        thousands(count - HEAD - TAIL),
        &message[tail_start..]
    )
    .into()
}

/// `n` with a comma between each group of three digits: 12,345.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes between two checkpoints of [`Source`]'s character counts.
const CHECKPOINT_BYTES: usize = 256;

/// A file's text with what is needed to turn byte offsets into line:col.
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    line_starts: Vec<usize>,
    /// How many characters start before byte `i * CHECKPOINT_BYTES`, so a
    /// column costs at most one checkpoint's bytes to count, not its line's:
    /// many errors on one long line stay linear.
    chars_before: Vec<usize>,
}

impl<'a> Source<'a> {
    /// Indexes line starts and character checkpoints in one pass each.
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let mut chars_before = Vec::with_capacity(text.len() / CHECKPOINT_BYTES + 1);
        let mut count = 0;
        chars_before.push(0);
        for chunk in text.as_bytes().chunks(CHECKPOINT_BYTES) {
            count += char_starts(chunk);
            chars_before.push(count);
        }
        Source {
            path,
            text,
            line_starts,
            chars_before,
        }
    }

    /// Characters that start before byte `offset` (at most the text's length).
    fn chars_until(&self, offset: usize) -> usize {
        let checkpoint = offset / CHECKPOINT_BYTES;
        let from = checkpoint * CHECKPOINT_BYTES;
        self.chars_before[checkpoint] + char_starts(&self.text.as_bytes()[from..offset])
    }

    /// 1-based line and character column of a byte offset (clamped to the
    /// text). An offset inside a character counts that character as before it.
    /// Costs a binary search over lines and at most `CHECKPOINT_BYTES` bytes
    /// counted twice, however long the line.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self.chars_until(offset) - self.chars_until(start);
        (line + 1, col + 1)
    }

    pub fn diagnostic(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, col) = self.position(span.start);
        Diagnostic {
            path: self.path.to_path_buf(),
            line,
            col,
            message: message.into(),
            more: 0,
        }
    }
}

/// How many UTF-8 characters start in `bytes` (bytes that do not continue one).
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let path = Path::new("f.toml");
        let src = Source::new(path, "a = 1\nbé = 2\n\nc");
        assert_eq!(src.position(0), (1, 1));
        assert_eq!(src.position(4), (1, 5));
        assert_eq!(src.position(6), (2, 1));
        // "é" is two bytes but one column.
        assert_eq!(src.position(10), (2, 4));
        assert_eq!(src.position(15), (4, 1));
        assert_eq!(src.position(999), (4, 2));
    }

    #[test]
    fn columns_on_a_long_line_count_characters_across_checkpoints() {
        let path = Path::new("f.toml");
        let text = format!("x\n{}{}", "é".repeat(1000), "a".repeat(1000));
        let src = Source::new(path, &text);
        // Line 2 starts at byte 2; each "é" is two bytes.
        assert_eq!(src.position(2), (2, 1));
        assert_eq!(src.position(2 + 2 * 999), (2, 1000));
        assert_eq!(src.position(2 + 2 * 1000 + 500), (2, 1501));
        assert_eq!(src.position(text.len()), (2, 2001));
    }

    #[test]
    fn a_huge_message_keeps_its_start_and_end() {
        let short = "x".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(clip(&short), short);
        let long = format!("é{}ende", "é".repeat(5000));
        let shown = clip(&long);
        assert!(shown.starts_with("éé"), "{shown}");
        assert!(shown.ends_with("éende"), "{shown}");
        assert!(shown.contains(" …[4,105 characters cut]… "), "{shown}");
    }
}
