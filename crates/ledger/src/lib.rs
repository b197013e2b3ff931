//! # comqute-ledger
//!
//! A deterministic, tick-based ledger emulator in Qubic's shape, with comqute's own crypto
//! (ed25519 over blake3). App developers embed it; contract authors use it as a test harness.
//!
//! - [`tx`]: the packed transaction format, signing, verification, ids.
//! - [`keys`]: seeds and key pairs.
//! - [`state`]: balances and contract storage with an undo journal, O(1) forks and an
//!   incremental, order-independent digest.
//! - [`durable`]: the tick log, snapshots, crash recovery and verified replay on a data
//!   directory ([`durable::DurableLedger`]).
//! - [`Ledger`]: genesis, the pending pool, tick processing in Qubic's order, receipts,
//!   events, epochs, and the **harness powers**: fund, execute without signatures, warp to a
//!   tick or epoch, snapshot and restore, fork.
//! - [`invariants`]: random action sequences with invariants after every tick, shrinking and
//!   saved regressions (the marketplace's model with its invariants is
//!   `comqute_market::harness`).
//! - [`record`]: a run's genesis and inputs in one file, replayed with a digest check at
//!   every tick.
//! - [`Retention`]: how much history (receipts, events, summaries) a long run keeps.
//!
//! ## Digests (format 4)
//! - **State**: an additive multiset hash (four wrapping 64-bit lanes) over every entry:
//!   `blake3::keyed_hash(identity, 1 ‖ record)` for a balance record (the record's seven
//!   fields little-endian, 40 bytes), `blake3(2 ‖ key length ‖ key ‖ value)` for a stored
//!   value and `blake3(3 ‖ key length ‖ key)` for an ordered-set member, where the key is the
//!   contract index (4 bytes, big-endian) followed by the contract's own key and the length
//!   is one byte. The lanes are the hash's four little-endian 64-bit words. When entries
//!   are hashed is a [`DigestPolicy`]'s choice, never the value: in the harness (the
//!   default) writes do not hash and each written entry is hashed once when a digest is
//!   asked for; a node, a durable ledger or a recording hashes each write as it is made
//!   and has the state digest at every busy tick.
//! - **Genesis**: `blake3("comqute genesis" ‖ genesis tick ‖ genesis epoch ‖ ticks per epoch ‖
//!   state digest)`.
//! - **A tick that did something**: `receipts digest = blake3::keyed_hash(previous receipts
//!   digest, tick ‖ its receipts ‖ its events)`, a chain from the genesis digest, and
//!   `digest = blake3::keyed_hash(receipts digest, state digest)` (see
//!   [`Ledger::process_tick`]). The tick's seed is `blake3("comqute tick seed" ‖ previous
//!   receipts digest ‖ tick)`: seeds follow from the receipts, never from the state, so they
//!   need no hashing of it.
//! - **A skipped (idle) tick**: one with no transaction, no event, no hook failure and the
//!   state unchanged leaves the digests as they were and records no summary. A warp
//!   jumps over ticks in which no hook has work and no transaction is due, and gives the
//!   same digest as processing them one by one.
//!
//! ## What it must never do
//! Read a clock, ask the OS for randomness, use floats, iterate a `HashMap` where the order
//! could reach state or digests, or touch the network or Ollama. Same inputs, same digests,
//! on every machine. Library code returns errors; it does not panic on input.
//!
//! ## Example: a contract under test
//! ```
//! use comqute_qpi::examples::{Notary, SendMany, SendToMany, SEND_MANY, SEND_TO_MANY, STATS, SendManyStats};
//! use comqute_qpi::{Amount, Identity};
//! use comqute_ledger::{Ledger, Seed, Transaction, TxStatus};
//!
//! let alice = Seed::new(&"a".repeat(55))?.keypair();
//! let bob = Identity([2; 32]);
//! let mut ledger = Ledger::builder()
//!     .contract(Notary)
//!     .contract(SendMany)
//!     .fund(alice.identity(), Amount(1_000))
//!     .build()?;
//!
//! // A signed transaction for the next tick, invoking send-many's procedure 1.
//! let input = borsh::to_vec(&SendToMany { payments: vec![(bob, Amount(100))] })?;
//! let tx = Transaction::call(alice.identity(), SEND_MANY, Amount(110), ledger.next_tick(), SEND_TO_MANY, input)
//!     .sign(&alice);
//! let id = ledger.submit(tx)?;
//! ledger.process_tick()?;
//!
//! let receipt = ledger.receipt(&id).expect("its tick ran");
//! assert_eq!(receipt.status, TxStatus::Executed);
//! assert_eq!(ledger.balance(&bob), Amount(100));
//! assert_eq!(receipt.balance_delta(&alice.identity()), -110);
//!
//! // Harness powers: snapshot, an unsigned call, a typed query, restore, warp.
//! ledger.snapshot("before");
//! let r = ledger.call(alice.identity(), SEND_MANY, SEND_TO_MANY, &SendToMany { payments: vec![(bob, Amount(5))] }, Amount(15))?;
//! assert!(r.is_executed());
//! let stats: SendManyStats = ledger.query(SEND_MANY, STATS, &())?;
//! assert_eq!(stats.calls, 2);
//! ledger.restore("before")?;
//! assert_eq!(ledger.balance(&bob), Amount(100));
//! ledger.warp_to_tick(comqute_qpi::Tick(50_000))?;
//! assert_eq!(ledger.epoch().0, 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod check;
mod dense;
pub mod durable;
pub mod error;
mod exec;
#[doc(hidden)]
pub mod fuzz;
mod history;
pub mod invariants;
pub mod keys;
mod ledger;
mod pool;
pub mod receipt;
pub mod record;
pub mod registry;
pub mod state;
pub mod tx;

pub use error::LedgerError;
pub use history::{EventRef, EventRefs, HistoryRecord, View, ViewIter};
pub use keys::{Keypair, QubicKeypair, Seed, Signer};
pub use ledger::{
    DigestPolicy, Ledger, LedgerBuilder, LedgerConfig, Retention, TxLookup, DIRTY_CAP,
};
pub use receipt::{
    CallRecord, DropReason, EntryPoint, Event, HookFailure, Receipt, TickSummary, Transfer,
    TransferKind, TxStatus,
};
pub use tx::{Transaction, TxError, TxId, VerifiedTx};
