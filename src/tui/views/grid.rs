//! The Grid view: one flow's tasks as rows (topological order) and runs as
//! columns, newest right, a state glyph per cell; run durations as a bar
//! strip above and each run's state under it; the selected task
//! instance's details at the bottom.
//!
//! The Grid holds the open flow's runs (read a page at a time as it
//! scrolls back), the task instances of the runs near the screen, and the
//! selection, which the Graph and the Logs view follow.
//!
//! May call: the `Source` through `Ctx` (runs, task instances, tries),
//! the drawing helpers in `views`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::{ListState, put, short_duration, steps};
use crate::flow::Flow;
use crate::store::{Run, TaskInstance, Try};
use crate::tui::ctx::Ctx;
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;

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

use GRID_BARS as BARS;

const EIGHTHS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The Grid's data for one flow: its runs (newest first), the task
/// instances of the runs on screen, and the selection.
#[derive(Debug, Clone, Default)]
pub struct GridView {
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
    pub detail: Option<(String, String, u32, Vec<Try>)>,
    /// The newest run shown at the right edge.
    pub run_offset: usize,
}

impl GridView {
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

    /// Run columns that fit at the screen's width.
    pub fn columns(&self, ctx: &Ctx) -> usize {
        let name = self.name_width(ctx);
        (ctx.width.saturating_sub(name + 3) / GRID_CELL).max(1) as usize
    }

    /// Width of the task-name column.
    pub fn name_width(&self, ctx: &Ctx) -> u16 {
        let longest = self
            .tasks
            .iter()
            .map(|t| unicode_width::UnicodeWidthStr::width(t.as_str()))
            .max()
            .unwrap_or(4) as u16;
        longest.clamp(8, GRID_NAME_MAX).min(ctx.width / 2)
    }

    /// Task rows that fit on screen.
    pub fn height(&self, ctx: &Ctx) -> usize {
        ctx.height.saturating_sub(GRID_ROWS_TOP + GRID_FOOT).max(1) as usize
    }

    /// Opens flow `id`: loads its runs. True when it is another flow than
    /// the one open (the selection starts afresh).
    pub fn open(&mut self, ctx: &Ctx, id: &str) -> bool {
        let other = self.flow_id != id;
        if other {
            *self = GridView {
                flow_id: id.to_string(),
                ..GridView::default()
            };
        }
        self.flow = ctx.current_flow(id);
        self.load_runs(ctx);
        self.refresh_detail(ctx);
        other
    }

    /// Takes the open flow's version from a new status.
    pub fn status_changed(&mut self, ctx: &Ctx) {
        if !self.flow_id.is_empty() {
            self.flow = ctx.current_flow(&self.flow_id);
            self.sync_tasks(ctx);
        }
    }

    /// Loads the runs the Grid shows (and a page more), keeping the
    /// selected run selected. Reads the run list afresh (a run was added);
    /// scrolling back reads only the older runs, with `load_older`.
    pub fn load_runs(&mut self, ctx: &Ctx) {
        let id = self.flow_id.clone();
        if id.is_empty() {
            return;
        }
        let keep = self.selected_run().map(|r| r.id.clone());
        let stick_newest = self.run == 0;
        let want = (self.run_offset + 2 * self.columns(ctx))
            .max(self.runs.len())
            .max(GRID_RUN_PAGE);
        // The runs, their count and the task instances of those on screen
        // (when they are among the newest) in one ask.
        let cols = self.columns(ctx);
        let on_screen = if self.run_offset <= cols {
            self.run_offset + cols + GRID_READ_AHEAD
        } else {
            0
        };
        let stored = ctx
            .source
            .flow_runs(std::slice::from_ref(&id), want, on_screen)
            .pop();
        let (runs, count, read) = stored.map_or((Vec::new(), 0, Vec::new()), |s| {
            (s.newest, s.count, s.instances)
        });
        self.runs = runs;
        self.total_runs = count.max(self.runs.len());
        if !stick_newest
            && let Some(i) = keep.and_then(|k| self.runs.iter().position(|r| r.id == k))
        {
            self.run = i;
        }
        self.run = self.run.min(self.runs.len().saturating_sub(1));
        self.instances.clear();
        for (run, tis) in self.runs.iter().zip(read) {
            self.instances.insert(run.id.clone(), tis);
        }
        self.follow_run_selection(ctx);
        self.sync_tasks(ctx);
    }

    /// Appends the next page of older runs to the run list, without
    /// reading again the runs it has; false when there are no more.
    fn load_older(&mut self, ctx: &Ctx) -> bool {
        let Some(oldest) = self.runs.last() else {
            return false;
        };
        let page = GRID_RUN_PAGE.max(2 * self.columns(ctx));
        let older = ctx
            .source
            .runs_before(&self.flow_id, oldest, page)
            .unwrap_or_default();
        if older.is_empty() {
            self.total_runs = self.runs.len();
            return false;
        }
        self.runs.extend(older);
        self.total_runs = self.total_runs.max(self.runs.len());
        true
    }

    /// Loads task instances of the runs on screen, and of
    /// `GRID_READ_AHEAD` more on each side in one read when any is
    /// missing. Drops the instances of runs more than a screen away: at
    /// most three screens of runs keep theirs.
    fn load_window(&mut self, ctx: &Ctx) {
        let cols = self.columns(ctx);
        let len = self.runs.len();
        let lo = self.run_offset.min(len);
        let hi = (lo + cols).min(len);
        let (keep_lo, keep_hi) = (lo.saturating_sub(cols), (hi + cols).min(len));
        let kept: HashSet<&str> = self.runs[keep_lo..keep_hi]
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        self.instances.retain(|k, _| kept.contains(k.as_str()));
        let missing = self.runs[lo..hi]
            .iter()
            .any(|r| !self.instances.contains_key(&r.id));
        if !missing {
            return;
        }
        // The missing runs on screen and a few beyond it, read in one scan:
        // a step reads a few runs now and then, a page a screen.
        let (ahead_lo, ahead_hi) = (
            lo.saturating_sub(GRID_READ_AHEAD),
            (hi + GRID_READ_AHEAD).min(len),
        );
        let near = &self.runs[ahead_lo..ahead_hi];
        let absent = |r: &Run| !self.instances.contains_key(&r.id);
        let (Some(first), Some(last)) =
            (near.iter().position(absent), near.iter().rposition(absent))
        else {
            return;
        };
        let span = &near[first..=last];
        let read = ctx.source.task_instances_of(span).unwrap_or_default();
        for (run, tis) in span.iter().zip(read) {
            self.instances.entry(run.id.clone()).or_insert(tis);
        }
    }

    /// Row order: the flow's tasks, then any task only loaded runs have.
    fn sync_tasks(&mut self, ctx: &Ctx) {
        let mut tasks: Vec<String> = self
            .flow
            .as_ref()
            .map(|f| f.tasks.iter().map(|t| t.id.clone()).collect())
            .unwrap_or_default();
        let known: HashSet<String> = tasks.iter().cloned().collect();
        let mut extra: Vec<String> = self
            .instances
            .values()
            .flatten()
            .map(|ti| ti.task.clone())
            .filter(|t| !known.contains(t))
            .collect();
        extra.sort();
        extra.dedup();
        tasks.extend(extra);
        if tasks != self.tasks {
            let keep = self.selected_task().map(str::to_string);
            self.tasks = tasks;
            if let Some(i) = keep.and_then(|k| self.rows().iter().position(|t| *t == k)) {
                self.rows.selected = i;
            }
        }
        let (len, h) = (self.rows().len(), self.height(ctx));
        self.rows.clamp(len, h);
    }

    /// Keeps the selected run on screen after moving, loading more runs
    /// when scrolling back.
    fn follow_run_selection(&mut self, ctx: &Ctx) {
        let cols = self.columns(ctx);
        if self.run < self.run_offset {
            self.run_offset = self.run;
        } else if self.run >= self.run_offset + cols {
            self.run_offset = self.run + 1 - cols;
        }
        while self.run_offset + 2 * cols > self.runs.len()
            && self.runs.len() < self.total_runs
            && self.load_older(ctx)
        {}
        self.load_window(ctx);
    }

    /// Moves a screen of runs older or newer, the selection keeping its
    /// column where it can (the Graph's run moves with it).
    pub fn page_runs(&mut self, ctx: &Ctx, older: bool) {
        if self.runs.is_empty() {
            return;
        }
        let cols = self.columns(ctx);
        if older {
            let last = self.total_runs.max(self.runs.len()).saturating_sub(1);
            self.run = (self.run + cols).min(last);
            self.run_offset = (self.run_offset + cols).min(last.saturating_sub(cols - 1));
        } else {
            self.run = self.run.saturating_sub(cols);
            self.run_offset = self.run_offset.saturating_sub(cols);
        }
        while self.run >= self.runs.len() && self.load_older(ctx) {}
        self.run = self.run.min(self.runs.len().saturating_sub(1));
        self.follow_run_selection(ctx);
    }

    /// `:run WHEN`: selects the newest run at or before WHEN, in the open
    /// flow's timezone. True when WHEN is a time and a flow is open (the
    /// app then shows the Grid, or keeps the Graph); what went wrong is
    /// said.
    pub fn go_to_run(&mut self, ctx: &mut Ctx, when: &str) -> bool {
        let tz = ctx
            .current_flow(&self.flow_id)
            .or_else(|| self.flow.clone())
            .map_or(chrono_tz::UTC, |f| f.timezone);
        match (self.flow_id.is_empty(), parse_run_time(when, tz)) {
            (true, _) => {
                ctx.complain("no flow open: :grid NAME first");
                false
            }
            (false, Some(at)) => {
                self.jump_to_run(ctx, at, when);
                true
            }
            (false, None) => {
                ctx.complain(format!(
                    "`{}` is not a date: :run 2026-11-01, :run 2026-11-01T03:00 (the flow's timezone) or :run 2026-11-01T03:00:00Z",
                    crate::escape::line(when)
                ));
                false
            }
        }
    }

    /// Selects the newest run whose logical time is at or before `at`,
    /// reading runs as far back as it is.
    fn jump_to_run(&mut self, ctx: &mut Ctx, at: DateTime<Utc>, asked: &str) {
        let flow = self.flow_id.clone();
        let asked = crate::escape::line(asked);
        match ctx.source.run_at_or_before(&flow, at) {
            Ok(Some((index, _))) => {
                while index >= self.runs.len() && self.load_older(ctx) {}
                if index >= self.runs.len() {
                    return ctx.complain(format!("run {asked} of {flow} is gone"));
                }
                let cols = self.columns(ctx);
                self.run = index;
                // The run in the middle of the screen: what led to it and
                // what came after are both in view.
                let last = self.total_runs.max(self.runs.len());
                self.run_offset = index
                    .saturating_sub(cols / 2)
                    .min(last.saturating_sub(cols));
                self.follow_run_selection(ctx);
            }
            Ok(None) => ctx.complain(format!("{flow} has no run at or before {asked}")),
            Err(e) => ctx.complain(format!("cannot read the runs of {flow}: {e}")),
        }
    }

    /// Reads the selected task instance's tries, unless they are at hand.
    pub fn refresh_detail(&mut self, ctx: &Ctx) {
        let (Some(run), Some(task)) = (self.selected_run(), self.selected_task()) else {
            self.detail = None;
            return;
        };
        let Some(ti) = self.instance(&run.id, task) else {
            self.detail = None;
            return;
        };
        let fresh = self
            .detail
            .as_ref()
            .is_some_and(|(r, t, n, _)| *r == run.id && t == task && *n == ti.tries);
        if !fresh {
            // (From a remote instance the tries come a moment later.)
            match ctx.source.tries_soon(run, task) {
                Some(tries) => {
                    self.detail = Some((run.id.clone(), task.to_string(), ti.tries, tries))
                }
                None => self.detail = None,
            }
        }
    }

    /// The latest try of the selected task instance, if read.
    pub fn detail_try(&self) -> Option<&Try> {
        let (run_id, task, _, tries) = self.detail.as_ref()?;
        let selected = self.selected_run()?.id == *run_id && self.selected_task()? == task;
        selected.then(|| tries.last()).flatten()
    }

    /// Reads one run and (if they are loaded) its task instances again.
    pub fn reload_run(&mut self, ctx: &Ctx, run_id: &str) {
        // The run and its instances in one ask.
        let Some(detail) = ctx.source.task_detail(&self.flow_id, run_id, None) else {
            return;
        };
        let run = detail.run;
        if self.instances.contains_key(run_id) {
            self.instances.insert(run_id.to_string(), detail.instances);
        }
        if let Some(r) = self.runs.iter_mut().find(|r| r.id == run_id) {
            *r = run;
        }
    }

    /// Selects `task`'s row, dropping a filter that hides it.
    pub fn select_task(&mut self, ctx: &Ctx, task: &str) {
        if !self.rows().contains(&task) {
            self.rows.filter.clear();
        }
        if let Some(i) = self.rows().iter().position(|t| *t == task) {
            self.rows.selected = i;
            let (len, h) = (self.rows().len(), self.height(ctx));
            self.rows.clamp(len, h);
        }
    }

    /// Takes the keys of this view: moving across tasks and runs, and
    /// dropping the filter. False for the keys it leaves to the app
    /// (Enter opens the log, Esc without a filter goes to the Flows).
    pub fn on_action(&mut self, ctx: &mut Ctx, action: Action) -> bool {
        if action == Action::Back && !self.rows.filter.is_empty() {
            self.rows.filter.clear();
            ctx.say("filter cleared");
            return true;
        }
        let page = self.height(ctx).saturating_sub(1).max(1);
        let (dx, dy) = match action {
            Action::NextMatch => (0, 1),
            Action::PrevMatch => (0, -1),
            _ => match steps(action, page) {
                Some(step) => step,
                None => return false,
            },
        };
        self.move_by(ctx, dx, dy);
        true
    }

    /// Moves the selection: `dx` across runs (right is newer), `dy` along
    /// the tasks.
    fn move_by(&mut self, ctx: &Ctx, dx: isize, dy: isize) {
        if dy != 0 {
            let len = self.rows().len();
            self.rows.step(dy, len);
            let h = self.height(ctx);
            self.rows.clamp(len, h);
        }
        if dx != 0 && !self.runs.is_empty() {
            // Right is newer: index 0 is the newest run.
            let max = self.total_runs.max(self.runs.len()).saturating_sub(1) as isize;
            self.run = (self.run as isize - dx).clamp(0, max) as usize;
            while self.run >= self.runs.len() && self.load_older(ctx) {}
            self.run = self.run.min(self.runs.len().saturating_sub(1));
            self.follow_run_selection(ctx);
        }
    }

    /// The filter as typed so far; the selected task stays selected if it
    /// matches.
    pub fn set_filter(&mut self, ctx: &Ctx, text: &str) {
        let keep = self.selected_task().map(str::to_string);
        self.rows.filter = text.to_string();
        self.rows.selected = 0;
        if let Some(i) = keep.and_then(|k| self.rows().iter().position(|t| *t == k)) {
            self.rows.selected = i;
        }
        let (len, h) = (self.rows().len(), self.height(ctx));
        self.rows.clamp(len, h);
    }

    /// A click at (column, row) selects the task row and the run column
    /// under it.
    pub fn click(&mut self, ctx: &Ctx, column: u16, row: u16) {
        let Some(i) = row.checked_sub(GRID_ROWS_TOP).map(usize::from) else {
            return;
        };
        let at = self.rows.offset + i;
        if i < self.height(ctx) && at < self.rows().len() {
            self.rows.selected = at;
        }
        let name = self.name_width(ctx) + 1;
        if let Some(x) = column.checked_sub(name) {
            let cols = self.columns(ctx);
            if let Some(idx) = self.column_run((x / GRID_CELL) as usize, cols) {
                self.run = idx;
                self.follow_run_selection(ctx);
            }
        }
    }
}

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

impl GridView {
    /// Draws the Grid; `preview` is what the clear dialog would reset
    /// (run id, tasks), lit in the cells.
    pub fn render(
        &self,
        ctx: &Ctx,
        theme: &Theme,
        preview: Option<(&str, &[String])>,
        area: Rect,
        buf: &mut Buffer,
    ) {
        let grid = self;
        if area.height < 8 {
            return;
        }
        // Header: the selected run.
        self.run_header(
            ctx,
            theme,
            grid.selected_run(),
            Rect { height: 1, ..area },
            buf,
        );
        let name_w = self.name_width(ctx);
        let cols = self.columns(ctx);
        let x0 = area.x + name_w + 1;
        let run_at = |c: usize| -> Option<(usize, &Run)> {
            let idx = grid.column_run(c, cols)?;
            grid.runs.get(idx).map(|r| (idx, r))
        };
        let cell_x = |c: usize| x0 + c as u16 * GRID_CELL;
        // Duration bars, scaled to the longest run on screen; a run that has
        // not started has no bar and no say in the scale.
        let durations: Vec<Option<i64>> = (0..cols)
            .map(|c| run_at(c).and_then(|(_, r)| run_millis(r, ctx.now)))
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
                if preview.is_some_and(|(r, reset)| r == run.id && reset.iter().any(|t| t == task))
                {
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
        self.instance_details(ctx, theme, Rect::new(area.x, top + 1, area.width, 2), buf);
    }
}

/// A run's length so far, in milliseconds; None before it starts.
fn run_millis(run: &Run, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let start = run.started?;
    Some((run.ended.unwrap_or(now) - start).num_milliseconds().max(0))
}

impl GridView {
    /// One line about a run: id, state, duration, params, kind.
    pub fn run_header(
        &self,
        ctx: &Ctx,
        theme: &Theme,
        run: Option<&Run>,
        area: Rect,
        buf: &mut Buffer,
    ) {
        let Some(run) = run else {
            put(
                buf,
                area.x,
                area.y,
                &format!("{} · no runs yet", self.flow_id),
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
            let d = run.ended.unwrap_or(ctx.now) - start;
            spans.push(Span::styled(
                format!(" · {}", short_duration(d)),
                theme.text(),
            ));
        }
        if let Some(i) = self.runs.iter().position(|r| r.id == run.id) {
            spans.push(Span::styled(
                format!(
                    " · run {} of {}",
                    self.total_runs.saturating_sub(i),
                    self.total_runs
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
        let params = super::pairs(&run.params, " ");
        if !params.is_empty() {
            spans.push(Span::styled(format!(" · {params}"), theme.dim()));
        }
        let line = super::fit_line(Line::from(spans), area.width as usize);
        buf.set_line(area.x, area.y, &line, area.width);
    }

    /// Two lines about the selected task instance: its state, try and retry
    /// time; then why it is in its state, or its latest try's start, length,
    /// exit and outputs.
    pub fn instance_details(&self, ctx: &Ctx, theme: &Theme, area: Rect, buf: &mut Buffer) {
        let grid = self;
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
                format!(" · retry {}", super::relative(at, ctx.now)),
                theme.text(),
            ));
        }
        buf.set_line(
            area.x + 1,
            area.y,
            &Line::from(spans),
            area.width.saturating_sub(1),
        );
        let latest = self.detail_try();
        use crate::store::TaskState::{Pending, Queued, UpstreamFailed};
        let waiting = matches!(ti.state, Pending | Queued | UpstreamFailed);
        let text = match (&ti.note, latest) {
            (None, Some(t)) if !waiting => {
                let mut parts = vec![format!(
                    "started {}",
                    super::zoned_seconds(
                        t.started,
                        super::flow_tz(ctx, grid.flow.as_ref(), &grid.flow_id)
                    )
                )];
                parts.push(short_duration(t.ended.unwrap_or(ctx.now) - t.started));
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
            _ => super::explain(ti),
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
}
