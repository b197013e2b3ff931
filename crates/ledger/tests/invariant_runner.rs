//! The invariant runner finds a planted bug, shrinks it, saves it, and the saved file replays
//! it; a correct contract passes.

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::contract::{decode_input, encode, Contract, Ctx, KeyBuf, TickWork, View};
use comqute_qpi::{Amount, ContractError, ContractIndex, Identity};
use comqute_ledger::invariants::{
    replay_file, ActionModel, Invariant, InvariantFailure, InvariantRunner, Verdict,
};
use comqute_ledger::{Ledger, LedgerError, Transaction};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

const VAULT: ContractIndex = ContractIndex(20);

/// A test-only vault: deposits and withdrawals per identity. With `planted_bug`, a
/// withdrawal over 100 forgets to subtract one unit from the book.
struct Vault {
    planted_bug: bool,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct Withdraw {
    amount: Amount,
}

fn book_key(who: &Identity) -> Vec<u8> {
    KeyBuf::table(1).bytes32(&who.0).build()
}

impl Contract for Vault {
    fn index(&self) -> ContractIndex {
        VAULT
    }
    fn name(&self) -> &'static str {
        "vault"
    }
    fn procedure(
        &self,
        ctx: &mut Ctx<'_>,
        input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        let who = ctx.invocator();
        let held: i64 = ctx.get(&book_key(&who))?.unwrap_or(0);
        let total: i64 = ctx.get(b"total")?.unwrap_or(0);
        match input_type {
            1 => {
                let r = ctx.invocation_reward().0;
                ctx.put(&book_key(&who), &(held + r))?;
                ctx.put(b"total", &(total + r))?;
                Ok(encode(&(held + r)))
            }
            2 => {
                let Withdraw { amount } = decode_input(input)?;
                if amount.0 <= 0 || amount.0 > held {
                    return Err(ContractError::InsufficientFunds {
                        needed: amount.0,
                        available: held,
                    });
                }
                ctx.transfer(&who, amount)?;
                let booked = if self.planted_bug && amount.0 > 100 {
                    amount.0 - 1
                } else {
                    amount.0
                };
                ctx.put(&book_key(&who), &(held - booked))?;
                ctx.put(b"total", &(total - booked))?;
                Ok(Vec::new())
            }
            t => Err(ContractError::UnknownProcedure {
                contract: VAULT.0,
                input_type: t,
            }),
        }
    }
    fn function(&self, view: &View<'_>, _t: u16, _i: &[u8]) -> Result<Vec<u8>, ContractError> {
        Ok(encode(&view.get::<i64>(b"total")?.unwrap_or(0)))
    }
    fn next_tick_work(&self, _view: &View<'_>) -> TickWork {
        TickWork::Idle
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Act {
    Deposit { who: u8, amount: i64 },
    Withdraw { who: u8, amount: i64 },
    Wait(u32),
}

struct Model {
    planted_bug: bool,
}

fn user(i: u8) -> Identity {
    Identity([i + 1; 32])
}

impl ActionModel for Model {
    type Action = Act;
    fn genesis(&self) -> Result<Ledger, LedgerError> {
        Ledger::builder()
            .contract(Vault {
                planted_bug: self.planted_bug,
            })
            .fund(user(0), Amount(10_000))
            .fund(user(1), Amount(10_000))
            .build()
    }
    fn action(&self) -> BoxedStrategy<Act> {
        prop_oneof![
            (0u8..2, 1i64..300).prop_map(|(who, amount)| Act::Deposit { who, amount }),
            (0u8..2, 1i64..300).prop_map(|(who, amount)| Act::Withdraw { who, amount }),
            (1u32..4).prop_map(Act::Wait),
        ]
        .boxed()
    }
    fn apply(&self, l: &mut Ledger, a: &Act) -> Result<u32, LedgerError> {
        let t = l.next_tick();
        let tx = match a {
            Act::Deposit { who, amount } => {
                Transaction::call(user(*who), VAULT, Amount(*amount), t, 1, vec![])
            }
            Act::Withdraw { who, amount } => Transaction::call(
                user(*who),
                VAULT,
                Amount(0),
                t,
                2,
                encode(&Withdraw {
                    amount: Amount(*amount),
                }),
            ),
            Act::Wait(n) => return Ok(*n),
        };
        let _ = l.submit_unsigned(tx);
        Ok(1)
    }
    fn invariants(&self) -> Vec<Invariant> {
        vec![
            ("vault is solvent", |l: &Ledger| {
                let total: i64 = l.query(VAULT, 1, &()).map_err(|e| e.to_string())?;
                let held = l.balance(&Identity::contract(VAULT)).0;
                if held == total {
                    Ok(())
                } else {
                    Err(format!("the book says {total}, the vault holds {held}"))
                }
            }),
            ("money is conserved", |l: &Ledger| {
                let sum: i128 = l
                    .state()
                    .accounts_sorted()
                    .iter()
                    .map(|(_, a)| i128::from(a.balance))
                    .sum();
                if sum == l.supply().circulating() {
                    Ok(())
                } else {
                    Err(format!(
                        "balances {sum} != supply {}",
                        l.supply().circulating()
                    ))
                }
            }),
        ]
    }
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("comqute-invariants-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_planted_bug_is_found_shrunk_saved_and_replayed() {
    let dir = temp_dir("planted");
    let model = Model { planted_bug: true };
    let err = InvariantRunner::new(&model, "vault")
        .cases(200)
        .max_actions(30)
        .seed([7; 32])
        .regressions_dir(&dir)
        .run()
        .expect_err("the planted bug must be found");
    let InvariantFailure::Violated {
        failure,
        minimal,
        saved,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert!(failure.starts_with("vault is solvent"), "{err}");
    // Shrunk to a few deposits and one withdrawal over 100 (from up to 30 random actions).
    assert!(
        (1..=2).contains(&minimal.matches("Deposit").count()),
        "{err}"
    );
    assert_eq!(minimal.matches("Withdraw").count(), 1, "{err}");
    assert!(!minimal.contains("Wait"), "{err}");
    let path = saved.as_ref().expect("saved");
    assert!(err.to_string().contains(&path.display().to_string()));
    let again = replay_file(&model, path).unwrap();
    assert!(
        matches!(&again.verdict, Verdict::StillFails(f) if f.starts_with("vault is solvent")),
        "{again:?}"
    );
    assert_eq!(
        again.diverged_at, None,
        "the replay is bit for bit the recorded run"
    );
    // With the bug fixed, the saved sequence passes (and its digests differ from the bug's).
    let fixed = replay_file(&Model { planted_bug: false }, path).unwrap();
    assert_eq!(fixed.verdict, Verdict::Passes);
    assert!(fixed.diverged_at.is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_correct_contract_holds_its_invariants() {
    let stats = InvariantRunner::new(&Model { planted_bug: false }, "vault-ok")
        .cases(64)
        .max_actions(50)
        .run()
        .unwrap();
    assert_eq!(stats.cases, 64);
    assert!(stats.ticks >= stats.actions);
}
