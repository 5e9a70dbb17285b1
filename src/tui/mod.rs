//! The TUI: a client of one instance, drawn in the terminal.
//!
//! `app` holds what the views share and routes keys and events; each view
//! in `views/` (Flows, Grid, Graph, Logs, drover's own log) holds its own
//! state, takes its own keys and draws itself, as do the boxes over them
//! (`views/overlay`) and the line typed at the bottom (`views/command`).
//! `screen` draws the frame around them (tabs, status bar) with the view
//! inside. `ctx` is what they all read; `keymap` turns keys into actions (and the
//! help's rows); `logview` is the log model, `graph_layout` lays out the
//! Graph, `theme` the colours.
//!
//! One event channel feeds the loop: terminal input (read on its own
//! thread), answers to commands, and signals; engine events come from the
//! engine's broadcast and a tick polls the shown log. The loop drains what
//! is pending, then draws once if anything changed (at most every 16 ms),
//! so an idle screen writes next to nothing to the terminal. Once a second
//! the clock moves on and the view is drawn off screen: only if that frame
//! differs from the one shown ("in 23s" became "in 22s") is it drawn.
//!
//! May call: `api` (the instance's `Source`: reads, actions, notices),
//! `engine` events and status, `store` records and `home` problems (plain
//! data), `flow`, `control` answers, `escape`, `gitsync::short_sha`. Never
//! sled, git2 or child processes: actions are drover commands run by the
//! instance.

pub mod app;
pub mod ctx;
pub mod graph_layout;
pub mod keymap;
pub mod logview;
pub mod screen;
pub mod theme;
pub mod views;

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyEventKind, MouseButton, MouseEventKind};
use ratatui::crossterm::{cursor, execute, terminal};
use tokio::sync::mpsc;

use crate::api::{Notice, Source};
use crate::control::Answer;
use crate::engine::EngineEvent;
use app::{App, Effect};

/// Shortest time between two frames.
const FRAME: Duration = Duration::from_millis(16);
/// How often the shown log is polled and pending frames drawn.
const TICK: Duration = Duration::from_millis(50);
/// How often the engine's status is asked for without an event.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// What the TUI needs from the instance it shows.
pub struct Deps {
    /// The instance: in this process, or attached to over its socket.
    pub source: Source,
    /// The home, for `themes/`.
    pub home: PathBuf,
    /// The theme drover.toml names.
    pub theme: String,
    /// Refuse actions: a screen to watch with.
    pub read_only: bool,
}

/// How the user left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quit {
    /// Stop the running tries (else they run on and are taken up later).
    pub stop_tasks: bool,
    /// Keep the instance running: a detached `drover serve` takes over.
    pub background: bool,
}

/// Into the loop.
enum Incoming {
    Input(Event),
    /// The terminal cannot be read any more.
    InputGone(String),
    Answer(String, Answer),
    /// The instance (in another process) is reachable again.
    Back,
    /// The instance's status and the home's problems, as asked for.
    Status(Box<(crate::engine::Status, crate::home::Problems)>),
    /// SIGTERM or SIGHUP: leave, tasks running.
    Signal(&'static str),
}

/// Builds the app with the home's themes (`NO_COLOR` honoured).
pub fn new_app(source: Source, home: &std::path::Path, theme_name: &str) -> App {
    let (themes, errors) = theme::load_all(home);
    let themes: Vec<theme::Theme> = themes
        .into_iter()
        .map(theme::Theme::honour_no_color)
        .collect();
    for e in &errors {
        log::warn!(
            "theme file not loaded: {}",
            crate::escape::line(&e.to_string())
        );
    }
    App::new(source, themes, theme_name, errors)
}

/// Puts the terminal in raw mode on the alternate screen with mouse
/// reporting, and makes sure a panic puts it back first.
fn enter() -> io::Result<()> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        leave();
        previous(info);
    }));
    terminal::enable_raw_mode()?;
    execute!(
        io::stdout(),
        terminal::EnterAlternateScreen,
        terminal::Clear(terminal::ClearType::All),
        event::EnableMouseCapture,
        cursor::Hide
    )
}

/// Gives the terminal back as it was.
pub fn leave() {
    let _ = execute!(
        io::stdout(),
        event::DisableMouseCapture,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
    let _ = terminal::disable_raw_mode();
    let _ = io::stdout().flush();
}

/// Shows the instance until the user quits (or a signal says to).
pub async fn run(deps: Deps) -> io::Result<Quit> {
    enter()?;
    let outcome = event_loop(deps).await;
    leave();
    outcome
}

async fn event_loop(deps: Deps) -> io::Result<Quit> {
    let backend = ratatui::backend::CrosstermBackend::new(io::stdout());
    // No `clear()`: it asks the terminal where the cursor is, and a slow
    // link (or a pty nobody answers) makes that fail. The alternate screen
    // starts blank.
    let mut screen = ratatui::Terminal::new(backend)?;
    let mut app = new_app(deps.source.clone(), &deps.home, &deps.theme);
    app.ctx.read_only = deps.read_only;
    let size = screen.size()?;
    (app.ctx.width, app.ctx.height) = (size.width, size.height);
    let (tx, mut rx) = mpsc::unbounded_channel::<Incoming>();
    spawn_input(tx.clone());
    spawn_signals(tx.clone());
    let mut notices = Some(deps.source.notices());
    if let Some((status, problems)) = deps.source.status().await {
        app.set_status(status, problems);
    }
    app.refresh_flows();
    let panic_on_purpose = std::env::var_os("DROVER_TEST_PANIC").is_some();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut last_status = Instant::now();
    let mut status_wanted = false;
    let mut status_now = false;
    // The last frame drawn, and where the clock's redraws are tried out.
    let mut shown: Option<ratatui::buffer::Buffer> = None;
    let mut clock = Offscreen::default();
    loop {
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
            app.catch_up();
            let drawn = screen.draw(|frame| screen::draw(&app, frame))?;
            shown = Some(drawn.buffer.clone());
            last_draw = Some(Instant::now());
            dirty = false;
            // For the end-to-end test that a panic gives the terminal back.
            if panic_on_purpose {
                panic!("DROVER_TEST_PANIC is set: panicking on purpose after a frame");
            }
        }
        let mut effects = Vec::new();
        tokio::select! {
            incoming = rx.recv() => match incoming {
                Some(incoming) => {
                    match on_incoming(&mut app, incoming, &mut effects) {
                        Ok(changed) => dirty |= changed,
                        Err(quit) => return quit,
                    }
                }
                None => return Ok(Quit {
                    stop_tasks: false,
                    background: false,
                }),
            },
            notice = next_notice(&mut notices) => {
                let notice = notice.unwrap_or_else(|| Notice::Gone("the scheduler has stopped".into()));
                let seen = on_notice(&mut app, notice, &deps.source, &tx);
                seen.take(&mut dirty, &mut status_wanted, &mut status_now, &mut notices);
            },
            _ = tick.tick() => {
                dirty |= app.poll_log();
                let now = chrono::Utc::now();
                // Once a second the clock moves on; the screen is drawn
                // again only if text that depends on it reads differently.
                if now.timestamp() != app.ctx.now.timestamp() {
                    dirty |= app.set_now(now);
                    if !dirty
                        && let Some(shown) = &shown
                    {
                        dirty = clock.differs(&app, shown);
                    }
                }
                if last_status.elapsed() >= STATUS_EVERY {
                    status_wanted = true;
                }
            },
        }
        // Everything else already waiting is taken before the next frame.
        while let Ok(incoming) = rx.try_recv() {
            match on_incoming(&mut app, incoming, &mut effects) {
                Ok(changed) => dirty |= changed,
                Err(quit) => return quit,
            }
        }
        while let Some(notice) = notices.as_mut().and_then(|n| n.try_recv().ok()) {
            let seen = on_notice(&mut app, notice, &deps.source, &tx);
            seen.take(
                &mut dirty,
                &mut status_wanted,
                &mut status_now,
                &mut notices,
            );
        }
        // A flow's new version and the home's problems are shown at once; load changes at most
        // five times a second.
        if status_now || (status_wanted && last_status.elapsed() >= Duration::from_millis(200)) {
            (status_wanted, status_now) = (false, false);
            last_status = Instant::now();
            // Asked on a task of its own: over a slow link the answer takes
            // a round trip, and keys are taken meanwhile.
            let (source, tx) = (deps.source.clone(), tx.clone());
            tokio::spawn(async move {
                if let Some(status) = source.status().await {
                    let _ = tx.send(Incoming::Status(Box::new(status)));
                }
            });
        }
        for effect in effects {
            match effect {
                Effect::Quit {
                    stop_tasks,
                    background,
                } => {
                    return Ok(Quit {
                        stop_tasks,
                        background,
                    });
                }
                Effect::Act { action, what } => {
                    // Until the answer comes.
                    app.ctx.message = Some(app::Message::sticky(format!("{what}…"), false));
                    dirty = true;
                    let (source, tx) = (deps.source.clone(), tx.clone());
                    tokio::task::spawn_blocking(move || {
                        let answer = source.act(action);
                        let _ = tx.send(Incoming::Answer(what, answer));
                    });
                }
            }
        }
    }
}

/// How long a screen waits between tries to reach its instance again.
const REDIAL_EVERY: Duration = Duration::from_secs(1);

/// The next notice, or never once there are none to come.
async fn next_notice(notices: &mut Option<mpsc::UnboundedReceiver<Notice>>) -> Option<Notice> {
    match notices {
        Some(n) => n.recv().await,
        None => std::future::pending().await,
    }
}

/// What a notice did to the screen.
struct Seen {
    changed: bool,
    /// The status (flows, problems) is wanted at once.
    at_once: bool,
    /// No more notices come from this listener.
    ended: bool,
}

impl Seen {
    /// Folds what a notice did into the loop's flags: redraw, fetch the
    /// status (soon, or at once), stop listening.
    fn take(
        self,
        dirty: &mut bool,
        status_wanted: &mut bool,
        status_now: &mut bool,
        notices: &mut Option<mpsc::UnboundedReceiver<Notice>>,
    ) {
        *dirty |= self.changed;
        *status_wanted |= self.changed;
        *status_now |= self.at_once;
        if self.ended {
            *notices = None;
        }
    }
}

/// Takes one notice from the instance: events are applied, a resync reads
/// everything again, and a lost instance is said and (when it is in
/// another process) dialled again until it is back.
fn on_notice(
    app: &mut App,
    notice: Notice,
    source: &Source,
    tx: &mpsc::UnboundedSender<Incoming>,
) -> Seen {
    let mut seen = Seen {
        changed: false,
        at_once: false,
        ended: false,
    };
    match notice {
        Notice::Events(events) => {
            for event in &events {
                app.on_engine(event);
                seen.at_once |= shows_at_once(event);
            }
            seen.changed = !events.is_empty();
        }
        Notice::Fetched => {
            app.fetched();
            seen.changed = true;
        }
        Notice::Resync => {
            // Too many to follow one by one: read everything anew.
            app.refresh_flows();
            app.load_runs();
            (seen.changed, seen.at_once) = (true, true);
        }
        Notice::Gone(why) => {
            seen.changed = true;
            match source {
                Source::Local(_) => {
                    app.ctx.message = Some(app::Message::sticky("the scheduler has stopped", true));
                    seen.ended = true;
                }
                Source::Remote(link) => {
                    app.ctx.message = Some(app::Message::sticky(
                        format!(
                            "the instance has gone: {}; trying to reach it again every second…",
                            crate::escape::line(&why)
                        ),
                        true,
                    ));
                    let (link, tx) = (link.clone(), tx.clone());
                    tokio::spawn(async move {
                        loop {
                            tokio::time::sleep(REDIAL_EVERY).await;
                            let link = link.clone();
                            if let Ok(Ok(())) =
                                tokio::task::spawn_blocking(move || link.redial()).await
                            {
                                let _ = tx.send(Incoming::Back);
                                return;
                            }
                            if tx.is_closed() {
                                return;
                            }
                        }
                    });
                }
            }
        }
    }
    seen
}

/// Whether an engine event needs the status (flow versions, problems)
/// fetched at once rather than at the next poll.
fn shows_at_once(event: &EngineEvent) -> bool {
    matches!(
        event,
        EngineEvent::FlowChanged { .. } | EngineEvent::ProblemsChanged
    )
}

/// Draws frames nobody sees, to find out whether the clock alone changed
/// what the screen would show ("in 23s", a running try's duration): a
/// frame is cheap, a redraw of an idle screen over a slow link is not.
#[derive(Default)]
struct Offscreen {
    terminal: Option<ratatui::Terminal<ratatui::backend::TestBackend>>,
}

impl Offscreen {
    /// Whether `app`, drawn now, differs from the frame `shown`.
    fn differs(&mut self, app: &App, shown: &ratatui::buffer::Buffer) -> bool {
        let (w, h) = (shown.area.width, shown.area.height);
        let terminal = match &mut self.terminal {
            Some(t) if t.backend().buffer().area == shown.area => t,
            slot => match ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)) {
                Ok(t) => slot.insert(t),
                Err(never) => match never {},
            },
        };
        match terminal.draw(|frame| screen::draw(app, frame)) {
            Ok(frame) => frame.buffer != shown,
            Err(never) => match never {},
        }
    }
}

/// Takes one incoming event; Ok(whether to redraw), or Err to leave.
fn on_incoming(
    app: &mut App,
    incoming: Incoming,
    effects: &mut Vec<Effect>,
) -> Result<bool, io::Result<Quit>> {
    match incoming {
        Incoming::Input(Event::Key(key)) if key.kind != KeyEventKind::Release => {
            effects.extend(app.on_key(key));
            Ok(true)
        }
        Incoming::Input(Event::Resize(w, h)) => {
            (app.ctx.width, app.ctx.height) = (w, h);
            Ok(true)
        }
        Incoming::Input(Event::Mouse(m)) => {
            let action = match m.kind {
                MouseEventKind::ScrollUp => Some(keymap::Action::Up),
                MouseEventKind::ScrollDown => Some(keymap::Action::Down),
                MouseEventKind::Down(MouseButton::Left) if app.overlay.is_none() => {
                    app.click(m.column, m.row);
                    return Ok(true);
                }
                _ => None,
            };
            match action {
                Some(action) if app.overlay.is_none() && app.input.is_none() => {
                    for _ in 0..3 {
                        effects.extend(app.update(action));
                    }
                    Ok(true)
                }
                _ => Ok(false),
            }
        }
        Incoming::Input(_) => Ok(false),
        Incoming::Status(status) => {
            let (status, problems) = *status;
            Ok(app.set_status(status, problems))
        }
        Incoming::Back => {
            app.ctx
                .tell("connected to the instance again".into(), false);
            app.refresh_flows();
            app.load_runs();
            Ok(true)
        }
        Incoming::Answer(what, answer) => {
            app.answered(&what, &answer);
            Ok(true)
        }
        Incoming::InputGone(why) => Err(Err(io::Error::other(format!(
            "cannot read the terminal: {why}"
        )))),
        Incoming::Signal(name) => {
            log::info!("{name}: leaving the screen; running tasks go on");
            Err(Ok(Quit {
                stop_tasks: false,
                background: false,
            }))
        }
    }
}

/// Reads the terminal on its own thread (crossterm's read blocks).
fn spawn_input(tx: mpsc::UnboundedSender<Incoming>) {
    let spawned = std::thread::Builder::new()
        .name("tui-input".into())
        .spawn(move || {
            loop {
                match event::read() {
                    Ok(ev) => {
                        if tx.send(Incoming::Input(ev)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Incoming::InputGone(e.to_string()));
                        return;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        log::error!("cannot read the keyboard: {e}");
    }
}

/// SIGTERM and SIGHUP (the SSH link dropped) end the TUI cleanly; the
/// tasks run on and are taken up at the next start.
fn spawn_signals(tx: mpsc::UnboundedSender<Incoming>) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
    ] {
        let Ok(mut sig) = signal(kind) else {
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            if sig.recv().await.is_some() {
                let _ = tx.send(Incoming::Signal(name));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_problems_and_flow_versions_are_fetched_at_once() {
        assert!(shows_at_once(&EngineEvent::ProblemsChanged));
        assert!(shows_at_once(&EngineEvent::FlowChanged {
            flow: "a".into()
        }));
        assert!(!shows_at_once(&EngineEvent::RunChanged {
            flow: "a".into(),
            run_id: "r".into(),
            state: crate::store::RunState::Running,
        }));
    }
}
