//! The TUI's views drawn on ratatui's TestBackend from a real store, as
//! insta snapshots, plus checks of colours that
//! carry meaning and of what keys do to the app.

mod common;

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use common::TestHome;
use common::tui_fixture::{self, ETL, add_run};
use drover::api::Action;
use drover::flow::Flow;
use drover::store::{RunState, Store, TaskState};
use drover::tui::app::{App, Effect, Overlay, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

struct Fixture {
    _home: TestHome,
    store: Store,
    flows: Vec<Arc<Flow>>,
    runs: Vec<String>,
}

/// Three runs of `etl` (success, failed, running) and a paused manual
/// flow `backup` with none; a log for the failed try.
fn fixture() -> Fixture {
    let home = TestHome::new();
    home.flow("etl", ETL);
    home.flow(
        "backup",
        "description = \"Nightly backup\"\n[tasks.dump]\ncmd = \"true\"\n",
    );
    let (store, flows) = tui_fixture::open(home.path());
    let etl = flows
        .iter()
        .find(|f| f.id == "etl")
        .expect("etl flow")
        .clone();
    let day = |d| Utc.with_ymd_and_hms(2026, 11, d, 3, 0, 0).unwrap();
    use TaskState::*;
    let ok = add_run(
        &store,
        &etl,
        day(29),
        RunState::Success,
        Some(95),
        &[
            ("extract", Success, 1),
            ("clean_a", Success, 1),
            ("clean_b", Success, 1),
            ("load", Success, 1),
            ("report", Success, 1),
        ],
    );
    let failed = add_run(
        &store,
        &etl,
        day(30),
        RunState::Failed,
        Some(130),
        &[
            ("extract", Success, 1),
            ("clean_a", Success, 1),
            ("clean_b", Failed, 3),
            ("load", UpstreamFailed, 0),
            ("report", UpstreamFailed, 0),
        ],
    );
    let running = add_run(
        &store,
        &etl,
        Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap(),
        RunState::Running,
        None,
        &[
            ("extract", Success, 1),
            ("clean_a", Running, 1),
            ("clean_b", Queued, 0),
        ],
    );
    store
        .put_flow_state("backup", &drover::store::FlowState { paused: true })
        .expect("pause backup");
    store.commit().expect("commit");
    let log = home
        .path()
        .join(format!(".drover/logs/etl/{}/clean_b.3.log", failed.id));
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(
        &log,
        "reading batch.csv\nparsed 200 rows\nERROR: column 3 is not a number at row 17\n\u{1b}[31mTraceback\u{1b}[0m (most recent call last)\nerror: giving up\nrow 17: 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33\n",
    )
    .unwrap();
    Fixture {
        _home: home,
        store,
        flows,
        runs: vec![ok.id, failed.id, running.id],
    }
}

fn app(f: &Fixture, width: u16, height: u16) -> App {
    tui_fixture::app(&f.store, &f.flows, 1, width, height)
}

fn buffer(app: &App) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(app.ctx.width, app.ctx.height)).unwrap();
    terminal
        .draw(|frame| drover::tui::screen::draw(app, frame))
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The screen as text, one line per row, trailing spaces cut.
fn text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn screen(app: &App) -> String {
    text(&buffer(app))
}

/// Snapshots. Every time shown is in the flow's timezone, so none
/// depends on the machine's and nothing is filtered.
macro_rules! snapshot {
    ($name:expr, $text:expr) => {
        insta::assert_snapshot!($name, $text);
    };
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn keys(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// Position of the first cell holding `symbol` on row `y`.
fn find(buf: &Buffer, y: u16, symbol: &str) -> Option<u16> {
    (0..buf.area.width).find(|&x| buf[(x, y)].symbol() == symbol)
}

fn row_of(buf: &Buffer, needle: &str) -> u16 {
    let t = text(buf);
    t.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not on screen:\n{t}")) as u16
}

#[test]
fn flows_view() {
    let f = fixture();
    let app = app(&f, 80, 24);
    let shown = screen(&app);
    assert!(shown.contains("⏸ paused"), "{shown}");
    snapshot!("flows_80x24", shown);
}

#[test]
fn grid_view() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Grid);
    assert_eq!(app.grid.flow_id, "etl");
    snapshot!("grid_80x24", screen(&app));
}

#[test]
fn graph_view() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    app.open_flow("etl");
    app.view = View::Grid;
    key(&mut app, KeyCode::Char('h'));
    key(&mut app, KeyCode::Char('3'));
    assert_eq!(app.view, View::Graph);
    key(&mut app, KeyCode::Char('l'));
    assert_eq!(app.grid.selected_task(), Some("clean_a"));
    snapshot!("graph_80x24", screen(&app));
}

#[test]
fn logs_view_with_search() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    app.open_flow("etl");
    app.view = View::Grid;
    key(&mut app, KeyCode::Char('h'));
    keys(&mut app, "jj");
    assert_eq!(app.grid.selected_task(), Some("clean_b"));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Logs);
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "error");
    key(&mut app, KeyCode::Enter);
    let log = app.logs.log.as_ref().expect("a log is open");
    assert_eq!(
        log.matches,
        vec![2, 4],
        "smart-case search finds both lines"
    );
    let buf = buffer(&app);
    let shown = text(&buf);
    assert!(
        !shown.contains('\u{1b}'),
        "escape sequences never reach the screen"
    );
    // The current match is drawn selected, the other one as a match.
    let theme = app.theme();
    let y = row_of(&buf, "ERROR: column");
    assert_eq!(buf[(0, y)].bg, theme.selection().bg.unwrap());
    let y = row_of(&buf, "error: giving up");
    assert_eq!(buf[(0, y)].bg, theme.matched().bg.unwrap());
    snapshot!("logs_80x24", shown);
    // The task's own colour codes colour its text.
    let y = row_of(&buf, "Traceback");
    assert_eq!(
        buf[(0, y)].fg,
        ratatui::style::Color::Red,
        "Traceback is red"
    );
    assert_eq!(
        buf[(10, y)].fg,
        theme.text().fg.unwrap_or(ratatui::style::Color::Reset)
    );
    // `[` goes to the previous try, `]` back.
    key(&mut app, KeyCode::Char('['));
    assert_eq!(app.logs.log.as_ref().unwrap().try_number, 2);
    // An older try is not followed, even at its end: following is of the
    // task's newest try.
    assert!(!app.logs.log.as_ref().unwrap().follow);
    key(&mut app, KeyCode::Char('G'));
    assert!(!app.logs.log.as_ref().unwrap().follow);
    key(&mut app, KeyCode::Char(']'));
    assert_eq!(app.logs.log.as_ref().unwrap().try_number, 3);
    key(&mut app, KeyCode::Char('G'));
    assert!(
        app.logs.log.as_ref().unwrap().follow,
        "the newest try's end follows"
    );
    key(&mut app, KeyCode::Char('f'));
    // l scrolls sideways while lines are not wrapped.
    key(&mut app, KeyCode::Char('l'));
    let shown = screen(&app);
    assert!(
        shown.contains("\nbatch.csv\n"),
        "reading batch.csv shifted by 8:\n{shown}"
    );
    key(&mut app, KeyCode::Char('h'));
    assert!(screen(&app).contains("\nreading batch.csv\n"));
    // a shows when each line arrived, from the log's index.
    let files = home_log(&f, "clean_b", 3);
    let t0 = Utc.with_ymd_and_hms(2026, 11, 30, 3, 0, 5).unwrap();
    let second_line = "reading batch.csv\n".len() as u64;
    let mut idx = Vec::new();
    for (off, at) in [(0u64, t0), (second_line, t0 + Duration::milliseconds(1500))] {
        idx.extend_from_slice(&off.to_le_bytes());
        idx.extend_from_slice(&at.timestamp_millis().to_le_bytes());
    }
    std::fs::write(files.with_extension("idx"), idx).unwrap();
    key(&mut app, KeyCode::Char('a'));
    let shown = screen(&app);
    // In the flow's timezone (etl's is UTC), which the header names.
    assert!(shown.contains("times UTC · follow"), "{shown}");
    let local = |t: chrono::DateTime<Utc>| t.format("%H:%M:%S%.3f").to_string();
    assert!(
        shown.contains(&format!("{} reading batch.csv", local(t0))),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "{} parsed 200 rows",
            local(t0 + Duration::milliseconds(1500))
        )),
        "{shown}"
    );
    key(&mut app, KeyCode::Char('a'));
    // A search that finds nothing says so at once.
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "zebra");
    key(&mut app, KeyCode::Enter);
    let message = app.ctx.message.clone().expect("a message");
    assert!(
        message.error && message.text.contains("no line matches `zebra`"),
        "{message:?}"
    );
}

#[test]
fn logs_header_and_grid_foot_say_tries_alike() {
    let f = fixture();
    let mut app = app(&f, 100, 30);
    app.open_flow("etl");
    app.view = View::Grid;
    key(&mut app, KeyCode::Char('h'));
    keys(&mut app, "jj");
    assert_eq!(app.grid.selected_task(), Some("clean_b"));
    let shown = screen(&app);
    assert!(shown.contains("try 3 of up to 3"), "{shown}");
    key(&mut app, KeyCode::Enter);
    let shown = screen(&app);
    assert!(shown.contains("\ntry 3 of up to 3 · ✗ failed"), "{shown}");
    key(&mut app, KeyCode::Char('['));
    let shown = screen(&app);
    assert!(shown.contains("\ntry 2 of up to 3 · ✗ failed"), "{shown}");
}

#[test]
fn help_overlay_lists_the_keymap() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    key(&mut app, KeyCode::Char('?'));
    let shown = screen(&app);
    for row in drover::tui::keymap::KEYMAP {
        assert!(
            shown.contains(row.desc),
            "help shows `{}`:\n{shown}",
            row.desc
        );
    }
    snapshot!("help_80x24", shown);
    key(&mut app, KeyCode::Char('z'));
    assert_eq!(app.overlay, None, "any other key closes help");
}

#[test]
fn too_small_screen_shows_a_notice() {
    let f = fixture();
    let app = app(&f, 20, 5);
    let shown = screen(&app);
    assert!(shown.contains("terminal too"), "{shown}");
    snapshot!("too_small_20x5", shown);
}

#[test]
fn state_colours_carry_meaning_and_glyphs_survive_no_color() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    app.open_flow("etl");
    app.view = View::Grid;
    let theme = app.theme().clone();
    let buf = buffer(&app);
    let y = row_of(&buf, "clean_b");
    let failed = find(&buf, y, "✗").expect("failed cell");
    assert_eq!(
        buf[(failed, y)].fg,
        theme.task(TaskState::Failed).fg.unwrap()
    );
    let y = row_of(&buf, "extract");
    let ok = find(&buf, y, "✓").expect("success cell");
    assert_eq!(buf[(ok, y)].fg, theme.task(TaskState::Success).fg.unwrap());
    assert_ne!(
        theme.task(TaskState::Failed).fg,
        theme.task(TaskState::Success).fg
    );
    // Without colour every cell is plain, and the glyphs still tell states apart.
    app.themes = vec![theme.monochrome()];
    let buf = buffer(&app);
    for cell in buf.content() {
        assert!(
            matches!(cell.fg, ratatui::style::Color::Reset)
                && matches!(cell.bg, ratatui::style::Color::Reset),
            "no colour with NO_COLOR: {cell:?}"
        );
    }
    let shown = text(&buf);
    for glyph in ["✓", "✗", "⊘", "▶", "◷", "·"] {
        assert!(shown.contains(glyph), "glyph {glyph} shown:\n{shown}");
    }
}

#[test]
fn clear_dialog_previews_and_toggles_what_it_resets() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    app.open_flow("etl");
    app.view = View::Grid;
    key(&mut app, KeyCode::Char('h'));
    keys(&mut app, "jj");
    key(&mut app, KeyCode::Char('c'));
    let reset = |app: &App| match &app.overlay {
        Some(Overlay::Clear { reset, .. }) => reset.clone(),
        other => panic!("clear dialog open, got {other:?}"),
    };
    assert_eq!(
        reset(&app),
        ["clean_b", "load", "report"],
        "downstream is on by default"
    );
    // The tasks to reset are highlighted in the grid behind the dialog.
    let buf = buffer(&app);
    let theme = app.theme().clone();
    let y = row_of(&buf, "report ");
    let cell = find(&buf, y, "⊘").expect("report's cell");
    assert_eq!(buf[(cell, y)].bg, theme.matched().bg.unwrap());
    snapshot!("clear_dialog_80x24", text(&buf));
    key(&mut app, KeyCode::Char('u'));
    assert_eq!(reset(&app), ["extract", "clean_b", "load", "report"]);
    key(&mut app, KeyCode::Char('f'));
    assert_eq!(
        reset(&app),
        ["clean_b", "load", "report"],
        "failed only keeps failed ones"
    );
    key(&mut app, KeyCode::Char('d'));
    key(&mut app, KeyCode::Char('u'));
    assert_eq!(reset(&app), ["clean_b"]);
    // r widens it to the whole run (failed only still counts).
    key(&mut app, KeyCode::Char('r'));
    assert_eq!(reset(&app), ["clean_b", "load", "report"]);
    key(&mut app, KeyCode::Char('r'));
    assert_eq!(reset(&app), ["clean_b"]);
    let effects = key(&mut app, KeyCode::Char('y'));
    assert_eq!(
        effects,
        [Effect::Act {
            action: Action::Clear(drover::api::ClearQuery {
                flow: "etl".into(),
                run: f.runs[1].clone(),
                tasks: vec!["clean_b".into()],
                downstream: false,
                upstream: false,
                failed_only: false,
            }),
            what: "clear 1 task".into()
        }]
    );
}

#[test]
fn trigger_form_is_prefilled_with_the_flow_params() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('t'));
    match &app.overlay {
        Some(Overlay::Trigger { flow, fields, .. }) => {
            assert_eq!(flow, "etl");
            assert_eq!(fields, &[("source".to_string(), "events".to_string())]);
        }
        other => panic!("trigger form open, got {other:?}"),
    }
    snapshot!("trigger_form_80x24", screen(&app));
    // Esc then `:` typed fast arrive as Alt+`:`: the form closes, the
    // command line opens, nothing is typed into the field.
    app.on_key(KeyEvent::new(KeyCode::Char(':'), KeyModifiers::ALT));
    assert_eq!(app.overlay, None);
    assert!(app.input.as_ref().is_some_and(|i| i.text.is_empty()));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('t'));
    for _ in 0.."events".len() {
        key(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, "clicks");
    // The cursor moves within the field: Home, Delete, Left, a letter.
    key(&mut app, KeyCode::Home);
    key(&mut app, KeyCode::Delete);
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Left);
    keys(&mut app, "e");
    let effects = key(&mut app, KeyCode::Enter);
    assert_eq!(
        effects,
        [Effect::Act {
            action: Action::Trigger {
                flow: "etl".into(),
                params: [("source".to_string(), "lickes".to_string())].into(),
                date: None,
                json: false,
            },
            what: "trigger etl".into()
        }]
    );
}

#[test]
fn quitting_with_running_tasks_asks_what_to_do_with_them() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    assert!(key(&mut app, KeyCode::Char('q')).is_empty());
    assert_eq!(
        app.overlay,
        Some(Overlay::Quit {
            running: 1,
            scheduled: 1
        })
    );
    snapshot!("quit_80x24", screen(&app));
    // A screen too small for the dialog still asks.
    (app.ctx.width, app.ctx.height) = (40, 10);
    assert!(
        screen(&app).contains("b keep in background"),
        "{}",
        screen(&app)
    );
    (app.ctx.width, app.ctx.height) = (80, 24);
    assert!(key(&mut app, KeyCode::Esc).is_empty());
    assert_eq!(app.overlay, None);
    let quit = |stop_tasks, background| {
        [Effect::Quit {
            stop_tasks,
            background,
        }]
    };
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(key(&mut app, KeyCode::Char('s')), quit(true, false));
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(key(&mut app, KeyCode::Char('l')), quit(false, false));
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(key(&mut app, KeyCode::Char('b')), quit(false, true));
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(key(&mut app, KeyCode::Enter), quit(false, true));
    // With nothing running, the schedule is still worth the question (and
    // there is no stopping of tasks to offer).
    let mut idle = tui_fixture::app(&f.store, &f.flows, 0, 80, 24);
    assert!(key(&mut idle, KeyCode::Char('q')).is_empty());
    assert!(
        !screen(&idle).contains("stop the running tasks"),
        "{}",
        screen(&idle)
    );
    assert!(key(&mut idle, KeyCode::Char('s')).is_empty());
    // With nothing running and no schedule (or it paused), q quits at once.
    idle.overlay = None;
    for row in &mut idle.flows.rows {
        row.paused = true;
    }
    assert_eq!(key(&mut idle, KeyCode::Char('q')), quit(false, false));
}

#[test]
fn a_read_only_screen_says_so_and_asks_nothing() {
    let f = fixture();
    let mut app = app(&f, 100, 30);
    assert!(!screen(&app).contains("read-only"), "{}", screen(&app));
    app.ctx.read_only = true;
    let shown = screen(&app);
    let last = shown.lines().last().unwrap_or_default().to_string();
    assert!(last.contains("read-only · ▶ 1/4 slots"), "{shown}");
    // Every key that would change something is refused at once: on the
    // Flows view, and on a task of the Grid.
    let refused = |app: &mut App, k: char| {
        app.ctx.message = None;
        assert!(key(app, KeyCode::Char(k)).is_empty());
        assert_eq!(app.overlay, None, "`{k}` opened a dialog");
        assert!(
            screen(app).contains("this screen is read-only"),
            "{}",
            screen(app)
        );
    };
    for k in ['t', 'p'] {
        refused(&mut app, k);
    }
    key(&mut app, KeyCode::Char('2'));
    assert_eq!(app.view, View::Grid);
    for k in ['c', 's', 'F', 'x', 't'] {
        refused(&mut app, k);
    }
}

#[test]
fn destructive_actions_ask_first_and_refuse_what_cannot_be_done() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    app.open_flow("etl");
    app.view = View::Grid;
    // The newest run's clean_a is running: x asks before killing it.
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.grid.selected_task(), Some("clean_a"));
    assert!(key(&mut app, KeyCode::Char('x')).is_empty());
    assert!(
        matches!(&app.overlay, Some(Overlay::Confirm { action, .. }) if action.command_line()[0] == "kill" && action.command_line()[3] == "clean_a")
    );
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.overlay, None);
    // extract is done: nothing to kill.
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Char('x'));
    assert_eq!(app.overlay, None);
    let message = app.ctx.message.clone().expect("a message");
    assert!(
        message.error && message.text.contains("not running"),
        "{message:?}"
    );
    // s asks, then marks.
    key(&mut app, KeyCode::Char('s'));
    let effects = key(&mut app, KeyCode::Char('y'));
    assert!(
        matches!(&effects[..], [Effect::Act { action, .. }] if action.command_line()[..] == ["mark", "etl", f.runs[2].as_str(), "extract", "success"])
    );
    // p pauses the flow after asking.
    key(&mut app, KeyCode::Char('p'));
    let effects = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::Act { action, .. }] if action.command_line()[..] == ["pause", "etl"])
    );
}

#[test]
fn trigger_command_opens_the_named_flows_form_and_completes_names() {
    let f = fixture();
    let mut app = app(&f, 100, 30);
    // Flows are sorted: backup is selected, etl is named.
    assert_eq!(app.flows.selected_id().as_deref(), Some("backup"));
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "trigger ");
    assert_eq!(app.choices("trigger "), vec!["backup", "etl"]);
    keys(&mut app, "e");
    key(&mut app, KeyCode::Tab);
    assert_eq!(
        app.input.as_ref().map(|i| i.text.as_str()),
        Some("trigger etl")
    );
    key(&mut app, KeyCode::Enter);
    match &app.overlay {
        Some(Overlay::Trigger { flow, fields, .. }) => {
            assert_eq!(flow, "etl");
            assert_eq!(fields, &[("source".to_string(), "events".to_string())]);
        }
        other => panic!("etl's trigger form, not {other:?}"),
    }
    assert!(screen(&app).contains("trigger etl"));
    // A name that is no flow says so, with a hint.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "trigger etk");
    key(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_none());
    let message = app.ctx.message.clone().expect("a message");
    assert!(
        message.error && message.text.contains("no flow `etk`") && message.text.contains("etl"),
        "{message:?}"
    );
}

#[test]
fn command_line_and_filter() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "grid etll");
    key(&mut app, KeyCode::Enter);
    let message = app.ctx.message.clone().expect("a message");
    assert!(
        message.error && message.text.contains("did you mean `etl`"),
        "{message:?}"
    );
    // Tab completes commands, then flow names.
    assert_eq!(app.complete("gr"), "gr");
    assert_eq!(app.complete("gri"), "grid ");
    assert_eq!(app.complete("them"), "theme ");
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "grap");
    key(&mut app, KeyCode::Tab);
    keys(&mut app, "e");
    key(&mut app, KeyCode::Tab);
    assert_eq!(
        app.input.as_ref().map(|i| i.text.as_str()),
        Some("graph etl")
    );
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Graph);
    assert_eq!(
        app.flows.selected_id().as_deref(),
        Some("etl"),
        "Flows follows :graph"
    );
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "theme nope");
    key(&mut app, KeyCode::Enter);
    assert!(
        app.ctx
            .message
            .as_ref()
            .is_some_and(|m| m.error && m.text.contains("no theme `nope`"))
    );
    key(&mut app, KeyCode::Char('1'));
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "bac");
    assert_eq!(app.flows.visible().len(), 1);
    assert_eq!(app.flows.selected_id().as_deref(), Some("backup"));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.flows.visible().len(), 2, "Esc drops the filter");
}

#[test]
fn grid_scrolls_back_through_many_runs() {
    let home = TestHome::new();
    home.flow("etl", ETL);
    let (store, flows) = tui_fixture::open(home.path());
    let etl = flows[0].clone();
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 3, 0, 0).unwrap();
    for d in 0..300 {
        let state = if d % 7 == 0 {
            RunState::Failed
        } else {
            RunState::Success
        };
        add_run(
            &store,
            &etl,
            start + Duration::days(d),
            state,
            Some(60 + d),
            &[],
        );
    }
    let mut app = tui_fixture::app(&store, &flows, 0, 80, 24);
    app.open_flow("etl");
    app.view = View::Grid;
    assert_eq!(app.grid.total_runs, 300);
    assert!(app.grid.runs.len() < 300, "runs load page by page");
    for _ in 0..299 {
        key(&mut app, KeyCode::Char('h'));
    }
    assert_eq!(app.grid.run, 299, "reaches the oldest run");
    assert_eq!(app.grid.selected_run().map(|r| r.logical), Some(start));
    let shown = screen(&app);
    assert!(shown.contains("run 1 of 300"), "{shown}");
    assert!(
        app.grid.instances.len() <= 3 * app.grid.columns(&app.ctx),
        "only runs on screen and a screen either side keep their instances"
    );
}

/// A flow of `tasks` chained tasks, `runs` daily runs from 2026-01-01 of
/// which the newest `queued` have not started; all tasks succeed in the
/// runs that ran.
fn big_grid(tasks: usize, runs: i64, queued: i64) -> (TestHome, Store, Vec<Arc<Flow>>) {
    let home = TestHome::new();
    let mut text = String::from("schedule = \"0 3 * * *\"\n");
    for i in 0..tasks {
        text.push_str(&format!("[tasks.t{i:03}]\ncmd = \"true\"\n"));
        if i > 0 {
            text.push_str(&format!("deps = [\"t{:03}\"]\n", i - 1));
        }
    }
    home.flow("big", &text);
    let (store, flows) = tui_fixture::open(home.path());
    let big = flows[0].clone();
    let names: Vec<String> = big.tasks.iter().map(|t| t.id.clone()).collect();
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 3, 0, 0).unwrap();
    for d in 0..runs {
        let ran = d < runs - queued;
        let set: Vec<(&str, TaskState, u32)> = if ran {
            names
                .iter()
                .map(|n| (n.as_str(), TaskState::Success, 1))
                .collect()
        } else {
            Vec::new()
        };
        let mut run = add_run(
            &store,
            &big,
            start + Duration::days(d),
            RunState::Success,
            Some(60 + d),
            &set,
        );
        if !ran {
            run.state = RunState::Queued;
            run.started = None;
            run.ended = None;
            store.put_run(&run).expect("put run");
            store.commit().expect("commit");
        }
    }
    (home, store, flows)
}

#[test]
fn grid_task_counter_never_covers_run_cells() {
    let (_home, store, flows) = big_grid(200, 40, 0);
    let mut app = tui_fixture::app(&store, &flows, 0, 80, 24);
    app.open_flow("big");
    app.view = View::Grid;
    let buf = buffer(&app);
    let shown = text(&buf);
    let cols = app.grid.columns(&app.ctx);
    let x0 = app.grid.name_width(&app.ctx) + 1;
    let states_y = row_of(&buf, "runs");
    // Every run column on the states row and on every task row holds a
    // glyph, up to the newest run at the right.
    for y in states_y..states_y + 1 + app.grid.height(&app.ctx) as u16 {
        for c in 0..cols as u16 {
            let cell = buf[(x0 + c * 2, y)].symbol();
            assert!(
                cell == "✓",
                "column {c} of row {y} shows `{cell}`, not its run's glyph:\n{shown}"
            );
        }
    }
    // The counter sits on the rule above the details.
    let rule = row_of(&buf, "tasks 1-");
    assert!(
        rule > states_y + app.grid.height(&app.ctx) as u16,
        "{shown}"
    );
    assert!(
        line(&shown, "──").contains(&format!("tasks 1-{} of 200", app.grid.height(&app.ctx))),
        "{shown}"
    );
    assert_eq!(shown.matches(" of 200").count(), 1, "{shown}");
}

#[test]
fn queued_runs_have_no_duration_bar_and_no_say_in_the_scale() {
    let (_home, store, flows) = big_grid(3, 6, 2);
    let mut app = tui_fixture::app(&store, &flows, 0, 80, 24);
    app.open_flow("big");
    app.view = View::Grid;
    let buf = buffer(&app);
    let shown = text(&buf);
    let x0 = app.grid.name_width(&app.ctx) + 1;
    let bars_top = 2;
    // Newest first: columns 4 and 5 are the two queued runs.
    for c in 4..6u16 {
        for y in bars_top..bars_top + 4 {
            assert_eq!(
                buf[(x0 + c * 2, y)].symbol(),
                " ",
                "queued run {c} has no bar:\n{shown}"
            );
        }
    }
    for c in 0..4u16 {
        assert_ne!(
            buf[(x0 + c * 2, bars_top + 3)].symbol(),
            " ",
            "run {c} ran:\n{shown}"
        );
    }
    // The scale is the longest run that ran: 63 s.
    let scale = shown.lines().nth(bars_top as usize).unwrap_or("");
    assert!(
        scale.trim_start().starts_with("1m 03s") || scale.contains("63"),
        "{shown}"
    );
    assert!(!shown.contains("1ms"), "{shown}");

    // Only queued runs: no bars, no scale.
    let (_home, store, flows) = big_grid(3, 2, 2);
    let mut app = tui_fixture::app(&store, &flows, 0, 80, 24);
    app.open_flow("big");
    app.view = View::Grid;
    let buf = buffer(&app);
    let shown = text(&buf);
    for y in bars_top..bars_top + 4 {
        assert_eq!(shown.lines().nth(y as usize), Some(""), "no bars:\n{shown}");
    }
}

#[test]
fn runs_page_by_screen_and_jump_to_a_date() {
    let (_home, store, flows) = big_grid(200, 300, 0);
    let mut app = tui_fixture::app(&store, &flows, 0, 80, 24);
    app.open_flow("big");
    app.view = View::Grid;
    let cols = app.grid.columns(&app.ctx);
    key(&mut app, KeyCode::Char('<'));
    assert_eq!(app.grid.run, cols, "a screen older");
    assert_eq!(app.grid.run_offset, cols, "the selection keeps its column");
    let mut presses = 1;
    while app.grid.run < 299 {
        key(&mut app, KeyCode::Char('<'));
        presses += 1;
        assert!(
            presses <= 300 / cols + 1,
            "reaches the oldest run a screen at a time"
        );
    }
    assert_eq!(
        app.grid
            .selected_run()
            .map(|r| r.logical.date_naive().to_string()),
        Some("2026-01-01".into())
    );
    assert!(screen(&app).contains("run 1 of 300"));
    key(&mut app, KeyCode::Char('>'));
    assert_eq!(app.grid.run, 299 - cols);
    for _ in 0..presses {
        key(&mut app, KeyCode::Char('>'));
    }
    assert_eq!(app.grid.run, 0, "back to the newest");
    assert!(
        app.grid.instances.len() <= 3 * cols,
        "instances are kept for three screens at most, not every run seen"
    );

    // :run DATE selects the newest run at or before it, in view.
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "run 2026-03-01");
    key(&mut app, KeyCode::Enter);
    let run = app.grid.selected_run().expect("a run selected");
    assert_eq!(
        run.logical,
        Utc.with_ymd_and_hms(2026, 3, 1, 3, 0, 0).unwrap()
    );
    let c = (0..cols).find(|&c| app.grid.column_run(c, cols) == Some(app.grid.run));
    assert!(c.is_some(), "the run is on screen");
    let shown = screen(&app);
    assert!(shown.contains("scheduled__2026-03-01T03:00:00Z"), "{shown}");
    assert!(shown.contains("run 60 of 300"), "{shown}");
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "run 2026-03-01T02:59");
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        app.grid.selected_run().map(|r| r.logical),
        Some(Utc.with_ymd_and_hms(2026, 2, 28, 3, 0, 0).unwrap()),
        "a time: the run before it"
    );
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "run 2025-06-01");
    key(&mut app, KeyCode::Enter);
    let message = app.ctx.message.clone().expect("a message");
    assert!(
        message.error && message.text.contains("no run at or before 2025-06-01"),
        "{message:?}"
    );
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "run yesterday");
    key(&mut app, KeyCode::Enter);
    let message = app.ctx.message.clone().expect("a message");
    assert!(
        message.error && message.text.contains("is not a date"),
        "{message:?}"
    );
}

#[test]
fn engine_events_refresh_what_they_touch_before_the_next_frame() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    app.open_flow("etl");
    app.view = View::Grid;
    let running = f.store.run("etl", &f.runs[2]).unwrap().unwrap();
    let before = screen(&app);
    assert!(line(&before, "clean_a").ends_with('▶'), "{before}");
    // The engine finishes clean_a and says so.
    let mut ti = f.store.task_instance(&running, "clean_a").unwrap().unwrap();
    ti.state = TaskState::Success;
    f.store.put_task_instance(&running, &ti).unwrap();
    f.store.commit().unwrap();
    let event = drover::engine::EngineEvent::TaskChanged {
        flow: "etl".into(),
        run_id: running.id.clone(),
        task: "clean_a".into(),
        state: TaskState::Success,
        try_number: 1,
        reason: None,
    };
    assert!(app.on_engine(&event), "a change on screen asks for a frame");
    app.catch_up();
    let after = screen(&app);
    assert!(line(&after, "clean_a").ends_with('✓'), "{after}");
    // An event about a flow not on screen asks for nothing.
    let other = drover::engine::EngineEvent::TaskChanged {
        flow: "backup".into(),
        run_id: "x".into(),
        task: "dump".into(),
        state: TaskState::Running,
        try_number: 1,
        reason: None,
    };
    assert!(!app.on_engine(&other));
}

#[test]
fn a_flow_changed_event_shows_its_pause_on_the_flows_view() {
    let f = fixture();
    let mut app = app(&f, 100, 30);
    assert!(!line(&screen(&app), "▶ etl").contains("paused"));
    // `drover pause etl` in another window writes the store...
    f.store
        .put_flow_state("etl", &drover::store::FlowState { paused: true })
        .unwrap();
    f.store.commit().unwrap();
    // ...and the engine says the flow changed.
    let event = drover::engine::EngineEvent::FlowChanged { flow: "etl".into() };
    assert!(app.on_engine(&event), "a flow's change asks for a frame");
    app.catch_up();
    let shown = screen(&app);
    assert!(line(&shown, "▶ etl").contains("⏸ paused"), "{shown}");
}

/// The log file of a try in the fixture's failed run.
fn home_log(f: &Fixture, task: &str, try_number: u32) -> std::path::PathBuf {
    f._home.path().join(format!(
        ".drover/logs/etl/{}/{task}.{try_number}.log",
        f.runs[1]
    ))
}

fn line<'a>(screen: &'a str, start: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or("")
        .trim_end()
}

/// Puts the app in a state to draw.
type Setup = Box<dyn Fn(&mut App)>;

#[test]
fn every_view_draws_at_every_size_without_panicking() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    app.ctx.problems.config = Some("drover.toml:3:1: a long error about the config file".into());
    app.ctx
        .problems
        .flows
        .insert("broken".into(), "flows/broken.toml:1:1: bad".into());
    app.open_flow("etl");
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('h'));
    keys(&mut app, "jj");
    let setups: Vec<(&str, Setup)> = vec![
        ("flows", Box::new(|a: &mut App| a.view = View::Flows)),
        ("grid", Box::new(|a: &mut App| a.view = View::Grid)),
        (
            "graph",
            Box::new(|a: &mut App| {
                a.view = View::Grid;
                a.update(drover::tui::keymap::Action::Graph);
            }),
        ),
        (
            "logs",
            Box::new(|a: &mut App| {
                a.view = View::Grid;
                a.update(drover::tui::keymap::Action::Logs);
                a.update(drover::tui::keymap::Action::Wrap);
            }),
        ),
        ("own log", Box::new(|a: &mut App| a.view = View::OwnLog)),
        (
            "help",
            Box::new(|a: &mut App| {
                a.view = View::Grid;
                a.overlay = Some(Overlay::Help { scroll: 0 });
            }),
        ),
        (
            "clear",
            Box::new(|a: &mut App| {
                a.view = View::Grid;
                a.update(drover::tui::keymap::Action::Clear);
            }),
        ),
        (
            "message",
            Box::new(|a: &mut App| {
                a.view = View::Flows;
                a.ctx.message = Some(drover::tui::app::Message::sticky(
                    "a long answer ".repeat(20),
                    true,
                ));
            }),
        ),
    ];
    let mut sizes: Vec<(u16, u16)> = (0..=130).map(|w| (w, 24)).collect();
    sizes.extend((0..=50).flat_map(|h| [(80, h), (60, h), (61, h)]));
    for (name, setup) in &setups {
        app.overlay = None;
        app.ctx.message = None;
        setup(&mut app);
        for &(w, h) in &sizes {
            (app.ctx.width, app.ctx.height) = (w, h);
            let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| buffer(&app)));
            assert!(drawn.is_ok(), "{name} at {w}×{h} panicked");
        }
    }
}

#[test]
fn git_commit_in_use_and_sync_errors_show() {
    let f = fixture();
    // The newest run came from a commit.
    let mut run = f.store.run("etl", &f.runs[2]).unwrap().unwrap();
    run.commit = Some("69a48fe0123456789abcdef0123456789abcdef0".into());
    f.store.put_run(&run).unwrap();
    f.store.commit().unwrap();
    let mut app = app(&f, 100, 24);
    app.ctx.problems.git = Some(drover::gitsync::SyncState {
        commit: Some("0badc0de0123456789abcdef0123456789abcdef".into()),
        commit_time: Some(tui_fixture::now() - Duration::hours(2)),
        ..Default::default()
    });
    let shown = screen(&app);
    assert!(
        shown
            .lines()
            .nth(23)
            .unwrap_or("")
            .contains("git 0badc0d 2h ago"),
        "{shown}"
    );
    app.open_flow("etl");
    app.view = View::Grid;
    assert!(screen(&app).contains("· git 69a48fe"), "{}", screen(&app));
    // A failed sync is a warning in the status bar.
    if let Some(git) = app.ctx.problems.git.as_mut() {
        git.error = Some("cannot fetch main from ssh://x: timed out".into());
    }
    let status = screen(&app).lines().nth(23).unwrap_or("").to_string();
    assert!(
        status.contains("⚠ git 0badc0d: sync failed (L)"),
        "short beside the hints: {status}"
    );
    app.ctx.message = Some(drover::tui::app::Message::sticky("ok", false));
    (app.ctx.width, app.ctx.height) = (140, 24);
    let status = screen(&app).lines().nth(23).unwrap_or("").to_string();
    assert!(
        status.contains("⚠ git 0badc0d: cannot fetch main"),
        "whole when there is room: {status}"
    );
}

#[test]
fn control_characters_from_flow_files_show_escaped() {
    let home = TestHome::new();
    home.flow(
        "evil",
        "description = \"\\u001b]0;PWNED\\u0007\"\n[params]\nmsg = \"\\u001b[2J\"\n[tasks.a]\ncmd = \"true\"\n",
    );
    let (store, flows) = tui_fixture::open(home.path());
    let shown = screen(&tui_fixture::app(&store, &flows, 0, 100, 30));
    assert!(shown.contains("— \\u{1b}]0;PWNED\\u{7}"), "{shown}");
    assert!(shown.contains("params msg=\\u{1b}[2J"), "{shown}");
}

#[test]
fn a_broken_flow_with_a_last_good_version_keeps_its_schedule_and_next_run() {
    let f = fixture();
    let mut app = app(&f, 100, 30);
    // etl's file no longer validates; the engine keeps its last good version.
    app.ctx.problems.flows.insert(
        "etl".into(),
        "flows/etl.toml:3:12: `schedule`: bad cron field".into(),
    );
    app.refresh_flows();
    let buf = buffer(&app);
    let shown = text(&buf);
    let row = line(&shown, "▶ etl");
    assert!(row.contains("⚠ 0 3 * * *"), "{shown}");
    assert!(row.contains("12-02 03:00 UTC in 15h"), "{shown}");
    let y = row_of(&buf, "▶ etl");
    let x = find(&buf, y, "⚠").expect("⚠ on the row");
    assert_eq!(
        buf[(x, y)].fg,
        app.theme().warning().fg.unwrap_or_default(),
        "the marker is a warning"
    );
    // A file that never validated says only that.
    app.ctx
        .problems
        .flows
        .insert("nova".into(), "flows/nova.toml:1:1: bad".into());
    app.refresh_flows();
    let shown = screen(&app);
    assert!(
        line(&shown, "✗ nova").contains("⚠ does not validate"),
        "{shown}"
    );
}

#[test]
fn an_answer_shows_for_a_few_seconds_and_all_of_it_goes_to_the_log() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    let hints = line(&screen(&app), " ? help").to_string();
    assert!(hints.contains("q quit"), "{hints}");
    let answer = drover::control::Answer {
        out: "triggered etl manual__2026-12-01T12:00:00Z with source=events, \
              a long answer that does not fit in the status bar at 80 columns\n\
              second line \u{1b}[2J\n"
            .into(),
        err: String::new(),
        code: 0,
    };
    app.answered("trigger etl", &answer);
    let bar = screen(&app).lines().nth(23).unwrap_or("").to_string();
    assert!(bar.starts_with(" triggered etl manual__"), "{bar}");
    assert!(
        bar.contains("… (L)"),
        "a cut answer points at the log: {bar}"
    );
    // The clock's tick takes it away after MESSAGE_FOR, and not before.
    let now = tui_fixture::now();
    assert!(!app.set_now(now + Duration::seconds(4)));
    assert!(screen(&app).contains(" triggered etl"));
    assert!(
        app.set_now(now + Duration::seconds(5)),
        "its going asks for a frame"
    );
    assert!(app.ctx.message.is_none());
    assert_eq!(screen(&app).lines().nth(23).unwrap_or(""), hints);
    // drover's log gets every line, whole and escaped.
    assert_eq!(
        drover::tui::app::answer_log("trigger etl", &answer),
        [
            "trigger etl: triggered etl manual__2026-12-01T12:00:00Z with source=events, \
             a long answer that does not fit in the status bar at 80 columns",
            "trigger etl: second line \\u{1b}[2J",
        ]
    );
    let failed = drover::control::Answer {
        out: String::new(),
        err: "drover: no run `x`\n".into(),
        code: 1,
    };
    assert_eq!(
        drover::tui::app::answer_log("clear", &failed),
        ["clear: drover: no run `x`"]
    );
    // A command under way stays until its answer.
    app.ctx.message = Some(drover::tui::app::Message::sticky("clear 2 tasks…", false));
    assert!(!app.set_now(now + Duration::seconds(60)));
    assert!(app.ctx.message.is_some());
}

/// Whether screen row `y` holds a box's bottom border (`└───┘`).
fn box_bottom_on(row: &str) -> bool {
    row.split('└').skip(1).any(|rest| {
        let dashes = rest.chars().take_while(|&c| c == '─').count();
        dashes >= 3 && rest.chars().nth(dashes) == Some('┘')
    })
}

#[test]
fn the_graph_scrolls_by_whole_rows_of_boxes_at_every_size() {
    let home = TestHome::new();
    // One source feeding eight tasks: a layer taller than a small screen.
    let mut toml = String::from("[tasks.root]\ncmd = \"true\"\n");
    for i in 0..8 {
        toml.push_str(&format!(
            "[tasks.leaf{i}]\ncmd = \"true\"\ndeps = [\"root\"]\n"
        ));
    }
    home.flow("fan", &toml);
    let (store, flows) = tui_fixture::open(home.path());
    let mut app = tui_fixture::app(&store, &flows, 0, 60, 16);
    app.open_flow("fan");
    app.view = View::Grid;
    app.update(drover::tui::keymap::Action::Graph);
    key(&mut app, KeyCode::Char('l'));
    // The eight leaves are one group box until Enter shows them.
    assert!(app.graph_group().is_some());
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Graph);
    assert!(app.graph_group().is_none());
    // The canvas starts under the tabs, the run header and a blank row.
    let canvas_top = 3;
    for (w, h) in [(60, 16), (60, 17), (60, 18), (60, 19), (61, 21), (80, 24)] {
        (app.ctx.width, app.ctx.height) = (w, h);
        key(&mut app, KeyCode::Char('g'));
        for step in 0..9 {
            let selected = app.grid.selected_task().unwrap_or("").to_string();
            let buf = buffer(&app);
            let shown = text(&buf);
            let rows: Vec<&str> = shown.lines().collect();
            // Under it: the rule, two rows of details and the status bar.
            let canvas_bottom = h as usize - 4;
            let first = rows[canvas_top];
            assert!(
                !box_bottom_on(first) && !first.contains("│ ·"),
                "{w}×{h}, {selected}: the first row of boxes is cut:\n{shown}"
            );
            // Every label on the canvas has its box's top border above it,
            // on the canvas; the selected one its bottom border too.
            for (y, row) in rows.iter().enumerate().take(canvas_bottom).skip(canvas_top) {
                for (col, _) in row.match_indices("│ · ") {
                    let x = row[..col].chars().count() as u16;
                    assert!(
                        y > canvas_top && buf[(x, y as u16 - 1)].symbol() == "┌",
                        "{w}×{h}, {selected}: a box on row {y} lost its top:\n{shown}"
                    );
                }
            }
            let y = row_of(&buf, &format!("· {selected} "));
            assert!(
                (y as usize) < canvas_bottom - 1 && y as usize > canvas_top,
                "{w}×{h}: the selection {selected} is whole on the canvas:\n{shown}"
            );
            if step < 8 {
                key(&mut app, KeyCode::Char('j'));
            }
        }
    }
}

#[test]
fn every_bad_theme_file_is_reported() {
    let f = fixture();
    let dir = f._home.path().join("themes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("aaa.toml"), "this is = = not toml\n").unwrap();
    std::fs::write(dir.join("zzz.toml"), "no_such_slot = \"red\"\n").unwrap();
    let mut app = drover::tui::new_app(
        drover::api::Source::reader(drover::engine::Reader::new(f.store.clone())),
        f._home.path(),
        "default",
    );
    app.ctx.now = tui_fixture::now();
    (app.ctx.width, app.ctx.height) = (100, 30);
    app.set_status(tui_fixture::status(&f.flows, 0), Default::default());
    app.refresh_flows();
    assert!(app.theme_errors.len() >= 2, "{:?}", app.theme_errors);
    assert_eq!(app.bad_themes(), ["aaa", "zzz"]);
    let message = app.ctx.message.clone().expect("a message at start");
    assert!(message.error);
    assert!(
        message
            .text
            .starts_with("2 theme files not loaded (L, :theme list them): ")
            && message.text.contains("aaa.toml:1:"),
        "{}",
        message.text
    );
    // `:theme` lists them; `:theme NAME` says why one did not load.
    keys(&mut app, ":theme");
    key(&mut app, KeyCode::Enter);
    let listing = app.ctx.message.clone().expect("the listing").text;
    assert!(listing.contains("not loaded: aaa, zzz"), "{listing}");
    keys(&mut app, ":theme zzz");
    key(&mut app, KeyCode::Enter);
    let why = app.ctx.message.clone().expect("why").text;
    assert!(
        why.starts_with("theme `zzz` did not load: ") && why.contains("zzz.toml:1:"),
        "{why}"
    );
    // The help overlay lists each.
    key(&mut app, KeyCode::Char('?'));
    let shown = screen(&app);
    assert!(shown.contains("Theme files not loaded"), "{shown}");
    for name in ["aaa.toml:1:", "zzz.toml:1:"] {
        assert!(shown.contains(name), "{name} in the help:\n{shown}");
    }
}

#[test]
fn a_problems_event_asks_for_a_frame_and_the_new_problems_show() {
    let f = fixture();
    let mut app = app(&f, 100, 30);
    assert!(app.on_engine(&drover::engine::EngineEvent::ProblemsChanged));
    // What the loop then reads from the instance, at once.
    let mut problems = drover::home::Problems::default();
    problems
        .flows
        .insert("nova".into(), "flows/nova.toml:1:1: bad".into());
    problems.git = Some(drover::gitsync::SyncState {
        commit: Some("0badc0de0123456789abcdef0123456789abcdef".into()),
        error: Some("cannot fetch".into()),
        ..Default::default()
    });
    assert!(app.set_status(tui_fixture::status(&f.flows, 1), problems));
    let shown = screen(&app);
    assert!(
        line(&shown, "✗ nova").contains("⚠ does not validate"),
        "{shown}"
    );
    let bar = shown.lines().nth(29).unwrap_or("");
    assert!(bar.contains("⚠1 "), "compact beside the hints: {bar}");
    assert!(bar.contains("⚠ git 0badc0d"), "{bar}");
}

#[test]
fn the_graph_lights_the_selected_tasks_edges_and_neighbours() {
    let f = fixture();
    let mut app = app(&f, 80, 24);
    app.open_flow("etl");
    app.view = View::Grid;
    key(&mut app, KeyCode::Char('3'));
    key(&mut app, KeyCode::Char('l'));
    assert_eq!(app.grid.selected_task(), Some("clean_a"));
    let buf = buffer(&app);
    let theme = app.theme().clone();
    let lit = theme.border(true).fg.expect("a focus colour");
    let plain = theme.border(false).fg.expect("a border colour");
    assert_ne!(lit, plain, "the default theme tells them apart");
    let fg = |x: u16, y: u16| buf[(x, y)].fg;
    let shown = text(&buf);
    // Where a box's label row starts: its left border.
    let box_left = |task: &str| {
        let y = row_of(&buf, &format!(" {task} "));
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        // "│ · task": the border, a space, the glyph, a space.
        let col = row
            .split(&format!(" {task} "))
            .next()
            .unwrap()
            .chars()
            .count() as u16;
        let x = col - 3;
        assert_eq!(buf[(x, y)].symbol(), "│", "{task}:\n{shown}");
        (x, y)
    };
    // The arrowhead just left of a box.
    let arrow_into = |task: &str| {
        let (x, y) = box_left(task);
        assert_eq!(buf[(x - 1, y)].symbol(), "▶", "{task}:\n{shown}");
        (x - 1, y)
    };
    // Into clean_a (from extract) and out of it (into load): lit.
    let (x, y) = arrow_into("clean_a");
    assert_eq!(fg(x, y), lit, "extract → clean_a:\n{shown}");
    assert_eq!(fg(x - 1, y), lit, "the line before it too");
    // The line out of extract's box, part of extract → clean_a.
    let extract_x = find(&buf, y, "─").expect("a line out of extract");
    assert_eq!(fg(extract_x, y), lit, "out of extract's box");
    let (x, y) = arrow_into("load");
    assert_eq!(fg(x, y), lit, "clean_a → load:\n{shown}");
    // Edges of other tasks stay plain: into clean_b, out of load.
    let (x, y) = arrow_into("clean_b");
    assert_eq!(fg(x, y), plain, "extract → clean_b:\n{shown}");
    let (x, y) = arrow_into("report");
    assert_eq!(fg(x, y), plain, "load → report:\n{shown}");
    // The neighbours' boxes are lit, the others keep their state's colour.
    let top_left = |task: &str| {
        let (x, y) = box_left(task);
        (x, y - 1)
    };
    for task in ["extract", "load"] {
        let (x, y) = top_left(task);
        assert_eq!(buf[(x, y)].symbol(), "┌");
        assert_eq!(fg(x, y), lit, "{task} is a neighbour:\n{shown}");
    }
    for task in ["clean_b", "report"] {
        let (x, y) = top_left(task);
        assert_ne!(fg(x, y), lit, "{task} is not a neighbour:\n{shown}");
    }
}

#[test]
fn a_wide_fan_out_is_one_group_box_until_enter_shows_its_tasks() {
    let home = TestHome::new();
    let fanout = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/flows/fanout.toml"))
        .expect("the fanout example");
    home.flow("fanout", &fanout);
    let (store, flows) = tui_fixture::open(home.path());
    let flow = flows[0].clone();
    let names: Vec<String> = (0..16).map(|i| format!("shard_{i:02}")).collect();
    use TaskState::*;
    let mut states = vec![("split", Success, 1)];
    for (i, n) in names.iter().enumerate() {
        let state = match i {
            0..12 => Success,
            12..15 => Running,
            _ => Failed,
        };
        states.push((n.as_str(), state, 1));
    }
    let day = Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap();
    add_run(&store, &flow, day, RunState::Running, None, &states);
    store.commit().expect("commit");
    let mut app = tui_fixture::app(&store, &flows, 0, 100, 30);
    app.open_flow("fanout");
    app.view = View::Grid;
    key(&mut app, KeyCode::Char('3'));
    assert_eq!(app.view, View::Graph);

    // split → [16 shards] → merge on one screen, nothing scrolled.
    key(&mut app, KeyCode::Char('l'));
    assert_eq!(app.grid.selected_task(), Some("shard_00"));
    assert_eq!(app.graph_group().map(|g| g.members.len()), Some(16));
    let buf = buffer(&app);
    let shown = text(&buf);
    let y = row_of(&buf, "shard_00 … shard_15 ×16");
    let row = shown.lines().nth(y as usize).unwrap_or("");
    let (split, group, merge) = (
        row.find("✓ split").expect("split"),
        row.find("✗ shard_00 … shard_15 ×16")
            .expect("the group, failed first"),
        row.find("· merge").expect("merge"),
    );
    assert!(split < group && group < merge, "{shown}");
    assert!(row.contains("─▶║"), "an arrow into the group:\n{shown}");
    assert!(!shown.contains("shard_01"), "{shown}");
    assert!(!shown.contains("scrolled"), "it fits:\n{shown}");
    // Its members' states for the run, each in its state's colour.
    let bottom = shown.lines().nth(y as usize + 1).unwrap_or("");
    assert!(bottom.contains("╚═ ✓12 ▶3 ✗1 ═"), "{shown}");
    let x = find(&buf, y + 1, "✗").expect("the failed count");
    assert_eq!(
        buf[(x, y + 1)].fg,
        app.theme().task(Failed).fg.expect("a colour")
    );
    let x = find(&buf, y + 1, "✓").expect("the success count");
    assert_eq!(
        buf[(x, y + 1)].fg,
        app.theme().task(Success).fg.expect("a colour")
    );
    assert!(
        line(&shown, " 16 tasks: shard_00 … shard_15 ×16").contains("✓12 ▶3 ✗1"),
        "the foot sums it up:\n{shown}"
    );
    // Task keys need one task: they say so and ask nothing.
    for k in ['s', 'c', 'x', 'F', '4'] {
        key(&mut app, KeyCode::Char(k));
        assert!(app.overlay.is_none(), "{k}");
        assert_eq!(app.view, View::Graph, "{k}");
        let said = app.ctx.message.clone().expect("a message").text;
        assert!(said.contains("stands for 16 tasks"), "{k}: {said}");
    }
    // Moving on and back keeps the group a stop like any box.
    key(&mut app, KeyCode::Char('l'));
    assert_eq!(app.grid.selected_task(), Some("merge"));
    key(&mut app, KeyCode::Char('h'));
    assert!(app.graph_group().is_some());

    // Enter shows the members as boxes, split and merge still joined.
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Graph);
    assert!(app.graph_group().is_none());
    assert_eq!(app.grid.selected_task(), Some("shard_00"));
    let shown = screen(&app);
    assert!(!shown.contains("×16"), "{shown}");
    for want in [
        "✓ split",
        "✓ shard_00",
        "✓ shard_01",
        "· merge",
        "graph, scrolled",
    ] {
        assert!(shown.contains(want), "{want}:\n{shown}");
    }
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.grid.selected_task(), Some("shard_01"));
    // Enter on a member opens its log, Esc comes back to the open group.
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Logs);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Graph);
    assert!(screen(&app).contains("shard_01"));
    // Esc on a member folds the group again, then goes back to the Grid.
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Graph);
    assert_eq!(app.graph_group().map(|g| g.members.len()), Some(16));
    assert!(screen(&app).contains("shard_00 … shard_15 ×16"));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Grid);

    // A search that hits a member opens its group to show it.
    key(&mut app, KeyCode::Char('3'));
    keys(&mut app, "/shard_12");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.grid.selected_task(), Some("shard_12"));
    assert!(app.graph_group().is_none());
    let shown = screen(&app);
    assert!(shown.contains("▶ shard_12"), "{shown}");
}
