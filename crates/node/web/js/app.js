// The web app's behaviour: the wallet widget on every page, and per page the submit form,
// live token streams, charts and the network graph. Everything here reads the node's own
// JSON API; every action is a transaction built and signed in this browser (wallet.js).
// The seed lives in this tab's memory, or, when the user asks, in localStorage encrypted
// with a passphrase. It is never sent anywhere.

import * as W from './wallet.js';
import { TEMPLATES, fillTemplate, templateVars } from './templates.js';

const $ = (sel, root = document) => root.querySelector(sel);
const SAVED = 'comqute.wallet.v1'; // {identity, record: encryptSeed(...)}
const TICK_OFFSET = 4; // the SDK's default: a transaction targets the tick 4 ahead

// --- the JSON API -------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export async function api(path, opts = {}) {
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, 'unreachable', `the node did not answer (${e.message})`);
  }
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (!res.ok) throw new ApiError(res.status, 'http', `${res.status} ${res.statusText}`);
    throw new ApiError(res.status, 'garbage', 'the node answered something that is not JSON');
  }
  if (!res.ok) {
    throw new ApiError(res.status, body?.code ?? 'http', body?.message ?? `${res.status} ${res.statusText}`);
  }
  return body;
}

const postJson = (path, body) =>
  api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const fmt = (n) => {
  try {
    return BigInt(n).toLocaleString('en-US');
  } catch {
    return String(n);
  }
};
const short = (s) => (s && s.length > 14 ? `${s.slice(0, 6)}…${s.slice(-4)}` : s);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- the wallet ---------------------------------------------------------------------------

const wallet = {
  key: null, // {secret, publicKey, identity} while unlocked
  seed: null,
  listeners: new Set(),
  saved() {
    try {
      return JSON.parse(localStorage.getItem(SAVED) ?? 'null');
    } catch {
      return null;
    }
  },
  identity() {
    return this.key?.identity ?? this.saved()?.identity ?? null;
  },
  async open(seed, { remember, passphrase } = {}) {
    W.checkSeed(seed);
    if (remember) {
      if (!passphrase || passphrase.length < 8) throw new W.WalletError('the passphrase must be at least 8 characters');
    }
    const key = await W.keyFromSeed(seed);
    if (remember) {
      const record = await W.encryptSeed(seed, passphrase);
      localStorage.setItem(SAVED, JSON.stringify({ identity: key.identity, record }));
    }
    this.key = key;
    this.seed = seed;
    this.changed();
  },
  async unlock(passphrase) {
    const s = this.saved();
    if (!s) throw new W.WalletError('no saved wallet on this device');
    const seed = await W.decryptSeed(s.record, passphrase);
    this.key = await W.keyFromSeed(seed);
    this.seed = seed;
    this.changed();
  },
  lock() {
    this.key = null;
    this.seed = null;
    this.changed();
  },
  drop() {
    localStorage.removeItem(SAVED);
    this.lock();
  },
  changed() {
    for (const f of this.listeners) f();
  },
  async balance() {
    const id = this.identity();
    if (!id) return null;
    const b = await api(`/v1/balances/${id}`);
    return BigInt(b.balance.balance);
  },
};
window.comquteWallet = wallet; // for the tests and the curious: no secret is exposed by name

function showWalletError(msg) {
  const el = $('#wallet-error');
  if (!el) return;
  el.textContent = msg ?? '';
  el.classList.toggle('hidden', !msg);
}

async function refreshWalletUi() {
  const btn = $('#wallet-button');
  const id = wallet.identity();
  const open = !!wallet.key;
  $('#wallet-open')?.classList.toggle('hidden', !open);
  $('#wallet-closed')?.classList.toggle('hidden', open);
  $('#wallet-unlock')?.classList.toggle('hidden', open || !wallet.saved());
  if (open) {
    const a = $('#wallet-identity');
    a.textContent = wallet.key.identity;
    a.href = `/identities/${wallet.key.identity}`;
    $('#wallet-seed').textContent = wallet.seed;
  }
  if (!id) {
    btn.textContent = 'Connect wallet';
    return;
  }
  btn.textContent = `${open ? '' : '🔒 '}${short(id)}`;
  try {
    const bal = await wallet.balance();
    const text = fmt(bal);
    btn.textContent = `${open ? '' : '🔒 '}${short(id)} · ${text}`;
    const b = $('#wallet-balance');
    if (b) b.textContent = text;
    btn.dataset.balance = String(bal);
  } catch (e) {
    const b = $('#wallet-balance');
    if (b) b.textContent = `unavailable: ${e.message}`;
  }
}

function setupWallet() {
  const dialog = $('#wallet-dialog');
  const btn = $('#wallet-button');
  if (!dialog || !btn) return;
  btn.addEventListener('click', () => {
    showWalletError(null);
    dialog.showModal();
    if (document.body.dataset.profile === 'qubic') {
      // This wallet signs with ed25519 (the comqute profile); Qubic's SchnorrQ on FourQ
      // has no vendored browser implementation here.
      showWalletError(
        "This node runs Qubic's profile: sign with a Qubic wallet or `comqute --profile qubic transfer`; the browser wallet signs in the comqute profile only.",
      );
      for (const b of dialog.querySelectorAll('#wallet-create, #wallet-import')) b.disabled = true;
    } else if (!window.isSecureContext || !crypto.subtle) {
      // Ed25519's SHA-512, PBKDF2 and AES-GCM come from Web Crypto, which browsers give
      // only to https pages and to localhost.
      showWalletError(
        `The wallet needs a secure page: open it as http://localhost:${location.port || 80} (an SSH tunnel to this node works) or behind HTTPS.`,
      );
    }
  });
  dialog.querySelector('[data-close]')?.addEventListener('click', () => dialog.close());
  const guard = (f) => async () => {
    showWalletError(null);
    try {
      await f();
    } catch (e) {
      showWalletError(e.message);
    }
  };
  const remember = () => ({ remember: $('#wallet-remember').checked, passphrase: $('#wallet-pass').value });
  $('#wallet-create').addEventListener('click', guard(() => wallet.open(W.generateSeed(), remember())));
  $('#wallet-import').addEventListener(
    'click',
    guard(async () => {
      const seed = $('#wallet-import-seed').value.trim();
      await wallet.open(seed, remember());
      $('#wallet-import-seed').value = '';
    }),
  );
  $('#wallet-unlock-go')?.addEventListener('click', guard(() => wallet.unlock($('#wallet-unlock-pass').value)));
  $('#wallet-unlock-drop')?.addEventListener(
    'click',
    guard(async () => {
      if (confirm('Remove the saved wallet from this device? Without its seed written down, its money is lost.')) wallet.drop();
    }),
  );
  $('#wallet-forget').addEventListener('click', () => wallet.lock());
  $('#wallet-faucet')?.addEventListener(
    'click',
    guard(async () => {
      const b = $('#wallet-faucet');
      b.disabled = true;
      try {
        await postJson('/v1/devnet/faucet', { identity: wallet.identity(), amount: '1000000' });
        await refreshWalletUi();
      } finally {
        b.disabled = false;
      }
    }),
  );
  wallet.listeners.add(refreshWalletUi);
  refreshWalletUi();
  setInterval(() => wallet.identity() && refreshWalletUi(), 5000);
  // Pages that ask for an identity get the wallet's.
  for (const form of document.querySelectorAll('[data-identity-form]')) {
    const input = form.querySelector('input[name=identity]');
    if (input && !input.value && wallet.identity()) input.value = wallet.identity();
  }
}

/** The unlocked key, or opens the wallet and throws. */
function needKey() {
  if (wallet.key) return wallet.key;
  $('#wallet-dialog')?.showModal();
  throw new W.WalletError('connect or unlock your wallet first (top right)');
}

// --- transactions ------------------------------------------------------------------------

/** Builds, signs and broadcasts a transaction; returns its id. */
export async function sendTransaction(fields) {
  const key = needKey();
  const info = await api('/v1/tick-info');
  const tick = Number(info.tickInfo.tick) + TICK_OFFSET;
  const tx = await W.buildSignedTransaction(key.secret, { ...fields, tick });
  const r = await postJson('/v1/broadcast-transaction', { encodedTransaction: tx.base64 });
  if (r.transactionId && r.transactionId !== tx.id) {
    throw new W.WalletError(`the node reports id ${r.transactionId}, this browser computed ${tx.id}`);
  }
  return tx.id;
}

/** Waits for a transaction's receipt (executed, failed or dropped). */
export async function receipt(id, { timeoutMs = 60000 } = {}) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await api(`/v1/receipts/${id}`);
      if (r.receipt.status !== 'pending') return r.receipt;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
    }
    if (Date.now() > until) throw new Error(`transaction ${short(id)} not processed after ${timeoutMs / 1000} s`);
    await sleep(300);
  }
}

// --- the submit page ---------------------------------------------------------------------

const USER_TEMPLATES = 'comqute.templates.v1';
const userTemplates = () => {
  try {
    return JSON.parse(localStorage.getItem(USER_TEMPLATES) ?? '[]');
  } catch {
    return [];
  }
};

function setupSubmit() {
  const form = $('#submit-form');
  if (!form) return;
  const data = JSON.parse($('#submit-data').textContent);
  const models = new Map(data.models.map((m) => [m.name, m]));
  const el = {
    model: $('#submit-model'),
    prompt: $('#submit-prompt'),
    maxTokens: $('#submit-max-tokens'),
    temp: $('#submit-temperature'),
    price: $('#submit-price'),
    estimate: $('#submit-estimate'),
    error: $('#submit-error'),
    go: $('#submit-go'),
    template: $('#submit-template'),
    vars: $('#template-vars'),
  };
  const fail = (msg) => {
    el.error.textContent = msg ?? '';
    el.error.classList.toggle('hidden', !msg);
  };

  // Templates: the built-in ten, then the user's own.
  const allTemplates = () => [...TEMPLATES.map((t) => ({ ...t, builtin: true })), ...userTemplates()];
  const fillTemplateList = () => {
    el.template.replaceChildren(new Option('— none —', ''));
    for (const [i, t] of allTemplates().entries()) el.template.add(new Option(`${t.builtin ? '' : '★ '}${t.name}`, String(i)));
  };
  fillTemplateList();
  const applyTemplate = () => {
    const t = allTemplates()[Number(el.template.value)];
    $('#template-delete').classList.toggle('hidden', !t || t.builtin);
    el.vars.replaceChildren();
    if (!t) return;
    for (const v of templateVars(t.text)) {
      const label = document.createElement('label');
      label.className = 'block text-sm';
      label.innerHTML = `<span class="text-slate-400"></span><input class="mt-1 w-full rounded-lg border border-slate-700 bg-slate-950 px-3 py-2 text-sm" data-var>`;
      label.querySelector('span').textContent = v;
      const input = label.querySelector('input');
      input.name = v;
      input.placeholder = v;
      input.addEventListener('input', render);
      el.vars.append(label);
    }
    if (t.maxTokens) el.maxTokens.value = t.maxTokens;
    render();
    function render() {
      const values = Object.fromEntries([...el.vars.querySelectorAll('[data-var]')].map((i) => [i.name, i.value]));
      el.prompt.value = fillTemplate(t.text, values);
      estimate();
    }
  };
  el.template.addEventListener('change', applyTemplate);
  $('#template-save').addEventListener('click', () => {
    const text = el.prompt.value.trim();
    if (!text) return fail('write a prompt first; use {{name}} for a variable');
    const name = prompt('Template name?');
    if (!name) return;
    const list = userTemplates();
    list.push({ name: name.slice(0, 60), text, maxTokens: Number(el.maxTokens.value) || undefined });
    localStorage.setItem(USER_TEMPLATES, JSON.stringify(list));
    fillTemplateList();
    fail(null);
  });
  $('#template-delete').addEventListener('click', () => {
    const i = Number(el.template.value) - TEMPLATES.length;
    const list = userTemplates();
    if (i >= 0 && i < list.length && confirm(`Delete the template “${list[i].name}”?`)) {
      list.splice(i, 1);
      localStorage.setItem(USER_TEMPLATES, JSON.stringify(list));
      fillTemplateList();
      applyTemplate();
    }
  });

  // The price: the oracle's median when published, else the cheapest online worker's.
  const setPrice = () => {
    const m = models.get(el.model.value);
    if (m) el.price.value = m.medianPrice ?? m.minPrice ?? '';
  };
  let estimateSeq = 0;
  async function estimate() {
    const m = models.get(el.model.value);
    if (!m) {
      el.estimate.textContent = 'No worker serves a model right now.';
      return;
    }
    const max = Number(el.maxTokens.value);
    let price;
    try {
      price = BigInt(el.price.value || '0');
    } catch {
      price = 0n;
    }
    const escrow = (BigInt(Math.max(0, max | 0)) * price) / 1000n;
    const seq = ++estimateSeq;
    let oracle = '';
    try {
      const e = await api(`/v1/prices/${encodeURIComponent(m.name)}?maxTokens=${max | 0}&promptTokens=${Math.ceil(el.prompt.value.length / 4)}`);
      if (seq !== estimateSeq) return;
      const est = e.estimate ?? e;
      if (est && est.noData !== true && est.total !== undefined) oracle = ` · the oracle expects about ${fmt(est.total)} at the market's prices`;
    } catch {
      /* no published prices: the worker's price stands */
    }
    el.estimate.innerHTML = '';
    const strong = document.createElement('strong');
    strong.textContent = fmt(escrow);
    strong.dataset.escrow = String(escrow);
    el.estimate.append('Escrow locked: ', strong, ` units (at most ${max | 0} tokens × ${fmt(price)} / 1k); ${m.workers} worker(s) online, lowest price ${m.minPrice ? fmt(m.minPrice) : '—'} / 1k${oracle}.`);
  }
  el.model.addEventListener('change', () => {
    setPrice();
    estimate();
  });
  for (const i of [el.maxTokens, el.price, el.prompt]) i.addEventListener('input', estimate);
  setPrice();
  estimate();

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fail(null);
    try {
      const job = readForm();
      el.go.disabled = true;
      await runJob(job);
    } catch (e) {
      fail(e.message);
    } finally {
      el.go.disabled = false;
    }
  });

  function readForm() {
    const m = models.get(el.model.value);
    if (!m) throw new Error('pick a model that a worker serves');
    const text = el.prompt.value;
    if (!text.trim()) throw new Error('the prompt is empty');
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > 65536) throw new Error(`the prompt is ${bytes.length} bytes; the limit is 65,536`);
    const max = Number(el.maxTokens.value);
    if (!Number.isInteger(max) || max < 1 || max > 4096) throw new Error('max tokens must be a whole number from 1 to 4,096');
    const t = Number(el.temp.value);
    if (!Number.isFinite(t) || t < 0 || t > 2) throw new Error('temperature must be between 0 and 2');
    if (!/^[1-9][0-9]{0,15}$/.test(el.price.value.trim())) throw new Error('the price ceiling must be a whole number of units, at least 1');
    const price = BigInt(el.price.value.trim());
    return { model: m, bytes, max, temperatureMilli: Math.round(t * 1000), price, escrow: (BigInt(max) * price) / 1000n };
  }
}

async function runJob(job) {
  const key = needKey();
  const panel = $('#submit-progress');
  const steps = $('#submit-steps');
  const tokens = $('#submit-tokens');
  const outcome = $('#submit-outcome');
  panel.classList.remove('hidden');
  steps.replaceChildren();
  tokens.textContent = '';
  outcome.classList.add('hidden');
  outcome.replaceChildren();
  const step = (text, state = 'doing') => {
    const li = document.createElement('li');
    li.dataset.state = state;
    li.textContent = `${state === 'done' ? '✓' : state === 'fail' ? '✗' : '…'} ${text}`;
    li.className = state === 'fail' ? 'text-rose-300' : state === 'done' ? 'text-emerald-300' : 'text-slate-300';
    steps.append(li);
    return li;
  };
  const done = (li, text) => {
    li.dataset.state = 'done';
    li.className = 'text-emerald-300';
    li.textContent = `✓ ${text}`;
  };
  try {
    const before = await wallet.balance();
    if (before < job.escrow) {
      throw new Error(`the escrow is ${fmt(job.escrow)} units and your balance is ${fmt(before)}${document.body.dataset.devnet === 'true' ? ': use the faucet in the wallet' : ''}`);
    }
    let li = step('uploading the prompt');
    const headers = await W.blobUploadHeaders(key.secret, key.identity, job.bytes);
    const put = await api('/v1/blobs', { method: 'PUT', headers, body: job.bytes });
    const promptHash = W.encodeHash(W.blake3Hash(job.bytes));
    if (put.hash !== promptHash) throw new Error(`the node stored the prompt as ${put.hash}, expected ${promptHash}`);
    done(li, `prompt stored (${job.bytes.length} bytes)`);
    li = step('signing and broadcasting');
    const call = await postJson('/v1/contracts/job-registry/encode', {
      procedure: 'submit',
      input: {
        model: job.model.id,
        promptHash,
        promptSize: job.bytes.length,
        maxOutputTokens: job.max,
        maxPricePer1k: String(job.price),
        timeoutTicks: 100,
        minReputation: 0,
        sampling: { seed: String(randomSeed()), temperatureMilli: job.temperatureMilli },
      },
    });
    const txId = await sendTransaction({
      destination: call.destination,
      amount: job.escrow,
      inputType: call.inputType,
      input: W.fromBase64(call.input),
    });
    done(li, `transaction ${short(txId)} broadcast`);
    li.innerHTML = '';
    li.append('✓ transaction ', link(`/tx/${txId}`, short(txId)), ' broadcast');
    li.dataset.tx = txId;
    li = step('waiting for its tick');
    const r = await receipt(txId);
    if (r.status !== 'executed') throw new Error(`the transaction ${r.status}: ${r.error ?? 'no reason given'}`);
    const jobId = String(r.output);
    done(li, '');
    li.textContent = '✓ job ';
    li.append(link(`/jobs/${jobId}`, `#${jobId}`), ' submitted');
    panel.dataset.job = jobId;
    li = step('waiting for a worker');
    await streamTokens(jobId, tokens, () => done(li, 'a worker is streaming'));
    li = step('settling');
    const j = await settle(jobId);
    const after = await wallet.balance();
    if (['Finalized', 'Resolved'].includes(j.status)) done(li, `job ${j.status.toLowerCase()}`);
    else {
      li.dataset.state = 'fail';
      li.className = 'text-rose-300';
      li.textContent = `✗ job ${j.status}${j.reason ? `: ${j.reason}` : ''}`;
    }
    const spent = before - after;
    const rows = [
      ['Status', j.status],
      ['Output tokens', j.outputTokens ?? '—'],
      ['Charged', fmt(BigInt(j.paid) + BigInt(j.fee))],
      ['Paid to the worker', fmt(j.paid)],
      ['Verification fee', fmt(j.fee)],
      ['Refunded', fmt(j.refunded)],
      ['Balance before', fmt(before)],
      ['Balance after', fmt(after)],
      ['Balance change', `−${fmt(spent)}`],
    ];
    for (const [k, v] of rows) {
      const dt = document.createElement('dt');
      dt.className = 'text-slate-500';
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.className = 'mb-1 tabular-nums text-white';
      dd.textContent = v;
      dd.dataset.field = k;
      outcome.append(dt, dd);
    }
    outcome.dataset.paid = String(j.paid);
    outcome.dataset.charged = String(BigInt(j.paid) + BigInt(j.fee));
    outcome.dataset.spent = String(spent);
    outcome.classList.remove('hidden');
    refreshWalletUi();
  } catch (e) {
    step(e.message, 'fail');
    throw e;
  }
}

function randomSeed() {
  const b = new Uint32Array(2);
  crypto.getRandomValues(b);
  return (BigInt(b[0]) << 32n) | BigInt(b[1]);
}

function link(href, text) {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = text;
  a.className = 'text-violet-300 underline';
  return a;
}

/** Follows a job's token stream into `pre` until the worker closes it or the job ends. */
function streamTokens(jobId, pre, onFirst, from = 0) {
  return new Promise((resolve) => {
    const es = new EventSource(`/v1/jobs/${jobId}/tokens/stream${from ? `?from=${from}` : ''}`);
    let first = true;
    const end = () => {
      es.close();
      resolve();
    };
    es.addEventListener('token', (m) => {
      const c = JSON.parse(m.data);
      if (first) {
        first = false;
        onFirst?.();
      }
      pre.textContent += c.text;
      pre.scrollTop = pre.scrollHeight;
    });
    es.addEventListener('done', end);
    es.addEventListener('end', end);
    es.addEventListener('error', (m) => {
      // A server-sent `error` message ends the stream; a dropped connection reconnects by
      // itself (EventSource sends Last-Event-ID).
      if (m.data) end();
    });
  });
}

async function settle(jobId, timeoutMs = 180000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const j = await api(`/v1/jobs/${jobId}`);
    if (j.closedAt !== null && j.closedAt !== undefined) return j;
    if (Date.now() > until) throw new Error(`job ${jobId} not settled after ${timeoutMs / 1000} s (status ${j.status})`);
    await sleep(500);
  }
}

// --- the job page ------------------------------------------------------------------------

function setupJobPage() {
  const pre = $('#tokens');
  if (!pre || pre.dataset.live !== 'true') return;
  const state = $('#tokens-state');
  streamTokens(pre.dataset.job, pre, null, Number(pre.dataset.from || 0)).then(() => {
    if (state) state.textContent = 'Stream complete.';
  });
}

// --- charts ------------------------------------------------------------------------------

function chart(el, series, data) {
  if (!window.uPlot || !el) return null;
  const width = () => Math.max(200, el.clientWidth);
  const opts = {
    width: width(),
    height: el.clientHeight || 160,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    axes: [
      { stroke: '#64748b', grid: { stroke: '#1e293b' }, ticks: { stroke: '#1e293b' }, values: (u, v) => v.map((x) => x) },
      { stroke: '#64748b', grid: { stroke: '#1e293b' }, ticks: { stroke: '#1e293b' }, size: 60 },
    ],
    scales: { x: { time: false } },
    series: [{ label: 'tick' }, ...series],
  };
  const u = new window.uPlot(opts, data, el);
  new ResizeObserver(() => u.setSize({ width: width(), height: el.clientHeight || 160 })).observe(el);
  return u;
}

async function setupHomeCharts() {
  const root = document.querySelector('[data-charts]');
  if (!root) return;
  await whenUplot();
  const line = (label, stroke) => ({ label, stroke, width: 2, points: { show: false } });
  let charts = null;
  const draw = async () => {
    let h;
    try {
      h = await api('/v1/stats/history?limit=300');
    } catch {
      return;
    }
    const s = h.samples;
    const x = s.map((p) => p.tick);
    const n = (k) => s.map((p) => Number(p[k]));
    const sets = [
      [x, n('open'), n('running'), n('settled')],
      [x, n('tokensServed')],
      [x, n('workersOnline'), n('escrowed')],
    ];
    if (!charts) {
      charts = [
        chart($('#chart-jobs'), [line('open', '#fbbf24'), line('running', '#38bdf8'), line('settled', '#34d399')], sets[0]),
        chart($('#chart-tokens'), [line('tokens', '#a78bfa')], sets[1]),
        chart($('#chart-workers'), [line('online', '#34d399'), { ...line('escrow', '#f472b6'), scale: 'y2' }], sets[2]),
      ];
    } else charts.forEach((c, i) => c?.setData(sets[i]));
  };
  await draw();
  setInterval(draw, 2000);
}

async function setupEarningsChart() {
  const el = $('#chart-earnings');
  if (!el) return;
  await whenUplot();
  const e = await api(`/v1/workers/${el.dataset.worker}/earnings`).catch(() => null);
  if (!e || e.jobs.length === 0) {
    el.classList.add('hidden');
    return;
  }
  const pts = e.jobs.filter((p) => p.closedAt !== null);
  chart(el, [{ label: 'earned', stroke: '#34d399', width: 2, fill: 'rgba(52,211,153,0.12)' }], [pts.map((p) => p.closedAt), pts.map((p) => Number(p.total))]);
}

function whenUplot() {
  return new Promise((resolve) => {
    const check = () => (window.uPlot ? resolve() : setTimeout(check, 30));
    check();
  });
}

// --- the network graph -------------------------------------------------------------------

function setupNetwork() {
  const canvas = $('#network');
  if (!canvas) return;
  const ctx = canvas.getContext('2d');
  let graph = null;
  const colour = {
    Finalized: '#34d399',
    Resolved: '#34d399',
    Running: '#38bdf8',
    Assigned: '#38bdf8',
    Completed: '#38bdf8',
    Checking: '#38bdf8',
    Open: '#fbbf24',
  };
  const draw = () => {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    canvas.width = w * dpr;
    canvas.height = h * dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!graph) return;
    const cx = w / 2;
    const cy = h / 2;
    const r = Math.min(w, h) / 2 - 30;
    const workers = graph.nodes.filter((n) => n.kind === 'worker');
    const reqs = graph.nodes.filter((n) => n.kind === 'requester');
    const pos = new Map();
    const ring = (list, radius) =>
      list.forEach((n, i) => {
        const a = (2 * Math.PI * i) / Math.max(1, list.length) - Math.PI / 2;
        pos.set(n.id + n.kind, [cx + radius * Math.cos(a), cy + radius * Math.sin(a)]);
      });
    ring(workers, workers.length === 1 ? 0 : r * 0.4);
    ring(reqs, r);
    ctx.lineWidth = 1.5;
    for (const e of [...graph.edges].reverse()) {
      const a = pos.get(e.requester + 'requester');
      const b = e.worker ? pos.get(e.worker + 'worker') : [cx, cy];
      if (!a || !b) continue;
      ctx.strokeStyle = colour[e.status] ?? '#f87171';
      ctx.globalAlpha = 0.55;
      ctx.beginPath();
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    for (const n of graph.nodes) {
      const p = pos.get(n.id + n.kind);
      const size = 5 + Math.min(12, Math.sqrt(n.jobs) * 2);
      ctx.fillStyle = n.kind === 'worker' ? (n.online ? '#34d399' : '#64748b') : '#a78bfa';
      ctx.beginPath();
      ctx.arc(p[0], p[1], size, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = '#94a3b8';
      ctx.font = '11px Inter Variable, sans-serif';
      ctx.fillText(short(n.id), p[0] + size + 3, p[1] + 4);
    }
    const s = $('#network-summary');
    if (s) s.textContent = `tick ${fmt(graph.tick)} · ${workers.length} workers · ${reqs.length} requesters · ${graph.edges.length} jobs`;
  };
  const load = async () => {
    try {
      graph = await api('/v1/network?jobs=200');
      canvas.dataset.nodes = String(graph.nodes.length);
      draw();
    } catch (e) {
      const s = $('#network-summary');
      if (s) s.textContent = `could not load the graph: ${e.message}`;
    }
  };
  new ResizeObserver(draw).observe(canvas);
  load();
  setInterval(load, 3000);
}

// --- start ------------------------------------------------------------------------------

setupWallet();
setupSubmit();
setupJobPage();
setupHomeCharts();
setupEarningsChart();
setupNetwork();
document.documentElement.dataset.app = 'ready';
