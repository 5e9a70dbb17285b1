//! `drover.toml`: the instance config of a home.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono_tz::Tz;
use toml::de::DeTable;

use super::diag::{Diagnostic, Source};
use super::fields::Checker;
use super::suggest;

pub const BUILTIN_THEMES: &[&str] = &["default", "light", "high-contrast", "colorblind"];

/// Where flows come from when they live in a git repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitConfig {
    pub url: String,
    pub branch: String,
    pub path: String,
    pub interval: Duration,
    /// An ssh private key file (relative to the home unless absolute);
    /// without it ssh URLs use the ssh agent.
    pub ssh_key: Option<String>,
    /// The environment variable holding an https token.
    pub token_env: Option<String>,
}

/// The parsed `drover.toml`; every field has its documented default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Worker slots for local tasks; `None` means one per CPU.
    pub parallelism: Option<usize>,
    pub theme: String,
    pub timezone: Tz,
    pub pools: BTreeMap<String, u32>,
    pub git: Option<GitConfig>,
    pub keep_runs: usize,
    /// False when drover.toml had errors, so some settings (pools) may be
    /// missing: flows then say so instead of blaming themselves.
    pub complete: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            parallelism: None,
            theme: "default".into(),
            timezone: Tz::UTC,
            pools: BTreeMap::new(),
            git: None,
            keep_runs: 500,
            complete: true,
        }
    }
}

const TOP_KEYS: &[&str] = &[
    "parallelism",
    "theme",
    "timezone",
    "pools",
    "git",
    "retention",
];
const GIT_KEYS: &[&str] = &["url", "branch", "path", "interval", "ssh_key", "token_env"];
const RETENTION_KEYS: &[&str] = &["keep_runs"];

/// Parses `drover.toml`. Returns the best config it could read (defaults for
/// anything wrong) together with every problem found. `themes` lists the
/// theme files present in the home (file stems).
pub fn parse_config(path: &Path, text: &str, themes: &[String]) -> (Config, Vec<Diagnostic>) {
    let src = Source::new(path, text);
    let mut config = Config::default();
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            config.complete = false;
            return (config, vec![super::toml_error(&src, &e)]);
        }
    };
    let mut ck = Checker::new(&src);
    let top = doc.get_ref();
    ck.known_keys(top, TOP_KEYS, &[], "drover.toml");

    if let Some(n) = ck.int(top, "parallelism", 1, 4096) {
        config.parallelism = Some(n as usize);
    }
    if let Some((name, span)) = ck.string(top, "theme") {
        let known = BUILTIN_THEMES.contains(&name) || themes.iter().any(|t| t == name);
        if known {
            config.theme = name.to_string();
        } else {
            let all: Vec<&str> = BUILTIN_THEMES
                .iter()
                .copied()
                .chain(themes.iter().map(String::as_str))
                .collect();
            let hint = suggest::did_you_mean_within(name, all.iter().copied(), &mut ck.suggest);
            ck.error(
                span,
                format!(
                    "unknown theme \"{name}\"{hint}; built in: {}, or add themes/{name}.toml",
                    BUILTIN_THEMES.join(", ")
                ),
            );
        }
    }
    if let Some((name, span)) = ck.string(top, "timezone") {
        match crate::schedule::parse_timezone(name) {
            Ok(tz) => config.timezone = tz,
            Err(e) => ck.error(span, e),
        }
    }
    if let Some((pools, _)) = ck.table(top, "pools") {
        ck.no_top_level_keys(pools, TOP_KEYS, "[pools]");
        for (key, _) in pools.iter() {
            let name = key.get_ref().as_ref();
            if TOP_KEYS.contains(&name) {
                continue;
            }
            if let Some(n) = ck.int(pools, name, 1, 1_000_000) {
                config.pools.insert(name.to_string(), n as u32);
            }
        }
    }
    if let Some((git, span)) = ck.table(top, "git") {
        ck.known_keys(git, GIT_KEYS, TOP_KEYS, "[git]");
        let url = ck.nonempty_string(git, "url").map(|(s, _)| s.to_string());
        if url.is_none() && git.get("url").is_none() {
            ck.error(
                span,
                "[git] needs `url`, e.g. url = \"file:///srv/flows.git\"",
            );
        }
        let interval = ck
            .duration(git, "interval", false)
            .unwrap_or(Duration::from_secs(60));
        let branch = ck
            .nonempty_string(git, "branch")
            .map_or("main", |(s, _)| s)
            .to_string();
        let path = ck
            .nonempty_string(git, "path")
            .map_or("flows", |(s, _)| s)
            .to_string();
        let ssh_key = ck
            .nonempty_string(git, "ssh_key")
            .map(|(s, _)| s.to_string());
        let token_env = ck
            .nonempty_string(git, "token_env")
            .map(|(s, _)| s.to_string());
        if let Some(url) = url {
            config.git = Some(GitConfig {
                url,
                branch,
                path,
                interval,
                ssh_key,
                token_env,
            });
        }
    }
    if let Some((retention, _)) = ck.table(top, "retention") {
        ck.known_keys(retention, RETENTION_KEYS, TOP_KEYS, "[retention]");
        if let Some(n) = ck.int(retention, "keep_runs", 1, i64::from(u32::MAX)) {
            config.keep_runs = n as usize;
        }
    }
    config.complete = !ck.has_errors();
    (config, ck.into_diagnostics())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Config, Vec<String>) {
        let (c, d) = parse_config(Path::new("drover.toml"), text, &["mine".to_string()]);
        (c, d.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn reads_every_key() {
        let (c, errors) = parse(
            "parallelism = 3\ntheme = \"mine\"\ntimezone = \"Europe/Berlin\"\n[pools]\ngpu = 1\n\
             [git]\nurl = \"file:///srv/f.git\"\ninterval = \"5m\"\n[retention]\nkeep_runs = 20\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(c.parallelism, Some(3));
        assert_eq!(c.theme, "mine");
        assert_eq!(c.timezone, chrono_tz::Europe::Berlin);
        assert_eq!(c.pools["gpu"], 1);
        let git = c.git.unwrap();
        assert_eq!((git.branch.as_str(), git.path.as_str()), ("main", "flows"));
        assert_eq!(git.interval, Duration::from_secs(300));
        assert_eq!(c.keep_runs, 20);
    }

    #[test]
    fn reports_problems_with_positions() {
        let (c, errors) =
            parse("paralelism = 3\ntheme = \"dark\"\n[pools]\ngpu = 0\n[git]\nbranch = \"x\"\n");
        assert_eq!(
            c,
            Config {
                complete: false,
                ..Config::default()
            }
        );
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("drover.toml:1:1: unknown key `paralelism`"));
        assert!(errors[0].contains("did you mean `parallelism`"));
        assert!(errors[1].starts_with("drover.toml:2:9: unknown theme \"dark\""));
        assert!(errors[2].starts_with("drover.toml:4:7: `gpu` must be between 1"));
        assert!(errors[3].contains("[git] needs `url`"));
    }

    #[test]
    fn syntax_error_has_a_position() {
        let (_, errors) = parse("parallelism = \n");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("drover.toml:1:"), "{errors:?}");
    }
}
