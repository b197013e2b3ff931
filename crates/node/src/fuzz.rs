//! The check behind the `node_json` fuzz target in `fuzz/`, kept here so that `cargo test`
//! replays the committed corpus (`fuzz/corpus/node_json`) through exactly the same code
//! (`tests/fuzz_corpus.rs`) without a fuzzer. It panics only when an invariant breaks: that
//! is what a fuzzer reports.
//!
//! The node promises that a bad request never stops it and always gets a 4xx JSON error
//! with a stable code (crate docs). [`node_json`] holds it to that for the JSON bodies: the
//! same bytes are read as the body of every endpoint that takes one, with the same parsing
//! ([`crate::api::parse_json`]) and the same validation and conversion the handlers apply,
//! up to the ledger call, which runs on an in-memory genesis ledger like the node's.

use std::cell::RefCell;

use comqute_ledger::Ledger;
use comqute_qpi::{Amount, ContractIndex, Identity};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::devnet::{faucet_params, warp_target};

use crate::api::http_status;
use crate::api::qubic::{decode_broadcast, query_input};
use crate::api::{parse_hash, parse_identity, parse_job_id, parse_json};
use crate::error::ServiceError;
use crate::tokens::{authorize, TokenHub};
use crate::wire::{BroadcastRequest, FaucetRequest, QueryRequest, TokenPush, WarpRequest};

thread_local! {
    /// The node's default genesis with two funded identities, built once per thread;
    /// checks that change state work on a fork of it.
    static GENESIS: RefCell<Ledger> = RefCell::new(genesis());
}

/// The public keys of `testdata/vectors.json`'s identities: the corpus's transactions come
/// from them, so funding them lets those transactions be admitted and executed.
const VECTOR_KEYS: [&str; 2] = [
    "2c8a8a23aef47f023ddb58b069519730c9f3928fd83c577515256954e441dc4d",
    "fe18272e677652f35fc70db422285d70eee3af9eb2a7f3cdcc9d737d6bb6d722",
];

fn genesis() -> Ledger {
    let mut b = crate::default_genesis()
        .fund(Identity([1; 32]), Amount(1_000_000))
        .fund(Identity([2; 32]), Amount(1_000_000));
    for k in VECTOR_KEYS {
        let mut key = [0u8; 32];
        // Invariant: the constants are 64 hex digits.
        hex::decode_to_slice(k, &mut key).expect("a 32-byte hex key");
        b = b.fund(Identity(key), Amount(1_000_000));
    }
    b.build()
        // Invariant: the node's default genesis is valid (every node starts from it).
        .expect("the default genesis builds")
}

/// A refusal must be a client error (4xx) with a stable code, never a 5xx.
fn client_error(what: &str, e: &ServiceError) {
    assert!(
        http_status(e).is_client_error(),
        "{what}: {e} is {} ({}), not a 4xx",
        http_status(e),
        e.code()
    );
    assert!(!e.code().is_empty());
}

/// Parses `data` as a `T` body; what parses serializes and parses back equal.
fn body<T>(what: &str, data: &[u8]) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    match parse_json::<T>(data) {
        Ok(v) => {
            let again = serde_json::to_vec(&v).expect("a parsed body serializes");
            let back: T = parse_json(&again).expect("a serialized body parses");
            // serde_json's default float parsing is best-effort (a float written back may
            // read back one ulp away): compare as JSON values, floats within a few ulps.
            if back != v {
                let (x, y) = (
                    serde_json::to_value(&back).expect("serializes"),
                    serde_json::to_value(&v).expect("serializes"),
                );
                assert!(
                    comqute_fuzzkit::json_same(&x, &y),
                    "{what}: JSON round trip: {x} vs {y}"
                );
            }
            Some(v)
        }
        Err(e) => {
            assert_eq!(e.code(), "bad_json", "{what}: {e}");
            client_error(what, &e);
            None
        }
    }
}

/// Runs `r`; an error must be a client error.
fn check<T>(what: &str, r: Result<T, ServiceError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            client_error(what, &e);
            None
        }
    }
}

/// The node's JSON bodies: `data` is read as the body of `broadcast-transaction` (and the
/// devnet unsigned broadcast), `querySmartContract`, the devnet faucet and warp, and a token
/// push, and (when it is UTF-8) as the path parameters identity, hash and job id. Nothing
/// panics, every refusal is a typed 4xx [`ServiceError`], bodies that parse round-trip through
/// JSON, and what the handlers then do runs on a genesis ledger: a decoded transaction
/// re-encodes to the same bytes and is admitted or refused (4xx) and its tick processed;
/// a query runs or is refused (4xx); a faucet mints; a token push is authorized (or
/// refused) and appended to a small stream.
pub fn node_json(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = check("identity", parse_identity(s));
        let _ = check("hash", parse_hash(s));
        let _ = check("job id", parse_job_id("id", s));
    }

    if let Some(b) = body::<BroadcastRequest>("broadcast", data) {
        if let Some(tx) = check("broadcast", decode_broadcast(&b)) {
            let bytes = crate::api::b64("encodedTransaction", &b.encoded_transaction)
                .expect("decoded once already");
            assert_eq!(
                tx.encode(),
                bytes,
                "transaction re-encodes to the same bytes"
            );
            // A fuzzed signature almost never verifies: the refusal must be typed.
            let _ = check(
                "broadcast verify",
                comqute_ledger::VerifiedTx::verify(tx.clone()).map_err(ServiceError::from),
            );
            GENESIS.with(|g| {
                let mut l = g.borrow_mut().fork();
                let admitted = check(
                    "broadcast submit",
                    l.submit_unsigned(tx).map_err(ServiceError::from),
                );
                if admitted.is_some() {
                    let _ = check("tick", l.process_tick().map_err(ServiceError::from));
                    assert!(l.hook_failures().is_empty(), "{:?}", l.hook_failures());
                }
            });
        }
    }

    if let Some(q) = body::<QueryRequest>("query", data) {
        if let Some(input) = check("query", query_input(&q)) {
            GENESIS.with(|g| {
                let l = g.borrow();
                let r = l.query_raw(ContractIndex(q.contract_index), q.input_type, &input);
                let _ = check("query", r.map_err(ServiceError::from));
            });
        }
    }

    if let Some(f) = body::<FaucetRequest>("faucet", data) {
        if let Some((id, amount)) = check("faucet", faucet_params(&f)) {
            assert!(amount.0 > 0 && amount.0 <= comqute_qpi::MAX_AMOUNT);
            GENESIS.with(|g| {
                let mut l = g.borrow_mut().fork();
                let before = l.balance(&id);
                check(
                    "faucet fund",
                    l.fund(&id, amount).map_err(ServiceError::from),
                )
                .expect("a valid faucet amount funds a genesis ledger");
                assert_eq!(l.balance(&id).0, before.0 + amount.0);
            });
        }
    }

    if let Some(w) = body::<WarpRequest>("warp", data) {
        let next = GENESIS.with(|g| g.borrow().next_tick());
        if let Some(target) = check("warp", warp_target(&w, next)) {
            assert!(target >= next);
        }
    }

    if let Some(p) = body::<TokenPush>("token push", data) {
        GENESIS.with(|g| {
            let _ = check("token push", authorize(&g.borrow(), 1, &p));
        });
        let hub = TokenHub::new(64, 2);
        if let Some(pushed) = check("token push", hub.push(1, p.seq, &p.text, p.done)) {
            assert_eq!(pushed.next, 1, "the first chunk of a new stream");
        }
    }
}
