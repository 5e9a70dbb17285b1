//! `drover list [--json]`: flows with schedule, next run and paused flag, and
//! the flows that failed to load with their errors.

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::{Outcome, load_home, print};
use crate::flow::{Diagnostic, Flow};
use crate::home::Home;

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
}

pub fn run(root: &Path, json: bool) -> Outcome {
    let home = load_home(root)?;
    let now = Utc::now();
    if json {
        print(&(to_json(&home, now) + "\n"));
    } else {
        print(&table(&home, now));
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

fn to_json(home: &Home, now: DateTime<Utc>) -> String {
    let flows = home
        .flows
        .iter()
        .map(|f| FlowRow {
            id: &f.id,
            path: f.path.display().to_string(),
            description: &f.description,
            schedule: f.schedule.as_ref().map(|s| s.source()),
            timezone: f.timezone.name(),
            next_run: next_run(f, now).map(|t| {
                t.with_timezone(&f.timezone)
                    .to_rfc3339_opts(SecondsFormat::Secs, false)
            }),
            paused: f.paused,
            tags: &f.tags,
            tasks: f.tasks.len(),
        })
        .collect();
    let mut errors: Vec<ErrorRow<'_>> = home
        .config_errors
        .iter()
        .map(|d| error_row(None, d))
        .collect();
    for b in &home.broken {
        errors.extend(b.errors.iter().map(|d| error_row(Some(&b.id), d)));
    }
    // Serialising plain strings and numbers cannot fail.
    serde_json::to_string_pretty(&Listing { flows, errors }).unwrap_or_default()
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

fn table(home: &Home, now: DateTime<Utc>) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "FLOW".into(),
        "SCHEDULE".into(),
        "NEXT RUN".into(),
        "".into(),
        "PAUSED".into(),
        "TASKS".into(),
    ]];
    for f in &home.flows {
        let (next, when) = match (&f.schedule, next_run(f, now)) {
            (None, _) => ("manual".to_string(), String::new()),
            (Some(_), None) => ("none (past end)".to_string(), String::new()),
            (Some(_), Some(t)) => (
                t.with_timezone(&f.timezone)
                    .format("%Y-%m-%d %H:%M %:z")
                    .to_string(),
                until(t, now),
            ),
        };
        rows.push([
            f.id.clone(),
            f.schedule.as_ref().map_or("-", |s| s.source()).to_string(),
            next,
            when,
            if f.paused { "yes" } else { "no" }.into(),
            f.tasks.len().to_string(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    if home.flows.is_empty() {
        out.push_str(&format!(
            "no valid flows in {}\n",
            home.flows_dir().display()
        ));
    } else {
        for row in &rows {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(&format!("{cell:<w$}"));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    let mut failed: Vec<(&str, &[Diagnostic])> = Vec::new();
    if !home.config_errors.is_empty() {
        failed.push(("drover.toml", &home.config_errors));
    }
    for b in &home.broken {
        failed.push((&b.id, &b.errors));
    }
    if !failed.is_empty() {
        out.push_str(&format!(
            "\n{} failed to load (see `drover validate`):\n",
            failed.len()
        ));
        for (name, errors) in failed {
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (+{} more)", n - 1),
            };
            out.push_str(&format!("  {name}: {}{more}\n", errors[0]));
        }
    }
    out
}
