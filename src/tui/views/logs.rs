//! The Logs view: the selected try's log, live; a header with the try and
//! its outcome, search matches highlighted, the try's outputs at the foot.
//!
//! It holds the log open (`logview::LogModel`: the try's lines, follow,
//! wrap, search) and the view Esc goes back to; its keys scroll, search,
//! and switch tries.
//!
//! May call: `tui::logview` (which reads the log through the `Source`),
//! the Grid's flow (for the timezone), the drawing helpers in `views`.

use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::flow::Flow;
use crate::store::{Run, TaskState};

use super::{put, short_duration, steps};
use crate::tui::ctx::{Ctx, View};
use crate::tui::keymap::Action;
use crate::tui::logview::{LogLine, LogModel, Search};
use crate::tui::theme::Theme;

/// The log shown, and where Esc goes.
#[derive(Debug)]
pub struct LogsView {
    pub log: Option<LogModel>,
    /// Where Esc goes (the Grid or the Graph).
    pub from: View,
}

impl Default for LogsView {
    fn default() -> Self {
        LogsView {
            log: None,
            from: View::Grid,
        }
    }
}

impl LogsView {
    /// Log lines on screen: all but the tabs, the status bar, the log's
    /// two header lines and its outputs.
    pub fn height(&self, ctx: &Ctx) -> usize {
        let outputs = self
            .log
            .as_ref()
            .and_then(|l| l.shown_try())
            .is_some_and(|t| !t.outputs.is_empty());
        let foot = if outputs { 2 } else { 0 };
        ctx.height.saturating_sub(4 + foot).max(1) as usize
    }

    /// Shows the latest try of `task` in `run`, opening its log unless it
    /// is the one open.
    pub fn open(&mut self, ctx: &Ctx, run: &Run, task: &str) {
        let same = self
            .log
            .as_ref()
            .is_some_and(|l| l.run_id == run.id && l.task == task && l.flow == run.flow);
        if !same {
            self.log = Some(LogModel::open(&ctx.source, run, task));
        }
    }

    /// Whether the log open is that of (`flow`, `run_id`, `task`).
    pub fn shows(&self, flow: &str, run_id: &str, task: &str) -> bool {
        self.log
            .as_ref()
            .is_some_and(|l| l.flow == flow && l.run_id == run_id && l.task == task)
    }

    /// Reads new lines of the try shown; true if there were any.
    pub fn poll(&mut self, ctx: &Ctx) -> bool {
        self.log.as_mut().is_some_and(|log| log.poll(&ctx.source))
    }

    /// Reads the instance and its tries again (they changed).
    pub fn reload_meta(&mut self, ctx: &Ctx) {
        if let Some(log) = self.log.as_mut() {
            log.reload_meta(&ctx.source);
        }
    }

    /// Takes the keys of this view: scrolling, search matches, follow,
    /// wrap, arrival times, tries, and Esc dropping the search. False for
    /// the keys it leaves to the app (Esc without a search goes back).
    pub fn on_action(&mut self, ctx: &mut Ctx, action: Action) -> bool {
        let h = self.height(ctx);
        let Some(log) = self.log.as_mut() else {
            return false;
        };
        match action {
            Action::Back if log.search.is_some() => {
                log.set_search("", 1);
                ctx.say("search cleared");
            }
            Action::Follow => {
                log.toggle_follow(&ctx.source);
                let on = if log.follow { "on" } else { "off" };
                ctx.say(format!("follow {on}"));
            }
            Action::Wrap => {
                log.wrap = !log.wrap;
                let on = if log.wrap { "on" } else { "off" };
                ctx.say(format!("wrap {on}"));
            }
            Action::PrevTry | Action::NextTry => {
                let forward = action == Action::NextTry;
                if log.tries.is_empty() {
                    ctx.say("no tries yet");
                } else if !log.switch_try(&ctx.source, forward) {
                    let edge = if forward { "last" } else { "first" };
                    ctx.say(format!("this is the {edge} try"));
                }
            }
            Action::Times => {
                log.toggle_times(&ctx.source);
                let on = if log.times { "on" } else { "off" };
                ctx.say(format!("arrival times {on}"));
            }
            Action::NextMatch | Action::PrevMatch => {
                if !log.next_match(action == Action::NextMatch, h) {
                    ctx.complain("no match");
                }
            }
            _ => {
                let Some((dx, dy)) = steps(action, ctx.page()) else {
                    return false;
                };
                log.scroll_by(dy, h);
                // Sideways, eight columns a step, when lines are not wrapped.
                if !log.wrap && dx != 0 {
                    let widest = log
                        .lines
                        .iter()
                        .map(|l| UnicodeWidthStr::width(l.text.as_str()))
                        .max()
                        .unwrap_or(0);
                    // The end of the widest line can come into view, no further.
                    let most = widest.saturating_sub((ctx.width as usize).saturating_sub(8));
                    log.left = ((log.left as isize + dx * 8).max(0) as usize).min(most);
                }
            }
        }
        true
    }

    /// The search as typed so far; says so when no line matches.
    pub fn set_search(&mut self, ctx: &mut Ctx, text: &str) {
        let h = self.height(ctx);
        if let Some(log) = self.log.as_mut() {
            log.set_search(text, h);
            if !text.is_empty() && log.matches.is_empty() {
                // Said as it is typed: not logged at each key.
                ctx.tell(format!("no line matches `{text}`"), true);
            } else {
                ctx.message = None;
            }
        }
    }
}

impl LogsView {
    /// Draws the log; `grid_flow` is the flow the Grid has open, whose
    /// timezone the times are in when the engine no longer has the log's flow.
    pub fn render(
        &self,
        ctx: &Ctx,
        grid_flow: Option<&Arc<Flow>>,
        theme: &Theme,
        area: Rect,
        buf: &mut Buffer,
    ) {
        let Some(log) = &self.log else {
            put(
                buf,
                area.x + 1,
                area.y + 1,
                "no try selected: pick a task in the Grid (2) and press Enter",
                area.width,
                theme.dim(),
            );
            return;
        };
        header(ctx, grid_flow, theme, log, Rect { height: 2, ..area }, buf);
        let outputs = log
            .shown_try()
            .map(|t| &t.outputs)
            .filter(|o| !o.is_empty());
        let foot_h: u16 = if outputs.is_some() { 2 } else { 0 };
        let body = Rect {
            y: area.y + 2,
            height: area.height.saturating_sub(2 + foot_h),
            ..area
        };
        if let Some(outputs) = outputs {
            let y = area.bottom() - 2;
            super::rule(buf, area.x, y, area.width, theme.border(false));
            let line = Line::from(vec![
                Span::styled("outputs ", theme.title()),
                Span::styled(super::pairs(outputs, "  "), theme.text()),
            ]);
            buf.set_line(area.x + 1, y + 1, &line, area.width.saturating_sub(1));
        }
        if log.line_count() == 0 {
            let why = match (&log.instance, log.try_number, log.exists) {
                (Some(ti), 0, _) => format!("no try yet: {}", super::explain(ti)),
                (None, 0, _) => "this run has no such task".to_string(),
                (_, n, false) => format!("try {n} has written nothing yet"),
                (_, n, true) => format!("try {n}: the log is empty"),
            };
            put(buf, body.x + 1, body.y, &why, body.width, theme.dim());
            return;
        }
        let height = body.height as usize;
        let width = body.width as usize;
        // Arrival times are in the flow's timezone; the header names it.
        let tz = super::flow_tz(ctx, grid_flow, &log.flow);
        let search = Search::new(log.search.as_deref().unwrap_or(""));
        let current = log.current_match();
        // Lines to show: from `top`, or the last screenful when following
        // (counted in wrapped rows when wrapping).
        let total = log.line_count();
        let first = if log.follow {
            if log.wrap {
                let mut rows = 0;
                let mut first = total;
                let lines: Vec<_> = log.shown_lines().collect();
                while first > 0 {
                    let need = rows_of(&lines[first - 1].text, width);
                    if rows + need > height {
                        break;
                    }
                    rows += need;
                    first -= 1;
                }
                first
            } else {
                total.saturating_sub(height)
            }
        } else {
            log.top
        };
        let mut y = body.y;
        if first == 0 && (log.skipped_bytes > 0 || log.dropped_lines > 0) && height > 1 {
            let what = if log.skipped_bytes > 0 {
                format!(
                    "… the first {} of the log are not shown; `drover logs` prints it all",
                    bytes(log.skipped_bytes)
                )
            } else {
                format!(
                    "… {} earlier lines are not shown; `drover logs` prints them all",
                    log.dropped_lines
                )
            };
            put(buf, body.x, y, &what, body.width, theme.dim());
            y += 1;
        }
        for (i, line) in log.shown_lines().enumerate().skip(first) {
            if y >= body.bottom() {
                break;
            }
            let is_current = current == Some(i);
            let spans = highlight(
                &line,
                &search,
                theme.text(),
                if is_current {
                    theme.selection()
                } else {
                    theme.matched()
                },
                !theme.no_color,
            );
            let stamp = log.times.then(|| {
                let at = log
                    .arrived(i)
                    .map(|t| t.with_timezone(&tz).format("%H:%M:%S%.3f ").to_string())
                    .unwrap_or_else(|| "             ".to_string());
                Span::styled(at, theme.dim())
            });
            if log.wrap {
                let spans: Vec<Span> = stamp.into_iter().chain(spans).collect();
                y = wrap_spans(buf, body, y, &spans);
            } else {
                let spans = if log.left > 0 {
                    skip_columns(spans, log.left)
                } else {
                    spans
                };
                let spans: Vec<Span> = stamp.into_iter().chain(spans).collect();
                buf.set_line(body.x, y, &Line::from(spans), body.width);
                y += 1;
            }
        }
    }
}

/// Two lines over the log: the run and task with follow, wrap and search
/// on the right; then the try, how it ended and the instance's state when
/// it differs (marked by hand).
fn header(
    ctx: &Ctx,
    grid_flow: Option<&Arc<Flow>>,
    theme: &Theme,
    log: &LogModel,
    area: Rect,
    buf: &mut Buffer,
) {
    let mut flags = format!(
        "follow {} · wrap {}",
        if log.follow { "on" } else { "off" },
        if log.wrap { "on" } else { "off" }
    );
    if log.times {
        let zone = ctx
            .now
            .with_timezone(&super::flow_tz(ctx, grid_flow, &log.flow));
        flags = format!("times {} · {flags}", zone.format("%Z"));
    }
    if log.left > 0 && !log.wrap {
        flags = format!("→{} · {flags}", log.left);
    }
    if let Some(s) = &log.search {
        let at = if log.matches.is_empty() {
            0
        } else {
            log.current + 1
        };
        flags = format!("/{s} {at}/{} · {flags}", log.matches.len());
    }
    let flags_w = (flags.width() as u16).min(area.width / 2);
    let place = format!("{} › {}", log.run_id, log.task);
    put(
        buf,
        area.x,
        area.y,
        &place,
        area.width.saturating_sub(flags_w + 1),
        theme.title(),
    );
    put(
        buf,
        area.right().saturating_sub(flags_w),
        area.y,
        &flags,
        flags_w,
        theme.key(),
    );
    let mut spans = Vec::new();
    match log.shown_try() {
        Some(t) => {
            spans.push(Span::styled(
                format!(
                    "try {} of up to {}",
                    t.number,
                    log.instance
                        .as_ref()
                        .map_or(log.tries.len() as u32, |ti| ti.max_tries)
                        .max(t.number)
                ),
                theme.text(),
            ));
            spans.push(Span::styled(
                format!(" · {} {}", t.state.glyph(), t.state),
                theme.task(t.state),
            ));
            let d = t.ended.unwrap_or(ctx.now) - t.started;
            spans.push(Span::styled(
                format!(" · {}", short_duration(d)),
                theme.text(),
            ));
            match (&t.reason, t.exit_code) {
                (Some(reason), _) => spans.push(Span::styled(
                    format!(" · {}", crate::escape::line(reason)),
                    theme.dim(),
                )),
                (None, Some(code)) if t.state != TaskState::Success => {
                    spans.push(Span::styled(format!(" · exit {code}"), theme.dim()))
                }
                _ => {}
            }
        }
        None => spans.push(Span::styled("no try yet", theme.dim())),
    }
    if let Some(ti) = &log.instance {
        let differs = log.shown_try().is_none_or(|t| t.state != ti.state);
        if differs && log.shown_try().is_some() {
            let why = ti
                .note
                .as_ref()
                .map(|n| format!(" ({})", crate::escape::line(n)))
                .unwrap_or_default();
            spans.push(Span::styled(
                format!(" · task now {} {}{why}", ti.state.glyph(), ti.state),
                theme.task(ti.state),
            ));
        }
    }
    buf.set_line(area.x, area.y + 1, &Line::from(spans), area.width);
}

/// Splits a line into spans: its own colours (unless `colours` is off)
/// over `normal`, matches of `search` in `hit` style over both.
fn highlight(
    line: &LogLine,
    search: &Search,
    normal: Style,
    hit: Style,
    colours: bool,
) -> Vec<Span<'static>> {
    let text = line.text.as_str();
    let matches = search.ranges(text);
    // Cut the text wherever a style run or a match begins or ends.
    let mut cuts: Vec<usize> = vec![0, text.len()];
    if colours {
        cuts.extend(line.styles.iter().flat_map(|&(a, b, _)| [a, b]));
    }
    cuts.extend(matches.iter().flat_map(|&(a, b)| [a, b]));
    cuts.sort_unstable();
    cuts.dedup();
    // Runs and matches are in order and do not overlap: walk them along.
    let (mut si, mut mi) = (0, 0);
    let mut spans = Vec::new();
    for w in cuts.windows(2) {
        if w[0] >= w[1] || !text.is_char_boundary(w[0]) || !text.is_char_boundary(w[1]) {
            continue;
        }
        let mut style = normal;
        while colours && si < line.styles.len() && line.styles[si].1 <= w[0] {
            si += 1;
        }
        if colours && let Some(&(_, _, own)) = line.styles.get(si).filter(|s| s.0 <= w[0]) {
            style = style.patch(own);
        }
        while mi < matches.len() && matches[mi].1 <= w[0] {
            mi += 1;
        }
        if matches.get(mi).is_some_and(|m| m.0 <= w[0]) {
            style = style.patch(hit);
        }
        spans.push(Span::styled(text[w[0]..w[1]].to_string(), style));
    }
    spans
}

/// The spans without their first `n` columns (the log scrolled sideways).
fn skip_columns(spans: Vec<Span<'_>>, n: usize) -> Vec<Span<'static>> {
    let mut skipped = 0;
    let mut out = Vec::new();
    for span in spans {
        let mut kept = String::new();
        for c in span.content.chars() {
            if skipped < n {
                skipped += c.width().unwrap_or(0).max(1);
            } else {
                kept.push(c);
            }
        }
        if !kept.is_empty() {
            out.push(Span::styled(kept, span.style));
        }
    }
    out
}

/// Rows a line takes when wrapped at `width`.
fn rows_of(line: &str, width: usize) -> usize {
    let w = unicode_width::UnicodeWidthStr::width(line);
    w.div_ceil(width.max(1)).max(1)
}

/// Writes spans wrapping at the area's width; returns the next free row.
fn wrap_spans(buf: &mut Buffer, area: Rect, mut y: u16, spans: &[Span<'_>]) -> u16 {
    let mut x = area.x;
    for span in spans {
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0) as u16;
            if x + w > area.right() {
                y += 1;
                x = area.x;
            }
            if y >= area.bottom() {
                return y;
            }
            if let Some(cell) = buf.cell_mut((x, y)) {
                cell.set_char(c).set_style(span.style);
            }
            x += w;
        }
    }
    y + 1
}

fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}
