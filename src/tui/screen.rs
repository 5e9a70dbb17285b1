//! The screen: the frame around every view (the tabs on top, the status
//! bar at the bottom, a notice when the terminal is too small), the view
//! shown inside it and the box open over it. It reads the app and never
//! changes it.
//!
//! May call: `tui::app` (read only), `tui::views` (their `render` and
//! drawing helpers), `tui::ctx`, `tui::keymap` (the hints' keys),
//! `gitsync::short_sha`.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use super::app::App;
use super::ctx::View;
use super::keymap::{Action, key_of};
use super::views::overlay::Overlay;
use super::views::{fit, put, relative};

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
        Some(Overlay::Quit { running, .. }) => {
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
    // A watcher's screen says it changes nothing, always in sight.
    if app.ctx.read_only {
        spans.push(Span::styled(
            if compact { "ro " } else { "read-only · " },
            theme.status(),
        ));
    }
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
