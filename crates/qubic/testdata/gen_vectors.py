#!/usr/bin/env python3
"""Generates crates/qubic/testdata/vectors.json with an implementation independent of
comqute: qubipy 0.4.1 from the Python package registry, which ships Qubic's key utilities
compiled for Linux (qubipy/crypto/crypto.so: KangarooTwelve, getSubseedFromSeed,
getPrivateKeyFromSubSeed, getPublicKeyFromPrivateKey, getIdentityFromPublicKey,
getPublicKeyFromIdentity, checkSumIdentity, getTxHashFromDigest, sign, verify) and Qubic's
transaction builder (qubipy/tx/builder.py).

    python3 -m venv /tmp/qv && /tmp/qv/bin/pip install qubipy==0.4.1
    /tmp/qv/bin/python crates/qubic/testdata/gen_vectors.py > crates/qubic/testdata/vectors.json

Every value written comes out of qubipy's library; the script only chooses the inputs
(fixed, so the output is the same on every run) and checks the K12 values against the
published KangarooTwelve test vectors (RFC 9861, section 5) before writing anything.
comqute's code is not used here. crates/qubic/tests/vectors.rs checks every vector.
"""

import ctypes
import hashlib
import json
import sys
from importlib.metadata import version

from qubipy.crypto import utils as q
from qubipy.tx.builder import Tx_Builder

QUBIPY = version("qubipy")
assert QUBIPY == "0.4.1", f"vectors are made with qubipy 0.4.1, found {QUBIPY}"

SRC_QUBIPY = f"qubipy {QUBIPY} (PyPI), Qubic's key utilities compiled for Linux"
SRC_RFC = "RFC 9861 (KangarooTwelve and TurboSHAKE), section 5, KT128; confirmed with qubipy's KangarooTwelve"

# FourQ's prime order N and the field prime p (public curve parameters).
N = 0x0029CBC14E5E0A72F05397829CBC14E5DFBD004DFE0F79992FB2540EC7768CE7
P = (1 << 127) - 1


def k12(data: bytes, n: int = 32) -> bytes:
    return q.kangaroo_twelve(data, len(data), n)


def ptn(n: int) -> bytes:
    """The RFC's test pattern: bytes 00 01 … FA repeated."""
    return bytes(i % 251 for i in range(n))


def letters(tag: str, n: int) -> str:
    """A fixed pseudo-random string of n lowercase letters (inputs only; sha256 of a tag)."""
    out, counter = "", 0
    while len(out) < n:
        for b in hashlib.sha256(f"{tag}/{counter}".encode()).digest():
            if b < 234:  # 234 = 9 * 26: no modulo bias
                out += chr(ord("a") + b % 26)
        counter += 1
    return out[:n]


def fixed_bytes(tag: str, n: int) -> bytes:
    out, counter = b"", 0
    while len(out) < n:
        out += hashlib.sha256(f"{tag}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def keys_of(seed: str):
    sub = q.get_subseed_from_seed(seed.encode())
    priv = q.get_private_key_from_subseed(sub)
    pub = q.get_public_key_from_private_key(priv)
    return sub, priv, pub


def identity(pub: bytes, lower: bool = False) -> str:
    return q.get_identity_from_public_key(pub, lower)


def tx_hash_from_digest(digest: bytes) -> str:
    # qubipy's own wrapper passes the wrong buffer type; call the library directly.
    buf = ctypes.create_string_buffer(61)
    q.lib.getTxHashFromDigest((ctypes.c_uint8 * 32).from_buffer_copy(digest), buf)
    return buf.value.decode()


def main() -> None:
    out = {
        "about": "Qubic-profile test vectors, generated with an implementation independent of "
        "comqute; checked by crates/qubic/tests/vectors.rs. Bytes are lowercase hex.",
        "generator": "crates/qubic/testdata/gen_vectors.py",
        "qubipy": QUBIPY,
    }

    # --- K12 -----------------------------------------------------------------------------
    rfc = [
        # (input, output length, expected output: RFC 9861 section 5, KT128, C = empty)
        (("empty", 0), 32, "1ac2d450fc3b4205d19da7bfca1b37513c0803577ac7167f06fe2ce1f0ef39e5"),
        (("empty", 0), 64, "1ac2d450fc3b4205d19da7bfca1b37513c0803577ac7167f06fe2ce1f0ef39e5"
         "4269c056b8c82e48276038b6d292966cc07a3d4645272e31ff38508139eb0a71"),
        (("ptn", 17**0), 32, "2bda92450e8b147f8a7cb629e784a058efca7cf7d8218e02d345dfaa65244a1f"),
        (("ptn", 17**1), 32, "6bf75fa2239198db4772e36478f8e19b0f371205f6a9a93a273f51df37122888"),
        (("ptn", 17**2), 32, "0c315ebcdedbf61426de7dcf8fb725d1e74675d7f5327a5067f367b108ecb67c"),
        (("ptn", 17**3), 32, "cb552e2ec77d9910701d578b457ddf772c12e322e4ee7fe417f92c758f0d59d0"),
        (("ptn", 17**4), 32, "8701045e22205345ff4dda05555cbb5c3af1a771c2b89baef37db43d9998b9fe"),
        (("ptn", 17**5), 32, "844d610933b1b9963cbdeb5ae3b6b05cc7cbd67ceedf883eb678a0a8e0371682"),
        (("ptn", 17**6), 32, "3c390782a8a4e89fa6367f72feaaf13255c8d95878481d3cd8ce85f58e880af8"),
    ]
    out["k12"] = []
    for (kind, n), outlen, expected in rfc:
        data = ptn(n)
        got = k12(data, outlen).hex()
        assert got == expected, f"qubipy's K12 disagrees with RFC 9861 on {kind}({n})"
        out["k12"].append({"ptn": n, "output_len": outlen, "output": got, "source": SRC_RFC})
    for text in ["", "qubic", "comqute"]:
        data = text.encode()
        out["k12"].append({"ascii": text, "output_len": 32, "output": k12(data).hex(),
                           "source": SRC_QUBIPY})

    # --- seeds -> keys -> identity ---------------------------------------------------------
    seeds = ["a" * 55, "z" * 55, "abcdefghijklmnopqrstuvwxyz" * 2 + "abc"]
    seeds += [letters(f"comqute qubic seed {i}", 55) for i in range(8)]
    out["keys"] = []
    for seed in seeds:
        sub, priv, pub = keys_of(seed)
        ident = identity(pub)
        assert q.check_sum_identity(ident)
        assert q.get_public_key_from_identity(ident) == pub
        out["keys"].append({
            "seed": seed, "subseed": sub.hex(), "private_key": priv.hex(),
            "public_key": pub.hex(), "identity": ident,
            "source": SRC_QUBIPY + ("; the identity is also given in issue 23"
                                    if seed == "a" * 55 else ""),
        })

    # --- identity <-> public key ---------------------------------------------------------
    raw = [bytes(32), bytes([1]) + bytes(31), bytes([4]) + bytes(31), b"\xff" * 32]
    raw += [fixed_bytes(f"comqute qubic identity {i}", 32) for i in range(6)]
    out["identities"] = []
    for b in raw:
        up, low = identity(b), identity(b, True)
        assert q.check_sum_identity(up)
        assert q.get_public_key_from_identity(up) == b
        out["identities"].append({"bytes": b.hex(), "identity": up, "lowercase": low,
                                  "source": SRC_QUBIPY})
    # Identities whose checksum letters were changed: checkSumIdentity refuses them.
    out["bad_checksums"] = []
    for e in out["identities"][:4]:
        ident = e["identity"]
        last = "A" if ident[-1] != "A" else "B"
        bad = ident[:-1] + last
        assert not q.check_sum_identity(bad)
        out["bad_checksums"].append({"identity": bad, "source": SRC_QUBIPY + ", checkSumIdentity"})

    # --- signatures ----------------------------------------------------------------------
    out["signatures"] = []
    for i, seed in enumerate(seeds[:6]):
        sub, _, pub = keys_of(seed)
        for j in range(2):
            digest = k12(f"comqute qubic digest {i}/{j}".encode())
            sig = q.sign(sub, pub, digest)
            assert q.sign(sub, pub, digest) == sig, "qubipy's sign is deterministic"
            assert q.verify(pub, digest, sig)
            out["signatures"].append({"subseed": sub.hex(), "public_key": pub.hex(),
                                      "digest": digest.hex(), "signature": sig.hex(),
                                      "source": SRC_QUBIPY + ", sign and verify"})

    # --- transactions ----------------------------------------------------------------------
    out["transactions"] = []
    # Plain transfers built by qubipy's wallet code (Tx_Builder), as a Qubic wallet sends them.
    for i, (seed, dest, amount, tick) in enumerate([
        (seeds[0], seeds[1], 1, 17_000_000),
        (seeds[3], seeds[4], 1_000_000, 22_222_222),
        (seeds[5], None, 0, 4_000_000_000),
    ]):
        _, _, src_pub = keys_of(seed)
        dest_pub = keys_of(dest)[2] if dest else bytes(32)
        tx = Tx_Builder()
        tx.set_source_public_key(src_pub)
        tx.set_destination_public_key(dest_pub)
        tx.set_amount(amount)
        tx.set_target_tick(tick)
        tx.set_input_type(0)
        tx.set_input_size(0)
        unsigned, signed, sig, tx_hash = tx.build(seed)
        signed = bytes(signed)
        assert len(signed) == 144
        assert tx_hash_from_digest(k12(signed)) == tx_hash
        out["transactions"].append({
            "seed": seed, "unsigned": bytes(unsigned).hex(), "signed": signed.hex(),
            "digest": k12(bytes(unsigned)).hex(), "id": k12(signed).hex(), "id_string": tx_hash,
            "source": SRC_QUBIPY + ", tx.builder.Tx_Builder.build",
        })
    # Contract calls with input, assembled here and signed with qubipy's K12 and sign.
    for i, (seed, index, input_type, input_len) in enumerate([
        (seeds[6], 1, 2, 3), (seeds[7], 4, 1, 64), (seeds[8], 9, 7, 1024),
    ]):
        sub, _, pub = keys_of(seed)
        dest = index.to_bytes(8, "little") + bytes(24)
        data = fixed_bytes(f"comqute qubic input {i}", input_len)
        unsigned = (pub + dest + (10 * i).to_bytes(8, "little") + (30_000_000 + i).to_bytes(4, "little")
                    + input_type.to_bytes(2, "little") + input_len.to_bytes(2, "little") + data)
        digest = k12(unsigned)
        signed = unsigned + q.sign(sub, pub, digest)
        tx_id = k12(signed)
        assert q.verify(pub, digest, signed[-64:])
        assert tx_hash_from_digest(tx_id) == identity(tx_id, True)
        out["transactions"].append({
            "seed": seed, "unsigned": unsigned.hex(), "signed": signed.hex(),
            "digest": digest.hex(), "id": tx_id.hex(), "id_string": tx_hash_from_digest(tx_id),
            "source": SRC_QUBIPY + ", KangarooTwelve, sign and getTxHashFromDigest",
        })

    # --- where verification differs --------------------------------------------------------
    # qubipy 0.4.1 ships Qubic's verify from before qubic/core's 2026 patches; comqute follows
    # today's core. These record what qubipy answers and what comqute must answer.
    cases = []
    sub, _, pub = keys_of(seeds[0])
    for j in range(64):
        digest = k12(f"comqute qubic twin {j}".encode())
        sig = q.sign(sub, pub, digest)
        s = int.from_bytes(sig[32:], "little")
        if s + N < 1 << 246:
            twin = sig[:32] + (s + N).to_bytes(32, "little")
            cases.append({
                "name": "malleable twin S + N (below 2^246)",
                "public_key": pub.hex(), "digest": digest.hex(), "signature": twin.hex(),
                "qubipy": q.verify(pub, digest, twin), "comqute": False,
                "why": "qubic/core refuses S >= N since its May 2026 security patch; "
                       "qubipy 0.4.1's older library only asked S < 2^246",
            })
            break
    # The neutral point 01 00 ... 00 as a key: S*G + h*A = S*G for every message.
    neutral = bytes([1]) + bytes(31)
    seven = (7).to_bytes(32, "little")
    forged = q.get_public_key_from_private_key(seven) + seven  # R = encode(7*G), S = 7
    digest = k12(b"comqute qubic neutral forgery")
    cases.append({
        "name": "forgery with the neutral point as key",
        "public_key": neutral.hex(), "digest": digest.hex(), "signature": forged.hex(),
        "qubipy": q.verify(neutral, digest, forged), "comqute": False,
        "why": "qubic/core refuses the neutral and small-order keys since June 2026",
    })
    # A key with a component of order 2: A' = A + (0, -1) = (-x, -y), signed by qubipy's sign
    # (it only hashes the key it is given). comqute refuses every key outside the prime-order
    # subgroup; Qubic multiplies it with its endomorphisms, and for this order-2 component
    # refused all of the 64 digests tried here too (recorded: the first one).
    y0 = int.from_bytes(pub[:16], "little")
    y1 = int.from_bytes(pub[16:], "little") & P
    sign_bit = pub[31] >> 7
    torsion = ((P - y0) % P).to_bytes(16, "little") \
        + (((P - y1) % P) | ((sign_bit ^ 1) << 127)).to_bytes(16, "little")
    answers = []
    for j in range(64):
        digest = k12(f"comqute qubic torsion {j}".encode())
        sig = q.sign(sub, torsion, digest)
        answers.append(q.verify(torsion, digest, sig))
        if j == 0:
            first = (digest, sig)
    cases.append({
        "name": "key with an order-2 component, A + (0, -1)",
        "public_key": torsion.hex(), "digest": first[0].hex(), "signature": first[1].hex(),
        "qubipy": answers[0], "comqute": False,
        "why": "outside the prime-order subgroup: comqute refuses every such key; qubipy "
               f"accepted {sum(answers)} of 64 signatures made for it",
    })
    out["verify_cases"] = cases

    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
