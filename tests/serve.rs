//! `drover serve`: the scheduler fires runs, restarts never duplicate one,
//! a second instance is refused, cleared runs are picked up.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Guard, TestHome};
use serde_json::Value;

fn serve(home: &TestHome) -> Guard {
    serve_with(home, &[])
}

/// `drover serve` with extra arguments.
fn serve_with(home: &TestHome, extra: &[&str]) -> Guard {
    common::serve(home, extra)
}

/// Starts serve and waits (bounded) until its control socket is there.
fn serve_ready(home: &TestHome) -> Guard {
    serve_ready_with(home, &[])
}

fn serve_ready_with(home: &TestHome, extra: &[&str]) -> Guard {
    common::serve_ready(home, extra)
}

/// SIGTERM, then the exit status (bounded wait).
fn stop(mut child: Guard) -> i32 {
    child
        .stop(Duration::from_secs(10))
        .expect("drover serve did not stop within 10 s of SIGTERM")
        .code()
        .unwrap_or(-1)
}

/// Run ids of a flow, newest first (through the socket while serve runs).
fn run_ids(home: &TestHome, flow: &str) -> Vec<String> {
    let out = home.drover(&["runs", flow, "-n", "1000", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Waits (bounded) until drover.log has `n` lines containing `text`.
fn wait_for_log(home: &TestHome, text: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log =
            std::fs::read_to_string(home.path().join(".drover/drover.log")).unwrap_or_default();
        if log.lines().filter(|l| l.contains(text)).count() >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "drover.log never had {n} lines with {text:?}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn ticks_fire_once_each_across_a_restart() {
    let home = TestHome::new();
    home.flow(
        "tick",
        "schedule = \"*/2 * * * * *\"\n[tasks.t]\ncmd = \"echo $DROVER_TS\"\n",
    );
    let first = serve(&home);
    wait_for_log(&home, "✓ run tick scheduled__", 2);
    // A second instance on the same home is refused, naming the first.
    let second = Command::new(env!("CARGO_BIN_EXE_drover"))
        .arg("serve")
        .env("DROVER_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("pid {}", first.id())) && err.contains("drover serve"),
        "{err}"
    );
    assert_eq!(stop(first), 0);
    let before = run_ids(&home, "tick");
    let again = serve(&home);
    wait_for_log(&home, "✓ run tick scheduled__", before.len() + 2);
    assert_eq!(stop(again), 0);
    let ids = run_ids(&home, "tick");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "a fire time ran twice: {ids:?}");
    assert!(ids.len() >= before.len() + 2, "{ids:?}");
    for id in &ids {
        // Fire times of `*/2` seconds: even seconds only.
        let secs: u32 = id[id.len() - 3..id.len() - 1].parse().unwrap();
        assert_eq!(secs % 2, 0, "{id}");
    }
}

#[test]
fn a_paused_flow_makes_no_runs_and_unpausing_runs_only_the_latest() {
    let home = TestHome::new();
    home.flow(
        "p",
        "schedule = \"*/1 * * * * *\"\nstart = \"2026-01-01\"\ncatchup = false\n[tasks.t]\ncmd = \"true\"\n",
    );
    // A flow ticking beside it shows the scheduler at work meanwhile.
    home.flow(
        "ctl",
        "schedule = \"*/1 * * * * *\"\n[tasks.t]\ncmd = \"true\"\n",
    );
    assert_eq!(home.drover(&["pause", "p"]).code, 0);
    let s = serve(&home);
    wait_for_log(&home, "✓ run ctl scheduled__", 2);
    assert_eq!(stop(s), 0);
    assert!(run_ids(&home, "p").is_empty(), "a paused flow ran");
    assert_eq!(home.drover(&["unpause", "p"]).code, 0);
    let s = serve(&home);
    wait_for_log(&home, "✓ run p scheduled__", 1);
    assert_eq!(stop(s), 0);
    // Without catchup, a year of missed seconds collapses into the latest.
    let ids = run_ids(&home, "p");
    assert!(!ids.is_empty() && ids.len() < 10, "{} runs", ids.len());
}

/// Lines of drover.log containing `text`, read from the file (no socket,
/// so a busy engine cannot make the reading wait).
fn log_lines(home: &TestHome, text: &str) -> Vec<String> {
    std::fs::read_to_string(home.path().join(".drover/drover.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(text))
        .map(str::to_string)
        .collect()
}

/// Unpausing a flow that missed ten years of per-second fire times, with
/// serve running: one run for the latest of them, and no stall for the
/// other flows. Before `prev_at_or_before`, serve walked every missed fire
/// time first: ~40 s optimised and minutes in a debug build, during which
/// no flow got a run.
#[test]
fn unpausing_after_a_decade_of_seconds_stalls_nothing() {
    let home = TestHome::new();
    home.flow(
        "p",
        "schedule = \"*/1 * * * * *\"\nstart = \"2016-01-01\"\ncatchup = false\npaused = true\n[tasks.t]\ncmd = \"true\"\n",
    );
    home.flow("m", "[tasks.t]\ncmd = \"true\"\n");
    let s = serve_ready(&home);
    let unpause = home.drover(&["unpause", "p"]);
    assert_eq!(unpause.code, 0, "{}", unpause.stderr);
    let unpaused = chrono::Utc::now();
    // The trigger goes in a child of its own: on a stalled engine it would
    // wait for its answer, and the bounded loop below must still fail.
    let _trigger = Guard(
        Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(["trigger", "m"])
            .env("DROVER_HOME", home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start drover trigger"),
    );
    // Generous for a loaded machine: with the fix this takes well under 1 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let p_done = !log_lines(&home, "✓ run p scheduled__").is_empty();
        let m_done = !log_lines(&home, "✓ run m manual__").is_empty();
        if p_done && m_done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "30 s after unpausing, p ran: {p_done}, m ran: {m_done}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(stop(s), 0);
    // The first run after unpausing is for the latest second, not 2016.
    let ids = run_ids(&home, "p");
    let first = ids.last().expect("p has a run");
    let logical = first
        .strip_prefix("scheduled__")
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .unwrap_or_else(|| panic!("run id {first}"));
    assert!(
        (logical - unpaused).num_seconds().abs() < 30,
        "first run {first}, unpaused at {unpaused}"
    );
    // Serve kept ticking p every second until stopped: a handful of runs,
    // each a distinct recent second.
    assert!(ids.len() < 60, "{} runs", ids.len());
}

#[test]
fn serve_picks_up_a_cleared_run() {
    let home = TestHome::new();
    let gate = home.path().join("gate");
    home.flow(
        "c",
        &format!(
            "[tasks.a]\ncmd = \"test -e {}\"\n[tasks.b]\ncmd = \"echo b\"\ndeps = [\"a\"]\n",
            gate.display()
        ),
    );
    assert_eq!(home.drover(&["test", "c"]).code, 1);
    std::fs::write(&gate, "").unwrap();
    assert_eq!(
        home.drover(&["clear", "c", "latest", "a", "--downstream"])
            .code,
        0
    );
    let s = serve(&home);
    wait_for_log(&home, "✓ run c test__", 1);
    assert_eq!(stop(s), 0);
    let out = home.drover(&["tasks", "c", "latest", "--json"]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["state"], "success");
    assert_eq!(v["tasks"][0]["try"], 2);
}

#[test]
fn a_task_outlives_a_killed_serve_and_is_adopted_by_the_next() {
    let home = TestHome::new();
    let marker = home.path().join("went");
    home.flow(
        "long",
        &format!(
            "[tasks.work]\ncmd = \"echo begin; touch {m}; sleep 4; echo done\"\n[tasks.after]\ncmd = \"echo after\"\ndeps = [\"work\"]\n",
            m = marker.display()
        ),
    );
    // A run for serve to pick up: a finished test run, cleared.
    let gate_run = home.drover(&["test", "long", "--date", "2026-01-01"]);
    assert_eq!(gate_run.code, 0, "{}", gate_run.stdout);
    assert_eq!(home.drover(&["clear", "long", "latest"]).code, 0);
    std::fs::remove_file(&marker).unwrap();
    let s = serve(&home);
    // Wait (bounded) until the task is under way, then kill serve hard.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the task never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = s.id();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut s = s;
    s.wait().unwrap();
    // A new serve adopts the running try and collects its outcome.
    let again = serve(&home);
    wait_for_log(&home, "✓ run long test__", 1);
    assert_eq!(stop(again), 0);
    // drover's log says which try it took up.
    let taken = log_lines(&home, "taken up: long test__");
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert!(
        taken[0].contains(" work try 2, running since before this start"),
        "{taken:?}"
    );
    let out = home.drover(&["tasks", "long", "latest", "--json"]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["state"], "success", "{v}");
    let work = &v["tasks"][0];
    assert_eq!(work["task"], "work");
    assert_eq!(work["state"], "success");
    assert_eq!(
        work["try"], 2,
        "one new try after the clear, none after the kill"
    );
    let log = home.drover(&["logs", "long", "latest", "work"]);
    assert_eq!(
        log.stdout, "begin\ndone\n",
        "the whole log, written while drover was down"
    );
}

#[test]
fn commands_go_through_the_socket_of_a_running_instance() {
    use std::os::unix::fs::PermissionsExt;
    let home = TestHome::new();
    home.flow(
        "m",
        "[params]\nn = \"1\"\n[tasks.a]\ncmd = \"echo a $DROVER_PARAM_N\"\n[tasks.b]\ncmd = \"test -e gate && echo b\"\ndeps = [\"a\"]\n",
    );
    let s = serve(&home);
    let socket = home.path().join(".drover/drover.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "no control socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A waited trigger streams transitions and exits with the run's outcome.
    let waited = home.drover(&["trigger", "m", "-p", "n=7", "--wait"]);
    assert_eq!(waited.code, 1, "{}{}", waited.stdout, waited.stderr);
    assert!(
        waited.stdout.contains("✗ b  failed (exit status 1)"),
        "{}",
        waited.stdout
    );
    // Reads see the instance's store (no "in use" refusal).
    let tasks = home.drover(&["tasks", "m", "latest", "--json"]);
    assert_eq!(tasks.code, 0, "{}", tasks.stderr);
    let v: Value = serde_json::from_str(&tasks.stdout).unwrap();
    assert_eq!(v["tasks"][1]["state"], "failed");
    assert_eq!(home.drover(&["logs", "m", "latest", "a"]).stdout, "a 7\n");
    // A clear is taken up by the instance at once.
    std::fs::write(home.path().join("gate"), "").unwrap();
    let cleared = home.drover(&["clear", "m", "latest", "b"]);
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v: Value =
            serde_json::from_str(&home.drover(&["tasks", "m", "latest", "--json"]).stdout).unwrap();
        if v["state"] == "success" {
            assert_eq!(v["tasks"][1]["try"], 2);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cleared task never ran again: {v}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // `drover test` with an instance running: the instance runs it.
    let test = home.drover(&["test", "m"]);
    assert_eq!(test.code, 0, "{}{}", test.stdout, test.stderr);
    assert!(test.stdout.contains("✓ success"), "{}", test.stdout);
    // Usage errors come back as such.
    assert_eq!(home.drover(&["tasks", "m"]).code, 2);
    assert_eq!(home.drover(&["tasks", "nope", "latest"]).code, 3);
    assert_eq!(stop(s), 0);
    assert!(!socket.exists(), "serve removes its socket");
}

#[test]
fn a_stale_socket_does_not_stop_commands() {
    let home = TestHome::new();
    home.flow("f", "[tasks.a]\ncmd = \"true\"\n");
    std::fs::create_dir_all(home.path().join(".drover")).unwrap();
    // A socket file nobody listens on (left by a crash).
    let listener =
        std::os::unix::net::UnixListener::bind(home.path().join(".drover/drover.sock")).unwrap();
    drop(listener);
    let run = home.drover(&["test", "f"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(home.drover(&["runs", "f"]).code, 0);
}

#[test]
fn flow_files_reload_and_a_broken_one_keeps_its_last_good_version() {
    let home = TestHome::new();
    let gate = home.path().join("gate");
    home.flow(
        "r",
        &format!(
            "[tasks.one]\ncmd = \"while [ ! -e {} ]; do sleep 0.05; done; echo v1\"\n",
            gate.display()
        ),
    );
    let s = serve_ready(&home);
    // A run under way keeps the version it started with.
    let first = home.drover(&["trigger", "r"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    home.flow(
        "r",
        "[tasks.one]\ncmd = \"echo v2\"\n[tasks.two]\ncmd = \"echo two\"\ndeps = [\"one\"]\n",
    );
    wait_for_log(&home, "flow `r` loaded", 1);
    std::fs::write(&gate, "").unwrap();
    wait_for_log(&home, "✓ run r manual__", 1);
    let old = home.drover(&["tasks", "r", "latest", "--json"]);
    let v: Value = serde_json::from_str(&old.stdout).unwrap();
    assert_eq!(
        v["tasks"].as_array().unwrap().len(),
        1,
        "the first run kept its one task: {v}"
    );
    assert_eq!(home.drover(&["logs", "r", "latest", "one"]).stdout, "v1\n");
    // New runs use the new version.
    let second = home.drover(&["trigger", "r", "--wait"]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert_eq!(home.drover(&["logs", "r", "latest", "two"]).stdout, "two\n");
    // A broken edit keeps the last good version in use, and says why.
    home.flow(
        "r",
        "[tasks.one]\ncmd = \"echo v3\"\ndeps = [\"missing\"]\n",
    );
    wait_for_log(
        &home,
        "flow `r` does not validate; its last good version stays in use",
        1,
    );
    let third = home.drover(&["trigger", "r", "--wait"]);
    assert_eq!(third.code, 0, "{}{}", third.stdout, third.stderr);
    assert_eq!(home.drover(&["logs", "r", "latest", "one"]).stdout, "v2\n");
    let list = home.drover(&["list"]);
    assert!(
        list.stdout.lines().any(|l| l.starts_with("r ")),
        "the last good version is listed: {}",
        list.stdout
    );
    assert!(
        list.stdout
            .contains("r (its last good version stays in use)"),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout.contains("unknown task `missing`"),
        "{}",
        list.stdout
    );
    assert_eq!(stop(s), 0);
}

#[test]
fn backfill_and_kill() {
    let home = TestHome::new();
    home.flow(
        "b",
        "schedule = \"@daily\"\npaused = true\nmax_active_runs = 2\n[tasks.t]\ncmd = \"echo $DROVER_DS\"\n",
    );
    home.flow(
        "k",
        "[tasks.t]\ncmd = \"echo started; sleep 30\"\nretries = 2\n",
    );
    // Without an instance: the runs are queued for serve.
    let queued = home.drover(&[
        "backfill",
        "b",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-03",
    ]);
    assert_eq!(queued.code, 0, "{}", queued.stderr);
    assert!(
        queued.stdout.starts_with("3 backfill runs of `b` queued"),
        "{}",
        queued.stdout
    );
    let again = home.drover(&[
        "backfill",
        "b",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-03",
    ]);
    assert!(
        again
            .stdout
            .contains("0 backfill runs of `b` queued (3 already there)"),
        "{}",
        again.stdout
    );
    let s = serve(&home);
    wait_for_log(&home, "✓ run b backfill__", 3);
    let ids = run_ids(&home, "b");
    assert_eq!(
        ids,
        [
            "backfill__2026-01-03T00:00:00Z",
            "backfill__2026-01-02T00:00:00Z",
            "backfill__2026-01-01T00:00:00Z"
        ]
    );
    assert_eq!(
        home.drover(&["logs", "b", "backfill__2026-01-02T00:00:00Z", "t"])
            .stdout,
        "2026-01-02\n"
    );

    // Kill a running try through the instance: it fails, without retry.
    assert_eq!(home.drover(&["trigger", "k"]).code, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while home.drover(&["logs", "k", "latest", "t"]).stdout != "started\n" {
        assert!(Instant::now() < deadline, "k never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = home.drover(&["kill", "k", "latest", "t"]);
    assert_eq!(killed.code, 0, "{}", killed.stderr);
    wait_for_log(&home, "✗ run k manual__", 1);
    let v: Value =
        serde_json::from_str(&home.drover(&["tasks", "k", "latest", "--json"]).stdout).unwrap();
    assert_eq!(v["tasks"][0]["state"], "failed");
    assert_eq!(v["tasks"][0]["try"], 1, "a killed try is not retried");
    assert_eq!(v["tasks"][0]["reason"], "killed by hand");
    assert_eq!(
        home.drover(&["kill", "k", "latest", "t"]).code,
        1,
        "nothing left to kill"
    );
    assert_eq!(stop(s), 0);
}

#[test]
fn marking_a_running_try_stops_it() {
    let home = TestHome::new();
    let pidfile = home.path().join("t.pid");
    home.flow(
        "m",
        &format!(
            "[tasks.t]\ncmd = \"echo $$ > {}; exec sleep 30\"\n",
            pidfile.display()
        ),
    );
    let s = serve_ready(&home);
    let deadline = Instant::now() + Duration::from_secs(20);
    assert_eq!(home.drover(&["trigger", "m"]).code, 0);
    while !std::fs::read_to_string(&pidfile).is_ok_and(|p| !p.trim().is_empty()) {
        assert!(Instant::now() < deadline, "the task never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let marked = home.drover(&["mark", "m", "latest", "t", "failed"]);
    assert_eq!(marked.code, 0, "{}", marked.stderr);
    // The process goes (SIGTERM), and the try is recorded as ended.
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z")
    {
        assert!(
            Instant::now() < deadline,
            "the marked task {pid} kept running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    loop {
        let v: Value =
            serde_json::from_str(&home.drover(&["tasks", "m", "latest", "--json"]).stdout).unwrap();
        if !v["tasks"][0]["ended"].is_null() {
            assert_eq!(v["tasks"][0]["state"], "failed");
            assert_eq!(v["tasks"][0]["note"], "marked failed by hand");
            break;
        }
        assert!(Instant::now() < deadline, "the try never ended: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(stop(s), 0);
}

#[test]
fn drover_toml_reloads_while_serve_runs() {
    let home = TestHome::new();
    home.write("drover.toml", "parallelism = 2\n");
    home.flow("p", "[tasks.t]\ncmd = \"echo on gpu\"\npool = \"gpu\"\n");
    let s = serve_ready(&home);
    // The flow needs a pool drover.toml does not declare yet.
    assert_eq!(home.drover(&["trigger", "p"]).code, 1);
    home.write("drover.toml", "parallelism = 2\n[pools]\ngpu = 1\n");
    wait_for_log(&home, "drover.toml loaded: new settings in use", 1);
    wait_for_log(&home, "flow `p` loaded", 1);
    let run = home.drover(&["trigger", "p", "--wait"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // A broken drover.toml changes nothing, and says so.
    home.write("drover.toml", "parallelism = \n");
    wait_for_log(
        &home,
        "the settings in use stay until drover.toml is fixed",
        1,
    );
    assert_eq!(
        home.drover(&["trigger", "p", "--wait"]).code,
        1,
        "trigger checks drover.toml too"
    );
    assert_eq!(stop(s), 0);
}

#[test]
fn serve_with_stop_tasks_stops_and_records_them() {
    let home = TestHome::new();
    home.flow(
        "s",
        "[tasks.t]\ncmd = \"echo started; sleep 30\"\nretries = 3\n[tasks.after]\ncmd = \"true\"\ndeps = [\"t\"]\n",
    );
    let child = serve_ready_with(&home, &["--stop-tasks"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    assert_eq!(home.drover(&["trigger", "s"]).code, 0);
    while home.drover(&["logs", "s", "latest", "t"]).stdout != "started\n" {
        assert!(Instant::now() < deadline, "the task never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(stop(child), 0);
    let v: Value =
        serde_json::from_str(&home.drover(&["tasks", "s", "latest", "--json"]).stdout).unwrap();
    let t = &v["tasks"][0];
    assert_eq!(t["state"], "failed", "{v}");
    assert_eq!(t["try"], 1, "stopped on purpose: no retry");
    assert_eq!(t["reason"], "stopped: drover was told to stop its tasks");
    assert!(!t["ended"].is_null());
    // What that decides downstream is recorded before serve exits.
    assert_eq!(v["tasks"][1]["state"], "upstream_failed", "{v}");
    assert_eq!(v["state"], "failed", "{v}");
}

#[test]
fn serve_detach_runs_in_the_background_until_drover_stop() {
    let home = TestHome::new();
    home.flow("f", "[tasks.t]\ncmd = \"true\"\n");
    let started = home.drover(&["serve", "--detach"]);
    assert_eq!(started.code, 0, "{}{}", started.stdout, started.stderr);
    assert!(
        started.stdout.contains("runs in the background (pid "),
        "{}",
        started.stdout
    );
    // It answers at once: the command returned only once it did.
    let t = home.drover(&["trigger", "f", "--wait"]);
    assert_eq!(t.code, 0, "{}{}", t.stdout, t.stderr);
    let again = home.drover(&["serve", "--detach"]);
    assert_eq!(again.code, 1, "{}{}", again.stdout, again.stderr);
    assert!(
        again.stderr.contains("runs on this home already"),
        "{}",
        again.stderr
    );
    let stopped = home.drover(&["stop"]);
    assert_eq!(stopped.code, 0, "{}{}", stopped.stdout, stopped.stderr);
    assert!(
        stopped.stdout.contains("stopped drover (pid "),
        "{}",
        stopped.stdout
    );
    // Gone: nothing answers, and stopping again says there is nothing.
    assert!(!home.path().join(".drover/drover.sock").exists());
    let idle = home.drover(&["stop"]);
    assert_eq!(idle.code, 0, "{}{}", idle.stdout, idle.stderr);
    assert!(idle.stderr.contains("nothing to stop"), "{}", idle.stderr);
}

#[test]
fn a_client_waiting_through_a_quiet_spell_stays_connected() {
    let home = TestHome::new();
    // Nothing happens for 7 s while the command waits for the run.
    home.flow("slow", "[tasks.t]\ncmd = \"sleep 7\"\n");
    let _serve = common::serve_ready(&home, &[]);
    let t = home.drover_within(Duration::from_secs(120), &["trigger", "slow", "--wait"]);
    assert_eq!(t.code, 0, "{}{}", t.stdout, t.stderr);
    assert!(t.stdout.contains("✓ success"), "{}", t.stdout);
}
