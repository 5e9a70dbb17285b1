//! A drover home on disk: `drover.toml`, `flows/*.toml`, `themes/*.toml`.
//!
//! Reads files and hands their text to `flow` for parsing; one bad file never
//! stops the others loading. Knows nothing of the store or the engine.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::flow::{self, Config, Diagnostic, Flow};

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
    /// Problems in `drover.toml`; the config holds defaults where they are.
    pub config_errors: Vec<Diagnostic>,
    /// Valid flows, sorted by id.
    pub flows: Vec<Flow>,
    /// Flow files that did not validate, sorted by id.
    pub broken: Vec<BrokenFlow>,
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
        match fs::metadata(root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(format!("home {} is not a folder", root.display())),
            Err(e) => return Err(format!("home {}: {}", root.display(), describe(&e))),
        }
        let themes = theme_names(&join(root, "themes"));
        let config_path = join(root, "drover.toml");
        let (config, config_errors) = match read_text(&config_path) {
            Ok(Some(text)) => flow::parse_config(&config_path, &text, &themes),
            Ok(None) => (Config::default(), Vec::new()),
            Err(diag) => (Config::default(), vec![diag]),
        };
        let (flows, broken) = load_flow_dir(&join(root, "flows"), &config);
        Ok(Home {
            root: root.to_path_buf(),
            config,
            config_errors,
            flows,
            broken,
        })
    }

    pub fn flows_dir(&self) -> PathBuf {
        join(&self.root, "flows")
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

/// `root/name`, written without a leading `./` when the root is the current folder.
fn join(root: &Path, name: &str) -> PathBuf {
    if root == Path::new(".") || root.as_os_str().is_empty() {
        PathBuf::from(name)
    } else {
        root.join(name)
    }
}

/// Loads every `*.toml` in `dir` as a flow (a missing folder holds no flows).
pub fn load_flow_dir(dir: &Path, config: &Config) -> (Vec<Flow>, Vec<BrokenFlow>) {
    let mut flows = Vec::new();
    let mut broken = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return (flows, broken),
        Err(e) => {
            broken.push(BrokenFlow {
                id: String::new(),
                path: dir.to_path_buf(),
                errors: vec![Diagnostic::whole_file(
                    dir,
                    format!("cannot list flows: {}", describe(&e)),
                )],
            });
            return (flows, broken);
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
    (flows, broken)
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

/// A file's text; `Ok(None)` when it does not exist.
fn read_text(path: &Path) -> Result<Option<String>, Diagnostic> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
            Diagnostic::whole_file(
                path,
                format!(
                    "not UTF-8 text (bad byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Diagnostic::whole_file(
            path,
            format!("cannot read: {}", describe(&e)),
        )),
    }
}

/// File stems of `themes/*.toml`.
fn theme_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
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
