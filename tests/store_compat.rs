//! Stores written by each released schema must keep opening. The fixture
//! under tests/fixtures/store-v1 was written by schema 1: a test run of a flow
//! `fixture` whose `produce` task wrote an output and whose `fail` task failed
//! twice.

use std::path::Path;

use drover::store::{RunKind, RunState, Store, TaskState};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_schema_1_store_opens_and_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1"),
        &path,
    );
    let store = Store::open(&path).expect("the schema 1 fixture opens");
    let runs = store.latest_runs("fixture", 10).unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!((run.kind, run.state), (RunKind::Test, RunState::Failed));
    assert_eq!(run.logical.to_rfc3339(), "2026-01-02T00:00:00+00:00");
    assert_eq!(run.params["n"], "1");
    let tis = store.task_instances(run).unwrap();
    let states: Vec<(&str, TaskState, u32)> = tis
        .iter()
        .map(|t| (t.task.as_str(), t.state, t.tries))
        .collect();
    assert_eq!(
        states,
        [
            ("fail", TaskState::Failed, 2),
            ("produce", TaskState::Success, 1)
        ]
    );
    let tries = store.tries(run, "produce").unwrap();
    assert_eq!(tries[0].outputs["rows"], "7");
    let failed = store.tries(run, "fail").unwrap();
    assert_eq!(
        failed.iter().map(|t| t.exit_code).collect::<Vec<_>>(),
        [Some(2), Some(2)]
    );
    assert!(store.run("fixture", &run.id).unwrap().is_some());
}
