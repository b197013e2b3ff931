//! Cross-implementation tests: comqute's Qubic profile against qubipy 0.4.1, which ships
//! Qubic's key utilities compiled for Linux (K12, sign, verify) and Qubic's transaction
//! builder. Signatures made here must verify there and the other way round; Qubic's signing
//! is deterministic, so both sides must also produce the same 64 bytes.
//!
//! Finding qubipy: see `support/qubipy_env.rs`.

#[path = "support/qubipy_env.rs"]
mod qubipy_env;

use comqute_qubic::{k12, tx, verify, Keypair, Seed};
use serde_json::{json, Value};

/// Reads one JSON request on stdin, answers one JSON object on stdout.
const SCRIPT: &str = r#"
import json, sys
from importlib.metadata import version
from qubipy.crypto import utils as q
from qubipy.tx.builder import Tx_Builder

req = json.load(sys.stdin)
h = bytes.fromhex
out = {"version": version("qubipy")}

def keys(seed):
    sub = q.get_subseed_from_seed(seed.encode())
    pub = q.get_public_key_from_private_key(q.get_private_key_from_subseed(sub))
    return sub, pub

out["verify"] = [q.verify(h(v["public_key"]), h(v["digest"]), h(v["signature"]))
                 for v in req.get("verify", [])]
signed = []
for s in req.get("sign", []):
    sub, pub = keys(s["seed"])
    signed.append({"public_key": pub.hex(), "signature": q.sign(sub, pub, h(s["digest"])).hex()})
out["sign"] = signed
txs = []
for t in req.get("transfer", []):
    _, pub = keys(t["seed"])
    b = Tx_Builder()
    b.set_source_public_key(pub)
    b.set_destination_public_key(q.get_public_key_from_identity(t["destination"]))
    b.set_amount(t["amount"])
    b.set_target_tick(t["tick"])
    b.set_input_type(0)
    b.set_input_size(0)
    _, data, _, tx_hash = b.build(t["seed"])
    txs.append({"signed": bytes(data).hex(), "id": tx_hash})
out["transfer"] = txs
json.dump(out, sys.stdout)
"#;

fn python() -> Option<&'static str> {
    qubipy_env::python("qubipy.crypto.utils", "the qubipy cross-checks")
}

fn ask(python: &str, request: &Value) -> Value {
    qubipy_env::run_script(python, SCRIPT, request)
}

/// Fixed seeds, so a failure is reproducible.
fn seeds() -> Vec<Seed> {
    (0u8..6)
        .map(|i| Seed::from_entropy(&std::array::from_fn(|j| (j as u8).wrapping_mul(31) ^ i)))
        .collect()
}

fn digests(n: usize) -> Vec<[u8; 32]> {
    (0..n)
        .map(|i| k12(format!("cross-check {i}").as_bytes()))
        .collect()
}

fn hex32(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn hex64(v: &Value) -> [u8; 64] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn comqute_signatures_verify_under_qubipy_and_match_its_bytes() {
    let Some(py) = python() else { return };
    let mut verify_req = Vec::new();
    let mut sign_req = Vec::new();
    let mut ours = Vec::new();
    for seed in seeds() {
        let kp = seed.keypair();
        for d in digests(3) {
            let sig = kp.sign_digest(&d);
            verify_req.push(json!({
                "public_key": hex::encode(kp.public_key().0),
                "digest": hex::encode(d),
                "signature": hex::encode(sig),
            }));
            sign_req.push(json!({"seed": seed.as_str(), "digest": hex::encode(d)}));
            ours.push((kp.public_key().0, sig));
        }
    }
    let answer = ask(py, &json!({"verify": verify_req, "sign": sign_req}));
    let verified = answer["verify"].as_array().unwrap();
    assert_eq!(verified.len(), ours.len());
    assert!(
        verified.iter().all(|v| v == true),
        "qubipy refused a comqute signature: {verified:?}"
    );
    for ((public, sig), theirs) in ours.iter().zip(answer["sign"].as_array().unwrap()) {
        assert_eq!(&hex32(&theirs["public_key"]), public);
        assert_eq!(
            &hex64(&theirs["signature"]),
            sig,
            "deterministic signing: same bytes"
        );
    }
}

#[test]
fn qubipy_signatures_verify_in_comqute() {
    let Some(py) = python() else { return };
    let seeds = seeds();
    let ds = digests(4);
    let sign_req: Vec<Value> = seeds
        .iter()
        .flat_map(|s| {
            ds.iter()
                .map(move |d| json!({"seed": s.as_str(), "digest": hex::encode(d)}))
        })
        .collect();
    let answer = ask(py, &json!({ "sign": sign_req }));
    let theirs = answer["sign"].as_array().unwrap();
    assert_eq!(theirs.len(), seeds.len() * ds.len());
    for (i, t) in theirs.iter().enumerate() {
        let (public, sig, d) = (
            hex32(&t["public_key"]),
            hex64(&t["signature"]),
            ds[i % ds.len()],
        );
        assert_eq!(public, seeds[i / ds.len()].keypair().public_key().0);
        assert!(
            verify(&public, &d, &sig),
            "comqute refused qubipy's signature {i}"
        );
        let mut other = d;
        other[31] ^= 0x80;
        assert!(!verify(&public, &other, &sig));
    }
}

#[test]
fn a_qubic_wallet_transfer_verifies_in_comqute_and_comqute_sends_the_same_bytes() {
    let Some(py) = python() else { return };
    let seeds = seeds();
    let dest = seeds[1].keypair().identity();
    let answer = ask(
        py,
        &json!({"transfer": [
            {"seed": seeds[0].as_str(), "destination": dest, "amount": 1_234_567, "tick": 19_000_001},
            {"seed": seeds[2].as_str(), "destination": dest, "amount": 0, "tick": 1},
        ]}),
    );
    for t in answer["transfer"].as_array().unwrap() {
        let signed = hex::decode(t["signed"].as_str().unwrap()).unwrap();
        assert_eq!(signed.len(), 144);
        let id = tx::verify(&signed).expect("qubipy's transfer verifies");
        assert_eq!(id, tx::id(&signed));
        assert_eq!(tx::id_string(&signed), t["id"].as_str().unwrap());
        let seed = seeds
            .iter()
            .find(|s| s.keypair().public_key().0[..] == signed[..32])
            .expect("the source is one of the seeds");
        let kp: Keypair = seed.keypair();
        assert_eq!(
            tx::sign(&signed[..80], &kp).unwrap(),
            signed,
            "comqute signs the wallet's bytes"
        );
    }
}

#[test]
fn both_implementations_refuse_the_same_tampered_signatures() {
    let Some(py) = python() else { return };
    let kp = seeds()[3].keypair();
    let public = kp.public_key().0;
    let mut cases: Vec<([u8; 32], [u8; 32], [u8; 64])> = Vec::new();
    for (i, d) in digests(4).into_iter().enumerate() {
        let sig = kp.sign_digest(&d);
        cases.push((public, d, sig));
        for bit in [0usize, 7, 100, 254, 256, 300, 400, 500, 505, 511] {
            let mut s = sig;
            s[bit / 8] ^= 1 << (bit % 8);
            cases.push((public, d, s));
        }
        let mut key = public;
        key[i] ^= 4;
        cases.push((key, d, sig));
        let mut key = public;
        key[31] ^= 0x80; // the sign of x: the point −A
        cases.push((key, d, sig));
    }
    // Keys that are not points, or points outside the subgroup, with random signatures.
    for i in 0..8u8 {
        cases.push((k12(&[i]), k12(&[i, 1]), {
            let mut s = [0u8; 64];
            s[..32].copy_from_slice(&k12(&[i, 2]));
            s[32..].copy_from_slice(&k12(&[i, 3]));
            s[63] = 0; // S below N
            s[15] &= 0x7F;
            s
        }));
    }
    let req: Vec<Value> = cases
        .iter()
        .map(|(k, d, s)| {
            json!({"public_key": hex::encode(k), "digest": hex::encode(d), "signature": hex::encode(s)})
        })
        .collect();
    let answer = ask(py, &json!({ "verify": req }));
    let theirs = answer["verify"].as_array().unwrap();
    let mut accepted = 0;
    for (i, ((k, d, s), t)) in cases.iter().zip(theirs).enumerate() {
        let ours = verify(k, d, s);
        assert_eq!(
            Value::Bool(ours),
            *t,
            "case {i}: comqute {ours}, qubipy {t}"
        );
        accepted += usize::from(ours);
    }
    assert_eq!(accepted, 4, "exactly the four untouched signatures verify");
}

#[test]
fn many_seeds_give_the_same_keys_and_signatures() {
    let Some(py) = python() else { return };
    // 256 seeds from a fixed xorshift stream, one digest each.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let cases: Vec<(Seed, [u8; 32])> = (0..256)
        .map(|_| {
            let seed = Seed::from_entropy(&std::array::from_fn(|_| next() as u8));
            let digest: [u8; 32] = std::array::from_fn(|_| next() as u8);
            (seed, digest)
        })
        .collect();
    let req: Vec<Value> = cases
        .iter()
        .map(|(s, d)| json!({"seed": s.as_str(), "digest": hex::encode(d)}))
        .collect();
    let answer = ask(py, &json!({ "sign": req }));
    for ((seed, d), theirs) in cases.iter().zip(answer["sign"].as_array().unwrap()) {
        let kp = seed.keypair();
        assert_eq!(
            hex32(&theirs["public_key"]),
            kp.public_key().0,
            "key of {seed:?}"
        );
        assert_eq!(hex64(&theirs["signature"]), kp.sign_digest(d));
    }
}
