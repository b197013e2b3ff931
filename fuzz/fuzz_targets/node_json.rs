//! See `comqute_node::fuzz::node_json`: every JSON body the node takes, parsed, validated and
//! applied to a genesis ledger like the handlers do; every refusal is a typed 4xx error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| comqute_node::fuzz::node_json(data));
