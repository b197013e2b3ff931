//! The Qubic profile (issue 23): a ledger made with `.profile(Profile::Qubic)` takes
//! transactions signed the way Qubic's wallets sign them (SchnorrQ over K12), names them by
//! Qubic's ids (K12 of the packed bytes), and drops an ed25519 signature; the default
//! profile is unchanged. The signed transfers come from Qubic's own key utilities (qubipy
//! 0.4.1, `crates/qubic/testdata/vectors.json`).

use comqute_ledger::{Ledger, QubicKeypair, Signer, Transaction, TxStatus};
use comqute_qpi::{Amount, Hash32, Identity, Profile, Tick};
use serde_json::Value;

fn vectors() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../qubic/testdata/vectors.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_qubic_ledger_runs_a_transfer_signed_by_qubic_s_own_wallet_code() {
    let v = vectors();
    for t in v["transactions"].as_array().unwrap() {
        let signed = hex::decode(t["signed"].as_str().unwrap()).unwrap();
        let tx = Transaction::decode(&signed).unwrap();
        if tx.input_type != 0 {
            continue;
        }
        tx.verify_in(Profile::Qubic)
            .expect("Qubic's signature verifies");
        assert!(tx.verify().is_err(), "and is no ed25519 signature");
        let id = tx.id_in(Profile::Qubic);
        assert_eq!(hex::encode(id.0), t["id"].as_str().unwrap());
        assert_eq!(
            hex::encode(tx.digest_in(Profile::Qubic).0),
            t["digest"].as_str().unwrap()
        );
        // A comqute key re-signing through the Qubic key type gives Qubic's very bytes.
        let key = QubicKeypair::from_seed(t["seed"].as_str().unwrap()).unwrap();
        assert_eq!(key.identity(), tx.source);
        let mut unsigned = tx.clone();
        unsigned.signature = [0; 64];
        assert_eq!(unsigned.sign_with(&key).encode(), signed);

        // A ledger in the Qubic profile at that transaction's tick runs it.
        let mut l = Ledger::builder()
            .profile(Profile::Qubic)
            .genesis_tick(tx.tick)
            .fund(tx.source, Amount(tx.amount.0 + 1_000))
            .build()
            .unwrap();
        let got = l.submit(tx.clone()).unwrap();
        assert_eq!(got, id, "the ledger names it by Qubic's id");
        l.process_tick().unwrap();
        let r = l.receipt(&id).unwrap();
        assert_eq!(r.status, TxStatus::Executed, "{r:?}");
        assert_eq!(l.balance(&tx.destination).0, tx.amount.0);
    }
}

#[test]
fn each_profile_drops_the_other_s_signature() {
    let seed = "a".repeat(55);
    let qubic = QubicKeypair::from_seed(&seed).unwrap();
    let ed = comqute_ledger::Seed::new(&seed).unwrap().keypair();
    let to = Identity(Hash32::of(b"payee").0);
    let run = |profile: Profile, signer: &dyn Fn(Transaction) -> Transaction, from: Identity| {
        let mut l = Ledger::builder()
            .profile(profile)
            .fund(from, Amount(100))
            .build()
            .unwrap();
        let tx = signer(Transaction::new(from, to, Amount(7), Tick(1), 0, vec![]));
        let id = l.submit(tx.clone()).unwrap();
        assert_eq!(id, tx.id_in(profile));
        l.process_tick().unwrap();
        l.receipt(&id).unwrap().status.clone()
    };
    let q = |t: Transaction| t.sign_with(&qubic);
    let e = |t: Transaction| t.sign_with(&ed);
    assert_eq!(
        run(Profile::Qubic, &q, qubic.identity()),
        TxStatus::Executed
    );
    assert_eq!(run(Profile::Comqute, &e, ed.identity()), TxStatus::Executed);
    assert!(matches!(
        run(Profile::Qubic, &e, ed.identity()),
        TxStatus::Dropped { .. }
    ));
    assert!(matches!(
        run(Profile::Comqute, &q, qubic.identity()),
        TxStatus::Dropped { .. }
    ));
    assert_eq!(
        qubic.qubic_identity(),
        "BZBQFLLBNCXEMGLOBHUVFTLUPLVCPQUASSILFABOFFBCADQSSUPNWLZBQEXK"
    );
}
