//! Per-task overhead of the engine, set against plain process spawning
//! measured in the same run (`cargo bench --bench engine`):
//!
//! (a) 300 independent `true` tasks at parallelism 2, vs
//!     `seq 300 | xargs -P2 -I{} sh -c true`;
//! (b) a chain of 100 `true` tasks, vs a shell loop of 100 `sh -c true`;
//! (c) peak RSS of `drover test` during (a).
//!
//! Each figure is the median of several runs of the whole command, process
//! start to exit, as a user would time it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

const RUNS: usize = 7;

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS).map(|_| f()).collect();
    times.sort();
    times[RUNS / 2]
}

fn timed(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let out = cmd.output().expect("run command");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn drover(home: &Path, flow: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_drover"));
    cmd.args(["test", flow]).env("DROVER_HOME", home);
    cmd
}

fn sh(script: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script]);
    cmd
}

/// Runs flow `chain` once through an engine whose tries are supervised by
/// `drover shim` processes; the time from trigger to the run's end.
fn chain_supervised(home: &Path) -> Duration {
    use drover::engine::{Engine, EngineEvent};
    use drover::store::{RunKind, Store};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let loaded = drover::home::Home::load(home).unwrap();
        let store = Store::open(&home.join(".drover/store")).unwrap();
        let engine = Engine::new(
            home.to_path_buf(),
            loaded.config.clone(),
            loaded.flows.clone(),
            store,
        )
        .with_supervisor_program(env!("CARGO_BIN_EXE_drover-shim").into());
        let (handle, join) = engine.spawn();
        let mut events = handle.subscribe();
        let t = Instant::now();
        let run = handle
            .trigger(
                "chain",
                RunKind::Manual,
                chrono::Utc::now(),
                Default::default(),
            )
            .await
            .unwrap();
        loop {
            if let Ok(EngineEvent::RunChanged { run_id, state, .. }) = events.recv().await
                && run_id == run.id
                && state.is_done()
            {
                break;
            }
        }
        let took = t.elapsed();
        handle.shutdown().await;
        join.await.unwrap().unwrap();
        took
    })
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::create_dir(home.join("flows")).unwrap();
    // Many runs pile up over the repetitions; keep them all (no pruning cost
    // hidden in one repetition and not another).
    std::fs::write(
        home.join("drover.toml"),
        "parallelism = 2\n[retention]\nkeep_runs = 100000\n",
    )
    .unwrap();
    let mut wide = String::new();
    for i in 0..300 {
        wide.push_str(&format!("[tasks.t{i:03}]\ncmd = \"true\"\n"));
    }
    std::fs::write(home.join("flows/wide.toml"), wide).unwrap();
    let mut chain = String::new();
    for i in 0..100 {
        chain.push_str(&format!("[tasks.t{i:03}]\ncmd = \"true\"\n"));
        if i > 0 {
            chain.push_str(&format!("deps = [\"t{:03}\"]\n", i - 1));
        }
    }
    std::fs::write(home.join("flows/chain.toml"), chain).unwrap();

    // (c) first, so the peak RSS of finished children is drover's own.
    timed(&mut drover(home, "wide"));
    let peak_kib = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss();

    let drover_wide = median(|| timed(&mut drover(home, "wide")));
    let xargs = median(|| timed(&mut sh("seq 300 | xargs -P2 -I{} sh -c true")));
    let drover_chain = median(|| timed(&mut drover(home, "chain")));
    let shell_loop = median(|| timed(&mut sh("for i in $(seq 100); do sh -c true; done")));

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("(a) 300 independent `true` tasks, 2 slots");
    println!(
        "    drover test {:>8.1} ms   xargs -P2 {:>8.1} ms   ratio {:.2}x",
        ms(drover_wide),
        ms(xargs),
        ms(drover_wide) / ms(xargs)
    );
    println!("(b) chain of 100 `true` tasks");
    println!(
        "    drover test {:>8.1} ms   shell loop {:>7.1} ms   ratio {:.2}x   extra per task {:.2} ms",
        ms(drover_chain),
        ms(shell_loop),
        ms(drover_chain) / ms(shell_loop),
        (ms(drover_chain) - ms(shell_loop)) / 100.0
    );
    println!(
        "(c) peak RSS of drover test during (a): {:.1} MiB",
        peak_kib as f64 / 1024.0
    );

    // (d) the same chain as `drover serve` runs it: each try under its own
    // supervisor process, so tasks outlive drover and can be adopted.
    let supervised = median(|| chain_supervised(home));
    println!("(d) chain of 100 with a supervisor process per try (as drover serve runs it)");
    println!(
        "    supervised {:>8.1} ms   in-process (b) {:>7.1} ms   extra per task {:.2} ms",
        ms(supervised),
        ms(drover_chain),
        (ms(supervised) - ms(drover_chain)) / 100.0
    );
}
