//! # comqute-worker
//!
//! The worker side of comqute as a library: what `comqute worker run`, `comqute demo`,
//! `comqute infer`, `comqute bench inference` and `comqute job replay` run, without the
//! command line.
//!
//! - [`daemon`]: the worker daemon ([`Worker`]): registration, heartbeats with a session,
//!   the fair-deadline rule ([`fits_deadline`]), serving the jobs it is offered, signing off.
//! - [`backend`]: the backend factory: a [`BackendSpec`] built into an `Arc<dyn Backend>`,
//!   the first of several [`Candidate`]s that works ([`pick_first`]), and the built-in
//!   model loaded from its installed file or a GGUF path ([`load_builtin`]).
//! - [`replay`](mod@replay): the exact-replay verifier ([`replay()`](replay::replay) → [`Replay`]).
//! - [`replica`]: the daemon's replica seats on other workers' checks (re-run or score,
//!   commit, reveal), and the [`Scorer`] seam for teacher-forced scoring.
//!
//! Errors are one type, [`WorkerError`].
//!
//! ## Features
//! - `clap`: derives `clap::Args` on [`BackendSpec`] and `clap::ValueEnum` on
//!   [`BackendKind`], so a command line parses the backend options straight into the
//!   factory's input (the `comqute` binary does).

pub mod backend;
pub mod daemon;
mod error;
pub mod replay;
pub mod replica;

pub use backend::{
    load_builtin, pick_first, BackendKind, BackendSpec, Candidate, PickEvent, Picked,
};
pub use daemon::{fits_deadline, Speed, Stop, Worker, WorkerConfig, WorkerReport};
pub use error::WorkerError;
pub use replay::{replay, Replay, ReplayOptions, Rerun};
pub use replica::{BuiltinScorer, Scorer};
