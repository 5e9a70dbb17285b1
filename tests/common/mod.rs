//! Helpers shared by the integration tests: a scratch home and the real binary.
#![allow(dead_code)]

pub mod tui_fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary drover home, removed when dropped.
pub struct TestHome {
    pub dir: tempfile::TempDir,
}

impl TestHome {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("create temp home");
        std::fs::create_dir(dir.path().join("flows")).expect("create flows/");
        TestHome { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }

    pub fn flow(&self, id: &str, text: &str) -> PathBuf {
        self.write(&format!("flows/{id}.toml"), text)
    }

    /// Runs `drover --home HOME args...` from inside the home.
    pub fn drover(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(args)
            .current_dir(self.path())
            .env("DROVER_HOME", self.path())
            .env_remove("NO_COLOR")
            .output()
            .expect("run drover");
        Run::from(output)
    }
}

/// What a finished drover process said.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}
