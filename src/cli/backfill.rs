//! `drover backfill FLOW --from DATE --to DATE` and `drover kill FLOW RUN TASK`:
//! work handed to the engine (a running instance's, or stored for one).

use std::path::Path;

use super::{
    EXIT_FAILED, EXIT_NOT_FOUND, Failure, Outcome, find_flow, find_run, load_home, open_store,
    print,
};
use crate::engine::Engine;
use crate::store::{RunKind, StoreError, TaskState};

/// Most runs one backfill makes.
const MAX_BACKFILL: usize = 10_000;

pub fn backfill(root: &Path, flow_id: &str, from: &str, to: &str) -> Outcome {
    let home = load_home(root)?;
    let flow = find_flow(&home, flow_id)?.clone();
    if flow.schedule.is_none() {
        return Err(Failure::new(
            EXIT_FAILED,
            format!("flow `{flow_id}` has no schedule to backfill"),
        ));
    }
    let from_t = super::time_arg("--from", Some(from), flow.timezone)?;
    // A plain date as --to means the whole of that day.
    let whole_day = chrono::NaiveDate::parse_from_str(to.trim(), "%Y-%m-%d").is_ok();
    let to_t = super::time_arg("--to", Some(to), flow.timezone)?
        + if whole_day {
            chrono::Duration::days(1) - chrono::Duration::nanoseconds(1)
        } else {
            chrono::Duration::zero()
        };
    if to_t < from_t {
        return Err(Failure::new(super::EXIT_USAGE, "--to is before --from"));
    }
    let schedule = flow
        .schedule
        .as_ref()
        .map(|s| s.iter_after(flow.timezone, from_t - chrono::Duration::nanoseconds(1)));
    let times: Vec<_> = schedule
        .into_iter()
        .flatten()
        .take_while(|t| *t <= to_t)
        .take(MAX_BACKFILL + 1)
        .collect();
    if times.len() > MAX_BACKFILL {
        return Err(Failure::new(
            EXIT_FAILED,
            format!(
                "more than {MAX_BACKFILL} fire times between {from} and {to}; backfill a shorter range at a time"
            ),
        ));
    }
    let (mut made, mut there) = (0, 0);
    if let Some(r) = super::remote() {
        for t in &times {
            match r.runtime.block_on(r.engine.trigger(
                &flow.id,
                RunKind::Backfill,
                *t,
                Default::default(),
            )) {
                Ok(_) => made += 1,
                Err(e) if e.contains("already has a run") => there += 1,
                Err(e) => return Err(Failure::new(EXIT_FAILED, e)),
            }
        }
    } else {
        let store = open_store(&home)?;
        let root_abs = std::fs::canonicalize(&home.root).unwrap_or_else(|_| home.root.clone());
        let mut engine = Engine::new(root_abs, home.config.clone(), home.flows.clone(), store);
        for t in &times {
            match engine.create_run(&flow.id, RunKind::Backfill, *t, Default::default()) {
                Ok(_) => made += 1,
                Err(crate::engine::EngineError::Store(StoreError::RunExists { .. })) => there += 1,
                Err(e) => return Err(Failure::new(EXIT_FAILED, e.to_string())),
            }
        }
    }
    let already = if there > 0 {
        format!(" ({there} already there)")
    } else {
        String::new()
    };
    // Run by the instance holding the home (a serve or a TUI), or by the
    // next one to start.
    let who = if super::remote().is_some() {
        "the running instance runs them now"
    } else {
        "the next `drover serve` or `drover` runs them"
    };
    print(&format!(
        "{made} backfill run{} of `{flow_id}` queued{already}; {who}, at most {} at a time\n",
        if made == 1 { "" } else { "s" },
        flow.max_active_runs
    ));
    Ok(())
}

pub fn kill(root: &Path, flow_id: &str, run_ref: &str, task: &str) -> Outcome {
    let home = load_home(root)?;
    super::require_home(&home)?;
    let store = open_store(&home)?;
    let run = find_run(&store, flow_id, run_ref)?;
    if let Some(r) = super::remote() {
        let number = r
            .runtime
            .block_on(r.engine.kill(flow_id, &run.id, task))
            .map_err(|e| {
                Failure::new(
                    if e.contains("no task") {
                        EXIT_NOT_FOUND
                    } else {
                        EXIT_FAILED
                    },
                    e,
                )
            })?;
        print(&format!(
            "stopping try {number} of `{task}` in run `{}` (SIGTERM, SIGKILL 10 s later)\n",
            run.id
        ));
        return Ok(());
    }
    // No instance runs: the try's supervisor, if alive, is told directly;
    // the next drover serve collects the outcome.
    let err = |e: StoreError| Failure::new(EXIT_FAILED, e.to_string());
    let Some(ti) = store.task_instance(&run, task).map_err(err)? else {
        return Err(Failure::new(
            EXIT_NOT_FOUND,
            format!("run `{}` has no task `{task}`", run.id),
        ));
    };
    if ti.state != TaskState::Running {
        return Err(Failure::new(
            EXIT_FAILED,
            format!("task `{task}` is not running (it is {})", ti.state),
        ));
    }
    let pid = store
        .tries(&run, task)
        .map_err(err)?
        .pop()
        .and_then(|t| t.pid);
    let logs = crate::logs::LogDir::new(super::state_dir(&home.root).join("logs"));
    let prefix = logs.try_files(flow_id, &run.id, task, ti.tries).prefix();
    let prefix = std::fs::canonicalize(prefix.parent().unwrap_or(Path::new(".")))
        .map(|d| d.join(prefix.file_name().unwrap_or_default()))
        .unwrap_or(prefix);
    match pid.filter(|&p| crate::engine::supervises(p, &prefix)) {
        Some(pid) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            print(&format!(
                "stopping try {} of `{task}` (its supervisor, pid {pid}); drover serve records the outcome\n",
                ti.tries
            ));
            Ok(())
        }
        None => Err(Failure::new(
            EXIT_FAILED,
            format!(
                "try {} of `{task}` is recorded as running, but nothing runs it any more; drover serve will record it as lost",
                ti.tries
            ),
        )),
    }
}
