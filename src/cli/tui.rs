//! `drover` / `drover tui`: the TUI. With an instance running on the home
//! (`drover serve`, or another screen) it attaches to it over the socket;
//! otherwise it starts the instance (scheduler, workers, socket, watcher)
//! in its own process.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use super::instance::{Instance, describe, open_home_store};
use super::{EXIT_FAILED, EXIT_USAGE, Failure, Outcome, state_dir};
use crate::api::{Client, Hello, Link, Source, Unreached};
use crate::engine::EngineEvent;

pub fn run(root: &Path, read_only: bool) -> Outcome {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            EXIT_USAGE,
            "drover's screen needs a terminal; without one use `drover serve` (the scheduler alone) or `drover list`",
        ));
    }
    let hello = Hello {
        version: crate::api::VERSION,
        client: "tui".into(),
        read_only,
    };
    let socket = crate::control::socket_path(root);
    match super::connect_settled(&socket, hello.clone()) {
        Ok(client) => return attach(root, client, hello),
        Err(Unreached::NoInstance) if read_only => {
            return Err(Failure::new(
                EXIT_FAILED,
                "no instance runs on this home: --read-only attaches to a running one (start it with `drover serve`)",
            ));
        }
        Err(Unreached::NoInstance) => {}
        Err(why) => {
            return Err(Failure::new(
                EXIT_FAILED,
                format!("cannot attach to the instance running on this home: {why}"),
            ));
        }
    }
    let home = super::load_runnable_home(root)?;
    super::require_home(&home)?;
    let store = open_home_store(&home).map_err(|mut f| {
        if f.message.contains("one instance per home") {
            f.message.push_str(
                "; the screen shows only its own instance: stop that one first, or use `drover list`, `runs`, `logs --follow` against it",
            );
        }
        f
    })?;
    let root_abs: PathBuf = std::fs::canonicalize(&home.root).unwrap_or_else(|_| home.root.clone());
    let home_root = root_abs.clone();
    start_log(Some(&state_dir(&root_abs).join("drover.log")));
    log::info!(
        "drover (pid {}) on {}: {} flows",
        std::process::id(),
        root_abs.display(),
        home.flows.len()
    );
    for b in &home.broken {
        for e in &b.errors {
            log::warn!(
                "flow `{}` not loaded: {}",
                b.id,
                crate::escape::line(&e.to_string())
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot start: {e}")))?;
    let outcome = runtime.block_on(async move {
        let mut instance = Instance::start(&home, root_abs.clone(), store, false)?;
        // drover's own log (`L`): notes from the watcher and socket, and
        // failed tries and finished runs.
        let mut notes = std::mem::replace(
            &mut instance.notes,
            tokio::sync::mpsc::unbounded_channel().1,
        );
        let mut events = instance.engine.subscribe();
        let logger = tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(note) = notes.recv() => log::info!("{}", crate::escape::line(&note)),
                    event = events.recv() => match event {
                        Ok(event) => {
                            if let Some(line) = describe(&event) {
                                match event {
                                    EngineEvent::RunChanged { .. } => log::info!("{}", crate::escape::line(&line)),
                                    _ => log::warn!("{}", crate::escape::line(&line)),
                                }
                            }
                        }
                        Err(RecvError::Lagged(n)) => log::info!("({n} events not logged)"),
                        Err(RecvError::Closed) => return,
                    },
                }
            }
        });
        let deps = crate::tui::Deps {
            source: Source::Local(instance.service.clone()),
            home: root_abs,
            theme: home.config.theme.clone(),
            read_only: false,
        };
        let shown = crate::tui::run(deps).await;
        let stop_tasks = shown.as_ref().is_ok_and(|q| q.stop_tasks);
        if stop_tasks {
            eprintln!("drover: stopping running tasks…");
        }
        log::info!("stopping: no new runs or tries; committing state");
        logger.abort();
        let stopped = instance.stop(stop_tasks).await;
        let quit = shown.map_err(|e| Failure::new(EXIT_FAILED, format!("the screen failed: {e}")))?;
        stopped.map(|()| quit.background)
    });
    // A command still writing to a client that stops reading must not keep
    // this process: its thread is left behind.
    runtime.shutdown_timeout(super::instance::LEFT_BEHIND);
    if outcome? {
        // Everything of this instance is let go (the store too): a serve
        // of its own takes over, taking up the running tries.
        let pid = super::serve::detach(&home_root, false).map_err(|mut f| {
            f.message = format!(
                "{}; the schedules wait until drover starts again",
                f.message
            );
            f
        })?;
        super::print(&format!(
            "drover runs on in the background (pid {pid}): `drover` shows it again, `drover stop` stops it\n"
        ));
    }
    Ok(())
}

/// The screen of an instance in another process, until the user quits;
/// the instance runs on.
fn attach(root: &Path, first: Client, hello: Hello) -> Outcome {
    let root_abs: PathBuf = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let socket = crate::control::socket_path(&root_abs);
    let banner = format!(
        "attached to drover (pid {}) on {}",
        first.welcome.pid,
        first.welcome.home.display()
    );
    let read_only = hello.read_only;
    let first = std::sync::Mutex::new(Some(first));
    let dial = move || match first.lock().ok().and_then(|mut f| f.take()) {
        Some(client) => Ok(client),
        None => Client::connect(&socket, hello.clone()).map_err(|why| why.to_string()),
    };
    show(Box::new(dial), &root_abs, read_only, banner)
}

/// The screen of an instance on another machine, reached with `ssh HOST
/// drover api --stdio` (`$DROVER_SSH` replaces `ssh`, with its options;
/// `$DROVER_REMOTE_DROVER` the drover program run there).
pub fn remote(spec: &str, local_home: Option<&Path>, read_only: bool) -> Outcome {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            EXIT_USAGE,
            "drover's screen needs a terminal; for a remote instance's runs use `ssh HOST drover runs FLOW`",
        ));
    }
    let (host, home) = match spec.split_once(':') {
        Some((host, home)) if !home.is_empty() => (host.to_string(), Some(home.to_string())),
        Some((host, _)) => (host.to_string(), None),
        None => (spec.to_string(), None),
    };
    if host.is_empty() || host.starts_with('-') {
        return Err(Failure::new(
            EXIT_USAGE,
            format!(
                "--remote wants [USER@]HOST[:HOME], not `{}`",
                crate::escape::line(spec)
            ),
        ));
    }
    let ssh: Vec<String> = std::env::var("DROVER_SSH")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "ssh".into())
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let drover = std::env::var("DROVER_REMOTE_DROVER").unwrap_or_else(|_| "drover".into());
    let mut there = shell_quote(&drover);
    if let Some(home) = &home {
        there.push_str(&format!(" --home {}", shell_quote(home)));
    }
    there.push_str(" api --stdio");
    let hello = Hello {
        version: crate::api::VERSION,
        client: "tui".into(),
        read_only,
    };
    let (program, options) = ssh
        .split_first()
        .map_or(("ssh".to_string(), Vec::new()), |(p, o)| {
            (p.clone(), o.to_vec())
        });
    let dial = {
        let host = host.clone();
        move || {
            let mut command = std::process::Command::new(&program);
            command.args(&options).args([
                "-T",
                "-o",
                "ServerAliveInterval=15",
                "--",
                &host,
                &there,
            ]);
            Client::spawn(command, hello.clone())
        }
    };
    let local = local_home.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    show(
        Box::new(dial),
        &local,
        read_only,
        format!("attached to drover on {}", crate::escape::line(spec)),
    )
}

/// `text` as one word for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Shows an instance reached through `dial` until the user quits; themes
/// come from `home` (this machine's).
fn show(dial: crate::api::client::Dial, home: &Path, read_only: bool, banner: String) -> Outcome {
    let link = Link::new(dial).map_err(|why| {
        Failure::new(EXIT_FAILED, format!("cannot attach to the instance: {why}"))
    })?;
    // drover's own log (`L`) is the instance's, in its drover.log; this
    // screen's lines (its actions' answers) are kept in memory only.
    start_log(None);
    log::info!("{banner}");
    let theme = crate::home::Home::load(home)
        .map(|h| h.config.theme.clone())
        .unwrap_or_else(|_| "default".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot start: {e}")))?;
    let shown = runtime.block_on(crate::tui::run(crate::tui::Deps {
        source: Source::Remote(Arc::new(link)),
        home: home.to_path_buf(),
        theme,
        read_only,
    }));
    runtime.shutdown_timeout(super::instance::LEFT_BEHIND);
    shown
        .map(|_| ())
        .map_err(|e| Failure::new(EXIT_FAILED, format!("the screen failed: {e}")))
}

/// Sends drover's log lines to the TUI's log view, and to `path`
/// (`.drover/drover.log`) when given.
fn start_log(path: Option<&Path>) {
    if tui_logger::init_logger(log::LevelFilter::Info).is_err() {
        return;
    }
    tui_logger::set_default_level(log::LevelFilter::Info);
    tui_logger::set_buffer_depth(2000);
    let Some(path) = path else { return };
    // Made here, 0600, for tui-logger to append to.
    let _ = crate::private::append(path);
    tui_logger::set_log_file(
        tui_logger::TuiLoggerFile::new(&path.to_string_lossy())
            .output_timestamp(Some("%Y-%m-%dT%H:%M:%S%.3f".to_string()))
            .output_target(false)
            .output_file(false)
            .output_line(false),
    );
}
