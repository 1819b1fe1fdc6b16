// Shared by the popup and options pages: asking the service worker (with
// retries while it wakes up) and building DOM without innerHTML.

import { POPUP_RETRIES, POPUP_RETRY_MS } from './constants.js';

export const api = globalThis.browser ?? globalThis.chrome;

/**
 * Sends a message to the service worker. While the worker starts, sendMessage
 * can fail ("Receiving end does not exist") or resolve undefined; retry then.
 * Resolves the worker's reply; rejects with its error message on {ok:false}.
 */
export async function ask(msg, { retries = POPUP_RETRIES, delayMs = POPUP_RETRY_MS } = {}) {
  let lastErr;
  for (let i = 0; i <= retries; i++) {
    try {
      const reply = await api.runtime.sendMessage(msg);
      if (reply !== undefined) {
        if (reply.ok === false) {
          const err = new Error(reply.error?.message ?? 'failed');
          err.kind = reply.error?.kind;
          err.code = reply.error?.code;
          throw err;
        }
        return reply;
      }
      lastErr = new Error('the extension did not answer');
    } catch (err) {
      if (err.kind !== undefined) throw err;
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, delayMs * Math.min(i + 1, 5)));
  }
  throw lastErr;
}

/** el('p', {class: 'x'}, 'text', child) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** A readable local date-time for an RFC 3339 string. */
export function when(s) {
  if (!s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString();
}
