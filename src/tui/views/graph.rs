//! The Graph view: the flow's DAG in layers, left to right, nodes coloured
//! by the selected run's states; the view scrolls to keep the selected node
//! in sight. A collapsed group of siblings is one double-lined box naming
//! its first and last members, with a count of its members per state on
//! its bottom border.
//!
//! The Graph shows the Grid's flow and selected run, and its selected node
//! is the Grid's selected task: its keys move that selection. What is its
//! own is the layout, which groups are open, and the search.
//!
//! May call: `tui::graph_layout`, the Grid (its flow, run and selection),
//! the drawing helpers in `views`.

use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::grid::GridView;
use super::{fit, put, steps};
use crate::store::TaskState;
use crate::tui::ctx::Ctx;
use crate::tui::graph_layout::{
    self, BOX_HEIGHT, Dir, Group, Layout, SLOT_PITCH, Shows, group_label,
};
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;

/// The Graph's layout, open groups and search.
#[derive(Debug, Clone, Default)]
pub struct GraphView {
    /// The layout, for a flow version and the open groups (flow id,
    /// version and `open`).
    pub layout: Option<(String, Arc<Layout>)>,
    /// Tasks whose sibling groups are drawn open (Enter opens one, Esc
    /// closes it); cleared when another flow is opened.
    pub open: Vec<String>,
    /// The search (`/`).
    pub search: String,
}

impl GraphView {
    /// Forgets the layout and the open groups: another flow is open.
    pub fn reset(&mut self) {
        self.layout = None;
        self.open.clear();
    }

    /// Lays out the Grid's flow, unless it is laid out.
    pub fn ensure(&mut self, grid: &GridView) {
        let Some(flow) = grid.flow.clone() else {
            return;
        };
        let key = format!("{}@{} {}", flow.id, flow.version, self.open.join(" "));
        if self.layout.as_ref().is_some_and(|(k, _)| *k == key) {
            return;
        }
        let names: Vec<&str> = flow.tasks.iter().map(|t| t.id.as_str()).collect();
        let open: Vec<usize> = (0..names.len())
            .filter(|&i| self.open.iter().any(|t| t == names[i]))
            .collect();
        let deps = flow.dep_indices();
        let layout = graph_layout::layout_grouped(&names, &deps, &open);
        self.layout = Some((key, Arc::new(layout)));
    }

    /// The collapsed group the selection is on, if it is on one.
    pub fn group(&self, grid: &GridView) -> Option<&Group> {
        let (_, layout) = self.layout.as_ref()?;
        let group = layout.groups.get(layout.group_of(node(grid)?)?)?;
        (!group.open).then_some(group)
    }

    /// Opens (or closes) the group of the selected task and lays the graph
    /// out again. Opening selects the group's first member.
    fn open_group(&mut self, grid: &mut GridView, ctx: &Ctx, open: bool) {
        let Some((_, layout)) = self.layout.clone() else {
            return;
        };
        let Some(flow) = grid.flow.clone() else {
            return;
        };
        let Some(group) = node(grid)
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
        self.open.retain(|t| !ids.contains(&t.as_str()));
        if open && let Some(first) = ids.first() {
            self.open.push(first.to_string());
            self.open.sort_unstable();
            grid.select_task(ctx, first);
        }
        self.ensure(grid);
    }

    /// Takes the keys of this view: moving along the edges, opening and
    /// folding groups, the search's matches. False for the keys it leaves
    /// to the app (Enter on a task opens its log, Esc goes to the Grid).
    pub fn on_action(&mut self, grid: &mut GridView, ctx: &mut Ctx, action: Action) -> bool {
        match action {
            Action::Enter if self.group(grid).is_some() => {
                self.open_group(grid, ctx, true);
                true
            }
            Action::Back if !self.search.is_empty() => {
                self.search.clear();
                ctx.say("filter cleared");
                true
            }
            // Esc closes the open group the selection is in.
            Action::Back => {
                let in_open = self.layout.as_ref().is_some_and(|(_, layout)| {
                    node(grid)
                        .and_then(|t| layout.group_of(t))
                        .and_then(|g| layout.groups.get(g))
                        .is_some_and(|g| g.open)
                });
                if in_open {
                    self.open_group(grid, ctx, false);
                }
                in_open
            }
            Action::NextMatch | Action::PrevMatch => {
                self.next_match(grid, ctx, action == Action::NextMatch);
                true
            }
            _ => match steps(action, ctx.page()) {
                Some((dx, dy)) => {
                    self.move_by(grid, ctx, dx, dy);
                    true
                }
                None => false,
            },
        }
    }

    /// Moves the selection to the next box in a direction: `dx` across
    /// layers, `dy` within one (a page or first/last repeats the step).
    fn move_by(&mut self, grid: &mut GridView, ctx: &Ctx, dx: isize, dy: isize) {
        let Some((_, layout)) = self.layout.clone() else {
            return;
        };
        let Some(from) = node(grid).and_then(|t| layout.box_of(t)) else {
            if let Some(t) = grid.flow.as_ref().and_then(|f| f.tasks.first()) {
                let id = t.id.clone();
                grid.select_task(ctx, &id);
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
        if let Some(t) = task.and_then(|i| grid.flow.as_ref()?.tasks.get(i)) {
            let id = t.id.clone();
            grid.select_task(ctx, &id);
        }
    }

    /// Selects the next (or previous) task matching the search, opening
    /// the group it is in.
    fn next_match(&mut self, grid: &mut GridView, ctx: &mut Ctx, forward: bool) {
        let needle = self.search.to_lowercase();
        if needle.is_empty() {
            return;
        }
        let tasks: Vec<String> = grid.tasks.clone();
        let at = node(grid).unwrap_or(0);
        let n = tasks.len();
        for k in 1..=n {
            let i = if forward {
                (at + k) % n
            } else {
                (at + n - k % n) % n
            };
            if tasks[i].to_lowercase().contains(&needle) {
                let id = tasks[i].clone();
                grid.select_task(ctx, &id);
                // A match inside a collapsed group opens it.
                if self.group(grid).is_some() {
                    self.open_group(grid, ctx, true);
                    grid.select_task(ctx, &id);
                }
                return;
            }
        }
        ctx.complain(format!("no task matches `{needle}`"));
    }

    /// The search as typed so far: the first matching task is selected.
    pub fn set_search(&mut self, grid: &mut GridView, ctx: &Ctx, text: &str) {
        self.search = text.to_string();
        let needle = text.to_lowercase();
        if !needle.is_empty() {
            let hit = grid
                .tasks
                .iter()
                .find(|t| t.to_lowercase().contains(&needle))
                .cloned();
            if let Some(t) = hit {
                grid.select_task(ctx, &t);
            }
        }
    }
}

/// Index of the Grid's selected task in the flow (the Graph's node).
pub fn node(grid: &GridView) -> Option<usize> {
    let task = grid.selected_task()?;
    grid.flow.as_ref()?.tasks.iter().position(|t| t.id == task)
}

/// The order of a group's counts: done well, under way, gone wrong, not
/// started.
const SUMMARY_ORDER: [TaskState; 8] = [
    TaskState::Success,
    TaskState::Running,
    TaskState::Queued,
    TaskState::UpForRetry,
    TaskState::Failed,
    TaskState::UpstreamFailed,
    TaskState::Skipped,
    TaskState::Pending,
];

/// Which of its members' states a group box shows as its own (glyph and
/// colour): the first present in this order, so trouble shows first.
const HEADLINE_ORDER: [TaskState; 8] = [
    TaskState::Failed,
    TaskState::UpForRetry,
    TaskState::UpstreamFailed,
    TaskState::Running,
    TaskState::Queued,
    TaskState::Pending,
    TaskState::Skipped,
    TaskState::Success,
];

/// The selected run's states of a group's members: how many are in each
/// state, in [`SUMMARY_ORDER`], leaving out states none is in. A member
/// the run has no instance of counts as pending. Empty without a run.
fn counts(grid: &GridView, group: &Group) -> Vec<(TaskState, usize)> {
    let (Some(run), Some(flow)) = (grid.selected_run(), grid.flow.as_ref()) else {
        return Vec::new();
    };
    let mut n = [0usize; 8];
    for &m in &group.members {
        let state = flow
            .tasks
            .get(m)
            .and_then(|t| grid.instance(&run.id, &t.id))
            .map_or(TaskState::Pending, |ti| ti.state);
        if let Some(k) = SUMMARY_ORDER.iter().position(|&s| s == state) {
            n[k] += 1;
        }
    }
    SUMMARY_ORDER
        .iter()
        .zip(n)
        .filter(|&(_, c)| c > 0)
        .map(|(&s, c)| (s, c))
        .collect()
}

/// A group's counts as `✓12 ▶3 ✗1` pieces, each in its state's style.
fn summary(theme: &Theme, counts: &[(TaskState, usize)]) -> Vec<(String, Style)> {
    counts
        .iter()
        .map(|&(s, c)| (format!("{}{c}", s.glyph()), theme.task(s)))
        .collect()
}

/// A group's label text: `first … last ×count`.
fn label_of(grid: &GridView, group: &Group) -> String {
    let name = |i: Option<&usize>| {
        i.and_then(|&i| grid.flow.as_ref()?.tasks.get(i))
            .map_or("", |t| t.id.as_str())
    };
    group_label(
        name(group.members.first()),
        name(group.members.last()),
        group.members.len(),
    )
}

impl GraphView {
    /// Draws the Grid's flow and selected run as a graph.
    pub fn render(&self, grid: &GridView, ctx: &Ctx, theme: &Theme, area: Rect, buf: &mut Buffer) {
        grid.run_header(
            ctx,
            theme,
            grid.selected_run(),
            Rect { height: 1, ..area },
            buf,
        );
        let Some((_, layout)) = &self.layout else {
            put(
                buf,
                area.x,
                area.y + 2,
                "no graph: this flow's file does not validate",
                area.width,
                theme.dim(),
            );
            return;
        };
        let Some(flow) = grid.flow.as_ref() else {
            return;
        };
        // The selected task's details at the foot, as in the Grid.
        let details_h: u16 = 3;
        let canvas = Rect {
            y: area.y + 2,
            height: area.height.saturating_sub(2 + details_h),
            ..area
        };
        let top = area.bottom().saturating_sub(details_h);
        super::rule(buf, area.x, top, area.width, theme.border(false));
        let details = Rect::new(area.x, top + 1, area.width, 2);
        match self.group(grid) {
            Some(group) => group_details(grid, theme, group, details, buf),
            None => grid.instance_details(ctx, theme, details, buf),
        }
        let selected = node(grid).and_then(|t| layout.box_of(t));
        // Scroll so the selected node sits in view, centred when the graph is
        // larger than the screen.
        let (mut ox, mut oy) = (0u16, 0u16);
        if let Some(node) = selected.and_then(|i| layout.nodes.get(i)) {
            if layout.width > canvas.width {
                let centre = node.x + node.width / 2;
                ox = centre
                    .saturating_sub(canvas.width / 2)
                    .min(layout.width - canvas.width);
            }
            if layout.height > canvas.height {
                oy = (node.y + 1)
                    .saturating_sub(canvas.height / 2)
                    .min(layout.height - canvas.height);
                // Rows of boxes start every SLOT_PITCH rows: scroll by whole
                // rows so the top one is not cut through (its top border
                // gone); one row further when that would cut the selection's
                // bottom instead.
                let pitch = SLOT_PITCH as u16;
                oy -= oy % pitch;
                if node.y + BOX_HEIGHT > oy + canvas.height && oy + pitch <= node.y {
                    oy += pitch;
                }
            }
        }
        let inside = |x: u16, y: u16| -> Option<(u16, u16)> {
            let (x, y) = (x.checked_sub(ox)?, y.checked_sub(oy)?);
            (x < canvas.width && y < canvas.height).then_some((canvas.x + x, canvas.y + y))
        };
        // The selected task's edges and the boxes at their other ends are
        // lit (the focused border's colour; bold without colour), so its
        // neighbours stand out in a large graph.
        let lit_edges = selected.map(|i| layout.edge_cells(i)).unwrap_or_default();
        let lit_nodes: std::collections::HashSet<usize> = selected
            .map(|i| layout.adjacent(i).collect())
            .unwrap_or_default();
        let lit = theme.border(true).add_modifier(Modifier::BOLD);
        for &(x, y, glyph) in &layout.edges {
            if let Some((sx, sy)) = inside(x, y) {
                let style = if lit_edges.contains(&(x, y)) {
                    lit
                } else {
                    theme.border(false)
                };
                buf.set_stringn(sx, sy, glyph.to_string(), 1, style);
            }
        }
        let run = grid.selected_run();
        for (i, node) in layout.nodes.iter().enumerate() {
            let shows = layout.shows.get(i).copied().unwrap_or(Shows::Task(i));
            let (state, name, group) = match shows {
                Shows::Task(t) => {
                    let Some(task) = flow.tasks.get(t) else {
                        continue;
                    };
                    let state = run
                        .and_then(|r| grid.instance(&r.id, &task.id))
                        .map(|ti| ti.state);
                    (state, task.id.clone(), None)
                }
                Shows::Group(g) => {
                    let Some(group) = layout.groups.get(g) else {
                        continue;
                    };
                    let counts = counts(grid, group);
                    let state = HEADLINE_ORDER
                        .into_iter()
                        .find(|s| counts.iter().any(|(c, _)| c == s));
                    (state, label_of(grid, group), Some(counts))
                }
            };
            let is_selected = selected == Some(i);
            let state_style = match state {
                Some(s) => theme.task(s),
                None => theme.dim(),
            };
            let border = if is_selected {
                theme.border(true).add_modifier(Modifier::BOLD)
            } else if lit_nodes.contains(&i) {
                theme.border(true)
            } else {
                state_style
            };
            let w = node.width;
            // A group's box is double-lined, so it reads as more than one task.
            let [tl, tr, bl, br, h, v] = if group.is_some() {
                ["╔", "╗", "╚", "╝", "═", "║"]
            } else {
                ["┌", "┐", "└", "┘", "─", "│"]
            };
            let inner_w = w.saturating_sub(2) as usize;
            let top = format!("{tl}{}{tr}", h.repeat(inner_w));
            let bottom = format!("{bl}{}{br}", h.repeat(inner_w));
            let glyph = state.map_or(TaskState::Pending.glyph(), TaskState::glyph);
            let label = fit(&format!("{glyph} {name}"), w.saturating_sub(4) as usize);
            let label_style = if is_selected {
                state_style
                    .patch(theme.selection())
                    .add_modifier(Modifier::BOLD)
            } else {
                state_style
            };
            for (dy, text) in [(0u16, &top), (2, &bottom)] {
                draw_clipped(buf, &inside, node.x, node.y + dy, text, border);
            }
            draw_clipped(buf, &inside, node.x, node.y + 1, v, border);
            draw_clipped(
                buf,
                &inside,
                node.x + w.saturating_sub(1),
                node.y + 1,
                v,
                border,
            );
            let inner = format!(" {label:<width$} ", width = w.saturating_sub(4) as usize);
            draw_clipped(buf, &inside, node.x + 1, node.y + 1, &inner, label_style);
            // The counts sit on the bottom border, ` ✓12 ▶3 ✗1 `, as many as
            // fit with a border cell left at each end.
            if let Some(counts) = group {
                let mut x = node.x + 2;
                let end = (node.x + w).saturating_sub(2);
                for (text, style) in summary(theme, &counts) {
                    let piece = format!(" {text}");
                    let pw = unicode_width::UnicodeWidthStr::width(piece.as_str()) as u16;
                    if x + pw + 1 > end {
                        draw_clipped(buf, &inside, x, node.y + 2, " …", border);
                        x += 2;
                        break;
                    }
                    draw_clipped(buf, &inside, x, node.y + 2, " ", border);
                    draw_clipped(buf, &inside, x + 1, node.y + 2, &text, style);
                    x += pw;
                }
                if x > node.x + 2 {
                    draw_clipped(buf, &inside, x, node.y + 2, " ", border);
                }
            }
        }
        if layout.width > canvas.width || layout.height > canvas.height {
            let note = format!(
                "{}×{} graph, scrolled to the selection",
                layout.width, layout.height
            );
            let w = note.chars().count() as u16;
            put(
                buf,
                area.right().saturating_sub(w),
                area.y + 1,
                &note,
                w,
                theme.dim(),
            );
        }
    }
}

/// The foot when a collapsed group is selected: what it holds and how the
/// selected run's states of its members add up, and how to open it.
fn group_details(grid: &GridView, theme: &Theme, group: &Group, area: Rect, buf: &mut Buffer) {
    let mut x = area.x + 1;
    let end = area.right();
    let mut text = |x: &mut u16, s: &str, style: Style| {
        if *x < end {
            put(buf, *x, area.y, s, end - *x, style);
            *x += unicode_width::UnicodeWidthStr::width(s) as u16;
        }
    };
    let head = format!("{} tasks: {}", group.members.len(), label_of(grid, group));
    text(&mut x, &head, theme.title());
    let counts = counts(grid, group);
    if counts.is_empty() {
        text(&mut x, " · no run selected", theme.dim());
    } else {
        text(&mut x, " ·", theme.dim());
        for (piece, style) in summary(theme, &counts) {
            text(&mut x, &format!(" {piece}"), style);
        }
    }
    put(
        buf,
        area.x + 1,
        area.y + 1,
        "same upstreams and downstreams, drawn as one box: Enter shows each task, Esc folds them again",
        area.width.saturating_sub(1),
        theme.dim(),
    );
}

/// Writes `text` starting at canvas cell (x, y), skipping the cells that
/// fall outside the view.
fn draw_clipped(
    buf: &mut Buffer,
    inside: &dyn Fn(u16, u16) -> Option<(u16, u16)>,
    x: u16,
    y: u16,
    text: &str,
    style: ratatui::style::Style,
) {
    let mut cx = x;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) as u16;
        if let Some((sx, sy)) = inside(cx, y)
            && let Some(cell) = buf.cell_mut((sx, sy))
        {
            cell.set_char(c).set_style(style);
        }
        cx += w.max(1);
    }
}
