// The compliance watch (PROTOCOL.md 12.1): lib/compliance.js, and the page
// side content/compliance.js run in a node:vm context with the page's APIs
// (performance, PerformanceObserver, storage, runtime) injected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import {
  complianceRegistration, complianceParams, pagePath, partitionedUnder, cookieOrigins, COMPLIANCE_SCRIPT_ID, COMPLIANCE_MESSAGE, MAX_REPORT_ORIGINS,
} from '../lib/compliance.js';
import { STORAGE } from '../lib/constants.js';
import { D } from './fixtures.js';

const SHOP = 'http://127.0.0.1:8441';
const NEWS = 'https://news.example';

test('registration: agreed, unpaused origins only; ports in Chromium patterns, host patterns in Firefox', () => {
  assert.equal(complianceRegistration([]), null);
  assert.equal(complianceRegistration([SHOP], { paused: [SHOP] }), null);
  const chromium = complianceRegistration([NEWS, SHOP, SHOP]);
  assert.deepEqual(chromium, {
    id: COMPLIANCE_SCRIPT_ID, js: ['content/compliance.js'], matches: ['http://127.0.0.1:8441/*', 'https://news.example/*'],
    runAt: 'document_idle', allFrames: false, world: 'ISOLATED', persistAcrossSessions: true,
  });
  const firefox = complianceRegistration([SHOP, 'http://127.0.0.1:8443', NEWS], { portsInPatterns: false, paused: [NEWS] });
  assert.deepEqual(firefox.matches, ['http://127.0.0.1/*']);
  for (const js of chromium.js) assert.ok(fs.existsSync(fileURLToPath(new URL(`../${js}`, import.meta.url))), `${js} exists`);
});

test('pagePath: the path only, printable ASCII, bounded', () => {
  assert.equal(pagePath('https://shop.example/gifts?id=42#top'), '/gifts');
  assert.equal(pagePath('https://shop.example'), '/');
  assert.equal(pagePath('https://shop.example/caf%C3%A9'), '/caf%C3%A9');
  assert.equal(pagePath(`https://shop.example/${'a'.repeat(500)}`).length, 200);
  assert.equal(pagePath('not a url'), null);
});

test('params: only top-level pages of agreed, unpaused sites; origins without paths; Tk of that very document', () => {
  const agreed = { [SHOP]: D(2) };
  const tab = { id: 7 };
  const sender = { url: `${SHOP}/gifts?x=1`, frameId: 0, tab };
  const msg = { type: COMPLIANCE_MESSAGE, origins: ['http://localhost:8444', 'http://localhost:8444', `${SHOP}`, 'https://a.example/pixel.gif', 'javascript:alert(1)', 42] };
  assert.deepEqual(complianceParams({ msg, sender, agreed }), { site: SHOP, page: '/gifts', origins: ['http://localhost:8444', 'https://a.example'] });

  const answer = { origin: SHOP, url: `${SHOP}/gifts?x=1`, tk: 'N', agreed: D(2) };
  assert.deepEqual(complianceParams({ msg: { ...msg, origins: [] }, sender, agreed, answer }),
    { site: SHOP, page: '/gifts', origins: [], tk: 'N', agreed: D(2) });
  // Nothing to find: no other origin and Tk C, or Tk not seen.
  assert.equal(complianceParams({ msg: { ...msg, origins: [SHOP] }, sender, agreed, answer: { ...answer, tk: 'C' } }), null);
  assert.equal(complianceParams({ msg: { ...msg, origins: [] }, sender, agreed }), null);
  // A Tk answer for another page of the site (history navigation, pushState) is not claimed.
  assert.equal(complianceParams({ msg, sender, agreed, answer: { ...answer, url: `${SHOP}/` } }).tk, undefined);
  // No Tk header at all: reported as "".
  assert.equal(complianceParams({ msg, sender, agreed, answer: { ...answer, tk: null } }).tk, '');

  assert.equal(complianceParams({ msg, sender: { ...sender, frameId: 3 }, agreed }), null, 'a frame');
  assert.equal(complianceParams({ msg, sender: { ...sender, tab: undefined }, agreed }), null, 'not a tab');
  assert.equal(complianceParams({ msg, sender: { ...sender, url: `${NEWS}/` }, agreed }), null, 'not agreed');
  assert.equal(complianceParams({ msg, sender: { ...sender, url: 'http://127.0.0.1:8443/' }, agreed }), null, 'another port of an agreed host');
  assert.equal(complianceParams({ msg, sender, agreed, paused: [SHOP] }), null, 'paused');
  assert.equal(complianceParams({ msg: { ...msg, type: 'other' }, sender, agreed }), null);

  const many = Array.from({ length: 100 }, (_, i) => `https://t${i}.example`);
  assert.equal(complianceParams({ msg: { ...msg, origins: many }, sender, agreed }).origins.length, MAX_REPORT_ORIGINS);
});

/**
 * Runs content/compliance.js in a fresh context: a page at `url` whose
 * resource entries are `entries` (more can be added), with `relationships`
 * in storage.local. Returns the messages sent and hooks to drive the page.
 */
function runPage({ url = `${SHOP}/gifts`, entries = [], relationships = { [SHOP]: { state: 'agreed' } }, readyState = 'complete' } = {}) {
  const code = fs.readFileSync(fileURLToPath(new URL('../content/compliance.js', import.meta.url)), 'utf8');
  const sent = [];
  const timers = [];
  const listeners = {};
  let observer = null;
  const list = entries.map((name) => ({ name }));
  const page = new URL(url);
  const win = {
    location: { origin: page.origin, href: url },
    performance: { getEntriesByType: (t) => (t === 'resource' ? [...list] : []) },
    PerformanceObserver: class {
      constructor(cb) { observer = cb; }
      observe() {}
    },
    document: {
      readyState,
      visibilityState: 'visible',
      addEventListener: (type, f) => { (listeners[`doc:${type}`] ??= []).push(f); },
    },
    addEventListener: (type, f) => { (listeners[type] ??= []).push(f); },
    setTimeout: (f) => { timers.push(f); return timers.length; },
    chrome: {
      runtime: { sendMessage: async (m) => { sent.push(JSON.parse(JSON.stringify(m))); } }, // a copy, as the browser makes
      storage: { local: { get: async (key) => ({ [key]: relationships }) } },
    },
    URL,
    Promise,
  };
  win.window = win;
  win.top = win;
  win.globalThis = win;
  vm.runInNewContext(code, win);
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    sent,
    load: async () => { for (const f of listeners.load ?? []) f(); while (timers.length) timers.shift()(); await settle(); },
    more: (name) => { list.push({ name }); observer?.({ getEntries: () => [{ name }] }); },
    hide: async () => { win.document.visibilityState = 'hidden'; for (const f of listeners['doc:visibilitychange'] ?? []) f(); await settle(); },
    pagehide: async () => { for (const f of listeners.pagehide ?? []) f(); await settle(); },
    win,
  };
}

test('page: one report after load, with the origins of its resources (not its own), never a URL', async () => {
  const p = runPage({ entries: [`${SHOP}/style.css`, 'http://localhost:8444/pixel.gif?from=shop-gifts', 'https://cdn.example/a.js?u=1', 'data:image/png;base64,AAAA'] });
  await p.load();
  assert.deepEqual(p.sent, [{ type: COMPLIANCE_MESSAGE, origins: ['http://localhost:8444', 'https://cdn.example'] }]);
  // Hidden with nothing new: no second message (the worker is not woken again).
  await p.hide();
  await p.pagehide();
  assert.equal(p.sent.length, 1);
});

test('page: a resource loaded later is flushed at pagehide, once', async () => {
  const p = runPage({ readyState: 'loading', entries: [] });
  await p.load();
  assert.deepEqual(p.sent, [{ type: COMPLIANCE_MESSAGE, origins: [] }], 'one report per page, for the Tk check');
  p.more('https://late.example/lazy.png');
  await p.pagehide();
  await p.hide();
  assert.deepEqual(p.sent.at(-1), { type: COMPLIANCE_MESSAGE, origins: ['https://late.example'] });
  assert.equal(p.sent.length, 2);
});

test('page: another port of an agreed host (Firefox patterns) reports nothing', async () => {
  const p = runPage({ url: 'http://127.0.0.1:8443/', entries: ['http://localhost:8444/x.gif'] });
  await p.load();
  assert.deepEqual(p.sent, []);
});

test('page: constants stated in the content script equal the extension\'s', () => {
  const code = fs.readFileSync(fileURLToPath(new URL('../content/compliance.js', import.meta.url)), 'utf8');
  assert.match(code, new RegExp(`RELATIONSHIPS_KEY = '${STORAGE.RELATIONSHIPS}'`));
  assert.match(code, new RegExp(`MESSAGE = '${COMPLIANCE_MESSAGE.replace('.', '\\.')}'`));
  assert.match(code, new RegExp(`MAX_ORIGINS = ${MAX_REPORT_ORIGINS};`));
});

test('cookies: only third parties keeping a cookie in the site\'s partition count', async () => {
  const part = (top) => ({ name: 'id', domain: 'localhost', partitionKey: { topLevelSite: top } });
  assert.equal(partitionedUnder(part('http://127.0.0.1'), SHOP), true);
  assert.equal(partitionedUnder(part('https://example.com'), 'https://www.example.com'), true, 'the site is under its registrable domain');
  assert.equal(partitionedUnder(part('https://other.example'), 'https://www.example.com'), false);
  assert.equal(partitionedUnder({ name: 'id', domain: 'localhost' }, SHOP), false, 'unpartitioned: could come from anywhere');
  assert.equal(partitionedUnder(part(''), SHOP), false);

  const asked = [];
  const jar = {
    localhost: [part('http://127.0.0.1')],
    'a.example': [{ name: 'x', domain: 'a.example' }],
  };
  const getAll = async (d) => { asked.push(d); if (d.domain === 'broken.example') throw new Error('no'); return jar[d.domain] ?? []; };
  assert.deepEqual(await cookieOrigins(SHOP, ['http://localhost:8444', 'https://a.example', 'https://broken.example'], getAll), ['http://localhost:8444']);
  assert.deepEqual(asked[0], { domain: 'localhost', partitionKey: {} });
  assert.deepEqual(await cookieOrigins(SHOP, ['http://localhost:8444'], null), [], 'no cookies API: nothing claimed');
});
