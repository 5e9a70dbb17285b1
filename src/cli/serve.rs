//! `drover serve`: the scheduler and workers without a screen, for tmux or
//! systemd. Logs to stderr and `.drover/drover.log`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use tokio::sync::broadcast::error::RecvError;

use std::time::{Duration, Instant};

use super::instance::Instance;
use super::{EXIT_FAILED, Failure, Outcome, eprintln_safe, print, state_dir};
use crate::api::{Client, Hello};
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

pub fn run(root: &Path, stop_tasks: bool, detached: bool) -> Outcome {
    if detached {
        // Out of the terminal's session: its hangup is not ours.
        let _ = nix::unistd::setsid();
    }
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
    // One thread: a trigger's first task starts 2.6× sooner than on two
    // (7.6 against 20 ms). What clients of the API ask is read and encoded
    // on blocking threads, so it never holds up the engine's turn.
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

/// How long a detached serve may take to answer on the socket.
const DETACH_WITHIN: Duration = Duration::from_secs(30);
/// How long `drover stop` waits for the instance to end.
const STOP_WITHIN: Duration = Duration::from_secs(60);
/// How often both look.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// Starts `drover serve` in the background, in a session of its own with
/// its output in `.drover/serve.out`, and waits until it answers on the
/// socket; its pid.
pub fn detach(root: &Path, stop_tasks: bool) -> Result<u32, Failure> {
    let root_abs: PathBuf = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let socket = crate::control::socket_path(&root_abs);
    if let Ok(running) = Client::connect(&socket, hello()) {
        return Err(Failure::new(
            EXIT_FAILED,
            format!(
                "an instance runs on this home already (pid {}); `drover stop` stops it",
                running.welcome.pid
            ),
        ));
    }
    super::load_runnable_home(&root_abs)?;
    let cannot =
        |e: std::io::Error| Failure::new(EXIT_FAILED, format!("cannot start drover serve: {e}"));
    let exe = std::env::current_exe().map_err(cannot)?;
    let out_path = state_dir(&root_abs).join("serve.out");
    crate::private::dir(&state_dir(&root_abs)).map_err(cannot)?;
    let out = crate::private::append(&out_path).map_err(cannot)?;
    let mut command = std::process::Command::new(exe);
    command
        .arg("--home")
        .arg(&root_abs)
        .args(["serve", "--detached"])
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().map_err(cannot)?)
        .stderr(out);
    if stop_tasks {
        command.arg("--stop-tasks");
    }
    let mut child = command.spawn().map_err(cannot)?;
    let deadline = Instant::now() + DETACH_WITHIN;
    loop {
        if let Ok(client) = Client::connect(&socket, hello())
            && client.welcome.pid == child.id()
        {
            return Ok(child.id());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let said = std::fs::read_to_string(&out_path).unwrap_or_default();
            let last = said
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            return Err(Failure::new(
                EXIT_FAILED,
                format!(
                    "drover serve did not start ({status}): {}",
                    crate::escape::line(last.trim_start_matches("drover: "))
                ),
            ));
        }
        if Instant::now() > deadline {
            return Err(Failure::new(
                EXIT_FAILED,
                format!(
                    "drover serve (pid {}) did not answer within {} s; see {}",
                    child.id(),
                    DETACH_WITHIN.as_secs(),
                    out_path.display()
                ),
            ));
        }
        std::thread::sleep(LOOK_EVERY);
    }
}

/// `drover stop`: SIGTERM to the home's instance, then waits until it has
/// ended (its running tasks go on, taken up at the next start).
pub fn stop(root: &Path) -> Outcome {
    let socket = crate::control::socket_path(root);
    let Ok(client) = Client::connect(&socket, hello()) else {
        eprintln_safe("drover: no instance runs on this home: nothing to stop");
        return Ok(());
    };
    let pid = client.welcome.pid;
    drop(client);
    let target = nix::unistd::Pid::from_raw(pid as i32);
    nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGTERM)
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot stop drover (pid {pid}): {e}")))?;
    let deadline = Instant::now() + STOP_WITHIN;
    while Path::new(&format!("/proc/{pid}")).exists() {
        if Instant::now() > deadline {
            return Err(Failure::new(
                EXIT_FAILED,
                format!(
                    "drover (pid {pid}) did not stop within {} s",
                    STOP_WITHIN.as_secs()
                ),
            ));
        }
        std::thread::sleep(LOOK_EVERY);
    }
    print(&format!(
        "stopped drover (pid {pid}); its running tasks go on and are taken up at its next start\n"
    ));
    Ok(())
}

fn hello() -> Hello {
    Hello {
        version: crate::api::VERSION,
        client: "cli".into(),
        read_only: true,
    }
}
