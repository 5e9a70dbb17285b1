//! The supervisor of one try: `drover shim --files PREFIX [--timeout-ms N]
//! -- ARGV...`, started by the local executor in its own session, so that
//! the task outlives drover (a restart, an upgrade, `kill -9`).
//!
//! Steps: leave drover's session (`setsid`); claim the try by creating its
//! start record `PREFIX.start` (exclusively: if it is there already, drover
//! gave the try back after a restart and it must not run) holding this
//! process's pid and start time, padded to `RECORD_SIZE`, so
//! that it proves the task may have started and reserves the space for the
//! outcome; start the task in its own process group with the inherited
//! folder and environment, and add its pid to the record; copy its output
//! into `PREFIX.log`; enforce the timeout; on SIGTERM stop the task (SIGKILL
//! after the grace), on SIGUSR2 kill it at once; when the task has ended and
//! its output is read, write the outcome as JSON over the record, in the
//! space it reserved, and rename it to `PREFIX.end`. drover reads the
//! outcome there, whether it watched the whole time or came back later.
//!
//! When the outcome cannot be written, the record is renamed to
//! `PREFIX.unrecorded` instead (a rename needs no new blocks), so whoever
//! comes later can tell that from a supervisor that died.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::executor::Ended;
use super::procs;
use super::supervise::{self, Order};
use crate::logs::{self, LogWriter, TryFiles};

/// The size a start record is padded to: room for the outcome.
pub const RECORD_SIZE: usize = 4096;
/// Exit status: the task ran (or could not start) but the outcome could
/// not be written.
pub const EXIT_NO_OUTCOME: u8 = 1;
/// Exit status: the start record could not be written on a full disk (or
/// quota), so the task was not started.
pub const EXIT_NO_START_RECORD: u8 = 3;
/// Exit status: the start record could not be written for another reason
/// than a full disk, so the task was not started.
pub const EXIT_START_RECORD_FAILED: u8 = 5;
/// Exit status: the try was given back (its start record was there
/// already), so the task was not started.
pub const EXIT_GIVEN_BACK: u8 = 4;

/// What a supervisor writes before it starts its task.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StartRecord {
    /// The supervisor's pid: the session id of every process of the task.
    pub supervisor: u32,
    /// Its start time in clock ticks after boot (/proc/PID/stat), so that
    /// a later process with the same pid is not taken for it.
    pub supervisor_start: u64,
    pub started_at: DateTime<Utc>,
    /// The task's first process (leader of its process group), once started.
    #[serde(default)]
    pub task: Option<u32>,
    #[serde(default)]
    pub task_start: Option<u64>,
}

/// Runs the supervisor; returns the process exit status (0 once the outcome
/// is written, whatever the task did; see the `EXIT_` constants).
pub fn run(prefix: &Path, timeout: Option<Duration>, argv: &[String]) -> u8 {
    // Its own session: drover's terminal, Ctrl-C and death do not reach it.
    let _ = nix::unistd::setsid();
    let files = TryFiles::at(prefix);
    let mut record = match Claim::make(&files) {
        Ok(claim) => claim,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return EXIT_GIVEN_BACK,
        // Only a full disk (or quota) is given back to be tried again: any
        // other reason (a name too long, no permission) would fail again.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
            ) =>
        {
            return EXIT_NO_START_RECORD;
        }
        Err(_) => return EXIT_START_RECORD_FAILED,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let ended = failed(format!("the supervisor cannot start: {e}"));
            return record.finish(&files, &ended);
        }
    };
    let ended = runtime.block_on(async {
        let (orders_tx, orders) = mpsc::unbounded_channel();
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
        record.started(started.pid());
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
    record.finish(&files, &ended)
}

fn failed(reason: String) -> Ended {
    Ended {
        reason: Some(reason),
        ..Ended::default()
    }
}

/// `json` padded with spaces to `RECORD_SIZE` (a longer one is kept
/// whole), ending in a newline.
fn padded(mut json: String) -> Vec<u8> {
    let width = RECORD_SIZE - 1;
    if json.len() < width {
        json.extend(std::iter::repeat_n(' ', width - json.len()));
    }
    json.push('\n');
    json.into_bytes()
}

/// A supervisor's open start record.
struct Claim {
    file: File,
    record: StartRecord,
}

impl Claim {
    /// Creates the start record (the run's folder too), only if there is
    /// none, at its full size. On an error other than "already there", no
    /// record is left behind.
    fn make(files: &TryFiles) -> io::Result<Claim> {
        let dir = files.start.parent().unwrap_or(Path::new("."));
        crate::private::dir(dir)?;
        let file = crate::private::open(
            OpenOptions::new().write(true).create_new(true),
            &files.start,
        )?;
        let claim = Claim {
            file,
            record: StartRecord {
                supervisor: std::process::id(),
                supervisor_start: procs::own_start().unwrap_or(0),
                started_at: Utc::now(),
                task: None,
                task_start: None,
            },
        };
        // Written, not synced: the record must outlast `kill -9` of drover
        // (the page cache is enough), and after a power loss nothing of
        // the task is running any more either way.
        match claim.write() {
            Ok(()) => Ok(claim),
            Err(e) => {
                let _ = std::fs::remove_file(&files.start);
                Err(e)
            }
        }
    }

    fn write(&self) -> io::Result<()> {
        // Serialising this plain struct cannot fail.
        let json = serde_json::to_string(&self.record).unwrap_or_default();
        self.file.write_all_at(&padded(json), 0)
    }

    /// Adds the task's pid to the record, in place (no new blocks).
    fn started(&mut self, pid: Option<u32>) {
        self.record.task = pid;
        self.record.task_start = pid.and_then(procs::stat).map(|s| s.start);
        let _ = self.write();
    }

    /// Writes the outcome over the record, in the space it reserved, and
    /// renames it to `.end`: the try is over once that file exists. If the
    /// outcome cannot be written, renames the record to `.unrecorded`.
    fn finish(self, files: &TryFiles, ended: &Ended) -> u8 {
        // Serialising this plain struct cannot fail.
        let json = serde_json::to_string(ended).unwrap_or_default();
        let written = self
            .file
            .write_all_at(&padded(json), 0)
            .and_then(|()| std::fs::rename(&files.start, &files.end));
        match written {
            Ok(()) => 0,
            Err(_) => {
                let _ = std::fs::rename(&files.start, &files.unrecorded);
                EXIT_NO_OUTCOME
            }
        }
    }
}

/// Reads an outcome a supervisor wrote; `None` when there is none (yet).
/// A supervisor that died after writing its outcome over its start record
/// but before renaming it to `.end` left the outcome there.
pub fn read_outcome(files: &TryFiles) -> Option<Ended> {
    if let Ok(text) = std::fs::read_to_string(&files.end) {
        return serde_json::from_str(text.trim()).ok();
    }
    let text = std::fs::read_to_string(&files.start).ok()?;
    let value: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
    // A start record names its supervisor; an outcome does not.
    if value.get("supervisor").is_some() {
        return None;
    }
    serde_json::from_value(value).ok()
}

/// What a try's start record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// There is none.
    None,
    /// An empty one (its supervisor died between creating and writing it,
    /// before it started the task), or drover's (the try was given back).
    Unstarted,
    /// One that cannot be read: it may have been started.
    Garbled,
    Record(StartRecord),
}

/// How drover's start record of a try it gave back begins.
const GIVEN_BACK: &str = "given back by drover";

/// Reads a try's start record.
pub fn read_start(files: &TryFiles) -> Start {
    match std::fs::read_to_string(&files.start) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Start::None,
        Err(_) => Start::Garbled,
        Ok(text) if text.trim().is_empty() || text.starts_with(GIVEN_BACK) => Start::Unstarted,
        Ok(text) => match serde_json::from_str(text.trim()) {
            Ok(record) => Start::Record(record),
            Err(_) => Start::Garbled,
        },
    }
}

/// Claims a try for drover, so that no supervisor will start it: creates
/// its start record (exclusively) with a note saying why. `AlreadyExists`
/// means a supervisor claimed it first.
pub fn give_back(files: &TryFiles, why: &str) -> io::Result<()> {
    if let Some(dir) = files.start.parent() {
        crate::private::dir(dir)?;
    }
    let file = crate::private::open(
        OpenOptions::new().write(true).create_new(true),
        &files.start,
    )?;
    // Even when the note could not be written, the file is there and keeps
    // any supervisor from starting the try: that is what counts.
    let _ = file
        .write_all_at(format!("{GIVEN_BACK}: {why}\n").as_bytes(), 0)
        .and_then(|()| file.sync_data());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reserves_its_size_and_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let files = TryFiles::at(&dir.path().join("run/t.1"));
        let mut claim = Claim::make(&files).unwrap();
        assert_eq!(
            std::fs::metadata(&files.start).unwrap().len(),
            RECORD_SIZE as u64
        );
        claim.started(Some(std::process::id()));
        let Start::Record(record) = read_start(&files) else {
            panic!("no record");
        };
        assert_eq!(record.supervisor, std::process::id());
        assert_eq!(record.task, Some(std::process::id()));
        assert!(
            Claim::make(&files).is_err_and(|e| e.kind() == io::ErrorKind::AlreadyExists),
            "a try is claimed once"
        );
        let ended = Ended {
            exit_code: Some(0),
            ..Ended::default()
        };
        assert_eq!(claim.finish(&files, &ended), 0);
        assert_eq!(read_outcome(&files), Some(ended));
        assert_eq!(read_start(&files), Start::None);
    }

    #[test]
    fn a_given_back_try_cannot_be_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let files = TryFiles::at(&dir.path().join("run/t.1"));
        give_back(&files, "never started").unwrap();
        assert_eq!(read_start(&files), Start::Unstarted);
        assert!(Claim::make(&files).is_err_and(|e| e.kind() == io::ErrorKind::AlreadyExists));
        assert!(give_back(&files, "again").is_err());
    }

    #[test]
    fn an_outcome_written_over_the_record_but_not_renamed_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let files = TryFiles::at(&dir.path().join("run/t.1"));
        let claim = Claim::make(&files).unwrap();
        assert_eq!(read_outcome(&files), None, "a start record is no outcome");
        let ended = Ended {
            exit_code: Some(0),
            ..Ended::default()
        };
        claim
            .file
            .write_all_at(&padded(serde_json::to_string(&ended).unwrap()), 0)
            .unwrap();
        assert_eq!(read_outcome(&files).map(|e| e.exit_code), Some(Some(0)));
    }
}
