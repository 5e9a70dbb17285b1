//! The Flows view: each flow with its last run's state, schedule, next
//! run, pause flag and a strip of its newest runs; details of the selected
//! flow below (its file's error when it does not validate). Its rows are
//! read from the status, the problems and the store; its keys move the
//! selection and filter the list.
//!
//! May call: the `Source` through `Ctx` (runs, pause state, run counts),
//! `flow` (next fire times), the drawing helpers in `views`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::{ListState, fit, put, relative, steps, zoned_time};
use crate::api::FlowRuns;
use crate::flow::Flow;
use crate::store::RunState;
use crate::tui::ctx::Ctx;
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;

/// Runs kept per flow in the Flows view's strip.
pub const STRIP_RUNS: usize = 24;

/// Lines of the details pane under the table.
const DETAILS: u16 = 5;

/// One row of the Flows view.
#[derive(Debug, Clone)]
pub struct FlowRow {
    pub id: String,
    /// The version new runs get; None when the file never validated.
    pub flow: Option<Arc<Flow>>,
    /// The file's error, when it does not validate now.
    pub error: Option<String>,
    pub paused: bool,
    pub next: Option<DateTime<Utc>>,
    /// States of the newest runs, newest first.
    pub strip: Vec<RunState>,
    pub runs: usize,
}

/// The flows, the selection and the filter.
#[derive(Debug, Clone, Default)]
pub struct FlowsView {
    pub rows: Vec<FlowRow>,
    pub list: ListState,
}

impl FlowsView {
    /// Rebuilds every row from the status, problems and store, keeping the
    /// selected flow selected.
    pub fn refresh(&mut self, ctx: &Ctx) {
        let mut ids: Vec<String> = ctx
            .status
            .as_ref()
            .map(|s| s.flows.iter().map(|f| f.id.clone()).collect())
            .unwrap_or_default();
        ids.extend(ctx.problems.flows.keys().cloned());
        ids.sort();
        ids.dedup();
        let selected = self.selected_id();
        // Every flow's runs in one ask: one round trip for a remote instance.
        let stored = ctx.source.flow_runs(&ids, STRIP_RUNS, 0);
        self.rows = stored.into_iter().map(|s| row(ctx, s)).collect();
        if let Some(id) = selected
            && let Some(i) = self.visible().iter().position(|r| r.id == id)
        {
            self.list.selected = i;
        }
    }

    /// Reads one flow's row again (its runs changed).
    pub fn refresh_row(&mut self, ctx: &Ctx, id: &str) {
        let Some(stored) = ctx.source.flow_runs(&[id.to_string()], STRIP_RUNS, 0).pop() else {
            return;
        };
        let fresh = row(ctx, stored);
        if let Some(r) = self.rows.iter_mut().find(|r| r.id == id) {
            *r = fresh;
        }
    }

    /// Reads again the rows whose next run is at or before `ctx.now` (the
    /// run may not have been made yet, or was made while the clock stood
    /// still); true if there were any.
    pub fn refresh_due(&mut self, ctx: &Ctx) -> bool {
        let due: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.next.is_some_and(|t| t <= ctx.now))
            .map(|r| r.id.clone())
            .collect();
        for id in &due {
            self.refresh_row(ctx, id);
        }
        !due.is_empty()
    }

    /// Flows after the filter.
    pub fn visible(&self) -> Vec<&FlowRow> {
        let f = self.list.filter.to_lowercase();
        self.rows
            .iter()
            .filter(|r| f.is_empty() || r.id.to_lowercase().contains(&f))
            .collect()
    }

    pub fn selected_id(&self) -> Option<String> {
        self.visible().get(self.list.selected).map(|r| r.id.clone())
    }

    /// Whether flow `id` is paused, as its row last said.
    pub fn paused(&self, id: &str) -> bool {
        self.rows
            .iter()
            .find(|r| r.id == id)
            .is_some_and(|r| r.paused)
    }

    /// Flows with a schedule that is not paused.
    pub fn scheduled(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| !r.paused && r.flow.as_ref().is_some_and(|f| f.schedule.is_some()))
            .count()
    }

    /// Selects flow `id` (dropping a filter that hides it), so keys here
    /// act on the flow another view opened.
    pub fn select(&mut self, ctx: &Ctx, id: &str) {
        if !self.visible().iter().any(|r| r.id == id) {
            self.list.filter.clear();
        }
        if let Some(i) = self.visible().iter().position(|r| r.id == id) {
            self.list.selected = i;
            let len = self.visible().len();
            self.list.clamp(len, list_height(ctx));
        }
    }

    /// Takes the keys of this view: moving and dropping the filter. False
    /// for the keys it leaves to the app (Enter opens the Grid, Esc
    /// without a filter stays).
    pub fn on_action(&mut self, ctx: &mut Ctx, action: Action) -> bool {
        if action == Action::Back && !self.list.filter.is_empty() {
            self.list.filter.clear();
            ctx.say("filter cleared");
            return true;
        }
        let dy = match action {
            Action::NextMatch => 1,
            Action::PrevMatch => -1,
            _ => match steps(action, ctx.page()) {
                Some((_, dy)) => dy,
                None => return false,
            },
        };
        let len = self.visible().len();
        self.list.step(dy, len);
        self.list.clamp(len, list_height(ctx));
        true
    }

    /// The filter as typed so far: the selection goes to the first match.
    pub fn set_filter(&mut self, text: &str) {
        self.list.filter = text.to_string();
        let len = self.visible().len();
        self.list.selected = 0;
        self.list.clamp(len, 1);
    }

    /// A click on screen row `row` selects the flow drawn there.
    pub fn click(&mut self, row: u16) {
        // Title, tab bar, table header: rows start at 3.
        let Some(i) = (row as usize).checked_sub(3) else {
            return;
        };
        let at = self.list.offset + i;
        if at < self.visible().len() {
            self.list.selected = at;
        }
    }
}

/// Rows of the table that fit on screen.
fn list_height(ctx: &Ctx) -> usize {
    ctx.height.saturating_sub(5) as usize
}

/// A flow's row from what the store holds of it.
fn row(ctx: &Ctx, stored: FlowRuns) -> FlowRow {
    let id = stored.flow.as_str();
    let flow = ctx.current_flow(id);
    let paused = stored
        .paused
        .unwrap_or_else(|| flow.as_ref().is_some_and(|f| f.paused));
    let next = flow
        .as_ref()
        .filter(|_| !paused)
        .and_then(|f| f.fire_times_after(ctx.now).next());
    FlowRow {
        id: id.to_string(),
        error: ctx.problems.flows.get(id).cloned(),
        paused,
        next,
        strip: stored.newest.iter().map(|r| r.state).collect(),
        runs: stored.count,
        flow,
    }
}

impl FlowsView {
    /// Draws the table and the selected flow's details.
    pub fn render(&self, ctx: &Ctx, theme: &Theme, area: Rect, buf: &mut Buffer) {
        let rows = self.visible();
        let details_h = DETAILS.min(area.height / 3);
        let table_h = area.height.saturating_sub(details_h + 1);
        // Columns: state, flow, schedule, next run, runs strip.
        let id_w = rows
            .iter()
            .map(|r| r.id.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(8, 24) as u16;
        let sched_w: u16 = 15;
        let next_w: u16 = 24;
        let x_id = area.x + 2;
        let x_sched = x_id + id_w + 2;
        let x_next = x_sched + sched_w + 1;
        let x_strip = x_next + next_w + 1;
        let strip_w = area.right().saturating_sub(x_strip + 1);
        let head = theme.dim().add_modifier(Modifier::BOLD);
        put(buf, x_id, area.y, "FLOW", id_w, head);
        put(buf, x_sched, area.y, "SCHEDULE", sched_w, head);
        put(buf, x_next, area.y, "NEXT RUN", next_w, head);
        put(buf, x_strip, area.y, "RUNS (newest right)", strip_w, head);
        if rows.is_empty() {
            let text = if !self.list.filter.is_empty() {
                "no flow matches the filter (/ to change it, Esc in the filter to drop it)"
            } else if ctx.problems.git.is_some() {
                "no flows deployed from git yet: drover fetches the branch every interval (`drover sync` does it now)"
            } else {
                "no flows yet: put a flow file in flows/ (see the README); it is picked up within a second"
            };
            put(
                buf,
                x_id,
                area.y + 2,
                text,
                area.width.saturating_sub(4),
                theme.dim(),
            );
        }
        let visible = table_h.saturating_sub(1) as usize;
        let offset = self
            .list
            .offset
            .min(rows.len().saturating_sub(visible.max(1)));
        for (i, row) in rows.iter().enumerate().skip(offset).take(visible) {
            let y = area.y + 1 + (i - offset) as u16;
            let selected = i == self.list.selected;
            if selected {
                buf.set_style(Rect::new(area.x, y, area.width, 1), theme.selection());
            }
            let base = |s: ratatui::style::Style| {
                if selected {
                    s.patch(theme.selection())
                } else {
                    s
                }
            };
            let (glyph, gstyle) = match (&row.error, row.strip.first()) {
                (Some(_), _) if row.flow.is_none() => ("✗".to_string(), theme.error()),
                (_, Some(state)) => (state.glyph().to_string(), theme.run(*state)),
                _ => ("·".to_string(), theme.dim()),
            };
            buf.set_stringn(area.x, y, glyph, 1, base(gstyle));
            put(
                buf,
                x_id,
                y,
                &row.id,
                id_w,
                base(theme.text().add_modifier(Modifier::BOLD)),
            );
            // A file that does not validate: with no good version there is
            // nothing to show but that; with a last good version in use, its
            // schedule and next run are shown behind the ⚠.
            let mut x_sched_text = x_sched;
            let mut sched_room = sched_w;
            if row.error.is_some() {
                if row.flow.is_none() {
                    put(
                        buf,
                        x_sched,
                        y,
                        "⚠ does not validate",
                        sched_w + next_w + 1,
                        base(theme.warning()),
                    );
                    continue;
                }
                put(buf, x_sched, y, "⚠", 1, base(theme.warning()));
                x_sched_text += 2;
                sched_room -= 2;
            }
            let sched = row
                .flow
                .as_ref()
                .and_then(|f| f.schedule.as_ref())
                .map_or_else(|| "manual".to_string(), |s| s.source().to_string());
            put(
                buf,
                x_sched_text,
                y,
                &crate::escape::line(&sched),
                sched_room,
                base(theme.text()),
            );
            let next = if row.paused {
                Span::styled("⏸ paused", base(theme.warning()))
            } else {
                match row.next {
                    Some(at) => Span::styled(
                        format!(
                            "{} {}",
                            zoned_time(
                                at,
                                row.flow.as_ref().map_or(chrono_tz::UTC, |f| f.timezone)
                            ),
                            relative(at, ctx.now)
                        ),
                        base(theme.text()),
                    ),
                    None => Span::styled("—", base(theme.dim())),
                }
            };
            buf.set_span(x_next, y, &next, next_w);
            // The strip: newest run rightmost.
            let n = (strip_w as usize).min(row.strip.len());
            let spans: Vec<Span> = row.strip[..n]
                .iter()
                .rev()
                .map(|s| Span::styled(s.glyph().to_string(), base(theme.run(*s))))
                .collect();
            buf.set_line(x_strip, y, &Line::from(spans), n as u16);
        }
        // Details of the selected flow.
        let top = area.y + table_h;
        super::rule(buf, area.x, top, area.width, theme.border(false));
        let Some(row) = rows.get(self.list.selected) else {
            return;
        };
        let mut lines: Vec<Line> = Vec::new();
        if let Some(error) = &row.error {
            // The whole error, over as many lines as it takes (up to three).
            for part in super::wrap_text(
                &crate::escape::line(error),
                (area.width as usize).saturating_sub(2),
            )
            .into_iter()
            .take(3)
            {
                lines.push(Line::from(Span::styled(part, theme.error())));
            }
            if row.flow.is_some() {
                lines.push(Line::from(Span::styled(
                    "the last good version of this file stays in use until it validates again",
                    theme.dim(),
                )));
            }
        }
        if let Some(flow) = &row.flow {
            let mut head = vec![Span::styled(flow.id.clone(), theme.title())];
            if !flow.description.is_empty() {
                head.push(Span::styled(
                    format!(" — {}", crate::escape::line(&flow.description)),
                    theme.text(),
                ));
            }
            lines.push(Line::from(head));
            let mut facts = vec![
                plural(flow.tasks.len(), "task"),
                plural(row.runs, "run"),
                format!("tz {}", flow.timezone),
            ];
            if !flow.tags.is_empty() {
                facts.push(format!("tags {}", flow.tags.join(",")));
            }
            if !flow.params.is_empty() {
                facts.push(format!("params {}", super::pairs(&flow.params, " ")));
            }
            lines.push(Line::from(Span::styled(facts.join(" · "), theme.dim())));
        }
        for (i, line) in lines.iter().take(details_h as usize).enumerate() {
            let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
            if text.chars().count() > area.width as usize - 2 {
                let style = line.spans.first().map(|s| s.style).unwrap_or_default();
                put(
                    buf,
                    area.x + 1,
                    top + 1 + i as u16,
                    &fit(&text, area.width as usize - 2),
                    area.width - 2,
                    style,
                );
            } else {
                buf.set_line(area.x + 1, top + 1 + i as u16, line, area.width - 2);
            }
        }
    }
}

/// "1 task", "3 tasks".
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
