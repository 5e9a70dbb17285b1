//! The instance's side of the API: answers each [`Call`] from its store,
//! its engine and the home's problems. The socket server, and a screen in
//! the instance's own process, both go through here.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

use super::{
    Action, Call, ClearPreview, ClearQuery, Failed, Files, FlowFile, FlowRuns, LogChunk, LogQuery,
    LogTry, MAX_LOG_CHUNK, Status, TaskDetail,
};
use crate::control::Answer;
use crate::engine::{EngineHandle, Reader};
use crate::home::Problems;

/// What only drover's commands know how to do, done inside the instance
/// (the CLI supplies it).
pub trait Commands: Send + Sync {
    /// Runs a drover command line here; what it printed.
    fn run(&self, args: Vec<String>) -> Answer;
    /// Finds the try `drover logs` reads.
    fn log_try(&self, query: LogQuery) -> Result<LogTry, Failed>;
    /// What `drover clear` would reset.
    fn clear_preview(&self, query: ClearQuery) -> Result<ClearPreview, Failed>;
}

/// An instance, as the API sees it.
pub struct Service {
    pub reader: Reader,
    /// The engine, when the instance runs one (not for a store alone).
    pub engine: Option<EngineHandle>,
    pub problems: Arc<Mutex<Problems>>,
    commands: Option<Arc<dyn Commands>>,
}

impl Service {
    pub fn new(
        reader: Reader,
        engine: EngineHandle,
        problems: Arc<Mutex<Problems>>,
        commands: Arc<dyn Commands>,
    ) -> Service {
        Service {
            reader,
            engine: Some(engine),
            problems,
            commands: Some(commands),
        }
    }

    /// Reads a store, with no engine to ask or act through.
    pub fn reading(reader: Reader) -> Service {
        Service {
            reader,
            engine: None,
            problems: Arc::default(),
            commands: None,
        }
    }

    pub fn problems(&self) -> Problems {
        self.problems.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// The engine's load and flows, with the home's problems. None when
    /// there is no engine (any more).
    pub async fn status(&self) -> Option<(crate::engine::Status, Problems)> {
        let status = self.engine.as_ref()?.status().await?;
        Some((status, self.problems()))
    }

    /// Does `action`; what the command would have printed. Blocks while the
    /// command runs: call it on a blocking thread.
    pub fn act(&self, action: Action) -> Answer {
        self.run(action.command_line())
    }

    /// Runs a command line inside the instance (see [`Commands::run`]).
    fn run(&self, args: Vec<String>) -> Answer {
        match &self.commands {
            Some(commands) => commands.run(args),
            None => Answer {
                out: String::new(),
                err: "drover: no instance runs here to do that\n".into(),
                code: 1,
            },
        }
    }

    /// Answers one call as JSON (the wire's `ok`), or says why not. Calls
    /// that read the store or run commands block: the server runs them on
    /// a blocking thread.
    pub async fn answer(self: &Arc<Self>, call: Call, read_only: bool) -> Result<Value, String> {
        match call {
            Call::Status => {
                let (status, problems) = self
                    .status()
                    .await
                    .ok_or_else(|| "the instance's engine has stopped".to_string())?;
                json(Status {
                    running: status.running,
                    queued: status.queued,
                    parallelism: status.parallelism,
                    pools: status.pools,
                    flows: status
                        .flows
                        .iter()
                        .map(|f| FlowFile {
                            id: f.id.clone(),
                            path: f.path.clone(),
                            source: f.source.clone(),
                            version: f.version.clone(),
                            commit: f.commit.clone(),
                            timezone: f.timezone.name().to_string(),
                        })
                        .collect(),
                    storage: status.storage,
                    problems,
                })
            }
            Call::Subscribe => json(true),
            Call::Report(report) => json(
                self.off_runtime("report", move |me| me.run(report.command_line()))
                    .await?,
            ),
            Call::ClearPreview(query) => {
                let found = self
                    .off_runtime("clear preview", move |me| {
                        me.commands()?.clear_preview(query)
                    })
                    .await?;
                json(found)
            }
            Call::LogTry(query) => {
                let found = self
                    .off_runtime("log lookup", move |me| me.commands()?.log_try(query))
                    .await?;
                json(found)
            }
            Call::Act(action) => {
                if read_only {
                    return Err(format!(
                        "this screen is read-only: `drover {}` is not allowed from it",
                        action.command_line().join(" ")
                    ));
                }
                json(self.off_runtime("action", move |me| me.act(action)).await?)
            }
            read => self.off_runtime("read", move |me| me.read(read)).await?,
        }
    }

    /// A flow's newest `n` runs, run count and stored pause, with the task
    /// instances of the newest `instances` runs.
    pub fn flow_runs(&self, flow: &str, n: usize, instances: usize) -> FlowRuns {
        let r = &self.reader;
        let newest = r.runs(flow, n).unwrap_or_default();
        let instances = match instances.min(newest.len()) {
            0 => Vec::new(),
            k => r.task_instances_of(&newest[..k]).unwrap_or_default(),
        };
        FlowRuns {
            flow: flow.to_string(),
            newest,
            count: r.run_count(flow),
            paused: r.paused(flow).ok().flatten(),
            instances,
        }
    }

    /// A run with its task instances and (with `task`) that task's tries.
    pub fn task_detail(&self, flow: &str, run_id: &str, task: Option<&str>) -> Option<TaskDetail> {
        let r = &self.reader;
        let run = r.run(flow, run_id).ok()??;
        let instances = r.task_instances(&run).unwrap_or_default();
        let tries = task
            .map(|t| r.tries(&run, t).unwrap_or_default())
            .unwrap_or_default();
        Some(TaskDetail {
            run,
            instances,
            tries,
        })
    }

    /// Runs `work` on a blocking thread: it reads the store or files, or
    /// runs a command, and must not hold up the runtime's threads.
    async fn off_runtime<T: Send + 'static>(
        self: &Arc<Self>,
        what: &str,
        work: impl FnOnce(&Service) -> T + Send + 'static,
    ) -> Result<T, String> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || work(&me))
            .await
            .map_err(|e| format!("the {what} failed inside the instance: {e}"))
    }

    /// drover's commands, when an instance runs here.
    fn commands(&self) -> Result<&dyn Commands, Failed> {
        self.commands.as_deref().ok_or_else(|| Failed {
            code: 1,
            message: "no instance runs here".into(),
        })
    }

    /// Answers a call that reads the store or log files.
    fn read(&self, call: Call) -> Result<Value, String> {
        let r = &self.reader;
        let store = |e: crate::store::StoreError| e.to_string();
        let run_of = |flow: &str, run: &str| -> Result<crate::store::Run, String> {
            r.run(flow, run)
                .map_err(store)?
                .ok_or_else(|| format!("flow `{flow}` has no run `{run}`"))
        };
        match call {
            Call::Runs { flow, n, before } => match before {
                None => json(r.runs(&flow, n).map_err(store)?),
                Some(before) => {
                    let before = run_of(&flow, &before)?;
                    json(r.runs_before(&flow, &before.key, n).map_err(store)?)
                }
            },
            Call::RunAtOrBefore { flow, at } => json(r.run_at_or_before(&flow, at).map_err(store)?),
            Call::RunCount { flow } => json(r.run_count(&flow)),
            Call::Run { flow, run } => json(r.run(&flow, &run).map_err(store)?),
            Call::TaskInstances { flow, runs } => {
                let mut found = Vec::with_capacity(runs.len());
                for id in &runs {
                    found.push(run_of(&flow, id)?);
                }
                json(r.task_instances_of(&found).map_err(store)?)
            }
            Call::Tries { flow, run, task } => {
                json(r.tries(&run_of(&flow, &run)?, &task).map_err(store)?)
            }
            Call::Paused { flow } => json(r.paused(&flow).map_err(store)?),
            Call::FlowRuns {
                flows,
                n,
                instances,
            } => json(
                flows
                    .iter()
                    .map(|f| self.flow_runs(f, n, instances))
                    .collect::<Vec<_>>(),
            ),
            Call::TaskDetail { flow, run, task } => {
                json(self.task_detail(&flow, &run, task.as_deref()))
            }
            Call::NewestRun { flow } => json(r.newest_run(&flow).map_err(store)?),
            Call::RunningRuns { flow } => json(r.running_runs(&flow).map_err(store)?),
            Call::FlowText { flow, version } => json(r.flow_text(&flow, &version).map_err(store)?),
            Call::TryFiles {
                flow,
                run,
                task,
                try_number,
            } => {
                let files = r.try_files(&flow, &run, &task, try_number);
                json(Files {
                    log: files.log,
                    index: files.index,
                })
            }
            Call::Log {
                flow,
                run,
                task,
                try_number,
                from,
                max,
            } => {
                let files = r.try_files(&flow, &run, &task, try_number);
                json(read_chunk(&files.log, from, max.min(MAX_LOG_CHUNK))?)
            }
            Call::LogTimes {
                flow,
                run,
                task,
                try_number,
            } => {
                let files = r.try_files(&flow, &run, &task, try_number);
                json(
                    crate::logs::chunk_times(&files)
                        .map_err(|e| format!("cannot read {}: {e}", files.index.display()))?,
                )
            }
            Call::Status
            | Call::Subscribe
            | Call::Act(_)
            | Call::Report(_)
            | Call::LogTry(_)
            | Call::ClearPreview(_) => Err("this call is answered elsewhere".into()),
        }
    }
}

fn json(value: impl Serialize) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| format!("cannot encode the answer: {e}"))
}

/// Up to `max` bytes of a file from `from` (none past its end), cut at a
/// character's end unless the file ends there; None when there is no
/// file (the try has not written yet).
pub fn read_chunk(path: &std::path::Path, from: u64, max: u64) -> Result<Option<LogChunk>, String> {
    use std::io::{Read, Seek, SeekFrom};
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot(e)),
    };
    let size = file.metadata().map_err(cannot)?.len();
    let from = from.min(size);
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(from))
        .and_then(|_| file.take(max).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if from + (bytes.len() as u64) < size {
        // A character cut at the end waits for the next read.
        let keep = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => bytes.len(),
        };
        bytes.truncate(keep.max(bytes.len().saturating_sub(3)));
    }
    Ok(Some(LogChunk {
        from,
        size,
        len: bytes.len() as u64,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }))
}
