//! `drover validate [PATH]`: check flow files and drover.toml.

use std::path::Path;

use super::{EXIT_FAILED, EXIT_USAGE, Failure, Outcome, eprintln_safe, load_home, print};
use crate::flow::{self, Diagnostic};
use crate::home::{self, BrokenFlow};

/// Validates the home, or just `path` (a flow file, `drover.toml`, a folder
/// of flow files, or another home). Lists every error; fails if there is one.
pub fn run(root: &Path, path: Option<&Path>) -> Outcome {
    let home = load_home(root)?;
    let (flow_count, broken, config_errors) = match path {
        None => (
            home.flows.len(),
            home.broken.clone(),
            home.config_errors.clone(),
        ),
        Some(p) if p.is_dir() => {
            if p.join("drover.toml").is_file() || p.join("flows").is_dir() {
                let other = load_home(p)?;
                (other.flows.len(), other.broken, other.config_errors)
            } else {
                let (flows, broken) = home::load_flow_dir(p, &home.config);
                (flows.len(), broken, Vec::new())
            }
        }
        Some(p) if p.is_file() => {
            if p.file_name().is_some_and(|n| n == "drover.toml") {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    Failure::new(
                        EXIT_FAILED,
                        format!("{}: {}", p.display(), home::describe(&e)),
                    )
                })?;
                let (_, errors) = flow::parse_config(p, &text, &[]);
                (0, Vec::new(), errors)
            } else {
                match home::load_flow_file(p, &home.config) {
                    Ok(_) => (1, Vec::new(), Vec::new()),
                    Err(b) => (0, vec![b], Vec::new()),
                }
            }
        }
        Some(p) => {
            return Err(Failure::new(
                EXIT_USAGE,
                format!("{}: no such file or folder", p.display()),
            ));
        }
    };
    report(flow_count, &broken, &config_errors)
}

fn report(valid: usize, broken: &[BrokenFlow], config_errors: &[Diagnostic]) -> Outcome {
    let errors: Vec<&Diagnostic> = config_errors
        .iter()
        .chain(broken.iter().flat_map(|b| &b.errors))
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
        print(&format!("ok: {} valid\n", flows(valid)));
        return Ok(());
    }
    let mut files = broken.len();
    if !config_errors.is_empty() {
        files += 1;
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    Err(Failure::new(
        EXIT_FAILED,
        format!(
            "{} in {}; {} valid",
            plural(errors.len(), "error"),
            plural(files, "file"),
            flows(valid)
        ),
    ))
}
