//! Boxes drawn over the view: help (generated from the keymap), the
//! confirmation of destructive actions, the trigger form, the clear dialog
//! and the quit question.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use crate::tui::app::{App, Overlay};
use crate::tui::keymap;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(overlay) = &app.overlay else {
        return;
    };
    let theme = app.theme();
    let key = theme.key();
    let text = theme.text();
    let dim = theme.dim();
    let (title, lines): (String, Vec<Line>) = match overlay {
        Overlay::Help { scroll } => {
            // Two columns of sections, so the whole keymap fits 80×24.
            let mut sections = keymap::help();
            // Not keys, but what the Graph's double-lined boxes are.
            sections.push((
                "Graph group boxes",
                vec![
                    ("╔ a … z ×N╗".into(), "N tasks, same edges"),
                    ("Enter Esc".into(), "show / fold the N tasks"),
                ],
            ));
            let section_lines = |(heading, rows): &(&'static str, Vec<(String, &'static str)>)| {
                let mut lines = vec![Line::from(Span::styled(*heading, theme.title()))];
                for (keys, desc) in rows {
                    lines.push(Line::from(vec![
                        Span::styled(format!(" {keys:<11} "), key),
                        Span::styled(*desc, text),
                    ]));
                }
                lines
            };
            // Side by side when there is room (headings set sections apart),
            // else one after the other with a blank line between (scrolled
            // with j/k).
            let two = area.width >= 80;
            let section_lines = |section| {
                let mut lines = section_lines(section);
                if !two {
                    lines.push(Line::from(""));
                }
                lines
            };
            let mut columns: [Vec<Line>; 2] = [Vec::new(), Vec::new()];
            for (i, section) in sections.iter().enumerate() {
                columns[if two { i % 2 } else { 0 }].extend(section_lines(section));
            }
            let left_w = columns[0].iter().map(Line::width).max().unwrap_or(0) + 2;
            let rows = columns[0].len().max(columns[1].len());
            let mut lines: Vec<Line> = (0..rows)
                .map(|i| {
                    let mut spans: Vec<Span> = Vec::new();
                    let left = columns[0].get(i).cloned().unwrap_or_default();
                    let pad = left_w.saturating_sub(left.width());
                    spans.extend(left.spans);
                    spans.push(Span::raw(" ".repeat(pad)));
                    if let Some(right) = columns[1].get(i) {
                        spans.extend(right.spans.iter().cloned());
                    }
                    Line::from(spans)
                })
                .collect();
            while lines.last().is_some_and(|l| l.width() == 0) {
                lines.pop();
            }
            // Theme files that did not load, each, as wide as the keys
            // (drover's log has them whole).
            if !app.theme_errors.is_empty() {
                let w = lines.iter().map(Line::width).max().unwrap_or(0).max(40);
                lines.push(Line::from(""));
                lines.push(Line::from(Span::styled(
                    "Theme files not loaded (whole in L)",
                    theme.title(),
                )));
                for e in &app.theme_errors {
                    let shown = crate::escape::line(&e.to_string()).into_owned();
                    lines.push(Line::from(Span::styled(
                        format!(" {}", super::fit(&shown, w - 1)),
                        theme.error(),
                    )));
                }
            }
            let skip = (*scroll as usize).min(lines.len().saturating_sub(1));
            ("keys".into(), lines.into_iter().skip(skip).collect())
        }
        Overlay::Confirm { title, body, .. } => {
            let mut lines: Vec<Line> = body
                .iter()
                .map(|b| Line::from(Span::styled(b.clone(), text)))
                .collect();
            lines.push(Line::from(""));
            lines.push(choice(&[("y", "yes"), ("n", "no")], key, text));
            (title.clone(), lines)
        }
        Overlay::Trigger {
            flow,
            fields,
            at,
            cursor,
        } => {
            let mut lines = Vec::new();
            if fields.is_empty() {
                lines.push(Line::from(Span::styled("this flow has no params", dim)));
            }
            let kw = fields
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (i, (k, v)) in fields.iter().enumerate() {
                let active = i == *at;
                let value_style = if active { theme.selection() } else { text };
                let mut spans = vec![Span::styled(
                    format!("{} {k:<kw$} = ", if active { "›" } else { " " }),
                    text,
                )];
                if active {
                    // The cursor: the character under it shown reversed.
                    let split = v.char_indices().nth(*cursor).map_or(v.len(), |(i, _)| i);
                    let (before, rest) = v.split_at(split);
                    let mut rest = rest.chars();
                    let under = rest.next().map_or(" ".to_string(), String::from);
                    spans.push(Span::styled(before.to_string(), value_style));
                    spans.push(Span::styled(
                        under,
                        value_style.add_modifier(Modifier::REVERSED),
                    ));
                    spans.push(Span::styled(rest.collect::<String>(), value_style));
                } else {
                    spans.push(Span::styled(v.clone(), value_style));
                }
                lines.push(Line::from(spans));
            }
            lines.push(Line::from(""));
            lines.push(choice(
                &[
                    ("Enter", "trigger"),
                    ("↑↓", "field"),
                    ("←→", "move"),
                    ("Esc", "cancel"),
                ],
                key,
                text,
            ));
            (format!("trigger {flow}"), lines)
        }
        Overlay::Clear {
            task,
            run_id,
            downstream,
            upstream,
            failed_only,
            whole_run,
            reset,
            ..
        } => {
            let toggle = |on: bool| if on { "[x]" } else { "[ ]" };
            let mut lines = vec![
                Line::from(Span::styled(format!("run {run_id}"), dim)),
                Line::from(vec![
                    Span::styled("d", key),
                    Span::styled(format!(" {} downstream   ", toggle(*downstream)), text),
                    Span::styled("u", key),
                    Span::styled(format!(" {} upstream   ", toggle(*upstream)), text),
                    Span::styled("f", key),
                    Span::styled(format!(" {} failed only   ", toggle(*failed_only)), text),
                    Span::styled("r", key),
                    Span::styled(format!(" {} whole run", toggle(*whole_run)), text),
                ]),
                Line::from(""),
            ];
            lines.pop();
            if reset.is_empty() {
                lines.push(Line::from(Span::styled(
                    "nothing would be reset with these choices",
                    theme.warning(),
                )));
            } else {
                let n = reset.len();
                lines.push(Line::from(vec![
                    Span::styled(format!("back to pending ({n}, highlighted): "), text),
                    Span::styled(
                        super::fit(
                            &reset.join(" "),
                            (area.width as usize).saturating_sub(40).max(8),
                        ),
                        theme.matched(),
                    ),
                ]));
            }
            lines.push(choice(&[("y", "clear"), ("Esc", "cancel")], key, text));
            (format!("clear {task}"), lines)
        }
        Overlay::Quit { running, scheduled } => {
            let mut said = Vec::new();
            if *running > 0 {
                said.push(match running {
                    1 => "1 task is running".to_string(),
                    n => format!("{n} tasks are running"),
                });
            }
            if *scheduled > 0 {
                said.push(match scheduled {
                    1 => "1 flow has a schedule".to_string(),
                    n => format!("{n} flows have schedules"),
                });
            }
            let row = |k: &'static str, what: &'static str| {
                Line::from(vec![Span::styled(k, key), Span::styled(what, text)])
            };
            let mut lines = vec![
                Line::from(Span::styled(format!("{}.", said.join("; ")), text)),
                Line::from(""),
                row(
                    "b",
                    "  keep drover running in the background: schedules go on",
                ),
                row("", "   (`drover` shows it again, `drover stop` stops it)"),
                row(
                    "l",
                    "  leave: no scheduled runs until drover starts again; running",
                ),
                row("", "   tasks run on and are taken up then"),
            ];
            if *running > 0 {
                lines.push(row(
                    "s",
                    "  stop the running tasks (SIGTERM), recorded as failed",
                ));
            }
            lines.push(row("Esc", " stay"));
            ("quit drover?".into(), lines)
        }
    };
    let width = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .max(title.chars().count() + 4)
        .min(area.width.saturating_sub(4) as usize) as u16
        + 4;
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    // The clear dialog sits at the bottom so the highlighted cells it
    // will reset stay in sight; the others are centred.
    let y = if matches!(overlay, Overlay::Clear { .. }) {
        area.bottom().saturating_sub(height + 1)
    } else {
        area.y + area.height.saturating_sub(height) / 2
    };
    let rect = Rect {
        x: area.x + area.width.saturating_sub(width) / 2,
        y,
        width: width.min(area.width),
        height,
    };
    Clear.render(rect, buf);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Span::styled(
            format!(" {title} "),
            theme.title().add_modifier(Modifier::BOLD),
        ))
        .style(text);
    if matches!(overlay, Overlay::Help { .. }) {
        block = block.title_bottom(Span::styled(
            " :flows :grid/:graph NAME :logs :theme NAME :trigger :help :q (Tab completes) · other keys close ",
            dim,
        ));
    }
    let inner = block.inner(rect);
    block.render(rect, buf);
    for (i, line) in lines.iter().enumerate().take(inner.height as usize) {
        let y = inner.y + i as u16;
        buf.set_line(inner.x + 1, y, line, inner.width.saturating_sub(1));
    }
}

/// "y yes · n no" with the keys styled as keys.
fn choice(pairs: &[(&str, &str)], key: Style, text: Style) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, (k, what)) in pairs.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", text));
        }
        spans.push(Span::styled(k.to_string(), key));
        spans.push(Span::styled(format!(" {what}"), text));
    }
    Line::from(spans)
}
