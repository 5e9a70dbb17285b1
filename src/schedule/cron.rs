//! Crontab expressions with Vixie cron / croniter semantics.
//!
//! - 5 fields `min hour dom month dow`, or 6 with a leading seconds field.
//! - `*`, `?` (same as `*`), `N`, `A-B`, `*/S`, `A-B/S`, `A/S` (A to the end),
//!   comma lists, month and weekday names in any case.
//! - Weekday 0 and 7 are Sunday.
//! - When both day-of-month and day-of-week are restricted (neither is a bare
//!   `*`), a day matches if either does; croniter, Airflow's reference, counts
//!   `*/2` as restricted too.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// A parsed cron expression: one bit set per allowed value of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_star: bool,
    weekdays_star: bool,
}

/// What is wrong with an expression, and in which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError {
    /// Byte offset of the offending field in the expression, if one is to blame.
    pub offset: Option<usize>,
    pub message: String,
}

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const SECOND: FieldSpec = FieldSpec {
    name: "second",
    min: 0,
    max: 59,
    names: &[],
};
const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY: FieldSpec = FieldSpec {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
/// 7 is accepted and folded onto 0 (Sunday).
const WEEKDAY: FieldSpec = FieldSpec {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

const MACROS: &[(&str, &str)] = &[
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

const DAYS_IN_MONTH: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

impl FieldSpec {
    fn value(&self, text: &str) -> Result<u32, String> {
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        if let Some(n) = digits.then(|| text.parse::<u32>().ok()).flatten() {
            if n < self.min || n > self.max {
                return Err(format!(
                    "{} field: {n} is out of range {}-{}",
                    self.name, self.min, self.max
                ));
            }
            return Ok(n);
        }
        let lower = text.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + self.min);
        }
        let names = if self.names.is_empty() {
            String::new()
        } else {
            format!(
                " or a name ({}-{})",
                self.names[0],
                self.names[self.names.len() - 1]
            )
        };
        Err(format!(
            "{} field: \"{text}\" is not a number {}-{}{names}",
            self.name, self.min, self.max
        ))
    }

    /// Parses one field into a bit set.
    fn parse(&self, field: &str) -> Result<u64, String> {
        let mut bits = 0u64;
        for item in field.split(',') {
            if item.is_empty() {
                return Err(format!("{} field \"{field}\": empty list item", self.name));
            }
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => {
                    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                    let step: u32 = s.parse().ok().filter(|_| digits).ok_or_else(|| {
                        format!(
                            "{} field \"{field}\": step \"{s}\" is not a positive number",
                            self.name
                        )
                    })?;
                    if step == 0 {
                        return Err(format!(
                            "{} field \"{field}\": step must be at least 1",
                            self.name
                        ));
                    }
                    (r, Some(step))
                }
                None => (item, None),
            };
            let (lo, hi) = if range == "*" || range == "?" {
                (self.min, if self.max == 7 { 6 } else { self.max })
            } else if let Some((a, b)) = range.split_once('-') {
                if a.is_empty() || b.is_empty() {
                    return Err(format!(
                        "{} field \"{field}\": a range needs a start and an end, e.g. 1-5",
                        self.name
                    ));
                }
                let (lo, hi) = (self.value(a)?, self.value(b)?);
                if lo > hi {
                    return Err(format!(
                        "{} field \"{field}\": range {a}-{b} runs backwards",
                        self.name
                    ));
                }
                (lo, hi)
            } else {
                let v = self.value(range)?;
                // `A/S` means from A to the end, stepping by S.
                (v, if step.is_some() { self.max } else { v })
            };
            let step = step.unwrap_or(1);
            let mut v = lo;
            while v <= hi {
                bits |= 1 << v;
                v += step;
            }
        }
        Ok(bits)
    }
}

fn is_star(field: &str) -> bool {
    field == "*" || field == "?"
}

impl Cron {
    pub fn parse(expr: &str) -> Result<Cron, CronError> {
        let trimmed = expr.trim();
        let expanded = if trimmed.starts_with('@') {
            let lower = trimmed.to_ascii_lowercase();
            match MACROS.iter().find(|(name, _)| *name == lower) {
                Some((_, e)) => *e,
                None => {
                    let names: Vec<&str> = MACROS.iter().map(|(n, _)| *n).collect();
                    let hint = crate::flow::suggest::did_you_mean(&lower, names.iter().copied());
                    return Err(CronError {
                        offset: Some(expr.len() - expr.trim_start().len()),
                        message: format!(
                            "unknown macro \"{trimmed}\"{hint}; known: {}",
                            names.join(" ")
                        ),
                    });
                }
            }
        } else {
            expr
        };
        let fields: Vec<(usize, &str)> = field_offsets(expanded);
        let specs: &[&FieldSpec] = match fields.len() {
            5 => &[&MINUTE, &HOUR, &DAY, &MONTH, &WEEKDAY],
            6 => &[&SECOND, &MINUTE, &HOUR, &DAY, &MONTH, &WEEKDAY],
            n => {
                return Err(CronError {
                    offset: None,
                    message: format!(
                        "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with seconds first), found {n}"
                    ),
                });
            }
        };
        let mut bits = Vec::with_capacity(6);
        let seconds_hint = if fields.len() == 6 {
            " (6 fields: the first is seconds, then minute hour day-of-month month day-of-week)"
        } else {
            ""
        };
        for ((offset, text), spec) in fields.iter().zip(specs) {
            let parsed = spec.parse(text).map_err(|message| CronError {
                message: format!("{message}{seconds_hint}"),
                // Offsets into a macro's expansion mean nothing to the user.
                offset: (expanded.as_ptr() == expr.as_ptr()).then_some(*offset),
            })?;
            bits.push(parsed);
        }
        if fields.len() == 5 {
            bits.insert(0, 1);
        }
        let n = fields.len();
        let mut weekdays = bits[5];
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays & !(1 << 7)) | 1;
        }
        let cron = Cron {
            seconds: bits[0],
            minutes: bits[1],
            hours: bits[2],
            days: bits[3],
            months: bits[4],
            weekdays,
            days_star: is_star(fields[n - 3].1),
            weekdays_star: is_star(fields[n - 1].1),
        };
        cron.check_can_fire().map_err(|message| CronError {
            offset: (expanded.as_ptr() == expr.as_ptr()).then_some(fields[n - 3].0),
            message,
        })?;
        Ok(cron)
    }

    /// An expression like `0 0 30 2 *` never fires: say so now rather than
    /// searching years ahead for nothing.
    fn check_can_fire(&self) -> Result<(), String> {
        if !self.weekdays_star && !self.days_star {
            return Ok(()); // the weekday alone matches some day of any month
        }
        let first_day = self.days.trailing_zeros();
        let possible = (1..=12u32)
            .filter(|m| self.months & (1 << m) != 0)
            .any(|m| first_day <= DAYS_IN_MONTH[m as usize - 1]);
        if possible {
            Ok(())
        } else {
            Err("day-of-month field: no chosen day exists in any chosen month, so the schedule never fires".into())
        }
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        let day = self.days & (1 << date.day()) != 0;
        let weekday = self.weekdays & (1 << date.weekday().num_days_from_sunday()) != 0;
        if self.days_star || self.weekdays_star {
            day && weekday
        } else {
            day || weekday
        }
    }

    /// The first wall-clock time strictly after `after` that matches, looking
    /// at most ~10 years ahead (enough for any Feb 29 schedule).
    pub fn next_local(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        let later = |t: NaiveDateTime, d: chrono::Duration| t.checked_add_signed(d);
        let mut t = later(after.with_nanosecond(0)?, chrono::Duration::seconds(1))?;
        // Years past 9999 have no RFC 3339 form.
        let limit_year = (after.year() + 10).min(9999);
        let midnight = NaiveTime::MIN;
        while t.year() <= limit_year {
            if self.months & (1 << t.month()) == 0 {
                let (y, m) = if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                };
                t = NaiveDate::from_ymd_opt(y, m, 1)?.and_time(midnight);
                continue;
            }
            if !self.day_matches(t.date()) {
                t = t.date().succ_opt()?.and_time(midnight);
                continue;
            }
            let Some(hour) = next_bit(self.hours, t.hour()) else {
                t = t.date().succ_opt()?.and_time(midnight);
                continue;
            };
            if hour != t.hour() {
                t = t.date().and_hms_opt(hour, 0, 0)?;
            }
            let Some(minute) = next_bit(self.minutes, t.minute()) else {
                t = later(
                    t.date().and_hms_opt(t.hour(), 0, 0)?,
                    chrono::Duration::hours(1),
                )?;
                continue;
            };
            if minute != t.minute() {
                t = t.date().and_hms_opt(t.hour(), minute, 0)?;
            }
            let Some(second) = next_bit(self.seconds, t.second()) else {
                t = later(
                    t.date().and_hms_opt(t.hour(), t.minute(), 0)?,
                    chrono::Duration::minutes(1),
                )?;
                continue;
            };
            return t.date().and_hms_opt(t.hour(), t.minute(), second);
        }
        None
    }

    /// The last wall-clock time at or before `at` that matches (fractions
    /// of a second in `at` are dropped first), looking at most ~10 years
    /// back: the mirror of [`Cron::next_local`].
    ///
    /// Steps, from the largest unit down: a month not chosen jumps to the
    /// last second of the month before; a day that does not match (dom/dow
    /// rule included) to the last second of the day before; then the hour,
    /// minute and second are each lowered to the highest chosen value not
    /// above the current one, and a unit with none left borrows from the
    /// unit above (the last second of the hour or minute before). Every
    /// turn of the loop moves back by at least a whole unit, so a search
    /// costs at most a few turns per day searched, and days are searched
    /// only inside chosen months.
    pub fn prev_local(&self, at: NaiveDateTime) -> Option<NaiveDateTime> {
        let earlier = |t: NaiveDateTime, d: chrono::Duration| t.checked_sub_signed(d);
        let second = chrono::Duration::seconds(1);
        let mut t = at.with_nanosecond(0)?;
        let limit_year = at.year() - 10;
        while t.year() >= limit_year {
            if self.months & (1 << t.month()) == 0 {
                let first = NaiveDate::from_ymd_opt(t.year(), t.month(), 1)?;
                t = earlier(first.and_time(NaiveTime::MIN), second)?;
                continue;
            }
            if !self.day_matches(t.date()) {
                t = earlier(t.date().and_time(NaiveTime::MIN), second)?;
                continue;
            }
            let Some(hour) = prev_bit(self.hours, t.hour()) else {
                t = earlier(t.date().and_time(NaiveTime::MIN), second)?;
                continue;
            };
            if hour != t.hour() {
                t = t.date().and_hms_opt(hour, 59, 59)?;
            }
            let Some(minute) = prev_bit(self.minutes, t.minute()) else {
                t = earlier(t.date().and_hms_opt(t.hour(), 0, 0)?, second)?;
                continue;
            };
            if minute != t.minute() {
                t = t.date().and_hms_opt(t.hour(), minute, 59)?;
            }
            let Some(sec) = prev_bit(self.seconds, t.second()) else {
                t = earlier(t.date().and_hms_opt(t.hour(), t.minute(), 0)?, second)?;
                continue;
            };
            return t.date().and_hms_opt(t.hour(), t.minute(), sec);
        }
        None
    }

    /// Whether a wall-clock time (to the second) matches every field.
    #[cfg(test)]
    pub fn matches(&self, t: NaiveDateTime) -> bool {
        self.months & (1 << t.month()) != 0
            && self.day_matches(t.date())
            && self.hours & (1 << t.hour()) != 0
            && self.minutes & (1 << t.minute()) != 0
            && self.seconds & (1 << t.second()) != 0
            && t.nanosecond() == 0
    }
}

/// The lowest set bit at or above `from`.
fn next_bit(bits: u64, from: u32) -> Option<u32> {
    let masked = bits & (u64::MAX << from);
    (masked != 0).then(|| masked.trailing_zeros())
}

/// The highest set bit at or below `from` (`from` < 64).
fn prev_bit(bits: u64, from: u32) -> Option<u32> {
    let masked = bits & (u64::MAX >> (63 - from.min(63)));
    (masked != 0).then(|| 63 - masked.leading_zeros())
}

/// Whitespace-separated fields with their byte offsets.
fn field_offsets(expr: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in expr.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &expr[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &expr[s..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn next(expr: &str, after: &str) -> String {
        Cron::parse(expr)
            .unwrap()
            .next_local(at(after))
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S %a")
            .to_string()
    }

    #[test]
    fn weekday_numbers_and_names() {
        // 2026-01-01 is a Thursday.
        assert_eq!(
            next("0 0 * * 0", "2026-01-01 00:00:00"),
            "2026-01-04 00:00:00 Sun"
        );
        assert_eq!(
            next("0 0 * * 7", "2026-01-01 00:00:00"),
            "2026-01-04 00:00:00 Sun"
        );
        assert_eq!(
            next("0 0 * * 1", "2026-01-01 00:00:00"),
            "2026-01-05 00:00:00 Mon"
        );
        assert_eq!(
            next("0 0 * * MON-fri", "2026-01-02 00:00:00"),
            "2026-01-05 00:00:00 Mon"
        );
        assert_eq!(
            next("0 0 * JUL,jan *", "2026-02-01 00:00:00"),
            "2026-07-01 00:00:00 Wed"
        );
        assert_eq!(
            next("0 0 * * 5-7", "2026-01-01 00:00:00"),
            "2026-01-02 00:00:00 Fri"
        );
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        // Friday the 13th style: either the 13th or a Friday.
        assert_eq!(
            next("0 0 13 * 5", "2026-01-02 00:00:00"),
            "2026-01-09 00:00:00 Fri"
        );
        assert_eq!(
            next("0 0 13 * 5", "2026-01-09 00:00:00"),
            "2026-01-13 00:00:00 Tue"
        );
        // A star on either side means the other alone decides.
        assert_eq!(
            next("0 0 13 * *", "2026-01-02 00:00:00"),
            "2026-01-13 00:00:00 Tue"
        );
        // `*/2` counts as restricted (croniter).
        assert_eq!(
            next("0 0 */2 * 1", "2026-01-01 00:00:00"),
            "2026-01-03 00:00:00 Sat"
        );
    }

    #[test]
    fn steps_ranges_and_seconds() {
        assert_eq!(
            next("*/15 * * * *", "2026-01-01 00:07:00"),
            "2026-01-01 00:15:00 Thu"
        );
        assert_eq!(
            next("5/20 * * * *", "2026-01-01 00:46:00"),
            "2026-01-01 01:05:00 Thu"
        );
        assert_eq!(
            next("0 9-17/4 * * *", "2026-01-01 13:00:00"),
            "2026-01-01 17:00:00 Thu"
        );
        assert_eq!(
            next("*/10 * * * * *", "2026-01-01 00:00:59"),
            "2026-01-01 00:01:00 Thu"
        );
        assert_eq!(
            next("30 0 0 * * *", "2026-01-01 00:00:00"),
            "2026-01-01 00:00:30 Thu"
        );
    }

    #[test]
    fn stops_at_the_end_of_time_without_panicking() {
        let cron = Cron::parse("59 23 31 12 *").unwrap();
        assert_eq!(cron.next_local(at("9999-12-31 23:59:00")), None);
        assert_eq!(cron.next_local(NaiveDateTime::MAX), None);
        assert_eq!(
            Cron::parse("* * * * * *")
                .unwrap()
                .next_local(NaiveDateTime::MAX),
            None
        );
    }

    #[test]
    fn macros_and_leap_days() {
        assert_eq!(
            next("@weekly", "2026-01-01 00:00:00"),
            "2026-01-04 00:00:00 Sun"
        );
        assert_eq!(
            next("@YEARLY", "2026-01-01 00:00:00"),
            "2027-01-01 00:00:00 Fri"
        );
        assert_eq!(
            next("0 0 29 2 *", "2025-03-01 00:00:00"),
            "2028-02-29 00:00:00 Tue"
        );
        assert_eq!(
            next("0 12 31 * *", "2026-04-01 00:00:00"),
            "2026-05-31 12:00:00 Sun"
        );
    }

    fn prev(expr: &str, at: &str) -> String {
        Cron::parse(expr)
            .unwrap()
            .prev_local(self::at(at))
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S %a")
            .to_string()
    }

    #[test]
    fn prev_mirrors_next() {
        // At or before: a matching time is its own answer.
        assert_eq!(
            prev("0 0 * * 0", "2026-01-04 00:00:00"),
            "2026-01-04 00:00:00 Sun"
        );
        assert_eq!(
            prev("0 0 * * 7", "2026-01-03 23:59:59"),
            "2025-12-28 00:00:00 Sun"
        );
        assert_eq!(
            prev("0 0 * * MON-fri", "2026-01-04 12:00:00"),
            "2026-01-02 00:00:00 Fri"
        );
        assert_eq!(
            prev("0 0 * JUL,jan *", "2026-06-30 00:00:00"),
            "2026-01-31 00:00:00 Sat"
        );
        assert_eq!(
            prev("0 0 13 * 5", "2026-01-12 00:00:00"),
            "2026-01-09 00:00:00 Fri"
        );
        assert_eq!(
            prev("0 0 */2 * 1", "2026-01-02 23:00:00"),
            "2026-01-01 00:00:00 Thu"
        );
        assert_eq!(
            prev("5/20 * * * *", "2026-01-01 01:04:59"),
            "2026-01-01 00:45:00 Thu"
        );
        assert_eq!(
            prev("0 9-17/4 * * *", "2026-01-01 08:59:00"),
            "2025-12-31 17:00:00 Wed"
        );
        assert_eq!(
            prev("*/10 * * * * *", "2026-01-01 00:00:09"),
            "2026-01-01 00:00:00 Thu"
        );
        assert_eq!(
            prev("30 0 0 * * *", "2026-01-01 00:00:29"),
            "2025-12-31 00:00:30 Wed"
        );
        assert_eq!(
            prev("@weekly", "2026-01-03 00:00:00"),
            "2025-12-28 00:00:00 Sun"
        );
        assert_eq!(
            prev("@YEARLY", "2026-12-31 23:59:59"),
            "2026-01-01 00:00:00 Thu"
        );
        // Fractions of a second are dropped, not rounded up.
        let cron = Cron::parse("* * * * * *").unwrap();
        let t = at("2026-01-01 00:00:05") + chrono::Duration::milliseconds(999);
        assert_eq!(cron.prev_local(t), Some(at("2026-01-01 00:00:05")));
    }

    #[test]
    fn sparse_schedules_are_found_quickly_both_ways() {
        // Feb 29 only: 2100 is no leap year, so 8 years apart.
        assert_eq!(
            next("0 0 29 2 *", "2096-02-29 00:00:00"),
            "2104-02-29 00:00:00 Fri"
        );
        assert_eq!(
            prev("0 0 29 2 *", "2104-02-28 23:59:59"),
            "2096-02-29 00:00:00 Wed"
        );
        // Feb 29 or any Monday of February.
        assert_eq!(
            next("0 0 29 2 1", "2026-02-23 00:00:00"),
            "2027-02-01 00:00:00 Mon"
        );
        assert_eq!(
            prev("0 0 29 2 1", "2028-02-28 00:00:00"),
            "2028-02-28 00:00:00 Mon"
        );
        assert_eq!(
            prev("0 0 29 2 1", "2028-03-31 00:00:00"),
            "2028-02-29 00:00:00 Tue"
        );
        assert_eq!(
            prev("59 59 23 31 12 *", "2026-12-31 23:59:58"),
            "2025-12-31 23:59:59 Wed"
        );
        // Each search is a bounded number of steps: thousands of them stay
        // well under a second even unoptimised.
        let started = std::time::Instant::now();
        for expr in ["0 0 29 2 *", "0 0 29 2 1", "59 59 23 31 12 *", "0 0 31 * *"] {
            let cron = Cron::parse(expr).unwrap();
            for year in 2000..2400 {
                let t = at(&format!("{year}-03-01 00:00:00"));
                assert!(cron.next_local(t).is_some(), "{expr} after {t}");
                assert!(cron.prev_local(t).is_some(), "{expr} before {t}");
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn prev_stops_at_the_start_of_time_without_panicking() {
        // The first instant chrono knows is 1 January 00:00:00.
        let cron = Cron::parse("0 0 2 1 *").unwrap();
        assert_eq!(cron.prev_local(NaiveDateTime::MIN), None);
        assert_eq!(
            Cron::parse("* * * * * *")
                .unwrap()
                .prev_local(NaiveDateTime::MIN),
            Some(NaiveDateTime::MIN)
        );
        assert_eq!(
            Cron::parse("0 0 2 1 *")
                .unwrap()
                .prev_local(NaiveDateTime::MIN + chrono::Duration::days(400)),
            NaiveDate::from_ymd_opt(NaiveDateTime::MIN.year() + 1, 1, 2)
                .map(|d| d.and_time(NaiveTime::MIN))
        );
    }

    #[test]
    fn errors_name_the_field() {
        let err = |e: &str| Cron::parse(e).unwrap_err();
        assert_eq!(
            err("0 25 * * *").message,
            "hour field: 25 is out of range 0-23"
        );
        assert_eq!(err("0 25 * * *").offset, Some(2));
        assert!(err("* * * *").message.contains("found 4"));
        assert!(err("0 0 * foo *").message.contains("month field: \"foo\""));
        assert!(
            err("0 0 * * 8")
                .message
                .contains("day-of-week field: 8 is out of range 0-7")
        );
        assert!(
            err("*/0 * * * *")
                .message
                .contains("step must be at least 1")
        );
        assert!(err("5-1 * * * *").message.contains("runs backwards"));
        assert!(err("0 0 30 2 *").message.contains("never fires"));
        assert!(err("@dayly").message.contains("did you mean `@daily`"));
        assert!(err("1,,2 * * * *").message.contains("empty list item"));
        assert!(
            err("-5 0 * * *")
                .message
                .contains("needs a start and an end")
        );
        assert!(err("+5 3 * * *").message.contains("\"+5\" is not a number"));
        assert!(
            err("0 1 * * MON 1")
                .message
                .contains("the first is seconds")
        );
    }
}
