//! Colour themes (SPEC §7): semantic roles mapped to colours.
//!
//! Four themes are built in (`default`, `light`, `high-contrast`,
//! `colorblind`); a home may add or override themes with `themes/NAME.toml`,
//! a flat table of `role = colour` pairs that starts from a built-in
//! (`base = "light"`, `default` when absent) and overrides only the keys it
//! sets. A colour is `"#rrggbb"`, a 256-colour index (`244` or `"244"`) or
//! an ANSI colour name (`"red"`, `"light_blue"`, `"reset"`).
//!
//! A broken theme file is never ignored: every unknown key and bad value
//! comes back as a [`Diagnostic`] with file, line and column, and with a
//! "did you mean" hint for near misses.
//!
//! `NO_COLOR` (set and non-empty) turns colour off: every role becomes
//! [`Color::Reset`] and the style helpers fall back to bold, dim and
//! reversed text, so states stay apart through their glyphs and weight.

use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use toml::de::{DeTable, DeValue};

use crate::flow::suggest;
use crate::flow::{Diagnostic, Source};
use crate::store::{RunState, TaskState};

/// The built-in themes, in the order the TUI cycles through them.
pub const BUILTIN: [&str; 4] = ["default", "light", "high-contrast", "colorblind"];

/// The key of a theme file naming the built-in it starts from.
pub const BASE_KEY: &str = "base";

/// Declares the theme's colour roles once: the struct fields, their TOML
/// key names ([`ROLES`]) and access by name all come from this list, so they
/// cannot drift apart.
macro_rules! roles {
    ($($(#[doc = $doc:literal])* $role:ident,)*) => {
        /// A colour theme: one colour per semantic role, plus how to draw
        /// without colour. Build one with [`Theme::builtin`], [`parse`] or
        /// [`load_all`]; draw with the style helpers ([`Theme::task`], ...).
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            /// The theme's name: a built-in's, or the stem of `themes/NAME.toml`.
            pub name: String,
            $($(#[doc = $doc])* pub $role: Color,)*
            /// Also draw states, keys, selection and search matches in bold
            /// (the `high-contrast` theme and themes based on it).
            pub bold: bool,
            /// Colour is off (`NO_COLOR`): every role is [`Color::Reset`] and
            /// the style helpers use modifiers only.
            pub no_color: bool,
        }

        /// Every role's key in a theme file, in declaration order.
        pub const ROLES: &[&str] = &[$(stringify!($role)),*];

        impl Theme {
            /// The colour of a role by its theme-file key; `None` for an unknown role.
            pub fn color(&self, role: &str) -> Option<Color> {
                match role {
                    $(stringify!($role) => Some(self.$role),)*
                    _ => None,
                }
            }

            fn slot_mut(&mut self, role: &str) -> Option<&mut Color> {
                match role {
                    $(stringify!($role) => Some(&mut self.$role),)*
                    _ => None,
                }
            }

            fn set_every_role(&mut self, color: Color) {
                $(self.$role = color;)*
            }
        }
    };
}

roles! {
    /// Task or run ended well.
    success,
    /// Task or run failed.
    failed,
    /// Task or run is running.
    running,
    /// Waiting for a worker slot (task) or to start (run).
    queued,
    /// Failed, with a retry scheduled.
    up_for_retry,
    /// Not run because something upstream failed.
    upstream_failed,
    /// Skipped by its trigger rule.
    skipped,
    /// Upstream not done yet.
    pending,
    /// Ordinary text.
    text,
    /// Secondary text: timestamps, hints, empty-state notes.
    dim,
    /// Pane and view titles.
    title,
    /// Borders of unfocused panes.
    border,
    /// The border of the focused pane.
    border_focus,
    /// Text of the selected row.
    selection_fg,
    /// Background of the selected row.
    selection_bg,
    /// Status bar text.
    status_fg,
    /// Status bar background.
    status_bg,
    /// Text of a search match.
    match_fg,
    /// Background of a search match.
    match_bg,
    /// Error messages (broken flows, broken theme files).
    error,
    /// Warnings.
    warning,
    /// Key names in help and status-bar hints.
    key,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::dark()
    }
}

impl Theme {
    /// A built-in theme by name (one of [`BUILTIN`]).
    pub fn builtin(name: &str) -> Option<Theme> {
        match name {
            "default" => Some(Theme::dark()),
            "light" => Some(Theme::light()),
            "high-contrast" => Some(Theme::high_contrast()),
            "colorblind" => Some(Theme::colorblind()),
            _ => None,
        }
    }

    /// `default`: for dark terminals. 256-colour indexes, which look the
    /// same in every terminal and through tmux.
    fn dark() -> Theme {
        Theme {
            name: "default".into(),
            success: Color::Indexed(114),         // #87d787 green
            failed: Color::Indexed(203),          // #ff5f5f red
            running: Color::Indexed(81),          // #5fd7ff light blue
            queued: Color::Indexed(180),          // #d7af87 tan
            up_for_retry: Color::Indexed(221),    // #ffd75f yellow
            upstream_failed: Color::Indexed(208), // #ff8700 orange
            skipped: Color::Indexed(212),         // #ff87d7 pink
            pending: Color::Indexed(244),         // #808080 gray
            text: Color::Reset,
            dim: Color::Indexed(245),          // #8a8a8a
            title: Color::Indexed(111),        // #87afff
            border: Color::Indexed(240),       // #585858
            border_focus: Color::Indexed(75),  // #5fafff
            selection_fg: Color::Indexed(255), // #eeeeee
            selection_bg: Color::Indexed(24),  // #005f87
            status_fg: Color::Indexed(252),    // #d0d0d0
            status_bg: Color::Indexed(234),    // #1c1c1c
            match_fg: Color::Indexed(16),      // black
            match_bg: Color::Indexed(220),     // #ffd700
            error: Color::Indexed(203),
            warning: Color::Indexed(214), // #ffaf00
            key: Color::Indexed(80),      // #5fd7d7
            bold: false,
            no_color: false,
        }
    }

    /// `light`: darker shades that read well on a white background.
    fn light() -> Theme {
        Theme {
            name: "light".into(),
            success: Color::Indexed(28),          // #008700 green
            failed: Color::Indexed(160),          // #d70000 red
            running: Color::Indexed(25),          // #005faf blue
            queued: Color::Indexed(95),           // #875f5f rosy brown
            up_for_retry: Color::Indexed(58),     // #5f5f00 olive
            upstream_failed: Color::Indexed(130), // #af5f00 dark orange
            skipped: Color::Indexed(127),         // #af00af magenta
            pending: Color::Indexed(242),         // #6c6c6c gray
            text: Color::Reset,
            dim: Color::Indexed(241),          // #626262
            title: Color::Indexed(25),         // #005faf
            border: Color::Indexed(250),       // #bcbcbc
            border_focus: Color::Indexed(25),  // #005faf
            selection_fg: Color::Indexed(16),  // black
            selection_bg: Color::Indexed(153), // #afd7ff pale blue
            status_fg: Color::Indexed(235),    // #262626
            status_bg: Color::Indexed(255),    // #eeeeee
            match_fg: Color::Indexed(16),      // black
            match_bg: Color::Indexed(220),     // #ffd700
            error: Color::Indexed(160),
            warning: Color::Indexed(94), // #875f00 brown
            key: Color::Indexed(23),     // #005f5f dark teal
            bold: false,
            no_color: false,
        }
    }

    /// `high-contrast`: the bright ANSI colours on black and on a navy
    /// status bar, black on bright selection and matches, and bold.
    fn high_contrast() -> Theme {
        Theme {
            name: "high-contrast".into(),
            success: Color::LightGreen,
            failed: Color::LightRed,
            running: Color::LightCyan,
            // LightBlue (#5c5cff in xterm) is too dark on black.
            queued: Color::Indexed(111), // #87afff
            up_for_retry: Color::LightYellow,
            upstream_failed: Color::Yellow,
            skipped: Color::LightMagenta,
            pending: Color::Gray,
            text: Color::White,
            dim: Color::Gray,
            title: Color::White,
            border: Color::White,
            border_focus: Color::LightYellow,
            selection_fg: Color::Black,
            selection_bg: Color::LightCyan,
            // Navy, not white: the title, keys and messages on the bar
            // are in the same bright colours as on the black screen.
            status_fg: Color::White,
            status_bg: Color::Indexed(17), // #00005f
            match_fg: Color::Black,
            match_bg: Color::LightYellow,
            error: Color::Indexed(203), // #ff5f5f, lighter than LightRed
            warning: Color::LightYellow,
            key: Color::LightCyan,
            bold: true,
            no_color: false,
        }
    }

    /// `colorblind`: the Okabe–Ito palette, with no red/green pair: blue
    /// for success, vermillion for failure (for dark terminals).
    fn colorblind() -> Theme {
        const SKY_BLUE: Color = Color::Rgb(0x56, 0xb4, 0xe9);
        const VERMILLION: Color = Color::Rgb(0xd5, 0x5e, 0x00);
        const YELLOW: Color = Color::Rgb(0xf0, 0xe4, 0x42);
        const ORANGE: Color = Color::Rgb(0xe6, 0x9f, 0x00);
        const REDDISH_PURPLE: Color = Color::Rgb(0xcc, 0x79, 0xa7);
        const BLUISH_GREEN: Color = Color::Rgb(0x00, 0x9e, 0x73);
        const BLUE: Color = Color::Rgb(0x00, 0x72, 0xb2);
        Theme {
            name: "colorblind".into(),
            success: SKY_BLUE,
            failed: VERMILLION,
            running: YELLOW,
            queued: Color::Rgb(0xbb, 0xbb, 0xbb),
            up_for_retry: ORANGE,
            upstream_failed: REDDISH_PURPLE,
            skipped: BLUISH_GREEN,
            pending: Color::Rgb(0x80, 0x80, 0x80),
            text: Color::Reset,
            dim: Color::Rgb(0x8a, 0x8a, 0x8a),
            title: SKY_BLUE,
            border: Color::Rgb(0x58, 0x58, 0x58),
            border_focus: SKY_BLUE,
            selection_fg: Color::Rgb(0xff, 0xff, 0xff),
            selection_bg: BLUE,
            status_fg: Color::Rgb(0xee, 0xee, 0xee),
            status_bg: Color::Rgb(0x12, 0x12, 0x12),
            match_fg: Color::Rgb(0x00, 0x00, 0x00),
            match_bg: YELLOW,
            error: VERMILLION,
            warning: ORANGE,
            key: SKY_BLUE,
            bold: false,
            no_color: false,
        }
    }

    /// Applies `NO_COLOR`: when the variable is set and non-empty, returns
    /// [`Theme::monochrome`] of this theme; otherwise the theme unchanged.
    pub fn honour_no_color(self) -> Theme {
        if no_color_requested() {
            self.monochrome()
        } else {
            self
        }
    }

    /// This theme without colour: every role [`Color::Reset`] and
    /// `no_color` set, so styles use bold, dim and reversed only.
    pub fn monochrome(mut self) -> Theme {
        self.set_every_role(Color::Reset);
        self.no_color = true;
        self
    }

    /// Foreground `color`, or nothing without colour (so the terminal's
    /// own colours show, not an explicit reset).
    fn fg(&self, color: Color) -> Style {
        if self.no_color {
            Style::new()
        } else {
            Style::new().fg(color)
        }
    }

    /// Foreground and background, or `fallback` modifiers without colour.
    fn pair(&self, fg: Color, bg: Color, fallback: Modifier) -> Style {
        if self.no_color {
            Style::new().add_modifier(fallback)
        } else {
            Style::new().fg(fg).bg(bg)
        }
    }

    /// Adds bold when the theme draws emphasis in bold. Not without colour:
    /// there bold is kept for what must stand out (failed, running).
    fn emphasis(&self, style: Style) -> Style {
        if self.bold && !self.no_color {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }

    /// A task state's style: its colour, bold for failed and running.
    /// Without colour: bold for failed and running, dim for pending,
    /// skipped and upstream failed, plain otherwise.
    pub fn task(&self, s: TaskState) -> Style {
        let color = match s {
            TaskState::Pending => self.pending,
            TaskState::Queued => self.queued,
            TaskState::Running => self.running,
            TaskState::Success => self.success,
            TaskState::Failed => self.failed,
            TaskState::UpForRetry => self.up_for_retry,
            TaskState::UpstreamFailed => self.upstream_failed,
            TaskState::Skipped => self.skipped,
        };
        let style = self.fg(color);
        match s {
            TaskState::Failed | TaskState::Running => style.add_modifier(Modifier::BOLD),
            TaskState::Pending | TaskState::Skipped | TaskState::UpstreamFailed
                if self.no_color =>
            {
                style.add_modifier(Modifier::DIM)
            }
            _ => self.emphasis(style),
        }
    }

    /// A run state's style, the same as the task state of the same name.
    pub fn run(&self, s: RunState) -> Style {
        self.task(match s {
            RunState::Queued => TaskState::Queued,
            RunState::Running => TaskState::Running,
            RunState::Success => TaskState::Success,
            RunState::Failed => TaskState::Failed,
        })
    }

    /// Ordinary text.
    pub fn text(&self) -> Style {
        self.fg(self.text)
    }

    /// Secondary text; dim without colour.
    pub fn dim(&self) -> Style {
        if self.no_color {
            Style::new().add_modifier(Modifier::DIM)
        } else {
            self.fg(self.dim)
        }
    }

    /// Titles: bold, in the title colour.
    pub fn title(&self) -> Style {
        self.fg(self.title).add_modifier(Modifier::BOLD)
    }

    /// A pane border; the focused one is bold without colour.
    pub fn border(&self, focused: bool) -> Style {
        match (focused, self.no_color) {
            (true, true) => Style::new().add_modifier(Modifier::BOLD),
            (true, false) => self.emphasis(self.fg(self.border_focus)),
            (false, _) => self.fg(self.border),
        }
    }

    /// The selected row; reversed without colour.
    pub fn selection(&self) -> Style {
        let style = self.pair(self.selection_fg, self.selection_bg, Modifier::REVERSED);
        self.emphasis(style)
    }

    /// The status bar; reversed without colour.
    pub fn status(&self) -> Style {
        self.pair(self.status_fg, self.status_bg, Modifier::REVERSED)
    }

    /// A search match; reversed and bold without colour.
    pub fn matched(&self) -> Style {
        let style = self.pair(
            self.match_fg,
            self.match_bg,
            Modifier::REVERSED | Modifier::BOLD,
        );
        self.emphasis(style)
    }

    /// Error text: bold, in the error colour.
    pub fn error(&self) -> Style {
        self.fg(self.error).add_modifier(Modifier::BOLD)
    }

    /// Warning text; bold without colour.
    pub fn warning(&self) -> Style {
        if self.no_color {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            self.emphasis(self.fg(self.warning))
        }
    }

    /// Key names in hints: bold, in the key colour.
    pub fn key(&self) -> Style {
        self.fg(self.key).add_modifier(Modifier::BOLD)
    }
}

/// The WCAG contrast ratio text needs against its background (level AA
/// for normal text).
pub const MIN_CONTRAST: f64 = 4.5;

impl Theme {
    /// The terminal's own background and foreground this theme is made
    /// for (what [`Color::Reset`] stands for): white and black for
    /// `light`, black and white otherwise.
    pub fn terminal_colors(&self) -> (Rgb, Rgb) {
        if self.name == "light" {
            ((255, 255, 255), (0, 0, 0))
        } else {
            ((0, 0, 0), (255, 255, 255))
        }
    }

    /// Every text role with the background role it is drawn on: (text
    /// role, its colour, background role, its colour). "terminal" is the
    /// terminal's own background.
    pub fn text_on_backgrounds(&self) -> Vec<(&'static str, Color, &'static str, Color)> {
        let on_terminal = [
            ("success", self.success),
            ("failed", self.failed),
            ("running", self.running),
            ("queued", self.queued),
            ("up_for_retry", self.up_for_retry),
            ("upstream_failed", self.upstream_failed),
            ("skipped", self.skipped),
            ("pending", self.pending),
            ("text", self.text),
            ("dim", self.dim),
            ("title", self.title),
            ("error", self.error),
            ("warning", self.warning),
            ("key", self.key),
        ];
        // The status bar: tabs, hints, messages, the typed line, health.
        let on_status = [
            ("status_fg", self.status_fg),
            ("title", self.title),
            ("key", self.key),
            ("dim", self.dim),
            ("error", self.error),
            ("warning", self.warning),
        ];
        let mut pairs: Vec<_> = on_terminal
            .into_iter()
            .map(|(role, c)| (role, c, "terminal", Color::Reset))
            .collect();
        pairs.extend(
            on_status
                .into_iter()
                .map(|(role, c)| (role, c, "status_bg", self.status_bg)),
        );
        pairs.push((
            "selection_fg",
            self.selection_fg,
            "selection_bg",
            self.selection_bg,
        ));
        pairs.push(("match_fg", self.match_fg, "match_bg", self.match_bg));
        pairs
    }

    /// The text roles whose contrast with their background is below
    /// [`MIN_CONTRAST`]: (text role, background role, ratio).
    pub fn low_contrast(&self) -> Vec<(&'static str, &'static str, f64)> {
        let (term_bg, term_fg) = self.terminal_colors();
        self.text_on_backgrounds()
            .into_iter()
            .map(|(fg_role, fg, bg_role, bg)| {
                let ratio = contrast(rgb(fg, term_fg), rgb(bg, term_bg));
                (fg_role, bg_role, ratio)
            })
            .filter(|(_, _, ratio)| *ratio < MIN_CONTRAST)
            .collect()
    }
}

/// A colour as red, green and blue.
pub type Rgb = (u8, u8, u8);

/// A colour's RGB as xterm draws it: ANSI names with xterm's palette,
/// 256-colour indexes from its cube and gray ramp; [`Color::Reset`] is
/// `reset`, the terminal's own colour.
pub fn rgb(color: Color, reset: Rgb) -> Rgb {
    const ANSI: [Rgb; 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let ansi = |i: usize| ANSI[i];
    match color {
        Color::Reset => reset,
        Color::Black => ansi(0),
        Color::Red => ansi(1),
        Color::Green => ansi(2),
        Color::Yellow => ansi(3),
        Color::Blue => ansi(4),
        Color::Magenta => ansi(5),
        Color::Cyan => ansi(6),
        Color::Gray => ansi(7),
        Color::DarkGray => ansi(8),
        Color::LightRed => ansi(9),
        Color::LightGreen => ansi(10),
        Color::LightYellow => ansi(11),
        Color::LightBlue => ansi(12),
        Color::LightMagenta => ansi(13),
        Color::LightCyan => ansi(14),
        Color::White => ansi(15),
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i @ 0..16) => ansi(i as usize),
        Color::Indexed(i @ 16..232) => {
            let level = |n: u8| if n == 0 { 0 } else { 55 + 40 * n };
            let n = i - 16;
            (level(n / 36), level(n / 6 % 6), level(n % 6))
        }
        Color::Indexed(i) => {
            let v = 8 + 10 * (i - 232);
            (v, v, v)
        }
    }
}

/// WCAG relative luminance of an sRGB colour.
fn luminance((r, g, b): Rgb) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// The WCAG contrast ratio of two colours, 1 to 21.
pub fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// True when `NO_COLOR` is set to a non-empty value (no-color.org).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// ANSI colour names accepted by [`parse_color`], written as listed in
/// messages; matching ignores case, `_`, `-` and spaces.
const COLOR_NAMES: [(&str, Color); 18] = [
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark_gray", Color::DarkGray),
    ("light_red", Color::LightRed),
    ("light_green", Color::LightGreen),
    ("light_yellow", Color::LightYellow),
    ("light_blue", Color::LightBlue),
    ("light_magenta", Color::LightMagenta),
    ("light_cyan", Color::LightCyan),
    ("white", Color::White),
    ("reset", Color::Reset),
    ("default", Color::Reset),
];

/// The accepted colour forms, for error messages.
fn accepted_forms() -> String {
    let names: Vec<&str> = COLOR_NAMES.iter().map(|(n, _)| *n).collect();
    format!(
        "write \"#rrggbb\", a 256-colour index 0-255, or one of {}",
        names.join(", ")
    )
}

/// A colour as a theme file writes it: its name, its 256-colour index, or
/// `"#rrggbb"`.
pub fn color_text(color: Color) -> String {
    match color {
        Color::Indexed(i) => i.to_string(),
        Color::Rgb(r, g, b) => format!("\"#{r:02x}{g:02x}{b:02x}\""),
        named => COLOR_NAMES
            .iter()
            .find(|(_, c)| *c == named)
            .map_or_else(|| "\"reset\"".to_string(), |(n, _)| format!("\"{n}\"")),
    }
}

impl Theme {
    /// This theme as a complete `themes/NAME.toml`: every role, over the
    /// built-in `base` (which brings what no role says, such as bold).
    pub fn to_file(&self, base: &str) -> String {
        let mut out = format!(
            "# The built-in `{}` theme, every role spelt out. Copy it to a name of\n# your own (themes/mine.toml) and change what you like.\n{BASE_KEY} = \"{base}\"\n",
            self.name
        );
        for role in ROLES {
            if let Some(color) = self.color(role) {
                out.push_str(&format!("{role} = {}\n", color_text(color)));
            }
        }
        out
    }
}

/// Reads one colour: `"#rrggbb"` (either case), a 256-colour index
/// `"0"`..`"255"`, or an ANSI colour name (`red`, `light_red`/`lightred`,
/// `gray`/`grey`, `dark_gray`, ..., `reset`/`default` for the terminal's
/// own colour). The error says what is wrong and lists the accepted forms.
pub fn parse_color(text: &str) -> Result<Color, String> {
    let bad = |why: &str| {
        Err(format!(
            "\"{text}\" is not a colour{why}; {}",
            accepted_forms()
        ))
    };
    if let Some(hex) = text.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return bad(": a hex colour has six hex digits, as in \"#2e7d32\"");
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16);
        return match (byte(0), byte(2), byte(4)) {
            (Ok(r), Ok(g), Ok(b)) => Ok(Color::Rgb(r, g, b)),
            _ => bad(""),
        };
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u8>() {
            Ok(n) => Ok(Color::Indexed(n)),
            Err(_) => bad(": a 256-colour index is 0 to 255"),
        };
    }
    let folded: String = text
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .collect::<String>()
        .to_lowercase()
        .replace("grey", "gray");
    if let Some((_, color)) = COLOR_NAMES
        .iter()
        .find(|(name, _)| name.replace('_', "") == folded)
    {
        return Ok(*color);
    }
    let hint = suggest::did_you_mean(text, COLOR_NAMES.iter().map(|(n, _)| *n));
    bad(&hint)
}

/// A colour given as a TOML value: a string ([`parse_color`]) or an integer
/// 256-colour index.
fn value_color(value: &DeValue<'_>) -> Result<Color, String> {
    match value {
        DeValue::String(s) => parse_color(s),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            match i64::from_str_radix(&digits, i.radix()) {
                Ok(n) => u8::try_from(n)
                    .map(Color::Indexed)
                    .map_err(|_| format!("{n} is not a 256-colour index: an index is 0 to 255")),
                Err(_) => Err(format!(
                    "{} is not a 256-colour index: an index is 0 to 255",
                    i.as_str()
                )),
            }
        }
        other => Err(format!(
            "a colour must be a string or an integer, found {}; {}",
            other.type_str(),
            accepted_forms()
        )),
    }
}

/// Parses one theme file's text into the theme `name`. Returns every
/// problem (file:line:col) and no theme when there is any.
pub fn parse(name: &str, path: &Path, text: &str) -> Result<Theme, Vec<Diagnostic>> {
    let src = Source::new(path, text);
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().trim_end_matches('.').to_string();
            return Err(vec![
                src.diagnostic(span, format!("TOML syntax: {message}")),
            ]);
        }
    };
    let top = doc.get_ref();
    let mut diags = Vec::new();
    let mut error = |span: Range<usize>, message: String| {
        diags.push(src.diagnostic(span, message));
    };

    let mut theme = Theme::default();
    if let Some(value) = top.get(BASE_KEY) {
        match value.get_ref() {
            DeValue::String(base) => match Theme::builtin(base) {
                Some(t) => theme = t,
                None => {
                    let hint = suggest::did_you_mean(base, BUILTIN);
                    error(
                        value.span(),
                        format!(
                            "unknown base theme \"{base}\"{hint}; built in: {}",
                            BUILTIN.join(", ")
                        ),
                    );
                }
            },
            other => error(
                value.span(),
                format!(
                    "`{BASE_KEY}` must be the name of a built-in theme ({}), found {}",
                    BUILTIN.join(", "),
                    other.type_str()
                ),
            ),
        }
    }
    theme.name = name.to_string();

    for (key, value) in top.iter() {
        let role = key.get_ref().as_ref();
        if role == BASE_KEY {
            continue;
        }
        let Some(slot) = theme.slot_mut(role) else {
            let known = ROLES.iter().copied().chain([BASE_KEY]);
            let hint = suggest::did_you_mean(role, known);
            error(
                key.span(),
                format!(
                    "unknown key `{role}` in theme{hint}; known keys: {BASE_KEY}, {}",
                    ROLES.join(", ")
                ),
            );
            continue;
        };
        match value_color(value.get_ref()) {
            Ok(color) => *slot = color,
            Err(why) => error(value.span(), format!("bad colour for `{role}`: {why}")),
        }
    }

    if diags.is_empty() {
        Ok(theme)
    } else {
        diags.sort_by_key(|d| (d.line, d.col));
        Err(diags)
    }
}

/// Every theme to cycle through: the built-ins in [`BUILTIN`] order, then
/// each `themes/*.toml` of `home` in file-name order; a file named like a
/// built-in replaces it in place. Files that do not load (unreadable, not
/// UTF-8, bad TOML, unknown key, bad colour) are left out and their problems
/// returned. A home without a `themes/` folder has just the built-ins.
pub fn load_all(home: &Path) -> (Vec<Theme>, Vec<Diagnostic>) {
    let mut themes: Vec<Theme> = BUILTIN.iter().filter_map(|n| Theme::builtin(n)).collect();
    let mut diags = Vec::new();
    let dir = home.join("themes");
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return (themes, diags),
        Err(e) => {
            diags.push(Diagnostic::whole_file(
                &dir,
                format!(
                    "cannot read the themes folder: {}",
                    crate::home::describe(&e)
                ),
            ));
            return (themes, diags);
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));

    for path in files {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let loaded = read_text(&path).and_then(|text| parse(&name, &path, &text));
        match loaded {
            Ok(theme) => match themes.iter_mut().find(|t| t.name == theme.name) {
                Some(slot) => *slot = theme,
                None => themes.push(theme),
            },
            Err(mut errors) => diags.append(&mut errors),
        }
    }
    (themes, diags)
}

/// A theme file's text (a plain file, size-limited, UTF-8), read as flow
/// files are.
fn read_text(path: &Path) -> Result<String, Vec<Diagnostic>> {
    match crate::home::read_text(path) {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err(vec![Diagnostic::whole_file(
            path,
            "cannot read: no such file or folder",
        )]),
        Err(d) => Err(vec![d]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_resolve_to_xterm_rgb() {
        assert_eq!(rgb(Color::Indexed(16), (1, 1, 1)), (0, 0, 0));
        assert_eq!(rgb(Color::Indexed(24), (1, 1, 1)), (0x00, 0x5f, 0x87));
        assert_eq!(rgb(Color::Indexed(231), (1, 1, 1)), (255, 255, 255));
        assert_eq!(rgb(Color::Indexed(245), (1, 1, 1)), (0x8a, 0x8a, 0x8a));
        assert_eq!(rgb(Color::LightCyan, (1, 1, 1)), (0, 255, 255));
        assert_eq!(rgb(Color::Reset, (1, 2, 3)), (1, 2, 3));
        assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 1e-9);
        assert!((contrast((9, 9, 9), (9, 9, 9)) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn every_builtin_theme_has_readable_text() {
        let mut failures = Vec::new();
        for name in BUILTIN {
            let theme = Theme::builtin(name).expect("a built-in");
            for (fg, bg, ratio) in theme.low_contrast() {
                failures.push(format!("{name}: {fg} on {bg} is {ratio:.2}:1"));
            }
        }
        assert!(
            failures.is_empty(),
            "text below {MIN_CONTRAST}:1 against its background:\n{}",
            failures.join("\n")
        );
    }

    fn parse_text(text: &str) -> Result<Theme, Vec<String>> {
        parse("mine", Path::new("themes/mine.toml"), text)
            .map_err(|d| d.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn parses_every_colour_form() {
        assert_eq!(parse_color("#2e7d32"), Ok(Color::Rgb(0x2e, 0x7d, 0x32)));
        assert_eq!(parse_color("#2E7D32"), Ok(Color::Rgb(0x2e, 0x7d, 0x32)));
        assert_eq!(parse_color("0"), Ok(Color::Indexed(0)));
        assert_eq!(parse_color("255"), Ok(Color::Indexed(255)));
        assert_eq!(parse_color("red"), Ok(Color::Red));
        assert_eq!(parse_color("Grey"), Ok(Color::Gray));
        assert_eq!(parse_color("darkgray"), Ok(Color::DarkGray));
        assert_eq!(parse_color("dark_grey"), Ok(Color::DarkGray));
        assert_eq!(parse_color("lightred"), Ok(Color::LightRed));
        assert_eq!(parse_color("light_magenta"), Ok(Color::LightMagenta));
        assert_eq!(parse_color("white"), Ok(Color::White));
        assert_eq!(parse_color("reset"), Ok(Color::Reset));
        assert_eq!(parse_color("default"), Ok(Color::Reset));

        let err = parse_color("256").unwrap_err();
        assert!(err.contains("0 to 255"), "{err}");
        let err = parse_color("#12345").unwrap_err();
        assert!(err.contains("six hex digits"), "{err}");
        assert!(err.contains("#rrggbb"), "{err}");
        assert!(parse_color("#12345g").is_err());
        assert!(parse_color("").is_err());
        let err = parse_color("magneta").unwrap_err();
        assert!(err.contains("did you mean `magenta`"), "{err}");
    }

    #[test]
    fn file_values_take_every_form() {
        let t = parse_text(
            "success = \"#00ff00\"\nfailed = \"red\"\nborder = 244\nqueued = \"17\"\n\
             dim = 0x10\nkey = \"light_cyan\"\n",
        )
        .unwrap();
        assert_eq!(t.success, Color::Rgb(0, 255, 0));
        assert_eq!(t.failed, Color::Red);
        assert_eq!(t.border, Color::Indexed(244));
        assert_eq!(t.queued, Color::Indexed(17));
        assert_eq!(t.dim, Color::Indexed(16));
        assert_eq!(t.key, Color::LightCyan);
    }

    #[test]
    fn overrides_only_the_keys_set() {
        let t = parse_text("base = \"light\"\nsuccess = \"#2e7d32\"\nborder = 244\n").unwrap();
        let light = Theme::builtin("light").unwrap();
        assert_eq!(t.name, "mine");
        assert_eq!(t.success, Color::Rgb(0x2e, 0x7d, 0x32));
        assert_eq!(t.border, Color::Indexed(244));
        for role in ROLES.iter().filter(|r| !["success", "border"].contains(r)) {
            assert_eq!(t.color(role), light.color(role), "{role}");
        }
        // No base: starts from `default`.
        let t = parse_text("failed = \"red\"\n").unwrap();
        assert_eq!(t.success, Theme::default().success);
    }

    #[test]
    fn misspelt_base_is_an_error_with_a_suggestion() {
        let errors = parse_text("base = \"ligth\"\n").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("themes/mine.toml:1:8: unknown base theme"));
        assert!(errors[0].contains("did you mean `light`"), "{errors:?}");
        let errors = parse_text("base = 3\n").unwrap_err();
        assert!(errors[0].contains("found integer"), "{errors:?}");
    }

    #[test]
    fn unknown_key_is_an_error_with_position_and_suggestion() {
        let errors = parse_text("failed = \"red\"\n  sucess = \"blue\"\n").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("themes/mine.toml:2:3: unknown key `sucess`"),
            "{errors:?}"
        );
        assert!(errors[0].contains("did you mean `success`"), "{errors:?}");
    }

    #[test]
    fn bad_values_are_errors_at_the_value() {
        let errors = parse_text(
            "success = \"#12345\"\nborder = 300\ntext = -1\ndim = 1.5\n[title]\nfg = \"red\"\n",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(errors[0].starts_with("themes/mine.toml:1:11: bad colour for `success`"));
        assert!(errors[0].contains("\"#12345\" is not a colour"));
        assert!(
            errors[1].starts_with("themes/mine.toml:2:10:"),
            "{errors:?}"
        );
        assert!(errors[1].contains("300 is not a 256-colour index"));
        assert!(errors[2].contains("-1 is not a 256-colour index"));
        assert!(errors[3].contains("found float"), "{errors:?}");
        assert!(errors[4].contains("`title`"), "{errors:?}");
    }

    #[test]
    fn syntax_error_has_a_position() {
        let errors = parse_text("success = \n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("themes/mine.toml:1:"), "{errors:?}");
        assert!(errors[0].contains("TOML syntax"), "{errors:?}");
    }

    #[test]
    fn load_all_keeps_good_files_and_reports_broken_ones() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("themes");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("mine.toml"), "base = \"light\"\nfailed = 196\n").unwrap();
        fs::write(dir.join("broken.toml"), "sucess = \"blue\"\n").unwrap();
        fs::write(dir.join("notes.txt"), "not a theme").unwrap();
        let (themes, diags) = load_all(home.path());
        let names: Vec<&str> = themes.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["default", "light", "high-contrast", "colorblind", "mine"]
        );
        assert_eq!(themes[4].failed, Color::Indexed(196));
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].path.ends_with("broken.toml"));
        assert_eq!((diags[0].line, diags[0].col), (1, 1));
    }

    #[test]
    fn load_all_replaces_builtins_in_place_and_sorts_files() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("themes");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("zed.toml"), "").unwrap();
        fs::write(dir.join("alpha.toml"), "").unwrap();
        fs::write(
            dir.join("light.toml"),
            "base = \"light\"\ntext = \"black\"\n",
        )
        .unwrap();
        fs::write(dir.join("bytes.toml"), b"text = \"a\xff\"\n").unwrap();
        let (themes, diags) = load_all(home.path());
        let names: Vec<&str> = themes.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "default",
                "light",
                "high-contrast",
                "colorblind",
                "alpha",
                "zed"
            ]
        );
        assert_eq!(themes[1].text, Color::Black);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!((diags[0].line, diags[0].col), (1, 10));
        assert!(diags[0].message.contains("UTF-8"));
    }

    #[test]
    fn load_all_without_a_themes_folder_has_the_builtins() {
        let home = tempfile::tempdir().unwrap();
        let (themes, diags) = load_all(home.path());
        assert_eq!(themes.len(), BUILTIN.len());
        assert!(diags.is_empty());
    }

    #[test]
    fn monochrome_resets_every_role_and_uses_modifiers() {
        for name in BUILTIN {
            let t = Theme::builtin(name).unwrap().monochrome();
            assert!(t.no_color);
            for role in ROLES {
                assert_eq!(t.color(role), Some(Color::Reset), "{name}.{role}");
            }
            assert_eq!(t.selection(), Style::new().add_modifier(Modifier::REVERSED));
            assert_eq!(
                t.matched().add_modifier,
                Modifier::REVERSED | Modifier::BOLD
            );
            assert!(
                t.task(TaskState::Failed)
                    .add_modifier
                    .contains(Modifier::BOLD)
            );
            assert!(
                t.task(TaskState::Skipped)
                    .add_modifier
                    .contains(Modifier::DIM)
            );
            for s in TaskState::ALL {
                assert_eq!(t.task(s).fg, None, "{name}: {s}");
            }
        }
    }

    #[test]
    fn the_shipped_theme_files_are_the_builtins_spelt_out() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
        for name in BUILTIN {
            let builtin = Theme::builtin(name).unwrap();
            let path = dir.join(format!("{name}.toml"));
            // After a deliberate change to a built-in: DROVER_BLESS_THEMES=1.
            if std::env::var_os("DROVER_BLESS_THEMES").is_some() {
                fs::create_dir_all(&dir).unwrap();
                fs::write(&path, builtin.to_file(name)).unwrap();
            }
            let text =
                fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                text,
                builtin.to_file(name),
                "{} is not the built-in spelt out: write it again with Theme::to_file",
                path.display()
            );
            let loaded = parse(name, &path, &text).unwrap();
            assert_eq!(loaded, builtin, "{}", path.display());
        }
    }

    #[test]
    fn builtins_are_complete_and_named() {
        for name in BUILTIN {
            let t = Theme::builtin(name).unwrap();
            assert_eq!(t.name, name);
            assert!(!t.no_color);
            for role in ROLES {
                assert!(t.color(role).is_some());
            }
        }
        assert!(Theme::builtin("dark").is_none());
        assert_eq!(ROLES.len(), 22);
    }

    #[test]
    fn builtins_tell_the_main_states_apart() {
        for name in BUILTIN {
            let t = Theme::builtin(name).unwrap();
            let main = [t.success, t.failed, t.running, t.queued];
            for (i, a) in main.iter().enumerate() {
                for b in &main[i + 1..] {
                    assert_ne!(a, b, "{name} repeats a state colour");
                }
            }
            assert_ne!(t.selection_fg, t.selection_bg, "{name}");
            assert_ne!(t.match_fg, t.match_bg, "{name}");
            assert_ne!(t.status_fg, t.status_bg, "{name}");
        }
    }

    #[test]
    fn colorblind_has_no_red_green_pair() {
        let t = Theme::builtin("colorblind").unwrap();
        let red_green = [Color::Red, Color::Green, Color::LightRed, Color::LightGreen];
        assert!(!red_green.contains(&t.success));
        assert!(!red_green.contains(&t.failed));
        let greenish = |c: Color| matches!(c, Color::Rgb(r, g, b) if g > r && g > b);
        let reddish = |c: Color| matches!(c, Color::Rgb(r, g, b) if r > g && r > b);
        assert!(matches!(t.success, Color::Rgb(..)));
        assert!(!greenish(t.success), "success is green");
        assert!(!(greenish(t.success) && reddish(t.failed)));
        // Failure is still the warm colour, success the cool one.
        assert!(reddish(t.failed));
    }

    #[test]
    fn styles_follow_the_roles() {
        let t = Theme::default();
        assert_eq!(t.task(TaskState::Success).fg, Some(t.success));
        assert!(
            t.task(TaskState::Running)
                .add_modifier
                .contains(Modifier::BOLD)
        );
        assert_eq!(t.run(RunState::Failed), t.task(TaskState::Failed));
        assert_eq!(t.border(true).fg, Some(t.border_focus));
        assert_eq!(t.border(false).fg, Some(t.border));
        assert_eq!(t.selection().bg, Some(t.selection_bg));
        assert_eq!(t.status().bg, Some(t.status_bg));
        assert_eq!(t.matched().bg, Some(t.match_bg));
        let hc = Theme::builtin("high-contrast").unwrap();
        assert!(
            hc.task(TaskState::Success)
                .add_modifier
                .contains(Modifier::BOLD)
        );
    }
}
