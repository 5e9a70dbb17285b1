//! What every view shares: the source it reads, the clock, the engine's
//! status and the home's problems, the screen's size and the status-bar
//! message; and the few words views and the app exchange (which view is
//! shown, what the loop is asked to do).
//!
//! A view's methods take `&Ctx` to read and `&mut Ctx` to say something
//! in the status bar; they never reach into another view through it.
//!
//! May call: `api` (the `Source` reads and the actions effects carry),
//! `engine` status (plain data), `home` problems (plain data).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::api::{self, Source};
use crate::engine::Status;
use crate::flow::Flow;
use crate::home::Problems;

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

/// The state every view reads, and the status bar they all write to.
pub struct Ctx {
    pub source: Source,
    /// Actions are refused (`drover --read-only`).
    pub read_only: bool,
    pub now: DateTime<Utc>,
    pub status: Option<Status>,
    pub problems: Problems,
    pub message: Option<Message>,
    /// Screen size, for paging and keeping selections visible.
    pub width: u16,
    pub height: u16,
}

impl Ctx {
    pub fn new(source: Source) -> Ctx {
        Ctx {
            source,
            read_only: false,
            now: Utc::now(),
            status: None,
            problems: Problems::default(),
            message: None,
            width: 100,
            height: 30,
        }
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

    /// Running tries, as the engine last said.
    pub fn running(&self) -> usize {
        self.status.as_ref().map_or(0, |s| s.running)
    }

    /// Rows a page key moves in a list that fills the screen under the
    /// tabs, a header and the status bar.
    pub fn page(&self) -> usize {
        self.height
            .saturating_sub(6)
            .max(1)
            .saturating_sub(1)
            .max(1) as usize
    }

    pub fn say(&mut self, text: impl Into<String>) {
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

    /// Says what went wrong in the status bar, and in drover's log (the
    /// bar may be too narrow for all of it).
    pub fn complain(&mut self, text: impl Into<String>) {
        let text = text.into();
        log::info!("{}", crate::escape::line(&text));
        self.tell(text, true);
    }

    /// On a read-only screen, says that it changes nothing; true then.
    pub fn refused_read_only(&mut self) -> bool {
        if self.read_only {
            self.complain(
                "this screen is read-only (drover --read-only): it shows the instance and changes nothing",
            );
        }
        self.read_only
    }
}
