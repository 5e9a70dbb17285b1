//! Helpers shared by the integration tests: a scratch home and the real binary.
#![allow(dead_code)]

pub mod sshd;
pub mod tui_fixture;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

/// A temporary drover home, removed when dropped. Dropping it (a test that
/// passed or panicked alike) first kills every process still working on
/// it: `drover serve`, task supervisors and the tasks themselves, found by
/// the home's path in their command line or their `DROVER_HOME`. So a
/// failed test never leaves load behind for the tests after it.
pub struct TestHome {
    pub dir: tempfile::TempDir,
}

impl Drop for TestHome {
    fn drop(&mut self) {
        kill_processes_of(self.dir.path());
    }
}

/// SIGKILLs every process (other than this one) whose command line names
/// `home` or whose environment has `DROVER_HOME=home`; waits (bounded) for
/// them to be gone. Processes of other users are skipped, as their
/// /proc entries cannot be read.
pub fn kill_processes_of(home: &Path) {
    let home = home.as_os_str().as_encoded_bytes();
    let mut env_entry = b"DROVER_HOME=".to_vec();
    env_entry.extend_from_slice(home);
    let me = std::process::id();
    let holds = |pid: u32| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        cmdline.split(|&b| b == 0).any(|arg| names(arg, home))
            || environ
                .split(|&b| b == 0)
                .any(|e| e == env_entry.as_slice())
    };
    for _ in 0..50 {
        let pids: Vec<u32> = std::fs::read_dir("/proc")
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                    .filter(|&pid| pid != me && holds(pid) && !zombie(pid))
                    .collect()
            })
            .unwrap_or_default();
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Whether `arg` is `home` or has it as a folder in it.
fn names(arg: &[u8], home: &[u8]) -> bool {
    (0..arg.len().saturating_sub(home.len()) + 1)
        .any(|i| arg[i..].starts_with(home) && matches!(arg.get(i + home.len()), None | Some(b'/')))
}

fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

/// A child process of a test, killed (SIGKILL) and reaped when dropped,
/// pass or fail, unless it was waited for already.
pub struct Guard(pub Child);

impl Guard {
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// SIGTERM, then the exit status, waiting at most `within`.
    pub fn stop(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        self.wait_within(within)
    }

    /// The exit status once the child has exited, waiting at most `within`.
    pub fn wait_within(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl std::ops::Deref for Guard {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl TestHome {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("create temp home");
        std::fs::create_dir(dir.path().join("flows")).expect("create flows/");
        TestHome { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }

    pub fn flow(&self, id: &str, text: &str) -> PathBuf {
        self.write(&format!("flows/{id}.toml"), text)
    }

    /// Runs `drover --home HOME args...` from inside the home.
    pub fn drover(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(args)
            .current_dir(self.path())
            .env("DROVER_HOME", self.path())
            .env_remove("NO_COLOR")
            .output()
            .expect("run drover");
        Run::from(output)
    }
}

impl TestHome {
    /// Like `drover`, but fails the test (killing it) when it has not ended
    /// within `within`: for a command that would hang on a stalled instance.
    pub fn drover_within(&self, within: std::time::Duration, args: &[&str]) -> Run {
        let mut child = Guard(
            Command::new(env!("CARGO_BIN_EXE_drover"))
                .args(args)
                .current_dir(self.path())
                .env("DROVER_HOME", self.path())
                .env_remove("NO_COLOR")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("run drover"),
        );
        // Read both pipes meanwhile, so a long answer cannot fill them.
        let pipe = |r: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut bytes);
                }
                String::from_utf8_lossy(&bytes).into_owned()
            })
        };
        let out = pipe(child.stdout.take().map(|p| Box::new(p) as _));
        let err = pipe(child.stderr.take().map(|p| Box::new(p) as _));
        let Some(status) = child.wait_within(within) else {
            panic!("`drover {}` did not end within {within:?}", args.join(" "));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        }
    }
}

/// What a finished drover process said.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// `drover serve` on `home` with extra arguments, killed when dropped.
pub fn serve(home: &TestHome, extra: &[&str]) -> Guard {
    Guard(
        Command::new(env!("CARGO_BIN_EXE_drover"))
            .arg("serve")
            .args(extra)
            .env("DROVER_HOME", home.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()) // serve logs to .drover/drover.log too; an unread pipe could fill
            .spawn()
            .expect("start drover serve"),
    )
}

/// Starts serve and waits (bounded) until its control socket is there.
pub fn serve_ready(home: &TestHome, extra: &[&str]) -> Guard {
    let child = serve(home, extra);
    wait_until("drover serve to listen on its socket", || {
        listening(home.path())
    });
    child
}

/// Whether an instance listens on the home's socket (the socket file is
/// made a moment before it does).
pub fn listening(home: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(home.join(".drover/drover.sock")).is_ok()
}

/// Polls `ok` until it holds, failing the test after a generous bound.
pub fn wait_until(what: &str, ok: impl FnMut() -> bool) {
    wait_within(std::time::Duration::from_secs(30), what, ok);
}

/// Polls `ok` until it holds, failing the test after `within`.
pub fn wait_within(within: std::time::Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}
