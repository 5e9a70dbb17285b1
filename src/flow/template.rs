//! `{{ ... }}` templates in task commands, rendered with shell-quoted values.

use std::fmt;

/// A variable a template may name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Var {
    Ds,
    Ts,
    RunId,
    Flow,
    Task,
    Try,
    Param(String),
    Output { task: String, key: String },
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Var::Ds => f.write_str("ds"),
            Var::Ts => f.write_str("ts"),
            Var::RunId => f.write_str("run_id"),
            Var::Flow => f.write_str("flow"),
            Var::Task => f.write_str("task"),
            Var::Try => f.write_str("try"),
            Var::Param(name) => write!(f, "params.{name}"),
            Var::Output { task, key } => write!(f, "outputs.{task}.{key}"),
        }
    }
}

const PLAIN: &[&str] = &["ds", "ts", "run_id", "flow", "task", "try"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// A variable and the byte offset of its `{{` in the source text.
    Var(Var, usize),
}

/// A parsed template: literal text and variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// A template syntax error at a byte offset into the template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn parse_var(expr: &str) -> Result<Var, String> {
    let parts: Vec<&str> = expr.split('.').collect();
    let var = match parts.as_slice() {
        ["ds"] => Var::Ds,
        ["ts"] => Var::Ts,
        ["run_id"] => Var::RunId,
        ["flow"] => Var::Flow,
        ["task"] => Var::Task,
        ["try"] => Var::Try,
        ["params", name] if is_name(name) => Var::Param(name.to_string()),
        ["outputs", task, key] if is_name(task) && is_name(key) => Var::Output {
            task: task.to_string(),
            key: key.to_string(),
        },
        ["params", ..] => return Err(format!("`{expr}` must be `params.NAME`")),
        ["outputs", ..] => return Err(format!("`{expr}` must be `outputs.TASK.KEY`")),
        _ => {
            let hint = hint_for(&parts);
            return Err(format!(
                "unknown template variable `{expr}`{hint}; known: ds, ts, run_id, flow, task, try, params.NAME, outputs.TASK.KEY"
            ));
        }
    };
    Ok(var)
}

/// A "did you mean" for an unknown variable: a near name among the plain
/// ones, or, for a dotted one (`param.epochs`), its first part put right
/// (`params.epochs`).
fn hint_for(parts: &[&str]) -> String {
    match parts {
        [one] => super::suggest::did_you_mean(one, PLAIN.iter().copied()),
        [first, rest @ ..] => match super::suggest::closest(first, ["params", "outputs"]) {
            Some(near) => format!(" (did you mean `{near}.{}`?)", rest.join(".")),
            None => String::new(),
        },
        [] => String::new(),
    }
}

impl Template {
    /// Parses `{{ var }}` templates; `\{{` stands for a literal `{{` (as in
    /// `docker inspect --format '\{{.State.Status}}'`).
    pub fn parse(source: &str) -> Result<Template, Vec<TemplateError>> {
        let mut parts = Vec::new();
        let mut errors = Vec::new();
        let mut rest = source;
        let mut base = 0;
        let mut text = String::new();
        while let Some(open) = rest.find("{{") {
            if rest[..open].ends_with('\\') {
                text.push_str(&rest[..open - 1]);
                text.push_str("{{");
                base += open + 2;
                rest = &rest[open + 2..];
                continue;
            }
            text.push_str(&rest[..open]);
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                errors.push(TemplateError {
                    offset: base + open,
                    message: "`{{` is never closed with `}}`".into(),
                });
                return Err(errors);
            };
            // Every bad variable is reported, not only the first.
            match parse_var(after[..close].trim()) {
                Ok(var) => parts.push(Part::Var(var, base + open)),
                Err(message) => errors.push(TemplateError {
                    offset: base + open,
                    message,
                }),
            }
            let consumed = open + 2 + close + 2;
            base += consumed;
            rest = &rest[consumed..];
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Each variable with the byte offset of its `{{` in the source.
    pub fn vars(&self) -> impl Iterator<Item = (&Var, usize)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v, at) => Some((v, *at)),
            Part::Text(_) => None,
        })
    }

    /// Renders the template, inserting each value as one shell-quoted word.
    /// `lookup` returns `None` for a value that is missing; the first such
    /// variable is returned as the error.
    pub fn render(&self, lookup: impl Fn(&Var) -> Option<String>) -> Result<String, Var> {
        let mut out = String::with_capacity(self.source.len());
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(v, _) => {
                    let value = lookup(v).ok_or_else(|| v.clone())?;
                    out.push_str(&shell_quote(&value));
                }
            }
        }
        Ok(out)
    }
}

/// `value` as one word for `sh`: unchanged when it holds only characters the
/// shell never interprets, otherwise in single quotes.
pub fn shell_quote(value: &str) -> String {
    let safe = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,+@%=".contains(c));
    if safe {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &str) -> String {
        Template::parse(t)
            .unwrap()
            .render(|v| match v {
                Var::Ds => Some("2026-01-02".into()),
                Var::Param(p) if p == "evil" => Some("$(touch /tmp/x); x".into()),
                Var::Param(p) if p == "quote" => Some("it's".into()),
                Var::Param(p) if p == "empty" => Some(String::new()),
                Var::Output { task, key } => Some(format!("{task}-{key}")),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn renders_values_as_single_words() {
        assert_eq!(render("run --date {{ ds }}"), "run --date 2026-01-02");
        assert_eq!(render("echo {{params.evil}}"), "echo '$(touch /tmp/x); x'");
        assert_eq!(render("echo {{ params.quote }}!"), r"echo 'it'\''s'!");
        assert_eq!(render("x {{ params.empty }} y"), "x '' y");
        assert_eq!(render("{{ outputs.prep.rows }}"), "prep-rows");
        assert_eq!(render("no vars"), "no vars");
        assert_eq!(
            render(r"docker inspect -f '\{{.State}}' {{ ds }}"),
            "docker inspect -f '{{.State}}' 2026-01-02"
        );
        assert_eq!(render(r"a \{{ ds }} b"), "a {{ ds }} b");
    }

    #[test]
    fn missing_value_is_reported() {
        let t = Template::parse("a {{ params.nope }}").unwrap();
        assert_eq!(t.render(|_| None), Err(Var::Param("nope".into())));
    }

    #[test]
    fn syntax_errors_point_at_the_braces() {
        let e = &Template::parse("echo {{ ds }} {{ dss }}").unwrap_err()[0];
        assert_eq!(e.offset, 14);
        assert!(e.message.contains("did you mean `ds`"), "{}", e.message);
        let e = &Template::parse("echo {{ ds").unwrap_err()[0];
        assert_eq!(e.offset, 5);
        assert!(e.message.contains("never closed"));
        assert!(
            Template::parse("{{ outputs.a }}").unwrap_err()[0]
                .message
                .contains("outputs.TASK.KEY")
        );
        assert!(
            Template::parse("{{ params }}").unwrap_err()[0]
                .message
                .contains("params.NAME")
        );
        let e = &Template::parse("{{ param.epochs }}").unwrap_err()[0];
        assert!(
            e.message.contains("did you mean `params.epochs`"),
            "{}",
            e.message
        );
        let e = &Template::parse("{{ output.prep.rows }}").unwrap_err()[0];
        assert!(
            e.message.contains("did you mean `outputs.prep.rows`"),
            "{}",
            e.message
        );
        let all = Template::parse("{{ a }} {{ ds }} {{ b }} {{ c").unwrap_err();
        let offsets: Vec<usize> = all.iter().map(|e| e.offset).collect();
        assert_eq!(offsets, [0, 17, 25], "every error, the unclosed one last");
    }

    #[test]
    fn lists_vars_with_offsets() {
        let t = Template::parse("{{ds}} and {{ outputs.a.b }}").unwrap();
        let vars: Vec<_> = t.vars().collect();
        assert_eq!(vars.len(), 2);
        assert_eq!(vars[1].1, 11);
    }
}
