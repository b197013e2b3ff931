//! # comqute-sdk
//!
//! What app developers import: keys, transactions and typed contract calls, over one client
//! that talks either to an embedded ledger (in-process, for tests and apps) or to a running
//! `comqute node`. The remote transport and the typed marketplace clients arrive with the
//! node issue; today the SDK re-exports the wire types, so there is exactly one definition
//! of each (the node decodes, CLI and SDK encode the same types), and makes new keys.
//!
//! ## What it must never do
//! Define a second copy of a wire type, or sign with a key it was not given.
//!
//! ```
//! let seed = comqute_sdk::new_seed()?;
//! let key = seed.keypair();
//! assert_eq!(key.identity().to_string().len(), 60);
//! # Ok::<(), comqute_sdk::SdkError>(())
//! ```

pub use comqute_contracts::{
    self as contracts, Amount, ContractIndex, Epoch, Hash32, Identity, Tick,
};
pub use comqute_ledger::{
    self as ledger, Keypair, Ledger, LedgerError, Receipt, Seed, Transaction, TxError, TxId,
    TxStatus,
};

use rand_core::{OsRng, RngCore};

/// The SDK's error.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The operating system gave no randomness.
    #[error("no randomness from the operating system: {0}")]
    Entropy(String),
    /// The ledger refused a request.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// A fresh random seed from the operating system's randomness.
pub fn new_seed() -> Result<Seed, SdkError> {
    let mut bytes = [0u8; comqute_ledger::keys::SEED_LEN];
    // Rejection sampling keeps the 26 letters uniform: bytes ≥ 234 (9 × 26) are redrawn.
    let mut filled = 0;
    let mut buf = [0u8; 64];
    while filled < bytes.len() {
        OsRng
            .try_fill_bytes(&mut buf)
            .map_err(|e| SdkError::Entropy(e.to_string()))?;
        for b in buf {
            if b < 234 && filled < bytes.len() {
                bytes[filled] = b;
                filled += 1;
            }
        }
    }
    Ok(Seed::from_entropy(&bytes))
}
