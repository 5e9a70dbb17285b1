//! The engine: runs and task instances move through their states here.
//!
//! One task owns all engine state and the store; everything else talks to it
//! through `Request`s and hears back through `EngineEvent`s (small, saying
//! what changed). Each turn of the loop: decide what pending tasks do
//! (trigger rules), queue retries whose time has come, start what fits in
//! the free slots and pools (priority first), make every change durable with
//! one flush, and only then launch processes or tell listeners.
//!
//! May call: `flow` (the model), `store`, `logs`, and executors. Never the TUI.

mod active;
mod executor;
mod local;
mod prepare;
mod procs;
mod read;
pub mod rules;
pub mod scheduler;
pub mod shim;
mod supervise;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc, oneshot};

pub use executor::{Ended, ExecEvent, Executor, Found, Launch, TryKey};
pub use local::{KILL_GRACE, LocalExecutor, Supervision, supervising as supervises};
pub use prepare::{env_name, read_outputs};
pub use read::Reader;

use crate::flow::{Config, Flow};
use crate::logs::{self, LogDir};
use crate::store::{
    Run, RunKey, RunKind, RunState, Store, StoreError, TaskInstance, TaskState, Try,
};
use active::ActiveRun;

/// Exit status meaning "skipped".
pub const EXIT_SKIPPED: i32 = 99;
/// How long a try that never started (its supervisor could not write its
/// start record) waits before it is queued again.
pub const GIVE_BACK_DELAY: Duration = Duration::from_secs(5);
/// Retry delays double after each failed try up to this (unless the
/// configured delay is longer already).
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

/// Asks the engine to do something; answers come on the `reply` channel.
pub enum Request {
    /// Creates a run and starts it.
    Trigger {
        flow: String,
        kind: RunKind,
        logical: DateTime<Utc>,
        params: BTreeMap<String, String>,
        reply: oneshot::Sender<std::result::Result<Run, String>>,
    },
    /// A run with its task instances, as the engine sees them now.
    Snapshot {
        flow: String,
        run_id: String,
        reply: oneshot::Sender<Option<(Run, Vec<TaskInstance>)>>,
    },
    /// Stops a run: its running tries are killed (SIGTERM, or SIGKILL at
    /// once with `now`) and fail without retry; its other unfinished task
    /// instances fail without starting.
    StopRun {
        flow: String,
        run_id: String,
        why: String,
        now: bool,
    },
    /// Changes the store in turn with the engine's own changes (`clear`,
    /// `mark`, `pause` of a running instance); the run it names, if any,
    /// is then taken up again as it now is. Once the change is committed,
    /// listeners hear of it like any other: `TaskChanged` for each of the
    /// run's task instances and `RunChanged`, or `FlowChanged`.
    Apply {
        op: StoreOp,
        /// Err when the change was refused (the store cannot record now)
        /// or made but could not be recorded yet: why, in words.
        done: oneshot::Sender<std::result::Result<(), String>>,
    },
    /// Stops one running try (SIGTERM, SIGKILL after the grace); it fails
    /// without retry.
    Kill {
        flow: String,
        run_id: String,
        task: String,
        reply: oneshot::Sender<std::result::Result<u32, String>>,
    },
    /// New settings from drover.toml (parallelism, pools, retention).
    Reconfigure(Config),
    /// The version of a flow new runs get now.
    GetFlow {
        id: String,
        reply: oneshot::Sender<Option<Arc<Flow>>>,
    },
    /// New versions of flow files (new runs use them; runs under way keep
    /// theirs), and the ids of flows whose files are gone.
    Reload {
        flows: Vec<Flow>,
        removed: Vec<String>,
    },
    /// How busy the engine is, and the flows new runs get now.
    Status { reply: oneshot::Sender<Status> },
    /// Stops the loop. Running tries are left running, unless `stop_tasks`:
    /// then they are stopped the gentle way and recorded as failed.
    Shutdown { stop_tasks: bool },
}

/// The engine's load and flows, for a status bar.
#[derive(Debug, Clone)]
pub struct Status {
    pub running: usize,
    pub queued: usize,
    pub parallelism: usize,
    /// Each configured pool: name, slots in use, size.
    pub pools: Vec<(String, u32, u32)>,
    /// Every flow new runs get now (the last good version of each), by id.
    pub flows: Vec<Arc<Flow>>,
    /// Set while the store cannot record.
    pub storage: Option<Unrecorded>,
}

/// The store cannot record: what could not be written, since when, why.
/// Meanwhile the engine holds what it decided in memory, starts no new
/// tries and collects the outcomes of running ones (each also kept in its
/// supervisor's outcome file); it retries the commit every 1–5 s.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Unrecorded {
    pub since: DateTime<Utc>,
    /// The OS's words made plain: "the disk holding /x/.drover is full".
    pub why: String,
    /// Changes to runs and task instances decided but not yet recorded.
    pub changes: usize,
    /// Outcomes of finished tries waiting to be recorded.
    pub outcomes: usize,
    /// Tries decided but not started until their start is recorded.
    pub tries: usize,
}

impl Unrecorded {
    /// One line for people: what, why, since when, what waits.
    pub fn summary(&self) -> String {
        let mut held = vec![format!(
            "{} change{}",
            self.changes,
            if self.changes == 1 { "" } else { "s" }
        )];
        if self.outcomes > 0 {
            held.push(format!(
                "{} try outcome{}",
                self.outcomes,
                if self.outcomes == 1 { "" } else { "s" }
            ));
        }
        if self.tries > 0 {
            held.push(format!(
                "{} tr{} to start",
                self.tries,
                if self.tries == 1 { "y" } else { "ies" }
            ));
        }
        format!(
            "cannot record run and task states since {}: {}; {} held in memory, no new tries start until it can",
            self.since.format("%Y-%m-%d %H:%M:%SZ"),
            self.why,
            held.join(", ")
        )
    }
}

/// How the engine retries a commit while the store cannot record.
const RECORD_RETRY_FIRST: Duration = Duration::from_secs(1);
const RECORD_RETRY_MAX: Duration = Duration::from_secs(5);

/// The engine's side of a store that cannot record.
struct Holding {
    since: DateTime<Utc>,
    why: String,
    next_try: tokio::time::Instant,
    delay: Duration,
}

/// A change to the store made inside the engine; returns what it changed,
/// to take up again and tell listeners about.
pub type StoreOp = Box<dyn FnOnce(&Store) -> Option<Changed> + Send>;

/// What a `StoreOp` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// A run and (some of) its task instances (`clear`, `mark`).
    Run { flow: String, run_id: String },
    /// A flow's stored state (`pause`, `unpause`).
    Flow(String),
}

/// What changed; listeners fetch details with `Request::Snapshot`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    TaskChanged {
        flow: String,
        run_id: String,
        task: String,
        state: TaskState,
        try_number: u32,
        /// Why a try ended as it did, when drover knows more than the state.
        reason: Option<String>,
    },
    RunChanged {
        flow: String,
        run_id: String,
        state: RunState,
    },
    /// A flow itself changed: paused or unpaused, a new version of its
    /// file, or its file is gone.
    FlowChanged { flow: String },
    /// The engine stopped because of an error it cannot work around.
    Stopped { error: String },
    /// The store cannot record (`problem` says why), or can again (None,
    /// with how long it could not).
    Storage {
        problem: Option<String>,
        since: DateTime<Utc>,
    },
    /// The home's load problems changed: a flow file or drover.toml that
    /// does not validate (or does again), a new git commit or sync error.
    /// Sent by the instance's watcher once it has written them; listeners
    /// read them from the instance.
    ProblemsChanged,
}

#[derive(Debug)]
pub enum EngineError {
    Store(StoreError),
    /// A run was asked for a flow the engine does not have.
    UnknownFlow(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Store(e) => e.fmt(f),
            EngineError::UnknownFlow(id) => write!(f, "no flow `{id}`"),
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(e)
    }
}

type Result<T> = std::result::Result<T, EngineError>;

/// Talks to a running engine.
#[derive(Clone)]
pub struct EngineHandle {
    requests: mpsc::Sender<Request>,
    events: broadcast::Sender<EngineEvent>,
}

impl EngineHandle {
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    /// Tells every listener that the home's load problems changed (see
    /// [`EngineEvent::ProblemsChanged`]); call it after writing them.
    pub fn problems_changed(&self) {
        // No listener is no error: nobody is looking.
        let _ = self.events.send(EngineEvent::ProblemsChanged);
    }

    pub async fn trigger(
        &self,
        flow: &str,
        kind: RunKind,
        logical: DateTime<Utc>,
        params: BTreeMap<String, String>,
    ) -> std::result::Result<Run, String> {
        let (reply, rx) = oneshot::channel();
        let request = Request::Trigger {
            flow: flow.to_string(),
            kind,
            logical,
            params,
            reply,
        };
        self.requests
            .send(request)
            .await
            .map_err(|_| "the engine has stopped".to_string())?;
        rx.await.map_err(|_| "the engine has stopped".to_string())?
    }

    pub async fn snapshot(&self, flow: &str, run_id: &str) -> Option<(Run, Vec<TaskInstance>)> {
        let (reply, rx) = oneshot::channel();
        let request = Request::Snapshot {
            flow: flow.to_string(),
            run_id: run_id.to_string(),
            reply,
        };
        self.requests.send(request).await.ok()?;
        rx.await.ok()?
    }

    pub async fn stop_run(&self, flow: &str, run_id: &str, why: &str, now: bool) {
        let request = Request::StopRun {
            flow: flow.to_string(),
            run_id: run_id.to_string(),
            why: why.to_string(),
            now,
        };
        let _ = self.requests.send(request).await;
    }

    /// Runs `op` on the store inside the engine, between its own changes;
    /// returns once it has run and been committed.
    /// Err says why the change was refused or is not recorded yet.
    pub async fn apply(&self, op: StoreOp) -> std::result::Result<(), String> {
        let (done, rx) = oneshot::channel();
        self.requests
            .send(Request::Apply { op, done })
            .await
            .map_err(|_| "the engine has stopped".to_string())?;
        rx.await.map_err(|_| "the engine has stopped".to_string())?
    }

    /// Stops a running try; returns its try number, or why it cannot.
    pub async fn kill(
        &self,
        flow: &str,
        run_id: &str,
        task: &str,
    ) -> std::result::Result<u32, String> {
        let (reply, rx) = oneshot::channel();
        let request = Request::Kill {
            flow: flow.to_string(),
            run_id: run_id.to_string(),
            task: task.to_string(),
            reply,
        };
        self.requests
            .send(request)
            .await
            .map_err(|_| "the engine has stopped".to_string())?;
        rx.await.map_err(|_| "the engine has stopped".to_string())?
    }

    /// The version of flow `id` that new runs get (the last good one).
    pub async fn flow(&self, id: &str) -> Option<Arc<Flow>> {
        let (reply, rx) = oneshot::channel();
        self.requests
            .send(Request::GetFlow {
                id: id.to_string(),
                reply,
            })
            .await
            .ok()?;
        rx.await.ok()?
    }

    /// Hands the engine new settings from drover.toml.
    pub async fn reconfigure(&self, config: Config) {
        let _ = self.requests.send(Request::Reconfigure(config)).await;
    }

    /// Hands the engine new versions of flows and the ids of removed ones.
    pub async fn reload(&self, flows: Vec<Flow>, removed: Vec<String>) {
        let _ = self.requests.send(Request::Reload { flows, removed }).await;
    }

    pub async fn shutdown(&self) {
        let _ = self
            .requests
            .send(Request::Shutdown { stop_tasks: false })
            .await;
    }

    /// Stops the loop after stopping every running try (recorded as failed).
    pub async fn shutdown_stopping_tasks(&self) {
        let _ = self
            .requests
            .send(Request::Shutdown { stop_tasks: true })
            .await;
    }

    /// How busy the engine is; None once it has stopped.
    pub async fn status(&self) -> Option<Status> {
        let (reply, rx) = oneshot::channel();
        self.requests.send(Request::Status { reply }).await.ok()?;
        rx.await.ok()
    }
}

/// A queued task instance's place in line: higher priority first, then
/// older runs, then graph order.
type Ready = (i64, DateTime<Utc>, RunKey, usize);

pub struct Engine {
    home: PathBuf,
    config: Config,
    flows: BTreeMap<String, Arc<Flow>>,
    store: Store,
    logs: LogDir,
    executor: Box<dyn Executor>,
    exec_events: mpsc::UnboundedReceiver<ExecEvent>,
    exec_tx: mpsc::UnboundedSender<ExecEvent>,
    runs: BTreeMap<RunKey, ActiveRun>,
    /// Queued runs waiting for a run slot, kept bare (their task instances
    /// stay in the store) until one is free: a backfill queues hundreds of
    /// runs at once, and only `max_active_runs` of them need their tasks.
    parked: BTreeMap<RunKey, (Run, Arc<Flow>)>,
    /// Queued task instances of every run, in the order they get slots.
    ready: BTreeSet<Ready>,
    /// Running tries: the pool each holds and its try record as stored.
    running: HashMap<TryKey, (Option<String>, Try)>,
    pools_used: HashMap<String, u32>,
    parallelism: usize,
    events: broadcast::Sender<EngineEvent>,
    /// Changes made since the last commit, announced after it.
    pending_events: Vec<EngineEvent>,
    /// Tries being killed on request, with why: they fail without retry.
    killed: HashMap<TryKey, String>,
    /// Kill running tries when the loop ends (a foreground `drover test`).
    stop_tasks_on_exit: bool,
    /// Older versions of flows that runs under way still use.
    versions: HashMap<(String, String), Arc<Flow>>,
    /// Create scheduled runs (`drover serve`), with each flow's clock.
    scheduling: bool,
    clocks: HashMap<String, scheduler::FlowClock>,
    /// Set while the store cannot record: nothing new is decided.
    holding: Option<Holding>,
    /// Tries whose start is decided, started once that is recorded.
    held_launches: Vec<(TryKey, std::result::Result<Launch, String>)>,
    /// Finished runs, let go (and pruned) once that is recorded.
    held_finished: Vec<RunKey>,
    /// Outcomes of tries that came while the store could not record them.
    held_outcomes: Vec<ExecEvent>,
    /// Graph shapes of the flow versions active runs use (see `shape_of`).
    shapes: std::sync::Mutex<Vec<(std::sync::Weak<Flow>, Arc<active::Shape>)>>,
}

impl Engine {
    /// An engine for a home (`home` absolute), with the local executor.
    pub fn new(home: PathBuf, config: Config, flows: Vec<Flow>, store: Store) -> Engine {
        let (exec_tx, exec_events) = mpsc::unbounded_channel();
        let parallelism = slots(&config);
        let (events, _) = broadcast::channel(4096);
        Engine {
            logs: LogDir::new(home.join(".drover").join("logs")),
            home,
            config,
            flows: flows
                .into_iter()
                .map(|f| (f.id.clone(), Arc::new(f)))
                .collect(),
            store,
            // This very program supervises each try (`drover shim`).
            executor: Box::new(LocalExecutor::new(
                exec_tx.clone(),
                Supervision::Process(supervisor_program()),
            )),
            exec_tx,
            exec_events,
            runs: BTreeMap::new(),
            parked: BTreeMap::new(),
            ready: BTreeSet::new(),
            running: HashMap::new(),
            pools_used: HashMap::new(),
            parallelism,
            events,
            pending_events: Vec::new(),
            killed: HashMap::new(),
            stop_tasks_on_exit: false,
            versions: HashMap::new(),
            scheduling: false,
            clocks: HashMap::new(),
            holding: None,
            held_launches: Vec::new(),
            held_finished: Vec::new(),
            held_outcomes: Vec::new(),
            shapes: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Makes the engine create the runs of every flow's schedule as they
    /// come due (and catch up per `catchup`), honouring pauses.
    pub fn with_scheduler(mut self) -> Result<Engine> {
        self.scheduling = true;
        let now = Utc::now();
        let ids: Vec<String> = self.flows.keys().cloned().collect();
        for id in ids {
            let flow = &self.flows[&id];
            // A flow's `paused` counts at its first load; later the stored
            // state rules.
            if self.store.flow_state(&id)?.is_none() {
                self.store.put_flow_state(
                    &id,
                    &crate::store::FlowState {
                        paused: flow.paused,
                    },
                )?;
            }
            let last = self.store.last_logical(&id, RunKind::Scheduled)?;
            self.clocks.insert(
                id,
                scheduler::FlowClock {
                    last,
                    seen: Some(now),
                },
            );
        }
        self.commit()?;
        Ok(self)
    }

    /// Creates the scheduled runs that are due.
    fn schedule_due(&mut self, now: DateTime<Utc>) -> Result<()> {
        let flows: Vec<Arc<Flow>> = self
            .flows
            .values()
            .filter(|f| f.schedule.is_some())
            .cloned()
            .collect();
        for flow in flows {
            if self.store.flow_state(&flow.id)?.is_some_and(|s| s.paused) {
                continue;
            }
            let clock =
                self.clocks
                    .entry(flow.id.clone())
                    .or_insert_with(|| scheduler::FlowClock {
                        last: None,
                        seen: Some(now),
                    });
            let due = scheduler::due(&flow, clock, now);
            for t in due {
                match self.create_run(&flow.id, RunKind::Scheduled, t, BTreeMap::new()) {
                    // Already made before a restart: one run per fire time.
                    Ok(_) | Err(EngineError::Store(StoreError::RunExists { .. })) => {}
                    // Not made: it is made once the store can record again.
                    Err(EngineError::Store(e)) if e.is_io() => {
                        self.cannot_record(&e);
                        return Ok(());
                    }
                    Err(e) => return Err(e),
                }
                if let Some(clock) = self.clocks.get_mut(&flow.id) {
                    clock.last = Some(t);
                }
                // Made but not recorded: no more until the store records.
                if self.holding.is_some() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The next fire time of any flow the scheduler watches.
    fn next_fire(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !self.scheduling {
            return None;
        }
        self.flows
            .values()
            .filter_map(|f| {
                scheduler::next_wake(
                    f,
                    self.clocks.get(&f.id).unwrap_or(&Default::default()),
                    now,
                )
            })
            .min()
    }

    /// Uses `program` (a drover binary) to supervise tries, for a process
    /// that is not drover itself (a test harness).
    pub fn with_supervisor_program(mut self, program: PathBuf) -> Engine {
        self.executor = Box::new(LocalExecutor::new(
            self.exec_tx.clone(),
            Supervision::Process(program),
        ));
        self
    }

    /// Supervises tries inside this process, for a foreground run that
    /// stops its tasks when it ends anyway (`drover test`): no supervisor
    /// program per try, but tasks do not outlive this process's care.
    pub fn with_in_process_tasks(mut self) -> Engine {
        self.executor = Box::new(LocalExecutor::new(
            self.exec_tx.clone(),
            Supervision::InProcess,
        ));
        self
    }

    /// Makes the engine kill its running tries when its loop ends, for a
    /// foreground run that must not leave tasks behind.
    pub fn stop_tasks_on_exit(mut self) -> Engine {
        self.stop_tasks_on_exit = true;
        self
    }

    /// The graph shape of a flow version, made once while any of its runs
    /// is active and shared by them all.
    fn shape_of(&self, flow: &Arc<Flow>) -> Arc<active::Shape> {
        let mut shapes = self
            .shapes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        shapes.retain(|(f, _)| f.strong_count() > 0);
        if let Some((_, shape)) = shapes
            .iter()
            .find(|(f, _)| std::ptr::eq(f.as_ptr(), Arc::as_ptr(flow)))
        {
            return shape.clone();
        }
        let shape = Arc::new(active::Shape::of(flow));
        shapes.push((Arc::downgrade(flow), shape.clone()));
        shape
    }

    fn add_run(&mut self, active: ActiveRun) {
        let key = active.run.key.clone();
        for (i, ti) in active.instances() {
            if ti.state == TaskState::Queued {
                self.ready.insert(ready_entry(&active, i));
            }
        }
        self.runs.insert(key, active);
    }

    /// Picks up the unfinished runs in the store. A try recorded as running
    /// is adopted: its supervisor's outcome is collected when it comes (or
    /// at once, if it came while drover was away); if its supervisor died,
    /// what is left of its task is stopped and the try is lost (it fails,
    /// then retries per its policy). A try that provably never started
    /// (drover stopped between recording it and starting its supervisor) is
    /// given back: its instance is queued again, and the try does not count
    /// against its retries.
    pub fn resume(&mut self) -> Result<()> {
        let now = Utc::now();
        for run in self.store.active_runs()? {
            let Some(flow) = self.flow_for(&run)? else {
                continue;
            };
            let mut active = self.load_active(run, flow)?;
            // Tries recorded as running: their supervisors may still be at
            // work (or have finished while drover was away).
            let running: Vec<(usize, String, u32)> = active
                .instances()
                .filter(|(_, ti)| ti.state == TaskState::Running)
                .map(|(i, ti)| (i, ti.task.clone(), ti.tries))
                .collect();
            for (i, task, number) in running {
                let attempt = self
                    .store
                    .tries(&active.run, &task)?
                    .into_iter()
                    .find(|t| t.number == number)
                    .unwrap_or_else(|| Try::started(number, now));
                let key = TryKey {
                    run: active.run.key.clone(),
                    task: task.clone(),
                    number,
                };
                let files = self
                    .logs
                    .try_files(&active.run.flow, &active.run.id, &task, number);
                let pid = attempt.pid;
                let unsure = match self.executor.found(&files, pid) {
                    Found::Adopt => None,
                    Found::Unsure(why) => Some(why),
                    Found::NeverStarted => {
                        // The next try takes its place (its number stays
                        // used: its files keep a late supervisor out).
                        self.store.remove_try(&active.run, &task, number)?;
                        let note = format!(
                            "try {number} never started (drover stopped before its supervisor \
                             started the task): queued again"
                        );
                        if let Some(ti) = active.set(i, TaskState::Queued, now, |ti| {
                            ti.max_tries += 1;
                            ti.note = Some(note.clone());
                        }) {
                            self.store.put_task_instance(&active.run, &ti)?;
                            self.pending_events
                                .push(task_event(&active.run, &ti, Some(note)));
                        }
                        continue;
                    }
                };
                let pool = active.flow.tasks[i].pool.clone();
                if let Some(pool) = &pool {
                    *self.pools_used.entry(pool.clone()).or_default() += 1;
                }
                self.running.insert(key.clone(), (pool, attempt));
                match unsure {
                    None => self.executor.adopt(key, files, pid),
                    Some(why) => {
                        let ended = Ended {
                            reason: Some(format!(
                                "lost: drover stopped before its supervisor started the task, \
                                 and cannot make sure it never will: {why}"
                            )),
                            ..Ended::default()
                        };
                        let _ = self.exec_tx.send(ExecEvent::Finished { key, ended });
                    }
                }
            }
            self.add_run(active);
        }
        let flushed = self.store.flush();
        self.hold(flushed)?;
        Ok(())
    }

    /// The tries running now, as "flow run task try N": after `resume`,
    /// those taken up from before the start.
    pub fn running_tries(&self) -> Vec<String> {
        let mut tries: Vec<String> = self
            .running
            .keys()
            .filter_map(|k| {
                let run = &self.runs.get(&k.run)?.run;
                Some(format!(
                    "{} {} {} try {}",
                    run.flow, run.id, k.task, k.number
                ))
            })
            .collect();
        tries.sort();
        tries
    }

    /// Starts the loop on the current tokio runtime.
    pub fn spawn(self) -> (EngineHandle, tokio::task::JoinHandle<Result<()>>) {
        let (requests, rx) = mpsc::channel(256);
        let handle = EngineHandle {
            requests,
            events: self.events.clone(),
        };
        let join = tokio::spawn(self.run(rx));
        (handle, join)
    }

    async fn run(mut self, mut requests: mpsc::Receiver<Request>) -> Result<()> {
        // Held since before the loop (a store that could not record at
        // start): listeners subscribed since hear it now.
        if let Some(h) = &self.holding {
            let _ = self.events.send(EngineEvent::Storage {
                problem: Some(h.why.clone()),
                since: h.since,
            });
        }
        let outcome = self.serve(&mut requests).await;
        if let Err(e) = &outcome {
            let _ = self.events.send(EngineEvent::Stopped {
                error: e.to_string(),
            });
        }
        if self.stop_tasks_on_exit {
            if outcome.is_ok() {
                // Stop them the gentle way and record how they ended.
                let _ = self
                    .stop_running("stopped: drover was told to stop its tasks")
                    .await;
            }
            for key in self.running.keys() {
                self.executor.kill_now(key);
            }
        }
        outcome
    }

    /// Stops every running try (SIGTERM, SIGKILL after the grace) and waits
    /// for each outcome, recording it (failed, no retry). Starts nothing.
    async fn stop_running(&mut self, why: &str) -> Result<()> {
        let keys: Vec<TryKey> = self.running.keys().cloned().collect();
        for key in keys {
            self.killed.insert(key.clone(), why.to_string());
            self.executor.kill(&key);
        }
        let deadline = tokio::time::Instant::now() + KILL_GRACE + Duration::from_secs(5);
        while !self.running.is_empty() {
            match tokio::time::timeout_at(deadline, self.exec_events.recv()).await {
                Ok(Some(event)) => self.on_exec(event)?,
                _ => break,
            }
        }
        // What the stopped tries decide downstream (upstream_failed, the
        // run failed) is recorded now, though nothing new starts.
        // A disk that cannot take it is no error here: the outcomes stay in
        // the tries' outcome files, for the next start to collect.
        self.step(false)?;
        self.commit()?;
        Ok(())
    }

    async fn serve(&mut self, requests: &mut mpsc::Receiver<Request>) -> Result<()> {
        loop {
            self.retry_record()?;
            if self.scheduling && self.holding.is_none() {
                self.schedule_due(Utc::now())?;
            }
            // Repeat until nothing changes: a try that cannot start fails at
            // once, which may settle its run or free work for another pass.
            while self.step(true)? {}
            let now = Utc::now();
            // While the store cannot record, the next commit attempt is the
            // only thing to wake for (retries and fire times wait for it).
            let wake = match &self.holding {
                Some(h) => Some(
                    h.next_try
                        .saturating_duration_since(tokio::time::Instant::now()),
                ),
                None => [self.next_retry(), self.next_fire(now)]
                    .into_iter()
                    .flatten()
                    .min()
                    .map(|t| (t - now).to_std().unwrap_or(Duration::ZERO)),
            };
            tokio::select! {
                event = self.exec_events.recv() => {
                    if let Some(event) = event {
                        self.take_outcome(event)?;
                    }
                }
                request = requests.recv() => match request {
                    None => return Ok(()),
                    Some(Request::Shutdown { stop_tasks }) => {
                        self.stop_tasks_on_exit |= stop_tasks;
                        return Ok(());
                    }
                    Some(request) => self.on_request(request)?,
                },
                _ = tokio::time::sleep(wake.unwrap_or(Duration::from_secs(3600))), if wake.is_some() => {}
            }
            // Take every other finished try now, so one commit covers them all.
            while let Ok(event) = self.exec_events.try_recv() {
                self.take_outcome(event)?;
            }
        }
    }

    /// Records a try's outcome, or holds it while the store cannot record
    /// (its supervisor's outcome file keeps it too).
    fn take_outcome(&mut self, event: ExecEvent) -> Result<()> {
        if self.holding.is_some() {
            self.held_outcomes.push(event);
            return Ok(());
        }
        self.on_exec(event)
    }

    /// Makes every change so far durable, then tells listeners about them.
    /// Ok(false) when the store cannot record: the changes stay held (in
    /// memory, and in the store's next commit) and nothing acts on them.
    fn commit(&mut self) -> Result<bool> {
        let committed = self.store.commit();
        if !self.hold(committed)? {
            return Ok(false);
        }
        if let Some(h) = self.holding.take() {
            let _ = self.events.send(EngineEvent::Storage {
                problem: None,
                since: h.since,
            });
        }
        for event in self.pending_events.drain(..) {
            let _ = self.events.send(event);
        }
        Ok(true)
    }

    /// Ok(true) for a store write that worked; Ok(false), holding, for one
    /// that failed on the disk (full, quota, I/O error, read-only).
    fn hold(&mut self, outcome: std::result::Result<(), StoreError>) -> Result<bool> {
        match outcome {
            Ok(()) => Ok(true),
            Err(e) if e.is_io() => {
                self.cannot_record(&e);
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Enters (or stays in) the state where the store cannot record.
    fn cannot_record(&mut self, e: &StoreError) {
        let why = match e {
            StoreError::Io { why, .. } => why.clone(),
            other => other.to_string(),
        };
        match &mut self.holding {
            Some(h) => h.why = why,
            None => {
                let since = Utc::now();
                let _ = self.events.send(EngineEvent::Storage {
                    problem: Some(why.clone()),
                    since,
                });
                self.holding = Some(Holding {
                    since,
                    why,
                    next_try: tokio::time::Instant::now() + RECORD_RETRY_FIRST,
                    delay: RECORD_RETRY_FIRST,
                });
            }
        }
    }

    /// While the store cannot record: when the time has come, tries the
    /// commit again; on success carries on with what was held (tries to
    /// start, runs to let go, outcomes to record), else backs off.
    fn retry_record(&mut self) -> Result<()> {
        let Some(h) = &self.holding else {
            return Ok(());
        };
        if tokio::time::Instant::now() < h.next_try {
            return Ok(());
        }
        if !self.commit()? {
            if let Some(h) = &mut self.holding {
                h.delay = (h.delay * 2).min(RECORD_RETRY_MAX);
                h.next_try = tokio::time::Instant::now() + h.delay;
            }
            return Ok(());
        }
        self.after_commit()?;
        for event in std::mem::take(&mut self.held_outcomes) {
            self.on_exec(event)?;
        }
        Ok(())
    }

    /// What waits for a commit: starts the tries it recorded, lets go of
    /// the runs it finished, and commits what those change.
    fn after_commit(&mut self) -> Result<()> {
        for (key, launch) in std::mem::take(&mut self.held_launches) {
            self.start(key, launch)?;
        }
        for key in std::mem::take(&mut self.held_finished) {
            if let Some(active) = self.runs.remove(&key) {
                self.prune(&active.run.flow)?;
            }
        }
        if !self.pending_events.is_empty() {
            self.commit()?;
        }
        Ok(())
    }

    /// Why a change cannot be taken now, when the store cannot record.
    fn refusal(&self, what: &str) -> Option<String> {
        self.holding.as_ref().map(|h| {
            format!(
                "{what} refused: drover cannot record it: {} (since {}); free space and try again: drover carries on by itself once it can record",
                h.why,
                h.since.format("%H:%M:%SZ")
            )
        })
    }

    fn on_request(&mut self, request: Request) -> Result<()> {
        match request {
            Request::Trigger {
                flow,
                kind,
                logical,
                params,
                reply,
            } => {
                if let Some(refused) = self.refusal("a new run is") {
                    let _ = reply.send(Err(refused));
                    return Ok(());
                }
                let answer = match self.create_run(&flow, kind, logical, params) {
                    Ok(run) => match &self.holding {
                        // Made and kept in memory, but not recorded yet.
                        Some(h) => Err(format!(
                            "run {} of {flow} is made but cannot be recorded now: {}; it is held and starts once drover can record (it is lost if drover stops first)",
                            run.id, h.why
                        )),
                        None => Ok(run),
                    },
                    Err(EngineError::Store(StoreError::RunExists { flow, run_id })) => {
                        Err(format!("flow `{flow}` already has a run `{run_id}`"))
                    }
                    Err(e @ EngineError::UnknownFlow(_)) => Err(e.to_string()),
                    Err(EngineError::Store(e)) if e.is_io() => {
                        self.cannot_record(&e);
                        Err(self
                            .refusal("a new run is")
                            .unwrap_or_else(|| e.to_string()))
                    }
                    Err(EngineError::Store(e)) => return Err(EngineError::Store(e)),
                };
                let _ = reply.send(answer);
            }
            Request::Snapshot {
                flow,
                run_id,
                reply,
            } => {
                let active = self
                    .runs
                    .values()
                    .find(|a| a.run.flow == flow && a.run.id == run_id);
                let snapshot = match active {
                    Some(a) => Some((
                        a.run.clone(),
                        a.instances().map(|(_, t)| t.clone()).collect(),
                    )),
                    // (A store that cannot be read now answers nothing.)
                    None => match self.store.run(&flow, &run_id).ok().flatten() {
                        Some(run) => {
                            let tis = self.store.task_instances(&run).unwrap_or_default();
                            Some((run, tis))
                        }
                        None => None,
                    },
                };
                let _ = reply.send(snapshot);
            }
            Request::StopRun {
                flow,
                run_id,
                why,
                now,
            } => self.stop_run(&flow, &run_id, why, now)?,
            Request::Apply { op, done } => {
                if let Some(refused) = self.refusal("the change is") {
                    let _ = done.send(Err(refused));
                    return Ok(());
                }
                let changed = op(&self.store);
                let answer = if self.commit()? {
                    Ok(())
                } else {
                    Err(format!(
                        "the change is made but cannot be recorded now: {}; it is held and recorded once drover can (it is lost if drover stops first)",
                        self.holding.as_ref().map_or("", |h| h.why.as_str())
                    ))
                };
                match changed {
                    Some(Changed::Run { flow, run_id }) => {
                        self.refresh(&flow, &run_id)?;
                        self.changed_by_hand(&flow, &run_id)?;
                    }
                    Some(Changed::Flow(flow)) => {
                        self.pending_events.push(EngineEvent::FlowChanged { flow });
                    }
                    None => {}
                }
                // The change is committed (or held): listeners hear of it
                // now, or once it is recorded.
                if self.holding.is_none() {
                    for event in self.pending_events.drain(..) {
                        let _ = self.events.send(event);
                    }
                }
                let _ = done.send(answer);
            }
            Request::Kill {
                flow,
                run_id,
                task,
                reply,
            } => {
                let _ = reply.send(self.kill_task(&flow, &run_id, &task));
            }
            Request::Reconfigure(config) => {
                self.parallelism = slots(&config);
                self.config = config;
            }
            Request::Status { reply } => {
                let pools = self
                    .config
                    .pools
                    .iter()
                    .map(|(name, size)| {
                        let used = self.pools_used.get(name).copied().unwrap_or(0);
                        (name.clone(), used, *size)
                    })
                    .collect();
                let _ = reply.send(Status {
                    running: self.running.len(),
                    queued: self.ready.len(),
                    parallelism: self.parallelism,
                    pools,
                    flows: self.flows.values().cloned().collect(),
                    storage: self.holding.as_ref().map(|h| Unrecorded {
                        since: h.since,
                        why: h.why.clone(),
                        changes: self.pending_events.len(),
                        outcomes: self.held_outcomes.len(),
                        tries: self.held_launches.len(),
                    }),
                });
            }
            Request::GetFlow { id, reply } => {
                let _ = reply.send(self.flows.get(&id).cloned());
            }
            Request::Reload { flows, removed } => {
                for id in removed {
                    self.flows.remove(&id);
                    let _ = self.events.send(EngineEvent::FlowChanged { flow: id });
                }
                for flow in flows {
                    let id = flow.id.clone();
                    self.flows.insert(id.clone(), Arc::new(flow));
                    let _ = self.events.send(EngineEvent::FlowChanged { flow: id });
                }
            }
            Request::Shutdown { .. } => {}
        }
        Ok(())
    }

    /// Stops task `task`'s running try in a run; returns its try number.
    fn kill_task(
        &mut self,
        flow: &str,
        run_id: &str,
        task: &str,
    ) -> std::result::Result<u32, String> {
        // A parked run's tasks are read back, to say which state it is in.
        self.unpark(flow, run_id).map_err(|e| e.to_string())?;
        let Some(active) = self
            .runs
            .values()
            .find(|a| a.run.flow == flow && a.run.id == run_id)
        else {
            return Err(format!(
                "task `{task}` is not running: its run `{run_id}` has ended"
            ));
        };
        let Some(ti) = active.position(task).and_then(|i| active.ti(i)) else {
            return Err(format!("run `{run_id}` has no task `{task}`"));
        };
        if ti.state != TaskState::Running {
            return Err(format!("task `{task}` is not running (it is {})", ti.state));
        }
        let key = TryKey {
            run: active.run.key.clone(),
            task: task.to_string(),
            number: ti.tries,
        };
        self.killed.insert(key.clone(), "killed by hand".into());
        self.executor.kill(&key);
        Ok(key.number)
    }

    /// A run in progress as the store has it, with the outputs of its
    /// finished tasks (for the tasks downstream of them).
    fn load_active(&self, run: Run, flow: Arc<Flow>) -> Result<ActiveRun> {
        let tis = self.store.task_instances(&run)?;
        let shape = self.shape_of(&flow);
        let mut active = ActiveRun::new(run, flow, shape, tis);
        let done: Vec<(usize, String)> = active
            .instances()
            .filter(|(_, ti)| ti.state.is_done() && ti.tries > 0)
            .map(|(i, ti)| (i, ti.task.clone()))
            .collect();
        for (i, task) in done {
            if let Some(latest) = self.store.tries(&active.run, &task)?.pop() {
                active.set_outputs(i, latest.outputs);
            }
        }
        Ok(active)
    }

    /// The version of its flow a run was made from: the current one, or
    /// the one kept in the store when the file has changed since.
    fn flow_for(&mut self, run: &Run) -> Result<Option<Arc<Flow>>> {
        let current = self.flows.get(&run.flow).cloned();
        let Some(version) = &run.flow_version else {
            return Ok(current);
        };
        if current.as_ref().is_some_and(|f| &f.version == version) {
            return Ok(current);
        }
        if let Some(f) = self.versions.get(&(run.flow.clone(), version.clone())) {
            return Ok(Some(f.clone()));
        }
        let Some(text) = self.store.flow_version(&run.flow, version)? else {
            return Ok(current);
        };
        let path = current.as_ref().map_or_else(
            || PathBuf::from(format!("{}.toml", run.flow)),
            |f| f.path.clone(),
        );
        match crate::flow::parse_flow(&run.flow, &path, &text, &self.config) {
            Ok(flow) => {
                let flow = Arc::new(flow);
                self.versions
                    .insert((run.flow.clone(), version.clone()), flow.clone());
                Ok(Some(flow))
            }
            Err(_) => Ok(current),
        }
    }

    /// Re-reads a run from the store: a cleared run becomes active again, a
    /// marked one takes its new states. Tries still running stay watched;
    /// an outcome for an instance that no longer waits for it is ignored.
    fn refresh(&mut self, flow_id: &str, run_id: &str) -> Result<()> {
        let Some(run) = self.store.run(flow_id, run_id)? else {
            return Ok(());
        };
        let Some(flow) = self.flow_for(&run)? else {
            return Ok(());
        };
        let key = run.key.clone();
        self.ready.retain(|entry| entry.2 != key);
        let old = self
            .runs
            .remove(&key)
            .map(|o| o.flow)
            .or_else(|| self.parked.remove(&key).map(|(_, flow)| flow));
        // A run marked done is no longer worked on.
        let active = if run.state.is_done() {
            None
        } else {
            Some(self.load_active(run, old.unwrap_or(flow))?)
        };
        // A try whose instance was marked or cleared while it ran no longer
        // counts: it is stopped (its outcome is still recorded on the try).
        let stale: Vec<TryKey> = self
            .running
            .keys()
            .filter(|k| k.run == key)
            .filter(|k| {
                active.as_ref().is_none_or(|a| {
                    a.position(&k.task)
                        .and_then(|i| a.ti(i))
                        .is_none_or(|ti| ti.state != TaskState::Running || ti.tries != k.number)
                })
            })
            .cloned()
            .collect();
        for k in stale {
            self.killed.insert(
                k.clone(),
                "stopped: its task instance was changed by hand".into(),
            );
            self.executor.kill(&k);
        }
        if let Some(active) = active {
            self.add_run(active);
        }
        Ok(())
    }

    /// Notes events for a run a command changed by hand (`mark`, `clear`):
    /// the run as it is now and each of its task instances.
    fn changed_by_hand(&mut self, flow_id: &str, run_id: &str) -> Result<()> {
        let Some(run) = self.store.run(flow_id, run_id)? else {
            return Ok(());
        };
        for ti in self.store.task_instances(&run)? {
            self.pending_events.push(task_event(&run, &ti, None));
        }
        self.pending_events.push(EngineEvent::RunChanged {
            flow: run.flow.clone(),
            run_id: run.id.clone(),
            state: run.state,
        });
        Ok(())
    }

    fn stop_run(&mut self, flow: &str, run_id: &str, why: String, at_once: bool) -> Result<()> {
        self.unpark(flow, run_id)?;
        let Some(active) = self
            .runs
            .values_mut()
            .find(|a| a.run.flow == flow && a.run.id == run_id)
        else {
            return Ok(());
        };
        let now = Utc::now();
        let positions: Vec<(usize, TaskState, u32, String)> = active
            .instances()
            .filter(|(_, ti)| !ti.state.is_done())
            .map(|(i, ti)| (i, ti.state, ti.tries, ti.task.clone()))
            .collect();
        for (i, state, tries, task) in positions {
            if state == TaskState::Running {
                let key = TryKey {
                    run: active.run.key.clone(),
                    task,
                    number: tries,
                };
                self.killed.insert(key.clone(), why.clone());
                if at_once {
                    self.executor.kill_now(&key);
                } else {
                    self.executor.kill(&key);
                }
                continue;
            }
            self.ready.remove(&ready_entry(active, i));
            let note = format!("{why} before it started");
            if let Some(ti) = active.set(i, TaskState::Failed, now, |ti| {
                ti.retry_at = None;
                ti.note = Some(note.clone());
            }) {
                self.store.put_task_instance(&active.run, &ti)?;
                self.pending_events
                    .push(task_event(&active.run, &ti, Some(note)));
            }
        }
        Ok(())
    }

    /// Creates a run of `flow` with its params (defaults overridden by
    /// `params`); the next step starts it.
    pub fn create_run(
        &mut self,
        flow_id: &str,
        kind: RunKind,
        logical: DateTime<Utc>,
        params: BTreeMap<String, String>,
    ) -> Result<Run> {
        let Some(flow) = self.flows.get(flow_id).cloned() else {
            return Err(EngineError::UnknownFlow(flow_id.to_string()));
        };
        let mut all_params = flow.params.clone();
        all_params.extend(params);
        let now = Utc::now();
        let mut run = Run {
            flow: flow.id.clone(),
            id: run_id(
                kind,
                if matches!(kind, RunKind::Scheduled | RunKind::Backfill) {
                    logical
                } else {
                    now
                },
            ),
            kind,
            logical,
            state: RunState::Queued,
            params: all_params,
            created: now,
            started: None,
            ended: None,
            flow_version: Some(flow.version.clone()),
            commit: flow.commit.clone(),
            key: RunKey::default(),
        };
        // The run goes on with this version of the flow even when the file
        // changes; its text is kept for a restart.
        self.store
            .put_flow_version(&flow.id, &flow.version, &flow.source)?;
        let tasks: Vec<(String, u32)> = flow
            .tasks
            .iter()
            .map(|t| (t.id.clone(), t.retries + 1))
            .collect();
        // Ids of manual runs are to the millisecond; bump on a collision.
        let mut attempt = 0;
        loop {
            match self.store.create_run(&mut run, &tasks) {
                Ok(()) => break,
                Err(StoreError::RunExists { .. })
                    if !matches!(kind, RunKind::Scheduled | RunKind::Backfill)
                        && attempt < 1000 =>
                {
                    attempt += 1;
                    run.id = run_id(kind, now + chrono::Duration::milliseconds(attempt));
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Made: if it cannot be recorded now, it is held with the rest.
        let committed = self.store.commit();
        self.hold(committed)?;
        let tis = self.store.task_instances(&run)?;
        self.pending_events.push(EngineEvent::RunChanged {
            flow: run.flow.clone(),
            run_id: run.id.clone(),
            state: run.state,
        });
        let shape = self.shape_of(&flow);
        self.add_run(ActiveRun::new(run.clone(), flow, shape, tis));
        Ok(run)
    }

    /// The earliest time an `up_for_retry` task may be queued.
    fn next_retry(&self) -> Option<DateTime<Utc>> {
        self.runs.values().filter_map(ActiveRun::next_retry).min()
    }

    /// Brings back the parked runs that get a run slot now, their task
    /// instances read from the store. Slots go per flow to its queued runs
    /// oldest first, parked or not, as `step` gives them.
    fn admit_parked(&mut self) -> Result<()> {
        if self.parked.is_empty() {
            return Ok(());
        }
        let mut taken: HashMap<&str, u32> = HashMap::new();
        for active in self.runs.values() {
            if active.run.state == RunState::Running {
                *taken.entry(active.run.flow.as_str()).or_default() += 1;
            }
        }
        let queued = self
            .runs
            .iter()
            .filter(|(_, a)| a.run.state == RunState::Queued)
            .map(|(key, a)| (key, &a.run, &a.flow, false));
        let parked = self
            .parked
            .iter()
            .map(|(key, (run, flow))| (key, run, flow, true));
        let mut line: Vec<_> = queued.chain(parked).collect();
        line.sort_by(|a, b| a.0.cmp(b.0));
        let mut admit = Vec::new();
        for (key, run, flow, parked) in line {
            let count = taken.entry(run.flow.as_str()).or_default();
            if run.kind == RunKind::Test || *count < flow.max_active_runs {
                *count += 1;
                if parked {
                    admit.push(key.clone());
                }
            }
        }
        for key in admit {
            if let Some((run, flow)) = self.parked.remove(&key) {
                let active = self.load_active(run, flow)?;
                self.add_run(active);
            }
        }
        Ok(())
    }

    /// Brings a parked run back among the active ones (to change it).
    fn unpark(&mut self, flow: &str, run_id: &str) -> Result<()> {
        let key = self
            .parked
            .iter()
            .find(|(_, (run, _))| run.flow == flow && run.id == run_id)
            .map(|(key, _)| key.clone());
        if let Some((run, flow)) = key.and_then(|key| self.parked.remove(&key)) {
            let active = self.load_active(run, flow)?;
            self.add_run(active);
        }
        Ok(())
    }

    /// One scheduling pass: decisions, queueing, starting (unless not
    /// `start`); then commit and announce. Returns whether anything changed.
    fn step(&mut self, start: bool) -> Result<bool> {
        // Nothing new is decided while the store cannot record.
        if self.holding.is_some() {
            return Ok(false);
        }
        let now = Utc::now();
        self.admit_parked()?;
        let mut finished = Vec::new();
        // Runs beyond a flow's `max_active_runs` wait as `queued`, oldest
        // first out (runs iterate per flow in logical-time order).
        let mut active_per_flow: HashMap<&str, u32> = HashMap::new();
        for active in self.runs.values() {
            if active.run.state == RunState::Running {
                *active_per_flow.entry(active.run.flow.as_str()).or_default() += 1;
            }
        }
        // Queued runs left waiting, with the runs holding their flow's slots.
        let mut waiting: HashMap<RunKey, u32> = HashMap::new();
        let mut park = Vec::new();
        for (key, active) in self.runs.iter() {
            if active.run.state == RunState::Queued {
                let count = active_per_flow.entry(active.run.flow.as_str()).or_default();
                if active.run.kind == RunKind::Test || *count < active.flow.max_active_runs {
                    *count += 1;
                } else {
                    waiting.insert(key.clone(), *count);
                }
            }
        }
        for (key, active) in self.runs.iter_mut() {
            if let Some(&running) = waiting.get(key) {
                // Its root tasks say why nothing starts (the TUI and
                // `drover tasks` show the note).
                let note = format!(
                    "waiting for a run slot (max_active_runs = {}, {running} running)",
                    active.flow.max_active_runs
                );
                for ti in active.note_waiting(&note, now) {
                    self.store.put_task_instance(&active.run, &ti)?;
                    self.pending_events.push(task_event(&active.run, &ti, None));
                }
                if active.untouched() {
                    park.push(key.clone());
                }
                continue;
            }
            let changed = active.decide(now);
            for &i in &changed {
                let Some(ti) = active.ti(i) else { continue };
                if ti.state == TaskState::Queued {
                    self.ready.insert(ready_entry(active, i));
                }
                self.store.put_task_instance(&active.run, ti)?;
                self.pending_events.push(task_event(&active.run, ti, None));
            }
            // A run runs from its first step on; it succeeds or fails once
            // every task instance is done.
            let new_state = active.state();
            if new_state != active.run.state {
                active.run.started.get_or_insert(now);
                active.run.state = new_state;
                if new_state.is_done() {
                    active.run.ended = Some(now);
                    finished.push(key.clone());
                }
                self.store.put_run(&active.run)?;
                self.pending_events.push(EngineEvent::RunChanged {
                    flow: active.run.flow.clone(),
                    run_id: active.run.id.clone(),
                    state: new_state,
                });
            }
        }

        for key in park {
            if let Some(active) = self.runs.remove(&key) {
                let (run, flow) = active.into_bare();
                self.parked.insert(key, (run, flow));
            }
        }

        let launches = if start {
            self.claim_slots(now)?
        } else {
            Vec::new()
        };
        let changed = !self.pending_events.is_empty() || !launches.is_empty();
        self.held_launches.extend(launches);
        self.held_finished.extend(finished);
        // Everything decided so far becomes durable before any process
        // starts or anyone hears of it; if it cannot be, it is held.
        if changed && !self.commit()? {
            return Ok(false);
        }
        self.after_commit()?;
        Ok(changed)
    }

    /// Moves queued task instances into free slots, in `ready` order,
    /// skipping those whose pool is full, and records each new try as running.
    fn claim_slots(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(TryKey, std::result::Result<Launch, String>)>> {
        let mut launches = Vec::new();
        let mut blocked = Vec::new();
        while self.running.len() < self.parallelism {
            let Some(entry) = self.ready.pop_first() else {
                break;
            };
            let (_, _, run_key, i) = &entry;
            let Some(active) = self.runs.get_mut(run_key) else {
                continue;
            };
            let task = &active.flow.tasks[*i];
            if let Some(pool) = &task.pool {
                let capacity = self.config.pools.get(pool).copied().unwrap_or(0);
                if self.pools_used.get(pool).copied().unwrap_or(0) >= capacity {
                    blocked.push(entry);
                    continue;
                }
            }
            let task = task.clone();
            let Some(ti) = active.set(*i, TaskState::Running, now, |ti| {
                ti.tries += 1;
                ti.retry_at = None;
                ti.note = None;
            }) else {
                continue;
            };
            let number = ti.tries;
            self.store.put_task_instance(&active.run, &ti)?;
            self.pending_events.push(task_event(&active.run, &ti, None));
            let attempt = Try::started(number, now);
            self.store.put_try(&active.run, &task.id, &attempt)?;
            let key = TryKey {
                run: run_key.clone(),
                task: task.id.clone(),
                number,
            };
            if let Some(pool) = &task.pool {
                *self.pools_used.entry(pool.clone()).or_default() += 1;
            }
            self.running
                .insert(key.clone(), (task.pool.clone(), attempt));
            let outputs = active.upstream_outputs(*i);
            let files = self
                .logs
                .try_files(&active.run.flow, &active.run.id, &task.id, number);
            let launch = prepare::launch(
                &self.home,
                &active.flow,
                &active.run,
                &task,
                number,
                &outputs,
                files,
            );
            launches.push((key, launch));
        }
        self.ready.extend(blocked);
        Ok(launches)
    }

    fn start(&mut self, key: TryKey, launch: std::result::Result<Launch, String>) -> Result<()> {
        // Test-only (tests/crash.rs): die as `kill -9` would, with the try
        // committed as running and its supervisor not started.
        if std::env::var_os("DROVER_TEST_DIE_BEFORE_SUPERVISOR").is_some() {
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
        // Stopped or killed before its supervisor started (held while the
        // store could not record): it never starts.
        if self.killed.contains_key(&key) {
            let ended = Ended {
                reason: Some("killed".into()),
                ..Ended::default()
            };
            return self.on_exec(ExecEvent::Finished { key, ended });
        }
        let started = launch.and_then(|l| self.executor.launch(l));
        match started {
            Ok(pid) => {
                if let Some(active) = self.runs.get(&key.run)
                    && let Some((_, attempt)) = self.running.get_mut(&key)
                {
                    attempt.pid = pid;
                    self.store.put_try(&active.run, &key.task, attempt)?;
                }
                Ok(())
            }
            Err(why) => {
                if let Some(active) = self.runs.get(&key.run) {
                    let files = self.logs.try_files(
                        &active.run.flow,
                        &active.run.id,
                        &key.task,
                        key.number,
                    );
                    let _ = logs::append_note(&files, &format!("cannot start: {why}"));
                }
                let ended = Ended {
                    reason: Some(format!("cannot start: {why}")),
                    ..Ended::default()
                };
                self.on_exec(ExecEvent::Finished { key, ended })
            }
        }
    }

    /// Records how a try ended and what its task instance does next.
    fn on_exec(&mut self, event: ExecEvent) -> Result<()> {
        let ExecEvent::Finished { key, ended } = event;
        let Some((pool, mut attempt)) = self.running.remove(&key) else {
            return Ok(());
        };
        if let Some(pool) = pool
            && let Some(used) = self.pools_used.get_mut(&pool)
        {
            *used = used.saturating_sub(1);
        }
        self.executor.done(&key);
        let killed = self.killed.remove(&key);
        if ended.never_started && killed.is_none() {
            return self.give_back(&key, ended.reason.as_deref().unwrap_or("it never started"));
        }
        let Some(run) = self.run_of(&key)? else {
            return Ok(());
        };
        let files = self
            .logs
            .try_files(&run.flow, &run.id, &key.task, key.number);
        let (outputs, notes) = read_outputs(&files.output);
        // Killed on request: the request's reason says more than the
        // supervisor's plain "killed".
        let mut reason = match (&killed, &ended.reason) {
            (Some(why), Some(r)) if r == "killed" => Some(why.clone()),
            _ => ended.reason.clone(),
        };
        let mut state = match (ended.exit_code, &reason) {
            (Some(0), None) => TaskState::Success,
            (Some(EXIT_SKIPPED), None) => TaskState::Skipped,
            (Some(code), None) => {
                reason = Some(format!("exit status {code}"));
                TaskState::Failed
            }
            (None, None) => {
                reason = Some(format!("killed by signal {}", ended.signal.unwrap_or(0)));
                TaskState::Failed
            }
            (_, Some(_)) => TaskState::Failed,
        };
        if let Some(e) = &ended.log_error {
            // The log is incomplete: say so on the try, but the task's own
            // outcome stands.
            reason = Some(match reason {
                Some(r) => format!("{r}; {e}"),
                None => e.clone(),
            });
        }
        if !notes.is_empty() {
            if let Ok(mut w) = logs::LogWriter::create(&files) {
                for note in &notes {
                    w.note(note);
                }
            }
            if notes.iter().any(|n| n.contains("more than the")) && state == TaskState::Success {
                state = TaskState::Failed;
                reason = Some("outputs too large".into());
            }
        }
        let now = Utc::now();
        attempt.state = state;
        // A supervisor says when the try ended (it may have been while
        // drover was away).
        attempt.ended = Some(ended.ended_at.unwrap_or(now));
        attempt.exit_code = ended.exit_code;
        attempt.signal = ended.signal;
        attempt.reason = reason.clone();
        if matches!(state, TaskState::Success | TaskState::Skipped) {
            attempt.outputs = outputs.clone();
        }
        self.store.put_try(&run, &key.task, &attempt)?;
        let summary = match &reason {
            Some(r) => format!("{state}: {r}"),
            None => state.to_string(),
        };
        let _ = logs::mark_ended(&files, &summary);
        // The try is recorded; its task instance follows unless it was
        // cleared or marked while the try ran (its outcome no longer counts).
        let Some((active, i)) = waiting_for(&mut self.runs, &key) else {
            return Ok(());
        };
        if matches!(state, TaskState::Success | TaskState::Skipped) {
            active.set_outputs(i, outputs);
        }
        let delay = active.flow.tasks[i].retry_delay;
        let retry = state == TaskState::Failed && killed.is_none();
        if let Some(ti) = active.set(i, state, now, |ti| {
            if retry {
                after_failure(ti, delay, now);
            } else {
                ti.retry_at = None;
            }
        }) {
            self.store.put_task_instance(&active.run, &ti)?;
            self.pending_events
                .push(task_event(&active.run, &ti, reason));
        }
        Ok(())
    }

    /// The run a try belongs to, whether the engine still works on it or
    /// not (a mark may have finished it while the try ran).
    fn run_of(&self, key: &TryKey) -> Result<Option<Run>> {
        match self.runs.get(&key.run) {
            Some(active) => Ok(Some(active.run.clone())),
            None => Ok(self.store.run_by_key(&key.run)?),
        }
    }

    /// A try whose supervisor could not start its task (it could not write
    /// its start record, on a full disk) never ran: it does not count. Its
    /// task instance waits `GIVE_BACK_DELAY` (no tight loop while the disk
    /// stays full) and is queued again for the next try number.
    fn give_back(&mut self, key: &TryKey, why: &str) -> Result<()> {
        // The try is gone either way, even if its instance no longer waits
        // for it (cleared or marked meanwhile).
        let Some(run) = self.run_of(key)? else {
            return Ok(());
        };
        self.store.remove_try(&run, &key.task, key.number)?;
        let Some((active, i)) = waiting_for(&mut self.runs, key) else {
            return Ok(());
        };
        let now = Utc::now();
        let note = format!(
            "try {} never started ({why}); tried again in {}, not counted",
            key.number,
            crate::flow::duration::format(GIVE_BACK_DELAY)
        );
        if let Some(ti) = active.set(i, TaskState::UpForRetry, now, |ti| {
            ti.max_tries += 1;
            ti.retry_at =
                Some(now + chrono::Duration::from_std(GIVE_BACK_DELAY).unwrap_or_default());
            ti.note = Some(note.clone());
        }) {
            self.store.put_task_instance(&active.run, &ti)?;
            self.pending_events
                .push(task_event(&active.run, &ti, Some(note)));
        }
        Ok(())
    }

    /// Drops the oldest finished runs beyond `keep_runs`, logs included.
    fn prune(&mut self, flow: &str) -> Result<()> {
        for run in self.store.prune(flow, self.config.keep_runs)? {
            let _ = self.logs.remove_run(&run.flow, &run.id);
        }
        Ok(())
    }
}

/// The run and position of the task instance whose running try is `key`,
/// if it still waits for that try (it was not cleared or marked meanwhile).
fn waiting_for<'a>(
    runs: &'a mut BTreeMap<RunKey, ActiveRun>,
    key: &TryKey,
) -> Option<(&'a mut ActiveRun, usize)> {
    let active = runs.get_mut(&key.run)?;
    let i = active.position(&key.task)?;
    let ti = active.ti(i)?;
    (ti.tries == key.number && ti.state == TaskState::Running).then_some((active, i))
}

/// The program that supervises each try: `drover-shim` beside this one
/// (small, so quick to start), else this very program (`drover shim`).
fn supervisor_program() -> PathBuf {
    let me = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("drover"));
    let small = me.with_file_name("drover-shim");
    if small.is_file() { small } else { me }
}

/// Worker slots: `parallelism` from drover.toml, else one per CPU.
fn slots(config: &Config) -> usize {
    config
        .parallelism
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn ready_entry(active: &ActiveRun, i: usize) -> Ready {
    let priority = active.flow.tasks.get(i).map_or(0, |t| t.priority);
    (
        -i64::from(priority),
        active.run.logical,
        active.run.key.clone(),
        i,
    )
}

/// After a failed try: retry later while tries remain, else failed for good.
fn after_failure(ti: &mut TaskInstance, retry_delay: Duration, now: DateTime<Utc>) {
    if ti.tries < ti.max_tries {
        ti.state = TaskState::UpForRetry;
        let delay = backoff(retry_delay, ti.tries);
        ti.retry_at = Some(now + chrono::Duration::from_std(delay).unwrap_or_default());
    } else {
        ti.state = TaskState::Failed;
        ti.retry_at = None;
    }
}

/// `base` doubled after each failed try: try 1 failed → base, 2 → 2×base...
/// capped at an hour (or at `base` when that is longer).
pub fn backoff(base: Duration, failed_tries: u32) -> Duration {
    let doublings = failed_tries.saturating_sub(1).min(20);
    let cap = MAX_RETRY_DELAY.max(base);
    base.saturating_mul(1 << doublings).min(cap)
}

fn task_event(run: &Run, ti: &TaskInstance, reason: Option<String>) -> EngineEvent {
    EngineEvent::TaskChanged {
        flow: run.flow.clone(),
        run_id: run.id.clone(),
        task: ti.task.clone(),
        state: ti.state,
        try_number: ti.tries,
        reason,
    }
}

/// `manual__2026-12-01T18:57:39.123Z`; scheduled runs are to the second.
pub fn run_id(kind: RunKind, at: DateTime<Utc>) -> String {
    let format = if matches!(kind, RunKind::Scheduled | RunKind::Backfill) {
        "%Y-%m-%dT%H:%M:%SZ"
    } else {
        "%Y-%m-%dT%H:%M:%S%.3fZ"
    };
    format!("{}__{}", kind.name(), at.format(format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let s = Duration::from_secs;
        assert_eq!(backoff(s(30), 1), s(30));
        assert_eq!(backoff(s(30), 2), s(60));
        assert_eq!(backoff(s(30), 3), s(120));
        assert_eq!(backoff(s(30), 10), s(3600));
        assert_eq!(
            backoff(s(7200), 3),
            s(7200),
            "a delay over the cap stays as configured"
        );
        assert_eq!(backoff(s(1), 1000), s(3600));
    }

    #[test]
    fn run_ids_name_kind_and_time() {
        let t: DateTime<Utc> = "2026-12-01T18:57:39.123Z".parse().unwrap();
        assert_eq!(
            run_id(RunKind::Manual, t),
            "manual__2026-12-01T18:57:39.123Z"
        );
        assert_eq!(
            run_id(RunKind::Scheduled, t),
            "scheduled__2026-12-01T18:57:39Z"
        );
    }
}
