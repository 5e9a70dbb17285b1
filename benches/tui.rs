//! TUI figures (`cargo bench --bench tui`):
//!
//! (a) frame time of the Grid with 100 runs × 500 tasks and of the Graph
//!     with 200 nodes, drawn on a TestBackend at 100×30 and 200×60 (the
//!     selection moves every frame, so every frame is a real redraw), set
//!     against drawing one full-screen paragraph of text at the same size;
//! (b) bytes written to the terminal by the real binary in a pty (`script`),
//!     idle, and while a task prints 1,000 lines a second with its log
//!     open (set against the bytes the task itself writes);
//! (c) RSS of the TUI with 10,000 stored runs, against none;
//! (d) Grid scroll steps (`h`, `<`) back through 300 runs × 200 tasks,
//!     each step a key and a redraw, on a store just opened (cold) and
//!     again (warm), median and worst, against one redraw with no scroll;
//! (e) RSS of the TUI, Grid open, after it ran a backfill of 300 runs of a
//!     200-task flow (`true` tasks), against a fresh start of the TUI on
//!     the same home showing the same Grid. `DROVER_BENCH_RUNS` and
//!     `DROVER_BENCH_TASKS` set other sizes.

mod common;
#[path = "../tests/common/tui_fixture.rs"]
mod tui_fixture;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use common::{example_home, median, rss_kib};
use drover::store::{RunState, TaskState};
use drover::tui::app::View;
use drover::tui::keymap::Action;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::widgets::{Paragraph, Wrap};

/// Median time of `frames` draws of `draw` on a `w`×`h` TestBackend, in ms.
fn frame_ms(
    w: u16,
    h: u16,
    frames: usize,
    mut draw: impl FnMut(&mut ratatui::Frame, usize),
) -> f64 {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut times = Vec::new();
    for i in 0..frames {
        let start = Instant::now();
        terminal.draw(|f| draw(f, i)).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    median(times)
}

/// A full screen of text as one wrapped paragraph: the baseline frame.
fn baseline_ms(w: u16, h: u16) -> f64 {
    let text: Vec<String> = (0..4)
        .map(|k| {
            "the quick brown fox jumps over the lazy dog "
                .repeat(usize::from(w) * usize::from(h) / 40 + k)
        })
        .collect();
    frame_ms(w, h, 200, |f, i| {
        let p = Paragraph::new(text[i % 4].as_str()).wrap(Wrap { trim: false });
        f.render_widget(p, f.area());
    })
}

fn flow_text(tasks: usize, fan: bool) -> String {
    let mut text = String::from("schedule = \"0 3 * * *\"\n");
    let mut seed: u64 = 7;
    for i in 0..tasks {
        text.push_str(&format!("[tasks.task_{i:03}]\ncmd = \"true\"\n"));
        if i > 0 {
            let mut deps = vec![format!("\"task_{:03}\"", i - 1)];
            if fan {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let j = (seed >> 33) as usize % i;
                if j != i - 1 {
                    deps.push(format!("\"task_{j:03}\""));
                }
                if i % 3 == 0 {
                    deps = vec![format!("\"task_{:03}\"", (seed >> 40) as usize % i)];
                }
            }
            text.push_str(&format!("deps = [{}]\n", deps.join(", ")));
        }
    }
    text
}

fn render_figures() {
    let states = [
        TaskState::Success,
        TaskState::Success,
        TaskState::Failed,
        TaskState::Skipped,
        TaskState::UpstreamFailed,
        TaskState::Success,
    ];
    // Grid: 500 tasks × 100 runs.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::fs::write(dir.path().join("flows/big.toml"), flow_text(500, false)).unwrap();
    let (store, flows) = tui_fixture::open(dir.path());
    let big = flows[0].clone();
    let names: Vec<String> = big.tasks.iter().map(|t| t.id.clone()).collect();
    let start = Utc.with_ymd_and_hms(2026, 8, 1, 3, 0, 0).unwrap();
    let made = Instant::now();
    for r in 0..100 {
        let set: Vec<(&str, TaskState, u32)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), states[(i + r) % states.len()], 1))
            .collect();
        tui_fixture::add_run(
            &store,
            &big,
            start + chrono::Duration::days(r as i64),
            RunState::Success,
            Some(60 + r as i64),
            &set,
        );
    }
    eprintln!(
        "(stored 100 runs × 500 tasks in {:.1} s)",
        made.elapsed().as_secs_f64()
    );
    println!("(a) frame time, median of 200 frames, TestBackend:");
    for (w, h) in [(100u16, 30u16), (200, 60)] {
        let mut app = tui_fixture::app(&store, &flows, 0, w, h);
        let opened = Instant::now();
        app.open_flow("big");
        let open_ms = opened.elapsed().as_secs_f64() * 1e3;
        app.view = View::Grid;
        let grid = frame_ms(w, h, 200, |f, i| {
            let _ = app.update(if i % 2 == 0 {
                Action::Down
            } else {
                Action::Left
            });
            drover::tui::screen::draw(&app, f);
        });
        let base = baseline_ms(w, h);
        println!(
            "    Grid 100 runs × 500 tasks at {w}×{h}: {grid:.2} ms/frame; full-screen paragraph {base:.2} ms ({:.1}x); opening the flow {open_ms:.1} ms",
            grid / base
        );
    }
    // Graph: 200 nodes.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::fs::write(dir.path().join("flows/dag.toml"), flow_text(200, true)).unwrap();
    let (store, flows) = tui_fixture::open(dir.path());
    let dag = flows[0].clone();
    let names: Vec<String> = dag.tasks.iter().map(|t| t.id.clone()).collect();
    let set: Vec<(&str, TaskState, u32)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), states[i % states.len()], 1))
        .collect();
    tui_fixture::add_run(&store, &dag, start, RunState::Failed, Some(90), &set);
    for (w, h) in [(100u16, 30u16), (200, 60)] {
        let mut app = tui_fixture::app(&store, &flows, 0, w, h);
        app.open_flow("dag");
        app.view = View::Grid;
        let laid = Instant::now();
        let _ = app.update(Action::Graph);
        let layout_ms = laid.elapsed().as_secs_f64() * 1e3;
        let size = app
            .graph
            .layout
            .as_ref()
            .map(|(_, l)| (l.width, l.height))
            .unwrap_or_default();
        let moves = [Action::Right, Action::Down, Action::Right, Action::Up];
        let graph = frame_ms(w, h, 200, |f, i| {
            let _ = app.update(moves[i % moves.len()]);
            drover::tui::screen::draw(&app, f);
        });
        let base = baseline_ms(w, h);
        println!(
            "    Graph 200 nodes ({}×{} cells) at {w}×{h}: {graph:.2} ms/frame; full-screen paragraph {base:.2} ms ({:.1}x); layout once per flow version {layout_ms:.1} ms",
            size.0,
            size.1,
            graph / base
        );
    }
    // Graph: a 200-task fan-out (split → 198 shards → merge), laid out as
    // drawn (the shards one group box) and with every task a box of its own.
    let mut text = String::from("[tasks.split]\ncmd = \"true\"\n");
    for i in 0..198 {
        text.push_str(&format!(
            "[tasks.shard_{i:03}]\ncmd = \"true\"\ndeps = [\"split\"]\n"
        ));
    }
    let shards: Vec<String> = (0..198).map(|i| format!("\"shard_{i:03}\"")).collect();
    text.push_str(&format!(
        "[tasks.merge]\ncmd = \"true\"\ndeps = [{}]\n",
        shards.join(", ")
    ));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::fs::write(dir.path().join("flows/fan.toml"), text).unwrap();
    let (store, flows) = tui_fixture::open(dir.path());
    let fan = flows[0].clone();
    let mut app = tui_fixture::app(&store, &flows, 0, 100, 30);
    app.open_flow("fan");
    app.view = View::Grid;
    let laid = Instant::now();
    let _ = app.update(Action::Graph);
    let grouped_ms = laid.elapsed().as_secs_f64() * 1e3;
    let grouped = app
        .graph
        .layout
        .as_ref()
        .map(|(_, l)| (l.width, l.height))
        .unwrap_or_default();
    let labels: Vec<String> = fan.tasks.iter().map(|t| format!("· {}", t.id)).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let deps = fan.dep_indices();
    let laid = Instant::now();
    let plain = drover::tui::graph_layout::layout(&labels, &deps);
    let plain_ms = laid.elapsed().as_secs_f64() * 1e3;
    println!(
        "    Graph 200-task fan-out: layout {grouped_ms:.2} ms, {}×{} cells, shards grouped; every task a box {plain_ms:.2} ms, {}×{} cells",
        grouped.0, grouped.1, plain.width, plain.height
    );
}

/// Times each of `steps` presses of `action` with the redraw after it, in ms.
fn steps_ms(
    app: &mut drover::tui::app::App,
    terminal: &mut Terminal<TestBackend>,
    action: Action,
    steps: usize,
) -> Vec<f64> {
    (0..steps)
        .map(|_| {
            let start = Instant::now();
            let _ = app.update(action);
            terminal
                .draw(|f| drover::tui::screen::draw(app, f))
                .unwrap();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

fn worst(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

fn scroll_figures() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::fs::write(dir.path().join("flows/big.toml"), flow_text(200, false)).unwrap();
    {
        let (store, flows) = tui_fixture::open(dir.path());
        let names: Vec<String> = flows[0].tasks.iter().map(|t| t.id.clone()).collect();
        let set: Vec<(&str, TaskState, u32)> = names
            .iter()
            .map(|n| (n.as_str(), TaskState::Success, 1))
            .collect();
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 3, 0, 0).unwrap();
        let made = Instant::now();
        for r in 0..300 {
            tui_fixture::add_run(
                &store,
                &flows[0],
                start + chrono::Duration::days(r),
                RunState::Success,
                Some(60 + r),
                &set,
            );
        }
        eprintln!(
            "(stored 300 runs × 200 tasks in {:.1} s)",
            made.elapsed().as_secs_f64()
        );
    }
    println!("(d) Grid scroll over 300 runs × 200 tasks, a key and a redraw a step (TestBackend):");
    for (w, h) in [(100u16, 30u16), (200, 60)] {
        // A store just opened: nothing of it read yet.
        let (store, flows) = tui_fixture::open(dir.path());
        let mut app = tui_fixture::app(&store, &flows, 0, w, h);
        app.open_flow("big");
        app.view = View::Grid;
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        let cold = steps_ms(&mut app, &mut terminal, Action::Left, 299);
        let back = steps_ms(&mut app, &mut terminal, Action::Right, 299);
        let warm = steps_ms(&mut app, &mut terminal, Action::Left, 299);
        let _ = steps_ms(&mut app, &mut terminal, Action::Right, 299);
        let screens = 300 / app.grid.columns(&app.ctx);
        let pages = steps_ms(&mut app, &mut terminal, Action::OlderRuns, screens);
        // Baseline: one redraw with nothing moved, same app, same run.
        let mut redraws = Vec::new();
        for _ in 0..200 {
            let start = Instant::now();
            terminal
                .draw(|f| drover::tui::screen::draw(&app, f))
                .unwrap();
            redraws.push(start.elapsed().as_secs_f64() * 1e3);
        }
        let base = median(redraws);
        let line = |name: &str, v: &[f64]| {
            let (m, x) = (median(v.to_vec()), worst(v));
            println!(
                "    {w}×{h} {name}: median {m:.2} ms ({:.1}x), worst {x:.2} ms ({:.1}x)",
                m / base,
                x / base
            );
        };
        println!("    {w}×{h} baseline, one redraw with no scroll: {base:.2} ms");
        line("h × 299, cold", &cold);
        line("l × 299 back", &back);
        line("h × 299, warm", &warm);
        line("< a screen at a time", &pages);
    }
}

/// The real binary in a pty of 100×30, its terminal output counted.
struct Pty {
    child: Child,
    bytes: Arc<AtomicU64>,
    input: std::process::ChildStdin,
}

impl Pty {
    fn start(home: &Path) -> Pty {
        let command = format!(
            "stty cols 100 rows 30; exec {} --home '{}'",
            env!("CARGO_BIN_EXE_drover"),
            home.display()
        );
        let mut child = Command::new("script")
            .args(["-qfec", &command, "/dev/null"])
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run script (util-linux)");
        let bytes = Arc::new(AtomicU64::new(0));
        let mut out = child.stdout.take().unwrap();
        let counter = bytes.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                counter.fetch_add(n as u64, Ordering::SeqCst);
            }
        });
        let input = child.stdin.take().unwrap();
        Pty {
            child,
            bytes,
            input,
        }
    }

    fn keys(&mut self, keys: &str) {
        self.input.write_all(keys.as_bytes()).unwrap();
        self.input.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Bytes written to the terminal during `window`, per second.
    fn rate(&self, window: Duration) -> f64 {
        let before = self.bytes.load(Ordering::SeqCst);
        std::thread::sleep(window);
        (self.bytes.load(Ordering::SeqCst) - before) as f64 / window.as_secs_f64()
    }

    fn drover_pid(home: &Path) -> u32 {
        let text = std::fs::read_to_string(home.join(".drover/store.holder")).unwrap_or_default();
        text.split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    fn quit(mut self) {
        let _ = self.input.write_all(b"q");
        let _ = self.input.flush();
        std::thread::sleep(Duration::from_millis(500));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn terminal_figures() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    example_home(home);
    // 5,000 lines at 1,000 a second.
    std::fs::write(
        home.join("flows/flood.toml"),
        "[tasks.spew]\ncmd = '''i=0; while [ $i -lt 5000 ]; do echo \"line $i of the flood, with some words to make it longer\"; i=$((i+1)); if [ $((i % 100)) = 0 ]; then sleep 0.1; fi; done'''\n",
    )
    .unwrap();
    let mut pty = Pty::start(home);
    wait_until("the TUI", || pty.bytes.load(Ordering::SeqCst) > 1000);
    // The example flows' catch-up runs finish first.
    std::thread::sleep(Duration::from_secs(8));
    let idle = pty.rate(Duration::from_secs(10));
    println!("(b) bytes to the terminal (100×30, real binary in a pty):");
    println!("    idle, Flows view: {idle:.1} B/s over 10 s");
    pty.keys("/flood\r");
    pty.keys("t");
    pty.keys("\r");
    pty.keys("\r");
    pty.keys("\r");
    let logs = home.join(".drover/logs/flood");
    wait_until("the flood's log", || {
        std::fs::read_dir(&logs).is_ok_and(|mut d| d.next().is_some())
    });
    let log_size = || -> u64 {
        std::fs::read_dir(&logs)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|run| std::fs::metadata(run.path().join("spew.1.log")).ok())
            .map(|m| m.len())
            .sum()
    };
    std::thread::sleep(Duration::from_millis(500));
    let log_before = log_size();
    let window = Duration::from_secs(3);
    let screen = pty.rate(window);
    let written = (log_size() - log_before) as f64 / window.as_secs_f64();
    println!(
        "    following a log written at {:.0} B/s (~1,000 lines/s): {screen:.0} B/s to the terminal ({:.2}x the log's own bytes)",
        written,
        screen / written.max(1.0)
    );
    let pid = Pty::drover_pid(home);
    println!(
        "    (RSS while following: {:.1} MiB)",
        rss_kib(pid) as f64 / 1024.0
    );
    pty.quit();
}

fn memory_figures() {
    let empty = tempfile::tempdir().unwrap();
    example_home(empty.path());
    let full = tempfile::tempdir().unwrap();
    example_home(full.path());
    common::store_runs(full.path(), 10_000);
    let mut rss = Vec::new();
    for home in [empty.path(), full.path()] {
        let mut pty = Pty::start(home);
        wait_until("the TUI", || {
            Pty::drover_pid(home) != 0 && pty.bytes.load(Ordering::SeqCst) > 1000
        });
        std::thread::sleep(Duration::from_secs(3));
        let pid = Pty::drover_pid(home);
        let flows = rss_kib(pid);
        // The grid of the flow with the runs, then scrolled back.
        pty.keys("/ml\r\r");
        std::thread::sleep(Duration::from_secs(1));
        let grid = rss_kib(pid);
        pty.keys(&"h".repeat(200));
        std::thread::sleep(Duration::from_secs(1));
        rss.push((flows, grid, rss_kib(pid)));
        pty.quit();
    }
    let mib = |k: u64| k as f64 / 1024.0;
    println!("(c) RSS of the TUI (scheduler and workers included):");
    println!(
        "    Flows view: {:.1} MiB with 10,000 stored runs, {:.1} MiB with none ({:.2}x)",
        mib(rss[1].0),
        mib(rss[0].0),
        rss[1].0 as f64 / rss[0].0.max(1) as f64
    );
    println!(
        "    Grid of that flow: {:.1} MiB, {:.1} MiB with none ({:.2}x)",
        mib(rss[1].1),
        mib(rss[0].1),
        rss[1].1 as f64 / rss[0].1.max(1) as f64
    );
    println!(
        "    scrolled 200 runs back: {:.1} MiB, {:.1} MiB with none ({:.2}x)",
        mib(rss[1].2),
        mib(rss[0].2),
        rss[1].2 as f64 / rss[0].2.max(1) as f64
    );
}

/// How many of a flow's runs `drover runs` lists as finished.
fn finished_runs(home: &Path, flow: &str, n: usize) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["runs", flow, "--json", "-n", &n.to_string(), "--home"])
        .arg(home)
        .output()
        .expect("run drover runs");
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    runs.iter()
        .filter(|r| matches!(r["state"].as_str(), Some("success" | "failed")))
        .count()
}

fn size_from_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn backfill_figures() {
    let runs = size_from_env("DROVER_BENCH_RUNS", 300);
    let tasks = size_from_env("DROVER_BENCH_TASKS", 200);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::create_dir_all(home.join("flows")).unwrap();
    std::fs::write(home.join("drover.toml"), "parallelism = 4\n").unwrap();
    std::fs::write(home.join("flows/big.toml"), flow_text(tasks, true)).unwrap();
    let started = |pty: &Pty| Pty::drover_pid(home) != 0 && pty.bytes.load(Ordering::SeqCst) > 1000;

    let mut pty = Pty::start(home);
    wait_until("the TUI", || started(&pty));
    let pid = Pty::drover_pid(home);
    let before = rss_kib(pid);
    // One fire time a day from 2025-01-01, the last day included.
    let from = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let to = from + chrono::Duration::days(runs as i64 - 1);
    let ran = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["backfill", "big", "--from", "2025-01-01", "--to"])
        .arg(to.format("%Y-%m-%d").to_string())
        .arg("--home")
        .arg(home)
        .stdout(Stdio::null())
        .status()
        .expect("run drover backfill");
    assert!(status.success(), "drover backfill failed");
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(3600);
    while finished_runs(home, "big", runs + 10) < runs {
        assert!(
            Instant::now() < deadline,
            "the backfill did not finish within an hour"
        );
        peak = peak.max(rss_kib(pid));
        std::thread::sleep(Duration::from_secs(1));
    }
    let took = ran.elapsed().as_secs_f64();
    pty.keys("/big\r\r");
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_kib(pid);
    pty.quit();
    wait_until("the first TUI to end", || rss_kib(pid) == 0);

    let mut pty = Pty::start(home);
    wait_until("the TUI again", || {
        started(&pty) && Pty::drover_pid(home) != pid
    });
    let pid = Pty::drover_pid(home);
    std::thread::sleep(Duration::from_secs(2));
    pty.keys("/big\r\r");
    std::thread::sleep(Duration::from_secs(2));
    let fresh = rss_kib(pid);
    pty.quit();

    let mib = |k: u64| k as f64 / 1024.0;
    println!("(e) RSS of the TUI after a backfill (scheduler and workers included):");
    println!(
        "    {runs} runs × {tasks} tasks ran in {took:.0} s; {:.1} MiB before it, {:.1} MiB at most during it",
        mib(before),
        mib(peak)
    );
    println!(
        "    Grid of that flow after the backfill: {:.1} MiB; fresh start, same Grid: {:.1} MiB ({:.2}x)",
        mib(after),
        mib(fresh),
        after as f64 / fresh.max(1) as f64
    );
}

fn main() {
    // `cargo bench --bench tui -- memory` runs only the parts named.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    if wanted("render") {
        render_figures();
    }
    if wanted("scroll") {
        scroll_figures();
    }
    if wanted("terminal") {
        terminal_figures();
    }
    if wanted("memory") {
        memory_figures();
    }
    if wanted("backfill") {
        backfill_figures();
    }
}
