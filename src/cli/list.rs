//! `drover list [--json]`: flows with schedule, next run and paused flag, and
//! the flows that failed to load with their errors.

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::{Outcome, load_home, print};
use crate::flow::{Diagnostic, Flow};
use crate::home::Home;
use crate::store::RunState;
use std::collections::HashMap;

/// One flow in `list --json`. The shape is documented in the README.
#[derive(Serialize)]
struct FlowRow<'a> {
    id: &'a str,
    path: String,
    description: &'a str,
    schedule: Option<&'a str>,
    timezone: &'a str,
    next_run: Option<String>,
    paused: bool,
    tags: &'a [String],
    tasks: usize,
    last_run: Option<LastRun>,
}

/// The newest run of a flow, in `list --json`.
#[derive(Serialize, Clone)]
struct LastRun {
    id: String,
    state: &'static str,
    logical: String,
}

/// One load error in `list --json`; `flow` is null for drover.toml.
#[derive(Serialize)]
struct ErrorRow<'a> {
    flow: Option<&'a str>,
    path: String,
    line: usize,
    col: usize,
    message: &'a str,
}

#[derive(Serialize)]
struct Listing<'a> {
    flows: Vec<FlowRow<'a>>,
    errors: Vec<ErrorRow<'a>>,
    /// With `[git]` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    git: Option<GitRow<'a>>,
    /// Only while the running instance cannot record (a full disk...).
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<StorageRow>,
}

/// The running instance's store cannot record, in `list --json`.
#[derive(Serialize)]
struct StorageRow {
    /// What is wrong, in plain words ("the disk holding /x/.drover is full").
    problem: String,
    since: String,
    /// Changes decided but not recorded yet, held in memory.
    held_changes: usize,
    /// Outcomes of finished tries waiting to be recorded.
    held_outcomes: usize,
    /// The whole story in one line, as the table prints it.
    message: String,
}

fn storage_row(storage: Option<&crate::engine::Unrecorded>) -> Option<StorageRow> {
    storage.map(|u| StorageRow {
        problem: u.why.clone(),
        since: u.since.to_rfc3339_opts(SecondsFormat::Secs, true),
        held_changes: u.changes,
        held_outcomes: u.outcomes,
        message: u.summary(),
    })
}

/// Where the flows come from, with `[git]`, in `list --json`.
#[derive(Serialize)]
struct GitRow<'a> {
    url: &'a str,
    branch: &'a str,
    commit: Option<&'a str>,
    summary: Option<&'a str>,
    committed: Option<String>,
    synced: Option<String>,
    error: Option<&'a str>,
}

fn git_row(home: &Home) -> Option<GitRow<'_>> {
    let (git, state) = (home.config.git.as_ref()?, home.git.as_ref()?);
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    Some(GitRow {
        url: &git.url,
        branch: &git.branch,
        commit: state.commit.as_deref(),
        summary: state.summary.as_deref(),
        committed: time(state.commit_time),
        synced: time(state.synced_at),
        error: state.error.as_deref(),
    })
}

/// A line (or two) about the git sync, for the table.
fn git_lines(home: &Home, now: DateTime<Utc>) -> String {
    let (Some(git), Some(state)) = (home.config.git.as_ref(), home.git.as_ref()) else {
        return String::new();
    };
    let ago = |t: Option<DateTime<Utc>>| t.map(|t| super::human_duration(now - t) + " ago");
    let mut out = match &state.commit {
        Some(sha) => format!(
            "\ngit: {} of {} at {} \"{}\" (committed {}, synced {})\n",
            git.branch,
            git.url,
            crate::gitsync::short_sha(sha),
            state.summary.as_deref().unwrap_or(""),
            ago(state.commit_time).unwrap_or_else(|| "-".into()),
            ago(state.synced_at).unwrap_or_else(|| "never".into()),
        ),
        None => format!(
            "\ngit: {} of {}: not synced yet (`drover sync` does it now)\n",
            git.branch, git.url
        ),
    };
    if let Some(e) = &state.error {
        out.push_str(&format!(
            "     last sync failed: {e}; the flows in use stay, drover retries\n"
        ));
    }
    out
}

/// What the store says of each flow: its newest run and stored pause state.
#[derive(Default)]
struct Stored {
    last: HashMap<String, (LastRun, RunState)>,
    paused: HashMap<String, bool>,
}

fn stored(home: &Home) -> Stored {
    let mut out = Stored::default();
    let path = super::state_dir(&home.root).join("store");
    // In a running instance its store is at hand; otherwise don't create
    // state just to list.
    let store = if super::remote().is_some() || path.exists() {
        super::open_store(home)
    } else {
        return out;
    };
    let store = match store {
        Ok(store) => store,
        Err(f) => {
            super::eprintln_safe(&format!("drover: last runs not shown: {}", f.message));
            return out;
        }
    };
    for f in &home.flows {
        if let Ok(Some(run)) = store.latest_runs(&f.id, 1).map(|mut v| v.pop()) {
            let last = LastRun {
                id: run.id.clone(),
                state: run.state.name(),
                logical: run
                    .logical
                    .with_timezone(&f.timezone)
                    .to_rfc3339_opts(SecondsFormat::Secs, false),
            };
            out.last.insert(f.id.clone(), (last, run.state));
        }
        if let Ok(Some(state)) = store.flow_state(&f.id) {
            out.paused.insert(f.id.clone(), state.paused);
        }
    }
    out
}

impl Stored {
    fn paused(&self, flow: &Flow) -> bool {
        self.paused.get(&flow.id).copied().unwrap_or(flow.paused)
    }
}

pub fn run(root: &Path, json: bool) -> Outcome {
    let mut home = load_home(root)?;
    super::require_home(&home)?;
    // In a running instance, a flow whose file broke keeps its last good
    // version in use: list that version (its error is listed too).
    if let Some(r) = super::remote() {
        for b in &home.broken {
            // (Flows from git keep their last good file on disk already.)
            if home.flows.iter().any(|f| f.id == b.id) {
                continue;
            }
            if let Some(flow) = r.runtime.block_on(r.engine.flow(&b.id)) {
                home.flows.push((*flow).clone());
            }
        }
        home.flows.sort_by(|a, b| a.id.cmp(&b.id));
    }
    // A running instance that cannot record says so (instead of "ok").
    let storage = super::remote()
        .and_then(|r| r.runtime.block_on(r.engine.status()))
        .and_then(|s| s.storage);
    let now = Utc::now();
    let stored = if home.flows.is_empty() {
        Stored::default()
    } else {
        stored(&home)
    };
    if json {
        print(&(to_json(&home, &stored, storage.as_ref(), now) + "\n"));
    } else {
        let mut out = table(&home, &stored, now);
        if let Some(u) = &storage {
            out.push_str(&format!("\n⚠ {}\n", u.summary()));
        }
        print(&out);
    }
    Ok(())
}

fn next_run(flow: &Flow, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    flow.fire_times_after(now).next()
}

fn error_row<'a>(flow: Option<&'a str>, d: &'a Diagnostic) -> ErrorRow<'a> {
    ErrorRow {
        flow,
        path: d.path.display().to_string(),
        line: d.line,
        col: d.col,
        message: &d.message,
    }
}

fn to_json(
    home: &Home,
    stored: &Stored,
    storage: Option<&crate::engine::Unrecorded>,
    now: DateTime<Utc>,
) -> String {
    let flows = home
        .flows
        .iter()
        .map(|f| FlowRow {
            id: &f.id,
            path: f.path.display().to_string(),
            description: &f.description,
            schedule: f.schedule.as_ref().map(|s| s.source()),
            timezone: f.timezone.name(),
            // A paused flow has no next run.
            next_run: next_run(f, now).filter(|_| !stored.paused(f)).map(|t| {
                t.with_timezone(&f.timezone)
                    .to_rfc3339_opts(SecondsFormat::Secs, false)
            }),
            paused: stored.paused(f),
            tags: &f.tags,
            tasks: f.tasks.len(),
            last_run: stored.last.get(&f.id).map(|(l, _)| l.clone()),
        })
        .collect();
    let mut errors: Vec<ErrorRow<'_>> = home.errors.iter().map(|d| error_row(None, d)).collect();
    for b in &home.broken {
        errors.extend(b.errors.iter().map(|d| error_row(Some(&b.id), d)));
    }
    // Serialising plain strings and numbers cannot fail.
    let git = git_row(home);
    let storage = storage_row(storage);
    serde_json::to_string_pretty(&Listing {
        flows,
        errors,
        git,
        storage,
    })
    .unwrap_or_default()
}

/// "in 3h 5m", "in 42s", "in 2d 4h".
fn until(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds().max(0);
    let (d, h, m, s) = (
        secs / 86400,
        secs % 86400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("in {s}s"),
        (0, 0, _) => format!("in {m}m"),
        (0, _, _) => format!("in {h}h {m}m"),
        _ => format!("in {d}d {h}h"),
    }
}

fn table(home: &Home, stored: &Stored, now: DateTime<Utc>) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        [
            "FLOW", "SCHEDULE", "NEXT RUN", "", "PAUSED", "LAST RUN", "TASKS",
        ]
        .into_iter()
        .map(String::from)
        .collect(),
    ];
    for f in &home.flows {
        let (next, when) = match (&f.schedule, next_run(f, now)) {
            (Some(_), _) if stored.paused(f) => ("- (paused)".to_string(), String::new()),
            (None, _) => ("manual".to_string(), String::new()),
            (Some(_), None) => match f.end {
                Some(end) if end <= now => ("none (past end)".to_string(), String::new()),
                Some(_) => ("none before end".to_string(), String::new()),
                None => ("never".to_string(), String::new()),
            },
            (Some(_), Some(t)) => (
                t.with_timezone(&f.timezone)
                    .format("%Y-%m-%d %H:%M %:z")
                    .to_string(),
                until(t, now),
            ),
        };
        let last = stored
            .last
            .get(&f.id)
            .map_or("-".to_string(), |(_, state)| {
                format!("{} {state}", state.glyph())
            });
        rows.push(vec![
            f.id.clone(),
            f.schedule.as_ref().map_or("-", |s| s.source()).to_string(),
            next,
            when,
            if stored.paused(f) { "yes" } else { "no" }.into(),
            last,
            f.tasks.len().to_string(),
        ]);
    }
    let mut out = String::new();
    if home.flows.is_empty() {
        out.push_str(&format!(
            "no valid flows in {}\n",
            home.flows_dir().display()
        ));
    } else {
        out.push_str(&super::columns(&rows));
    }
    // (A flow's name, or none for the home's own files: their
    // diagnostics name them.)
    let mut failed: Vec<(Option<String>, &[Diagnostic])> = Vec::new();
    if !home.errors.is_empty() {
        failed.push((None, &home.errors));
    }
    for b in &home.broken {
        let name = if home.flows.iter().any(|f| f.id == b.id) {
            format!("{} (its last good version stays in use)", b.id)
        } else {
            b.id.clone()
        };
        failed.push((Some(name), &b.errors));
    }
    if !failed.is_empty() {
        let fix = if home.git.is_some() && home.errors.is_empty() {
            "fix them in the repository and push"
        } else {
            "see `drover validate`"
        };
        out.push_str(&format!("\n{} failed to load ({fix}):\n", failed.len()));
        for (name, errors) in failed {
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (+{} more)", n - 1),
            };
            match name {
                Some(name) => out.push_str(&format!("  {name}: {}{more}\n", errors[0])),
                None => out.push_str(&format!("  {}{more}\n", errors[0])),
            }
        }
    }
    out.push_str(&git_lines(home, now));
    out
}
