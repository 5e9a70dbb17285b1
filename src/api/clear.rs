//! Which task instances a clear resets: the one rule the CLI's `drover
//! clear`, the instance's clear preview and the TUI's clear dialog share.

use crate::flow::Flow;
use crate::store::TaskInstance;

/// The tasks of a run to reset, in `graph`'s order: those `chosen` (every
/// instance of the run when none are), with everything downstream and/or
/// upstream of them in `graph` (the run's own flow version where it is
/// known, else the current one), and with `failed_only` only the failed
/// ones. Tasks `graph` does not have are reset only when chosen
/// themselves; tasks the run has no instance of, never.
pub fn clear_selection(
    graph: Option<&Flow>,
    instances: &[TaskInstance],
    chosen: &[String],
    downstream: bool,
    upstream: bool,
    failed_only: bool,
) -> Vec<String> {
    let chosen: Vec<&str> = if chosen.is_empty() {
        instances.iter().map(|ti| ti.task.as_str()).collect()
    } else {
        chosen.iter().map(String::as_str).collect()
    };
    let mut wanted: std::collections::HashSet<&str> = chosen.iter().copied().collect();
    if let Some(graph) = graph {
        wanted.extend(
            graph
                .select(&chosen, downstream, upstream)
                .iter()
                .map(|t| t.id.as_str()),
        );
    }
    let mut reset: Vec<String> = instances
        .iter()
        .filter(|ti| wanted.contains(ti.task.as_str()) && (!failed_only || ti.state.is_failure()))
        .map(|ti| ti.task.clone())
        .collect();
    let order = |t: &String| {
        graph
            .and_then(|g| g.tasks.iter().position(|x| x.id == *t))
            .unwrap_or(usize::MAX)
    };
    reset.sort_by_key(order);
    reset
}
