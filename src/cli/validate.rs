//! `drover validate [PATH]`: check flow files and drover.toml.

use std::path::{Path, PathBuf};

use super::{EXIT_FAILED, EXIT_USAGE, Failure, Outcome, eprintln_safe, print};
use crate::flow::{Config, Diagnostic};
use crate::home::{self, BrokenFlow, Home};

/// Validates the home, or just `path`: a flow file, a `drover.toml`, a folder
/// of flow files, or another home. Flow files are checked against the
/// drover.toml of the home they belong to (`X` for `X/flows/f.toml`), else
/// of the current home. Lists every error; fails if there is one.
pub fn run(root: &Path, path: Option<&Path>) -> Outcome {
    let checked = match path {
        None => whole_home(root)?,
        Some(p) if p.is_dir() => {
            if p.join("drover.toml").is_file() || p.join("flows").is_dir() {
                whole_home(p)?
            } else {
                let (config, config_errors) = config_for(p, root)?;
                let (flows, broken) = home::load_flow_dir(p, &config)
                    .map_err(|d| Failure::new(EXIT_FAILED, d.to_string()))?;
                Checked {
                    valid: flows.len(),
                    broken,
                    home_errors: config_errors,
                }
            }
        }
        Some(p) if p.is_file() && p.file_name().is_some_and(|n| n == "drover.toml") => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                Failure::new(
                    EXIT_FAILED,
                    format!("{}: {}", p.display(), home::describe(&e)),
                )
            })?;
            let (_, errors) = home::config_from_text(p, &text);
            if errors.is_empty() {
                print(&format!("ok: {} valid\n", p.display()));
                return Ok(());
            }
            Checked {
                valid: 0,
                broken: Vec::new(),
                home_errors: errors,
            }
        }
        Some(p) if p.exists() => {
            let folder = p.parent().unwrap_or(Path::new("."));
            let (config, config_errors) = config_for(folder, root)?;
            let (valid, broken) = match home::load_flow_file(p, &config) {
                Ok(_) => (1, Vec::new()),
                Err(b) => (0, vec![b]),
            };
            Checked {
                valid,
                broken,
                home_errors: config_errors,
            }
        }
        Some(p) => {
            return Err(Failure::new(
                EXIT_USAGE,
                format!("{}: no such file or folder", p.display()),
            ));
        }
    };
    checked.report()
}

struct Checked {
    valid: usize,
    broken: Vec<BrokenFlow>,
    home_errors: Vec<Diagnostic>,
}

fn whole_home(root: &Path) -> Result<Checked, Failure> {
    let home = Home::load(root).map_err(|e| Failure::new(EXIT_FAILED, e))?;
    super::require_home(&home)?;
    Ok(Checked {
        valid: home.flows.len(),
        broken: home.broken,
        home_errors: home.errors,
    })
}

/// The config that flow files in `folder` are checked against: that of the
/// home holding it when `folder` is a home's `flows/`, else the current home's.
fn config_for(folder: &Path, current: &Path) -> Result<(Config, Vec<Diagnostic>), Failure> {
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let absolute: PathBuf = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let owner = match absolute.file_name() {
        Some(name) if name == "flows" => absolute.parent().map(Path::to_path_buf),
        _ => None,
    };
    home::load_config(owner.as_deref().unwrap_or(current)).map_err(|e| Failure::new(EXIT_FAILED, e))
}

impl Checked {
    fn report(&self) -> Outcome {
        let errors: Vec<&Diagnostic> = self
            .home_errors
            .iter()
            .chain(self.broken.iter().flat_map(|b| &b.errors))
            .collect();
        for e in &errors {
            eprintln_safe(&e.to_string());
        }
        let flows = |n: usize| {
            if n == 1 {
                "1 flow".to_string()
            } else {
                format!("{n} flows")
            }
        };
        if errors.is_empty() {
            print(&format!("ok: {} valid\n", flows(self.valid)));
            return Ok(());
        }
        let mut files = self.broken.len();
        if !self.home_errors.is_empty() {
            files += 1;
        }
        let plural = |n: usize, word: &str| {
            let s = if n == 1 { "" } else { "s" };
            format!("{} {word}{s}", crate::flow::thousands(n))
        };
        Err(Failure::new(
            EXIT_FAILED,
            format!(
                "{} in {}; {} valid",
                plural(errors.iter().map(|e| e.errors()).sum(), "error"),
                plural(files, "file"),
                flows(self.valid)
            ),
        ))
    }
}
