//! Schedules: cron expressions evaluated in a timezone, giving fire times.
//!
//! Pure: no IO, no clock. Callers pass "now" in. Used by `flow` (validation),
//! the `next` and `list` commands, and the scheduler loop.
//!
//! Daylight-saving rules: a wall-clock time skipped by a DST change fires at
//! the first instant after the gap; a wall-clock time that occurs twice fires
//! once, at its first occurrence.

mod cron;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
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
    ///
    /// Steps: take `after`'s wall-clock time; if `after` lies in the second
    /// pass of a repeated hour, move it to the last second of that repeat,
    /// since every wall time up to there fired on the first pass; then the
    /// next matching wall time, resolved to an instant. The loop only turns
    /// again if the time zone data holds a shape not foreseen above.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut local = match repeat_end(tz, after) {
            Some(end) => end - chrono::Duration::seconds(1),
            None => after.with_timezone(&tz).naive_local(),
        };
        loop {
            let candidate = self.cron.next_local(local)?;
            let instant = resolve_local(tz, candidate);
            if instant > after {
                return Some(instant);
            }
            local = candidate;
        }
    }

    /// The last fire time at or before `at`, evaluated in `tz`: the same
    /// instants [`Schedule::next_after`] yields, found without walking them.
    ///
    /// Steps: the latest wall time that has fired by `at` is `at`'s own wall
    /// time, or, while `at` is in the second pass of a repeated hour, the
    /// last second of that repeat (its times fired on the first pass). The
    /// last matching wall time at or before it, resolved by the DST rules,
    /// is the answer: resolving never moves a later wall time to an earlier
    /// instant, so no later wall time can have fired by `at`. Costs what one
    /// `next_after` costs, however long ago the previous fire time was
    /// (up to ~10 years back; `None` beyond).
    pub fn prev_at_or_before(&self, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut local = match repeat_end(tz, at) {
            Some(end) => end - chrono::Duration::seconds(1),
            None => at.with_timezone(&tz).naive_local(),
        };
        loop {
            let candidate = self.cron.prev_local(local)?;
            let instant = resolve_local(tz, candidate);
            if instant <= at {
                return Some(instant);
            }
            // Not reached with the rules above; step back rather than trust them.
            local = candidate.checked_sub_signed(chrono::Duration::seconds(1))?;
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

/// When `at` falls in the second pass of a wall-clock hour that occurs twice
/// (clocks set back), the first wall time after that repeat; else `None`.
///
/// Steps: `at`'s wall time (to the second) maps to two instants; `at` is in
/// the second pass when the earlier one is before it. The clocks went back
/// at the first instant, between the two, that shows the later offset
/// (found by bisection); the wall time just before that instant, plus a
/// second, is where the repeat ends.
fn repeat_end(tz: Tz, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let at_secs = at.timestamp();
    let wall = DateTime::from_timestamp(at_secs, 0)?
        .with_timezone(&tz)
        .naive_local();
    let LocalResult::Ambiguous(a, b) = tz.from_local_datetime(&wall) else {
        return None;
    };
    let (first, second) = (a.min(b).timestamp(), a.max(b).timestamp());
    if first >= at_secs {
        return None;
    }
    let offset = |secs: i64| {
        DateTime::from_timestamp(secs, 0).map(|t| tz.offset_from_utc_datetime(&t.naive_utc()).fix())
    };
    let later = offset(second)?;
    // Invariant: offset(lo) != later, offset(hi) == later.
    let (mut lo, mut hi) = (first, second);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset(mid)? == later {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let before = DateTime::from_timestamp(hi - 1, 0)?.with_timezone(&tz);
    before
        .naive_local()
        .checked_add_signed(chrono::Duration::seconds(1))
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

    /// Expressions for the agreement tests: seconds fields, steps, lists,
    /// names, dom/dow OR, sparse days, macros, and times inside DST changes.
    const EXPRS: &[&str] = &[
        "* * * * *",
        "*/15 * * * *",
        "*/20 * * * *",
        "5/20 * * * *",
        "30 2 * * *",
        "0 2 * * *",
        "* 2 * * *",
        "30 1 * * *",
        "45 1 * * *",
        "0,30 2 * * *",
        "0 3 * * *",
        "15,45 1,2,3 * * 0,6",
        "0 9-17/4 * * mon-fri",
        "0 0 13 * 5",
        "0 0 */2 * 1",
        "0 12 31 * *",
        "0 0 29 2 *",
        "0 0 29 2 1",
        "0 0 * JUL,jan *",
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
        "@yearly",
        "*/10 * * * * *",
        "*/7 * * * * *",
        "30 0 0 * * *",
        "0 30 1-3 * * *",
        "* * 2 * * *",
        "59 59 23 31 12 *",
    ];

    const ZONES: &[&str] = &[
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "America/St_Johns",
        "Asia/Kolkata",
        "America/Sao_Paulo",
        "Pacific/Apia",
    ];

    /// A small deterministic generator (xorshift64*), so failures replay.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
        }
    }

    fn secs(t: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(t, 0).unwrap()
    }

    /// Every instant in `year` at which `tz` changes its UTC offset.
    fn transitions(tz: Tz, year: i32) -> Vec<DateTime<Utc>> {
        let offset = |t: i64| tz.offset_from_utc_datetime(&secs(t).naive_utc()).fix();
        let start = utc(&format!("{year}-01-01T00:00:00Z")).timestamp();
        let mut out = Vec::new();
        let mut t = start;
        while t < start + 366 * 86400 {
            if offset(t) != offset(t + 3600) {
                let (mut lo, mut hi) = (t, t + 3600);
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2;
                    if offset(mid) == offset(lo) {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                out.push(secs(hi));
            }
            t += 3600;
        }
        out
    }

    /// Checks `prev_at_or_before` and `next_after` against fire times found
    /// without either: every wall second around `center` tested against the
    /// fields, each match resolved by the DST rules. Probes instants within
    /// `half` of `center`: every fire time, a second and a nanosecond either
    /// side of it, and random instants.
    fn check_against_brute_force(
        expr: &str,
        tz: Tz,
        center: DateTime<Utc>,
        half: i64,
        rng: &mut Rng,
    ) {
        let schedule = Schedule::parse(expr).unwrap();
        // UTC offsets lie within -12h..+14h: these wall times hold every one
        // that resolves into the probed span.
        let wall_lo = center.naive_utc() - chrono::Duration::seconds(half + 13 * 3600);
        let wall_hi = center.naive_utc() + chrono::Duration::seconds(half + 15 * 3600);
        let mut fires = std::collections::BTreeSet::new();
        let mut w = wall_lo;
        while w <= wall_hi {
            if schedule.cron.matches(w) {
                fires.insert(resolve_local(tz, w));
            }
            w += chrono::Duration::seconds(1);
        }
        let (lo, hi) = (
            center - chrono::Duration::seconds(half),
            center + chrono::Duration::seconds(half),
        );
        let mut probes: Vec<DateTime<Utc>> = fires
            .range(lo..=hi)
            .flat_map(|&f| {
                [
                    f,
                    f - chrono::Duration::seconds(1),
                    f + chrono::Duration::seconds(1),
                    f - chrono::Duration::nanoseconds(1),
                    f + chrono::Duration::nanoseconds(1),
                ]
            })
            .collect();
        for _ in 0..200 {
            let at = lo + chrono::Duration::milliseconds(rng.below(2 * half as u64 * 1000) as i64);
            probes.push(at);
        }
        for at in probes {
            let want_prev = fires.range(..=at).next_back().copied();
            let got_prev = schedule.prev_at_or_before(tz, at);
            match want_prev {
                Some(_) => assert_eq!(got_prev, want_prev, "prev of `{expr}` in {tz} at {at}"),
                None => assert!(
                    got_prev.is_none_or(|p| p < lo),
                    "prev of `{expr}` in {tz} at {at}: {got_prev:?}"
                ),
            }
            let want_next = fires
                .range((std::ops::Bound::Excluded(at), std::ops::Bound::Unbounded))
                .next()
                .copied();
            let got_next = schedule.next_after(tz, at);
            match want_next {
                Some(_) => assert_eq!(got_next, want_next, "next of `{expr}` in {tz} after {at}"),
                None => assert!(
                    got_next.is_none_or(|n| n > hi),
                    "next of `{expr}` in {tz} after {at}: {got_next:?}"
                ),
            }
        }
    }

    #[test]
    fn prev_and_next_match_a_brute_force_scan_across_dst_changes() {
        let mut rng = Rng(0x5eed);
        let mut zones = Vec::new();
        for name in ZONES {
            let tz: Tz = name.parse().unwrap();
            let year = match *name {
                "America/Sao_Paulo" => 2018,
                "Pacific/Apia" => 2011,
                _ => 2026,
            };
            let mut centers = transitions(tz, year);
            centers.push(utc(&format!("{year}-07-15T12:34:56Z")));
            zones.push((tz, centers));
        }
        for expr in EXPRS {
            for (tz, centers) in &zones {
                for &center in centers {
                    check_against_brute_force(expr, *tz, center, 2 * 3600, &mut rng);
                }
            }
        }
    }

    /// For each expression, zone and a random start: the fire times that
    /// iterating `next_after` yields, and `prev_at_or_before` at each of
    /// them, just before each, between each pair and before the first.
    #[test]
    fn prev_agrees_with_iterating_next() {
        let mut rng = Rng(0xfeed);
        for expr in EXPRS {
            let schedule = Schedule::parse(expr).unwrap();
            for name in ZONES {
                let tz: Tz = name.parse().unwrap();
                // Anywhere in 1990..2060, and shortly before each DST change.
                let random = (0..4).map(|_| secs(631_152_000 + rng.below(70 * 365 * 86400) as i64));
                let near_changes = transitions(tz, 2026)
                    .into_iter()
                    .map(|t| t - chrono::Duration::minutes(40));
                let starts: Vec<_> = random.chain(near_changes).collect();
                for start in starts {
                    let fires: Vec<_> = schedule.iter_after(tz, start).take(60).collect();
                    assert!(fires.len() == 60, "`{expr}` in {tz} after {start}");
                    let first = fires[0];
                    let before_first = [start, first - chrono::Duration::nanoseconds(1)];
                    for at in before_first {
                        let got = schedule.prev_at_or_before(tz, at);
                        assert!(
                            got.is_none_or(|p| p <= start),
                            "`{expr}` in {tz} at {at}: {got:?}"
                        );
                    }
                    for pair in fires.windows(2) {
                        let (a, b) = (pair[0], pair[1]);
                        let gap = (b - a).num_milliseconds();
                        let between =
                            a + chrono::Duration::milliseconds(rng.below(gap as u64) as i64);
                        let probes = [
                            a,
                            a + chrono::Duration::nanoseconds(1),
                            between,
                            b - chrono::Duration::nanoseconds(1),
                        ];
                        for at in probes {
                            assert_eq!(
                                schedule.prev_at_or_before(tz, at),
                                Some(a),
                                "`{expr}` in {tz} at {at}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn prev_after_a_decade_costs_one_step() {
        let schedule = Schedule::parse("*/1 * * * * *").unwrap();
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let at = utc("2026-03-29T01:30:00.5Z");
        assert_eq!(
            schedule.prev_at_or_before(tz, at),
            Some(utc("2026-03-29T01:30:00Z"))
        );
        // In the second pass of a repeated hour the whole hour fired already.
        let at = utc("2026-10-25T01:20:00Z");
        assert_eq!(
            schedule.prev_at_or_before(tz, at),
            Some(utc("2026-10-25T00:59:59Z"))
        );
        assert_eq!(
            schedule.next_after(tz, at),
            Some(utc("2026-10-25T02:00:00Z"))
        );
        let yearly = Schedule::parse("@yearly").unwrap();
        assert_eq!(
            yearly.prev_at_or_before(tz, utc("2026-06-01T00:00:00Z")),
            Some(utc("2025-12-31T23:00:00Z"))
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
