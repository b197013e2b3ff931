//! What a worker runs on, and how fast: GPUs from `nvidia-smi` when it is there, else the CPU
//! and memory from `/proc`; and a short benchmark (output tokens per second on a fixed prompt)
//! through any [`Backend`], used when registering a worker.

use std::fmt;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::backend::{Backend, GenerateRequest, TokenCount, TokenSink};
use crate::InferenceError;

/// One GPU as `nvidia-smi` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gpu {
    /// `NVIDIA GeForce RTX 4090`.
    pub name: String,
    /// Total memory in MiB.
    pub memory_mib: u64,
}

/// The machine a worker runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hardware {
    /// The CPU's model name (`/proc/cpuinfo`), or `unknown`.
    pub cpu_model: String,
    /// Logical CPUs available to this process.
    pub cpu_cores: u32,
    /// Total memory in bytes (`MemTotal`), 0 when unknown.
    pub memory_bytes: u64,
    /// GPUs found by `nvidia-smi`; empty without one.
    pub gpus: Vec<Gpu>,
}

impl Hardware {
    /// A short class for logs and matching: the first GPU's name and memory, else `cpu`,
    /// the core count and memory.
    pub fn class(&self) -> String {
        match self.gpus.first() {
            Some(g) => format!("gpu:{}:{}MiB", g.name, g.memory_mib),
            None => format!("cpu:{}c:{}GiB", self.cpu_cores, self.memory_bytes >> 30),
        }
    }
}

impl fmt::Display for Hardware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} cores), {:.1} GiB memory",
            self.cpu_model,
            self.cpu_cores,
            self.memory_bytes as f64 / (1u64 << 30) as f64
        )?;
        for g in &self.gpus {
            write!(f, ", GPU {} ({} MiB)", g.name, g.memory_mib)?;
        }
        Ok(())
    }
}

/// Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`: one
/// `name, MiB` line per GPU. Lines that do not parse are skipped.
pub fn parse_nvidia_smi(out: &str) -> Vec<Gpu> {
    out.lines()
        .filter_map(|line| {
            let (name, mem) = line.rsplit_once(',')?;
            let name = name.trim();
            let memory_mib = mem.trim().parse::<u64>().ok()?;
            (!name.is_empty()).then(|| Gpu {
                name: name.to_string(),
                memory_mib,
            })
        })
        .collect()
}

/// The CPU's model name from `/proc/cpuinfo` text (`model name` on x86, `Model` or
/// `Hardware` on ARM boards).
pub fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    for key in ["model name", "Model", "Hardware", "cpu model"] {
        for line in cpuinfo.lines() {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim() == key && !v.trim().is_empty() {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

/// `MemTotal` in bytes from `/proc/meminfo` text.
pub fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut parts = line["MemTotal:".len()..].split_whitespace();
    let n: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => n.checked_mul(1024),
        Some(_) => None,
    }
}

/// Runs `nvidia-smi` for at most `limit`; `None` when it is not there, fails or hangs.
fn run_nvidia_smi(limit: Duration) -> Option<String> {
    let mut child = Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,memory.total",
            "--format=csv,noheader,nounits",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                if !status.success() {
                    return None;
                }
                let mut out = String::new();
                child.stdout.take()?.read_to_string(&mut out).ok()?;
                return Some(out);
            }
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Detects the machine: GPUs via `nvidia-smi` (when present, within 5 s), CPU model and
/// memory from `/proc`. Never fails: what cannot be read is `unknown` or 0.
pub fn detect() -> Hardware {
    let gpus = run_nvidia_smi(Duration::from_secs(5))
        .map(|o| parse_nvidia_smi(&o))
        .unwrap_or_default();
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| parse_cpu_model(&s))
        .unwrap_or_else(|| "unknown".to_string());
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| parse_mem_total(&s))
        .unwrap_or(0);
    let cpu_cores = std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1);
    Hardware {
        cpu_model,
        cpu_cores,
        memory_bytes,
        gpus,
    }
}

/// The benchmark's fixed prompt.
pub const BENCH_PROMPT: &str =
    "Write a short paragraph about how a public ledger keeps account balances consistent.";

/// The result of [`benchmark`].
#[derive(Clone, Debug, PartialEq)]
pub struct Benchmark {
    /// The model measured.
    pub model: String,
    /// Output tokens generated.
    pub output_tokens: u32,
    /// Where the count comes from.
    pub token_count: TokenCount,
    /// Output tokens per second of generation (the backend's eval time when it reports one).
    pub tokens_per_second: f64,
    /// Time to the first token (includes loading the model when it was not loaded).
    pub first_token: Option<Duration>,
    /// Wall time of the whole run.
    pub wall: Duration,
}

/// Generates up to `max_tokens` tokens of [`BENCH_PROMPT`] on `model` (greedy, seed 0) and
/// measures the speed. A run that produced no token is an error.
pub async fn benchmark(
    backend: &dyn Backend,
    model: &str,
    max_tokens: u32,
) -> Result<Benchmark, InferenceError> {
    let req = GenerateRequest::new(model, BENCH_PROMPT, max_tokens.max(1));
    let g = backend.generate(&req, TokenSink::discard()).await?;
    let tokens_per_second = g.tokens_per_second().ok_or_else(|| {
        InferenceError::InvalidRequest(format!(
            "benchmark of {model} on {}: no output to measure",
            backend.name()
        ))
    })?;
    Ok(Benchmark {
        model: model.to_string(),
        output_tokens: g.output_tokens,
        token_count: g.token_count,
        tokens_per_second,
        first_token: g.timings.first_token,
        wall: g.timings.wall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvidia_smi_lines() {
        let out = "NVIDIA GeForce RTX 4090, 24564\nNVIDIA A100-SXM4-80GB, 81920\n\ngarbage\nX, notanumber\n";
        assert_eq!(
            parse_nvidia_smi(out),
            vec![
                Gpu {
                    name: "NVIDIA GeForce RTX 4090".into(),
                    memory_mib: 24564
                },
                Gpu {
                    name: "NVIDIA A100-SXM4-80GB".into(),
                    memory_mib: 81920
                },
            ]
        );
        assert!(parse_nvidia_smi("").is_empty());
    }

    #[test]
    fn proc_files() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(
            parse_cpu_model(cpuinfo).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        assert_eq!(
            parse_cpu_model("Hardware\t: BCM2835\n").as_deref(),
            Some("BCM2835")
        );
        assert_eq!(parse_cpu_model("nothing here"), None);
        assert_eq!(
            parse_mem_total("MemTotal:       24587300 kB\nMemFree: 1 kB\n"),
            Some(24587300 * 1024)
        );
        assert_eq!(parse_mem_total("MemFree: 1 kB\n"), None);
        assert_eq!(parse_mem_total("MemTotal: lots kB\n"), None);
    }

    #[test]
    fn detect_never_fails_here() {
        let h = detect();
        assert!(h.cpu_cores >= 1);
        assert!(!h.class().is_empty());
        assert!(!h.to_string().is_empty());
    }

    #[tokio::test]
    async fn benchmark_on_the_stand_in() {
        let b = crate::standin::StandInBackend::new(vec!["stand-in".into()])
            .unwrap()
            .with_token_delay(Duration::from_millis(1));
        let r = benchmark(&b, "stand-in", 16).await.unwrap();
        assert!(r.output_tokens > 0);
        assert!(r.tokens_per_second > 0.0);
    }
}
