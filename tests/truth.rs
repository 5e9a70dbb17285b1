//! Commands agree with each other and with what is on disk: `latest` is
//! one run everywhere, a cleared run waits for a run slot, a run's tasks
//! keep its own order, reading commands make no state, a flow file is
//! triggerable as soon as `list` shows it, `trigger` prints an id, and a
//! run's wait for a slot is said and not counted in its duration. Real
//! binary, real `drover serve`, real store.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{TestHome, wait_until, wait_within};
use serde_json::Value;

fn json(home: &TestHome, args: &[&str]) -> Value {
    let out = home.drover(args);
    assert_eq!(out.code, 0, "drover {}: {}", args.join(" "), out.stderr);
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("drover {}: {e}: {}", args.join(" "), out.stdout))
}

fn runs(home: &TestHome, flow: &str) -> Vec<Value> {
    json(home, &["runs", flow, "-n", "100", "--json"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn run_state(home: &TestHome, flow: &str, id: &str) -> String {
    runs(home, flow)
        .iter()
        .find(|r| r["id"] == id)
        .map(|r| r["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// The id of a flow's run listed first (of manual runs, the newest).
fn newest(home: &TestHome, flow: &str) -> String {
    runs(home, flow)[0]["id"].as_str().unwrap().to_string()
}

/// A task that runs until the file `gate` exists.
fn gated(home: &TestHome, gate: &str) -> String {
    format!(
        "while [ ! -e {} ]; do sleep 0.05; done; echo $DROVER_RUN_ID",
        home.path().join(gate).display()
    )
}

#[test]
fn latest_is_the_run_created_last_in_every_command() {
    let home = TestHome::new();
    home.flow(
        "big",
        "schedule = \"@daily\"\npaused = true\nmax_active_runs = 1\n[tasks.t]\ncmd = \"echo $DROVER_RUN_ID\"\n",
    );
    let _serve = common::serve_ready(&home, &[]);
    let b = home.drover(&[
        "backfill",
        "big",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-03",
    ]);
    assert_eq!(b.code, 0, "{}", b.stderr);
    wait_until("three successful backfill runs", || {
        runs(&home, "big")
            .iter()
            .filter(|r| r["state"] == "success")
            .count()
            == 3
    });
    // The oldest run runs again: its log folder is the one written last.
    let oldest = "backfill__2026-01-01T00:00:00Z";
    let c = home.drover(&["clear", "big", oldest, "t"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    wait_until("the cleared run to succeed again", || {
        let v = json(&home, &["tasks", "big", oldest, "--json"]);
        v["state"] == "success" && v["tasks"][0]["try"] == 2
    });
    let newest = "backfill__2026-01-03T00:00:00Z";
    let tasks = json(&home, &["tasks", "big", "latest", "--json"]);
    assert_eq!(tasks["run_id"], newest);
    let logs = home.drover(&["logs", "big", "latest", "t"]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert_eq!(logs.stdout, format!("{newest}\n"), "logs named another run");
    let cleared = home.drover(&["clear", "big", "latest", "t"]);
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    assert!(
        cleared.stdout.contains(&format!("of run `{newest}`")),
        "{}",
        cleared.stdout
    );
}

#[test]
fn a_cleared_finished_run_waits_for_a_run_slot() {
    let home = TestHome::new();
    home.flow(
        "m",
        &format!(
            "max_active_runs = 1\n[tasks.t]\ncmd = \"{}\"\n",
            gated(&home, "go")
        ),
    );
    let _serve = common::serve_ready(&home, &[]);
    std::fs::write(home.path().join("go"), "").unwrap();
    let first = home.drover_within(Duration::from_secs(120), &["trigger", "m", "--wait"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let old = runs(&home, "m")[0]["id"].as_str().unwrap().to_string();
    std::fs::remove_file(home.path().join("go")).unwrap();
    let t = home.drover(&["trigger", "m"]);
    assert_eq!(t.code, 0, "{}", t.stderr);
    let new = newest(&home, "m");
    assert_ne!(new, old);
    wait_until("the new run to run", || {
        run_state(&home, "m", &new) == "running"
    });

    let c = home.drover(&["clear", "m", &old, "t"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert!(c.stdout.contains("queued"), "{}", c.stdout);
    // It stays queued (its task pending) while the other run holds the slot.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let v = json(&home, &["tasks", "m", &old, "--json"]);
        assert_eq!(v["state"], "queued", "two runs running: {v}");
        assert_eq!(v["tasks"][0]["state"], "pending", "{v}");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::write(home.path().join("go"), "").unwrap();
    wait_until("both runs to succeed", || {
        run_state(&home, "m", &new) == "success" && run_state(&home, "m", &old) == "success"
    });
    let v = json(&home, &["tasks", "m", &old, "--json"]);
    assert_eq!(v["tasks"][0]["try"], 2, "{v}");
}

#[test]
fn tasks_keep_the_runs_own_order_while_the_file_is_broken() {
    let home = TestHome::new();
    home.flow(
        "o",
        "[tasks.zeta]\ncmd = \"true\"\n[tasks.alpha]\ncmd = \"true\"\ndeps = [\"zeta\"]\n[tasks.mid]\ncmd = \"true\"\ndeps = [\"alpha\"]\n",
    );
    let t = home.drover_within(Duration::from_secs(120), &["test", "o"]);
    assert_eq!(t.code, 0, "{}{}", t.stdout, t.stderr);
    let order = |v: &Value| -> Vec<String> {
        v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["task"].as_str().unwrap().to_string())
            .collect()
    };
    let good = json(&home, &["tasks", "o", "latest", "--json"]);
    assert_eq!(order(&good), ["zeta", "alpha", "mid"]);
    home.flow("o", "[tasks.zeta]\ncmd = \"true\"\nbogus = 1\n");
    let broken = json(&home, &["tasks", "o", "latest", "--json"]);
    assert_eq!(order(&broken), ["zeta", "alpha", "mid"]);
    let table = home.drover(&["tasks", "o", "latest"]);
    let rows: Vec<&str> = table
        .stdout
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(rows, ["zeta", "alpha", "mid"], "{}", table.stdout);
}

/// `drover ARGS` in `dir`, with no DROVER_HOME.
fn drover_in(dir: &Path, args: &[&str]) -> common::Run {
    let out = Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(args)
        .current_dir(dir)
        .env_remove("DROVER_HOME")
        .output()
        .expect("run drover");
    common::Run::from(out)
}

#[test]
fn reading_commands_make_no_state() {
    let empty = tempfile::tempdir().unwrap();
    for args in [
        &["runs", "big"][..],
        &["tasks", "big", "latest"],
        &["logs", "big", "latest", "t"],
        &["next", "big"],
        &["list"],
    ] {
        let out = drover_in(empty.path(), args);
        assert_ne!(out.code, 0, "drover {}: {}", args.join(" "), out.stdout);
        assert!(
            out.stderr.contains("not a drover home"),
            "drover {}: {}",
            args.join(" "),
            out.stderr
        );
        assert!(
            !empty.path().join(".drover").exists(),
            "drover {} made .drover",
            args.join(" ")
        );
    }
    // In a home that has run nothing yet: no runs, and still no store.
    let home = TestHome::new();
    home.flow("big", "[tasks.t]\ncmd = \"true\"\n");
    let out = home.drover(&["runs", "big"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("no runs yet"), "{}", out.stdout);
    for args in [
        &["tasks", "big", "latest"][..],
        &["logs", "big", "latest", "t"],
    ] {
        let out = home.drover(args);
        assert_eq!(out.code, 3, "drover {}: {}", args.join(" "), out.stderr);
        assert!(out.stderr.contains("no runs yet"), "{}", out.stderr);
    }
    assert_eq!(home.drover(&["list"]).code, 0);
    assert!(
        !home.path().join(".drover").exists(),
        "a reading command made .drover"
    );
}

#[test]
fn a_flow_file_just_written_can_be_triggered() {
    let home = TestHome::new();
    home.flow("first", "[tasks.t]\ncmd = \"true\"\n");
    let _serve = common::serve_ready(&home, &[]);
    for i in 0..3 {
        let id = format!("new{i}");
        home.flow(&id, "[tasks.t]\ncmd = \"echo hi\"\n");
        let listed = json(&home, &["list", "--json"]);
        assert!(
            listed["flows"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"] == id.as_str()),
            "{listed}"
        );
        let t = home.drover(&["trigger", &id]);
        assert_eq!(
            t.code, 0,
            "list shows `{id}` but trigger says: {}",
            t.stderr
        );
        let run = t.stdout.trim().to_string();
        wait_until("the new flow's run to succeed", || {
            run_state(&home, &id, &run) == "success"
        });
    }
}

#[test]
fn trigger_prints_the_run_id_alone_or_the_run_as_json() {
    let home = TestHome::new();
    home.flow("f", "[tasks.t]\ncmd = \"true\"\n");
    // Without an instance: queued, the id on stdout, the message on stderr.
    let queued = home.drover(&["trigger", "f"]);
    assert_eq!(queued.code, 0, "{}", queued.stderr);
    let id = queued.stdout.trim_end_matches('\n');
    assert!(
        id.starts_with("manual__") && !id.contains(char::is_whitespace),
        "{id:?}"
    );
    assert_eq!(queued.stdout, format!("{id}\n"));
    assert_eq!(runs(&home, "f")[0]["id"], id);

    let _serve = common::serve_ready(&home, &[]);
    let t = home.drover(&["trigger", "f"]);
    assert_eq!(t.code, 0, "{}", t.stderr);
    let id = t.stdout.trim_end_matches('\n').to_string();
    assert!(
        id.starts_with("manual__") && !id.contains(char::is_whitespace),
        "{id:?}"
    );
    assert_eq!(t.stdout, format!("{id}\n"));
    wait_until("the run to be listed", || {
        runs(&home, "f").iter().any(|r| r["id"] == id.as_str())
    });

    let j = json(&home, &["trigger", "f", "--json"]);
    let listed = runs(&home, "f");
    let entry = listed.iter().find(|r| r["id"] == j["id"]).expect("listed");
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&j), keys(entry), "{j}");
    assert_eq!(j["flow"], "f");
    assert_eq!(j["kind"], "manual");

    let waited = home.drover_within(
        Duration::from_secs(120),
        &["trigger", "f", "--wait", "--json"],
    );
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    let v: Value = serde_json::from_str(&waited.stdout).expect("JSON on stdout");
    assert_eq!(v["state"], "success");
    assert!(waited.stderr.contains("success"), "{}", waited.stderr);
}

#[test]
fn a_run_waiting_for_a_slot_says_so_and_its_wait_is_not_its_duration() {
    let home = TestHome::new();
    home.flow(
        "q",
        &format!(
            "max_active_runs = 1\n[tasks.root]\ncmd = \"{}\"\n",
            gated(&home, "go")
        ),
    );
    let _serve = common::serve_ready(&home, &[]);
    let first = home.drover(&["trigger", "q"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let first = newest(&home, "q");
    wait_until("the first run to run", || {
        run_state(&home, "q", &first) == "running"
    });

    std::thread::scope(|s| {
        let waiting =
            s.spawn(|| home.drover_within(Duration::from_secs(180), &["trigger", "q", "--wait"]));
        let mut second = String::new();
        wait_until("the second run to be queued", || {
            match runs(&home, "q").iter().find(|r| r["id"] != first.as_str()) {
                Some(r) => {
                    second = r["id"].as_str().unwrap().to_string();
                    r["state"] == "queued"
                }
                None => false,
            }
        });
        let v = json(&home, &["tasks", "q", &second, "--json"]);
        let note = v["tasks"][0]["note"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            note.contains("run slot") && note.contains("max_active_runs = 1, 1 running"),
            "{v}"
        );
        let table = home.drover(&["tasks", "q", &second]);
        assert!(
            table.stdout.contains("waiting for a run slot"),
            "{}",
            table.stdout
        );
        // Queued long enough for its wait to show in a wrong duration.
        let queued = Instant::now();
        wait_within(Duration::from_secs(10), "two seconds in the queue", || {
            queued.elapsed() >= Duration::from_secs(2)
        });
        std::fs::write(home.path().join("go"), "").unwrap();
        let out = waiting.join().unwrap();
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        assert!(
            out.stdout
                .contains("waits for a run slot (max_active_runs = 1, 1 running)"),
            "{}",
            out.stdout
        );
        // The duration printed is the one `drover runs` shows.
        let table = home.drover(&["runs", "q"]);
        let row = table
            .stdout
            .lines()
            .find(|l| l.starts_with(&second))
            .unwrap_or_else(|| panic!("{}", table.stdout))
            .to_string();
        let summary = out
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("run {second} ")) && l.contains(" in "))
            .unwrap_or_else(|| panic!("{}", out.stdout))
            .to_string();
        let took = summary
            .split(" in ")
            .nth(1)
            .and_then(|r| r.split(':').next())
            .unwrap()
            .to_string();
        assert!(row.contains(&format!("  {took}  ")), "{summary}\n{row}");
        let entry = runs(&home, "q")
            .into_iter()
            .find(|r| r["id"] == second.as_str())
            .unwrap();
        assert!(
            entry["duration_s"].as_f64().unwrap() < 1.9,
            "the wait is not the run's: {entry}"
        );
    });
}

#[test]
fn the_engine_notes_why_a_queued_runs_roots_wait_for_the_tui() {
    let home = TestHome::new();
    home.flow(
        "q",
        &format!(
            "max_active_runs = 1\n[tasks.root]\ncmd = \"{}\"\n[tasks.after]\ncmd = \"true\"\ndeps = [\"root\"]\n",
            gated(&home, "go")
        ),
    );
    home.flow("barrier", "[tasks.t]\ncmd = \"true\"\n");
    let mut serve = common::serve_ready(&home, &[]);
    assert_eq!(home.drover(&["trigger", "q"]).code, 0);
    let first = newest(&home, "q");
    wait_until("the first run to run", || {
        run_state(&home, "q", &first) == "running"
    });
    assert_eq!(home.drover(&["trigger", "q"]).code, 0);
    // The engine has taken a step since (it answers requests in turn).
    assert_eq!(home.drover(&["trigger", "barrier"]).code, 0);
    let second = newest(&home, "q");
    assert_ne!(second, first);
    assert!(
        serve.stop(Duration::from_secs(20)).is_some(),
        "serve did not stop"
    );
    let store = drover::store::Store::open(&home.path().join(".drover/store")).expect("open store");
    let run = store.run("q", &second).unwrap().expect("the second run");
    assert_eq!(run.state, drover::store::RunState::Queued);
    let tis = store.task_instances(&run).unwrap();
    let root = tis.iter().find(|t| t.task == "root").unwrap();
    let after = tis.iter().find(|t| t.task == "after").unwrap();
    let says = drover::tui::app::explain(root);
    assert_eq!(
        says, "waiting for a run slot (max_active_runs = 1, 1 running)",
        "{root:?}"
    );
    assert_eq!(
        drover::tui::app::explain(after),
        "waiting for its upstream tasks"
    );
}

#[test]
fn a_clear_preview_names_what_the_clear_resets_by_the_runs_own_graph() {
    let home = TestHome::new();
    let chain = "[tasks.a]\ncmd = \"true\"\n[tasks.b]\ncmd = \"true\"\ndeps = [\"a\"]\n[tasks.c]\ncmd = \"true\"\ndeps = [\"b\"]\n";
    home.flow("chain", chain);
    let t = home.drover(&["test", "chain"]);
    assert_eq!(t.code, 0, "{}{}", t.stdout, t.stderr);
    let run = newest(&home, "chain");
    // Since the run, c no longer depends on b; the run's own graph counts.
    home.flow(
        "chain",
        "[tasks.a]\ncmd = \"true\"\n[tasks.b]\ncmd = \"true\"\ndeps = [\"a\"]\n[tasks.c]\ncmd = \"true\"\n",
    );
    let want = format!("would clear 3 task instances of run `{run}`: a, b, c\n");
    let preview = |home: &TestHome| {
        let out = home.drover(&["clear", "chain", "latest", "a", "--downstream", "--dry-run"]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        out.stdout
    };
    // Without an instance, and through one: the same answer.
    assert_eq!(preview(&home), want);
    let _serve = common::serve_ready(&home, &[]);
    assert_eq!(preview(&home), want);
    // Nothing changed.
    assert_eq!(run_state(&home, "chain", &run), "success");
    let failed = home.drover(&["clear", "chain", "latest", "--failed-only", "--dry-run"]);
    assert_eq!(failed.stdout, format!("nothing to clear in run `{run}`\n"));
    // And the clear itself resets just those.
    let cleared = home.drover(&["clear", "chain", "latest", "a", "--downstream"]);
    assert_eq!(cleared.code, 0, "{}{}", cleared.stdout, cleared.stderr);
    assert!(
        cleared.stdout.starts_with("cleared 3 task instances"),
        "{}",
        cleared.stdout
    );
}

#[test]
fn backfill_runs_beyond_max_active_runs_wait_as_queued_and_start_oldest_first() {
    let home = TestHome::new();
    home.flow(
        "b",
        &format!(
            "schedule = \"@daily\"\npaused = true\nmax_active_runs = 2\n[tasks.root]\ncmd = \"{}\"\n[tasks.after]\ncmd = \"true\"\ndeps = [\"root\"]\n",
            gated(&home, "go")
        ),
    );
    let _serve = common::serve_ready(&home, &[]);
    let b = home.drover(&[
        "backfill",
        "b",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-06",
    ]);
    assert_eq!(b.code, 0, "{}", b.stderr);
    let day = |d: u32| format!("backfill__2026-01-0{d}T00:00:00Z");
    wait_until("the two oldest runs to run", || {
        run_state(&home, "b", &day(1)) == "running" && run_state(&home, "b", &day(2)) == "running"
    });
    for d in 3..=6 {
        assert_eq!(run_state(&home, "b", &day(d)), "queued", "run {}", day(d));
        let v = json(&home, &["tasks", "b", &day(d), "--json"]);
        let root = v["tasks"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["task"] == "root"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(root["state"], "pending", "{v}");
        assert!(
            root["note"]
                .as_str()
                .is_some_and(|n| n.contains("waiting for a run slot (max_active_runs = 2")),
            "{v}"
        );
    }
    std::fs::write(home.path().join("go"), "").unwrap();
    wait_until("all six runs to succeed", || {
        runs(&home, "b")
            .iter()
            .filter(|r| r["state"] == "success")
            .count()
            == 6
    });
    // Slots went oldest first: a run started no earlier than the one before it.
    let started: Vec<String> = (1..=6)
        .map(|d| {
            runs(&home, "b")
                .iter()
                .find(|r| r["id"] == day(d).as_str())
                .and_then(|r| r["started"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(
        started.windows(2).all(|w| w[0] <= w[1]),
        "runs started out of order: {started:?}"
    );
}
