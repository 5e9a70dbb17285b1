//! The local executor. By default each try runs under its own supervisor
//! process (`drover shim`, see `shim.rs`) in a session of its own, so tasks
//! outlive drover: drover waits for the supervisor it started, or, for a try
//! it adopted after a restart, watches for the supervisor's outcome file.
//! A supervisor that dies without an outcome has what is left of its task
//! stopped before the try ends as lost (`conclude`); after a restart, a try
//! whose supervisor never started it is told apart by its start record
//! (`found`).
//!
//! A foreground run that stops its tasks when it ends (`drover test`) has no
//! use for that, and supervises its tries in-process instead: the same
//! supervision loop, without starting a supervisor program for every try.

use std::collections::HashMap;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::mpsc;

use super::executor::{Ended, ExecEvent, Executor, Found, Launch, TryKey};
use super::procs::{self, Stopped};
use super::shim::{self, Start};
pub use super::supervise::KILL_GRACE;
use super::supervise::{self, Order};
use crate::logs::{self, LogWriter, TryFiles};

/// How often an adopted try's supervisor is checked on.
const ADOPT_POLL: Duration = Duration::from_millis(100);

/// Where tries are supervised.
pub enum Supervision {
    /// By a process of their own that outlives drover: `drover-shim ...`,
    /// or `drover shim ...` (any other program path).
    Process(std::path::PathBuf),
    /// Inside drover.
    InProcess,
}

pub struct LocalExecutor {
    events: mpsc::UnboundedSender<ExecEvent>,
    supervision: Supervision,
    /// The supervisor process of each running try.
    supervisors: HashMap<TryKey, u32>,
    /// The order channel of each try supervised in-process.
    orders: HashMap<TryKey, mpsc::UnboundedSender<Order>>,
}

impl LocalExecutor {
    pub fn new(events: mpsc::UnboundedSender<ExecEvent>, supervision: Supervision) -> Self {
        LocalExecutor {
            events,
            supervision,
            supervisors: HashMap::new(),
            orders: HashMap::new(),
        }
    }

    /// Starts a try supervised inside drover.
    fn launch_in_process(&mut self, launch: Launch) -> Result<Option<u32>, String> {
        let log = LogWriter::create(&launch.files).map_err(|e| {
            format!(
                "cannot create the log {}: {}",
                launch.files.log.display(),
                crate::home::describe(&e)
            )
        })?;
        let mut cmd = std::process::Command::new(&launch.argv[0]);
        cmd.args(&launch.argv[1..]).current_dir(&launch.workdir);
        for name in &launch.env_remove {
            cmd.env_remove(name);
        }
        cmd.envs(launch.env.iter().map(|(k, v)| (k, v)));
        let started = supervise::start_command(cmd)?;
        let pid = started.pid();
        let (orders_tx, orders) = mpsc::unbounded_channel();
        self.orders.insert(launch.key.clone(), orders_tx);
        let events = self.events.clone();
        tokio::spawn(async move {
            let ended = supervise::supervise(started, log, launch.timeout, orders).await;
            // Followers of the log learn here that no more will come.
            if launch.files.log.exists() {
                let _ = crate::private::write(
                    &launch.files.end,
                    (serde_json::to_string(&ended).unwrap_or_default() + "\n").as_bytes(),
                );
            }
            let _ = events.send(ExecEvent::Finished {
                key: launch.key,
                ended,
            });
        });
        Ok(pid)
    }

    fn signal(&self, key: &TryKey, signal: Signal) {
        if let Some(pid) = self.supervisors.get(key) {
            let _ = kill(Pid::from_raw(*pid as i32), signal);
        }
    }
}

/// Whether `pid` is a live supervisor of the try at `prefix` (not a
/// process that merely reuses its pid).
pub fn supervising(pid: u32, prefix: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    });
    let prefix = prefix.as_os_str().as_encoded_bytes();
    !zombie && cmdline.split(|&b| b == 0).any(|arg| arg == prefix)
}

/// A supervisor of the try at `prefix` found among all processes.
fn find_supervisor(prefix: &Path) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|&pid| supervising(pid, prefix))
}

/// How a try ended, once its supervisor is gone (`exit`: its exit status,
/// when drover is its parent and saw it).
///
/// Steps: the outcome it wrote, if any. Else, if its start record says it
/// may have started the task, what is left of the task (its supervisor's
/// session) is SIGKILLed and waited for first, so that no other try of the
/// task starts while this one's processes run; the try is lost. A
/// supervisor that ended before it started the task leaves no record (or an
/// empty one): the try could not start.
async fn conclude(files: &TryFiles, exit: Option<ExitStatus>) -> Ended {
    if let Some(ended) = shim::read_outcome(files) {
        return ended;
    }
    let record = shim::read_start(files);
    let stopped = match &record {
        Start::Record(r) => procs::stop_session(r.supervisor, r.supervisor_start).await,
        _ => Stopped::default(),
    };
    if stopped.killed > 0 {
        let how = if stopped.left.is_empty() {
            "SIGKILL".to_string()
        } else {
            format!("SIGKILL; still there: {:?}", stopped.left)
        };
        let _ = logs::append_note(
            files,
            &format!("its supervisor died: stopping the task's processes ({how})"),
        );
    }
    let died = match exit {
        Some(status) => format!("died ({status})"),
        None => "died (killed?)".to_string(),
    };
    let code = exit.and_then(|s| s.code());
    let reason = if files.end.exists() {
        format!(
            "lost: the outcome its supervisor wrote in {} cannot be read",
            files.end.display()
        )
    } else if files.unrecorded.exists() || code == Some(i32::from(shim::EXIT_NO_OUTCOME)) {
        format!(
            "lost: its supervisor could not record the outcome in {} (is the disk full?)",
            files.end.display()
        )
    } else if code == Some(i32::from(shim::EXIT_NO_START_RECORD)) {
        format!(
            "cannot start: its supervisor could not write {} (is the disk full?)",
            files.start.display()
        )
    } else if code == Some(i32::from(shim::EXIT_START_RECORD_FAILED)) {
        format!(
            "cannot start: its supervisor could not write {} (no permission, or a name too long?)",
            files.start.display()
        )
    } else if code == Some(i32::from(shim::EXIT_GIVEN_BACK)) {
        "cannot start: the try was given back before its supervisor started it".to_string()
    } else {
        match record {
            Start::Record(_) if !stopped.left.is_empty() => format!(
                "lost: its supervisor {died}; processes {:?} of its task did not stop within {}s",
                stopped.left,
                procs::STOP_WAIT.as_secs()
            ),
            Start::Record(_) if stopped.killed > 0 => {
                format!("lost: its supervisor {died}; its processes were stopped")
            }
            Start::Record(_) => {
                format!("lost: its supervisor {died} before recording how the task ended")
            }
            Start::Garbled => format!(
                "lost: its supervisor {died}, and its start record {} cannot be read",
                files.start.display()
            ),
            Start::Unstarted | Start::None => {
                let status = exit.map(|s| format!(" ({s})")).unwrap_or_default();
                format!("cannot start: its supervisor ended{status} before it started the task")
            }
        }
    };
    Ended {
        reason: Some(reason),
        ended_at: Some(chrono::Utc::now()),
        never_started: code == Some(i32::from(shim::EXIT_NO_START_RECORD)),
        ..Ended::default()
    }
}

/// Decides, for a try recorded as running after a restart, whether it ever
/// started (`pid`: its supervisor, as recorded).
///
/// Ordering matters, as its supervisor may be at work meanwhile: look for
/// the outcome; note whether there is a start record; look for a live
/// supervisor. With none, a record seen before the look was written by a
/// supervisor now dead: one with anything in it means the task may have
/// started, an empty one that it did not (the supervisor writes the record
/// before it starts the task). Without a record, drover claims the try by
/// creating the record itself: a supervisor still to come (one forked by
/// the drover that died, not yet running its own program) then finds it
/// there and does not start the task; if a supervisor created it first, the
/// try is adopted.
fn found(files: &TryFiles, pid: Option<u32>) -> Found {
    if files.end.exists() || files.unrecorded.exists() {
        return Found::Adopt;
    }
    let had_record = files.start.exists();
    let prefix = files.prefix();
    let alive = pid
        .filter(|&p| supervising(p, &prefix))
        .or_else(|| find_supervisor(&prefix));
    if alive.is_some() || files.end.exists() {
        return Found::Adopt;
    }
    if had_record {
        return match shim::read_start(files) {
            Start::Unstarted => Found::NeverStarted,
            Start::Record(_) | Start::Garbled | Start::None => Found::Adopt,
        };
    }
    match shim::give_back(
        files,
        "drover stopped before its supervisor started the task",
    ) {
        Ok(()) if files.end.exists() => Found::Adopt,
        Ok(()) => Found::NeverStarted,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Found::Adopt,
        Err(e) => Found::Unsure(format!(
            "cannot write {}: {}",
            files.start.display(),
            crate::home::describe(&e)
        )),
    }
}

impl Executor for LocalExecutor {
    fn launch(&mut self, launch: Launch) -> Result<Option<u32>, String> {
        let program = match &self.supervision {
            Supervision::Process(program) => program.clone(),
            Supervision::InProcess => return self.launch_in_process(launch),
        };
        let mut cmd = tokio::process::Command::new(&program);
        if program.file_name().is_none_or(|n| n != "drover-shim") {
            cmd.arg("shim");
        }
        cmd.arg("--files").arg(launch.files.prefix());
        if let Some(t) = launch.timeout {
            cmd.arg("--timeout-ms").arg(t.as_millis().to_string());
        }
        cmd.arg("--")
            .args(&launch.argv)
            .current_dir(&launch.workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(false);
        for name in &launch.env_remove {
            cmd.env_remove(name);
        }
        cmd.envs(launch.env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.spawn().map_err(|e| {
            format!(
                "cannot start the task's supervisor: {}",
                crate::home::describe(&e)
            )
        })?;
        let pid = child.id();
        if let Some(pid) = pid {
            self.supervisors.insert(launch.key.clone(), pid);
        }
        let events = self.events.clone();
        tokio::spawn(async move {
            let ended = match child.wait().await {
                Ok(status) => conclude(&launch.files, Some(status)).await,
                Err(e) => Ended {
                    reason: Some(format!("lost: waiting for its supervisor failed: {e}")),
                    ..Ended::default()
                },
            };
            let _ = events.send(ExecEvent::Finished {
                key: launch.key,
                ended,
            });
        });
        Ok(pid)
    }

    fn kill(&mut self, key: &TryKey) {
        self.signal(key, Signal::SIGTERM);
        if let Some(tx) = self.orders.get(key) {
            let _ = tx.send(Order::Stop("killed".into()));
        }
    }

    fn kill_now(&mut self, key: &TryKey) {
        self.signal(key, Signal::SIGUSR2);
        if let Some(tx) = self.orders.get(key) {
            let _ = tx.send(Order::KillNow);
        }
    }

    fn done(&mut self, key: &TryKey) {
        self.supervisors.remove(key);
        self.orders.remove(key);
    }

    fn found(&mut self, files: &TryFiles, pid: Option<u32>) -> Found {
        match self.supervision {
            Supervision::Process(_) => found(files, pid),
            // Nothing outlives a drover that supervises in-process.
            Supervision::InProcess => Found::Adopt,
        }
    }

    fn adopt(&mut self, key: TryKey, files: TryFiles, pid: Option<u32>) {
        let prefix = files.prefix();
        let pid = pid
            .filter(|&p| supervising(p, &prefix))
            .or_else(|| find_supervisor(&prefix));
        if let Some(pid) = pid {
            self.supervisors.insert(key.clone(), pid);
        }
        let events = self.events.clone();
        tokio::spawn(async move {
            // Not our child: poll until its outcome is written or it is gone.
            while let Some(pid) = pid {
                if files.end.exists() || !supervising(pid, &prefix) {
                    break;
                }
                tokio::time::sleep(ADOPT_POLL).await;
            }
            let ended = conclude(&files, None).await;
            let _ = events.send(ExecEvent::Finished { key, ended });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn files() -> (tempfile::TempDir, TryFiles) {
        let dir = tempfile::tempdir().unwrap();
        let files = TryFiles::at(&dir.path().join("run/t.1"));
        std::fs::create_dir_all(dir.path().join("run")).unwrap();
        (dir, files)
    }

    fn reason(ended: &Ended) -> &str {
        ended.reason.as_deref().unwrap_or_default()
    }

    fn record(supervisor: u32) -> shim::StartRecord {
        shim::StartRecord {
            supervisor,
            supervisor_start: procs::stat(supervisor).map_or(0, |s| s.start),
            started_at: chrono::Utc::now(),
            task: None,
            task_start: None,
        }
    }

    #[tokio::test]
    async fn an_outcome_that_could_not_be_written_says_so_whoever_reads_it() {
        let (_dir, files) = files();
        // Seen by drover as the supervisor's parent: its exit status.
        let ended = conclude(&files, Some(ExitStatus::from_raw(1 << 8))).await;
        assert!(
            reason(&ended).contains("could not record the outcome"),
            "{ended:?}"
        );
        // After a restart: the record renamed so.
        std::fs::write(&files.unrecorded, "{}").unwrap();
        let ended = conclude(&files, None).await;
        assert!(
            reason(&ended).starts_with("lost: its supervisor could not record the outcome"),
            "{ended:?}"
        );
        assert!(reason(&ended).contains("disk full"), "{ended:?}");
    }

    #[tokio::test]
    async fn a_supervisor_that_died_before_its_record_could_not_start_the_task() {
        let (_dir, files) = files();
        std::fs::write(&files.start, "").unwrap();
        let ended = conclude(&files, Some(ExitStatus::from_raw(9))).await;
        assert!(reason(&ended).starts_with("cannot start:"), "{ended:?}");
        let ended = conclude(&files, Some(ExitStatus::from_raw(3 << 8))).await;
        assert!(reason(&ended).contains("could not write"), "{ended:?}");
    }

    #[tokio::test]
    async fn what_a_dead_supervisor_left_running_is_stopped_first() {
        let (_dir, files) = files();
        // A session leader with two processes under it, as a supervisor
        // and its task.
        let mut leader = std::process::Command::new("setsid")
            .args(["sh", "-c", "sleep 60 & sleep 60 & wait"])
            .spawn()
            .unwrap();
        let sid = leader.id();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let start = loop {
            let start = procs::stat(sid).map(|s| s.start).unwrap();
            if procs::left_of_session(sid, start).len() == 2 {
                break start;
            }
            assert!(std::time::Instant::now() < deadline, "no sleeps started");
            std::thread::sleep(Duration::from_millis(10));
        };
        let members = procs::left_of_session(sid, start);
        let mut rec = record(sid);
        rec.supervisor_start = start;
        std::fs::write(&files.start, serde_json::to_string(&rec).unwrap()).unwrap();
        let _ = kill(Pid::from_raw(sid as i32), Signal::SIGKILL);
        let status = leader.wait().unwrap();
        let ended = conclude(&files, Some(status)).await;
        assert!(
            reason(&ended).starts_with("lost: its supervisor died")
                && reason(&ended).ends_with("its processes were stopped"),
            "{ended:?}"
        );
        for (pid, _) in members {
            assert!(
                procs::stat(pid).is_none_or(|s| s.zombie()),
                "process {pid} of the task is still there"
            );
        }
        assert!(
            std::fs::read_to_string(&files.log)
                .unwrap()
                .contains("[drover] its supervisor died")
        );
    }

    #[test]
    fn a_try_without_record_or_supervisor_is_given_back_once_and_for_good() {
        let (_dir, files) = files();
        assert_eq!(found(&files, None), Found::NeverStarted);
        assert_eq!(
            shim::read_start(&files),
            Start::Unstarted,
            "drover's record keeps a late supervisor out"
        );
        // drover stopped again before it recorded that: still never started.
        assert_eq!(found(&files, None), Found::NeverStarted);
    }

    #[test]
    fn a_try_with_a_record_or_an_outcome_is_adopted() {
        let (_dir, files) = files();
        // A supervisor that is gone, but wrote its record: the task may run.
        std::fs::write(&files.start, serde_json::to_string(&record(1)).unwrap()).unwrap();
        assert_eq!(found(&files, None), Found::Adopt);
        std::fs::rename(&files.start, &files.end).unwrap();
        assert_eq!(found(&files, None), Found::Adopt);
    }
}
