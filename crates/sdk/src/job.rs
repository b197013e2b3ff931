//! [`JobHandle`]: one job, from the requester's side: its status, waiting for a result or a
//! terminal status, the result blob checked against the on-chain hash, and its tokens.

use std::time::{Duration, Instant};

use comqute_ledger::Keypair;
use comqute_market::job_registry::{Job, JobStatus};

use crate::client::{Client, Subscription, TokenEvent, TxReceipt};
use crate::SdkError;

/// A submitted job.
#[derive(Clone, Debug)]
pub struct JobHandle {
    client: Client,
    id: u64,
}

impl JobHandle {
    pub(crate) fn new(client: Client, id: u64) -> JobHandle {
        JobHandle { client, id }
    }

    /// The job's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The job's record now.
    pub async fn status(&self) -> Result<Job, SdkError> {
        self.client.jobs().job(self.id).await
    }

    /// Waits until `done(&job)` holds, letting time pass between looks (see
    /// [`Client::advance`]); [`SdkError::Timeout`] after `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&Job) -> bool,
    ) -> Result<Job, SdkError> {
        let start = Instant::now();
        loop {
            let job = self.status().await?;
            if done(&job) {
                return Ok(job);
            }
            if start.elapsed() > timeout {
                return Err(SdkError::Timeout {
                    what: format!("job {} to be {what} (it is {})", self.id, job.status.name()),
                    after: timeout,
                });
            }
            self.client.advance().await?;
        }
    }

    /// Waits for a posted result (or a terminal status without one).
    pub async fn wait_result(&self, timeout: Duration) -> Result<Job, SdkError> {
        self.wait_for("done or terminal", timeout, |j| {
            j.result.is_some() || j.status.is_terminal()
        })
        .await
    }

    /// Waits for a terminal status (Finalized, Cancelled, Expired, Failed, Resolved).
    pub async fn wait_final(&self, timeout: Duration) -> Result<Job, SdkError> {
        self.wait_for("terminal", timeout, |j| j.status.is_terminal())
            .await
    }

    /// Waits for `status`.
    pub async fn wait_status(&self, status: JobStatus, timeout: Duration) -> Result<Job, SdkError> {
        self.wait_for(status.name(), timeout, |j| j.status == status)
            .await
    }

    /// Fetches the result blob and checks it hashes to the result hash posted on chain.
    pub async fn result(&self) -> Result<Vec<u8>, SdkError> {
        let job = self.status().await?;
        let r = job.result.ok_or_else(|| {
            SdkError::Invalid(format!(
                "job {} has no result (it is {})",
                self.id,
                job.status.name()
            ))
        })?;
        // get_blob checks blake3(body) against the hash it fetched by: the on-chain one.
        self.client.get_blob(&r.result_hash).await
    }

    /// The job's tokens as the worker pushes them (what is there already first).
    pub fn tokens(&self) -> Subscription<TokenEvent> {
        self.client.subscribe_tokens(self.id)
    }

    /// Cancels the job (the requester, while it is open).
    pub async fn cancel(&self, key: &Keypair) -> Result<TxReceipt, SdkError> {
        self.client.jobs().cancel(key, self.id).await
    }

    /// Challenges the result (anyone but its worker, within the challenge window), posting
    /// the bond the verification contract asks for.
    pub async fn challenge(&self, key: &Keypair) -> Result<TxReceipt, SdkError> {
        self.client.jobs().challenge(key, self.id).await
    }

    /// The job's check, if its result was checked.
    pub async fn check(&self) -> Result<Option<comqute_market::verification::Check>, SdkError> {
        self.client.verification().check(self.id).await
    }
}
