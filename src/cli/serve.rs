//! `drover serve`: the scheduler and workers without a screen, for tmux or
//! systemd. Logs to stderr and `.drover/drover.log`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use tokio::sync::broadcast::error::RecvError;

use super::{EXIT_FAILED, Failure, Outcome, open_store, state_dir};
use crate::engine::{Engine, EngineEvent};
use crate::store::TaskState;

/// Where serve's log lines go: stderr and the home's drover.log.
struct ServeLog {
    file: Option<std::fs::File>,
}

impl ServeLog {
    fn open(path: &Path) -> ServeLog {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok();
        ServeLog { file }
    }

    fn line(&mut self, text: &str) {
        let line = format!("{} {text}\n", Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"));
        let _ = std::io::stderr().write_all(line.as_bytes());
        if let Some(f) = self.file.as_mut() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

pub fn run(root: &Path, stop_tasks: bool) -> Outcome {
    let home = super::load_runnable_home(root)?;
    let store = open_store(&home).map_err(|f| match crate::store::holder(&state_dir(&home.root).join("store")) {
        Some((pid, command)) => Failure::new(
            EXIT_FAILED,
            format!("another drover process has this home (pid {pid}: {command}); one instance per home"),
        ),
        None => f,
    })?;
    let root_abs: PathBuf = std::fs::canonicalize(&home.root).unwrap_or_else(|_| home.root.clone());
    let mut log = ServeLog::open(&state_dir(&root_abs).join("drover.log"));
    log.line(&format!(
        "drover serve (pid {}) on {}: {} flows",
        std::process::id(),
        root_abs.display(),
        home.flows.len()
    ));
    for b in &home.broken {
        for e in &b.errors {
            log.line(&format!("flow `{}` not loaded: {e}", b.id));
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot start: {e}")))?;
    runtime.block_on(async move {
        let fail = |e: crate::engine::EngineError| Failure::new(EXIT_FAILED, e.to_string());
        let shared_store = store.clone();
        let mut engine = Engine::new(root_abs.clone(), home.config.clone(), home.flows.clone(), store);
        engine.resume().map_err(fail)?;
        let mut engine = engine.with_scheduler().map_err(fail)?;
        if stop_tasks {
            engine = engine.stop_tasks_on_exit();
        }
        let (handle, join) = engine.spawn();
        let mut events = handle.subscribe();
        // Other drover commands hand their work to this instance.
        let socket = crate::control::socket_path(&root_abs);
        let runtime = tokio::runtime::Handle::current();
        let engine_handle = handle.clone();
        // Flow files are watched: a changed, added or removed file counts
        // within a second; one that no longer validates keeps its last good
        // version in use.
        let (notes_tx, mut notes) = tokio::sync::mpsc::unbounded_channel::<String>();
        let control_notes = notes_tx.clone();
        let control_socket = socket.clone();
        let control = tokio::spawn(async move {
            let served = crate::control::serve(control_socket.clone(), move |args, sink| {
                let remote = super::Remote {
                    store: shared_store.clone(),
                    engine: engine_handle.clone(),
                    runtime: runtime.clone(),
                    sink,
                };
                super::run_for_client(args, remote);
            })
            .await;
            if let Err(e) = served {
                let _ = control_notes.send(format!(
                    "no control socket at {} ({e}); other drover commands will find the store busy",
                    control_socket.display()
                ));
            }
        });
        let watcher = tokio::spawn(watch_flows(home.root.clone(), home.flows.clone(), handle.clone(), notes_tx));
        use tokio::signal::unix::{SignalKind, signal};
        let sig = |kind| signal(kind).map_err(|e| Failure::new(EXIT_FAILED, format!("cannot watch for signals: {e}")));
        let (mut term, mut int) = (sig(SignalKind::terminate())?, sig(SignalKind::interrupt())?);
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                Some(note) = notes.recv() => log.line(&note),
                event = events.recv() => match event {
                    Ok(EngineEvent::RunChanged { flow, run_id, state }) => {
                        log.line(&format!("{} run {flow} {run_id} {state}", state.glyph()));
                    }
                    Ok(EngineEvent::TaskChanged { flow, run_id, task, state, try_number, reason }) => {
                        if matches!(state, TaskState::Failed | TaskState::UpForRetry) {
                            let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
                            log.line(&format!("{} {flow} {run_id} {task} try {try_number} {state}{why}", state.glyph()));
                        }
                    }
                    Ok(EngineEvent::Stopped { error }) => {
                        log.line(&format!("stopped: {error}"));
                        return Err(Failure::new(EXIT_FAILED, error));
                    }
                    Err(RecvError::Lagged(n)) => log.line(&format!("({n} events not logged)")),
                    Err(RecvError::Closed) => return Err(Failure::new(EXIT_FAILED, "the engine stopped")),
                },
            }
        }
        log.line("stopping: no new runs or tries; committing state");
        control.abort();
        watcher.abort();
        let _ = std::fs::remove_file(&socket);
        handle.shutdown().await;
        match join.await {
            Ok(Ok(())) => {
                log.line("stopped");
                Ok(())
            }
            Ok(Err(e)) => Err(Failure::new(EXIT_FAILED, e.to_string())),
            Err(e) => Err(Failure::new(EXIT_FAILED, format!("the engine failed: {e}"))),
        }
    })
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
) {
    let dir = root.join("flows");
    let mut known: std::collections::HashMap<String, String> =
        flows.into_iter().map(|f| (f.id, f.version)).collect();
    let mut reported: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let config_path = root.join("drover.toml");
    let config_signature = || {
        std::fs::metadata(&config_path)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    let mut last = (signature(&dir), config_signature());
    let mut config = crate::home::load_config(&root).map(|(c, _)| c).ok();
    let mut config_reported = String::new();
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let now = (signature(&dir), config_signature());
        if now == last {
            continue;
        }
        last = now;
        let Ok(home) = crate::home::Home::load(&root) else {
            continue;
        };
        // A drover.toml with errors changes nothing (flows read against its
        // defaults would be wrong too) until it is fixed.
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
        let mut changed = Vec::new();
        for flow in home.flows {
            reported.remove(&flow.id);
            if known.get(&flow.id) != Some(&flow.version) {
                let _ = notes.send(format!(
                    "flow `{}` loaded (version {})",
                    flow.id, flow.version
                ));
                known.insert(flow.id.clone(), flow.version.clone());
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
            .filter(|id| dir.join(format!("{id}.toml")).exists())
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
