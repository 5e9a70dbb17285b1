//! A full disk: serve stays up, says what it cannot record, starts no new
//! tries, refuses changes, and carries on by itself once space is freed;
//! a restart on a full disk comes up the same way; a try whose log could
//! not be written is reported by `drover logs`.
//!
//! Each test puts its home on a 20 MB tmpfs (root only: without root, or
//! when the mount fails, the test says why and returns).

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Guard, Run};
use serde_json::Value;

/// A home on its own small tmpfs. Dropping it kills every process working
/// on the home, then unmounts (pass or fail, no mount is left behind).
struct DiskHome {
    mount: tempfile::TempDir,
    home: PathBuf,
}

impl DiskHome {
    fn new() -> Option<DiskHome> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        let mount = tempfile::tempdir().expect("temp dir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=20m", "tmpfs"])
            .arg(mount.path())
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => {
                eprintln!("skipped: cannot mount a tmpfs: {other:?}");
                return None;
            }
        }
        let home = mount.path().join("home");
        std::fs::create_dir_all(home.join("flows")).expect("flows/");
        Some(DiskHome { mount, home })
    }

    fn flow(&self, id: &str, text: &str) {
        std::fs::write(self.home.join(format!("flows/{id}.toml")), text).expect("flow file");
    }

    fn filler(&self) -> PathBuf {
        self.mount.path().join("filler")
    }

    /// Writes the filler file until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.filler()).expect("filler");
        for size in [1 << 16, 512, 1] {
            let block = vec![7u8; size];
            while f.write_all(&block).is_ok() {}
        }
    }

    fn free(&self) {
        std::fs::remove_file(self.filler()).expect("remove filler");
    }

    fn drover(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(args)
            .current_dir(&self.home)
            .env("DROVER_HOME", &self.home)
            .output()
            .expect("run drover");
        Run::from(output)
    }

    fn serve(&self) -> Guard {
        let child = Guard(
            Command::new(env!("CARGO_BIN_EXE_drover"))
                .arg("serve")
                .env("DROVER_HOME", &self.home)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start drover serve"),
        );
        wait_for("serve's control socket", || common::listening(&self.home));
        child
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.home.join(".drover/drover.log")).unwrap_or_default()
    }

    /// `drover list --json` through the instance.
    fn list(&self) -> Value {
        let out = self.drover(&["list", "--json"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_str(&out.stdout).expect("list --json")
    }

    /// The runs of a flow, newest first.
    fn runs(&self, flow: &str) -> Vec<Value> {
        let out = self.drover(&["runs", flow, "-n", "1000", "--json"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_str::<Value>(&out.stdout)
            .expect("runs --json")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for DiskHome {
    fn drop(&mut self) {
        common::kill_processes_of(&self.home);
        let _ = Command::new("umount").arg(self.mount.path()).status();
    }
}

/// Polls `done` for up to 60 s (a loaded machine is slow).
fn wait_for(what: &str, done: impl FnMut() -> bool) {
    common::wait_within(Duration::from_secs(60), what, done);
}

/// Waits until `drover list` shows the full disk, and checks serve is up.
fn holds_on_a_full_disk(home: &DiskHome, serve: &mut Guard) {
    wait_for("list to show the storage problem", || {
        home.list()["storage"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("is full"))
    });
    assert!(
        serve.try_wait().unwrap().is_none(),
        "serve exited on a full disk"
    );
}

fn successes(runs: &[Value]) -> usize {
    runs.iter().filter(|r| r["state"] == "success").count()
}

const TICK: &str =
    "schedule = \"*/2 * * * * *\"\ncatchup = false\n[tasks.t]\ncmd = \"echo tick\"\n";
const MANUAL: &str = "[tasks.t]\ncmd = \"echo manual\"\n";

#[test]
fn serve_holds_on_a_full_disk_and_carries_on_when_space_is_freed() {
    let Some(home) = DiskHome::new() else { return };
    home.flow("tick", TICK);
    home.flow("manual", MANUAL);
    let mut serve = home.serve();
    wait_for("a scheduled run to succeed", || {
        successes(&home.runs("tick")) >= 1
    });

    home.fill();
    holds_on_a_full_disk(&home, &mut serve);
    let table = home.drover(&["list"]);
    assert!(table.stdout.contains("cannot record"), "{}", table.stdout);
    assert!(table.stdout.contains("is full"), "{}", table.stdout);

    // A trigger is refused (not accepted and then lost): nothing could
    // record the run.
    let trigger = home.drover(&["trigger", "manual"]);
    assert_ne!(trigger.code, 0, "{}", trigger.stdout);
    assert!(trigger.stderr.contains("refused"), "{}", trigger.stderr);
    let pause = home.drover(&["pause", "tick"]);
    assert_ne!(pause.code, 0, "{}", pause.stdout);
    assert!(pause.stderr.contains("refused"), "{}", pause.stderr);

    // No new try starts while it cannot record: over several fire times
    // nothing new is made or run.
    // (A running run's duration grows by itself: it is left out.)
    let recorded = || -> Vec<Value> {
        let mut runs = home.runs("tick");
        for r in &mut runs {
            r.as_object_mut().map(|o| o.remove("duration_s"));
        }
        runs
    };
    let held: Vec<Value> = recorded();
    let window = Instant::now() + Duration::from_secs(5);
    while Instant::now() < window {
        assert_eq!(recorded(), held, "the store changed while full");
        assert!(serve.try_wait().unwrap().is_none(), "serve exited");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        home.runs("manual").is_empty(),
        "a refused trigger made a run"
    );

    home.free();
    wait_for("the problem to clear", || {
        home.list().get("storage").is_none()
    });
    wait_for("a scheduled run after the freeing", || {
        successes(&home.runs("tick")) > successes(&held)
    });
    // Nothing decided was lost or contradicted: every run made before or
    // while the disk was full ends.
    let ids: Vec<String> = home
        .runs("tick")
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    wait_for("every run made meanwhile to end", || {
        home.runs("tick")
            .iter()
            .filter(|r| ids.iter().any(|id| r["id"] == id.as_str()))
            .all(|r| r["state"] == "success" || r["state"] == "failed")
    });
    // A try running when the disk filled may fail as lost when its
    // supervisor could not write its outcome file (the supervisor's own
    // matter); nothing else may fail.
    let log = home.log();
    for line in log
        .lines()
        .filter(|l| l.contains(" try ") && l.contains("failed"))
    {
        assert!(
            line.contains("could not record the outcome"),
            "{line}\n{log}"
        );
    }
    let trigger = home.drover(&["trigger", "manual"]);
    assert_eq!(trigger.code, 0, "{}", trigger.stderr);
    wait_for("the manual run to succeed", || {
        successes(&home.runs("manual")) == 1
    });
    let log = home.log();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("recording again"))
            .count(),
        1,
        "{log}"
    );
    assert!(
        log.lines().filter(|l| l.contains("cannot record")).count() <= 1,
        "one line when it starts, not one per retry:\n{log}"
    );
    assert_eq!(
        serve.stop(Duration::from_secs(20)).and_then(|s| s.code()),
        Some(0)
    );
}

#[test]
fn serve_restarted_on_a_full_disk_comes_up_holding() {
    let Some(home) = DiskHome::new() else { return };
    home.flow("tick", TICK);
    let mut serve = home.serve();
    wait_for("a scheduled run to succeed", || {
        successes(&home.runs("tick")) >= 1
    });
    assert_eq!(
        serve.stop(Duration::from_secs(20)).and_then(|s| s.code()),
        Some(0)
    );
    let before = home.runs("tick");

    home.fill();
    let mut serve = home.serve();
    holds_on_a_full_disk(&home, &mut serve);
    // The run due meanwhile is made (held in memory), but nothing starts.
    let held = home.runs("tick");
    assert!(held.len() >= before.len(), "{held:?}");
    for r in &held[..held.len() - before.len()] {
        assert!(r["started"].is_null(), "a try started on a full disk: {r}");
    }

    home.free();
    wait_for("a scheduled run after the freeing", || {
        successes(&home.runs("tick")) > successes(&before)
    });
    wait_for("the problem to clear", || {
        home.list().get("storage").is_none()
    });
    assert_eq!(
        serve.stop(Duration::from_secs(20)).and_then(|s| s.code()),
        Some(0)
    );
    // The store is whole: it opens again and has every run.
    let after = home.runs("tick");
    assert!(after.len() > before.len(), "{after:?}");
}

#[test]
fn logs_of_a_try_whose_log_could_not_be_written_fail() {
    let Some(home) = DiskHome::new() else { return };
    // The task fills the disk, prints (that write fails), then frees it so
    // the try's outcome is recorded.
    let filler = home.filler();
    let f = filler.display();
    home.flow(
        "fill",
        &format!(
            "[tasks.t]\ncmd = \"dd if=/dev/zero of={f} bs=64k 2>/dev/null; dd if=/dev/zero of={f} bs=1 oflag=append conv=notrunc 2>/dev/null; echo hello; sleep 2; rm -f {f}\"\n"
        ),
    );
    let test = home.drover(&["test", "fill"]);
    assert_eq!(test.code, 0, "{}{}", test.stdout, test.stderr);
    let logs = home.drover(&["logs", "fill", "latest", "t"]);
    assert_ne!(
        logs.code, 0,
        "an unwritten log printed as nothing: {:?}",
        logs.stdout
    );
    assert!(
        logs.stderr.contains("writing the log failed") || logs.stderr.contains("is empty"),
        "{}",
        logs.stderr
    );
    // A task that prints nothing is fine.
    home.flow("quiet", "[tasks.t]\ncmd = \"true\"\n");
    assert_eq!(home.drover(&["test", "quiet"]).code, 0);
    let quiet = home.drover(&["logs", "quiet", "latest", "t"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
}
