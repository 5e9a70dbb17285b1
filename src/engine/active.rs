//! A run in progress: its task instances indexed by graph position, with
//! the bookkeeping that keeps each scheduling pass proportional to what
//! changed rather than to the size of the flow.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::rules::{self, Decision};
use crate::flow::Flow;
use crate::store::{Run, RunState, TaskInstance, TaskState};

pub struct ActiveRun {
    pub run: Run,
    pub flow: Arc<Flow>,
    /// Task instances in the flow's (topological) order; `None` for a flow
    /// task this run has no instance of (the flow gained it later).
    tis: Vec<Option<TaskInstance>>,
    /// The flow's graph by position, shared by every run of the version.
    shape: Arc<Shape>,
    /// Pending instances to decide again: their upstream changed.
    dirty: BTreeSet<usize>,
    /// Instances waiting for their retry time.
    retrying: BTreeSet<usize>,
    /// Instances not yet done, and those done as failures.
    unfinished: usize,
    failed: usize,
    /// Outputs of each task's latest try, kept here so that starting a task
    /// never reads its ancestors' tries back from the store.
    outputs: Vec<BTreeMap<String, String>>,
}

/// A flow version's graph by task position: what every run of it would
/// otherwise hold a copy of (a backfill holds hundreds of runs at once).
pub struct Shape {
    index: HashMap<String, usize>,
    deps: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
}

impl Shape {
    pub fn of(flow: &Flow) -> Shape {
        let index: HashMap<String, usize> = flow
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        let deps = flow.dep_indices();
        let mut dependents = vec![Vec::new(); deps.len()];
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                dependents[d].push(i);
            }
        }
        Shape {
            index,
            deps,
            dependents,
        }
    }
}

impl ActiveRun {
    /// A run of `flow`, whose `shape` is `Shape::of(&flow)`.
    pub fn new(
        run: Run,
        flow: Arc<Flow>,
        shape: Arc<Shape>,
        stored: Vec<TaskInstance>,
    ) -> ActiveRun {
        let index = &shape.index;
        let mut tis: Vec<Option<TaskInstance>> = vec![None; flow.tasks.len()];
        for ti in stored {
            if let Some(&i) = index.get(&ti.task) {
                tis[i] = Some(ti);
            }
        }
        let mut active = ActiveRun {
            run,
            flow,
            tis,
            shape,
            dirty: BTreeSet::new(),
            retrying: BTreeSet::new(),
            unfinished: 0,
            failed: 0,
            outputs: Vec::new(),
        };
        active.outputs = vec![BTreeMap::new(); active.tis.len()];
        for i in 0..active.tis.len() {
            if let Some(ti) = &active.tis[i] {
                match ti.state {
                    TaskState::Pending => {
                        active.dirty.insert(i);
                    }
                    TaskState::UpForRetry => {
                        active.retrying.insert(i);
                    }
                    _ => {}
                }
                if !ti.state.is_done() {
                    active.unfinished += 1;
                } else if ti.state.is_failure() {
                    active.failed += 1;
                }
            }
        }
        active
    }

    pub fn position(&self, task: &str) -> Option<usize> {
        self.shape.index.get(task).copied()
    }

    pub fn ti(&self, i: usize) -> Option<&TaskInstance> {
        self.tis.get(i).and_then(Option::as_ref)
    }

    /// Every instance, in graph order.
    pub fn instances(&self) -> impl Iterator<Item = (usize, &TaskInstance)> {
        self.tis
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i, t)))
    }

    /// Changes instance `i`, keeping the counts and sets right, and marks its
    /// dependents for a new decision when it is done. Returns a copy of the
    /// changed instance (to store and announce).
    pub fn set(
        &mut self,
        i: usize,
        state: TaskState,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut TaskInstance),
    ) -> Option<TaskInstance> {
        let ti = self.tis.get_mut(i)?.as_mut()?;
        let before = ti.state;
        ti.state = state;
        ti.updated = now;
        change(ti);
        let after = ti.state;
        if before.is_done() {
            self.failed -= usize::from(before.is_failure());
        } else {
            self.unfinished -= 1;
        }
        if after.is_done() {
            self.failed += usize::from(after.is_failure());
            self.dirty.extend(self.shape.dependents[i].iter().copied());
        } else {
            self.unfinished += 1;
        }
        if after == TaskState::Pending {
            self.dirty.insert(i);
        }
        if after == TaskState::UpForRetry {
            self.retrying.insert(i);
        } else {
            self.retrying.remove(&i);
        }
        self.tis[i].clone()
    }

    /// Gives the pending root instances (no upstream) of a run that waits
    /// for a run slot `note`, saying why they wait; their decision clears
    /// it once the run is admitted. Returns copies of those whose note
    /// changed (to store and announce).
    pub fn note_waiting(&mut self, note: &str, now: DateTime<Utc>) -> Vec<TaskInstance> {
        let mut changed = Vec::new();
        for (i, slot) in self.tis.iter_mut().enumerate() {
            let Some(ti) = slot.as_mut() else { continue };
            if ti.state != TaskState::Pending
                || !self.shape.deps[i].is_empty()
                || ti.note.as_deref() == Some(note)
            {
                continue;
            }
            ti.note = Some(note.to_string());
            ti.updated = now;
            changed.push(ti.clone());
        }
        changed
    }

    /// Decides the pending instances whose upstream changed, and queues the
    /// retries whose time has come. Returns the positions that changed, with
    /// their new state.
    pub fn decide(&mut self, now: DateTime<Utc>) -> Vec<usize> {
        let mut changed = Vec::new();
        let due: Vec<usize> = self
            .retrying
            .iter()
            .copied()
            .filter(|&i| self.ti(i).and_then(|t| t.retry_at).is_none_or(|t| t <= now))
            .collect();
        for i in due {
            self.set(i, TaskState::Queued, now, |_| {});
            changed.push(i);
        }
        while let Some(i) = self.dirty.pop_first() {
            if self.ti(i).is_none_or(|t| t.state != TaskState::Pending) {
                continue;
            }
            let upstream: Vec<TaskState> = self.shape.deps[i]
                .iter()
                .filter_map(|&d| self.ti(d).map(|t| t.state))
                .collect();
            let next = match rules::decide(self.flow.tasks[i].trigger, &upstream) {
                Decision::Wait => continue,
                Decision::Run => TaskState::Queued,
                Decision::Skip => TaskState::Skipped,
                Decision::UpstreamFailed => TaskState::UpstreamFailed,
            };
            self.set(i, next, now, |ti| ti.note = None);
            changed.push(i);
        }
        changed
    }

    pub fn set_outputs(&mut self, i: usize, outputs: BTreeMap<String, String>) {
        if let Some(slot) = self.outputs.get_mut(i) {
            *slot = outputs;
        }
    }

    /// Outputs of every task upstream of `i` (direct or not), by task id.
    pub fn upstream_outputs(&self, i: usize) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let mut seen = HashSet::new();
        let mut stack = self.shape.deps[i].clone();
        while let Some(u) = stack.pop() {
            if !seen.insert(u) {
                continue;
            }
            if !self.outputs[u].is_empty() {
                out.insert(self.flow.tasks[u].id.clone(), self.outputs[u].clone());
            }
            stack.extend(self.shape.deps[u].iter().copied());
        }
        out
    }

    /// Whether nothing of the run has been queued or started yet: each
    /// instance is pending or done (marked by hand).
    pub fn untouched(&self) -> bool {
        self.instances()
            .all(|(_, ti)| ti.state == TaskState::Pending || ti.state.is_done())
    }

    /// The run and its flow, without its task instances.
    pub fn into_bare(self) -> (Run, Arc<Flow>) {
        (self.run, self.flow)
    }

    /// The run's state from its instances: running while one is unfinished.
    pub fn state(&self) -> RunState {
        if self.unfinished > 0 {
            RunState::Running
        } else if self.failed > 0 {
            RunState::Failed
        } else {
            RunState::Success
        }
    }

    /// The earliest retry time of an instance waiting for one.
    pub fn next_retry(&self) -> Option<DateTime<Utc>> {
        self.retrying
            .iter()
            .filter_map(|&i| self.ti(i).and_then(|t| t.retry_at))
            .min()
    }
}
