// Client for the r-button native messaging host (`rbutton`, host name
// org.rbutton.host; envelope in PROTOCOL.md 20).
//
// One runtime.sendNativeMessage per request, not a connectNative port: the
// browser spawns the host for the call and it exits after replying, so
// nothing keeps the service worker awake, a sleeping worker loses nothing,
// and a crashed or missing host only fails the call in flight — the next
// call spawns a fresh one. The price is a process start per call, which is
// small next to the network round trips negotiate makes, and calls are rare
// (one per top-level document of a site with new terms, plus popup use).
//
// Each request carries a fresh id that the reply must echo. Calls time out;
// transport failures (host exited, communication error) are retried with
// exponential backoff for idempotent calls only; a host that is not
// installed fails at once with kind "unavailable". hello() checks the
// protocol version and capabilities and reports an old host as "outdated".
// The send function is injected so this module is pure and unit-tested.

import {
  HOST_NAME, HOST_PROTOCOL, HOST_REQUIRED_CAPABILITIES, HOST_TIMEOUT_MS, HOST_TIMEOUT_NETWORK_MS,
  HOST_NETWORK_TYPES, HOST_RETRIES, HOST_SITE_RETRIES, HOST_BACKOFF_MS, HOST_IDEMPOTENT_TYPES,
} from './constants.js';

/**
 * kind: 'unavailable' (not installed / not allowed), 'outdated' (old protocol or
 * missing capability), 'transport' (crashed, bad reply), 'timeout',
 * 'remote' (the host answered ok:false; code is its error code).
 */
export class HostError extends Error {
  constructor(kind, message, { code = null, type = null, cause } = {}) {
    super(message, cause ? { cause } : undefined);
    this.name = 'HostError';
    this.kind = kind;
    this.code = code;
    this.type = type;
  }
}

/** Classifies a sendNativeMessage rejection or runtime.lastError message. */
export function classifyTransportError(message) {
  const m = String(message ?? '').toLowerCase();
  if (
    m.includes('not found') || m.includes('no such native application') || m.includes('forbidden')
    || m.includes('not allowed') || m.includes('permission') || m.includes('invalid native messaging host name')
  ) return 'unavailable';
  return 'transport';
}

const defaultSleep = (ms) => new Promise((r) => setTimeout(r, ms));

let counter = 0;
function defaultId() {
  counter = (counter + 1) % 1e9;
  const rand = globalThis.crypto?.randomUUID ? globalThis.crypto.randomUUID() : String(Math.random()).slice(2);
  return `${rand}-${counter}`;
}

/**
 * @param {object} opts
 * @param {(host:string, message:object) => Promise<any>} opts.send  runtime.sendNativeMessage
 * @param {(ms:number) => Promise<void>} [opts.sleep]
 * @param {() => string} [opts.newId]
 * @param {number} [opts.timeoutMs] @param {number} [opts.networkTimeoutMs]
 * @param {number} [opts.retries] @param {number} [opts.backoffMs]
 */
export function createHostClient({
  send, sleep = defaultSleep, newId = defaultId, timeoutMs = HOST_TIMEOUT_MS,
  networkTimeoutMs = HOST_TIMEOUT_NETWORK_MS, retries = HOST_RETRIES, backoffMs = HOST_BACKOFF_MS,
  setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (t) => clearTimeout(t),
}) {
  async function once(type, params) {
    const id = newId();
    const limit = HOST_NETWORK_TYPES.includes(type) ? networkTimeoutMs : timeoutMs;
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimer(() => reject(new HostError('timeout', `the helper did not answer ${type} within ${limit} ms`, { type })), limit);
    });
    let reply;
    try {
      reply = await Promise.race([
        Promise.resolve().then(() => send(HOST_NAME, { id, type, params: params ?? {} })).catch((err) => {
          const msg = err?.message ?? String(err);
          throw new HostError(classifyTransportError(msg), msg, { type, cause: err });
        }),
        timeout,
      ]);
    } finally {
      clearTimer(timer);
    }
    if (reply === undefined || reply === null || typeof reply !== 'object') {
      throw new HostError('transport', `the helper sent no reply to ${type}`, { type });
    }
    if (reply.id !== id) throw new HostError('transport', `the helper answered another request (id ${JSON.stringify(reply.id)})`, { type });
    if (reply.ok === true) return reply.result ?? null;
    if (reply.ok === false && reply.error && typeof reply.error.code === 'string') {
      const kind = reply.error.code === 'unknown_type' ? 'outdated' : 'remote';
      throw new HostError(kind, reply.error.message || reply.error.code, { code: reply.error.code, type });
    }
    throw new HostError('transport', `the helper sent a malformed reply to ${type}`, { type });
  }

  /**
   * One request; retries transport failures of idempotent calls with
   * backoff, a call that reaches sites at most once (PROTOCOL.md 10.8).
   */
  async function call(type, params) {
    const retryable = HOST_IDEMPOTENT_TYPES.includes(type);
    const limit = HOST_NETWORK_TYPES.includes(type) ? Math.min(retries, HOST_SITE_RETRIES) : retries;
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(type, params);
      } catch (err) {
        if (!(err instanceof HostError) || err.kind !== 'transport' || !retryable || attempt >= limit) throw err;
        await sleep(backoffMs * 2 ** attempt);
      }
    }
  }

  /** hello, checked: resolves {version, protocol, capabilities}; throws 'outdated'. */
  async function hello() {
    const h = await call('hello', {});
    checkHello(h);
    return h;
  }

  return { call, hello };
}

/** Throws HostError('outdated') unless the hello result speaks our protocol. */
export function checkHello(h) {
  if (!h || typeof h !== 'object' || h.protocol !== HOST_PROTOCOL) {
    throw new HostError('outdated', `the helper speaks protocol ${h?.protocol ?? 'unknown'}; this extension needs ${HOST_PROTOCOL}`, { type: 'hello' });
  }
  const caps = Array.isArray(h.capabilities) ? h.capabilities : [];
  const missing = HOST_REQUIRED_CAPABILITIES.filter((c) => !caps.includes(c));
  if (missing.length) {
    throw new HostError('outdated', `the helper (version ${h.version ?? '?'}) lacks ${missing.join(', ')}`, { type: 'hello' });
  }
}
