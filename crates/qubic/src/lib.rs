//! The Qubic crypto profile: seeds, keys, identities, K12, SchnorrQ signatures and
//! transaction digests and ids, byte-exact with Qubic's own libraries (qubic/core's
//! `four_q.h` and `kangaroo_twelve.h`, and the key utilities qubic-cli and qubipy ship).
//!
//! comqute's default profile keeps Qubic's shapes with its own crypto (blake3, ed25519). This
//! crate is the other profile, kept apart so that the rest of the tree pays for FourQ only
//! when it uses it. It does no I/O and never logs: no secret leaves it except through the
//! functions that return one.
//!
//! ```
//! use comqute_qubic::{k12, verify, Seed};
//!
//! let keys = Seed::new(&"a".repeat(55))?.keypair();
//! assert_eq!(
//!     keys.identity(),
//!     "BZBQFLLBNCXEMGLOBHUVFTLUPLVCPQUASSILFABOFFBCADQSSUPNWLZBQEXK"
//! );
//! let digest = k12(b"a message");
//! let signature = keys.sign_digest(&digest);
//! assert!(verify(&keys.public_key().0, &digest, &signature));
//! # Ok::<(), comqute_qubic::QubicError>(())
//! ```
//!
//! # What is used, and why
//! - **KangarooTwelve**: RustCrypto's `k12` crate, version 0.5.1 (KT128, RFC 9861, empty
//!   customization). Checked against the RFC's vectors and Qubic's own K12 (through qubipy)
//!   in `testdata/vectors.json`.
//! - **FourQ and SchnorrQ**: written for this crate in safe Rust (the `field`, `scalar`,
//!   `curve` and `schnorrq` modules, about 700 lines with their tests), not bound to C. No
//!   maintained crate does FourQ: the `fourq` crate on crates.io (0.1.6, 2024) binds a
//!   partial copy of FourQlib without SchnorrQ, needs cmake, bindgen and libclang, and builds
//!   into its own source directory; Microsoft marks FourQlib itself "not actively maintained,
//!   for research purposes". A binding would also need `unsafe` (denied in this workspace)
//!   and a C toolchain in every build, and Qubic's SchnorrQ differs from FourQlib's anyway
//!   (K12 for SHA-512, its own nonce rule), so the signature layer had to be written here in
//!   any case. The curve arithmetic is small because it skips FourQlib's endomorphisms: they
//!   speed a multiplication up without changing its result on the prime-order subgroup.
//!   Correctness is checked against Qubic's compiled library (qubipy 0.4.1) by the committed
//!   vectors and by tests that sign and verify across the two implementations.
//! - **Constant time**: field arithmetic, scalar reduction and products, and the scalar
//!   multiplications used for keys and nonces run the same instructions and memory accesses
//!   for every secret (fixed windows, masked table lookups; `subtle` for the choices).
//!   Qubic's own `ecc_mul_fixed` branches on the scalar's parity and on digit signs; this
//!   crate does not. Verification handles only public data and is variable time. Secrets
//!   are wiped on drop (`zeroize`) and their `Debug` forms hide them.
//!
//! # Where verification differs from Qubic's
//! It follows qubic/core's current `verify`, with its 2026 patches: S must be below N, and
//! the neutral and small-order keys are refused. So it refuses more than qubipy 0.4.1, whose
//! library predates those patches (it accepts the malleable twin S + N below 2^246 and the
//! forgery with the neutral point as key; `verify_cases` in the vectors records both).
//! Against core it differs in two ways, both refusals: every key outside the prime-order
//! subgroup is refused (core refuses those of small order and computes something specific
//! to its endomorphisms for the others), and so is a key whose y has a half written as p, a
//! second form of zero. No seed yields such keys; the `schnorrq` module's source gives the
//! reasoning. So this crate does not accept a signature that Qubic's current `verify`
//! refuses (short of Qubic's own quirks on points with a zero coordinate half, about 2^-127
//! likely for a key); for keys derived from seeds the two accept exactly the same signatures.

mod curve;
mod error;
mod field;
mod identity;
mod k12;
mod keys;
mod scalar;
mod schnorrq;
pub mod tx;

pub use error::QubicError;
pub use identity::{decode as decode_identity, encode as encode_identity, Case, IDENTITY_LEN};
pub use k12::{k12, k12_into};
pub use keys::{Keypair, PrivateKey, PublicKey, Seed, Subseed, SEED_LEN};
pub use schnorrq::{sign, verify};
