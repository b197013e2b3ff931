//! Qubic's archive endpoints on comqute ([`crate::wire::qubic_rpc`]): what each one means on
//! a chain that one node ticks, with no leader, no quorum and no signed tick data.
//!
//! - **Latest tick**, **status**: every tick from genesis to the last processed one is
//!   processed, none ends empty (there is no leader to miss one). `skippedTicks` is the
//!   range before the genesis tick, when there is one; the epochs listed are the newest
//!   [`MAX_STATUS_EPOCHS`].
//! - **Tick data**: the tick's epoch, number and transaction ids in slot order, for every
//!   processed tick (an idle one has none). There is no leader signature, time lock, variable
//!   part or contract fee report: those fields are empty. `computorIndex` is 0, the one
//!   computor's. `timestamp` is when this node saw the tick processed (milliseconds, its own
//!   clock: the chain has none), 0 when it no longer remembers.
//! - **Chain hash** and **store hash**: the tick digest (which chains the previous one) and
//!   the state digest after the tick, for a tick that changed something. A tick in which
//!   nothing happened leaves no record (the ledger's digest rule), so it answers 404.
//! - **Computors**: a devnet has one computor, the node itself. It holds no key and signs
//!   nothing, so it is listed as the null identity ([`COMPUTOR`]: a public key of 32 zero
//!   bytes, the identity Qubic uses for the protocol itself), with an empty signature.
//! - **Transfer transactions**: the identity's transactions with a non-zero amount, sent or
//!   received, per tick, like Qubic's archive, over at most [`MAX_TRANSFER_TICKS`] ticks and
//!   [`MAX_TRANSFER_TRANSACTIONS`] results per call (more is a 400 that says so).
//! - **Latest stats**: the supply and burns from the ledger, active addresses counted from
//!   the state, no market price (0).

use comqute_ledger::{Transaction, TxId};
use comqute_qpi::{Identity, Tick};

use crate::chain::{last_processed, Chain, ChainService, TickDigests};
use crate::error::ServiceError;
use crate::explorer::Observer;
use crate::wire::qubic_rpc::{
    Computors, EpochIntervals, LatestStats, ProcessedTick, ProcessedTickInterval, QubicTransaction,
    StatusResponse, TickData, TickInterval, TransferTransactionsPerTick,
};

/// Ticks one `transfer-transactions` call may span.
pub const MAX_TRANSFER_TICKS: u32 = 1_000;
/// Transfers one `transfer-transactions` call may return.
pub const MAX_TRANSFER_TRANSACTIONS: usize = 1_000;
/// Transactions one `transfer-transactions` call may look through.
pub const MAX_TRANSFER_SCAN: usize = 100_000;
/// Epochs `status` lists (the newest).
pub const MAX_STATUS_EPOCHS: u16 = 1_000;
/// The one computor of a comqute network, as `epochs/{e}/computors` lists it: the node,
/// which has no key, shown as the null identity.
pub const COMPUTOR: Identity = Identity([0; 32]);

/// A processed transaction in Qubic's shape (`None`: unknown or still pending). `kept` is
/// the transaction's bytes when this node has them (`inputHex`, `signatureHex`).
pub fn qubic_tx(
    c: &Chain,
    id: &TxId,
    kept: Option<Transaction>,
) -> Result<Option<QubicTransaction>, ServiceError> {
    let (Some(brief), Some(status)) = (c.tx_brief(id)?, c.tx_status(id)?) else {
        return Ok(None);
    };
    let name = |i: Option<Identity>| i.map(|i| i.to_string()).unwrap_or_default();
    let (input_size, input_hex, signature_hex) = match kept.filter(|t| t.id() == *id) {
        Some(t) => (
            u32::try_from(t.input.len()).unwrap_or(u32::MAX),
            hex::encode(&t.input),
            hex::encode(t.signature),
        ),
        None => (0, String::new(), String::new()),
    };
    Ok(Some(QubicTransaction {
        source_id: name(brief.source),
        dest_id: name(brief.destination),
        amount: brief.amount.0,
        tick_number: status.tick_number,
        input_type: u32::from(brief.input_type),
        input_size,
        input_hex,
        signature_hex,
        tx_id: id.to_string(),
        status: Some(status.status),
        money_flew: Some(status.money_flew),
    }))
}

/// `GET transactions/{id}`: a processed transaction (404 when unknown or still pending).
pub fn transaction(chain: &ChainService, id: &TxId) -> Result<QubicTransaction, ServiceError> {
    let kept = chain.kept(id);
    chain.with_chain(|c| {
        if let Some(t) = qubic_tx(c, id, kept)? {
            return Ok(t);
        }
        Err(ServiceError::NotFound(match c.tx_status(id)? {
            Some(v) => format!(
                "transaction {id} is {} for tick {}: only processed ones are archived",
                v.status, v.tick_number
            ),
            None => format!("no transaction {id}"),
        }))
    })?
}

/// 404 unless tick `t` is processed.
fn processed(c: &Chain, t: Tick) -> Result<(), ServiceError> {
    let l = c.ledger();
    let last = last_processed(l);
    if t < l.config().genesis_tick {
        return Err(ServiceError::NotFound(format!(
            "tick {} is before the genesis tick {}",
            t.0,
            l.config().genesis_tick.0
        )));
    }
    if t > last || t >= l.next_tick() {
        return Err(ServiceError::NotFound(format!(
            "tick {} is not processed yet (the last is {})",
            t.0, last.0
        )));
    }
    Ok(())
}

/// `GET ticks/{tick}/tick-data`.
pub fn tick_data(
    chain: &ChainService,
    observer: &Observer,
    t: Tick,
) -> Result<TickData, ServiceError> {
    let (epoch, ids) = chain.with_chain(|c| {
        processed(c, t)?;
        let ids = c.tick_transactions(t)?.unwrap_or_default();
        Ok::<_, ServiceError>((c.ledger().epoch_of(t).0, ids))
    })??;
    Ok(TickData {
        computor_index: 0,
        epoch: u32::from(epoch),
        tick_number: t.0,
        timestamp: observer.tick_time(t).unwrap_or(0),
        var_struct: String::new(),
        time_lock: String::new(),
        transaction_ids: ids.iter().map(ToString::to_string).collect(),
        contract_fees: Vec::new(),
        signature_hex: String::new(),
    })
}

/// The digests recorded after tick `t` (`chain-hash`, `store-hash`): 404 for a tick not
/// processed, or one in which nothing happened.
pub fn digests(chain: &ChainService, t: Tick) -> Result<TickDigests, ServiceError> {
    chain.with_chain(|c| {
        processed(c, t)?;
        c.tick_check(t)?.ok_or_else(|| {
            ServiceError::NotFound(format!(
                "tick {} changed nothing, and comqute records digests only for ticks that do \
                 (the chain digest stays the one of the last tick that did)",
                t.0
            ))
        })
    })?
}

/// The first tick of epoch `e` (by the ledger's epoch rule; `e` at or after genesis).
fn epoch_start(c: &Chain, e: u16) -> u64 {
    let cfg = c.ledger().config();
    u64::from(cfg.genesis_tick.0)
        + u64::from(e.saturating_sub(cfg.genesis_epoch.0)) * u64::from(cfg.epoch_ticks)
}

fn tick32(t: u64) -> u32 {
    u32::try_from(t).unwrap_or(u32::MAX)
}

/// `GET status`.
pub fn status(chain: &ChainService) -> Result<StatusResponse, ServiceError> {
    chain.with_chain(|c| {
        let l = c.ledger();
        let cfg = l.config();
        let genesis = cfg.genesis_tick;
        let last = last_processed(l);
        let skipped_ticks = if genesis.0 > 1 {
            vec![TickInterval {
                start_tick: 1,
                end_tick: genesis.0 - 1,
            }]
        } else {
            Vec::new()
        };
        let mut out = StatusResponse {
            last_processed_tick: ProcessedTick {
                tick_number: last.0,
                epoch: u32::from(l.epoch_of(last).0),
            },
            last_processed_ticks_per_epoch: Default::default(),
            skipped_ticks,
            processed_tick_intervals_per_epoch: Vec::new(),
            empty_ticks_per_epoch: Default::default(),
        };
        if l.next_tick() <= genesis {
            // Nothing processed yet.
            out.last_processed_tick.epoch = u32::from(cfg.genesis_epoch.0);
            return out;
        }
        let last_epoch = l.epoch_of(last).0;
        let first = l
            .epoch_of(genesis)
            .0
            .max(last_epoch.saturating_sub(MAX_STATUS_EPOCHS - 1));
        for e in first..=last_epoch {
            let start = tick32(epoch_start(c, e).max(u64::from(genesis.0)));
            let end =
                tick32((epoch_start(c, e) + u64::from(cfg.epoch_ticks) - 1).min(u64::from(last.0)));
            out.last_processed_ticks_per_epoch.insert(u32::from(e), end);
            out.processed_tick_intervals_per_epoch.push(EpochIntervals {
                epoch: u32::from(e),
                intervals: vec![ProcessedTickInterval {
                    initial_processed_tick: start,
                    last_processed_tick: end,
                }],
            });
        }
        out.empty_ticks_per_epoch.insert(u32::from(last_epoch), 0);
        out
    })
}

/// `GET latest-stats`: `now_secs` is the timestamp to report.
pub fn latest_stats(chain: &ChainService, now_secs: i64) -> Result<LatestStats, ServiceError> {
    chain.with_chain(|c| {
        let l = c.ledger();
        let supply = l.supply();
        let clamp = |v: i128| i64::try_from(v.max(0)).unwrap_or(i64::MAX);
        let active = l
            .state()
            .accounts_sorted()
            .iter()
            .filter(|(_, a)| a.balance > 0)
            .count();
        let last = last_processed(l);
        let epoch = l.epoch_of(last).0;
        let ticks = if l.next_tick() <= l.config().genesis_tick {
            0
        } else {
            let start = epoch_start(c, epoch).max(u64::from(l.config().genesis_tick.0));
            tick32(u64::from(last.0) + 1 - start.min(u64::from(last.0) + 1))
        };
        LatestStats {
            timestamp: now_secs,
            circulating_supply: clamp(supply.circulating()),
            active_addresses: u32::try_from(active).unwrap_or(u32::MAX),
            price: 0.0,
            market_cap: 0,
            epoch: u32::from(epoch),
            current_tick: last.0,
            ticks_in_current_epoch: ticks,
            empty_ticks_in_current_epoch: 0,
            epoch_tick_quality: 100.0,
            burned_qus: clamp(supply.burned),
        }
    })
}

/// `GET identities/{id}/transfer-transactions?startTick=&endTick=`: the identity's
/// transactions with a non-zero amount in the processed ticks of the range, per tick.
pub fn transfer_transactions(
    chain: &ChainService,
    who: &Identity,
    start: Tick,
    end: Tick,
) -> Result<Vec<TransferTransactionsPerTick>, ServiceError> {
    if start > end {
        return Err(ServiceError::BadParam {
            name: "startTick",
            detail: format!("startTick {} is after endTick {}", start.0, end.0),
        });
    }
    let span = u64::from(end.0) - u64::from(start.0) + 1;
    if span > u64::from(MAX_TRANSFER_TICKS) {
        return Err(ServiceError::BadParam {
            name: "endTick",
            detail: format!(
                "{span} ticks from {} to {}: one call spans at most {MAX_TRANSFER_TICKS}",
                start.0, end.0
            ),
        });
    }
    let name = who.to_string();
    chain.with_chain(|c| {
        let l = c.ledger();
        let from = start.max(l.config().genesis_tick);
        let to = end.min(last_processed(l));
        let mut out = Vec::new();
        let (mut found, mut scanned) = (0usize, 0usize);
        let mut t = from;
        while t <= to && l.next_tick() > t {
            let ids = c.tick_transactions(t)?.unwrap_or_default();
            scanned += ids.len();
            if scanned > MAX_TRANSFER_SCAN {
                return Err(ServiceError::BadParam {
                    name: "endTick",
                    detail: format!(
                        "ticks {} to {} hold more than {MAX_TRANSFER_SCAN} transactions to \
                         look through: narrow the range",
                        start.0, end.0
                    ),
                });
            }
            let mut txs = Vec::new();
            for id in &ids {
                let Some(b) = c.tx_brief(id)? else { continue };
                let mine = b.source == Some(*who) || b.destination == Some(*who);
                if !mine || b.amount.0 == 0 {
                    continue;
                }
                if let Some(q) = qubic_tx(c, id, chain.kept(id))? {
                    txs.push(q);
                }
            }
            if !txs.is_empty() {
                found += txs.len();
                if found > MAX_TRANSFER_TRANSACTIONS {
                    return Err(ServiceError::BadParam {
                        name: "endTick",
                        detail: format!(
                            "more than {MAX_TRANSFER_TRANSACTIONS} transfers of {name} between \
                             ticks {} and {}: narrow the range",
                            start.0, end.0
                        ),
                    });
                }
                out.push(TransferTransactionsPerTick {
                    tick_number: t.0,
                    identity: name.clone(),
                    transactions: txs,
                });
            }
            match t.next() {
                Some(n) => t = n,
                None => break,
            }
        }
        Ok(out)
    })?
}

/// `GET epochs/{epoch}/computors`: the one computor, for an epoch from genesis to the
/// current one (404 outside).
pub fn computors(chain: &ChainService, epoch: u32) -> Result<Computors, ServiceError> {
    chain.read(|l| {
        let first = l.config().genesis_epoch.0;
        let now = l.epoch().0;
        if epoch < u32::from(first) {
            return Err(ServiceError::NotFound(format!(
                "epoch {epoch} is before the genesis epoch {first}"
            )));
        }
        if epoch > u32::from(now) {
            return Err(ServiceError::NotFound(format!(
                "epoch {epoch} has not begun (the current epoch is {now})"
            )));
        }
        Ok(Computors {
            epoch,
            identities: vec![COMPUTOR.to_string()],
            signature_hex: String::new(),
        })
    })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use comqute_qpi::Amount;

    fn service() -> ChainService {
        let ledger = crate::default_genesis()
            .genesis_tick(Tick(100))
            .epoch_ticks(10)
            .build()
            .expect("the genesis builds");
        ChainService::new(Chain::Memory(Box::new(ledger)), 0, true)
    }

    fn send(c: &ChainService, k: &comqute_ledger::Keypair, to: Identity, amount: i64) -> TxId {
        let t = c.next_tick().unwrap();
        let tx = Transaction::new(k.identity(), to, Amount(amount), t, 0, vec![]).sign(k);
        let id = c.broadcast(tx).unwrap();
        c.process_tick().unwrap();
        id
    }

    #[test]
    fn status_lists_every_epoch_from_genesis_and_the_range_before_it_as_skipped() {
        let c = service();
        let s = status(&c).unwrap();
        assert_eq!(s.last_processed_tick.tick_number, 99);
        assert!(s.processed_tick_intervals_per_epoch.is_empty());
        assert_eq!(
            s.skipped_ticks,
            vec![TickInterval {
                start_tick: 1,
                end_tick: 99
            }]
        );
        c.warp(crate::chain::Warp::To(Tick(125))).unwrap();
        let s = status(&c).unwrap();
        assert_eq!(s.last_processed_tick.tick_number, 124);
        assert_eq!(s.last_processed_tick.epoch, 3);
        let e: Vec<_> = s
            .processed_tick_intervals_per_epoch
            .iter()
            .map(|e| {
                (
                    e.epoch,
                    e.intervals[0].initial_processed_tick,
                    e.intervals[0].last_processed_tick,
                )
            })
            .collect();
        assert_eq!(e, vec![(1, 100, 109), (2, 110, 119), (3, 120, 124)]);
        assert_eq!(s.last_processed_ticks_per_epoch.get(&2), Some(&119));
        assert_eq!(s.empty_ticks_per_epoch.get(&3), Some(&0));
        let st = latest_stats(&c, 7).unwrap();
        assert_eq!(
            (st.epoch, st.current_tick, st.ticks_in_current_epoch),
            (3, 124, 5)
        );
    }

    #[test]
    fn transfers_are_listed_per_tick_and_bounded() {
        let c = service();
        let k = comqute_ledger::Seed::new(&"a".repeat(55))
            .unwrap()
            .keypair();
        let bob = Identity([7; 32]);
        c.faucet(&k.identity(), Amount(1_000)).unwrap();
        let a = send(&c, &k, bob, 10);
        let _zero = send(&c, &k, bob, 0);
        let b = send(&c, &k, Identity([8; 32]), 20);
        let last = c.tick_info().unwrap().tick;
        let all = transfer_transactions(&c, &k.identity(), Tick(1), Tick(1_001)).unwrap_err();
        assert_eq!(all.code(), "bad_parameter", "{all}");
        let got = transfer_transactions(&c, &k.identity(), Tick(100), Tick(last)).unwrap();
        let ids: Vec<_> = got
            .iter()
            .flat_map(|t| t.transactions.iter().map(|x| x.tx_id.clone()))
            .collect();
        assert_eq!(ids, vec![a.to_string(), b.to_string()], "no zero amounts");
        let tx = &got[0].transactions[0];
        assert_eq!(tx.amount, 10);
        assert_eq!(tx.signature_hex.len(), 128, "this node kept the bytes");
        let bobs = transfer_transactions(&c, &bob, Tick(100), Tick(last)).unwrap();
        assert_eq!(bobs.len(), 1);
        assert_eq!(
            transfer_transactions(&c, &bob, Tick(5), Tick(4))
                .unwrap_err()
                .code(),
            "bad_parameter"
        );
        let d = digests(&c, Tick(got[0].tick_number)).unwrap();
        assert_ne!(d.digest, d.state_digest);
        assert_eq!(digests(&c, Tick(last + 1)).unwrap_err().code(), "not_found");
        assert_eq!(transaction(&c, &a).unwrap().dest_id, bob.to_string());
        assert_eq!(computors(&c, 1).unwrap().identities.len(), 1);
        assert_eq!(computors(&c, 9).unwrap_err().code(), "not_found");
    }
}
