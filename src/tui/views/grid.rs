//! The Grid view: one flow's tasks as rows (topological order) and runs as
//! columns, newest right, a state glyph per cell; run durations as a bar
//! strip above and each run's state under it; the selected task
//! instance's details at the bottom.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::{put, short_duration};
use crate::store::Run;
use crate::tui::app::{App, GRID_BARS as BARS, GRID_CELL, GRID_FOOT};

const EIGHTHS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    let grid = &app.grid;
    if area.height < 8 {
        return;
    }
    // Header: the selected run.
    run_header(app, grid.selected_run(), Rect { height: 1, ..area }, buf);
    let name_w = app.grid_name_width();
    let cols = app.grid_columns();
    let x0 = area.x + name_w + 1;
    let run_at = |c: usize| -> Option<(usize, &Run)> {
        let idx = grid.column_run(c, cols)?;
        grid.runs.get(idx).map(|r| (idx, r))
    };
    let cell_x = |c: usize| x0 + c as u16 * GRID_CELL;
    // Duration bars, scaled to the longest run on screen; a run that has
    // not started has no bar and no say in the scale.
    let durations: Vec<Option<i64>> = (0..cols)
        .map(|c| run_at(c).and_then(|(_, r)| run_millis(r, app.now)))
        .collect();
    let longest = durations
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let bars_top = area.y + 1;
    if durations.iter().any(Option::is_some) {
        let top = short_duration(chrono::Duration::milliseconds(longest));
        put(
            buf,
            area.x,
            bars_top,
            &format!("{top:>width$}", width = name_w as usize),
            name_w,
            theme.dim(),
        );
    }
    for (c, d) in durations.iter().enumerate() {
        let (Some(d), Some((_, run))) = (d, run_at(c)) else {
            continue;
        };
        let eighths = ((*d as f64 / longest as f64) * f64::from(BARS * 8)).ceil() as u16;
        let eighths = eighths.max(1);
        for row in 0..BARS {
            let filled = eighths.saturating_sub((BARS - 1 - row) * 8).min(8);
            let y = bars_top + row;
            buf.set_stringn(
                cell_x(c),
                y,
                EIGHTHS[filled as usize].to_string(),
                1,
                theme.run(run.state),
            );
        }
    }
    // Each run's state, the selected one marked.
    let states_y = bars_top + BARS;
    let label = if grid.runs.is_empty() {
        "no runs yet: t triggers one".to_string()
    } else {
        "runs".to_string()
    };
    put(buf, area.x, states_y, &label, name_w, theme.dim());
    for c in 0..cols {
        let Some((idx, run)) = run_at(c) else {
            continue;
        };
        let mut style = theme.run(run.state);
        if idx == grid.run {
            style = style.patch(theme.selection());
        }
        buf.set_stringn(cell_x(c), states_y, run.state.glyph().to_string(), 1, style);
    }
    // Task rows.
    let rows = grid.rows();
    let rows_top = states_y + 1;
    let details_h: u16 = GRID_FOOT - 1;
    let height = area.bottom().saturating_sub(rows_top + details_h) as usize;
    let preview = app.clear_preview();
    for (i, task) in rows.iter().enumerate().skip(grid.rows.offset).take(height) {
        let y = rows_top + (i - grid.rows.offset) as u16;
        let selected_row = i == grid.rows.selected;
        let name_style = if selected_row {
            theme.selection().add_modifier(Modifier::BOLD)
        } else {
            theme.text()
        };
        put(
            buf,
            area.x,
            y,
            &format!("{task:<width$}", width = name_w as usize),
            name_w,
            name_style,
        );
        for c in 0..cols {
            let Some((idx, run)) = run_at(c) else {
                continue;
            };
            let ti = grid.instance(&run.id, task);
            let (glyph, mut style) = match ti {
                Some(ti) => (ti.state.glyph(), theme.task(ti.state)),
                // Loaded runs without this task (added to the flow later).
                None if grid.instances.contains_key(&run.id) => (' ', theme.dim()),
                None => ('?', theme.dim()),
            };
            if preview.is_some_and(|(r, reset)| r == run.id && reset.iter().any(|t| t == task)) {
                style = style.patch(theme.matched());
            } else if selected_row && idx == grid.run {
                style = style.patch(theme.selection()).add_modifier(Modifier::BOLD);
            } else if idx == grid.run || selected_row {
                style = style.add_modifier(Modifier::UNDERLINED);
            }
            buf.set_stringn(cell_x(c), y, glyph.to_string(), 1, style);
        }
    }
    if rows.is_empty() {
        let text = if grid.flow.is_none() {
            "this flow's file does not validate: its error is in the Flows view (1)"
        } else if grid.rows.filter.is_empty() {
            "this flow has no tasks"
        } else {
            "no task matches the filter"
        };
        put(buf, area.x, rows_top, text, area.width, theme.dim());
    }
    // Details of the selected task instance, under a rule that says which
    // task rows are shown when not all fit: on the rule, never on a cell.
    let top = area.bottom() - details_h;
    super::rule(buf, area.x, top, area.width, theme.border(false));
    if rows.len() > height {
        let shown = format!(
            " tasks {}-{} of {} ",
            grid.rows.offset + 1,
            (grid.rows.offset + height).min(rows.len()),
            rows.len()
        );
        let w = shown.len() as u16;
        put(
            buf,
            area.right().saturating_sub(w + 1),
            top,
            &shown,
            w,
            theme.dim(),
        );
    }
    instance_details(app, Rect::new(area.x, top + 1, area.width, 2), buf);
}

/// A run's length so far, in milliseconds; None before it starts.
fn run_millis(run: &Run, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let start = run.started?;
    Some((run.ended.unwrap_or(now) - start).num_milliseconds().max(0))
}

/// One line about a run: id, state, duration, params, kind.
pub fn run_header(app: &App, run: Option<&Run>, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    let Some(run) = run else {
        put(
            buf,
            area.x,
            area.y,
            &format!("{} · no runs yet", app.grid.flow_id),
            area.width,
            theme.dim(),
        );
        return;
    };
    let mut spans = vec![
        Span::styled(format!("{} ", run.state.glyph()), theme.run(run.state)),
        Span::styled(run.id.clone(), theme.title()),
        Span::styled(format!(" {}", run.state), theme.run(run.state)),
    ];
    if let Some(start) = run.started {
        let d = run.ended.unwrap_or(app.now) - start;
        spans.push(Span::styled(
            format!(" · {}", short_duration(d)),
            theme.text(),
        ));
    }
    if let Some(i) = app.grid.runs.iter().position(|r| r.id == run.id) {
        spans.push(Span::styled(
            format!(
                " · run {} of {}",
                app.grid.total_runs.saturating_sub(i),
                app.grid.total_runs
            ),
            theme.dim(),
        ));
    }
    if let Some(commit) = &run.commit {
        spans.push(Span::styled(
            format!(" · git {}", crate::gitsync::short_sha(commit)),
            theme.dim(),
        ));
    }
    let params = App::run_params(run);
    if !params.is_empty() {
        spans.push(Span::styled(format!(" · {params}"), theme.dim()));
    }
    let line = super::fit_line(Line::from(spans), area.width as usize);
    buf.set_line(area.x, area.y, &line, area.width);
}

/// Two lines about the selected task instance: its state, try and retry
/// time; then why it is in its state, or its latest try's start, length,
/// exit and outputs.
pub fn instance_details(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    let grid = &app.grid;
    let Some(task) = grid.selected_task() else {
        return;
    };
    let ti = grid
        .selected_run()
        .and_then(|run| grid.instance(&run.id, task));
    let Some(ti) = ti else {
        let what = if grid.runs.is_empty() {
            "no runs yet: t triggers one"
        } else {
            "not in this run"
        };
        put(
            buf,
            area.x + 1,
            area.y,
            &format!("{task}: {what}"),
            area.width,
            theme.dim(),
        );
        return;
    };
    let mut spans = vec![
        Span::styled(format!("{} ", ti.state.glyph()), theme.task(ti.state)),
        Span::styled(task.to_string(), theme.title()),
        Span::styled(format!(" {}", ti.state), theme.task(ti.state)),
        Span::styled(
            format!(" · try {} of up to {}", ti.tries, ti.max_tries),
            theme.text(),
        ),
    ];
    if let Some(at) = ti.retry_at {
        spans.push(Span::styled(
            format!(" · retry {}", super::relative(at, app.now)),
            theme.text(),
        ));
    }
    buf.set_line(
        area.x + 1,
        area.y,
        &Line::from(spans),
        area.width.saturating_sub(1),
    );
    let latest = app.detail_try();
    use crate::store::TaskState::{Pending, Queued, UpstreamFailed};
    let waiting = matches!(ti.state, Pending | Queued | UpstreamFailed);
    let text = match (&ti.note, latest) {
        (None, Some(t)) if !waiting => {
            let mut parts = vec![format!(
                "started {}",
                super::zoned_seconds(t.started, super::flow_tz(app, &grid.flow_id))
            )];
            parts.push(short_duration(t.ended.unwrap_or(app.now) - t.started));
            if let Some(reason) = &t.reason {
                parts.push(crate::escape::line(reason).into_owned());
            } else if let Some(code) = t.exit_code {
                parts.push(format!("exit {code}"));
            }
            if !t.outputs.is_empty() {
                parts.push(format!("outputs {}", super::pairs(&t.outputs, " ")));
            }
            parts.join(" · ")
        }
        _ => crate::tui::app::explain(ti),
    };
    let style: Style = theme.text();
    put(
        buf,
        area.x + 1,
        area.y + 1,
        &text,
        area.width.saturating_sub(1),
        style,
    );
}
