//! Every vector in `testdata/vectors.json` (made by `testdata/gen_vectors.py` with qubipy
//! 0.4.1, Qubic's own key utilities, and checked there against RFC 9861's K12 vectors).

use comqute_qubic::{
    decode_identity, encode_identity, k12_into, tx, verify, Case, Keypair, PublicKey, QubicError,
    Seed, Subseed,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    qubipy: String,
    k12: Vec<K12>,
    keys: Vec<Keys>,
    identities: Vec<Identity>,
    bad_checksums: Vec<BadChecksum>,
    signatures: Vec<Signature>,
    transactions: Vec<Transaction>,
    verify_cases: Vec<VerifyCase>,
}

#[derive(Deserialize)]
struct K12 {
    ptn: Option<usize>,
    ascii: Option<String>,
    output_len: usize,
    output: String,
}

#[derive(Deserialize)]
struct Keys {
    seed: String,
    subseed: String,
    private_key: String,
    public_key: String,
    identity: String,
}

#[derive(Deserialize)]
struct Identity {
    bytes: String,
    identity: String,
    lowercase: String,
}

#[derive(Deserialize)]
struct BadChecksum {
    identity: String,
}

#[derive(Deserialize)]
struct Signature {
    subseed: String,
    public_key: String,
    digest: String,
    signature: String,
}

#[derive(Deserialize)]
struct Transaction {
    seed: String,
    unsigned: String,
    signed: String,
    digest: String,
    id: String,
    id_string: String,
}

#[derive(Deserialize)]
struct VerifyCase {
    name: String,
    public_key: String,
    digest: String,
    signature: String,
    comqute: bool,
}

fn vectors() -> Vectors {
    let text = include_str!("../testdata/vectors.json");
    serde_json::from_str(text).expect("vectors.json parses")
}

fn b32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().expect("32 bytes")
}

fn b64(s: &str) -> [u8; 64] {
    hex::decode(s).unwrap().try_into().expect("64 bytes")
}

/// RFC 9861's test pattern: 00 01 … FA, repeated.
fn ptn(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[test]
fn made_with_qubipy_0_4_1() {
    assert_eq!(vectors().qubipy, "0.4.1");
}

#[test]
fn k12_digests() {
    let v = vectors();
    assert!(v.k12.iter().filter(|k| k.ptn.is_some()).count() >= 8);
    for k in &v.k12 {
        let data = match (&k.ptn, &k.ascii) {
            (Some(n), None) => ptn(*n),
            (None, Some(s)) => s.as_bytes().to_vec(),
            _ => panic!("a K12 vector has ptn or ascii"),
        };
        let mut out = vec![0u8; k.output_len];
        k12_into(&data, &mut out);
        assert_eq!(
            hex::encode(&out),
            k.output,
            "K12 of {:?}/{:?}",
            k.ptn,
            k.ascii
        );
        if k.output_len == 32 {
            assert_eq!(hex::encode(comqute_qubic::k12(&data)), k.output);
        }
    }
}

#[test]
fn seeds_to_identities() {
    let v = vectors();
    assert_eq!(
        v.keys[0].identity,
        "BZBQFLLBNCXEMGLOBHUVFTLUPLVCPQUASSILFABOFFBCADQSSUPNWLZBQEXK"
    );
    for k in &v.keys {
        let seed = Seed::new(&k.seed).unwrap();
        let sub = seed.subseed();
        assert_eq!(hex::encode(sub.0), k.subseed, "subseed of {}", k.seed);
        let private = sub.private_key();
        assert_eq!(
            hex::encode(private.0),
            k.private_key,
            "private key of {}",
            k.seed
        );
        let public = private.public_key();
        assert_eq!(
            hex::encode(public.0),
            k.public_key,
            "public key of {}",
            k.seed
        );
        assert_eq!(public.identity(), k.identity);
        assert_eq!(seed.keypair().identity(), k.identity);
        assert_eq!(PublicKey::from_identity(&k.identity), Ok(public));
        assert!(public.is_valid_point());
    }
}

#[test]
fn identities_and_public_keys() {
    let v = vectors();
    for i in &v.identities {
        let bytes = b32(&i.bytes);
        assert_eq!(encode_identity(&bytes, Case::Upper), i.identity);
        assert_eq!(encode_identity(&bytes, Case::Lower), i.lowercase);
        assert_eq!(decode_identity(&i.identity, Case::Upper), Ok(bytes));
        assert_eq!(decode_identity(&i.lowercase, Case::Lower), Ok(bytes));
        assert_eq!(i.identity.parse::<PublicKey>(), Ok(PublicKey(bytes)));
    }
    for b in &v.bad_checksums {
        assert_eq!(
            decode_identity(&b.identity, Case::Upper),
            Err(QubicError::IdentityChecksum)
        );
    }
}

#[test]
fn signatures_are_byte_identical() {
    let v = vectors();
    for s in &v.signatures {
        let kp = Keypair::from_subseed(Subseed(b32(&s.subseed)));
        assert_eq!(hex::encode(kp.public_key().0), s.public_key);
        let digest = b32(&s.digest);
        let sig = kp.sign_digest(&digest);
        assert_eq!(hex::encode(sig), s.signature, "signature of {}", s.digest);
        assert!(verify(&kp.public_key().0, &digest, &b64(&s.signature)));
    }
}

#[test]
fn signed_transactions_to_ids() {
    let v = vectors();
    for t in &v.transactions {
        let signed = hex::decode(&t.signed).unwrap();
        let unsigned = hex::decode(&t.unsigned).unwrap();
        assert_eq!(hex::encode(tx::digest(&unsigned)), t.digest);
        assert_eq!(tx::verify(&signed), Ok(b32(&t.id)));
        assert_eq!(hex::encode(tx::id(&signed)), t.id);
        assert_eq!(tx::id_string(&signed), t.id_string);
        // comqute signs the same bytes to the same transaction, byte for byte.
        let kp = Seed::new(&t.seed).unwrap().keypair();
        assert_eq!(tx::sign(&unsigned, &kp).unwrap(), signed);
    }
}

#[test]
fn verify_follows_qubic_core() {
    let v = vectors();
    assert!(!v.verify_cases.is_empty());
    for c in &v.verify_cases {
        let ok = verify(&b32(&c.public_key), &b32(&c.digest), &b64(&c.signature));
        assert_eq!(ok, c.comqute, "{}", c.name);
    }
}
