// Client for the r-button native messaging host (`rbutton`, host name
// org.rbutton.host; envelope in PROTOCOL.md 20).
//
// Requests go over one runtime.connectNative port (createPortSender), opened
// at the first call and closed again HOST_PORT_IDLE_MS after the last reply.
// While the user browses, one host process answers every call (the change
// check at each navigation to an agreed site, the compliance report of each
// of its pages) instead of a process start per call competing with the page
// for the CPU; when the browser is idle the port closes, the host exits and
// nothing keeps the service worker awake. The host answers local calls in
// order and site-contacting ones concurrently, each reply echoing its
// request's id (PROTOCOL.md 20), so one port carries any mix of calls. A
// host that exits or crashes fails the calls in flight on its port only;
// the next call starts a fresh one.
//
// Each request carries a fresh id that the reply must echo. Calls time out;
// transport failures (host exited, communication error) are retried with
// exponential backoff for idempotent calls only; a host that is not
// installed fails at once with kind "unavailable". hello() checks the
// protocol version and capabilities and reports an old host as "outdated".
// The transport is injected so this module is pure and unit-tested.

import {
  HOST_NAME, HOST_PROTOCOL, HOST_REQUIRED_CAPABILITIES, HOST_TIMEOUT_MS, HOST_TIMEOUT_NETWORK_MS,
  HOST_NETWORK_TYPES, HOST_RETRIES, HOST_SITE_RETRIES, HOST_BACKOFF_MS, HOST_IDEMPOTENT_TYPES, HOST_PORT_IDLE_MS,
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
 * @param {(host:string, message:object) => Promise<any>} opts.send  createPortSender's send, or runtime.sendNativeMessage
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
    } catch (err) {
      if (err instanceof HostError && err.kind === 'timeout') send.abandon?.(id);
      throw err;
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

  /** A fresh host for the next call (createPortSender's reset), where the transport keeps one. */
  function reset() {
    send.reset?.();
  }

  return { call, hello, reset };
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

/**
 * A send function for createHostClient over one runtime.connectNative port:
 * send(host, message) posts the message and resolves with the reply that
 * echoes its id. The port opens at the first send and closes idleMs after
 * the last reply when no request is waiting. When the host goes away (exit,
 * crash, not installed) the requests waiting on that port reject with the
 * browser's reason, which classifyTransportError reads as for
 * sendNativeMessage; the next send opens a new port.
 *
 * @param {object} opts
 * @param {(host:string) => object} opts.connect  runtime.connectNative
 * @param {() => ({message?:string}|undefined)} [opts.lastError]  runtime.lastError (Chromium's disconnect reason)
 * @param {number} [opts.idleMs]
 */
export function createPortSender({
  connect, lastError = () => undefined, idleMs = HOST_PORT_IDLE_MS,
  setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (t) => clearTimeout(t),
}) {
  let open = null; // {port, pending: Map id -> {resolve, reject, network}}
  let idle = null;

  /** The port is gone: what waits on it fails with the browser's reason. */
  function close(conn, reason) {
    if (open === conn) open = null;
    for (const w of conn.pending.values()) w.reject(new Error(reason));
    conn.pending.clear();
  }

  /** We let the port go: the host sees its input end and exits. */
  function drop(conn, reason) {
    close(conn, reason);
    try {
      conn.port.disconnect();
    } catch {
      // already gone
    }
  }

  function armIdle(conn) {
    clearTimer(idle);
    idle = null;
    if (conn.pending.size || open !== conn) return;
    idle = setTimer(() => {
      idle = null;
      if (open === conn && !conn.pending.size) drop(conn, 'idle');
    }, idleMs);
  }

  function connection(host) {
    if (open) return open;
    const conn = { port: connect(host), pending: new Map() };
    conn.port.onMessage.addListener((reply) => {
      const w = reply && typeof reply === 'object' ? conn.pending.get(reply.id) : undefined;
      if (!w) return; // a late reply to a request that timed out
      conn.pending.delete(reply.id);
      w.resolve(reply);
      armIdle(conn);
    });
    conn.port.onDisconnect.addListener((p) => {
      // Firefox names the reason on the port, Chromium in runtime.lastError.
      const reason = p?.error?.message ?? lastError()?.message ?? 'Native host has exited.';
      close(conn, reason);
    });
    open = conn;
    return conn;
  }

  function send(host, message) {
    clearTimer(idle);
    idle = null;
    const conn = connection(host);
    return new Promise((resolve, reject) => {
      conn.pending.set(message.id, { resolve, reject, network: HOST_NETWORK_TYPES.includes(message.type) });
      try {
        conn.port.postMessage(message);
      } catch (err) {
        // The port went away before its onDisconnect ran, or is unusable.
        drop(conn, err?.message ?? String(err));
      }
    });
  }

  /**
   * The caller stopped waiting for request `id` (createHostClient's timeout).
   * A local request takes milliseconds, so one that timed out means the host
   * is stuck: the port closes and the next request starts a fresh host (the
   * others waiting on it fail as if the host had exited). Not while a
   * request that contacts sites waits on it: a site may just be slow, and
   * cutting off, say, a withdrawal would leave its work half done.
   */
  send.abandon = (id) => {
    const conn = open;
    const w = conn?.pending.get(id);
    if (!w) return;
    conn.pending.delete(id);
    const stuck = !w.network && ![...conn.pending.values()].some((x) => x.network);
    if (stuck) reset();
    else armIdle(conn);
  };

  /**
   * Closes the port now (what waits on it fails as if the host had exited):
   * the next request starts the host afresh, e.g. after `rbutton install`
   * replaced it.
   */
  function reset() {
    if (!open) return;
    clearTimer(idle);
    idle = null;
    drop(open, 'Native host has exited.');
  }
  send.reset = reset;
  return send;
}
