//! A drover home on disk: `drover.toml`, `flows/*.toml`, `themes/*.toml`.
//!
//! Reads files and hands their text to `flow` for parsing; one bad file never
//! stops the others loading. Knows nothing of the store or the engine.
//!
//! May call: `flow` (parsing, diagnostics), `gitsync` (where the flows
//! deployed from git are, and how their last sync went), the file system.
//! Nothing calls back into it from those rooms.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::flow::{self, Config, Diagnostic, Flow};

/// Larger files are refused rather than read (a flow file is a few KiB; a
/// 5,000-task flow is about 0.5 MiB).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A flow file that failed to load, with every problem found in it.
#[derive(Debug, Clone)]
pub struct BrokenFlow {
    pub id: String,
    pub path: PathBuf,
    pub errors: Vec<Diagnostic>,
}

/// A loaded home: its config and flows, and what failed to load.
#[derive(Debug, Clone)]
pub struct Home {
    pub root: PathBuf,
    pub config: Config,
    /// Problems with the home itself: `drover.toml`, an unreadable `flows/`.
    /// The config holds defaults where drover.toml is wrong.
    pub errors: Vec<Diagnostic>,
    /// Valid flows, sorted by id.
    pub flows: Vec<Flow>,
    /// Flow files that did not validate, sorted by id.
    pub broken: Vec<BrokenFlow>,
    /// Whether the folder looks like a home at all (has `flows/` or
    /// `drover.toml`).
    pub is_home: bool,
    /// With `[git]`: what the syncs did (commit in use, last error).
    pub git: Option<crate::gitsync::SyncState>,
}

/// What a flow id names in a home.
pub enum Lookup<'h> {
    Found(&'h Flow),
    Broken(&'h BrokenFlow),
    Missing,
}

impl Home {
    /// Loads the home at `root`. Fails only when `root` is not a readable folder.
    pub fn load(root: &Path) -> Result<Home, String> {
        let (config, mut errors) = load_config(root)?;
        let dir = flows_dir(root, &config);
        let git = config
            .git
            .as_ref()
            .map(|_| crate::gitsync::SyncState::load(root));
        let (mut flows, mut broken) = if git.is_some() && !dir.exists() {
            // Never synced yet: no flows, and nothing wrong.
            (Vec::new(), Vec::new())
        } else {
            match load_flow_dir(&dir, &config) {
                Ok(loaded) => loaded,
                Err(diag) => {
                    errors.push(diag);
                    (Vec::new(), Vec::new())
                }
            }
        };
        if let Some(state) = &git {
            // Each deployed flow knows its commit; files that did not
            // validate at the commit in use are broken (their last good
            // version, if any, is among the flows).
            for flow in &mut flows {
                flow.commit = state.files.get(&format!("{}.toml", flow.id)).cloned();
            }
            for (id, diag) in state.diagnostics() {
                match broken.iter_mut().find(|b| b.id == id) {
                    Some(b) => b.errors.push(diag),
                    None => broken.push(BrokenFlow {
                        id,
                        path: diag.path.clone(),
                        errors: vec![diag],
                    }),
                }
            }
            broken.sort_by(|a, b| a.id.cmp(&b.id));
        }
        Ok(Home {
            root: root.to_path_buf(),
            is_home: join(root, "flows").exists() || join(root, "drover.toml").exists(),
            config,
            errors,
            flows,
            broken,
            git,
        })
    }

    pub fn flows_dir(&self) -> PathBuf {
        flows_dir(&self.root, &self.config)
    }

    pub fn lookup(&self, id: &str) -> Lookup<'_> {
        if let Some(f) = self.flows.iter().find(|f| f.id == id) {
            Lookup::Found(f)
        } else if let Some(b) = self.broken.iter().find(|b| b.id == id) {
            Lookup::Broken(b)
        } else {
            Lookup::Missing
        }
    }

    /// Ids of every flow file, valid or not.
    pub fn flow_ids(&self) -> impl Iterator<Item = &str> {
        self.flows
            .iter()
            .map(|f| f.id.as_str())
            .chain(self.broken.iter().map(|b| b.id.as_str()))
    }
}

/// Reads only a home's `drover.toml` (defaults when there is none), with
/// its problems. Fails only when `root` is not a readable folder.
pub fn load_config(root: &Path) -> Result<(Config, Vec<Diagnostic>), String> {
    match fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(format!("home {} is not a folder", root.display())),
        Err(e) => return Err(format!("home {}: {}", root.display(), describe(&e))),
    }
    let path = join(root, "drover.toml");
    Ok(match read_text(&path) {
        Ok(Some(text)) => config_from_text(&path, &text),
        Ok(None) => (Config::default(), Vec::new()),
        Err(diag) => (Config::default(), vec![diag]),
    })
}

/// Parses a `drover.toml`'s text, with the themes found beside it.
pub fn config_from_text(path: &Path, text: &str) -> (Config, Vec<Diagnostic>) {
    let folder = path.parent().unwrap_or(Path::new("."));
    let themes = theme_names(&join(folder, "themes"));
    flow::parse_config(path, text, &themes)
}

/// `root/name`, written without a leading `./` when the root is the current folder.
fn join(root: &Path, name: &str) -> PathBuf {
    if root == Path::new(".") || root.as_os_str().is_empty() {
        PathBuf::from(name)
    } else {
        root.join(name)
    }
}

/// Loads every `*.toml` file in `dir` as a flow (a missing folder holds no
/// flows). Fails when `dir` exists but cannot be listed.
pub fn load_flow_dir(
    dir: &Path,
    config: &Config,
) -> Result<(Vec<Flow>, Vec<BrokenFlow>), Diagnostic> {
    let mut flows = Vec::new();
    let mut broken = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((flows, broken)),
        Err(e) => {
            return Err(Diagnostic::whole_file(
                dir,
                format!("cannot list flows: {}", describe(&e)),
            ));
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && !p.is_dir())
        .collect();
    paths.sort();
    for path in paths {
        match load_flow_file(&path, config) {
            Ok(flow) => flows.push(flow),
            Err(b) => broken.push(b),
        }
    }
    Ok((flows, broken))
}

/// Reads and validates one flow file; its id is the file stem.
pub fn load_flow_file(path: &Path, config: &Config) -> Result<Flow, BrokenFlow> {
    let id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let broken = |errors| BrokenFlow {
        id: id.clone(),
        path: path.to_path_buf(),
        errors,
    };
    let text = match read_text(path) {
        Ok(Some(text)) => text,
        Ok(None) => {
            return Err(broken(vec![Diagnostic::whole_file(path, "no such file")]));
        }
        Err(diag) => return Err(broken(vec![diag])),
    };
    flow::parse_flow(&id, path, &text, config).map_err(broken)
}

/// A regular file's text, at most `MAX_FILE_BYTES`; `Ok(None)` when it does
/// not exist. FIFOs and devices are refused, never read.
pub fn read_text(path: &Path) -> Result<Option<String>, Diagnostic> {
    let fail = |what: String| Err(Diagnostic::whole_file(path, what));
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return fail(format!("cannot read: {}", describe(&e))),
    };
    if !meta.is_file() {
        return fail("not a regular file; drover reads flows only from plain files".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return fail(format!(
            "the file is {} MiB; drover reads at most {} MiB",
            meta.len() / (1024 * 1024),
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    let read =
        fs::File::open(path).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return fail(format!("cannot read: {}", describe(&e)));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(e) => Err(Diagnostic::not_utf8(path, &e)),
    }
}

/// File stems of `themes/*.toml` (plain files only).
fn theme_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect()
}

/// An IO error in words, without Rust's "(os error N)" suffix.
pub fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or folder".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_string(),
                None => text,
            }
        }
    }
}

/// Where a home's flows are loaded from: `flows/`, or with `[git]` the
/// good files of the deployed commit.
pub fn flows_dir(root: &Path, config: &Config) -> PathBuf {
    match config.git {
        Some(_) => crate::gitsync::flows_dir(root),
        None => join(root, "flows"),
    }
}

/// What is wrong with a home right now, as a running instance sees it:
/// drover.toml's first error and each broken flow file's first error; and
/// with `[git]`, the commit in use and the last sync error.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Problems {
    pub config: Option<String>,
    /// Flow id → its file's first error (path:line:col: message).
    pub flows: std::collections::BTreeMap<String, String>,
    pub git: Option<crate::gitsync::SyncState>,
}

impl Problems {
    pub fn of(home: &Home) -> Problems {
        Problems {
            config: home.errors.first().map(ToString::to_string),
            flows: home
                .broken
                .iter()
                .map(|b| {
                    let first = b.errors.first().map(ToString::to_string);
                    (b.id.clone(), first.unwrap_or_default())
                })
                .collect(),
            git: home.git.clone(),
        }
    }
}
