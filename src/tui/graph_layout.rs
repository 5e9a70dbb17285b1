//! Pure layered layout of a flow's task DAG for the Graph view.
//!
//! Input: one label per task and, per task, the tasks it depends on. Output:
//! a [`Layout`] with one 3-row box per task and every cell of every edge as a
//! box-drawing glyph, on a canvas that grows left to right. No IO and no
//! ratatui types: the view draws from it and scrolls it.
//!
//! The steps, in the order [`layout`] runs them:
//!
//! 1. **Layering.** A task's layer is the length of the longest dependency
//!    path leading to it: sources are layer 0, every other task sits one
//!    layer right of its deepest upstream. Layers become columns, so every
//!    edge runs left to right.
//! 2. **Dummies.** An edge spanning more than one layer is split by a dummy
//!    node in every layer it passes over. A dummy takes a slot in its layer
//!    like a task does and is drawn as a straight `─` across that layer's
//!    column, so every edge segment joins adjacent layers and no line ever
//!    runs through a box.
//! 3. **Ordering.** The order inside each layer decides how many edges
//!    cross. Starting from input order (tasks without any edge go to the
//!    bottom of layer 0), four rounds of a downward sweep (sort each layer
//!    by the barycenter of its upstream neighbours' positions) and an upward
//!    sweep (same with downstream neighbours) run. After each sweep the
//!    crossings are counted (inversions, `O(E log V)` per layer pair) and the
//!    best ordering seen wins. Sorts are stable, so ties keep the previous
//!    order, which starts as input order: the output is deterministic.
//! 4. **Coordinates.** Slot `k` of a layer is at row `y = 4k` (a box of 3
//!    rows plus a blank row). A layer's column is as wide as its widest box;
//!    boxes are left-aligned in it. Columns are separated by routing gaps at
//!    least [`MIN_GAP`] (6) cells wide, wider when their edges need more
//!    vertical tracks.
//! 5. **Routing.** An edge leaves its source on the middle row (`y + 1`)
//!    from the cell right of the box, runs right to a vertical *track* in
//!    the gap, along it to the target's middle row and right into the
//!    target, ending in an [`ARROWHEAD`] (`▶`) in the gap's last cell, just
//!    left of the target box. Edges sharing a track form a *net*: all edges
//!    of a source with several targets (a fork: `┬ ├ ┤ ┼`), or all
//!    single-target sources feeding one node (a join). Nets whose row spans
//!    overlap get different tracks (interval packing). A net ending on the
//!    row where another net's source line starts must sit right of that
//!    net's track, or the two horizontal lines would run into each other,
//!    so tracks are assigned in a topological order of these constraints.
//!    When they form a cycle (lines swapping rows), or obeying them would
//!    widen the gap past the row overlap plus two tracks (long staircases),
//!    the constraint is dropped and the edge takes a *jog* instead: it
//!    leaves its track one row before the target row, runs right along that
//!    spare row (where it can only cross vertical lines) to a track beyond
//!    the other source line, and drops into the target row there. Two lines
//!    thus only share a cell when they have the same source, the same
//!    target, or cross at right angles (`┼`).
//! 6. **Glyph merging.** Each edge segment is a polyline that sets direction
//!    bits (N, E, S, W) in the cells it passes; the bits of all segments in
//!    a cell are OR-ed and mapped to one light box-drawing glyph
//!    (`─ │ ┌ ┐ └ ┘ ├ ┤ ┬ ┴ ┼`). Arrowhead cells are drawn as [`ARROWHEAD`].
//!
//! [`layout_grouped`] runs a step 0 first, **grouping**: siblings that have
//! the same upstreams and the same downstreams (a wide fan-out such as
//! `split → 16 shards → merge`) become one box, unless their group is
//! open, and the steps above lay out the boxes. A 200-task fan-out is then
//! three boxes wide and one box high instead of a wall of 198 boxes.
//!
//! A 200-task graph with ~300 edges lays out in about 10 ms in a debug
//! build. Huge inputs stay bounded: past 50 000 dummy slots the longest
//! edges are not drawn (see [`Layout::hidden_edges`]), and a gap never gets
//! more than 48 tracks (beyond that, tracks are shared and lines may touch).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use unicode_width::UnicodeWidthStr;

/// Glyph in the cell just left of a target box, on the box's middle row.
pub const ARROWHEAD: char = '▶';

/// Widest box in cells (border, space, label, space, border). Longer labels
/// keep this width; the view truncates their text.
pub const MAX_BOX_WIDTH: u16 = 40;

/// Height of every box in rows: top border, label row, bottom border.
pub const BOX_HEIGHT: u16 = 3;

/// Rows from one slot to the next: a box plus one blank row.
pub const SLOT_PITCH: usize = 4;

/// Narrowest routing gap between two layer columns, in cells.
pub const MIN_GAP: u16 = 6;

/// Most vertical tracks one gap gets; past this (only on huge, dense
/// graphs) tracks are reused and unrelated lines may touch.
const MAX_TRACKS: usize = 48;

/// Most dummy slots (see the module docs) a layout may use; beyond this,
/// the longest edges are left undrawn (see [`Layout::hidden_edges`]).
const MAX_DUMMIES: usize = 50_000;

/// Extra tracks a gap may use, beyond the most edge spans overlapping on
/// one row, to keep lines from needing jogs.
const TRACK_SLACK: usize = 2;

/// Rounds of (down sweep, up sweep) when ordering layers.
const SWEEPS: usize = 4;

/// Direction bits of an edge cell.
const N: u8 = 1;
const E: u8 = 2;
const S: u8 = 4;
const W: u8 = 8;
/// Marks an arrowhead cell (on top of its direction bits).
const HEAD: u8 = 16;

/// Direction for moving the selection with arrow keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Left,
    Right,
    Up,
    Down,
}

/// Where one node's box sits. Boxes are [`BOX_HEIGHT`] (3) rows high: top
/// border, label row, bottom border. The label row is `y + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeBox {
    /// Column of the left border.
    pub x: u16,
    /// Row of the top border.
    pub y: u16,
    /// Width including both borders: label width + 4, at most [`MAX_BOX_WIDTH`].
    pub width: u16,
    /// Layer (column) index, 0 for tasks without upstreams.
    pub layer: usize,
    /// Position in the layer, counting dummy slots too; `y == 4 * slot`.
    pub slot: usize,
}

/// A laid-out graph: boxes and edge cells on a `width` × `height` canvas.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Canvas width in cells.
    pub width: u16,
    /// Canvas height in cells.
    pub height: u16,
    /// `nodes[i]` is the box of input node `i`.
    pub nodes: Vec<NodeBox>,
    /// Every edge cell once: `(x, y, glyph)`, where the glyph is a merged
    /// light box-drawing character or [`ARROWHEAD`]. No cell lies in a box.
    pub edges: Vec<(u16, u16, char)>,
    /// `(dep, node)` edges that are not drawn, sorted: edges that would close
    /// a cycle and, on huge graphs only, the longest edges once drawing them
    /// would take more than `MAX_DUMMIES` (50 000) dummy slots in total.
    /// Empty for any ordinary flow.
    pub hidden_edges: Vec<(usize, usize)>,
    /// Real nodes of each layer, top to bottom.
    layers: Vec<Vec<usize>>,
    /// Index of each node within its `layers` entry.
    rank: Vec<usize>,
    /// Kept upstreams of each node (sorted, deduplicated).
    ups: Vec<Vec<usize>>,
    /// Downstreams of each node (sorted, deduplicated).
    downs: Vec<Vec<usize>>,
    /// Every routed segment (tests check lines per edge; the view lights
    /// the selected node's), with the real `(dep, node)` edge it is part of.
    routes: Vec<SegRoute>,
    route_edges: Vec<Edge>,
    /// Lines across a layer's column, `(x0, x1, y)` with `x1` excluded, and
    /// the real edge each is part of: `(dep, usize::MAX)` for the line out
    /// of a real box, shared by all of `dep`'s edges.
    runs: Vec<(Run, Edge)>,
    /// What each box stands for (see [`layout_grouped`]); `Task(i)` for
    /// box `i` in a plain [`layout`].
    pub shows: Vec<Shows>,
    /// Every group of siblings [`layout_grouped`] found, collapsed or
    /// open, in the order of their first members. Empty for [`layout`].
    pub groups: Vec<Group>,
    /// The box of each task: its own, or its collapsed group's.
    box_of: Vec<usize>,
    /// The group each task is a member of, if any.
    group_of: Vec<Option<usize>>,
}

/// What a box stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shows {
    /// Task `i` of the input.
    Task(usize),
    /// A collapsed group, an index into [`Layout::groups`].
    Group(usize),
}

/// Siblings with the same upstreams and the same downstreams (see
/// [`layout_grouped`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Member tasks in input order; at least [`MIN_GROUP`].
    pub members: Vec<usize>,
    /// Drawn as its members' own boxes (true) or as one box (false).
    pub open: bool,
}

/// Fewest siblings drawn as one group box. Two boxes in one would save a
/// single row of boxes and hide both names; from three on a group saves at
/// least two rows, and its label (`first … last ×3`) still names its ends.
pub const MIN_GROUP: usize = 3;

/// A line across a layer's column: `(x0, x1, y)`, `x1` excluded.
type Run = (u16, u16, u16);
/// A real edge, `(dep, node)`.
type Edge = (usize, usize);

/// Lays out a DAG: `labels[i]` is the text of node `i`, `deps[i]` the nodes
/// node `i` depends on (edges go `dep -> i`, drawn left to right).
///
/// Boxes are `label display width + 4` wide, capped at [`MAX_BOX_WIDTH`].
/// Nodes are expected in topological order (every dep index below its
/// dependant), but the function never panics on other input: duplicate deps
/// are merged, deps that name no node or the node itself are ignored, deps
/// pointing forward are fine, and an edge that would close a cycle is left
/// out (listed in [`Layout::hidden_edges`]). Missing `deps` entries mean
/// "no deps"; extra entries are ignored. The output depends only on the
/// input.
pub fn layout(labels: &[&str], deps: &[Vec<usize>]) -> Layout {
    let n = labels.len();
    if n == 0 {
        return Layout::default();
    }
    let (ups, mut hidden_edges) = clean_deps(n, deps);
    let mut downs = vec![Vec::new(); n];
    for (i, us) in ups.iter().enumerate() {
        for &u in us {
            downs[u].push(i);
        }
    }
    for d in &mut downs {
        d.sort_unstable();
    }

    // 1 + 2: layers and dummies.
    let layer = longest_path_layers(&ups, &downs);
    let drawn = limit_dummies(&ups, &layer, &mut hidden_edges);
    hidden_edges.sort_unstable();
    let dag = Dag::build(&drawn, layer);
    let n_layers = dag.layer.iter().copied().max().map_or(0, |m| m + 1);

    // 3: ordering.
    let (order, pos) = order_layers(&dag, n_layers);

    // 4: column widths.
    let box_w: Vec<usize> = labels
        .iter()
        .map(|l| l.width().saturating_add(4).min(usize::from(MAX_BOX_WIDTH)))
        .collect();
    let mut col_w = vec![1usize; n_layers];
    for (i, &w) in box_w.iter().enumerate() {
        let l = dag.layer[i];
        col_w[l] = col_w[l].max(w);
    }

    // 4 + 5 + 6: columns left to right, routing each gap as we go.
    let mut col_x = vec![0usize; n_layers];
    let mut cells: Vec<(usize, usize, char)> = Vec::new();
    let mut all_routes = Vec::new();
    let mut runs = Vec::new();
    let mut x = 0usize;
    for l in 0..n_layers {
        col_x[l] = x;
        let col_end = x + col_w[l];
        // Lines leaving the layer's nodes cross the rest of the column.
        for &v in &order[l] {
            if dag.down[v].is_empty() {
                continue;
            }
            let start = if dag.is_real(v) { x + box_w[v] } else { x };
            let y = row_of(pos[v]);
            cells.extend((start..col_end).map(|cx| (cx, y, glyph(E | W))));
            let edge = if dag.is_real(v) {
                (v, usize::MAX)
            } else {
                dag.real_edge(v, v)
            };
            runs.push(((to_u16(start), to_u16(col_end), to_u16(y)), edge));
        }
        x = col_end;
        if l + 1 < n_layers {
            let (gap, routes) = route_gap(&dag, &order[l], order[l + 1].len(), &pos, x);
            draw_gap(&dag, &routes, x, gap, &mut cells);
            all_routes.extend(routes);
            x += gap;
        }
    }
    let width = x;
    let max_slots = order.iter().map(Vec::len).max().unwrap_or(0);
    let height = (max_slots * SLOT_PITCH).saturating_sub(SLOT_PITCH - usize::from(BOX_HEIGHT));

    let nodes: Vec<NodeBox> = (0..n)
        .map(|i| NodeBox {
            x: to_u16(col_x[dag.layer[i]]),
            y: to_u16(pos[i] * SLOT_PITCH),
            width: to_u16(box_w[i]),
            layer: dag.layer[i],
            slot: pos[i],
        })
        .collect();

    let mut layers: Vec<Vec<usize>> = order
        .iter()
        .map(|o| o.iter().copied().filter(|&v| dag.is_real(v)).collect())
        .collect();
    // Layers always hold a real node, but keep the view simple if not.
    while layers.last().is_some_and(Vec::is_empty) {
        layers.pop();
    }
    let mut rank = vec![0; n];
    for layer in &layers {
        for (r, &v) in layer.iter().enumerate() {
            rank[v] = r;
        }
    }

    let edges = cells
        .into_iter()
        .filter_map(|(x, y, c)| Some((u16::try_from(x).ok()?, u16::try_from(y).ok()?, c)))
        .collect();

    Layout {
        width: to_u16(width),
        height: to_u16(height),
        nodes,
        edges,
        layers,
        rank,
        hidden_edges,
        ups,
        downs,
        shows: (0..n).map(Shows::Task).collect(),
        groups: Vec::new(),
        box_of: (0..n).collect(),
        group_of: vec![None; n],
        route_edges: all_routes
            .iter()
            .map(|r| dag.real_edge(r.from, r.to))
            .collect(),
        routes: all_routes,
        runs,
    }
}

/// The text of a collapsed group's box, after the state glyph:
/// `first … last ×count`.
pub fn group_label(first: &str, last: &str, count: usize) -> String {
    format!("{first} … {last} ×{count}")
}

/// Lays out a flow as [`layout`] does, with each set of at least
/// [`MIN_GROUP`] siblings that have the same upstreams and the same
/// downstreams (and at least one of the two; tasks without any edge are
/// never grouped) drawn as one box, unless the group is open.
///
/// `names[i]` is task `i`'s name; a task's box reads `· name` and a
/// collapsed group's `· first … last ×count` (see [`group_label`]), the
/// first two cells left for the view's state glyph. `open` lists tasks
/// whose groups are drawn open, as their members' own boxes; indices that
/// are in no group are ignored.
///
/// The steps: clean the deps as [`layout`] does; key every task by its
/// (upstreams, downstreams) pair; keep the keys shared by [`MIN_GROUP`] or
/// more tasks as groups; give each collapsed group one box, at its first
/// member's place in the input order, whose upstreams are the members'
/// upstreams and which is the upstream of their downstreams (an edge into
/// or out of several members becomes one edge); lay out those boxes.
/// Members share their upstreams, so they share a layer, and contracting
/// them cannot close a cycle.
///
/// Everything indexed by node in the result (`nodes`, `hidden_edges`,
/// [`Layout::neighbour`], [`Layout::edge_cells`], [`Layout::adjacent`]) is
/// indexed by box; [`Layout::shows`] says what each box stands for and
/// [`Layout::box_of`] finds a task's box.
pub fn layout_grouped(names: &[&str], deps: &[Vec<usize>], open: &[usize]) -> Layout {
    let n = names.len();
    let (ups, _) = clean_deps(n, deps);
    let mut downs = vec![Vec::new(); n];
    for (i, us) in ups.iter().enumerate() {
        for &u in us {
            downs[u].push(i);
        }
    }
    let mut by_key: std::collections::HashMap<(&[usize], &[usize]), Vec<usize>> =
        std::collections::HashMap::new();
    for i in 0..n {
        if !ups[i].is_empty() || !downs[i].is_empty() {
            by_key.entry((&ups[i], &downs[i])).or_default().push(i);
        }
    }
    let mut groups: Vec<Group> = by_key
        .into_values()
        .filter(|m| m.len() >= MIN_GROUP)
        .map(|members| Group {
            open: members.iter().any(|m| open.contains(m)),
            members,
        })
        .collect();
    groups.sort_unstable_by_key(|g| g.members[0]);

    let mut group_of = vec![None; n];
    for (g, group) in groups.iter().enumerate() {
        for &m in &group.members {
            group_of[m] = Some(g);
        }
    }
    let mut box_of = vec![0; n];
    let mut shows = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        match group_of[i].map(|g| (g, &groups[g])) {
            Some((g, group)) if !group.open => {
                let first = group.members[0];
                if i == first {
                    box_of[i] = shows.len();
                    shows.push(Shows::Group(g));
                    let last = group.members[group.members.len() - 1];
                    let text = group_label(names[first], names[last], group.members.len());
                    labels.push(format!("· {text}"));
                } else {
                    // Members come in input order: the first is boxed already.
                    box_of[i] = box_of[first];
                }
            }
            _ => {
                box_of[i] = shows.len();
                shows.push(Shows::Task(i));
                labels.push(format!("· {}", names[i]));
            }
        }
    }
    let box_deps: Vec<Vec<usize>> = shows
        .iter()
        .map(|s| {
            let task = match *s {
                Shows::Task(i) => i,
                Shows::Group(g) => groups[g].members[0],
            };
            ups[task].iter().map(|&u| box_of[u]).collect()
        })
        .collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let mut l = layout(&labels, &box_deps);
    l.shows = shows;
    l.groups = groups;
    l.box_of = box_of;
    l.group_of = group_of;
    l
}

impl Layout {
    /// The box drawing task `task`: its own, or its collapsed group's.
    pub fn box_of(&self, task: usize) -> Option<usize> {
        self.box_of.get(task).copied()
    }

    /// The group task `task` is a member of, open or not.
    pub fn group_of(&self, task: usize) -> Option<usize> {
        self.group_of.get(task).copied().flatten()
    }

    /// The task to select for box `b`: the task itself, or a collapsed
    /// group's first member.
    pub fn task_of(&self, b: usize) -> Option<usize> {
        match *self.shows.get(b)? {
            Shows::Task(i) => Some(i),
            Shows::Group(g) => self.groups.get(g)?.members.first().copied(),
        }
    }

    /// The cells of every edge into or out of node `node` (arrowheads
    /// included), for the view to light them; a cell shared with other
    /// lines (a fork, a crossing) is in it too.
    pub fn edge_cells(&self, node: usize) -> std::collections::HashSet<(u16, u16)> {
        let mut out = std::collections::HashSet::new();
        let touches = |&(dep, to): &(usize, usize)| dep == node || to == node;
        for (r, edge) in self.routes.iter().zip(&self.route_edges) {
            if touches(edge) {
                r.for_each_cell(|x, y, _| {
                    out.insert((to_u16(x), to_u16(y)));
                });
            }
        }
        // The line out of a box is part of each of its edges: lit for the
        // box itself and for each of its downstreams.
        let ups = self.ups.get(node).map_or(&[][..], Vec::as_slice);
        for &((x0, x1, y), edge) in &self.runs {
            let lit = match edge {
                (dep, usize::MAX) => dep == node || ups.binary_search(&dep).is_ok(),
                edge => touches(&edge),
            };
            if lit {
                out.extend((x0..x1).map(|x| (x, y)));
            }
        }
        out
    }

    /// The direct upstreams and downstreams of node `node`.
    pub fn adjacent(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        let none: &[usize] = &[];
        let ups = self.ups.get(node).map_or(none, Vec::as_slice);
        let downs = self.downs.get(node).map_or(none, Vec::as_slice);
        ups.iter().chain(downs).copied()
    }

    /// The node to select when moving from node `from` in `dir`, or `None`
    /// when there is nothing that way (or `from` is not a node).
    ///
    /// - `Left` / `Right`: a node in the nearest layer on that side that has
    ///   nodes. If some of that layer's nodes are direct upstreams (`Left`)
    ///   or downstreams (`Right`) of `from`, only those are candidates. The
    ///   candidate closest in rows wins; ties go to the upper one.
    /// - `Up` / `Down`: the previous / next node in the same layer (dummy
    ///   slots are skipped).
    pub fn neighbour(&self, from: usize, dir: Dir) -> Option<usize> {
        let node = self.nodes.get(from)?;
        let layer = self.layers.get(node.layer)?;
        let rank = *self.rank.get(from)?;
        match dir {
            Dir::Up => layer.get(rank.checked_sub(1)?).copied(),
            Dir::Down => layer.get(rank + 1).copied(),
            Dir::Left => {
                let l = (0..node.layer)
                    .rev()
                    .find(|&l| !self.layers[l].is_empty())?;
                self.closest(node, &self.layers[l], &self.ups[from])
            }
            Dir::Right => {
                let l =
                    (node.layer + 1..self.layers.len()).find(|&l| !self.layers[l].is_empty())?;
                self.closest(node, &self.layers[l], &self.downs[from])
            }
        }
    }

    /// The candidate nearest to `node` by slot, preferring those in `direct`
    /// (a sorted list); ties go to the upper one.
    fn closest(&self, node: &NodeBox, candidates: &[usize], direct: &[usize]) -> Option<usize> {
        let key = |&c: &usize| (self.nodes[c].slot.abs_diff(node.slot), self.nodes[c].slot);
        candidates
            .iter()
            .copied()
            .filter(|c| direct.binary_search(c).is_ok())
            .min_by_key(key)
            .or_else(|| candidates.iter().copied().min_by_key(key))
    }
}

/// Deduplicated, sorted upstreams per node, restricted to edges that keep the
/// graph acyclic (see [`layout`]), and the `(dep, node)` edges left out.
fn clean_deps(n: usize, deps: &[Vec<usize>]) -> (Vec<Vec<usize>>, Vec<(usize, usize)>) {
    let raw: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let mut d: Vec<usize> = deps
                .get(i)
                .map(|d| d.iter().copied().filter(|&u| u < n && u != i).collect())
                .unwrap_or_default();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    if raw
        .iter()
        .enumerate()
        .all(|(i, d)| d.iter().all(|&u| u < i))
    {
        return (raw, Vec::new()); // already topological: the common case
    }
    let mut downs = vec![Vec::new(); n];
    for (i, d) in raw.iter().enumerate() {
        for &u in d {
            downs[u].push(i);
        }
    }
    topo_filter(raw, &downs)
}

/// Keeps the edges `u -> i` where `u` comes before `i` in a topological
/// order (Kahn's algorithm, smallest index first). When a cycle blocks it,
/// the smallest unsettled node goes next, which drops its unsettled deps.
fn topo_filter(
    raw: Vec<Vec<usize>>,
    downs: &[Vec<usize>],
) -> (Vec<Vec<usize>>, Vec<(usize, usize)>) {
    let n = raw.len();
    let mut missing: Vec<usize> = raw.iter().map(Vec::len).collect();
    let mut at = vec![usize::MAX; n];
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| missing[i] == 0).map(Reverse).collect();
    let mut next_forced = 0;
    for step in 0..n {
        let i = loop {
            match ready.pop() {
                Some(Reverse(i)) if at[i] != usize::MAX => continue,
                Some(Reverse(i)) => break i,
                None => {
                    while at[next_forced] != usize::MAX {
                        next_forced += 1;
                    }
                    break next_forced;
                }
            }
        };
        at[i] = step;
        for &d in &downs[i] {
            missing[d] = missing[d].saturating_sub(1);
            if missing[d] == 0 && at[d] == usize::MAX {
                ready.push(Reverse(d));
            }
        }
    }
    let mut dropped = Vec::new();
    let kept = raw
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let (keep, drop): (Vec<usize>, Vec<usize>) =
                d.into_iter().partition(|&u| at[u] < at[i]);
            dropped.extend(drop.into_iter().map(|u| (u, i)));
            keep
        })
        .collect();
    (kept, dropped)
}

/// Layer of every node: 0 without upstreams, else one more than its deepest
/// upstream. `ups` must be acyclic; `downs` is its reverse.
fn longest_path_layers(ups: &[Vec<usize>], downs: &[Vec<usize>]) -> Vec<usize> {
    let mut missing: Vec<usize> = ups.iter().map(Vec::len).collect();
    let mut layer = vec![0usize; ups.len()];
    // Settle nodes in a topological order.
    let mut stack: Vec<usize> = (0..ups.len()).rev().filter(|&i| missing[i] == 0).collect();
    while let Some(u) = stack.pop() {
        for &d in &downs[u] {
            layer[d] = layer[d].max(layer[u] + 1);
            missing[d] = missing[d].saturating_sub(1);
            if missing[d] == 0 {
                stack.push(d);
            }
        }
    }
    layer
}

/// The upstreams whose edges get drawn: all of them, unless the dummies
/// they need exceed [`MAX_DUMMIES`]; then the longest edges (latest target
/// first among equals) go to `hidden` until the rest fit.
fn limit_dummies(
    ups: &[Vec<usize>],
    layer: &[usize],
    hidden: &mut Vec<(usize, usize)>,
) -> Vec<Vec<usize>> {
    let span = |u: usize, i: usize| (layer[i] - layer[u]).saturating_sub(1);
    let mut total: usize = ups
        .iter()
        .enumerate()
        .map(|(i, us)| us.iter().map(|&u| span(u, i)).sum::<usize>())
        .sum();
    if total <= MAX_DUMMIES {
        return ups.to_vec();
    }
    let mut longest: Vec<(usize, usize, usize)> = ups
        .iter()
        .enumerate()
        .flat_map(|(i, us)| us.iter().map(move |&u| (span(u, i), i, u)))
        .collect();
    longest.sort_unstable_by(|a, b| b.cmp(a));
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    for (len, i, u) in longest {
        if total <= MAX_DUMMIES {
            break;
        }
        total -= len;
        dropped.push((i, u));
        hidden.push((u, i));
    }
    dropped.sort_unstable();
    ups.iter()
        .enumerate()
        .map(|(i, us)| {
            us.iter()
                .copied()
                .filter(|&u| dropped.binary_search(&(i, u)).is_err())
                .collect()
        })
        .collect()
}

/// The layered graph with dummies: ids below `real` are input nodes, the
/// rest are dummies. Every `up`/`down` neighbour is in the adjacent layer.
struct Dag {
    real: usize,
    layer: Vec<usize>,
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
}

impl Dag {
    /// Splits every edge `ups[i] -> i` that spans more than one of the
    /// given layers with one dummy per layer passed over.
    fn build(ups: &[Vec<usize>], layer: Vec<usize>) -> Dag {
        let n = ups.len();
        let mut dag = Dag {
            real: n,
            layer,
            up: vec![Vec::new(); n],
            down: vec![Vec::new(); n],
        };
        for (i, us) in ups.iter().enumerate() {
            for &u in us {
                let mut prev = u;
                for l in dag.layer[u] + 1..dag.layer[i] {
                    let d = dag.layer.len();
                    dag.layer.push(l);
                    dag.up.push(vec![prev]);
                    dag.down.push(Vec::new());
                    dag.down[prev].push(d);
                    prev = d;
                }
                dag.down[prev].push(i);
                dag.up[i].push(prev);
            }
        }
        dag
    }

    fn is_real(&self, v: usize) -> bool {
        v < self.real
    }

    /// The real `(dep, node)` edge the segment `from -> to` is part of:
    /// dummies are followed up and down to the real ends (a dummy has one
    /// neighbour each way).
    fn real_edge(&self, mut from: usize, mut to: usize) -> (usize, usize) {
        while !self.is_real(from) {
            match self.up[from].first() {
                Some(&u) => from = u,
                None => break,
            }
        }
        while !self.is_real(to) {
            match self.down[to].first() {
                Some(&d) => to = d,
                None => break,
            }
        }
        (from, to)
    }
}

/// Orders every layer to reduce crossings; returns the layers and each
/// node's position (slot) in its layer.
fn order_layers(dag: &Dag, n_layers: usize) -> (Vec<Vec<usize>>, Vec<usize>) {
    // Nodes without any edge (all in layer 0) go below the others, in
    // input order, rather than between them.
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); n_layers];
    let mut isolated = Vec::new();
    for (v, &l) in dag.layer.iter().enumerate() {
        if dag.up[v].is_empty() && dag.down[v].is_empty() {
            isolated.push(v);
        } else {
            order[l].push(v);
        }
    }
    let mut pos = vec![0usize; dag.layer.len()];
    for layer in &order {
        for (p, &v) in layer.iter().enumerate() {
            pos[v] = p;
        }
    }
    let mut best_cross = crossings(dag, &order, &pos);
    let mut best = (order.clone(), pos.clone());
    for _ in 0..SWEEPS {
        if best_cross == 0 {
            break;
        }
        for down in [true, false] {
            if down {
                for layer in order.iter_mut().skip(1) {
                    sort_layer(layer, &mut pos, &dag.up);
                }
            } else {
                for layer in order.iter_mut().rev().skip(1) {
                    sort_layer(layer, &mut pos, &dag.down);
                }
            }
            let c = crossings(dag, &order, &pos);
            if c < best_cross {
                best_cross = c;
                best = (order.clone(), pos.clone());
            }
        }
    }
    let (mut order, mut pos) = best;
    if let Some(first) = order.first_mut() {
        for v in isolated {
            pos[v] = first.len();
            first.push(v);
        }
    }
    (order, pos)
}

/// Stable-sorts one layer by the barycenter of each node's neighbours in
/// `adj`; nodes without neighbours keep their own position as key.
fn sort_layer(layer: &mut [usize], pos: &mut [usize], adj: &[Vec<usize>]) {
    let mut keyed: Vec<(f64, usize)> = layer
        .iter()
        .map(|&v| {
            let ns = &adj[v];
            let key = if ns.is_empty() {
                pos[v] as f64
            } else {
                ns.iter().map(|&u| pos[u] as f64).sum::<f64>() / ns.len() as f64
            };
            (key, v)
        })
        .collect();
    // `layer` is in position order, so a stable sort breaks ties by it.
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (p, (slot, &(_, v))) in layer.iter_mut().zip(&keyed).enumerate() {
        *slot = v;
        pos[v] = p;
    }
}

/// Number of edge crossings between all adjacent layer pairs.
fn crossings(dag: &Dag, order: &[Vec<usize>], pos: &[usize]) -> u64 {
    let mut total = 0u64;
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut tree: Vec<u64> = Vec::new();
    for l in 0..order.len().saturating_sub(1) {
        pairs.clear();
        for &u in &order[l] {
            pairs.extend(dag.down[u].iter().map(|&v| (pos[u], pos[v])));
        }
        pairs.sort_unstable();
        // Inversions of the lower ends, counted with a Fenwick tree.
        tree.clear();
        tree.resize(order[l + 1].len() + 1, 0);
        for (seen, &(_, p)) in pairs.iter().enumerate() {
            let mut at_most = 0;
            let mut i = p + 1;
            while i > 0 {
                at_most += tree[i];
                i &= i - 1;
            }
            total += seen as u64 - at_most;
            let mut i = p + 1;
            while i < tree.len() {
                tree[i] += 1;
                i += i & i.wrapping_neg();
            }
        }
    }
    total
}

/// Middle (label) row of a slot.
fn row_of(slot: usize) -> usize {
    slot * SLOT_PITCH + 1
}

fn to_u16(v: usize) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// One edge segment between adjacent layers, as routed through their gap.
#[derive(Debug, Clone)]
struct SegRoute {
    /// Virtual node ids (dummies included) of the source and the target.
    from: usize,
    to: usize,
    /// Middle rows of the source and the target.
    y_from: usize,
    y_to: usize,
    /// First and last cell of the gap; the last is the arrowhead's.
    x_gap: usize,
    x_end: usize,
    /// Column of the vertical track, `None` for a straight line.
    track: Option<usize>,
    /// A detour: `(row, x)` of the spare row and the second track.
    jog: Option<(usize, usize)>,
}

impl SegRoute {
    /// Calls `f(x, y, bits)` for every step of the segment's polyline inside
    /// the gap; a corner cell is reported once per line meeting there.
    fn for_each_cell(&self, mut f: impl FnMut(usize, usize, u8)) {
        let mut pts = [(0usize, 0usize); 6];
        let mut len = 0;
        let mut push = |p| {
            pts[len] = p;
            len += 1;
        };
        push((self.x_gap, self.y_from));
        if let Some(c) = self.track {
            push((c, self.y_from));
            match self.jog {
                Some((row, jx)) => {
                    push((c, row));
                    push((jx, row));
                    push((jx, self.y_to));
                }
                None => push((c, self.y_to)),
            }
        }
        push((self.x_end, self.y_to));
        // The line comes in from the column on the left and goes on into
        // the target (or the dummy's column) on the right.
        f(self.x_gap, self.y_from, W);
        f(self.x_end, self.y_to, E);
        for pair in pts[..len].windows(2) {
            let ((mut x, mut y), (bx, by)) = (pair[0], pair[1]);
            while (x, y) != (bx, by) {
                let (d, nx, ny) = if bx > x {
                    (E, x + 1, y)
                } else if bx < x {
                    (W, x - 1, y)
                } else if by > y {
                    (S, x, y + 1)
                } else {
                    (N, x, y - 1)
                };
                f(x, y, d);
                f(nx, ny, opposite(d));
                (x, y) = (nx, ny);
            }
        }
    }
}

fn opposite(d: u8) -> u8 {
    match d {
        N => S,
        S => N,
        E => W,
        _ => E,
    }
}

/// Light box-drawing glyph for a set of direction bits.
fn glyph(bits: u8) -> char {
    const GLYPHS: [char; 16] = [
        ' ', '│', '─', '└', '│', '│', '┌', '├', '─', '┘', '─', '┴', '┐', '┤', '┬', '┼',
    ];
    if bits & HEAD != 0 {
        ARROWHEAD
    } else {
        GLYPHS[usize::from(bits & 0xF)]
    }
}

/// Edges that share one vertical track: a fork (one source, its targets) or
/// a join (single-target sources feeding the same node).
struct Net {
    lefts: Vec<usize>,
    rights: Vec<usize>,
    /// Slot span over all ends.
    lo: usize,
    hi: usize,
}

impl Net {
    fn has_track(&self) -> bool {
        self.lo < self.hi
    }
}

/// Routes the segments from layer `left` into the next layer (which has
/// `right_len` slots) through the gap starting at column `x_gap`. Returns
/// the gap width and the routed segments.
fn route_gap(
    dag: &Dag,
    left: &[usize],
    right_len: usize,
    pos: &[usize],
    x_gap: usize,
) -> (usize, Vec<SegRoute>) {
    // Nets, and which net's source line starts at each left slot.
    let mut nets: Vec<Net> = Vec::new();
    let mut join_at: Vec<Option<usize>> = vec![None; right_len];
    let mut left_net: Vec<Option<usize>> = vec![None; left.len()];
    for &u in left {
        let outs = &dag.down[u];
        let id = match outs.as_slice() {
            [] => continue,
            [v] => match join_at[pos[*v]] {
                Some(id) => id,
                None => {
                    nets.push(Net {
                        lefts: Vec::new(),
                        rights: vec![*v],
                        lo: pos[*v],
                        hi: pos[*v],
                    });
                    join_at[pos[*v]] = Some(nets.len() - 1);
                    nets.len() - 1
                }
            },
            _ => {
                let mut rights = outs.clone();
                rights.sort_unstable_by_key(|&v| pos[v]);
                let lo = rights.iter().map(|&v| pos[v]).min().unwrap_or(pos[u]);
                let hi = rights.iter().map(|&v| pos[v]).max().unwrap_or(pos[u]);
                nets.push(Net {
                    lefts: Vec::new(),
                    rights,
                    lo,
                    hi,
                });
                nets.len() - 1
            }
        };
        let net = &mut nets[id];
        net.lefts.push(u);
        net.lo = net.lo.min(pos[u]);
        net.hi = net.hi.max(pos[u]);
        left_net[pos[u]] = Some(id);
    }

    // The net whose source line starts on slot `b`'s row, if it has a track.
    let blocker = |b: usize| {
        left_net
            .get(b)
            .copied()
            .flatten()
            .filter(|&x| nets[x].has_track())
    };

    // Constraint x -> y: net y ends on the row where net x's source line
    // starts, so y's track must be right of x's.
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); nets.len()];
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); nets.len()];
    for (y, net) in nets.iter().enumerate() {
        if !net.has_track() {
            continue;
        }
        for &v in &net.rights {
            if let Some(x) = blocker(pos[v]).filter(|&x| x != y) {
                succ[x].push(y);
                preds[y].push(x);
            }
        }
    }

    // Preferred left-to-right order: nets heading down first, lower sources
    // further left; then nets heading up, upper sources further left. This
    // nests lines instead of crossing them.
    let mut by_pref: Vec<usize> = (0..nets.len()).filter(|&i| nets[i].has_track()).collect();
    let pref_key = |net: &Net| {
        let mean =
            |vs: &[usize]| vs.iter().map(|&v| pos[v] as f64).sum::<f64>() / vs.len().max(1) as f64;
        let (ml, mr) = (mean(&net.lefts), mean(&net.rights));
        if mr >= ml { (0u8, -ml) } else { (1u8, ml) }
    };
    by_pref.sort_by(|&a, &b| {
        let (ka, kb) = (pref_key(&nets[a]), pref_key(&nets[b]));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    let mut pref = vec![usize::MAX; nets.len()];
    for (r, &i) in by_pref.iter().enumerate() {
        pref[i] = r;
    }

    // Topological order of the constraints (Kahn, by preference); a cycle
    // is broken by taking its most preferred net early.
    let mut indeg: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut done = vec![false; nets.len()];
    let mut ready: BinaryHeap<Reverse<(usize, usize)>> = by_pref
        .iter()
        .filter(|&&i| indeg[i] == 0)
        .map(|&i| Reverse((pref[i], i)))
        .collect();
    let mut topo = Vec::with_capacity(by_pref.len());
    let mut next_forced = 0;
    while topo.len() < by_pref.len() {
        let i = match ready.pop() {
            Some(Reverse((_, i))) if done[i] => continue,
            Some(Reverse((_, i))) => i,
            None => {
                while done[by_pref[next_forced]] {
                    next_forced += 1;
                }
                by_pref[next_forced]
            }
        };
        done[i] = true;
        topo.push(i);
        for &s in &succ[i] {
            indeg[s] = indeg[s].saturating_sub(1);
            if indeg[s] == 0 && !done[s] {
                ready.push(Reverse((pref[s], s)));
            }
        }
    }

    // Tracks: leftmost free one right of every placed predecessor. Long
    // chains of constraints (staircases) would make the gap very wide, so
    // a net that would land past `budget` takes the leftmost free track
    // instead and its broken constraints become jogs.
    let mut starts = vec![0usize; left.len().max(right_len) + 1];
    let mut ends = vec![0usize; starts.len() + 1];
    for net in nets.iter().filter(|n| n.has_track()) {
        starts[net.lo] += 1;
        ends[net.hi + 1] += 1;
    }
    let (mut open, mut density) = (0usize, 0usize);
    for (s, e) in starts.iter().zip(&ends) {
        open = open + s - e; // spans ending before this slot were counted open
        density = density.max(open);
    }
    let budget = density + TRACK_SLACK;
    let mut tracks: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut track: Vec<Option<usize>> = vec![None; nets.len()];
    for &i in &topo {
        let (lo, hi) = (nets[i].lo, nets[i].hi);
        // Predecessors not placed yet are broken cycle constraints.
        let min = preds[i]
            .iter()
            .filter_map(|&p| track[p])
            .map(|t| t + 1)
            .max();
        let mut t = first_free(&tracks, min.unwrap_or(0), lo, hi);
        if t >= budget {
            t = first_free(&tracks, 0, lo, hi);
        }
        track[i] = Some(occupy(&mut tracks, t, lo, hi));
    }

    // Jogs: a net ending on a row whose source line reaches further right
    // detours to a track right of that line, one per such target row.
    let needs_jog = |y: usize, b: usize| blocker(b).is_some_and(|x| x != y && track[x] > track[y]);
    let mut jog_rows: Vec<usize> = Vec::new();
    for (y, net) in nets.iter().enumerate() {
        if net.has_track() {
            jog_rows.extend(
                net.rights
                    .iter()
                    .map(|&v| pos[v])
                    .filter(|&b| needs_jog(y, b)),
            );
        }
    }
    jog_rows.sort_unstable();
    jog_rows.dedup();
    let mut jog_track = vec![0usize; right_len];
    for &b in &jog_rows {
        let x = blocker(b).and_then(|x| track[x]).map_or(0, |t| t + 1);
        let t = first_free(&tracks, x, b, b);
        jog_track[b] = occupy(&mut tracks, t, b, b);
    }

    // Width: tracks centred between a lead-in cell and `─▶`.
    let n_tracks = tracks.len().min(MAX_TRACKS);
    let gap = usize::from(MIN_GAP).max(n_tracks + 3);
    let first = x_gap + 1 + (gap - 3 - n_tracks) / 2;
    let track_x = |t: usize| first + t % MAX_TRACKS;

    let mut routes = Vec::new();
    for (i, net) in nets.iter().enumerate() {
        let t = track[i].map(track_x);
        for &u in &net.lefts {
            for &v in &net.rights {
                let (a, b) = (pos[u], pos[v]);
                let jog = (t.is_some() && needs_jog(i, b)).then(|| {
                    let row = if a < b { row_of(b) - 1 } else { row_of(b) + 1 };
                    (row, track_x(jog_track[b]))
                });
                routes.push(SegRoute {
                    from: u,
                    to: v,
                    y_from: row_of(a),
                    y_to: row_of(b),
                    x_gap,
                    x_end: x_gap + gap - 1,
                    track: t,
                    jog,
                });
            }
        }
    }
    (gap, routes)
}

/// The first track at or after `min` where the slot span `lo..=hi`
/// overlaps nothing (possibly a new one).
fn first_free(tracks: &[Vec<(usize, usize)>], min: usize, lo: usize, hi: usize) -> usize {
    (min..)
        .find(|&t| {
            tracks
                .get(t)
                .is_none_or(|spans| spans.iter().all(|&(a, b)| b < lo || a > hi))
        })
        .unwrap_or(min) // `find` on an endless range only stops with a hit
}

/// Records the span `lo..=hi` on track `t`; returns `t`.
fn occupy(tracks: &mut Vec<Vec<(usize, usize)>>, t: usize, lo: usize, hi: usize) -> usize {
    if t >= tracks.len() {
        tracks.resize_with(t + 1, Vec::new);
    }
    tracks[t].push((lo, hi));
    t
}

/// Merges the gap's segments into glyph cells and appends them to `out`.
fn draw_gap(
    dag: &Dag,
    routes: &[SegRoute],
    x_gap: usize,
    gap: usize,
    out: &mut Vec<(usize, usize, char)>,
) {
    let rows = |r: &SegRoute| {
        let jog = r.jog.map_or(r.y_to, |(row, _)| row);
        (r.y_from.min(r.y_to).min(jog), r.y_from.max(r.y_to).max(jog))
    };
    let Some(top) = routes.iter().map(|r| rows(r).0).min() else {
        return;
    };
    let bottom = routes.iter().map(|r| rows(r).1).max().unwrap_or(top);
    let mut grid = vec![0u8; gap * (bottom - top + 1)];
    for r in routes {
        r.for_each_cell(|x, y, bits| grid[(y - top) * gap + (x - x_gap)] |= bits);
        if dag.is_real(r.to) {
            grid[(r.y_to - top) * gap + (r.x_end - x_gap)] |= HEAD;
        }
    }
    for (i, &bits) in grid.iter().enumerate() {
        if bits != 0 {
            out.push((x_gap + i % gap, top + i / gap, glyph(bits)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::Entry;
    use std::collections::{HashMap, HashSet, VecDeque};
    use std::time::Instant;

    #[test]
    fn edge_cells_follow_a_long_edge_through_its_dummies() {
        // a -> b -> c and a -> c: the long edge passes b's column.
        let l = layout(&["a", "b", "c"], &[vec![], vec![0], vec![0, 1]]);
        let drawn: HashSet<(u16, u16)> = l.edges.iter().map(|&(x, y, _)| (x, y)).collect();
        let (of_a, of_b, of_c) = (l.edge_cells(0), l.edge_cells(1), l.edge_cells(2));
        for cells in [&of_a, &of_b, &of_c] {
            assert!(cells.is_subset(&drawn), "only drawn cells are lit");
        }
        // a and c share the long edge: the cells across b's column that are
        // neither b's box nor its lines are lit for both, not for b.
        let b = &l.nodes[1];
        let across: Vec<(u16, u16)> = (b.x..b.x + b.width)
            .flat_map(|x| (0..l.height).map(move |y| (x, y)))
            .filter(|c| drawn.contains(c))
            .collect();
        assert!(!across.is_empty(), "the long edge crosses b's column");
        for c in &across {
            assert!(of_a.contains(c) && of_c.contains(c), "{c:?}");
            assert!(!of_b.contains(c), "{c:?} is not b's");
        }
        // Every drawn cell is some node's.
        let all: HashSet<(u16, u16)> = of_a.union(&of_b).chain(&of_c).copied().collect();
        assert_eq!(all, drawn);
        assert_eq!(l.adjacent(1).collect::<Vec<_>>(), [0, 2]);
    }

    /// Direction bits of a glyph as drawn (arrowheads join left and right).
    fn bits_of(c: char) -> u8 {
        match c {
            '─' | ARROWHEAD => E | W,
            '│' => N | S,
            '┌' => E | S,
            '┐' => W | S,
            '└' => N | E,
            '┘' => N | W,
            '├' => N | S | E,
            '┤' => N | S | W,
            '┬' => E | W | S,
            '┴' => E | W | N,
            '┼' => N | E | S | W,
            other => panic!("unexpected edge glyph {other:?}"),
        }
    }

    fn step(x: u16, y: u16, d: u8) -> Option<(u16, u16)> {
        match d {
            N => Some((x, y.checked_sub(1)?)),
            S => Some((x, y + 1)),
            W => Some((x.checked_sub(1)?, y)),
            _ => Some((x + 1, y)),
        }
    }

    /// Draws boxes (with labels cut to fit) and edges on a text canvas.
    fn render(labels: &[&str], l: &Layout) -> String {
        let mut grid = vec![vec![' '; usize::from(l.width)]; usize::from(l.height)];
        for (b, label) in l.nodes.iter().zip(labels) {
            let (x, y, w) = (usize::from(b.x), usize::from(b.y), usize::from(b.width));
            for i in 1..w - 1 {
                grid[y][x + i] = '─';
                grid[y + 2][x + i] = '─';
            }
            grid[y][x] = '┌';
            grid[y][x + w - 1] = '┐';
            grid[y + 2][x] = '└';
            grid[y + 2][x + w - 1] = '┘';
            grid[y + 1][x] = '│';
            grid[y + 1][x + w - 1] = '│';
            let mut cx = x + 2;
            for ch in label.chars() {
                let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
                if cx + cw > x + w - 2 {
                    break;
                }
                grid[y + 1][cx] = ch;
                cx += cw.max(1);
            }
        }
        for &(x, y, c) in &l.edges {
            grid[usize::from(y)][usize::from(x)] = c;
        }
        grid.iter()
            .map(|row| row.iter().collect::<String>().trim_end().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn expected_layers(deps: &[Vec<usize>]) -> Vec<usize> {
        let mut layer: Vec<usize> = Vec::new();
        for d in deps {
            layer.push(d.iter().map(|&u| layer[u] + 1).max().unwrap_or(0));
        }
        layer
    }

    /// Lays out and checks every geometric invariant; returns the layout.
    fn check(labels: &[&str], deps: &[Vec<usize>]) -> Layout {
        let l = layout(labels, deps);
        assert_eq!(l.nodes.len(), labels.len());
        assert!(l.hidden_edges.is_empty());
        let layers = expected_layers(deps);

        // Boxes: sizes, inside the canvas, no overlap, slot rows.
        let mut boxes: HashMap<(u16, u16), usize> = HashMap::new();
        for (i, b) in l.nodes.iter().enumerate() {
            let want = (labels[i].width() + 4).min(40);
            assert_eq!(usize::from(b.width), want, "width of node {i}");
            assert_eq!(b.layer, layers[i], "layer of node {i}");
            assert_eq!(usize::from(b.y), b.slot * 4);
            assert!(
                b.x + b.width <= l.width && b.y + BOX_HEIGHT <= l.height,
                "box {i} outside"
            );
            for y in b.y..b.y + BOX_HEIGHT {
                for x in b.x..b.x + b.width {
                    assert!(
                        boxes.insert((x, y), i).is_none(),
                        "boxes overlap at {x},{y}"
                    );
                }
            }
        }

        // Edge cells: inside the canvas, outside boxes, each once.
        let mut cells: HashMap<(u16, u16), char> = HashMap::new();
        for &(x, y, c) in &l.edges {
            assert!(x < l.width && y < l.height, "edge cell {x},{y} outside");
            assert!(
                !boxes.contains_key(&(x, y)),
                "edge cell {x},{y} inside a box"
            );
            assert!(cells.insert((x, y), c).is_none(), "edge cell {x},{y} twice");
        }

        // No dangling arms: each arm meets a matching arm, leaves a box's
        // right border on its middle row, or is an arrowhead entering a
        // box's left border on its middle row.
        for (&(x, y), &c) in &cells {
            for d in [N, E, S, W] {
                if bits_of(c) & d == 0 {
                    continue;
                }
                let Some(nb) = step(x, y, d) else {
                    panic!("arm off the canvas at {x},{y}");
                };
                if let Some(&nc) = cells.get(&nb) {
                    assert!(bits_of(nc) & opposite(d) != 0, "dangling {c} at {x},{y}");
                } else if let Some(&i) = boxes.get(&nb) {
                    let b = &l.nodes[i];
                    let ok = match d {
                        W => nb.0 == b.x + b.width - 1 && y == b.y + 1,
                        E => c == ARROWHEAD && nb.0 == b.x && y == b.y + 1,
                        _ => false,
                    };
                    assert!(ok, "{c} at {x},{y} touches box {i} badly");
                } else {
                    panic!("dangling {c} at {x},{y}");
                }
            }
        }

        // Every edge ends in an arrowhead left of its target's middle row,
        // reachable along the lines from the source's exit; no extra heads.
        let mut targets = HashSet::new();
        for (i, ds) in deps.iter().enumerate() {
            let b = &l.nodes[i];
            if !ds.is_empty() {
                targets.insert(i);
                assert_eq!(
                    cells.get(&(b.x - 1, b.y + 1)),
                    Some(&ARROWHEAD),
                    "no arrowhead into {i}"
                );
            }
        }
        let heads = cells.values().filter(|&&c| c == ARROWHEAD).count();
        assert_eq!(heads, targets.len(), "arrowheads without edges");
        // Connected parts of the drawing (arrowheads do not lead on into
        // their box, so parts stop at targets).
        let mut part: HashMap<(u16, u16), usize> = HashMap::new();
        for &first in cells.keys() {
            if part.contains_key(&first) {
                continue;
            }
            let id = part.len();
            part.insert(first, id);
            let mut queue = VecDeque::from([first]);
            while let Some((x, y)) = queue.pop_front() {
                let c = cells[&(x, y)];
                for d in [N, E, S, W] {
                    if bits_of(c) & d == 0 || (c == ARROWHEAD && d == E) {
                        continue;
                    }
                    let Some(nb) = step(x, y, d).filter(|nb| cells.contains_key(nb)) else {
                        continue;
                    };
                    if let Entry::Vacant(slot) = part.entry(nb) {
                        slot.insert(id);
                        queue.push_back(nb);
                    }
                }
            }
        }
        for (v, ds) in deps.iter().enumerate() {
            let t = &l.nodes[v];
            for &u in ds {
                let b = &l.nodes[u];
                let start = (b.x + b.width, b.y + 1);
                assert!(cells.contains_key(&start), "no line leaves {u}");
                assert_eq!(
                    part[&start],
                    part[&(t.x - 1, t.y + 1)],
                    "edge {u}->{v} not connected"
                );
            }
        }

        // Lines read correctly: two segments only share a cell when they
        // have the same source or target, or cross straight.
        let mut owners: HashMap<(usize, usize), Vec<(usize, u8)>> = HashMap::new();
        for (k, r) in l.routes.iter().enumerate() {
            let mut mine: HashMap<(usize, usize), u8> = HashMap::new();
            r.for_each_cell(|x, y, bits| *mine.entry((x, y)).or_default() |= bits);
            for (cell, bits) in mine {
                owners.entry(cell).or_default().push((k, bits));
            }
        }
        for (cell, list) in &owners {
            for (i, &(p, pb)) in list.iter().enumerate() {
                for &(q, qb) in &list[i + 1..] {
                    let (rp, rq) = (&l.routes[p], &l.routes[q]);
                    // Within a gap the source row identifies the source.
                    let related = rp.y_from == rq.y_from || rp.to == rq.to;
                    let crossing = (pb == E | W && qb == N | S) || (pb == N | S && qb == E | W);
                    assert!(
                        related || crossing,
                        "segments {rp:?} and {rq:?} touch at {cell:?}"
                    );
                }
            }
        }
        l
    }

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t{i}")).collect()
    }

    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    /// A deterministic random-ish DAG: mostly short edges, some long ones,
    /// some duplicate deps.
    fn random_dag(n: usize, seed: u64) -> Vec<Vec<usize>> {
        let mut s = seed;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as usize
        };
        (0..n)
            .map(|i| {
                if i == 0 {
                    return Vec::new();
                }
                let k = next() % 4;
                (0..k)
                    .map(|_| {
                        if next() % 10 < 7 {
                            i - 1 - next() % i.min(12)
                        } else {
                            next() % i
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn empty_graph() {
        let l = check(&[], &[]);
        assert_eq!((l.width, l.height), (0, 0));
        assert!(l.edges.is_empty());
        assert_eq!(l.neighbour(0, Dir::Right), None);
    }

    #[test]
    fn chain_of_three() {
        let l = check(&["a", "b", "c"], &[vec![], vec![0], vec![1]]);
        assert_eq!(
            l.nodes[0],
            NodeBox {
                x: 0,
                y: 0,
                width: 5,
                layer: 0,
                slot: 0
            }
        );
        assert_eq!(
            l.nodes[1],
            NodeBox {
                x: 11,
                y: 0,
                width: 5,
                layer: 1,
                slot: 0
            }
        );
        assert_eq!((l.width, l.height), (27, 3));
        assert_eq!(l.neighbour(0, Dir::Right), Some(1));
        assert_eq!(l.neighbour(1, Dir::Right), Some(2));
        assert_eq!(l.neighbour(2, Dir::Right), None);
        assert_eq!(l.neighbour(2, Dir::Left), Some(1));
        assert_eq!(l.neighbour(0, Dir::Left), None);
        assert_eq!(l.neighbour(1, Dir::Up), None);
        assert_eq!(l.neighbour(1, Dir::Down), None);
        assert_eq!(l.neighbour(3, Dir::Down), None);
        assert_eq!(
            render(&["a", "b", "c"], &l),
            "┌───┐      ┌───┐      ┌───┐\n\
             │ a │─────▶│ b │─────▶│ c │\n\
             └───┘      └───┘      └───┘"
        );
    }

    #[test]
    fn diamond_picture() {
        let names = ["a", "b", "c", "d"];
        let l = check(&names, &[vec![], vec![0], vec![0], vec![1, 2]]);
        let want = [
            "┌───┐      ┌───┐      ┌───┐",
            "│ a │──┬──▶│ b │──┬──▶│ d │",
            "└───┘  │   └───┘  │   └───┘",
            "       │          │",
            "       │   ┌───┐  │",
            "       └──▶│ c │──┘",
            "           └───┘",
        ];
        assert_eq!(render(&names, &l), want.join("\n"));
        assert_eq!(l.neighbour(0, Dir::Right), Some(1));
        assert_eq!(l.neighbour(1, Dir::Down), Some(2));
        assert_eq!(l.neighbour(2, Dir::Up), Some(1));
        assert_eq!(l.neighbour(2, Dir::Down), None);
        assert_eq!(l.neighbour(2, Dir::Right), Some(3));
        assert_eq!(l.neighbour(2, Dir::Left), Some(0));
        assert_eq!(l.neighbour(3, Dir::Left), Some(1));
    }

    #[test]
    fn jog_picture() {
        // a->e and c->d pass layer 1 in dummy slots whose lines would meet
        // on e's dummy row: a->e jogs over row 8 to a track right of c->d.
        let names = ["a", "b", "c", "d", "e"];
        let l = check(
            &names,
            &[vec![], vec![0], vec![], vec![2, 1], vec![0, 3, 1]],
        );
        assert!(l.routes.iter().any(|r| r.jog.is_some()));
        let want = [
            "┌───┐      ┌───┐                  ┌───┐",
            "│ a │──┬──▶│ b │──┬───────────┬──▶│ e │",
            "└───┘  │   └───┘  │           │   └───┘",
            "       │          │           │",
            "┌───┐  │          │    ┌───┐  │",
            "│ c │─┐└─────────┐└┬──▶│ d │──┤",
            "└───┘ │          │ │   └───┘  │",
            "      │          │ │          │",
            "      │          └─┼┐         │",
            "      └────────────┘└─────────┘",
            "",
        ];
        assert_eq!(render(&names, &l), want.join("\n"));
    }

    #[test]
    fn fan_out_of_sixteen() {
        let names = labels(17);
        let deps: Vec<Vec<usize>> = (0..17)
            .map(|i| if i == 0 { vec![] } else { vec![0] })
            .collect();
        let l = check(&refs(&names), &deps);
        // One fork: a single track, so the gap keeps its minimum width.
        assert_eq!(l.nodes[1].x, l.nodes[0].width + MIN_GAP);
        assert_eq!(l.height, 16 * 4 - 1);
        let first = l.neighbour(0, Dir::Right).expect("a child");
        assert_eq!(l.nodes[first].slot, 0);
        let mut at = first;
        let mut seen = vec![at];
        while let Some(next) = l.neighbour(at, Dir::Down) {
            assert_eq!(l.nodes[next].slot, l.nodes[at].slot + 1);
            at = next;
            seen.push(at);
        }
        assert_eq!(seen.len(), 16);
        assert_eq!(l.neighbour(at, Dir::Left), Some(0));
        assert_eq!(l.neighbour(0, Dir::Down), None);
    }

    #[test]
    fn long_edge_goes_through_a_dummy_slot() {
        let names = ["a", "b", "c", "d"];
        let l = check(&names, &[vec![], vec![0], vec![1], vec![2, 0]]);
        assert_eq!(
            l.nodes.iter().map(|b| b.layer).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        // The dummies sit in slot 1 of layers 1 and 2, drawn across them.
        for i in [1, 2] {
            let b = &l.nodes[i];
            let col: Vec<u16> = l
                .edges
                .iter()
                .filter(|e| e.1 == 5 && e.0 >= b.x && e.0 < b.x + 5)
                .map(|e| e.0)
                .collect();
            assert_eq!(col.len(), 5, "dummy line across layer {i}");
        }
        assert_eq!(l.neighbour(3, Dir::Left), Some(2));
        assert_eq!(l.neighbour(0, Dir::Right), Some(1));
        assert_eq!(l.neighbour(1, Dir::Down), None);
    }

    #[test]
    fn isolated_nodes_and_bad_input() {
        let l = check(&["x", "yy", "zzz"], &[vec![], vec![], vec![]]);
        assert!(l.edges.is_empty());
        assert_eq!(
            l.nodes.iter().map(|b| b.slot).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(l.width, 7);
        assert_eq!(l.neighbour(0, Dir::Down), Some(1));
        assert_eq!(l.neighbour(2, Dir::Up), Some(1));
        assert_eq!(l.neighbour(1, Dir::Left), None);
        assert_eq!(l.neighbour(1, Dir::Right), None);

        // Duplicates, self-loops, unknown ids, missing entries, forward deps
        // and a cycle do not panic.
        let l = layout(
            &["a", "b", "c", "d"],
            &[vec![2, 0, 9], vec![0, 0, 0], vec![3], vec![2]],
        );
        assert_eq!(l.nodes.len(), 4);
        // 0 and 2 go first (smallest index) when the cycles block, so the
        // edges into them are the ones left out.
        assert_eq!(l.hidden_edges, [(2, 0), (3, 2)]);
        assert_eq!(
            l.nodes.iter().map(|b| b.layer).collect::<Vec<_>>(),
            [0, 1, 0, 1]
        );
        assert_eq!(l.neighbour(3, Dir::Left), Some(2));
        let l = layout(&["a", "b", "c"], &[vec![], vec![0, 0, 0, 0]]);
        assert_eq!(l.nodes[1].layer, 1);
        assert_eq!(l.nodes[2].layer, 0);
        let l = check(&["a", "b", "c"], &[vec![], vec![0, 0, 0, 0], vec![]]);
        assert_eq!(l.nodes[1].layer, 1);
    }

    #[test]
    fn long_and_wide_labels() {
        let long = "x".repeat(100);
        let names = [long.as_str(), "界界", "", "b"];
        let l = check(&names, &[vec![], vec![0], vec![0], vec![1, 2]]);
        assert_eq!(l.nodes[0].width, MAX_BOX_WIDTH);
        assert_eq!(l.nodes[1].width, 8);
        assert_eq!(l.nodes[2].width, 4);
    }

    #[test]
    fn crossing_edges_read_correctly() {
        // Two pairs whose edges must swap rows, plus extra fan-in.
        let deps = vec![
            vec![],
            vec![],
            vec![1],
            vec![0],
            vec![0, 1],
            vec![2, 3],
            vec![3, 2, 4],
        ];
        let names = labels(deps.len());
        check(&refs(&names), &deps);
    }

    #[test]
    fn random_dags() {
        for (n, seed) in [(200, 1), (200, 7), (60, 3), (120, 99), (500, 5)] {
            let deps = random_dag(n, seed);
            let mut names = labels(n);
            names[n / 3] = "a rather long label that will be truncated".into();
            let l = check(&refs(&names), &deps);
            // Neighbour moves follow the documented rules.
            for (i, b) in l.nodes.iter().enumerate() {
                for dir in [Dir::Up, Dir::Down] {
                    let want = l
                        .nodes
                        .iter()
                        .enumerate()
                        .filter(|(_, o)| o.layer == b.layer)
                        .filter(|(_, o)| {
                            if dir == Dir::Up {
                                o.slot < b.slot
                            } else {
                                o.slot > b.slot
                            }
                        });
                    let want = if dir == Dir::Up {
                        want.max_by_key(|(_, o)| o.slot).map(|(j, _)| j)
                    } else {
                        want.min_by_key(|(_, o)| o.slot).map(|(j, _)| j)
                    };
                    assert_eq!(l.neighbour(i, dir), want);
                }
                for dir in [Dir::Left, Dir::Right] {
                    let got = l.neighbour(i, dir);
                    let layer = if dir == Dir::Left {
                        b.layer.checked_sub(1)
                    } else {
                        Some(b.layer + 1)
                    };
                    let layer = layer.filter(|&k| l.nodes.iter().any(|o| o.layer == k));
                    let Some(layer) = layer else {
                        assert_eq!(got, None);
                        continue;
                    };
                    let direct = |j: usize| {
                        if dir == Dir::Left {
                            deps[i].contains(&j)
                        } else {
                            deps[j].contains(&i)
                        }
                    };
                    let in_layer: Vec<usize> =
                        (0..n).filter(|&j| l.nodes[j].layer == layer).collect();
                    let pool: Vec<usize> = if in_layer.iter().any(|&j| direct(j)) {
                        in_layer.iter().copied().filter(|&j| direct(j)).collect()
                    } else {
                        in_layer
                    };
                    let got = got.expect("a node that way");
                    assert!(pool.contains(&got));
                    let dist = |j: usize| l.nodes[j].slot.abs_diff(b.slot);
                    assert!(pool.iter().all(|&j| dist(j) >= dist(got)));
                }
            }
        }
    }

    /// Large random graphs lay out whole (how fast is measured by
    /// `cargo bench --bench tui`, not here: a busy machine must not fail a
    /// test).
    #[test]
    fn two_hundred_and_five_hundred_nodes_lay_out() {
        let deps = random_dag(200, 42);
        let edges: usize = deps.iter().map(Vec::len).sum();
        assert!((250..=350).contains(&edges), "{edges} edges");
        let names = labels(200);
        assert_eq!(layout(&refs(&names), &deps).nodes.len(), 200);
        let big = random_dag(500, 43);
        let names = labels(500);
        assert_eq!(layout(&refs(&names), &big).nodes.len(), 500);
    }

    #[test]
    fn huge_graphs_stay_bounded() {
        let n = 500;
        let names = labels(n);
        let names = refs(&names);
        // A long chain where every task also needs the first one, and a
        // dense graph with ~41 000 edges: too many dummy slots to draw all.
        let fan: Vec<Vec<usize>> = (0..n)
            .map(|i| if i < 2 { vec![0; i] } else { vec![i - 1, 0] })
            .collect();
        let dense: Vec<Vec<usize>> = (0..n).map(|i| (0..i).step_by(3).collect()).collect();
        for deps in [fan, dense] {
            let t = Instant::now();
            let l = layout(&names, &deps);
            assert!(t.elapsed().as_secs() < 10, "took {:?}", t.elapsed());
            assert!(!l.hidden_edges.is_empty());
            assert!(l.hidden_edges.iter().all(|&(u, i)| deps[i].contains(&u)));
            let boxes: HashSet<(u16, u16)> = l
                .nodes
                .iter()
                .flat_map(|b| {
                    (b.y..b.y + BOX_HEIGHT)
                        .flat_map(move |y| (b.x..b.x + b.width).map(move |x| (x, y)))
                })
                .collect();
            assert!(
                l.edges
                    .iter()
                    .all(|&(x, y, _)| x < l.width && y < l.height && !boxes.contains(&(x, y)))
            );
        }
    }

    /// `split → shards → merge` with `k` shards, plus `extra` tasks.
    fn fan(k: usize) -> (Vec<String>, Vec<Vec<usize>>) {
        let mut names = vec!["split".to_string()];
        let mut deps = vec![vec![]];
        for i in 0..k {
            names.push(format!("shard_{i:02}"));
            deps.push(vec![0]);
        }
        names.push("merge".into());
        deps.push((1..=k).collect());
        (names, deps)
    }

    #[test]
    fn siblings_with_the_same_upstreams_and_downstreams_are_one_box() {
        let (names, deps) = fan(16);
        let l = layout_grouped(&refs(&names), &deps, &[]);
        assert_eq!(
            l.groups,
            [Group {
                members: (1..=16).collect(),
                open: false
            }]
        );
        assert_eq!(l.shows, [Shows::Task(0), Shows::Group(0), Shows::Task(17)]);
        assert_eq!(l.nodes.len(), 3);
        assert_eq!(l.box_of(0), Some(0));
        assert!((1..=16).all(|t| l.box_of(t) == Some(1) && l.group_of(t) == Some(0)));
        assert_eq!(l.box_of(17), Some(2));
        assert_eq!(l.group_of(17), None);
        assert_eq!(l.task_of(1), Some(1));
        // One row of boxes, one edge in and one out of the group.
        assert_eq!(l.height, BOX_HEIGHT);
        let labels = ["· split", "· shard_00 … shard_15 ×16", "· merge"];
        assert_eq!(
            render(&labels, &l),
            "┌─────────┐      ┌───────────────────────────┐      ┌─────────┐\n\
             │ · split │─────▶│ · shard_00 … shard_15 ×16 │─────▶│ · merge │\n\
             └─────────┘      └───────────────────────────┘      └─────────┘"
        );
        assert_eq!(l.neighbour(0, Dir::Right), Some(1));
        assert_eq!(l.neighbour(1, Dir::Right), Some(2));
        assert_eq!(l.neighbour(2, Dir::Left), Some(1));
        assert_eq!(l.adjacent(1).collect::<Vec<_>>(), [0, 2]);
    }

    #[test]
    fn an_open_group_draws_its_members() {
        let (names, deps) = fan(16);
        // Any member opens its group.
        let l = layout_grouped(&refs(&names), &deps, &[5]);
        assert!(l.groups[0].open);
        assert_eq!(l.nodes.len(), 18);
        assert!((0..18).all(|t| l.box_of(t) == Some(t)));
        assert!((1..=16).all(|t| l.group_of(t) == Some(0)));
        let plain = layout(
            &refs(&names.iter().map(|n| format!("· {n}")).collect::<Vec<_>>()),
            &deps,
        );
        assert_eq!(l.nodes, plain.nodes);
        assert_eq!(l.edges, plain.edges);
        // Indices that are in no group change nothing.
        let l = layout_grouped(&refs(&names), &deps, &[0, 17, 99]);
        assert_eq!(l.nodes.len(), 3);
    }

    #[test]
    fn siblings_that_differ_upstream_or_downstream_are_not_grouped() {
        // t0 → t1..t4 → t5, and t4 → t6 as well: t4 differs downstream,
        // t1..t3 group. t7 stands alone.
        let names = labels(8);
        let deps = vec![
            vec![],
            vec![0],
            vec![0],
            vec![0],
            vec![0],
            vec![1, 2, 3, 4],
            vec![4],
            vec![],
        ];
        let l = layout_grouped(&refs(&names), &deps, &[]);
        assert_eq!(l.groups.len(), 1);
        assert_eq!(l.groups[0].members, [1, 2, 3]);
        // t3 needs t7 too: it differs upstream, leaving two, too few.
        let mut deps = deps;
        deps[3] = vec![0, 7];
        let l = layout_grouped(&refs(&names), &deps, &[]);
        assert!(l.groups.is_empty(), "{:?}", l.groups);
        assert_eq!(l.nodes.len(), 8);
    }

    #[test]
    fn two_siblings_and_unconnected_tasks_are_not_grouped() {
        let (names, deps) = fan(2);
        let l = layout_grouped(&refs(&names), &deps, &[]);
        assert!(l.groups.is_empty());
        assert_eq!(l.shows, (0..4).map(Shows::Task).collect::<Vec<_>>());
        let (names, deps) = fan(MIN_GROUP);
        assert_eq!(layout_grouped(&refs(&names), &deps, &[]).groups.len(), 1);
        // Five tasks without any edge stay five boxes.
        let names = labels(5);
        let l = layout_grouped(&refs(&names), &vec![vec![]; 5], &[]);
        assert!(l.groups.is_empty());
        assert_eq!(l.nodes.len(), 5);
    }

    #[test]
    fn sinks_and_sources_group_and_groups_chain() {
        // s0, s1, s2 → m → x0..x3 (sinks) ; m → y; y → z0, z1, z2 → w
        let mut names = Vec::new();
        let mut deps: Vec<Vec<usize>> = Vec::new();
        for i in 0..3 {
            names.push(format!("s{i}"));
            deps.push(vec![]);
        }
        names.push("m".into());
        deps.push(vec![0, 1, 2]);
        for i in 0..4 {
            names.push(format!("x{i}"));
            deps.push(vec![3]);
        }
        let l = layout_grouped(&refs(&names), &deps, &[]);
        assert_eq!(
            l.groups
                .iter()
                .map(|g| g.members.clone())
                .collect::<Vec<_>>(),
            [vec![0, 1, 2], vec![4, 5, 6, 7]]
        );
        assert_eq!(l.shows, [Shows::Group(0), Shows::Task(3), Shows::Group(1)]);
        assert_eq!(l.height, BOX_HEIGHT);
        // Opening one leaves the other shut.
        let l = layout_grouped(&refs(&names), &deps, &[6]);
        assert_eq!(l.nodes.len(), 6);
        assert_eq!(l.box_of(0), Some(0));
        assert_eq!(l.box_of(2), Some(0));
        assert_eq!(l.box_of(4), Some(2));
        assert_eq!(l.box_of(7), Some(5));
    }

    #[test]
    fn grouping_never_panics_on_bad_input() {
        let names = labels(6);
        let deps = vec![
            vec![5],
            vec![0, 0, 9],
            vec![0],
            vec![0],
            vec![1, 2, 3],
            vec![4],
        ];
        let l = layout_grouped(&refs(&names), &deps, &[usize::MAX]);
        assert_eq!(l.box_of.len(), 6);
        assert_eq!(layout_grouped(&[], &[], &[]).nodes.len(), 0);
        let l = layout_grouped(&refs(&names), &[], &[]);
        assert_eq!(l.nodes.len(), 6);
        assert_eq!(l.box_of(6), None);
        assert_eq!(l.task_of(99), None);
    }

    #[test]
    fn a_two_hundred_task_fan_out_fits_a_screen() {
        let (names, deps) = fan(198);
        let l = layout_grouped(&refs(&names), &deps, &[]);
        assert_eq!(l.nodes.len(), 3);
        assert!(
            l.width <= 80 && l.height == BOX_HEIGHT,
            "{}×{}",
            l.width,
            l.height
        );
    }

    #[test]
    fn deterministic() {
        let deps = random_dag(150, 11);
        let names = labels(150);
        let a = layout(&refs(&names), &deps);
        let b = layout(&refs(&names), &deps);
        assert_eq!(a.nodes, b.nodes);
        assert_eq!(a.edges, b.edges);
    }
}
