//! Crashes and killed supervisors: `kill -9` of `drover serve` at any
//! moment loses no try and runs none twice; a killed supervisor takes its
//! task with it before the task's next try starts (real serve, real
//! supervisors, real store).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Guard, TestHome, wait_within as wait_until};
use drover::store::{Store, TaskState, Try};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// `drover serve` for the home, with extra environment.
fn serve_with_env(home: &TestHome, env: &[(&str, &str)]) -> Guard {
    let _ = std::fs::remove_file(home.path().join(".drover/drover.sock"));
    Guard(
        Command::new(env!("CARGO_BIN_EXE_drover"))
            .arg("serve")
            .env("DROVER_HOME", home.path())
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start drover serve"),
    )
}

/// Starts serve and waits (bounded) until its control socket is there.
fn serve_ready(home: &TestHome) -> Guard {
    let child = serve_with_env(home, &[]);
    wait_until(
        Duration::from_secs(30),
        "drover serve made no control socket",
        || common::listening(home.path()),
    );
    child
}

fn kill9(pid: u32) {
    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
}

/// SIGTERM to serve; its exit status within 20 s.
fn stop(mut serve: Guard) {
    serve
        .stop(Duration::from_secs(20))
        .expect("drover serve did not stop within 20 s of SIGTERM");
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The latest run of `flow` as `drover tasks --json` shows it.
fn tasks(home: &TestHome, flow: &str) -> Value {
    let out = home.drover(&["tasks", flow, "latest", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// Waits (bounded) for the latest run of `flow` to end; returns the view.
fn wait_for_run_end(home: &TestHome, flow: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let v = tasks(home, flow);
        if matches!(v["state"].as_str(), Some("success" | "failed")) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "the run of {flow} did not end within {within:?}: {v}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every try of every task of the latest run of `flow`, from the store
/// (serve must be stopped).
fn all_tries(home: &TestHome, flow: &str) -> BTreeMap<String, Vec<Try>> {
    let store = Store::open(&home.path().join(".drover/store")).expect("open store");
    let run = store.newest_run(flow).unwrap().expect("a run");
    store
        .task_instances(&run)
        .unwrap()
        .into_iter()
        .map(|ti| {
            let tries = store.tries(&run, &ti.task).unwrap();
            (ti.task, tries)
        })
        .collect()
}

fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Field `n` (1-based, as in proc(5)) of /proc/PID/stat.
fn stat_field(pid: u32, n: usize) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(") ")?;
    rest.split_whitespace().nth(n - 3).map(str::to_string)
}

fn alive(pid: u32) -> bool {
    stat_field(pid, 3).is_some_and(|s| s != "Z" && s != "X")
}

fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// The supervisor of try `prefix_end` (`TASK.TRY`) of the home, via /proc:
/// its command line has `--files` and a path in the home ending so.
fn supervisor_of(home: &Path, prefix_end: &str) -> Option<u32> {
    let home = home.to_string_lossy().into_owned();
    pids().into_iter().find(|&pid| {
        let args = cmdline(pid);
        alive(pid)
            && args.iter().any(|a| a == "--files")
            && args
                .iter()
                .any(|a| a.starts_with(&home) && a.ends_with(prefix_end))
    })
}

/// The live processes whose session is `sid` (a supervisor's: its task's).
fn session(sid: u32) -> Vec<u32> {
    pids()
        .into_iter()
        .filter(|&pid| pid != sid && alive(pid))
        .filter(|&pid| stat_field(pid, 6).is_some_and(|s| s == sid.to_string()))
        .collect()
}

/// A flow whose task notes its start, sleeps (try 1 long enough to be
/// killed on any machine, try 2 a moment), and notes its end, with one
/// retry; a run of it queued for serve. Returns the notes file.
fn sleeper(home: &TestHome) -> PathBuf {
    let marks = home.path().join("marks");
    home.flow(
        "nap",
        &format!(
            r#"
[tasks.work]
cmd = "echo start $DROVER_TRY >> {m}; if [ $DROVER_TRY = 1 ]; then sleep 120; else sleep 1; fi; echo done $DROVER_TRY >> {m}"
retries = 1
retry_delay = "0s"
"#,
            m = marks.display()
        ),
    );
    let queued = home.drover(&["trigger", "nap"]);
    assert_eq!(queued.code, 0, "{}", queued.stderr);
    marks
}

/// After try 1's supervisor was killed: waits for try 2 to start, checks
/// that nothing of try 1 was left running by then, lets the run finish and
/// checks what ran and what was recorded.
fn check_retry_after_killed_supervisor(home: &TestHome, serve: Guard, try1_task: &[u32]) {
    let marks = home.path().join("marks");
    wait_until(Duration::from_secs(60), "try 2 never started", || {
        lines(&marks).iter().any(|l| l == "start 2")
    });
    let still: Vec<u32> = try1_task.iter().copied().filter(|&p| alive(p)).collect();
    assert!(
        still.is_empty(),
        "try 1's processes {still:?} still ran when try 2 started"
    );
    let v = wait_for_run_end(home, "nap", Duration::from_secs(60));
    stop(serve);
    assert_eq!(v["state"], "success", "{v}");
    assert_eq!(
        lines(&marks),
        ["start 1", "start 2", "done 2"],
        "try 1's command must not go on after its supervisor died"
    );
    let tries = all_tries(home, "nap");
    let work = &tries["work"];
    assert_eq!(work.len(), 2, "{work:?}");
    assert_eq!(work[0].state, TaskState::Failed);
    let reason = work[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains("its supervisor died") && reason.contains("its processes were stopped"),
        "try 1's reason: {reason}"
    );
    assert_eq!(work[1].state, TaskState::Success);
}

#[test]
fn a_killed_supervisor_takes_its_task_with_it_before_the_retry() {
    let home = TestHome::new();
    let marks = sleeper(&home);
    let serve = serve_ready(&home);
    wait_until(Duration::from_secs(60), "try 1 never started", || {
        lines(&marks).iter().any(|l| l == "start 1")
    });
    let shim = supervisor_of(home.path(), "work.1").expect("try 1's supervisor");
    let task = session(shim);
    assert!(!task.is_empty(), "try 1's task has processes");
    kill9(shim);
    check_retry_after_killed_supervisor(&home, serve, &task);
}

#[test]
fn a_supervisor_killed_while_drover_was_down_has_its_task_stopped_on_restart() {
    let home = TestHome::new();
    let marks = sleeper(&home);
    let mut serve = serve_ready(&home);
    wait_until(Duration::from_secs(60), "try 1 never started", || {
        lines(&marks).iter().any(|l| l == "start 1")
    });
    let shim = supervisor_of(home.path(), "work.1").expect("try 1's supervisor");
    let task = session(shim);
    assert!(!task.is_empty(), "try 1's task has processes");
    kill9(serve.id());
    serve.wait().unwrap();
    kill9(shim);
    wait_until(
        Duration::from_secs(10),
        "the supervisor did not die",
        || !alive(shim),
    );
    assert!(
        task.iter().any(|&p| alive(p)),
        "the task runs on without its supervisor"
    );
    let serve = serve_ready(&home);
    check_retry_after_killed_supervisor(&home, serve, &task);
}

#[test]
fn a_try_recorded_running_whose_supervisor_never_started_runs_once_after_a_restart() {
    let home = TestHome::new();
    let marks = home.path().join("marks");
    home.write("drover.toml", "parallelism = 2\n");
    home.flow(
        "once",
        &format!(
            "[tasks.a]\ncmd = \"echo $DROVER_TASK $DROVER_TRY >> {m}\"\n\
             [tasks.b]\ncmd = \"echo $DROVER_TASK $DROVER_TRY >> {m}\"\n",
            m = marks.display()
        ),
    );
    assert_eq!(home.drover(&["trigger", "once"]).code, 0);
    // Serve dies (as kill -9) right after committing the tries as running,
    // before starting their supervisors.
    let mut dying = serve_with_env(&home, &[("DROVER_TEST_DIE_BEFORE_SUPERVISOR", "1")]);
    let status = dying
        .wait_within(Duration::from_secs(30))
        .expect("serve did not die before starting a supervisor");
    assert!(!status.success(), "{status}");
    let tries = all_tries(&home, "once");
    assert!(
        tries
            .values()
            .all(|t| t.len() == 1 && t[0].state == TaskState::Running),
        "both tries are recorded as running: {tries:?}"
    );
    assert!(!marks.exists(), "nothing ran");

    let serve = serve_ready(&home);
    let v = wait_for_run_end(&home, "once", Duration::from_secs(60));
    stop(serve);
    assert_eq!(v["state"], "success", "{v}");
    let ran = lines(&marks);
    for t in v["tasks"].as_array().unwrap() {
        let task = t["task"].as_str().unwrap();
        assert_eq!(t["state"], "success", "{t}");
        let want = format!("{task} {}", t["try"]);
        assert_eq!(
            ran.iter()
                .filter(|l| l.starts_with(&format!("{task} ")))
                .collect::<Vec<_>>(),
            [&want],
            "{task} ran once, as its successful try"
        );
    }
    let tries = all_tries(&home, "once");
    for (task, tries) in &tries {
        assert_eq!(
            tries.len(),
            1,
            "{task}: one try, the one that ran: {tries:?}"
        );
        assert!(tries[0].reason.is_none(), "{task}: {tries:?}");
    }
}

/// A tiny xorshift generator: random enough for kill moments, and the seed
/// is printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn a_kill_9_storm_loses_no_try_and_runs_none_twice() {
    const TASKS: usize = 400;
    const KILLS: usize = 15;
    let began = Instant::now();
    let home = TestHome::new();
    let marks = home.path().join("marks");
    home.write("drover.toml", "parallelism = 6\n");
    let mut flow = String::new();
    for i in 0..TASKS {
        flow.push_str(&format!(
            "[tasks.t{i:03}]\ncmd = \"echo $DROVER_TASK $DROVER_TRY >> {m}\"\n",
            m = marks.display()
        ));
    }
    home.flow("wide", &flow);
    assert_eq!(home.drover(&["trigger", "wide"]).code, 0);
    let seed = std::env::var("DROVER_STORM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("storm seed {seed} (DROVER_STORM_SEED replays it)");
    let mut rng = Rng(seed);
    let mut kills = 0;
    // How many tasks had run at each kill.
    let mut at = Vec::new();
    while kills < KILLS {
        let mut serve = serve_ready(&home);
        let seen = lines(&marks).len();
        if seen >= TASKS {
            stop(serve);
            break;
        }
        // Kill at a random moment: after 0 to 9 more tasks have run, and
        // a random 0 to 29 ms on top (jitter, not a wait: the socket is
        // there, so serve is at work).
        let more = rng.below(10) as usize;
        let goal = (seen + more).min(TASKS);
        wait_until(
            Duration::from_secs(60),
            "the tasks made no progress",
            || lines(&marks).len() >= goal,
        );
        std::thread::sleep(Duration::from_millis(rng.below(30)));
        kill9(serve.id());
        serve.wait().unwrap();
        kills += 1;
        at.push(lines(&marks).len());
    }
    let serve = serve_ready(&home);
    let v = wait_for_run_end(&home, "wide", Duration::from_secs(120));
    stop(serve);

    let ran = lines(&marks);
    let mut markers: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for line in &ran {
        let (task, n) = line.split_once(' ').expect("TASK TRY");
        markers
            .entry(task.to_string())
            .or_default()
            .push(n.parse().expect("a try number"));
    }
    let tries = all_tries(&home, "wide");
    let lost_never_ran: Vec<String> = tries
        .iter()
        .flat_map(|(task, tries)| {
            tries
                .iter()
                .filter(|t| t.reason.as_deref().is_some_and(|r| r.starts_with("lost")))
                .filter(|t| !markers.get(task).is_some_and(|m| m.contains(&t.number)))
                .map(move |t| format!("{task} try {}: {:?}", t.number, t.reason))
        })
        .collect();
    let twice: Vec<(&String, &Vec<u32>)> = markers.iter().filter(|(_, m)| m.len() > 1).collect();
    // A try given back leaves its number unused in the store.
    let given_back: usize = tries
        .values()
        .map(|t| t.last().map_or(0, |t| t.number as usize) - t.len())
        .sum();
    eprintln!(
        "storm: {kills} kills (after {at:?} tasks), {TASKS} tasks, {given_back} tries given back as never started, \
         {} tries lost that never ran, {} tasks run twice, {:.1} s",
        lost_never_ran.len(),
        twice.len(),
        began.elapsed().as_secs_f64()
    );
    assert!(kills >= 10, "only {kills} kills before the run ended");
    assert!(
        lost_never_ran.is_empty(),
        "tries lost that never ran: {lost_never_ran:?}"
    );
    assert!(twice.is_empty(), "tasks run more than once: {twice:?}");
    assert_eq!(v["state"], "success", "{v}");
    for t in v["tasks"].as_array().unwrap() {
        let task = t["task"].as_str().unwrap();
        assert_eq!(t["state"], "success", "{t}");
        let n = t["try"].as_u64().unwrap() as u32;
        assert_eq!(
            markers.get(task).map(Vec::as_slice),
            Some(&[n][..]),
            "{task} ran exactly once, as its successful try {n}"
        );
    }
}
