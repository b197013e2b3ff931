//! Transaction decoding never panics, and whatever decodes re-encodes to the same bytes.
#![no_main]

use comqute_ledger::Transaction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = Transaction::decode(data) {
        assert_eq!(tx.encode(), data);
        assert_eq!(Transaction::decode(&tx.encode()).as_ref(), Ok(&tx));
        let _ = tx.verify();
    }
});
