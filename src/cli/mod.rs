//! The command line: argument parsing and one module per command. Commands
//! load the home, call the rooms, and print; they return an exit status.

mod api;
mod backfill;
mod clear;
mod client;
mod instance;
mod list;
mod logs;
mod next;
mod runs;
mod serve;
mod sync;
mod test;
mod tui;
mod validate;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::home::{Home, Lookup};

/// Exit statuses (SPEC §5).
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_NOT_FOUND: u8 = 3;

/// A command that did not succeed: what to tell the user and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

pub type Outcome = Result<(), Failure>;

#[derive(Parser, Debug)]
#[command(
    name = "drover",
    version,
    about = "A workflow orchestrator that lives in a terminal"
)]
pub struct Cli {
    /// The drover home (folder with drover.toml and flows/); default: $DROVER_HOME, else the current folder.
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// The screen attaches to the home's running instance without actions
    /// (to watch: trigger, clear, mark, kill and pause are refused).
    #[arg(long, global = true)]
    pub read_only: bool,

    /// The screen of an instance on another machine, over ssh: [USER@]HOST[:HOME].
    #[arg(long, value_name = "[USER@]HOST[:HOME]")]
    pub remote: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// The TUI with the scheduler and workers in one process (the default).
    Tui,
    /// Check flow files (and drover.toml); errors as path:line:col: message.
    Validate {
        /// A flow file, drover.toml, a folder of flow files, or a home (default: the home).
        path: Option<PathBuf>,
    },
    /// Flows with their schedule, next run and state.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The next fire times of a flow, one RFC 3339 timestamp a line, in its timezone.
    Next {
        flow: String,
        /// How many fire times.
        #[arg(short = 'n', default_value_t = 5, value_name = "N")]
        count: usize,
        /// Start after this time (RFC 3339, or a date / local time in the flow's timezone); default: now.
        #[arg(long, value_name = "TIME")]
        after: Option<String>,
    },
    /// Run one run of a flow in the foreground, printing task transitions; exit 0 iff it succeeded.
    Test {
        flow: String,
        /// Override a param: -p epochs=20 (repeatable).
        #[arg(short = 'p', long = "param", value_name = "K=V")]
        params: Vec<String>,
        /// The run's logical date (a date or RFC 3339 time); default: now.
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
    },
    /// Supervises one try (started by drover itself).
    #[command(hide = true)]
    Shim {
        #[arg(long)]
        files: PathBuf,
        #[arg(long)]
        timeout_ms: Option<u64>,
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
    /// Runs for every fire time of a flow between two dates (queued, at most
    /// max_active_runs at a time).
    Backfill {
        flow: String,
        #[arg(long, value_name = "DATE")]
        from: String,
        #[arg(long, value_name = "DATE")]
        to: String,
    },
    /// Stop a task's running try (SIGTERM, SIGKILL 10 s later); it fails without retry.
    Kill {
        flow: String,
        run: String,
        task: String,
    },
    /// Stop creating scheduled runs of a flow (runs in progress go on).
    Pause { flow: String },
    /// Create scheduled runs of a flow again.
    Unpause { flow: String },
    /// The scheduler and workers without a screen (for tmux or systemd).
    Serve {
        /// On SIGTERM/SIGINT, stop running tasks too (by default they are left running).
        #[arg(long)]
        stop_tasks: bool,
        /// Run in the background (its own session, no terminal); returns
        /// once it answers on the socket. `drover stop` stops it.
        #[arg(long)]
        detach: bool,
        /// This serve was started by `--detach`: leave the terminal's session.
        #[arg(long, hide = true)]
        detached: bool,
    },
    /// Stop the instance running on the home (running tasks go on and are
    /// taken up at its next start).
    Stop,
    /// Start a manual run (by a running instance; else queued for `drover serve`).
    Trigger {
        flow: String,
        /// Override a param: -p epochs=20 (repeatable).
        #[arg(short = 'p', long = "param", value_name = "K=V")]
        params: Vec<String>,
        /// Wait for the run to end, printing its transitions; exit 0 iff it succeeded.
        #[arg(long)]
        wait: bool,
        /// Print the run as JSON (one entry of `runs --json`) instead of its
        /// id; with --wait, once it has ended (the transitions go to stderr).
        #[arg(long)]
        json: bool,
        /// The run's logical date (a date or RFC 3339 time); default: now.
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
        /// The run is a test run (what `drover test` starts in an instance).
        #[arg(long, hide = true)]
        test_run: bool,
    },
    /// A flow's runs, newest first.
    Runs {
        flow: String,
        /// How many runs.
        #[arg(short = 'n', default_value_t = 20, value_name = "N")]
        count: usize,
        #[arg(long)]
        json: bool,
    },
    /// The task instances of a run (RUN is a run id or `latest`).
    Tasks {
        flow: String,
        run: String,
        #[arg(long)]
        json: bool,
    },
    /// A task try's log.
    Logs {
        flow: String,
        run: String,
        task: String,
        /// Which try (default: the latest).
        #[arg(long = "try", value_name = "N")]
        try_number: Option<u32>,
        /// Keep printing new output until the try ends.
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// Reset task instances to pending so they run again (all tasks of the run when none are named).
    Clear {
        flow: String,
        run: String,
        tasks: Vec<String>,
        /// Also clear every task downstream of those named.
        #[arg(long)]
        downstream: bool,
        /// Also clear every task upstream of those named.
        #[arg(long)]
        upstream: bool,
        /// Only clear those that failed (failed or upstream_failed).
        #[arg(long)]
        failed_only: bool,
        /// Say what would be reset, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Fetch the [git] branch now and deploy its flow files.
    Sync,
    /// Speaks the instance API on stdin and stdout, for a screen on another
    /// machine (`drover --remote HOST` runs `ssh HOST drover api --stdio`).
    Api {
        /// Relay stdin and stdout to the home's running instance.
        #[arg(long)]
        stdio: bool,
    },
    /// Set a task instance's state by hand.
    Mark {
        flow: String,
        run: String,
        task: String,
        #[arg(value_parser = ["success", "failed"])]
        state: String,
    },
}

/// Runs a parsed command line and returns the process exit status. When an
/// instance runs on the home, commands that use the store ask it through
/// the instance API (see `client`).
pub fn run(cli: Cli) -> u8 {
    let from_env = std::env::var_os("DROVER_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let root = cli
        .home
        .clone()
        .or(from_env)
        .unwrap_or_else(|| PathBuf::from("."));
    if let Some(command) = cli.command.as_ref().filter(|c| c.uses_instance()) {
        let hello = crate::api::Hello {
            version: crate::api::VERSION,
            client: "cli".into(),
            read_only: false,
        };
        match connect_settled(&crate::control::socket_path(&root), hello) {
            Ok(client) => return client::run(&client, command.clone()),
            // No instance: the command runs here, on the home's store.
            Err(crate::api::Unreached::NoInstance) => {}
            Err(why) => {
                let who = crate::store::holder(&state_dir(&root).join("store"))
                    .map(|(pid, command)| format!(" (pid {pid}: {command})"))
                    .unwrap_or_default();
                eprintln_safe(&format!("drover: the running instance{who}: {why}"));
                return EXIT_FAILED;
            }
        }
    }
    if let Some(remote) = &cli.remote {
        if cli
            .command
            .as_ref()
            .is_some_and(|c| !matches!(c, Command::Tui))
        {
            eprintln_safe(
                "drover: --remote opens the screen of a remote instance; for its commands run them there (`ssh HOST drover runs FLOW`)",
            );
            return EXIT_USAGE;
        }
        return finish(tui::remote(remote, cli.home.as_deref(), cli.read_only));
    }
    dispatch(&root, cli.command, cli.read_only)
}

impl Command {
    /// Whether the command changes task or flow state, and so must run in
    /// turn with a running instance's engine.
    fn changes_state(&self) -> bool {
        matches!(
            self,
            Command::Clear { .. }
                | Command::Mark { .. }
                | Command::Pause { .. }
                | Command::Unpause { .. }
        )
    }

    /// Whether the command works on the store, and so goes to a running
    /// instance when there is one.
    fn uses_instance(&self) -> bool {
        !matches!(
            self,
            Command::Validate { .. }
                | Command::Tui
                | Command::Api { .. }
                | Command::Next { .. }
                | Command::Serve { .. }
                | Command::Stop
                | Command::Shim { .. }
        )
    }
}

/// How long a command waits for an instance whose socket is there but not
/// listening yet (it is starting), before taking it for a stale one.
const STARTING_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Connects to the home's instance, if one runs. A socket file nothing
/// listens on is either an instance starting (the file comes a moment
/// before it listens) or one that died: while another process holds the
/// store, the first is waited for, briefly. A connection closed before the
/// instance answered (dropped in a flood of new ones) is tried again.
pub(crate) fn connect_settled(
    socket: &std::path::Path,
    hello: crate::api::Hello,
) -> Result<crate::api::Client, crate::api::Unreached> {
    use crate::api::Unreached;
    let deadline = std::time::Instant::now() + STARTING_WITHIN;
    loop {
        let held = || {
            socket
                .parent()
                .and_then(|d| crate::store::holder(&d.join("store")))
                .is_some()
        };
        match crate::api::Client::connect(socket, hello.clone()) {
            Err(Unreached::NoInstance)
                if socket.exists() && std::time::Instant::now() < deadline && held() =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(Unreached::Closed) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Runs a command here and returns its exit status.
fn dispatch(root: &std::path::Path, command: Option<Command>, read_only: bool) -> u8 {
    let root = root.to_path_buf();
    let outcome = match command {
        None | Some(Command::Tui) => tui::run(&root, read_only),
        Some(Command::Validate { path }) => validate::run(&root, path.as_deref()),
        Some(Command::List { json }) => list::run(&root, json),
        Some(Command::Next { flow, count, after }) => {
            next::run(&root, &flow, count, after.as_deref())
        }
        Some(Command::Test { flow, params, date }) => {
            test::run(&root, &flow, &params, date.as_deref())
        }
        Some(Command::Runs { flow, count, json }) => runs::runs(&root, &flow, count, json),
        Some(Command::Trigger {
            flow,
            params,
            wait,
            json,
            date,
            test_run,
        }) => test::trigger(&root, &flow, &params, date.as_deref(), test_run, wait, json),
        Some(Command::Serve {
            stop_tasks,
            detach: true,
            ..
        }) => serve::detach(&root, stop_tasks).map(|pid| {
            print(&format!(
                "drover serve runs in the background (pid {pid}); `drover` shows it, `drover stop` stops it\n"
            ));
        }),
        Some(Command::Serve {
            stop_tasks,
            detached,
            ..
        }) => serve::run(&root, stop_tasks, detached),
        Some(Command::Stop) => serve::stop(&root),
        Some(Command::Shim {
            files,
            timeout_ms,
            argv,
        }) => {
            return crate::engine::shim::run(
                &files,
                timeout_ms.map(std::time::Duration::from_millis),
                &argv,
            );
        }
        Some(Command::Backfill { flow, from, to }) => backfill::backfill(&root, &flow, &from, &to),
        Some(Command::Sync) => sync::run(&root),
        Some(Command::Api { stdio }) => api::stdio(&root, stdio),
        Some(Command::Kill { flow, run, task }) => backfill::kill(&root, &flow, &run, &task),
        Some(Command::Pause { flow }) => clear::pause(&root, &flow, true),
        Some(Command::Unpause { flow }) => clear::pause(&root, &flow, false),
        Some(Command::Tasks { flow, run, json }) => runs::tasks(&root, &flow, &run, json),
        Some(Command::Logs {
            flow,
            run,
            task,
            try_number,
            follow,
        }) => logs::run(
            &root,
            &crate::api::LogQuery {
                flow,
                run,
                task,
                try_number,
                follow,
            },
        ),
        Some(Command::Clear {
            flow,
            run,
            tasks,
            downstream,
            upstream,
            failed_only,
            dry_run,
        }) => {
            let query = crate::api::ClearQuery {
                flow,
                run,
                tasks,
                downstream,
                upstream,
                failed_only,
            };
            clear::clear(&root, &query, dry_run)
        }
        Some(Command::Mark {
            flow,
            run,
            task,
            state,
        }) => clear::mark(&root, &flow, &run, &task, &state),
    };
    finish(outcome)
}

/// The exit status of a command's outcome, its failure printed.
fn finish(outcome: Outcome) -> u8 {
    match outcome {
        Ok(()) => 0,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln_safe(&format!("drover: {}", f.message));
            }
            f.code
        }
    }
}

/// The home, for a command that runs tasks: a drover.toml with errors
/// (wrong parallelism, missing pools) would mislead, so it is refused;
/// `list` and the read-only commands still work with one.
fn load_runnable_home(root: &std::path::Path) -> Result<Home, Failure> {
    let home = load_home(root)?;
    require_home(&home)?;
    if !home.errors.is_empty() {
        let lines: Vec<String> = home.errors.iter().map(ToString::to_string).collect();
        return Err(Failure::new(
            EXIT_FAILED,
            format!("fix these first:\n{}", lines.join("\n")),
        ));
    }
    Ok(home)
}

fn load_home(root: &std::path::Path) -> Result<Home, Failure> {
    if let Some(home) = remote().and_then(|r| r.home) {
        return Ok((*home).clone());
    }
    Home::load(root).map_err(|e| Failure::new(EXIT_FAILED, e))
}

/// A failure unless `home` is a home at all: a command run in the wrong
/// folder says so instead of reporting an empty home.
fn require_home(home: &Home) -> Result<(), Failure> {
    if home.is_home {
        return Ok(());
    }
    let shown = if home.root == std::path::Path::new(".") {
        "the current folder".to_string()
    } else {
        home.root.display().to_string()
    };
    Err(Failure::new(
        EXIT_FAILED,
        format!(
            "{shown} is not a drover home: it has no flows/ folder and no drover.toml; use --home DIR or set DROVER_HOME"
        ),
    ))
}

/// The valid flow `id`, or the failure to report: unknown (exit 3, with a
/// suggestion) or broken (exit 1, with its errors).
fn find_flow<'h>(home: &'h Home, id: &str) -> Result<&'h crate::flow::Flow, Failure> {
    match home.lookup(id) {
        Lookup::Found(flow) => Ok(flow),
        Lookup::Broken(b) => {
            let lines: Vec<String> = b.errors.iter().map(ToString::to_string).collect();
            Err(Failure::new(
                EXIT_FAILED,
                format!("flow `{id}` does not validate:\n{}", lines.join("\n")),
            ))
        }
        Lookup::Missing => Err(no_such_flow(home, id)),
    }
}

/// Exit 3 for a flow id the home does not have, with a suggestion.
fn no_such_flow(home: &Home, id: &str) -> Failure {
    let hint = crate::flow::suggest::did_you_mean(id, home.flow_ids());
    Failure::new(
        EXIT_NOT_FOUND,
        format!("no flow `{id}` in {}{hint}", home.flows_dir().display()),
    )
}

/// A time given on the command line (`--after`, `--date`): RFC 3339, or a
/// date or local time in `tz`. A bad one is a usage error naming the flag.
fn time_arg(
    flag: &str,
    text: Option<&str>,
    tz: chrono_tz::Tz,
) -> Result<chrono::DateTime<chrono::Utc>, Failure> {
    let Some(text) = text else {
        return Ok(chrono::Utc::now());
    };
    crate::flow::parse_time(text, tz).ok_or_else(|| {
        Failure::new(
            EXIT_USAGE,
            format!(
                "{flag} \"{text}\" is not a date (2026-01-01), a local time in the flow's timezone (2026-01-01T03:00) or an RFC 3339 time (2026-01-01T03:00:00Z)"
            ),
        )
    })
}

/// What a command run inside the instance (for a client of its API) uses
/// instead of its own: the instance's store and engine, and a memory sink
/// for what it prints.
#[derive(Clone)]
pub struct Remote {
    pub store: crate::store::Store,
    pub engine: crate::engine::EngineHandle,
    pub runtime: tokio::runtime::Handle,
    pub sink: crate::control::Sink,
    /// The home as read before a command that runs inside the engine, so
    /// no file is read in the engine's turn.
    pub home: Option<Arc<Home>>,
}

thread_local! {
    /// Set while a command runs for a client.
    static REMOTE: std::cell::RefCell<Option<Remote>> = const { std::cell::RefCell::new(None) };
    /// What a command changed in a running instance's store, for the
    /// engine to take up again.
    static CHANGED: std::cell::RefCell<Option<crate::engine::Changed>> = const { std::cell::RefCell::new(None) };
}

fn remote() -> Option<Remote> {
    REMOTE.with(|r| r.borrow().clone())
}

/// Runs `f` as a command run inside the instance `remote` is of.
fn inside<T>(remote: Remote, f: impl FnOnce() -> T) -> T {
    REMOTE.with(|r| *r.borrow_mut() = Some(remote));
    let out = f();
    REMOTE.with(|r| *r.borrow_mut() = None);
    out
}

/// Runs a client's command line in this instance (on a blocking thread),
/// sending its output and exit status to `remote.sink`. Only the commands
/// meant for a client run here (not `serve`, `tui`, `shim`...).
///
/// A command that changes state runs inside the engine, in turn with its
/// own changes; so that it holds up the engine as little as it can, the
/// home's files are read before (here), and its output is kept in memory
/// while it runs and sent to the client only after: a client that stops
/// reading never stops the engine.
pub fn run_for_client(args: Vec<String>, remote: Remote) {
    let sink = remote.sink.clone();
    let cli = match Cli::try_parse_from(std::iter::once("drover".to_string()).chain(args)) {
        Ok(cli) => cli,
        Err(e) => {
            sink.err(e.render().to_string().as_bytes());
            sink.exit(EXIT_USAGE);
            return;
        }
    };
    let Some(command) = cli.command.filter(Command::uses_instance) else {
        sink.err(b"drover: only commands that use the store (list, runs, tasks, logs, trigger, test, clear, mark, kill, pause, unpause, backfill, sync) run inside the instance\n");
        sink.exit(EXIT_USAGE);
        return;
    };
    let root = remote.store.home().to_path_buf();
    let run_here = move |command: Command, remote: Remote| {
        inside(remote, || dispatch(&root, Some(command), false))
    };
    if !command.changes_state() {
        let code = run_here(command, remote);
        sink.exit(code);
        return;
    }
    let home = match load_home(remote.store.home()) {
        Ok(home) => Arc::new(home),
        Err(f) => {
            sink.err(crate::escape::controls(&format!("drover: {}\n", f.message)).as_bytes());
            sink.exit(f.code);
            return;
        }
    };
    let memory = crate::control::Sink::memory();
    let inside = Remote {
        sink: memory.clone(),
        home: Some(home),
        ..remote.clone()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let applied = remote
        .runtime
        .block_on(remote.engine.apply(Box::new(move |_store| {
            let _ = tx.send(run_here(command, inside));
            CHANGED.with(|c| c.borrow_mut().take())
        })));
    // Refused (the command never ran), or run but not recorded yet.
    let code = rx.recv().unwrap_or(EXIT_FAILED);
    let said = memory.answer();
    if sink.out(said.out.as_bytes()) {
        sink.err(said.err.as_bytes());
    }
    let code = match applied {
        Ok(()) => code,
        Err(why) => {
            sink.err(crate::escape::controls(&format!("drover: {why}\n")).as_bytes());
            EXIT_FAILED
        }
    };
    sink.exit(code);
}

/// Notes that this command changed a run, for a running instance's engine
/// to take up again once the command is done.
fn notify_changed(flow: &str, run_id: &str) {
    if remote().is_some() {
        CHANGED.with(|c| {
            *c.borrow_mut() = Some(crate::engine::Changed::Run {
                flow: flow.to_string(),
                run_id: run_id.to_string(),
            });
        });
    }
}

/// Notes that this command changed a flow's stored state (pause), for a
/// running instance's engine to tell its listeners.
fn notify_flow_changed(flow: &str) {
    if remote().is_some() {
        CHANGED.with(|c| *c.borrow_mut() = Some(crate::engine::Changed::Flow(flow.to_string())));
    }
}

/// The store of a home, opened for this command (or the running instance's).
fn open_store(home: &Home) -> Result<crate::store::Store, Failure> {
    if let Some(r) = remote() {
        return Ok(r.store);
    }
    crate::store::Store::open(&state_dir(&home.root).join("store"))
        .map_err(|e| Failure::new(EXIT_FAILED, e.to_string()))
}

/// The store for a command that only reads, in a drover home: the running
/// instance's, else the home's own. None when the home has no store yet
/// (nothing has run there): a command that reads makes none.
fn read_store(home: &Home) -> Result<Option<crate::store::Store>, Failure> {
    require_home(home)?;
    if let Some(r) = remote() {
        return Ok(Some(r.store));
    }
    if !state_dir(&home.root).join("store").exists() {
        return Ok(None);
    }
    open_store(home).map(Some)
}

/// Exit 3: a flow without runs (for `latest`, or a home with no store yet).
fn no_runs(flow: &str) -> Failure {
    Failure::new(EXIT_NOT_FOUND, format!("flow `{flow}` has no runs yet"))
}

/// The version of its flow a run was made from, as kept in the store
/// (None for a run made before versions were kept, or a text that no
/// longer parses).
fn run_flow(
    home: &Home,
    store: &crate::store::Store,
    run: &crate::store::Run,
) -> Option<crate::flow::Flow> {
    let version = run.flow_version.as_deref()?;
    if let Lookup::Found(f) = home.lookup(&run.flow)
        && f.version == version
    {
        return Some(f.clone());
    }
    let text = store.flow_version(&run.flow, version).ok()??;
    let path = home.flows_dir().join(format!("{}.toml", run.flow));
    crate::flow::parse_flow(&run.flow, &path, &text, &home.config).ok()
}

/// Makes a command's changes durable: in a running instance its engine
/// commits them, in turn with its own (and says when it cannot); else the
/// store is flushed here.
fn make_durable(store: &crate::store::Store) -> Result<(), Failure> {
    if remote().is_some() {
        return Ok(());
    }
    store.flush().map_err(|e| {
        Failure::new(
            EXIT_FAILED,
            format!("nothing changed: {e}; free space and try again"),
        )
    })
}

/// `.drover` inside the home.
fn state_dir(root: &std::path::Path) -> PathBuf {
    root.join(".drover")
}

/// A flow's run by id, or for `latest` the run created last.
fn find_run(
    store: &crate::store::Store,
    flow: &str,
    run: &str,
) -> Result<crate::store::Run, Failure> {
    let found = if run == "latest" {
        store.newest_run(flow)
    } else {
        store.run(flow, run)
    };
    match found.map_err(|e| Failure::new(EXIT_FAILED, e.to_string()))? {
        Some(r) => Ok(r),
        None if run == "latest" => Err(no_runs(flow)),
        None => {
            let recent: Vec<String> = store
                .latest_runs(flow, 3)
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.id)
                .collect();
            let hint = if recent.is_empty() {
                " (it has no runs yet)".to_string()
            } else {
                format!("; latest runs: {}", recent.join(", "))
            };
            Err(Failure::new(
                EXIT_NOT_FOUND,
                format!("flow `{flow}` has no run `{run}`{hint}"),
            ))
        }
    }
}

/// A duration for people: `850ms`, `4.2s`, `3m 05s`, `2h 10m`, `3d 4h`.
pub fn human_duration(d: chrono::Duration) -> String {
    crate::flow::duration::human(d)
}

/// Pads cells into aligned columns, two spaces apart, trimming line ends.
pub fn columns(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.chars().count();
            if widths.len() <= i {
                widths.push(w);
            } else {
                widths[i] = widths[i].max(w);
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Writes to stdout; a closed pipe (`drover list | head`) is not an error.
/// Returns false when the text could not be written.
/// Control characters in it are shown escaped (`\u{1b}`): what drover
/// prints may hold strings from flow files, params and tasks.
pub fn print(text: &str) -> bool {
    print_bytes_ok(crate::escape::controls(text).as_bytes())
}

fn print_bytes_ok(bytes: &[u8]) -> bool {
    if let Some(r) = remote() {
        return r.sink.out(bytes);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).is_ok()
}

/// Standard output, or the client's when the command runs for one.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if print_bytes_ok(buf) {
            Ok(buf.len())
        } else {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes raw bytes (a log need not be UTF-8) to stdout.
pub fn print_bytes(bytes: &[u8]) {
    print_bytes_ok(bytes);
}

/// Writes a line to stderr (the client's, for a command run for one), with
/// control characters shown escaped.
pub fn eprintln_safe(text: &str) {
    let text = crate::escape::controls(text);
    if let Some(r) = remote() {
        r.sink.err(format!("{text}\n").as_bytes());
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}
