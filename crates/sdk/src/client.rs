//! [`Client`]: one face over the two transports. Build, sign, submit, wait for the receipt
//! at its tick; query contract functions; blobs; devnet powers; events and token streams.

use comqute_market::JobId;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use base64::Engine;
use borsh::{BorshDeserialize, BorshSerialize};
use comqute_ledger::{Keypair, Signer, Transaction, TxId};
use comqute_market::escrow::EscrowEvent;
use comqute_market::job_registry::JobEvent;
use comqute_market::worker_registry::WorkerEvent;
use comqute_qpi::kit::{Func, Proc};
use comqute_qpi::{Amount, ContractError, ContractIndex, Hash32, Identity, Tick};
use comqute_wire::{
    token_digest, EventView, ReceiptView, TickInfo, TokenChunk, TokenPage, TokenPush,
    TokenPushResponse, WarpRequest,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

#[cfg(feature = "embedded")]
use crate::embedded::Embedded;
use crate::market::{EscrowClient, JobClient, WorkerClient};
use crate::remote::Remote;
use crate::SdkError;

/// How the client reaches the ledger.
#[derive(Clone, Debug)]
pub enum Transport {
    /// A ledger in this process (feature `embedded`).
    #[cfg(feature = "embedded")]
    Embedded(Embedded),
    /// A node over HTTP.
    Remote(Remote),
}

/// Timing settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// On a remote node, transactions name the last processed tick plus this (room for
    /// the trip); a transaction that still arrives late is re-signed for a later tick.
    pub tick_offset: u32,
    /// The longest a wait (receipt, job status) lasts.
    pub timeout: Duration,
    /// How often a remote wait polls.
    pub poll_interval: Duration,
    /// How often a transaction that arrived after its tick is re-signed and sent again.
    pub tick_retries: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            tick_offset: 4,
            timeout: Duration::from_secs(60),
            poll_interval: Duration::from_millis(20),
            tick_retries: 5,
        }
    }
}

/// A comqute client over an embedded ledger or a remote node. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    transport: Transport,
    opts: ClientOptions,
}

/// A transaction accepted for its tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingTx {
    /// Its id.
    pub tx_id: TxId,
    /// The tick it runs in.
    pub tick: Tick,
}

/// How a transaction ended (or that it has not yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Waiting for its tick.
    Pending,
    /// It ran.
    Executed,
    /// The contract refused it; nothing changed.
    Failed(ContractError),
    /// It never ran.
    Dropped(String),
}

/// A transaction's receipt, the same on both transports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxReceipt {
    /// Its id.
    pub tx_id: TxId,
    /// The tick it ran in (or is scheduled for).
    pub tick: Tick,
    /// How it ended.
    pub outcome: Outcome,
    /// Qubic's `moneyFlew`.
    pub money_flew: bool,
    /// The procedure's output (borsh).
    pub output: Vec<u8>,
    /// The procedure's name, when the destination is a contract that describes it.
    pub procedure: Option<String>,
    /// The output as JSON, rendered by the contract's own description (when it has one).
    pub output_json: Option<serde_json::Value>,
    /// The events it caused.
    pub events: Vec<ContractEvent>,
    /// `false` when the node knew only the outcome (a transaction from before its restart).
    pub full: bool,
}

impl TxReceipt {
    /// From the wire.
    pub fn from_view(v: ReceiptView) -> Result<TxReceipt, SdkError> {
        let tx_id: TxId = v.tx_id.parse().map_err(|e| SdkError::decode("txId", e))?;
        let outcome = match v.status.as_str() {
            "pending" => Outcome::Pending,
            "executed" => Outcome::Executed,
            "dropped" => Outcome::Dropped(v.error.clone().unwrap_or_default()),
            "failed" => Outcome::Failed(
                v.error_hex
                    .as_deref()
                    .and_then(|h| hex::decode(h).ok())
                    .and_then(|b| ContractError::try_from_slice(&b).ok())
                    .unwrap_or_else(|| ContractError::Rejected {
                        code: v.error_code.unwrap_or(0),
                        name: v.error_name.clone().unwrap_or_default(),
                        detail: v.error.clone().unwrap_or_default(),
                    }),
            ),
            other => {
                return Err(SdkError::decode(
                    "receipt status",
                    format!("unknown status {other:?}"),
                ))
            }
        };
        Ok(TxReceipt {
            tx_id,
            tick: Tick(v.tick_number),
            outcome,
            money_flew: v.money_flew,
            output: hex::decode(&v.output_hex).map_err(|e| SdkError::decode("outputHex", e))?,
            procedure: v.procedure.clone(),
            output_json: v.output.clone(),
            events: v
                .events
                .iter()
                .map(ContractEvent::from_view)
                .collect::<Result<_, _>>()?,
            full: v.full,
        })
    }

    /// Whether it executed.
    pub fn is_executed(&self) -> bool {
        self.outcome == Outcome::Executed
    }

    /// `Ok(self)` if it executed; [`SdkError::Rejected`] or [`SdkError::Dropped`] otherwise.
    pub fn into_result(self) -> Result<TxReceipt, SdkError> {
        match self.outcome {
            Outcome::Executed => Ok(self),
            Outcome::Failed(error) => Err(SdkError::Rejected {
                tx_id: self.tx_id,
                error,
            }),
            Outcome::Dropped(reason) => Err(SdkError::Dropped {
                tx_id: self.tx_id,
                reason,
            }),
            Outcome::Pending => Err(SdkError::Invalid(format!(
                "transaction {} is still pending",
                self.tx_id
            ))),
        }
    }

    /// The procedure's output, decoded.
    pub fn output<O: BorshDeserialize>(&self) -> Result<O, SdkError> {
        O::try_from_slice(&self.output).map_err(|e| SdkError::decode("procedure output", e))
    }
}

/// A contract event, decoded when it comes from the marketplace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractEvent {
    /// Its number in the node's event log (resume after it with `seq + 1`).
    pub seq: u64,
    /// The tick.
    pub tick: Tick,
    /// The transaction that caused it; `None` for tick and epoch hooks.
    pub tx: Option<TxId>,
    /// The emitting contract.
    pub contract: ContractIndex,
    /// Its borsh bytes.
    pub data: Vec<u8>,
    /// As the emitting contract renders it: `{"contract", "type", ...fields}` for any
    /// contract that describes its events (`{"contract", "description"}` otherwise).
    pub json: Option<serde_json::Value>,
}

impl ContractEvent {
    /// From the wire.
    pub fn from_view(v: &EventView) -> Result<ContractEvent, SdkError> {
        let e = v.to_event().map_err(|e| SdkError::decode("an event", e))?;
        Ok(ContractEvent {
            json: v.decoded.clone(),
            seq: e.seq,
            tick: e.tick,
            tx: e.tx,
            contract: e.contract,
            data: e.data,
        })
    }

    /// Its bytes as the event type `E` of the contract `contract` (`None`: another
    /// contract's event, or bytes that are not an `E`). Works for any contract whose event
    /// type the app has; [`ContractEvent::json`] renders any contract's without it.
    pub fn decode<E: BorshDeserialize>(&self, contract: ContractIndex) -> Option<E> {
        if self.contract != contract {
            return None;
        }
        E::try_from_slice(&self.data).ok()
    }

    /// The job registry event, if it is one.
    pub fn job(&self) -> Option<JobEvent> {
        self.decode(comqute_market::job_registry::INDEX)
    }

    /// The worker registry event, if it is one.
    pub fn worker(&self) -> Option<WorkerEvent> {
        self.decode(comqute_market::worker_registry::INDEX)
    }

    /// The escrow event, if it is one.
    pub fn escrow(&self) -> Option<EscrowEvent> {
        self.decode(comqute_market::escrow::INDEX)
    }

    /// The verification contract's event, if it is one.
    pub fn check(&self) -> Option<comqute_market::verification::CheckEvent> {
        self.decode(comqute_market::verification::INDEX)
    }
}

/// What a job's token stream delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEvent {
    /// A chunk of output.
    Chunk(TokenChunk),
    /// The worker closed the stream after this many chunks.
    Done {
        /// Chunks pushed.
        chunks: u32,
    },
    /// The job reached a terminal status before the worker closed the stream.
    End {
        /// Chunks pushed.
        chunks: u32,
        /// The job's status name.
        status: String,
    },
}

/// A live feed fed by a background task; dropping it stops the task. Read it with
/// [`Subscription::next`] or as a `futures` `Stream`.
#[derive(Debug)]
pub struct Subscription<T> {
    rx: mpsc::Receiver<Result<T, SdkError>>,
    task: JoinHandle<()>,
}

impl<T: Send + 'static> Subscription<T> {
    pub(crate) fn new(rx: mpsc::Receiver<Result<T, SdkError>>, task: JoinHandle<()>) -> Self {
        Subscription { rx, task }
    }

    /// The next item; `None` when the feed ended.
    pub async fn next(&mut self) -> Option<Result<T, SdkError>> {
        self.rx.recv().await
    }

    /// The next item within `timeout` ([`SdkError::Timeout`] otherwise).
    pub async fn next_within(&mut self, timeout: Duration) -> Option<Result<T, SdkError>> {
        match tokio::time::timeout(timeout, self.rx.recv()).await {
            Ok(item) => item,
            Err(_) => Some(Err(SdkError::Timeout {
                what: "the next item of a subscription".into(),
                after: timeout,
            })),
        }
    }

    /// Each item passed through `f` (on a task of its own).
    pub fn map<U: Send + 'static>(
        mut self,
        f: impl Fn(T) -> Result<U, SdkError> + Send + 'static,
    ) -> Subscription<U> {
        let (tx, rx) = mpsc::channel(256);
        let task = tokio::spawn(async move {
            while let Some(item) = self.rx.recv().await {
                if tx.send(item.and_then(&f)).await.is_err() {
                    return;
                }
            }
        });
        Subscription::new(rx, task)
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<T> futures_util::Stream for Subscription<T> {
    type Item = Result<T, SdkError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Client {
    /// A client over `transport` with default options.
    pub fn new(transport: Transport) -> Client {
        Client {
            transport,
            opts: ClientOptions::default(),
        }
    }

    /// A client of an embedded `ledger`, ticking on demand (feature `embedded`).
    #[cfg(feature = "embedded")]
    pub fn embedded(ledger: comqute_ledger::Ledger) -> Client {
        Client::new(Transport::Embedded(Embedded::new(ledger)))
    }

    /// A client of an embedded devnet with the node's default genesis (feature `embedded`).
    #[cfg(feature = "embedded")]
    pub fn embedded_devnet() -> Result<Client, SdkError> {
        Ok(Client::new(Transport::Embedded(Embedded::devnet()?)))
    }

    /// A client of the node at `url`.
    pub fn remote(url: &str) -> Result<Client, SdkError> {
        Ok(Client::new(Transport::Remote(Remote::new(url)?)))
    }

    /// The same client with other timing settings.
    pub fn with_options(mut self, opts: ClientOptions) -> Client {
        self.opts = opts;
        self
    }

    /// The timing settings.
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// The transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The embedded ledger, if that is the transport (feature `embedded`).
    #[cfg(feature = "embedded")]
    pub fn as_embedded(&self) -> Option<&Embedded> {
        match &self.transport {
            Transport::Embedded(e) => Some(e),
            Transport::Remote(_) => None,
        }
    }

    /// The escrow vault's typed client.
    pub fn escrow(&self) -> EscrowClient {
        EscrowClient::new(self.clone())
    }

    /// The worker registry's typed client.
    pub fn workers(&self) -> WorkerClient {
        WorkerClient::new(self.clone())
    }

    /// The job registry's typed client.
    pub fn jobs(&self) -> JobClient {
        JobClient::new(self.clone())
    }

    /// The verification contract's typed client.
    pub fn verification(&self) -> crate::market::VerificationClient {
        crate::market::VerificationClient::new(self.clone())
    }

    /// The compute pools' typed client.
    pub fn pools(&self) -> crate::pools::PoolClient {
        crate::pools::PoolClient::new(self.clone())
    }

    /// Large jobs with sealed bids (the job registry's auction).
    pub fn large_jobs(&self) -> crate::pools::LargeJobClient {
        crate::pools::LargeJobClient::new(self.clone())
    }

    /// The price oracle's typed client.
    pub fn oracle(&self) -> crate::pools::OracleClient {
        crate::pools::OracleClient::new(self.clone())
    }

    // --- reading ----------------------------------------------------------------------------

    /// The last processed tick, its epoch and the tick duration.
    pub async fn tick_info(&self) -> Result<TickInfo, SdkError> {
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.tick_info(),
            Transport::Remote(r) => r.tick_info().await,
        }
    }

    /// The last processed tick.
    pub async fn tick(&self) -> Result<Tick, SdkError> {
        Ok(Tick(self.tick_info().await?.tick))
    }

    /// An identity's balance.
    pub async fn balance(&self, id: &Identity) -> Result<Amount, SdkError> {
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.balance(id),
            Transport::Remote(r) => r.balance(id).await,
        }
    }

    /// Runs a contract function, raw bytes in and out.
    pub async fn query_raw(
        &self,
        contract: ContractIndex,
        function: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, SdkError> {
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.query_raw(contract, function, input),
            Transport::Remote(r) => r.query_raw(contract, function, input).await,
        }
    }

    /// Runs a contract function, typed (borsh in and out).
    pub async fn query<I: BorshSerialize, O: BorshDeserialize>(
        &self,
        contract: ContractIndex,
        function: u16,
        input: &I,
    ) -> Result<O, SdkError> {
        let bytes = borsh::to_vec(input).map_err(|e| SdkError::decode("function input", e))?;
        let out = self.query_raw(contract, function, &bytes).await?;
        O::try_from_slice(&out).map_err(|e| SdkError::decode("function output", e))
    }

    /// Runs a contract function by its descriptor (`comqute_qpi::kit::Func`), typed in and
    /// out: `client.query_fn(job_registry::GET_JOB, &JobRef { job_id }).await?`.
    pub async fn query_fn<I: BorshSerialize, O: BorshDeserialize>(
        &self,
        f: Func<I, O>,
        input: &I,
    ) -> Result<O, SdkError> {
        self.query(f.contract(), f.number(), input).await
    }

    // --- transactions -----------------------------------------------------------------------

    async fn target_tick(&self) -> Result<Tick, SdkError> {
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.next_tick(),
            Transport::Remote(r) => {
                let t = r.tick_info().await?.tick;
                Ok(Tick(t.saturating_add(self.opts.tick_offset.max(1))))
            }
        }
    }

    async fn broadcast(&self, tx: Transaction) -> Result<TxId, SdkError> {
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.broadcast(tx),
            Transport::Remote(r) => r.broadcast(&tx).await,
        }
    }

    /// Signs a transaction for an upcoming tick and sends it; re-signs for a later tick if
    /// it arrived after its tick.
    pub async fn submit(
        &self,
        key: &(impl Signer + ?Sized),
        destination: Identity,
        amount: Amount,
        input_type: u16,
        input: Vec<u8>,
    ) -> Result<PendingTx, SdkError> {
        if !amount.is_valid_tx_amount() {
            return Err(SdkError::Invalid(format!(
                "amount {amount} is not between 0 and 10^15"
            )));
        }
        let mut attempt = 0;
        loop {
            let tick = self.target_tick().await?;
            let tx = Transaction::new(
                key.identity(),
                destination,
                amount,
                tick,
                input_type,
                input.clone(),
            )
            .sign_with(key);
            match self.broadcast(tx).await {
                Ok(tx_id) => return Ok(PendingTx { tx_id, tick }),
                Err(e) if e.code() == Some("tick_in_past") && attempt < self.opts.tick_retries => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// What is known of a transaction (`None`: never seen).
    pub async fn receipt(&self, tx_id: &TxId) -> Result<Option<TxReceipt>, SdkError> {
        let view = match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.receipt(tx_id)?,
            Transport::Remote(r) => r.receipt(tx_id).await?,
        };
        view.map(TxReceipt::from_view).transpose()
    }

    /// Lets time pass: a remote wait sleeps a poll interval; an embedded one processes a
    /// tick (on demand) or waits for one (manual).
    pub async fn advance(&self) -> Result<(), SdkError> {
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.advance(self.opts.poll_interval).await,
            Transport::Remote(_) => {
                tokio::time::sleep(self.opts.poll_interval).await;
                Ok(())
            }
        }
    }

    /// Waits for the receipt of a submitted transaction (at its tick), whatever the outcome.
    pub async fn wait(&self, p: &PendingTx) -> Result<TxReceipt, SdkError> {
        let start = Instant::now();
        loop {
            match self.receipt(&p.tx_id).await? {
                Some(r) if r.outcome != Outcome::Pending => return Ok(r),
                Some(_) => {}
                None => {
                    return Err(SdkError::NotFound(format!(
                        "transaction {} is unknown to the node",
                        p.tx_id
                    )))
                }
            }
            if start.elapsed() > self.opts.timeout {
                return Err(SdkError::Timeout {
                    what: format!("the receipt of {} (tick {})", p.tx_id, p.tick),
                    after: self.opts.timeout,
                });
            }
            self.advance().await?;
        }
    }

    /// Submits, waits for the receipt, and returns it if the transaction executed
    /// ([`SdkError::Rejected`] / [`SdkError::Dropped`] otherwise).
    pub async fn send(
        &self,
        key: &(impl Signer + ?Sized),
        destination: Identity,
        amount: Amount,
        input_type: u16,
        input: Vec<u8>,
    ) -> Result<TxReceipt, SdkError> {
        let p = self
            .submit(key, destination, amount, input_type, input)
            .await?;
        self.wait(&p).await?.into_result()
    }

    /// Calls a contract procedure with a typed input and `amount` as invocation reward.
    pub async fn call<I: BorshSerialize>(
        &self,
        key: &Keypair,
        contract: ContractIndex,
        procedure: u16,
        input: &I,
        amount: Amount,
    ) -> Result<TxReceipt, SdkError> {
        let bytes = borsh::to_vec(input).map_err(|e| SdkError::decode("procedure input", e))?;
        self.send(key, Identity::contract(contract), amount, procedure, bytes)
            .await
    }

    /// Calls a procedure by its descriptor (`comqute_qpi::kit::Proc`) with a typed input and
    /// `amount` as invocation reward, and waits for its receipt.
    pub async fn call_proc<I: BorshSerialize, O>(
        &self,
        key: &Keypair,
        p: Proc<I, O>,
        input: &I,
        amount: Amount,
    ) -> Result<TxReceipt, SdkError> {
        self.call(key, p.contract(), p.number(), input, amount)
            .await
    }

    /// Every contract of the node's genesis as it describes itself: index, name, identity,
    /// procedures and functions (with their input and output types), error codes.
    pub async fn contracts(&self) -> Result<Vec<crate::wire::ContractView>, SdkError> {
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.contracts(),
            Transport::Remote(r) => r.contracts().await,
        }
    }

    /// Encodes a call of `procedure` (name or number) of `contract` (name, index or identity)
    /// with a JSON input, by the contract's own description: the transaction's destination,
    /// input type and input bytes.
    pub async fn encode_call(
        &self,
        contract: &str,
        procedure: &str,
        input: serde_json::Value,
    ) -> Result<crate::wire::EncodeCallResponse, SdkError> {
        let req = crate::wire::EncodeCallRequest {
            procedure: procedure.to_string(),
            input,
        };
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.encode_call(contract, &req),
            Transport::Remote(r) => r.encode_call(contract, &req).await,
        }
    }

    /// Calls any contract's procedure by name with a JSON input (like `cast send`), signed
    /// by `key`, and waits for the receipt; its `output_json` is the output as JSON.
    pub async fn call_json(
        &self,
        key: &Keypair,
        contract: &str,
        procedure: &str,
        input: serde_json::Value,
        amount: Amount,
    ) -> Result<TxReceipt, SdkError> {
        let enc = self.encode_call(contract, procedure, input).await?;
        let destination: Identity = enc
            .destination
            .parse()
            .map_err(|e| SdkError::decode("destination", e))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&enc.input)
            .map_err(|e| SdkError::decode("input", e))?;
        self.send(key, destination, amount, enc.input_type, bytes)
            .await
    }

    /// Runs any contract's function by name with a JSON input (like `cast call`) and returns
    /// its output as JSON.
    pub async fn query_json(
        &self,
        contract: &str,
        function: &str,
        input: serde_json::Value,
    ) -> Result<crate::wire::ContractQueryResponse, SdkError> {
        let req = crate::wire::ContractQueryRequest {
            function: function.to_string(),
            input,
        };
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.query_json(contract, &req),
            Transport::Remote(r) => r.query_json(contract, &req).await,
        }
    }

    /// A plain transfer.
    pub async fn transfer(
        &self,
        key: &(impl Signer + ?Sized),
        to: Identity,
        amount: Amount,
    ) -> Result<TxReceipt, SdkError> {
        self.send(key, to, amount, 0, Vec::new()).await
    }

    // --- devnet -----------------------------------------------------------------------------

    /// Devnet faucet: creates `amount` for `id`; returns the new balance.
    pub async fn faucet(&self, id: &Identity, amount: Amount) -> Result<Amount, SdkError> {
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.faucet(id, amount),
            Transport::Remote(r) => r.faucet(id, amount).await,
        }
    }

    /// Devnet warp: processes `n` ticks now (idle ones skipped); returns the last
    /// processed tick.
    pub async fn warp_ticks(&self, n: u32) -> Result<Tick, SdkError> {
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.warp(comqute_node::chain::Warp::By(n)),
            Transport::Remote(r) => {
                r.warp(&WarpRequest {
                    tick: None,
                    ticks: Some(n),
                })
                .await
            }
        }
    }

    /// Devnet warp: processes ticks until `tick` is the next; returns the last processed.
    pub async fn warp_to(&self, tick: Tick) -> Result<Tick, SdkError> {
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.warp(comqute_node::chain::Warp::To(tick)),
            Transport::Remote(r) => {
                r.warp(&WarpRequest {
                    tick: Some(tick.0),
                    ticks: None,
                })
                .await
            }
        }
    }

    // --- blobs ------------------------------------------------------------------------------

    /// Stores a blob (a prompt, a result); returns its blake3 hash, checked. A node counts
    /// an unsigned upload against the client's address quota: [`Client::put_blob_as`]
    /// counts it against an identity's own, larger one.
    pub async fn put_blob(&self, body: &[u8]) -> Result<Hash32, SdkError> {
        self.put_blob_signed(body, None).await
    }

    /// Stores a blob signed by `key`, so that the node counts it against that identity's
    /// blob quota (when the chain knows the identity) instead of the client address's.
    pub async fn put_blob_as(&self, key: &Keypair, body: &[u8]) -> Result<Hash32, SdkError> {
        self.put_blob_signed(body, Some(key)).await
    }

    async fn put_blob_signed(
        &self,
        body: &[u8],
        key: Option<&Keypair>,
    ) -> Result<Hash32, SdkError> {
        let h = match &self.transport {
            // In-process: nothing is counted.
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.put_blob(body)?,
            Transport::Remote(r) => {
                let signed = key.map(|k| {
                    let digest = comqute_wire::blob_upload_digest(&Hash32::of(body));
                    (k.identity(), hex::encode(k.sign_digest(&digest)))
                });
                r.put_blob(body.to_vec(), signed).await?
            }
        };
        let want = Hash32::of(body);
        if h != want {
            return Err(SdkError::HashMismatch {
                expected: want,
                got: h,
            });
        }
        Ok(h)
    }

    /// Fetches a blob and checks that it hashes to `hash`.
    pub async fn get_blob(&self, hash: &Hash32) -> Result<Vec<u8>, SdkError> {
        let body = match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.get_blob(hash)?,
            Transport::Remote(r) => r.get_blob(hash).await?,
        }
        .ok_or_else(|| SdkError::NotFound(format!("no blob {hash}")))?;
        let got = Hash32::of(&body);
        if got != *hash {
            return Err(SdkError::HashMismatch {
                expected: *hash,
                got,
            });
        }
        Ok(body)
    }

    // --- events -----------------------------------------------------------------------------

    /// Up to `limit` events numbered `after` or more.
    pub async fn events(&self, after: u64, limit: usize) -> Result<Vec<ContractEvent>, SdkError> {
        let views = match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.events(after, limit)?,
            Transport::Remote(r) => r.events(after, limit).await?,
        };
        views.iter().map(ContractEvent::from_view).collect()
    }

    /// The number the next event will get: `subscribe(client.event_head().await?)` sees only
    /// what happens from now on.
    pub async fn event_head(&self) -> Result<u64, SdkError> {
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.events_head(),
            Transport::Remote(r) => r.events_head().await,
        }
    }

    /// Every event numbered `after` or more, then live ones: server-sent events from a
    /// remote node (reconnecting with backoff), the log polled after each tick on the
    /// embedded ledger. Needs a tokio runtime.
    pub fn subscribe(&self, after: u64) -> Subscription<ContractEvent> {
        let raw = match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.subscribe_events(after),
            Transport::Remote(r) => r.subscribe_events(after),
        };
        raw.map(|v| ContractEvent::from_view(&v))
    }

    // --- token streams ----------------------------------------------------------------------

    /// Pushes chunk `seq` of a job's output, signed by `key` (the job's assigned worker).
    pub async fn push_tokens(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
        seq: u32,
        text: &str,
        done: bool,
    ) -> Result<TokenPushResponse, SdkError> {
        let job_id: JobId = job_id.into();
        let digest = token_digest(job_id.0, seq, text, done);
        let push = TokenPush {
            worker: key.identity().to_string(),
            seq,
            text: text.to_owned(),
            done,
            signature: hex::encode(key.sign_digest(&digest)),
        };
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.push_tokens(job_id.0, &push),
            Transport::Remote(r) => r.push_tokens(job_id.0, &push).await,
        }
    }

    /// What was pushed of a job's output so far.
    pub async fn tokens(&self, job_id: impl Into<JobId>) -> Result<TokenPage, SdkError> {
        let job_id: JobId = job_id.into();
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.token_page(job_id.0),
            Transport::Remote(r) => r.token_page(job_id.0).await,
        }
    }

    /// A job's output as it is pushed: what is there already, then live chunks, then the
    /// end. Needs a tokio runtime.
    pub fn subscribe_tokens(&self, job_id: impl Into<JobId>) -> Subscription<TokenEvent> {
        let job_id: JobId = job_id.into();
        match &self.transport {
            #[cfg(feature = "embedded")]
            Transport::Embedded(e) => e.subscribe_tokens(job_id.0),
            Transport::Remote(r) => r.subscribe_tokens(job_id.0),
        }
    }
}
