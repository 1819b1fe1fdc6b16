import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHostClient, HostError, checkHello, classifyTransportError } from '../lib/host.js';
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
