//! `drover next` against fire times computed independently (croniter, and a
//! brute-force scan for windows with DST changes): tests/fixtures/cron_vectors.*

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

fn vectors() -> Vec<Value> {
    let text = include_str!("fixtures/cron_vectors.json");
    serde_json::from_str::<Value>(text)
        .expect("fixture is JSON")
        .as_array()
        .expect("fixture is an array")
        .clone()
}

#[test]
fn next_matches_reference_vectors_in_every_zone() {
    let cases = vectors();
    assert!(cases.len() > 300, "fixture has {} cases", cases.len());
    let home = common::TestHome::new();
    for (i, case) in cases.iter().enumerate() {
        home.flow(
            &format!("c{i}"),
            &format!(
                "schedule = {}\ntimezone = {}\n[tasks.t]\ncmd = \"true\"\n",
                case["expr"], case["tz"]
            ),
        );
    }
    let mut zones = BTreeSet::new();
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let expected: Vec<&str> = case["next"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let n = expected.len().to_string();
        let after = case["after"].as_str().unwrap();
        let run = home.drover(&["next", &format!("c{i}"), "-n", &n, "--after", after]);
        assert_eq!(run.code, 0, "case {case}: {}", run.stderr);
        let got: Vec<&str> = run.stdout.lines().collect();
        if got != expected {
            failures.push(format!("{case}\n  got      {got:?}"));
        }
        zones.insert(case["tz"].as_str().unwrap().to_string());
    }
    assert!(zones.len() >= 6, "zones covered: {zones:?}");
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
