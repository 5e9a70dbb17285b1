//! The Graph view: the flow's DAG in layers, left to right, nodes coloured
//! by the selected run's states; the view scrolls to keep the selected node
//! in sight.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;

use super::{fit, put};
use crate::store::TaskState;
use crate::tui::app::App;
use crate::tui::graph_layout::{BOX_HEIGHT, SLOT_PITCH};

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    super::grid::run_header(
        app,
        app.grid.selected_run(),
        Rect { height: 1, ..area },
        buf,
    );
    let Some((_, layout)) = &app.graph else {
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
    let Some(flow) = app.grid.flow.as_ref() else {
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
    super::grid::instance_details(app, Rect::new(area.x, top + 1, area.width, 2), buf);
    let selected = app.graph_node();
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
    let run = app.grid.selected_run();
    for (i, node) in layout.nodes.iter().enumerate() {
        let Some(task) = flow.tasks.get(i) else {
            continue;
        };
        let state = run
            .and_then(|r| app.grid.instance(&r.id, &task.id))
            .map(|ti| ti.state);
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
        let top = format!("┌{}┐", "─".repeat(w.saturating_sub(2) as usize));
        let bottom = format!("└{}┘", "─".repeat(w.saturating_sub(2) as usize));
        let glyph = state.map_or(TaskState::Pending.glyph(), TaskState::glyph);
        let label = fit(
            &format!("{glyph} {}", task.id),
            w.saturating_sub(4) as usize,
        );
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
        draw_clipped(buf, &inside, node.x, node.y + 1, "│", border);
        draw_clipped(
            buf,
            &inside,
            node.x + w.saturating_sub(1),
            node.y + 1,
            "│",
            border,
        );
        let inner = format!(" {label:<width$} ", width = w.saturating_sub(4) as usize);
        draw_clipped(buf, &inside, node.x + 1, node.y + 1, &inner, label_style);
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
