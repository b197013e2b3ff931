//! The checks behind the fuzz targets in `fuzz/`, kept here so that `cargo test` replays the
//! committed corpora through exactly the same code (`tests/fuzz_corpus.rs`) without a fuzzer.
//! Each function panics only when an invariant breaks: that is what a fuzzer reports.

use comqute_market::{MarketConfig};
use comqute_qpi::{Amount, ContractIndex, Identity};

use crate::durable::record::{decode_record, encode_record, RecordBody};
use crate::{Ledger, Transaction};

/// Transaction decoding never panics; what decodes re-encodes to the same bytes.
pub fn tx_decode(data: &[u8]) {
    if let Ok(tx) = Transaction::decode(data) {
        assert_eq!(tx.encode(), data, "decode/encode round trip");
        assert_eq!(Transaction::decode(&tx.encode()).as_ref(), Ok(&tx));
        let _ = tx.verify();
    }
}

/// The tick-log reader never panics on any bytes; a body that decodes, framed anew, reads
/// back equal.
pub fn tick_log(data: &[u8]) {
    let _ = decode_record(data);
    if let Ok(body) = borsh::from_slice::<RecordBody>(data) {
        let framed = encode_record(7, body.next_tick, &body);
        let (h, back, len) = decode_record(&framed).expect("a freshly framed record reads back");
        assert_eq!((h.seq, len), (7, framed.len()));
        assert_eq!(back, body);
    }
}

fn market_genesis() -> Ledger {
    let mut b = Ledger::builder().epoch_ticks(16);
    for c in comqute_market::contracts(MarketConfig::default()) {
        b = b.contract_arc(c);
    }
    for i in 1..=4u8 {
        b = b.fund(Identity([i; 32]), Amount(1_000_000));
    }
    b = b
        .contract(comqute_qpi::examples::Notary)
        .contract(comqute_qpi::examples::SendMany)
        .contract(comqute_qpi::examples::Faulty);
    // Invariant: the default market config and the example contracts form a valid genesis.
    b.build().expect("valid fuzz genesis")
}

/// Contract calls with arbitrary inputs: the data is a sequence of calls, each
/// `[contract selector][input type u16][amount u16][source][len][input…]`, and a tick after
/// each. Nothing panics, money is conserved after every tick, the incremental digest equals
/// a full recomputation, and every function answers (or refuses) any input.
pub fn contract_calls(data: &[u8]) {
    use comqute_qpi::examples::{FAULTY, NOTARY, SEND_MANY};
    use comqute_market::{ESCROW, JOB_REGISTRY, WORKER_REGISTRY};
    // Selectors 0..5, as the committed seeds use them.
    const CONTRACTS: [u32; 6] = [
        ESCROW.0,
        WORKER_REGISTRY.0,
        JOB_REGISTRY.0,
        NOTARY.0,
        SEND_MANY.0,
        FAULTY.0,
    ];
    let mut l = market_genesis();
    let mut rest = data;
    let mut calls = 0;
    while rest.len() >= 7 && calls < 16 {
        let contract = ContractIndex(CONTRACTS[usize::from(rest[0]) % CONTRACTS.len()]);
        let input_type = u16::from_le_bytes([rest[1], rest[2]]);
        let amount = i64::from(u16::from_le_bytes([rest[3], rest[4]])) * 100;
        let source = Identity([1 + rest[5] % 4; 32]);
        let len = usize::from(rest[6]).min(rest.len() - 7);
        let input = rest[7..7 + len].to_vec();
        rest = &rest[7 + len..];
        calls += 1;
        let _ = l.query_raw(contract, input_type, &input);
        let _ = l.execute(
            source,
            Identity::contract(contract),
            Amount(amount),
            input_type,
            input,
        );
        if calls % 4 == 0 {
            let _ = l.advance_ticks(u32::from(input_type % 40));
        }
        let sum: i128 = l
            .state()
            .accounts_sorted()
            .iter()
            .map(|(_, a)| i128::from(a.balance))
            .sum();
        assert_eq!(sum, l.supply().circulating(), "money conserved");
        assert!(
            l.hook_failures().is_empty(),
            "hook failed: {:?}",
            l.hook_failures()
        );
    }
    assert_eq!(
        l.state_digest(),
        l.state().recompute_digest(),
        "incremental digest"
    );
}
