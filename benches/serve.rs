//! `drover serve` figures (`cargo bench --bench serve`):
//!
//! (a) trigger → first task start, through the control socket: from just
//!     before `drover trigger` is started to the moment the task's first
//!     command runs (the task writes the time), median of 20; set against
//!     starting the same `sh` directly;
//! (b) idle RSS of serve with the example flows plus 10,000 stored runs,
//!     against serve on the same flows with no runs;
//! (c) unpause → first task start of a flow on a per-second schedule with
//!     `start` ten years back and `catchup = false`, serve already up:
//!     from just before `drover unpause` to the task's first command,
//!     median of 10 flows; set against the same flow starting yesterday
//!     and against (a).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::{example_home, median, rss_kib};

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn serve(home: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_drover"))
        .arg("serve")
        .env("DROVER_HOME", home)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for a task to write its start time (ns since the epoch) into
/// `stamp`, and returns it.
fn wait_for_stamp(what: &str, stamp: &Path) -> u128 {
    wait_for(what, || {
        std::fs::read_to_string(stamp).is_ok_and(|t| t.trim().len() > 10)
    });
    std::fs::read_to_string(stamp)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

fn main() {
    // (a) trigger latency.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    example_home(home);
    let stamp = home.join("stamp");
    std::fs::write(
        home.join("flows/ping.toml"),
        format!("[tasks.ping]\ncmd = \"date +%s%N > {}\"\n", stamp.display()),
    )
    .unwrap();
    let s = serve(home);
    wait_for("the socket", || {
        std::os::unix::net::UnixStream::connect(home.join(".drover/drover.sock")).is_ok()
    });
    let mut latencies = Vec::new();
    for _ in 0..20 {
        let _ = std::fs::remove_file(&stamp);
        let before = now_ns();
        let out = Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(["trigger", "ping"])
            .env("DROVER_HOME", home)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let at = wait_for_stamp("the task", &stamp);
        latencies.push((at.saturating_sub(before)) as f64 / 1e6);
    }
    stop(s);
    let mut direct = Vec::new();
    for _ in 0..20 {
        let before = now_ns();
        Command::new("sh")
            .arg("-c")
            .arg(format!("date +%s%N > {}", stamp.display()))
            .status()
            .unwrap();
        let at: u128 = std::fs::read_to_string(&stamp)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        direct.push((at.saturating_sub(before)) as f64 / 1e6);
    }
    let (lat, base) = (median(latencies), median(direct));
    println!("(a) trigger → first task start through the socket: {lat:.1} ms median");
    println!(
        "    starting the same sh directly: {base:.1} ms ({:.1}x)",
        lat / base
    );

    // (c) unpause after a decade of missed per-second fire times.
    let (decade, recent) = unpause_latencies();
    println!("(c) unpause → first task start, per-second flow, catchup = false:");
    println!("    start ten years back: {decade:.1} ms median");
    println!(
        "    start yesterday: {recent:.1} ms ({:.2}x); a plain trigger (a): {lat:.1} ms ({:.2}x)",
        decade / recent,
        decade / lat
    );

    // (b) idle RSS with 10,000 stored runs.
    let empty = tempfile::tempdir().unwrap();
    example_home(empty.path());
    let full = tempfile::tempdir().unwrap();
    example_home(full.path());
    common::store_runs(full.path(), 10_000);
    let mut rss = Vec::new();
    for home in [empty.path(), full.path()] {
        let s = serve(home);
        wait_for("the socket", || {
            std::os::unix::net::UnixStream::connect(home.join(".drover/drover.sock")).is_ok()
        });
        std::thread::sleep(Duration::from_secs(2)); // idle: nothing scheduled runs meanwhile
        rss.push(rss_kib(s.id()));
        stop(s);
    }
    println!(
        "(b) idle RSS of serve: {:.1} MiB with 10,000 stored runs, {:.1} MiB with none ({:.2}x)",
        rss[1] as f64 / 1024.0,
        rss[0] as f64 / 1024.0,
        rss[1] as f64 / rss[0].max(1) as f64
    );
}

/// Medians of (c): unpause → first task start for ten paused flows whose
/// `start` is ten years back, and for ten whose `start` is yesterday, all
/// in one serve. Each flow is unpaused once (its first run after that is
/// the one measured), then paused again so its per-second runs stop.
fn unpause_latencies() -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::create_dir_all(home.join("flows")).unwrap();
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%d");
    let kinds = [
        ("decade", "2016-01-01".to_string()),
        ("recent", yesterday.to_string()),
    ];
    for (kind, start) in &kinds {
        for i in 0..10 {
            let stamp = home.join(format!("{kind}{i}.stamp"));
            std::fs::write(
                home.join(format!("flows/{kind}{i}.toml")),
                format!(
                    "schedule = \"*/1 * * * * *\"\nstart = \"{start}\"\ncatchup = false\npaused = true\n[tasks.t]\ncmd = \"[ -e {s} ] || date +%s%N > {s}\"\n",
                    s = stamp.display()
                ),
            )
            .unwrap();
        }
    }
    let s = serve(home);
    wait_for("the socket", || {
        std::os::unix::net::UnixStream::connect(home.join(".drover/drover.sock")).is_ok()
    });
    let drover = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(args)
            .env("DROVER_HOME", home)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let mut medians = Vec::new();
    for (kind, _) in &kinds {
        let mut latencies = Vec::new();
        for i in 0..10 {
            let flow = format!("{kind}{i}");
            let stamp = home.join(format!("{flow}.stamp"));
            let before = now_ns();
            drover(&["unpause", &flow]);
            let at = wait_for_stamp("the unpaused flow's task", &stamp);
            latencies.push(at.saturating_sub(before) as f64 / 1e6);
            drover(&["pause", &flow]);
        }
        medians.push(median(latencies));
    }
    stop(s);
    (medians[0], medians[1])
}
