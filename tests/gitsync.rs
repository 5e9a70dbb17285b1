//! Flows deployed from git, against real repositories over `file://`:
//! first pickup, updates, an invalid push kept out, a force push, a remote
//! that goes away and comes back, and a running instance taking pushes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::sshd::{Sshd, keygen, whoami};
use common::{Guard, TestHome};
use serde_json::Value;

/// A repository to push flows to (a plain one: drover fetches from it).
struct Remote {
    dir: tempfile::TempDir,
    repo: git2::Repository,
}

impl Remote {
    fn new() -> Remote {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = git2::Repository::init_opts(dir.path(), &opts).expect("init repository");
        Remote { dir, repo }
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    /// Commits `files` (path → text; None removes it) on top of main, or
    /// with `orphan` as a new root commit that main is forced to (a force
    /// push of rewritten history). Returns the commit id.
    fn commit(&self, files: &[(&str, Option<&str>)], message: &str, orphan: bool) -> String {
        let root = self.dir.path();
        if orphan {
            for entry in walk(&root.join("flows")) {
                std::fs::remove_file(entry).unwrap();
            }
        }
        for (path, text) in files {
            let full = root.join(path);
            match text {
                Some(text) => {
                    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                    std::fs::write(&full, text).unwrap();
                }
                None => std::fs::remove_file(&full).unwrap(),
            }
        }
        let mut index = self.repo.index().unwrap();
        index.clear().unwrap();
        index
            .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("test", "test@example.com").unwrap();
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = match (&parent, orphan) {
            (Some(p), false) => vec![p],
            _ => Vec::new(),
        };
        let id = self
            .repo
            .commit(None, &sig, &sig, message, &tree, &parents)
            .unwrap();
        self.repo
            .reference("refs/heads/main", id, true, "test push")
            .unwrap();
        self.repo.set_head("refs/heads/main").unwrap();
        id.to_string()
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn home_for(remote: &Remote, interval: &str) -> TestHome {
    let home = TestHome::new();
    home.write(
        "drover.toml",
        &format!(
            "[git]\nurl = \"{}\"\nbranch = \"main\"\npath = \"flows\"\ninterval = \"{interval}\"\n",
            remote.url()
        ),
    );
    home
}

const A1: &str = "[tasks.hi]\ncmd = \"echo version one\"\n";
const A2: &str = "[tasks.hi]\ncmd = \"echo version two\"\n";
const A_BROKEN: &str = "[tasks.hi]\ncmd = \"echo broken\"\nbogus = 1\n";
const B: &str = "[tasks.b]\ncmd = \"echo b\"\n";

fn list_json(home: &TestHome) -> Value {
    let out = home.drover(&["list", "--json"]);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn flow_ids(list: &Value) -> Vec<String> {
    list["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn pickup_update_invalid_push_and_removal() {
    let remote = Remote::new();
    let first = remote.commit(
        &[
            ("flows/a.toml", Some(A1)),
            ("README.md", Some("not a flow")),
        ],
        "first",
        false,
    );
    let home = home_for(&remote, "60s");
    // First pickup.
    let sync = home.drover(&["sync"]);
    assert_eq!(sync.code, 0, "{}{}", sync.stdout, sync.stderr);
    assert!(
        sync.stdout.contains(&first[..7]) && sync.stdout.contains("updated a"),
        "{}",
        sync.stdout
    );
    let list = list_json(&home);
    assert_eq!(flow_ids(&list), ["a"]);
    assert_eq!(list["git"]["commit"], first.as_str(), "{list}");
    assert!(list["git"]["error"].is_null());
    // Each run records the commit it was created from.
    let test = home.drover(&["test", "a"]);
    assert_eq!(test.code, 0, "{}", test.stderr);
    let runs: Value = serde_json::from_str(&home.drover(&["runs", "a", "--json"]).stdout).unwrap();
    assert_eq!(runs[0]["commit"], first.as_str(), "{runs}");
    // An update.
    let second = remote.commit(&[("flows/a.toml", Some(A2))], "second", false);
    assert_eq!(home.drover(&["sync"]).code, 0);
    assert!(home.drover(&["test", "a"]).code == 0);
    let log = home.drover(&["logs", "a", "latest", "hi"]);
    assert_eq!(log.stdout, "version two\n");
    let runs: Value = serde_json::from_str(&home.drover(&["runs", "a", "--json"]).stdout).unwrap();
    assert_eq!(runs[0]["commit"], second.as_str());
    // An invalid push never replaces the last good version; other files
    // of the same commit still come in.
    let third = remote.commit(
        &[("flows/a.toml", Some(A_BROKEN)), ("flows/b.toml", Some(B))],
        "break a, add b",
        false,
    );
    let sync = home.drover(&["sync"]);
    assert_eq!(sync.code, 1, "{}{}", sync.stdout, sync.stderr);
    assert!(
        sync.stdout
            .contains("flows/a.toml:3:1: unknown key `bogus`"),
        "{}",
        sync.stdout
    );
    assert!(sync.stderr.contains(&third[..7]), "{}", sync.stderr);
    let list = list_json(&home);
    assert_eq!(flow_ids(&list), ["a", "b"]);
    let error = &list["errors"][0];
    assert_eq!(
        (
            error["flow"].as_str(),
            error["path"].as_str(),
            error["line"].as_u64(),
            error["col"].as_u64()
        ),
        (Some("a"), Some("flows/a.toml"), Some(3), Some(1)),
        "{list}"
    );
    assert!(
        error["message"].as_str().unwrap().contains(&third[..7]),
        "the error names the commit: {error}"
    );
    let table = home.drover(&["list"]).stdout;
    assert!(
        table.contains("a (its last good version stays in use): flows/a.toml:3:1"),
        "{table}"
    );
    assert_eq!(
        home.drover(&["test", "a"]).code,
        0,
        "a still runs, as of its last good version"
    );
    assert_eq!(
        home.drover(&["logs", "a", "latest", "hi"]).stdout,
        "version two\n"
    );
    let runs: Value = serde_json::from_str(&home.drover(&["runs", "a", "--json"]).stdout).unwrap();
    assert_eq!(
        runs[0]["commit"],
        second.as_str(),
        "a's good version came from the second commit"
    );
    // Fixing it brings it in; removing a file removes the flow.
    remote.commit(
        &[("flows/a.toml", Some(A1)), ("flows/b.toml", None)],
        "fix a, drop b",
        false,
    );
    assert_eq!(home.drover(&["sync"]).code, 0);
    let list = list_json(&home);
    assert_eq!(flow_ids(&list), ["a"]);
    assert_eq!(list["errors"].as_array().unwrap().len(), 0, "{list}");
}

#[test]
fn force_push_replaces_history() {
    let remote = Remote::new();
    remote.commit(&[("flows/a.toml", Some(A1))], "old history", false);
    let home = home_for(&remote, "60s");
    assert_eq!(home.drover(&["sync"]).code, 0);
    let rewritten = remote.commit(&[("flows/b.toml", Some(B))], "rewritten", true);
    let sync = home.drover(&["sync"]);
    assert_eq!(sync.code, 0, "{}{}", sync.stdout, sync.stderr);
    let list = list_json(&home);
    assert_eq!(flow_ids(&list), ["b"]);
    assert_eq!(list["git"]["commit"], rewritten.as_str());
}

#[test]
fn a_dead_remote_keeps_the_flows_and_says_why() {
    let remote = Remote::new();
    let first = remote.commit(&[("flows/a.toml", Some(A1))], "first", false);
    let home = home_for(&remote, "60s");
    assert_eq!(home.drover(&["sync"]).code, 0);
    let away = remote.dir.path().with_extension("away");
    std::fs::rename(remote.dir.path(), &away).unwrap();
    let sync = home.drover(&["sync"]);
    assert_eq!(sync.code, 1);
    assert!(
        sync.stderr.contains("cannot fetch main from file://"),
        "{}",
        sync.stderr
    );
    assert!(
        sync.stderr
            .contains(&format!("the flows of commit {} stay in use", &first[..7])),
        "{}",
        sync.stderr
    );
    let list = list_json(&home);
    assert_eq!(flow_ids(&list), ["a"]);
    assert!(
        list["git"]["error"]
            .as_str()
            .unwrap()
            .contains("cannot fetch"),
        "{list}"
    );
    assert!(
        home.drover(&["list"])
            .stdout
            .contains("last sync failed: cannot fetch")
    );
    assert_eq!(home.drover(&["test", "a"]).code, 0, "its flows still run");
    std::fs::rename(&away, remote.dir.path()).unwrap();
    assert_eq!(home.drover(&["sync"]).code, 0);
    assert!(list_json(&home)["git"]["error"].is_null());
    // A branch renamed on the remote is missed, not served stale.
    remote
        .repo
        .find_branch("main", git2::BranchType::Local)
        .unwrap()
        .rename("trunk", false)
        .unwrap();
    let sync = home.drover(&["sync"]);
    assert_eq!(sync.code, 1, "{}{}", sync.stdout, sync.stderr);
    assert!(
        sync.stderr.contains("has no branch `main`"),
        "{}",
        sync.stderr
    );
    assert_eq!(flow_ids(&list_json(&home)), ["a"], "the flows stay");
}

/// `drover serve` on a home, killed when dropped.
fn serve(home: &TestHome) -> Guard {
    let child = Command::new(env!("CARGO_BIN_EXE_drover"))
        .arg("serve")
        .env("DROVER_HOME", home.path())
        .current_dir(home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start drover serve");
    Guard(child)
}

fn wait_until(what: &str, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_running_instance_deploys_pushes_and_runs_record_their_commit() {
    let remote = Remote::new();
    remote.commit(&[("flows/a.toml", Some(A1))], "first", false);
    let home = home_for(&remote, "1s");
    let _serve = serve(&home);
    wait_until("the first sync", || flow_ids(&list_json(&home)) == ["a"]);
    let pushed = remote.commit(&[("flows/b.toml", Some(B))], "add b", false);
    wait_until("the push to be deployed", || {
        flow_ids(&list_json(&home)) == ["a", "b"]
    });
    // The engine takes the new file up within a moment of the deploy.
    wait_until("b to be triggered", || {
        home.drover(&["trigger", "b", "--wait"]).code == 0
    });
    let runs: Value = serde_json::from_str(&home.drover(&["runs", "b", "--json"]).stdout).unwrap();
    assert_eq!(runs[0]["commit"], pushed.as_str(), "{runs}");
    // A bad push: the kept version is listed once, with the error.
    remote.commit(&[("flows/a.toml", Some(A_BROKEN))], "break a", false);
    wait_until("the error to be listed", || {
        list_json(&home)["errors"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    });
    assert_eq!(flow_ids(&list_json(&home)), ["a", "b"]);
    // `drover sync` goes through the instance.
    let sync = home.drover(&["sync"]);
    assert_eq!(sync.code, 1, "{}{}", sync.stdout, sync.stderr);
    assert!(sync.stdout.contains("flows/a.toml:3:1"), "{}", sync.stdout);
}

#[test]
fn ssh_remote_with_a_key_file() {
    let sshd = Sshd::start();
    let remote = Remote::new();
    let first = remote.commit(&[("flows/a.toml", Some(A1))], "over ssh", false);
    let home = TestHome::new();
    // The host key is known, in the HOME drover runs with.
    home.write(".ssh/known_hosts", &sshd.known_host());
    let key = sshd.dir.path().join("client_key");
    let config = |key: &Path| {
        format!(
            "[git]\nurl = \"ssh://{}@127.0.0.1:{}{}\"\nssh_key = \"{}\"\n",
            whoami(),
            sshd.port,
            remote.dir.path().display(),
            key.display()
        )
    };
    home.write("drover.toml", &config(&key));
    let sync = |home: &TestHome| {
        let out = Command::new(env!("CARGO_BIN_EXE_drover"))
            .arg("sync")
            .env("DROVER_HOME", home.path())
            .env("HOME", home.path())
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .expect("run drover sync");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    };
    let (code, text) = sync(&home);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&first[..7]), "{text}");
    assert_eq!(flow_ids(&list_json(&home)), ["a"]);
    // An unknown host is refused.
    std::fs::remove_file(home.path().join(".ssh/known_hosts")).unwrap();
    let (code, text) = sync(&home);
    assert_eq!(code, 1, "an unknown host key is refused: {text}");
    assert!(
        text.contains("known_hosts"),
        "the message says what to do: {text}"
    );
    home.write(".ssh/known_hosts", &sshd.known_host());
    // A key the server does not know is refused, and the flows stay.
    let stranger = sshd.dir.path().join("stranger");
    keygen(&stranger);
    home.write("drover.toml", &config(&stranger));
    let (code, text) = sync(&home);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("cannot fetch main from ssh://"), "{text}");
    assert_eq!(flow_ids(&list_json(&home)), ["a"]);
}

#[test]
fn tasks_run_files_kept_beside_the_flows() {
    let remote = Remote::new();
    remote.commit(
        &[
            ("flows/s.toml", Some("[tasks.run]\ncmd = \"sh scripts/hello.sh\"\nworkdir = \".drover/git/checkout\"\n")),
            ("scripts/hello.sh", Some("echo hello from the repository\n")),
            ("scripts/old.sh", Some("true\n")),
        ],
        "flow and script",
        false,
    );
    let home = home_for(&remote, "60s");
    assert_eq!(home.drover(&["sync"]).code, 0);
    let test = home.drover(&["test", "s"]);
    assert_eq!(test.code, 0, "{}{}", test.stdout, test.stderr);
    assert_eq!(
        home.drover(&["logs", "s", "latest", "run"]).stdout,
        "hello from the repository\n"
    );
    // The checkout follows the branch: a file gone from it goes.
    remote.commit(
        &[
            ("scripts/old.sh", None),
            ("scripts/hello.sh", Some("echo hello again\n")),
        ],
        "drop old",
        false,
    );
    assert_eq!(home.drover(&["sync"]).code, 0);
    let checkout = home.path().join(".drover/git/checkout/scripts");
    assert!(!checkout.join("old.sh").exists());
    assert_eq!(
        std::fs::read_to_string(checkout.join("hello.sh")).unwrap(),
        "echo hello again\n"
    );
}

#[test]
fn a_pushed_file_that_is_not_utf8_is_pointed_at() {
    let remote = Remote::new();
    std::fs::create_dir_all(remote.dir.path().join("flows")).unwrap();
    std::fs::write(
        remote.dir.path().join("flows/bin.toml"),
        b"[tasks.a]\ncmd = \"caf\xe9\"\n",
    )
    .unwrap();
    remote.commit(&[("flows/ok.toml", Some(B))], "latin-1 by mistake", false);
    let home = home_for(&remote, "60s");
    let sync = home.drover(&["sync"]);
    assert_eq!(sync.code, 1);
    assert!(
        sync.stdout.contains("flows/bin.toml:2:11: not UTF-8 text"),
        "{}",
        sync.stdout
    );
    assert_eq!(
        flow_ids(&list_json(&home)),
        ["ok"],
        "the other file still comes in"
    );
}

#[test]
fn a_fixed_git_config_is_tried_at_once_not_after_the_backoff() {
    let remote = Remote::new();
    remote.commit(&[("flows/a.toml", Some(A1))], "first", false);
    let home = TestHome::new();
    let config = |url: &str| format!("[git]\nurl = \"{url}\"\ninterval = \"60s\"\n");
    home.write("drover.toml", &config("file:///nonexistent/flows-repo"));
    let _serve = serve(&home);
    wait_until("the failed sync to be listed", || {
        list_json(&home)["git"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot fetch"))
    });
    home.write("drover.toml", &config(&remote.url()));
    // Well before the 60 s interval (let alone its backoff) comes round.
    wait_until("the fixed url to be synced", || {
        flow_ids(&list_json(&home)) == ["a"]
    });
}

#[test]
fn a_flow_deployed_by_sync_can_be_triggered_as_soon_as_sync_returns() {
    let remote = Remote::new();
    remote.commit(&[("flows/a.toml", Some(A1))], "first", false);
    // The instance's own look at the remote is an hour away: only `drover
    // sync` can bring the push in.
    let home = home_for(&remote, "1h");
    let _serve = serve(&home);
    wait_until("the first sync", || flow_ids(&list_json(&home)) == ["a"]);
    for (i, name) in ["b", "c", "d"].iter().enumerate() {
        let text = format!("[tasks.t]\ncmd = \"echo {name}\"\n");
        let file = format!("flows/{name}.toml");
        remote.commit(&[(file.as_str(), Some(text.as_str()))], "add", false);
        let sync = home.drover(&["sync"]);
        assert_eq!(sync.code, 0, "{}{}", sync.stdout, sync.stderr);
        assert!(
            sync.stdout.contains(&format!("updated {name}")),
            "{}",
            sync.stdout
        );
        assert_eq!(flow_ids(&list_json(&home)).len(), i + 2);
        let t = home.drover(&["trigger", name, "--wait"]);
        assert_eq!(
            t.code, 0,
            "sync deployed `{name}` but trigger says: {}",
            t.stderr
        );
    }
}
