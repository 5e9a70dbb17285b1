//! `drover validate`, `list` and `next` on real files through the real binary.

mod common;

use common::TestHome;

/// Each malformed kind: the flow text, then the `line:col: message` part that
/// must appear after `flows/bad.toml:`.
const MALFORMED: &[(&str, &str, &str)] = &[
    (
        "TOML syntax",
        "description = \"open\n[tasks.a]\ncmd = \"x\"\n",
        "1:20: TOML syntax: invalid basic string",
    ),
    (
        "unknown key with a suggestion",
        "[tasks.a]\ncmd = \"x\"\nretires = 2\n",
        "3:1: unknown key `retires` in [tasks.a] (did you mean `retries`?)",
    ),
    (
        "missing cmd",
        "[tasks.a]\nretries = 1\n",
        "1:8: task `a` has no `cmd`",
    ),
    (
        "unknown dependency",
        "[tasks.evaluate]\ncmd = \"x\"\n[tasks.deploy]\ncmd = \"x\"\ndeps = [\"evaluat\"]\n",
        "5:9: task `deploy` depends on unknown task `evaluat` (did you mean `evaluate`?)",
    ),
    (
        "dependency cycle",
        "[tasks.a]\ncmd = \"x\"\ndeps = [\"c\"]\n[tasks.b]\ncmd = \"x\"\ndeps = [\"a\"]\n[tasks.c]\ncmd = \"x\"\ndeps = [\"b\"]\n",
        "1:8: dependency cycle: a → b → c → a",
    ),
    (
        "bad cron field",
        "schedule = \"0 25 * * *\"\n[tasks.a]\ncmd = \"x\"\n",
        "1:15: bad schedule \"0 25 * * *\": hour field: 25 is out of range 0-23",
    ),
    (
        "cron with too few fields",
        "schedule = \"0 3 * *\"\n[tasks.a]\ncmd = \"x\"\n",
        "1:12: bad schedule \"0 3 * *\": expected 5 fields",
    ),
    (
        "unknown timezone",
        "timezone = \"Europe/Berln\"\n[tasks.a]\ncmd = \"x\"\n",
        "1:12: unknown timezone \"Europe/Berln\" (did you mean `Europe/Berlin`?)",
    ),
    (
        "bad duration",
        "[tasks.a]\ncmd = \"x\"\ntimeout = \"2 hours\"\n",
        "3:11: bad duration \"2 hours\"",
    ),
    (
        "duration without unit",
        "[defaults]\nretry_delay = 30\n[tasks.a]\ncmd = \"x\"\n",
        "2:15: `retry_delay` needs a unit",
    ),
    (
        "bad trigger rule",
        "[tasks.a]\ncmd = \"x\"\ntrigger = \"all_sucess\"\n",
        "3:11: unknown trigger rule \"all_sucess\" (did you mean `all_success`?)",
    ),
    (
        "template with an unknown variable",
        "[tasks.a]\ncmd = \"run --date {{ dss }}\"\n",
        "2:19: unknown template variable `dss` (did you mean `ds`?)",
    ),
    (
        "template with an undeclared param",
        "[params]\nepochs = \"3\"\n[tasks.a]\ncmd = \"train {{ params.epoch }}\"\n",
        "4:14: `{{ params.epoch }}` names no param (did you mean `epochs`?)",
    ),
    (
        "template using output of a task that is not upstream",
        "[tasks.a]\ncmd = \"x\"\n[tasks.b]\ncmd = \"echo {{ outputs.a.rows }}\"\n",
        "4:13: `{{ outputs.a.rows }}`: task `a` is not upstream of `b`",
    ),
    (
        "template using output of an unknown task",
        "[tasks.a]\ncmd = \"echo {{ outputs.zz.rows }}\"\n",
        "2:13: `{{ outputs.zz.rows }}` names unknown task `zz`",
    ),
    (
        "pool not declared",
        "[tasks.a]\ncmd = \"x\"\npool = \"gpu\"\n",
        "3:8: pool `gpu` is not declared; add `gpu = 1` under [pools] in drover.toml",
    ),
    (
        "no tasks",
        "description = \"empty\"\n",
        "1:1: flow has no tasks",
    ),
    (
        "wrong type",
        "max_active_runs = \"two\"\n[tasks.a]\ncmd = \"x\"\n",
        "1:19: `max_active_runs` must be an integer, found string",
    ),
    (
        "venv and conda together",
        "[tasks.a]\ncmd = \"x\"\nvenv = \"envs/a\"\nconda = \"ml\"\n",
        "4:9: set `venv` or `conda`, not both",
    ),
    (
        "end before start",
        "start = \"2026-02-01\"\nend = 2026-01-01\n[tasks.a]\ncmd = \"x\"\n",
        "2:7: `end` must be after `start`",
    ),
];

#[test]
fn each_malformed_kind_names_file_line_and_column() {
    for (kind, text, expected) in MALFORMED {
        let home = TestHome::new();
        home.flow("bad", text);
        let run = home.drover(&["validate"]);
        assert_eq!(run.code, 1, "{kind}: exit code; stderr:\n{}", run.stderr);
        let want = format!("flows/bad.toml:{expected}");
        assert!(
            run.stderr.lines().any(|l| l.contains(&want)),
            "{kind}: expected a line containing\n  {want}\nstderr:\n{}",
            run.stderr
        );
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.contains("flows/bad.toml:"),
            "{kind}: every error line starts with the path: {first}"
        );
    }
}

#[test]
fn all_errors_of_a_file_are_listed_in_line_order() {
    let home = TestHome::new();
    home.flow(
        "bad",
        "schedule = \"61 * * * *\"\ntimezone = \"Nowhere\"\n[tasks.a]\ncmd = \"x\"\ntrigger = \"sometimes\"\ntimeout = \"soon\"\n",
    );
    let run = home.drover(&["validate"]);
    assert_eq!(run.code, 1);
    let lines: Vec<u32> = run
        .stderr
        .lines()
        .filter(|l| l.contains("flows/bad.toml:"))
        .map(|l| l.split(':').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines, [1, 2, 5, 6], "{}", run.stderr);
    assert!(run.stderr.contains("4 errors in 1 file"), "{}", run.stderr);
}

#[test]
fn one_bad_file_never_stops_the_others() {
    let home = TestHome::new();
    home.flow("good", "schedule = \"@daily\"\n[tasks.a]\ncmd = \"true\"\n");
    home.flow("bad", "[tasks.a]\ncmd = \"{{ nope }}\"\n");
    home.flow("bad name", "[tasks.a]\ncmd = \"true\"\n");

    let run = home.drover(&["validate"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("flows/bad.toml:2:8: unknown template variable `nope`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("flows/bad name.toml:1:1: flow id \"bad name\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1 flow valid"), "{}", run.stderr);

    let list = home.drover(&["list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with("good ") && l.contains("@daily")),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("2 failed to load"), "{}", list.stdout);
    assert!(list.stdout.contains("bad: "), "{}", list.stdout);

    // A valid flow still answers `next` while another is broken.
    let next = home.drover(&["next", "good", "-n", "1", "--after", "2026-05-05T10:00:00Z"]);
    assert_eq!(next.stdout, "2026-05-06T00:00:00+00:00\n");
    let broken = home.drover(&["next", "bad"]);
    assert_eq!(broken.code, 1);
    assert!(
        broken.stderr.contains("flow `bad` does not validate"),
        "{}",
        broken.stderr
    );
    assert!(
        broken.stderr.contains("flows/bad.toml:2:8"),
        "{}",
        broken.stderr
    );
}

#[test]
fn config_errors_are_reported_with_positions() {
    let home = TestHome::new();
    home.write(
        "drover.toml",
        "parallelism = 2\n[pools]\ngpu = 1\n[retention]\nkeep = 3\n",
    );
    home.flow("f", "[tasks.a]\ncmd = \"x\"\npool = \"gpu\"\n");
    let run = home.drover(&["validate"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "drover.toml:5:1: unknown key `keep` in [retention] (did you mean `keep_runs`?)"
        ),
        "{}",
        run.stderr
    );
    // The pool from the same drover.toml still counts for the flow.
    assert!(!run.stderr.contains("flows/f.toml"), "{}", run.stderr);
    let json = home.drover(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["errors"][0]["flow"], serde_json::Value::Null);
    assert_eq!(v["errors"][0]["line"], 5);
}

#[test]
fn the_repository_is_a_valid_home() {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .arg("validate")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("DROVER_HOME")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("ok: 3 flows valid"));
}

#[test]
fn validate_takes_a_file_or_folder() {
    let home = TestHome::new();
    home.flow("ok", "[tasks.a]\ncmd = \"true\"\n");
    let loose = home.write(
        "elsewhere/broken.toml",
        "[tasks.a]\ncmd = \"true\"\ndeps = [\"b\"]\n",
    );
    let one = home.drover(&["validate", "flows/ok.toml"]);
    assert_eq!((one.code, one.stdout.as_str()), (0, "ok: 1 flow valid\n"));
    let bad = home.drover(&["validate", loose.to_str().unwrap()]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("elsewhere/broken.toml:3:9: task `a` depends on unknown task `b`\n"),
        "{}",
        bad.stderr
    );
    let folder = home.drover(&["validate", "elsewhere"]);
    assert_eq!(folder.code, 1);
    let missing = home.drover(&["validate", "nowhere.toml"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("nowhere.toml: no such file or folder")
    );
}

#[test]
fn unreadable_and_binary_files_are_errors_not_crashes() {
    let home = TestHome::new();
    home.write("flows/bin.toml", "");
    std::fs::write(home.path().join("flows/bin.toml"), [0x66, 0xff, 0xfe, 0x00]).unwrap();
    let run = home.drover(&["validate"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("flows/bin.toml:1:2: not UTF-8 text"),
        "{}",
        run.stderr
    );
}

#[test]
fn exit_codes_follow_the_contract() {
    let home = TestHome::new();
    home.flow("etl", "schedule = \"@hourly\"\n[tasks.a]\ncmd = \"true\"\n");
    home.flow("manual", "[tasks.a]\ncmd = \"true\"\n");
    let unknown = home.drover(&["next", "elt"]);
    assert_eq!(unknown.code, 3);
    assert!(
        unknown.stderr.contains("no flow `elt`") && unknown.stderr.contains("did you mean `etl`"),
        "{}",
        unknown.stderr
    );
    assert_eq!(
        home.drover(&["next"]).code,
        2,
        "missing argument is a usage error"
    );
    assert_eq!(home.drover(&["frobnicate"]).code, 2);
    assert_eq!(
        home.drover(&["next", "etl", "--after", "yesterday"]).code,
        2
    );
    let manual = home.drover(&["next", "manual"]);
    assert_eq!(manual.code, 1);
    assert!(manual.stderr.contains("has no schedule"));
    let empty = TestHome::new();
    let run = empty.drover(&["validate"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "ok: 0 flows valid\n"));
}

#[test]
fn home_comes_from_flag_then_env_then_cwd() {
    let a = TestHome::new();
    a.flow("from_a", "[tasks.t]\ncmd = \"true\"\n");
    let b = TestHome::new();
    b.flow("from_b", "[tasks.t]\ncmd = \"true\"\n");
    let bin = env!("CARGO_BIN_EXE_drover");
    let list =
        |cmd: &mut std::process::Command| String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    let by_flag = list(
        std::process::Command::new(bin)
            .args(["--home", b.path().to_str().unwrap(), "list"])
            .env("DROVER_HOME", a.path()),
    );
    assert!(
        by_flag.contains("from_b") && !by_flag.contains("from_a"),
        "{by_flag}"
    );
    let by_env = list(
        std::process::Command::new(bin)
            .arg("list")
            .env("DROVER_HOME", a.path())
            .current_dir(b.path()),
    );
    assert!(by_env.contains("from_a"), "{by_env}");
    let by_cwd = list(
        std::process::Command::new(bin)
            .arg("list")
            .env_remove("DROVER_HOME")
            .current_dir(b.path()),
    );
    assert!(by_cwd.contains("from_b"), "{by_cwd}");
    let missing = std::process::Command::new(bin)
        .args(["--home", "/nonexistent/home", "list"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("/nonexistent/home: no such file or folder")
    );
}

#[test]
fn next_respects_start_end_and_timezone() {
    let home = TestHome::new();
    home.flow(
        "window",
        "schedule = \"0 6 * * mon-fri\"\ntimezone = \"America/New_York\"\nstart = \"2026-03-02\"\nend = \"2026-03-05T12:00:00-05:00\"\n[tasks.a]\ncmd = \"true\"\n",
    );
    let run = home.drover(&[
        "next",
        "window",
        "-n",
        "10",
        "--after",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "2026-03-02T06:00:00-05:00\n2026-03-03T06:00:00-05:00\n2026-03-04T06:00:00-05:00\n2026-03-05T06:00:00-05:00\n"
    );
    // A plain date for --after is midnight in the flow's timezone.
    let run = home.drover(&["next", "window", "-n", "1", "--after", "2026-03-03"]);
    assert_eq!(run.stdout, "2026-03-03T06:00:00-05:00\n");
}

#[test]
fn list_json_has_the_documented_shape() {
    let home = TestHome::new();
    home.flow(
        "nightly",
        "description = \"d\"\nschedule = \"0 3 * * *\"\ntimezone = \"Europe/Berlin\"\npaused = true\ntags = [\"ml\"]\n[tasks.a]\ncmd = \"true\"\n[tasks.b]\ncmd = \"true\"\ndeps = [\"a\"]\n",
    );
    home.flow("broken", "[tasks.a]\n");
    let run = home.drover(&["list", "--json"]);
    assert_eq!(run.code, 0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let f = &v["flows"][0];
    assert_eq!(f["id"], "nightly");
    assert_eq!(
        f["path"].as_str().unwrap(),
        home.path().join("flows/nightly.toml").to_str().unwrap()
    );
    assert_eq!(f["schedule"], "0 3 * * *");
    assert_eq!(f["timezone"], "Europe/Berlin");
    assert_eq!(f["paused"], true);
    assert_eq!(f["tags"][0], "ml");
    assert_eq!(f["tasks"], 2);
    assert!(f["next_run"].is_null(), "a paused flow has no next run");
    // Unpaused, the next run is 03:00 in the flow's timezone.
    home.flow(
        "nightly",
        "schedule = \"0 3 * * *\"\ntimezone = \"Europe/Berlin\"\n[tasks.a]\ncmd = \"true\"\n",
    );
    let v: serde_json::Value =
        serde_json::from_str(&home.drover(&["list", "--json"]).stdout).unwrap();
    let next = v["flows"][0]["next_run"].as_str().unwrap().to_string();
    assert!(
        next.ends_with("T03:00:00+01:00") || next.ends_with("T03:00:00+02:00"),
        "{next}"
    );
    let e = &v["errors"][0];
    assert_eq!(e["flow"], "broken");
    assert_eq!((e["line"].as_u64(), e["col"].as_u64()), (Some(1), Some(8)));
    assert!(e["message"].as_str().unwrap().contains("has no `cmd`"));
}

#[test]
fn list_survives_a_closed_pipe() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let home = TestHome::new();
    // Far more output than a pipe buffer holds, so writing must hit EPIPE.
    for i in 0..3000 {
        home.flow(
            &format!("flow_number_{i:05}"),
            "schedule = \"@daily\"\n[tasks.a]\ncmd = \"true\"\n",
        );
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_drover"))
        .arg("list")
        .env("DROVER_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("FLOW"), "{first}");
    // The reader is dropped here: drover now writes into a closed pipe.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn fifos_and_devices_are_refused_not_read() {
    let home = TestHome::new();
    let fifo = home.path().join("flows/pipe.toml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", home.path().join("flows/zero.toml")).unwrap();
    home.flow("ok", "[tasks.a]\ncmd = \"true\"\n");
    let run = home.drover(&["validate"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("flows/pipe.toml:1:1: not a regular file"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("flows/zero.toml:1:1: not a regular file"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1 flow valid"), "{}", run.stderr);
}

#[test]
fn keys_after_a_table_header_are_called_out() {
    let home = TestHome::new();
    home.write("drover.toml", "[pools]\ngpu = 1\nparallelism = 4\n");
    home.flow(
        "f",
        "[params]\nepochs = \"1\"\ntimezone = \"Europe/Berlin\"\n[tasks.a]\ncmd = \"true\"\nschedule = \"@daily\"\n",
    );
    let run = home.drover(&["validate"]);
    assert_eq!(run.code, 1);
    for want in [
        "drover.toml:3:1: `parallelism` is a top-level setting, but it comes after the [pools] header",
        "flows/f.toml:3:1: `timezone` is a top-level setting, but it comes after the [params] header",
        "flows/f.toml:6:1: `schedule` is a top-level setting, but it comes after the [tasks.a] header",
    ] {
        assert!(run.stderr.contains(want), "missing {want}\n{}", run.stderr);
    }
}

#[test]
fn a_broken_drover_toml_is_blamed_for_missing_pools() {
    let home = TestHome::new();
    home.write("drover.toml", "[pools\ngpu = 1\n");
    home.flow("f", "[tasks.a]\ncmd = \"true\"\npool = \"gpu\"\n");
    let run = home.drover(&["validate"]);
    assert!(run.stderr.contains("drover.toml:1:"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("drover.toml has errors; fix them first"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_flow_file_is_checked_against_its_own_home() {
    let home = TestHome::new();
    home.write(
        "drover.toml",
        "timezone = \"Asia/Tokyo\"\n[pools]\ngpu = 2\n",
    );
    home.write("themes/mine.toml", "");
    home.flow("train", "[tasks.a]\ncmd = \"true\"\npool = \"gpu\"\n");
    let elsewhere = TestHome::new();
    let file = home.path().join("flows/train.toml");
    let run = elsewhere.drover(&["validate", file.to_str().unwrap()]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "ok: 1 flow valid\n"),
        "{}",
        run.stderr
    );
    let folder = elsewhere.drover(&["validate", home.path().join("flows").to_str().unwrap()]);
    assert_eq!(folder.code, 0, "{}", folder.stderr);
    home.write("drover.toml", "theme = \"mine\"\n");
    let config = elsewhere.drover(&[
        "validate",
        home.path().join("drover.toml").to_str().unwrap(),
    ]);
    assert_eq!(
        config.code, 0,
        "a theme file beside drover.toml counts: {}",
        config.stderr
    );
}

#[test]
fn template_escapes_and_self_references() {
    let home = TestHome::new();
    home.flow(
        "ok",
        "[tasks.a]\ncmd = 'docker inspect -f \\{{.State.Status}} x'\n",
    );
    assert_eq!(home.drover(&["validate"]).code, 0);
    home.flow("selfref", "[tasks.a]\ncmd = \"echo {{ outputs.a.x }}\"\n");
    let run = home.drover(&["validate"]);
    assert!(
        run.stderr.contains("a task cannot use its own outputs"),
        "{}",
        run.stderr
    );
}

#[test]
fn next_streams_a_huge_count() {
    let home = TestHome::new();
    home.flow(
        "s",
        "schedule = \"* * * * * *\"\n[tasks.a]\ncmd = \"true\"\n",
    );
    let started = std::time::Instant::now();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' next s -n 4294967295 | head -n 3",
            env!("CARGO_BIN_EXE_drover")
        ))
        .env("DROVER_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn an_empty_drover_home_means_the_current_folder() {
    let home = TestHome::new();
    home.flow("here", "[tasks.a]\ncmd = \"true\"\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .arg("list")
        .env("DROVER_HOME", "")
        .current_dir(home.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("here"));
}

#[test]
fn a_folder_that_is_not_a_home_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["list"][..], &["validate"][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(args)
            .env_remove("DROVER_HOME")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the current folder is not a drover home"),
            "{err}"
        );
    }
}

/// `drover validate` on one generated flow file, timed: the run and how
/// long it took. Fails if it took over `HOSTILE_BOUND`, which is generous
/// for a debug build on a loaded machine (each file here validates in
/// about 2 s or less unoptimised) and far below what the quadratic paths
/// took before (each test names that figure, debug build).
fn validate_timed(name: &str, text: &str) -> (common::Run, std::time::Duration) {
    let home = TestHome::new();
    home.flow(name, text);
    let started = std::time::Instant::now();
    let run = home.drover(&["validate"]);
    let took = started.elapsed();
    assert!(
        took < HOSTILE_BOUND,
        "validating {name} ({} bytes) took {took:?}",
        text.len()
    );
    (run, took)
}

/// The first `n` characters of `s`, for failure messages.
fn excerpt(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

const HOSTILE_BOUND: std::time::Duration = std::time::Duration::from_secs(20);

#[test]
fn a_huge_unknown_timezone_is_reported_without_a_long_search() {
    // Before: over 120 s for 1 MB (the "did you mean" search compared it
    // in full against every zone name).
    let zone = "Europe/Berlinx".repeat(75_000);
    let (run, _) = validate_timed(
        "tz",
        &format!("timezone = \"{zone}\"\n[tasks.a]\ncmd = \"x\"\n"),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("flows/tz.toml:1:12: unknown timezone \"Europe/BerlinxEurope/Berlinx"),
        "{}",
        excerpt(&run.stderr, 200)
    );
    assert!(!run.stderr.contains("did you mean"));
}

#[test]
fn a_huge_unknown_key_is_reported_without_a_long_search() {
    // Before: 29 s and 180 MB for 1 MB, twice that for 2 MB.
    let key = "k".repeat(2_000_000);
    let (run, _) = validate_timed("key", &format!("{key} = 1\n[tasks.a]\ncmd = \"x\"\n"));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("flows/key.toml:1:1: unknown key `kkkk"),
        "{}",
        excerpt(&run.stderr, 200)
    );
    // The key is not echoed whole: its middle is cut, the advice kept.
    let line = run.stderr.lines().next().unwrap_or_default();
    assert!(line.len() < 2000, "{}", excerpt(line, 200));
    assert!(line.contains("…[1,999,"), "{line}");
    assert!(line.contains("known keys"), "{line}");
}

#[test]
fn hundreds_of_thousands_of_unknown_deps_on_one_line_are_capped() {
    // Before: ~57 s for these 3 MB (6.3 s for 1 MB): `Vec::contains` over
    // the list, and each error's column counted from the line's start.
    let n = 250_000;
    let deps: Vec<String> = (0..n).map(|i| format!("\"u{i:07}\"")).collect();
    let text = format!(
        "[tasks.a]\ncmd = \"x\"\n[tasks.b]\ncmd = \"x\"\ndeps = [\"a\", {}, \"a\"]\n",
        deps.join(",")
    );
    let (run, _) = validate_timed("deps", &text);
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 202, "200 errors, the count, the summary");
    assert!(
        lines[0].contains("flows/deps.toml:5:14: task `b` depends on unknown task `u0000000`"),
        "{}",
        lines[0]
    );
    // Each entry takes 11 characters: columns stay exact far along the line.
    assert!(
        lines[199].contains(&format!(
            "flows/deps.toml:5:{}: task `b` depends on unknown task `u0000199`",
            14 + 199 * 11
        )),
        "{}",
        lines[199]
    );
    assert!(lines[200].ends_with(&format!(
            "flows/deps.toml:5:{}: ... and 249,800 more errors in this file, from here on (only the first 200 are listed); fix these and validate again",
            14 + 200 * 11
        )));
    assert!(
        lines[201].contains("250,000 errors in 1 file"),
        "the summary counts every error: {}",
        lines[201]
    );
}

#[test]
fn a_huge_command_with_many_bad_variables_is_capped() {
    // Before: ~140 s for these 3 MB (15 s for 1 MB): each error compared
    // the whole command with the file again to find its column.
    let n = 250_000;
    let cmd = "{{ xx }} ".repeat(n);
    let (run, _) = validate_timed("tmpl", &format!("[tasks.a]\ncmd = \"{cmd}\"\n"));
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[0].contains("flows/tmpl.toml:2:8: unknown template variable `xx`"),
        "{}",
        lines[0]
    );
    assert!(
        lines[199].contains(&format!("flows/tmpl.toml:2:{}: unknown", 8 + 199 * 9)),
        "{}",
        lines[199]
    );
    assert!(
        lines[200].contains("... and 249,800 more errors in this file"),
        "{}",
        lines[200]
    );
}

#[test]
fn a_chain_of_a_hundred_thousand_tasks_validates_and_its_cycle_is_named() {
    // Before: ~110 s for such a chain of 3 MB (12 s for 1 MB): each task
    // naming its grandparent's output built a reachability set over the
    // whole flow.
    let n = 100_000;
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!("[tasks.t{i}]\n"));
        if i >= 2 {
            text.push_str(&format!(
                "cmd = \"echo {{{{ outputs.t{}.k }}}}\"\ndeps = [\"t{}\"]\n",
                i - 2,
                i - 1
            ));
        } else {
            text.push_str("cmd = \"x\"\n");
            if i == 1 {
                text.push_str("deps = [\"t0\"]\n");
            }
        }
    }
    let (run, _) = validate_timed("chain", &text);
    assert_eq!(run.code, 0, "{}", excerpt(&run.stderr, 300));
    assert!(run.stdout.contains("ok: 1 flow valid"), "{}", run.stdout);
    // Closing the chain into a cycle: found without deep recursion.
    let cyclic = text.replacen(
        "[tasks.t0]\ncmd = \"x\"\n",
        &format!("[tasks.t0]\ncmd = \"x\"\ndeps = [\"t{}\"]\n", n - 1),
        1,
    );
    let (run, _) = validate_timed("chain", &cyclic);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("flows/chain.toml:1:8: dependency cycle: t0 → t1 → t2 → "),
        "{}",
        excerpt(&run.stderr, 300)
    );
    // A template naming a task that is not upstream is still caught.
    let wrong = text.replacen("outputs.t5.k", "outputs.t99999.k", 1);
    let (run, _) = validate_timed("chain", &wrong);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("`{{ outputs.t99999.k }}`: task `t99999` is not upstream of `t7`"),
        "{}",
        excerpt(&run.stderr, 300)
    );
}

#[test]
fn a_big_defaults_env_is_not_copied_into_every_task() {
    // Before: 4.3 s and 3.7 GB optimised for these 170 kB, far longer
    // unoptimised: every task held its own copy of [defaults] env.
    let n = 5000;
    let env: Vec<String> = (0..n).map(|i| format!("E{i} = '1'")).collect();
    let tasks: String = (0..n)
        .map(|i| format!("[tasks.t{i}]\ncmd = \"x\"\n"))
        .collect();
    let (run, _) = validate_timed(
        "env",
        &format!("[defaults]\nenv = {{ {} }}\n{tasks}", env.join(", ")),
    );
    assert_eq!(run.code, 0, "{}", excerpt(&run.stderr, 300));
}
