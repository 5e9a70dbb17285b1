//! Task instance and run states, their names and glyphs (SPEC §4).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Upstream not done yet.
    Pending,
    /// Ready, waiting for a slot.
    Queued,
    Running,
    Success,
    Failed,
    /// Failed, with a retry scheduled.
    UpForRetry,
    UpstreamFailed,
    Skipped,
}

impl TaskState {
    pub const ALL: [TaskState; 8] = [
        TaskState::Pending,
        TaskState::Queued,
        TaskState::Running,
        TaskState::Success,
        TaskState::Failed,
        TaskState::UpForRetry,
        TaskState::UpstreamFailed,
        TaskState::Skipped,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Success => "success",
            TaskState::Failed => "failed",
            TaskState::UpForRetry => "up_for_retry",
            TaskState::UpstreamFailed => "upstream_failed",
            TaskState::Skipped => "skipped",
        }
    }

    /// A glyph that tells the state apart without colour.
    pub fn glyph(self) -> char {
        match self {
            TaskState::Pending => '·',
            TaskState::Queued => '◷',
            TaskState::Running => '▶',
            TaskState::Success => '✓',
            TaskState::Failed => '✗',
            TaskState::UpForRetry => '↻',
            TaskState::UpstreamFailed => '⊘',
            TaskState::Skipped => '⤼',
        }
    }

    /// Finished for good (until cleared).
    pub fn is_done(self) -> bool {
        matches!(
            self,
            TaskState::Success | TaskState::Failed | TaskState::UpstreamFailed | TaskState::Skipped
        )
    }

    /// Counts as failed for trigger rules and run outcome.
    pub fn is_failure(self) -> bool {
        matches!(self, TaskState::Failed | TaskState::UpstreamFailed)
    }

    pub fn parse(name: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Queued,
    Running,
    Success,
    Failed,
}

impl RunState {
    pub fn name(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Success => "success",
            RunState::Failed => "failed",
        }
    }

    pub fn glyph(self) -> char {
        match self {
            RunState::Queued => '◷',
            RunState::Running => '▶',
            RunState::Success => '✓',
            RunState::Failed => '✗',
        }
    }

    pub fn is_done(self) -> bool {
        matches!(self, RunState::Success | RunState::Failed)
    }

    /// The state a run is in given its task instances' states: running while
    /// any is unfinished; success when every one ended in success or skipped.
    pub fn from_tasks(states: impl IntoIterator<Item = TaskState>) -> RunState {
        let mut failed = false;
        for s in states {
            if !s.is_done() {
                return RunState::Running;
            }
            failed |= s.is_failure();
        }
        if failed {
            RunState::Failed
        } else {
            RunState::Success
        }
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_glyphs_differ() {
        let mut glyphs = std::collections::HashSet::new();
        for s in TaskState::ALL {
            assert_eq!(TaskState::parse(s.name()), Some(s));
            assert!(glyphs.insert(s.glyph()), "{s} shares a glyph");
        }
    }

    #[test]
    fn run_state_follows_its_tasks() {
        use TaskState::*;
        assert_eq!(RunState::from_tasks([Success, Skipped]), RunState::Success);
        assert_eq!(
            RunState::from_tasks([Success, UpstreamFailed]),
            RunState::Failed
        );
        assert_eq!(RunState::from_tasks([Failed, Running]), RunState::Running);
        assert_eq!(RunState::from_tasks([UpForRetry]), RunState::Running);
    }
}
