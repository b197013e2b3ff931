//! Writes seed inputs for the fuzz targets into `fuzz/corpus/`: framed tick-log records and
//! record bodies from a real durable run, and contract-call sequences that register a
//! worker and submit a job. `cargo run -p comqute-ledger --example gen_fuzz_seeds`.

use comqute_contracts::job_registry::{JobSpec, Sampling, SUBMIT};
use comqute_contracts::marketplace::model_id;
use comqute_contracts::worker_registry::{Capabilities, SetAvailable, REGISTER, SET_AVAILABLE};
use comqute_contracts::{Amount, Hash32, Identity, Tick};
use comqute_ledger::durable::{inspect_log, DurableConfig, DurableLedger};
use comqute_ledger::{Ledger, Transaction};

fn call(selector: u8, input_type: u16, amount_hundreds: u16, source: u8, input: &[u8]) -> Vec<u8> {
    let mut v = vec![selector];
    v.extend_from_slice(&input_type.to_le_bytes());
    v.extend_from_slice(&amount_hundreds.to_le_bytes());
    v.push(source);
    v.push(u8::try_from(input.len()).expect("short input"));
    v.extend_from_slice(input);
    v
}

fn main() {
    // `fuzz/corpus` of the checkout cargo runs this from.
    let root = comqute_fuzzkit::corpus_dir("");
    // Tick log: a durable run with transfers, a faucet and a warp.
    let dir = std::env::temp_dir().join(format!("comqute-fuzz-seeds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = Identity([1; 32]);
    let (mut d, _) = DurableLedger::open(
        &dir,
        Ledger::builder().fund(a, Amount(1_000)),
        DurableConfig::default(),
    )
    .expect("open");
    for i in 0..3u8 {
        let t = d.ledger().next_tick();
        d.submit_unsigned(Transaction::new(
            a,
            Identity([9 + i; 32]),
            Amount(5),
            t,
            0,
            vec![],
        ))
        .expect("submit");
        d.process_tick().expect("tick");
    }
    d.fund(&Identity([7; 32]), Amount(3)).expect("fund");
    d.warp_to_tick(Tick(40)).expect("warp");
    d.flush().expect("flush");
    drop(d);
    let (records, _) = inspect_log(&dir).expect("log");
    let out = root.join("tick_log");
    std::fs::create_dir_all(&out).expect("dir");
    let segs: Vec<_> = std::fs::read_dir(dir.join("log"))
        .expect("log dir")
        .map(|e| e.expect("entry").path())
        .collect();
    for (i, s) in segs.iter().enumerate() {
        std::fs::write(
            out.join(format!("segment{i}")),
            std::fs::read(s).expect("read"),
        )
        .expect("write");
    }
    for (i, r) in records.iter().enumerate() {
        std::fs::write(
            out.join(format!("body{i}")),
            borsh::to_vec(&r.body).expect("borsh"),
        )
        .expect("write");
    }
    let _ = std::fs::remove_dir_all(&dir);

    // Contract calls: register a worker, make it available, submit a job for its model.
    let caps = Capabilities {
        models: vec![model_id("llama3.1:8b")],
        gpu: "RTX 4090".into(),
        vram_mb: 24_000,
        tokens_per_s: 80,
        price_per_1k: Amount(100),
        max_concurrent: 2,
    };
    let spec = JobSpec {
        model: model_id("llama3.1:8b"),
        prompt_hash: Hash32::of(b"Why is the sky blue?"),
        prompt_size: 20,
        max_output_tokens: 1_000,
        max_price_per_1k: Amount(200),
        timeout_ticks: 50,
        min_reputation: 0,
        sampling: Sampling {
            seed: 42,
            temperature_milli: 0,
        },
    };
    let mut seq = call(1, REGISTER, 100, 0, &borsh::to_vec(&caps).expect("borsh"));
    seq.extend(call(
        1,
        SET_AVAILABLE,
        0,
        0,
        &borsh::to_vec(&SetAvailable { available: true }).expect("borsh"),
    ));
    seq.extend(call(2, SUBMIT, 2, 1, &borsh::to_vec(&spec).expect("borsh")));
    seq.extend(call(3, 1, 0, 2, &[]));
    let out = root.join("contract_calls");
    std::fs::create_dir_all(&out).expect("dir");
    std::fs::write(out.join("register_and_submit"), seq).expect("write");
    std::fs::write(out.join("empty"), b"").expect("write");
    println!("seeds written under {}", root.display());
}
