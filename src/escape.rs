//! Text from users and tasks, made safe to print: control characters
//! (C0, DEL and C1: ESC, BEL, NUL, CR...) are shown as `\u{1b}`, `\0`,
//! `\r`, so a flow file, a param or a commit message can never retitle,
//! clear or repaint the terminal that shows it. Pure; no IO.

use std::borrow::Cow;

/// `text` with every control character but newline and tab escaped (for
/// messages that may span lines).
pub fn controls(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

/// `text` with every control character escaped, newline and tab too (for
/// one line of a log).
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && !keep(c);
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !bad(c) => out.push(c),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_are_shown_not_sent() {
        let evil = "\u{1b}]0;PWNED\u{7}\u{1b}[2J";
        assert_eq!(controls(evil), "\\u{1b}]0;PWNED\\u{7}\\u{1b}[2J");
        assert_eq!(controls("a\0b\rc\u{9b}d\u{7f}"), "a\\0b\\rc\\u{9b}d\\u{7f}");
    }

    #[test]
    fn plain_text_and_lines_are_kept() {
        assert!(matches!(
            controls("ok: ✓ 3 flows\n\tnext"),
            Cow::Borrowed(_)
        ));
        assert_eq!(line("two\nlines\t"), "two\\nlines\\t");
    }
}
