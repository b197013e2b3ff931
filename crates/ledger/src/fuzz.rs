//! The checks behind the fuzz targets in `fuzz/`, kept here so that `cargo test` replays the
//! committed corpora through exactly the same code (`tests/fuzz_corpus.rs`) without a fuzzer.
//! Each function panics only when an invariant breaks: that is what a fuzzer reports.

use crate::durable::record::{decode_record, encode_record, RecordBody};
use crate::Transaction;

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
