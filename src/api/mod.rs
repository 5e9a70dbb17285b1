//! The instance API: one typed, versioned protocol for everything a client
//! may ask of a running instance (its flows and load, runs by page, task
//! instances, tries, logs by byte range, actions), and a subscription to
//! the engine's change events, coalesced so a burst is one wake-up.
//!
//! Wire (on `.drover/drover.sock`, or any byte stream such as `drover api
//! --stdio` over ssh): one JSON object a line. The client opens with
//! `{"hello":{"version":1,…}}` and waits for the instance's `{"welcome":…}`;
//! then it sends `{"id":N,"call":{…}}` and gets `{"id":N,"ok":…}` or
//! `{"id":N,"error":"…"}` back, answers in any order. After a
//! `subscribe` call the instance also sends `{"events":[…]}` (what changed
//! since the last such line) and `{"resync":true}` when the client fell
//! too far behind to be told piece by piece.
//!
//! [`Source`] is what a screen reads from and acts through: the instance in
//! this process (no encoding at all) or one reached by a [`client::Client`].
//!
//! May call: `engine` (its handle, read model, events), `store` records,
//! `flow` (to read the flow files a remote instance sends), `logs` paths,
//! `home` problems, `control` answers. Never the TUI or the CLI.

mod clear;
pub mod client;
pub mod server;
pub mod service;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::{EngineEvent, Reader, Unrecorded};
use crate::home::Problems;
use crate::logs::TryFiles;
use crate::store::{Run, StoreError, TaskInstance, TaskState, Try};

pub use clear::clear_selection;
pub use client::{Client, Link, Notice, Unreached};
pub use service::Service;

/// The protocol's version; a client and an instance that differ say so.
pub const VERSION: u32 = 1;
/// The largest line a client may send (a call with its arguments).
pub const MAX_CALL: usize = 1 << 20;
/// The largest line an instance sends (a page of runs with their tasks).
pub const MAX_REPLY: usize = 64 << 20;
/// The most log bytes one `log` call returns.
pub const MAX_LOG_CHUNK: u64 = 1 << 20;

/// A client's first line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    pub version: u32,
    /// Who asks, for the instance's log ("tui", "cli").
    pub client: String,
    /// Refuse this connection's actions (a colleague watching).
    #[serde(default)]
    pub read_only: bool,
}

/// The instance's answer to `Hello`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Welcome {
    pub version: u32,
    pub pid: u32,
    /// The home, as the instance sees it.
    pub home: PathBuf,
    /// Why the instance will not talk (another version), if it will not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// What a client asks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// The instance's load, its flows and the home's problems: a [`Status`].
    Status,
    /// Up to `n` runs of a flow, newest first; older than run `before` if
    /// given: `Vec<Run>`.
    Runs {
        flow: String,
        n: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<String>,
    },
    /// The newest run at or before a time, with how many are newer:
    /// `Option<(usize, Run)>`.
    RunAtOrBefore { flow: String, at: DateTime<Utc> },
    /// For each flow, its newest `n` runs, how many it has and whether it
    /// is paused, with the task instances of the newest `instances` runs:
    /// `Vec<FlowRuns>` (what a list of flows or a Grid shows, in one ask).
    FlowRuns {
        flows: Vec<String>,
        n: usize,
        #[serde(default)]
        instances: usize,
    },
    /// A run with its task instances and (with `task`) that task's tries:
    /// `Option<TaskDetail>`.
    TaskDetail {
        flow: String,
        run: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<String>,
    },
    /// How many runs a flow has: `usize`.
    RunCount { flow: String },
    /// One run: `Option<Run>`.
    Run { flow: String, run: String },
    /// The task instances of each of these runs, in their flow's order:
    /// `Vec<Vec<TaskInstance>>`.
    TaskInstances { flow: String, runs: Vec<String> },
    /// A task instance's tries, oldest first: `Vec<Try>`.
    Tries {
        flow: String,
        run: String,
        task: String,
    },
    /// Whether a flow is paused (None: never set): `Option<bool>`.
    Paused { flow: String },
    /// The text of a flow version a run was made from: `Option<String>`.
    FlowText { flow: String, version: String },
    /// Where a try's files are, on the instance's machine: [`Files`].
    TryFiles {
        flow: String,
        run: String,
        task: String,
        try_number: u32,
    },
    /// Up to `max` bytes of a try's log from byte `from`:
    /// `Option<LogChunk>` (None: no log yet).
    Log {
        flow: String,
        run: String,
        task: String,
        try_number: u32,
        from: u64,
        max: u64,
    },
    /// When each chunk of a try's log arrived: `Vec<(u64, DateTime<Utc>)>`
    /// (byte offset, time).
    LogTimes {
        flow: String,
        run: String,
        task: String,
        try_number: u32,
    },
    /// What a reading command prints: [`Answer`].
    Report(Report),
    /// The run created last of a flow: `Option<Run>`.
    NewestRun { flow: String },
    /// How many runs of a flow are running: `usize`.
    RunningRuns { flow: String },
    /// Where a try's log is: `Result<LogTry, Failed>`.
    LogTry(LogQuery),
    /// What a clear would reset, changing nothing: `Result<ClearPreview,
    /// Failed>`.
    ClearPreview(ClearQuery),
    /// Does something: [`Answer`] (what the command would have printed).
    Act(Action),
    /// From now on, send the engine's change events on this connection.
    Subscribe,
}

/// A change a client asks for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// A manual run; the answer's stdout is its id (or with `json` the run
    /// as JSON).
    Trigger {
        flow: String,
        #[serde(default)]
        params: BTreeMap<String, String>,
        /// Its logical date (a date or RFC 3339 time); default: now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        date: Option<String>,
        #[serde(default)]
        json: bool,
    },
    /// A test run (`drover test`), to watch; the answer's stdout is its id.
    Test {
        flow: String,
        #[serde(default)]
        params: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        date: Option<String>,
    },
    Clear(ClearQuery),
    Mark {
        flow: String,
        run: String,
        task: String,
        state: TaskState,
    },
    Kill {
        flow: String,
        run: String,
        task: String,
    },
    Pause {
        flow: String,
    },
    Unpause {
        flow: String,
    },
    Backfill {
        flow: String,
        from: String,
        to: String,
    },
    Sync,
}

impl Action {
    /// The drover command line that does the same (its arguments after
    /// the program name): what the instance runs, and what a person reads.
    pub fn command_line(&self) -> Vec<String> {
        let s = |v: &str| v.to_string();
        match self {
            Action::Trigger {
                flow,
                params,
                date,
                json,
            } => {
                let mut args = vec![s("trigger"), flow.clone()];
                push_params(&mut args, params, date.as_deref());
                if *json {
                    args.push(s("--json"));
                }
                args
            }
            Action::Test { flow, params, date } => {
                let mut args = vec![s("trigger"), flow.clone()];
                push_params(&mut args, params, date.as_deref());
                args.push(s("--test-run"));
                args
            }
            Action::Clear(q) => {
                let mut args = vec![s("clear"), q.flow.clone(), q.run.clone()];
                args.extend(q.tasks.iter().cloned());
                for (on, flag) in [
                    (&q.downstream, "--downstream"),
                    (&q.upstream, "--upstream"),
                    (&q.failed_only, "--failed-only"),
                ] {
                    if *on {
                        args.push(s(flag));
                    }
                }
                args
            }
            Action::Mark {
                flow,
                run,
                task,
                state,
            } => vec![
                s("mark"),
                flow.clone(),
                run.clone(),
                task.clone(),
                s(state.name()),
            ],
            Action::Kill { flow, run, task } => {
                vec![s("kill"), flow.clone(), run.clone(), task.clone()]
            }
            Action::Pause { flow } => vec![s("pause"), flow.clone()],
            Action::Unpause { flow } => vec![s("unpause"), flow.clone()],
            Action::Backfill { flow, from, to } => vec![
                s("backfill"),
                flow.clone(),
                s("--from"),
                from.clone(),
                s("--to"),
                to.clone(),
            ],
            Action::Sync => vec![s("sync")],
        }
    }
}

/// `-p K=V` for each param, and `--date D`.
fn push_params(args: &mut Vec<String>, params: &BTreeMap<String, String>, date: Option<&str>) {
    for (k, v) in params {
        args.push("-p".into());
        args.push(format!("{k}={v}"));
    }
    if let Some(date) = date {
        args.push("--date".into());
        args.push(date.into());
    }
}

/// What a reading command prints, as the instance sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "report", rename_all = "snake_case")]
pub enum Report {
    /// `drover list`.
    List {
        #[serde(default)]
        json: bool,
    },
    /// `drover runs FLOW -n N`.
    Runs {
        flow: String,
        n: usize,
        #[serde(default)]
        json: bool,
    },
    /// `drover tasks FLOW RUN` (RUN may be `latest`).
    Tasks {
        flow: String,
        run: String,
        #[serde(default)]
        json: bool,
    },
}

impl Report {
    /// The drover command line that prints it.
    pub fn command_line(&self) -> Vec<String> {
        let mut args = match self {
            Report::List { .. } => vec!["list".to_string()],
            Report::Runs { flow, n, .. } => {
                vec!["runs".into(), flow.clone(), "-n".into(), n.to_string()]
            }
            Report::Tasks { flow, run, .. } => vec!["tasks".into(), flow.clone(), run.clone()],
        };
        if let Report::List { json: true }
        | Report::Runs { json: true, .. }
        | Report::Tasks { json: true, .. } = self
        {
            args.push("--json".into());
        }
        args
    }
}

/// Which try's log `drover logs` reads (RUN may be `latest`; no try: the
/// newest).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogQuery {
    pub flow: String,
    pub run: String,
    pub task: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub try_number: Option<u32>,
    /// The reader will follow the log while the try runs.
    #[serde(default)]
    pub follow: bool,
}

/// Where that try's log is, and whether something still writes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogTry {
    /// The run and try found (`latest` and the newest try made plain).
    pub run: String,
    pub try_number: u32,
    pub log: PathBuf,
    /// Written once the try's outcome is recorded.
    pub end: PathBuf,
    /// The process writing the log (its supervisor), while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<u32>,
    /// The try's recorded log error ("writing the log failed: …").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_error: Option<String>,
}

/// A clear: of which run (`latest` allowed), which tasks (none: all),
/// with what around them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClearQuery {
    pub flow: String,
    pub run: String,
    #[serde(default)]
    pub tasks: Vec<String>,
    #[serde(default)]
    pub downstream: bool,
    #[serde(default)]
    pub upstream: bool,
    #[serde(default)]
    pub failed_only: bool,
}

/// What a clear would reset: the run (`latest` made plain) and its tasks,
/// in the run's flow order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClearPreview {
    pub run: String,
    pub reset: Vec<String>,
}

/// A failure with the exit status the command gives it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Failed {
    pub code: u8,
    pub message: String,
}

/// A flow as the instance has it: its file's text, read again on the
/// client's side with the same settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowFile {
    pub id: String,
    pub path: PathBuf,
    pub source: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The flow's timezone (its own or drover.toml's), by name.
    pub timezone: String,
}

/// The instance's load, its flows and the home's problems.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub running: usize,
    pub queued: usize,
    pub parallelism: usize,
    /// Each configured pool: name, slots in use, size.
    pub pools: Vec<(String, u32, u32)>,
    pub flows: Vec<FlowFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Unrecorded>,
    pub problems: Problems,
}

/// A flow's newest runs, how many it has, whether it is paused (None:
/// never set, the file's `paused` counts).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FlowRuns {
    pub flow: String,
    pub newest: Vec<Run>,
    pub count: usize,
    pub paused: Option<bool>,
    /// The task instances of the first runs of `newest`, as many as asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<Vec<TaskInstance>>,
}

/// A run, its task instances, and one task's tries (oldest first; none
/// when no task was asked about).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskDetail {
    pub run: Run,
    pub instances: Vec<TaskInstance>,
    pub tries: Vec<Try>,
}

/// A try's files on the instance's machine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Files {
    pub log: PathBuf,
    pub index: PathBuf,
}

/// Bytes of a log from `from`; `size` is the file's length when read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogChunk {
    pub from: u64,
    pub size: u64,
    /// How many bytes of the file `text` holds (it ends at a character's
    /// end, unless the file does).
    pub len: u64,
    /// The bytes, as text (invalid UTF-8 replaced).
    pub text: String,
}

/// A line from the instance.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Down {
    Welcome(Welcome),
    Events(Vec<EngineEvent>),
    Resync(bool),
    #[serde(untagged)]
    Reply {
        id: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ok: Option<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// A line from a client.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Up {
    Hello(Hello),
    #[serde(untagged)]
    Call {
        id: u64,
        call: Call,
    },
}

/// Why a call got no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The instance is gone (or never answered); why.
    Gone(String),
    /// The instance answered with an error.
    Refused(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Gone(why) => write!(f, "the instance is not reachable: {why}"),
            ApiError::Refused(why) => f.write_str(why),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Refused(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, ApiError>;

/// What a screen reads and acts through: the instance in this process, or
/// one reached over a connection. Reads answer at once in-process and
/// take a round trip otherwise.
#[derive(Clone)]
pub enum Source {
    Local(Arc<Service>),
    Remote(Arc<Link>),
}

impl Source {
    /// A source over a store alone (no engine): for reading commands and
    /// tests of views.
    pub fn reader(reader: Reader) -> Source {
        Source::Local(Arc::new(Service::reading(reader)))
    }

    pub fn runs(&self, flow: &str, n: usize) -> Result<Vec<Run>> {
        match self {
            Source::Local(s) => Ok(s.reader.runs(flow, n)?),
            Source::Remote(c) => c.client().call(Call::Runs {
                flow: flow.into(),
                n,
                before: None,
            }),
        }
    }

    /// Up to `n` runs older than `before`, newest first.
    pub fn runs_before(&self, flow: &str, before: &Run, n: usize) -> Result<Vec<Run>> {
        match self {
            Source::Local(s) => Ok(s.reader.runs_before(flow, &before.key, n)?),
            Source::Remote(c) => c.client().call(Call::Runs {
                flow: flow.into(),
                n,
                before: Some(before.id.clone()),
            }),
        }
    }

    pub fn run_at_or_before(&self, flow: &str, at: DateTime<Utc>) -> Result<Option<(usize, Run)>> {
        match self {
            Source::Local(s) => Ok(s.reader.run_at_or_before(flow, at)?),
            Source::Remote(c) => c.client().call(Call::RunAtOrBefore {
                flow: flow.into(),
                at,
            }),
        }
    }

    /// For each flow, its newest `n` runs, run count and stored pause,
    /// with the task instances of the newest `instances` runs.
    pub fn flow_runs(&self, flows: &[String], n: usize, instances: usize) -> Vec<FlowRuns> {
        match self {
            Source::Local(s) => flows.iter().map(|f| s.flow_runs(f, n, instances)).collect(),
            Source::Remote(c) => c
                .client()
                .call(Call::FlowRuns {
                    flows: flows.to_vec(),
                    n,
                    instances,
                })
                .unwrap_or_default(),
        }
    }

    /// A task instance's tries, if they can be had without waiting: at
    /// once in-process; from a remote instance what an earlier call
    /// fetched (None until it came, when the screen is told to look again).
    pub fn tries_soon(&self, run: &Run, task: &str) -> Option<Vec<Try>> {
        match self {
            Source::Local(s) => s.reader.tries(run, task).ok(),
            Source::Remote(c) => c.ahead(Call::Tries {
                flow: run.flow.clone(),
                run: run.id.clone(),
                task: task.into(),
            }),
        }
    }

    /// A run with its task instances and (with `task`) that task's tries,
    /// in one read.
    pub fn task_detail(&self, flow: &str, run_id: &str, task: Option<&str>) -> Option<TaskDetail> {
        match self {
            Source::Local(s) => s.task_detail(flow, run_id, task),
            Source::Remote(c) => c
                .client()
                .call(Call::TaskDetail {
                    flow: flow.into(),
                    run: run_id.into(),
                    task: task.map(str::to_string),
                })
                .ok()
                .flatten(),
        }
    }

    pub fn run_count(&self, flow: &str) -> usize {
        match self {
            Source::Local(s) => s.reader.run_count(flow),
            Source::Remote(c) => c
                .client()
                .call(Call::RunCount { flow: flow.into() })
                .unwrap_or_default(),
        }
    }

    pub fn run(&self, flow: &str, run_id: &str) -> Result<Option<Run>> {
        match self {
            Source::Local(s) => Ok(s.reader.run(flow, run_id)?),
            Source::Remote(c) => c.client().call(Call::Run {
                flow: flow.into(),
                run: run_id.into(),
            }),
        }
    }

    /// Task instances of consecutive runs of one flow (newest first).
    pub fn task_instances_of(&self, runs: &[Run]) -> Result<Vec<Vec<TaskInstance>>> {
        match self {
            Source::Local(s) => Ok(s.reader.task_instances_of(runs)?),
            Source::Remote(c) => {
                let Some(first) = runs.first() else {
                    return Ok(Vec::new());
                };
                c.client().call(Call::TaskInstances {
                    flow: first.flow.clone(),
                    runs: runs.iter().map(|r| r.id.clone()).collect(),
                })
            }
        }
    }

    pub fn task_instances(&self, run: &Run) -> Result<Vec<TaskInstance>> {
        match self {
            Source::Local(s) => Ok(s.reader.task_instances(run)?),
            Source::Remote(_) => Ok(self
                .task_instances_of(std::slice::from_ref(run))?
                .pop()
                .unwrap_or_default()),
        }
    }

    pub fn tries(&self, run: &Run, task: &str) -> Result<Vec<Try>> {
        match self {
            Source::Local(s) => Ok(s.reader.tries(run, task)?),
            Source::Remote(c) => c.client().call(Call::Tries {
                flow: run.flow.clone(),
                run: run.id.clone(),
                task: task.into(),
            }),
        }
    }

    pub fn paused(&self, flow: &str) -> Result<Option<bool>> {
        match self {
            Source::Local(s) => Ok(s.reader.paused(flow)?),
            Source::Remote(c) => c.client().call(Call::Paused { flow: flow.into() }),
        }
    }

    pub fn flow_text(&self, flow: &str, version: &str) -> Result<Option<String>> {
        match self {
            Source::Local(s) => Ok(s.reader.flow_text(flow, version)?),
            Source::Remote(c) => c.client().call(Call::FlowText {
                flow: flow.into(),
                version: version.into(),
            }),
        }
    }

    /// A try's files. A remote instance's are on its machine: they are
    /// read here only if this machine sees the same home.
    pub fn try_files(&self, flow: &str, run_id: &str, task: &str, try_number: u32) -> TryFiles {
        match self {
            Source::Local(s) => s.reader.try_files(flow, run_id, task, try_number),
            Source::Remote(c) => c.client().try_files(flow, run_id, task, try_number),
        }
    }

    /// Up to `max` bytes of a try's log from byte `from`; None while it
    /// has no log (or it cannot be read). From a remote instance, what an
    /// earlier call for this offset fetched in the background: None until
    /// it has come (a screen polls again shortly).
    pub fn log(
        &self,
        flow: &str,
        run_id: &str,
        task: &str,
        try_number: u32,
        from: u64,
        max: u64,
    ) -> Option<LogChunk> {
        match self {
            Source::Local(s) => {
                let files = s.reader.try_files(flow, run_id, task, try_number);
                service::read_chunk(&files.log, from, max).ok().flatten()
            }
            // Never waits for the link: what was fetched for this offset,
            // else nothing yet (and the fetch starts).
            Source::Remote(c) => c
                .ahead::<Option<LogChunk>>(Call::Log {
                    flow: flow.into(),
                    run: run_id.into(),
                    task: task.into(),
                    try_number,
                    from,
                    max: max.min(MAX_LOG_CHUNK),
                })
                .flatten(),
        }
    }

    /// When each chunk of a try's log arrived (byte offset, time).
    pub fn log_times(
        &self,
        flow: &str,
        run_id: &str,
        task: &str,
        try_number: u32,
    ) -> Vec<(u64, DateTime<Utc>)> {
        match self {
            Source::Local(s) => {
                crate::logs::chunk_times(&s.reader.try_files(flow, run_id, task, try_number))
                    .unwrap_or_default()
            }
            Source::Remote(c) => c
                .client()
                .call(Call::LogTimes {
                    flow: flow.into(),
                    run: run_id.into(),
                    task: task.into(),
                    try_number,
                })
                .unwrap_or_default(),
        }
    }

    /// The instance's load and flows, with the home's problems; None when
    /// it cannot be asked (no engine, or gone).
    pub async fn status(&self) -> Option<(crate::engine::Status, Problems)> {
        match self {
            Source::Local(s) => s.status().await,
            Source::Remote(c) => c.status().await,
        }
    }

    /// The instance's change events, from now on, for one listener.
    /// In-process they are read off the engine's broadcast on a task of
    /// their own (call inside a runtime).
    pub fn notices(&self) -> tokio::sync::mpsc::UnboundedReceiver<Notice> {
        match self {
            Source::Local(s) => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                match &s.engine {
                    Some(engine) => {
                        tokio::spawn(forward_local(engine.subscribe(), tx));
                    }
                    None => {
                        let _ = tx.send(Notice::Gone("no engine runs here".into()));
                    }
                }
                rx
            }
            Source::Remote(c) => c.notices(),
        }
    }

    /// Does `action`, as the drover command that does it. Blocks while the
    /// instance works: call it off the runtime's threads.
    pub fn act(&self, action: Action) -> crate::control::Answer {
        match self {
            Source::Local(s) => s.act(action),
            Source::Remote(c) => match c.client().call(Call::Act(action)) {
                Ok(answer) => answer,
                Err(e) => crate::control::Answer {
                    out: String::new(),
                    err: format!("drover: {e}\n"),
                    code: 1,
                },
            },
        }
    }

    /// Whether the screen shows an instance in another process.
    pub fn is_remote(&self) -> bool {
        matches!(self, Source::Remote(_))
    }
}

/// Hands the engine's broadcast to one listener, a batch per wake-up.
pub async fn forward_local(
    mut events: tokio::sync::broadcast::Receiver<EngineEvent>,
    tx: tokio::sync::mpsc::UnboundedSender<Notice>,
) {
    use tokio::sync::broadcast::error::{RecvError, TryRecvError};
    loop {
        let mut batch = Vec::new();
        let mut resync = false;
        match events.recv().await {
            Ok(event) => batch.push(event),
            Err(RecvError::Lagged(_)) => resync = true,
            Err(RecvError::Closed) => {
                let _ = tx.send(Notice::Gone("the scheduler has stopped".into()));
                return;
            }
        }
        loop {
            match events.try_recv() {
                Ok(event) => batch.push(event),
                Err(TryRecvError::Lagged(_)) => resync = true,
                Err(_) => break,
            }
        }
        let notice = if resync {
            Notice::Resync
        } else {
            Notice::Events(batch)
        };
        if tx.send(notice).is_err() {
            return;
        }
    }
}
