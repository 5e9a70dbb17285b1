//! Boxes drawn over the view: help (generated from the keymap), the
//! confirmation of destructive actions, the trigger form, the clear dialog
//! and the quit question. While one is open it takes every key; what it
//! decides comes back as effects for the loop.
//!
//! May call: the `Source` through `Ctx` (a run and its flow version, for
//! what a clear resets), `flow` (to parse that version), `tui::keymap`
//! (the help's rows), `api::Action` (what a confirmed box asks for).

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use crate::api;
use crate::flow::{Diagnostic, Flow};
use crate::store::TaskState;
use crate::tui::ctx::{Ctx, Effect};
use crate::tui::keymap::{self, Action};
use crate::tui::theme::Theme;

/// A modal box over the view.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help {
        scroll: u16,
    },
    /// Asks before a destructive command.
    Confirm {
        title: String,
        body: Vec<String>,
        action: api::Action,
        what: String,
    },
    /// The trigger form: one field per param, pre-filled with defaults.
    Trigger {
        flow: String,
        fields: Vec<(String, String)>,
        at: usize,
        /// Where typing goes in the field, in characters.
        cursor: usize,
    },
    /// The clear dialog with its toggles; `reset` is what would be reset.
    Clear {
        flow: String,
        run_id: String,
        task: String,
        downstream: bool,
        upstream: bool,
        failed_only: bool,
        /// Every task instance of the run (then `failed_only` still counts).
        whole_run: bool,
        reset: Vec<String>,
    },
    /// `q` while tries run or flows have schedules: keep drover running
    /// in the background, leave (tries run on), or stop the tries too.
    Quit {
        running: usize,
        /// Flows with a schedule that is not paused.
        scheduled: usize,
    },
}

impl Overlay {
    /// The trigger form of `flow`, pre-filled with its params.
    pub fn trigger(flow: &Flow) -> Overlay {
        let fields: Vec<(String, String)> = flow
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let cursor = fields.first().map_or(0, |(_, v)| v.chars().count());
        Overlay::Trigger {
            flow: flow.id.clone(),
            fields,
            at: 0,
            cursor,
        }
    }

    /// Asks before pausing flow `id` (or unpausing it, when `paused`).
    pub fn pause(id: &str, paused: bool) -> Overlay {
        let (verb, body) = if paused {
            ("unpause", "scheduled runs resume (missed ones per catchup)")
        } else {
            ("pause", "no new scheduled runs; runs under way go on")
        };
        Overlay::Confirm {
            title: format!("{verb} flow {id}?"),
            body: vec![body.to_string()],
            action: if paused {
                api::Action::Unpause { flow: id.into() }
            } else {
                api::Action::Pause { flow: id.into() }
            },
            what: format!("{verb} {id}"),
        }
    }

    /// Asks before marking a task instance `state`.
    pub fn mark(flow: String, run_id: String, task: String, state: TaskState) -> Overlay {
        let name = state.name();
        Overlay::Confirm {
            title: format!("mark {task} {name}?"),
            body: vec![
                format!("run {run_id}"),
                "a running try is stopped first; tasks downstream that are not decided yet".into(),
                "go on as after a finished try (clear them with c to run decided ones again)"
                    .into(),
            ],
            what: format!("mark {task} {name}"),
            action: api::Action::Mark {
                flow,
                run: run_id,
                task,
                state,
            },
        }
    }

    /// Asks before killing a running task instance.
    pub fn kill(flow: String, run_id: String, task: String) -> Overlay {
        Overlay::Confirm {
            title: format!("kill {task}?"),
            body: vec![
                format!("run {run_id}"),
                "SIGTERM now, SIGKILL 10 s later; the try fails without retry".into(),
            ],
            what: format!("kill {task}"),
            action: api::Action::Kill {
                flow,
                run: run_id,
                task,
            },
        }
    }

    /// The clear dialog for a task instance, with what it would reset
    /// worked out: the task and those downstream of it.
    pub fn clear(ctx: &Ctx, flow: String, run_id: String, task: String) -> Overlay {
        let mut overlay = Overlay::Clear {
            flow,
            run_id,
            task,
            downstream: true,
            upstream: false,
            failed_only: false,
            whole_run: false,
            reset: Vec::new(),
        };
        overlay.fill_clear(ctx);
        overlay
    }

    /// Works out which task instances the clear dialog would reset.
    fn fill_clear(&mut self, ctx: &Ctx) {
        let Overlay::Clear {
            flow,
            run_id,
            task,
            downstream,
            upstream,
            failed_only,
            whole_run,
            reset,
        } = self
        else {
            return;
        };
        let Ok(Some(run)) = ctx.source.run(flow, run_id) else {
            reset.clear();
            return;
        };
        let instances = ctx.source.task_instances(&run).unwrap_or_default();
        let version = run
            .flow_version
            .as_ref()
            .and_then(|v| ctx.source.flow_text(flow, v).ok().flatten());
        let current = ctx.current_flow(flow);
        // The run's own flow version says what is downstream of what, read
        // with the instance's pools (as it read it).
        let parsed = version.and_then(|text| {
            let path = current.as_ref().map(|f| f.path.clone()).unwrap_or_default();
            let config = crate::flow::Config {
                timezone: current.as_ref().map_or(chrono_tz::Tz::UTC, |f| f.timezone),
                pools: ctx
                    .status
                    .as_ref()
                    .map(|s| {
                        s.pools
                            .iter()
                            .map(|(name, _, size)| (name.clone(), *size))
                            .collect()
                    })
                    .unwrap_or_default(),
                ..crate::flow::Config::default()
            };
            crate::flow::parse_flow(flow, &path, &text, &config).ok()
        });
        let graph: Option<&Flow> = parsed.as_ref().or(current.as_deref());
        let chosen = if *whole_run {
            Vec::new()
        } else {
            vec![task.clone()]
        };
        *reset = crate::api::clear_selection(
            graph,
            &instances,
            &chosen,
            *downstream,
            *upstream,
            *failed_only,
        );
    }

    /// The task instances the clear dialog would reset, for highlighting.
    pub fn clear_preview(&self) -> Option<(&str, &[String])> {
        match self {
            Overlay::Clear { run_id, reset, .. } => Some((run_id.as_str(), reset.as_slice())),
            _ => None,
        }
    }

    /// Takes a key: returns the box if it stays open, and what to do.
    pub fn on_key(mut self, ctx: &mut Ctx, key: KeyEvent) -> (Option<Overlay>, Vec<Effect>) {
        let esc = key.code == KeyCode::Esc;
        let closed = |effects| (None, effects);
        match &mut self {
            Overlay::Help { scroll } => match keymap::action_for(&key) {
                Some(Action::Down) => *scroll = scroll.saturating_add(1),
                Some(Action::Up) => *scroll = scroll.saturating_sub(1),
                Some(Action::PageDown) => *scroll = scroll.saturating_add(10),
                Some(Action::PageUp) => *scroll = scroll.saturating_sub(10),
                _ => return closed(Vec::new()),
            },
            Overlay::Confirm { action, what, .. } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                    return closed(vec![Effect::Act {
                        action: action.clone(),
                        what: what.clone(),
                    }]);
                }
                _ if esc || key.code == KeyCode::Char('n') || key.code == KeyCode::Char('q') => {
                    ctx.say("cancelled");
                    return closed(Vec::new());
                }
                _ => {}
            },
            Overlay::Trigger {
                flow,
                fields,
                at,
                cursor,
            } => {
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                let len = fields.get(*at).map_or(0, |(_, v)| v.chars().count());
                // Byte offset of the cursor (counted in characters) in the field.
                let byte = |v: &str, n: usize| v.char_indices().nth(n).map_or(v.len(), |(i, _)| i);
                match key.code {
                    KeyCode::Esc => {
                        ctx.say("cancelled");
                        return closed(Vec::new());
                    }
                    KeyCode::Enter => {
                        let action = api::Action::Trigger {
                            flow: flow.clone(),
                            params: fields.iter().cloned().collect(),
                            date: None,
                            json: false,
                        };
                        return closed(vec![Effect::Act {
                            action,
                            what: format!("trigger {flow}"),
                        }]);
                    }
                    KeyCode::Down | KeyCode::Tab if !fields.is_empty() => {
                        *at = (*at + 1) % fields.len();
                        *cursor = fields[*at].1.chars().count();
                    }
                    KeyCode::Up | KeyCode::BackTab if !fields.is_empty() => {
                        *at = (*at + fields.len() - 1) % fields.len();
                        *cursor = fields[*at].1.chars().count();
                    }
                    KeyCode::Left => *cursor = cursor.saturating_sub(1),
                    KeyCode::Right => *cursor = (*cursor + 1).min(len),
                    KeyCode::Home => *cursor = 0,
                    KeyCode::End => *cursor = len,
                    KeyCode::Char('a') if ctrl => *cursor = 0,
                    KeyCode::Char('e') if ctrl => *cursor = len,
                    KeyCode::Char('u') if ctrl => {
                        if let Some((_, v)) = fields.get_mut(*at) {
                            v.clear();
                            *cursor = 0;
                        }
                    }
                    KeyCode::Backspace if *cursor > 0 => {
                        if let Some((_, v)) = fields.get_mut(*at) {
                            v.remove(byte(v, *cursor - 1));
                            *cursor -= 1;
                        }
                    }
                    KeyCode::Delete if *cursor < len => {
                        if let Some((_, v)) = fields.get_mut(*at) {
                            v.remove(byte(v, *cursor));
                        }
                    }
                    KeyCode::Char(c) if !ctrl => {
                        if let Some((_, v)) = fields.get_mut(*at) {
                            v.insert(byte(v, *cursor), c);
                            *cursor += 1;
                        }
                    }
                    _ => {}
                }
            }
            Overlay::Clear {
                flow,
                run_id,
                downstream,
                upstream,
                failed_only,
                whole_run,
                reset,
                ..
            } => match key.code {
                KeyCode::Char('r') => *whole_run = !*whole_run,
                KeyCode::Char('d') => *downstream = !*downstream,
                KeyCode::Char('u') => *upstream = !*upstream,
                KeyCode::Char('f') => *failed_only = !*failed_only,
                KeyCode::Char('y') | KeyCode::Enter => {
                    if reset.is_empty() {
                        ctx.complain("nothing to clear with these choices");
                        return closed(Vec::new());
                    }
                    // The instances shown as reset, by name.
                    let action = api::Action::Clear(api::ClearQuery {
                        flow: flow.clone(),
                        run: run_id.clone(),
                        tasks: reset.clone(),
                        downstream: false,
                        upstream: false,
                        failed_only: false,
                    });
                    return closed(vec![Effect::Act {
                        action,
                        what: format!(
                            "clear {} task{}",
                            reset.len(),
                            if reset.len() == 1 { "" } else { "s" }
                        ),
                    }]);
                }
                _ if esc || key.code == KeyCode::Char('n') || key.code == KeyCode::Char('q') => {
                    ctx.say("cancelled");
                    return closed(Vec::new());
                }
                _ => {}
            },
            Overlay::Quit { running, .. } => match key.code {
                KeyCode::Char('b') | KeyCode::Char('B') | KeyCode::Enter => {
                    return closed(vec![Effect::Quit {
                        stop_tasks: false,
                        background: true,
                    }]);
                }
                KeyCode::Char('l') | KeyCode::Char('L') => {
                    return closed(vec![Effect::Quit {
                        stop_tasks: false,
                        background: false,
                    }]);
                }
                KeyCode::Char('s') | KeyCode::Char('S') if *running > 0 => {
                    return closed(vec![Effect::Quit {
                        stop_tasks: true,
                        background: false,
                    }]);
                }
                _ if esc || key.code == KeyCode::Char('n') || key.code == KeyCode::Char('q') => {
                    return closed(Vec::new());
                }
                _ => {}
            },
        }
        self.fill_clear(ctx);
        (Some(self), Vec::new())
    }

    /// Draws the box; `theme_errors` are the theme files that did not load,
    /// which the help lists.
    pub fn render(&self, theme: &Theme, theme_errors: &[Diagnostic], area: Rect, buf: &mut Buffer) {
        let overlay = self;
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
                let section_lines =
                    |(heading, rows): &(&'static str, Vec<(String, &'static str)>)| {
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
                if !theme_errors.is_empty() {
                    let w = lines.iter().map(Line::width).max().unwrap_or(0).max(40);
                    lines.push(Line::from(""));
                    lines.push(Line::from(Span::styled(
                        "Theme files not loaded (whole in L)",
                        theme.title(),
                    )));
                    for e in theme_errors {
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
