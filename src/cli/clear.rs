//! `drover clear` and `drover mark`: change task instance states by hand,
//! the way Airflow does.

use std::path::Path;

use super::{
    EXIT_FAILED, EXIT_NOT_FOUND, Failure, Outcome, columns, find_flow, find_run, load_home,
    open_store, print,
};
use crate::api::ClearQuery;
use crate::flow::suggest;
use crate::store::TaskState;

fn store_err(e: crate::store::StoreError) -> Failure {
    Failure::new(EXIT_FAILED, e.to_string())
}

/// The task instances of a run a clear resets (see
/// [`crate::api::clear_selection`]), with each one's retries; the run.
fn selection(
    home: &crate::home::Home,
    store: &crate::store::Store,
    flow: &crate::flow::Flow,
    q: &ClearQuery,
) -> Result<(crate::store::Run, Vec<(String, u32)>), Failure> {
    let run = find_run(store, &flow.id, &q.run)?;
    // The run's own task instances are the truth: the flow file may have
    // gained or lost tasks since the run was made.
    let instances = store.task_instances(&run).map_err(store_err)?;
    for t in &q.tasks {
        if !instances.iter().any(|ti| &ti.task == t) {
            let hint = suggest::did_you_mean(t, instances.iter().map(|ti| ti.task.as_str()));
            return Err(Failure::new(
                EXIT_NOT_FOUND,
                format!("run `{}` has no task `{t}`{hint}", run.id),
            ));
        }
    }
    // What is downstream of what: the run's own version of its flow.
    let own = super::run_flow(home, store, &run);
    let graph = own.as_ref().unwrap_or(flow);
    let reset = crate::api::clear_selection(
        Some(graph),
        &instances,
        &q.tasks,
        q.downstream,
        q.upstream,
        q.failed_only,
    );
    let selection = reset
        .into_iter()
        .map(|t| {
            let retries = graph.task(&t).or(flow.task(&t)).map_or(0, |t| t.retries);
            (t, retries)
        })
        .collect();
    Ok((run, selection))
}

/// What a clear would reset, said for people.
pub fn preview_text(run_id: &str, reset: &[String]) -> String {
    match reset.len() {
        0 => format!("nothing to clear in run `{run_id}`\n"),
        n => format!(
            "would clear {n} task instance{} of run `{run_id}`: {}\n",
            if n == 1 { "" } else { "s" },
            reset.join(", ")
        ),
    }
}

/// The tasks a clear would reset, for the instance API's preview.
pub fn preview(root: &Path, q: &ClearQuery) -> Result<(String, Vec<String>), Failure> {
    let home = load_home(root)?;
    let flow = find_flow(&home, &q.flow)?;
    let store = open_store(&home)?;
    let (run, selection) = selection(&home, &store, flow, q)?;
    Ok((run.id, selection.into_iter().map(|(t, _)| t).collect()))
}

/// `drover clear`: resets what `q` chooses (with `dry_run`, says what it
/// would and changes nothing).
pub fn clear(root: &Path, q: &ClearQuery, dry_run: bool) -> Outcome {
    let home = load_home(root)?;
    let flow = find_flow(&home, &q.flow)?;
    let store = open_store(&home)?;
    let (mut run, selection) = selection(&home, &store, flow, q)?;
    if dry_run || selection.is_empty() {
        let names: Vec<String> = selection.into_iter().map(|(t, _)| t).collect();
        print(&preview_text(&run.id, &names));
        return Ok(());
    }
    let before: Vec<TaskState> = selection
        .iter()
        .map(|(t, _)| {
            store
                .task_instance(&run, t)
                .ok()
                .flatten()
                .map_or(TaskState::Pending, |ti| ti.state)
        })
        .collect();
    // A finished run that runs again takes a run slot of its flow, as a
    // new one does: with none free it waits as queued.
    let slot_free = store.running_runs(&q.flow).map_err(store_err)? < flow.max_active_runs as usize;
    let cleared = store
        .clear(&mut run, &selection, slot_free)
        .map_err(store_err)?;
    super::make_durable(&store)?;
    super::notify_changed(&q.flow, &run.id);
    let mut rows = vec![vec![
        "TASK".to_string(),
        "WAS".into(),
        "NOW".into(),
        "NEXT TRY".into(),
    ]];
    for (ti, was) in cleared.iter().zip(before) {
        rows.push(vec![
            ti.task.clone(),
            format!("{} {was}", was.glyph()),
            format!("{} {}", ti.state.glyph(), ti.state),
            (ti.tries + 1).to_string(),
        ]);
    }
    print(&format!(
        "cleared {} task instance{} of run `{}`; it is {} again{}\n{}",
        cleared.len(),
        if cleared.len() == 1 { "" } else { "s" },
        run.id,
        run.state,
        match (run.state, super::remote().is_some()) {
            (crate::store::RunState::Queued, _) => format!(
                ": it runs once a run slot is free (max_active_runs = {})",
                flow.max_active_runs
            ),
            (_, true) => " and runs now".to_string(),
            (_, false) => ", for drover serve to run".to_string(),
        },
        columns(&rows)
    ));
    Ok(())
}

pub fn mark(root: &Path, flow_id: &str, run_ref: &str, task: &str, state: &str) -> Outcome {
    let home = load_home(root)?;
    let flow = find_flow(&home, flow_id)?;
    let state = match state {
        "success" => TaskState::Success,
        _ => TaskState::Failed,
    };
    let store = open_store(&home)?;
    let mut run = find_run(&store, flow_id, run_ref)?;
    let Some(ti) = store.mark(&mut run, task, state).map_err(store_err)? else {
        let hint = suggest::did_you_mean(task, flow.tasks.iter().map(|t| t.id.as_str()));
        return Err(Failure::new(
            EXIT_NOT_FOUND,
            format!("run `{}` has no task `{task}`{hint}", run.id),
        ));
    };
    super::make_durable(&store)?;
    super::notify_changed(flow_id, &run.id);
    print(&format!(
        "{} {} marked {} in run `{}` (run is {})\n",
        ti.state.glyph(),
        ti.task,
        ti.state,
        run.id,
        run.state
    ));
    Ok(())
}

/// `drover pause FLOW` / `drover unpause FLOW`: the stored pause state,
/// which from then on counts instead of the file's `paused`.
pub fn pause(root: &Path, flow_id: &str, paused: bool) -> Outcome {
    let home = load_home(root)?;
    find_flow(&home, flow_id)?;
    let store = open_store(&home)?;
    store
        .put_flow_state(flow_id, &crate::store::FlowState { paused })
        .map_err(store_err)?;
    super::make_durable(&store)?;
    super::notify_flow_changed(flow_id);
    let what = if paused {
        "paused: no new scheduled runs"
    } else {
        "unpaused: scheduled runs resume"
    };
    print(&format!("flow `{flow_id}` {what}\n"));
    Ok(())
}
