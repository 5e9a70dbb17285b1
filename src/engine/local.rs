//! The local executor. By default each try runs under its own supervisor
//! process (`drover shim`, see `shim.rs`) in a session of its own, so tasks
//! outlive drover: drover waits for the supervisor it started, or, for a try
//! it adopted after a restart, watches for the supervisor's outcome file.
//!
//! A foreground run that stops its tasks when it ends (`drover test`) has no
//! use for that, and supervises its tries in-process instead: the same
//! supervision loop, without starting a supervisor program for every try.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::mpsc;

use super::executor::{Ended, ExecEvent, Executor, Launch, TryKey};
use super::shim;
pub use super::supervise::KILL_GRACE;
use super::supervise::{self, Order};
use crate::logs::{LogWriter, TryFiles};

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

/// The outcome once a supervisor is gone: what it wrote, or lost.
fn outcome(files: &TryFiles, why_lost: &str) -> Ended {
    shim::read_outcome(files).unwrap_or_else(|| Ended {
        reason: Some(why_lost.to_string()),
        ..Ended::default()
    })
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
            let status = child.wait().await;
            let why = match status {
                // The supervisor's own way of saying it could not write the outcome.
                Ok(s) if s.code() == Some(1) => format!(
                    "lost: its supervisor could not record the outcome in {} (is the disk full?)",
                    launch.files.end.display()
                ),
                Ok(s) => format!("lost: its supervisor ended without an outcome ({s})"),
                Err(e) => format!("lost: waiting for its supervisor failed: {e}"),
            };
            let ended = outcome(&launch.files, &why);
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
            let ended = outcome(&files, "lost: drover was not running when it ended");
            let _ = events.send(ExecEvent::Finished { key, ended });
        });
    }
}
