//! `drover-shim --files PREFIX [--timeout-ms N] -- ARGV...`: the supervisor
//! of one try, as `drover shim` is, in a small program of its own. It links
//! only what supervising needs, so it starts in a fraction of the time the
//! whole of drover takes, which is paid once per task.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut files: Option<PathBuf> = None;
    let mut timeout: Option<Duration> = None;
    let mut argv: Vec<String> = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--files" => files = args.next().map(PathBuf::from),
            "--timeout-ms" => {
                timeout = args
                    .next()
                    .and_then(|ms| ms.parse().ok())
                    .map(Duration::from_millis)
            }
            "--" => {
                argv = args.collect();
                break;
            }
            _ => {}
        }
    }
    match (files, argv.is_empty()) {
        (Some(files), false) => ExitCode::from(drover::engine::shim::run(&files, timeout, &argv)),
        _ => {
            eprintln!("usage: drover-shim --files PREFIX [--timeout-ms N] -- COMMAND...");
            ExitCode::from(2)
        }
    }
}
