//! The TUI's state and how actions change it. `App::update` takes an
//! action, changes state, and returns effects for the loop to carry out
//! (commands for the instance, quitting); it never draws. Data is pulled
//! from the read model when an engine event says something changed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::graph_layout::{self, Dir, Layout};
use super::keymap::{self, Action};
use super::logview::LogModel;
use super::theme::Theme;
use crate::api::{self, Source};
use crate::engine::{EngineEvent, Status};
use crate::flow::Flow;
use crate::home::Problems;
use crate::store::{Run, RunState, TaskInstance, TaskState};

/// Runs kept per flow in the Flows view's strip.
pub const STRIP_RUNS: usize = 24;
/// Width of one run column in the Grid, in cells.
pub const GRID_CELL: u16 = 2;
/// The screen row of the Grid's first task: under the tabs, the run
/// header, the duration bars and the run states.
pub const GRID_ROWS_TOP: u16 = 1 + 1 + GRID_BARS + 1;
/// Rows of duration bars in the Grid.
pub const GRID_BARS: u16 = 4;
/// Rows under the Grid's tasks: the details pane and the status bar.
pub const GRID_FOOT: u16 = 3 + 1;
/// Runs the Grid reads at a time when scrolling back (at least two
/// screens).
pub const GRID_RUN_PAGE: usize = 64;
/// Runs beyond the screen whose task instances the Grid reads with the
/// ones it lacks, so that scrolling reads once every few steps.
pub const GRID_READ_AHEAD: usize = 8;
/// Widest task-name column in the Grid.
pub const GRID_NAME_MAX: u16 = 28;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Flows,
    Grid,
    Graph,
    Logs,
    OwnLog,
}

impl View {
    pub fn title(self) -> &'static str {
        match self {
            View::Flows => "Flows",
            View::Grid => "Grid",
            View::Graph => "Graph",
            View::Logs => "Logs",
            View::OwnLog => "drover log",
        }
    }
}

/// What the loop does for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Asks the instance to do something; `what` names it in the answer
    /// shown afterwards.
    Act { action: api::Action, what: String },
    /// Leaves; with `stop_tasks` the running tries are stopped first, with
    /// `background` a detached `drover serve` takes the instance over.
    Quit { stop_tasks: bool, background: bool },
}

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

/// The Grid's data for one flow: its runs (newest first), the task
/// instances of the runs on screen, and the selection.
#[derive(Debug, Clone, Default)]
pub struct GridModel {
    pub flow_id: String,
    pub flow: Option<Arc<Flow>>,
    /// Newest first; loaded as far back as the view has scrolled.
    pub runs: Vec<Run>,
    pub total_runs: usize,
    pub instances: HashMap<String, Vec<TaskInstance>>,
    /// Row order: the flow's tasks in topological order, then tasks only
    /// older runs have.
    pub tasks: Vec<String>,
    /// Rows: selection is an index into `rows()` (the filtered tasks).
    pub rows: ListState,
    /// Selected run, as an index into `runs` (0 = newest).
    pub run: usize,
    /// The selected instance's tries: (run id, task, tries started, tries).
    pub detail: Option<(String, String, u32, Vec<crate::store::Try>)>,
    /// The newest run shown at the right edge.
    pub run_offset: usize,
}

impl GridModel {
    /// Task rows after the filter.
    pub fn rows(&self) -> Vec<&str> {
        let f = self.rows.filter.to_lowercase();
        self.tasks
            .iter()
            .filter(|t| f.is_empty() || t.to_lowercase().contains(&f))
            .map(String::as_str)
            .collect()
    }

    pub fn selected_task(&self) -> Option<&str> {
        self.rows().get(self.rows.selected).copied()
    }

    pub fn selected_run(&self) -> Option<&Run> {
        self.runs.get(self.run)
    }

    /// The run (index into `runs`) shown in column `c` of `cols`: the
    /// newest on screen rightmost; when fewer runs than columns remain,
    /// they start at the left, next to the task names.
    pub fn column_run(&self, c: usize, cols: usize) -> Option<usize> {
        let shown = cols.min(self.runs.len().saturating_sub(self.run_offset));
        let back = shown.checked_sub(c + 1)?;
        Some(self.run_offset + back)
    }

    /// The state of `task` in run `run_id`, if loaded.
    pub fn instance(&self, run_id: &str, task: &str) -> Option<&TaskInstance> {
        let tis = self.instances.get(run_id)?;
        // The store hands a run's instances out in key order, which is the
        // tasks' name order: a cell costs a search, not a scan of them all.
        match tis.binary_search_by(|ti| ti.task.as_str().cmp(task)) {
            Ok(i) => tis.get(i),
            Err(_) => tis.iter().find(|ti| ti.task == task),
        }
    }
}

/// Flows, runs and the log to read again before the next frame.
#[derive(Debug, Clone, Default)]
pub struct Stale {
    pub flows: HashSet<String>,
    pub runs: HashSet<String>,
    /// A run the Grid does not have yet: read the run list again.
    pub run_list: bool,
    pub log: bool,
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

/// A command line's words before the last, and the last.
fn split_last_word(line: &str) -> (Option<&str>, &str) {
    match line.rsplit_once(' ') {
        Some((head, word)) => (Some(head), word),
        None => (None, line),
    }
}

/// The `:` commands, for completion and suggestions.
const COMMANDS: &[&str] = &[
    "flows", "grid", "graph", "logs", "log", "run", "theme", "trigger", "help", "quit", "q",
];

/// The latest moment `:run WHEN` means: a date (its whole day), a date
/// and time to the minute or second in the flow's timezone `tz`, or an
/// RFC 3339 time.
pub fn parse_run_time(when: &str, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone};
    if let Ok(t) = DateTime::parse_from_rfc3339(when) {
        return Some(t.with_timezone(&Utc));
    }
    let local = if let Ok(d) = NaiveDate::parse_from_str(when, "%Y-%m-%d") {
        d.succ_opt()?.and_hms_opt(0, 0, 0)? - chrono::Duration::milliseconds(1)
    } else {
        ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(when, f).ok())?
    };
    // In a gap (clocks going forward) the moment after it; in a fold, the
    // later of the two.
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(_, late) => Some(late.with_timezone(&Utc)),
        chrono::LocalResult::None => tz
            .from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc)),
    }
}

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

/// The line at the bottom while typing a filter, search or command.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
    /// What Tab could complete to, when it is not one thing.
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Search,
    Command,
}

/// How long an answer stays in the status bar before the bar shows its
/// hints again (the whole answer is in drover's log, `L`).
pub const MESSAGE_FOR: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// A line in the status bar after an action.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
    /// When the bar returns to normal; None: at the next key.
    pub until: Option<DateTime<Utc>>,
}

impl Message {
    /// A message that stays until the next key (a problem, a command
    /// under way).
    pub fn sticky(text: impl Into<String>, error: bool) -> Message {
        Message {
            text: text.into(),
            error,
            until: None,
        }
    }
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
    pub reader: Source,
    /// Actions are refused (`drover --read-only`).
    pub read_only: bool,
    pub now: DateTime<Utc>,
    pub view: View,
    /// Where Esc goes from the Logs view (the Grid or the Graph).
    pub logs_from: View,
    pub flows: Vec<FlowRow>,
    pub flow_list: ListState,
    pub grid: GridModel,
    /// The Graph's layout, for a flow version and the open groups (flow
    /// id, version and `graph_open`).
    pub graph: Option<(String, Arc<Layout>)>,
    /// Tasks whose sibling groups the Graph draws open (Enter opens one,
    /// Esc closes it); cleared when another flow is opened.
    pub graph_open: Vec<String>,
    /// Graph search (`/`), with the node it matched last.
    pub graph_search: String,
    pub log: Option<LogModel>,
    pub overlay: Option<Overlay>,
    pub input: Option<Input>,
    pub message: Option<Message>,
    pub status: Option<Status>,
    pub problems: Problems,
    pub themes: Vec<Theme>,
    pub theme: usize,
    /// Problems of the theme files that did not load, file by file.
    pub theme_errors: Vec<crate::flow::Diagnostic>,
    /// Where drover's own log is scrolled to, and the view it was opened from.
    pub own_log: tui_logger::TuiWidgetState,
    pub own_log_from: View,
    /// What engine events said changed, not read yet.
    pub stale: Stale,
    /// Screen size, for paging and keeping selections visible.
    pub width: u16,
    pub height: u16,
}

impl App {
    /// An app on the Flows view. `themes` holds at least one theme;
    /// `theme_errors` are shown at once.
    pub fn new(
        reader: Source,
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
        let message = theme_problem(&theme_errors).map(|text| Message::sticky(text, true));
        App {
            reader,
            read_only: false,
            now: Utc::now(),
            view: View::Flows,
            logs_from: View::Grid,
            flows: Vec::new(),
            flow_list: ListState::default(),
            grid: GridModel::default(),
            graph: None,
            graph_open: Vec::new(),
            graph_search: String::new(),
            log: None,
            overlay: None,
            input: None,
            message,
            status: None,
            problems: Problems::default(),
            themes,
            theme: index,
            theme_errors,
            own_log: tui_logger::TuiWidgetState::new(),
            own_log_from: View::Flows,
            stale: Stale::default(),
            width: 100,
            height: 30,
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
    pub fn set_now(&mut self, now: DateTime<Utc>) -> bool {
        self.now = now;
        // An answer shown long enough gives the bar back to the hints.
        let expired = self
            .message
            .as_ref()
            .and_then(|m| m.until)
            .is_some_and(|until| until <= now);
        if expired {
            self.message = None;
        }
        let due: Vec<String> = self
            .flows
            .iter()
            .filter(|r| r.next.is_some_and(|t| t <= now))
            .map(|r| r.id.clone())
            .collect();
        for id in &due {
            self.refresh_flow_row(id);
        }
        expired || !due.is_empty()
    }

    /// Running tries, as the engine last said.
    pub fn running(&self) -> usize {
        self.status.as_ref().map_or(0, |s| s.running)
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
        let flows_changed = self
            .status
            .as_ref()
            .is_none_or(|old| versions(old) != versions(&status))
            || problems != self.problems;
        let load_changed = self.status.as_ref().is_none_or(|old| {
            (old.running, old.queued, &old.pools, &old.storage)
                != (
                    status.running,
                    status.queued,
                    &status.pools,
                    &status.storage,
                )
        });
        self.status = Some(status);
        self.problems = problems;
        if flows_changed {
            self.refresh_flows();
            if !self.grid.flow_id.is_empty() {
                let id = self.grid.flow_id.clone();
                self.grid.flow = self.current_flow(&id);
                self.grid_tasks();
            }
        }
        flows_changed || load_changed
    }

    /// The version of a flow new runs get.
    pub fn current_flow(&self, id: &str) -> Option<Arc<Flow>> {
        self.status
            .as_ref()?
            .flows
            .iter()
            .find(|f| f.id == id)
            .cloned()
    }

    /// Rebuilds every Flows row from the status, problems and store.
    pub fn refresh_flows(&mut self) {
        let mut ids: Vec<String> = self
            .status
            .as_ref()
            .map(|s| s.flows.iter().map(|f| f.id.clone()).collect())
            .unwrap_or_default();
        ids.extend(self.problems.flows.keys().cloned());
        ids.sort();
        ids.dedup();
        let selected = self.selected_flow_id();
        self.flows = ids.iter().map(|id| self.flow_row(id)).collect();
        if let Some(id) = selected
            && let Some(i) = self.visible_flows().iter().position(|r| r.id == id)
        {
            self.flow_list.selected = i;
        }
    }

    fn flow_row(&self, id: &str) -> FlowRow {
        let flow = self.current_flow(id);
        let runs = self.reader.runs(id, STRIP_RUNS).unwrap_or_default();
        let paused = self
            .reader
            .paused(id)
            .ok()
            .flatten()
            .unwrap_or_else(|| flow.as_ref().is_some_and(|f| f.paused));
        let next = flow
            .as_ref()
            .filter(|_| !paused)
            .and_then(|f| f.fire_times_after(self.now).next());
        FlowRow {
            id: id.to_string(),
            error: self.problems.flows.get(id).cloned(),
            paused,
            next,
            strip: runs.iter().map(|r| r.state).collect(),
            runs: self.reader.run_count(id),
            flow,
        }
    }

    /// Refreshes one flow's row (its runs changed).
    fn refresh_flow_row(&mut self, id: &str) {
        let row = self.flow_row(id);
        if let Some(r) = self.flows.iter_mut().find(|r| r.id == id) {
            *r = row;
        }
    }

    /// Flows after the filter.
    pub fn visible_flows(&self) -> Vec<&FlowRow> {
        let f = self.flow_list.filter.to_lowercase();
        self.flows
            .iter()
            .filter(|r| f.is_empty() || r.id.to_lowercase().contains(&f))
            .collect()
    }

    pub fn selected_flow_id(&self) -> Option<String> {
        self.visible_flows()
            .get(self.flow_list.selected)
            .map(|r| r.id.clone())
    }

    /// Run columns that fit in the Grid at the current width.
    pub fn grid_columns(&self) -> usize {
        let name = self.grid_name_width();
        (self.width.saturating_sub(name + 3) / GRID_CELL).max(1) as usize
    }

    /// Width of the Grid's task-name column.
    pub fn grid_name_width(&self) -> u16 {
        let longest = self
            .grid
            .tasks
            .iter()
            .map(|t| unicode_width::UnicodeWidthStr::width(t.as_str()))
            .max()
            .unwrap_or(4) as u16;
        longest.clamp(8, GRID_NAME_MAX).min(self.width / 2)
    }

    /// Task rows that fit in the Grid.
    pub fn grid_height(&self) -> usize {
        self.height.saturating_sub(GRID_ROWS_TOP + GRID_FOOT).max(1) as usize
    }

    /// Opens flow `id` in the Grid: loads its runs.
    pub fn open_flow(&mut self, id: &str) {
        if self.grid.flow_id != id {
            self.grid = GridModel {
                flow_id: id.to_string(),
                ..GridModel::default()
            };
            self.graph = None;
            self.graph_open.clear();
        }
        self.grid.flow = self.current_flow(id);
        self.load_runs();
        self.refresh_detail();
        // The Flows view's selection follows, so keys there act on this flow.
        if !self.visible_flows().iter().any(|r| r.id == id) {
            self.flow_list.filter.clear();
        }
        if let Some(i) = self.visible_flows().iter().position(|r| r.id == id) {
            self.flow_list.selected = i;
            let (len, h) = (
                self.visible_flows().len(),
                self.height.saturating_sub(5) as usize,
            );
            self.flow_list.clamp(len, h);
        }
    }

    /// Loads the runs the Grid shows (and a page more), keeping the
    /// selected run selected. Reads the run list afresh (a run was added);
    /// scrolling back reads only the older runs, with `load_older`.
    pub fn load_runs(&mut self) {
        let id = self.grid.flow_id.clone();
        if id.is_empty() {
            return;
        }
        let keep = self.grid.selected_run().map(|r| r.id.clone());
        let stick_newest = self.grid.run == 0;
        let want = (self.grid.run_offset + 2 * self.grid_columns())
            .max(self.grid.runs.len())
            .max(GRID_RUN_PAGE);
        self.grid.runs = self.reader.runs(&id, want).unwrap_or_default();
        self.grid.total_runs = self.reader.run_count(&id).max(self.grid.runs.len());
        if !stick_newest
            && let Some(i) = keep.and_then(|k| self.grid.runs.iter().position(|r| r.id == k))
        {
            self.grid.run = i;
        }
        self.grid.run = self.grid.run.min(self.grid.runs.len().saturating_sub(1));
        self.grid.instances.clear();
        self.follow_run_selection();
        self.grid_tasks();
    }

    /// Appends the next page of older runs to the Grid's run list, without
    /// reading again the runs it has; false when there are no more.
    fn load_older(&mut self) -> bool {
        let Some(oldest) = self.grid.runs.last() else {
            return false;
        };
        let page = GRID_RUN_PAGE.max(2 * self.grid_columns());
        let older = self
            .reader
            .runs_before(&self.grid.flow_id, oldest, page)
            .unwrap_or_default();
        if older.is_empty() {
            self.grid.total_runs = self.grid.runs.len();
            return false;
        }
        self.grid.runs.extend(older);
        self.grid.total_runs = self.grid.total_runs.max(self.grid.runs.len());
        true
    }

    /// Loads task instances of the runs on screen, and of
    /// `GRID_READ_AHEAD` more on each side in one read when any is
    /// missing. Drops the instances of runs more than a screen away: at
    /// most three screens of runs keep theirs.
    fn load_window(&mut self) {
        let cols = self.grid_columns();
        let len = self.grid.runs.len();
        let lo = self.grid.run_offset.min(len);
        let hi = (lo + cols).min(len);
        let (keep_lo, keep_hi) = (lo.saturating_sub(cols), (hi + cols).min(len));
        let kept: HashSet<&str> = self.grid.runs[keep_lo..keep_hi]
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        self.grid.instances.retain(|k, _| kept.contains(k.as_str()));
        let missing = self.grid.runs[lo..hi]
            .iter()
            .any(|r| !self.grid.instances.contains_key(&r.id));
        if !missing {
            return;
        }
        // The missing runs on screen and a few beyond it, read in one scan:
        // a step reads a few runs now and then, a page a screen.
        let (ahead_lo, ahead_hi) = (
            lo.saturating_sub(GRID_READ_AHEAD),
            (hi + GRID_READ_AHEAD).min(len),
        );
        let near = &self.grid.runs[ahead_lo..ahead_hi];
        let absent = |r: &Run| !self.grid.instances.contains_key(&r.id);
        let (Some(first), Some(last)) =
            (near.iter().position(absent), near.iter().rposition(absent))
        else {
            return;
        };
        let span = &near[first..=last];
        let read = self.reader.task_instances_of(span).unwrap_or_default();
        for (run, tis) in span.iter().zip(read) {
            self.grid.instances.entry(run.id.clone()).or_insert(tis);
        }
    }

    /// Row order: the flow's tasks, then any task only loaded runs have.
    fn grid_tasks(&mut self) {
        let mut tasks: Vec<String> = self
            .grid
            .flow
            .as_ref()
            .map(|f| f.tasks.iter().map(|t| t.id.clone()).collect())
            .unwrap_or_default();
        let known: HashSet<String> = tasks.iter().cloned().collect();
        let mut extra: Vec<String> = self
            .grid
            .instances
            .values()
            .flatten()
            .map(|ti| ti.task.clone())
            .filter(|t| !known.contains(t))
            .collect();
        extra.sort();
        extra.dedup();
        tasks.extend(extra);
        if tasks != self.grid.tasks {
            let keep = self.grid.selected_task().map(str::to_string);
            self.grid.tasks = tasks;
            if let Some(i) = keep.and_then(|k| self.grid.rows().iter().position(|t| *t == k)) {
                self.grid.rows.selected = i;
            }
        }
        let (len, h) = (self.grid.rows().len(), self.grid_height());
        self.grid.rows.clamp(len, h);
    }

    /// Keeps the selected run on screen after moving, loading more runs
    /// when scrolling back.
    fn follow_run_selection(&mut self) {
        let cols = self.grid_columns();
        if self.grid.run < self.grid.run_offset {
            self.grid.run_offset = self.grid.run;
        } else if self.grid.run >= self.grid.run_offset + cols {
            self.grid.run_offset = self.grid.run + 1 - cols;
        }
        while self.grid.run_offset + 2 * cols > self.grid.runs.len()
            && self.grid.runs.len() < self.grid.total_runs
            && self.load_older()
        {}
        self.load_window();
    }

    /// Moves the Grid (and the Graph's run) a screen of runs older or
    /// newer, the selection keeping its column where it can.
    fn page_runs(&mut self, older: bool) {
        if !matches!(self.view, View::Grid | View::Graph) || self.grid.runs.is_empty() {
            return;
        }
        let cols = self.grid_columns();
        let g = &mut self.grid;
        if older {
            let last = g.total_runs.max(g.runs.len()).saturating_sub(1);
            g.run = (g.run + cols).min(last);
            g.run_offset = (g.run_offset + cols).min(last.saturating_sub(cols - 1));
        } else {
            g.run = g.run.saturating_sub(cols);
            g.run_offset = g.run_offset.saturating_sub(cols);
        }
        while self.grid.run >= self.grid.runs.len() && self.load_older() {}
        self.grid.run = self.grid.run.min(self.grid.runs.len().saturating_sub(1));
        self.follow_run_selection();
    }

    /// Selects the newest run whose logical time is at or before `at`,
    /// reading runs as far back as it is.
    fn jump_to_run(&mut self, at: DateTime<Utc>, asked: &str) {
        let flow = self.grid.flow_id.clone();
        let asked = crate::escape::line(asked);
        match self.reader.run_at_or_before(&flow, at) {
            Ok(Some((index, _))) => {
                while index >= self.grid.runs.len() && self.load_older() {}
                if index >= self.grid.runs.len() {
                    return self.complain(format!("run {asked} of {flow} is gone"));
                }
                let cols = self.grid_columns();
                self.grid.run = index;
                // The run in the middle of the screen: what led to it and
                // what came after are both in view.
                let last = self.grid.total_runs.max(self.grid.runs.len());
                self.grid.run_offset = index
                    .saturating_sub(cols / 2)
                    .min(last.saturating_sub(cols));
                self.follow_run_selection();
            }
            Ok(None) => self.complain(format!("{flow} has no run at or before {asked}")),
            Err(e) => self.complain(format!("cannot read the runs of {flow}: {e}")),
        }
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
                if let Some(log) = self.log.as_ref()
                    && log.flow == *flow
                    && log.run_id == *run_id
                    && log.task == *task
                {
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
                self.message = Some(Message::sticky(
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

    /// Reads the selected task instance's tries, unless they are at hand.
    pub fn refresh_detail(&mut self) {
        let (Some(run), Some(task)) = (self.grid.selected_run(), self.grid.selected_task()) else {
            self.grid.detail = None;
            return;
        };
        let Some(ti) = self.grid.instance(&run.id, task) else {
            self.grid.detail = None;
            return;
        };
        let fresh = self
            .grid
            .detail
            .as_ref()
            .is_some_and(|(r, t, n, _)| *r == run.id && t == task && *n == ti.tries);
        if !fresh {
            let tries = self.reader.tries(run, task).unwrap_or_default();
            self.grid.detail = Some((run.id.clone(), task.to_string(), ti.tries, tries));
        }
    }

    /// The latest try of the selected task instance, if read.
    pub fn detail_try(&self) -> Option<&crate::store::Try> {
        let (run_id, task, _, tries) = self.grid.detail.as_ref()?;
        let selected =
            self.grid.selected_run()?.id == *run_id && self.grid.selected_task()? == task;
        selected.then(|| tries.last()).flatten()
    }

    /// Reads what engine events said changed since the last call.
    pub fn catch_up(&mut self) {
        if !self.stale.runs.is_empty() || self.stale.run_list {
            // A try may have ended: its end and outputs are read again.
            self.grid.detail = None;
        }
        let stale = std::mem::take(&mut self.stale);
        for flow in &stale.flows {
            self.refresh_flow_row(flow);
        }
        if stale.run_list {
            self.load_runs();
        } else {
            for run_id in &stale.runs {
                self.reload_run(run_id);
            }
        }
        if stale.log
            && let Some(log) = self.log.as_mut()
        {
            log.reload_meta(&self.reader);
        }
        self.refresh_detail();
    }

    fn reload_run(&mut self, run_id: &str) {
        let Ok(Some(run)) = self.reader.run(&self.grid.flow_id, run_id) else {
            return;
        };
        if self.grid.instances.contains_key(run_id) {
            let tis = self.reader.task_instances(&run).unwrap_or_default();
            self.grid.instances.insert(run_id.to_string(), tis);
        }
        if let Some(r) = self.grid.runs.iter_mut().find(|r| r.id == run_id) {
            *r = run;
        }
    }

    /// Reads new log lines of the try shown; true if there were any.
    pub fn poll_log(&mut self) -> bool {
        match self.log.as_mut() {
            Some(log) if self.view == View::Logs => log.poll(&self.reader),
            _ => false,
        }
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
        if self.overlay.is_some() {
            return self.overlay_key(key);
        }
        if self.input.is_some() {
            return self.input_key(key);
        }
        self.message = None;
        match keymap::action_for(&key) {
            Some(action) => self.update(action),
            None => Vec::new(),
        }
    }

    /// Changes state for an action; returns effects for the loop.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let effects = self.apply(action);
        self.refresh_detail();
        effects
    }

    fn apply(&mut self, action: Action) -> Vec<Effect> {
        let page = self.page();
        match action {
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Quit => return self.quit(),
            Action::Flows => self.view = View::Flows,
            Action::Grid => self.show(View::Grid),
            Action::Graph => self.show(View::Graph),
            Action::Logs => self.open_log(),
            Action::OwnLog => {
                if self.view != View::OwnLog {
                    self.own_log_from = self.view;
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
                self.say(format!("theme: {}{plain}", self.theme().name));
            }
            Action::CommandLine => {
                self.input = Some(Input {
                    kind: InputKind::Command,
                    text: String::new(),
                    hint: None,
                })
            }
            Action::Filter => {
                let (kind, text) = match self.view {
                    // A new search starts empty, as in less and vim.
                    View::Logs => (InputKind::Search, String::new()),
                    View::Flows => (InputKind::Filter, self.flow_list.filter.clone()),
                    View::Grid => (InputKind::Filter, self.grid.rows.filter.clone()),
                    View::Graph => (InputKind::Search, self.graph_search.clone()),
                    View::OwnLog => return Vec::new(),
                };
                self.input = Some(Input {
                    kind,
                    text,
                    hint: None,
                });
            }
            Action::Enter => self.enter(),
            Action::Back => self.back(),
            Action::Up => self.move_by(0, -1),
            Action::Down => self.move_by(0, 1),
            Action::Left => self.move_by(-1, 0),
            Action::Right => self.move_by(1, 0),
            Action::PageUp => self.move_by(0, -(page as isize)),
            Action::PageDown => self.move_by(0, page as isize),
            Action::OlderRuns => self.page_runs(true),
            Action::NewerRuns => self.page_runs(false),
            Action::First => self.move_by(0, isize::MIN / 2),
            Action::Last => self.move_by(0, isize::MAX / 2),
            Action::NextMatch => self.next_match(true),
            Action::PrevMatch => self.next_match(false),
            Action::Follow => {
                if let Some(log) = self.log.as_mut().filter(|_| self.view == View::Logs) {
                    log.toggle_follow(&self.reader);
                    let on = if log.follow { "on" } else { "off" };
                    self.say(format!("follow {on}"));
                }
            }
            Action::Wrap => {
                if let Some(log) = self.log.as_mut().filter(|_| self.view == View::Logs) {
                    log.wrap = !log.wrap;
                    let on = if log.wrap { "on" } else { "off" };
                    self.say(format!("wrap {on}"));
                }
            }
            Action::PrevTry | Action::NextTry => {
                if let Some(log) = self.log.as_mut().filter(|_| self.view == View::Logs) {
                    let forward = action == Action::NextTry;
                    if log.tries.is_empty() {
                        self.say("no tries yet");
                    } else if !log.switch_try(&self.reader, forward) {
                        let edge = if forward { "last" } else { "first" };
                        self.say(format!("this is the {edge} try"));
                    }
                }
            }
            Action::Times => {
                if let Some(log) = self.log.as_mut().filter(|_| self.view == View::Logs) {
                    log.toggle_times(&self.reader);
                    let on = if log.times { "on" } else { "off" };
                    self.say(format!("arrival times {on}"));
                }
            }
            Action::Trigger => self.ask_trigger(),
            Action::Pause => self.ask_pause(),
            Action::Clear => self.ask_clear(),
            Action::MarkSuccess => self.ask_mark(TaskState::Success),
            Action::MarkFailed => self.ask_mark(TaskState::Failed),
            Action::Kill => self.ask_kill(),
        }
        Vec::new()
    }

    fn say(&mut self, text: impl Into<String>) {
        self.tell(text.into(), false);
    }

    /// Shows `text` in the status bar for `MESSAGE_FOR`.
    pub fn tell(&mut self, text: String, error: bool) {
        self.message = Some(Message {
            text,
            error,
            until: Some(self.now + MESSAGE_FOR),
        });
    }

    /// On a read-only screen, says that it changes nothing; true then.
    fn refused_read_only(&mut self) -> bool {
        if self.read_only {
            self.complain(
                "this screen is read-only (drover --read-only): it shows the instance and changes nothing",
            );
        }
        self.read_only
    }

    fn complain_and(&mut self, text: impl Into<String>) -> Vec<Effect> {
        self.complain(text);
        Vec::new()
    }

    /// Says what went wrong in the status bar, and in drover's log (the
    /// bar may be too narrow for all of it).
    fn complain(&mut self, text: impl Into<String>) {
        let text = text.into();
        log::info!("{}", crate::escape::line(&text));
        self.tell(text, true);
    }

    /// Log lines on screen: all but the tabs, the status bar, the log's
    /// two header lines and its outputs.
    pub fn log_height(&self) -> usize {
        let outputs = self
            .log
            .as_ref()
            .and_then(|l| l.shown_try())
            .is_some_and(|t| !t.outputs.is_empty());
        let foot = if outputs { 2 } else { 0 };
        self.height.saturating_sub(4 + foot).max(1) as usize
    }

    fn page(&self) -> usize {
        match self.view {
            View::Grid => self.grid_height(),
            _ => self.height.saturating_sub(6).max(1) as usize,
        }
        .saturating_sub(1)
        .max(1)
    }

    fn quit(&mut self) -> Vec<Effect> {
        let running = self.running();
        let scheduled = self
            .flows
            .iter()
            .filter(|r| !r.paused && r.flow.as_ref().is_some_and(|f| f.schedule.is_some()))
            .count();
        // A screen attached to an instance leaves it running as it was.
        if (running > 0 || scheduled > 0) && !self.reader.is_remote() {
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
            match self.selected_flow_id() {
                Some(id) => self.open_flow(&id),
                None if self.grid.flow_id.is_empty() => {
                    self.complain("no flow selected: add a flow file to flows/");
                    return;
                }
                None => {}
            }
        }
        self.view = view;
        if view == View::Graph {
            self.ensure_graph();
        }
    }

    fn enter(&mut self) {
        match self.view {
            View::Flows => self.show(View::Grid),
            View::Graph if self.graph_group().is_some() => self.open_group(true),
            View::Grid | View::Graph => self.open_log(),
            View::Logs | View::OwnLog => {}
        }
    }

    fn back(&mut self) {
        // Esc first drops a filter, then goes back.
        let filter = match self.view {
            View::Flows => Some(&mut self.flow_list.filter),
            View::Grid => Some(&mut self.grid.rows.filter),
            View::Graph => Some(&mut self.graph_search),
            _ => None,
        };
        if let Some(f) = filter.filter(|f| !f.is_empty()) {
            f.clear();
            self.say("filter cleared");
            return;
        }
        if self.view == View::Logs
            && let Some(log) = self.log.as_mut().filter(|l| l.search.is_some())
        {
            log.set_search("", 1);
            self.say("search cleared");
            return;
        }
        // In the Graph, Esc closes the open group the selection is in.
        if self.view == View::Graph
            && let Some((_, layout)) = &self.graph
            && let Some(g) = self.graph_node().and_then(|t| layout.group_of(t))
            && layout.groups.get(g).is_some_and(|g| g.open)
        {
            self.open_group(false);
            return;
        }
        self.view = match self.view {
            View::Flows => View::Flows,
            View::Grid => View::Flows,
            View::Graph => View::Grid,
            View::Logs => self.logs_from,
            View::OwnLog => {
                self.own_log
                    .transition(tui_logger::TuiWidgetEvent::EscapeKey);
                self.own_log_from
            }
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
            self.logs_from = self.view;
        }
        let (Some(run), Some(task)) = (self.grid.selected_run(), self.grid.selected_task()) else {
            if self.log.is_some() {
                self.view = View::Logs;
            } else {
                self.complain("no run selected: trigger one with t");
            }
            return;
        };
        let same = self
            .log
            .as_ref()
            .is_some_and(|l| l.run_id == run.id && l.task == task && l.flow == run.flow);
        if !same {
            self.log = Some(LogModel::open(&self.reader, run, task));
        }
        self.view = View::Logs;
        self.poll_log();
    }

    /// Lays out the Graph for the flow on show, unless it is laid out.
    pub fn ensure_graph(&mut self) {
        let Some(flow) = self.grid.flow.clone() else {
            return;
        };
        let key = format!("{}@{} {}", flow.id, flow.version, self.graph_open.join(" "));
        if self.graph.as_ref().is_some_and(|(k, _)| *k == key) {
            return;
        }
        let names: Vec<&str> = flow.tasks.iter().map(|t| t.id.as_str()).collect();
        let open: Vec<usize> = (0..names.len())
            .filter(|&i| self.graph_open.iter().any(|t| t == names[i]))
            .collect();
        let deps = flow.dep_indices();
        let layout = graph_layout::layout_grouped(&names, &deps, &open);
        self.graph = Some((key, Arc::new(layout)));
    }

    /// The collapsed group the Graph's selection is on, if it is on one.
    pub fn graph_group(&self) -> Option<&graph_layout::Group> {
        if self.view != View::Graph {
            return None;
        }
        let (_, layout) = self.graph.as_ref()?;
        let group = layout.groups.get(layout.group_of(self.graph_node()?)?)?;
        (!group.open).then_some(group)
    }

    /// Opens (or closes) the group of the selected task in the Graph and
    /// lays the graph out again. Opening selects the group's first member.
    fn open_group(&mut self, open: bool) {
        let Some((_, layout)) = self.graph.clone() else {
            return;
        };
        let Some(flow) = self.grid.flow.clone() else {
            return;
        };
        let Some(group) = self
            .graph_node()
            .and_then(|t| layout.group_of(t))
            .and_then(|g| layout.groups.get(g))
        else {
            return;
        };
        let ids: Vec<&str> = group
            .members
            .iter()
            .filter_map(|&m| flow.tasks.get(m).map(|t| t.id.as_str()))
            .collect();
        self.graph_open.retain(|t| !ids.contains(&t.as_str()));
        if open && let Some(first) = ids.first() {
            self.graph_open.push(first.to_string());
            self.graph_open.sort_unstable();
            self.select_task(first);
        }
        self.ensure_graph();
    }

    /// Says so, and is true, when the Graph's selection is a collapsed
    /// group: the task keys need one task.
    fn group_chosen(&mut self) -> bool {
        let Some(n) = self.graph_group().map(|g| g.members.len()) else {
            return false;
        };
        self.complain(format!(
            "this box stands for {n} tasks: Enter shows them, then choose one"
        ));
        true
    }

    /// Index of the selected task in the flow (the Graph's node).
    pub fn graph_node(&self) -> Option<usize> {
        let task = self.grid.selected_task()?;
        self.grid
            .flow
            .as_ref()?
            .tasks
            .iter()
            .position(|t| t.id == task)
    }

    fn select_task(&mut self, task: &str) {
        if !self.grid.rows().contains(&task) {
            self.grid.rows.filter.clear();
        }
        if let Some(i) = self.grid.rows().iter().position(|t| *t == task) {
            self.grid.rows.selected = i;
            let (len, h) = (self.grid.rows().len(), self.grid_height());
            self.grid.rows.clamp(len, h);
        }
    }

    /// Moves the selection: `dx` across runs (Grid) or layers (Graph),
    /// `dy` along the list.
    fn move_by(&mut self, dx: isize, dy: isize) {
        match self.view {
            View::Flows => {
                let len = self.visible_flows().len();
                self.flow_list.step(dy, len);
                let h = self.height.saturating_sub(5) as usize;
                self.flow_list.clamp(len, h);
            }
            View::Grid => {
                if dy != 0 {
                    let len = self.grid.rows().len();
                    self.grid.rows.step(dy, len);
                    let h = self.grid_height();
                    self.grid.rows.clamp(len, h);
                }
                if dx != 0 && !self.grid.runs.is_empty() {
                    // Right is newer: index 0 is the newest run.
                    let max = self
                        .grid
                        .total_runs
                        .max(self.grid.runs.len())
                        .saturating_sub(1) as isize;
                    self.grid.run = (self.grid.run as isize - dx).clamp(0, max) as usize;
                    while self.grid.run >= self.grid.runs.len() && self.load_older() {}
                    self.grid.run = self.grid.run.min(self.grid.runs.len().saturating_sub(1));
                    self.follow_run_selection();
                }
            }
            View::Graph => {
                let Some((_, layout)) = self.graph.clone() else {
                    return;
                };
                let Some(from) = self.graph_node().and_then(|t| layout.box_of(t)) else {
                    if let Some(t) = self.grid.flow.as_ref().and_then(|f| f.tasks.first()) {
                        let id = t.id.clone();
                        self.select_task(&id);
                    }
                    return;
                };
                let dir = match (dx.signum(), dy.signum()) {
                    (-1, _) => Dir::Left,
                    (1, _) => Dir::Right,
                    (_, -1) => Dir::Up,
                    _ => Dir::Down,
                };
                let mut at = from;
                // Paging and first/last repeat the step.
                let times = if dy.abs() > 1 {
                    dy.unsigned_abs().min(10_000)
                } else {
                    1
                };
                for _ in 0..times {
                    match layout.neighbour(at, dir) {
                        Some(n) => at = n,
                        None => break,
                    }
                }
                if at == from {
                    return; // keep the member selected in a group
                }
                let task = layout.task_of(at);
                if let Some(t) = task.and_then(|i| self.grid.flow.as_ref()?.tasks.get(i)) {
                    let id = t.id.clone();
                    self.select_task(&id);
                }
            }
            View::Logs => {
                let h = self.log_height();
                if let Some(log) = self.log.as_mut() {
                    log.scroll_by(dy, h);
                    // Sideways, eight columns a step, when lines are not wrapped.
                    if !log.wrap && dx != 0 {
                        let widest = log
                            .lines
                            .iter()
                            .map(|l| unicode_width::UnicodeWidthStr::width(l.text.as_str()))
                            .max()
                            .unwrap_or(0);
                        // The end of the widest line can come into view, no further.
                        let most = widest.saturating_sub((self.width as usize).saturating_sub(8));
                        log.left = ((log.left as isize + dx * 8).max(0) as usize).min(most);
                    }
                }
            }
            View::OwnLog => {
                use tui_logger::TuiWidgetEvent::{EscapeKey, NextPageKey, PrevPageKey};
                let event = match dy {
                    d if d >= isize::MAX / 4 => EscapeKey,
                    d if d < 0 => PrevPageKey,
                    d if d > 0 => NextPageKey,
                    _ => return,
                };
                self.own_log.transition(event);
            }
        }
    }

    fn next_match(&mut self, forward: bool) {
        match self.view {
            View::Logs => {
                let h = self.log_height();
                if let Some(log) = self.log.as_mut()
                    && !log.next_match(forward, h)
                {
                    self.complain("no match");
                }
            }
            View::Graph | View::Grid => {
                let needle = if self.view == View::Graph {
                    self.graph_search.to_lowercase()
                } else {
                    return self.move_by(0, if forward { 1 } else { -1 });
                };
                if needle.is_empty() {
                    return;
                }
                let tasks: Vec<String> = self.grid.tasks.clone();
                let at = self.graph_node().unwrap_or(0);
                let n = tasks.len();
                for k in 1..=n {
                    let i = if forward {
                        (at + k) % n
                    } else {
                        (at + n - k % n) % n
                    };
                    if tasks[i].to_lowercase().contains(&needle) {
                        let id = tasks[i].clone();
                        self.select_task(&id);
                        // A match inside a collapsed group opens it.
                        if self.graph_group().is_some() {
                            self.open_group(true);
                            self.select_task(&id);
                        }
                        return;
                    }
                }
                self.complain(format!("no task matches `{needle}`"));
            }
            View::Flows => self.move_by(0, if forward { 1 } else { -1 }),
            View::OwnLog => {}
        }
    }

    // ---- actions ------------------------------------------------------

    /// The flow actions apply to: the Grid's in run views, else the
    /// selected row's.
    fn action_flow(&self) -> Option<String> {
        match self.view {
            View::Flows | View::OwnLog => self.selected_flow_id(),
            _ => Some(self.grid.flow_id.clone()).filter(|f| !f.is_empty()),
        }
    }

    /// The task instance actions apply to: (flow, run id, task).
    fn action_instance(&self) -> Option<(String, String, String)> {
        match self.view {
            View::Logs => self
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
            self.complain(hint);
        }
        found
    }

    fn ask_trigger(&mut self) {
        let Some(id) = self.action_flow() else {
            return self.complain("no flow selected");
        };
        self.ask_trigger_of(id);
    }

    /// Opens the trigger form of flow `id`, pre-filled with its params.
    fn ask_trigger_of(&mut self, id: String) {
        if self.refused_read_only() {
            return;
        }
        let Some(flow) = self.current_flow(&id) else {
            return self.complain(format!("flow `{id}` does not validate; fix its file first"));
        };
        let fields: Vec<(String, String)> = flow
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let cursor = fields.first().map_or(0, |(_, v)| v.chars().count());
        self.overlay = Some(Overlay::Trigger {
            flow: id,
            fields,
            at: 0,
            cursor,
        });
    }

    fn ask_pause(&mut self) {
        if self.refused_read_only() {
            return;
        }
        let Some(id) = self.action_flow() else {
            return self.complain("no flow selected");
        };
        let paused = self
            .flows
            .iter()
            .find(|r| r.id == id)
            .is_some_and(|r| r.paused);
        let (verb, body) = if paused {
            ("unpause", "scheduled runs resume (missed ones per catchup)")
        } else {
            ("pause", "no new scheduled runs; runs under way go on")
        };
        self.overlay = Some(Overlay::Confirm {
            title: format!("{verb} flow {id}?"),
            body: vec![body.to_string()],
            action: if paused {
                api::Action::Unpause { flow: id.clone() }
            } else {
                api::Action::Pause { flow: id.clone() }
            },
            what: format!("{verb} {id}"),
        });
    }

    fn ask_mark(&mut self, state: TaskState) {
        if self.refused_read_only() {
            return;
        }
        let Some((flow, run_id, task)) = self.need_instance() else {
            return;
        };
        let name = state.name();
        self.overlay = Some(Overlay::Confirm {
            title: format!("mark {task} {name}?"),
            body: vec![
                format!("run {run_id}"),
                "a running try is stopped first; tasks downstream that are not decided yet".into(),
                "go on as after a finished try (clear them with c to run decided ones again)"
                    .into(),
            ],
            action: api::Action::Mark {
                flow,
                run: run_id,
                task: task.clone(),
                state,
            },
            what: format!("mark {task} {name}"),
        });
    }

    fn ask_kill(&mut self) {
        if self.refused_read_only() {
            return;
        }
        let Some((flow, run_id, task)) = self.need_instance() else {
            return;
        };
        let state = self.instance_state(&flow, &run_id, &task);
        if state != Some(TaskState::Running) {
            let now = state.map_or("not started", |s| s.name());
            return self.complain(format!("{task} is not running ({now})"));
        }
        self.overlay = Some(Overlay::Confirm {
            title: format!("kill {task}?"),
            body: vec![
                format!("run {run_id}"),
                "SIGTERM now, SIGKILL 10 s later; the try fails without retry".into(),
            ],
            action: api::Action::Kill {
                flow,
                run: run_id,
                task: task.clone(),
            },
            what: format!("kill {task}"),
        });
    }

    fn instance_state(&self, flow: &str, run_id: &str, task: &str) -> Option<TaskState> {
        if let Some(log) = self
            .log
            .as_ref()
            .filter(|l| l.flow == flow && l.run_id == run_id && l.task == task)
            && let Some(ti) = &log.instance
        {
            return Some(ti.state);
        }
        if flow == self.grid.flow_id
            && let Some(ti) = self.grid.instance(run_id, task)
        {
            return Some(ti.state);
        }
        let run = self.reader.run(flow, run_id).ok()??;
        let tis = self.reader.task_instances(&run).ok()?;
        tis.into_iter()
            .find(|ti| ti.task == task)
            .map(|ti| ti.state)
    }

    fn ask_clear(&mut self) {
        if self.refused_read_only() {
            return;
        }
        let Some((flow, run_id, task)) = self.need_instance() else {
            return;
        };
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
        self.fill_clear(&mut overlay);
        self.overlay = Some(overlay);
    }

    /// Works out which task instances the clear dialog would reset.
    fn fill_clear(&self, overlay: &mut Overlay) {
        let Overlay::Clear {
            flow,
            run_id,
            task,
            downstream,
            upstream,
            failed_only,
            whole_run,
            reset,
        } = overlay
        else {
            return;
        };
        let Ok(Some(run)) = self.reader.run(flow, run_id) else {
            reset.clear();
            return;
        };
        let instances = self.reader.task_instances(&run).unwrap_or_default();
        let version = run
            .flow_version
            .as_ref()
            .and_then(|v| self.reader.flow_text(flow, v).ok().flatten());
        let current = self.current_flow(flow);
        // The run's own flow version says what is downstream of what.
        let parsed = version.and_then(|text| {
            let path = current.as_ref().map(|f| f.path.clone()).unwrap_or_default();
            crate::flow::parse_flow(flow, &path, &text, &crate::flow::Config::default()).ok()
        });
        let graph: Option<&Flow> = parsed.as_ref().or(current.as_deref());
        let mut wanted: Vec<String> = match graph {
            _ if *whole_run => instances.iter().map(|ti| ti.task.clone()).collect(),
            Some(g) => g
                .select(&[task.as_str()], *downstream, *upstream)
                .iter()
                .map(|t| t.id.clone())
                .collect(),
            None => vec![task.clone()],
        };
        if !wanted.contains(task) {
            wanted.push(task.clone());
        }
        *reset = instances
            .iter()
            .filter(|ti| wanted.contains(&ti.task) && (!*failed_only || ti.state.is_failure()))
            .map(|ti| ti.task.clone())
            .collect();
        // In graph order, as the grid shows them.
        let order = |t: &String| {
            graph
                .and_then(|g| g.tasks.iter().position(|x| x.id == *t))
                .unwrap_or(usize::MAX)
        };
        reset.sort_by_key(order);
    }

    fn overlay_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(mut overlay) = self.overlay.take() else {
            return Vec::new();
        };
        let esc = key.code == KeyCode::Esc;
        match &mut overlay {
            Overlay::Help { scroll } => match keymap::action_for(&key) {
                Some(Action::Down) => *scroll = scroll.saturating_add(1),
                Some(Action::Up) => *scroll = scroll.saturating_sub(1),
                Some(Action::PageDown) => *scroll = scroll.saturating_add(10),
                Some(Action::PageUp) => *scroll = scroll.saturating_sub(10),
                _ => return Vec::new(),
            },
            Overlay::Confirm { action, what, .. } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                    return vec![Effect::Act {
                        action: action.clone(),
                        what: what.clone(),
                    }];
                }
                _ if esc || key.code == KeyCode::Char('n') || key.code == KeyCode::Char('q') => {
                    self.say("cancelled");
                    return Vec::new();
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
                        self.say("cancelled");
                        return Vec::new();
                    }
                    KeyCode::Enter => {
                        let action = api::Action::Trigger {
                            flow: flow.clone(),
                            params: fields.iter().cloned().collect(),
                            date: None,
                            json: false,
                        };
                        return vec![Effect::Act {
                            action,
                            what: format!("trigger {flow}"),
                        }];
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
                        self.complain("nothing to clear with these choices");
                        return Vec::new();
                    }
                    let action = api::Action::Clear {
                        flow: flow.clone(),
                        run: run_id.clone(),
                        tasks: reset.clone(),
                        downstream: false,
                        upstream: false,
                        failed_only: false,
                    };
                    return vec![Effect::Act {
                        action,
                        what: format!(
                            "clear {} task{}",
                            reset.len(),
                            if reset.len() == 1 { "" } else { "s" }
                        ),
                    }];
                }
                _ if esc || key.code == KeyCode::Char('n') || key.code == KeyCode::Char('q') => {
                    self.say("cancelled");
                    return Vec::new();
                }
                _ => {}
            },
            Overlay::Quit { running, .. } => match key.code {
                KeyCode::Char('b') | KeyCode::Char('B') | KeyCode::Enter => {
                    return vec![Effect::Quit {
                        stop_tasks: false,
                        background: true,
                    }];
                }
                KeyCode::Char('l') | KeyCode::Char('L') => {
                    return vec![Effect::Quit {
                        stop_tasks: false,
                        background: false,
                    }];
                }
                KeyCode::Char('s') | KeyCode::Char('S') if *running > 0 => {
                    return vec![Effect::Quit {
                        stop_tasks: true,
                        background: false,
                    }];
                }
                _ if esc || key.code == KeyCode::Char('n') || key.code == KeyCode::Char('q') => {
                    return Vec::new();
                }
                _ => {}
            },
        }
        if matches!(overlay, Overlay::Clear { .. }) {
            self.fill_clear(&mut overlay);
        }
        self.overlay = Some(overlay);
        Vec::new()
    }

    fn input_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(mut input) = self.input.take() else {
            return Vec::new();
        };
        if key.code != KeyCode::Tab {
            input.hint = None;
        }
        match key.code {
            KeyCode::Esc => {
                // Esc drops a filter being typed.
                input.text.clear();
                self.apply_input(&input);
                return Vec::new();
            }
            KeyCode::Enter => {
                self.apply_input(&input);
                if input.kind == InputKind::Command {
                    return self.command(&input.text);
                }
                return Vec::new();
            }
            KeyCode::Backspace if input.text.pop().is_none() => {
                self.apply_input(&input);
                return Vec::new();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.clear()
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.push(c)
            }
            KeyCode::Tab if input.kind == InputKind::Command => {
                input.text = self.complete(&input.text);
                let choices = self.choices(&input.text);
                input.hint = (choices.len() > 1).then(|| choices.join(" "));
            }
            _ => {}
        }
        if input.kind != InputKind::Command {
            self.apply_input(&input);
        }
        self.input = Some(input);
        Vec::new()
    }

    /// Applies a filter or search as typed so far.
    fn apply_input(&mut self, input: &Input) {
        match (input.kind, self.view) {
            (InputKind::Filter, View::Flows) => {
                self.flow_list.filter = input.text.clone();
                let len = self.visible_flows().len();
                self.flow_list.selected = 0;
                self.flow_list.clamp(len, 1);
            }
            (InputKind::Filter, View::Grid) => {
                let keep = self.grid.selected_task().map(str::to_string);
                self.grid.rows.filter = input.text.clone();
                self.grid.rows.selected = 0;
                if let Some(i) = keep.and_then(|k| self.grid.rows().iter().position(|t| *t == k)) {
                    self.grid.rows.selected = i;
                }
                let (len, h) = (self.grid.rows().len(), self.grid_height());
                self.grid.rows.clamp(len, h);
            }
            (InputKind::Search, View::Logs) => {
                let h = self.log_height();
                if let Some(log) = self.log.as_mut() {
                    log.set_search(&input.text, h);
                    if !input.text.is_empty() && log.matches.is_empty() {
                        // Said as it is typed: not logged at each key.
                        let text = format!("no line matches `{}`", input.text);
                        self.tell(text, true);
                    } else {
                        self.message = None;
                    }
                }
            }
            (InputKind::Search, View::Graph) => {
                self.graph_search = input.text.clone();
                let needle = input.text.to_lowercase();
                if !needle.is_empty() {
                    let hit = self
                        .grid
                        .tasks
                        .iter()
                        .find(|t| t.to_lowercase().contains(&needle))
                        .cloned();
                    if let Some(t) = hit {
                        self.select_task(&t);
                    }
                }
            }
            _ => {}
        }
    }

    /// Completes a command line as far as it is unambiguous: the command,
    /// then a flow or theme name.
    pub fn complete(&self, line: &str) -> String {
        let (head, _) = split_last_word(line);
        let hits = self.choices(line);
        let Some(first) = hits.first() else {
            return line.to_string();
        };
        // The longest prefix all the hits share; a space after a whole word.
        let mut common = first.as_str();
        for h in &hits[1..] {
            let n = common
                .chars()
                .zip(h.chars())
                .take_while(|(a, b)| a == b)
                .count();
            common = &common[..common
                .char_indices()
                .nth(n)
                .map_or(common.len(), |(i, _)| i)];
        }
        let done = if hits.len() == 1 && head.is_none() {
            " "
        } else {
            ""
        };
        match head {
            Some(head) => format!("{head} {common}{done}"),
            None => format!("{common}{done}"),
        }
    }

    /// What the last word of a command line could complete to.
    pub fn choices(&self, line: &str) -> Vec<String> {
        let (head, word) = split_last_word(line);
        let candidates: Vec<String> = match head.map(str::trim) {
            None => COMMANDS.iter().map(|c| c.to_string()).collect(),
            Some("grid" | "graph" | "logs" | "trigger") => {
                self.flows.iter().map(|r| r.id.clone()).collect()
            }
            Some("theme") => self.themes.iter().map(|t| t.name.clone()).collect(),
            Some(_) => Vec::new(),
        };
        candidates
            .into_iter()
            .filter(|c| c.starts_with(word))
            .collect()
    }

    /// Runs a `:` command line.
    pub fn command(&mut self, line: &str) -> Vec<Effect> {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or("");
        let arg = words.next();
        match (name, arg) {
            ("", _) => {}
            ("q" | "quit", _) => return self.quit(),
            ("q!" | "quit!", _) => {
                return vec![Effect::Quit {
                    stop_tasks: false,
                    background: false,
                }];
            }
            ("help" | "h", _) => self.overlay = Some(Overlay::Help { scroll: 0 }),
            ("flows", _) => self.view = View::Flows,
            ("log" | "drover-log", _) => self.view = View::OwnLog,
            ("grid" | "graph" | "logs", Some(id)) => {
                if self.flows.iter().any(|r| r.id == id && r.flow.is_some()) {
                    self.open_flow(id);
                    self.view = View::Grid;
                    match name {
                        "graph" => self.show(View::Graph),
                        "logs" => self.open_log(),
                        _ => {}
                    }
                } else {
                    let hint = crate::flow::suggest::did_you_mean(
                        id,
                        self.flows.iter().map(|r| r.id.as_str()),
                    );
                    self.complain(format!("no flow `{id}`{hint}"));
                }
            }
            ("grid", None) => self.show(View::Grid),
            ("graph", None) => self.show(View::Graph),
            ("logs", None) => self.open_log(),
            ("theme", Some(theme)) => match self.themes.iter().position(|t| t.name == theme) {
                Some(i) => {
                    self.theme = i;
                    self.say(format!("theme: {theme}"));
                }
                None => {
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
                            .complain_and(format!("theme `{theme}` did not load: {first}{more}"));
                    }
                    let names: Vec<&str> = self.themes.iter().map(|t| t.name.as_str()).collect();
                    let hint = crate::flow::suggest::did_you_mean(theme, names.iter().copied());
                    self.complain(format!(
                        "no theme `{theme}`{hint}; themes: {}",
                        names.join(", ")
                    ));
                }
            },
            ("theme", None) => {
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
                    self.say(text);
                } else {
                    self.complain(text);
                }
            }
            ("trigger", Some(id)) => {
                if self.flows.iter().any(|r| r.id == id) {
                    self.ask_trigger_of(id.to_string());
                } else {
                    let hint = crate::flow::suggest::did_you_mean(
                        id,
                        self.flows.iter().map(|r| r.id.as_str()),
                    );
                    self.complain(format!("no flow `{id}`{hint}"));
                }
            }
            ("run", Some(when)) => {
                let tz = self
                    .current_flow(&self.grid.flow_id)
                    .or_else(|| self.grid.flow.clone())
                    .map_or(chrono_tz::UTC, |f| f.timezone);
                match (self.grid.flow_id.is_empty(), parse_run_time(when, tz)) {
                    (true, _) => self.complain("no flow open: :grid NAME first"),
                    (false, Some(at)) => {
                        if !matches!(self.view, View::Grid | View::Graph) {
                            self.view = View::Grid;
                        }
                        self.jump_to_run(at, when);
                    }
                    (false, None) => self.complain(format!(
                        "`{}` is not a date: :run 2026-11-01, :run 2026-11-01T03:00 (the flow's timezone) or :run 2026-11-01T03:00:00Z",
                        crate::escape::line(when)
                    )),
                }
            }
            ("run", None) => {
                self.complain("which date? :run 2026-11-01 selects the newest run at or before it")
            }
            ("trigger", None) => self.ask_trigger(),
            (other, _) => {
                let hint = crate::flow::suggest::did_you_mean(other, COMMANDS.iter().copied());
                self.complain(format!("unknown command `:{other}`{hint}; try :flows :grid NAME :graph NAME :theme NAME :q"));
            }
        }
        Vec::new()
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
        self.tell(text, answer.code != 0);
        self.refresh_flows();
        if !self.grid.flow_id.is_empty() {
            self.load_runs();
        }
        if let Some(log) = self.log.as_mut() {
            log.reload_meta(&self.reader);
        }
    }

    /// Takes a click at (column, row): selects the row under it.
    pub fn click(&mut self, column: u16, row: u16) {
        self.select_at(column, row);
        self.refresh_detail();
    }

    fn select_at(&mut self, column: u16, row: u16) {
        match self.view {
            View::Flows => {
                // Title, tab bar, table header: rows start at 3.
                let Some(i) = (row as usize).checked_sub(3) else {
                    return;
                };
                let at = self.flow_list.offset + i;
                if at < self.visible_flows().len() {
                    self.flow_list.selected = at;
                }
            }
            View::Grid => {
                let Some(i) = row.checked_sub(GRID_ROWS_TOP).map(usize::from) else {
                    return;
                };
                let at = self.grid.rows.offset + i;
                if i < self.grid_height() && at < self.grid.rows().len() {
                    self.grid.rows.selected = at;
                }
                let name = self.grid_name_width() + 1;
                if let Some(x) = column.checked_sub(name) {
                    let cols = self.grid_columns();
                    if let Some(idx) = self.grid.column_run((x / GRID_CELL) as usize, cols) {
                        self.grid.run = idx;
                        self.follow_run_selection();
                    }
                }
            }
            _ => {}
        }
    }

    /// The task instances the clear dialog would reset, for highlighting.
    pub fn clear_preview(&self) -> Option<(&str, &[String])> {
        match &self.overlay {
            Some(Overlay::Clear { run_id, reset, .. }) => Some((run_id.as_str(), reset.as_slice())),
            _ => None,
        }
    }

    /// The parameters of the selected run, for the Grid's header.
    pub fn run_params(run: &Run) -> String {
        crate::tui::views::pairs(&run.params, " ")
    }
}
