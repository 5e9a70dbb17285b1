//! The control socket of a running `drover serve` against hostile and
//! careless clients of its API: one that stops reading, command lines and
//! other versions, unknown calls, a read-only client acting, huge lines,
//! hundreds of trickling connections, and a flow file that is costly to
//! check. None of them may stall the engine or lock the other clients out.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::{TestHome, serve_ready, wait_until};
use serde_json::Value;

/// A raw API client: connects, says hello (as `version`), and returns the
/// stream with the welcome line.
fn hello_as(home: &TestHome, version: u32, read_only: bool) -> (UnixStream, Value) {
    let stream = UnixStream::connect(home.path().join(".drover/drover.sock")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let hello = serde_json::json!({ "hello": { "version": version, "client": "test", "read_only": read_only } });
    (&stream)
        .write_all((hello.to_string() + "\n").as_bytes())
        .unwrap();
    let welcome = read_line(&stream);
    (stream, welcome)
}

fn hello(home: &TestHome) -> UnixStream {
    let (stream, welcome) = hello_as(home, 1, false);
    assert!(welcome["welcome"]["refused"].is_null(), "{welcome}");
    stream
}

/// Sends call `id`.
fn call(mut stream: &UnixStream, id: u64, call: Value) {
    let line = serde_json::json!({ "id": id, "call": call }).to_string() + "\n";
    stream.write_all(line.as_bytes()).unwrap();
}

/// One line from the instance, as JSON (Null once it closed).
fn read_line(stream: &UnixStream) -> Value {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while let Ok(1) = (&*stream).read(&mut byte) {
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    serde_json::from_slice(&line).unwrap_or(Value::Null)
}

/// The reply to call `id` (events and other replies skipped).
fn reply(stream: &UnixStream, id: u64) -> Value {
    loop {
        let line = read_line(stream);
        if line.is_null() || line["id"] == id {
            return line;
        }
    }
}

/// The peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

const QUICK: &str = "[tasks.a]\ncmd = \"true\"\n";

#[test]
fn a_client_that_stops_reading_holds_up_nothing() {
    let home = TestHome::new();
    let gate = home.path().join("gate");
    // A run with 3,000 task instances and long names: clearing it prints
    // far more than a socket buffer holds.
    let mut wide = format!(
        "[tasks.gate]\ncmd = \"while [ ! -e {} ]; do sleep 0.1; done\"\n",
        gate.display()
    );
    for i in 0..3000 {
        wide.push_str(&format!(
            "[tasks.step_{i:04}_{}]\ncmd = \"true\"\ndeps = [\"gate\"]\n",
            "x".repeat(60)
        ));
    }
    home.flow("wide", &wide);
    home.flow("quick", QUICK);
    let mut serve = serve_ready(&home, &[]);
    let out = home.drover(&["trigger", "wide"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let gate_try = || {
        let tasks = home.drover(&["tasks", "wide", "latest", "--json"]);
        let v: Value = serde_json::from_str(&tasks.stdout).unwrap_or_default();
        v["tasks"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["task"] == "gate"))
            .map(|t| {
                (
                    t["state"].as_str().unwrap_or("").to_string(),
                    t["try"].as_u64(),
                )
            })
    };
    wait_until("gate to run", || {
        gate_try() == Some(("running".into(), Some(1)))
    });
    // The client asks for the clear, and for the run's tasks again and
    // again (far more than a socket buffer holds), and never reads.
    let silent = hello(&home);
    call(
        &silent,
        1,
        serde_json::json!({ "call": "act", "action": "clear", "flow": "wide", "run": "latest" }),
    );
    for id in 2..200 {
        call(
            &silent,
            id,
            serde_json::json!({ "call": "report", "report": "tasks", "flow": "wide", "run": "latest", "json": true }),
        );
    }
    // The engine goes on: a manual run starts, runs and ends meanwhile.
    let quick = home.drover_within(Duration::from_secs(60), &["trigger", "quick", "--wait"]);
    assert_eq!(quick.code, 0, "{}{}", quick.stdout, quick.stderr);
    // The clear itself happened (gate runs its next try), and its answer
    // waits for its reader.
    wait_until("the clear to take gate's try 1 off", || {
        gate_try().is_some_and(|(_, t)| t == Some(2))
    });
    // Stopping serve does not wait for the silent client either.
    let status = serve
        .stop(Duration::from_secs(15))
        .expect("serve did not stop while a client was not reading");
    assert_eq!(status.code(), Some(0));
    drop(silent);
}

#[test]
fn the_socket_speaks_the_instance_api_only() {
    let home = TestHome::new();
    home.flow("quick", QUICK);
    let _serve = serve_ready(&home, &[]);
    // A command line (what an older drover sent) is refused, saying why.
    for args in [&["serve"][..], &["list"], &["clear", "quick", "latest"]] {
        let stream = UnixStream::connect(home.path().join(".drover/drover.sock")).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let line = serde_json::json!({ "args": args }).to_string() + "\n";
        (&stream).write_all(line.as_bytes()).unwrap();
        let refused = read_line(&stream);
        assert!(
            refused["error"]
                .as_str()
                .is_some_and(|e| e.contains("speaks the drover instance API")),
            "{args:?}: {refused}"
        );
        assert!(read_line(&stream).is_null(), "the connection is closed");
    }
    // Another version is told so.
    let (_, welcome) = hello_as(&home, 99, false);
    assert!(
        welcome["welcome"]["refused"]
            .as_str()
            .is_some_and(|r| r.contains("API version 1")),
        "{welcome}"
    );
    // A call the instance does not know is answered with an error, and the
    // connection goes on.
    let client = hello(&home);
    (&client)
        .write_all(b"{\"id\":7,\"call\":{\"call\":\"format_disk\"}}\n")
        .unwrap();
    let unknown = read_line(&client);
    assert!(
        unknown["error"]
            .as_str()
            .is_some_and(|e| e.contains("not a call")),
        "{unknown}"
    );
    call(
        &client,
        8,
        serde_json::json!({ "call": "run_count", "flow": "quick" }),
    );
    assert_eq!(reply(&client, 8)["ok"], 0);
    // A read-only client reads, and may not act.
    let (watcher, _) = hello_as(&home, 1, true);
    call(
        &watcher,
        1,
        serde_json::json!({ "call": "act", "action": "trigger", "flow": "quick" }),
    );
    let refused = reply(&watcher, 1);
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("read-only")),
        "{refused}"
    );
    assert_eq!(
        home.drover(&["runs", "quick", "--json"]).stdout.trim(),
        "[]"
    );
    // The instance is still the only scheduler, and answers.
    let list = home.drover(&["list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.contains("quick"), "{}", list.stdout);
    let log = std::fs::read_to_string(home.path().join(".drover/drover.log")).unwrap();
    assert_eq!(log.matches("drover serve (pid").count(), 1, "{log}");
}

#[test]
fn a_huge_request_is_refused_without_being_held() {
    let home = TestHome::new();
    home.flow("quick", QUICK);
    let serve = serve_ready(&home, &[]);
    let before = peak_rss_kib(serve.id());
    // 64 MiB without a newline, as a first line and as a call: serve reads
    // no more than its limit of each.
    let flood = |stream: &UnixStream| {
        stream
            .set_write_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..64 {
            if (&*stream).write_all(&chunk).is_err() {
                break; // serve closed the connection: what it should do
            }
        }
        let _ = stream.shutdown(std::net::Shutdown::Write);
    };
    let first = UnixStream::connect(home.path().join(".drover/drover.sock")).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    flood(&first);
    let refused = read_line(&first);
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("over 1 MiB")),
        "{refused}"
    );
    let client = hello(&home);
    flood(&client);
    assert!(read_line(&client).is_null(), "the connection is closed");
    let after = peak_rss_kib(serve.id());
    assert!(
        after < before + 16 * 1024,
        "serve grew from {before} KiB to {after} KiB on one request"
    );
    let list = home.drover(&["list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
}

#[test]
fn trickling_connections_never_lock_out_the_others() {
    let home = TestHome::new();
    home.flow("quick", QUICK);
    let _serve = serve_ready(&home, &[]);
    // 600 connections, each sending one byte of a request every second.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let socket = home.path().join(".drover/drover.sock");
    let trickler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut conns: Vec<UnixStream> = (0..600)
                .filter_map(|_| UnixStream::connect(&socket).ok())
                .collect();
            let opened = conns.len();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                for c in &mut conns {
                    let _ = c.write_all(b"{");
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            opened
        })
    };
    // Every command answers at once, trickle or not, for longer than the
    // time a request may take.
    let until = Instant::now() + Duration::from_secs(8);
    let mut answered = 0;
    while Instant::now() < until {
        let list = home.drover_within(Duration::from_secs(30), &["list"]);
        assert_eq!(list.code, 0, "{}", list.stderr);
        answered += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let opened = trickler.join().unwrap();
    assert!(opened >= 500, "only {opened} connections could be opened");
    assert!(answered >= 1, "{answered}");
    let quick = home.drover_within(Duration::from_secs(60), &["trigger", "quick", "--wait"]);
    assert_eq!(quick.code, 0, "{}", quick.stderr);
}

/// Lines of drover.log that contain `text`.
fn log_lines(home: &TestHome, text: &str) -> usize {
    std::fs::read_to_string(home.path().join(".drover/drover.log"))
        .unwrap_or_default()
        .matches(text)
        .count()
}

#[test]
fn a_flow_file_costly_to_check_does_not_delay_the_engine() {
    let home = TestHome::new();
    home.flow(
        "tick",
        "schedule = \"*/1 * * * * *\"\n[tasks.a]\ncmd = \"true\"\n",
    );
    let _serve = serve_ready(&home, &[]);
    wait_until("a first tick", || log_lines(&home, "✓ run tick") >= 1);
    // Everything that once cost quadratic time, in one file.
    let deps: Vec<String> = (0..300_000).map(|i| format!("\"d{i}\"")).collect();
    let bad = format!(
        "timezone = \"{}\"\n{} = 1\n[tasks.a]\ncmd = \"true\"\ndeps = [{}]\n",
        "Europe/Berlinn".repeat(4000),
        "k".repeat(1 << 20),
        deps.join(",")
    );
    home.flow("costly", &bad);
    // While the file is read and checked, the engine keeps its fire times
    // (drover.log is written by the engine's listener alone, no file read).
    let before = log_lines(&home, "✓ run tick");
    wait_until("ticks while the costly file is checked", || {
        log_lines(&home, "✓ run tick") >= before + 3
    });
    wait_until("the costly file to be reported", || {
        log_lines(&home, "flow `costly` does not validate") == 1
    });
}
