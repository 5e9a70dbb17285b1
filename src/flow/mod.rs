//! Flows: the model of a flow file, its parsing with source spans, validation,
//! the task graph and command templates. Also `drover.toml` (the instance
//! config), since flows are validated against its pools and timezone.
//!
//! Pure: no file or network IO, no tokio. Callers hand in file text; every
//! problem comes back as a `Diagnostic` naming file, line and column.

mod config;
pub mod dag;
mod diag;
pub mod duration;
mod fields;
mod parse;
pub mod suggest;
pub mod template;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::schedule::Schedule;

pub use config::{BUILTIN_THEMES, Config, GitConfig, parse_config};
pub use diag::{Diagnostic, Source, thousands};
pub use parse::{is_valid_id, parse_flow, parse_time};
pub use template::{Template, Var};

/// When a task runs, given the states of its direct upstream tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TriggerRule {
    #[default]
    AllSuccess,
    AllDone,
    AllFailed,
    OneSuccess,
    OneFailed,
    NoneFailed,
}

impl TriggerRule {
    pub const ALL: [(&'static str, TriggerRule); 6] = [
        ("all_success", TriggerRule::AllSuccess),
        ("all_done", TriggerRule::AllDone),
        ("all_failed", TriggerRule::AllFailed),
        ("one_success", TriggerRule::OneSuccess),
        ("one_failed", TriggerRule::OneFailed),
        ("none_failed", TriggerRule::NoneFailed),
    ];

    pub fn name(self) -> &'static str {
        TriggerRule::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map_or("all_success", |(n, _)| n)
    }
}

impl fmt::Display for TriggerRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a task's command finds its Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PythonEnv {
    /// Run with `DIR/bin` first on PATH and `VIRTUAL_ENV=DIR` (DIR relative to the home).
    Venv(String),
    /// Run inside `conda run -n NAME --no-capture-output`.
    Conda(String),
}

/// One task of a flow, with the flow's `[defaults]` already applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    pub cmd: Template,
    /// Direct dependencies, as task ids.
    pub deps: Vec<String>,
    pub pool: Option<String>,
    pub python: Option<PythonEnv>,
    pub retries: u32,
    pub retry_delay: Duration,
    pub timeout: Option<Duration>,
    /// Relative to the home unless absolute.
    pub workdir: String,
    pub env: TaskEnv,
    pub trigger: TriggerRule,
    pub priority: i32,
}

/// A task's `env`: the flow's `[defaults] env`, shared by all its tasks
/// rather than copied into each (a big table times many tasks would cost
/// their product), with the task's own entries over it.
#[derive(Debug, Clone, Default)]
pub struct TaskEnv {
    inherited: Arc<BTreeMap<String, String>>,
    own: BTreeMap<String, String>,
}

impl TaskEnv {
    pub fn new(inherited: Arc<BTreeMap<String, String>>, own: BTreeMap<String, String>) -> Self {
        TaskEnv { inherited, own }
    }

    /// Every variable in name order; the task's own value wins over an
    /// inherited one of the same name. Steps: merge the two sorted maps.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        let mut inherited = self.inherited.iter().peekable();
        let mut own = self.own.iter().peekable();
        std::iter::from_fn(move || match (inherited.peek(), own.peek()) {
            (Some((a, _)), Some((b, _))) if a < b => inherited.next(),
            (Some((a, _)), Some((b, _))) if a == b => {
                inherited.next();
                own.next()
            }
            (Some(_), None) => inherited.next(),
            _ => own.next(),
        })
    }

    pub fn get(&self, name: &str) -> Option<&String> {
        self.own.get(name).or_else(|| self.inherited.get(name))
    }
}

impl PartialEq for TaskEnv {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

/// A validated flow. `tasks` is in topological order, dependencies first.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub id: String,
    pub path: PathBuf,
    pub description: String,
    pub schedule: Option<Schedule>,
    pub timezone: Tz,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub catchup: bool,
    pub max_active_runs: u32,
    pub paused: bool,
    pub tags: Vec<String>,
    pub params: BTreeMap<String, String>,
    pub tasks: Vec<Task>,
    /// The file's text, as this version of the flow was read from it.
    pub source: String,
    /// A hash of `source`: the flow's version, recorded with each run.
    pub version: String,
    /// The git commit this version of the file came from, when flows are
    /// deployed from a repository.
    pub commit: Option<String>,
}

/// The version of a flow file's text: 16 hex digits of its FNV-1a hash.
pub fn version_of(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in text.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl Flow {
    /// Each task's position in `tasks`, by id.
    pub fn index(&self) -> std::collections::HashMap<&str, usize> {
        self.tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.as_str(), i))
            .collect()
    }

    /// Each task's dependencies as positions in `tasks`.
    pub fn dep_indices(&self) -> Vec<Vec<usize>> {
        let index = self.index();
        self.tasks
            .iter()
            .map(|t| {
                t.deps
                    .iter()
                    .filter_map(|d| index.get(d.as_str()).copied())
                    .collect()
            })
            .collect()
    }

    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// `chosen` plus, when asked, every task downstream and/or upstream of
    /// them (transitively), in the flow's topological order.
    pub fn select(&self, chosen: &[&str], downstream: bool, upstream: bool) -> Vec<&Task> {
        let index = self.index();
        let deps = self.dep_indices();
        let picked: Vec<usize> = chosen
            .iter()
            .filter_map(|c| index.get(c).copied())
            .collect();
        self.tasks
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                picked.iter().any(|&p| {
                    p == *i
                        || (downstream && dag::depends_on(&deps, *i, p))
                        || (upstream && dag::depends_on(&deps, p, *i))
                })
            })
            .map(|(_, t)| t)
            .collect()
    }

    /// The next fire times strictly after `after`, within `start`..`end`.
    pub fn fire_times_after(
        &self,
        after: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let from = match self.start {
            // A fire exactly at `start` counts, so search from just before it.
            Some(start) if start > after => start - chrono::Duration::nanoseconds(1),
            _ => after,
        };
        let end = self.end;
        self.schedule
            .iter()
            .flat_map(move |s| s.iter_after(self.timezone, from))
            .take_while(move |t| end.is_none_or(|e| *t <= e))
    }
}

impl Flow {
    /// The latest fire time at or before `at` within `start`..`end`, found
    /// in one step however many fire times lie before it.
    ///
    /// Steps: search back from `at`, or from `end` when that is earlier;
    /// a fire time before `start` does not count.
    pub fn latest_fire_time(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let until = self.end.map_or(at, |end| end.min(at));
        let t = self
            .schedule
            .as_ref()?
            .prev_at_or_before(self.timezone, until)?;
        self.start.is_none_or(|start| t >= start).then_some(t)
    }
}

/// A TOML syntax error as a diagnostic.
fn toml_error(src: &Source<'_>, err: &toml::de::Error) -> Diagnostic {
    let span = err.span().unwrap_or(0..0);
    let message = err.message().trim().trim_end_matches('.').to_string();
    src.diagnostic(span, format!("TOML syntax: {message}"))
}
