//! The TUI's app: what the views share (`Ctx`: the source, the status,
//! the problems, the message, the screen's size), the themes, which view
//! is shown, and the routing of keys and engine events to the views.
//!
//! A key goes first to an open box (`Overlay`), then to the line being
//! typed (`Input`), else it becomes an `Action` (the keymap) that the app
//! takes when it reaches past one view (switching views, the dialogs, the
//! theme) and the shown view takes otherwise. `App::update` changes state
//! and returns effects for the loop (commands for the instance,
//! quitting); it never draws. Data is pulled from the read model when an
//! engine event says something changed.
//!
//! May call: `tui::views` (the views, the overlay, the command line),
//! `tui::ctx`, `tui::keymap`, `tui::theme`; `api` for the source and the
//! actions, `engine` events and status, `home` problems.

use std::collections::HashSet;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keymap::{self, Action};
use super::theme::Theme;
use super::views::command::{self, Command, Typed, Words};
use super::views::flows::FlowsView;
use super::views::graph::GraphView;
use super::views::grid::GridView;
use super::views::logs::LogsView;
use super::views::own_log::OwnLogView;
use crate::api::Source;
use crate::engine::{EngineEvent, Status};
use crate::home::Problems;
use crate::store::TaskState;

pub use super::ctx::{Ctx, Effect, MESSAGE_FOR, Message, View};
pub use super::views::command::{Input, InputKind};
pub use super::views::explain;
pub use super::views::overlay::Overlay;

/// Flows, runs and the log to read again before the next frame.
#[derive(Debug, Clone, Default)]
pub struct Stale {
    pub flows: HashSet<String>,
    pub runs: HashSet<String>,
    /// A run the Grid does not have yet: read the run list again.
    pub run_list: bool,
    pub log: bool,
}

/// Theme names (file stems) of `errors`, in order, each once.
fn bad_theme_names(errors: &[crate::flow::Diagnostic]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for e in errors {
        let name = e.path.file_stem().map_or_else(
            || e.path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// What the status bar says at start about theme files that did not
/// load: how many, and the first problem (`L`, `:theme` and `?` list them
/// all).
pub fn theme_problem(errors: &[crate::flow::Diagnostic]) -> Option<String> {
    let first = errors.first()?;
    let files = bad_theme_names(errors).len();
    let more = errors.len() - 1;
    Some(match (files, more) {
        (1, 0) => format!("theme file not loaded: {first}"),
        (1, n) => format!("theme file not loaded: {first} (and {n} more; L lists them)"),
        (n, _) => format!("{n} theme files not loaded (L, :theme list them): {first}"),
    })
}

/// The lines drover's own log gets for a command's answer: every line it
/// printed (out, then err), escaped, each after `what`; "done" when it
/// printed nothing.
pub fn answer_log(what: &str, answer: &crate::control::Answer) -> Vec<String> {
    let what = crate::escape::line(what);
    let lines: Vec<String> = [&answer.out, &answer.err]
        .into_iter()
        .flat_map(|t| t.lines())
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{what}: {}", crate::escape::line(l.trim_end())))
        .collect();
    if lines.is_empty() {
        vec![format!("{what}: done")]
    } else {
        lines
    }
}

pub struct App {
    /// What every view reads and says things through.
    pub ctx: Ctx,
    pub view: View,
    pub flows: FlowsView,
    pub grid: GridView,
    pub graph: GraphView,
    pub logs: LogsView,
    pub own_log: OwnLogView,
    pub overlay: Option<Overlay>,
    pub input: Option<Input>,
    pub themes: Vec<Theme>,
    pub theme: usize,
    /// Problems of the theme files that did not load, file by file.
    pub theme_errors: Vec<crate::flow::Diagnostic>,
    /// What engine events said changed, not read yet.
    pub stale: Stale,
}

impl App {
    /// An app on the Flows view. `themes` holds at least one theme;
    /// `theme_errors` are shown at once.
    pub fn new(
        source: Source,
        themes: Vec<Theme>,
        theme: &str,
        theme_errors: Vec<crate::flow::Diagnostic>,
    ) -> App {
        let mut themes = themes;
        if themes.is_empty() {
            themes = super::theme::BUILTIN
                .iter()
                .filter_map(|name| Theme::builtin(name))
                .collect();
        }
        let index = themes.iter().position(|t| t.name == theme).unwrap_or(0);
        let mut ctx = Ctx::new(source);
        ctx.message = theme_problem(&theme_errors).map(|text| Message::sticky(text, true));
        App {
            ctx,
            view: View::Flows,
            flows: FlowsView::default(),
            grid: GridView::default(),
            graph: GraphView::default(),
            logs: LogsView::default(),
            own_log: OwnLogView::default(),
            overlay: None,
            input: None,
            themes,
            theme: index,
            theme_errors,
            stale: Stale::default(),
        }
    }

    /// The names (file stems) of the theme files that did not load, in
    /// file order, each once.
    pub fn bad_themes(&self) -> Vec<String> {
        bad_theme_names(&self.theme_errors)
    }

    pub fn theme(&self) -> &Theme {
        &self.themes[self.theme.min(self.themes.len() - 1)]
    }

    /// Moves the clock on to `now`. A flow whose next run is now past
    /// gets its next one anew (the run may not have been made yet, or was
    /// made while the clock stood still). An answer shown for
    /// `MESSAGE_FOR` goes. Returns whether a row or the message changed.
    pub fn set_now(&mut self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.ctx.now = now;
        // An answer shown long enough gives the bar back to the hints.
        let expired = self
            .ctx
            .message
            .as_ref()
            .and_then(|m| m.until)
            .is_some_and(|until| until <= now);
        if expired {
            self.ctx.message = None;
        }
        let due = self.flows.refresh_due(&self.ctx);
        expired || due
    }

    // ---- data -------------------------------------------------------

    /// Takes the engine's status; returns whether anything shown changed.
    pub fn set_status(&mut self, status: Status, problems: Problems) -> bool {
        let versions = |s: &Status| -> Vec<(String, String)> {
            s.flows
                .iter()
                .map(|f| (f.id.clone(), f.version.clone()))
                .collect()
        };
        let old = self.ctx.status.as_ref();
        let flows_changed = old.is_none_or(|old| versions(old) != versions(&status))
            || problems != self.ctx.problems;
        let load_changed = old.is_none_or(|old| {
            (old.running, old.queued, &old.pools, &old.storage)
                != (
                    status.running,
                    status.queued,
                    &status.pools,
                    &status.storage,
                )
        });
        self.ctx.status = Some(status);
        self.ctx.problems = problems;
        if flows_changed {
            self.refresh_flows();
            self.grid.status_changed(&self.ctx);
        }
        flows_changed || load_changed
    }

    /// Rebuilds every Flows row from the status, problems and store.
    pub fn refresh_flows(&mut self) {
        self.flows.refresh(&self.ctx);
    }

    /// Loads the Grid's runs afresh (a run was added, or everything is
    /// read again).
    pub fn load_runs(&mut self) {
        self.grid.load_runs(&self.ctx);
    }

    /// Opens flow `id` in the Grid: loads its runs; the Flows view's
    /// selection follows, so keys there act on this flow.
    pub fn open_flow(&mut self, id: &str) {
        if self.grid.open(&self.ctx, id) {
            self.graph.reset();
        }
        self.flows.select(&self.ctx, id);
    }

    /// Takes an engine event: refreshes what it touches. Returns whether
    /// the screen needs redrawing.
    ///
    /// What it touches is only noted; `catch_up` reads it once for all the
    /// events of a burst, before the next frame.
    pub fn on_engine(&mut self, event: &EngineEvent) -> bool {
        match event {
            EngineEvent::RunChanged { flow, run_id, .. } => {
                self.stale.flows.insert(flow.clone());
                if *flow == self.grid.flow_id {
                    if self.grid.runs.iter().any(|r| r.id == *run_id) {
                        self.stale.runs.insert(run_id.clone());
                    } else {
                        self.stale.run_list = true;
                    }
                }
                true
            }
            EngineEvent::TaskChanged {
                flow, run_id, task, ..
            } => {
                let mut changed = false;
                if *flow == self.grid.flow_id && self.grid.instances.contains_key(run_id) {
                    self.stale.runs.insert(run_id.clone());
                    changed = true;
                }
                if self.logs.shows(flow, run_id, task) {
                    self.stale.log = true;
                    changed = true;
                }
                changed
            }
            // Paused or unpaused (its row reads the store), or a new
            // version (the loop fetches the status at once).
            EngineEvent::FlowChanged { flow } => {
                self.stale.flows.insert(flow.clone());
                true
            }
            EngineEvent::Stopped { error } => {
                self.ctx.message = Some(Message::sticky(
                    format!("the scheduler stopped: {error}"),
                    true,
                ));
                true
            }
            // The status bar says it, from the status this event fetches.
            EngineEvent::Storage { .. } => true,
            // The loop fetches the status and problems at once; the Flows
            // rows and the status bar change with them.
            EngineEvent::ProblemsChanged => true,
        }
    }

    /// Reads what engine events said changed since the last call.
    pub fn catch_up(&mut self) {
        if !self.stale.runs.is_empty() || self.stale.run_list {
            // A try may have ended: its end and outputs are read again.
            self.grid.detail = None;
        }
        let stale = std::mem::take(&mut self.stale);
        for flow in &stale.flows {
            self.flows.refresh_row(&self.ctx, flow);
        }
        if stale.run_list {
            self.grid.load_runs(&self.ctx);
        } else {
            for run_id in &stale.runs {
                self.grid.reload_run(&self.ctx, run_id);
            }
        }
        if stale.log {
            self.logs.reload_meta(&self.ctx);
        }
        self.grid.refresh_detail(&self.ctx);
    }

    /// Something asked of a remote instance ahead has come: what waited for
    /// it is read again.
    pub fn fetched(&mut self) {
        self.grid.refresh_detail(&self.ctx);
    }

    /// Reads new log lines of the try shown; true if there were any.
    pub fn poll_log(&mut self) -> bool {
        self.view == View::Logs && self.logs.poll(&self.ctx)
    }

    // ---- input ------------------------------------------------------

    /// Handles a key press; returns effects for the loop.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        // Esc and a key typed fast after it reach us as Alt+key: take them
        // as the two keys they were.
        if key.modifiers == KeyModifiers::ALT
            && let KeyCode::Char(_) = key.code
        {
            let mut effects = self.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
            effects.extend(self.on_key(KeyEvent::new(key.code, KeyModifiers::NONE)));
            return effects;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && key.code == KeyCode::Char('c')
            && self.overlay.is_none()
        {
            return self.update(Action::Quit);
        }
        if let Some(overlay) = self.overlay.take() {
            let (kept, effects) = overlay.on_key(&mut self.ctx, key);
            self.overlay = kept;
            return effects;
        }
        if self.input.is_some() {
            return self.input_key(key);
        }
        self.ctx.message = None;
        match keymap::action_for(&key) {
            Some(action) => self.update(action),
            None => Vec::new(),
        }
    }

    /// Changes state for an action; returns effects for the loop.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let effects = self.apply(action);
        self.grid.refresh_detail(&self.ctx);
        effects
    }

    /// Takes the actions that reach past one view here, and gives the
    /// shown view the others; what it leaves (Enter, Esc) moves between
    /// views.
    fn apply(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Quit => return self.quit(),
            Action::Flows => self.view = View::Flows,
            Action::Grid => self.show(View::Grid),
            Action::Graph => self.show(View::Graph),
            Action::Logs => self.open_log(),
            Action::OwnLog => {
                if self.view != View::OwnLog {
                    self.own_log.from = self.view;
                }
                self.view = View::OwnLog;
            }
            Action::CycleTheme => {
                self.theme = (self.theme + 1) % self.themes.len();
                let plain = if self.theme().no_color {
                    " (NO_COLOR is set: glyphs and bold only)"
                } else {
                    ""
                };
                let text = format!("theme: {}{plain}", self.theme().name);
                self.ctx.say(text);
            }
            Action::CommandLine => {
                self.input = Some(Input::new(InputKind::Command, String::new()));
            }
            Action::Filter => {
                let (kind, text) = match self.view {
                    // A new search starts empty, as in less and vim.
                    View::Logs => (InputKind::Search, String::new()),
                    View::Flows => (InputKind::Filter, self.flows.list.filter.clone()),
                    View::Grid => (InputKind::Filter, self.grid.rows.filter.clone()),
                    View::Graph => (InputKind::Search, self.graph.search.clone()),
                    View::OwnLog => return Vec::new(),
                };
                self.input = Some(Input::new(kind, text));
            }
            Action::OlderRuns | Action::NewerRuns => {
                if matches!(self.view, View::Grid | View::Graph) {
                    self.grid.page_runs(&self.ctx, action == Action::OlderRuns);
                }
            }
            Action::Trigger => self.ask_trigger(),
            Action::Pause => self.ask_pause(),
            Action::Clear => self.ask_clear(),
            Action::MarkSuccess => self.ask_mark(TaskState::Success),
            Action::MarkFailed => self.ask_mark(TaskState::Failed),
            Action::Kill => self.ask_kill(),
            _ => {
                let ctx = &mut self.ctx;
                let taken = match self.view {
                    View::Flows => self.flows.on_action(ctx, action),
                    View::Grid => self.grid.on_action(ctx, action),
                    View::Graph => self.graph.on_action(&mut self.grid, ctx, action),
                    View::Logs => self.logs.on_action(ctx, action),
                    View::OwnLog => self.own_log.on_action(ctx, action),
                };
                match action {
                    _ if taken => {}
                    Action::Enter => self.enter(),
                    Action::Back => self.back(),
                    _ => {}
                }
            }
        }
        Vec::new()
    }

    fn quit(&mut self) -> Vec<Effect> {
        let running = self.ctx.running();
        let scheduled = self.flows.scheduled();
        // A screen attached to an instance leaves it running as it was.
        if (running > 0 || scheduled > 0) && !self.ctx.source.is_remote() {
            self.overlay = Some(Overlay::Quit { running, scheduled });
            Vec::new()
        } else {
            vec![Effect::Quit {
                stop_tasks: false,
                background: false,
            }]
        }
    }

    /// Goes to the Grid or Graph of the selected flow.
    fn show(&mut self, view: View) {
        if self.grid.flow_id.is_empty() || self.view == View::Flows {
            match self.flows.selected_id() {
                Some(id) => self.open_flow(&id),
                None if self.grid.flow_id.is_empty() => {
                    self.ctx
                        .complain("no flow selected: add a flow file to flows/");
                    return;
                }
                None => {}
            }
        }
        self.view = view;
        if view == View::Graph {
            self.graph.ensure(&self.grid);
        }
    }

    /// Enter, where the view leaves it: the Flows open the Grid, a task
    /// in the Grid or Graph opens its log.
    fn enter(&mut self) {
        match self.view {
            View::Flows => self.show(View::Grid),
            View::Grid | View::Graph => self.open_log(),
            View::Logs | View::OwnLog => {}
        }
    }

    /// Esc, where the view leaves it: back to the view this one was
    /// reached from.
    fn back(&mut self) {
        self.view = match self.view {
            View::Flows => View::Flows,
            View::Grid => View::Flows,
            View::Graph => View::Grid,
            View::Logs => self.logs.from,
            View::OwnLog => self.own_log.from,
        };
    }

    /// Opens the log of the selected task instance's latest try.
    fn open_log(&mut self) {
        if self.view == View::Flows {
            self.show(View::Grid);
            if self.view != View::Grid {
                return;
            }
        }
        if self.group_chosen() {
            return;
        }
        if matches!(self.view, View::Grid | View::Graph) {
            self.logs.from = self.view;
        }
        let (Some(run), Some(task)) = (self.grid.selected_run(), self.grid.selected_task()) else {
            if self.logs.log.is_some() {
                self.view = View::Logs;
            } else {
                self.ctx.complain("no run selected: trigger one with t");
            }
            return;
        };
        self.logs.open(&self.ctx, run, task);
        self.view = View::Logs;
        self.poll_log();
    }

    /// The collapsed group the Graph's selection is on, when the Graph is
    /// shown and its selection is on one.
    pub fn graph_group(&self) -> Option<&super::graph_layout::Group> {
        if self.view != View::Graph {
            return None;
        }
        self.graph.group(&self.grid)
    }

    /// Says so, and is true, when the Graph's selection is a collapsed
    /// group: the task keys need one task.
    fn group_chosen(&mut self) -> bool {
        let Some(n) = self.graph_group().map(|g| g.members.len()) else {
            return false;
        };
        self.ctx.complain(format!(
            "this box stands for {n} tasks: Enter shows them, then choose one"
        ));
        true
    }

    // ---- actions ------------------------------------------------------

    /// The flow actions apply to: the Grid's in run views, else the
    /// selected row's.
    fn action_flow(&self) -> Option<String> {
        match self.view {
            View::Flows | View::OwnLog => self.flows.selected_id(),
            _ => Some(self.grid.flow_id.clone()).filter(|f| !f.is_empty()),
        }
    }

    /// The task instance actions apply to: (flow, run id, task).
    fn action_instance(&self) -> Option<(String, String, String)> {
        match self.view {
            View::Logs => self
                .logs
                .log
                .as_ref()
                .map(|l| (l.flow.clone(), l.run_id.clone(), l.task.clone())),
            View::Grid | View::Graph => {
                let run = self.grid.selected_run()?;
                let task = self.grid.selected_task()?;
                Some((run.flow.clone(), run.id.clone(), task.to_string()))
            }
            _ => None,
        }
    }

    fn need_instance(&mut self) -> Option<(String, String, String)> {
        if self.group_chosen() {
            return None;
        }
        let found = self.action_instance();
        if found.is_none() {
            let hint = if self.view == View::Flows {
                "open a flow (Enter) and select a task of a run first"
            } else {
                "select a task of a run first (trigger one with t)"
            };
            self.ctx.complain(hint);
        }
        found
    }

    fn ask_trigger(&mut self) {
        let Some(id) = self.action_flow() else {
            return self.ctx.complain("no flow selected");
        };
        self.ask_trigger_of(id);
    }

    /// Opens the trigger form of flow `id`, pre-filled with its params.
    fn ask_trigger_of(&mut self, id: String) {
        if self.ctx.refused_read_only() {
            return;
        }
        let Some(flow) = self.ctx.current_flow(&id) else {
            return self
                .ctx
                .complain(format!("flow `{id}` does not validate; fix its file first"));
        };
        self.overlay = Some(Overlay::trigger(&flow));
    }

    fn ask_pause(&mut self) {
        if self.ctx.refused_read_only() {
            return;
        }
        let Some(id) = self.action_flow() else {
            return self.ctx.complain("no flow selected");
        };
        self.overlay = Some(Overlay::pause(&id, self.flows.paused(&id)));
    }

    fn ask_mark(&mut self, state: TaskState) {
        if self.ctx.refused_read_only() {
            return;
        }
        let Some((flow, run_id, task)) = self.need_instance() else {
            return;
        };
        self.overlay = Some(Overlay::mark(flow, run_id, task, state));
    }

    fn ask_kill(&mut self) {
        if self.ctx.refused_read_only() {
            return;
        }
        let Some((flow, run_id, task)) = self.need_instance() else {
            return;
        };
        let state = self.instance_state(&flow, &run_id, &task);
        if state != Some(TaskState::Running) {
            let now = state.map_or("not started", |s| s.name());
            return self.ctx.complain(format!("{task} is not running ({now})"));
        }
        self.overlay = Some(Overlay::kill(flow, run_id, task));
    }

    /// The state of a task instance: from the log open, the Grid, or the
    /// source, whichever has it first.
    fn instance_state(&self, flow: &str, run_id: &str, task: &str) -> Option<TaskState> {
        if let Some(log) = self
            .logs
            .log
            .as_ref()
            .filter(|_| self.logs.shows(flow, run_id, task))
            && let Some(ti) = &log.instance
        {
            return Some(ti.state);
        }
        if flow == self.grid.flow_id
            && let Some(ti) = self.grid.instance(run_id, task)
        {
            return Some(ti.state);
        }
        let run = self.ctx.source.run(flow, run_id).ok()??;
        let tis = self.ctx.source.task_instances(&run).ok()?;
        tis.into_iter()
            .find(|ti| ti.task == task)
            .map(|ti| ti.state)
    }

    fn ask_clear(&mut self) {
        if self.ctx.refused_read_only() {
            return;
        }
        let Some((flow, run_id, task)) = self.need_instance() else {
            return;
        };
        self.overlay = Some(Overlay::clear(&self.ctx, flow, run_id, task));
    }

    // ---- the line typed at the bottom -----------------------------------

    fn input_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(mut input) = self.input.take() else {
            return Vec::new();
        };
        let typed = input.on_key(key, &self.words());
        match typed {
            Typed::Closed => self.apply_input(&input),
            Typed::Entered => {
                self.apply_input(&input);
                if input.kind == InputKind::Command {
                    return self.command(&input.text);
                }
            }
            Typed::Editing => {
                if input.kind != InputKind::Command {
                    self.apply_input(&input);
                }
                self.input = Some(input);
            }
        }
        Vec::new()
    }

    /// Applies a filter or search as typed so far to the view shown.
    fn apply_input(&mut self, input: &Input) {
        match (input.kind, self.view) {
            (InputKind::Filter, View::Flows) => self.flows.set_filter(&input.text),
            (InputKind::Filter, View::Grid) => self.grid.set_filter(&self.ctx, &input.text),
            (InputKind::Search, View::Logs) => self.logs.set_search(&mut self.ctx, &input.text),
            (InputKind::Search, View::Graph) => {
                self.graph
                    .set_search(&mut self.grid, &self.ctx, &input.text)
            }
            _ => {}
        }
    }

    /// What Tab completes to: the flows and themes there are.
    fn words(&self) -> Words<'_> {
        Words {
            flows: self.flows.rows.iter().map(|r| r.id.as_str()).collect(),
            themes: self.themes.iter().map(|t| t.name.as_str()).collect(),
        }
    }

    /// Completes a command line as far as it is unambiguous.
    pub fn complete(&self, line: &str) -> String {
        command::complete(line, &self.words())
    }

    /// What the last word of a command line could complete to.
    pub fn choices(&self, line: &str) -> Vec<String> {
        command::choices(line, &self.words())
    }

    /// Says there is no flow `id`, and which one was perhaps meant.
    fn no_flow(&mut self, id: &str) {
        let hint =
            crate::flow::suggest::did_you_mean(id, self.flows.rows.iter().map(|r| r.id.as_str()));
        self.ctx.complain(format!("no flow `{id}`{hint}"));
    }

    /// Runs a `:` command line.
    pub fn command(&mut self, line: &str) -> Vec<Effect> {
        match command::parse(line) {
            Command::Nothing => {}
            Command::Quit => return self.quit(),
            Command::QuitNow => {
                return vec![Effect::Quit {
                    stop_tasks: false,
                    background: false,
                }];
            }
            Command::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Command::Flows => self.view = View::Flows,
            Command::OwnLog => self.view = View::OwnLog,
            Command::Show {
                view,
                flow: Some(id),
            } => {
                if self
                    .flows
                    .rows
                    .iter()
                    .any(|r| r.id == id && r.flow.is_some())
                {
                    self.open_flow(id);
                    self.view = View::Grid;
                    match view {
                        View::Graph => self.show(View::Graph),
                        View::Logs => self.open_log(),
                        _ => {}
                    }
                } else {
                    self.no_flow(id);
                }
            }
            Command::Show { view, flow: None } => match view {
                View::Logs => self.open_log(),
                view => self.show(view),
            },
            Command::Theme(Some(theme)) => self.set_theme(theme),
            Command::Theme(None) => {
                let names: Vec<&str> = self.themes.iter().map(|t| t.name.as_str()).collect();
                let bad = self.bad_themes();
                let not_loaded = if bad.is_empty() {
                    String::new()
                } else {
                    format!("; not loaded: {} (:theme NAME says why)", bad.join(", "))
                };
                let text = format!(
                    "theme {}; themes: {}{not_loaded}",
                    self.theme().name,
                    names.join(", ")
                );
                if bad.is_empty() {
                    self.ctx.say(text);
                } else {
                    self.ctx.complain(text);
                }
            }
            Command::Trigger(Some(id)) => {
                if self.flows.rows.iter().any(|r| r.id == id) {
                    self.ask_trigger_of(id.to_string());
                } else {
                    self.no_flow(id);
                }
            }
            Command::Trigger(None) => self.ask_trigger(),
            Command::Run(Some(when)) => {
                if self.grid.go_to_run(&mut self.ctx, when)
                    && !matches!(self.view, View::Grid | View::Graph)
                {
                    self.view = View::Grid;
                }
            }
            Command::Run(None) => self
                .ctx
                .complain("which date? :run 2026-11-01 selects the newest run at or before it"),
            Command::Unknown(name) => self.ctx.complain(command::unknown(name)),
        }
        Vec::new()
    }

    /// `:theme NAME`: switches to it, or says why it is not there.
    fn set_theme(&mut self, theme: &str) {
        if let Some(i) = self.themes.iter().position(|t| t.name == theme) {
            self.theme = i;
            self.ctx.say(format!("theme: {theme}"));
            return;
        }
        let errors: Vec<String> = self
            .theme_errors
            .iter()
            .filter(|e| e.path.file_stem().is_some_and(|s| s == theme))
            .map(ToString::to_string)
            .collect();
        if let Some(first) = errors.first() {
            let more = match errors.len() - 1 {
                0 => String::new(),
                n => format!(" (and {n} more: L)"),
            };
            return self
                .ctx
                .complain(format!("theme `{theme}` did not load: {first}{more}"));
        }
        let names: Vec<&str> = self.themes.iter().map(|t| t.name.as_str()).collect();
        let hint = crate::flow::suggest::did_you_mean(theme, names.iter().copied());
        let text = format!("no theme `{theme}`{hint}; themes: {}", names.join(", "));
        self.ctx.complain(text);
    }

    /// Shows what a command said, and refreshes what it changed.
    pub fn answered(&mut self, what: &str, answer: &crate::control::Answer) {
        let text = if answer.code == 0 {
            &answer.out
        } else {
            &answer.err
        };
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim_start_matches("drover: ")
            .to_string();
        let text = if first.is_empty() {
            format!("{what}: done")
        } else {
            first
        };
        for line in answer_log(what, answer) {
            if answer.code == 0 {
                log::info!("{line}");
            } else {
                log::warn!("{line}");
            }
        }
        self.ctx.tell(text, answer.code != 0);
        self.refresh_flows();
        self.grid.load_runs(&self.ctx);
        self.logs.reload_meta(&self.ctx);
    }

    /// Takes a click at (column, row): selects the row under it.
    pub fn click(&mut self, column: u16, row: u16) {
        match self.view {
            View::Flows => self.flows.click(row),
            View::Grid => self.grid.click(&self.ctx, column, row),
            _ => {}
        }
        self.grid.refresh_detail(&self.ctx);
    }
}
