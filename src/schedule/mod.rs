//! Schedules: cron expressions evaluated in a timezone, giving fire times.
//!
//! Pure: no IO, no clock. Callers pass "now" in. Used by `flow` (validation),
//! the `next` and `list` commands, and the scheduler loop.
//!
//! Daylight-saving rules: a wall-clock time skipped by a DST change fires at
//! the first instant after the gap; a wall-clock time that occurs twice fires
//! once, at its first occurrence.

mod cron;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

pub use cron::{Cron, CronError};

/// A cron schedule with the text it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    source: String,
    cron: Cron,
}

impl Schedule {
    pub fn parse(source: &str) -> Result<Schedule, CronError> {
        Ok(Schedule {
            source: source.trim().to_string(),
            cron: Cron::parse(source)?,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first fire time strictly after `after`, evaluated in `tz`.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut local = after.with_timezone(&tz).naive_local();
        loop {
            let candidate = self.cron.next_local(local)?;
            let instant = resolve_local(tz, candidate);
            if instant > after {
                return Some(instant);
            }
            // A repeated wall-clock time whose first occurrence has passed, or
            // a gap time mapping to an instant already fired: keep looking.
            local = candidate;
        }
    }

    /// Fire times after `after`, in order.
    pub fn iter_after(
        &self,
        tz: Tz,
        after: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let mut cursor = after;
        std::iter::from_fn(move || {
            let next = self.next_after(tz, cursor)?;
            cursor = next;
            Some(next)
        })
    }
}

/// The instant a wall-clock time in `tz` stands for under the DST rules above.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => gap_end(tz, local),
    }
}

/// The first instant whose wall-clock time in `tz` is past `local`, which lies
/// in a gap: the instant the clocks jumped. Found by bisection between two
/// instants 26 hours either side (UTC offsets stay within ±14 hours).
fn gap_end(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let as_utc = local.and_utc().timestamp();
    let (mut lo, mut hi) = (as_utc - 26 * 3600, as_utc + 26 * 3600);
    let wall = |secs: i64| {
        DateTime::from_timestamp(secs, 0)
            .map(|t| t.with_timezone(&tz).naive_local())
            .unwrap_or(local)
    };
    // Invariant: wall(lo) <= local < wall(hi).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if wall(mid) > local {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or_else(|| local.and_utc())
}

/// Parses an IANA timezone name; the error suggests a near miss.
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        let lower = name.to_ascii_lowercase();
        let exact_but_case = chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().to_ascii_lowercase() == lower);
        let hint = match exact_but_case {
            Some(tz) => format!(" (did you mean `{}`?)", tz.name()),
            None => crate::flow::suggest::did_you_mean(name, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name())),
        };
        format!("unknown timezone \"{name}\"{hint}; use an IANA name such as \"Europe/Berlin\" or \"UTC\"")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fires(expr: &str, tz: &str, after: &str, n: usize) -> Vec<String> {
        let tz: Tz = tz.parse().unwrap();
        Schedule::parse(expr)
            .unwrap()
            .iter_after(tz, utc(after))
            .take(n)
            .map(|t| t.with_timezone(&tz).to_rfc3339())
            .collect()
    }

    #[test]
    fn spring_forward_gap_fires_at_the_jump() {
        // Berlin 2026-03-29: 02:00 local jumps to 03:00.
        assert_eq!(
            fires("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]
        );
        // Several gap times collapse into one firing.
        assert_eq!(
            fires("*/20 * * * *", "Europe/Berlin", "2026-03-29T00:30:00Z", 3),
            [
                "2026-03-29T01:40:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-29T03:20:00+02:00"
            ]
        );
    }

    #[test]
    fn fall_back_repeat_fires_once() {
        // Berlin 2026-10-25: 03:00 CEST goes back to 02:00 CET.
        assert_eq!(
            fires("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
        );
        // Starting inside the second pass of the repeated hour skips it.
        assert_eq!(
            fires("*/30 * * * *", "Europe/Berlin", "2026-10-25T01:10:00Z", 2),
            ["2026-10-25T03:00:00+01:00", "2026-10-25T03:30:00+01:00"]
        );
    }

    #[test]
    fn timezone_errors_suggest() {
        assert!(
            parse_timezone("Europe/berlin")
                .unwrap_err()
                .contains("`Europe/Berlin`")
        );
        assert!(
            parse_timezone("Europe/Berln")
                .unwrap_err()
                .contains("`Europe/Berlin`")
        );
        assert!(parse_timezone("Mars/Olympus").unwrap_err().contains("IANA"));
        assert_eq!(parse_timezone("UTC"), Ok(Tz::UTC));
    }
}
