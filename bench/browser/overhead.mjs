// Browsing overhead for `make bench` (section 5): page-load time of the same
// local pages in several headless Chromium instances side by side — without
// extensions, with the r-button extension (its native host installed into
// the profile), and with a control extension that only sets the same request
// headers — navigations interleaved visit by visit. Also counts the extension service worker's
// starts (wake-ups) while the pages load, and, in a separate untimed pass,
// how many events of the kinds the worker listens to reach it per navigation.
//
// Usage: node bench/browser/overhead.mjs config.json  (written by rbutton-bench)
// Prints one JSON object on stdout. Uses playwright-core from the repository's
// node_modules (package.json, owned by the browser tests).

import fs from 'node:fs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { chromium } = await import('playwright-core');

const FLAGS = [
  '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--no-default-browser-check', '--disable-gpu', '--disable-dev-shm-usage',
];

async function launch(arm) {
  const args = [...FLAGS];
  if (arm.ext) args.push(`--disable-extensions-except=${arm.ext}`, `--load-extension=${arm.ext}`);
  const context = await chromium.launchPersistentContext(arm.profile, {
    executablePath: cfg.chromium,
    headless: true,
    args,
    env: { ...process.env, ...(arm.env ?? {}) },
    viewport: { width: 1100, height: 900 },
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? await context.newPage();
  return { ...arm, context, page };
}

async function extensionWorker(context) {
  const prefix = `chrome-extension://${cfg.extId}/`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const w = context.serviceWorkers().find((x) => x.url().startsWith(prefix));
    if (w) return w;
    if (Date.now() > deadline) {
      throw new Error(`extension service worker ${prefix} did not start (workers: ${context.serviceWorkers().map((x) => x.url()).join(', ') || 'none'})`);
    }
    await context.waitForEvent('serviceworker', { timeout: 1000 }).catch(() => {});
  }
}

let seq = 0;
/** Navigates and returns navigation start → end of the load event, in ms. */
async function load(page, url) {
  const u = new URL(url);
  u.searchParams.set('bench', String(++seq)); // a new document every time
  await page.goto(u.href, { waitUntil: 'load', timeout: 30_000 });
  await page.waitForFunction(() => (performance.getEntriesByType('navigation')[0]?.loadEventEnd ?? 0) > 0, null, { timeout: 30_000 });
  return page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return n.loadEventEnd - n.startTime;
  });
}

// cfg.arms: [{name, profile, ext?, env?, rbutton?}]; exactly one has rbutton: true.
const arms = [];
for (const arm of cfg.arms) arms.push(await launch(arm));
const b = arms.find((x) => x.rbutton);
const out = { version: arms[0].context.browser()?.version() ?? null, rounds: [], swStarts: 0, navigations: 0, events: null, eventNavigations: 0 };
try {
  const worker = await extensionWorker(b.context);
  let swStarts = 0;
  b.context.on('serviceworker', (w) => { if (w.url().startsWith(`chrome-extension://${cfg.extId}/`)) swStarts++; });

  // Warm-up, unmeasured: first visits (the extension negotiates with sites
  // that advertise DNT-D here), caches of the browser itself.
  for (let i = 0; i < cfg.warm; i++) {
    for (const url of cfg.pages) for (const arm of arms) await load(arm.page, url);
  }
  if (cfg.settle) await new Promise((r) => setTimeout(r, cfg.settle)); // let a negotiation started in warm-up finish

  swStarts = 0;
  for (let r = 0; r < cfg.rounds; r++) {
    const round = {};
    for (const arm of arms) {
      round[arm.name] = {};
      for (const url of cfg.pages) round[arm.name][url] = [];
    }
    for (let i = 0; i < cfg.perRound; i++) {
      for (const [k, url] of cfg.pages.entries()) {
        // Rotate who goes first, so no arm always follows another.
        const shift = (i + k + r) % arms.length;
        for (let j = 0; j < arms.length; j++) {
          const arm = arms[(j + shift) % arms.length];
          // An idle gap first, so that work one browser does after its load
          // (e.g. an extension repainting its icon) is not timed as part of
          // the next browser's load.
          if (cfg.gap) await new Promise((res) => setTimeout(res, cfg.gap));
          round[arm.name][url].push(await load(arm.page, url));
        }
        out.navigations++;
      }
    }
    out.rounds.push(round);
  }
  out.swStarts = swStarts;
  // Untimed: count the events of the kinds background.js listens to, with
  // the same filters, by adding counting listeners next to its own.
  const w = b.context.serviceWorkers().find((x) => x.url().startsWith(`chrome-extension://${cfg.extId}/`)) ?? worker;
  await w.evaluate(() => {
    const api = globalThis.chrome;
    const c = globalThis.__rbuttonBenchCounts = {
      webRequestOnBeforeRequest: 0, webRequestOnHeadersReceived: 0, tabsOnUpdated: 0, tabsOnActivated: 0, tabsOnRemoved: 0, storageOnChanged: 0, runtimeOnMessage: 0,
    };
    // The same filters as background.js's listeners (a listener background.js
    // does not register counts nothing it receives, so keep these in step).
    api.webRequest.onBeforeRequest.addListener(() => { c.webRequestOnBeforeRequest++; },
      { urls: ['http://*/*', 'https://*/*'], types: ['main_frame'] });
    api.webRequest.onHeadersReceived.addListener(() => { c.webRequestOnHeadersReceived++; },
      { urls: ['http://*/*', 'https://*/*'], types: ['main_frame'] }, ['responseHeaders']);
    api.tabs.onUpdated.addListener(() => { c.tabsOnUpdated++; });
    api.tabs.onActivated.addListener(() => { c.tabsOnActivated++; });
    api.tabs.onRemoved.addListener(() => { c.tabsOnRemoved++; });
    (api.storage.local.onChanged ?? api.storage.onChanged).addListener(() => { c.storageOnChanged++; });
    api.runtime.onMessage.addListener(() => { c.runtimeOnMessage++; return false; });
    // And the extension API calls the worker makes in response, by wrapping
    // the functions background.js looks up on `chrome` at call time.
    const calls = globalThis.__rbuttonBenchCalls = {};
    const wrap = (ns, path) => {
      const fn = ns[path.at(-1)];
      if (typeof fn !== 'function') return;
      const name = path.join('.');
      calls[name] = 0;
      const ms = (globalThis.__rbuttonBenchCallMs ??= {});
      ms[name] = 0;
      ns[path.at(-1)] = function (...args) {
        calls[name]++;
        const t0 = performance.now();
        const r = fn.apply(this, args);
        if (r && typeof r.then === 'function') r.then(() => { ms[name] += performance.now() - t0; }, () => { ms[name] += performance.now() - t0; });
        return r;
      };
    };
    for (const [ns, path] of [
      [api.action, ['action', 'setIcon']], [api.action, ['action', 'setTitle']], [api.action, ['action', 'getTitle']],
      [api.storage.session, ['storage', 'session', 'set']], [api.storage.local, ['storage', 'local', 'set']],
      [api.declarativeNetRequest, ['declarativeNetRequest', 'updateDynamicRules']],
      [api.declarativeNetRequest, ['declarativeNetRequest', 'updateSessionRules']],
      [api.runtime, ['runtime', 'sendNativeMessage']], [api.runtime, ['runtime', 'connectNative']], [api.tabs, ['tabs', 'get']], [api.tabs, ['tabs', 'query']],
      [api.declarativeNetRequest, ['declarativeNetRequest', 'getDynamicRules']],
      [api.declarativeNetRequest, ['declarativeNetRequest', 'getSessionRules']],
      [api.storage.session, ['storage', 'session', 'get']], [api.storage.local, ['storage', 'local', 'get']],
      [api.scripting, ['scripting', 'getRegisteredContentScripts']],
    ]) wrap(ns, path);
  });
  const startsBefore = swStarts;
  for (let i = 0; i < cfg.countPasses; i++) {
    for (const url of cfg.pages) { await load(b.page, url); out.eventNavigations++; }
  }
  await new Promise((r) => setTimeout(r, 300)); // tabs.onUpdated "complete" can trail the load event
  out.events = await w.evaluate(() => globalThis.__rbuttonBenchCounts);
  out.calls = await w.evaluate(() => globalThis.__rbuttonBenchCalls);
  out.callMs = await w.evaluate(() => globalThis.__rbuttonBenchCallMs);
  out.countingRestarts = swStarts - startsBefore;
} finally {
  await Promise.allSettled(arms.map((x) => x.context.close()));
}
process.stdout.write(JSON.stringify(out) + '\n');
