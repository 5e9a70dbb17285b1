//! A home with runs written straight into a real store, for drawing the
//! TUI's views with known data (tests and the render benchmark).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use drover::engine::{Reader, Status};
use drover::flow::Flow;
use drover::store::{Run, RunKind, RunState, Store, TaskInstance, TaskState, Try};
use drover::tui::app::App;
use drover::tui::theme::Theme;

/// Midday on 2026-12-01: "now" for every view drawn here.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

pub const ETL: &str = r#"
description = "Daily ETL"
schedule = "0 3 * * *"
tags = ["etl"]
[params]
source = "events"
[tasks.extract]
cmd = "echo extract"
[tasks.clean_a]
cmd = "echo a"
deps = ["extract"]
[tasks.clean_b]
cmd = "echo b"
deps = ["extract"]
retries = 2
[tasks.load]
cmd = "echo load"
deps = ["clean_a", "clean_b"]
[tasks.report]
cmd = "echo report"
deps = ["load"]
"#;

/// Opens the home's store and loads its flows.
pub fn open(dir: &Path) -> (Store, Vec<Arc<Flow>>) {
    let home = drover::home::Home::load(dir).expect("load home");
    assert!(
        home.broken.is_empty(),
        "fixture flows validate: {:?}",
        home.broken.first().map(|b| &b.errors)
    );
    let store = Store::open(&dir.join(".drover/store")).expect("open store");
    (store, home.flows.into_iter().map(Arc::new).collect())
}

/// Stores a run of `flow` at `logical` whose tasks are in `states`
/// (tasks not named stay pending), started at `logical` and lasting `secs`
/// (None: still running).
pub fn add_run(
    store: &Store,
    flow: &Flow,
    logical: DateTime<Utc>,
    state: RunState,
    secs: Option<i64>,
    states: &[(&str, TaskState, u32)],
) -> Run {
    let mut run = Run {
        flow: flow.id.clone(),
        id: format!("scheduled__{}", logical.format("%Y-%m-%dT%H:%M:%SZ")),
        kind: RunKind::Scheduled,
        logical,
        state,
        params: flow.params.clone(),
        created: logical,
        started: Some(logical),
        ended: secs.map(|s| logical + Duration::seconds(s)),
        flow_version: None,
        commit: None,
        key: Default::default(),
    };
    let tasks: Vec<(String, u32)> = flow
        .tasks
        .iter()
        .map(|t| (t.id.clone(), t.retries + 1))
        .collect();
    store.create_run(&mut run, &tasks).expect("create run");
    for (task, s, tries) in states {
        let max_tries = flow.task(task).map_or(1, |t| t.retries + 1);
        let ti = TaskInstance {
            task: task.to_string(),
            state: *s,
            tries: *tries,
            max_tries,
            retry_at: None,
            updated: logical,
            note: None,
        };
        store.put_task_instance(&run, &ti).expect("put instance");
        for n in 1..=*tries {
            let last = n == *tries;
            let mut t = Try::started(n, logical + Duration::seconds(i64::from(n)));
            if !(last && *s == TaskState::Running) {
                t.state = if last && *s != TaskState::UpForRetry {
                    *s
                } else {
                    TaskState::Failed
                };
                t.ended = Some(t.started + Duration::seconds(2));
                t.exit_code = Some(if t.state == TaskState::Success { 0 } else { 1 });
            }
            if last && *s == TaskState::Success {
                t.outputs = BTreeMap::from([("rows".to_string(), "200".to_string())]);
            }
            store.put_try(&run, task, &t).expect("put try");
        }
    }
    store.commit().expect("commit");
    run
}

/// A status as the engine would give it for these flows.
pub fn status(flows: &[Arc<Flow>], running: usize) -> Status {
    Status {
        running,
        queued: 0,
        parallelism: 4,
        pools: vec![("gpu".to_string(), 0, 1)],
        flows: flows.to_vec(),
        storage: None,
    }
}

/// An app on the default theme (colours on, whatever NO_COLOR says), at
/// `now()`, on a `width`×`height` screen.
pub fn app(store: &Store, flows: &[Arc<Flow>], running: usize, width: u16, height: u16) -> App {
    let theme = Theme::builtin("default").expect("built-in default theme");
    let mut app = App::new(
        drover::api::Source::reader(Reader::new(store.clone())),
        vec![theme],
        "default",
        Vec::new(),
    );
    app.ctx.now = now();
    (app.ctx.width, app.ctx.height) = (width, height);
    app.set_status(status(flows, running), Default::default());
    app.refresh_flows();
    app
}
