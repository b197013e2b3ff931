//! The remote transport: a running `comqute node` over HTTP (reqwest, rustls), speaking the
//! JSON shapes of [`comqute_wire`]. Live streams are server-sent events; a dropped
//! stream reconnects with backoff and resumes where it stopped.

use std::time::Duration;

use base64::Engine;
use comqute_ledger::{Transaction, TxId};
use comqute_qpi::{Amount, ContractIndex, Hash32, Identity, Tick};
use comqute_wire::routes::{self, v1};
use comqute_wire::{
    BalanceResponse, BlobPutResponse, BroadcastRequest, BroadcastResponse, ErrorBody, EventHead,
    EventPage, EventView, FaucetRequest, FaucetResponse, QueryRequest, QueryResponse,
    ReceiptResponse, ReceiptView, TickInfo, TickInfoResponse, TokenChunk, TokenEnd, TokenPage,
    TokenPush, TokenPushResponse, WarpRequest, WarpResponse,
};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::client::{Subscription, TokenEvent};
use crate::SdkError;

/// A node's HTTP API.
#[derive(Clone, Debug)]
pub struct Remote {
    base: String,
    http: reqwest::Client,
    streams: reqwest::Client,
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// How many times a request refused by the node's rate limit is sent again.
pub const RATE_LIMIT_RETRIES: u32 = 3;

impl Remote {
    /// A client of the node at `url` (`http://127.0.0.1:8080`); requests time out after 30 s,
    /// connections after 5 s.
    pub fn new(url: &str) -> Result<Remote, SdkError> {
        let base = url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(SdkError::Invalid(format!(
                "node URL {url:?} must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()?;
        // Streams stay open: no overall timeout.
        let streams = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Remote {
            base,
            http,
            streams,
        })
    }

    /// The node's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn url_of(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Turns a non-2xx answer into [`SdkError::Node`] with the node's code.
    async fn check(resp: reqwest::Response) -> Result<reqwest::Response, SdkError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        Err(match serde_json::from_str::<ErrorBody>(&text) {
            Ok(b) => SdkError::Node {
                status: status.as_u16(),
                code: b.code,
                message: b.message,
            },
            Err(_) => SdkError::Node {
                status: status.as_u16(),
                code: "http".into(),
                message: text.chars().take(200).collect(),
            },
        })
    }

    async fn json<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, SdkError> {
        let resp = Self::check(resp).await?;
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| SdkError::decode("the node's JSON answer", e))
    }

    /// Sends the request `make` builds; a `429 rate_limited` (the node refused it before
    /// doing anything) is sent again after its `Retry-After` (at most 2 s), up to
    /// [`RATE_LIMIT_RETRIES`] times. Other refusals, a blob quota among them, come back as
    /// they are.
    async fn send(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SdkError> {
        let mut tries = 0;
        loop {
            let resp = make().send().await?;
            let limited = resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS
                && tries < RATE_LIMIT_RETRIES
                && resp.headers().contains_key(reqwest::header::RETRY_AFTER);
            if !limited {
                return Ok(resp);
            }
            let secs = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            let text = resp.text().await.unwrap_or_default();
            match serde_json::from_str::<ErrorBody>(&text) {
                Ok(b) if b.code == "rate_limited" => {}
                Ok(b) => {
                    return Err(SdkError::Node {
                        status: 429,
                        code: b.code,
                        message: b.message,
                    })
                }
                Err(_) => {
                    return Err(SdkError::Node {
                        status: 429,
                        code: "http".into(),
                        message: text.chars().take(200).collect(),
                    })
                }
            }
            tries += 1;
            tokio::time::sleep(std::time::Duration::from_millis(secs.clamp(1, 2) * 1000)).await;
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, SdkError> {
        let url = self.url_of(path);
        Self::json(self.send(|| self.http.get(&url)).await?).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, SdkError> {
        let url = self.url_of(path);
        Self::json(self.send(|| self.http.post(&url).json(body)).await?).await
    }

    pub(crate) async fn tick_info(&self) -> Result<TickInfo, SdkError> {
        Ok(self
            .get::<TickInfoResponse>(&v1(routes::TICK_INFO, &[]))
            .await?
            .tick_info)
    }

    pub(crate) async fn balance(&self, id: &Identity) -> Result<Amount, SdkError> {
        let b: BalanceResponse = self.get(&v1(routes::BALANCE, &[id])).await?;
        Ok(Amount(b.balance.balance))
    }

    pub(crate) async fn broadcast(&self, tx: &Transaction) -> Result<TxId, SdkError> {
        let r: BroadcastResponse = self
            .post(
                &v1(routes::BROADCAST, &[]),
                &BroadcastRequest {
                    encoded_transaction: b64(&tx.encode()),
                },
            )
            .await?;
        r.transaction_id
            .parse()
            .map_err(|e| SdkError::decode("transactionId", e))
    }

    pub(crate) async fn receipt(&self, id: &TxId) -> Result<Option<ReceiptView>, SdkError> {
        match self
            .get::<ReceiptResponse>(&v1(routes::RECEIPT, &[id]))
            .await
        {
            Ok(r) => Ok(Some(r.receipt)),
            Err(e) if e.code() == Some("not_found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn query_raw(
        &self,
        contract: ContractIndex,
        input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, SdkError> {
        let r: QueryResponse = self
            .post(
                &v1(routes::QUERY, &[]),
                &QueryRequest {
                    contract_index: contract.0,
                    input_type,
                    input_size: u32::try_from(input.len()).ok(),
                    request_data: b64(input),
                },
            )
            .await?;
        base64::engine::general_purpose::STANDARD
            .decode(r.response_data)
            .map_err(|e| SdkError::decode("responseData", e))
    }

    pub(crate) async fn contracts(&self) -> Result<Vec<crate::wire::ContractView>, SdkError> {
        let r: crate::wire::ContractsResponse = self.get(&v1(routes::CONTRACTS, &[])).await?;
        Ok(r.contracts)
    }

    pub(crate) async fn encode_call(
        &self,
        contract: &str,
        req: &crate::wire::EncodeCallRequest,
    ) -> Result<crate::wire::EncodeCallResponse, SdkError> {
        let seg = path_segment(contract);
        self.post(&v1(routes::CONTRACT_ENCODE, &[&seg]), req).await
    }

    pub(crate) async fn query_json(
        &self,
        contract: &str,
        req: &crate::wire::ContractQueryRequest,
    ) -> Result<crate::wire::ContractQueryResponse, SdkError> {
        let seg = path_segment(contract);
        self.post(&v1(routes::CONTRACT_QUERY, &[&seg]), req).await
    }

    pub(crate) async fn events(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<EventView>, SdkError> {
        let p: EventPage = self
            .get(&format!(
                "{}?after={after}&limit={limit}",
                v1(routes::EVENTS, &[])
            ))
            .await?;
        Ok(p.events)
    }

    pub(crate) async fn events_head(&self) -> Result<u64, SdkError> {
        let h: EventHead = self.get(&v1(routes::EVENTS_HEAD, &[])).await?;
        Ok(h.next)
    }

    pub(crate) async fn put_blob(
        &self,
        body: Vec<u8>,
        signed: Option<(Identity, String)>,
    ) -> Result<Hash32, SdkError> {
        let mut req = self.http.put(self.url_of(&v1(routes::BLOBS, &[])));
        if let Some((who, sig)) = signed {
            req = req
                .header(comqute_wire::UPLOADER_HEADER, who.to_string())
                .header(comqute_wire::UPLOAD_SIGNATURE_HEADER, sig);
        }
        let r: BlobPutResponse = Self::json(req.body(body).send().await?).await?;
        r.hash.parse().map_err(|e| SdkError::decode("blob hash", e))
    }

    pub(crate) async fn get_blob(&self, h: &Hash32) -> Result<Option<Vec<u8>>, SdkError> {
        let resp = self
            .http
            .get(self.url_of(&v1(routes::BLOB, &[h])))
            .send()
            .await?;
        match Self::check(resp).await {
            Ok(r) => Ok(Some(r.bytes().await?.to_vec())),
            Err(e) if e.code() == Some("not_found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn faucet(&self, id: &Identity, amount: Amount) -> Result<Amount, SdkError> {
        let r: FaucetResponse = self
            .post(
                &v1(routes::FAUCET, &[]),
                &FaucetRequest {
                    identity: id.to_string(),
                    amount: serde_json::Value::String(amount.0.to_string()),
                },
            )
            .await?;
        Ok(Amount(r.balance))
    }

    pub(crate) async fn warp(&self, req: &WarpRequest) -> Result<Tick, SdkError> {
        let r: WarpResponse = self.post(&v1(routes::WARP, &[]), req).await?;
        Ok(Tick(r.tick))
    }

    pub(crate) async fn push_tokens(
        &self,
        job_id: u64,
        push: &TokenPush,
    ) -> Result<TokenPushResponse, SdkError> {
        self.post(&v1(routes::JOB_TOKENS, &[&job_id]), push).await
    }

    pub(crate) async fn token_page(&self, job_id: u64) -> Result<TokenPage, SdkError> {
        self.get(&v1(routes::JOB_TOKENS, &[&job_id])).await
    }

    /// Opens an SSE stream.
    async fn open_sse(&self, path: &str) -> Result<reqwest::Response, SdkError> {
        let resp = self
            .streams
            .get(self.url_of(path))
            .header("accept", "text/event-stream")
            .send()
            .await?;
        Self::check(resp).await
    }

    /// Events from `after` on (SSE [`routes::EVENTS_STREAM`]), reconnecting with backoff.
    pub(crate) fn subscribe_events(&self, after: u64) -> Subscription<EventView> {
        self.subscribe_sse(
            after,
            |cursor| format!("{}?after={cursor}", v1(routes::EVENTS_STREAM, &[])),
            |cursor, msg| {
                if msg.event != "event" {
                    return Flow::Skip;
                }
                match serde_json::from_str::<EventView>(&msg.data) {
                    Ok(e) if e.seq < *cursor => Flow::Skip,
                    Ok(e) => {
                        *cursor = e.seq + 1;
                        Flow::Item(e)
                    }
                    Err(e) => Flow::Fail(SdkError::decode("an event", e)),
                }
            },
        )
    }

    /// A job's tokens (SSE [`routes::JOB_TOKENS_STREAM`]), reconnecting with backoff and
    /// skipping chunks already delivered.
    pub(crate) fn subscribe_tokens(&self, job_id: u64) -> Subscription<TokenEvent> {
        self.subscribe_sse(
            0u32,
            // A reconnection (after a node restart, say) resumes at the next chunk.
            move |next| format!("{}?from={next}", v1(routes::JOB_TOKENS_STREAM, &[&job_id])),
            |next, msg| match msg.event.as_str() {
                "token" => match serde_json::from_str::<TokenChunk>(&msg.data) {
                    Ok(c) if c.seq < *next => Flow::Skip,
                    Ok(c) => {
                        *next = c.seq + 1;
                        Flow::Item(TokenEvent::Chunk(c))
                    }
                    Err(e) => Flow::Fail(SdkError::decode("a token", e)),
                },
                "done" | "end" => match serde_json::from_str::<TokenEnd>(&msg.data) {
                    Ok(end) => Flow::Last(match end.status {
                        None => TokenEvent::Done { chunks: end.chunks },
                        Some(status) => TokenEvent::End {
                            chunks: end.chunks,
                            status,
                        },
                    }),
                    Err(e) => Flow::Fail(SdkError::decode("a stream end", e)),
                },
                _ => Flow::Skip,
            },
        )
    }

    /// A live SSE feed at `path(&state)`, each message turned into items by `handle` (which
    /// keeps its place in `state`, so a reconnection resumes after what was delivered).
    /// Reconnects with backoff (100 ms doubling to 2 s) while the reader listens; a 4xx
    /// answer or a message `handle` fails on ends the feed with that error.
    fn subscribe_sse<S, T>(
        &self,
        mut state: S,
        path: impl Fn(&S) -> String + Send + 'static,
        mut handle: impl FnMut(&mut S, &SseMessage) -> Flow<T> + Send + 'static,
    ) -> Subscription<T>
    where
        S: Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = mpsc::channel(256);
        let me = self.clone();
        let task = tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                match me.open_sse(&path(&state)).await {
                    Ok(resp) => {
                        backoff = Duration::from_millis(100);
                        let mut sse = SseReader::new(resp);
                        while let Some(msg) = sse.next().await {
                            match handle(&mut state, &msg) {
                                Flow::Skip => {}
                                Flow::Item(v) => {
                                    if tx.send(Ok(v)).await.is_err() {
                                        return;
                                    }
                                }
                                Flow::Last(v) => {
                                    let _ = tx.send(Ok(v)).await;
                                    return;
                                }
                                Flow::Fail(e) => {
                                    let _ = tx.send(Err(e)).await;
                                    return;
                                }
                            }
                        }
                    }
                    Err(e @ SdkError::Node { status, .. }) if (400..500).contains(&status) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                    Err(_) => {}
                }
                if tx.is_closed() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        });
        Subscription::new(rx, task)
    }
}

/// What a live feed does with one server-sent event.
enum Flow<T> {
    /// Nothing to deliver.
    Skip,
    /// Deliver this.
    Item(T),
    /// Deliver this; the feed is over.
    Last(T),
    /// The feed ends with this error.
    Fail(SdkError),
}

/// One server-sent event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseMessage {
    /// `event:` (default `message`).
    pub event: String,
    /// `data:` lines joined with newlines.
    pub data: String,
    /// `id:`, if any.
    pub id: Option<String>,
}

/// Splits a byte stream into server-sent events (lines may arrive cut anywhere, even
/// inside a UTF-8 character).
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    current: SseMessage,
    has_data: bool,
}

impl SseParser {
    /// Feeds bytes; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseMessage> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if self.has_data {
                    let mut m = std::mem::take(&mut self.current);
                    if m.event.is_empty() {
                        m.event = "message".into();
                    }
                    out.push(m);
                }
                self.current = SseMessage::default();
                self.has_data = false;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line, ""),
            };
            match field {
                "event" => self.current.event = value.to_string(),
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.has_data = true;
                }
                "id" => self.current.id = Some(value.to_string()),
                _ => {}
            }
        }
        out
    }
}

struct SseReader {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    parser: SseParser,
    ready: std::collections::VecDeque<SseMessage>,
}

impl SseReader {
    fn new(resp: reqwest::Response) -> SseReader {
        SseReader {
            body: resp.bytes_stream().map(|r| r.map(|b| b.to_vec())).boxed(),
            parser: SseParser::default(),
            ready: Default::default(),
        }
    }

    /// The next event; `None` when the connection ends.
    async fn next(&mut self) -> Option<SseMessage> {
        loop {
            if let Some(m) = self.ready.pop_front() {
                return Some(m);
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.ready.extend(self.parser.feed(&chunk)),
                _ => return None,
            }
        }
    }
}

/// A user's text as one URL path segment (percent-encoding everything but unreserved
/// characters), so a contract name cannot change the route.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_lines_may_be_cut_anywhere() {
        let text = "event: token\nid: 0\ndata: {\"seq\":0,\"text\":\"h\u{e9}\"}\n\n: keep-alive\n\nevent: done\ndata: {}\n\n";
        let bytes = text.as_bytes();
        for cut in 0..bytes.len() {
            let mut p = SseParser::default();
            let mut got = p.feed(&bytes[..cut]);
            got.extend(p.feed(&bytes[cut..]));
            assert_eq!(got.len(), 2, "cut at {cut}");
            assert_eq!(got[0].event, "token");
            assert_eq!(got[0].id.as_deref(), Some("0"));
            assert_eq!(got[0].data, "{\"seq\":0,\"text\":\"h\u{e9}\"}");
            assert_eq!(got[1].event, "done");
        }
    }
}
