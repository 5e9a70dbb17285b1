//! The Flows view: each flow with its last run's state, schedule, next
//! run, pause flag and a strip of its newest runs; details of the selected
//! flow below (its file's error when it does not validate).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::{fit, put, relative, zoned_time};
use crate::tui::app::App;

/// Lines of the details pane under the table.
const DETAILS: u16 = 5;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    let rows = app.visible_flows();
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
        let text = if !app.flow_list.filter.is_empty() {
            "no flow matches the filter (/ to change it, Esc in the filter to drop it)"
        } else if app.problems.git.is_some() {
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
    let offset = app
        .flow_list
        .offset
        .min(rows.len().saturating_sub(visible.max(1)));
    for (i, row) in rows.iter().enumerate().skip(offset).take(visible) {
        let y = area.y + 1 + (i - offset) as u16;
        let selected = i == app.flow_list.selected;
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
                        zoned_time(at, row.flow.as_ref().map_or(chrono_tz::UTC, |f| f.timezone)),
                        relative(at, app.now)
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
    let Some(row) = rows.get(app.flow_list.selected) else {
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

/// "1 task", "3 tasks".
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
