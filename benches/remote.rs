//! A screen of a remote instance over a slow link (`cargo bench --bench
//! remote`): an sshd of its own on 127.0.0.1 behind a relay that holds
//! every byte 50 ms each way (a 100 ms round trip), a `drover serve` with
//! 60 runs of the example flows, and two screens of it in tmux:
//!
//! - `drover --remote box:HOME`: the screen runs here and asks the instance
//!   through `ssh box drover api --stdio`;
//! - `ssh -t box drover`: the screen runs there and its output comes over
//!   the same link (what a user does without `--remote`).
//!
//! For each, the time from a key to the screen showing its effect: opening
//! a flow's Grid, a step back along its runs, opening a task's log, and
//! back to the Flows view; medians over several rounds, side by side.

mod common;
#[path = "../tests/common/sshd.rs"]
mod sshd;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{example_home, median, store_runs};

/// Polls `ok` every few ms, at most 20 s.
fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, command: &str) -> Tmux {
        let socket = format!("drover-bench-{}-{name}", std::process::id());
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
            ])
            .args(["-x", "120", "-y", "35", command])
            .env("TERM", "xterm-256color")
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cannot start tmux");
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "t"])
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn key(&self, key: &str) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "t", key])
            .status();
    }

    /// Sends `key` and times until the screen satisfies `shown` (ms).
    fn timed(&self, key: &str, shown: impl Fn(&str) -> bool) -> f64 {
        let start = Instant::now();
        self.key(key);
        wait_until(&format!("the effect of {key}"), || shown(&self.screen()));
        start.elapsed().as_secs_f64() * 1000.0
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The run selected on the Grid's title line (its id).
fn title(screen: &str) -> String {
    screen.lines().nth(1).unwrap_or("").trim().to_string()
}

/// Key-to-screen times of one screen: (open Grid, step back, open log, back).
fn rounds(tmux: &Tmux, n: usize) -> [Vec<f64>; 4] {
    let mut times: [Vec<f64>; 4] = Default::default();
    wait_until("the Flows view", || tmux.screen().contains("ml_pipeline"));
    // Select ml_pipeline (the flow with the stored runs).
    tmux.key("/");
    for c in ["m", "l", "_"] {
        tmux.key(c);
    }
    tmux.key("Enter");
    wait_until("the filter", || !tmux.screen().contains("etl_hourly"));
    for _ in 0..n {
        times[0].push(tmux.timed("Enter", |s| s.contains(" run ") && s.contains("train")));
        for _ in 0..3 {
            let before = title(&tmux.screen());
            times[1].push(tmux.timed("h", |s| title(s) != before));
        }
        times[2].push(tmux.timed("4", |s| s.contains("follow ")));
        times[3].push(tmux.timed("1", |s| s.contains("RUNS (newest right)")));
    }
    times
}

fn main() {
    let sshd = sshd::Sshd::start();
    let link = sshd::SlowLink::start(sshd.port, Duration::from_millis(50));
    let home = tempfile::tempdir().expect("a home");
    example_home(home.path());
    store_runs(home.path(), 60);
    let drover = env!("CARGO_BIN_EXE_drover");
    let mut serve = Command::new(drover)
        .args(["serve"])
        .env("DROVER_HOME", home.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("drover serve");
    wait_until("serve", || {
        std::os::unix::net::UnixStream::connect(home.path().join(".drover/drover.sock")).is_ok()
    });
    let config = sshd.config_through(&link);
    let h = home.path().display();
    let attached = Tmux::start(
        "attached",
        &format!(
            "DROVER_SSH='ssh -F {}' DROVER_REMOTE_DROVER='{drover}' {drover} --remote box:{h}",
            config.display()
        ),
    );
    let over_ssh = Tmux::start(
        "ssh",
        &format!(
            "ssh -F {} -t box 'TERM=xterm-256color {drover} --home {h}'",
            config.display()
        ),
    );
    let n = 5;
    let a = rounds(&attached, n);
    let b = rounds(&over_ssh, n);
    println!(
        "A screen of an instance over a link with a 100 ms round trip (median ms, key to screen):"
    );
    println!(
        "  {:<22} {:>18} {:>18} {:>8}",
        "", "drover --remote", "ssh -t HOST drover", "ratio"
    );
    for (i, what) in [
        "open a flow's Grid",
        "step back a run (h)",
        "open a task's log",
        "back to Flows",
    ]
    .iter()
    .enumerate()
    {
        let (ma, mb) = (median(a[i].clone()), median(b[i].clone()));
        println!("  {what:<22} {ma:>18.0} {mb:>18.0} {:>7.2}x", ma / mb);
    }
    attached.key("q");
    over_ssh.key("q");
    let _ = serve.kill();
    let _ = serve.wait();
}
