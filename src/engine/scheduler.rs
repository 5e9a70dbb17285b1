//! Which scheduled runs are due: the fire times of each flow since its last
//! scheduled run, with `start`, `end`, `catchup` and pausing applied.
//!
//! Pure over its inputs (the flow, what was last scheduled, the time), so
//! the rules are unit-tested without a store or a clock.

use chrono::{DateTime, Utc};

use crate::flow::Flow;

/// Most runs created for one flow in one pass; a long catch-up continues in
/// the next pass.
pub const MAX_RUNS_PER_PASS: usize = 1000;

/// What the scheduler remembers of a flow.
#[derive(Debug, Clone, Default)]
pub struct FlowClock {
    /// Logical time of the newest scheduled run, if any.
    pub last: Option<DateTime<Utc>>,
    /// When this scheduler first saw the flow: a flow without `start` and
    /// without runs begins here, so nothing before it is caught up.
    pub seen: Option<DateTime<Utc>>,
}

/// The fire times to create runs for now. With `catchup`, every fire time
/// missed since the last scheduled run (or since `start`), at most
/// `MAX_RUNS_PER_PASS` of them; without, only the latest of them
/// (Airflow's rule). Both stop at `end`.
///
/// Cost: with `catchup`, one `next` per run made (the first missed time is
/// found directly after `from`); without, one search back from `now`,
/// however long the flow was paused and however dense its schedule.
pub fn due(flow: &Flow, clock: &FlowClock, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    if flow.schedule.is_none() {
        return Vec::new();
    }
    let from = match (clock.last, flow.start) {
        (Some(last), _) => last,
        // Fire times at `start` itself count.
        (None, Some(start)) => start - chrono::Duration::nanoseconds(1),
        (None, None) => clock.seen.unwrap_or(now),
    };
    if flow.catchup {
        flow.fire_times_after(from)
            .take_while(|t| *t <= now)
            .take(MAX_RUNS_PER_PASS)
            .collect()
    } else {
        flow.latest_fire_time(now)
            .filter(|t| *t > from)
            .into_iter()
            .collect()
    }
}

/// When the flow next needs the scheduler's attention.
pub fn next_wake(flow: &Flow, clock: &FlowClock, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let from = clock.last.map_or(now, |l| l.max(now));
    flow.fire_times_after(from).next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Config, parse_flow};
    use std::path::Path;

    fn flow(extra: &str) -> Flow {
        let text = format!("schedule = \"0 * * * *\"\n{extra}\n[tasks.a]\ncmd = \"true\"\n");
        parse_flow("f", Path::new("f.toml"), &text, &Config::default()).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_new_flow_without_start_waits_for_its_next_fire_time() {
        let f = flow("");
        let clock = FlowClock {
            last: None,
            seen: Some(t("2026-01-01T10:30:00Z")),
        };
        assert!(due(&f, &clock, t("2026-01-01T10:59:59Z")).is_empty());
        assert_eq!(
            due(&f, &clock, t("2026-01-01T11:00:00Z")),
            [t("2026-01-01T11:00:00Z")]
        );
    }

    #[test]
    fn catchup_makes_one_run_per_missed_fire_time() {
        let f = flow("start = \"2026-01-01T00:00:00Z\"\ncatchup = true");
        let due_now = due(&f, &FlowClock::default(), t("2026-01-01T03:30:00Z"));
        assert_eq!(
            due_now,
            [
                t("2026-01-01T00:00:00Z"),
                t("2026-01-01T01:00:00Z"),
                t("2026-01-01T02:00:00Z"),
                t("2026-01-01T03:00:00Z")
            ]
        );
        let clock = FlowClock {
            last: Some(t("2026-01-01T03:00:00Z")),
            seen: None,
        };
        assert!(due(&f, &clock, t("2026-01-01T03:30:00Z")).is_empty());
    }

    #[test]
    fn without_catchup_only_the_latest_missed_time_runs() {
        let f = flow("start = \"2026-01-01T00:00:00Z\"\ncatchup = false");
        assert_eq!(
            due(&f, &FlowClock::default(), t("2026-01-01T03:30:00Z")),
            [t("2026-01-01T03:00:00Z")]
        );
        // After a pause: the runs missed meanwhile collapse into the latest.
        let clock = FlowClock {
            last: Some(t("2026-01-01T01:00:00Z")),
            seen: None,
        };
        assert_eq!(
            due(&f, &clock, t("2026-01-01T05:10:00Z")),
            [t("2026-01-01T05:00:00Z")]
        );
    }

    /// Paused for ten years on a schedule of every second: today's rule
    /// walked all ~315 million fire times (~40 s optimised, minutes in a
    /// debug build); now it is one search back from `now`.
    #[test]
    fn without_catchup_a_decade_of_seconds_costs_one_search() {
        let f = parse_flow(
            "p",
            Path::new("p.toml"),
            "schedule = \"*/1 * * * * *\"\nstart = \"2016-01-01\"\ncatchup = false\n[tasks.a]\ncmd = \"true\"\n",
            &Config::default(),
        )
        .unwrap();
        let started = std::time::Instant::now();
        let now = t("2026-05-01T12:00:00.250Z");
        assert_eq!(
            due(&f, &FlowClock::default(), now),
            [t("2026-05-01T12:00:00Z")]
        );
        let clock = FlowClock {
            last: Some(t("2016-01-01T00:00:07Z")),
            seen: None,
        };
        assert_eq!(due(&f, &clock, now), [t("2026-05-01T12:00:00Z")]);
        // Nothing new since the last run: nothing due.
        let clock = FlowClock {
            last: Some(t("2026-05-01T12:00:00Z")),
            seen: None,
        };
        assert!(due(&f, &clock, now).is_empty());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn without_catchup_start_and_end_bound_the_latest_time() {
        let f = flow(
            "start = \"2026-01-01T00:00:00Z\"\nend = \"2026-01-01T05:30:00Z\"\ncatchup = false",
        );
        // Past `end`: the last fire time within it, once.
        assert_eq!(
            due(&f, &FlowClock::default(), t("2027-01-01T00:00:00Z")),
            [t("2026-01-01T05:00:00Z")]
        );
        let clock = FlowClock {
            last: Some(t("2026-01-01T05:00:00Z")),
            seen: None,
        };
        assert!(due(&f, &clock, t("2027-01-01T00:00:00Z")).is_empty());
        // Before `start`: nothing, and a fire time at `start` counts.
        assert!(due(&f, &FlowClock::default(), t("2025-12-31T23:59:59Z")).is_empty());
        assert_eq!(
            due(&f, &FlowClock::default(), t("2026-01-01T00:00:00Z")),
            [t("2026-01-01T00:00:00Z")]
        );
        // A catch-up past `end` stops at it too.
        let g = flow(
            "start = \"2026-01-01T00:00:00Z\"\nend = \"2026-01-01T05:30:00Z\"\ncatchup = true",
        );
        assert_eq!(
            due(&g, &FlowClock::default(), t("2036-01-01T00:00:00Z")).len(),
            6
        );
    }

    /// With catchup, a decade-old start on a schedule of every second makes
    /// the first `MAX_RUNS_PER_PASS` runs without walking to `now`.
    #[test]
    fn catchup_from_long_ago_makes_a_capped_pass_quickly() {
        let f = parse_flow(
            "p",
            Path::new("p.toml"),
            "schedule = \"* * * * * *\"\nstart = \"2016-01-01\"\ncatchup = true\n[tasks.a]\ncmd = \"true\"\n",
            &Config::default(),
        )
        .unwrap();
        let due_now = due(&f, &FlowClock::default(), t("2026-05-01T12:00:00Z"));
        assert_eq!(due_now.len(), MAX_RUNS_PER_PASS);
        assert_eq!(due_now[0], t("2016-01-01T00:00:00Z"));
        assert_eq!(due_now[999], t("2016-01-01T00:16:39Z"));
    }

    #[test]
    fn end_stops_scheduling_and_next_wake_follows_the_schedule() {
        let f = flow(
            "start = \"2026-01-01T00:00:00Z\"\nend = \"2026-01-01T01:00:00Z\"\ncatchup = true",
        );
        assert_eq!(
            due(&f, &FlowClock::default(), t("2026-01-02T00:00:00Z")).len(),
            2
        );
        let clock = FlowClock {
            last: Some(t("2026-01-01T01:00:00Z")),
            seen: None,
        };
        assert_eq!(next_wake(&f, &clock, t("2026-01-02T00:00:00Z")), None);
        let g = flow("");
        assert_eq!(
            next_wake(&g, &FlowClock::default(), t("2026-01-01T10:30:00Z")),
            Some(t("2026-01-01T11:00:00Z"))
        );
    }
}
