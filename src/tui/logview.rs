//! The Logs view's model: one try's log, read incrementally from its file
//! (only the last `TAIL_BYTES` of a huge one), with follow, wrap, search
//! and the try's outputs. Lines are cleaned of terminal escapes so a task
//! cannot repaint the screen.

use std::borrow::Cow;

use ratatui::style::{Color, Modifier, Style};

use crate::api::Source;
use crate::store::{Run, TaskInstance, Try};

/// How much of an existing log is read when it is opened.
pub const TAIL_BYTES: u64 = 8 * 1024 * 1024;
/// Lines kept in memory; older ones are dropped (`drover logs` has all).
pub const MAX_LINES: usize = 200_000;
/// At most this much is read per poll, so a flooding task cannot stall
/// the screen; the rest comes on the next polls.
const READ_PER_POLL: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct LogModel {
    pub flow: String,
    pub run_id: String,
    pub task: String,
    run: Run,
    /// The try shown (1-based); 0 while the instance has none.
    pub try_number: u32,
    pub tries: Vec<Try>,
    pub instance: Option<TaskInstance>,
    pub lines: Vec<LogLine>,
    /// Where each held line starts in the file (bytes).
    starts: Vec<u64>,
    /// Where `partial` starts in the file.
    partial_at: u64,
    /// Text after the last newline (a line still being written).
    partial: Vec<u8>,
    /// Show when each line arrived; the log's chunk times when read.
    pub times: bool,
    chunk_times: Vec<(u64, chrono::DateTime<chrono::Utc>)>,
    offset: u64,
    /// Lines (or a byte count, at open) not held: the log's start.
    pub dropped_lines: usize,
    pub skipped_bytes: u64,
    /// Whether the log file exists yet.
    pub exists: bool,
    pub follow: bool,
    pub wrap: bool,
    /// First line shown when not following.
    pub top: usize,
    /// Columns scrolled off to the left (wrap off).
    pub left: usize,
    pub search: Option<String>,
    pub matches: Vec<usize>,
    pub current: usize,
}

impl LogModel {
    /// The latest try of `task` in `run`.
    pub fn open(source: &Source, run: &Run, task: &str) -> LogModel {
        let mut model = LogModel {
            flow: run.flow.clone(),
            run_id: run.id.clone(),
            task: task.to_string(),
            run: run.clone(),
            try_number: 0,
            tries: Vec::new(),
            instance: None,
            lines: Vec::new(),
            starts: Vec::new(),
            partial_at: 0,
            partial: Vec::new(),
            times: false,
            chunk_times: Vec::new(),
            offset: 0,
            dropped_lines: 0,
            skipped_bytes: 0,
            exists: false,
            follow: true,
            wrap: false,
            top: 0,
            left: 0,
            search: None,
            matches: Vec::new(),
            current: 0,
        };
        model.reload_meta(source);
        model
    }

    /// The try shown, if it has started.
    pub fn shown_try(&self) -> Option<&Try> {
        self.tries.iter().find(|t| t.number == self.try_number)
    }

    /// The newest try's number (0: none yet).
    pub fn latest_try(&self) -> u32 {
        self.tries.iter().map(|t| t.number).max().unwrap_or(0)
    }

    /// Re-reads the instance and its tries. A new try is taken up when
    /// following (following follows the task: its newest try) or when the
    /// newest was shown.
    pub fn reload_meta(&mut self, source: &Source) {
        // Whether the newest try was shown, as it was before this read.
        let was_latest = self.try_number >= self.latest_try();
        // The run, its instance of the task and the tries, in one ask.
        if let Some(detail) = source.task_detail(&self.flow, &self.run_id, Some(&self.task)) {
            self.run = detail.run;
            self.instance = detail.instances.into_iter().find(|ti| ti.task == self.task);
            self.tries = detail.tries;
        }
        let latest = self.latest_try();
        if latest != self.try_number && (self.follow || was_latest) {
            self.show_try(latest);
        }
    }

    /// Turns follow on or off; on, it goes to the newest try.
    pub fn toggle_follow(&mut self, source: &Source) {
        self.follow = !self.follow;
        let latest = self.latest_try();
        if self.follow && latest != self.try_number {
            self.show_try(latest);
            self.poll(source);
        }
    }

    fn show_try(&mut self, number: u32) {
        self.try_number = number;
        self.lines.clear();
        self.starts.clear();
        self.partial_at = 0;
        self.chunk_times.clear();
        self.partial.clear();
        self.offset = 0;
        self.dropped_lines = 0;
        self.skipped_bytes = 0;
        self.exists = false;
        self.top = 0;
        self.matches.clear();
        self.current = 0;
    }

    /// Shows the previous or next try; false when there is none.
    pub fn switch_try(&mut self, source: &Source, forward: bool) -> bool {
        let target = if forward {
            self.try_number + 1
        } else {
            self.try_number.saturating_sub(1)
        };
        if target == 0 || !self.tries.iter().any(|t| t.number == target) {
            return false;
        }
        // Reading an older try is not following the task.
        if target != self.latest_try() {
            self.follow = false;
        }
        self.show_try(target);
        self.poll(source);
        true
    }

    /// Reads what the log gained since the last poll; true if anything.
    pub fn poll(&mut self, source: &Source) -> bool {
        if self.try_number == 0 {
            return false;
        }
        let (flow, run_id, task) = (self.flow.clone(), self.run_id.clone(), self.task.clone());
        let try_number = self.try_number;
        let read = |from: u64, max: u64| source.log(&flow, &run_id, &task, try_number, from, max);
        let Some(mut chunk) = read(self.offset, READ_PER_POLL) else {
            return false;
        };
        let len = chunk.size;
        let was = self.exists;
        self.exists = true;
        if len < self.offset {
            // The file was replaced: read it again.
            let number = self.try_number;
            self.show_try(number);
            self.exists = true;
            match read(0, READ_PER_POLL) {
                Some(c) => chunk = c,
                None => return true,
            }
        }
        if len == self.offset {
            return !was;
        }
        if self.offset == 0 && len > TAIL_BYTES {
            self.offset = len - TAIL_BYTES;
            self.skipped_bytes = self.offset;
            match read(self.offset, READ_PER_POLL) {
                Some(c) => chunk = c,
                None => return false,
            }
        }
        if chunk.from != self.offset {
            return false;
        }
        let mut bytes = chunk.text.into_bytes();
        let mut covered = chunk.len;
        if self.offset == self.skipped_bytes && self.skipped_bytes > 0 && self.lines.is_empty() {
            // Started mid-file: drop the cut first line.
            if let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
                self.offset += nl as u64 + 1;
                covered = covered.saturating_sub(nl as u64 + 1);
                bytes.drain(..=nl);
            }
        }
        if self.lines.is_empty() && self.partial.is_empty() {
            self.partial_at = self.offset;
        }
        self.offset += covered;
        self.take(&bytes);
        if self.times {
            self.read_times(source);
        }
        true
    }

    fn take(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        let Some(last_nl) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let rest = self.partial.split_off(last_nl + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        let search = self.search.as_deref().map(Search::new);
        let mut at = self.partial_at;
        self.partial_at += complete.len() as u64;
        for raw in complete[..complete.len() - 1].split(|&b| b == b'\n') {
            self.starts.push(at);
            at += raw.len() as u64 + 1;
            let line = parse_line(&String::from_utf8_lossy(raw));
            if search.as_ref().is_some_and(|s| s.finds(&line.text)) {
                self.matches.push(self.lines.len());
            }
            self.lines.push(line);
        }
        if self.lines.len() > MAX_LINES {
            let drop = self.lines.len() - MAX_LINES;
            self.lines.drain(..drop);
            self.starts.drain(..drop.min(self.starts.len()));
            self.dropped_lines += drop;
            self.top = self.top.saturating_sub(drop);
            self.matches.retain(|&m| m >= drop);
            for m in &mut self.matches {
                *m -= drop;
            }
            self.current = self.current.min(self.matches.len().saturating_sub(1));
        }
    }

    /// All lines to show, the one being written last.
    pub fn shown_lines(&self) -> impl Iterator<Item = Cow<'_, LogLine>> {
        let partial =
            (!self.partial.is_empty()).then(|| parse_line(&String::from_utf8_lossy(&self.partial)));
        self.lines
            .iter()
            .map(Cow::Borrowed)
            .chain(partial.map(Cow::Owned))
    }

    /// Turns arrival times on or off.
    pub fn toggle_times(&mut self, source: &Source) {
        self.times = !self.times;
        if self.times {
            self.read_times(source);
        }
    }

    fn read_times(&mut self, source: &Source) {
        self.chunk_times = source.log_times(&self.flow, &self.run_id, &self.task, self.try_number);
    }

    /// When line `i` (of the shown ones) arrived, if known.
    pub fn arrived(&self, i: usize) -> Option<chrono::DateTime<chrono::Utc>> {
        let start = self.starts.get(i).copied().unwrap_or(self.partial_at);
        let after = self.chunk_times.partition_point(|&(off, _)| off <= start);
        after.checked_sub(1).map(|k| self.chunk_times[k].1)
    }

    pub fn line_count(&self) -> usize {
        self.lines.len() + usize::from(!self.partial.is_empty())
    }

    /// Scrolls by `by` lines in a view `height` lines high. Scrolling up
    /// stops following; reaching the end of the newest try follows again
    /// (the end of an older one does not: following is of the newest).
    pub fn scroll_by(&mut self, by: isize, height: usize) {
        let len = self.line_count();
        let bottom = len.saturating_sub(height);
        let from = if self.follow { bottom } else { self.top };
        let to = (from as isize).saturating_add(by).clamp(0, bottom as isize) as usize;
        self.top = to;
        if by > 0 && to >= bottom && self.try_number >= self.latest_try() {
            self.follow = true;
        } else if by < 0 {
            self.follow = false;
        }
    }

    /// Sets the search text (smart case: any capital makes it exact) and
    /// jumps to the first match at or below the top line.
    pub fn set_search(&mut self, text: &str, height: usize) {
        self.search = (!text.is_empty()).then(|| text.to_string());
        self.matches.clear();
        self.current = 0;
        let Some(search) = self.search.as_deref().map(Search::new) else {
            return;
        };
        for (i, line) in self.lines.iter().enumerate() {
            if search.finds(&line.text) {
                self.matches.push(i);
            }
        }
        let from = if self.follow { 0 } else { self.top };
        self.current = self.matches.iter().position(|&m| m >= from).unwrap_or(0);
        if !self.matches.is_empty() {
            self.reveal(height);
        }
    }

    /// Moves to the next (or previous) match; false if there is none.
    pub fn next_match(&mut self, forward: bool, height: usize) -> bool {
        if self.matches.is_empty() {
            return false;
        }
        let n = self.matches.len();
        self.current = if forward {
            (self.current + 1) % n
        } else {
            (self.current + n - 1) % n
        };
        self.reveal(height);
        true
    }

    /// Scrolls so the current match is on screen, a third from the top.
    fn reveal(&mut self, height: usize) {
        if let Some(&line) = self.matches.get(self.current) {
            self.follow = false;
            let bottom = self.line_count().saturating_sub(height);
            self.top = line.saturating_sub(height / 3).min(bottom);
        }
    }

    /// The line the current match is on.
    pub fn current_match(&self) -> Option<usize> {
        self.matches.get(self.current).copied()
    }
}

/// A log search, smart case: a capital letter in it makes it exact,
/// otherwise case is ignored.
pub struct Search {
    needle: String,
    exact: bool,
}

impl Search {
    pub fn new(text: &str) -> Search {
        let exact = text.chars().any(char::is_uppercase);
        let needle = if exact {
            text.to_string()
        } else {
            text.to_lowercase()
        };
        Search { needle, exact }
    }

    /// Where the needle is in `text`: byte ranges, not overlapping. Empty
    /// when lowercasing changed the text's length (the ranges would not
    /// fit it).
    pub fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        if self.needle.is_empty() {
            return Vec::new();
        }
        let hay = if self.exact {
            text.to_string()
        } else {
            text.to_lowercase()
        };
        if hay.len() != text.len() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut at = 0;
        for (start, m) in hay.match_indices(&self.needle) {
            if start >= at {
                out.push((start, start + m.len()));
                at = start + m.len();
            }
        }
        out
    }

    pub fn finds(&self, text: &str) -> bool {
        !self.needle.is_empty()
            && if self.exact {
                text.contains(&self.needle)
            } else {
                text.to_lowercase().contains(&self.needle)
            }
    }
}

/// A log line as shown: its text, and the colours and emphasis its own
/// escape codes (SGR) gave parts of it, as (byte range, style) runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogLine {
    pub text: String,
    pub styles: Vec<(usize, usize, Style)>,
}

/// A log line's text: see `parse_line`.
pub fn clean(line: &str) -> String {
    parse_line(line).text
}

/// Reads a line a task printed: colour and emphasis codes become styles;
/// every other terminal escape sequence is removed, what a carriage return
/// overwrote is dropped, tabs are expanded and control characters shown
/// as `�`, so a task cannot repaint the screen.
pub fn parse_line(line: &str) -> LogLine {
    let line = match line.trim_end_matches('\r').rsplit_once('\r') {
        Some((_, after)) => after,
        None => line.trim_end_matches('\r'),
    };
    let mut out = LogLine {
        text: String::with_capacity(line.len()),
        styles: Vec::new(),
    };
    let mut style = Style::default();
    let mut run_start = 0;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                // CSI: parameters, then one final byte in @..~.
                Some('[') => {
                    chars.next();
                    let mut params = String::new();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            if c == 'm' {
                                let next = sgr(style, &params);
                                if next != style {
                                    if out.text.len() > run_start && style != Style::default() {
                                        out.styles.push((run_start, out.text.len(), style));
                                    }
                                    run_start = out.text.len();
                                    style = next;
                                }
                            }
                            break;
                        }
                        params.push(c);
                    }
                }
                // OSC: up to BEL or ESC \.
                Some(']') => {
                    chars.next();
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {
                    chars.next();
                }
            },
            '\t' => {
                let pad = 8 - unicode_width::UnicodeWidthStr::width(out.text.as_str()) % 8;
                out.text.extend(std::iter::repeat_n(' ', pad));
            }
            c if c.is_control() => out.text.push('�'),
            c => out.text.push(c),
        }
    }
    if out.text.len() > run_start && style != Style::default() {
        out.styles.push((run_start, out.text.len(), style));
    }
    out
}

/// `style` after the SGR parameters `params` ("1;31", "38;5;208", "0").
fn sgr(mut style: Style, params: &str) -> Style {
    let codes: Vec<u16> = if params.is_empty() {
        vec![0]
    } else {
        params
            .split([';', ':'])
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    let basic = |n: u16| match n {
        0 => Color::Black,
        1 => Color::Red,
        2 => Color::Green,
        3 => Color::Yellow,
        4 => Color::Blue,
        5 => Color::Magenta,
        6 => Color::Cyan,
        _ => Color::Gray,
    };
    let bright = |n: u16| match n {
        0 => Color::DarkGray,
        1 => Color::LightRed,
        2 => Color::LightGreen,
        3 => Color::LightYellow,
        4 => Color::LightBlue,
        5 => Color::LightMagenta,
        6 => Color::LightCyan,
        _ => Color::White,
    };
    let mut i = 0;
    while i < codes.len() {
        let code = codes[i];
        match code {
            0 => style = Style::default(),
            1 => style = style.add_modifier(Modifier::BOLD),
            2 => style = style.add_modifier(Modifier::DIM),
            3 => style = style.add_modifier(Modifier::ITALIC),
            4 => style = style.add_modifier(Modifier::UNDERLINED),
            7 => style = style.add_modifier(Modifier::REVERSED),
            22 => style = style.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => style = style.remove_modifier(Modifier::ITALIC),
            24 => style = style.remove_modifier(Modifier::UNDERLINED),
            27 => style = style.remove_modifier(Modifier::REVERSED),
            30..=37 => style.fg = Some(basic(code - 30)),
            39 => style.fg = None,
            40..=47 => style.bg = Some(basic(code - 40)),
            49 => style.bg = None,
            90..=97 => style.fg = Some(bright(code - 90)),
            100..=107 => style.bg = Some(bright(code - 100)),
            38 | 48 => {
                // 5;N (256 colours) or 2;R;G;B.
                let colour = match codes.get(i + 1) {
                    Some(5) => {
                        i += 2;
                        codes.get(i).map(|&n| Color::Indexed(n.min(255) as u8))
                    }
                    Some(2) => {
                        i += 4;
                        let c = |k: usize| codes.get(i + k - 3).map_or(0, |&v| v.min(255) as u8);
                        Some(Color::Rgb(c(1), c(2), c(3)))
                    }
                    _ => None,
                };
                if code == 38 {
                    style.fg = colour;
                } else {
                    style.bg = colour;
                }
            }
            _ => {}
        }
        i += 1;
    }
    style
}

#[cfg(test)]
mod tests {
    use super::{Color, LogLine, Modifier, Style, clean, parse_line};

    #[test]
    fn escapes_and_control_characters_cannot_reach_the_terminal() {
        assert_eq!(clean("\u{1b}[31mred\u{1b}[0m text"), "red text");
        assert_eq!(clean("\u{1b}]0;title\u{7}after"), "after");
        assert_eq!(clean("10%\r50%\r100%"), "100%");
        assert_eq!(clean("a\tb"), "a       b");
        assert_eq!(clean("bell\u{7}"), "bell�");
        assert_eq!(clean("line\r"), "line");
    }

    #[test]
    fn search_is_smart_case() {
        let loose = super::Search::new("error");
        assert!(loose.finds("ERROR: x") && loose.finds("an error"));
        assert_eq!(loose.ranges("Error, error"), vec![(0, 5), (7, 12)]);
        let exact = super::Search::new("ERROR");
        assert!(exact.finds("ERROR: x") && !exact.finds("an error"));
        assert!(!super::Search::new("").finds("anything"));
    }

    #[test]
    fn colour_codes_become_styles() {
        let red = Style::default().fg(Color::Red);
        assert_eq!(
            parse_line("\u{1b}[31mred\u{1b}[0m text"),
            LogLine {
                text: "red text".into(),
                styles: vec![(0, 3, red)],
            }
        );
        let line = parse_line("a \u{1b}[1;38;5;208mhot\u{1b}[22m warm\u{1b}[m b");
        assert_eq!(line.text, "a hot warm b");
        let hot = Style::default().fg(Color::Indexed(208));
        assert_eq!(
            line.styles,
            vec![
                (2, 5, hot.add_modifier(Modifier::BOLD)),
                (5, 10, hot.remove_modifier(Modifier::BOLD | Modifier::DIM))
            ]
        );
        let rgb = parse_line("\u{1b}[48;2;10;20;30mx");
        assert_eq!(
            rgb.styles,
            vec![(0, 1, Style::default().bg(Color::Rgb(10, 20, 30)))]
        );
        // Codes that are cut short or unknown change nothing and never panic.
        assert_eq!(parse_line("\u{1b}[38;5mx\u{1b}[999my").text, "xy");
    }
}
