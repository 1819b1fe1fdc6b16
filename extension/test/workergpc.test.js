import test from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { WORKER_PROLOGUE, prologueOffset, workerDestination, createWorkerSignals } from '../lib/workergpc.js';

const enc = (s) => new TextEncoder().encode(s);
const dec = (chunks) => new TextDecoder().decode(Buffer.concat(chunks.map((c) => Buffer.from(c))));

test('prologueOffset: in front, after a UTF-8 BOM and after a "use strict" directive; never in UTF-16', () => {
  assert.equal(prologueOffset(enc('postMessage(1)')), 0);
  assert.equal(prologueOffset(new Uint8Array([0xef, 0xbb, 0xbf, ...enc('x()')])), 3);
  assert.equal(prologueOffset(enc('"use strict";x()')), 13);
  assert.equal(prologueOffset(enc("  'use strict'\nx()")), 14);
  assert.equal(prologueOffset(new Uint8Array([0xef, 0xbb, 0xbf, ...enc("'use strict';x")])), 16);
  assert.equal(prologueOffset(enc('"use strictly";')), 0);
  assert.equal(prologueOffset(new Uint8Array([0xff, 0xfe, 0x78, 0])), -1);
  assert.equal(prologueOffset(new Uint8Array([0xfe, 0xff, 0, 0x78])), -1);
  assert.equal(prologueOffset(new Uint8Array(0)), 0);
  // Without its semicolon the directive still ends where the prologue's own `;` begins.
  const src = `'use strict'\nvar strictCheck = (function () { return this === undefined; })();`;
  const at = prologueOffset(enc(src));
  assert.equal(runInWorker(src.slice(0, at) + WORKER_PROLOGUE + src.slice(at)).strict, true);
});

test('workerDestination: dedicated and shared workers only', () => {
  const h = (v) => [{ name: 'Accept', value: '*/*' }, { name: 'Sec-Fetch-Dest', value: v }];
  assert.equal(workerDestination(h('worker')), 'worker');
  assert.equal(workerDestination(h('sharedworker')), 'sharedworker');
  for (const v of ['script', 'serviceworker', 'document', '']) assert.equal(workerDestination(h(v)), null, v);
  assert.equal(workerDestination(undefined), null);
  assert.equal(workerDestination([{ name: 'sec-fetch-dest', value: 'worker' }]), 'worker');
});

/** Runs `source` as a worker would (a WorkerNavigator, the browser's value `native`), returns what the worker sees. */
function runInWorker(source, native) {
  const ctx = vm.createContext({});
  vm.runInContext(`class WorkerNavigator {}; ${native === undefined ? '' : `Object.defineProperty(WorkerNavigator.prototype, 'globalPrivacyControl', { configurable: true, get() { return ${native}; } });`}
    globalThis.navigator = new WorkerNavigator(); globalThis.postMessage = () => {};`, ctx);
  vm.runInContext(source, ctx);
  return vm.runInContext(`({ gpc: navigator.globalPrivacyControl, own: Object.keys(navigator).length, name: Object.getOwnPropertyDescriptor(WorkerNavigator.prototype, 'globalPrivacyControl').get.name, strict: typeof strictCheck === 'undefined' ? null : strictCheck })`, ctx);
}

test('WORKER_PROLOGUE: the worker sees navigator.globalPrivacyControl === true, on the prototype as a browser has it, on one line', () => {
  assert.ok(!WORKER_PROLOGUE.includes('\n'), 'one line: the script keeps its line numbers');
  const seen = runInWorker(WORKER_PROLOGUE);
  assert.equal(seen.gpc, true);
  assert.equal(seen.own, 0, 'not an own property of navigator');
  assert.equal(seen.name, 'get globalPrivacyControl');
  assert.equal(runInWorker(WORKER_PROLOGUE, true).gpc, true, "the browser's own getter stays");
  // Outside a worker (no WorkerNavigator) it does nothing and throws nothing.
  assert.doesNotThrow(() => vm.runInContext(WORKER_PROLOGUE, vm.createContext({})));
});

/** A fake StreamFilter that records what is written. */
function fakeFilter() {
  const f = { out: [], closed: false, write(c) { this.out.push(new Uint8Array(c)); }, close() { this.closed = true; } };
  return f;
}

function listener({ paused = [] } = {}) {
  const filters = new Map();
  const errors = [];
  const on = createWorkerSignals({
    filterResponseData: (id) => { const f = fakeFilter(); filters.set(id, f); return f; },
    isPaused: (url) => paused.some((o) => url.startsWith(o)),
    onError: (e) => errors.push(e),
  });
  return { on, filters, errors };
}

const workerRequest = (id, dest = 'worker', documentUrl = 'https://news.example/page') => ({
  requestId: id, type: 'script', url: 'https://news.example/w.js', documentUrl, requestHeaders: [{ name: 'Sec-Fetch-Dest', value: dest }],
});

test('createWorkerSignals: a worker script gets the prologue in front, the rest unchanged, in any number of chunks', () => {
  const { on, filters } = listener();
  on(workerRequest('1'));
  const f = filters.get('1');
  const body = '"use strict";\nvar strictCheck = (function () { return this === undefined; })();\npostMessage(1);';
  for (const part of [body.slice(0, 20), body.slice(20)]) f.ondata({ data: enc(part).buffer });
  f.onstop();
  assert.ok(f.closed);
  const out = dec(f.out);
  assert.equal(out, `"use strict";${WORKER_PROLOGUE}\nvar strictCheck = (function () { return this === undefined; })();\npostMessage(1);`);
  const seen = runInWorker(out);
  assert.equal(seen.gpc, true);
  assert.equal(seen.strict, true, 'the script is still strict');
});

test('createWorkerSignals: shared workers too; an empty script still gets it; page scripts, service workers and paused sites are left alone', () => {
  const { on, filters } = listener({ paused: ['https://paused.example'] });
  on(workerRequest('s', 'sharedworker'));
  filters.get('s').onstop();
  assert.equal(dec(filters.get('s').out), WORKER_PROLOGUE);
  on({ ...workerRequest('p'), requestHeaders: [{ name: 'Sec-Fetch-Dest', value: 'script' }] });
  on(workerRequest('sw', 'serviceworker'));
  on(workerRequest('z', 'worker', 'https://paused.example/'));
  assert.deepEqual([...filters.keys()], ['s'], 'no filter on anything else');
});

test('createWorkerSignals: a filter the browser refuses, or one that fails, is reported and the request goes on', () => {
  const errors = [];
  const on = createWorkerSignals({ filterResponseData: () => { throw new Error('no filter for this request'); }, isPaused: () => false, onError: (e) => errors.push(e) });
  assert.doesNotThrow(() => on(workerRequest('1')));
  assert.match(String(errors[0]), /no filter/);
  const l = listener();
  l.on(workerRequest('2'));
  const f = l.filters.get('2');
  f.error = 'Invalid request ID';
  f.onerror();
  assert.match(String(l.errors[0]), /Invalid request ID/);
});
