//! `drover test FLOW [-p K=V]... [--date DATE]`: one run in the foreground.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;

use super::{
    EXIT_FAILED, EXIT_USAGE, Failure, Outcome, find_flow, human_duration, open_store, print,
};
use crate::api::{Action, Call, Client, Notice};
use crate::engine::{Engine, EngineEvent, EngineHandle};
use crate::flow::{Flow, suggest};
use crate::logs::LogDir;
use crate::store::{Run, RunKind, RunState, TaskInstance, TaskState};

/// Lines of a failed try's log shown at the end.
const TAIL_LINES: usize = 20;

/// Parses `-p K=V` overrides against the flow's declared params.
pub fn parse_params(flow: &Flow, raw: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    let mut params = BTreeMap::new();
    for item in raw {
        let Some((key, value)) = item.split_once('=') else {
            return Err(Failure::new(
                EXIT_USAGE,
                format!("-p {item}: expected KEY=VALUE"),
            ));
        };
        if !flow.params.contains_key(key) {
            let hint = suggest::did_you_mean(key, flow.params.keys().map(String::as_str));
            let declared = if flow.params.is_empty() {
                "it declares none".to_string()
            } else {
                format!(
                    "it declares {}",
                    flow.params.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            return Err(Failure::new(
                EXIT_USAGE,
                format!(
                    "flow `{}` has no param `{key}`{hint}; {declared} under [params]",
                    flow.id
                ),
            ));
        }
        params.insert(key.to_string(), value.to_string());
    }
    Ok(params)
}

pub fn run(root: &Path, flow_id: &str, raw_params: &[String], date: Option<&str>) -> Outcome {
    start(root, flow_id, raw_params, date, RunKind::Test, true, false)
}

/// `drover trigger FLOW [-p K=V]... [--wait]`: a manual run. With a running
/// instance, that instance runs it; without one, it is stored as queued for
/// the next `drover serve` (or, with `--wait`, run here in the foreground).
/// Stdout is the run's id alone (or with `json` the run as JSON), so that
/// `RUN=$(drover trigger FLOW)` needs no parsing; messages go to stderr.
pub fn trigger(
    root: &Path,
    flow_id: &str,
    raw_params: &[String],
    date: Option<&str>,
    test_run: bool,
    wait: bool,
    json: bool,
) -> Outcome {
    let kind = if test_run {
        RunKind::Test
    } else {
        RunKind::Manual
    };
    start(root, flow_id, raw_params, date, kind, wait, json)
}

/// What to print of a run just made, when not waiting for it: its id, or
/// the run as JSON.
fn made(store: &crate::store::Store, flow: &Flow, run: &Run, json: bool) {
    if json {
        let tis = store.task_instances(run).unwrap_or_default();
        print(&super::runs::run_json(run, &tis, flow.timezone));
    } else {
        print(&format!("{}\n", run.id));
    }
}

fn start(
    root: &Path,
    flow_id: &str,
    raw_params: &[String],
    date: Option<&str>,
    kind: RunKind,
    wait: bool,
    json: bool,
) -> Outcome {
    let home = super::load_runnable_home(root)?;
    // A running instance may hold a flow's last good version while its file
    // is broken: that version is the one new runs get. A valid file the
    // instance has not loaded yet (its watcher looks every 400 ms) is
    // handed to it first: whatever `list` shows can be triggered.
    let flow = match (super::remote(), find_flow(&home, flow_id)) {
        (Some(r), Err(failure)) => match r.runtime.block_on(r.engine.flow(flow_id)) {
            Some(flow) => (*flow).clone(),
            None => return Err(failure),
        },
        (Some(r), Ok(found)) => {
            let loaded = r.runtime.block_on(r.engine.flow(flow_id));
            if loaded.is_none_or(|f| f.version != found.version || f.commit != found.commit) {
                r.runtime
                    .block_on(r.engine.reload(vec![found.clone()], Vec::new()));
            }
            found.clone()
        }
        (None, found) => found?.clone(),
    };
    let params = parse_params(&flow, raw_params)?;
    let logical = super::time_arg("--date", date, flow.timezone)?;
    let root_abs = std::fs::canonicalize(&home.root).unwrap_or_else(|_| home.root.clone());
    let logs = LogDir::new(root_abs.join(".drover").join("logs"));

    // In a running instance: its engine makes the run. (A command that
    // waits for it watches from the client, `watch_there`: nothing here
    // holds a thread of the instance for the run's length.)
    if let Some(remote) = super::remote() {
        let run = remote
            .runtime
            .block_on(remote.engine.trigger(&flow.id, kind, logical, params))
            .map_err(|e| Failure::new(EXIT_FAILED, e))?;
        made(&remote.store, &flow, &run, json);
        return Ok(());
    }

    let store = open_store(&home)?;
    let engine = Engine::new(
        root_abs.clone(),
        home.config.clone(),
        home.flows.clone(),
        store.clone(),
    );
    if !wait {
        // Stored as queued: the next `drover serve` runs it.
        let mut engine = engine;
        let run = engine
            .create_run(&flow.id, kind, logical, params)
            .map_err(|e| Failure::new(EXIT_FAILED, e.to_string()))?;
        made(&store, &flow, &run, json);
        super::eprintln_safe(&format!(
            "drover: queued run {} of {}; `drover serve` runs it",
            run.id, flow.id
        ));
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot start: {e}")))?;
    runtime.block_on(async move {
        let engine = engine.stop_tasks_on_exit().with_in_process_tasks();
        let (handle, join) = engine.spawn();
        let mut events = local_notices(&handle);
        let run = handle
            .trigger(&flow.id, kind, logical, params)
            .await
            .map_err(|e| Failure::new(EXIT_FAILED, e))?;
        // Ctrl-C, a closed terminal (SIGHUP) or SIGTERM (`timeout`, a CI
        // cancel) stop the run's tasks: SIGTERM first, SIGKILL on a second
        // signal. None of them is left running.
        let stops = Stops::new()
            .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot watch for signals: {e}")))?;
        // This engine has no other run: it never waits for a slot.
        let how = Watch { json, slot: None };
        let watched = Watched::Here(&handle);
        let outcome = watch(watched, &mut events, &flow, &run, &logs, Some(stops), how).await;
        handle.shutdown().await;
        let _ = join.await;
        outcome
    })
}

/// How a run is watched to its end.
struct Watch {
    /// The transitions to stderr, the run as JSON to stdout at the end.
    json: bool,
    /// `max_active_runs` and the runs running when the run was made, when
    /// it waits for one of them to end.
    slot: Option<(u32, usize)>,
}

/// Prints a run's transitions until it ends, then a summary and the tail of
/// each failed task's log; Ok iff the run succeeded. With `stops`, signals
/// stop the run's tasks. The duration is the run's own (started → ended,
/// as `drover runs` and the TUI show it), not counting time queued.
async fn watch(
    watched: Watched<'_>,
    notices: &mut tokio::sync::mpsc::UnboundedReceiver<Notice>,
    flow: &Flow,
    run: &Run,
    logs: &LogDir,
    mut stops: Option<Stops>,
    how: Watch,
) -> Outcome {
    let say = |text: &str| -> bool {
        if how.json {
            super::eprintln_safe(text.strip_suffix('\n').unwrap_or(text));
            true
        } else {
            print(text)
        }
    };
    let queued_at = Utc::now();
    say(&format!(
        "run {} of {} (ds {})\n",
        run.id,
        flow.id,
        run.logical.with_timezone(&flow.timezone).format("%Y-%m-%d")
    ));
    let mut waiting = how.slot.is_some();
    if let Some((max, running)) = how.slot {
        say(&format!(
            "run {} waits for a run slot (max_active_runs = {max}, {running} running)\n",
            run.id
        ));
    }
    let width = flow
        .tasks
        .iter()
        .map(|t| t.id.chars().count())
        .max()
        .unwrap_or(4);
    let mut signals_seen = 0;
    let mut pending: std::collections::VecDeque<EngineEvent> = std::collections::VecDeque::new();
    let final_state = loop {
        let event = match pending.pop_front() {
            Some(event) => Ok(event),
            None => {
                let notice = tokio::select! {
                    notice = notices.recv() => notice,
                    name = next_stop(&mut stops), if signals_seen < 2 => {
                        signals_seen += 1;
                        let now = signals_seen > 1;
                        say(&if now {
                            format!("{name} again: killing the run's tasks now\n")
                        } else {
                            format!("{name}: stopping the run's tasks (again to kill them at once)\n")
                        });
                        if let Watched::Here(handle) = &watched {
                            handle.stop_run(&flow.id, &run.id, "interrupted", now).await;
                        }
                        continue;
                    }
                };
                match notice {
                    Some(Notice::Events(events)) => {
                        pending.extend(events);
                        continue;
                    }
                    Some(Notice::Resync) => Err(()),
                    Some(Notice::Fetched) => continue,
                    Some(Notice::Gone(why)) => return Err(Failure::new(EXIT_FAILED, why)),
                    None => return Err(Failure::new(EXIT_FAILED, "the engine stopped")),
                }
            }
        };
        match event {
            Ok(EngineEvent::TaskChanged {
                run_id,
                task,
                state,
                try_number,
                reason,
                ..
            }) if run_id == run.id => {
                // While the run waits for a slot, its root tasks only get
                // a note saying so (printed above already).
                if waiting && state == TaskState::Pending {
                    continue;
                }
                if !say(&transition(
                    flow.timezone,
                    &task,
                    width,
                    state,
                    try_number,
                    reason.as_deref(),
                )) {
                    // Whoever watched went away (a client of the socket):
                    // the run goes on without them.
                    return Ok(());
                }
            }
            Ok(EngineEvent::RunChanged { run_id, state, .. })
                if run_id == run.id && state.is_done() =>
            {
                break state;
            }
            Ok(EngineEvent::RunChanged { run_id, state, .. })
                if run_id == run.id && waiting && state == RunState::Running =>
            {
                waiting = false;
                say(&format!(
                    "run {} has a run slot after waiting {}\n",
                    run.id,
                    human_duration(Utc::now() - queued_at)
                ));
            }
            Ok(EngineEvent::Stopped { error }) => return Err(Failure::new(EXIT_FAILED, error)),
            Ok(_) => {}
            // Too much to be told one by one: is the run done?
            Err(()) => {
                if let Some((r, _)) = watched.snapshot(&flow.id, &run.id).await
                    && r.state.is_done()
                {
                    break r.state;
                }
            }
        }
    };
    let snapshot = watched.snapshot(&flow.id, &run.id).await;
    let mut out = String::new();
    if let Some((ended, tis)) = &snapshot {
        let elapsed = super::runs::run_duration(ended).map_or("-".into(), human_duration);
        let mut counts: BTreeMap<TaskState, usize> = BTreeMap::new();
        for ti in tis {
            *counts.entry(ti.state).or_default() += 1;
        }
        let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        out.push_str(&format!(
            "run {} {} {} in {elapsed}: {}\n",
            run.id,
            final_state.glyph(),
            final_state,
            summary.join(", ")
        ));
        for ti in tis
            .iter()
            .filter(|ti| ti.state == TaskState::Failed && ti.tries > 0)
        {
            let files = logs.try_files(&flow.id, &run.id, &ti.task, ti.tries);
            out.push_str(&format!(
                "\n── {} try {} (last lines of {}) ──\n",
                ti.task,
                ti.tries,
                files.log.display()
            ));
            out.push_str(&tail(&files.log, TAIL_LINES));
        }
    }
    if !out.is_empty() {
        say(&out);
    }
    if how.json
        && let Some((ended, tis)) = &snapshot
    {
        print(&super::runs::run_json(ended, tis, flow.timezone));
    }
    if final_state == RunState::Success {
        Ok(())
    } else {
        Err(Failure::new(EXIT_FAILED, String::new()))
    }
}

/// The engine's events in this process, as an API client hears them.
fn local_notices(engine: &EngineHandle) -> tokio::sync::mpsc::UnboundedReceiver<Notice> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(crate::api::forward_local(engine.subscribe(), tx));
    rx
}

/// The engine a watched run is in: this process's, or the instance's
/// that a client talks to.
enum Watched<'a> {
    Here(&'a EngineHandle),
    There(&'a Client),
}

impl Watched<'_> {
    /// The run with its task instances, as committed now.
    async fn snapshot(&self, flow: &str, run_id: &str) -> Option<(Run, Vec<TaskInstance>)> {
        match self {
            Watched::Here(handle) => handle.snapshot(flow, run_id).await,
            Watched::There(client) => {
                let run: Run = client
                    .ask::<Option<Run>>(Call::Run {
                        flow: flow.into(),
                        run: run_id.into(),
                    })
                    .await
                    .ok()??;
                let mut tis: Vec<Vec<TaskInstance>> = client
                    .ask(Call::TaskInstances {
                        flow: flow.into(),
                        runs: vec![run_id.into()],
                    })
                    .await
                    .ok()?;
                Some((run, tis.pop().unwrap_or_default()))
            }
        }
    }
}

/// `trigger --wait` and `test` with an instance running: it makes the run
/// (`action`), and its transitions are watched from here; Ok iff the run
/// succeeded. With `json` the run is printed as JSON at the end.
pub fn watch_there(client: &Client, action: Action, flow_id: &str, json: bool) -> Outcome {
    let unanswered = super::client::unanswered;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot start: {e}")))?;
    runtime.block_on(async {
        // Listening before the run is made: none of its changes is missed.
        client
            .ask::<bool>(Call::Subscribe)
            .await
            .map_err(unanswered)?;
        let mut notices = client
            .notices()
            .ok_or_else(|| Failure::new(EXIT_FAILED, "the instance's events are taken"))?;
        let answer: crate::control::Answer =
            client.ask(Call::Act(action)).await.map_err(unanswered)?;
        if answer.code != 0 {
            return super::client::printed(answer);
        }
        let run_id = answer.out.trim().to_string();
        let run = client
            .ask::<Option<Run>>(Call::Run {
                flow: flow_id.into(),
                run: run_id.clone(),
            })
            .await
            .map_err(unanswered)?
            .ok_or_else(|| Failure::new(EXIT_FAILED, format!("run {run_id} is gone")))?;
        let flow = instance_flow(client, flow_id).await?;
        // Made queued: it waits for one of the flow's running runs to end.
        let slot = if run.state == RunState::Queued {
            let running: usize = client
                .ask(Call::RunningRuns {
                    flow: flow_id.into(),
                })
                .await
                .map_err(unanswered)?;
            Some((flow.max_active_runs, running))
        } else {
            None
        };
        let logs = LogDir::new(client.home().join(".drover").join("logs"));
        let how = Watch { json, slot };
        watch(
            Watched::There(client),
            &mut notices,
            &flow,
            &run,
            &logs,
            None,
            how,
        )
        .await
    })
}

/// The version of a flow new runs get in the instance.
async fn instance_flow(client: &Client, flow_id: &str) -> Result<Flow, Failure> {
    let status: crate::api::Status = client
        .ask(Call::Status)
        .await
        .map_err(super::client::unanswered)?;
    let flows = crate::api::client::read_flows(&status);
    flows
        .into_iter()
        .find(|f| f.id == flow_id)
        .map(|f| (*f).clone())
        .ok_or_else(|| {
            let ids: Vec<&str> = status.flows.iter().map(|f| f.id.as_str()).collect();
            let hint = suggest::did_you_mean(flow_id, ids.iter().copied());
            Failure::new(
                super::EXIT_NOT_FOUND,
                format!("no flow `{flow_id}` in the running instance{hint}"),
            )
        })
}

/// The next stop signal, or never when not listening for any.
async fn next_stop(stops: &mut Option<Stops>) -> &'static str {
    match stops {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// SIGINT, SIGTERM and SIGHUP, as one stream of signal names.
struct Stops {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Stops {
    fn new() -> std::io::Result<Stops> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Stops {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "interrupted",
            _ = self.term.recv() => "terminated",
            _ = self.hup.recv() => "hung up",
        }
    }
}

fn transition(
    tz: chrono_tz::Tz,
    task: &str,
    width: usize,
    state: TaskState,
    try_number: u32,
    reason: Option<&str>,
) -> String {
    // In the flow's timezone, like every other time drover shows of it.
    let time = Utc::now().with_timezone(&tz).format("%H:%M:%S%.3f");
    let detail = match (state, reason) {
        (TaskState::Running, _) => format!(" (try {try_number})"),
        (TaskState::UpForRetry, Some(r)) => format!(" (try {try_number}: {r})"),
        (_, Some(r)) => format!(" ({r})"),
        _ => String::new(),
    };
    format!(
        "{time}  {} {task:<width$}  {state}{detail}\n",
        state.glyph()
    )
}

/// The last `n` lines of a log, read from its last 64 KiB only (a flooded
/// log is not loaded whole), each cut to 300 characters.
fn tail(path: &Path, n: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    const WINDOW: u64 = 64 * 1024;
    const WIDTH: usize = 300;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return "(no output)\n".into(),
        Err(e) => return format!("(cannot read the log: {})\n", crate::home::describe(&e)),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::new();
    let read = file
        .seek(SeekFrom::Start(len.saturating_sub(WINDOW)))
        .and_then(|_| file.take(WINDOW).read_to_end(&mut bytes));
    if let Err(e) = read {
        return format!("(cannot read the log: {})\n", crate::home::describe(&e));
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for line in &lines[lines.len().saturating_sub(n)..] {
        match line.char_indices().nth(WIDTH) {
            Some((cut, _)) => {
                out.push_str(&line[..cut]);
                out.push_str(" …");
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    if out.is_empty() {
        "(no output)\n".into()
    } else {
        out
    }
}
