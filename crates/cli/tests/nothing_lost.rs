//! Nothing accepted is lost (issue 21): a broadcast answered 200 is in the synced log, so
//! after a SIGKILL at any moment and a restart it executes at its tick, or fails or is
//! dropped with a receipt; it is never unknown.
//!
//! The flood: four signing clients broadcast transfers for ticks up to a second ahead as fast
//! as the node answers, the node is killed with SIGKILL at a random moment (seeded, so a
//! failing round can be re-run) and restarted on the same data directory, 20 times. Then
//! every transaction that was answered 200, across all rounds, is looked up.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use comqute_sdk::{Amount, Identity, Keypair, Tick, Transaction};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use support::{key, NodeProc};

const ROUNDS: u32 = 20;
const CLIENTS: usize = 4;

fn tick(c: &Client, base: &str) -> Option<u32> {
    let v: Value = c
        .get(format!("{base}/live/v1/tick-info"))
        .send()
        .ok()?
        .json()
        .ok()?;
    v["tickInfo"]["tick"].as_u64().map(|t| t as u32)
}

/// A small deterministic generator (the rounds' kill times and ticks ahead).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Broadcasts until `stop`; records every id answered 200 with its tick.
fn flood(base: &str, k: &Keypair, seed: u64, stop: &AtomicBool, ok: &Mutex<Vec<(String, u32)>>) {
    let c = Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut rng = Lcg(seed);
    let mut now = None;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if n.is_multiple_of(32) || now.is_none() {
            now = tick(&c, base);
        }
        n += 1;
        let Some(t) = now else {
            // The node is down (killed, not yet back): try again shortly.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let ahead = 2 + rng.next(40) as u32;
        let tx = Transaction::new(
            k.identity(),
            Identity([9; 32]),
            Amount(1 + rng.next(1000) as i64),
            Tick(t + ahead),
            0,
            Vec::new(),
        )
        .sign(k);
        let body = json!({
            "encodedTransaction": base64::engine::general_purpose::STANDARD.encode(tx.encode())
        });
        match c
            .post(format!("{base}/live/v1/broadcast-transaction"))
            .json(&body)
            .send()
        {
            Ok(r) if r.status().as_u16() == 200 => {
                let v: Value = r.json().unwrap();
                let id = v["transactionId"].as_str().unwrap().to_string();
                ok.lock().unwrap().push((id, t + ahead));
            }
            // Refused (a tick already passed while we signed) or cut by the kill: not
            // answered 200, so nothing is promised.
            Ok(_) | Err(_) => now = None,
        }
    }
}

#[test]
fn every_broadcast_answered_200_survives_sigkill_under_a_flood() {
    let mut node = NodeProc::start_with(
        "nothing-lost",
        &[
            "--rate-per-address",
            "0",
            "--max-pending-per-identity",
            "100000",
        ],
    );
    let base = node.url.clone();
    let c = Client::new();
    let keys: Vec<Keypair> = ["flooda", "floodb", "floodc", "floodd"][..CLIENTS]
        .iter()
        .map(|n| key(n))
        .collect();
    for k in &keys {
        let r = c
            .post(format!("{base}/v1/devnet/faucet"))
            .json(&json!({"identity": k.identity().to_string(), "amount": "1000000000"}))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    let accepted = Mutex::new(Vec::new());
    let mut rng = Lcg(0x5eed_2100);
    let mut per_round = Vec::new();
    for round in 0..ROUNDS {
        let stop = AtomicBool::new(false);
        let before = accepted.lock().unwrap().len();
        let kill_after = Duration::from_millis(150 + rng.next(850));
        std::thread::scope(|s| {
            for (i, k) in keys.iter().enumerate() {
                let (base, stop, accepted) = (&base, &stop, &accepted);
                let seed = u64::from(round) * 100 + i as u64;
                s.spawn(move || flood(base, k, seed, stop, accepted));
            }
            std::thread::sleep(kill_after);
            node.crash_and_restart();
            stop.store(true, Ordering::Relaxed);
        });
        per_round.push(accepted.lock().unwrap().len() - before);
    }
    let accepted = accepted.into_inner().unwrap();
    eprintln!(
        "{} broadcasts answered 200 over {ROUNDS} SIGKILLs (per round: {per_round:?})",
        accepted.len()
    );
    assert!(
        per_round.iter().filter(|&&n| n > 0).count() >= ROUNDS as usize / 2,
        "the flood reached the node in most rounds: {per_round:?}"
    );

    // Wait until every accepted transaction's tick has run.
    let last = accepted.iter().map(|(_, t)| *t).max().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while tick(&c, &base).unwrap_or(0) <= last {
        assert!(Instant::now() < deadline, "the node ticks past {last}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    let mut unknown = Vec::new();
    for (id, t) in &accepted {
        let r = c
            .get(format!("{base}/live/v1/tx-status/{id}"))
            .send()
            .unwrap();
        if r.status().as_u16() == 404 {
            unknown.push((id.clone(), *t));
            continue;
        }
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = r.json().unwrap();
        let v = &v["transactionStatus"];
        let status = v["status"].as_str().unwrap().to_string();
        assert_ne!(status, "pending", "{id} for tick {t} is still pending: {v}");
        assert_eq!(v["tickNumber"], *t, "{v}");
        if status == "dropped" || status == "failed" {
            assert!(v["error"].is_string(), "a reason for {id}: {v}");
        }
        *outcomes.entry(status).or_default() += 1;
    }
    eprintln!("outcomes: {outcomes:?}");
    assert!(
        unknown.is_empty(),
        "{} of {} transactions answered 200 are unknown after the restarts, e.g. {:?}",
        unknown.len(),
        accepted.len(),
        &unknown[..unknown.len().min(5)]
    );
    assert!(outcomes.get("executed").copied().unwrap_or(0) > 0);
}
