//! `drover validate` on hostile flow files (`cargo bench --bench validate`):
//! seconds per MB at 1, 4 and 16 MB for each kind, whole process, median
//! of 3; each set against validating a plain valid file of the same size
//! (a chain of simple tasks) in the same run. Linear means the s/MB column
//! stays flat as the size grows.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const MB: usize = 1_000_000;

/// A flow text of about `size` bytes: `head`, then `unit(i)` for i = 0.. until
/// the text reaches `size` bytes, then `tail`.
fn sized(size: usize, head: &str, unit: impl Fn(usize) -> String, tail: &str) -> String {
    let mut s = String::with_capacity(size + 1024);
    s.push_str(head);
    let mut i = 0;
    while s.len() < size {
        s.push_str(&unit(i));
        i += 1;
    }
    s.push_str(tail);
    s
}

/// Each kind: a name, whether it is valid, and its text at a size.
type Kind = (&'static str, bool, fn(usize) -> String);

const KINDS: &[Kind] = &[
    ("valid chain of tasks (baseline)", true, |size| {
        sized(
            size,
            "",
            |i| match i {
                0 => "[tasks.t0]\ncmd = \"echo {{ ds }}\"\n".to_string(),
                _ => format!(
                    "[tasks.t{i}]\ncmd = \"echo {{{{ ds }}}}\"\ndeps = [\"t{}\"]\n",
                    i - 1
                ),
            },
            "",
        )
    }),
    ("unknown deps on one line", false, |size| {
        sized(
            size,
            "[tasks.a]\ncmd = \"x\"\ndeps = [",
            |i| format!("\"u{i:07}\","),
            "]\n",
        )
    }),
    ("bad template variables in one cmd", false, |size| {
        sized(
            size,
            "[tasks.a]\ncmd = \"",
            |_| "{{ xx }} ".to_string(),
            "\"\n",
        )
    }),
    ("unknown keys, one a line", false, |size| {
        sized(
            size,
            "[tasks.a]\ncmd = \"x\"\n",
            |i| format!("zz{i:07} = 1\n"),
            "",
        )
    }),
    ("chain naming grandparents' outputs", true, |size| {
        sized(
            size,
            "[tasks.t0]\ncmd = \"x\"\n[tasks.t1]\ncmd = \"x\"\ndeps = [\"t0\"]\n",
            |i| {
                let i = i + 2;
                format!(
                    "[tasks.t{i}]\ncmd = \"echo {{{{ outputs.t{}.k }}}}\"\ndeps = [\"t{}\"]\n",
                    i - 2,
                    i - 1
                )
            },
            "",
        )
    }),
    ("one huge unknown key", false, |size| {
        format!("{} = 1\n[tasks.a]\ncmd = \"x\"\n", "k".repeat(size))
    }),
    ("one huge unknown timezone", false, |size| {
        format!(
            "timezone = \"{}\"\n[tasks.a]\ncmd = \"x\"\n",
            "Europe/Berlinx".repeat(size / 14)
        )
    }),
];

/// Median seconds of 3 runs of `drover validate FILE`.
fn validate(home: &Path, file: &Path, valid: bool) -> f64 {
    let mut times: Vec<f64> = (0..3)
        .map(|_| {
            let started = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_drover"))
                .arg("validate")
                .arg(file)
                .env("DROVER_HOME", home)
                .output()
                .unwrap();
            let took = started.elapsed().as_secs_f64();
            assert_eq!(
                out.status.success(),
                valid,
                "{}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
            took
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[1]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::create_dir_all(home.join("flows")).unwrap();
    // 16 MB stays under drover's 16 MiB file limit.
    let sizes = [MB, 4 * MB, 16 * MB];
    let mut baseline = [0.0f64; 3];
    println!(
        "`drover validate FILE`, median of 3        s/MB at 1 MB     4 MB    16 MB   (x valid file of the same size)"
    );
    for (n, (name, valid, make)) in KINDS.iter().enumerate() {
        let mut cells = Vec::new();
        for (k, &size) in sizes.iter().enumerate() {
            let text = make(size);
            let file = home.join(format!("flows/f{n}_{k}.toml"));
            std::fs::write(&file, &text).unwrap();
            let per_mb = validate(home, &file, *valid) / (text.len() as f64 / MB as f64);
            std::fs::remove_file(&file).unwrap();
            if n == 0 {
                baseline[k] = per_mb;
            }
            cells.push(format!("{per_mb:.3} ({:.2}x)", per_mb / baseline[k]));
        }
        println!("{name:<40} {}", cells.join("  "));
    }
}
