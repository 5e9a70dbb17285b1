//! What /proc says about processes: a process's state, group, session and
//! start time; and stopping what is left of a dead supervisor's session.
//!
//! A supervisor starts its own session (`setsid`), and its task runs in a
//! process group inside that session, so every process of the task (unless
//! it left with a `setsid` of its own, as a daemon meant to outlive the task
//! does) has the supervisor's pid as its session id. A session id, like a
//! group id, cannot be handed to a new process while any member of the
//! session is alive, so the members found under a dead supervisor's pid are
//! its task's, as long as no live process has taken that pid since
//! (checked with the start time the supervisor recorded).

use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// How long to wait for a killed task's processes to be gone.
pub const STOP_WAIT: Duration = Duration::from_secs(30);
/// Between looks at whether they are gone.
const STOP_POLL: Duration = Duration::from_millis(20);

/// A few fields of /proc/PID/stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// `R`, `S`, `D`, `Z` (zombie), ...
    pub state: char,
    pub pgid: i32,
    pub sid: i32,
    /// Clock ticks after boot when the process started: with the pid, it
    /// names one process for good.
    pub start: u64,
}

impl Stat {
    pub fn zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// Parses the text of /proc/PID/stat.
pub fn parse_stat(text: &str) -> Option<Stat> {
    // The command name (field 2) is in parentheses and may hold anything,
    // spaces and `)` included: the fields after it start after the last `) `.
    let (_, rest) = text.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // Field N of stat(5) is fields[N - 3] here.
    Some(Stat {
        state: fields.first()?.chars().next()?,
        pgid: fields.get(2)?.parse().ok()?,
        sid: fields.get(3)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// /proc/PID/stat of a process, if it exists.
pub fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// This process's start time, as `Stat::start`.
pub fn own_start() -> Option<u64> {
    stat(std::process::id()).map(|s| s.start)
}

/// Every process now: pid and stat.
fn all() -> Vec<(u32, Stat)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect()
}

/// The live (not zombie) processes of the session of the dead supervisor
/// `supervisor` that started at `started`: none when another live process
/// has that pid now (the session ended, and the pid was given out again).
pub fn left_of_session(supervisor: u32, started: u64) -> Vec<(u32, Stat)> {
    if let Some(s) = stat(supervisor)
        && s.start != started
    {
        return Vec::new();
    }
    let me = std::process::id();
    all()
        .into_iter()
        // A process of the task started after its supervisor did: an older
        // one in a session of that id belongs to an earlier user of the pid.
        .filter(|(pid, s)| {
            s.sid == supervisor as i32
                && s.start >= started
                && !s.zombie()
                && *pid != me
                && *pid != supervisor
        })
        .collect()
}

/// What `stop_session` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// Processes that were still there and were killed.
    pub killed: usize,
    /// Processes still there after `STOP_WAIT` (stuck in the kernel).
    pub left: Vec<u32>,
}

/// SIGKILLs every process left in a dead supervisor's session (each
/// process group found there, and each process) and waits, polling
/// without blocking the runtime, until none is left or `STOP_WAIT` passes.
pub async fn stop_session(supervisor: u32, started: u64) -> Stopped {
    let look = move || left_of_session(supervisor, started);
    let deadline = tokio::time::Instant::now() + STOP_WAIT;
    let mut stopped = Stopped::default();
    loop {
        let left = tokio::task::spawn_blocking(look).await.unwrap_or_default();
        if left.is_empty() {
            return stopped;
        }
        if stopped.killed == 0 {
            stopped.killed = left.len();
        }
        if tokio::time::Instant::now() >= deadline {
            stopped.left = left.iter().map(|(pid, _)| *pid).collect();
            return stopped;
        }
        for (pid, s) in &left {
            // A group id cannot be reused while a member of it is alive,
            // and one was a moment ago; ESRCH (gone since) is fine.
            if s.pgid > 1 {
                let _ = killpg(Pid::from_raw(s.pgid), Signal::SIGKILL);
            }
            let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
        }
        tokio::time::sleep(STOP_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        let text = "4242 (a) b) c) S 1 4240 4239 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615";
        let s = parse_stat(text).unwrap();
        assert_eq!(
            s,
            Stat {
                state: 'S',
                pgid: 4240,
                sid: 4239,
                start: 987654
            }
        );
        assert!(!s.zombie());
    }

    #[test]
    fn this_process_has_a_start_time() {
        let me = stat(std::process::id()).unwrap();
        assert_eq!(Some(me.start), own_start());
        assert!(!me.zombie());
    }
}
