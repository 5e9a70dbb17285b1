//! The views, each with its own state, keys and drawing (as gitui's
//! components): `flows`, `grid`, `graph`, `logs`, `own_log`; the boxes
//! over them (`overlay`) and the line typed at the bottom (`command`).
//! Here: what the views share for moving and drawing. Drawing reads a
//! view and never changes it; the frame around the views is `tui::screen`.
//!
//! A view's keys come as `keymap::Action`s to its `on_action`, which
//! returns whether the view took the key; the app does the rest (going
//! to another view, the dialogs). A view reads what all views share
//! through `ctx::Ctx`; the Graph and the Logs view also read the Grid,
//! whose selection they follow.
//!
//! May call: `tui::ctx`, `tui::keymap`, `tui::theme`, `tui::logview`,
//! `tui::graph_layout`, and through `Ctx` the `api::Source` reads; `flow`
//! and `store` records (plain data).

pub mod command;
pub mod flows;
pub mod graph;
pub mod grid;
pub mod logs;
pub mod overlay;
pub mod own_log;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::ctx::Ctx;
use super::keymap::Action;
use crate::flow::Flow;
use crate::store::{TaskInstance, TaskState};

/// A list's selection, scroll offset and filter.
#[derive(Debug, Clone, Default)]
pub struct ListState {
    pub selected: usize,
    pub offset: usize,
    pub filter: String,
}

impl ListState {
    /// Keeps `selected` inside `len` rows and visible in `height` rows.
    pub fn clamp(&mut self, len: usize, height: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }

    /// Moves the selection by `by` rows within `len`.
    pub fn step(&mut self, by: isize, len: usize) {
        let max = len.saturating_sub(1) as isize;
        self.selected = (self.selected as isize + by).clamp(0, max.max(0)) as usize;
    }
}

/// The step a moving key makes, as (across, along): one row or column,
/// `page` rows, or as far as it goes (first and last). None for a key
/// that does not move.
pub fn steps(action: Action, page: usize) -> Option<(isize, isize)> {
    let page = page as isize;
    Some(match action {
        Action::Up => (0, -1),
        Action::Down => (0, 1),
        Action::Left => (-1, 0),
        Action::Right => (1, 0),
        Action::PageUp => (0, -page),
        Action::PageDown => (0, page),
        Action::First => (0, isize::MIN / 2),
        Action::Last => (0, isize::MAX / 2),
        _ => return None,
    })
}

/// Why a task instance is in its state, in words, when no try says more.
pub fn explain(ti: &TaskInstance) -> String {
    if let Some(note) = &ti.note {
        return crate::escape::line(note).into_owned();
    }
    match ti.state {
        TaskState::Pending => "waiting for its upstream tasks".into(),
        TaskState::Queued => "ready: waiting for a free slot (or its pool)".into(),
        TaskState::Running => "running".into(),
        TaskState::UpForRetry => "failed; it will be tried again".into(),
        TaskState::UpstreamFailed => {
            "an upstream task failed, so this one will not run (c clears it)".into()
        }
        TaskState::Skipped => "skipped (exit 99, or by its trigger rule)".into(),
        TaskState::Success => "succeeded".into(),
        TaskState::Failed => "failed".into(),
    }
}

pub use crate::flow::duration::human as short_duration;

/// When something happens, from `now`: "in 5m", "3h ago".
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = at - now;
    let secs = d.num_seconds().abs();
    let amount = match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    };
    if d.num_seconds() >= 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// A time in a flow's timezone, short, with the zone's abbreviation:
/// "12-01 14:05 CET".
pub fn zoned_time(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz).format("%m-%d %H:%M %Z").to_string()
}

/// A time of day to the second in a flow's timezone, with the zone's
/// abbreviation: "12-02 15:43:50 CET".
pub fn zoned_seconds(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz)
        .format("%m-%d %H:%M:%S %Z")
        .to_string()
}

/// The timezone a flow's times are shown in (as `drover tasks` shows
/// them): its own; else that of `open`, the flow the Grid has open, when it
/// is that flow; else UTC.
pub fn flow_tz(ctx: &Ctx, open: Option<&Arc<Flow>>, flow: &str) -> chrono_tz::Tz {
    ctx.current_flow(flow)
        .or_else(|| open.filter(|f| f.id == flow).cloned())
        .map_or(chrono_tz::UTC, |f| f.timezone)
}

/// `key=value` pairs (params, outputs) joined by `sep`, control characters
/// shown escaped: they come from users and tasks.
pub fn pairs(map: &std::collections::BTreeMap<String, String>, sep: &str) -> String {
    let shown: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}={}", crate::escape::line(k), crate::escape::line(v)))
        .collect();
    shown.join(sep)
}

/// `text` in lines at most `width` display cells wide, broken at spaces;
/// a word is broken only when it alone is wider than a line (it then
/// starts a line of its own and fills as many as it takes). The space a
/// line is broken at is dropped.
pub fn wrap_text(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthChar;
    let width = width.max(1);
    let mut out = vec![String::new()];
    // Display width of the last line.
    let mut w = 0;
    for (i, word) in text.split(' ').enumerate() {
        let ww = word.width();
        let gap = usize::from(i > 0);
        if w + gap + ww <= width {
            if let Some(last) = out.last_mut() {
                if i > 0 {
                    last.push(' ');
                }
                last.push_str(word);
            }
            w += gap + ww;
            continue;
        }
        // The word goes on a new line (unless this one is still empty).
        if w > 0 {
            out.push(String::new());
            w = 0;
        }
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if w + cw > width && w > 0 {
                out.push(String::new());
                w = 0;
            }
            if let Some(last) = out.last_mut() {
                last.push(c);
            }
            w += cw;
        }
    }
    out
}

/// A line cut to `width` cells, its last visible span ending in `…` when
/// something was cut.
pub fn fit_line(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let mut spans = Vec::new();
    let mut used = 0;
    for span in line.spans {
        let w = span.content.width();
        if used + w < width {
            used += w;
            spans.push(span);
            continue;
        }
        spans.push(Span::styled(fit(&span.content, width - used), span.style));
        break;
    }
    Line::from(spans)
}

/// Cuts `text` to `width` cells, ending in `…` when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in text.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Writes `text` at (x, y), cut to `width` cells.
pub fn put(buf: &mut Buffer, x: u16, y: u16, text: &str, width: u16, style: Style) {
    if width > 0 {
        buf.set_stringn(x, y, fit(text, width as usize), width as usize, style);
    }
}

/// A horizontal line `width` cells long: the border between a list and its
/// details.
pub fn rule(buf: &mut Buffer, x: u16, y: u16, width: u16, style: Style) {
    buf.set_stringn(x, y, "─".repeat(width as usize), width as usize, style);
}

#[cfg(test)]
mod tests {
    use super::wrap_text;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn wrap_text_breaks_at_spaces_by_display_width() {
        assert_eq!(
            wrap_text("flows/etl.toml:3:12: unknown key `shedule`", 24),
            ["flows/etl.toml:3:12:", "unknown key `shedule`"]
        );
        // Wide characters count two cells each.
        assert_eq!(
            wrap_text("名前 が 長すぎます ok", 10),
            ["名前 が", "長すぎます", "ok"]
        );
        // A word wider than the line is broken, on a line of its own.
        assert_eq!(
            wrap_text("see averyveryverylongword now", 8),
            ["see", "averyver", "yverylon", "gword", "now"]
        );
        assert_eq!(wrap_text("", 5), [""]);
        assert_eq!(wrap_text("exactly10!", 10), ["exactly10!"]);
        for width in 1..30 {
            let text = "a bb ccc dddd 長い eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee f";
            for line in wrap_text(text, width) {
                assert!(line.width() <= width.max(2), "{line:?} wider than {width}");
            }
        }
    }
}
