//! Durations written as `500ms`, `30s`, `5m`, `2h`, `1d` or combinations (`1h30m`).

use std::time::Duration;

const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

/// Parses a duration; the error says what was wrong and shows the right form.
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = |why: &str| {
        format!(
            "bad duration \"{text}\": {why}; write a number and a unit (ms, s, m, h, d), e.g. \"30s\" or \"1h30m\""
        )
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad("it is empty"));
    }
    let mut rest = trimmed;
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(bad(&format!("expected a number at \"{rest}\"")));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| bad("the number is too large"))?;
        rest = &rest[digits..];
        if rest.starts_with(['.', ',']) {
            return Err(bad(
                "use whole numbers, e.g. \"1h30m\" rather than \"1.5h\"",
            ));
        }
        let letters = rest.len() - rest.trim_start_matches(|c: char| c.is_alphabetic()).len();
        let unit = &rest[..letters];
        if unit.is_empty() {
            return Err(bad(&format!("the number {number} has no unit")));
        }
        let Some((_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(bad(&format!("unknown unit \"{unit}\"")));
        };
        rest = &rest[unit.len()..];
        total_ms = number
            .checked_mul(*scale)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| bad("it is too long"))?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// The shortest text that `parse` reads back as `d` (to the millisecond).
pub fn format(d: Duration) -> String {
    let mut ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, scale) in UNITS.iter().rev() {
        if ms >= *scale {
            out.push_str(&format!("{}{unit}", ms / scale));
            ms %= scale;
        }
    }
    out
}

/// How long something took, for people: 850ms, 12.3s, 4m 05s, 2h 10m, 3d 4h.
pub fn human(d: chrono::Duration) -> String {
    let ms = d.num_milliseconds().max(0);
    let s = ms / 1000;
    match s {
        _ if ms < 1000 => format!("{ms}ms"),
        0..60 => format!("{:.1}s", ms as f64 / 1000.0),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_units_and_combinations() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1m500ms"), Ok(Duration::from_millis(60_500)));
    }

    #[test]
    fn explains_bad_input() {
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("30").unwrap_err().contains("no unit"));
        assert!(parse("m5").unwrap_err().contains("expected a number"));
        assert!(parse("5 min").unwrap_err().contains("5 has no unit"));
        assert!(parse("1w").unwrap_err().contains("unknown unit \"w\""));
        assert!(parse("2H").unwrap_err().contains("unknown unit \"H\""));
        assert!(parse("30sec").unwrap_err().contains("unknown unit \"sec\""));
        assert!(parse("1.5h").unwrap_err().contains("whole numbers"));
        assert!(
            parse("99999999999999999999s")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn formats_round_trip() {
        for text in ["500ms", "30s", "1h30m", "1d", "2h5s"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }
}
