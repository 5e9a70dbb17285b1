//! `drover runs FLOW` and `drover tasks FLOW RUN`: what ran and how it went.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{Failure, Outcome, columns, find_run, human_duration, load_home, print, read_store};
use crate::home::{Home, Lookup};
use crate::store::{Run, Store, TaskInstance, TaskState, Try};

/// A flow id that has a definition or at least stored runs; its timezone.
fn flow_zone(home: &Home, store: Option<&Store>, id: &str) -> Result<Tz, Failure> {
    match home.lookup(id) {
        Lookup::Found(f) => Ok(f.timezone),
        // A broken flow's runs, or a removed one's, are still worth showing.
        Lookup::Broken(_) => Ok(home.config.timezone),
        Lookup::Missing if store.is_some_and(|s| s.run_count(id) > 0) => Ok(home.config.timezone),
        Lookup::Missing => Err(super::no_such_flow(home, id)),
    }
}

fn rfc3339(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Millis, false)
}

fn short_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// One run in `runs --json`.
#[derive(Serialize)]
struct RunRow<'a> {
    id: &'a str,
    flow: &'a str,
    kind: &'static str,
    state: &'static str,
    logical: String,
    created: String,
    started: Option<String>,
    ended: Option<String>,
    duration_s: Option<f64>,
    params: &'a BTreeMap<String, String>,
    /// The git commit the run's flow file came from; null without [git].
    commit: Option<&'a str>,
    /// Count of task instances in each state.
    tasks: BTreeMap<&'static str, usize>,
}

/// A run's duration, the one definition every command and the TUI use:
/// from its start (not its creation: time queued behind `max_active_runs`
/// does not count) to its end, or to now while it runs.
pub fn run_duration(run: &Run) -> Option<chrono::Duration> {
    let start = run.started?;
    Some(run.ended.unwrap_or_else(Utc::now) - start)
}

fn state_counts(tis: &[TaskInstance]) -> BTreeMap<TaskState, usize> {
    let mut counts = BTreeMap::new();
    for ti in tis {
        *counts.entry(ti.state).or_default() += 1;
    }
    counts
}

fn run_row<'a>(run: &'a Run, tis: &[TaskInstance], tz: Tz) -> RunRow<'a> {
    RunRow {
        id: &run.id,
        flow: &run.flow,
        kind: run.kind.name(),
        state: run.state.name(),
        logical: rfc3339(run.logical, tz),
        created: rfc3339(run.created, tz),
        started: run.started.map(|t| rfc3339(t, tz)),
        ended: run.ended.map(|t| rfc3339(t, tz)),
        duration_s: run_duration(run).map(|d| d.num_milliseconds() as f64 / 1000.0),
        params: &run.params,
        commit: run.commit.as_deref(),
        tasks: state_counts(tis)
            .into_iter()
            .map(|(s, n)| (s.name(), n))
            .collect(),
    }
}

/// One run as JSON, the shape of one entry of `runs --json`.
pub fn run_json(run: &Run, tis: &[TaskInstance], tz: Tz) -> String {
    serde_json::to_string_pretty(&run_row(run, tis, tz)).unwrap_or_default() + "\n"
}

pub fn runs(root: &Path, flow: &str, count: usize, json: bool) -> Outcome {
    let home = load_home(root)?;
    let store = read_store(&home)?;
    let tz = flow_zone(&home, store.as_ref(), flow)?;
    let err = |e: crate::store::StoreError| Failure::new(super::EXIT_FAILED, e.to_string());
    let runs = match &store {
        Some(store) => store.latest_runs(flow, count).map_err(err)?,
        None => Vec::new(),
    };
    let mut with_tis = Vec::with_capacity(runs.len());
    if let Some(store) = &store {
        for run in runs {
            let tis = store.task_instances(&run).map_err(err)?;
            with_tis.push((run, tis));
        }
    }
    if json {
        let rows: Vec<RunRow<'_>> = with_tis
            .iter()
            .map(|(run, tis)| run_row(run, tis, tz))
            .collect();
        print(&(serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"));
        return Ok(());
    }
    if with_tis.is_empty() && count > 0 {
        print(&format!(
            "flow `{flow}` has no runs yet; start one with `drover test {flow}`\n"
        ));
        return Ok(());
    }
    let mut rows = vec![vec![
        "RUN".to_string(),
        "STATE".into(),
        "LOGICAL DATE".into(),
        "STARTED".into(),
        "DURATION".into(),
        "TASKS".into(),
    ]];
    for (run, tis) in &with_tis {
        let tasks: Vec<String> = state_counts(tis)
            .iter()
            .map(|(s, n)| format!("{n}{}", s.glyph()))
            .collect();
        rows.push(vec![
            run.id.clone(),
            format!("{} {}", run.state.glyph(), run.state),
            short_time(run.logical, tz),
            run.started.map_or("-".into(), |t| short_time(t, tz)),
            run_duration(run).map_or("-".into(), human_duration),
            tasks.join(" "),
        ]);
    }
    print(&columns(&rows));
    Ok(())
}

/// One task instance in `tasks --json`.
#[derive(Serialize)]
struct TaskRow<'a> {
    task: &'a str,
    state: &'static str,
    #[serde(rename = "try")]
    try_number: u32,
    max_tries: u32,
    started: Option<String>,
    ended: Option<String>,
    duration_s: Option<f64>,
    exit_code: Option<i32>,
    reason: Option<&'a str>,
    outputs: Option<&'a BTreeMap<String, String>>,
    retry_at: Option<String>,
    /// Why the instance is as it is when no try says so.
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct TasksView<'a> {
    flow: &'a str,
    run_id: &'a str,
    state: &'static str,
    tasks: Vec<TaskRow<'a>>,
}

/// Task instances in the graph order of the run's own flow version (kept
/// in the store, so whatever the file says now, broken or changed), else
/// of the flow file's; tasks neither has come last.
fn ordered(flow: Option<&crate::flow::Flow>, mut tis: Vec<TaskInstance>) -> Vec<TaskInstance> {
    if let Some(f) = flow {
        let pos = |t: &str| f.tasks.iter().position(|x| x.id == t).unwrap_or(usize::MAX);
        tis.sort_by_key(|ti| pos(&ti.task));
    }
    tis
}

/// Why a pending task instance of a queued run waits, when nothing else
/// says: the run waits for a run slot of its flow.
fn slot_note(store: &Store, run: &Run, flow: Option<&crate::flow::Flow>) -> Option<String> {
    if run.state != crate::store::RunState::Queued || run.kind == crate::store::RunKind::Test {
        return None;
    }
    let max = flow?.max_active_runs;
    let running = store.running_runs(&run.flow).ok()?;
    Some(format!(
        "waiting for a run slot (max_active_runs = {max}, {running} running)"
    ))
}

fn latest_tries(
    store: &Store,
    run: &Run,
    tis: &[TaskInstance],
) -> Result<Vec<Option<Try>>, Failure> {
    tis.iter()
        .map(|ti| {
            store
                .tries(run, &ti.task)
                .map(|mut t| t.pop())
                .map_err(|e| Failure::new(super::EXIT_FAILED, e.to_string()))
        })
        .collect()
}

pub fn tasks(root: &Path, flow: &str, run_ref: &str, json: bool) -> Outcome {
    let home = load_home(root)?;
    let store = read_store(&home)?;
    let tz = flow_zone(&home, store.as_ref(), flow)?;
    let Some(store) = store else {
        return Err(super::no_runs(flow));
    };
    let run = find_run(&store, flow, run_ref)?;
    let tis = store
        .task_instances(&run)
        .map_err(|e| Failure::new(super::EXIT_FAILED, e.to_string()))?;
    let own = super::run_flow(&home, &store, &run);
    let current = match home.lookup(flow) {
        Lookup::Found(f) => Some(f),
        _ => None,
    };
    let version = own.as_ref().or(current);
    let tis = ordered(version, tis);
    let tries = latest_tries(&store, &run, &tis)?;
    let waiting = slot_note(&store, &run, version);
    // A pending instance of a run queued for a run slot waits for that
    // first, whatever else its note says.
    let note = |ti: &'_ TaskInstance| -> Option<String> {
        match (&waiting, ti.state) {
            (Some(w), TaskState::Pending) => Some(w.clone()),
            _ => ti.note.clone(),
        }
    };
    let notes: Vec<Option<String>> = tis.iter().map(note).collect();
    if json {
        let view = TasksView {
            flow,
            run_id: &run.id,
            state: run.state.name(),
            tasks: tis
                .iter()
                .zip(&tries)
                .zip(&notes)
                .map(|((ti, t), note)| TaskRow {
                    task: &ti.task,
                    state: ti.state.name(),
                    try_number: ti.tries,
                    max_tries: ti.max_tries,
                    started: t.as_ref().map(|t| rfc3339(t.started, tz)),
                    ended: t.as_ref().and_then(|t| t.ended).map(|e| rfc3339(e, tz)),
                    duration_s: t.as_ref().and_then(|t| {
                        t.ended
                            .map(|e| (e - t.started).num_milliseconds() as f64 / 1000.0)
                    }),
                    exit_code: t.as_ref().and_then(|t| t.exit_code),
                    reason: t.as_ref().and_then(|t| t.reason.as_deref()),
                    outputs: t.as_ref().map(|t| &t.outputs),
                    retry_at: ti.retry_at.map(|r| rfc3339(r, tz)),
                    note: note.as_deref(),
                })
                .collect(),
        };
        print(&(serde_json::to_string_pretty(&view).unwrap_or_default() + "\n"));
        return Ok(());
    }
    let mut out = format!(
        "{} {} {} ({})\n",
        run.state.glyph(),
        run.id,
        run.state,
        run.kind.name()
    );
    let mut rows = vec![vec![
        "TASK".to_string(),
        "STATE".into(),
        "TRY".into(),
        "STARTED".into(),
        "DURATION".into(),
        "RESULT".into(),
    ]];
    for ((ti, t), note) in tis.iter().zip(&tries).zip(&notes) {
        // A note (marked by hand, cleared, interrupted, waiting for a run
        // slot) tells more than the latest try does.
        let result = match (note, t) {
            (Some(note), _) => note.clone(),
            (None, Some(t)) => {
                let mut parts = Vec::new();
                if let Some(r) = &t.reason {
                    parts.push(r.clone());
                }
                if !t.outputs.is_empty() {
                    let kv: Vec<String> =
                        t.outputs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    parts.push(kv.join(" "));
                }
                if let (TaskState::UpForRetry, Some(at)) = (ti.state, ti.retry_at) {
                    parts.push(format!("retry at {}", short_time(at, tz)));
                }
                parts.join("; ")
            }
            (None, None) => String::new(),
        };
        rows.push(vec![
            ti.task.clone(),
            format!("{} {}", ti.state.glyph(), ti.state),
            if ti.tries == 0 {
                "-".into()
            } else {
                format!("{}/{}", ti.tries, ti.max_tries)
            },
            t.as_ref().map_or("-".into(), |t| short_time(t.started, tz)),
            t.as_ref().map_or("-".into(), |t| {
                human_duration(t.ended.unwrap_or_else(Utc::now) - t.started)
            }),
            result,
        ]);
    }
    out.push_str(&columns(&rows));
    print(&out);
    Ok(())
}
