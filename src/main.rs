//! The `drover` binary: parses the command line and hands it to `cli`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = drover::cli::Cli::parse();
    ExitCode::from(drover::cli::run(cli))
}
