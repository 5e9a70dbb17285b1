//! "Did you mean" suggestions for misspelt names.
//!
//! Cheap by construction, since the word comes from the user's file and may
//! be a megabyte long: words over `MAX_WORD` characters get no suggestion,
//! a candidate whose length differs by more than the edits allowed is not
//! compared, and a comparison stops as soon as every alignment needs more
//! edits than allowed. Searches over names the user declared (tasks,
//! params, pools), which may be many, also draw on a [`Budget`] per file.

/// The longest word (in characters) a suggestion is looked for: longer
/// names are not typos of a known one, and comparing costs grow with length.
pub const MAX_WORD: usize = 64;

/// Work one file's "did you mean" searches may do, in units of about one
/// character compared. When it runs out, further searches suggest nothing:
/// a file with a hundred thousand misspelt names still validates in linear
/// time, and its first errors still carry suggestions.
#[derive(Debug, Clone)]
pub struct Budget {
    left: usize,
}

impl Budget {
    /// The budget of one file: a few tens of milliseconds of comparing.
    pub const PER_FILE: usize = 20_000_000;

    pub fn new(units: usize) -> Self {
        Budget { left: units }
    }

    /// Takes `units`; false (and nothing left) when there were not enough.
    fn take(&mut self, units: usize) -> bool {
        match self.left.checked_sub(units) {
            Some(left) => {
                self.left = left;
                true
            }
            None => {
                self.left = 0;
                false
            }
        }
    }
}

/// The candidate closest to `word`, if it is a plausible typo: within a third
/// of the word's length in edits (words under three characters only match
/// ignoring case), or a prefix of at least three characters (`keep` for
/// `keep_runs`). For short fixed lists (keys, rule names, time zones): the
/// cost is bounded by the list's size times `MAX_WORD` squared.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    closest_within(word, candidates, &mut Budget::new(usize::MAX))
}

/// [`closest`], charging each candidate looked at, and each comparison, to
/// `budget`; stops (keeping the best so far) when it runs out.
///
/// Steps per candidate: charge its length; lower-case at most the
/// characters that can matter; a prefix match
/// ranks by the length difference (its exact distance); otherwise, when the
/// lengths are within the allowed edits, a distance bounded by that limit.
pub fn closest_within<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    budget: &mut Budget,
) -> Option<&'a str> {
    // Four bytes at most per character: a cheap bound before decoding.
    if word.len() > 4 * MAX_WORD || budget.left == 0 {
        return None;
    }
    let word: Vec<char> = word.chars().flat_map(char::to_lowercase).collect();
    let len = word.len();
    if len > MAX_WORD {
        return None;
    }
    let limit = len / 3;
    let mut best: Option<(usize, &'a str)> = None;
    let mut lower: Vec<char> = Vec::new();
    for c in candidates {
        if !budget.take(c.len() + 1) {
            break;
        }
        lower.clear();
        lower.extend(c.chars().flat_map(char::to_lowercase).take(len + limit + 1));
        let truncated = lower.len() > len + limit;
        let prefix = len >= 3
            && !lower.is_empty()
            && (lower.starts_with(&word) || (!truncated && word.starts_with(&lower)));
        let d = if prefix {
            // One is the other plus characters at the end: that many edits.
            // A truncated candidate is longer than any distance in range.
            Some(if truncated {
                usize::MAX - 1
            } else {
                len.abs_diff(lower.len())
            })
        } else if truncated || len.abs_diff(lower.len()) > limit {
            None
        } else if budget.take(len * lower.len()) {
            bounded_distance(&word, &lower, limit)
        } else {
            break;
        };
        if let Some(d) = d
            && best.is_none_or(|(b, _)| d < b)
        {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `" (did you mean `x`?)"` or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    hint(closest(word, candidates))
}

/// [`did_you_mean`] drawing on a file's budget.
pub fn did_you_mean_within<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    budget: &mut Budget,
) -> String {
    hint(closest_within(word, candidates, budget))
}

/// Names in a message: all of them, or the first `LISTED` and how many
/// more (`total` counts them all), so a message costs the same however many
/// names were declared.
pub fn listing<'a>(names: impl Iterator<Item = &'a str>, total: usize) -> String {
    const LISTED: usize = 20;
    let mut out: Vec<&str> = names.take(LISTED).collect();
    let more = total.saturating_sub(out.len());
    let tail = format!("and {more} more");
    if more > 0 {
        out.push(&tail);
    }
    out.join(", ")
}

fn hint(found: Option<&str>) -> String {
    found
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Optimal string alignment distance (insertions, deletions, substitutions
/// and transpositions of neighbours each cost one), if it is at most
/// `limit`. Row by row, stopping once a whole row exceeds the limit: no
/// alignment through it can come back under. At most `a.len() * b.len()`
/// cells.
fn bounded_distance(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    let width = b.len() + 1;
    let mut before: Vec<usize> = vec![0; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut row: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        row[0] = i;
        let mut row_min = i;
        for j in 1..width {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            row[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut row);
    }
    Some(prev[width - 1]).filter(|&d| d <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_but_not_strangers() {
        let keys = ["retries", "retry_delay", "timeout", "deps"];
        assert_eq!(closest("retires", keys), Some("retries"));
        assert_eq!(closest("dep", keys), Some("deps"));
        assert_eq!(closest("timeuot", keys), Some("timeout"));
        assert_eq!(closest("colour", keys), None);
        assert_eq!(closest("keep", ["keep_runs"]), Some("keep_runs"));
        assert_eq!(closest("keep_runs_max", ["keep_runs"]), Some("keep_runs"));
        assert_eq!(closest("b", ["a"]), None);
        assert_eq!(closest("A", ["a"]), Some("a"));
        assert_eq!(did_you_mean("xyz", keys), "");
        assert_eq!(
            closest("Europe/Berln", ["Europe/Berlin", "Europe/Bern"]),
            Some("Europe/Berlin")
        );
    }

    #[test]
    fn bounded_distance_agrees_with_the_full_table() {
        fn full(a: &[char], b: &[char]) -> usize {
            let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
            for (i, row) in rows.iter_mut().enumerate() {
                row[0] = i;
            }
            for (j, cell) in rows[0].iter_mut().enumerate() {
                *cell = j;
            }
            for i in 1..=a.len() {
                for j in 1..=b.len() {
                    let cost = usize::from(a[i - 1] != b[j - 1]);
                    let mut d = (rows[i - 1][j] + 1)
                        .min(rows[i][j - 1] + 1)
                        .min(rows[i - 1][j - 1] + cost);
                    if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                        d = d.min(rows[i - 2][j - 2] + 1);
                    }
                    rows[i][j] = d;
                }
            }
            rows[a.len()][b.len()]
        }
        let words = [
            "", "a", "ab", "ba", "abc", "acb", "retries", "retires", "timeout", "tiemout", "deps",
            "dpes", "kitten", "sitting",
        ];
        for a in words {
            for b in words {
                let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                let d = full(&a, &b);
                for limit in 0..8 {
                    assert_eq!(
                        bounded_distance(&a, &b, limit),
                        (d <= limit).then_some(d),
                        "{a:?} {b:?} {limit}"
                    );
                }
            }
        }
    }

    #[test]
    fn huge_words_and_many_candidates_stay_cheap() {
        let huge = "x".repeat(1_000_000);
        assert_eq!(closest(&huge, ["x", "xx", "xxx"]), None);
        let long_candidate = "y".repeat(1_000_000);
        assert_eq!(
            closest("yyyy", [long_candidate.as_str()]),
            Some(long_candidate.as_str())
        );
        assert_eq!(
            closest("yyyyy", ["zzzzz", long_candidate.as_str()]),
            Some(long_candidate.as_str())
        );
        // The budget runs out: later searches suggest nothing, quickly.
        let names: Vec<String> = (0..100_000).map(|i| format!("task{i:06}")).collect();
        let mut budget = Budget::new(Budget::PER_FILE);
        let started = std::time::Instant::now();
        let mut found = 0;
        for i in 0..10_000 {
            let word = format!("tsak{i:06}");
            found += usize::from(
                closest_within(&word, names.iter().map(String::as_str), &mut budget).is_some(),
            );
        }
        assert!(found >= 1, "the first searches still suggest");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }
}
