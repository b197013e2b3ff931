//! `bench-harness [--quick] [--only NAME]`: the issue-9 figures as one JSON line, the same
//! code as `comqute bench harness --json`, in a small binary for profiling
//! (`perf record -g target/release/bench-harness --only transfer`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let sizes = if quick {
        comqute_benches::harness::Sizes::quick()
    } else {
        comqute_benches::harness::Sizes::full()
    };
    let result = match only {
        Some(name) => comqute_benches::harness::measure_one(&name, sizes),
        None => comqute_benches::harness::measure(sizes, |what| eprintln!("measuring {what}…"))
            .map(|f| f.to_json()),
    };
    match result {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
