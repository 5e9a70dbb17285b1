//! Executors start tries somewhere and report when they end.
//!
//! The engine decides *what* runs; an executor decides *where*. Local
//! execution starts child processes; an executor that submits to a cluster
//! (submit, poll, cancel, where the log is) fits the same shape: `launch`
//! returns once the try is handed over, and its end arrives later as an
//! `ExecEvent` on the channel the executor was made with.

use std::path::PathBuf;
use std::time::Duration;

use crate::logs::TryFiles;
use crate::store::RunKey;

/// Names one try of one task instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TryKey {
    pub run: RunKey,
    pub task: String,
    pub number: u32,
}

/// Everything needed to start a try.
#[derive(Debug, Clone)]
pub struct Launch {
    pub key: TryKey,
    /// The program and its arguments (`sh -c CMD`, possibly wrapped).
    pub argv: Vec<String>,
    pub workdir: PathBuf,
    /// Set on top of drover's own environment.
    pub env: Vec<(String, String)>,
    /// Removed from drover's environment.
    pub env_remove: Vec<String>,
    pub timeout: Option<Duration>,
    pub files: TryFiles,
}

/// How a try ended, as the executor saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ended {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Set when drover ended it or something went wrong around it.
    pub reason: Option<String>,
    /// Set when the log could not be written completely.
    pub log_error: Option<String>,
    /// When the try ended, when the one who saw it end says so (a
    /// supervisor, possibly while drover was away).
    #[serde(default)]
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its supervisor could not start the task (it could not write the
    /// start record: a full disk): the try never ran and does not count.
    #[serde(default)]
    pub never_started: bool,
}

#[derive(Debug)]
pub enum ExecEvent {
    Finished { key: TryKey, ended: Ended },
}

/// Whether a try recorded as running, found after a restart, ever started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// It may have: adopt it (its supervisor, its outcome, or what is left
    /// of it).
    Adopt,
    /// It provably did not, and now never will: give it back.
    NeverStarted,
    /// It did not start, but drover cannot make sure it never will: why.
    Unsure(String),
}

pub trait Executor: Send {
    /// Starts a try; returns the process id when there is one. An `Err` says
    /// in words why it could not start (the try then fails with that reason).
    fn launch(&mut self, launch: Launch) -> Result<Option<u32>, String>;

    /// Stops a running try: SIGTERM to its process group, SIGKILL after a
    /// grace period. (The engine keeps the reason.)
    fn kill(&mut self, key: &TryKey);

    /// Kills a running try's processes at once (SIGKILL), without waiting
    /// for its outcome: for a foreground run that is going away.
    fn kill_now(&mut self, key: &TryKey);

    /// After a restart, before `adopt`: whether a try recorded as running
    /// (`pid`: its process, as recorded) may have started. One that did not
    /// is made sure never to start. An executor that cannot tell says `Adopt`.
    fn found(&mut self, files: &TryFiles, pid: Option<u32>) -> Found {
        let _ = (files, pid);
        Found::Adopt
    }

    /// Takes over a try started by an earlier drover process: its outcome
    /// arrives as `Finished`, at once if it ended meanwhile, or when it
    /// does; a try nobody is running any more ends as lost.
    fn adopt(&mut self, key: TryKey, files: TryFiles, pid: Option<u32>);

    /// The engine has recorded the try's outcome: forget it.
    fn done(&mut self, key: &TryKey);
}
