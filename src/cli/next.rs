//! `drover next FLOW [-n N] [--after TIME]`: upcoming fire times.

use std::path::Path;

use chrono::{SecondsFormat, Utc};

use super::{EXIT_FAILED, EXIT_USAGE, Failure, Outcome, find_flow, load_home, print};
use crate::flow::parse_time;

pub fn run(root: &Path, id: &str, count: usize, after: Option<&str>) -> Outcome {
    let home = load_home(root)?;
    let flow = find_flow(&home, id)?;
    if flow.schedule.is_none() {
        return Err(Failure::new(
            EXIT_FAILED,
            format!("flow `{id}` has no schedule; it runs only when triggered"),
        ));
    }
    let after = match after {
        Some(text) => parse_time(text, flow.timezone).ok_or_else(|| {
            Failure::new(
                EXIT_USAGE,
                format!("--after \"{text}\" is not an RFC 3339 time (2026-01-01T03:00:00Z) or a date (2026-01-01)"),
            )
        })?,
        None => Utc::now(),
    };
    // Printed in batches, so a huge -n streams instead of piling up.
    let mut out = String::new();
    for (i, t) in flow.fire_times_after(after).take(count).enumerate() {
        out.push_str(
            &t.with_timezone(&flow.timezone)
                .to_rfc3339_opts(SecondsFormat::Secs, false),
        );
        out.push('\n');
        if i % 1024 == 1023 {
            if !print(&out) {
                return Ok(()); // the reader went away (`| head`)
            }
            out.clear();
        }
    }
    print(&out);
    Ok(())
}
