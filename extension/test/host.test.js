import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHostClient, createPortSender, HostError, checkHello, classifyTransportError } from '../lib/host.js';
import { HOST_NAME, HOST_REQUIRED_CAPABILITIES } from '../lib/constants.js';

// A fake runtime.sendNativeMessage: the unit boundary. Each entry of `script`
// handles one call: a function(message) returning the reply or throwing.
function fakeSend(script) {
  const calls = [];
  const send = async (host, message) => {
    calls.push({ host, message });
    const step = script[Math.min(calls.length - 1, script.length - 1)];
    return step(message);
  };
  return { send, calls };
}
const ok = (result) => (m) => ({ id: m.id, ok: true, result });
const sleeps = [];
const sleep = async (ms) => { sleeps.push(ms); };

test('request envelope and reply', async () => {
  const { send, calls } = fakeSend([ok({ state: 'agreed' })]);
  const c = createHostClient({ send, sleep });
  assert.deepEqual(await c.call('relationship.get', { site: 'http://127.0.0.1:8441' }), { state: 'agreed' });
  assert.equal(calls[0].host, HOST_NAME);
  assert.deepEqual(Object.keys(calls[0].message), ['id', 'type', 'params']);
  assert.equal(calls[0].message.type, 'relationship.get');
  assert.deepEqual(calls[0].message.params, { site: 'http://127.0.0.1:8441' });
  assert.equal(typeof calls[0].message.id, 'string');
});

test('ids are fresh per request and the reply must echo it', async () => {
  const { send, calls } = fakeSend([ok(1), ok(2)]);
  const c = createHostClient({ send, sleep });
  await c.call('hello');
  await c.call('hello');
  assert.notEqual(calls[0].message.id, calls[1].message.id);
  const wrong = createHostClient({ send: async () => ({ id: 'other', ok: true, result: 1 }), sleep, retries: 0 });
  await assert.rejects(wrong.call('terms.get'), (e) => e instanceof HostError && e.kind === 'transport' && /another request/.test(e.message));
});

test('host error replies become remote HostErrors, not retried', async () => {
  const { send, calls } = fakeSend([(m) => ({ id: m.id, ok: false, error: { code: 'invalid_site', message: 'site is not an origin' } })]);
  const c = createHostClient({ send, sleep });
  await assert.rejects(c.call('relationship.get', { site: 'x' }), (e) => e.kind === 'remote' && e.code === 'invalid_site' && e.message === 'site is not an origin');
  assert.equal(calls.length, 1);
  const old = createHostClient({ send: async (h, m) => ({ id: m.id, ok: false, error: { code: 'unknown_type', message: 'unknown type data.fetch' } }), sleep });
  await assert.rejects(old.call('data.fetch', {}), (e) => e.kind === 'outdated');
});

test('missing host fails at once as unavailable', async () => {
  for (const msg of ['Specified native messaging host not found.', 'No such native application org.rbutton.host', 'Access to the specified native messaging host is forbidden.']) {
    const { send, calls } = fakeSend([() => { throw new Error(msg); }]);
    const c = createHostClient({ send, sleep });
    await assert.rejects(c.call('hello'), (e) => e instanceof HostError && e.kind === 'unavailable');
    assert.equal(calls.length, 1, msg);
  }
});

test('a crashed host is retried with exponential backoff (idempotent calls only)', async () => {
  sleeps.length = 0;
  const crash = () => { throw new Error('Native host has exited.'); };
  const { send, calls } = fakeSend([crash, crash, ok({ fine: true })]);
  const c = createHostClient({ send, sleep, retries: 2, backoffMs: 100 });
  assert.deepEqual(await c.call('relationship.list'), { fine: true });
  assert.equal(calls.length, 3);
  assert.deepEqual(sleeps, [100, 200]);
  // Out of retries: the last error surfaces.
  const always = fakeSend([crash]);
  await assert.rejects(createHostClient({ send: always.send, sleep, retries: 2 }).call('terms.get'), (e) => e.kind === 'transport');
  assert.equal(always.calls.length, 3);
  // A call that reaches sites is repeated at most once (PROTOCOL.md 10.8):
  // a crashing host cannot make three negotiations with one site.
  for (const type of ['negotiate', 'terms.set', 'site.check']) {
    const twice = fakeSend([crash]);
    await assert.rejects(createHostClient({ send: twice.send, sleep, retries: 2 }).call(type, {}), (e) => e.kind === 'transport');
    assert.equal(twice.calls.length, 2, `${type} attempts`);
  }
  const second = fakeSend([crash, ok({ state: 'agreed' })]);
  assert.deepEqual(await createHostClient({ send: second.send, sleep }).call('negotiate', {}), { state: 'agreed' });
  assert.equal(second.calls.length, 2);
  // relationship.end is not idempotent: never repeated.
  const end = fakeSend([crash, ok({})]);
  await assert.rejects(createHostClient({ send: end.send, sleep }).call('relationship.end', { site: 'x' }), (e) => e.kind === 'transport');
  assert.equal(end.calls.length, 1);
});

test('a malformed reply is a transport error', async () => {
  for (const reply of [undefined, null, 'text', { ok: 'yes' }]) {
    const c = createHostClient({ send: async (h, m) => (reply && typeof reply === 'object' ? { id: m.id, ...reply } : reply), sleep, retries: 0 });
    await assert.rejects(c.call('hello'), (e) => e.kind === 'transport', JSON.stringify(reply));
  }
});

test('timeouts: a hung host fails the call; network calls get the longer limit', async () => {
  const limits = [];
  let fire;
  const setTimer = (f, ms) => { limits.push(ms); fire = f; return 1; };
  const hung = () => new Promise(() => {});
  const c = createHostClient({ send: hung, sleep, timeoutMs: 1000, networkTimeoutMs: 9000, setTimer, clearTimer: () => {}, retries: 0 });
  const p = c.call('relationship.get', { site: 'x' });
  fire();
  await assert.rejects(p, (e) => e.kind === 'timeout' && /1000 ms/.test(e.message));
  const q = c.call('negotiate', { site: 'x', advertisement: 'v=1' });
  fire();
  await assert.rejects(q, (e) => e.kind === 'timeout');
  assert.deepEqual(limits, [1000, 9000]);
});

test('after a failure the next call spawns the host again', async () => {
  const { send, calls } = fakeSend([() => { throw new Error('Specified native messaging host not found.'); }, ok({ version: '0.1.0', protocol: 1, capabilities: HOST_REQUIRED_CAPABILITIES })]);
  const c = createHostClient({ send, sleep });
  await assert.rejects(c.hello(), (e) => e.kind === 'unavailable');
  assert.equal((await c.hello()).version, '0.1.0');
  assert.equal(calls.length, 2);
});

test('hello: old protocol or missing capabilities means outdated', () => {
  assert.doesNotThrow(() => checkHello({ version: '0.1.0', protocol: 1, capabilities: [...HOST_REQUIRED_CAPABILITIES, 'export'] }));
  assert.throws(() => checkHello({ version: '0.0.1', protocol: 0, capabilities: HOST_REQUIRED_CAPABILITIES }), (e) => e.kind === 'outdated');
  assert.throws(() => checkHello({ version: '0.1.0', protocol: 1, capabilities: ['hello'] }), (e) => e.kind === 'outdated' && /negotiate/.test(e.message));
  assert.throws(() => checkHello(null), (e) => e.kind === 'outdated');
});

test('classifying transport errors', () => {
  assert.equal(classifyTransportError('Specified native messaging host not found.'), 'unavailable');
  assert.equal(classifyTransportError('Native host has exited.'), 'transport');
  assert.equal(classifyTransportError('Error when communicating with the native messaging host.'), 'transport');
  assert.equal(classifyTransportError(undefined), 'transport');
});

// A fake runtime.connectNative: each connect() makes a port whose posted
// messages the test answers (or not) by hand, as the host would.
function fakePorts() {
  const ports = [];
  const connect = (name) => {
    const on = (list) => ({ addListener: (f) => list.push(f) });
    const msgL = []; const discL = [];
    const port = {
      name, posted: [], disconnected: false,
      onMessage: on(msgL), onDisconnect: on(discL),
      postMessage(m) { if (port.disconnected) throw new Error('Attempting to use a disconnected port object'); port.posted.push(m); },
      disconnect() { port.disconnected = true; },
      reply(m) { for (const f of msgL) f(m); },
      exit(error) { port.disconnected = true; for (const f of discL) f(error ? { error: { message: error } } : port); },
    };
    ports.push(port);
    return port;
  };
  return { ports, connect };
}
function manualTimers() {
  const timers = new Map(); let n = 0;
  return {
    setTimer: (f, ms) => { timers.set(++n, { f, ms }); return n; },
    clearTimer: (t) => { timers.delete(t); },
    pending: () => [...timers.values()],
    fire: (ms) => { for (const [k, t] of [...timers]) if (t.ms === ms) { timers.delete(k); t.f(); } },
  };
}
const tick = () => new Promise((r) => setImmediate(r));

/**
 * A host client over createPortSender with fake ports and hand-fired timers.
 * sender: createPortSender's options; client: createHostClient's.
 */
function portClient({ sender = {}, client = {} } = {}) {
  const { ports, connect } = fakePorts();
  const t = manualTimers();
  const send = createPortSender({ connect, ...t, ...sender });
  const c = createHostClient({ send, sleep, retries: 0, ...t, ...client });
  // The host's answer to the first request on port i.
  const answer = (i, result) => ports[i].reply({ id: ports[i].posted[0].id, ok: true, result });
  // The next call goes to a fresh host (a port of its own) that answers it.
  const freshHostAnswers = async (type) => {
    const p = c.call(type, {});
    await tick();
    const i = ports.length - 1;
    assert.equal(ports[i].posted.length, 1, `${type} went to a new port`);
    answer(i, `fresh ${type}`);
    assert.equal(await p, `fresh ${type}`);
    return i;
  };
  return { ports, t, send, c, answer, freshHostAnswers };
}

test('port: one host process answers many calls, replies matched by id in any order', async () => {
  const { ports, c } = portClient({ sender: { idleMs: 20_000 } });
  const a = c.call('negotiate', { site: 'x', advertisement: 'v=1' });
  const b = c.call('changes', { since: 1 });
  await tick();
  assert.equal(ports.length, 1);
  assert.equal(ports[0].name, HOST_NAME);
  const [ma, mb] = ports[0].posted;
  ports[0].reply({ id: mb.id, ok: true, result: 'changes' });
  ports[0].reply({ id: ma.id, ok: true, result: 'negotiated' });
  assert.equal(await b, 'changes');
  assert.equal(await a, 'negotiated');
  assert.equal(ports.length, 1, 'no second host for the second call');
});

test('port: closes after the idle time, and the next call opens a new one', async () => {
  const { ports, t, c, answer, freshHostAnswers } = portClient({ sender: { idleMs: 20_000 } });
  const p = c.call('changes', {});
  await tick();
  assert.equal(t.pending().filter((x) => x.ms === 20_000).length, 0, 'no idle timer while a request waits');
  answer(0, 1);
  await p;
  t.fire(20_000);
  assert.equal(ports[0].disconnected, true, 'the host sees its input end and exits');
  assert.equal(await freshHostAnswers('changes'), 1);
});

test('port: a host that exits fails the calls waiting on it (transport), the next call starts a fresh host', async () => {
  const { ports, c, freshHostAnswers } = portClient({ sender: { lastError: () => ({ message: 'Native host has exited.' }) } });
  const p = c.call('site.view', { site: 'x' });
  await tick();
  ports[0].exit();
  await assert.rejects(p, (e) => e.kind === 'transport' && /exited/.test(e.message));
  assert.equal(await freshHostAnswers('site.view'), 1);
});

test('port: a host that is not installed is unavailable (Firefox names it on the port, Chromium in lastError)', async () => {
  for (const how of ['port', 'lastError']) {
    const missing = 'Specified native messaging host not found.';
    const { ports, c } = portClient({ sender: { lastError: () => (how === 'lastError' ? { message: missing } : undefined) } });
    const p = c.call('hello', {});
    await tick();
    ports[0].exit(how === 'port' ? missing : undefined);
    await assert.rejects(p, (e) => e.kind === 'unavailable', how);
  }
});

test('port: a stuck host is restarted when a local call times out; not while a site call on it may still be working', async () => {
  const { ports, t, c, freshHostAnswers } = portClient({ client: { timeoutMs: 1000, networkTimeoutMs: 9000 } });
  const slow = c.call('negotiate', { site: 'x', advertisement: 'v=1' });
  await tick();
  t.fire(9000);
  await assert.rejects(slow, (e) => e.kind === 'timeout');
  assert.equal(ports[0].disconnected, false, 'a site may be slow; the host is not stuck');

  // A withdrawal (terms.set ends agreements with sites) is under way: a
  // local call stuck behind it times out, and the port stays for it.
  const withdrawing = c.call('terms.set', { terms: {} });
  const behind = c.call('changes', { since: 1 });
  await tick();
  t.fire(1000);
  await assert.rejects(behind, (e) => e.kind === 'timeout');
  assert.equal(ports[0].disconnected, false, 'terms.set is not cut off half done');
  const setMsg = ports[0].posted.find((m) => m.type === 'terms.set');
  ports[0].reply({ id: setMsg.id, ok: true, result: { withdrawn: [{ site: 'x', ended: true }] } });
  assert.deepEqual((await withdrawing).withdrawn, [{ site: 'x', ended: true }]);

  // Nothing else on the port: a local call that takes seconds means the host is stuck.
  const stuck = c.call('terms.get', {});
  await tick();
  t.fire(1000);
  await assert.rejects(stuck, (e) => e.kind === 'timeout');
  assert.equal(ports[0].disconnected, true, 'a stuck host is let go');
  assert.equal(await freshHostAnswers('terms.get'), 1);
});

test('port: reset starts a fresh host for the next call (after rbutton install replaced it)', async () => {
  const { ports, t, c, answer, freshHostAnswers } = portClient();
  const first = c.call('hello', {});
  await tick();
  answer(0, 'old');
  assert.equal(await first, 'old');
  c.reset();
  assert.equal(ports[0].disconnected, true);
  assert.equal(t.pending().length, 0, 'no idle timer left behind');
  assert.equal(await freshHostAnswers('hello'), 1);
});

test('port: a message the port refuses fails the calls on it and lets the port go', async () => {
  const { ports, c } = portClient();
  const waiting = c.call('negotiate', { site: 'x', advertisement: 'v=1' });
  await tick();
  ports[0].postMessage = () => { throw new Error('Message length exceeded maximum allowed length.'); };
  await assert.rejects(c.call('changes', {}), (e) => e.kind === 'transport' && /exceeded/.test(e.message));
  await assert.rejects(waiting, (e) => e.kind === 'transport');
  assert.equal(ports[0].disconnected, true, 'the refused port does not keep the host (and the worker) alive');
});

test('port: a late reply to a request that timed out is dropped; a port that broke before its disconnect event fails the call', async () => {
  const { ports, t, c, answer, freshHostAnswers } = portClient({ client: { networkTimeoutMs: 9000 } });
  const slow = c.call('negotiate', { site: 'x', advertisement: 'v=1' });
  await tick();
  t.fire(9000);
  await assert.rejects(slow, (e) => e.kind === 'timeout');
  answer(0, 'late'); // nobody waits: no throw
  ports[0].disconnected = true; // gone, onDisconnect not yet run
  await assert.rejects(c.call('changes', {}), (e) => e.kind === 'transport' && /disconnected port/.test(e.message));
  assert.equal(await freshHostAnswers('changes'), 1);
});
