//! The local executor: each try is a child process in its own process group,
//! its stdout and stderr sharing one pipe (so they interleave in the order
//! written) that is copied into the try's log until EOF.

use std::collections::HashMap;
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

use super::executor::{Ended, ExecEvent, Executor, Launch, TryKey};
use crate::flow::duration;
use crate::logs::LogWriter;

/// Between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(10);
/// How long to keep reading after everything in the task's process group
/// was killed, when processes outside it still hold the output pipe open.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

pub struct LocalExecutor {
    events: mpsc::UnboundedSender<ExecEvent>,
    /// Each running try's kill channel and process group.
    kills: HashMap<TryKey, (mpsc::UnboundedSender<String>, Option<u32>)>,
}

impl LocalExecutor {
    pub fn new(events: mpsc::UnboundedSender<ExecEvent>) -> Self {
        LocalExecutor {
            events,
            kills: HashMap::new(),
        }
    }
}

impl Executor for LocalExecutor {
    fn launch(&mut self, launch: Launch) -> Result<Option<u32>, String> {
        self.kills.retain(|_, (tx, _)| !tx.is_closed());
        let writer = LogWriter::create(&launch.files).map_err(|e| {
            format!(
                "cannot create the log {}: {}",
                launch.files.log.display(),
                crate::home::describe(&e)
            )
        })?;
        let (reader, pipe_writer) =
            std::io::pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;
        let child = {
            let stderr = pipe_writer
                .try_clone()
                .map_err(|e| format!("cannot create a pipe: {e}"))?;
            let mut cmd = tokio::process::Command::new(&launch.argv[0]);
            cmd.args(&launch.argv[1..])
                .current_dir(&launch.workdir)
                .stdin(Stdio::null())
                .stdout(Stdio::from(pipe_writer))
                .stderr(Stdio::from(stderr))
                .process_group(0)
                .kill_on_drop(false);
            for name in &launch.env_remove {
                cmd.env_remove(name);
            }
            cmd.envs(launch.env.iter().map(|(k, v)| (k, v)));
            // `cmd` is dropped at the end of this block, closing drover's
            // copies of the pipe's write end: EOF comes when the task's last
            // process closes it.
            cmd.spawn().map_err(|e| {
                format!(
                    "cannot start `{}`: {}",
                    launch.argv[0],
                    crate::home::describe(&e)
                )
            })?
        };
        let pid = child.id();
        let receiver = pipe::Receiver::from_owned_fd(OwnedFd::from(reader))
            .map_err(|e| format!("cannot read the task's output: {e}"))?;
        let (kill_tx, kill_rx) = mpsc::unbounded_channel();
        self.kills.insert(launch.key.clone(), (kill_tx, pid));
        let events = self.events.clone();
        tokio::spawn(async move {
            let ended = supervise(child, pid, receiver, writer, launch.timeout, kill_rx).await;
            let _ = events.send(ExecEvent::Finished {
                key: launch.key,
                ended,
            });
        });
        Ok(pid)
    }

    fn kill(&mut self, key: &TryKey, why: String) {
        if let Some((tx, _)) = self.kills.get(key) {
            let _ = tx.send(why);
        }
    }

    fn kill_now(&mut self, key: &TryKey) {
        if let Some((_, pid)) = self.kills.get(key) {
            signal_group(*pid, Signal::SIGKILL);
        }
    }
}

/// Signals the try's process group; true if any process was there to get it.
fn signal_group(pid: Option<u32>, signal: Signal) -> bool {
    // The child leads its own group, so its pid is the group id. ESRCH (the
    // group is gone) is fine.
    pid.is_some_and(|pid| killpg(Pid::from_raw(pid as i32), signal).is_ok())
}

/// Watches one child: copies its output into the log, enforces the timeout,
/// obeys kill requests, and returns once the child has exited and its output
/// has been read to EOF.
async fn supervise(
    mut child: tokio::process::Child,
    pid: Option<u32>,
    mut output: pipe::Receiver,
    mut log: LogWriter,
    timeout: Option<Duration>,
    mut kills: mpsc::UnboundedReceiver<String>,
) -> Ended {
    let far = Instant::now() + Duration::from_secs(100 * 365 * 86400);
    let mut deadline = timeout.map_or(far, |t| Instant::now() + t);
    let mut kill_at = far;
    let mut drain_until = far;
    let mut reason: Option<String> = None;
    let mut status: Option<ExitStatus> = None;
    let mut eof = false;
    let mut buf = vec![0u8; 64 * 1024];
    let mut kills_open = true;

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
                // below come after it in the log.
                // (A direct read: the pipe is non-blocking, and the
                // reactor may not have seen it become readable yet.)
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
            why = kills.recv(), if kills_open && status.is_none() => match why {
                Some(why) => {
                    log.note(&format!("{why}: sending SIGTERM to the process group"));
                    reason.get_or_insert(why);
                    signal_group(pid, Signal::SIGTERM);
                    deadline = far;
                    kill_at = Instant::now() + KILL_GRACE;
                }
                None => kills_open = false,
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
    }
}
