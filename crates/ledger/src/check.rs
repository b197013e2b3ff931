//! Declarative checks on a receipt, in one call: status, balance deltas per identity, events
//! (by type and fields), and the state after. A failed check explains itself: it prints what
//! failed, then the receipt with its call tree, transfers and decoded events.
//!
//! ```
//! use comqute_qpi::examples::{Notary, SendMany, SendManyEvent, SendToMany, SEND_MANY, SEND_TO_MANY};
//! use comqute_qpi::{Amount, Identity};
//! use comqute_ledger::{check::Expect, Ledger};
//!
//! let (alice, bob) = (Identity([1; 32]), Identity([2; 32]));
//! let mut l = Ledger::builder().contract(Notary).contract(SendMany).fund(alice, Amount(1_000)).build()?;
//! let r = l.call(alice, SEND_MANY, SEND_TO_MANY, &SendToMany { payments: vec![(bob, Amount(100))] }, Amount(110))?;
//! Expect::executed()
//!     .delta(alice, -110)
//!     .delta(bob, 100)
//!     .event(SEND_MANY, SendManyEvent::Sent { originator: alice, to: bob, amount: Amount(100) })
//!     .state("bob holds 100", |l| l.balance(&bob) == Amount(100))
//!     .check(&l, &r)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::{self, Debug, Write};

use borsh::BorshDeserialize;
use comqute_qpi::{ContractIndex, Identity};

use crate::ledger::Ledger;
use crate::receipt::{Receipt, TxStatus};

enum StatusCheck {
    Executed,
    Failed(Option<String>),
    Dropped,
}

type EventPred<'a> = Box<dyn Fn(&[u8]) -> bool + 'a>;
type StatePred<'a> = Box<dyn Fn(&Ledger) -> bool + 'a>;

/// What a receipt is expected to show. Build with the constructors, then [`Expect::check`].
#[must_use = "an expectation does nothing until checked"]
pub struct Expect<'a> {
    status: Option<StatusCheck>,
    deltas: Vec<(Identity, i128)>,
    events: Vec<(ContractIndex, String, EventPred<'a>)>,
    event_count: Option<usize>,
    states: Vec<(String, StatePred<'a>)>,
}

impl<'a> Expect<'a> {
    fn with(status: Option<StatusCheck>) -> Self {
        Expect {
            status,
            deltas: Vec::new(),
            events: Vec::new(),
            event_count: None,
            states: Vec::new(),
        }
    }
    /// Expects the transaction to have executed.
    pub fn executed() -> Self {
        Self::with(Some(StatusCheck::Executed))
    }
    /// Expects the contract to have refused it (any error).
    pub fn failed() -> Self {
        Self::with(Some(StatusCheck::Failed(None)))
    }
    /// Expects the contract to have refused it with the error named `name` (the variant name
    /// of the contract's own error enum, or of [`comqute_qpi::ContractError`]).
    pub fn failed_with(name: &str) -> Self {
        Self::with(Some(StatusCheck::Failed(Some(name.to_owned()))))
    }
    /// Expects it to have been dropped.
    pub fn dropped() -> Self {
        Self::with(Some(StatusCheck::Dropped))
    }
    /// Expects nothing of the status.
    pub fn any_status() -> Self {
        Self::with(None)
    }
    /// Expects `id`'s balance to have changed by `delta` through this transaction.
    pub fn delta(mut self, id: Identity, delta: i128) -> Self {
        self.deltas.push((id, delta));
        self
    }
    /// Expects an event of `contract` equal to `event`.
    pub fn event<E: BorshDeserialize + PartialEq + Debug + 'a>(
        mut self,
        contract: ContractIndex,
        event: E,
    ) -> Self {
        let desc = format!("contract {contract} emits {event:?}");
        self.events.push((
            contract,
            desc,
            Box::new(move |d| E::try_from_slice(d).is_ok_and(|e| e == event)),
        ));
        self
    }
    /// Expects an event of `contract` of type `E` for which `pred` holds.
    pub fn event_where<E: BorshDeserialize + 'a>(
        mut self,
        contract: ContractIndex,
        what: &str,
        pred: impl Fn(&E) -> bool + 'a,
    ) -> Self {
        let desc = format!("contract {contract} emits an event where {what}");
        self.events.push((
            contract,
            desc,
            Box::new(move |d| E::try_from_slice(d).is_ok_and(|e| pred(&e))),
        ));
        self
    }
    /// Expects exactly `n` events in all.
    pub fn event_count(mut self, n: usize) -> Self {
        self.event_count = Some(n);
        self
    }
    /// Expects `pred` to hold of the ledger after the transaction.
    pub fn state(mut self, what: &str, pred: impl Fn(&Ledger) -> bool + 'a) -> Self {
        self.states.push((what.to_owned(), Box::new(pred)));
        self
    }

    /// Checks every expectation; on failure, the error lists each one that failed and
    /// explains the receipt.
    pub fn check(&self, ledger: &Ledger, receipt: &Receipt) -> Result<(), CheckFailure> {
        let mut failed = Vec::new();
        match (&self.status, &receipt.status) {
            (None, _)
            | (Some(StatusCheck::Executed), TxStatus::Executed)
            | (Some(StatusCheck::Dropped), TxStatus::Dropped { .. }) => {}
            (Some(StatusCheck::Failed(None)), TxStatus::Failed { .. }) => {}
            (Some(StatusCheck::Failed(Some(name))), TxStatus::Failed { error }) => {
                let got = error
                    .rejected_name()
                    .map(str::to_owned)
                    .unwrap_or_else(|| variant_name(error));
                if &got != name {
                    failed.push(format!("expected failure {name}, got {got} ({error})"));
                }
            }
            (Some(s), got) => failed.push(format!(
                "expected status {}, got {}",
                status_name(s),
                got.name()
            )),
        }
        for (id, want) in &self.deltas {
            let got = receipt.balance_delta(id);
            if got != *want {
                failed.push(format!(
                    "expected balance of {id} to change by {want}, it changed by {got}"
                ));
            }
        }
        for (contract, desc, pred) in &self.events {
            if !receipt
                .events
                .iter()
                .any(|e| e.contract == *contract && pred(&e.data))
            {
                failed.push(format!("expected: {desc}"));
            }
        }
        if let Some(n) = self.event_count {
            if receipt.events.len() != n {
                failed.push(format!("expected {n} events, got {}", receipt.events.len()));
            }
        }
        for (what, pred) in &self.states {
            if !pred(ledger) {
                failed.push(format!("expected after: {what}"));
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(CheckFailure {
                failed,
                explanation: explain(ledger, receipt),
            })
        }
    }
}

fn status_name(s: &StatusCheck) -> String {
    match s {
        StatusCheck::Executed => "executed".into(),
        StatusCheck::Failed(None) => "failed".into(),
        StatusCheck::Failed(Some(n)) => format!("failed with {n}"),
        StatusCheck::Dropped => "dropped".into(),
    }
}

fn variant_name<T: Debug>(v: &T) -> String {
    let s = format!("{v:?}");
    s.split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Renders a receipt with its call tree, transfers and events decoded by their contracts.
pub fn explain(ledger: &Ledger, r: &Receipt) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "transaction {} (tick {}, slot {})",
        r.tx_id, r.tick, r.slot
    );
    let _ = writeln!(
        out,
        "  {} → {} amount {} input type {}",
        r.source, r.destination, r.amount, r.input_type
    );
    let _ = match &r.status {
        TxStatus::Executed => writeln!(out, "  status: executed (moneyFlew {})", r.money_flew),
        TxStatus::Failed { error } => writeln!(out, "  status: FAILED: {error}"),
        TxStatus::Dropped { reason } => writeln!(out, "  status: DROPPED: {reason}"),
    };
    if !r.calls.is_empty() {
        let _ = writeln!(out, "  call tree:");
    }
    for c in &r.calls {
        let name = ledger.registry().get(c.contract).map_or("?", |x| x.name());
        let indent = "  ".repeat(usize::from(c.depth) + 2);
        let verdict = match &c.error {
            None => "ok".to_owned(),
            Some(e) => format!("FAILED: {e}"),
        };
        let _ = writeln!(
            out,
            "{indent}{name} (#{}) {:?} reward {} ← {}: {verdict}",
            c.contract, c.entry, c.reward, c.invocator
        );
    }
    if !r.transfers.is_empty() {
        let _ = writeln!(out, "  transfers:");
    }
    for t in &r.transfers {
        let _ = writeln!(out, "    {:?} {} → {}: {}", t.kind, t.from, t.to, t.amount);
    }
    if !r.events.is_empty() {
        let _ = writeln!(out, "  events:");
    }
    for e in &r.events {
        let desc = ledger
            .registry()
            .get(e.contract)
            .map_or_else(|| hex::encode(&e.data), |c| c.describe_event(&e.data));
        let _ = writeln!(out, "    #{} contract {}: {desc}", e.seq, e.contract);
    }
    out
}

/// Which expectations failed, and the receipt explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// One line per failed expectation.
    pub failed: Vec<String>,
    /// The receipt, its call tree, transfers and events.
    pub explanation: String,
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} expectation(s) failed:", self.failed.len())?;
        for l in &self.failed {
            writeln!(f, "  - {l}")?;
        }
        write!(f, "{}", self.explanation)
    }
}

impl std::error::Error for CheckFailure {}

#[cfg(test)]
mod tests {
    use super::*;
    use comqute_qpi::examples::*;
    use comqute_qpi::Amount;

    #[test]
    fn a_failed_check_explains_itself() {
        let a = Identity([1; 32]);
        let mut l = Ledger::builder()
            .contract(Notary)
            .contract(SendMany)
            .contract(Faulty)
            .fund(a, Amount(1_000))
            .build()
            .unwrap();
        let r = l.call(a, FAULTY, FAULTY_FAIL, &(), Amount(10)).unwrap();
        Expect::failed_with("Planned")
            .delta(a, 0)
            .event_count(0)
            .check(&l, &r)
            .unwrap();
        let err = Expect::executed().delta(a, -10).check(&l, &r).unwrap_err();
        assert_eq!(err.failed.len(), 2, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("expected status executed, got failed"),
            "{text}"
        );
        assert!(text.contains("call tree"), "{text}");
        assert!(text.contains("notary (#10)"), "{text}");
        let r = l
            .call(
                a,
                SEND_MANY,
                SEND_TO_MANY,
                &SendToMany {
                    payments: vec![(Identity([2; 32]), Amount(5))],
                },
                Amount(15),
            )
            .unwrap();
        let err = Expect::executed()
            .event(SEND_MANY, SendManyEvent::Burned { amount: Amount(1) })
            .event_where::<NotaryEvent>(NOTARY, "anything", |_| true)
            .check(&l, &r)
            .unwrap_err();
        assert_eq!(err.failed.len(), 1, "{err}");
        assert!(
            err.to_string().contains("Sent {"),
            "events are decoded: {err}"
        );
        let unknown = l.call(a, SEND_MANY, 77, &(), Amount(0)).unwrap();
        assert!(Expect::failed_with("UnknownProcedure")
            .check(&l, &unknown)
            .is_ok());
    }
}
