//! Cold start (PERF.md target 6, issue 7): loading each first-party plugin — manifest check,
//! component hash, compile or precompiled load, linking — from the engine's cache of compiled
//! plugins (`engine::Precompiled`: a file per component and engine, mapped into memory)
//! against compiling it, in the same run. Median of 5; the cache is warmed once first.
//!
//! `cargo bench -p tally-plugin-host --bench load`

use std::time::{Duration, Instant};

use tally_plugin_artifacts::FIRST_PARTY;
use tally_plugin_host::{PluginEngine, Registry};

const REPS: usize = 5;

fn main() {
    let cache = tempfile::tempdir().expect("temp dir");
    let compiling = Registry::new(PluginEngine::new(None).expect("engine"));
    let cached = Registry::new(PluginEngine::new(Some(cache.path())).expect("engine"));

    println!(
        "{:<16} {:>8} {:>12} {:>12} {:>9}",
        "plugin", "KB", "compile ms", "cached ms", "speed-up"
    );
    let (mut worst, mut total_compile, mut total_cached) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for p in FIRST_PARTY {
        let load = |registry: &Registry| {
            let t = Instant::now();
            registry
                .load_builtin(p.manifest, p.id, p.component)
                .unwrap_or_else(|e| panic!("{}: {e}", p.id));
            t.elapsed()
        };
        let compile = median(|| load(&compiling));
        load(&cached);
        let precompiled = median(|| load(&cached));
        println!(
            "{:<16} {:>8} {:>12.1} {:>12.2} {:>8.0}x",
            p.id,
            p.component.len() / 1024,
            ms(compile),
            ms(precompiled),
            compile.as_secs_f64() / precompiled.as_secs_f64()
        );
        worst = worst.max(precompiled);
        total_compile += compile;
        total_cached += precompiled;
    }
    println!(
        "all {} plugins: compile {:.0} ms, precompiled {:.1} ms; slowest precompiled load {:.2} ms (target <= 1 ms each)",
        FIRST_PARTY.len(),
        ms(total_compile),
        ms(total_cached),
        ms(worst)
    );
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..REPS).map(|_| f()).collect();
    times.sort();
    times[REPS / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
