// The controller against a fake browser: every state transition of
// lib/controller.js, driven through the handlers background.js wires, with
// the browser APIs and the native host replaced at their boundary (the host
// through lib/host.js's injected send, as host.test.js does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createController } from '../lib/controller.js';
import { createHostClient } from '../lib/host.js';
import { createPainter, DEFAULTS } from '../lib/paint.js';
import { STATE, STORAGE, MSG, RULE, ALL_RESOURCE_TYPES, RESPONSE_HEADER, HOST_REQUIRED_CAPABILITIES, CHANGES_NAV_MIN_MS } from '../lib/constants.js';
import { D, SHOP_REL, NEWS_REL } from './fixtures.js';
import { COMPLIANCE_SCRIPT_ID, COMPLIANCE_MESSAGE } from '../lib/compliance.js';

const SHOP = 'http://127.0.0.1:8441';
const NEWS = 'http://127.0.0.1:8442';
const OTHER = 'http://127.0.0.2:9000';
const ADV = `v=1, terms=:${D(1)}:`;
const AGREED = `v=1, agreed=:${D(2)}:`;
const flush = () => new Promise((r) => setImmediate(r));

/**
 * A fake browser and host. `handlers[type](params)` answers host calls
 * (returning the result, or throwing {code, message} for an error reply, or
 * 'crash' for a host that exits); `log` records every browser and host call
 * in order, so tests can check what happened before what.
 */
function fakeBrowser({ local = {}, session = {}, tabs = [], handlers = {}, gecko = false, executeScript = undefined, fetch = undefined, painter = undefined, cookies = null } = {}) {
  const log = [];
  const clock = { now: 1_000_000 };
  const rules = { dynamic: [], session: [], enabledRulesets: ['signals'] };
  let scripts = [];
  const store = { local: { ...local }, session: { ...session } };
  const area = (name) => ({
    get: async (keys) => Object.fromEntries(keys.filter((k) => k in store[name]).map((k) => [k, structuredClone(store[name][k])])),
    set: async (obj) => { log.push(`storage.${name}.set ${Object.keys(obj).join(',')}`); Object.assign(store[name], structuredClone(obj)); },
  });
  const openTabs = new Map(tabs.map((t) => [t.id, { status: 'complete', incognito: false, ...t }]));
  const painted = new Map();
  const hostCalls = [];
  const h = {
    hello: () => ({ version: '0.1.0', protocol: 1, capabilities: [...HOST_REQUIRED_CAPABILITIES], generation: 1 }),
    changes: () => ({ generation: 1, relationships: null }),
    ...handlers,
  };
  const send = async (name, message) => {
    hostCalls.push({ type: message.type, params: message.params });
    log.push(`host ${message.type}`);
    await flush();
    const handler = h[message.type];
    if (!handler) return { id: message.id, ok: false, error: { code: 'unknown_type', message: `unknown type ${message.type}` } };
    try {
      const result = await handler(message.params);
      if (result === 'crash') throw new Error('Native host has exited.');
      return { id: message.id, ok: true, result };
    } catch (err) {
      if (err instanceof Error) throw err;
      return { id: message.id, ok: false, error: err };
    }
  };
  const deps = {
    dnr: {
      getDynamicRules: async () => structuredClone(rules.dynamic),
      getSessionRules: async () => structuredClone(rules.session),
      getEnabledRulesets: async () => [...rules.enabledRulesets],
      updateEnabledRulesets: async ({ enableRulesetIds = [], disableRulesetIds = [] }) => {
        log.push('dnr.rulesets');
        rules.enabledRulesets = [...new Set([...rules.enabledRulesets.filter((id) => !disableRulesetIds.includes(id)), ...enableRulesetIds])];
      },
      updateDynamicRules: async ({ removeRuleIds, addRules }) => {
        log.push('dnr.dynamic');
        rules.dynamic = [...rules.dynamic.filter((r) => !removeRuleIds.includes(r.id)), ...structuredClone(addRules)];
      },
      updateSessionRules: async ({ removeRuleIds, addRules }) => {
        log.push('dnr.session');
        rules.session = [...rules.session.filter((r) => !removeRuleIds.includes(r.id)), ...structuredClone(addRules)];
      },
    },
    resourceTypes: [...ALL_RESOURCE_TYPES],
    scripting: {
      getRegisteredContentScripts: async () => structuredClone(scripts),
      registerContentScripts: async (list) => { log.push('scripts.register'); scripts = [...scripts, ...structuredClone(list)]; },
      unregisterContentScripts: async ({ ids }) => { scripts = scripts.filter((s) => !ids.includes(s.id)); },
      ...(executeScript ? { executeScript } : {}),
    },
    storage: { local: area('local'), session: area('session') },
    tabs: {
      query: async () => [...openTabs.values()].map((t) => ({ ...t })),
      get: async (id) => {
        if (!openTabs.has(id)) throw new Error(`no tab ${id}`);
        return { ...openTabs.get(id) };
      },
    },
    host: createHostClient({ send, sleep: async () => {} }),
    painter: painter ?? {
      paint: async (tabId, look) => { painted.set(tabId, look); },
      reset: async () => {},
      forget: (tabId) => { painted.delete(tabId); },
    },
    fetch: fetch ?? (async () => { throw new Error('no network in unit tests'); }),
    gecko,
    now: () => clock.now,
    setTimer: (f) => { queueMicrotask(f); return 0; },
    clearTimer: () => {},
    log: { error: () => {}, warn: () => {} },
    cookies,
  };
  const c = createController(deps);
  /** Settles every chain the controller started (rules, scripts, host calls). */
  const settle = async () => {
    for (let i = 0; i < 20; i++) {
      await flush();
      await c.settled();
    }
  };
  /** The Sec-DNT-D value a request carries: what the installed rules decide (priority, allow). */
  function dntd({ url, tabId = -1, type = 'image', initiator = null }) {
    const all = [...rules.dynamic, ...rules.session].filter((r) => matches(r, { url, tabId, type, initiator }));
    const allowed = all.filter((r) => r.action.type === 'allow' || r.action.type === 'allowAllRequests');
    const top = Math.max(-1, ...allowed.map((r) => r.priority));
    const headers = all.filter((r) => r.action.type === 'modifyHeaders' && r.priority > top).sort((a, b) => b.priority - a.priority);
    return headers.length ? headers[0].action.requestHeaders.find((x) => x.header === 'Sec-DNT-D').value : null;
  }
  return { c, log, rules, store, openTabs, painted, hostCalls, settle, dntd, clock, scripts: () => scripts };
}

/** A minimal declarativeNetRequest matcher for the conditions lib/rules.js uses. */
function matches(rule, { url, tabId, type, initiator }) {
  const cond = rule.condition;
  if (cond.resourceTypes && !cond.resourceTypes.includes(type)) return false;
  if (cond.urlFilter && !url.startsWith(cond.urlFilter.slice(1))) return false;
  if (cond.tabIds && !cond.tabIds.includes(tabId)) return false;
  if (cond.initiatorDomains && !(initiator && cond.initiatorDomains.includes(new URL(initiator).hostname))) return false;
  return true;
}

const title = (f, tabId) => f.painted.get(tabId)?.title;
/** A top-level navigation as Chromium reports it: request, response, then the commit's tab updates (not for a 204). */
const navigate = async (f, tabId, url, { advertisement = null, status = 200, onCommit = () => {} } = {}) => {
  f.openTabs.set(tabId, { id: tabId, url, status: 'loading', incognito: false });
  await f.c.onNavigationRequest({ tabId, type: 'main_frame', url });
  await f.c.onDocumentResponse({
    tabId, type: 'main_frame', url, statusCode: status,
    responseHeaders: advertisement ? [{ name: RESPONSE_HEADER, value: advertisement }] : [],
  }, RESPONSE_HEADER);
  await f.settle();
  if (status === 204) return;
  onCommit();
  const tab = f.openTabs.get(tabId);
  const changedUrl = f.committed?.get(tabId) !== url;
  (f.committed ??= new Map()).set(tabId, url);
  await f.c.onTabUpdated(tabId, changedUrl ? { status: 'loading', url } : { status: 'loading' }, { ...tab });
  await f.c.onTabUpdated(tabId, { title: 'A page' }, { ...tab });
  tab.status = 'complete';
  await f.c.onTabUpdated(tabId, { status: 'complete' }, { ...tab });
  await f.settle();
};
const agreedStore = () => ({ [STORAGE.RELATIONSHIPS]: { [SHOP]: { state: 'agreed', termsDigest: D(1), agreedDigest: D(2) } }, [STORAGE.GENERATION]: 1 });

test('start: rules and navigator scripts from storage, then the host\'s changes', async () => {
  const f = fakeBrowser({
    local: { [STORAGE.PAUSED]: [NEWS], ...agreedStore() },
    handlers: { changes: ({ since }) => ({ generation: 5, relationships: since === 1 ? [{ ...SHOP_REL }] : null }) },
  });
  await f.c.ready;
  await f.settle();
  assert.ok(f.rules.dynamic.some((r) => r.id === RULE.SIGNALS_ID));
  assert.ok(f.rules.dynamic.some((r) => r.action.type === 'allowAllRequests' && r.condition.urlFilter === `|${NEWS}/`), 'paused site');
  assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), AGREED, 'agreed navigation rule');
  assert.equal(f.scripts().filter((x) => x.id !== COMPLIANCE_SCRIPT_ID).length, 1, 'one navigator script');
  assert.deepEqual(f.scripts().find((x) => x.id === COMPLIANCE_SCRIPT_ID)?.matches, [`${SHOP}/*`], 'the compliance watch on the agreed site');
  assert.deepEqual(f.hostCalls.find((x) => x.type === 'changes').params, { since: 1 });
  assert.equal(f.c.state.generation, 5);
  assert.equal(f.store.local[STORAGE.GENERATION], 5);
});

test('a site without an agreement costs no host call and no rule update per navigation', async () => {
  const f = fakeBrowser({ local: agreedStore() });
  await f.c.ready;
  await f.settle();
  const calls = f.hostCalls.length;
  const dnrUpdates = f.log.filter((l) => l.startsWith('dnr')).length;
  for (let i = 0; i < 3; i++) await navigate(f, 1, `${OTHER}/page${i}`);
  assert.equal(f.hostCalls.length, calls, 'no host call');
  assert.equal(f.log.filter((l) => l.startsWith('dnr')).length, dnrUpdates, 'no rule update');
  assert.equal(title(f, 1), 'r-button: no dialog here');
});

/**
 * Chromium's action API as the painter meets it: per-tab values win over the
 * defaults until a document commits in the tab (commit()), which drops them.
 */
function chromiumAction() {
  const tabs = new Map();
  const calls = [];
  return {
    calls,
    commit(tabId) { tabs.delete(tabId); },
    shown(tabId) { return { icon: 'off', title: DEFAULTS.title, ...tabs.get(tabId) }; },
    async getTitle({ tabId }) { calls.push('getTitle'); return tabs.get(tabId)?.title ?? DEFAULTS.title; },
    async setTitle({ tabId, title }) { calls.push('setTitle'); tabs.set(tabId, { ...tabs.get(tabId), title }); },
    async setIcon({ tabId, path }) { calls.push('setIcon'); tabs.set(tabId, { ...tabs.get(tabId), icon: path['16'].replace(/^\/icons\/|-16\.png$/g, '') }); },
    take() { return calls.splice(0); },
  };
}

test('a site with no relationship and no dialog: per navigation nothing painted (the commit puts back the default look, which is its look), nothing read, stored or ruled', async () => {
  const action = chromiumAction();
  const f = fakeBrowser({ local: agreedStore(), painter: createPainter(action) });
  await f.c.ready;
  await f.settle();
  const commit = () => action.commit(1);
  await navigate(f, 1, `${OTHER}/first`, { onCommit: commit });
  action.take();
  const before = { host: f.hostCalls.length, log: f.log.length };
  for (let i = 0; i < 3; i++) {
    await navigate(f, 1, `${OTHER}/page${i}`, { onCommit: commit });
    assert.deepEqual(action.take(), [], `navigation ${i}: the browser's default is the plain look`);
    assert.deepEqual(action.shown(1), { icon: 'off', title: 'r-button: no dialog here' });
  }
  assert.equal(f.hostCalls.length, before.host, 'no host call');
  assert.deepEqual(f.log.slice(before.log), [], 'no storage write, no rule update');

  // The agreed shop lights the button; leaving it puts the plain state back.
  await navigate(f, 1, `${SHOP}/`, { advertisement: ADV, onCommit: commit });
  assert.deepEqual(action.shown(1), { icon: 'on', title: 'r-button: relationship with 127.0.0.1:8441' });
  action.take();
  await navigate(f, 1, `${OTHER}/back`, { onCommit: commit });
  assert.deepEqual(action.take(), [], 'the commit already put the default look back');
  assert.deepEqual(action.shown(1), { icon: 'off', title: 'r-button: no dialog here' });

  // A reload commits without a URL change; a 204 commits nothing and leaves the button as it is.
  await navigate(f, 1, `${OTHER}/back`, { onCommit: commit });
  assert.deepEqual(action.shown(1), { icon: 'off', title: 'r-button: no dialog here' });
  action.take();
  await navigate(f, 1, `${SHOP}/download`, { status: 204, advertisement: ADV });
  assert.deepEqual(action.take(), [], 'nothing painted for a response that commits nothing');
  assert.deepEqual(action.shown(1), { icon: 'off', title: 'r-button: no dialog here' });
});

test('a response observed after its commit paints at once', async () => {
  const action = chromiumAction();
  const f = fakeBrowser({ local: agreedStore(), painter: createPainter(action) });
  await f.c.ready;
  await f.settle();
  const url = `${SHOP}/late`;
  f.openTabs.set(2, { id: 2, url, status: 'loading', incognito: false });
  await f.c.onNavigationRequest({ tabId: 2, type: 'main_frame', url });
  action.commit(2);
  await f.c.onTabUpdated(2, { status: 'loading', url }, { id: 2, url, status: 'loading' });
  await f.c.onDocumentResponse({ tabId: 2, type: 'main_frame', url, statusCode: 200, responseHeaders: [{ name: RESPONSE_HEADER, value: ADV }] }, RESPONSE_HEADER);
  await f.settle();
  assert.deepEqual(action.shown(2), { icon: 'on', title: 'r-button: relationship with 127.0.0.1:8441' });
  assert.ok(!action.calls.includes('getTitle'));
});

test('storage.session keeps only tabs a restarted worker could not work out again', async () => {
  const f = fakeBrowser({ local: agreedStore() });
  await f.c.ready;
  await f.settle();
  await navigate(f, 1, `${OTHER}/`);
  await navigate(f, 2, `${SHOP}/`, { advertisement: ADV });
  const kept = f.store.session;
  assert.deepEqual(Object.keys(kept[STORAGE.TABS]), ['2'], 'the plain tab is not kept');
  assert.deepEqual(kept[STORAGE.TOP], { 2: SHOP }, 'only agreed or paused top-level origins');
  const writes = f.log.filter((l) => l.startsWith('storage.session.set')).length;
  await navigate(f, 1, `${OTHER}/again`);
  assert.equal(f.log.filter((l) => l.startsWith('storage.session.set')).length, writes, 'nothing changed: no write');

  // A restarted worker works the plain tab out again from the open tabs.
  f.openTabs.get(1).status = 'complete';
  f.openTabs.get(2).status = 'complete';
  const g = fakeBrowser({ local: agreedStore(), session: structuredClone(kept), tabs: [...f.openTabs.values()] });
  await g.c.ready;
  await g.settle();
  assert.equal(g.c.state.tabs[1].state, STATE.NO_DIALOG);
  assert.equal(g.c.state.tabs[2].state, STATE.AGREED);
  assert.equal(g.c.state.top[1], OTHER);
  assert.equal(g.dntd({ url: `${SHOP}/img.png`, tabId: 2, initiator: SHOP }), AGREED, 'the agreed tab keeps its digest');
});

test('agreed only while the agreed site is the top-level site; leaving it drops the tab before the response', async () => {
  const f = fakeBrowser({ local: agreedStore() });
  await f.c.ready;
  await navigate(f, 1, `${SHOP}/`, { advertisement: ADV });
  assert.equal(title(f, 1), 'r-button: relationship with 127.0.0.1:8441');
  assert.equal(f.dntd({ url: `${SHOP}/img.png`, tabId: 1, initiator: SHOP }), AGREED, 'the shop\'s own page');
  assert.equal(f.dntd({ url: `${SHOP}/img.png`, tabId: 1, initiator: OTHER }), 'v=1', 'a third-party frame in the shop page');
  assert.equal(f.changesCalls, undefined);
  assert.ok(f.hostCalls.some((x) => x.type === 'changes'), 'navigation to an agreed site checks for changes');

  // Another site embeds the shop: image, iframe, script, beacon, prefetch get v=1 only.
  await navigate(f, 2, `${NEWS}/`);
  for (const type of ['image', 'sub_frame', 'script', 'ping', 'other', 'xmlhttprequest']) {
    assert.equal(f.dntd({ url: `${SHOP}/x`, tabId: 2, type, initiator: NEWS }), 'v=1', type);
  }
  // Tab 1 leaves the shop: from its navigation request on (no response yet), it carries v=1 there.
  await f.c.onNavigationRequest({ tabId: 1, type: 'main_frame', url: `${OTHER}/` });
  await f.settle();
  assert.equal(f.dntd({ url: `${SHOP}/img.png`, tabId: 1, initiator: OTHER }), 'v=1');
  assert.deepEqual(f.rules.session, [], 'no tab shows the shop');
  // And comes back: the tab rule returns.
  await navigate(f, 1, `${SHOP}/again`, { advertisement: ADV });
  assert.equal(f.dntd({ url: `${SHOP}/img.png`, tabId: 1, initiator: SHOP }), AGREED);
  await f.c.onTabRemoved(1);
  await f.settle();
  assert.deepEqual(f.rules.session, []);
});

test('new site offering dialog: negotiating, then agreed; the digest rule is installed', async () => {
  const f = fakeBrowser({ handlers: { negotiate: () => ({ ...SHOP_REL }) } });
  await f.c.ready;
  f.openTabs.set(3, { id: 3, url: `${SHOP}/`, status: 'loading' });
  await f.c.onNavigationRequest({ tabId: 3, type: 'main_frame', url: `${SHOP}/` });
  await f.c.onDocumentResponse({ tabId: 3, type: 'main_frame', url: `${SHOP}/`, statusCode: 200, responseHeaders: [{ name: 'dnt-d', value: ADV }] }, RESPONSE_HEADER);
  assert.equal(f.c.state.tabs[3].state, STATE.NEGOTIATING);
  await f.settle();
  assert.equal(f.c.state.tabs[3].state, STATE.AGREED);
  assert.deepEqual(f.hostCalls.find((x) => x.type === 'negotiate').params, { site: SHOP, advertisement: ADV });
  assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), AGREED);
  assert.equal(f.dntd({ url: `${SHOP}/a.js`, tabId: 3, type: 'script', initiator: SHOP }), AGREED);
  assert.deepEqual(f.store.local[STORAGE.RELATIONSHIPS][SHOP], { state: 'agreed', termsDigest: D(1), agreedDigest: D(2) });
  // Same terms next time: no negotiation.
  const n = f.hostCalls.filter((x) => x.type === 'negotiate').length;
  await navigate(f, 3, `${SHOP}/other`, { advertisement: ADV });
  assert.equal(f.hostCalls.filter((x) => x.type === 'negotiate').length, n);
});

test('a conflict, a failed negotiation, a missing host, a damaged database', async () => {
  const cases = [
    [() => ({ ...NEWS_REL }), STATE.NO_AGREEMENT, null],
    [() => { throw { code: 'site_timeout', message: 'the site did not answer' }; }, STATE.NO_AGREEMENT, 'site_timeout'],
    [() => { throw new Error('Specified native messaging host not found.'); }, STATE.HOST_UNAVAILABLE, 'unavailable'],
    [() => { throw { code: 'store_corrupt', message: '/x/rbutton.db is damaged' }; }, STATE.HOST_UNAVAILABLE, 'store_corrupt'],
  ];
  for (const [negotiate, state, error] of cases) {
    const f = fakeBrowser({ handlers: { negotiate } });
    await f.c.ready;
    await navigate(f, 1, `${NEWS}/`, { advertisement: `v=1, terms=:${D(5)}:` });
    assert.equal(f.c.state.tabs[1].state, state, String(error));
    assert.equal(f.c.state.tabs[1].error, error);
  }
});

test('one negotiation per site at a time', async () => {
  let release;
  const gate = new Promise((r) => { release = r; });
  const f = fakeBrowser({ handlers: { negotiate: async () => { await gate; return { ...SHOP_REL }; } } });
  await f.c.ready;
  await f.settle();
  for (const id of [1, 2]) {
    await f.c.onDocumentResponse({ tabId: id, type: 'main_frame', url: `${SHOP}/`, statusCode: 200, responseHeaders: [{ name: 'DNT-D', value: ADV }] }, RESPONSE_HEADER);
  }
  release();
  await f.settle();
  assert.equal(f.hostCalls.filter((x) => x.type === 'negotiate').length, 1);
  assert.equal(f.c.state.tabs[2].state, STATE.AGREED);
});

test('a host that dies mid-negotiation is asked again with the same request, and one relationship results', async () => {
  let n = 0;
  const f = fakeBrowser({ handlers: { negotiate: () => (++n === 1 ? 'crash' : { ...SHOP_REL }) } });
  await f.c.ready;
  await navigate(f, 1, `${SHOP}/`, { advertisement: ADV });
  const calls = f.hostCalls.filter((x) => x.type === 'negotiate');
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[0].params, calls[1].params, 'the retry is the same proposal (the host reuses the site\'s key)');
  assert.equal(f.c.state.tabs[1].state, STATE.AGREED);
});

for (const [call, params] of [['terms.set', { terms: { v: 1 } }], ['exception.clear', { site: SHOP }]]) {
  test(`withdrawal: after ${call} the rules drop the agreement before the page hears back`, async () => {
    let withdrawn = false;
    const f = fakeBrowser({
      local: agreedStore(),
      handlers: {
        [call]: () => { withdrawn = true; return { withdrawn: [{ site: SHOP, ended: true, error: null }], generation: 2 }; },
        changes: ({ since }) => (withdrawn && since < 2 ? { generation: 2, relationships: [{ ...SHOP_REL, state: 'ended', agreedDigest: '' }] } : { generation: withdrawn ? 2 : 1, relationships: null }),
      },
    });
    await f.c.ready;
    await navigate(f, 1, `${SHOP}/`, { advertisement: ADV });
    assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), AGREED);
    f.log.length = 0;
    const reply = await f.c.onMessage({ type: MSG.HOST, call, params });
    assert.equal(reply.ok, true);
    // Before the reply: the host call, then changes, then the rule update.
    assert.deepEqual(f.log.filter((l) => l.startsWith('host') || l === 'dnr.dynamic'), [`host ${call}`, 'host changes', 'dnr.dynamic']);
    assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), 'v=1');
    assert.equal(f.dntd({ url: `${SHOP}/i.png`, tabId: 1, initiator: SHOP }), 'v=1');
    await f.settle();
    assert.equal(title(f, 1), 'r-button: relationship with 127.0.0.1:8441 ended');
  });
}

test('withdrawal: "Allow this for" sets an exception, follows the host\'s changes, then negotiates', async () => {
  const f = fakeBrowser({
    local: { [STORAGE.RELATIONSHIPS]: { [NEWS]: { state: 'conflict', termsDigest: D(5), agreedDigest: null } } },
    handlers: { 'exception.set': ({ site, terms }) => ({ site, terms }), negotiate: () => ({ ...NEWS_REL, state: 'agreed', agreedDigest: D(6) }) },
  });
  await f.c.ready;
  await navigate(f, 1, `${NEWS}/`, { advertisement: `v=1, terms=:${D(5)}:` });
  f.log.length = 0;
  const reply = await f.c.onMessage({ type: MSG.ALLOW, origin: NEWS, terms: SHOP_REL.myTerms });
  assert.equal(reply.ok, true, JSON.stringify(reply));
  assert.deepEqual(f.log.filter((l) => l.startsWith('host')), ['host exception.set', 'host changes', 'host negotiate']);
  assert.equal(f.c.state.tabs[1].state, STATE.AGREED);
  assert.equal((await f.c.onMessage({ type: MSG.ALLOW, origin: NEWS, terms: { v: 2 } })).ok, false, 'invalid terms are refused');
});

test('changes made elsewhere (CLI, another browser): the alarm, a forget, a withdrawal', async () => {
  let list = null;
  let gen = 1;
  const f = fakeBrowser({ local: agreedStore(), handlers: { changes: ({ since }) => ({ generation: gen, relationships: since === gen ? null : list }) } });
  await f.c.ready;
  await navigate(f, 1, `${SHOP}/`, { advertisement: ADV });
  // Nothing changed: the alarm's check leaves everything as it is.
  const before = f.log.length;
  await f.c.onAlarm();
  await f.settle();
  assert.equal(f.log.slice(before).filter((l) => l.startsWith('dnr')).length, 0);
  assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), AGREED);
  // `rbutton forget` elsewhere: the host has no relationship any more.
  gen = 2;
  list = [];
  await f.c.onAlarm();
  await f.settle();
  assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), 'v=1');
  assert.equal(f.dntd({ url: `${SHOP}/x`, tabId: 1, initiator: SHOP }), 'v=1');
  assert.equal(f.c.state.tabs[1].state, STATE.NO_AGREEMENT);
  assert.deepEqual(f.store.local[STORAGE.RELATIONSHIPS], {});
  // No agreement left: the alarm spares the host.
  const calls = f.hostCalls.length;
  await f.c.onAlarm();
  assert.equal(f.hostCalls.length, calls);
});

test('the alarm sends the detail updates the host says are due (changes.detailsDue), and only then', async () => {
  let due = false;
  const f = fakeBrowser({ local: agreedStore(), handlers: {
    changes: () => ({ generation: 1, relationships: null, detailsDue: due }),
    'profile.push': () => { due = false; return { total: 1, delivered: 1 }; },
  } });
  await f.c.ready;
  const pushes = () => f.hostCalls.filter((c) => c.type === 'profile.push').length;
  await f.c.onAlarm();
  assert.equal(pushes(), 0, 'nothing due: no push');
  due = true;
  await f.c.onAlarm();
  assert.equal(pushes(), 1, 'due: one push');
  await f.c.onAlarm();
  assert.equal(pushes(), 1, 'delivered: no further push');
});

test('a host older than `changes`: "out of date", with what to run', async () => {
  const f = fakeBrowser({ local: agreedStore(), handlers: { changes: undefined } });
  await f.c.ready;
  await f.settle();
  f.openTabs.set(1, { id: 1, url: `${SHOP}/` });
  const { view } = await f.c.onMessage({ type: MSG.POPUP_GET, tabId: 1 });
  assert.equal(view.host.heading, 'The r-button helper is out of date');
  assert.deepEqual(view.host.commands.map((c) => c.command), ['make install', 'rbutton install']);
});

test('popup: one host call for the site, a consistent damaged-database state in words', async () => {
  const f = fakeBrowser({ local: agreedStore(), handlers: { 'site.view': () => ({ relationship: { ...SHOP_REL }, history: { site: SHOP, events: [], verified: true }, generation: 1 }) } });
  await f.c.ready;
  await navigate(f, 1, `${SHOP}/`, { advertisement: ADV });
  await f.c.onMessage({ type: MSG.HOST, call: 'hello' });
  f.hostCalls.length = 0;
  const { view } = await f.c.onMessage({ type: MSG.POPUP_GET, tabId: 1 });
  assert.deepEqual(f.hostCalls.map((x) => x.type), ['site.view']);
  assert.equal(view.relationship.state, 'agreed');
  assert.equal(view.signals.headers[2].value, AGREED);

  const damaged = { code: 'store_corrupt', message: 'rbutton: /home/me/.local/share/rbutton/rbutton.db is not a valid database' };
  const g = fakeBrowser({ local: agreedStore(), handlers: { hello: () => { throw damaged; }, changes: () => { throw damaged; }, 'site.view': () => { throw damaged; }, 'terms.get': () => { throw damaged; } } });
  await g.c.ready;
  await g.settle();
  g.openTabs.set(1, { id: 1, url: `${SHOP}/` });
  const popup = (await g.c.onMessage({ type: MSG.POPUP_GET, tabId: 1 })).view;
  const options = await g.c.onMessage({ type: MSG.OPTIONS_GET });
  assert.equal(popup.host.heading, 'Your r-button database is damaged');
  assert.deepEqual(popup.host.commands.map((c) => c.command), ['rbutton doctor']);
  assert.equal(options.host.kind, 'store');
  assert.equal(options.host.ok, false);
  assert.match(popup.stateText, /database is damaged/);
  const failed = await g.c.onMessage({ type: MSG.HOST, call: 'terms.get' });
  assert.equal(failed.ok, false);
  assert.equal(failed.error.kind, 'store');

  // The helper answers hello but says it cannot read the database: the same state.
  const h = fakeBrowser({ handlers: { hello: () => ({ version: '0.1.0', protocol: 1, capabilities: [...HOST_REQUIRED_CAPABILITIES], generation: 0, storeError: damaged }) } });
  await h.c.ready;
  const opts = await h.c.onMessage({ type: MSG.OPTIONS_GET });
  assert.deepEqual({ ok: opts.host.ok, kind: opts.host.kind, code: opts.host.code }, { ok: false, kind: 'store', code: 'store_corrupt' });
  assert.equal(opts.host.message, damaged.message);
});

test('pause and resume: rules, navigator scripts, tab state; another page\'s change arrives through storage', async () => {
  const f = fakeBrowser({ handlers: { negotiate: () => ({ ...NEWS_REL }) } });
  await f.c.ready;
  await navigate(f, 1, `${NEWS}/`, { advertisement: `v=1, terms=:${D(5)}:` });
  assert.equal((await f.c.onMessage({ type: MSG.PAUSE, origin: `${NEWS}/` })).ok, true);
  assert.equal(f.c.state.tabs[1].state, STATE.PAUSED);
  assert.deepEqual(f.store.local[STORAGE.PAUSED], [NEWS]);
  assert.equal(f.dntd({ url: `${OTHER}/x.png`, tabId: 1, initiator: NEWS }), null, 'a third-party request of the open paused page, at once');
  assert.equal(f.dntd({ url: `${OTHER}/x.png`, tabId: 2, initiator: OTHER }), 'v=1', 'other tabs keep their signals');
  assert.ok(f.rules.dynamic.some((r) => r.action.type === 'allow' && r.condition.urlFilter === `|${NEWS}/`));
  assert.deepEqual(f.scripts()[0].excludeMatches, [`${NEWS}/*`]);
  assert.equal(f.dntd({ url: `${NEWS}/x`, tabId: 1, initiator: NEWS }), null, 'nothing to the paused site');
  await f.c.onMessage({ type: MSG.RESUME, origin: NEWS });
  await f.settle();
  assert.equal(f.c.state.tabs[1].state, STATE.NO_AGREEMENT);
  assert.equal(f.scripts()[0].excludeMatches, undefined);
  await f.c.onStorageChanged({ [STORAGE.PAUSED]: { newValue: [NEWS] } }, 'local');
  await f.settle();
  assert.equal(f.c.state.tabs[1].state, STATE.PAUSED);
  assert.equal((await f.c.onMessage({ type: MSG.PAUSE, origin: 'file:///x' })).ok, false);
});

test('the tab-scoped pause rule follows the tabs showing the paused site, from the navigation request on', async () => {
  const f = fakeBrowser({ local: { [STORAGE.PAUSED]: [NEWS] } });
  await f.c.ready;
  await f.settle();
  await f.c.onNavigationRequest({ tabId: 4, type: 'main_frame', url: `${NEWS}/` });
  await f.settle();
  assert.deepEqual(f.rules.session.find((r) => r.id === RULE.PAUSED_TABS_ID)?.condition.tabIds, [4]);
  assert.equal(f.dntd({ url: `${OTHER}/p.gif`, tabId: 4, initiator: NEWS }), null, 'third-party request of the paused page');
  await f.c.onNavigationRequest({ tabId: 4, type: 'main_frame', url: `${OTHER}/` });
  await f.settle();
  assert.equal(f.rules.session.find((r) => r.id === RULE.PAUSED_TABS_ID), undefined);
  assert.deepEqual(f.scripts().map((s) => s.id), ['rbutton-navigator-signals']);
  const g = fakeBrowser({ local: { [STORAGE.PAUSED]: [NEWS] }, gecko: true });
  await g.c.ready;
  await g.settle();
  assert.deepEqual(g.scripts().map((s) => s.id), ['rbutton-navigator-signals', 'rbutton-paused-0'], 'Firefox: a port-checking registration');
});

test('paused page stays paused when the dynamic rules change (a new agreement elsewhere), and a restarted worker does not rewrite unchanged rules', async () => {
  const f = fakeBrowser({ local: { [STORAGE.PAUSED]: [NEWS] }, handlers: { negotiate: () => ({ ...SHOP_REL }) } });
  await f.c.ready;
  await navigate(f, 1, `${NEWS}/`);
  await navigate(f, 2, `${SHOP}/`, { advertisement: ADV });
  assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), AGREED, 'the dynamic rules changed');
  // Chromium forgets allowAllRequests for open frames on that change: the tab rule does not depend on it.
  assert.equal(f.dntd({ url: `${OTHER}/p.gif`, tabId: 1, initiator: NEWS }), null);
  // Worker restart with the rules still installed: nothing is written.
  const g = fakeBrowser({ local: { ...f.store.local }, session: { ...f.store.session }, tabs: [{ id: 1, url: `${NEWS}/` }, { id: 2, url: `${SHOP}/` }] });
  g.rules.dynamic = structuredClone(f.rules.dynamic).map((r) => ({ ...r, condition: { ...r.condition, isUrlFilterCaseSensitive: false } }));
  g.rules.session = structuredClone(f.rules.session);
  await g.c.ready;
  await g.settle();
  assert.deepEqual(g.log.filter((l) => l.startsWith('dnr')), []);
});

test('data return through the browser: the host judges the status and media type; a 410 ends the agreement here at once', async () => {
  let gen = 1;
  const accepted = [];
  const f = fakeBrowser({
    local: agreedStore(),
    fetch: async () => ({
      ok: false, status: 410,
      headers: new Map([['content-type', 'application/dnt-d+json']]),
      text: async () => '{"v":1,"type":"error","error":"ended","message":"ended by the site"}',
    }),
    handlers: {
      'data.request': () => ({ url: `${SHOP}/.well-known/dnt-d/data`, contentType: 'application/dnt-d+json', body: '{}' }),
      'data.accept': (params) => {
        accepted.push(params);
        gen = 2; // the host ended the relationship (PROTOCOL.md 10.6)
        throw { code: 'site_refused', message: 'the site answered 410 ended' };
      },
      changes: ({ since }) => ({ generation: gen, relationships: since === gen ? null : [{ ...SHOP_REL, state: 'ended', agreedDigest: '' }] }),
    },
  });
  await f.c.ready;
  await navigate(f, 1, `${SHOP}/`, { advertisement: ADV });
  assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), AGREED);
  const r = await f.c.onMessage({ type: MSG.DATA, origin: SHOP });
  assert.equal(r.ok, false);
  assert.equal(accepted.length, 1);
  assert.equal(accepted[0].status, 410);
  assert.equal(accepted[0].contentType, 'application/dnt-d+json');
  await f.settle();
  assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), 'v=1', 'no agreed once the site said it ended');
});

test('ending a relationship drops its digest; renegotiating asks the site again', async () => {
  const f = fakeBrowser({
    local: agreedStore(),
    handlers: { 'relationship.end': () => ({ ...SHOP_REL, state: 'ended', agreedDigest: '' }), negotiate: ({ force }) => ({ ...SHOP_REL, agreedDigest: force ? D(8) : D(2) }) },
  });
  await f.c.ready;
  await navigate(f, 1, `${SHOP}/`, { advertisement: ADV });
  assert.equal((await f.c.onMessage({ type: MSG.END, origin: SHOP })).ok, true);
  assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), 'v=1');
  assert.equal(f.c.state.tabs[1].state, STATE.NO_AGREEMENT);
  const r = await f.c.onMessage({ type: MSG.RENEGOTIATE, origin: SHOP });
  assert.equal(r.ok, true);
  assert.equal(f.hostCalls.filter((x) => x.type === 'negotiate').at(-1).params.force, true);
  assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), `v=1, agreed=:${D(8)}:`);
  assert.equal((await f.c.onMessage({ type: MSG.RENEGOTIATE, origin: NEWS })).ok, false, 'no advertisement seen');
});

test('private windows do not negotiate unless allowed; settings are stored', async () => {
  const f = fakeBrowser({ handlers: { negotiate: () => ({ ...SHOP_REL }) } });
  await f.c.ready;
  await f.c.onDocumentResponse({ tabId: 1, type: 'main_frame', url: `${SHOP}/`, statusCode: 200, incognito: true, responseHeaders: [{ name: 'DNT-D', value: ADV }] }, RESPONSE_HEADER);
  await f.settle();
  assert.equal(f.c.state.tabs[1].error, 'private');
  assert.equal(f.hostCalls.filter((x) => x.type === 'negotiate').length, 0);
  const r = await f.c.onMessage({ type: MSG.SETTINGS_SET, settings: { negotiateInPrivate: true } });
  assert.deepEqual(r.settings, { negotiateInPrivate: true, sendDNT: true });
  await f.c.onDocumentResponse({ tabId: 1, type: 'main_frame', url: `${SHOP}/`, statusCode: 200, incognito: true, responseHeaders: [{ name: 'DNT-D', value: ADV }] }, RESPONSE_HEADER);
  await f.settle();
  assert.equal(f.c.state.tabs[1].state, STATE.AGREED);
});

test('redirects, cached documents, replaced and activated tabs, worker restart', async () => {
  const f = fakeBrowser({ local: agreedStore(), tabs: [{ id: 7, url: `${SHOP}/` }] });
  await f.c.ready;
  await f.settle();
  // Worker start: an open tab on the agreed site gets its tab rule and state.
  assert.equal(f.c.state.tabs[7].state, STATE.AGREED);
  assert.equal(f.dntd({ url: `${SHOP}/x`, tabId: 7, initiator: SHOP }), AGREED);
  // A redirect is not a document.
  await f.c.onDocumentResponse({ tabId: 8, type: 'main_frame', url: `${NEWS}/`, statusCode: 302, responseHeaders: [] }, RESPONSE_HEADER);
  assert.equal(f.c.state.tabs[8], undefined);
  // A document from the cache (no response seen): what the host knows.
  f.openTabs.set(8, { id: 8, url: `${SHOP}/cached` });
  await f.c.onTabUpdated(8, { status: 'complete' }, { id: 8, url: `${SHOP}/cached` });
  await f.settle();
  assert.equal(f.c.state.tabs[8].state, STATE.AGREED);
  assert.equal(f.dntd({ url: `${SHOP}/x`, tabId: 8, initiator: SHOP }), AGREED);
  // Prerendered tab 9 replaces 8.
  await f.c.onTabReplaced(9, 8);
  await f.settle();
  assert.equal(f.c.state.tabs[9].state, STATE.AGREED);
  assert.equal(f.dntd({ url: `${SHOP}/x`, tabId: 8, initiator: SHOP }), 'v=1');
  assert.equal(f.dntd({ url: `${SHOP}/x`, tabId: 9, initiator: SHOP }), AGREED);
  await f.c.onTabActivated({ tabId: 9 });
  assert.equal(title(f, 9), 'r-button: relationship with 127.0.0.1:8441');
  // A restarted worker finds the tab state and tops in storage.session.
  await f.settle();
  const g = fakeBrowser({ local: { ...f.store.local }, session: { ...f.store.session }, tabs: [{ id: 9, url: `${SHOP}/cached` }] });
  await g.c.ready;
  await g.settle();
  assert.equal(g.dntd({ url: `${SHOP}/x`, tabId: 9, initiator: SHOP }), AGREED);
  assert.equal(g.c.state.tabs[9].state, STATE.AGREED);
});

test('messages: only known calls pass through to the host; unknown messages are errors', async () => {
  const f = fakeBrowser();
  await f.c.ready;
  assert.equal((await f.c.onMessage({ type: MSG.HOST, call: 'negotiate' })).ok, false);
  assert.match((await f.c.onMessage({ type: 'nope' })).error.message, /unknown message/);
  const opts = await f.c.onMessage({ type: MSG.OPTIONS_GET });
  assert.equal(opts.host.ok, true);
  assert.deepEqual(opts.paused, []);
  const retry = await f.c.onMessage({ type: MSG.RETRY_HOST });
  assert.equal(retry.host.ok, true);
});

test('messages: the options page sets the default when agreeing through the worker (profile.default), params as given', async () => {
  let got = null;
  const f = fakeBrowser({ handlers: { 'profile.default': (params) => { got = params; return { onAgree: params.onAgree, onAgreeWords: 'words' }; } } });
  await f.c.ready;
  const reply = await f.c.onMessage({ type: MSG.HOST, call: 'profile.default', params: { onAgree: 'email' } });
  assert.deepEqual(reply, { ok: true, result: { onAgree: 'email', onAgreeWords: 'words' } });
  assert.deepEqual(got, { onAgree: 'email' });
});

test('after my terms change (here or elsewhere), the next visit asks the host again; other visits do not', async () => {
  let list = [{ ...SHOP_REL }, { ...NEWS_REL }];
  let gen = 1;
  const f = fakeBrowser({
    local: { [STORAGE.RELATIONSHIPS]: { [SHOP]: { state: 'agreed', termsDigest: D(1), agreedDigest: D(2) }, [NEWS]: { state: 'conflict', termsDigest: D(5), agreedDigest: null } }, [STORAGE.GENERATION]: 1 },
    handlers: {
      'terms.set': () => ({}),
      changes: ({ since }) => ({ generation: gen, relationships: since === gen ? null : list }),
      negotiate: ({ site }) => (site === SHOP ? { ...SHOP_REL } : { ...NEWS_REL }),
    },
  });
  await f.c.ready;
  const negotiations = () => f.hostCalls.filter((x) => x.type === 'negotiate').map((x) => x.params.site);
  await navigate(f, 1, `${NEWS}/`, { advertisement: `v=1, terms=:${D(5)}:` });
  assert.deepEqual(negotiations(), [], 'nothing changed: the stored conflict stands');
  // Terms saved in this browser (a host that withdraws nothing): every site is asked again once.
  await f.c.onMessage({ type: MSG.HOST, call: 'terms.set', params: { terms: {} } });
  await navigate(f, 1, `${NEWS}/`, { advertisement: `v=1, terms=:${D(5)}:` });
  await navigate(f, 1, `${NEWS}/`, { advertisement: `v=1, terms=:${D(5)}:` });
  assert.deepEqual(negotiations(), [NEWS]);
  // Elsewhere, the shop's agreement was withdrawn: the alarm learns it, the next visit asks.
  gen = 2;
  list = [{ ...SHOP_REL, state: 'ended', agreedDigest: '' }, { ...NEWS_REL }];
  await f.c.onAlarm();
  await f.settle();
  assert.equal(f.dntd({ url: `${SHOP}/`, type: 'main_frame' }), 'v=1');
  await navigate(f, 2, `${SHOP}/`, { advertisement: ADV });
  await navigate(f, 1, `${NEWS}/`, { advertisement: `v=1, terms=:${D(5)}:` });
  assert.deepEqual(negotiations(), [NEWS, SHOP], 'the unchanged news conflict is not asked about again');
});

test('site check: the page read once in its MAIN world, the host asked with the page\'s MyTerms path; nothing when paused or private', async () => {
  const check = { site: SHOP, gpc: { state: 'found' }, gpcStatement: { gpc: true }, myterms: { state: 'found' }, mytermsFile: { agreements: [] } };
  const page = { usp: { source: '__uspapi', value: '1YYN' }, gpp: null, onetrust: null, mytermsHref: `${SHOP}/terms/mine.json`, dialogAgreements: [] };
  const injected = [];
  const f = fakeBrowser({
    handlers: { 'site.check': () => check, 'terms.get': () => ({ defaults: { v: 1 } }), 'myterms.proffer': (p) => ({ proffered: p.agreement }) },
    // The isolated world answers for the browser's own navigator.
    executeScript: async (details) => { injected.push(details); return [{ result: details.world === 'MAIN' ? page : browserSends }]; },
  });
  let browserSends = false;
  await f.c.ready;
  await navigate(f, 1, `${SHOP}/`);
  f.hostCalls.length = 0;
  const r = await f.c.onMessage({ type: MSG.SITE_CHECK, tabId: 1 });
  assert.equal(r.ok, true);
  assert.deepEqual(r.page, page);
  assert.deepEqual(r.check, check);
  assert.equal(r.browserGPC, false);
  assert.equal(injected.length, 2);
  assert.equal(injected[0].world, 'MAIN');
  assert.deepEqual(injected[0].target, { tabId: 1 });
  assert.equal(injected[0].func.name, 'probePage');
  assert.equal(injected[1].world, undefined, "the browser's own GPC is read in the isolated world, where r-button's getter is not");
  assert.deepEqual(injected[1].target, { tabId: 1 });
  assert.deepEqual(f.hostCalls.map((x) => [x.type, x.params]), [['site.check', { site: SHOP, mytermsPath: '/terms/mine.json' }], ['terms.get', {}]]);
  browserSends = true;
  assert.equal((await f.c.onMessage({ type: MSG.SITE_CHECK, tabId: 1 })).browserGPC, true);
  browserSends = false;

  const p = await f.c.onMessage({ type: MSG.PROFFER, origin: `${SHOP}/`, agreement: 'SD-BASE' });
  assert.deepEqual(p.result, { proffered: 'SD-BASE' });

  // A page on another origin names a MyTerms file: not passed on.
  page.mytermsHref = 'https://cdn.example/myterms.json';
  f.hostCalls.length = 0;
  await f.c.onMessage({ type: MSG.SITE_CHECK, tabId: 1 });
  assert.deepEqual(f.hostCalls[0].params, { site: SHOP });

  // Paused: neither the page nor the host is asked.
  await f.c.onMessage({ type: MSG.PAUSE, origin: SHOP });
  f.hostCalls.length = 0;
  injected.length = 0;
  const paused = await f.c.onMessage({ type: MSG.SITE_CHECK, tabId: 1 });
  assert.equal(paused.skipped, 'paused');
  assert.equal(injected.length + f.hostCalls.length, 0);
  await f.c.onMessage({ type: MSG.RESUME, origin: SHOP });

  // A private window, negotiation there not allowed: nothing either.
  f.openTabs.set(2, { id: 2, url: `${NEWS}/`, status: 'complete', incognito: true });
  f.hostCalls.length = 0;
  const priv = await f.c.onMessage({ type: MSG.SITE_CHECK, tabId: 2 });
  assert.equal(priv.skipped, 'private');
  assert.equal(injected.length, 0);
  assert.ok(!f.hostCalls.some((x) => x.type === 'site.check'));
});

test('navigations to an agreed site check for changes at most once per interval; others never', async () => {
  const f = fakeBrowser({ local: agreedStore() });
  await f.c.ready;
  await f.settle();
  const changes = () => f.hostCalls.filter((x) => x.type === 'changes').length;
  const atStart = changes();
  f.clock.now += CHANGES_NAV_MIN_MS;
  await navigate(f, 1, `${SHOP}/a`, { advertisement: ADV });
  await navigate(f, 1, `${SHOP}/b`, { advertisement: ADV });
  await navigate(f, 1, `${NEWS}/`);
  assert.equal(changes(), atStart + 1, 'one check for two pages of the shop, none for news');
  f.clock.now += CHANGES_NAV_MIN_MS;
  await navigate(f, 1, `${SHOP}/c`, { advertisement: ADV });
  assert.equal(changes(), atStart + 2);
});

test('DNT switched off: no DNT header (static ruleset off, dynamic rules without it), navigator script without doNotTrack; GPC and DNT-D stay', async () => {
  const f = fakeBrowser({ local: agreedStore() });
  await f.c.ready;
  await f.settle();
  assert.ok(!f.log.includes('dnr.rulesets'), 'the enabled static ruleset is left alone at start');
  const headersOf = (id) => f.rules.dynamic.find((r) => r.id === id).action.requestHeaders.map((h) => h.header);
  assert.deepEqual(headersOf(RULE.SIGNALS_ID), ['DNT', 'Sec-GPC', 'Sec-DNT-D']);
  const r = await f.c.onMessage({ type: MSG.SETTINGS_SET, settings: { negotiateInPrivate: false, sendDNT: false } });
  assert.deepEqual(r.settings, { negotiateInPrivate: false, sendDNT: false });
  await f.settle();
  assert.deepEqual(f.rules.enabledRulesets, []);
  assert.deepEqual(headersOf(RULE.SIGNALS_ID), ['Sec-GPC', 'Sec-DNT-D']);
  assert.deepEqual(headersOf(RULE.AGREED_BASE), ['Sec-GPC', 'Sec-DNT-D']);
  assert.deepEqual(f.scripts().find((x) => x.id !== COMPLIANCE_SCRIPT_ID).js, ['content/signals-gpc.js']);
  f.openTabs.set(1, { id: 1, url: `${SHOP}/` });
  const { view } = await f.c.onMessage({ type: MSG.POPUP_GET, tabId: 1 });
  assert.deepEqual(view.signals.headers.map((h) => h.name), ['Sec-GPC', 'Sec-DNT-D']);
  assert.deepEqual(view.signals.navigator.map((n) => n.name), ['navigator.globalPrivacyControl']);
  // Stored: a restarted worker keeps it off.
  assert.equal(f.store.local[STORAGE.SETTINGS].sendDNT, false);
  await f.c.onMessage({ type: MSG.SETTINGS_SET, settings: { negotiateInPrivate: false, sendDNT: true } });
  await f.settle();
  assert.deepEqual(f.rules.enabledRulesets, ['signals']);
  assert.deepEqual(headersOf(RULE.SIGNALS_ID), ['DNT', 'Sec-GPC', 'Sec-DNT-D']);
  assert.deepEqual(f.scripts().find((x) => x.id !== COMPLIANCE_SCRIPT_ID).js, ['content/signals.js']);
});

// The compliance watch (PROTOCOL.md 12.1, lib/compliance.js).
test('compliance watch: registered on agreed sites only; a page report goes to the host with the Tk answer of that document', async () => {
  const cookies = { getAll: async ({ domain }) => (domain === 'localhost' ? [{ name: 'partner', domain, partitionKey: { topLevelSite: 'http://127.0.0.1' } }] : []) };
  const f = fakeBrowser({ local: agreedStore(), cookies, handlers: { 'compliance.report': () => ({ site: SHOP, discrepancies: 2, recorded: [{}, {}] }) } });
  await f.c.ready;
  await f.settle();
  assert.deepEqual(f.scripts().find((x) => x.id === COMPLIANCE_SCRIPT_ID)?.matches, [`${SHOP}/*`]);

  // A site without an agreement: its navigations register nothing, and a report from it (forged) goes nowhere.
  const registrations = f.log.filter((l) => l === 'scripts.register').length;
  await navigate(f, 2, `${OTHER}/`);
  assert.equal(f.log.filter((l) => l === 'scripts.register').length, registrations, 'no script work per navigation');
  const other = await f.c.onComplianceReport({ type: COMPLIANCE_MESSAGE, origins: ['https://t.example'] }, { url: `${OTHER}/`, frameId: 0, tab: { id: 2 } });
  assert.equal(other.reported, false);
  assert.ok(!f.hostCalls.some((x) => x.type === 'compliance.report'));

  // The shop's /gifts page: its document answered Tk: N to the agreed digest.
  f.openTabs.set(1, { id: 1, url: `${SHOP}/gifts`, status: 'loading', incognito: false });
  await f.c.onNavigationRequest({ tabId: 1, type: 'main_frame', url: `${SHOP}/gifts` });
  await f.c.onDocumentResponse({ tabId: 1, type: 'main_frame', url: `${SHOP}/gifts`, statusCode: 200,
    responseHeaders: [{ name: RESPONSE_HEADER, value: ADV }, { name: 'Tk', value: 'N' }] }, RESPONSE_HEADER);
  await f.settle();
  const res = await f.c.onComplianceReport({ type: COMPLIANCE_MESSAGE, origins: ['http://localhost:8444', SHOP] },
    { url: `${SHOP}/gifts`, frameId: 0, tab: { id: 1 } });
  assert.deepEqual(res, { ok: true, reported: true, recorded: 2 });
  assert.deepEqual(f.hostCalls.filter((x) => x.type === 'compliance.report').map((x) => x.params),
    [{ site: SHOP, page: '/gifts', origins: ['http://localhost:8444'], tk: 'N', agreed: D(2), cookies: ['http://localhost:8444'] }]);

  // A frame inside the page, and a private window, are not reported.
  assert.equal((await f.c.onComplianceReport({ type: COMPLIANCE_MESSAGE, origins: ['https://t.example'] }, { url: `${SHOP}/`, frameId: 4, tab: { id: 1 } })).reported, false);
  assert.equal((await f.c.onComplianceReport({ type: COMPLIANCE_MESSAGE, origins: ['https://t.example'] }, { url: `${SHOP}/`, frameId: 0, tab: { id: 1, incognito: true } })).reported, false);
  assert.equal(f.hostCalls.filter((x) => x.type === 'compliance.report').length, 1);
});

test('compliance watch: withdrawn elsewhere or paused, the watch is unregistered and reports stop', async () => {
  let list = [{ ...SHOP_REL }];
  let gen = 5;
  const f = fakeBrowser({ local: agreedStore(), handlers: { changes: ({ since }) => ({ generation: gen, relationships: since === gen ? null : list }) } });
  await f.c.ready;
  await f.settle();
  assert.ok(f.scripts().some((x) => x.id === COMPLIANCE_SCRIPT_ID));
  await f.c.onMessage({ type: MSG.PAUSE, origin: SHOP });
  await f.settle();
  assert.ok(!f.scripts().some((x) => x.id === COMPLIANCE_SCRIPT_ID), 'paused: no watch');
  await f.c.onMessage({ type: MSG.RESUME, origin: SHOP });
  await f.settle();
  assert.ok(f.scripts().some((x) => x.id === COMPLIANCE_SCRIPT_ID), 'resumed: watched again');
  list = [{ ...SHOP_REL, state: 'ended', agreedDigest: '' }];
  gen = 6;
  await f.c.onAlarm();
  await f.settle();
  assert.ok(!f.scripts().some((x) => x.id === COMPLIANCE_SCRIPT_ID), 'ended: no watch');
  const res = await f.c.onComplianceReport({ type: COMPLIANCE_MESSAGE, origins: ['https://t.example'] }, { url: `${SHOP}/`, frameId: 0, tab: { id: 1 } });
  assert.equal(res.reported, false);
});
