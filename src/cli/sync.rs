//! `drover sync`: fetch the `[git]` branch now and deploy its flow files
//! (by the running instance when there is one, so it reloads them at once).

use std::path::Path;

use super::{EXIT_FAILED, Failure, Outcome, load_home, print};
use crate::gitsync::{self, short_sha};

pub fn run(root: &Path) -> Outcome {
    let home = load_home(root)?;
    super::require_home(&home)?;
    if let Some(first) = home.errors.first() {
        return Err(Failure::new(
            EXIT_FAILED,
            format!("fix drover.toml first: {first}"),
        ));
    }
    let Some(git) = home.config.git.as_ref() else {
        return Err(Failure::new(
            EXIT_FAILED,
            "drover.toml has no [git] table: flows come from flows/ (see the README to deploy them from git)",
        ));
    };
    let root = std::fs::canonicalize(&home.root).unwrap_or_else(|_| home.root.clone());
    let synced = gitsync::sync(&root, git, &home.config).map_err(|e| {
        let keeping = gitsync::SyncState::load(&root)
            .commit
            .map(|c| format!("; the flows of commit {} stay in use", short_sha(&c)))
            .unwrap_or_default();
        Failure::new(EXIT_FAILED, format!("{e}{keeping}"))
    })?;
    // A running instance uses what was deployed before this returns (its
    // watcher would take it up only at its next look).
    if let Some(r) = super::remote() {
        let deployed = crate::home::Home::load(&root).map_err(|e| Failure::new(EXIT_FAILED, e))?;
        let updated: Vec<crate::flow::Flow> = deployed
            .flows
            .into_iter()
            .filter(|f| synced.updated.contains(&f.id))
            .collect();
        r.runtime
            .block_on(r.engine.reload(updated, synced.removed.clone()));
    }
    let list = |ids: &[String]| {
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.join(", ")
        }
    };
    let mut out = format!(
        "{} of {} at {} \"{}\": updated {}; removed {}\n",
        git.branch,
        git.url,
        short_sha(&synced.commit),
        synced.summary,
        list(&synced.updated),
        list(&synced.removed),
    );
    if synced.invalid.is_empty() {
        print(&out);
        return Ok(());
    }
    out.push_str("these files do not validate; their last good version (if any) stays in use:\n");
    for e in &synced.invalid {
        out.push_str(&format!(
            "  {}:{}:{}: {}\n",
            e.path, e.line, e.col, e.message
        ));
    }
    print(&out);
    let files: std::collections::BTreeSet<&str> =
        synced.invalid.iter().map(|e| e.path.as_str()).collect();
    Err(Failure::new(
        EXIT_FAILED,
        format!(
            "{} flow file{} of commit {} did not validate",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            short_sha(&synced.commit)
        ),
    ))
}
