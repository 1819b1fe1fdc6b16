// The compliance watch's page side (PROTOCOL.md 12.1; lib/compliance.js).
// Registered only on sites with an agreement in force, top-level documents
// only, isolated world. It reads the page's own Resource Timing entries (no
// request is intercepted) and reports the origins they came from, never a
// URL: once after the page has loaded, and once more when the page is
// hidden or left, only if new origins appeared since. The worker adds what
// it saw of the document's response (Tk) and asks the host, which records
// discrepancies.
(() => {
  'use strict';
  const api = globalThis.browser ?? globalThis.chrome;
  // Kept equal to lib/constants.js STORAGE.RELATIONSHIPS and lib/compliance.js
  // COMPLIANCE_MESSAGE (test/compliance.test.js compares them).
  const RELATIONSHIPS_KEY = 'relationships';
  const MESSAGE = 'compliance.report';
  const MAX_ORIGINS = 64;
  const SETTLE_MS = 1000;
  if (!api?.runtime?.sendMessage || typeof performance === 'undefined' || window.top !== window) return;
  if (globalThis.rbuttonComplianceWatch) return; // injected twice (a re-registration): one watch
  globalThis.rbuttonComplianceWatch = true;

  const own = location.origin;
  const seen = new Set();
  const add = (entry) => {
    if (seen.size >= MAX_ORIGINS) return;
    try {
      const u = new URL(entry.name);
      if ((u.protocol === 'http:' || u.protocol === 'https:') && u.origin !== own) seen.add(u.origin);
    } catch {
      // not a URL: nothing to name
    }
  };
  for (const e of performance.getEntriesByType('resource')) add(e);
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) add(e); }).observe({ type: 'resource', buffered: true });
  } catch {
    // no observer: the entries read at the report still count
  }

  // Firefox's match patterns take no port, so this may run on another port
  // of an agreed host: report only where the agreement is.
  const agreedHere = api.storage?.local?.get
    ? Promise.resolve(api.storage.local.get(RELATIONSHIPS_KEY)).then((v) => v?.[RELATIONSHIPS_KEY]?.[own]?.state === 'agreed', () => false)
    : Promise.resolve(true);

  let sent = -1; // how many origins the last report had (-1: none sent)
  const report = () => {
    for (const e of performance.getEntriesByType('resource')) add(e);
    if (seen.size === sent) return;
    sent = seen.size;
    const origins = [...seen];
    agreedHere.then((ok) => {
      if (ok) return api.runtime.sendMessage({ type: MESSAGE, origins });
      return undefined;
    }).catch(() => {});
  };
  const afterLoad = () => setTimeout(report, SETTLE_MS);
  if (document.readyState === 'complete') afterLoad();
  else window.addEventListener('load', afterLoad, { once: true });
  // Only when something new loaded since (sent < seen.size): a later lazy
  // image or script; otherwise no second wake of the worker.
  const flush = () => { if (sent >= 0) report(); };
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') flush(); });
  window.addEventListener('pagehide', flush);
})();
