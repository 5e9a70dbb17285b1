//! A running instance's parts, shared by `drover serve` and the TUI: the
//! engine with its scheduler, the socket where commands and screens reach
//! its API, and the watch on flow files and drover.toml.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::{EXIT_FAILED, Failure, Remote, open_store, state_dir};
use crate::api::server::Server;
use crate::api::service::Commands;
use crate::api::{ClearPreview, ClearQuery, Failed, LogQuery, LogTry, Service};
use crate::engine::{Engine, EngineEvent, EngineHandle, Reader};
use crate::home::{Home, Problems};
use crate::store::{Store, TaskState};

/// The engine, socket and watcher of one home, running on the current
/// tokio runtime.
pub struct Instance {
    pub engine: EngineHandle,
    /// The instance API, as the socket serves it.
    pub service: Arc<Service>,
    /// Lines for drover's own log: flow files loaded or broken, settings
    /// changed, a socket that could not be made.
    pub notes: mpsc::UnboundedReceiver<String>,
    socket: PathBuf,
    join: tokio::task::JoinHandle<Result<(), crate::engine::EngineError>>,
    control: tokio::task::JoinHandle<()>,
    watcher: tokio::task::JoinHandle<()>,
    syncer: tokio::task::JoinHandle<()>,
    trimmer: tokio::task::JoinHandle<()>,
}

/// Opens a home's store for an instance, or says which process has it.
pub fn open_home_store(home: &Home) -> Result<Store, Failure> {
    open_store(home).map_err(
        |f| match crate::store::holder(&state_dir(&home.root).join("store")) {
            Some((pid, command)) => Failure::new(
                EXIT_FAILED,
                format!(
                    "another drover process has this home (pid {pid}: {command}); one instance per home"
                ),
            ),
            // (A full disk, a quota, a read-only file system: say what to do.)
            None if f.message.contains("the disk holding")
                || f.message.contains("quota")
                || f.message.contains("read-only") =>
            {
                Failure::new(
                    EXIT_FAILED,
                    format!(
                        "cannot open the store: {}; free space there (or make it writable) and start drover again; what was recorded is kept",
                        f.message
                    ),
                )
            }
            None => f,
        },
    )
}

impl Instance {
    /// Starts everything: takes up running tries, then schedules, serves
    /// the socket and watches the flows. Must run inside a tokio runtime.
    pub fn start(
        home: &Home,
        root_abs: PathBuf,
        store: Store,
        stop_tasks: bool,
    ) -> Result<Instance, Failure> {
        let fail = |e: crate::engine::EngineError| Failure::new(EXIT_FAILED, e.to_string());
        let mut engine = Engine::new(
            root_abs.clone(),
            home.config.clone(),
            home.flows.clone(),
            store.clone(),
        );
        engine.resume().map_err(fail)?;
        let taken_up = engine.running_tries();
        let mut engine = engine.with_scheduler().map_err(fail)?;
        if stop_tasks {
            engine = engine.stop_tasks_on_exit();
        }
        let (handle, join) = engine.spawn();
        let runtime = tokio::runtime::Handle::current();
        let (notes_tx, notes) = mpsc::unbounded_channel::<String>();
        // Tries that ran on while no drover was there, now watched again.
        for t in &taken_up {
            let _ = notes_tx.send(format!("taken up: {t}, running since before this start"));
        }
        let problems = Arc::new(Mutex::new(Problems::of(home)));
        let reader = Reader::new(store.clone());
        let service = Arc::new(Service::new(
            reader.clone(),
            handle.clone(),
            problems.clone(),
            Arc::new(Inside {
                store: store.clone(),
                engine: handle.clone(),
                runtime: runtime.clone(),
            }),
        ));
        // Screens and other drover commands talk to this instance.
        let socket = crate::control::socket_path(&root_abs);
        let control = {
            let (notes, socket) = (notes_tx.clone(), socket.clone());
            let api = Server::new(service.clone());
            tokio::spawn(async move {
                let served = crate::control::serve(socket.clone(), move |stream, hello, rest| {
                    let api = api.clone();
                    tokio::spawn(async move { api.connection(stream, &hello, rest).await });
                })
                .await;
                if let Err(e) = served {
                    let _ = notes.send(format!(
                        "no socket at {} ({e}); other drover commands and screens will find the store busy",
                        socket.display()
                    ));
                }
            })
        };
        // Flow files are watched: a changed, added or removed file counts
        // within a second; one that no longer validates keeps its last good
        // version in use.
        let watcher = tokio::spawn(watch_flows(
            home.root.clone(),
            home.flows.clone(),
            handle.clone(),
            notes_tx.clone(),
            problems.clone(),
        ));
        // With [git], the branch is fetched every `interval` (less often
        // while the remote fails); the watcher loads what it deploys.
        let syncer = tokio::spawn(sync_flows(root_abs.clone(), notes_tx));
        // After a burst of work the memory it freed goes back to the system.
        let trimmer = tokio::spawn(give_back_after_bursts(handle.subscribe()));
        Ok(Instance {
            engine: handle,
            service,
            notes,
            socket,
            join,
            control,
            watcher,
            syncer,
            trimmer,
        })
    }

    /// Stops taking requests, then stops the engine (and with `stop_tasks`
    /// the running tries, recorded as failed) and waits for its last commit.
    pub async fn stop(self, stop_tasks: bool) -> Result<(), Failure> {
        self.control.abort();
        self.watcher.abort();
        self.syncer.abort();
        self.trimmer.abort();
        let _ = std::fs::remove_file(&self.socket);
        if stop_tasks {
            self.engine.shutdown_stopping_tasks().await;
        } else {
            self.engine.shutdown().await;
        }
        match self.join.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Failure::new(EXIT_FAILED, e.to_string())),
            Err(e) => Err(Failure::new(EXIT_FAILED, format!("the engine failed: {e}"))),
        }
    }
}

/// A burst: this many engine events since memory was last given back.
const BURST_EVENTS: usize = 1000;
/// How long the engine must be quiet after a burst before memory is given
/// back (the call locks the allocator for a moment).
const QUIET_AFTER_BURST: std::time::Duration = std::time::Duration::from_secs(2);

/// Gives freed memory back to the system once a burst of work (a
/// backfill, a wide fan-out) is over: glibc keeps it otherwise.
async fn give_back_after_bursts(mut events: tokio::sync::broadcast::Receiver<EngineEvent>) {
    use tokio::sync::broadcast::error::RecvError;
    let mut seen = 0usize;
    loop {
        let event = if seen >= BURST_EVENTS {
            match tokio::time::timeout(QUIET_AFTER_BURST, events.recv()).await {
                Ok(event) => event,
                Err(_quiet) => {
                    let _ = tokio::task::spawn_blocking(crate::memory::give_back).await;
                    seen = 0;
                    continue;
                }
            }
        } else {
            events.recv().await
        };
        match event {
            Ok(_) => seen += 1,
            Err(RecvError::Lagged(n)) => seen = seen.saturating_add(n as usize),
            Err(RecvError::Closed) => return,
        }
    }
}

/// drover's commands, run inside an instance for its API's clients.
struct Inside {
    store: Store,
    engine: EngineHandle,
    runtime: tokio::runtime::Handle,
}

impl Inside {
    fn remote(&self, sink: crate::control::Sink) -> Remote {
        Remote {
            store: self.store.clone(),
            engine: self.engine.clone(),
            runtime: self.runtime.clone(),
            sink,
            home: None,
        }
    }
}

impl Commands for Inside {
    /// Runs a command line as if it came from a client; what it printed.
    /// Blocks: called off the runtime's threads.
    fn run(&self, args: Vec<String>) -> crate::control::Answer {
        let sink = crate::control::Sink::memory();
        super::run_for_client(args, self.remote(sink.clone()));
        sink.answer()
    }

    fn clear_preview(&self, query: ClearQuery) -> Result<ClearPreview, Failed> {
        let root = self.store.home().to_path_buf();
        let remote = self.remote(crate::control::Sink::memory());
        super::inside(remote, || super::clear::preview(&root, &query))
            .map(|(run, reset)| ClearPreview { run, reset })
            .map_err(|f| Failed {
                code: f.code,
                message: f.message,
            })
    }

    fn log_try(&self, query: LogQuery) -> Result<LogTry, Failed> {
        let root = self.store.home().to_path_buf();
        let remote = self.remote(crate::control::Sink::memory());
        super::inside(remote, || super::logs::log_try(&root, &query)).map_err(|f| Failed {
            code: f.code,
            message: f.message,
        })
    }
}

/// A line for drover's own log about an engine event, if it is worth one.
pub fn describe(event: &EngineEvent) -> Option<String> {
    match event {
        EngineEvent::RunChanged {
            flow,
            run_id,
            state,
        } => Some(format!("{} run {flow} {run_id} {state}", state.glyph())),
        EngineEvent::TaskChanged {
            flow,
            run_id,
            task,
            state,
            try_number,
            reason,
        } if matches!(state, TaskState::Failed | TaskState::UpForRetry) => {
            let why = reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            Some(format!(
                "{} {flow} {run_id} {task} try {try_number} {state}{why}",
                state.glyph()
            ))
        }
        EngineEvent::TaskChanged { .. } => None,
        EngineEvent::FlowChanged { .. } => None,
        // The watcher's notes say what the problems are.
        EngineEvent::ProblemsChanged => None,
        EngineEvent::Stopped { error } => Some(format!("stopped: {error}")),
        EngineEvent::Storage {
            problem: Some(why), ..
        } => Some(format!(
            "⚠ cannot record run and task states: {why}; holding what was decided in memory, starting no new tries, retrying every few seconds"
        )),
        EngineEvent::Storage {
            problem: None,
            since,
        } => Some(format!(
            "✓ recording again (it could not for {}); carrying on with what was held",
            crate::flow::duration::human(chrono::Utc::now() - *since)
        )),
    }
}

/// Fetches the `[git]` branch now and then, as drover.toml says at each
/// turn; notes each new commit and each new sync error.
async fn sync_flows(root: PathBuf, notes: mpsc::UnboundedSender<String>) {
    let mut last_commit: Option<String> = crate::gitsync::SyncState::load(&root).commit;
    let mut last_error: Option<String> = None;
    loop {
        let config = read_config(&root)
            .await
            .ok()
            .filter(|(_, errors)| errors.is_empty());
        let Some((config, git)) = config.and_then(|(c, _)| c.git.clone().map(|g| (c, g))) else {
            tokio::time::sleep(WATCH_EVERY * 5).await;
            continue;
        };
        let (r, g, c) = (root.clone(), git.clone(), config.clone());
        let outcome = tokio::task::spawn_blocking(move || crate::gitsync::sync(&r, &g, &c)).await;
        // The outcome is in the state file, failures counted.
        let state = crate::gitsync::SyncState::load(&root);
        let failures = state.failures;
        match outcome {
            Ok(Ok(synced)) => {
                if let Some(e) = last_error.take() {
                    let _ = notes.send(format!("git: syncing works again (it failed: {e})"));
                }
                if last_commit.as_deref() != Some(synced.commit.as_str()) {
                    let _ = notes.send(format!(
                        "git: {} now at {} \"{}\"",
                        git.branch,
                        crate::gitsync::short_sha(&synced.commit),
                        synced.summary,
                    ));
                    for e in &synced.invalid {
                        let keeping = if e.kept {
                            "its last good version stays in use"
                        } else {
                            "not deployed"
                        };
                        let _ = notes.send(format!(
                            "git: {}:{}:{}: {} ({keeping})",
                            e.path, e.line, e.col, e.message
                        ));
                    }
                    last_commit = Some(synced.commit);
                }
            }
            Ok(Err(e)) => {
                let keeping = match &state.commit {
                    Some(c) => format!("the flows of {} stay in use", crate::gitsync::short_sha(c)),
                    None => "no flows are deployed yet".to_string(),
                };
                let next = crate::gitsync::next_delay(git.interval, state.failures);
                let _ = notes.send(format!(
                    "git: sync failed ({} in a row): {e}; {keeping}; next try in {}",
                    state.failures,
                    crate::flow::duration::format(next)
                ));
                last_error = Some(e);
            }
            Err(e) => {
                let _ = notes.send(format!("git: sync stopped: {e}"));
            }
        }
        let due = tokio::time::Instant::now() + crate::gitsync::next_delay(git.interval, failures);
        // A changed [git] (a fixed url, a new key) is tried at once rather
        // than after the backoff.
        while tokio::time::Instant::now() < due {
            tokio::time::sleep_until(due.min(tokio::time::Instant::now() + WATCH_EVERY * 2)).await;
            let now = read_config(&root).await.ok().and_then(|(c, _)| c.git);
            if now.as_ref() != Some(&git) {
                break;
            }
        }
    }
}

/// How long stopping waits for client commands still under way.
pub const LEFT_BEHIND: std::time::Duration = std::time::Duration::from_millis(500);

/// drover.toml, read and checked off the runtime's threads.
async fn read_config(
    root: &Path,
) -> Result<(crate::flow::Config, Vec<crate::flow::Diagnostic>), String> {
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || crate::home::load_config(&root))
        .await
        .map_err(|e| e.to_string())?
}

/// How often the flows folder is checked for changes.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(400);

/// The name, size and modification time of every file in `dir`: a change
/// in any of them means a look at the flows.
fn signature(dir: &Path) -> Vec<(std::ffi::OsString, u64, Option<std::time::SystemTime>)> {
    let mut sig: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let meta = e.metadata().ok();
                    (
                        e.file_name(),
                        meta.as_ref().map_or(0, |m| m.len()),
                        meta.and_then(|m| m.modified().ok()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    sig.sort();
    sig
}

/// Watches the flows folder and hands the engine each flow whose file
/// changed (valid ones only) and the ids of removed ones; `notes` gets a
/// line for the log about each change and each file that fails to load.
async fn watch_flows(
    root: PathBuf,
    flows: Vec<crate::flow::Flow>,
    engine: crate::engine::EngineHandle,
    notes: tokio::sync::mpsc::UnboundedSender<String>,
    problems: Arc<Mutex<Problems>>,
) {
    // Flow files are in flows/, or with [git] in .drover/git/flows (whose
    // state file changes with each sync): a change in any counts.
    let git_state = crate::gitsync::git_dir(&root).join("state.json");
    let dirs = [root.join("flows"), crate::gitsync::flows_dir(&root)];
    let signature = || {
        let state = std::fs::metadata(&git_state)
            .ok()
            .map(|m| (m.len(), m.modified().ok()));
        (dirs.iter().map(|d| signature(d)).collect::<Vec<_>>(), state)
    };
    // A flow counts as changed when its text or the commit it came from did.
    let mut known: std::collections::HashMap<String, (String, Option<String>)> = flows
        .into_iter()
        .map(|f| (f.id, (f.version, f.commit)))
        .collect();
    // What the caller already reported at start is not noted again.
    let at_start = problems.lock().map(|p| p.clone()).unwrap_or_default();
    let mut reported: std::collections::HashMap<String, String> =
        at_start.flows.into_iter().collect();
    let config_path = root.join("drover.toml");
    let config_signature = || {
        std::fs::metadata(&config_path)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    // None: the first turn looks at the files whatever they are, so a
    // change made between the caller's load and this task's start counts.
    let mut last = None;
    let mut config = crate::home::load_config(&root).map(|(c, _)| c).ok();
    let mut config_reported = at_start.config.unwrap_or_default();
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let now = Some((signature(), config_signature()));
        if now == last {
            continue;
        }
        last = now;
        // Files are read and checked on a thread of their own: however
        // large or slow a file, the engine keeps its fire times meanwhile.
        let r = root.clone();
        let Ok(Ok(home)) = tokio::task::spawn_blocking(move || crate::home::Home::load(&r)).await
        else {
            continue;
        };
        // A drover.toml with errors changes nothing (flows read against its
        // defaults would be wrong too) until it is fixed.
        // Written first, then announced: whoever hears the event reads
        // them new (the TUI asks at once, not at its next status poll).
        let now_problems = Problems::of(&home);
        let announce = match problems.lock() {
            Ok(mut p) if *p != now_problems => {
                *p = now_problems;
                true
            }
            _ => false,
        };
        if announce {
            engine.problems_changed();
        }
        if let Some(first) = home.errors.first() {
            let text = first.to_string();
            if text != config_reported {
                let _ = notes.send(format!(
                    "{text}; the settings in use stay until drover.toml is fixed"
                ));
                config_reported = text;
            }
            continue;
        }
        config_reported.clear();
        if config.as_ref() != Some(&home.config) {
            let _ = notes.send("drover.toml loaded: new settings in use".to_string());
            config = Some(home.config.clone());
            engine.reconfigure(home.config.clone()).await;
        }
        let flows_dir = home.flows_dir();
        let mut changed = Vec::new();
        let broken: std::collections::HashSet<&str> =
            home.broken.iter().map(|b| b.id.as_str()).collect();
        for flow in &home.flows {
            // A flow whose last good file is kept while its new one is
            // broken (flows from git) stays reported.
            if !broken.contains(flow.id.as_str()) {
                reported.remove(&flow.id);
            }
        }
        for flow in home.flows {
            let now = (flow.version.clone(), flow.commit.clone());
            if known.get(&flow.id) != Some(&now) {
                let from = flow
                    .commit
                    .as_deref()
                    .map(|c| format!(", commit {}", crate::gitsync::short_sha(c)))
                    .unwrap_or_default();
                let _ = notes.send(format!(
                    "flow `{}` loaded (version {}{from})",
                    flow.id, flow.version
                ));
                known.insert(flow.id.clone(), now);
                changed.push(flow);
            }
        }
        for b in &home.broken {
            let first = b
                .errors
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            if reported.get(&b.id) != Some(&first) {
                let keeping = if known.contains_key(&b.id) {
                    "; its last good version stays in use"
                } else {
                    ""
                };
                let _ = notes.send(format!(
                    "flow `{}` does not validate{keeping}: {first}",
                    b.id
                ));
                reported.insert(b.id.clone(), first);
            }
        }
        let present: std::collections::HashSet<String> = known
            .keys()
            .filter(|id| flows_dir.join(format!("{id}.toml")).exists())
            .cloned()
            .collect();
        let removed: Vec<String> = known
            .keys()
            .filter(|id| !present.contains(*id))
            .cloned()
            .collect();
        for id in &removed {
            known.remove(id);
            let _ = notes.send(format!(
                "flow `{id}` removed: no new runs; runs under way go on"
            ));
        }
        if !changed.is_empty() || !removed.is_empty() {
            engine.reload(changed, removed).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits (at most 10 s) for the next `ProblemsChanged`, skipping other
    /// events.
    async fn next_problems_event(events: &mut tokio::sync::broadcast::Receiver<EngineEvent>) {
        let wait = async {
            loop {
                match events.recv().await {
                    Ok(EngineEvent::ProblemsChanged) => return,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(e) => panic!("events ended: {e}"),
                }
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), wait)
            .await
            .expect("a ProblemsChanged event within 10 s of the file changing");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_watcher_announces_broken_flow_files_once_it_has_written_them() {
        let dir = tempfile::tempdir().expect("temp home");
        let root = dir.path();
        std::fs::create_dir(root.join("flows")).expect("flows/");
        std::fs::write(root.join("flows/ok.toml"), "[tasks.a]\ncmd = \"true\"\n").expect("ok");
        let home = Home::load(root).expect("load home");
        let store = open_home_store(&home).expect("store");
        let instance = Instance::start(&home, root.to_path_buf(), store, false).expect("start");
        let mut events = instance.engine.subscribe();
        // A flow file that does not validate: the event follows the write.
        std::fs::write(root.join("flows/bad.toml"), "[tasks.a]\ncmd = 3\n").expect("bad");
        next_problems_event(&mut events).await;
        let error = instance
            .service
            .problems
            .lock()
            .expect("problems")
            .flows
            .get("bad")
            .cloned();
        assert!(
            error.as_deref().is_some_and(|e| e.contains("bad.toml:2:")),
            "{error:?}"
        );
        // Fixed: announced again, and gone from the problems.
        std::fs::write(
            root.join("flows/bad.toml"),
            "[tasks.a]\ncmd = \"echo fixed\"\n",
        )
        .expect("fixed");
        next_problems_event(&mut events).await;
        assert!(
            instance
                .service
                .problems
                .lock()
                .expect("problems")
                .flows
                .is_empty()
        );
        instance.stop(false).await.expect("stop");
    }
}
