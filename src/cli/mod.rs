//! The command line: argument parsing and one module per command. Commands
//! load the home, call the rooms, and print; they return an exit status.

mod list;
mod next;
mod validate;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::home::{Home, Lookup};

/// Exit statuses (SPEC §5).
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_NOT_FOUND: u8 = 3;

/// A command that did not succeed: what to tell the user and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

pub type Outcome = Result<(), Failure>;

#[derive(Parser, Debug)]
#[command(
    name = "drover",
    version,
    about = "A workflow orchestrator that lives in a terminal"
)]
pub struct Cli {
    /// The drover home (folder with drover.toml and flows/); default: $DROVER_HOME, else the current folder.
    #[arg(long, global = true, env = "DROVER_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check flow files (and drover.toml); errors as path:line:col: message.
    Validate {
        /// A flow file, drover.toml, a folder of flow files, or a home (default: the home).
        path: Option<PathBuf>,
    },
    /// Flows with their schedule, next run and state.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The next fire times of a flow, one RFC 3339 timestamp a line, in its timezone.
    Next {
        flow: String,
        /// How many fire times.
        #[arg(short = 'n', default_value_t = 5, value_name = "N")]
        count: usize,
        /// Start after this time (RFC 3339, or a date / local time in the flow's timezone); default: now.
        #[arg(long, value_name = "TIME")]
        after: Option<String>,
    },
}

/// Runs a parsed command line and returns the process exit status.
pub fn run(cli: Cli) -> u8 {
    let root = cli.home.unwrap_or_else(|| PathBuf::from("."));
    let outcome = match cli.command {
        None => list::run(&root, false),
        Some(Command::Validate { path }) => validate::run(&root, path.as_deref()),
        Some(Command::List { json }) => list::run(&root, json),
        Some(Command::Next { flow, count, after }) => {
            next::run(&root, &flow, count, after.as_deref())
        }
    };
    match outcome {
        Ok(()) => 0,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln_safe(&format!("drover: {}", f.message));
            }
            f.code
        }
    }
}

fn load_home(root: &std::path::Path) -> Result<Home, Failure> {
    Home::load(root).map_err(|e| Failure::new(EXIT_FAILED, e))
}

/// The valid flow `id`, or the failure to report: unknown (exit 3, with a
/// suggestion) or broken (exit 1, with its errors).
fn find_flow<'h>(home: &'h Home, id: &str) -> Result<&'h crate::flow::Flow, Failure> {
    match home.lookup(id) {
        Lookup::Found(flow) => Ok(flow),
        Lookup::Broken(b) => {
            let lines: Vec<String> = b.errors.iter().map(ToString::to_string).collect();
            Err(Failure::new(
                EXIT_FAILED,
                format!("flow `{id}` does not validate:\n{}", lines.join("\n")),
            ))
        }
        Lookup::Missing => {
            let hint = crate::flow::suggest::did_you_mean(id, home.flow_ids());
            Err(Failure::new(
                EXIT_NOT_FOUND,
                format!("no flow `{id}` in {}{hint}", home.flows_dir().display()),
            ))
        }
    }
}

/// Writes to stdout; a closed pipe (`drover list | head`) is not an error.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

pub fn eprintln_safe(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}
