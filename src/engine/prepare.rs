//! Turning a task instance into a `Launch`: the rendered command, the
//! environment of SPEC §3, the working folder and the Python environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::SecondsFormat;

use super::executor::{Launch, TryKey};
use crate::flow::{Flow, PythonEnv, Task, Var};
use crate::logs::TryFiles;
use crate::store::Run;

/// Largest `$DROVER_OUTPUT` file read; outputs are for small values.
pub const MAX_OUTPUT_BYTES: u64 = 1024 * 1024;

/// Upstream outputs visible to a task: task id → key → value.
pub type UpstreamOutputs = BTreeMap<String, BTreeMap<String, String>>;

/// `NAME` upper-cased with every character outside `[A-Z0-9_]` turned into `_`.
pub fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Builds the launch of try `number` of `task`. An `Err` says why the try
/// cannot start; it then fails with that reason.
pub fn launch(
    home: &Path,
    flow: &Flow,
    run: &Run,
    task: &Task,
    number: u32,
    outputs: &UpstreamOutputs,
    files: TryFiles,
) -> Result<Launch, String> {
    let local = run.logical.with_timezone(&flow.timezone);
    let ds = local.format("%Y-%m-%d").to_string();
    let ts = local.to_rfc3339_opts(SecondsFormat::Secs, false);
    let command = task
        .cmd
        .render(|var| match var {
            Var::Ds => Some(ds.clone()),
            Var::Ts => Some(ts.clone()),
            Var::RunId => Some(run.id.clone()),
            Var::Flow => Some(flow.id.clone()),
            Var::Task => Some(task.id.clone()),
            Var::Try => Some(number.to_string()),
            Var::Param(name) => run.params.get(name).cloned(),
            Var::Output { task, key } => outputs.get(task).and_then(|o| o.get(key)).cloned(),
        })
        .map_err(|var| match var {
            Var::Output { task: from, key } => {
                let wrote: Vec<&str> = outputs.get(&from).map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
                let wrote = if wrote.is_empty() { "no outputs".to_string() } else { format!("only {}", wrote.join(", ")) };
                format!("`{{{{ outputs.{from}.{key} }}}}`: task `{from}` did not write `{key}` to $DROVER_OUTPUT (it wrote {wrote})")
            }
            other => format!("`{{{{ {other} }}}}` has no value in this run"),
        })?;

    let resolve = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            home.join(p)
        }
    };
    let workdir = resolve(&task.workdir);
    if workdir.exists() && !workdir.is_dir() {
        return Err(format!(
            "workdir {} is not a folder (task `{}`)",
            workdir.display(),
            task.id
        ));
    }
    if !workdir.is_dir() {
        return Err(format!(
            "workdir {} does not exist (task `{}`, relative to the home)",
            workdir.display(),
            task.id
        ));
    }

    let mut env: Vec<(String, String)> = task
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let output = files.output.to_string_lossy().into_owned();
    env.extend([
        ("DROVER_FLOW".to_string(), flow.id.clone()),
        ("DROVER_RUN_ID".to_string(), run.id.clone()),
        ("DROVER_TASK".to_string(), task.id.clone()),
        ("DROVER_TRY".to_string(), number.to_string()),
        ("DROVER_DS".to_string(), ds),
        ("DROVER_TS".to_string(), ts),
        ("DROVER_OUTPUT".to_string(), output),
    ]);
    for (name, value) in &run.params {
        env.push((format!("DROVER_PARAM_{}", env_name(name)), value.clone()));
    }
    for (from, values) in outputs {
        for (key, value) in values {
            env.push((
                format!("DROVER_IN_{}_{}", env_name(from), env_name(key)),
                value.clone(),
            ));
        }
    }

    let mut env_remove = Vec::new();
    let shell = vec![shell().to_string(), "-c".to_string(), command];
    let argv = match &task.python {
        None => shell,
        Some(PythonEnv::Venv(dir)) => {
            let venv = resolve(dir);
            let bin = venv.join("bin");
            if !bin.is_dir() {
                return Err(format!(
                    "venv {} not found (expected {}); create it with `python3 -m venv {}`",
                    venv.display(),
                    bin.display(),
                    dir
                ));
            }
            let path = std::env::var("PATH").unwrap_or_default();
            env.push(("PATH".into(), format!("{}:{path}", bin.display())));
            env.push(("VIRTUAL_ENV".into(), venv.to_string_lossy().into_owned()));
            env_remove.push("PYTHONHOME".to_string());
            shell
        }
        Some(PythonEnv::Conda(name)) => {
            let conda = find_conda().ok_or_else(|| {
                format!("conda env `{name}` requested but conda was not found: put it on PATH or set CONDA_EXE")
            })?;
            let mut argv = vec![
                conda,
                "run".into(),
                "-n".into(),
                name.clone(),
                "--no-capture-output".into(),
            ];
            argv.extend(shell);
            argv
        }
    };
    Ok(Launch {
        key: TryKey {
            run: run.key.clone(),
            task: task.id.clone(),
            number,
        },
        argv,
        workdir,
        env,
        env_remove,
        timeout: task.timeout,
        files,
    })
}

/// `sh`, found once on PATH: starting it by its full path spares every
/// spawn a walk through PATH with failing execs.
fn shell() -> &'static str {
    static SHELL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SHELL.get_or_init(|| find_on_path("sh").unwrap_or_else(|| "/bin/sh".into()))
}

fn find_on_path(program: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

fn find_conda() -> Option<String> {
    if let Ok(exe) = std::env::var("CONDA_EXE")
        && Path::new(&exe).is_file()
    {
        return Some(exe);
    }
    find_on_path("conda")
}

/// Reads `key=value` lines a task appended to `$DROVER_OUTPUT`. Blank lines
/// and `#` comments are ignored; a later value for a key replaces an earlier
/// one. Problems come back as notes for the log.
pub fn read_outputs(path: &Path) -> (BTreeMap<String, String>, Vec<String>) {
    let mut outputs = BTreeMap::new();
    let mut notes = Vec::new();
    let size = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(_) => return (outputs, notes),
    };
    if size > MAX_OUTPUT_BYTES {
        notes.push(format!(
            "$DROVER_OUTPUT holds {size} bytes, more than the {MAX_OUTPUT_BYTES} outputs may use; outputs ignored (write large data to files and pass their paths)"
        ));
        return (outputs, notes);
    }
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            notes.push(format!(
                "cannot read $DROVER_OUTPUT: {}",
                crate::home::describe(&e)
            ));
            return (outputs, notes);
        }
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((key, value)) if crate::flow::is_valid_id(key.trim()) => {
                outputs.insert(key.trim().to_string(), value.to_string());
            }
            _ => notes.push(format!(
                "$DROVER_OUTPUT line {}: expected key=value with a key of letters, digits, `_` or `-`: {line:?}",
                i + 1
            )),
        }
    }
    (outputs, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_are_upper_snake() {
        assert_eq!(env_name("train-large"), "TRAIN_LARGE");
        assert_eq!(env_name("rows2"), "ROWS2");
    }

    #[test]
    fn outputs_are_key_value_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(
            &path,
            "rows=12\n# comment\n\nmodel = /tmp/m=1\nrows=13\nbad line\n",
        )
        .unwrap();
        let (outputs, notes) = read_outputs(&path);
        assert_eq!(outputs["rows"], "13");
        assert_eq!(outputs["model"], " /tmp/m=1");
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("line 6"), "{notes:?}");
        assert!(read_outputs(&dir.path().join("missing")).0.is_empty());
    }
}
