//! The engine with real child processes and a real sled store, driven through
//! `drover test` and the other commands of the real binary.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Run, TestHome};
use serde_json::Value;

/// `drover tasks FLOW latest --json`, parsed.
fn tasks(home: &TestHome, flow: &str) -> Value {
    let run = home.drover(&["tasks", flow, "latest", "--json"]);
    assert_eq!(run.code, 0, "tasks: {}", run.stderr);
    serde_json::from_str(&run.stdout).expect("tasks --json is JSON")
}

fn task<'a>(view: &'a Value, id: &str) -> &'a Value {
    view["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == id)
        .unwrap_or_else(|| panic!("no task {id} in {view}"))
}

fn state<'a>(view: &'a Value, id: &str) -> &'a str {
    task(view, id)["state"].as_str().unwrap()
}

fn log(home: &TestHome, flow: &str, task: &str, try_number: Option<u32>) -> String {
    let n = try_number.map(|n| n.to_string());
    let mut args = vec!["logs", flow, "latest", task];
    if let Some(n) = &n {
        args.extend(["--try", n]);
    }
    let run = home.drover(&args);
    assert_eq!(run.code, 0, "logs: {}", run.stderr);
    run.stdout
}

/// Whether any log of the flow's runs holds `text` (read straight from disk).
fn logs_contain(home: &TestHome, flow: &str, text: &str) -> bool {
    let dir = home.path().join(".drover/logs").join(flow);
    let Ok(runs) = std::fs::read_dir(dir) else {
        return false;
    };
    runs.filter_map(Result::ok).any(|run| {
        std::fs::read_dir(run.path()).is_ok_and(|files| {
            files
                .filter_map(Result::ok)
                .any(|f| std::fs::read_to_string(f.path()).is_ok_and(|t| t.contains(text)))
        })
    })
}

fn test_flow(home: &TestHome, flow: &str, args: &[&str]) -> Run {
    let mut all = vec!["test", flow];
    all.extend_from_slice(args);
    home.drover(&all)
}

#[test]
fn outputs_pass_through_templates_and_env() {
    let home = TestHome::new();
    home.flow(
        "pass",
        r#"
[params]
n = "3"
[tasks.produce]
cmd = "echo rows=$(( {{ params.n }} * 2 )) >> $DROVER_OUTPUT; echo 'path=/data/a b' >> $DROVER_OUTPUT"
[tasks.middle]
cmd = "true"
deps = ["produce"]
[tasks.consume]
cmd = "echo template={{ outputs.produce.rows }} env=$DROVER_IN_PRODUCE_ROWS path={{ outputs.produce.path }}; echo flow=$DROVER_FLOW task=$DROVER_TASK try=$DROVER_TRY ds=$DROVER_DS param=$DROVER_PARAM_N run={{ run_id }}"
deps = ["middle"]
"#,
    );
    let run = test_flow(&home, "pass", &["-p", "n=21", "--date", "2026-03-04"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let view = tasks(&home, "pass");
    assert_eq!(task(&view, "produce")["outputs"]["rows"], "42");
    let text = log(&home, "pass", "consume", None);
    let run_id = view["run_id"].as_str().unwrap();
    assert_eq!(
        text,
        format!(
            "template=42 env=42 path=/data/a b\nflow=pass task=consume try=1 ds=2026-03-04 param=21 run={run_id}\n"
        )
    );
}

#[test]
fn parameters_are_never_run_as_shell() {
    let home = TestHome::new();
    let marker = home.path().join("pwned");
    home.flow(
        "inject",
        "[params]\nname = \"x\"\n[tasks.greet]\ncmd = \"echo hello {{ params.name }}\"\n",
    );
    let evil = format!(
        "name=$(touch {}); `touch {}` x",
        marker.display(),
        marker.display()
    );
    let run = test_flow(&home, "inject", &["-p", &evil]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        log(&home, "inject", "greet", None),
        format!(
            "hello $(touch {}); `touch {}` x\n",
            marker.display(),
            marker.display()
        )
    );
    assert!(!marker.exists(), "the parameter ran as a command");
}

#[test]
fn every_trigger_rule_decides_with_real_outcomes() {
    let home = TestHome::new();
    home.flow(
        "rules",
        r#"
[tasks.ok]
cmd = "true"
[tasks.bad]
cmd = "exit 3"
[tasks.skip]
cmd = "exit 99"
[tasks.all_success]
cmd = "true"
deps = ["ok", "bad"]
[tasks.after_skip]
cmd = "true"
deps = ["ok", "skip"]
[tasks.all_done]
cmd = "true"
deps = ["ok", "bad"]
trigger = "all_done"
[tasks.all_failed]
cmd = "true"
deps = ["bad"]
trigger = "all_failed"
[tasks.all_failed_no]
cmd = "true"
deps = ["bad", "ok"]
trigger = "all_failed"
[tasks.one_success]
cmd = "true"
deps = ["ok", "bad"]
trigger = "one_success"
[tasks.one_failed]
cmd = "true"
deps = ["ok", "bad"]
trigger = "one_failed"
[tasks.one_failed_no]
cmd = "true"
deps = ["ok", "skip"]
trigger = "one_failed"
[tasks.none_failed]
cmd = "true"
deps = ["ok", "skip"]
trigger = "none_failed"
[tasks.none_failed_no]
cmd = "true"
deps = ["ok", "bad"]
trigger = "none_failed"
[tasks.cascade]
cmd = "true"
deps = ["all_success"]
"#,
    );
    let run = test_flow(&home, "rules", &[]);
    assert_eq!(
        run.code, 1,
        "a run with a failed task fails\n{}",
        run.stdout
    );
    let view = tasks(&home, "rules");
    let expected = [
        ("ok", "success"),
        ("bad", "failed"),
        ("skip", "skipped"),
        ("all_success", "upstream_failed"),
        ("after_skip", "skipped"),
        ("all_done", "success"),
        ("all_failed", "success"),
        ("all_failed_no", "skipped"),
        ("one_success", "success"),
        ("one_failed", "success"),
        ("one_failed_no", "skipped"),
        ("none_failed", "success"),
        ("none_failed_no", "upstream_failed"),
        ("cascade", "upstream_failed"),
    ];
    for (id, want) in expected {
        assert_eq!(state(&view, id), want, "task {id}");
    }
    assert_eq!(view["state"], "failed");
    assert_eq!(task(&view, "bad")["exit_code"], 3);
    // The failed task's log tail is shown at the end.
    assert!(run.stdout.contains("── bad try 1"), "{}", run.stdout);
}

#[test]
fn a_retry_then_success_keeps_both_tries_and_logs() {
    let home = TestHome::new();
    let counter = home.path().join("count");
    home.flow(
        "flaky",
        &format!(
            r#"
[tasks.flaky]
cmd = "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; echo attempt $n; [ $n -ge 2 ]"
retries = 2
retry_delay = "200ms"
"#,
            c = counter.display()
        ),
    );
    let run = test_flow(&home, "flaky", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("↻ flaky  up_for_retry (try 1: exit status 1)"),
        "{}",
        run.stdout
    );
    let view = tasks(&home, "flaky");
    assert_eq!(task(&view, "flaky")["try"], 2);
    assert_eq!(task(&view, "flaky")["max_tries"], 3);
    assert_eq!(log(&home, "flaky", "flaky", Some(1)), "attempt 1\n");
    assert_eq!(log(&home, "flaky", "flaky", Some(2)), "attempt 2\n");
}

fn alive(pid: i32) -> bool {
    // Zombies count as gone: read the state from /proc.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .split(") ")
            .nth(1)
            .is_some_and(|rest| rest.starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let home = TestHome::new();
    let pidfile = home.path().join("bg.pid");
    home.flow(
        "slow",
        &format!(
            "[tasks.slow]\ncmd = \"sleep 300 & echo $! > {}; echo started; sleep 300\"\ntimeout = \"1s\"\n",
            pidfile.display()
        ),
    );
    let started = Instant::now();
    let run = test_flow(&home, "slow", &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let view = tasks(&home, "slow");
    assert_eq!(state(&view, "slow"), "failed");
    assert_eq!(task(&view, "slow")["reason"], "timed out after 1s");
    let text = log(&home, "slow", "slow", None);
    assert!(
        text.starts_with("started\n[drover] timed out after 1s: sending SIGTERM"),
        "{text}"
    );
    let bg: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(bg) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alive(bg),
        "background process {bg} of the timed-out task survived"
    );
}

#[test]
fn exit_99_skips_and_skips_all_success_downstream() {
    let home = TestHome::new();
    home.flow(
        "skips",
        "[tasks.check]\ncmd = \"echo nothing new; exit 99\"\n[tasks.load]\ncmd = \"true\"\ndeps = [\"check\"]\n",
    );
    let run = test_flow(&home, "skips", &[]);
    assert_eq!(
        run.code, 0,
        "skipped tasks make a successful run\n{}",
        run.stdout
    );
    let view = tasks(&home, "skips");
    assert_eq!(state(&view, "check"), "skipped");
    assert_eq!(state(&view, "load"), "skipped");
    assert_eq!(view["state"], "success");
}

#[test]
fn stdout_and_stderr_interleave_in_order() {
    let home = TestHome::new();
    home.flow(
        "mix",
        "[tasks.mix]\ncmd = \"echo one; echo two >&2; echo three; echo four >&2\"\n",
    );
    assert_eq!(test_flow(&home, "mix", &[]).code, 0);
    assert_eq!(log(&home, "mix", "mix", None), "one\ntwo\nthree\nfour\n");
}

#[test]
fn tasks_that_cannot_start_fail_with_the_reason_in_their_log() {
    let home = TestHome::new();
    home.flow(
        "broken",
        "[tasks.nowhere]\ncmd = \"true\"\nworkdir = \"missing/dir\"\n[tasks.novenv]\ncmd = \"true\"\nvenv = \"envs/none\"\n",
    );
    let run = test_flow(&home, "broken", &[]);
    assert_eq!(run.code, 1);
    let view = tasks(&home, "broken");
    assert_eq!(state(&view, "nowhere"), "failed");
    let text = log(&home, "broken", "nowhere", None);
    assert!(
        text.contains("[drover] cannot start: workdir")
            && text.contains("missing/dir does not exist"),
        "{text}"
    );
    let text = log(&home, "broken", "novenv", None);
    assert!(
        text.contains("venv") && text.contains("envs/none not found"),
        "{text}"
    );
    assert!(
        task(&view, "novenv")["reason"]
            .as_str()
            .unwrap()
            .starts_with("cannot start: venv")
    );
}

#[test]
fn venv_puts_its_python_first() {
    let home = TestHome::new();
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(home.path().join("envs/train"))
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED venv_puts_its_python_first: python3 -m venv is not available here");
        return;
    }
    home.flow(
        "py",
        "[tasks.which]\ncmd = \"python -c 'import sys; print(sys.prefix)'; echo $VIRTUAL_ENV\"\nvenv = \"envs/train\"\n",
    );
    let run = test_flow(&home, "py", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let venv = std::fs::canonicalize(home.path())
        .unwrap()
        .join("envs/train");
    let text = log(&home, "py", "which", None);
    assert_eq!(text, format!("{}\n{}\n", venv.display(), venv.display()));
}

#[test]
fn a_flood_of_output_is_logged_whole_without_growing_drover() {
    use nix::sys::resource::{UsageWho, getrusage};
    let home = TestHome::new();
    // 100 MB in 100-byte lines, as fast as the shell can write.
    home.flow(
        "flood",
        "[tasks.flood]\ncmd = \"yes 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' | head -c 100000000\"\n",
    );
    let before = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss();
    let run = test_flow(&home, "flood", &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let peak_kib = getrusage(UsageWho::RUSAGE_CHILDREN)
        .unwrap()
        .max_rss()
        .max(before);
    let view = tasks(&home, "flood");
    let run_id = view["run_id"].as_str().unwrap();
    let file = home
        .path()
        .join(".drover/logs/flood")
        .join(run_id)
        .join("flood.1.log");
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        100_000_000,
        "the log is complete"
    );
    assert!(
        peak_kib < 64 * 1024,
        "peak RSS of drover or its children {peak_kib} KiB"
    );
}

#[test]
fn clear_downstream_resets_the_right_tasks() {
    let home = TestHome::new();
    home.flow(
        "chain",
        r#"
[tasks.a]
cmd = "true"
[tasks.b]
cmd = "exit 1"
deps = ["a"]
[tasks.c]
cmd = "true"
deps = ["b"]
[tasks.d]
cmd = "true"
"#,
    );
    assert_eq!(test_flow(&home, "chain", &[]).code, 1);
    let cleared = home.drover(&["clear", "chain", "latest", "b", "--downstream"]);
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    assert!(
        cleared.stdout.contains("cleared 2 task instances"),
        "{}",
        cleared.stdout
    );
    let view = tasks(&home, "chain");
    assert_eq!(view["state"], "running");
    let states: Vec<(&str, &str)> = ["a", "b", "c", "d"]
        .iter()
        .map(|t| (*t, state(&view, t)))
        .collect();
    assert_eq!(
        states,
        [
            ("a", "success"),
            ("b", "pending"),
            ("c", "pending"),
            ("d", "success")
        ]
    );
    assert_eq!(task(&view, "b")["try"], 1, "the try counter continues");
    // Upstream and failed-only work on the same run.
    let up = home.drover(&[
        "clear",
        "chain",
        "latest",
        "c",
        "--upstream",
        "--failed-only",
    ]);
    assert_eq!(up.code, 0);
    assert!(
        up.stdout.contains("nothing to clear"),
        "pending tasks are not failed: {}",
        up.stdout
    );
    let unknown = home.drover(&["clear", "chain", "latest", "zz"]);
    assert_eq!(unknown.code, 3);
}

#[test]
fn mark_changes_states_and_the_run() {
    let home = TestHome::new();
    home.flow(
        "m",
        "[tasks.a]\ncmd = \"exit 1\"\n[tasks.b]\ncmd = \"true\"\n",
    );
    assert_eq!(test_flow(&home, "m", &[]).code, 1);
    let marked = home.drover(&["mark", "m", "latest", "a", "success"]);
    assert_eq!(marked.code, 0, "{}", marked.stderr);
    assert!(
        marked.stdout.contains("a marked success") && marked.stdout.contains("run is success"),
        "{}",
        marked.stdout
    );
    assert_eq!(tasks(&home, "m")["state"], "success");
    assert_eq!(home.drover(&["mark", "m", "latest", "a", "done"]).code, 2);
    assert_eq!(home.drover(&["mark", "m", "nope", "a", "failed"]).code, 3);
}

#[test]
fn runs_lists_newest_first_with_json() {
    let home = TestHome::new();
    home.flow("r", "[tasks.a]\ncmd = \"true\"\n");
    for date in ["2026-01-01", "2026-01-03", "2026-01-02"] {
        assert_eq!(test_flow(&home, "r", &["--date", date]).code, 0);
    }
    let run = home.drover(&["runs", "r", "--json"]);
    let runs: Value = serde_json::from_str(&run.stdout).unwrap();
    let logical: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["logical"].as_str().unwrap())
        .collect();
    assert_eq!(
        logical,
        [
            "2026-01-03T00:00:00.000+00:00",
            "2026-01-02T00:00:00.000+00:00",
            "2026-01-01T00:00:00.000+00:00"
        ]
    );
    let first = &runs[0];
    assert_eq!(
        (first["state"].as_str(), first["kind"].as_str()),
        (Some("success"), Some("test"))
    );
    assert_eq!(first["tasks"]["success"], 1);
    let table = home.drover(&["runs", "r", "-n", "1"]);
    assert_eq!(table.stdout.lines().count(), 2, "{}", table.stdout);
    let list = home.drover(&["list", "--json"]);
    let v: Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(v["flows"][0]["last_run"]["state"], "success");
}

#[test]
fn unknown_flows_runs_tasks_and_params_are_reported() {
    let home = TestHome::new();
    home.flow("f", "[params]\nepochs = \"1\"\n[tasks.a]\ncmd = \"true\"\n");
    assert_eq!(home.drover(&["test", "nope"]).code, 3);
    let typo = home.drover(&["test", "f", "-p", "epoch=3"]);
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr
            .contains("no param `epoch` (did you mean `epochs`?)"),
        "{}",
        typo.stderr
    );
    assert_eq!(
        home.drover(&["tasks", "f", "latest"]).code,
        3,
        "no runs yet"
    );
    assert_eq!(test_flow(&home, "f", &[]).code, 0);
    let run = home.drover(&["tasks", "f", "manual__1999"]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("latest runs: test__"), "{}", run.stderr);
    let logs = home.drover(&["logs", "f", "latest", "a", "--try", "5"]);
    assert_eq!(logs.code, 3);
    assert!(
        logs.stderr.contains("has no try 5 (it has 1)"),
        "{}",
        logs.stderr
    );
}

#[test]
fn while_a_test_runs_the_store_is_busy_but_logs_follow() {
    let home = TestHome::new();
    let gate = home.path().join("gate");
    home.flow(
        "live",
        &format!(
            "[tasks.talk]\ncmd = \"echo first; while [ ! -e {} ]; do sleep 0.05; done; echo second\"\n",
            gate.display()
        ),
    );
    let mut test = common::Guard(
        std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(["test", "live"])
            .env("DROVER_HOME", home.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait (bounded) for the task to start and print.
    let logs_dir = home.path().join(".drover/logs/live");
    let deadline = Instant::now() + Duration::from_secs(10);
    let first_log = loop {
        let found = std::fs::read_dir(&logs_dir)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path().join("talk.1.log"));
        if let Some(p) =
            found.filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("first")))
        {
            break p;
        }
        assert!(Instant::now() < deadline, "the task never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(first_log.exists());
    let busy = home.drover(&["runs", "live"]);
    assert_eq!(busy.code, 1);
    assert!(
        busy.stderr.contains("in use by another drover process"),
        "{}",
        busy.stderr
    );
    let follower = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["logs", "live", "latest", "talk", "--follow"])
        .env("DROVER_HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::write(&gate, "").unwrap();
    let out = follower.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first\nsecond\n");
    assert!(test.wait().unwrap().success());
}

#[test]
fn the_store_survives_a_restart_with_its_schema() {
    let home = TestHome::new();
    home.flow("s", "[tasks.a]\ncmd = \"echo hi\"\n");
    assert_eq!(test_flow(&home, "s", &[]).code, 0);
    assert_eq!(test_flow(&home, "s", &[]).code, 0);
    let runs = home.drover(&["runs", "s", "--json"]);
    let v: Value = serde_json::from_str(&runs.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(Path::new(&home.path().join(".drover/store")).is_dir());
}

#[test]
fn kill_9_of_drover_keeps_every_committed_state() {
    let home = TestHome::new();
    let pidfile = home.path().join("b.pid");
    home.flow(
        "crash",
        &format!(
            "[tasks.a]\ncmd = \"echo rows=5 >> $DROVER_OUTPUT\"\n[tasks.b]\ncmd = \"echo $$ > {}; echo started; exec sleep 30\"\ndeps = [\"a\"]\n",
            pidfile.display()
        ),
    );
    let mut test = common::Guard(
        std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(["test", "crash"])
            .env("DROVER_HOME", home.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Wait (bounded) until drover reports b running, then kill it hard.
    use std::io::{BufRead, BufReader};
    let mut lines = BufReader::new(test.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let line = lines.next().expect("drover printed b running").unwrap();
        if line.contains("▶ b") {
            break;
        }
        assert!(Instant::now() < deadline, "b never started");
    }
    // Until tasks run under their own supervisor, a task that writes after
    // drover died gets SIGPIPE; so wait until b has printed all it prints.
    while !std::fs::read_to_string(&pidfile).is_ok_and(|p| !p.trim().is_empty())
        || !logs_contain(&home, "crash", "started")
    {
        assert!(Instant::now() < deadline, "b never printed");
        std::thread::sleep(Duration::from_millis(10));
    }
    test.kill().unwrap();
    test.wait().unwrap();
    let journal = home.path().join(".drover/store.journal");
    assert!(
        std::fs::metadata(&journal).unwrap().len() > 0,
        "the commits are in the journal"
    );
    // The store was never flushed by a clean close: what drover printed
    // must come back from its journal.
    let view = tasks(&home, "crash");
    assert_eq!(state(&view, "a"), "success");
    assert_eq!(task(&view, "a")["outputs"]["rows"], "5");
    assert_eq!(state(&view, "b"), "running");
    assert_eq!(task(&view, "b")["try"], 1);
    // The task itself was not killed with drover.
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let survived = alive(pid);
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    assert!(survived, "the running task died with drover");
}

#[test]
fn priority_orders_starts_and_pools_cap_concurrency() {
    let home = TestHome::new();
    let trace = home.path().join("trace");
    home.write("drover.toml", "parallelism = 1\n[pools]\ngpu = 1\n");
    let t = trace.display();
    home.flow(
        "prio",
        &format!(
            "[tasks.low]\ncmd = \"echo low >> {t}\"\npriority = 1\n[tasks.high]\ncmd = \"echo high >> {t}\"\npriority = 9\n[tasks.mid]\ncmd = \"echo mid >> {t}\"\npriority = 5\n"
        ),
    );
    assert_eq!(test_flow(&home, "prio", &[]).code, 0);
    assert_eq!(std::fs::read_to_string(&trace).unwrap(), "high\nmid\nlow\n");

    // Four slots, but both trainings share one GPU: they never overlap.
    std::fs::remove_file(&trace).unwrap();
    home.write("drover.toml", "parallelism = 4\n[pools]\ngpu = 1\n");
    let step = |name: &str| format!("echo start {name} >> {t}; sleep 0.3; echo end {name} >> {t}");
    home.flow(
        "gpu",
        &format!(
            "[tasks.a]\ncmd = \"{}\"\npool = \"gpu\"\n[tasks.b]\ncmd = \"{}\"\npool = \"gpu\"\n[tasks.cpu]\ncmd = \"echo cpu >> {t}\"\n",
            step("a"),
            step("b")
        ),
    );
    assert_eq!(test_flow(&home, "gpu", &[]).code, 0);
    let lines: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| *l != "cpu")
        .map(String::from)
        .collect();
    assert!(
        lines == ["start a", "end a", "start b", "end b"]
            || lines == ["start b", "end b", "start a", "end a"],
        "pool of 1 let tasks overlap: {lines:?}"
    );
}

#[test]
fn a_task_ignoring_sigterm_is_killed_after_the_grace() {
    let home = TestHome::new();
    home.flow(
        "stubborn",
        "[tasks.s]\ncmd = \"trap '' TERM; echo holding; while true; do sleep 0.1; done\"\ntimeout = \"500ms\"\n",
    );
    let started = Instant::now();
    let run = test_flow(&home, "stubborn", &[]);
    let took = started.elapsed();
    assert_eq!(run.code, 1);
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_secs(25),
        "took {took:?}"
    );
    let text = log(&home, "stubborn", "s", None);
    assert!(
        text.contains("[drover] still running: sending SIGKILL to the process group"),
        "{text}"
    );
    assert_eq!(
        task(&tasks(&home, "stubborn"), "s")["reason"],
        "timed out after 500ms"
    );
}

#[test]
fn conda_wraps_the_command_in_conda_run() {
    let home = TestHome::new();
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // A stand-in conda that shows how it was called, then runs the command.
    let fake = bin.join("conda");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"conda $1 $2 $3 $4\"\nshift 4\nexec \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    home.flow(
        "c",
        "[tasks.t]\ncmd = \"echo inside\"\nconda = \"ml-py310\"\n",
    );
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["test", "c"])
        .env("DROVER_HOME", home.path())
        .env("CONDA_EXE", &fake)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    assert_eq!(
        log(&home, "c", "t", None),
        "conda run -n ml-py310 --no-capture-output\ninside\n"
    );
    // Without conda anywhere, the try fails and its log says why.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["test", "c"])
        .env("DROVER_HOME", home.path())
        .env_remove("CONDA_EXE")
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(log(&home, "c", "t", None).contains("conda was not found"));
}

#[test]
fn retention_prunes_old_runs_and_their_logs() {
    let home = TestHome::new();
    home.write("drover.toml", "[retention]\nkeep_runs = 2\n");
    home.flow("r", "[tasks.a]\ncmd = \"echo hi\"\n");
    for date in ["2026-01-01", "2026-01-02", "2026-01-03"] {
        assert_eq!(test_flow(&home, "r", &["--date", date]).code, 0);
    }
    let runs: Value = serde_json::from_str(&home.drover(&["runs", "r", "--json"]).stdout).unwrap();
    let ids: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    let dirs: Vec<String> = std::fs::read_dir(home.path().join(".drover/logs/r"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dirs.len(), 2, "logs of the pruned run are gone: {dirs:?}");
    for id in ids {
        assert!(dirs.contains(&id.to_string()), "{id} kept its logs");
    }
}

#[test]
fn what_a_task_leaves_running_in_its_group_is_stopped_with_it() {
    let home = TestHome::new();
    let pidfile = home.path().join("bg.pid");
    home.flow(
        "leftover",
        &format!(
            "[tasks.t]\ncmd = \"(sleep 300; echo late) & echo $! > {}; echo started\"\n",
            pidfile.display()
        ),
    );
    let started = Instant::now();
    let run = test_flow(&home, "leftover", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    let text = log(&home, "leftover", "t", None);
    assert!(
        text.starts_with("started\n[drover] the main process exited: stopping"),
        "{text}"
    );
    let bg: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(bg) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(bg), "the leftover process {bg} survived its task");
}

#[test]
fn sigterm_to_drover_test_stops_its_tasks() {
    let home = TestHome::new();
    let pidfile = home.path().join("t.pid");
    home.flow(
        "long",
        &format!(
            "[tasks.t]\ncmd = \"echo $$ > {}; echo started; exec sleep 300\"\n[tasks.after]\ncmd = \"true\"\ndeps = [\"t\"]\n",
            pidfile.display()
        ),
    );
    let mut test = common::Guard(
        std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(["test", "long"])
            .env("DROVER_HOME", home.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !logs_contain(&home, "long", "started") {
        assert!(Instant::now() < deadline, "t never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(test.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = test.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "the task outlived drover test");
    let view = tasks(&home, "long");
    assert_eq!(state(&view, "t"), "failed");
    assert_eq!(state(&view, "after"), "failed");
    assert_eq!(view["state"], "failed");
}

#[test]
fn latest_is_the_run_created_last() {
    let home = TestHome::new();
    home.flow("l", "[tasks.a]\ncmd = \"echo $DROVER_DS\"\n");
    assert_eq!(test_flow(&home, "l", &["--date", "2026-06-01"]).code, 0);
    assert_eq!(test_flow(&home, "l", &["--date", "2026-01-15"]).code, 0);
    assert_eq!(log(&home, "l", "a", None), "2026-01-15\n");
    assert_eq!(
        home.drover(&["runs", "l", "-n", "0"])
            .stdout
            .lines()
            .count(),
        1,
        "-n 0 prints the header only"
    );
}

#[test]
fn following_stops_when_the_drover_running_the_try_dies() {
    let home = TestHome::new();
    let pidfile = home.path().join("quiet.pid");
    home.flow(
        "f",
        &format!(
            "[tasks.quiet]\ncmd = \"echo $$ > {}; sleep 1; echo late; exec sleep 40\"\n",
            pidfile.display()
        ),
    );
    let mut test = common::Guard(
        std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(["test", "f"])
            .env("DROVER_HOME", home.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait (bounded) until the run exists and the store is held.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let busy = home.drover(&["runs", "f"]);
        if busy
            .stderr
            .contains("in use by another drover process (pid")
        {
            assert!(busy.stderr.contains("drover test f"), "{}", busy.stderr);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "drover test never held the store: {}",
            busy.stderr
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The task has printed nothing yet: the follower waits for it.
    let follower = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["logs", "f", "latest", "quiet", "--follow"])
        .env("DROVER_HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while !logs_contain(&home, "f", "late") {
        assert!(Instant::now() < deadline, "the task never printed");
        std::thread::sleep(Duration::from_millis(20));
    }
    test.kill().unwrap();
    test.wait().unwrap();
    let started = Instant::now();
    let out = follower.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the follower hung after drover died"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "late\n");
    // Clean up the orphaned task.
    if let Ok(pid) = std::fs::read_to_string(&pidfile) {
        let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    }
}

#[test]
fn clear_uses_the_runs_own_tasks_and_mark_explains_itself() {
    let home = TestHome::new();
    home.flow(
        "c",
        "[tasks.a]\ncmd = \"exit 1\"\n[tasks.b]\ncmd = \"true\"\n",
    );
    assert_eq!(test_flow(&home, "c", &[]).code, 1);
    // The flow file loses `b` and gains `c` after the run.
    home.flow(
        "c",
        "[tasks.a]\ncmd = \"exit 1\"\n[tasks.c]\ncmd = \"true\"\n",
    );
    let cleared = home.drover(&["clear", "c", "latest", "b"]);
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    assert!(
        cleared.stdout.contains("cleared 1 task instance"),
        "{}",
        cleared.stdout
    );
    let all = home.drover(&["clear", "c", "latest"]);
    assert!(
        all.stdout.contains("cleared 2 task instances"),
        "{}",
        all.stdout
    );
    assert_eq!(
        home.drover(&["clear", "c", "latest", "c"]).code,
        3,
        "c is not in the run"
    );
    let marked = home.drover(&["mark", "c", "latest", "a", "success"]);
    assert_eq!(marked.code, 0, "{}", marked.stderr);
    let view = tasks(&home, "c");
    assert_eq!(task(&view, "a")["note"], "marked success by hand");
    assert!(
        home.drover(&["tasks", "c", "latest"])
            .stdout
            .contains("marked success by hand")
    );
}

#[test]
fn test_refuses_a_broken_drover_toml() {
    let home = TestHome::new();
    home.write("drover.toml", "paralelism = 2\n");
    home.flow("f", "[tasks.a]\ncmd = \"true\"\n");
    let run = test_flow(&home, "f", &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("fix these first")
            && run
                .stderr
                .contains("drover.toml:1:1: unknown key `paralelism`"),
        "{}",
        run.stderr
    );
    assert_eq!(home.drover(&["list"]).code, 0, "list still works");
}
