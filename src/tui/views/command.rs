//! The line at the bottom while typing: a filter (`/` in the Flows and the
//! Grid), a search (`/` in the Graph and the Logs) or a `:` command. It
//! edits the text and completes command words with Tab; a filter or search
//! is applied by the app as it is typed, a command when Enter is pressed,
//! after `parse` has said which one it is.
//!
//! May call: `tui::ctx` (`View`), `tui::theme`, `flow::suggest` (the
//! did-you-mean hint). It reads nothing itself: the words it completes
//! are handed to it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::{Line, Span};

use crate::tui::ctx::View;
use crate::tui::theme::Theme;

/// The line being typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
    /// What Tab could complete to, when it is not one thing.
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Search,
    Command,
}

/// What a key did to the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typed {
    /// The line stays open (its text may have changed).
    Editing,
    /// Esc, or Backspace on an empty line: the line closes (Esc empties
    /// it first, so a filter being typed is dropped).
    Closed,
    /// Enter: the line closes and its text is taken.
    Entered,
}

/// The words Tab completes to after a command: flow and theme names.
pub struct Words<'a> {
    pub flows: Vec<&'a str>,
    pub themes: Vec<&'a str>,
}

/// The `:` commands, for completion and suggestions.
const COMMANDS: &[&str] = &[
    "flows", "grid", "graph", "logs", "log", "run", "theme", "trigger", "help", "quit", "q",
];

impl Input {
    pub fn new(kind: InputKind, text: String) -> Input {
        Input {
            kind,
            text,
            hint: None,
        }
    }

    /// Takes a key.
    pub fn on_key(&mut self, key: KeyEvent, words: &Words) -> Typed {
        if key.code != KeyCode::Tab {
            self.hint = None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                self.text.clear();
                return Typed::Closed;
            }
            KeyCode::Enter => return Typed::Entered,
            KeyCode::Backspace if self.text.pop().is_none() => return Typed::Closed,
            KeyCode::Char('u') if ctrl => self.text.clear(),
            KeyCode::Char(c) if !ctrl => self.text.push(c),
            KeyCode::Tab if self.kind == InputKind::Command => {
                self.text = complete(&self.text, words);
                let choices = choices(&self.text, words);
                self.hint = (choices.len() > 1).then(|| choices.join(" "));
            }
            _ => {}
        }
        Typed::Editing
    }

    /// The status bar's line while typing: prefix, text, cursor, hint.
    pub fn line(&self, theme: &Theme) -> Line<'static> {
        let prefix = match self.kind {
            InputKind::Filter => "/",
            InputKind::Search => "search: ",
            InputKind::Command => ":",
        };
        Line::from(vec![
            Span::styled(prefix, theme.key()),
            Span::styled(self.text.clone(), theme.status()),
            Span::styled("█", theme.status()),
            Span::styled(
                self.hint
                    .as_ref()
                    .map(|h| format!("  {h}"))
                    .unwrap_or_default(),
                theme.dim(),
            ),
        ])
    }
}

/// A command line's words before the last, and the last.
fn split_last_word(line: &str) -> (Option<&str>, &str) {
    match line.rsplit_once(' ') {
        Some((head, word)) => (Some(head), word),
        None => (None, line),
    }
}

/// Completes a command line as far as it is unambiguous: the command,
/// then a flow or theme name.
pub fn complete(line: &str, words: &Words) -> String {
    let (head, _) = split_last_word(line);
    let hits = choices(line, words);
    let Some(first) = hits.first() else {
        return line.to_string();
    };
    // The longest prefix all the hits share; a space after a whole word.
    let mut common = first.as_str();
    for h in &hits[1..] {
        let n = common
            .chars()
            .zip(h.chars())
            .take_while(|(a, b)| a == b)
            .count();
        common = &common[..common
            .char_indices()
            .nth(n)
            .map_or(common.len(), |(i, _)| i)];
    }
    let done = if hits.len() == 1 && head.is_none() {
        " "
    } else {
        ""
    };
    match head {
        Some(head) => format!("{head} {common}{done}"),
        None => format!("{common}{done}"),
    }
}

/// What the last word of a command line could complete to.
pub fn choices(line: &str, words: &Words) -> Vec<String> {
    let (head, word) = split_last_word(line);
    let candidates: Vec<&str> = match head.map(str::trim) {
        None => COMMANDS.to_vec(),
        Some("grid" | "graph" | "logs" | "trigger") => words.flows.clone(),
        Some("theme") => words.themes.clone(),
        Some(_) => Vec::new(),
    };
    candidates
        .into_iter()
        .filter(|c| c.starts_with(word))
        .map(str::to_string)
        .collect()
}

/// A `:` command line, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// An empty line.
    Nothing,
    /// `:q`: asks first when tries run or schedules are due.
    Quit,
    /// `:q!`: leaves without asking.
    QuitNow,
    Help,
    Flows,
    OwnLog,
    /// `:grid`, `:graph`, `:logs`, with a flow to open or the one open.
    Show {
        view: View,
        flow: Option<&'a str>,
    },
    /// `:theme NAME`, or the themes there are.
    Theme(Option<&'a str>),
    /// `:trigger NAME`, or the flow selected.
    Trigger(Option<&'a str>),
    /// `:run WHEN`.
    Run(Option<&'a str>),
    Unknown(&'a str),
}

/// Which command `line` is; words after the first argument are ignored.
pub fn parse(line: &str) -> Command<'_> {
    let mut words = line.split_whitespace();
    let name = words.next().unwrap_or("");
    let arg = words.next();
    match name {
        "" => Command::Nothing,
        "q" | "quit" => Command::Quit,
        "q!" | "quit!" => Command::QuitNow,
        "help" | "h" => Command::Help,
        "flows" => Command::Flows,
        "log" | "drover-log" => Command::OwnLog,
        "grid" => Command::Show {
            view: View::Grid,
            flow: arg,
        },
        "graph" => Command::Show {
            view: View::Graph,
            flow: arg,
        },
        "logs" => Command::Show {
            view: View::Logs,
            flow: arg,
        },
        "theme" => Command::Theme(arg),
        "trigger" => Command::Trigger(arg),
        "run" => Command::Run(arg),
        other => Command::Unknown(other),
    }
}

/// What the status bar says to an unknown command.
pub fn unknown(name: &str) -> String {
    let hint = crate::flow::suggest::did_you_mean(name, COMMANDS.iter().copied());
    format!("unknown command `:{name}`{hint}; try :flows :grid NAME :graph NAME :theme NAME :q")
}
