//! The supervisor of one try: `drover shim --files PREFIX [--timeout-ms N]
//! -- ARGV...`, started by the local executor in its own session, so that
//! the task outlives drover (a restart, an upgrade, `kill -9`).
//!
//! Steps: leave drover's session (`setsid`); start the task in its own
//! process group with the inherited folder and environment; copy its output
//! into `PREFIX.log`; enforce the timeout; on SIGTERM stop the task (SIGKILL
//! after the grace), on SIGUSR2 kill it at once; when the task has ended and
//! its output is read, write the outcome as JSON to `PREFIX.end` and exit.
//! drover reads the outcome there, whether it watched the whole time or
//! came back later.

use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;

use super::executor::Ended;
use super::supervise::{self, Order};
use crate::logs::{self, LogWriter, TryFiles};

/// Runs the supervisor; returns the process exit status (0 once the outcome
/// is written, whatever the task did).
pub fn run(prefix: &Path, timeout: Option<Duration>, argv: &[String]) -> u8 {
    // Its own session: drover's terminal, Ctrl-C and death do not reach it.
    let _ = nix::unistd::setsid();
    let files = TryFiles::at(prefix);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return finish(&files, &failed(format!("the supervisor cannot start: {e}"))),
    };
    let ended = runtime.block_on(async {
        let (orders_tx, orders) = mpsc::unbounded_channel();
        // The run's folder must exist before the task starts: it may write
        // its outputs there at once.
        let log = match LogWriter::create(&files) {
            Ok(log) => log,
            Err(e) => {
                return failed(format!(
                    "cannot write the log {}: {}",
                    files.log.display(),
                    crate::home::describe(&e)
                ));
            }
        };
        let started = match supervise::start(argv) {
            Ok(s) => s,
            Err(why) => {
                let _ = logs::append_note(&files, &format!("cannot start: {why}"));
                return failed(format!("cannot start: {why}"));
            }
        };
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let kill = signal(SignalKind::user_defined2());
        if let (Ok(mut term), Ok(mut kill)) = (term, kill) {
            tokio::spawn(async move {
                loop {
                    let order = tokio::select! {
                        _ = term.recv() => Order::Stop("killed".into()),
                        _ = kill.recv() => Order::KillNow,
                    };
                    if orders_tx.send(order).is_err() {
                        return;
                    }
                }
            });
        }
        supervise::supervise(started, log, timeout, orders).await
    });
    finish(&files, &ended)
}

fn failed(reason: String) -> Ended {
    Ended {
        reason: Some(reason),
        ..Ended::default()
    }
}

/// Writes the outcome; the try is over once this file exists.
fn finish(files: &TryFiles, ended: &Ended) -> u8 {
    // Serialising this plain struct cannot fail.
    let json = serde_json::to_string(ended).unwrap_or_default();
    match crate::private::write(&files.end, (json + "\n").as_bytes()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Reads an outcome a supervisor wrote; `None` when there is none (yet).
pub fn read_outcome(files: &TryFiles) -> Option<Ended> {
    let text = std::fs::read_to_string(&files.end).ok()?;
    serde_json::from_str(text.trim()).ok()
}
