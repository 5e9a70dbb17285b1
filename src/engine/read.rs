//! The read side of a running instance: what a screen shows (runs, task
//! instances, tries, log files), read without going through the engine's
//! loop. Reads see every change the engine has committed.

use std::path::PathBuf;

use crate::logs::{LogDir, TryFiles};
use crate::store::{Run, RunKey, Store, StoreError, TaskInstance, Try};

/// Reads a home's runs and logs; cheap to clone.
#[derive(Clone)]
pub struct Reader {
    store: Store,
    logs: LogDir,
}

type Result<T> = std::result::Result<T, StoreError>;

impl Reader {
    pub fn new(store: Store) -> Reader {
        let logs = LogDir::new(store.home().join(".drover").join("logs"));
        Reader { store, logs }
    }

    /// The newest `n` runs of a flow, newest first.
    pub fn runs(&self, flow: &str, n: usize) -> Result<Vec<Run>> {
        self.store.latest_runs(flow, n)
    }

    /// Up to `n` runs older than `before`, newest first.
    pub fn runs_before(&self, flow: &str, before: &RunKey, n: usize) -> Result<Vec<Run>> {
        self.store.runs_before(flow, before, n)
    }

    /// The newest run at or before `at`, with how many runs are newer.
    pub fn run_at_or_before(
        &self,
        flow: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<(usize, Run)>> {
        self.store.run_at_or_before(flow, at)
    }

    /// Task instances of consecutive runs (newest first), in one read.
    pub fn task_instances_of(&self, runs: &[Run]) -> Result<Vec<Vec<TaskInstance>>> {
        self.store.task_instances_of(runs)
    }

    pub fn run(&self, flow: &str, run_id: &str) -> Result<Option<Run>> {
        self.store.run(flow, run_id)
    }

    /// The run of a flow created last (what `latest` means everywhere).
    pub fn newest_run(&self, flow: &str) -> Result<Option<Run>> {
        self.store.newest_run(flow)
    }

    /// How many runs of a flow are running now.
    pub fn running_runs(&self, flow: &str) -> Result<usize> {
        self.store.running_runs(flow)
    }

    pub fn run_count(&self, flow: &str) -> usize {
        self.store.run_count(flow)
    }

    pub fn task_instances(&self, run: &Run) -> Result<Vec<TaskInstance>> {
        self.store.task_instances(run)
    }

    pub fn tries(&self, run: &Run, task: &str) -> Result<Vec<Try>> {
        self.store.tries(run, task)
    }

    /// The stored pause state of a flow, if it was ever paused or unpaused.
    pub fn paused(&self, flow: &str) -> Result<Option<bool>> {
        Ok(self.store.flow_state(flow)?.map(|s| s.paused))
    }

    /// The text of a flow version a run was made from.
    pub fn flow_text(&self, flow: &str, version: &str) -> Result<Option<String>> {
        self.store.flow_version(flow, version)
    }

    pub fn try_files(&self, flow: &str, run_id: &str, task: &str, try_number: u32) -> TryFiles {
        self.logs.try_files(flow, run_id, task, try_number)
    }

    /// The home's root folder.
    pub fn home(&self) -> PathBuf {
        self.store.home().to_path_buf()
    }
}
