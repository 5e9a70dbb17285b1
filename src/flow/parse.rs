//! Flow files: TOML with spans in, a validated `Flow` or every problem out.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use toml::de::DeTable;

use super::diag::{Diagnostic, Source};
use super::fields::Checker;
use super::template::{Template, Var};
use super::{Config, Flow, PythonEnv, Task, TaskEnv, TriggerRule, dag, suggest};
use crate::schedule::{self, Schedule};

const FLOW_KEYS: &[&str] = &[
    "description",
    "schedule",
    "timezone",
    "start",
    "end",
    "catchup",
    "max_active_runs",
    "paused",
    "tags",
    "params",
    "defaults",
    "tasks",
];
const SETTING_KEYS: &[&str] = &[
    "pool",
    "venv",
    "conda",
    "retries",
    "retry_delay",
    "timeout",
    "workdir",
    "env",
    "trigger",
    "priority",
];
const TASK_ONLY_KEYS: &[&str] = &["cmd", "deps"];

const DEFAULT_MAX_ACTIVE_RUNS: u32 = 16;
/// Work (nodes and edges visited, words stored) the check that a template's
/// `outputs.TASK` is upstream may spend on one file beyond its quick paths.
const ANCESTRY_BUDGET: usize = 50_000_000;
const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(30);

/// Flow and task ids: letters, digits, `_` and `-`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Task settings that `[defaults]` may give and a task may override.
#[derive(Default, Clone)]
struct Settings {
    pool: Option<String>,
    python: Option<PythonEnv>,
    retries: Option<u32>,
    retry_delay: Option<Duration>,
    timeout: Option<Duration>,
    workdir: Option<String>,
    env: BTreeMap<String, String>,
    trigger: Option<TriggerRule>,
    priority: Option<i32>,
}

/// A task as read, before the graph is known.
struct RawTask<'t> {
    id: String,
    key_span: Range<usize>,
    cmd: Option<(Template, Range<usize>, &'t str)>,
    deps: Vec<(String, Range<usize>)>,
    settings: Settings,
    env: TaskEnv,
}

/// Parses and validates one flow file. `id` is the file stem.
pub fn parse_flow(
    id: &str,
    path: &Path,
    text: &str,
    config: &Config,
) -> Result<Flow, Vec<Diagnostic>> {
    let src = Source::new(path, text);
    if !is_valid_id(id) {
        return Err(vec![Diagnostic::whole_file(
            path,
            format!(
                "flow id \"{id}\" (the file name) may hold only letters, digits, `_` and `-`; rename the file"
            ),
        )]);
    }
    let doc = DeTable::parse(text).map_err(|e| vec![super::toml_error(&src, &e)])?;
    let mut ck = Checker::new(&src);
    let top = doc.get_ref();
    ck.known_keys(top, FLOW_KEYS, &[], "flow");

    let description = ck
        .string(top, "description")
        .map_or("", |(s, _)| s)
        .to_string();
    let timezone = match ck.string(top, "timezone") {
        Some((name, span)) => schedule::parse_timezone(name).unwrap_or_else(|e| {
            ck.error(span, e);
            config.timezone
        }),
        None => config.timezone,
    };
    let schedule = ck.string(top, "schedule").and_then(|(text, span)| {
        Schedule::parse(text)
            .map_err(|e| {
                let at = e
                    .offset
                    .map_or(span.start, |off| value_offset(&src, &span, text, off));
                ck.error(
                    at..at,
                    format!("bad schedule \"{}\": {}", text.trim(), e.message),
                );
            })
            .ok()
    });
    let start = read_time(&mut ck, top, "start", timezone);
    let end = read_time(&mut ck, top, "end", timezone);
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        let span = Checker::span_of(top, "end").unwrap_or(0..0);
        ck.error(span, "`end` must be after `start`");
    }
    let catchup = ck.bool(top, "catchup").unwrap_or(false);
    let paused = ck.bool(top, "paused").unwrap_or(false);
    let max_active_runs = ck
        .int(top, "max_active_runs", 1, 10_000)
        .map_or(DEFAULT_MAX_ACTIVE_RUNS, |n| n as u32);
    let tags = ck
        .string_list(top, "tags")
        .map(|l| l.into_iter().map(|(s, _)| s.to_string()).collect())
        .unwrap_or_default();
    let params = ck.string_map(top, "params").unwrap_or_default();
    let mut declared_params: Vec<String> = Vec::new();
    if let Some((table, _)) = ck.table(top, "params") {
        ck.no_top_level_keys(table, FLOW_KEYS, "[params]");
        declared_params = table.keys().map(|k| k.get_ref().to_string()).collect();
        for key in table.keys() {
            if !is_valid_id(key.get_ref()) {
                ck.error(
                    key.span(),
                    format!(
                        "param name \"{}\" may hold only letters, digits, `_` and `-`",
                        key.get_ref()
                    ),
                );
            }
        }
    }

    let mut defaults = match ck.table(top, "defaults") {
        Some((table, _)) => {
            ck.known_keys(table, SETTING_KEYS, FLOW_KEYS, "[defaults]");
            read_settings(&mut ck, table, config)
        }
        None => Settings::default(),
    };

    let inherited_env = Arc::new(std::mem::take(&mut defaults.env));
    let mut raw_tasks = Vec::new();
    match ck.table(top, "tasks") {
        Some((tasks, span)) => {
            if tasks.is_empty() {
                ck.error(
                    span,
                    "flow has no tasks; add a [tasks.NAME] table with a `cmd`",
                );
            }
            for key in tasks.keys() {
                let id = key.get_ref().to_string();
                let key_span = key.span();
                if !is_valid_id(&id) {
                    ck.error(
                        key_span.clone(),
                        format!("task name \"{id}\" may hold only letters, digits, `_` and `-`"),
                    );
                    continue;
                }
                let Some((table, _)) = ck.table(tasks, &id) else {
                    continue;
                };
                raw_tasks.push(read_task(
                    &mut ck,
                    id,
                    key_span,
                    table,
                    &defaults,
                    &inherited_env,
                    config,
                ));
            }
        }
        None => {
            if top.get("tasks").is_none() {
                ck.error(
                    0..0,
                    "flow has no tasks; add a [tasks.NAME] table with a `cmd`",
                );
            }
        }
    }

    let tasks = build_graph(&mut ck, raw_tasks, &declared_params);
    if ck.has_errors() {
        return Err(ck.into_diagnostics());
    }
    Ok(Flow {
        id: id.to_string(),
        path: path.to_path_buf(),
        description,
        schedule,
        timezone,
        start,
        end,
        catchup,
        max_active_runs,
        paused,
        tags,
        params,
        tasks,
        source: text.to_string(),
        version: super::version_of(text),
        commit: None,
    })
}

fn read_task<'t>(
    ck: &mut Checker<'_>,
    id: String,
    key_span: Range<usize>,
    table: &'t DeTable<'_>,
    defaults: &Settings,
    inherited_env: &Arc<BTreeMap<String, String>>,
    config: &Config,
) -> RawTask<'t> {
    let allowed: Vec<&str> = TASK_ONLY_KEYS.iter().chain(SETTING_KEYS).copied().collect();
    ck.known_keys(table, &allowed, FLOW_KEYS, &format!("[tasks.{id}]"));
    let cmd = match ck.string(table, "cmd") {
        Some((text, span)) if text.trim().is_empty() => {
            ck.error(span, format!("task `{id}` has an empty `cmd`"));
            None
        }
        Some((text, span)) if text.contains('\0') => {
            ck.error(
                span,
                format!("task `{id}`: `cmd` holds a NUL byte, which no shell command can"),
            );
            None
        }
        Some((text, span)) => match Template::parse(text) {
            Ok(t) => Some((t, span, text)),
            Err(errors) => {
                let base = value_base(ck.src, &span, text);
                for e in errors {
                    let at = base.map_or(span.start, |b| b + e.offset);
                    ck.error(at..at, e.message);
                }
                None
            }
        },
        None => {
            if table.get("cmd").is_none() {
                ck.error(
                    key_span.clone(),
                    format!("task `{id}` has no `cmd`; add cmd = \"...\" (run by sh -c)"),
                );
            }
            None
        }
    };
    let deps = ck
        .string_list(table, "deps")
        .map(|l| {
            l.into_iter()
                .map(|(s, span)| (s.to_string(), span))
                .collect()
        })
        .unwrap_or_default();
    let own = read_settings(ck, table, config);
    let env = TaskEnv::new(inherited_env.clone(), own.env);
    // A task's own venv/conda replaces an inherited one of either kind.
    let settings = Settings {
        pool: own.pool.or_else(|| defaults.pool.clone()),
        python: own.python.or_else(|| defaults.python.clone()),
        retries: own.retries.or(defaults.retries),
        retry_delay: own.retry_delay.or(defaults.retry_delay),
        timeout: own.timeout.or(defaults.timeout),
        workdir: own.workdir.or_else(|| defaults.workdir.clone()),
        env: Default::default(),
        trigger: own.trigger.or(defaults.trigger),
        priority: own.priority.or(defaults.priority),
    };
    RawTask {
        id,
        key_span,
        cmd,
        deps,
        settings,
        env,
    }
}

fn read_settings(ck: &mut Checker<'_>, table: &DeTable<'_>, config: &Config) -> Settings {
    let mut s = Settings::default();
    if let Some((pool, span)) = ck.string(table, "pool") {
        if config.pools.contains_key(pool) {
            s.pool = Some(pool.to_string());
        } else {
            let declared = config.pools.keys().map(String::as_str);
            let hint = suggest::did_you_mean_within(pool, declared.clone(), &mut ck.suggest);
            let list = if !config.complete {
                "drover.toml has errors; fix them first (see drover validate)".to_string()
            } else if config.pools.is_empty() {
                "none".to_string()
            } else {
                suggest::listing(declared, config.pools.len())
            };
            ck.error(
                span,
                format!("pool `{pool}` is not declared{hint}; add `{pool} = 1` under [pools] in drover.toml (declared: {list})"),
            );
        }
    }
    let venv = ck.nonempty_string(table, "venv");
    let conda = ck.nonempty_string(table, "conda");
    s.python = match (venv, conda) {
        (Some(_), Some((_, span))) => {
            ck.error(span, "set `venv` or `conda`, not both");
            None
        }
        (Some((dir, _)), None) => Some(PythonEnv::Venv(dir.to_string())),
        (None, Some((name, _))) => Some(PythonEnv::Conda(name.to_string())),
        (None, None) => None,
    };
    s.retries = ck.int(table, "retries", 0, 1000).map(|n| n as u32);
    s.retry_delay = ck.duration(table, "retry_delay", true);
    s.timeout = ck.duration(table, "timeout", false);
    s.workdir = ck
        .nonempty_string(table, "workdir")
        .map(|(w, _)| w.to_string());
    s.env = ck.string_map(table, "env").unwrap_or_default();
    if let Some((rule, span)) = ck.string(table, "trigger") {
        match TriggerRule::ALL.iter().find(|(n, _)| *n == rule) {
            Some((_, r)) => s.trigger = Some(*r),
            None => {
                let names: Vec<&str> = TriggerRule::ALL.iter().map(|(n, _)| *n).collect();
                let hint = suggest::did_you_mean(rule, names.iter().copied());
                ck.error(
                    span,
                    format!(
                        "unknown trigger rule \"{rule}\"{hint}; use one of {}",
                        names.join(", ")
                    ),
                );
            }
        }
    }
    s.priority = ck
        .int(table, "priority", i64::from(i32::MIN), i64::from(i32::MAX))
        .map(|n| n as i32);
    s
}

/// `start`/`end`: a date (midnight in the flow's timezone), a local date-time
/// (in the flow's timezone) or an RFC 3339 time with offset.
fn read_time(
    ck: &mut Checker<'_>,
    table: &DeTable<'_>,
    key: &str,
    tz: Tz,
) -> Option<DateTime<Utc>> {
    let (text, span) = ck.date_text(table, key)?;
    match parse_time(&text, tz) {
        Some(t) => Some(t),
        None => {
            ck.error(
                span,
                format!("`{key}` = \"{text}\" is not a date (2026-01-01) or an RFC 3339 time (2026-01-01T03:00:00+01:00)"),
            );
            None
        }
    }
}

/// Parses a date, local date-time or RFC 3339 time; local forms are in `tz`.
pub fn parse_time(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let t = match DateTime::parse_from_rfc3339(text) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            let local = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok())
                .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok())
                .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").ok())?;
            schedule::resolve_local(tz, local)
        }
    };
    // Times outside these years have no plain RFC 3339 form.
    (1900..=9999).contains(&t.year()).then_some(t)
}

/// Orders tasks, checks dependencies, cycles and template references.
fn build_graph(ck: &mut Checker<'_>, raw: Vec<RawTask<'_>>, params: &[String]) -> Vec<Task> {
    let index: BTreeMap<&str, usize> = raw
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); raw.len()];
    // Tasks with a bad dependency: their ancestry is unknown, so a template
    // naming an upstream output is not judged.
    let mut bad_deps = vec![false; raw.len()];
    // `listed_by[d] == i` once task `i` has listed `d`: a repeated entry is
    // dropped in constant time, however long the list.
    let mut listed_by = vec![usize::MAX; raw.len()];
    for (i, task) in raw.iter().enumerate() {
        for (dep, span) in &task.deps {
            match index.get(dep.as_str()) {
                Some(&d) if d == i => {
                    ck.error(span.clone(), format!("task `{dep}` depends on itself"))
                }
                Some(&d) => {
                    if listed_by[d] != i {
                        listed_by[d] = i;
                        deps[i].push(d);
                    }
                }
                None => {
                    bad_deps[i] = true;
                    let hint =
                        suggest::did_you_mean_within(dep, index.keys().copied(), &mut ck.suggest);
                    ck.error(
                        span.clone(),
                        format!("task `{}` depends on unknown task `{dep}`{hint}", task.id),
                    );
                }
            }
        }
    }
    let order = match dag::topo_order(&deps) {
        Ok(order) => Some(order),
        Err(cycle) => {
            let names: Vec<&str> = cycle.iter().map(|&i| raw[i].id.as_str()).collect();
            let first = &raw[cycle[0]];
            ck.error(
                first.key_span.clone(),
                format!("dependency cycle: {}", names.join(" → ")),
            );
            None
        }
    };

    // Is `from` upstream of this task? Answered in bounded steps each (see
    // `dag::Ancestry`); past its budget, on a hostile file, a reference is
    // not judged rather than validation taking quadratic time.
    let mut ancestry = order
        .as_deref()
        .map(|order| dag::Ancestry::new(&deps, order, ANCESTRY_BUDGET));
    let declared: HashSet<&str> = params.iter().map(String::as_str).collect();
    for (i, task) in raw.iter().enumerate() {
        let Some((template, span, text)) = &task.cmd else {
            continue;
        };
        // Whether the string is written verbatim is found once per string,
        // not once per problem in it.
        let base = value_base(ck.src, span, text);
        for (var, offset) in template.vars() {
            let problem = match var {
                Var::Param(name) if !declared.contains(name.as_str()) => {
                    let hint = suggest::did_you_mean_within(
                        name,
                        params.iter().map(String::as_str),
                        &mut ck.suggest,
                    );
                    Some(format!(
                        "`{{{{ params.{name} }}}}` names no param{hint}; declare a default under [params], e.g. {name} = \"...\""
                    ))
                }
                Var::Output { task: from, .. } => match index.get(from.as_str()) {
                    None => {
                        let hint = suggest::did_you_mean_within(
                            from,
                            index.keys().copied(),
                            &mut ck.suggest,
                        );
                        Some(format!(
                            "`{{{{ {var} }}}}` names unknown task `{from}`{hint}"
                        ))
                    }
                    Some(&f) if f == i => Some(format!(
                        "`{{{{ {var} }}}}`: a task cannot use its own outputs; they exist only after it ends"
                    )),
                    Some(&f)
                        if !bad_deps[i]
                            && ancestry
                                .as_mut()
                                .and_then(|a| a.is_upstream(f, i))
                                .is_some_and(|up| !up) =>
                    {
                        Some(format!(
                            "`{{{{ {var} }}}}`: task `{from}` is not upstream of `{}`; add it to `deps` so its outputs exist before this task runs",
                            task.id
                        ))
                    }
                    _ => None,
                },
                _ => None,
            };
            if let Some(message) = problem {
                let at = base.map_or(span.start, |b| b + offset);
                ck.error(at..at, message);
            }
        }
    }

    let Some(order) = order else {
        return Vec::new();
    };
    let mut slots: Vec<Option<RawTask<'_>>> = raw.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots[i].take())
        .filter_map(|t| {
            let cmd = t.cmd?.0;
            let s = t.settings;
            Some(Task {
                id: t.id,
                cmd,
                deps: t.deps.into_iter().map(|(d, _)| d).collect(),
                pool: s.pool,
                python: s.python,
                retries: s.retries.unwrap_or(0),
                retry_delay: s.retry_delay.unwrap_or(DEFAULT_RETRY_DELAY),
                timeout: s.timeout,
                workdir: s.workdir.unwrap_or_else(|| ".".into()),
                env: t.env,
                trigger: s.trigger.unwrap_or_default(),
                priority: s.priority.unwrap_or(0),
            })
        })
        .collect()
}

/// The byte offset in the file of offset `at` inside a string value whose
/// source span is `span`, when the string is written without escapes; else
/// the start of the value.
fn value_offset(src: &Source<'_>, span: &Range<usize>, content: &str, at: usize) -> usize {
    value_base(src, span, content).map_or(span.start, |base| base + at)
}

/// Where the text of a string value starts in the file, if the value is
/// written verbatim (no escapes), so offsets into `content` map straight
/// onto the file. Compares the whole string once: callers with many
/// offsets into one string call this once.
fn value_base(src: &Source<'_>, span: &Range<usize>, content: &str) -> Option<usize> {
    let raw = src.text.get(span.clone())?;
    let delim = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|d| raw.starts_with(d))
        .unwrap_or("");
    let mut body = span.start + delim.len();
    if delim.len() == 3 {
        if src.text[body..].starts_with("\r\n") {
            body += 2;
        } else if src.text[body..].starts_with('\n') {
            body += 1;
        }
    }
    (src.text.get(body..body + content.len()) == Some(content)).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Flow, Vec<String>> {
        let mut config = Config::default();
        config.pools.insert("gpu".into(), 1);
        parse_flow("f", Path::new("flows/f.toml"), text, &config)
            .map_err(|d| d.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn reads_every_flow_field() {
        let flow = parse(
            r#"
description = "Nightly"
schedule = "0 3 * * *"
timezone = "Europe/Berlin"
start = 2026-01-01
end = "2027-01-01T00:00:00Z"
catchup = true
max_active_runs = 2
paused = true
tags = ["ml", "nightly"]
[params]
epochs = 10
lr = "0.1"
[tasks.a]
cmd = "echo {{ params.epochs }}"
"#,
        )
        .unwrap();
        assert_eq!(flow.description, "Nightly");
        assert_eq!(
            flow.schedule.as_ref().map(|s| s.source()),
            Some("0 3 * * *")
        );
        assert_eq!(flow.timezone, chrono_tz::Europe::Berlin);
        // A plain date is midnight in the flow's timezone.
        assert_eq!(
            flow.start.unwrap().to_rfc3339(),
            "2025-12-31T23:00:00+00:00"
        );
        assert_eq!(flow.end.unwrap().to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert!(flow.catchup && flow.paused);
        assert_eq!(flow.max_active_runs, 2);
        assert_eq!(flow.tags, ["ml", "nightly"]);
        assert_eq!(flow.params["epochs"], "10");
        assert_eq!(flow.params["lr"], "0.1");
    }

    #[test]
    fn tasks_inherit_defaults_and_override_them() {
        let flow = parse(
            r#"
[defaults]
retries = 2
retry_delay = "1m"
timeout = "2h"
workdir = "work"
pool = "gpu"
venv = "envs/base"
env = { A = "1", B = "2" }
trigger = "all_done"
priority = 3
[tasks.a]
cmd = "x"
[tasks.b]
cmd = "y"
deps = ["a"]
retries = 0
env = { B = "override", C = 3 }
conda = "ml"
trigger = "one_failed"
"#,
        )
        .unwrap();
        let a = flow.task("a").unwrap();
        assert_eq!(a.retries, 2);
        assert_eq!(a.retry_delay, Duration::from_secs(60));
        assert_eq!(a.timeout, Some(Duration::from_secs(7200)));
        assert_eq!(a.workdir, "work");
        assert_eq!(a.pool.as_deref(), Some("gpu"));
        assert_eq!(a.python, Some(PythonEnv::Venv("envs/base".into())));
        assert_eq!(a.trigger, TriggerRule::AllDone);
        assert_eq!(a.priority, 3);
        let b = flow.task("b").unwrap();
        assert_eq!(b.retries, 0);
        assert_eq!(b.python, Some(PythonEnv::Conda("ml".into())));
        assert_eq!(b.trigger, TriggerRule::OneFailed);
        let env: Vec<(&str, &str)> = b
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(env, [("A", "1"), ("B", "override"), ("C", "3")]);
    }

    #[test]
    fn built_in_defaults_apply_without_defaults_table() {
        let flow = parse("[tasks.a]\ncmd = \"x\"\n").unwrap();
        let a = &flow.tasks[0];
        assert_eq!(
            (a.retries, a.retry_delay, a.timeout),
            (0, DEFAULT_RETRY_DELAY, None)
        );
        assert_eq!(
            (a.workdir.as_str(), a.trigger, a.priority),
            (".", TriggerRule::AllSuccess, 0)
        );
        assert_eq!(flow.max_active_runs, DEFAULT_MAX_ACTIVE_RUNS);
        assert_eq!(flow.timezone, Tz::UTC);
        assert!(flow.schedule.is_none() && !flow.catchup && !flow.paused);
    }

    #[test]
    fn tasks_come_in_topological_order() {
        let flow = parse(
            "[tasks.deploy]\ncmd = \"x\"\ndeps = [\"train\"]\n[tasks.train]\ncmd = \"x\"\ndeps = [\"prep\"]\n[tasks.prep]\ncmd = \"x\"\n[tasks.other]\ncmd = \"x\"\n",
        )
        .unwrap();
        let ids: Vec<&str> = flow.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["prep", "train", "deploy", "other"]);
    }

    #[test]
    fn outputs_of_indirect_upstream_tasks_are_allowed() {
        let flow = parse(
            "[tasks.a]\ncmd = \"x\"\n[tasks.b]\ncmd = \"x\"\ndeps = [\"a\"]\n[tasks.c]\ncmd = \"echo {{ outputs.a.rows }}\"\ndeps = [\"b\"]\n",
        );
        assert!(flow.is_ok(), "{flow:?}");
    }

    #[test]
    fn template_positions_account_for_multiline_strings() {
        let errors =
            parse("[tasks.a]\ncmd = \"\"\"\necho one\necho {{ nope }}\n\"\"\"\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("flows/f.toml:4:6: unknown template variable `nope`"),
            "{errors:?}"
        );
        // With escapes the text no longer matches the source: point at the string.
        let errors = parse("[tasks.a]\ncmd = \"a\\tb {{ nope }}\"\n").unwrap_err();
        assert!(errors[0].starts_with("flows/f.toml:2:7:"), "{errors:?}");
    }

    #[test]
    fn bad_ids_are_rejected() {
        let err = parse_flow(
            "my flow",
            Path::new("flows/my flow.toml"),
            "",
            &Config::default(),
        )
        .unwrap_err();
        assert!(err[0].message.contains("rename the file"));
        let errors = parse("[tasks.\"a.b\"]\ncmd = \"x\"\n").unwrap_err();
        assert!(errors[0].contains("task name \"a.b\""), "{errors:?}");
    }

    #[test]
    fn fire_times_respect_start_and_end() {
        let flow = parse(
            "schedule = \"@daily\"\nstart = \"2026-02-01\"\nend = \"2026-02-03\"\n[tasks.a]\ncmd = \"x\"\n",
        )
        .unwrap();
        let after = "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let fires: Vec<String> = flow
            .fire_times_after(after)
            .map(|t| t.to_rfc3339())
            .collect();
        assert_eq!(
            fires,
            [
                "2026-02-01T00:00:00+00:00",
                "2026-02-02T00:00:00+00:00",
                "2026-02-03T00:00:00+00:00"
            ]
        );
    }
}
