//! Keys as data: each row says which keys run which action, where, and
//! what it does. Key lookup and the `?` help overlay both read these rows,
//! so the help can never disagree with what the keys do.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for. What it means can depend on the view (`Enter` on a
/// flow opens its grid, on a task its log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Help,
    Quit,
    Flows,
    Grid,
    Graph,
    Logs,
    Enter,
    Back,
    Up,
    Down,
    Left,
    Right,
    First,
    Last,
    PageUp,
    PageDown,
    OlderRuns,
    NewerRuns,
    Filter,
    NextMatch,
    PrevMatch,
    Trigger,
    Clear,
    MarkSuccess,
    MarkFailed,
    Kill,
    Pause,
    Follow,
    Wrap,
    PrevTry,
    NextTry,
    Times,
    CycleTheme,
    OwnLog,
    CommandLine,
}

/// Where a row applies; also the heading it has in the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everywhere,
    Moving,
    Actions,
    Logs,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Everywhere => "Everywhere",
            Scope::Moving => "Moving around",
            Scope::Actions => "Actions (on the selection)",
            Scope::Logs => "Logs",
        }
    }
}

/// One row of the keymap.
pub struct Binding {
    /// Key names: a character (case counts), or `Enter`, `Esc`, `Up`,
    /// `Down`, `Left`, `Right`, `PageUp`, `PageDown`, `Home`, `End`, `Tab`,
    /// or `C-x` for Ctrl with x.
    pub on: &'static [&'static str],
    pub run: Action,
    pub desc: &'static str,
    pub scope: Scope,
}

const fn bind(
    on: &'static [&'static str],
    run: Action,
    desc: &'static str,
    scope: Scope,
) -> Binding {
    Binding {
        on,
        run,
        desc,
        scope,
    }
}

/// The keymap (SPEC §6), in the order the help overlay lists it.
pub const KEYMAP: &[Binding] = &[
    bind(
        &["?"],
        Action::Help,
        "help (this overlay)",
        Scope::Everywhere,
    ),
    bind(
        &["q", "C-c"],
        Action::Quit,
        "quit (asks if tasks run)",
        Scope::Everywhere,
    ),
    bind(&["1"], Action::Flows, "Flows view", Scope::Everywhere),
    bind(
        &["2"],
        Action::Grid,
        "Grid view (tasks × runs)",
        Scope::Everywhere,
    ),
    bind(
        &["3"],
        Action::Graph,
        "Graph view (the DAG)",
        Scope::Everywhere,
    ),
    bind(
        &["4"],
        Action::Logs,
        "Logs view (selected try)",
        Scope::Everywhere,
    ),
    bind(
        &["L"],
        Action::OwnLog,
        "drover's own log",
        Scope::Everywhere,
    ),
    bind(&["T"], Action::CycleTheme, "cycle theme", Scope::Everywhere),
    bind(
        &[":"],
        Action::CommandLine,
        "command line (below)",
        Scope::Everywhere,
    ),
    bind(
        &["Enter"],
        Action::Enter,
        "drill in / open group",
        Scope::Moving,
    ),
    bind(&["Esc"], Action::Back, "back / fold group", Scope::Moving),
    bind(&["k", "Up"], Action::Up, "up", Scope::Moving),
    bind(&["j", "Down"], Action::Down, "down", Scope::Moving),
    bind(
        &["h", "Left"],
        Action::Left,
        "older / upstream / ←",
        Scope::Moving,
    ),
    bind(
        &["l", "Right"],
        Action::Right,
        "newer / downstream / →",
        Scope::Moving,
    ),
    bind(&["g", "Home"], Action::First, "first", Scope::Moving),
    bind(&["G", "End"], Action::Last, "last", Scope::Moving),
    bind(&["PageUp", "C-b"], Action::PageUp, "page up", Scope::Moving),
    bind(
        &["PageDown", "C-f"],
        Action::PageDown,
        "page down",
        Scope::Moving,
    ),
    bind(
        &["<"],
        Action::OlderRuns,
        "older / newer runs page",
        Scope::Moving,
    ),
    bind(
        &[">"],
        Action::NewerRuns,
        "older / newer runs page",
        Scope::Moving,
    ),
    bind(
        &["/"],
        Action::Filter,
        "filter list / search log",
        Scope::Moving,
    ),
    bind(
        &["n"],
        Action::NextMatch,
        "next / previous match",
        Scope::Moving,
    ),
    bind(
        &["N"],
        Action::PrevMatch,
        "next / previous match",
        Scope::Moving,
    ),
    bind(
        &["t"],
        Action::Trigger,
        "trigger (params form)",
        Scope::Actions,
    ),
    bind(&["c"], Action::Clear, "clear (choose what)", Scope::Actions),
    bind(&["s"], Action::MarkSuccess, "mark success", Scope::Actions),
    bind(&["F"], Action::MarkFailed, "mark failed", Scope::Actions),
    bind(&["x"], Action::Kill, "kill running try", Scope::Actions),
    bind(
        &["p"],
        Action::Pause,
        "pause / unpause flow",
        Scope::Actions,
    ),
    bind(&["f"], Action::Follow, "follow on/off", Scope::Logs),
    bind(&["w"], Action::Wrap, "wrap on/off", Scope::Logs),
    bind(&["["], Action::PrevTry, "previous try", Scope::Logs),
    bind(&["]"], Action::NextTry, "next try", Scope::Logs),
    bind(&["a"], Action::Times, "arrival times on/off", Scope::Logs),
];

/// Whether `key` is the key named `name` (see `Binding::on`).
pub fn is_key(name: &str, key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if let Some(c) = name.strip_prefix("C-") {
        let mut chars = c.chars();
        return match (chars.next(), chars.next()) {
            (Some(c), None) => ctrl && key.code == KeyCode::Char(c),
            _ => false,
        };
    }
    if ctrl || key.modifiers.contains(KeyModifiers::ALT) {
        return false;
    }
    let code = match name {
        "Enter" => KeyCode::Enter,
        "Esc" => KeyCode::Esc,
        "Up" => KeyCode::Up,
        "Down" => KeyCode::Down,
        "Left" => KeyCode::Left,
        "Right" => KeyCode::Right,
        "PageUp" => KeyCode::PageUp,
        "PageDown" => KeyCode::PageDown,
        "Home" => KeyCode::Home,
        "End" => KeyCode::End,
        "Tab" => KeyCode::Tab,
        _ => {
            let mut chars = name.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => KeyCode::Char(c),
                _ => return false,
            }
        }
    };
    key.code == code
}

/// The action bound to `key`, if any.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    KEYMAP
        .iter()
        .find(|b| b.on.iter().any(|name| is_key(name, key)))
        .map(|b| b.run)
}

/// How a key name is shown in help: arrows as arrows, Ctrl as `Ctrl-`.
pub fn display(name: &str) -> String {
    match name {
        "Up" => "↑".into(),
        "Down" => "↓".into(),
        "Left" => "←".into(),
        "Right" => "→".into(),
        "PageUp" => "PgUp".into(),
        "PageDown" => "PgDn".into(),
        other => match other.strip_prefix("C-") {
            Some(c) => format!("Ctrl-{c}"),
            None => other.to_string(),
        },
    }
}

/// The help overlay's lines: (heading, [(keys, description)]) per scope.
/// Neighbouring rows that say the same (a pair such as `n`/`N`, whose
/// description names both directions) share one line, so the whole map
/// fits 80×24.
pub fn help() -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    let mut out: Vec<(&'static str, Vec<(String, &'static str)>)> = Vec::new();
    for b in KEYMAP {
        let keys =
            b.on.iter()
                .map(|k| display(k))
                .collect::<Vec<_>>()
                .join(" ");
        match out.last_mut() {
            Some((title, rows)) if *title == b.scope.title() => match rows.last_mut() {
                Some((shown, desc)) if *desc == b.desc => {
                    shown.push(' ');
                    shown.push_str(&keys);
                }
                _ => rows.push((keys, b.desc)),
            },
            _ => out.push((b.scope.title(), vec![(keys, b.desc)])),
        }
    }
    out
}

/// The first key bound to `action`, as shown to users (for hints).
pub fn key_of(action: Action) -> String {
    KEYMAP
        .iter()
        .find(|b| b.run == action)
        .and_then(|b| b.on.first())
        .map_or_else(String::new, |k| display(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_of_the_contract_map_to_their_actions() {
        let cases = [
            (KeyCode::Char('?'), Action::Help),
            (KeyCode::Char('q'), Action::Quit),
            (KeyCode::Char('1'), Action::Flows),
            (KeyCode::Char('4'), Action::Logs),
            (KeyCode::Enter, Action::Enter),
            (KeyCode::Esc, Action::Back),
            (KeyCode::Char('j'), Action::Down),
            (KeyCode::Down, Action::Down),
            (KeyCode::Char('h'), Action::Left),
            (KeyCode::Char('G'), Action::Last),
            (KeyCode::PageDown, Action::PageDown),
            (KeyCode::Char('<'), Action::OlderRuns),
            (KeyCode::Char('>'), Action::NewerRuns),
            (KeyCode::Char('/'), Action::Filter),
            (KeyCode::Char('N'), Action::PrevMatch),
            (KeyCode::Char('t'), Action::Trigger),
            (KeyCode::Char('c'), Action::Clear),
            (KeyCode::Char('s'), Action::MarkSuccess),
            (KeyCode::Char('F'), Action::MarkFailed),
            (KeyCode::Char('x'), Action::Kill),
            (KeyCode::Char('p'), Action::Pause),
            (KeyCode::Char('f'), Action::Follow),
            (KeyCode::Char('w'), Action::Wrap),
            (KeyCode::Char('['), Action::PrevTry),
            (KeyCode::Char(']'), Action::NextTry),
            (KeyCode::Char('T'), Action::CycleTheme),
            (KeyCode::Char('L'), Action::OwnLog),
            (KeyCode::Char(':'), Action::CommandLine),
        ];
        for (code, action) in cases {
            assert_eq!(action_for(&key(code)), Some(action), "{code:?}");
        }
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&ctrl_c), Some(Action::Quit));
        assert_eq!(action_for(&key(KeyCode::Char('z'))), None);
    }

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = std::collections::HashSet::new();
        for b in KEYMAP {
            for k in b.on {
                assert!(seen.insert(*k), "key {k} bound twice");
            }
        }
    }

    #[test]
    fn help_lists_every_binding_once() {
        let rows: usize = help().iter().map(|(_, r)| r.len()).sum();
        let shared = KEYMAP
            .windows(2)
            .filter(|w| w[0].desc == w[1].desc && w[0].scope == w[1].scope)
            .count();
        assert_eq!(rows, KEYMAP.len() - shared);
        let keys: usize = help()
            .iter()
            .flat_map(|(_, r)| r)
            .map(|(k, _)| k.split(' ').count())
            .sum();
        let bound: usize = KEYMAP.iter().map(|b| b.on.len()).sum();
        assert_eq!(keys, bound, "every key is listed");
        assert_eq!(help().first().map(|(t, _)| *t), Some("Everywhere"));
    }
}
