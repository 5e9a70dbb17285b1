//! `drover serve`: the scheduler and workers without a screen, for tmux or
//! systemd. Logs to stderr and `.drover/drover.log`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use tokio::sync::broadcast::error::RecvError;

use super::instance::Instance;
use super::{EXIT_FAILED, Failure, Outcome, state_dir};
use crate::engine::EngineEvent;

/// Where serve's log lines go: stderr and the home's drover.log.
struct ServeLog {
    file: Option<std::fs::File>,
}

impl ServeLog {
    fn open(path: &Path) -> ServeLog {
        let file = crate::private::append(path).ok();
        ServeLog { file }
    }

    fn line(&mut self, text: &str) {
        let line = format!(
            "{} {}\n",
            Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            crate::escape::line(text)
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
        if let Some(f) = self.file.as_mut() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

pub fn run(root: &Path, stop_tasks: bool) -> Outcome {
    let home = super::load_runnable_home(root)?;
    let store = super::instance::open_home_store(&home)?;
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
    let outcome = runtime.block_on(async move {
        let mut instance = Instance::start(&home, root_abs, store, stop_tasks)?;
        let mut events = instance.engine.subscribe();
        use tokio::signal::unix::{SignalKind, signal};
        let sig = |kind| signal(kind).map_err(|e| Failure::new(EXIT_FAILED, format!("cannot watch for signals: {e}")));
        let (mut term, mut int) = (sig(SignalKind::terminate())?, sig(SignalKind::interrupt())?);
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                Some(note) = instance.notes.recv() => log.line(&note),
                event = events.recv() => match event {
                    Ok(event) => {
                        if let Some(line) = super::instance::describe(&event) {
                            log.line(&line);
                        }
                        if let EngineEvent::Stopped { error } = event {
                            return Err(Failure::new(EXIT_FAILED, error));
                        }
                    }
                    Err(RecvError::Lagged(n)) => log.line(&format!("({n} events not logged)")),
                    Err(RecvError::Closed) => return Err(Failure::new(EXIT_FAILED, "the engine stopped")),
                },
            }
        }
        log.line("stopping: no new runs or tries; committing state");
        let outcome = instance.stop(false).await;
        if outcome.is_ok() {
            log.line("stopped");
        }
        outcome
    });
    // A command still writing to a client that stops reading must not keep
    // this process: its thread is left behind.
    runtime.shutdown_timeout(super::instance::LEFT_BEHIND);
    outcome
}
