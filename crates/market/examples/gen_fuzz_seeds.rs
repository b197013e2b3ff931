//! Writes seed inputs for the fuzz targets into `fuzz/corpus/`: framed tick-log records and
//! record bodies from a real durable run, and contract-call sequences through the whole job
//! lifecycle (offers started, declined, left unanswered; results, disputes, failures, daemon
//! sessions, unbonding). `cargo run -p comqute-market --example gen_fuzz_seeds`.

use comqute_ledger::durable::{inspect_log, DurableConfig, DurableLedger};
use comqute_ledger::{Ledger, Transaction};
use comqute_market::job_registry::{
    GiveUp, JobRef, JobResult, JobSpec, PostResult, Sampling, CANCEL, CHALLENGE, CLAIM, DECLINE,
    EXPIRE, FAIL, POST_RESULT, START, SUBMIT,
};
use comqute_market::model_id;
use comqute_market::worker_registry::{
    Capabilities, Heartbeat, SetAvailable, HEARTBEAT, REGISTER, SET_AVAILABLE, TOP_UP, UNBOND,
    WITHDRAW,
};
use comqute_market::JobId;
use comqute_qpi::{Amount, Hash32, Identity, Tick};

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

    // Contract calls, in the target's format (see `comqute_market::harness::fuzz_contract_calls`):
    // sequences through every marketplace procedure, with today's encodings.
    let out = root.join("contract_calls");
    std::fs::create_dir_all(&out).expect("dir");
    for (name, seq) in contract_call_seeds() {
        std::fs::write(out.join(name), seq).expect("write");
    }
    std::fs::write(out.join("empty"), b"").expect("write");
    println!("seeds written under {}", root.display());
}

/// The target's selectors: 0 escrow, 1 worker registry, 2 job registry, 3 the notary (a
/// no-op call whose input type, at every fourth call, lets `input_type % 40` ticks pass).
const WORKERS: u8 = 1;
const JOBS: u8 = 2;
const NOTARY: u8 = 3;

fn enc<T: borsh::BorshSerialize>(v: &T) -> Vec<u8> {
    borsh::to_vec(v).expect("borsh")
}

/// The named contract-call seeds. Sources are `Identity([1 + s; 32])` for source byte `s`:
/// 0 (and 2) work, 1 requests. Job 1 is the first job submitted.
fn contract_call_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let caps = Capabilities {
        models: vec!["llama3.1:8b".into()],
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
    let job = enc(&JobRef { job_id: JobId(1) });
    let give_up = |reason: &str| {
        enc(&GiveUp {
            job_id: JobId(1),
            reason: reason.into(),
        })
    };
    let heartbeat = |session: u64, takeover: bool| enc(&Heartbeat { session, takeover });
    let available = |available: bool, session: u64| enc(&SetAvailable { available, session });
    let post = enc(&PostResult {
        job_id: JobId(1),
        result: JobResult {
            result_hash: Hash32(std::array::from_fn(|i| i as u8 + 1)),
            output_tokens: 10,
            runtime: Hash32::ZERO,
        },
    });
    // Worker 0 registers (stake 10,000) and lists itself; requester 1 submits (escrow
    // 200), matched to worker 0 at END_TICK; a no-op call.
    let mut start = call(WORKERS, REGISTER.number(), 100, 0, &enc(&caps));
    start.extend(call(
        WORKERS,
        SET_AVAILABLE.number(),
        0,
        0,
        &available(true, 0),
    ));
    start.extend(call(JOBS, SUBMIT.number(), 2, 1, &enc(&spec)));
    start.extend(call(NOTARY, 1, 0, 2, &[]));
    let seq = |calls: &[Vec<u8>]| {
        let mut v = start.clone();
        for c in calls {
            v.extend_from_slice(c);
        }
        v
    };
    let idle = || call(NOTARY, 39, 0, 2, &[]);
    vec![
        ("register_and_submit", start.clone()),
        (
            "job_lifecycle",
            seq(&[
                call(JOBS, CLAIM.number(), 0, 0, &job),
                call(JOBS, START.number(), 0, 0, &job),
                call(JOBS, POST_RESULT.number(), 0, 0, &post),
                call(WORKERS, HEARTBEAT.number(), 0, 0, &heartbeat(0, false)),
                call(JOBS, CHALLENGE.number(), 0, 1, &job),
                call(JOBS, EXPIRE.number(), 0, 2, &job),
            ]),
        ),
        (
            "job_finalized",
            seq(&[
                call(JOBS, CLAIM.number(), 0, 0, &job),
                call(JOBS, START.number(), 0, 0, &job),
                call(JOBS, POST_RESULT.number(), 0, 0, &post),
                idle(),
                idle(),
                idle(),
                idle(),
            ]),
        ),
        (
            "job_cancel_and_fail",
            seq(&[
                call(JOBS, CANCEL.number(), 0, 1, &job),
                call(JOBS, CLAIM.number(), 0, 0, &job),
                call(JOBS, FAIL.number(), 0, 0, &give_up("out of memory")),
            ]),
        ),
        (
            // Declined, reopened, offered to a second worker, started and given up.
            "offer_declined_then_failed",
            seq(&[
                call(
                    JOBS,
                    DECLINE.number(),
                    0,
                    0,
                    &give_up("500 tokens do not fit in 3 ticks"),
                ),
                call(WORKERS, REGISTER.number(), 100, 2, &enc(&caps)),
                call(WORKERS, SET_AVAILABLE.number(), 0, 2, &available(true, 0)),
                call(JOBS, START.number(), 0, 2, &job),
                call(JOBS, FAIL.number(), 0, 2, &give_up("crashed")),
                call(JOBS, EXPIRE.number(), 0, 1, &job),
            ]),
        ),
        (
            // Daemon sessions (one refused, then a takeover and a sign-off) while the offer
            // lapses unanswered (39 ticks pass at the eighth call); the reopened job expires
            // (39 more at the twelfth).
            "offer_unanswered_and_sessions",
            seq(&[
                call(JOBS, EXPIRE.number(), 0, 2, &job),
                call(WORKERS, HEARTBEAT.number(), 0, 0, &heartbeat(5, false)),
                call(WORKERS, HEARTBEAT.number(), 0, 0, &heartbeat(6, false)),
                idle(),
                call(WORKERS, HEARTBEAT.number(), 0, 0, &heartbeat(6, true)),
                call(WORKERS, SET_AVAILABLE.number(), 0, 0, &available(false, 6)),
                call(JOBS, EXPIRE.number(), 0, 1, &job),
                idle(),
                call(JOBS, EXPIRE.number(), 0, 1, &job),
            ]),
        ),
        (
            "worker_unbond_withdraw",
            [
                call(WORKERS, REGISTER.number(), 100, 0, &enc(&caps)),
                call(WORKERS, HEARTBEAT.number(), 0, 0, &heartbeat(0, false)),
                call(WORKERS, UNBOND.number(), 0, 0, &[]),
                call(WORKERS, TOP_UP.number(), 50, 0, &[]),
                idle(),
                call(WORKERS, WITHDRAW.number(), 0, 0, &[]),
            ]
            .concat(),
        ),
    ]
}
