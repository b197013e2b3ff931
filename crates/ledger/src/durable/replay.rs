//! Replaying records: applying their inputs to a ledger and checking every digest.

use comqute_qpi::Tick;

use crate::ledger::Ledger;
use crate::tx::Transaction;

use super::log::LogRecord;
use super::record::{Op, RecordBody, TickCheck};
use super::DurableError;

/// Applies one input. `Ok(false)` when `stop_after` says the input lies beyond the tick
/// asked for (nothing was applied).
fn apply_op(ledger: &mut Ledger, op: &Op, stop_after: Option<Tick>) -> Result<bool, String> {
    if let Some(last) = stop_after {
        if ledger.next_tick() > last {
            return Ok(false);
        }
    }
    match op {
        Op::Submit { tx, verified } => {
            let tx = Transaction::decode(tx)
                .map_err(|e| format!("a logged transaction does not decode: {e}"))?;
            let id = tx.id_in(ledger.config().profile);
            let r = if *verified {
                ledger.submit_unsigned(tx)
            } else {
                ledger.submit(tx)
            };
            r.map_err(|e| format!("transaction {id} was accepted but is refused on replay: {e}"))?;
        }
        Op::Fund { to, amount } => {
            ledger
                .fund(to, *amount)
                .map_err(|e| format!("faucet for {to} refused on replay: {e}"))?;
        }
        Op::Tick => {
            ledger
                .process_tick()
                .map_err(|e| format!("tick {} failed on replay: {e}", ledger.next_tick()))?;
        }
        Op::WarpTo(t) => {
            let target = match stop_after {
                Some(last) => (*t).min(Tick(last.0.saturating_add(1))),
                None => *t,
            };
            ledger
                .warp_to_tick(target)
                .map_err(|e| format!("warp to {t} failed on replay: {e}"))?;
        }
    }
    Ok(true)
}

/// Applies a record's inputs and checks every tick digest and the final position and digests.
/// With `stop_after`, applies only the inputs up to the processing of that tick and skips
/// the checks of the parts not applied.
pub(crate) fn apply_record(
    ledger: &mut Ledger,
    rec: &LogRecord,
    stop_after: Option<Tick>,
) -> Result<bool, DurableError> {
    let diverged = |tick: Tick, detail: String| DurableError::Diverged {
        file: rec.file.clone(),
        offset: rec.offset,
        seq: rec.seq,
        tick,
        detail,
    };
    let before = ledger.tick_summaries().len();
    let mut complete = true;
    for op in &rec.body.ops {
        match apply_op(ledger, op, stop_after) {
            Ok(true) => {}
            Ok(false) => {
                complete = false;
                break;
            }
            Err(e) => return Err(diverged(ledger.next_tick(), e)),
        }
    }
    check_ticks(ledger, before, &rec.body, complete).map_err(|(t, d)| diverged(t, d))?;
    Ok(complete)
}

fn check_ticks(
    ledger: &Ledger,
    before: usize,
    body: &RecordBody,
    complete: bool,
) -> Result<(), (Tick, String)> {
    let got: Vec<TickCheck> = ledger
        .tick_summaries()
        .slice(before..)
        .iter()
        .map(|s| TickCheck::of(&s))
        .collect();
    for (i, want) in body.ticks.iter().enumerate() {
        match got.get(i) {
            Some(g) if g == want => {}
            Some(g) if g.tick != want.tick => {
                return Err((
                    want.tick,
                    format!(
                        "replay processed tick {} where the log has tick {}",
                        g.tick, want.tick
                    ),
                ))
            }
            Some(g) => {
                let what = if g.tx_count != want.tx_count {
                    format!("{} transactions, the log has {}", g.tx_count, want.tx_count)
                } else if g.state_digest != want.state_digest {
                    format!(
                        "state digest {}, the log has {}",
                        g.state_digest.to_hex(),
                        want.state_digest.to_hex()
                    )
                } else if g.receipts_digest != want.receipts_digest {
                    format!(
                        "receipts digest {}, the log has {}",
                        g.receipts_digest.to_hex(),
                        want.receipts_digest.to_hex()
                    )
                } else {
                    format!(
                        "tick digest {}, the log has {}",
                        g.digest.to_hex(),
                        want.digest.to_hex()
                    )
                };
                return Err((
                    want.tick,
                    format!("digest mismatch at tick {}: replay gives {what}", want.tick),
                ));
            }
            None if complete => {
                return Err((
                    want.tick,
                    format!(
                        "replay did not process tick {}, which the log has",
                        want.tick
                    ),
                ))
            }
            None => return Ok(()),
        }
    }
    if got.len() > body.ticks.len() {
        let extra = got[body.ticks.len()];
        return Err((
            extra.tick,
            format!(
                "replay processed tick {} with effects, which the log does not have",
                extra.tick
            ),
        ));
    }
    if complete {
        let at = Tick(body.next_tick.0.saturating_sub(1));
        if ledger.next_tick() != body.next_tick {
            return Err((
                at,
                format!(
                    "replay ends at next tick {}, the log at {}",
                    ledger.next_tick(),
                    body.next_tick
                ),
            ));
        }
        if ledger.state_digest() != body.state_digest {
            return Err((
                at,
                format!(
                    "state digest mismatch: replay gives {}, the log has {}",
                    ledger.state_digest().to_hex(),
                    body.state_digest.to_hex()
                ),
            ));
        }
        if ledger.digest() != body.digest {
            return Err((
                at,
                format!(
                    "digest mismatch: replay gives {}, the log has {}",
                    ledger.digest().to_hex(),
                    body.digest.to_hex()
                ),
            ));
        }
    }
    Ok(())
}
