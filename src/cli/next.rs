//! `drover next FLOW [-n N] [--after TIME]`: upcoming fire times.

use std::path::Path;

use chrono::SecondsFormat;

use super::{EXIT_FAILED, Failure, Outcome, find_flow, load_home, print};

pub fn run(root: &Path, id: &str, count: usize, after: Option<&str>) -> Outcome {
    let home = load_home(root)?;
    super::require_home(&home)?;
    let flow = find_flow(&home, id)?;
    if flow.schedule.is_none() {
        return Err(Failure::new(
            EXIT_FAILED,
            format!("flow `{id}` has no schedule; it runs only when triggered"),
        ));
    }
    let after = super::time_arg("--after", after, flow.timezone)?;
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
