//! A headless Chromium driven over WebDriver, for end-to-end tests of the pages the node
//! serves: Debian's `chromium` and `chromedriver` (packages `chromium`, `chromium-driver`),
//! a fresh profile per browser, and the `fantoccini` client over plain HTTP on loopback.
//!
//! A test file brings it in beside the other helpers and skips when no browser is installed
//! (CI installs one and fails instead):
//!
//! ```ignore
//! use std::time::Duration;
//!
//! mod support;
//! #[path = "support/browser.rs"]
//! mod browser;
//!
//! #[tokio::test]
//! async fn home_page_is_clean() {
//!     let node = support::NodeProc::start("home-page");
//!     let Some(b) = browser::Browser::start().await else { return };
//!     b.goto(&format!("{}/", node.url)).await;
//!     b.wait_text("h1", "comqute", Duration::from_secs(10)).await;
//!     b.assert_clean("home").await;
//!     b.close().await;
//! }
//! ```
//!
//! What a page did wrong comes from two places: the browser's console log (read through
//! chromedriver's log endpoint; `console.error`, uncaught exceptions and failed loads are
//! `SEVERE`), and the page's Resource Timing entries (the HTTP status of the document and of
//! every script, style, image and `fetch` it loaded).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// The window size a browser starts with (a laptop screen).
pub const DESKTOP: (u32, u32) = (1280, 900);
/// A phone's viewport (iPhone X class), for `set_size`.
pub const PHONE: (u32, u32) = (375, 812);

/// How long chromedriver has to print its port, and Chromium to open a session (a cold
/// start on a busy two-core machine takes a few seconds; these are ceilings, not waits).
const DRIVER_START: Duration = Duration::from_secs(20);
const SESSION_START: Duration = Duration::from_secs(60);

/// Chromium's flags: headless, no sandbox (tests run as root in CI), and none of the
/// background calls to Google's services, which the closed network refuses (and which would
/// show up as console errors).
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--hide-scrollbars",
    "--mute-audio",
    "--disable-crash-reporter",
    "--disable-breakpad",
];

/// A headless Chromium with its own chromedriver and profile directory. Both processes (and
/// every process Chromium started) are killed when it drops, also when a test panics; call
/// [`Browser::close`] to end the session politely first.
pub struct Browser {
    client: Client,
    /// Console entries read from the driver since the last `goto` (the driver hands each
    /// entry out once).
    log: Mutex<Vec<LogEntry>>,
    procs: Procs,
}

/// One entry of the browser's console log.
#[derive(Clone, Debug)]
pub struct LogEntry {
    /// `SEVERE`, `WARNING`, `INFO` or `DEBUG`.
    pub level: String,
    /// Where it came from: `console-api` (a `console.*` call), `javascript` (an uncaught
    /// exception), `network` (a failed load), `security`, …
    pub source: String,
    /// The text, starting with the script URL and line for `console-api` entries.
    pub message: String,
}

/// A request of the current page that failed: an HTTP status of 400 or more, or 0 (a
/// same-origin request with no response: refused, reset, blocked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRequest {
    /// The URL requested.
    pub url: String,
    /// The HTTP status (0: no response).
    pub status: u32,
    /// What loaded it: `navigation` (the document itself), `script`, `link`, `img`, `fetch`,
    /// `xmlhttprequest`, `css`, …
    pub kind: String,
}

impl std::fmt::Display for FailedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.status, self.url, self.kind)
    }
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session on
    /// it, with a [`DESKTOP`]-sized window.
    ///
    /// Without `chromedriver` or `chromium` (or `chromium-browser`) on `PATH` it prints a line saying the test is
    /// skipped and returns `None`, except under CI (`CI=true`), where it panics: `.ci/run`
    /// installs both. Panics if they are installed but do not start (with their logs).
    pub async fn start() -> Option<Browser> {
        let (Some(driver), Some(chromium)) = (
            on_path(&["chromedriver"]),
            on_path(&["chromium", "chromium-browser"]),
        ) else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "browser tests need `chromedriver` and `chromium` on PATH; `.ci/run` \
                     installs them (apt-get install chromium chromium-driver)"
                );
            }
            eprintln!("skipping: chromedriver not found; install chromium and chromium-driver");
            return None;
        };

        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "comqute-browser-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let profile = dir.join("profile");
        std::fs::create_dir_all(&profile).unwrap();

        // Its own process group, so that dropping kills Chromium with it. Chromium's crash
        // handler leaves the group; with its config home (crash reports) under `dir` it is
        // found by that path on drop, and nothing is written to ~/.config.
        let mut child = Command::new(&driver)
            .arg("--port=0")
            .arg(format!(
                "--log-path={}",
                dir.join("chromedriver.log").display()
            ))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("chromedriver.stderr")).unwrap())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", driver.display()));
        let stdout = child.stdout.take().unwrap();
        let procs = Procs { driver: child, dir };

        // "ChromeDriver was started successfully on port N." once it listens; the rest of
        // its stdout is drained by the same thread until it exits.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let port = rest.trim_end_matches('.').trim().parse::<u16>().ok();
                    if let (Some(tx), Some(port)) = (tx.take(), port) {
                        let _ = tx.send(port);
                    }
                }
            }
        });
        let port = match tokio::time::timeout(DRIVER_START, rx).await {
            Ok(Ok(port)) => port,
            _ => panic!(
                "chromedriver printed no port within {DRIVER_START:?}: {}",
                procs.logs()
            ),
        };

        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": CHROMIUM_ARGS
                    .iter()
                    .map(|a| a.to_string())
                    .chain([
                        format!("--user-data-dir={}", profile.display()),
                        format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                    ])
                    .collect::<Vec<_>>(),
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps);
        let url = format!("http://127.0.0.1:{port}");
        let client = match tokio::time::timeout(SESSION_START, builder.connect(&url)).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!("Chromium session did not start: {e}: {}", procs.logs()),
            Err(_) => panic!(
                "Chromium session did not start within {SESSION_START:?}: {}",
                procs.logs()
            ),
        };
        let browser = Browser {
            client,
            log: Mutex::new(Vec::new()),
            procs,
        };
        browser.set_size(DESKTOP.0, DESKTOP.1).await;
        Some(browser)
    }

    /// The WebDriver client, for everything this file does not wrap: `find`, `execute`,
    /// `execute_async`, element clicks and typing, `wait()`, …
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Loads `url` and waits for its `load` event. Console entries of earlier pages are
    /// dropped first, so that [`console_errors`](Browser::console_errors) and
    /// [`assert_clean`](Browser::assert_clean) speak of this page only.
    pub async fn goto(&self, url: &str) {
        let _ = self.read_log().await;
        self.log.lock().unwrap().clear();
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("loading {url}: {e}"));
    }

    /// The current page's URL (empty if the driver cannot say).
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// Every console entry (all levels) since the last [`goto`](Browser::goto).
    pub async fn console_log(&self) -> Vec<LogEntry> {
        let new = self.read_log().await;
        let mut log = self.log.lock().unwrap();
        log.extend(new);
        log.clone()
    }

    /// The console's `SEVERE` entries since the last [`goto`](Browser::goto), as
    /// `source: message`: `console.error` calls, uncaught exceptions and failed loads
    /// ("Failed to load resource: the server responded with a status of 404"), less a
    /// missing `/favicon.ico` (see [`failed_requests`](Browser::failed_requests)).
    ///
    /// Entries arrive asynchronously: wait for what the page does (an element, a text)
    /// before asking.
    pub async fn console_errors(&self) -> Vec<String> {
        self.console_log()
            .await
            .into_iter()
            .filter(|e| e.level == "SEVERE")
            .filter(|e| {
                let url = e.message.split_whitespace().next().unwrap_or_default();
                !(e.source == "network" && is_favicon(url))
            })
            .map(|e| format!("{}: {}", e.source, e.message))
            .collect()
    }

    /// The current document's requests that failed, from its Resource Timing entries (the
    /// document itself, scripts, styles, images, `fetch` and XHR calls): an HTTP status
    /// `>= 400`, or 0 for a same-origin request that got no response. Cross-origin entries
    /// without `Timing-Allow-Origin` report 0 too and are left out (their failures still
    /// reach the console log).
    ///
    /// `/favicon.ico` is left out too: Chromium asks for it by itself after every page load
    /// whether or not the page links an icon, and a 404 there is invisible to a person.
    ///
    /// A server-sent-event stream (a path ending in `/stream`) the page closed itself reports
    /// 0 as well, its response never having ended: it is left out; a stream the server
    /// refused reports its 4xx/5xx and stays in.
    ///
    /// Covers the current document only (not pages navigated away from), and Chrome keeps at
    /// most 250 resource entries per document by default.
    pub async fn failed_requests(&self) -> Vec<FailedRequest> {
        const JS: &str = r#"
            const origin = location.origin;
            const entries = performance.getEntriesByType('navigation')
                .concat(performance.getEntriesByType('resource'));
            const out = [];
            for (const e of entries) {
                const s = e.responseStatus;
                if (typeof s !== 'number') continue;
                const same = e.name === origin || e.name.startsWith(origin + '/');
                const stream = new URL(e.name).pathname.endsWith('/stream');
                if (s >= 400 || (s === 0 && same && !stream)) {
                    out.push({ url: e.name, status: s, kind: e.initiatorType || e.entryType });
                }
            }
            return out;
        "#;
        let v = self
            .client
            .execute(JS, vec![])
            .await
            .unwrap_or_else(|e| panic!("reading the page's resource entries: {e}"));
        v.as_array()
            .into_iter()
            .flatten()
            .map(|e| FailedRequest {
                url: e["url"].as_str().unwrap_or_default().to_string(),
                status: e["status"].as_u64().unwrap_or_default() as u32,
                kind: e["kind"].as_str().unwrap_or_default().to_string(),
            })
            .filter(|r| !is_favicon(&r.url))
            .collect()
    }

    /// Panics, naming `page`, its URL, and what went wrong, if the page logged console
    /// errors or has failed requests (see [`console_errors`](Browser::console_errors) and
    /// [`failed_requests`](Browser::failed_requests)).
    pub async fn assert_clean(&self, page: &str) {
        self.assert_clean_except(page, &[]).await
    }

    /// [`assert_clean`](Browser::assert_clean), ignoring console errors and failed requests
    /// whose text contains one of `allowed` (for a page that is meant to show a failure).
    pub async fn assert_clean_except(&self, page: &str, allowed: &[&str]) {
        let ok = |s: &str| allowed.iter().any(|a| s.contains(a));
        let errors: Vec<String> = self
            .console_errors()
            .await
            .into_iter()
            .filter(|e| !ok(e))
            .collect();
        let failed: Vec<String> = self
            .failed_requests()
            .await
            .iter()
            .map(|r| r.to_string())
            .filter(|r| !ok(r))
            .collect();
        if errors.is_empty() && failed.is_empty() {
            return;
        }
        let url = self.url().await;
        let mut msg = format!("page {page} ({url}) is not clean:");
        for e in &errors {
            msg.push_str(&format!("\n  console: {e}"));
        }
        for r in &failed {
            msg.push_str(&format!("\n  request: {r}"));
        }
        panic!("{msg}");
    }

    /// Saves a PNG of the viewport to `path` (making its directory); returns its width and
    /// height in pixels, which are the viewport's CSS size (device pixel ratio 1).
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> (u32, u32) {
        let path = path.as_ref();
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, &png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        png_size(&png)
    }

    /// Makes the viewport `width`×`height` CSS pixels (what `innerWidth`/`innerHeight` and a
    /// screenshot show), e.g. [`DESKTOP`] or [`PHONE`].
    pub async fn set_size(&self, width: u32, height: u32) {
        // A window's size includes the browser's frame, which headless Chromium still counts
        // (139 px of height in 148, 143 in 156: 1280x900 gives a 1280x761 viewport); measure
        // and add it.
        // The frame is measured after each resize has settled: read at once, the viewport
        // can still show the size before (CI once saw 1280x1043 asked for 900 after three
        // corrections made from stale readings).
        let (mut w, mut h) = (width, height);
        for _ in 0..6 {
            self.client
                .set_window_size(w, h)
                .await
                .unwrap_or_else(|e| panic!("setting the window to {w}x{h}: {e}"));
            let (iw, ih) = self.settled_viewport().await;
            if (iw, ih) == (width, height) {
                return;
            }
            w = (w + width).saturating_sub(iw);
            h = (h + height).saturating_sub(ih);
        }
        let got = self.viewport().await;
        panic!("the viewport is {got:?}, not {width}x{height}");
    }

    /// The viewport's size once two readings 50 ms apart agree (at most ~1 s of waiting).
    async fn settled_viewport(&self) -> (u32, u32) {
        let mut last = self.viewport().await;
        for _ in 0..20 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let now = self.viewport().await;
            if now == last {
                return now;
            }
            last = now;
        }
        last
    }

    /// The viewport's size in CSS pixels (`innerWidth`, `innerHeight`).
    pub async fn viewport(&self) -> (u32, u32) {
        let v = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .unwrap_or_else(|e| panic!("reading the viewport: {e}"));
        (
            v[0].as_u64().unwrap_or_default() as u32,
            v[1].as_u64().unwrap_or_default() as u32,
        )
    }

    /// Waits at most `timeout` for an element matching the CSS selector `sel`; panics with
    /// the page's URL if none appears.
    pub async fn wait_css(&self, sel: &str, timeout: Duration) -> Element {
        match self
            .client
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(sel))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let url = self.url().await;
                panic!("no element `{sel}` within {timeout:?} on {url}: {e}")
            }
        }
    }

    /// Waits at most `timeout` for an element matching `sel` whose text (as rendered,
    /// `innerText`) contains `substring`; returns that text. Panics with the texts it saw.
    pub async fn wait_text(&self, sel: &str, substring: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            seen.clear();
            // Elements can go stale between find and text while the page re-renders.
            if let Ok(elements) = self.client.find_all(Locator::Css(sel)).await {
                for e in elements {
                    if let Ok(text) = e.text().await {
                        if text.contains(substring) {
                            return text;
                        }
                        seen.push(text);
                    }
                }
            }
            if Instant::now() >= deadline {
                let url = self.url().await;
                panic!(
                    "no `{sel}` containing {substring:?} within {timeout:?} on {url}; \
                     texts seen: {seen:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the WebDriver session (Chromium quits), then kills chromedriver and removes the
    /// profile. Dropping the browser does the killing without the polite part.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.close()).await;
    }

    /// New console entries from chromedriver (`POST /session/{id}/se/log`); each entry is
    /// handed out once.
    async fn read_log(&self) -> Vec<LogEntry> {
        let v = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .unwrap_or_else(|e| panic!("reading the console log: {e}"));
        v.as_array()
            .into_iter()
            .flatten()
            .map(|e| LogEntry {
                level: e["level"].as_str().unwrap_or_default().to_string(),
                source: e["source"].as_str().unwrap_or_default().to_string(),
                message: e["message"].as_str().unwrap_or_default().to_string(),
            })
            .collect()
    }
}

/// chromedriver's (non-W3C) log command for the `browser` log, which the session asked for
/// with `goog:loggingPrefs`.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// chromedriver, its scratch directory (profile, logs); everything killed on drop.
struct Procs {
    driver: Child,
    dir: PathBuf,
}

impl Procs {
    /// The tails of chromedriver's stderr and log, for failure messages.
    fn logs(&self) -> String {
        let tail = |name: &str| {
            let s = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        format!(
            "\n--- chromedriver stderr ---\n{}\n--- chromedriver log ---\n{}",
            tail("chromedriver.stderr"),
            tail("chromedriver.log")
        )
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        // chromedriver's process group holds the Chromium processes it started; any that
        // left it (the crash handler) are found by this browser's directory on their command
        // line.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let strays = pids_mentioning(&format!("{}/", self.dir.display()));
        if !strays.is_empty() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .args(strays.iter().map(|p| p.to_string()))
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Processes whose command line contains `needle` (from `/proc`).
fn pids_mentioning(needle: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// The first of `names` found as an executable file in a `PATH` directory.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| is_executable(p))
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `url` is a site's `/favicon.ico`.
fn is_favicon(url: &str) -> bool {
    url.split(['?', '#'])
        .next()
        .is_some_and(|u| u.ends_with("/favicon.ico"))
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is not a PNG"
    );
    let be = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}
