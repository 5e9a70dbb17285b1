//! `drover logs FLOW RUN TASK [--try N] [--follow]`: a try's log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    EXIT_FAILED, EXIT_NOT_FOUND, Failure, Outcome, find_run, load_home, print_bytes, state_dir,
};
use crate::home::Lookup;
use crate::logs::{self, LogDir, TryFiles};
use crate::store::{Store, StoreError, TaskState};

/// How often a followed log is checked for more output.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

pub fn run(
    root: &Path,
    flow: &str,
    run_ref: &str,
    task: &str,
    try_number: Option<u32>,
    follow: bool,
) -> Outcome {
    let home = load_home(root)?;
    if let Lookup::Missing = home.lookup(flow) {
        return Err(super::no_such_flow(&home, flow));
    }
    let logs = LogDir::new(state_dir(&home.root).join("logs"));
    let (files, running) = match Store::open(&state_dir(&home.root).join("store")) {
        Ok(store) => {
            let run = find_run(&store, flow, run_ref)?;
            let Some(ti) = store
                .task_instance(&run, task)
                .map_err(|e| Failure::new(EXIT_FAILED, e.to_string()))?
            else {
                let tasks: Vec<String> = store
                    .task_instances(&run)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| t.task)
                    .collect();
                let hint =
                    crate::flow::suggest::did_you_mean(task, tasks.iter().map(String::as_str));
                return Err(Failure::new(
                    EXIT_NOT_FOUND,
                    format!(
                        "run `{}` has no task `{task}`{hint}; its tasks: {}",
                        run.id,
                        tasks.join(", ")
                    ),
                ));
            };
            let number = pick_try(&run.id, task, try_number, ti.tries)?;
            let running = ti.state == TaskState::Running && number == ti.tries;
            (logs.try_files(flow, &run.id, task, number), running)
        }
        Err(StoreError::Locked(_)) => {
            // A drover process holds the store: find the log on disk.
            let files = from_disk(&logs, flow, run_ref, task, try_number)?;
            let running = !files.end.exists();
            (files, running)
        }
        Err(e) => return Err(Failure::new(EXIT_FAILED, e.to_string())),
    };
    let mut offset = match logs::read_from(&files.log, 0) {
        Ok((bytes, end)) => {
            print_bytes(&bytes);
            end
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => {
            return Err(Failure::new(
                EXIT_FAILED,
                format!(
                    "cannot read {}: {}",
                    files.log.display(),
                    crate::home::describe(&e)
                ),
            ));
        }
    };
    if !(follow && running) {
        return Ok(());
    }
    loop {
        // Read after checking the end marker, so the last output is not missed.
        let ended = files.end.exists();
        if let Ok((bytes, end)) = logs::read_from(&files.log, offset) {
            print_bytes(&bytes);
            offset = end;
        }
        if ended {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

fn pick_try(run_id: &str, task: &str, wanted: Option<u32>, tries: u32) -> Result<u32, Failure> {
    match wanted {
        None if tries == 0 => Err(Failure::new(
            EXIT_NOT_FOUND,
            format!("task `{task}` has not started yet in run `{run_id}`"),
        )),
        None => Ok(tries),
        Some(n) if n >= 1 && n <= tries => Ok(n),
        Some(n) => Err(Failure::new(
            EXIT_NOT_FOUND,
            format!("task `{task}` in run `{run_id}` has no try {n} (it has {tries})"),
        )),
    }
}

/// Finds a try's files from the log folder alone (the store is busy):
/// `latest` is the run folder written last; the try is the highest number.
fn from_disk(
    logs: &LogDir,
    flow: &str,
    run_ref: &str,
    task: &str,
    wanted: Option<u32>,
) -> Result<TryFiles, Failure> {
    let busy = "the store is in use by another drover process";
    let run_dir = if run_ref == "latest" {
        let flow_dir = logs
            .run_dir(flow, "x")
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        newest_dir(&flow_dir).ok_or_else(|| {
            Failure::new(
                EXIT_NOT_FOUND,
                format!("flow `{flow}` has no logs yet ({busy})"),
            )
        })?
    } else {
        logs.run_dir(flow, run_ref)
    };
    let run_id = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!("{task}.");
    let tries: Vec<u32> = std::fs::read_dir(&run_dir)
        .map_err(|_| {
            Failure::new(
                EXIT_NOT_FOUND,
                format!("no logs for run `{run_id}` ({busy})"),
            )
        })?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix(&prefix)?
                .strip_suffix(".log")?
                .parse()
                .ok()
        })
        .collect();
    if tries.is_empty() {
        return Err(Failure::new(
            EXIT_NOT_FOUND,
            format!("no logs for task `{task}` in run `{run_id}` ({busy})"),
        ));
    }
    let latest = tries.iter().copied().max().unwrap_or(0);
    let number = pick_try(&run_id, task, wanted, latest)?;
    Ok(logs.try_files(flow, &run_id, task, number))
}

fn newest_dir(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
}
