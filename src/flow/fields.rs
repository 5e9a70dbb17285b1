//! Typed access to a spanned TOML table, collecting diagnostics as it goes.
//!
//! Every getter reports a wrong type at the value's span and returns `None`,
//! so one bad field never hides the others: a whole file is checked in one pass.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diag::{Diagnostic, Source, thousands};
use super::suggest;

pub type Value<'i> = Spanned<DeValue<'i>>;

/// Most errors listed for one file; the rest are counted in a last line.
pub const MAX_ERRORS: usize = 200;

/// Collects diagnostics for one source file: the first `MAX_ERRORS` in
/// line order, and a count of the rest.
pub struct Checker<'s> {
    pub src: &'s Source<'s>,
    diags: Vec<Diagnostic>,
    /// Errors found past the first `MAX_ERRORS`, and where the first of them is.
    dropped: usize,
    first_dropped: Option<(usize, usize)>,
    /// Shared by this file's "did you mean" searches over declared names.
    pub suggest: suggest::Budget,
}

impl<'s> Checker<'s> {
    pub fn new(src: &'s Source<'s>) -> Self {
        Checker {
            src,
            diags: Vec::new(),
            dropped: 0,
            first_dropped: None,
            suggest: suggest::Budget::new(suggest::Budget::PER_FILE),
        }
    }

    /// Records an error at `span`. Keeps memory bounded however many come:
    /// once twice `MAX_ERRORS` are held, they are sorted by position and
    /// only the first `MAX_ERRORS` kept, the others counted.
    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let diag = self.src.diagnostic(span, message);
        self.diags.push(diag);
        if self.diags.len() >= 2 * MAX_ERRORS {
            self.keep_first();
        }
    }

    pub fn has_errors(&self) -> bool {
        !self.diags.is_empty()
    }

    /// Sorts the errors held by position (stable: same-place errors stay in
    /// the order found) and counts those past `MAX_ERRORS` as dropped.
    fn keep_first(&mut self) {
        self.diags.sort_by_key(|d| (d.line, d.col));
        if self.diags.len() > MAX_ERRORS {
            for d in self.diags.drain(MAX_ERRORS..) {
                self.dropped += 1;
                let at = (d.line, d.col);
                if self.first_dropped.is_none_or(|f| at < f) {
                    self.first_dropped = Some(at);
                }
            }
        }
    }

    /// The errors in line order; past `MAX_ERRORS`, a last line says how
    /// many more there are, at the first of them.
    pub fn into_diagnostics(mut self) -> Vec<Diagnostic> {
        self.keep_first();
        if let Some((line, col)) = self.first_dropped {
            let n = self.dropped;
            self.diags.push(Diagnostic {
                path: self.src.path.to_path_buf(),
                line,
                col,
                message: format!(
                    "... and {} more error{} in this file, from here on (only the first {MAX_ERRORS} are listed); fix these and validate again",
                    thousands(n),
                    if n == 1 { "" } else { "s" }
                ),
                more: n,
            });
        }
        self.diags
    }

    /// Reports every key of `table` not in `allowed`, with a suggestion for
    /// near misses. `place` names the table in messages ("flow", "[defaults]").
    /// Keys in `top_level` get a hint instead: they were meant for the top of
    /// the file but follow a table header, so TOML put them inside it.
    pub fn known_keys(
        &mut self,
        table: &DeTable<'_>,
        allowed: &[&str],
        top_level: &[&str],
        place: &str,
    ) {
        for key in table.keys() {
            let name = key.get_ref().as_ref();
            if allowed.contains(&name) {
                continue;
            }
            if top_level.contains(&name) {
                self.misplaced(key.span(), name, place);
                continue;
            }
            let hint = suggest::did_you_mean(name, allowed.iter().copied());
            let expected = allowed.join(", ");
            self.error(
                key.span(),
                format!("unknown key `{name}` in {place}{hint}; known keys: {expected}"),
            );
        }
    }

    /// Reports keys of a free-form table (`[params]`, `[pools]`) that are
    /// really top-level settings written after its header.
    pub fn no_top_level_keys(&mut self, table: &DeTable<'_>, top_level: &[&str], place: &str) {
        for key in table.keys() {
            let name = key.get_ref().as_ref();
            if top_level.contains(&name) {
                self.misplaced(key.span(), name, place);
            }
        }
    }

    fn misplaced(&mut self, span: Range<usize>, name: &str, place: &str) {
        self.error(
            span,
            format!(
                "`{name}` is a top-level setting, but it comes after the {place} header, so TOML puts it inside {place}; move it above the first [table] header"
            ),
        );
    }

    /// A duration string such as "30s"; a bare number is refused with the
    /// reason, as is zero unless `allow_zero`.
    pub fn duration(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        allow_zero: bool,
    ) -> Option<std::time::Duration> {
        let value = table.get(key)?;
        if value.get_ref().is_integer() || value.get_ref().is_float() {
            self.error(
                value.span(),
                format!(
                    "`{key}` needs a unit: write it as a string such as \"30s\", \"5m\" or \"2h\""
                ),
            );
            return None;
        }
        let (text, span) = self.string(table, key)?;
        match super::duration::parse(text) {
            Ok(d) if d.is_zero() && !allow_zero => {
                self.error(span, format!("`{key}` must be longer than 0s"));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.error(span, e);
                None
            }
        }
    }

    /// A string that must not be empty or hold a NUL byte.
    pub fn nonempty_string<'t>(
        &mut self,
        table: &'t DeTable<'_>,
        key: &str,
    ) -> Option<(&'t str, Range<usize>)> {
        let (text, span) = self.string(table, key)?;
        if text.trim().is_empty() {
            self.error(span, format!("`{key}` is empty"));
            return None;
        }
        if text.contains('\0') {
            self.error(
                span,
                format!("`{key}` holds a NUL byte, which no command or path can"),
            );
            return None;
        }
        Some((text, span))
    }

    fn wrong_type(&mut self, key: &str, value: &Value<'_>, expected: &str) {
        let found = value.get_ref().type_str();
        self.error(
            value.span(),
            format!("`{key}` must be {expected}, found {found}"),
        );
    }

    pub fn string<'t>(
        &mut self,
        table: &'t DeTable<'_>,
        key: &str,
    ) -> Option<(&'t str, Range<usize>)> {
        let value = table.get(key)?;
        match value.get_ref() {
            DeValue::String(s) => Some((s.as_ref(), value.span())),
            _ => {
                self.wrong_type(key, value, "a string");
                None
            }
        }
    }

    pub fn bool(&mut self, table: &DeTable<'_>, key: &str) -> Option<bool> {
        let value = table.get(key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(key, value, "true or false");
                None
            }
        }
    }

    /// An integer within `range` (inclusive).
    pub fn int(&mut self, table: &DeTable<'_>, key: &str, min: i64, max: i64) -> Option<i64> {
        let value = table.get(key)?;
        let parsed = match value.get_ref() {
            DeValue::Integer(i) => {
                let digits = i.as_str().replace('_', "");
                i64::from_str_radix(&digits, i.radix()).ok()
            }
            _ => {
                self.wrong_type(key, value, "an integer");
                return None;
            }
        };
        match parsed {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    value.span(),
                    format!("`{key}` must be between {min} and {max}"),
                );
                None
            }
        }
    }

    pub fn table<'t, 'i>(
        &mut self,
        table: &'t DeTable<'i>,
        key: &str,
    ) -> Option<(&'t DeTable<'i>, Range<usize>)> {
        let value = table.get(key)?;
        match value.get_ref() {
            DeValue::Table(t) => Some((t, value.span())),
            _ => {
                self.wrong_type(key, value, "a table");
                None
            }
        }
    }

    /// An array of strings, each with its span.
    pub fn string_list<'t>(
        &mut self,
        table: &'t DeTable<'_>,
        key: &str,
    ) -> Option<Vec<(&'t str, Range<usize>)>> {
        let value = table.get(key)?;
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(key, value, "an array of strings");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push((s.as_ref(), item.span())),
                other => self.error(
                    item.span(),
                    format!("`{key}` must hold strings only, found {}", other.type_str()),
                ),
            }
        }
        Some(out)
    }

    /// A table of scalar values turned into strings (`env`, `params`): numbers
    /// and booleans are accepted and written as TOML writes them.
    pub fn string_map(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
    ) -> Option<BTreeMap<String, String>> {
        let (inner, _) = self.table(table, key)?;
        let mut out = BTreeMap::new();
        for (k, v) in inner.iter() {
            let text = match v.get_ref() {
                DeValue::String(s) => s.to_string(),
                DeValue::Integer(i) => i.to_string(),
                DeValue::Float(f) => f.to_string(),
                DeValue::Boolean(b) => b.to_string(),
                other => {
                    self.error(
                        v.span(),
                        format!(
                            "`{key}.{}` must be a string, number or boolean, found {}",
                            k.get_ref(),
                            other.type_str()
                        ),
                    );
                    continue;
                }
            };
            let name = k.get_ref();
            if name.is_empty() || name.contains(['=', '\0']) {
                self.error(
                    k.span(),
                    format!("`{key}` name \"{name}\" may not be empty or hold `=` or a NUL byte"),
                );
                continue;
            }
            if text.contains('\0') {
                self.error(
                    v.span(),
                    format!("`{key}.{name}` holds a NUL byte, which no environment variable can"),
                );
                continue;
            }
            out.insert(name.to_string(), text);
        }
        Some(out)
    }

    /// A string or TOML date/datetime, as text (for `start`, `end`).
    pub fn date_text(&mut self, table: &DeTable<'_>, key: &str) -> Option<(String, Range<usize>)> {
        let value = table.get(key)?;
        match value.get_ref() {
            DeValue::String(s) => Some((s.to_string(), value.span())),
            DeValue::Datetime(d) => Some((d.to_string(), value.span())),
            _ => {
                self.wrong_type(
                    key,
                    value,
                    "a date such as \"2026-01-01\" or an RFC 3339 time",
                );
                None
            }
        }
    }

    /// Span of a key's value, or of the table when absent (for messages about it).
    pub fn span_of(table: &DeTable<'_>, key: &str) -> Option<Range<usize>> {
        table.get(key).map(|v| v.span())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12_345), "12,345");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn errors_past_the_cap_are_counted_at_the_first_of_them() {
        let text = "x\n".repeat(1000);
        let src = Source::new(Path::new("f.toml"), &text);
        let mut ck = Checker::new(&src);
        // Found out of order: the last lines first.
        for line in (0..1000).rev() {
            ck.error(line * 2..line * 2, format!("e{line}"));
        }
        let diags = ck.into_diagnostics();
        assert_eq!(diags.len(), MAX_ERRORS + 1);
        assert_eq!(diags[0].line, 1);
        assert_eq!(diags[MAX_ERRORS - 1].line, MAX_ERRORS);
        let last = &diags[MAX_ERRORS];
        assert_eq!((last.line, last.col), (MAX_ERRORS + 1, 1));
        assert!(
            last.message
                .starts_with("... and 800 more errors in this file"),
            "{}",
            last.message
        );
    }
}
