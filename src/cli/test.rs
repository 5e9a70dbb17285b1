//! `drover test FLOW [-p K=V]... [--date DATE]`: one run in the foreground.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use tokio::sync::broadcast::error::RecvError;

use super::{
    EXIT_FAILED, EXIT_USAGE, Failure, Outcome, find_flow, human_duration, load_home, open_store,
    print,
};
use crate::engine::{Engine, EngineEvent};
use crate::flow::{Flow, suggest};
use crate::logs::{self, LogDir};
use crate::store::{RunKind, RunState, TaskState};

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
    let home = load_home(root)?;
    let flow = find_flow(&home, flow_id)?.clone();
    let params = parse_params(&flow, raw_params)?;
    let logical = super::time_arg("--date", date, flow.timezone)?;
    let store = open_store(&home)?;
    let root_abs = std::fs::canonicalize(&home.root).unwrap_or_else(|_| home.root.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot start: {e}")))?;
    let flows = home.flows.clone();
    runtime.block_on(async move {
        let engine = Engine::new(root_abs.clone(), home.config.clone(), flows, store);
        let (handle, join) = engine.spawn();
        let mut events = handle.subscribe();
        let run = handle
            .trigger(&flow.id, RunKind::Test, logical, params)
            .await
            .map_err(|e| Failure::new(EXIT_FAILED, e))?;
        let started = Utc::now();
        print(&format!(
            "run {} of {} (ds {})\n",
            run.id,
            flow.id,
            logical.with_timezone(&flow.timezone).format("%Y-%m-%d")
        ));
        let width = flow
            .tasks
            .iter()
            .map(|t| t.id.chars().count())
            .max()
            .unwrap_or(4);
        let mut interrupted = false;
        // Listen for Ctrl-C once, not once per event.
        let mut interrupts =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot watch for Ctrl-C: {e}")))?;
        let final_state = loop {
            let event = tokio::select! {
                event = events.recv() => event,
                _ = interrupts.recv(), if !interrupted => {
                    interrupted = true;
                    print("interrupted: stopping the run's tasks\n");
                    handle.stop_run(&flow.id, &run.id, "interrupted").await;
                    continue;
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
                    print(&transition(
                        &task,
                        width,
                        state,
                        try_number,
                        reason.as_deref(),
                    ));
                }
                Ok(EngineEvent::RunChanged { run_id, state, .. })
                    if run_id == run.id && state.is_done() =>
                {
                    break state;
                }
                Ok(EngineEvent::Stopped { error }) => return Err(Failure::new(EXIT_FAILED, error)),
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    if let Some((r, _)) = handle.snapshot(&flow.id, &run.id).await
                        && r.state.is_done()
                    {
                        break r.state;
                    }
                }
                Err(RecvError::Closed) => {
                    return Err(Failure::new(EXIT_FAILED, "the engine stopped"));
                }
            }
        };
        let snapshot = handle.snapshot(&flow.id, &run.id).await;
        handle.shutdown().await;
        let _ = join.await;
        let elapsed = human_duration(Utc::now() - started);
        let mut out = String::new();
        if let Some((_, tis)) = &snapshot {
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
            let logs = LogDir::new(root_abs.join(".drover").join("logs"));
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
        print(&out);
        if final_state == RunState::Success {
            Ok(())
        } else {
            Err(Failure::new(EXIT_FAILED, String::new()))
        }
    })
}

fn transition(
    task: &str,
    width: usize,
    state: TaskState,
    try_number: u32,
    reason: Option<&str>,
) -> String {
    let time = chrono::Local::now().format("%H:%M:%S%.3f");
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

/// The last `n` lines of a file, or a note that it cannot be read.
fn tail(path: &Path, n: usize) -> String {
    match logs::read_from(path, 0) {
        Ok((bytes, _)) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let mut out = lines[lines.len().saturating_sub(n)..].join("\n");
            out.push('\n');
            out
        }
        Err(e) => format!("(cannot read the log: {})\n", crate::home::describe(&e)),
    }
}
