// Checks the browser wallet (wallet.js) against the Rust code's test vectors
// (testdata/vectors.json) and the Rust rules it copies: run `node crates/node/web/js/wallet.check.mjs`
// (Node 20.19 or later: it needs globalThis.crypto and ES module detection for the vendored
// .js files, which have no package.json around them). Prints one line per failure and a
// closing "N passed, N failed"; exits 1 on any failure.
//
// It also checks that the ES module import graph of wallet.js resolves file by file, as a
// browser would resolve it from /assets/js/wallet.js: relative specifiers only, each with
// its .js extension, each naming a file that exists, and no vendored module left unused.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as w from './wallet.js';
import * as ed from '../vendor/noble-ed25519/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../../..');
const vectors = JSON.parse(readFileSync(join(root, 'testdata/vectors.json'), 'utf8'));

let passed = 0;
let failed = 0;
const fail = (name, detail) => {
  failed++;
  console.log(`FAIL ${name}: ${detail}`);
};
const ok = (name, cond, detail = '') => (cond ? passed++ : fail(name, detail || 'false'));
const eq = (name, got, want) =>
  got === want ? passed++ : fail(name, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
async function throws(name, fn, message) {
  try {
    await fn();
    fail(name, `did not throw (wanted ${JSON.stringify(message)})`);
  } catch (e) {
    if (!(e instanceof w.WalletError)) return fail(name, `threw ${e && e.name}: ${e && e.message}`);
    if (message instanceof RegExp ? !message.test(e.message) : e.message !== message) {
      return fail(name, `message ${JSON.stringify(e.message)}, want ${JSON.stringify(String(message))}`);
    }
    passed++;
  }
}
const b2h = (b) => Buffer.from(b).toString('hex');
const h2b = (h) => new Uint8Array(Buffer.from(h, 'hex'));
const covered = new Set();

// --- identities: seed → secret key → public key → identity --------------------------------
covered.add('identities');
const keys = new Map(); // identity → secret
for (const v of vectors.identities) {
  const n = `identities[${v.seed.slice(0, 6)}…]`;
  const k = await w.keyFromSeed(v.seed).catch((e) => fail(n, `threw ${e.name}: ${e.message}`));
  if (!k) continue;
  eq(`${n} secretKeyHex`, b2h(k.secret), v.secretKeyHex);
  eq(`${n} publicKeyHex`, b2h(k.publicKey), v.publicKeyHex);
  eq(`${n} identity`, k.identity, v.identity);
  eq(`${n} decodeIdentity`, b2h(w.decodeIdentity(v.identity)), v.publicKeyHex);
  eq(`${n} encodeIdentity`, w.encodeIdentity(h2b(v.publicKeyHex)), v.identity);
  eq(`${n} publicKeyOf`, b2h(await w.publicKeyOf(k.secret)), v.publicKeyHex);
  keys.set(v.identity, k.secret);
}

// --- contracts: index → identity ------------------------------------------------------------
covered.add('contracts');
for (const v of vectors.contracts) {
  eq(`contracts[${v.index}] identity`, w.contractIdentity(v.index), v.identity);
  const b = w.decodeIdentity(v.identity);
  const word = new DataView(b.buffer).getBigUint64(0, true);
  ok(`contracts[${v.index}] decode`, word === BigInt(v.index) && b.subarray(8).every((x) => x === 0));
}

// --- hashes: blake3, lowercase codec, both text forms back -----------------------------------
covered.add('hashes');
for (const v of vectors.hashes) {
  const n = `hashes[${JSON.stringify(v.dataUtf8)}]`;
  const h = w.blake3Hash(new TextEncoder().encode(v.dataUtf8));
  eq(`${n} blake3Hex`, b2h(h), v.blake3Hex);
  eq(`${n} lowercase`, w.encodeHash(h), v.lowercase);
  eq(`${n} decodeHash(lowercase)`, b2h(w.decodeHash(v.lowercase)), v.blake3Hex);
  eq(`${n} decodeHash(hex)`, b2h(w.decodeHash(v.blake3Hex)), v.blake3Hex);
  eq(`${n} decodeHash(HEX)`, b2h(w.decodeHash(v.blake3Hex.toUpperCase())), v.blake3Hex);
}

// --- transactions: fields → signed bytes (exact), digest, id, signature validity ------------
covered.add('transactions');
for (const [i, v] of vectors.transactions.entries()) {
  const n = `transactions[${i}]`;
  try {
    await checkTransaction(n, v);
  } catch (e) {
    fail(n, `threw ${e && e.name}: ${e && e.message}`);
  }
}
async function checkTransaction(n, v) {
  const bytes = h2b(v.hex);
  const d = w.decodeTransaction(bytes);
  eq(`${n} source`, d.source, v.source);
  eq(`${n} destination`, d.destination, v.destination);
  eq(`${n} amount`, d.amount, BigInt(v.amount));
  eq(`${n} tick`, d.tick, v.tick);
  eq(`${n} inputType`, d.inputType, v.inputType);
  eq(`${n} inputSize`, d.input.length, v.inputSize);
  eq(`${n} digest`, w.transactionDigest(bytes), v.digest);
  eq(`${n} id`, w.transactionId(bytes), v.id);
  eq(`${n} signatureValid`, await w.verifyTransaction(bytes), v.signatureValid);
  const fields = {
    source: v.source,
    destination: v.destination,
    amount: v.amount,
    tick: v.tick,
    inputType: v.inputType,
    input: d.input,
  };
  const unsigned = w.packUnsigned(fields);
  eq(`${n} packUnsigned`, b2h(unsigned), v.hex.slice(0, 2 * (80 + v.inputSize)));
  eq(`${n} digest of unsigned`, w.transactionDigest(unsigned), v.digest);
  const secret = keys.get(v.source);
  ok(`${n} source has a seed in the vectors`, secret !== undefined);
  if (!secret) return;
  // The amount in every accepted form gives the same bytes.
  for (const amount of [BigInt(v.amount), String(v.amount)]) {
    eq(`${n} packUnsigned(amount ${typeof amount})`, b2h(w.packUnsigned({ ...fields, amount })), b2h(unsigned));
  }
  const built = await w.buildSignedTransaction(secret, fields);
  const signed = await w.signTransaction(secret, unsigned);
  eq(`${n} signTransaction`, b2h(signed), b2h(built.bytes));
  if (v.signatureValid) {
    // ed25519 is deterministic: the wallet's signature is the Rust code's, byte for byte.
    eq(`${n} signed bytes`, b2h(built.bytes), v.hex);
    eq(`${n} built id`, built.id, v.id);
    eq(`${n} base64`, built.base64, Buffer.from(bytes).toString('base64'));
    const noSource = { ...fields };
    delete noSource.source;
    eq(`${n} source from the secret`, b2h((await w.buildSignedTransaction(secret, noSource)).bytes), v.hex);
  } else {
    // The tampered vector: same key, changed field, old signature. Signing it afresh gives a
    // valid transaction that differs only in the signature.
    ok(`${n} re-signed differs`, b2h(built.bytes) !== v.hex);
    eq(`${n} re-signed keeps the body`, b2h(built.bytes.subarray(0, 80 + v.inputSize)), b2h(unsigned));
    eq(`${n} re-signed verifies`, await w.verifyTransaction(built.bytes), true);
  }
  eq(`${n} fromBase64`, b2h(w.fromBase64(built.base64)), b2h(built.bytes));
}

// Every section of the vectors that the wallet can reproduce is covered.
for (const section of Object.keys(vectors)) {
  if (section === 'about') continue;
  ok(`section ${section} covered`, covered.has(section), `vectors.json section ${section} is not checked`);
}

// --- the codec's errors, as the Rust tests of crates/qpi/src/primitives.rs -----------------
{
  const good = w.encodeIdentity(new Uint8Array(32).fill(7));
  // The all-zero key is contract 0's id in the vectors (the Rust doc comment's "…AFXIB" is
  // Qubic's K12 checksum, not this codec's blake3 one).
  eq('codec NULL identity', w.encodeIdentity(new Uint8Array(32)), vectors.contracts.find((c) => c.index === 0).identity);
  await throws('codec length', () => w.decodeIdentity(good.slice(0, 59)), 'expected 60 characters, found 59');
  await throws(
    'codec letter 3',
    () => w.decodeIdentity(good.slice(0, 3) + 'a' + good.slice(4)),
    "character 3 is 'a', not an uppercase letter",
  );
  const last = good[59] === 'A' ? 'B' : 'A';
  await throws('codec checksum', () => w.decodeIdentity(good.slice(0, 59) + last), 'checksum does not match');
  await throws('codec overflow', () => w.decodeIdentity('Z'.repeat(14) + good.slice(14)), 'word 0 is larger than 64 bits');
  await throws(
    'codec first bad character',
    () => w.decodeIdentity(good.toLowerCase()),
    `character 0 is '${good[0].toLowerCase()}', not an uppercase letter`,
  );
  const two = good.slice(0, 20) + '7' + good.slice(21, 58) + 'x' + good.slice(59);
  await throws('codec earlier of two', () => w.decodeIdentity(two), "character 20 is '7', not an uppercase letter");
  const h = w.encodeHash(w.blake3Hash(new TextEncoder().encode('abc')));
  await throws('codec hash uppercase', () => w.decodeHash(h.toUpperCase()), /^character 0 is '.', not a lowercase letter$/);
  await throws('codec identity as hash', () => w.decodeHash(good), /^character 0 is '.', not a lowercase letter$/);
  await throws('codec non-ASCII', () => w.decodeIdentity('É' + good.slice(2)), "character 0 is 'É', not an uppercase letter");
  await throws('codec bad hex', () => w.decodeHash('g' + 'a'.repeat(63)), 'character 0 is not hexadecimal');
}

// --- seeds ----------------------------------------------------------------------------------
await throws('seed short', () => w.checkSeed('a'.repeat(54)), 'bad seed: expected 55 letters, found 54');
await throws('seed long', () => w.checkSeed('a'.repeat(56)), 'bad seed: expected 55 letters, found 56');
await throws(
  'seed uppercase',
  () => w.checkSeed('a'.repeat(10) + 'B' + 'a'.repeat(44)),
  "bad seed: character 10 is 'B', not a lowercase letter",
);
await throws('seed digit', () => w.keyFromSeed('1' + 'a'.repeat(54)), "bad seed: character 0 is '1', not a lowercase letter");
await throws('seed not text', () => w.checkSeed(42), 'bad seed: a seed is text');
{
  const counts = new Array(26).fill(0);
  const seen = new Set();
  const N = 2000;
  for (let i = 0; i < N; i++) {
    const s = w.generateSeed();
    w.checkSeed(s);
    seen.add(s);
    for (const c of s) counts[c.charCodeAt(0) - 97]++;
  }
  ok('generateSeed distinct', seen.size === N);
  // 110,000 letters: each expected 4230.8 times, σ ≈ 64; a biased byte % 26 would add ~4%.
  const expected = (N * 55) / 26;
  const chi2 = counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
  ok('generateSeed uniform (chi² < 60 on 25 d.f.)', chi2 < 60, `chi² = ${chi2.toFixed(1)}`);
}

// --- transaction validation -------------------------------------------------------------------
{
  const [a, b] = vectors.identities;
  const base = { source: a.identity, destination: b.identity, amount: 1, tick: 1, inputType: 0 };
  const pack = (f) => () => w.packUnsigned({ ...base, ...f });
  await throws('tx amount negative', pack({ amount: -1 }), 'amount -1 is negative');
  await throws('tx amount too large', pack({ amount: 1_000_000_000_000_001n }), 'amount 1000000000000001 is over the maximum of 10^15');
  ok('tx amount max', w.packUnsigned({ ...base, amount: '1000000000000000' }).length === 80);
  await throws('tx amount fraction', pack({ amount: 1.5 }), 'amount 1.5 is not a whole number');
  await throws('tx amount text', pack({ amount: '1e3' }), 'the amount must be a whole number');
  await throws('tx input too large', pack({ input: new Uint8Array(1025) }), 'input size 1025 is over the maximum of 1024');
  ok('tx input max', w.packUnsigned({ ...base, input: new Uint8Array(1024) }).length === 1104);
  await throws('tx tick', pack({ tick: 2 ** 32 }), 'the tick must be a whole number from 0 to 4294967295');
  await throws('tx tick negative', pack({ tick: -1 }), 'the tick must be a whole number from 0 to 4294967295');
  await throws('tx inputType', pack({ inputType: 65536 }), 'the input type must be a whole number from 0 to 65535');
  await throws('tx source contract', pack({ source: w.contractIdentity(1) }), 'the source is a contract id; contracts do not sign');
  await throws('tx bad destination', pack({ destination: b.identity.toLowerCase() }), /^the destination: character 0/);
  const secretB = keys.get(b.identity);
  await throws('tx wrong key', () => w.signTransaction(secretB, w.packUnsigned(base)), "the transaction's source is not this key's identity");
  const signed = await w.signTransaction(keys.get(a.identity), w.packUnsigned(base));
  await throws('tx sign twice', () => w.signTransaction(keys.get(a.identity), signed), 'the transaction is already signed');
  await throws('tx id of unsigned', () => w.transactionId(w.packUnsigned(base)), 'the transaction is not signed');
  const flipped = signed.slice();
  flipped[100] ^= 1;
  eq('tx flipped signature', await w.verifyTransaction(flipped), false);
}

// --- signed blob uploads ----------------------------------------------------------------------
{
  const v = vectors.identities[0];
  const secret = keys.get(v.identity);
  const body = new TextEncoder().encode('a blob body');
  const hdr = await w.blobUploadHeaders(secret, v.identity, body);
  eq('blob uploader header', hdr['x-comqute-uploader'], v.identity);
  ok('blob signature is 128 hex', /^[0-9a-f]{128}$/.test(hdr['x-comqute-signature']));
  // blake3("comqute blob upload v1" ‖ blake3(body)), built here by hand.
  const inner = w.blake3Hash(body);
  const domain = new TextEncoder().encode('comqute blob upload v1');
  const msg = new Uint8Array(domain.length + 32);
  msg.set(domain);
  msg.set(inner, domain.length);
  const digest = w.blake3Hash(msg);
  eq('blob digest', b2h(w.blobUploadDigest(body)), b2h(digest));
  eq(
    'blob signature verifies (strict)',
    await ed.verifyAsync(h2b(hdr['x-comqute-signature']), digest, h2b(v.publicKeyHex), { zip215: false }),
    true,
  );
  eq('blob identity from the secret', JSON.stringify(await w.blobUploadHeaders(secret, null, body)), JSON.stringify(hdr));
  await throws('blob wrong identity', () => w.blobUploadHeaders(secret, vectors.identities[1].identity, body), "the uploader is not this key's identity");
}

// --- the seed at rest -------------------------------------------------------------------------
{
  const seed = vectors.identities[2].seed;
  const rec = await w.encryptSeed(seed, 'correct horse');
  const json = JSON.parse(JSON.stringify(rec));
  eq('record version', json.v, 1);
  eq('record iterations', json.iterations, 600000);
  eq('record salt bytes', w.fromBase64(json.salt).length, 16);
  eq('record iv bytes', w.fromBase64(json.iv).length, 12);
  ok('record has no seed in clear', !JSON.stringify(json).includes(seed));
  eq('decrypt', await w.decryptSeed(json, 'correct horse'), seed);
  const rec2 = await w.encryptSeed(seed, 'correct horse');
  ok('fresh salt and iv', rec2.salt !== rec.salt && rec2.iv !== rec.iv && rec2.ct !== rec.ct);
  await throws('decrypt wrong passphrase', () => w.decryptSeed(json, 'correct horsE'), 'wrong passphrase');
  const ct = w.fromBase64(json.ct);
  ct[3] ^= 0x20;
  await throws('decrypt damaged ct', () => w.decryptSeed({ ...json, ct: w.base64(ct) }, 'correct horse'), 'wrong passphrase');
  await throws('decrypt damaged iterations', () => w.decryptSeed({ ...json, iterations: 600001 }, 'correct horse'), 'wrong passphrase');
  await throws('decrypt damaged salt', () => w.decryptSeed({ ...json, salt: 'AAAA' }, 'correct horse'), 'wrong passphrase');
  await throws('decrypt missing field', () => w.decryptSeed({ ...json, iv: undefined }, 'correct horse'), 'wrong passphrase');
  await throws('decrypt not a record', () => w.decryptSeed('x', 'correct horse'), 'wrong passphrase');
  await throws('decrypt version', () => w.decryptSeed({ ...json, v: 2 }, 'correct horse'), 'unsupported seed record version 2');
  await throws('encrypt bad seed', () => w.encryptSeed('abc', 'pw'), 'bad seed: expected 55 letters, found 3');
  await throws('encrypt empty passphrase', () => w.encryptSeed(seed, ''), 'the passphrase is empty');
}

// --- byte helpers -----------------------------------------------------------------------------
{
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  eq('hex', w.hex(all), Buffer.from(all).toString('hex'));
  eq('fromHex', b2h(w.fromHex(w.hex(all).toUpperCase())), b2h(all));
  for (const n of [0, 1, 2, 3, 100000]) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255);
    eq(`base64 ${n}`, w.base64(b), Buffer.from(b).toString('base64'));
    eq(`fromBase64 ${n}`, b2h(w.fromBase64(Buffer.from(b).toString('base64'))), b2h(b));
  }
  await throws('fromBase64 unpadded', () => w.fromBase64('YQ'), 'not standard base64');
  await throws('fromBase64 url-safe', () => w.fromBase64('-_-_'), 'not standard base64');
}

// --- the import graph, as a browser would walk it from /assets/js/wallet.js -----------------
{
  const web = resolve(here, '..');
  const seen = new Set();
  const walk = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const specs = [...src.matchAll(/(?:^|[;\n])\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
      (m) => m[1] ?? m[2] ?? m[3],
    );
    for (const s of specs) {
      const where = `${relative(web, file)} imports ${s}`;
      if (!s.startsWith('./') && !s.startsWith('../')) { fail('import graph', `${where}: not a relative path`); continue; }
      if (!s.endsWith('.js')) { fail('import graph', `${where}: no .js extension`); continue; }
      const target = resolve(dirname(file), s);
      if (!target.startsWith(web + '/')) { fail('import graph', `${where}: outside crates/node/web`); continue; }
      if (!existsSync(target)) { fail('import graph', `${where}: no such file`); continue; }
      passed++;
      walk(target);
    }
  };
  walk(join(here, 'wallet.js'));
  for (const dir of ['vendor/noble-ed25519', 'vendor/noble-hashes']) {
    for (const f of readdirSync(join(web, dir)).filter((f) => f.endsWith('.js'))) {
      ok(`import graph uses ${dir}/${f}`, seen.has(join(web, dir, f)), `${dir}/${f} is vendored but nothing imports it`);
    }
  }
  console.log(`import graph: ${[...seen].map((f) => relative(web, f)).join(', ')}`);
}

console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
