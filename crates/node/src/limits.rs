//! Live subscriptions (the event stream and token streams over SSE) are a node's most
//! expensive answers: each holds a task, a buffer and a connection for as long as its client
//! stays. Issue 21 found 500 clients that never read stalling the whole API. So:
//!
//! - **Caps**: at most [`SubscriberLimits::max_total`] at once, and at most
//!   [`SubscriberLimits::max_per_address`] from one client address; past either, 429
//!   `too_many_subscriptions` with `Retry-After` ([`crate::ServiceError::TooManySubscriptions`]).
//! - **Bounded buffers, slow readers dropped**: each subscription buffers a bounded number of
//!   messages; a client that has not taken the next one within the node's patience
//!   ([`crate::NodeConfig::slow_reader_secs`]) is dropped (its stream ends), so one client
//!   never holds a feed, a lock or a tick back for the others. It may reconnect with its
//!   cursor.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::error::ServiceError;

/// The node's live subscriptions, counted.
#[derive(Debug)]
pub struct SubscriberLimits {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<(usize, BTreeMap<IpAddr, usize>)>,
}

impl SubscriberLimits {
    /// At most `max_total` subscriptions, `max_per_address` from one address.
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<SubscriberLimits> {
        Arc::new(SubscriberLimits {
            max_total,
            max_per_address,
            open: Mutex::new((0, BTreeMap::new())),
        })
    }

    /// The most subscriptions at once.
    pub fn max_total(&self) -> usize {
        self.max_total
    }

    /// The most from one address.
    pub fn max_per_address(&self) -> usize {
        self.max_per_address
    }

    /// Subscriptions open now.
    pub fn open(&self) -> usize {
        self.open.lock().map_or(0, |o| o.0)
    }

    /// A place for one more subscription from `addr` (`None`: an in-process caller, counted
    /// in the total only), held until the guard drops.
    pub fn acquire(
        self: &Arc<Self>,
        addr: Option<IpAddr>,
    ) -> Result<SubscriberGuard, ServiceError> {
        let mut open = self
            .open
            .lock()
            .map_err(|_| ServiceError::poisoned("subscriptions"))?;
        if open.0 >= self.max_total {
            return Err(ServiceError::TooManySubscriptions {
                scope: "this node",
                limit: self.max_total,
            });
        }
        if let Some(ip) = addr {
            let n = open.1.get(&ip).copied().unwrap_or(0);
            if n >= self.max_per_address {
                return Err(ServiceError::TooManySubscriptions {
                    scope: "one address",
                    limit: self.max_per_address,
                });
            }
            open.1.insert(ip, n + 1);
        }
        open.0 += 1;
        Ok(SubscriberGuard {
            limits: self.clone(),
            addr,
        })
    }
}

/// One open subscription; dropping it frees its place.
#[derive(Debug)]
pub struct SubscriberGuard {
    limits: Arc<SubscriberLimits>,
    addr: Option<IpAddr>,
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        if let Ok(mut open) = self.limits.open.lock() {
            open.0 = open.0.saturating_sub(1);
            if let Some(ip) = self.addr {
                if let Some(n) = open.1.get_mut(&ip) {
                    *n -= 1;
                    if *n == 0 {
                        open.1.remove(&ip);
                    }
                }
            }
        }
    }
}

/// Requests per client address, as token buckets ([governor]): `per_second` refilled, up to
/// `burst` at once. Applied to what costs the node: every request that changes something
/// (broadcasts, blob uploads, token pushes, devnet powers) and every live subscription.
/// Past it, 429 `rate_limited` with `Retry-After`.
pub struct RequestLimiter {
    limiter: Option<governor::DefaultKeyedRateLimiter<IpAddr>>,
    checks: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for RequestLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLimiter")
            .field("on", &self.limiter.is_some())
            .finish()
    }
}

impl RequestLimiter {
    /// `per_second` requests a second per address, bursts of `burst`; `per_second` 0 turns
    /// the limit off.
    pub fn new(per_second: u32, burst: u32) -> RequestLimiter {
        let limiter = std::num::NonZeroU32::new(per_second).map(|rate| {
            let burst = std::num::NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
            governor::RateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
        });
        RequestLimiter {
            limiter,
            checks: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Counts one request from `addr` (`None`: in-process, never limited).
    pub fn check(&self, addr: Option<IpAddr>) -> Result<(), ServiceError> {
        let (Some(l), Some(ip)) = (&self.limiter, addr) else {
            return Ok(());
        };
        // Forget addresses whose buckets are full again, now and then: the store stays as
        // large as the set of recent clients.
        let n = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % 4_096 == 4_095 {
            l.retain_recent();
        }
        l.check_key(&ip).map_err(|not_until| {
            use governor::clock::Clock;
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            ServiceError::RateLimited {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

/// Sends `item` to a subscriber, waiting at most `patience` for room in its buffer (`None`:
/// as long as it takes, for in-process subscribers); `false` when the subscriber is gone or
/// too slow (the feed then ends).
pub async fn send_or_drop<T>(tx: &mpsc::Sender<T>, item: T, patience: Option<Duration>) -> bool {
    match patience {
        Some(p) => matches!(tokio::time::timeout(p, tx.send(item)).await, Ok(Ok(()))),
        None => tx.send(item).await.is_ok(),
    }
}

/// Who a blob upload is counted against: a signed upload by an identity the chain knows (a
/// balance, or money received once) counts against that identity, anything else against
/// the client's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Uploader {
    /// A known identity that signed the upload.
    Identity(comqute_qpi::Identity),
    /// The client address of an unsigned upload (or one signed by an unknown identity).
    Address(IpAddr),
}

impl std::fmt::Display for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Uploader::Identity(id) => write!(f, "identity {id}"),
            Uploader::Address(a) => write!(f, "address {a}"),
        }
    }
}

type ByteBuckets<K> = governor::DefaultKeyedRateLimiter<K>;

/// Blob quotas: new bytes stored an hour per uploader, as token buckets in KiB that refill
/// over the hour and hold an hour's worth (governor). A blob already stored costs nothing.
/// In memory: a restart refills every bucket.
pub struct BlobQuota {
    identity: Option<(u32, ByteBuckets<comqute_qpi::Identity>)>,
    address: Option<(u32, ByteBuckets<IpAddr>)>,
    checks: std::sync::atomic::AtomicU64,
    /// Uploaders refused lately, and until when: their next upload is refused before its
    /// body is read ([`BlobQuota::refused_early`]).
    blocked: Mutex<BTreeMap<Uploader, (std::time::Instant, u32)>>,
}

impl std::fmt::Debug for BlobQuota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobQuota")
            .field(
                "identity_mib_per_hour",
                &self.identity.as_ref().map(|q| q.0),
            )
            .field("address_mib_per_hour", &self.address.as_ref().map(|q| q.0))
            .finish()
    }
}

fn byte_buckets<K: Clone + Eq + std::hash::Hash>(
    mib_per_hour: u32,
) -> Option<(u32, ByteBuckets<K>)> {
    let kib = std::num::NonZeroU32::new(mib_per_hour.saturating_mul(1024))?;
    Some((
        mib_per_hour,
        governor::RateLimiter::keyed(governor::Quota::per_hour(kib).allow_burst(kib)),
    ))
}

impl BlobQuota {
    /// `identity_mib_per_hour` for known identities, `address_mib_per_hour` for the rest
    /// (0: no quota).
    pub fn new(identity_mib_per_hour: u32, address_mib_per_hour: u32) -> BlobQuota {
        BlobQuota {
            identity: byte_buckets(identity_mib_per_hour),
            address: byte_buckets(address_mib_per_hour),
            checks: std::sync::atomic::AtomicU64::new(0),
            blocked: Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether an upload that says it comes from `who` is refused now, before its body is
    /// read: `who` was refused lately and its bucket has not refilled by the time given then.
    /// Nothing is taken from any bucket, so naming someone else's identity costs them
    /// nothing; the full check follows for an upload let through.
    pub fn refused_early(&self, who: Uploader) -> Result<(), ServiceError> {
        let Ok(mut b) = self.blocked.lock() else {
            return Ok(());
        };
        let now = std::time::Instant::now();
        match b.get(&who) {
            Some(&(until, mib)) if until > now => {
                let wait = until - now;
                Err(ServiceError::BlobQuota {
                    uploader: who.to_string(),
                    mib_per_hour: mib,
                    retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                })
            }
            Some(_) => {
                b.remove(&who);
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn block(&self, who: Uploader, wait: Duration, mib: u32) {
        if let Ok(mut b) = self.blocked.lock() {
            let now = std::time::Instant::now();
            if b.len() >= 4_096 {
                b.retain(|_, (until, _)| *until > now);
            }
            b.insert(who, (now + wait, mib));
        }
    }

    /// Takes `bytes` from `who`'s bucket, or says when they fit: 429 `blob_quota` with
    /// `Retry-After`; a blob larger than a whole hour's quota gets 413.
    pub fn charge(&self, who: Uploader, bytes: usize) -> Result<(), ServiceError> {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .max(1);
        // Invariant: `max(1)` above.
        let n = std::num::NonZeroU32::new(kib).expect("at least 1 KiB is charged");
        let tidy = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % 4_096
            == 4_095;
        let (mib, outcome) = match who {
            Uploader::Identity(id) => match &self.identity {
                None => return Ok(()),
                Some((mib, l)) => {
                    if tidy {
                        l.retain_recent();
                    }
                    (*mib, l.check_key_n(&id, n))
                }
            },
            Uploader::Address(a) => match &self.address {
                None => return Ok(()),
                Some((mib, l)) => {
                    if tidy {
                        l.retain_recent();
                    }
                    (*mib, l.check_key_n(&a, n))
                }
            },
        };
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                use governor::clock::Clock;
                let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
                self.block(who, wait, mib);
                Err(ServiceError::BlobQuota {
                    uploader: who.to_string(),
                    mib_per_hour: mib,
                    retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                })
            }
            Err(_) => Err(ServiceError::TooLarge {
                size: bytes,
                limit: usize::try_from(u64::from(mib) << 20).unwrap_or(usize::MAX),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_capped_in_total_and_per_address_and_freed_on_drop() {
        let l = SubscriberLimits::new(3, 2);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let g1 = l.acquire(Some(a)).unwrap();
        let _g2 = l.acquire(Some(a)).unwrap();
        let e = l.acquire(Some(a)).unwrap_err();
        assert_eq!(e.code(), "too_many_subscriptions");
        assert!(e.to_string().contains("one address"), "{e}");
        let _g3 = l.acquire(Some(b)).unwrap();
        let e = l.acquire(None).unwrap_err();
        assert!(e.to_string().contains("this node"), "{e}");
        drop(g1);
        assert_eq!(l.open(), 2);
        let _g4 = l.acquire(Some(a)).unwrap();
    }

    #[test]
    fn requests_past_the_burst_are_refused_with_a_wait() {
        let l = RequestLimiter::new(1, 3);
        let a: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            l.check(Some(a)).unwrap();
        }
        let e = l.check(Some(a)).unwrap_err();
        assert_eq!(e.code(), "rate_limited");
        assert_eq!(e.retry_after(), Some(1));
        // Another address, and in-process callers, are not held back.
        l.check(Some([10, 0, 0, 2].into())).unwrap();
        l.check(None).unwrap();
        // Off.
        let off = RequestLimiter::new(0, 0);
        for _ in 0..100 {
            off.check(Some(a)).unwrap();
        }
    }

    #[tokio::test]
    async fn a_reader_that_does_not_read_is_dropped_after_the_patience() {
        let (tx, mut rx) = mpsc::channel(2);
        let patience = Some(Duration::from_millis(50));
        assert!(send_or_drop(&tx, 1, patience).await);
        assert!(send_or_drop(&tx, 2, patience).await);
        // The buffer is full and nobody reads: given up, not waited on forever.
        assert!(!send_or_drop(&tx, 3, patience).await);
        assert_eq!(rx.recv().await, Some(1));
        drop(rx);
        assert!(!send_or_drop(&tx, 4, patience).await);
    }

    #[test]
    fn blob_quotas_are_per_uploader_and_say_when_to_come_back() {
        let q = BlobQuota::new(1, 2);
        let alice = Uploader::Identity(comqute_qpi::Identity([1; 32]));
        let bob = Uploader::Identity(comqute_qpi::Identity([2; 32]));
        let addr = Uploader::Address([10, 0, 0, 1].into());
        // An hour's worth at once: 1 MiB for an identity.
        q.charge(alice, 600 << 10).unwrap();
        q.charge(alice, 424 << 10).unwrap();
        let e = q.charge(alice, 100).unwrap_err();
        assert_eq!(e.code(), "blob_quota");
        assert!(e.to_string().contains("identity"), "{e}");
        // 1 KiB refills in 3.5 s (1 MiB an hour).
        assert!((1..=4).contains(&e.retry_after().unwrap()), "{e}");
        // Others are not held back; addresses have their own quota.
        q.charge(bob, 1 << 20).unwrap();
        q.charge(addr, 2 << 20).unwrap();
        assert_eq!(q.charge(addr, 1).unwrap_err().code(), "blob_quota");
        // Larger than an hour's quota: never fits.
        assert_eq!(
            q.charge(Uploader::Identity(comqute_qpi::Identity([3; 32])), 2 << 20)
                .unwrap_err()
                .code(),
            "body_too_large"
        );
        // Refused lately: the next upload from the same uploader is refused before its body
        // is read, without taking anything; others are let through.
        assert_eq!(q.refused_early(alice).unwrap_err().code(), "blob_quota");
        assert_eq!(q.refused_early(addr).unwrap_err().code(), "blob_quota");
        q.refused_early(bob).unwrap();
        // Off.
        let off = BlobQuota::new(0, 0);
        off.charge(alice, 1 << 30).unwrap();
        off.charge(addr, 1 << 30).unwrap();
    }
}
