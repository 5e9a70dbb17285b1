//! drover's state and logs are the owner's alone: folders 0700 and files
//! 0600 whatever the umask, while a task's own files keep the user's umask.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Guard, TestHome, wait_until};

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every folder and file under `dir`, with its path.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < all.len() {
        if all[i].is_dir() && !all[i].is_symlink() {
            let entries: Vec<_> = std::fs::read_dir(&all[i])
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            all.extend(entries);
        }
        i += 1;
    }
    all
}

#[test]
fn state_and_logs_are_the_owners_alone_whatever_the_umask() {
    let home = TestHome::new();
    let artifact = home.path().join("artifact");
    home.flow(
        "job",
        &format!(
            "[tasks.a]\ncmd = \"echo secret; echo rows=1 >> $DROVER_OUTPUT; touch {}\"\n",
            artifact.display()
        ),
    );
    // A home an older drover made with the umask's modes.
    std::fs::create_dir(home.path().join(".drover")).unwrap();
    std::fs::set_permissions(
        home.path().join(".drover"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let mut serve = Guard(
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask 000; exec '{}' serve",
                env!("CARGO_BIN_EXE_drover")
            ))
            .env("DROVER_HOME", home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("serve's socket", || common::listening(home.path()));
    let run = home.drover(&["trigger", "job", "--wait"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let state = home.path().join(".drover");
    let mut seen_log = false;
    for p in walk(&state) {
        let m = mode(&p);
        if p.is_symlink() {
            continue;
        } else if p.is_dir() {
            assert_eq!(m, 0o700, "{} is {m:o}", p.display());
        } else if p.extension().is_some_and(|e| e == "sock") {
            assert_eq!(m, 0o600, "{} is {m:o}", p.display());
        } else if p.extension().is_some_and(|e| e == "out") {
            // Written by the task itself, inside a 0700 folder.
        } else {
            seen_log |= p.extension().is_some_and(|e| e == "log");
            assert_eq!(m, 0o600, "{} is {m:o}", p.display());
        }
    }
    assert!(seen_log, "no task log under {}", state.display());
    for f in ["drover.log", "store.journal"] {
        assert_eq!(mode(&state.join(f)), 0o600, "{f}");
    }
    // The task's own file has the user's umask, not drover's modes.
    assert_eq!(mode(&artifact), 0o666);
    assert_eq!(
        serve
            .stop(std::time::Duration::from_secs(15))
            .map(|s| s.code()),
        Some(Some(0))
    );
}
