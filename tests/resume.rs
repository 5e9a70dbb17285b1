//! The engine as a library: a cleared run is picked up by the next engine
//! and only the cleared tasks run again (real processes, real store).

mod common;

use std::path::Path;
use std::time::Duration;

use common::TestHome;
use drover::engine::{Engine, EngineEvent};
use drover::home::Home;
use drover::store::{RunState, Store};

fn store(home: &Path) -> Store {
    Store::open(&home.join(".drover/store")).expect("open store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleared_run_resumes_and_reruns_only_what_was_cleared() {
    let home = TestHome::new();
    let gate = home.path().join("gate");
    home.flow(
        "chain",
        &format!(
            r#"
[tasks.a]
cmd = "echo a"
[tasks.b]
cmd = "test -e {gate} && echo b"
deps = ["a"]
[tasks.c]
cmd = "echo c"
deps = ["b"]
[tasks.d]
cmd = "echo d"
"#,
            gate = gate.display()
        ),
    );
    // First run: b fails, so c is upstream_failed.
    let first = home.drover(&["test", "chain"]);
    assert_eq!(first.code, 1, "{}", first.stdout);
    let cleared = home.drover(&["clear", "chain", "latest", "b", "--downstream"]);
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    std::fs::write(&gate, "").unwrap();

    let loaded = Home::load(home.path()).unwrap();
    let root = std::fs::canonicalize(home.path()).unwrap();
    let mut engine = Engine::new(
        root,
        loaded.config.clone(),
        loaded.flows.clone(),
        store(home.path()),
    )
    .with_supervisor_program(env!("CARGO_BIN_EXE_drover").into());
    engine.resume().unwrap();
    let (handle, join) = engine.spawn();
    let mut events = handle.subscribe();
    // Wait (bounded) for the run to finish.
    let finished = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await {
                Ok(EngineEvent::RunChanged { state, .. }) if state.is_done() => return state,
                Ok(_) => {}
                Err(e) => panic!("events: {e}"),
            }
        }
    })
    .await
    .expect("the resumed run finished within 30 s");
    assert_eq!(finished, RunState::Success);
    handle.shutdown().await;
    join.await.unwrap().unwrap();

    let view = home.drover(&["tasks", "chain", "latest", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&view.stdout).unwrap();
    let tries: Vec<(String, u64, String)> = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["task"].as_str().unwrap().to_string(),
                t["try"].as_u64().unwrap(),
                t["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = |t: &str, n: u64| (t.to_string(), n, "success".to_string());
    assert_eq!(
        tries,
        [
            expect("a", 1),
            expect("b", 2),
            expect("c", 1),
            expect("d", 1)
        ]
    );
    // b's first try and its log are kept beside the second.
    let first_log = home.drover(&["logs", "chain", "latest", "b", "--try", "1"]);
    assert_eq!(first_log.code, 0);
    let second = home.drover(&["logs", "chain", "latest", "b"]);
    assert_eq!(second.stdout, "b\n");
}
