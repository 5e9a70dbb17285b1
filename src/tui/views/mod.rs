//! The views, each with its own state, keys and drawing (as gitui's
//! components): `flows`, `grid`, `graph`, `logs`, `own_log`; the boxes
//! over them (`overlay`) and the line typed at the bottom (`command`).
//! Here: the frame around every view (tabs on top, status bar at the
//! bottom) and what the views share for moving and drawing. Drawing
//! reads the app and never changes it.
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
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use super::app::App;
use super::ctx::{Ctx, View};
use super::keymap::{Action, key_of};
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

/// Below this size the screen shows a notice instead of a view.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

/// Draws the whole screen.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    Screen { app }.render(area, frame.buffer_mut());
}

/// The whole screen as a widget (tests render it on a `TestBackend`).
pub struct Screen<'a> {
    pub app: &'a App,
}

impl Widget for Screen<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let theme = app.theme();
        buf.set_style(area, theme.text());
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            too_small(area, buf, app);
            return;
        }
        let top = Rect { height: 1, ..area };
        let bottom = Rect {
            y: area.bottom() - 1,
            height: 1,
            ..area
        };
        let body = Rect {
            y: area.y + 1,
            height: area.height - 2,
            ..area
        };
        tabs(app, top, buf);
        let ctx = &app.ctx;
        match app.view {
            View::Flows => app.flows.render(ctx, theme, body, buf),
            View::Grid => {
                let preview = app.overlay.as_ref().and_then(|o| o.clear_preview());
                app.grid.render(ctx, theme, preview, body, buf)
            }
            View::Graph => app.graph.render(&app.grid, ctx, theme, body, buf),
            View::Logs => app
                .logs
                .render(ctx, app.grid.flow.as_ref(), theme, body, buf),
            View::OwnLog => app.own_log.render(theme, body, buf),
        }
        status_bar(app, bottom, buf);
        if let Some(overlay) = &app.overlay {
            overlay.render(theme, &app.theme_errors, area, buf);
        }
    }
}

fn too_small(area: Rect, buf: &mut Buffer, app: &App) {
    let theme = app.theme();
    let mut lines = vec![
        "terminal too small".to_string(),
        format!(
            "{}×{}, needs {MIN_WIDTH}×{MIN_HEIGHT}",
            area.width, area.height
        ),
    ];
    // A question asked meanwhile must still be seen.
    match &app.overlay {
        Some(overlay::Overlay::Quit { running, .. }) => {
            lines.push(format!("quit? {running} running:"));
            lines.push("b keep in background · l leave · Esc stay".to_string());
        }
        Some(_) => lines.push("a dialog is open: Esc closes it".to_string()),
        None => lines.push("q quits".to_string()),
    }
    let top = area.y + area.height.saturating_sub(lines.len() as u16) / 2;
    for (i, text) in lines.iter().enumerate() {
        let y = top + i as u16;
        if y >= area.bottom() {
            break;
        }
        let w = (text.width() as u16).min(area.width);
        let x = area.x + area.width.saturating_sub(w) / 2;
        let style = if i == 0 { theme.warning() } else { theme.dim() };
        put(buf, x, y, text, area.width, style);
    }
}

/// The top line: the views as tabs (the current one marked) and where
/// the user is.
fn tabs(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    buf.set_style(area, theme.status());
    let mut spans = vec![Span::styled(
        " drover ",
        theme.title().add_modifier(Modifier::BOLD),
    )];
    for (key, view) in [
        ("1", View::Flows),
        ("2", View::Grid),
        ("3", View::Graph),
        ("4", View::Logs),
    ] {
        let style = if app.view == view {
            theme.selection().add_modifier(Modifier::BOLD)
        } else {
            theme.status()
        };
        spans.push(Span::styled(format!(" {key} {} ", view.title()), style));
    }
    let left = Line::from(spans);
    buf.set_line(area.x, area.y, &left, area.width);
    let place = match app.view {
        View::Flows | View::OwnLog => app.view.title().to_string(),
        View::Grid | View::Graph => app.grid.flow_id.clone(),
        View::Logs => app
            .logs
            .log
            .as_ref()
            .map(|l| format!("{} › {}", l.flow, l.task))
            .unwrap_or_default(),
    };
    let filter = match app.view {
        View::Flows => app.flows.list.filter.as_str(),
        View::Grid => app.grid.rows.filter.as_str(),
        View::Graph => app.graph.search.as_str(),
        _ => "",
    };
    let place = if filter.is_empty() {
        place
    } else {
        format!("/{filter} (Esc clears) · {place}")
    };
    let used = left.width() as u16;
    let w = place.width() as u16 + 1;
    if used + w + 2 <= area.width {
        buf.set_stringn(area.right() - w, area.y, &place, w as usize, theme.status());
    }
}

/// The bottom line: the input being typed, else the last message, else key
/// hints; on the right, slots in use, pools, problems and scheduler health,
/// shortened (or left out) when the left part needs the room: a message
/// comes first, then the health, then hints.
fn status_bar(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    buf.set_style(area, theme.status());
    if let Some(input) = &app.input {
        buf.set_line(area.x, area.y, &input.line(theme), area.width);
        return;
    }
    let width = area.width as usize;
    // What the left part needs at least.
    let wanted = match &app.ctx.message {
        Some(m) => crate::escape::line(&m.text).width() + 2,
        // Help, quit and a few of the view's keys.
        None => 40,
    };
    let right = [health(app, false), health(app, true)]
        .into_iter()
        .find(|h| h.width() + wanted <= width)
        .unwrap_or_default();
    let right_w = right.width() as u16;
    let room = area.width.saturating_sub(right_w + 1);
    let left = match &app.ctx.message {
        Some(m) => Line::from(Span::styled(
            format!(
                " {}",
                fit_message(&m.text, (room as usize).saturating_sub(1))
            ),
            if m.error {
                theme.error()
            } else {
                theme.status()
            },
        )),
        None => hints(app, room as usize),
    };
    buf.set_line(area.x, area.y, &left, room);
    if right_w > 0 {
        buf.set_line(
            area.right().saturating_sub(right_w),
            area.y,
            &right,
            right_w,
        );
    }
}

/// A status-bar message, escaped, cut to `width` cells; a cut one ends in
/// `… (L)`: the whole of it is in drover's log.
fn fit_message(text: &str, width: usize) -> String {
    let text = crate::escape::line(text);
    const MORE: &str = " (L)";
    if text.width() <= width || width <= 2 * MORE.len() {
        return fit(&text, width);
    }
    format!("{}{MORE}", fit(&text, width - MORE.len()))
}

/// Key hints for the view, as many as fit in `room` cells.
fn hints(app: &App, room: usize) -> Line<'static> {
    let theme = app.theme();
    let pairs: &[(Action, &str)] = match app.view {
        View::Graph if app.graph_group().is_some() => {
            &[(Action::Enter, "show tasks"), (Action::Trigger, "trigger")]
        }
        View::Flows => &[
            (Action::Enter, "open"),
            (Action::Trigger, "trigger"),
            (Action::Pause, "pause"),
            (Action::Filter, "filter"),
        ],
        View::Grid | View::Graph => &[
            (Action::Enter, "log"),
            (Action::Trigger, "trigger"),
            (Action::Clear, "clear"),
            (Action::MarkSuccess, "success"),
            (Action::Kill, "kill"),
        ],
        View::Logs => &[
            (Action::Follow, "follow"),
            (Action::Wrap, "wrap"),
            (Action::Filter, "search"),
            (Action::PrevTry, "try"),
            (Action::Back, "back"),
        ],
        View::OwnLog => &[(Action::Back, "back")],
    };
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    // Help and quit first: they matter most when space is short.
    for (action, what) in [(Action::Help, "help"), (Action::Quit, "quit")]
        .iter()
        .chain(pairs)
    {
        let key = key_of(*action);
        let what = format!(" {what}  ");
        used += key.width() + what.width();
        if used > room {
            break;
        }
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::styled(what, theme.status()));
    }
    Line::from(spans)
}

/// Slots, pools, load problems and scheduler health, for the status bar;
/// `compact` for a narrow screen.
fn health(app: &App, compact: bool) -> Line<'static> {
    let theme = app.theme();
    let mut spans = Vec::new();
    let broken = app.ctx.problems.flows.len() + usize::from(app.ctx.problems.config.is_some());
    if broken > 0 {
        let what = match (&app.ctx.problems.config, broken, compact) {
            (_, n, true) => format!("⚠{n} "),
            (Some(_), 1, _) => "⚠ drover.toml has errors ".to_string(),
            (_, 1, _) => "⚠ 1 flow file has errors ".to_string(),
            (_, n, _) => format!("⚠ {n} files have errors "),
        };
        spans.push(Span::styled(what, theme.warning()));
    }
    if let Some(git) = &app.ctx.problems.git {
        let sha = git.commit.as_deref().map_or("-", crate::gitsync::short_sha);
        let age = git
            .commit_time
            .map(|t| format!(" {}", relative(t, app.ctx.now)))
            .unwrap_or_default();
        let text = match (&git.error, compact) {
            (Some(_), true) => format!("⚠ git {sha}: sync failed (L) "),
            (Some(e), false) => format!("⚠ git {sha}: {} ", fit(&crate::escape::line(e), 40)),
            (None, true) => format!("git {sha}{age} "),
            (None, false) => format!("git {sha}{age} · "),
        };
        let style = if git.error.is_some() {
            theme.warning()
        } else {
            theme.status()
        };
        spans.push(Span::styled(text, style));
    }
    match &app.ctx.status {
        Some(s) if compact => {
            let mut text = format!("▶{}/{}", s.running, s.parallelism);
            if s.queued > 0 {
                text.push_str(&format!(" ◷{}", s.queued));
            }
            for (name, used, size) in &s.pools {
                text.push_str(&format!(" {name}{used}/{size}"));
            }
            spans.push(Span::styled(format!("{text} "), theme.status()));
            if s.storage.is_some() {
                spans.push(Span::styled("⚠ cannot record ", theme.warning()));
            }
        }
        Some(s) => {
            spans.push(Span::styled(
                format!("▶ {}/{} slots", s.running, s.parallelism),
                theme.status(),
            ));
            if s.queued > 0 {
                spans.push(Span::styled(format!(" ◷ {}", s.queued), theme.status()));
            }
            for (name, used, size) in &s.pools {
                spans.push(Span::styled(
                    format!(" · {name} {used}/{size}"),
                    theme.status(),
                ));
            }
            match &s.storage {
                Some(u) => spans.push(Span::styled(
                    format!(
                        " · ⚠ cannot record: {} ",
                        fit(&crate::escape::line(&u.why), 48)
                    ),
                    theme.warning(),
                )),
                None => spans.push(Span::styled(" · scheduler ok ", theme.status())),
            }
        }
        None => spans.push(Span::styled(" scheduler starting ", theme.warning())),
    }
    Line::from(spans)
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
