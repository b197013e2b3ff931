// The browser wallet: seeds, keys, identities, transactions and signed blob uploads, byte for
// byte the same as the Rust code.
//
//   seed → secret   crates/ledger/src/keys.rs   blake3::derive_key("comqute v1 seed", seed)
//   secret → key    ed25519 (RFC 8032), what ed25519-dalek's SigningKey::from_bytes does
//   60-letter codec crates/qpi/src/primitives.rs  identities uppercase, hashes lowercase
//   transaction     crates/ledger/src/tx.rs     packed layout, ed25519 over blake3(unsigned)
//   blob upload     crates/wire/src/lib.rs      blob_upload_digest, signed, sent as headers
//
// `node crates/node/web/js/wallet.check.mjs` checks every rule against testdata/vectors.json.
//
// Served at /assets/js/wallet.js; the noble libraries are vendored under /assets/vendor/ and
// imported by relative path, so nothing is loaded from another host. Signing and key
// derivation use WebCrypto's SHA-512 (noble's async API) and seed encryption uses WebCrypto's
// PBKDF2 and AES-GCM: browsers give `crypto.subtle` only to secure contexts (https, or
// http://localhost).
//
// Nothing here logs: no seed, secret or passphrase is ever written to the console.

import * as ed from '../vendor/noble-ed25519/index.js';
import { blake3 } from '../vendor/noble-hashes/blake3.js';

/** The number of letters in a seed. */
export const SEED_LEN = 55;
/** The key-derivation context of a seed (blake3 derive_key mode). */
export const SEED_CONTEXT = 'comqute v1 seed';
/** Letters of an encoded identity or hash. */
export const IDENTITY_LEN = 60;
/** The largest amount a transaction may carry: 10^15. */
export const MAX_AMOUNT = 1_000_000_000_000_000n;
/** The largest transaction input. */
export const MAX_INPUT_SIZE = 1024;
/** Bytes of a transaction before its input. */
export const HEADER_LEN = 80;
/** Bytes of a signature. */
export const SIGNATURE_LEN = 64;
/** The domain of the blob upload digest. */
export const BLOB_UPLOAD_DOMAIN = 'comqute blob upload v1';
/** The header naming who uploads a blob. */
export const UPLOADER_HEADER = 'x-comqute-uploader';
/** The header with the uploader's signature over the upload digest (128 hex). */
export const UPLOAD_SIGNATURE_HEADER = 'x-comqute-signature';

/** Every error this module throws on bad input. Its message is meant for the user. */
export class WalletError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'WalletError';
  }
}

const enc = new TextEncoder();
const WORD_DIGITS = 14;
const CHECKSUM_DIGITS = 4;
const U64_MAX = (1n << 64n) - 1n;

// ---------------------------------------------------------------------------------------
// Bytes

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function bytes32(b, what) {
  if (!(b instanceof Uint8Array) || b.length !== 32) {
    throw new WalletError(`${what} must be 32 bytes`);
  }
  return b;
}

/** A character as Rust's `{:?}` shows it: in single quotes, escaped. */
function quoteChar(c) {
  const escapes = { '\n': '\\n', '\r': '\\r', '\t': '\\t', "'": "\\'", '\\': '\\\\', '\0': '\\0' };
  if (escapes[c]) return `'${escapes[c]}'`;
  const cp = c.codePointAt(0);
  if (cp < 0x20 || cp === 0x7f) return `'\\u{${cp.toString(16)}}'`;
  return `'${c}'`;
}

/** Lowercase hexadecimal. */
export function hex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Bytes from hexadecimal (either case, an even number of digits). */
export function fromHex(s) {
  if (typeof s !== 'string' || s.length % 2 !== 0) {
    throw new WalletError('hexadecimal text must have an even number of digits');
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const pair = s.slice(2 * i, 2 * i + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) {
      const bad = /[0-9a-fA-F]/.test(pair[0]) ? 2 * i + 1 : 2 * i;
      throw new WalletError(`character ${bad} is not hexadecimal`);
    }
    out[i] = parseInt(pair, 16);
  }
  return out;
}

/** Standard base64 with padding (what the node's API reads and writes). */
export function base64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** Bytes from standard base64 (padding required, as the node's decoder wants). */
export function fromBase64(s) {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new WalletError('not standard base64');
  }
  let bin;
  try {
    bin = atob(s);
  } catch (e) {
    throw new WalletError('not standard base64', { cause: e });
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// ---------------------------------------------------------------------------------------
// Seeds and keys

/**
 * Throws a WalletError unless `s` is a seed: exactly 55 letters a–z. The messages are the
 * Rust `Seed::new`'s (positions count bytes, which are the characters of any ASCII text).
 */
export function checkSeed(s) {
  if (typeof s !== 'string') throw new WalletError('bad seed: a seed is text');
  const len = enc.encode(s).length;
  if (len !== SEED_LEN) {
    throw new WalletError(`bad seed: expected ${SEED_LEN} letters, found ${len}`);
  }
  let at = 0;
  for (const c of s) {
    if (!(c >= 'a' && c <= 'z')) {
      throw new WalletError(`bad seed: character ${at} is ${quoteChar(c)}, not a lowercase letter`);
    }
    at += enc.encode(c).length;
  }
}

/** A new random seed: 55 letters, each uniform over a–z (rejection sampling). */
export function generateSeed() {
  const letters = [];
  const buf = new Uint8Array(64);
  while (letters.length < SEED_LEN) {
    crypto.getRandomValues(buf);
    for (const b of buf) {
      // 234 = 9 × 26: bytes 234..255 would favour a–v, so they are dropped.
      if (b < 234 && letters.length < SEED_LEN) letters.push(String.fromCharCode(97 + (b % 26)));
    }
  }
  buf.fill(0);
  return letters.join('');
}

/** The 32-byte ed25519 secret key of a seed: blake3 derive_key("comqute v1 seed", seed). */
export function secretFromSeed(seed) {
  checkSeed(seed);
  return blake3(enc.encode(seed), { context: enc.encode(SEED_CONTEXT) });
}

/** The ed25519 public key of a 32-byte secret key. */
export async function publicKeyOf(secret) {
  return ed.getPublicKeyAsync(bytes32(secret, 'the secret key'));
}

/**
 * The key pair of a seed.
 * @returns {Promise<{secret: Uint8Array, publicKey: Uint8Array, identity: string}>}
 */
export async function keyFromSeed(seed) {
  const secret = secretFromSeed(seed);
  const publicKey = await ed.getPublicKeyAsync(secret);
  return { secret, publicKey, identity: encodeIdentity(publicKey) };
}

// ---------------------------------------------------------------------------------------
// The 60-letter codec

function checksum(bytes) {
  const h = blake3(bytes);
  return (h[0] | (h[1] << 8) | (h[2] << 16)) & 0x3ffff;
}

function encode60(bytes, base) {
  bytes32(bytes, 'the value');
  const view = new DataView(bytes.buffer, bytes.byteOffset, 32);
  let out = '';
  for (let w = 0; w < 4; w++) {
    let word = view.getBigUint64(8 * w, true);
    for (let d = 0; d < WORD_DIGITS; d++) {
      out += String.fromCharCode(base + Number(word % 26n));
      word /= 26n;
    }
  }
  let sum = checksum(bytes);
  for (let d = 0; d < CHECKSUM_DIGITS; d++) {
    out += String.fromCharCode(base + (sum % 26));
    sum = Math.floor(sum / 26);
  }
  return out;
}

function decode60(s, base) {
  if (typeof s !== 'string') throw new WalletError('expected text');
  const raw = enc.encode(s);
  if (raw.length !== IDENTITY_LEN) {
    throw new WalletError(`expected ${IDENTITY_LEN} characters, found ${raw.length}`);
  }
  // Every character is checked, first to last, before any is decoded (as in Rust).
  const bad = raw.findIndex((c) => c < base || c >= base + 26);
  if (bad >= 0) {
    // Every byte before `bad` is an ASCII letter, so it is also the index in the string.
    const c = String.fromCodePoint(s.codePointAt(bad));
    const which = base === 65 ? 'an uppercase' : 'a lowercase';
    throw new WalletError(`character ${bad} is ${quoteChar(c)}, not ${which} letter`);
  }
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  for (let w = 0; w < 4; w++) {
    let word = 0n;
    for (let d = WORD_DIGITS - 1; d >= 0; d--) {
      word = word * 26n + BigInt(raw[w * WORD_DIGITS + d] - base);
    }
    if (word > U64_MAX) throw new WalletError(`word ${w} is larger than 64 bits`);
    view.setBigUint64(8 * w, word, true);
  }
  let sum = 0;
  for (let d = CHECKSUM_DIGITS - 1; d >= 0; d--) {
    sum = sum * 26 + (raw[4 * WORD_DIGITS + d] - base);
  }
  if (sum !== checksum(out)) throw new WalletError('checksum does not match');
  return out;
}

/** A 32-byte public key (or contract id) as a 60-letter uppercase identity. */
export function encodeIdentity(bytes) {
  return encode60(bytes, 65);
}

/** The 32 bytes of a 60-letter uppercase identity; throws a WalletError on bad text. */
export function decodeIdentity(s) {
  return decode60(s, 65);
}

/** A 32-byte hash (a transaction id, a blob hash) as 60 lowercase letters. */
export function encodeHash(bytes) {
  return encode60(bytes, 97);
}

/** The 32 bytes of a hash: 60 lowercase letters, or 64 hexadecimal digits (as in Rust). */
export function decodeHash(s) {
  if (typeof s === 'string' && s.length === 64) {
    if (!/^[0-9a-fA-F]*$/.test(s)) {
      const i = [...s].findIndex((c) => !/[0-9a-fA-F]/.test(c));
      throw new WalletError(`character ${i} is not hexadecimal`);
    }
    return fromHex(s);
  }
  return decode60(s, 97);
}

/** blake3 of `bytes`, 32 bytes (exposed for pages that show blob hashes). */
export function blake3Hash(bytes) {
  return blake3(bytes);
}

/** The identity of contract `index`: the key (index, 0, 0, 0) as four u64 words. */
export function contractIdentity(index) {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new WalletError('a contract index is a whole number from 0 to 4294967295');
  }
  const b = new Uint8Array(32);
  new DataView(b.buffer).setUint32(0, index, true);
  return encodeIdentity(b);
}

function isContractId(b) {
  if (b.subarray(8).some((x) => x !== 0)) return false;
  const word = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  return word !== 0n && word <= 0xffffffffn;
}

// ---------------------------------------------------------------------------------------
// Transactions

function identityBytes(v, what) {
  if (v instanceof Uint8Array) return bytes32(v, what);
  if (typeof v === 'string') {
    try {
      return decodeIdentity(v.trim());
    } catch (e) {
      throw new WalletError(`${what}: ${e.message}`, { cause: e });
    }
  }
  throw new WalletError(`${what} must be an identity (60 uppercase letters) or 32 bytes`);
}

function toAmount(v) {
  let a;
  if (typeof v === 'bigint') a = v;
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new WalletError(`amount ${v} is not a whole number`);
    a = BigInt(v);
  } else if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) a = BigInt(v.trim());
  else throw new WalletError('the amount must be a whole number');
  if (a < 0n) throw new WalletError(`amount ${a} is negative`);
  if (a > MAX_AMOUNT) throw new WalletError(`amount ${a} is over the maximum of 10^15`);
  return a;
}

function toUint(v, max, what) {
  const n =
    typeof v === 'bigint'
      ? v
      : typeof v === 'number' && Number.isInteger(v)
        ? BigInt(v)
        : typeof v === 'string' && /^\s*\d+\s*$/.test(v)
          ? BigInt(v.trim())
          : null;
  if (n === null || n < 0n || n > BigInt(max)) {
    throw new WalletError(`${what} must be a whole number from 0 to ${max}`);
  }
  return Number(n);
}

function toInput(v) {
  if (v === undefined || v === null) return new Uint8Array(0);
  const b = v instanceof Uint8Array ? v : v instanceof ArrayBuffer ? new Uint8Array(v) : null;
  if (b === null) throw new WalletError('the input must be bytes (a Uint8Array)');
  if (b.length > MAX_INPUT_SIZE) {
    throw new WalletError(`input size ${b.length} is over the maximum of ${MAX_INPUT_SIZE}`);
  }
  return b;
}

/**
 * The packed transaction without its signature: source 32 | destination 32 | amount i64 |
 * tick u32 | inputType u16 | inputSize u16 | input (little-endian, no padding).
 * `source` and `destination` are identities (text) or 32 bytes; `amount` a BigInt, a safe
 * integer or a decimal string in 0..=10^15; `tick` a u32 and `inputType` a u16 (numbers, BigInts or decimal strings); `input` at most
 * 1024 bytes.
 */
export function packUnsigned({ source, destination, amount, tick, inputType = 0, input } = {}) {
  const src = identityBytes(source, 'the source');
  if (isContractId(src)) throw new WalletError('the source is a contract id; contracts do not sign');
  const dst = identityBytes(destination, 'the destination');
  const amt = toAmount(amount);
  const t = toUint(tick, 0xffffffff, 'the tick');
  const it = toUint(inputType, 0xffff, 'the input type');
  const inp = toInput(input);
  const out = new Uint8Array(HEADER_LEN + inp.length);
  const view = new DataView(out.buffer);
  out.set(src, 0);
  out.set(dst, 32);
  view.setBigInt64(64, amt, true);
  view.setUint32(72, t, true);
  view.setUint16(76, it, true);
  view.setUint16(78, inp.length, true);
  out.set(inp, HEADER_LEN);
  return out;
}

/** How many bytes of input `bytes` (unsigned or signed) declares; throws if they disagree. */
function shape(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_LEN) {
    throw new WalletError('not a transaction: too short');
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, HEADER_LEN).getUint16(78, true);
  if (n > MAX_INPUT_SIZE) throw new WalletError(`input size ${n} is over the maximum of ${MAX_INPUT_SIZE}`);
  if (bytes.length === HEADER_LEN + n) return { inputSize: n, signed: false };
  if (bytes.length === HEADER_LEN + n + SIGNATURE_LEN) return { inputSize: n, signed: true };
  throw new WalletError(`input size says ${n} bytes of input but the transaction has ${bytes.length} bytes`);
}

/** The signed digest, 32 bytes: blake3 of everything before the signature. */
export function transactionDigestBytes(bytes) {
  const { inputSize } = shape(bytes);
  return blake3(bytes.subarray(0, HEADER_LEN + inputSize));
}

/** The signed digest in lowercase letters (what the Rust `Transaction::digest` shows). */
export function transactionDigest(bytes) {
  return encodeHash(transactionDigestBytes(bytes));
}

/**
 * Signs packed unsigned bytes with `secret` (the source's 32-byte secret key): ed25519 over
 * blake3(unsigned). Returns the whole packed transaction. Throws if the source is not the
 * secret's public key.
 */
export async function signTransaction(secret, unsignedBytes) {
  bytes32(secret, 'the secret key');
  if (shape(unsignedBytes).signed) throw new WalletError('the transaction is already signed');
  const pub = await ed.getPublicKeyAsync(secret);
  if (!equal(pub, unsignedBytes.subarray(0, 32))) {
    throw new WalletError("the transaction's source is not this key's identity");
  }
  const sig = await ed.signAsync(blake3(unsignedBytes), secret);
  return concat(unsignedBytes, sig);
}

/** The id of a signed transaction: blake3 of all its bytes, 60 lowercase letters. */
export function transactionId(packed) {
  if (!shape(packed).signed) throw new WalletError('the transaction is not signed');
  return encodeHash(blake3(packed));
}

/**
 * Packs, signs and names a transaction. `source` may be left out: it is then the secret's
 * identity. Returns `{ bytes, base64, id }`; `base64` is the body's `encodedTransaction` for
 * `POST broadcast-transaction`.
 */
export async function buildSignedTransaction(secret, fields) {
  bytes32(secret, 'the secret key');
  const f = { ...fields };
  if (f.source === undefined) f.source = await ed.getPublicKeyAsync(secret);
  const bytes = await signTransaction(secret, packUnsigned(f));
  return { bytes, base64: base64(bytes), id: transactionId(bytes) };
}

/** The fields of a signed transaction (identities as text, amount as BigInt). */
export function decodeTransaction(packed) {
  const { inputSize, signed } = shape(packed);
  if (!signed) throw new WalletError('the transaction is not signed');
  const view = new DataView(packed.buffer, packed.byteOffset, packed.length);
  const amount = view.getBigInt64(64, true);
  if (amount < 0n) throw new WalletError(`amount ${amount} is negative`);
  if (amount > MAX_AMOUNT) throw new WalletError(`amount ${amount} is over the maximum of 10^15`);
  return {
    source: encodeIdentity(packed.slice(0, 32)),
    destination: encodeIdentity(packed.slice(32, 64)),
    amount,
    tick: view.getUint32(72, true),
    inputType: view.getUint16(76, true),
    input: packed.slice(HEADER_LEN, HEADER_LEN + inputSize),
    signature: packed.slice(HEADER_LEN + inputSize),
  };
}

/** Whether a signed transaction's signature verifies against its source (strict ed25519). */
export async function verifyTransaction(packed) {
  const { inputSize, signed } = shape(packed);
  if (!signed) return false;
  const body = packed.subarray(0, HEADER_LEN + inputSize);
  const sig = packed.subarray(HEADER_LEN + inputSize);
  try {
    return await ed.verifyAsync(sig, blake3(body), packed.subarray(0, 32), { zip215: false });
  } catch {
    return false;
  }
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

// ---------------------------------------------------------------------------------------
// Signed blob uploads

/** What an uploader signs: blake3("comqute blob upload v1" ‖ blake3(body)), 32 bytes. */
export function blobUploadDigest(bodyBytes) {
  return blake3(concat(enc.encode(BLOB_UPLOAD_DOMAIN), blake3(bodyBytes)));
}

/**
 * The headers of a `PUT` of a blob counted against `identity`'s quota: the identity, and
 * the ed25519 signature over blobUploadDigest(body) in 128 lowercase hex digits.
 * `identity` may be left out (null or undefined): it is then the secret's own.
 */
export async function blobUploadHeaders(secret, identity, bodyBytes) {
  bytes32(secret, 'the secret key');
  if (!(bodyBytes instanceof Uint8Array)) throw new WalletError('the body must be bytes');
  const pub = await ed.getPublicKeyAsync(secret);
  const who = identity === undefined || identity === null ? encodeIdentity(pub) : identity;
  if (!equal(identityBytes(who, 'the uploader'), pub)) {
    throw new WalletError("the uploader is not this key's identity");
  }
  const sig = await ed.signAsync(blobUploadDigest(bodyBytes), secret);
  return { [UPLOADER_HEADER]: encodeIdentity(pub), [UPLOAD_SIGNATURE_HEADER]: hex(sig) };
}

// ---------------------------------------------------------------------------------------
// The seed at rest: PBKDF2-SHA256 → AES-256-GCM

const RECORD_VERSION = 1;
const PBKDF2_ITERATIONS = 600_000;
const MIN_ITERATIONS = 100_000;
const MAX_ITERATIONS = 10_000_000;
// Bound into the ciphertext: a record cannot be replayed as some other kind of record.
const RECORD_AAD = enc.encode('comqute seed record v1');

async function aesKey(passphrase, salt, iterations) {
  const base = await crypto.subtle.importKey(
    'raw',
    enc.encode(passphrase.normalize('NFC')),
    'PBKDF2',
    false,
    ['deriveKey'],
  );
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/**
 * Encrypts a seed under a passphrase for keeping (e.g. in localStorage). Returns a
 * JSON-able record: `{ v: 1, kdf: 'PBKDF2-SHA256', iterations: 600000, salt, cipher:
 * 'AES-256-GCM', iv, ct }`, binary fields in base64; salt 16 random bytes, iv 12.
 */
export async function encryptSeed(seed, passphrase) {
  checkSeed(seed);
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new WalletError('the passphrase is empty');
  }
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await aesKey(passphrase, salt, PBKDF2_ITERATIONS);
  const ct = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: RECORD_AAD }, key, enc.encode(seed)),
  );
  return {
    v: RECORD_VERSION,
    kdf: 'PBKDF2-SHA256',
    iterations: PBKDF2_ITERATIONS,
    salt: base64(salt),
    cipher: 'AES-256-GCM',
    iv: base64(iv),
    ct: base64(ct),
  };
}

/**
 * The seed of a record from encryptSeed. Throws WalletError('wrong passphrase') when the
 * passphrase is wrong or the record is damaged (the two cannot be told apart), and a
 * WalletError naming the version for a record of an unknown version.
 */
export async function decryptSeed(record, passphrase) {
  const wrong = (cause) => new WalletError('wrong passphrase', cause ? { cause } : undefined);
  if (record !== null && typeof record === 'object' && record.v !== RECORD_VERSION && record.v !== undefined) {
    throw new WalletError(`unsupported seed record version ${JSON.stringify(record.v)}`);
  }
  let salt, iv, ct;
  try {
    if (
      record === null ||
      typeof record !== 'object' ||
      record.kdf !== 'PBKDF2-SHA256' ||
      record.cipher !== 'AES-256-GCM' ||
      !Number.isInteger(record.iterations) ||
      record.iterations < MIN_ITERATIONS ||
      record.iterations > MAX_ITERATIONS ||
      typeof passphrase !== 'string'
    ) {
      throw wrong();
    }
    salt = fromBase64(record.salt);
    iv = fromBase64(record.iv);
    ct = fromBase64(record.ct);
    if (salt.length !== 16 || iv.length !== 12 || ct.length !== SEED_LEN + 16) throw wrong();
  } catch (e) {
    throw e instanceof WalletError && e.message === 'wrong passphrase' ? e : wrong(e);
  }
  let plain;
  try {
    const key = await aesKey(passphrase, salt, record.iterations);
    plain = new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: RECORD_AAD }, key, ct),
    );
  } catch (e) {
    throw wrong(e);
  }
  const seed = new TextDecoder().decode(plain);
  plain.fill(0);
  try {
    checkSeed(seed);
  } catch {
    // No cause: the message would quote a letter of what was decrypted.
    throw wrong();
  }
  return seed;
}
