//! drover's own log (`L`): what drover said while the screen was up (the
//! answers to commands, problems), from `tui_logger`'s buffer; its keys
//! page through it.
//!
//! May call: `tui_logger`, `tui::ctx`, `tui::keymap`, `tui::theme`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Widget};
use tui_logger::TuiWidgetEvent;

use super::steps;
use crate::tui::ctx::{Ctx, View};
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;

/// Where drover's own log is scrolled to, and the view it was opened from.
pub struct OwnLogView {
    pub state: tui_logger::TuiWidgetState,
    /// Where Esc goes.
    pub from: View,
}

impl Default for OwnLogView {
    fn default() -> Self {
        OwnLogView {
            state: tui_logger::TuiWidgetState::new(),
            from: View::Flows,
        }
    }
}

impl OwnLogView {
    /// Takes the keys of this view: a page up or down, the end. Esc
    /// leaves the scrolled-back state and is left to the app (it goes
    /// back), as is every other key.
    pub fn on_action(&mut self, ctx: &Ctx, action: Action) -> bool {
        if action == Action::Back {
            self.state.transition(TuiWidgetEvent::EscapeKey);
            return false;
        }
        let Some((_, dy)) = steps(action, ctx.page()) else {
            return false;
        };
        let event = match dy {
            d if d >= isize::MAX / 4 => TuiWidgetEvent::EscapeKey,
            d if d < 0 => TuiWidgetEvent::PrevPageKey,
            d if d > 0 => TuiWidgetEvent::NextPageKey,
            _ => return true,
        };
        self.state.transition(event);
        true
    }

    /// Draws drover's log, newest at the bottom.
    pub fn render(&self, theme: &Theme, area: Rect, buf: &mut Buffer) {
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.border(true))
            .title(Span::styled(
                " drover's own log · k/j a page up/down · G the end · Esc back ",
                theme.title(),
            ));
        tui_logger::TuiLoggerWidget::default()
            .block(block)
            .style(theme.text())
            .style_error(theme.error())
            .style_warn(theme.warning())
            .style_info(theme.text())
            .state(&self.state)
            .output_separator(' ')
            .output_timestamp(Some("%H:%M:%S".to_string()))
            .output_level(None)
            .output_target(false)
            .output_file(false)
            .output_line(false)
            .render(area, buf);
    }
}
