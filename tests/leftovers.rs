//! A failing test leaves no process behind: its home's `Drop` kills serve,
//! the supervisors and the tasks still working on it.

mod common;

use std::path::PathBuf;

use common::{TestHome, serve_ready, wait_until};

/// Pids of processes whose command line or environment names `home`.
fn processes_of(home: &std::path::Path) -> Vec<u32> {
    let needle = home.as_os_str().as_encoded_bytes().to_vec();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let read = |f: &str| std::fs::read(format!("/proc/{pid}/{f}")).unwrap_or_default();
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')));
            !zombie
                && [read("cmdline"), read("environ")]
                    .iter()
                    .any(|b| b.windows(needle.len()).any(|w| w == needle.as_slice()))
        })
        .collect()
}

#[test]
fn a_test_that_panics_leaves_no_serve_supervisor_or_task_running() {
    let path: std::sync::Arc<std::sync::Mutex<Option<PathBuf>>> = Default::default();
    let seen = path.clone();
    let outcome = std::panic::catch_unwind(move || {
        let home = TestHome::new();
        *seen.lock().unwrap() = Some(home.path().to_path_buf());
        home.flow("long", "[tasks.a]\ncmd = \"echo started; sleep 300\"\n");
        let serve = serve_ready(&home, &[]);
        let out = home.drover(&["trigger", "long"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        wait_until("the task to run", || {
            home.drover(&["tasks", "long", "latest"])
                .stdout
                .contains("running")
        });
        // serve, its supervisor and `sleep 300` are running now.
        std::mem::forget(serve); // not even the serve guard gets to clean up
        panic!("the test fails here");
    });
    assert!(outcome.is_err());
    let home = path.lock().unwrap().clone().unwrap();
    let left = processes_of(&home);
    assert!(left.is_empty(), "left running: {left:?}");
}
