//! `comqute bench harness [--json] [--quick]`: the contract test harness's own speed (issue
//! 9), every figure measured in one run on this machine by `comqute_benches::harness`: one
//! unsigned transfer, whole job happy paths on forks, snapshot and restore at 1,000,000 live
//! jobs against 1,000, a warp over 1,000,000 idle ticks, a fresh marketplace genesis, and
//! invariant runs of 50 random marketplace actions. Times are the thread's on-CPU time (the
//! machine may be shared); `wall_over_cpu` says how loaded it was.

use anyhow::{anyhow, Result};
use clap::Args;
use comqute_benches::harness::{measure, HarnessFigures, Sizes};

/// Options of `comqute bench harness`.
#[derive(Args)]
pub struct HarnessArgs {
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Small sizes (20,000 jobs instead of 1,000,000): a smoke run, not the figures.
    #[arg(long)]
    pub quick: bool,
}

/// Runs the harness benchmark.
pub fn run(a: HarnessArgs) -> Result<()> {
    let sizes = if a.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let json = a.json;
    let f = measure(sizes, |what| {
        if !json {
            eprintln!("measuring {what}…");
        }
    })
    .map_err(|e| anyhow!(e))?;
    if json {
        println!("{}", f.to_json());
    } else {
        print_table(&f);
    }
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "meets"
    } else {
        "misses"
    }
}

fn print_table(f: &HarnessFigures) {
    println!(
        "unsigned transfer          {:>10.0} ns   target ≤ 500 ({})",
        f.unsigned_transfer_ns,
        verdict(f.unsigned_transfer_ns <= 500.0)
    );
    println!(
        "  digests per tick (node)  {:>10.0} ns   target ≤ 1,000 ({})",
        f.unsigned_transfer_node_ns,
        verdict(f.unsigned_transfer_node_ns <= 1_000.0)
    );
    println!(
        "  history per kept one     {:>10.1} B    target ≤ 128 ({})",
        f.history_bytes_per_kept_transfer,
        verdict(f.history_bytes_per_kept_transfer <= 128.0)
    );
    println!(
        "  with history kept short  {:>10.0} ns",
        f.unsigned_transfer_bounded_history_ns
    );
    println!(
        "  batched, 1,024 a tick    {:>10.0} ns per transfer",
        f.batched_transfer_ns
    );
    println!(
        "scenarios                  {:>10.0} /s   target ≥ 100,000 ({})",
        f.scenarios_per_s,
        verdict(f.scenarios_per_s >= 100_000.0)
    );
    println!(
        "  digests per tick (node)  {:>10.0} /s   target ≥ 50,000 ({})",
        f.scenarios_per_s_node,
        verdict(f.scenarios_per_s_node >= 50_000.0)
    );
    println!(
        "snapshot+restore, 1M jobs  {:>10.0} ns   target ≤ 10,000 ({})",
        f.snapshot_restore_ns_1m,
        verdict(f.snapshot_restore_ns_1m <= 10_000.0)
    );
    println!(
        "  ratio 1M / 1k jobs       {:>10.2}      target ≤ 2 ({})",
        f.snapshot_restore_ratio_1m_vs_1k,
        verdict(f.snapshot_restore_ratio_1m_vs_1k <= 2.0)
    );
    println!(
        "warp 1M idle ticks         {:>10.3} ms   target ≤ 10 ({})",
        f.warp_1m_idle_ticks_ms,
        verdict(f.warp_1m_idle_ticks_ms <= 10.0)
    );
    println!(
        "harness start              {:>10.1} µs   target ≤ 100 ({})",
        f.harness_start_us,
        verdict(f.harness_start_us <= 100.0)
    );
    println!("fork                       {:>10.0} ns", f.fork_ns);
    println!(
        "invariant runs (50 acts)   {:>10.0} /s",
        f.invariant_runs_per_s
    );
    println!(
        "live jobs in the big state {:>10}      wall/cpu {:.2}",
        f.live_jobs_1m, f.wall_over_cpu
    );
}
