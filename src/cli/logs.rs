//! `drover logs FLOW RUN TASK [--try N] [--follow]`: a try's log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{EXIT_FAILED, EXIT_NOT_FOUND, Failure, Outcome, find_run, load_home, state_dir};
use crate::api::LogQuery;
use crate::home::Lookup;
use crate::logs::{self, LogDir, TryFiles};
use crate::store::{Store, StoreError, TaskState};

/// How often a followed log is checked for more output.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

pub fn run(root: &Path, q: &LogQuery) -> Outcome {
    let Located {
        files,
        writer,
        run,
        try_number,
    } = locate(root, q)?;
    let store_path = state_dir(root).join("store");
    // Of the try printed, even if `latest` is another run by the end.
    let recorded = || recorded_log_error(&store_path, &q.flow, &run, &q.task, Some(try_number));
    show(&files.log, &files.end, writer, q.follow, recorded)
}

/// A try's log found: its files, the run and try it is of, and (to follow
/// it) the process writing it while it runs.
struct Located {
    files: TryFiles,
    writer: Option<u32>,
    run: String,
    try_number: u32,
}

/// Finds the try's files, and (to follow it) the process that writes its
/// log while it runs: through the running instance's store when this runs
/// in it, else this home's store, else the log folders alone.
fn locate(root: &Path, q: &LogQuery) -> Result<Located, Failure> {
    let (flow, run_ref, task) = (q.flow.as_str(), q.run.as_str(), q.task.as_str());
    let (try_number, follow) = (q.try_number, q.follow);
    let home = load_home(root)?;
    super::require_home(&home)?;
    // A flow whose file is gone may still have runs with logs.
    if let Lookup::Missing = home.lookup(flow)
        && !super::state_dir(&home.root)
            .join("logs")
            .join(flow)
            .is_dir()
    {
        return Err(super::no_such_flow(&home, flow));
    }
    let logs = LogDir::new(state_dir(&home.root).join("logs"));
    let store_path = state_dir(&home.root).join("store");
    // While following, the process running the try (if any): the follow
    // ends when it ends, whether or not it marked the try's end.
    let mut writer: Option<u32> = None;
    // The running instance's store when the command runs in it, so that
    // `latest` is the run created last, as in every other command. Else no
    // waiting for the store: if a drover process has it, the log files are
    // read directly. A home without a store has no runs (and none is made
    // just to read).
    let opened = match super::remote() {
        Some(r) => Ok(r.store),
        None if !store_path.exists() => {
            return Err(Failure::new(
                EXIT_NOT_FOUND,
                format!("flow `{flow}` has no runs yet"),
            ));
        }
        None => Store::open_waiting(&store_path, Duration::ZERO),
    };
    let (files, which) = match opened {
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
            let files = logs.try_files(flow, &run.id, task, number);
            let which = (run.id.clone(), number);
            if follow && ti.state == TaskState::Running && number == ti.tries {
                // No drover runs the try, but its supervisor may: follow
                // for as long as it lives.
                let pid = store
                    .tries(&run, task)
                    .ok()
                    .and_then(|mut t| t.pop())
                    .and_then(|t| t.pid);
                let prefix =
                    std::fs::canonicalize(files.prefix().parent().unwrap_or(Path::new(".")))
                        .map(|d| d.join(files.prefix().file_name().unwrap_or_default()))
                        .unwrap_or_else(|_| files.prefix());
                writer = pid.filter(|&p| crate::engine::supervises(p, &prefix));
                if writer.is_none() {
                    super::eprintln_safe(&format!(
                        "drover: try {number} of `{task}` is recorded as running, but nothing runs it any more; nothing more will come"
                    ));
                }
            }
            (files, which)
        }
        Err(e) => {
            // Another drover process has the store (or it cannot be opened):
            // find the log on disk.
            if let StoreError::Locked(_) = e {
                writer = crate::store::holder(&store_path).map(|(pid, _)| pid);
            } else {
                super::eprintln_safe(&format!("drover: {e}; reading the log files directly"));
            }
            let (files, run, number) = from_disk(
                &logs,
                flow,
                run_ref,
                task,
                try_number,
                follow && writer.is_some(),
            )?;
            (files, (run, number))
        }
    };
    let (run, try_number) = which;
    Ok(Located {
        files,
        writer,
        run,
        try_number,
    })
}

/// Where the instance running on the home finds a try's log (what a client
/// of it then prints).
pub fn log_try(root: &Path, query: &LogQuery) -> Result<crate::api::LogTry, Failure> {
    let Located {
        files,
        writer,
        run,
        try_number,
    } = locate(root, query)?;
    let store_path = state_dir(root).join("store");
    let log_error = recorded_log_error(
        &store_path,
        &query.flow,
        &run,
        &query.task,
        Some(try_number),
    );
    Ok(crate::api::LogTry {
        run,
        try_number,
        log: files.log,
        end: files.end,
        writer,
        log_error,
    })
}

/// Prints a log from its start; with `follow`, goes on printing what comes
/// while `writer` lives and the try has no end record. Then says what the
/// log lost (`recorded` is the try's recorded log error, read at the end).
pub fn show(
    log: &Path,
    end: &Path,
    writer: Option<u32>,
    follow: bool,
    recorded: impl FnOnce() -> Option<String>,
) -> Outcome {
    let mut offset = 0;
    let mut out = super::Stdout;
    loop {
        // Check before reading, so output written just before the end is not missed.
        let done = writer.is_none_or(|pid| end.exists() || !alive(pid));
        offset = match logs::copy_from(log, offset, &mut out) {
            Ok(end) => end,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => offset,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => {
                return Err(Failure::new(
                    EXIT_FAILED,
                    format!(
                        "cannot read {}: {}",
                        log.display(),
                        crate::home::describe(&e)
                    ),
                ));
            }
        };
        if !follow || done {
            return log_problem(log, offset, recorded());
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// What the log lost, once printed: a try whose log could not be written
/// (its recorded reason says so, or the log file was made but its first
/// write failed, leaving 0 bytes) is an error, not an empty success. A
/// try that printed nothing has no log file and is fine.
fn log_problem(log: &Path, printed: u64, recorded: Option<String>) -> Outcome {
    let empty = printed == 0 && std::fs::metadata(log).is_ok_and(|m| m.len() == 0);
    let what = log
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match (recorded, empty) {
        (Some(e), true) => Err(Failure::new(
            EXIT_FAILED,
            format!("the log {what} is empty: {e}"),
        )),
        (Some(e), false) => Err(Failure::new(
            EXIT_FAILED,
            format!("the log {what} is incomplete: {e}"),
        )),
        (None, true) => Err(Failure::new(
            EXIT_FAILED,
            format!(
                "the log {what} is empty: the try's output could not be written (was the disk full?)"
            ),
        )),
        (None, false) => Ok(()),
    }
}

/// The log error recorded on a try ("writing the log failed: ..."), from
/// the running instance's store or this command's own.
fn recorded_log_error(
    store_path: &Path,
    flow: &str,
    run_ref: &str,
    task: &str,
    try_number: Option<u32>,
) -> Option<String> {
    let look = |store: &Store| {
        let run = find_run(store, flow, run_ref).ok()?;
        let tries = store.tries(&run, task).ok()?;
        let attempt = match try_number {
            Some(n) => tries.into_iter().find(|t| t.number == n)?,
            None => tries.into_iter().last()?,
        };
        let reason = attempt.reason?;
        let at = reason.find("writing the log failed")?;
        Some(reason[at..].to_string())
    };
    match super::remote() {
        Some(r) => look(&r.store),
        None => Store::open_waiting(store_path, Duration::ZERO)
            .ok()
            .and_then(|s| look(&s)),
    }
}

/// Whether process `pid` exists (and is not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
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

/// Finds a try's files from the log folder alone (another drover process
/// without a control socket has the store): `latest` is the run folder
/// made last (the nearest the folders tell to the run created last); the
/// try is the highest number. When `waiting`, a
/// task that has written nothing yet is followed from try 1 on.
fn from_disk(
    logs: &LogDir,
    flow: &str,
    run_ref: &str,
    task: &str,
    wanted: Option<u32>,
    waiting: bool,
) -> Result<(TryFiles, String, u32), Failure> {
    let run_dir = if run_ref == "latest" {
        let flow_dir = logs
            .run_dir(flow, "x")
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        newest_dir(&flow_dir)
            .ok_or_else(|| Failure::new(EXIT_NOT_FOUND, format!("flow `{flow}` has no logs yet")))?
    } else {
        logs.run_dir(flow, run_ref)
    };
    let run_id = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!("{task}.");
    let tries: Vec<u32> = std::fs::read_dir(&run_dir)
        .map_err(|_| Failure::new(EXIT_NOT_FOUND, format!("no logs for run `{run_id}`")))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(&prefix)?;
            rest.strip_suffix(".log")
                .or_else(|| rest.strip_suffix(".end"))?
                .parse()
                .ok()
        })
        .collect();
    let latest = match tries.iter().copied().max() {
        Some(n) => n,
        None if waiting => wanted.unwrap_or(1),
        None => {
            return Err(Failure::new(
                EXIT_NOT_FOUND,
                format!("no logs for task `{task}` in run `{run_id}`"),
            ));
        }
    };
    let number = match wanted {
        Some(n) if n <= latest || waiting => n,
        _ => pick_try(&run_id, task, wanted, latest)?,
    };
    let files = logs.try_files(flow, &run_id, task, number);
    Ok((files, run_id, number))
}

/// The folder in `dir` made last (by its birth time where the file system
/// keeps one, else its modification time: a try written later into an
/// older run's folder does not make it newer where birth times exist).
fn newest_dir(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .max_by_key(|e| {
            e.metadata()
                .and_then(|m| m.created().or_else(|_| m.modified()))
                .ok()
        })
        .map(|e| e.path())
}
