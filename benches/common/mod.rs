//! What the benches that run the real binary share: a copy of the example
//! home, memory readings and a store filled with runs.
#![allow(dead_code)]

use std::path::Path;

use chrono::Utc;
use drover::store::{Run, RunKey, RunKind, RunState, Store};

/// The median of some readings.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Resident memory of a process, in KiB (0 when it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The repository's drover.toml and flows/ copied into `dir`.
pub fn example_home(dir: &Path) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::copy(repo.join("drover.toml"), dir.join("drover.toml")).unwrap();
    for entry in std::fs::read_dir(repo.join("flows")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join("flows").join(entry.file_name())).unwrap();
    }
}

/// Stores `n` finished manual runs of the example `ml_pipeline`, one a
/// minute back from now (every ninth failed).
pub fn store_runs(home: &Path, n: i64) {
    let store = Store::open(&home.join(".drover/store")).unwrap();
    let tasks: Vec<(String, u32)> = [
        "prepare",
        "train_small",
        "train_large",
        "evaluate",
        "deploy",
    ]
    .iter()
    .map(|t| (t.to_string(), 1))
    .collect();
    for i in 0..n {
        let logical = Utc::now() - chrono::Duration::minutes(i);
        let mut run = Run {
            flow: "ml_pipeline".into(),
            id: format!("manual__{i}"),
            kind: RunKind::Manual,
            logical,
            state: if i % 9 == 0 {
                RunState::Failed
            } else {
                RunState::Success
            },
            params: Default::default(),
            created: logical,
            started: Some(logical),
            ended: Some(logical + chrono::Duration::seconds(30 + i % 60)),
            flow_version: None,
            commit: None,
            key: RunKey::default(),
        };
        store.create_run(&mut run, &tasks).unwrap();
    }
    store.flush().unwrap();
}
