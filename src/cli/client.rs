//! The commands as clients of the instance running on the home: each asks
//! the instance API and prints what it answers. A triggered run's
//! transitions and a followed log are watched from here, so a command that
//! waits for hours holds nothing in the instance but a subscription.

use std::collections::BTreeMap;

use super::{Command, EXIT_FAILED, EXIT_USAGE, Failure, Outcome};
use crate::api::{
    Action, ApiError, Call, ClearPreview, ClearQuery, Client, Failed, LogQuery, LogTry, Report,
};
use crate::control::Answer;
use crate::store::TaskState;

/// Runs `command` against the instance `client` is connected to; the exit
/// status.
pub fn run(client: &Client, command: Command) -> u8 {
    super::finish(ask(client, command))
}

fn ask(client: &Client, command: Command) -> Outcome {
    match command {
        Command::List { json } => report(client, Report::List { json }),
        Command::Runs { flow, count, json } => report(
            client,
            Report::Runs {
                flow,
                n: count,
                json,
            },
        ),
        Command::Tasks { flow, run, json } => report(client, Report::Tasks { flow, run, json }),
        Command::Trigger {
            flow,
            params,
            wait,
            json,
            date,
            test_run,
        } => {
            let params = params_of(&params)?;
            let action = if test_run {
                Action::Test {
                    flow: flow.clone(),
                    params,
                    date,
                }
            } else {
                Action::Trigger {
                    flow: flow.clone(),
                    params,
                    date,
                    json: json && !wait,
                }
            };
            if wait {
                super::test::watch_there(client, action, &flow, json)
            } else {
                act(client, action)
            }
        }
        Command::Test { flow, params, date } => {
            let params = params_of(&params)?;
            let action = Action::Test {
                flow: flow.clone(),
                params,
                date,
            };
            super::test::watch_there(client, action, &flow, false)
        }
        Command::Clear {
            flow,
            run,
            tasks,
            downstream,
            upstream,
            failed_only,
            dry_run,
        } => {
            let query = ClearQuery {
                flow,
                run,
                tasks,
                downstream,
                upstream,
                failed_only,
            };
            if !dry_run {
                return act(client, Action::Clear(query));
            }
            let preview: Result<ClearPreview, Failed> =
                client.call(Call::ClearPreview(query)).map_err(unanswered)?;
            let preview = preview.map_err(|f| Failure::new(f.code, f.message))?;
            super::print(&super::clear::preview_text(&preview.run, &preview.reset));
            Ok(())
        }
        Command::Mark {
            flow,
            run,
            task,
            state,
        } => {
            let state = TaskState::parse(&state)
                .filter(|s| matches!(s, TaskState::Success | TaskState::Failed))
                .ok_or_else(|| Failure::new(EXIT_USAGE, "mark sets success or failed"))?;
            act(
                client,
                Action::Mark {
                    flow,
                    run,
                    task,
                    state,
                },
            )
        }
        Command::Kill { flow, run, task } => act(client, Action::Kill { flow, run, task }),
        Command::Pause { flow } => act(client, Action::Pause { flow }),
        Command::Unpause { flow } => act(client, Action::Unpause { flow }),
        Command::Backfill { flow, from, to } => act(client, Action::Backfill { flow, from, to }),
        Command::Sync => act(client, Action::Sync),
        Command::Logs {
            flow,
            run,
            task,
            try_number,
            follow,
        } => logs(
            client,
            LogQuery {
                flow,
                run,
                task,
                try_number,
                follow,
            },
        ),
        Command::Tui
        | Command::Validate { .. }
        | Command::Next { .. }
        | Command::Shim { .. }
        | Command::Serve { .. }
        | Command::Stop
        | Command::Api { .. } => Err(Failure::new(
            EXIT_USAGE,
            "this command runs here, not in the instance",
        )),
    }
}

/// `-p K=V` arguments as a map (the instance checks them against the
/// flow's params).
fn params_of(raw: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    raw.iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    Failure::new(
                        EXIT_USAGE,
                        format!("-p {}: expected KEY=VALUE", crate::escape::line(kv)),
                    )
                })
        })
        .collect()
}

/// A failure for a call that got no answer.
pub fn unanswered(e: ApiError) -> Failure {
    Failure::new(EXIT_FAILED, e.to_string())
}

/// Prints what the instance printed for a command; its exit status.
pub fn printed(answer: Answer) -> Outcome {
    // (The instance escaped what it printed already.)
    super::print_bytes(answer.out.as_bytes());
    if !answer.err.is_empty() {
        use std::io::Write;
        let _ = std::io::stderr().write_all(answer.err.as_bytes());
    }
    match answer.code {
        0 => Ok(()),
        code => Err(Failure::new(code, String::new())),
    }
}

fn act(client: &Client, action: Action) -> Outcome {
    printed(client.call(Call::Act(action)).map_err(unanswered)?)
}

fn report(client: &Client, report: Report) -> Outcome {
    printed(client.call(Call::Report(report)).map_err(unanswered)?)
}

/// `drover logs`: the instance says which try and who writes it; the log
/// file is read (and followed) here.
fn logs(client: &Client, query: LogQuery) -> Outcome {
    let found: Result<LogTry, Failed> = client
        .call(Call::LogTry(query.clone()))
        .map_err(unanswered)?;
    let found = found.map_err(|f| Failure::new(f.code, f.message))?;
    let recorded = || {
        let at_end = LogQuery {
            run: found.run.clone(),
            try_number: Some(found.try_number),
            follow: false,
            ..query.clone()
        };
        client
            .call::<Result<LogTry, Failed>>(Call::LogTry(at_end))
            .ok()
            .and_then(Result::ok)
            .and_then(|t| t.log_error)
    };
    super::logs::show(&found.log, &found.end, found.writer, query.follow, recorded)
}
