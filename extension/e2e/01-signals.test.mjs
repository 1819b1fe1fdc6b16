// Scenario 1: the extension sends DNT: 1, Sec-GPC: 1 and Sec-DNT-D: v=1 on the
// top-level document and on its subresources, third-party ones included,
// and the page sees navigator.globalPrivacyControl === true from getters that
// look native. Workers: in Firefox a dedicated or shared worker's navigator
// says it too (lib/workergpc.js); Chromium gives extensions no way to (README).

import assert from 'node:assert/strict';
import { scenario } from './lib/scenario.mjs';
import { header, startRecorder } from './lib/recorder.mjs';
import { httpGet, waitFor } from './lib/util.mjs';

function assertSignals(headers, where) {
  const get = (n) => (typeof headers.get === 'function' ? headers.get(n) : headers[n.toLowerCase()]);
  assert.equal(get('DNT'), '1', `${where}: DNT`);
  assert.equal(get('Sec-GPC'), '1', `${where}: Sec-GPC`);
  assert.equal(get('Sec-DNT-D'), 'v=1', `${where}: Sec-DNT-D (no agreement, so no digest)`);
}

/** Lower-cases the keys of a header map as the echo vendor returned it (values may be arrays). */
function normalise(h) {
  const out = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

scenario('signals on the document, on third-party subresources, and in navigator', async ({ browser, vendors, cleanup }) => {
  const third = await startRecorder(cleanup);

  // The document request itself: the echo vendor's /headers echoes what it got.
  const doc = await browser.open(vendors.url('echo', '/headers'));
  const echoed = JSON.parse(await doc.page.text());
  assertSignals(normalise(echoed.headers ?? echoed), 'echo /headers top-level document');

  // The echo page, which shows its own request headers and loads an image
  // from another origin (the plain vendor, which records it at /last-headers).
  const tab = await browser.open(vendors.url('echo', '/'));
  assert.equal(await tab.page.evaluate(() => navigator.globalPrivacyControl), true, 'navigator.globalPrivacyControl on the echo page');
  const table = await tab.page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#headers tr')]
    .map((tr) => [tr.cells[0].textContent.trim().toLowerCase(), tr.cells[1].textContent.trim()])));
  assertSignals(table, 'echo / document (as the page shows it)');
  const last = await waitFor(async () => {
    const r = JSON.parse((await httpGet(vendors.url('plain', '/last-headers'))).body);
    return r.path === '/pixel.gif?from=echo' && r;
  }, { what: "the echo page's cross-origin image to reach the plain vendor" });
  assertSignals(normalise(last.headers), 'echo page cross-origin image (plain vendor /pixel.gif)');

  // Subresources to a third party (another host): image, script-initiated fetch, iframe.
  await tab.page.evaluate((origin) => {
    const img = document.createElement('img');
    img.src = `${origin}/pixel.gif?kind=image`;
    document.body.append(img);
    fetch(`${origin}/fetch?kind=fetch`, { mode: 'no-cors' }).catch(() => {});
    const frame = document.createElement('iframe');
    frame.src = `${origin}/page.html?kind=iframe`;
    document.body.append(frame);
  }, third.origin);
  // Workers started by a third-party page (the recorder's own page, same origin as its scripts).
  const workerPage = await browser.open(`${third.origin}/page.html?kind=workers`);
  const workers = await workerPage.page.evaluate(() => Promise.all([
    new Promise((resolve, reject) => { const w = new Worker('/worker.js'); w.onmessage = (e) => resolve(e.data); w.onerror = () => reject(new Error('worker failed')); }),
    new Promise((resolve) => { const s = new SharedWorker('/shared-worker.js'); s.port.onmessage = (e) => resolve(e.data); s.port.start(); }),
  ]));
  for (const [i, kind] of ['dedicated', 'shared'].entries()) {
    assert.equal(workers[i].strict, true, `${kind} worker: its script still runs strict`);
    if (browser.kind === 'firefox') assert.equal(workers[i].gpc, true, `${kind} worker: navigator.globalPrivacyControl`);
    else assert.notEqual(workers[i].gpc, true, `${kind} worker: Chromium lets no extension set it (README.md, Workers): update README if this changes`);
  }
  for (const p of ['/worker.js', '/shared-worker.js']) assert.equal(header(third.find(p)[0], 'sec-gpc'), '1', `${p}: Sec-GPC`);

  for (const p of ['/pixel.gif?kind=image', '/fetch?kind=fetch', '/page.html?kind=iframe']) {
    const [req] = await waitFor(() => third.find(p).length && third.find(p), { what: `third-party request ${p}` });
    assertSignals(req.headers, `third-party ${p}`);
    assert.equal(header(req, 'cookie'), undefined, 'no cookie to the third party');
  }

  // A same-origin subresource, seen through the echo vendor.
  const sub = await tab.page.evaluate(async () => {
    const r = await fetch('/headers', { cache: 'no-store' });
    return r.json();
  });
  assertSignals(normalise(sub.headers ?? sub), 'same-origin fetch of /headers');

  // A different site as top-level document sees the signals and navigator too.
  const other = await browser.open(`${third.origin}/page.html?kind=top`);
  const [top] = third.find('/page.html?kind=top');
  assertSignals(top.headers, 'third-party host as top-level document');
  assert.equal(await other.page.evaluate(() => navigator.globalPrivacyControl), true, 'navigator.globalPrivacyControl on another site');

  // The getters look like the browser's own: name, length, and what
  // Function.prototype.toString prints, compared with a native getter's.
  const looks = await tab.page.evaluate(() => {
    const native = Object.getOwnPropertyDescriptor(Navigator.prototype, 'userAgent').get;
    const show = (f) => Function.prototype.toString.call(f);
    const out = { template: show(native), toString: show(Function.prototype.toString), viaMethod: {} };
    for (const name of ['globalPrivacyControl', 'doNotTrack']) {
      const get = Object.getOwnPropertyDescriptor(Navigator.prototype, name).get;
      out[name] = { text: show(get), name: get.name, length: get.length };
      out.viaMethod[name] = get.toString();
    }
    return out;
  });
  for (const name of ['globalPrivacyControl', 'doNotTrack']) {
    assert.deepEqual(looks[name], { text: looks.template.replace('userAgent', name), name: `get ${name}`, length: 0 }, `navigator.${name}'s getter looks native`);
    assert.equal(looks.viaMethod[name], looks[name].text);
  }
  assert.match(looks.toString, /^function toString\(\) \{\s*\[native code\]\s*\}$/, 'Function.prototype.toString looks native');
});
