//! "Did you mean" suggestions for misspelt names.

/// The candidate closest to `word`, if it is a plausible typo: within a third
/// of the word's length in edits (words under three characters only match
/// ignoring case), or a prefix of at least three characters (`keep` for
/// `keep_runs`).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let len = word.chars().count();
    let limit = len / 3;
    candidates
        .into_iter()
        .filter_map(|c| {
            let lower = c.to_lowercase();
            let d = distance(&word, &lower);
            let prefix = len >= 3 && (lower.starts_with(&word) || word.starts_with(&lower));
            (d <= limit || prefix).then_some((d, c))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `" (did you mean `x`?)"` or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Optimal string alignment distance: insertions, deletions, substitutions and
/// transpositions of neighbours each cost one.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
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
        assert_eq!(closest("b", ["a"]), None);
        assert_eq!(closest("A", ["a"]), Some("a"));
        assert_eq!(did_you_mean("xyz", keys), "");
    }
}
