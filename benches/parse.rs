//! Parse + validate throughput: one 5,000-task flow, and a home of 500 flow
//! files. Each figure is set against a baseline measured in the same run:
//! parsing the same text as plain TOML (`toml::Table`), with no spans and no
//! validation. Run with `cargo bench --bench parse`.

use std::path::Path;
use std::time::{Duration, Instant};

use drover::flow::{Config, parse_flow};
use drover::home::Home;

/// Median wall time of `runs` calls of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// A flow of `n` tasks: each depends on up to two earlier ones and passes an
/// output along through a template, so the graph and template checks work.
fn big_flow(n: usize) -> String {
    let mut s = String::from(
        "description = \"big\"\nschedule = \"*/5 * * * *\"\ntimezone = \"Europe/Berlin\"\n[params]\nsize = \"10\"\n[defaults]\nretries = 1\ntimeout = \"1h\"\n",
    );
    for i in 0..n {
        s.push_str(&format!("\n[tasks.t{i}]\n"));
        if i == 0 {
            s.push_str("cmd = \"echo {{ ds }} {{ params.size }}\"\n");
        } else {
            let a = i - 1;
            let b = i / 2;
            s.push_str(&format!(
                "cmd = \"echo {{{{ outputs.t{a}.x }}}} {{{{ params.size }}}} --date {{{{ ds }}}}\"\ndeps = [\"t{a}\", \"t{b}\"]\n"
            ));
        }
    }
    s
}

fn small_flow(i: usize) -> String {
    format!(
        "description = \"flow {i}\"\nschedule = \"{} * * * *\"\n[params]\nn = \"1\"\n\
         [tasks.extract]\ncmd = \"echo {{{{ ds }}}}\"\n\
         [tasks.transform]\ncmd = \"echo {{{{ outputs.extract.rows }}}}\"\ndeps = [\"extract\"]\n\
         [tasks.load]\ncmd = \"echo {{{{ params.n }}}}\"\ndeps = [\"transform\"]\nretries = 2\nretry_delay = \"1m\"\n\
         [tasks.report]\ncmd = \"echo done\"\ndeps = [\"load\"]\ntrigger = \"all_done\"\n",
        i % 60
    )
}

fn main() {
    let config = Config::default();

    let text = big_flow(5000);
    let path = Path::new("big.toml");
    let flow = parse_flow("big", path, &text, &config).expect("big flow is valid");
    assert_eq!(flow.tasks.len(), 5000);
    let drover_big = median(15, || {
        parse_flow("big", path, &text, &config).unwrap();
    });
    let toml_big = median(15, || {
        text.parse::<toml::Table>().unwrap();
    });

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("flows")).unwrap();
    for i in 0..500 {
        std::fs::write(
            dir.path().join(format!("flows/f{i:03}.toml")),
            small_flow(i),
        )
        .unwrap();
    }
    let home = Home::load(dir.path()).unwrap();
    assert_eq!((home.flows.len(), home.broken.len()), (500, 0));
    let drover_home = median(15, || {
        Home::load(dir.path()).unwrap();
    });
    let toml_home = median(15, || {
        for entry in std::fs::read_dir(dir.path().join("flows")).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            text.parse::<toml::Table>().unwrap();
        }
    });
    // The whole command, process start to exit, as a user runs it.
    let validate = median(9, || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
            .arg("validate")
            .env("DROVER_HOME", dir.path())
            .output()
            .unwrap();
        assert!(out.status.success());
    });

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("parse + validate (median)              drover      plain TOML   ratio");
    println!(
        "one flow of 5,000 tasks ({:>4} KiB)     {:>7.2} ms  {:>7.2} ms   {:.2}x",
        text.len() / 1024,
        ms(drover_big),
        ms(toml_big),
        ms(drover_big) / ms(toml_big)
    );
    println!(
        "home of 500 flow files (read + load)   {:>7.2} ms  {:>7.2} ms   {:.2}x",
        ms(drover_home),
        ms(toml_home),
        ms(drover_home) / ms(toml_home)
    );
    println!(
        "`drover validate` on those 500 files, whole process: {:.2} ms",
        ms(validate)
    );
}
