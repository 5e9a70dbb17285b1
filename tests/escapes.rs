//! Strings from users reach the terminal with their control characters
//! escaped: a flow file cannot retitle or clear the screen of whoever runs
//! `drover validate`, reads drover.log or lists the flows.

mod common;

use common::{TestHome, serve_ready, wait_until};

const EVIL_DEP: &str = "\\u001b]0;PWNED\\u0007\\u001b[2J";

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{what} has raw control characters: {text:?}"
    );
}

#[test]
fn validate_shows_control_characters_escaped() {
    let home = TestHome::new();
    home.flow(
        "evil",
        &format!("[tasks.a]\ncmd = \"true\"\ndeps = [\"{EVIL_DEP}\"]\n"),
    );
    home.flow(
        "nul",
        "timezone = \"Europe\\u0000Berlin\"\n[tasks.a]\ncmd = \"true\"\nenv = { \"A\\u0000B\" = \"1\" }\n",
    );
    let out = home.drover(&["validate"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert_clean("validate's output", &all);
    assert!(all.contains("\\u{1b}]0;PWNED\\u{7}\\u{1b}[2J"), "{all}");
    assert!(all.contains("Europe\\0Berlin"), "{all}");
    assert!(all.contains("A\\0B"), "{all}");
}

#[test]
fn drover_log_and_list_show_control_characters_escaped() {
    let home = TestHome::new();
    home.flow(
        "evil",
        &format!("[tasks.a]\ncmd = \"true\"\ndeps = [\"{EVIL_DEP}\"]\n"),
    );
    home.flow(
        "params",
        "[params]\nmsg = \"\\u001b[31mred\"\n[tasks.a]\ncmd = \"true\"\n",
    );
    let _serve = serve_ready(&home, &[]);
    let log =
        || std::fs::read_to_string(home.path().join(".drover/drover.log")).unwrap_or_default();
    wait_until("serve to log the broken flow", || log().contains("PWNED"));
    assert_clean("drover.log", &log());
    let trigger = home.drover(&["trigger", "params", "-p", "msg=\u{1b}]2;x\u{7}", "--wait"]);
    assert_eq!(trigger.code, 0, "{}", trigger.stderr);
    for args in [
        &["list"][..],
        &["runs", "params"],
        &["tasks", "params", "latest"],
        &["trigger", "evil"],
    ] {
        let out = home.drover(args);
        assert_clean(
            &format!("{args:?}"),
            &format!("{}{}", out.stdout, out.stderr),
        );
    }
    // The param is kept as given (JSON escapes it its own way).
    let runs = home.drover(&["runs", "params", "--json"]);
    assert!(
        runs.stdout.contains("\\u001b]2;x\\u0007"),
        "{}",
        runs.stdout
    );
}
