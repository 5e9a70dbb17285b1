//! Running one task process and watching it to its end: output into the
//! log, timeout, kill requests, leftovers in its process group. This runs
//! inside the supervisor process (`drover shim`), which outlives drover.

use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::executor::Ended;
use crate::flow::duration;
use crate::logs::LogWriter;

/// Between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(10);
/// How long to keep reading after everything in the task's process group
/// was killed, when processes outside it still hold the output pipe open.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What the supervisor is asked to do while the task runs.
#[derive(Debug)]
pub enum Order {
    /// SIGTERM to the task's group, SIGKILL after the grace; the reason.
    Stop(String),
    /// SIGKILL to the task's group at once.
    KillNow,
}

/// A started task: its process, group and output pipe.
pub struct Started {
    child: tokio::process::Child,
    pid: Option<u32>,
    output: pipe::Receiver,
}

/// Starts `argv` with the current folder and environment; see `start_command`.
pub fn start(argv: &[String]) -> Result<Started, String> {
    let (program, args) = argv.split_first().ok_or("no command to run")?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    start_command(cmd)
}

/// Starts `cmd` in its own process group, stdout and stderr sharing one
/// pipe, stdin from /dev/null.
pub fn start_command(cmd: std::process::Command) -> Result<Started, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let (reader, writer) = std::io::pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;
    let child = {
        let stderr = writer
            .try_clone()
            .map_err(|e| format!("cannot create a pipe: {e}"))?;
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .kill_on_drop(false);
        // `cmd` is dropped at the end of this block, closing our copies of
        // the pipe's write end: EOF comes when the task's last process
        // closes it.
        cmd.spawn()
            .map_err(|e| format!("cannot start `{program}`: {}", crate::home::describe(&e)))?
    };
    let pid = child.id();
    let output = pipe::Receiver::from_owned_fd(OwnedFd::from(reader))
        .map_err(|e| format!("cannot read the task's output: {e}"))?;
    Ok(Started { child, pid, output })
}

impl Started {
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }
}

/// Signals the task's process group; true if any process was there to get it.
fn signal_group(pid: Option<u32>, signal: Signal) -> bool {
    // The task leads its own group, so its pid is the group id. ESRCH (the
    // group is gone) is fine.
    pid.is_some_and(|pid| killpg(Pid::from_raw(pid as i32), signal).is_ok())
}

/// Watches a started task: copies its output into the log, enforces the
/// timeout, obeys orders, and returns once the task has exited and its
/// output has been read to EOF.
pub async fn supervise(
    started: Started,
    mut log: LogWriter,
    timeout: Option<Duration>,
    mut orders: mpsc::UnboundedReceiver<Order>,
) -> Ended {
    let Started {
        mut child,
        pid,
        mut output,
    } = started;
    let far = Instant::now() + Duration::from_secs(100 * 365 * 86400);
    let mut deadline = timeout.map_or(far, |t| Instant::now() + t);
    let mut kill_at = far;
    let mut drain_until = far;
    let mut reason: Option<String> = None;
    let mut status: Option<ExitStatus> = None;
    let mut eof = false;
    let mut buf = vec![0u8; 64 * 1024];
    let mut orders_open = true;

    while status.is_none() || !eof {
        tokio::select! {
            read = output.read(&mut buf), if !eof => match read {
                Ok(0) => eof = true,
                Ok(n) => log.chunk(&buf[..n], chrono::Utc::now()),
                Err(e) => {
                    log.note(&format!("reading the task's output failed: {e}"));
                    eof = true;
                }
            },
            waited = child.wait(), if status.is_none() => {
                match waited {
                    Ok(s) => status = Some(s),
                    Err(e) => {
                        reason.get_or_insert(format!("waiting for the task failed: {e}"));
                        status = Some(ExitStatus::from_raw(255 << 8));
                    }
                }
                // Take in what the task wrote before it exited, so notes
                // below come after it in the log. (A direct read: the pipe
                // is non-blocking, and the reactor may not have seen it
                // become readable yet.)
                while !eof {
                    match nix::unistd::read(&output, &mut buf) {
                        Ok(0) => eof = true,
                        Ok(n) => log.chunk(&buf[..n], chrono::Utc::now()),
                        Err(nix::errno::Errno::EAGAIN) => break,
                        Err(nix::errno::Errno::EINTR) => {}
                        Err(e) => {
                            log.note(&format!("reading the task's output failed: {e}"));
                            eof = true;
                        }
                    }
                }
                // What the main process left running in its group is part
                // of the task: it is stopped too, and its output read to the
                // end. (A daemon meant to outlive the task starts its own
                // session with setsid.)
                drain_until = if signal_group(pid, Signal::SIGTERM) {
                    log.note("the main process exited: stopping the processes it left running (SIGTERM)");
                    kill_at = kill_at.min(Instant::now() + KILL_GRACE);
                    kill_at + DRAIN_GRACE
                } else {
                    Instant::now() + DRAIN_GRACE
                };
            },
            _ = sleep_until(deadline), if status.is_none() => {
                let limit = timeout.map(duration::format).unwrap_or_default();
                let why = format!("timed out after {limit}");
                log.note(&format!("{why}: sending SIGTERM to the process group"));
                reason.get_or_insert(why);
                signal_group(pid, Signal::SIGTERM);
                deadline = far;
                kill_at = Instant::now() + KILL_GRACE;
            },
            order = orders.recv(), if orders_open && status.is_none() => match order {
                Some(Order::Stop(why)) => {
                    log.note(&format!("{why}: sending SIGTERM to the process group"));
                    reason.get_or_insert(why);
                    signal_group(pid, Signal::SIGTERM);
                    deadline = far;
                    kill_at = kill_at.min(Instant::now() + KILL_GRACE);
                }
                Some(Order::KillNow) => {
                    log.note("killed: sending SIGKILL to the process group");
                    reason.get_or_insert("killed".into());
                    signal_group(pid, Signal::SIGKILL);
                }
                None => orders_open = false,
            },
            _ = sleep_until(kill_at) => {
                if signal_group(pid, Signal::SIGKILL) {
                    log.note("still running: sending SIGKILL to the process group");
                }
                kill_at = far;
            },
            _ = sleep_until(drain_until), if status.is_some() && !eof => {
                log.note("processes outside the task's process group still hold its output open; stopped reading it");
                eof = true;
            },
        }
    }
    if reason.is_some() {
        // A killed task's leftovers go with it.
        signal_group(pid, Signal::SIGKILL);
    }
    let status = status.unwrap_or_else(|| ExitStatus::from_raw(0));
    Ended {
        exit_code: status.code(),
        signal: status.signal(),
        reason,
        log_error: log.error.clone(),
        ended_at: Some(chrono::Utc::now()),
        never_started: false,
    }
}
