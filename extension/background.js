// r-button service worker (Chromium) / event page (Firefox).
//
// - Signals: DNT, Sec-GPC and Sec-DNT-D on every request through dynamic
//   declarativeNetRequest rules (static on the navigation path, rebuilt from
//   storage at every start and on every change), navigator signals through a
//   registered MAIN-world content script. Paused sites get nothing (see
//   lib/rules.js for how a single origin is paused).
// - Dialog: observes the DNT-D header of top-level responses (observe-only
//   webRequest, no extra request to anyone) and asks the native host to
//   negotiate, after the response, off the navigation path.
// - The r-button: per-tab icon and title from lib/tabstate.js, tab state kept
//   in storage.session so it survives the worker sleeping.
// Every listener is registered synchronously at top level and waits for
// `ready`, so events that wake the worker are not lost.

import {
  STATE, STORAGE, MSG, DEFAULT_SETTINGS, TAB_SAVE_DEBOUNCE_MS, RESPONSE_HEADER, HELLO_TTL_MS, ALL_RESOURCE_TYPES,
} from './lib/constants.js';
import { createHostClient, HostError } from './lib/host.js';
import { buildRules, buildContentScripts, normaliseOrigins, signalsFor, CONTENT_SCRIPT_ID, PAUSED_SCRIPT_PREFIX } from './lib/rules.js';
import { onDocument, onRelationship, onHostError, onPaused, emptyTab, titleFor, iconFor } from './lib/tabstate.js';
import { createPainter, decodeIcon } from './lib/paint.js';
import { originOf, isNegotiable } from './lib/origin.js';
import { popupView, dataView } from './lib/viewmodel.js';
import { userTermsProblems } from './lib/terms.js';
import { tryParseAdvertisement, isDigest } from './lib/advert.js';

const api = globalThis.browser ?? globalThis.chrome;
const dnr = api.declarativeNetRequest;
// Firefox (runtime.getBrowserInfo exists only there) needs two workarounds
// for pausing one origin, see lib/rules.js: tab-scoped allow rules, and a
// port check in the navigator scripts because its match patterns carry no port.
const gecko = typeof api.runtime.getBrowserInfo === 'function';

const painter = createPainter(api.action, { imageData: (stem) => decodeIcon(stem, api.runtime.getURL) });
const host = createHostClient({ send: (name, message) => api.runtime.sendNativeMessage(name, message) });

// In-memory mirrors of storage; `ready` resolves once they are loaded.
const mem = {
  paused: [],
  settings: { ...DEFAULT_SETTINGS },
  relationships: {}, // origin -> {state, termsDigest, agreedDigest}
  tabs: {}, // tabId -> TabState
  advertised: {}, // origin -> raw DNT-D value last seen
  hostStatus: null, // {ok, kind, message, version, checked}
  restored: false, // host asked about open tabs in this browser session
};

const ready = init();
// Tests and the demo driver await this before navigating (sw.evaluate), so
// the first navigation after install is observed.
globalThis.rbuttonReady = ready.then(() => true, () => false);

async function init() {
  const [local, session] = await Promise.all([
    api.storage.local.get([STORAGE.PAUSED, STORAGE.SETTINGS, STORAGE.RELATIONSHIPS]),
    api.storage.session.get([STORAGE.TABS, STORAGE.ADVERTISED, STORAGE.HOST, STORAGE.RESTORED]),
  ]);
  mem.paused = normaliseOrigins(local[STORAGE.PAUSED] ?? []);
  mem.settings = { ...DEFAULT_SETTINGS, ...(local[STORAGE.SETTINGS] ?? {}) };
  mem.relationships = local[STORAGE.RELATIONSHIPS] ?? {};
  mem.tabs = session[STORAGE.TABS] ?? {};
  mem.advertised = session[STORAGE.ADVERTISED] ?? {};
  mem.hostStatus = session[STORAGE.HOST] ?? null;
  mem.restored = session[STORAGE.RESTORED] === true;
  await Promise.all([applyRules(), applyContentScript()]);
  // Not awaited: the host may be slow or absent, the signals must not wait.
  restoreTabs().catch((err) => console.warn('r-button: restoring tabs:', err));
}

// ---------------------------------------------------------------- signals

function resourceTypes() {
  const e = dnr.ResourceType;
  const fromEnum = e ? Object.values(e).filter((v) => typeof v === 'string') : [];
  return fromEnum.length ? fromEnum : [...ALL_RESOURCE_TYPES];
}

function agreedDigests() {
  const out = {};
  for (const [origin, r] of Object.entries(mem.relationships)) {
    if (r && r.state === 'agreed' && isDigest(r.agreedDigest)) out[origin] = r.agreedDigest;
  }
  return out;
}

function pausedTabIds() {
  if (!gecko) return [];
  return Object.entries(mem.tabs).filter(([, t]) => t.state === STATE.PAUSED).map(([id]) => Number(id));
}

let rulesChain = Promise.resolve();
let applied = { dynamic: null, session: null };
/** Makes the dynamic and session rules what storage says (replacing all); serialised. */
function applyRules() {
  rulesChain = rulesChain.then(async () => {
    const { dynamic, session } = buildRules({
      paused: mem.paused, agreed: agreedDigests(), resourceTypes: resourceTypes(), pausedTabIds: pausedTabIds(),
    });
    const dyn = JSON.stringify(dynamic);
    const ses = JSON.stringify(session);
    if (dyn !== applied.dynamic) {
      const old = await dnr.getDynamicRules();
      await dnr.updateDynamicRules({ removeRuleIds: old.map((r) => r.id), addRules: dynamic });
      applied.dynamic = dyn;
    }
    if (ses !== applied.session) {
      const old = await dnr.getSessionRules();
      await dnr.updateSessionRules({ removeRuleIds: old.map((r) => r.id), addRules: session });
      applied.session = ses;
    }
  }).catch((err) => {
    applied = { dynamic: null, session: null };
    console.error('r-button: installing header rules failed:', err);
  });
  return rulesChain;
}

let scriptChain = Promise.resolve();
let moafSupported = true;
/** Registers the navigator-signal scripts, never on paused sites; serialised. */
function applyContentScript() {
  scriptChain = scriptChain.then(async () => {
    const build = () => buildContentScripts({ paused: mem.paused, matchOriginAsFallback: moafSupported, portsInPatterns: !gecko });
    const want = build();
    const ours = (await api.scripting.getRegisteredContentScripts())
      .filter((c) => c.id === CONTENT_SCRIPT_ID || c.id.startsWith(PAUSED_SCRIPT_PREFIX));
    if (sameRegistrations(ours, want)) return;
    if (ours.length) await api.scripting.unregisterContentScripts({ ids: ours.map((c) => c.id) });
    try {
      await api.scripting.registerContentScripts(want);
    } catch (err) {
      if (!moafSupported) throw err;
      // A browser without matchOriginAsFallback: register without it.
      moafSupported = false;
      await api.scripting.registerContentScripts(build());
    }
  }).catch((err) => console.error('r-button: registering the navigator scripts failed:', err));
  return scriptChain;
}

function sameRegistrations(have, want) {
  const norm = (list) => JSON.stringify(list.map((s) => [s.id, [...(s.excludeMatches ?? [])].sort(), [...(s.matches ?? [])].sort(), s.js, s.world ?? 'ISOLATED', s.runAt, Boolean(s.allFrames)]).sort());
  return norm(have) === norm(want);
}

async function setPaused(origin, paused) {
  const set = new Set(mem.paused);
  if (paused) set.add(origin);
  else set.delete(origin);
  mem.paused = normaliseOrigins([...set]);
  await api.storage.local.set({ [STORAGE.PAUSED]: mem.paused });
  await Promise.all([applyRules(), applyContentScript()]);
  for (const [id, tab] of Object.entries(mem.tabs)) {
    if (tab.origin !== origin) continue;
    if (paused) setTab(Number(id), onPaused(tab, origin));
    else await documentArrived(Number(id), origin, mem.advertised[origin] ?? undefined, await isIncognito(Number(id)));
  }
}

// ---------------------------------------------------------------- tab state

let saveTimer = null;
function saveTabs() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    api.storage.session.set({ [STORAGE.TABS]: mem.tabs, [STORAGE.ADVERTISED]: mem.advertised })
      .catch((err) => console.warn('r-button: saving tab state:', err));
  }, TAB_SAVE_DEBOUNCE_MS);
}

function setTab(tabId, tab) {
  const wasPaused = mem.tabs[tabId]?.state === STATE.PAUSED;
  mem.tabs[tabId] = tab;
  saveTabs();
  paint(tabId);
  if (gecko && wasPaused !== (tab.state === STATE.PAUSED)) applyRules();
}

/** Shows tab `tabId`'s state on its r-button (lib/paint.js skips what is already shown). */
function paint(tabId) {
  const tab = mem.tabs[tabId] ?? emptyTab();
  return painter.paint(tabId, { icon: iconFor(tab.state), title: titleFor(tab.state, tab.origin) });
}

// tabId -> incognito: a tab never changes windows between private and not, so
// this is asked of the browser once per tab and worker life, not per navigation.
const incognitoTabs = new Map();

async function isIncognito(tabId) {
  if (incognitoTabs.has(tabId)) return incognitoTabs.get(tabId);
  try {
    const incognito = (await api.tabs.get(tabId)).incognito === true;
    incognitoTabs.set(tabId, incognito);
    return incognito;
  } catch {
    return false;
  }
}

function hostDown() {
  return mem.hostStatus !== null && mem.hostStatus.ok === false;
}

/** A top-level document of `origin` is in tab `tabId`; advertisement undefined = not observed. */
async function documentArrived(tabId, origin, advertisement, incognito) {
  const mayNegotiate = !incognito || mem.settings.negotiateInPrivate === true;
  const known = origin ? mem.relationships[origin] ?? null : null;
  const { tab, negotiate } = onDocument({
    origin, advertisement, paused: Boolean(origin) && mem.paused.includes(origin), mayNegotiate, known, hostDown: hostDown(),
  });
  if (origin && !mayNegotiate && tab.state === STATE.NO_AGREEMENT) tab.error = 'private';
  setTab(tabId, tab);
  if (negotiate) negotiateSite(origin, tab.advertisement).catch(() => {});
}

const inflight = new Map();
/** Asks the host to negotiate with `origin`; one call per origin at a time. */
/**
 * Asks the host to negotiate with `origin`. The host answers from its store
 * when neither the site's terms nor mine changed; `force` (the user pressed
 * Renegotiate) makes it ask the site again.
 */
function negotiateSite(origin, advertisement, { force = false } = {}) {
  if (inflight.has(origin)) return inflight.get(origin);
  const p = (async () => {
    try {
      const params = { site: origin, advertisement };
      if (force) params.force = true;
      const rel = await host.call('negotiate', params);
      hostOk();
      await relationshipKnown(origin, rel);
      return rel;
    } catch (err) {
      hostFailed(err);
      for (const [id, tab] of Object.entries(mem.tabs)) {
        if (tab.origin === origin) setTab(Number(id), onHostError(tab, origin, err.kind ?? 'transport', err.code));
      }
      throw err;
    } finally {
      inflight.delete(origin);
    }
  })();
  inflight.set(origin, p);
  return p;
}

/**
 * "What they hold about me". The host signs a data-return request and the
 * browser sends it with the site's own first-party cookies, so the site can
 * return the browsing it filed under them (PROTOCOL.md 13.1); the host then
 * checks the answer and records it. Only the visited site's own endpoint is
 * contacted, and nothing but its own cookies goes with the request.
 */
async function fetchDataReturn(origin) {
  const req = await host.call('data.request', { site: origin });
  if (originOf(req.url) !== origin) throw new Error('the helper gave a data-return address on another site');
  let resp;
  try {
    resp = await fetch(req.url, {
      method: 'POST', headers: { 'Content-Type': req.contentType }, body: req.body,
      credentials: 'include', redirect: 'error', cache: 'no-store', referrerPolicy: 'no-referrer',
    });
  } catch (err) {
    throw new Error(`could not reach ${origin} for its data: ${err.message}`);
  }
  const body = await resp.text();
  if (!resp.ok) {
    let detail = '';
    try {
      const doc = JSON.parse(body);
      detail = `: ${doc.error} (${doc.message})`;
    } catch {
      // not an error document; the status says enough
    }
    throw new Error(`${origin} answered ${resp.status}${detail}`);
  }
  return host.call('data.accept', { site: origin, body });
}

/** Records the host's relationship for `origin` and repaints its tabs. */
async function relationshipKnown(origin, rel) {
  const before = JSON.stringify(agreedDigests());
  if (rel) {
    mem.relationships[origin] = { state: rel.state, termsDigest: rel.termsDigest ?? null, agreedDigest: rel.agreedDigest ?? null };
  } else {
    delete mem.relationships[origin];
  }
  await api.storage.local.set({ [STORAGE.RELATIONSHIPS]: mem.relationships });
  if (JSON.stringify(agreedDigests()) !== before) await applyRules();
  for (const [id, tab] of Object.entries(mem.tabs)) {
    if (tab.origin === origin) setTab(Number(id), onRelationship(tab, origin, rel));
  }
}

/**
 * The user's terms (all, or one site's exception) changed: forget the terms
 * digest we last negotiated at, so the next visit negotiates again even if
 * the site's terms are the same. Header rules keep the current agreements.
 */
async function termsChanged(origin) {
  for (const [o, r] of Object.entries(mem.relationships)) {
    if (origin === null || o === origin) mem.relationships[o] = { ...r, termsDigest: null };
  }
  await api.storage.local.set({ [STORAGE.RELATIONSHIPS]: mem.relationships });
}

function hostOk(hello) {
  const prev = mem.hostStatus;
  mem.hostStatus = { ok: true, version: hello?.version ?? prev?.version ?? null, checked: Date.now() };
  api.storage.session.set({ [STORAGE.HOST]: mem.hostStatus }).catch(() => {});
}

function hostFailed(err) {
  if (!(err instanceof HostError) || (err.kind !== 'unavailable' && err.kind !== 'outdated')) return;
  mem.hostStatus = { ok: false, kind: err.kind, message: err.message, checked: Date.now() };
  api.storage.session.set({ [STORAGE.HOST]: mem.hostStatus }).catch(() => {});
}

async function checkHost(force = false) {
  if (!force && mem.hostStatus && Date.now() - mem.hostStatus.checked < HELLO_TTL_MS) return mem.hostStatus;
  try {
    hostOk(await host.hello());
  } catch (err) {
    if (err instanceof HostError && (err.kind === 'unavailable' || err.kind === 'outdated')) hostFailed(err);
    else mem.hostStatus = { ok: false, kind: err.kind ?? 'transport', message: err.message, checked: Date.now() };
  }
  return mem.hostStatus;
}

/**
 * At start: repaint known tabs and work out the ones we know nothing about.
 * The host is asked for its relationships once per browser session (or on
 * Retry), not at every worker wake-up: each call spawns it.
 */
async function restoreTabs({ askHost = !mem.restored } = {}) {
  const tabs = await api.tabs.query({});
  const open = new Set(tabs.map((t) => String(t.id)));
  for (const id of Object.keys(mem.tabs)) if (!open.has(id)) delete mem.tabs[id];
  const status = askHost ? await checkHost() : { ok: false };
  if (askHost && status.ok) {
    mem.restored = true;
    api.storage.session.set({ [STORAGE.RESTORED]: true }).catch(() => {});
    try {
      const list = await host.call('relationship.list', {});
      const fresh = {};
      for (const r of Array.isArray(list) ? list : []) {
        if (r && typeof r.site === 'string') fresh[r.site] = { state: r.state, termsDigest: r.termsDigest ?? null, agreedDigest: r.agreedDigest ?? null };
      }
      const changed = JSON.stringify(fresh) !== JSON.stringify(mem.relationships);
      mem.relationships = fresh;
      if (changed) {
        await api.storage.local.set({ [STORAGE.RELATIONSHIPS]: fresh });
        await applyRules();
      }
    } catch (err) {
      hostFailed(err);
    }
  }
  // Asking the host took time: documents may have arrived meanwhile, so
  // look at the tabs as they are now, not as they were before.
  for (const t of await api.tabs.query({})) {
    const origin = originOf(t.url ?? '');
    const cur = mem.tabs[t.id];
    if (cur?.origin && origin !== cur.origin && t.status === 'loading') {
      // We saw the response of a document the tab has not committed yet.
      paint(t.id);
      continue;
    }
    if (cur && cur.origin === origin && cur.state !== STATE.HOST_UNAVAILABLE && cur.state !== STATE.NEGOTIATING) {
      // Worker restart: the state survived in storage.session; refresh the agreed/conflict split.
      if (origin && mem.relationships[origin] && cur.state !== STATE.PAUSED && cur.state !== STATE.NO_DIALOG) {
        setTab(t.id, onRelationship(cur, origin, mem.relationships[origin]));
      } else {
        paint(t.id);
      }
      continue;
    }
    // Browser restart, or a state interrupted mid-negotiation: recompute.
    await documentArrived(t.id, origin, origin ? mem.advertised[origin] ?? undefined : null, t.incognito === true);
  }
  saveTabs();
}

// ---------------------------------------------------------------- events

function headerValue(headers, name) {
  const lower = name.toLowerCase();
  const values = (headers ?? []).filter((h) => h.name.toLowerCase() === lower).map((h) => h.value ?? '');
  return values.length ? values.join(', ') : null;
}

api.webRequest.onHeadersReceived.addListener(
  (details) => {
    if (details.tabId < 0 || details.type !== 'main_frame') return;
    if (details.statusCode >= 300 && details.statusCode < 400) return; // a redirect: wait for the final document
    const origin = originOf(details.url);
    const advertisement = headerValue(details.responseHeaders, RESPONSE_HEADER);
    ready.then(async () => {
      if (origin) {
        if (advertisement && tryParseAdvertisement(advertisement)) mem.advertised[origin] = advertisement;
        else delete mem.advertised[origin];
      }
      const incognito = details.incognito ?? (await isIncognito(details.tabId));
      await documentArrived(details.tabId, origin, advertisement, incognito);
    }).catch((err) => console.warn('r-button:', err));
  },
  { urls: ['http://*/*', 'https://*/*'], types: ['main_frame'] },
  ['responseHeaders'],
);

api.tabs.onUpdated.addListener((tabId, changeInfo, tab) => {
  incognitoTabs.set(tabId, tab.incognito === true);
  if (!changeInfo.url && !changeInfo.status) return;
  ready.then(async () => {
    const origin = originOf(tab.url ?? '');
    const cur = mem.tabs[tabId];
    if (cur?.origin && origin !== cur.origin && !changeInfo.url) {
      // We saw the response of a document the tab has not committed yet (a
      // new tab still says about:blank): the tab's URL is behind, not us.
      paint(tabId);
      return;
    }
    if (!cur || cur.origin !== origin) {
      // No response observed for this document (history cache, restored tab, non-web page).
      await documentArrived(tabId, origin, origin ? mem.advertised[origin] ?? undefined : null, tab.incognito === true);
    } else {
      // Firefox resets per-tab action settings on navigation: paint again.
      paint(tabId);
    }
  }).catch((err) => console.warn('r-button:', err));
});

api.tabs.onActivated.addListener(({ tabId }) => {
  ready.then(() => paint(tabId)).catch(() => {});
});

api.tabs.onRemoved.addListener((tabId) => {
  ready.then(() => {
    const wasPaused = mem.tabs[tabId]?.state === STATE.PAUSED;
    delete mem.tabs[tabId];
    painter.forget(tabId);
    incognitoTabs.delete(tabId);
    saveTabs();
    if (gecko && wasPaused) applyRules();
  }).catch(() => {});
});

api.tabs.onReplaced?.addListener((added, removed) => {
  ready.then(() => {
    if (mem.tabs[removed]) mem.tabs[added] = mem.tabs[removed];
    delete mem.tabs[removed];
    saveTabs();
    paint(added);
  }).catch(() => {});
});

api.storage.onChanged.addListener((changes, area) => {
  if (area !== 'local' || !changes[STORAGE.PAUSED]) return;
  ready.then(() => {
    const next = normaliseOrigins(changes[STORAGE.PAUSED].newValue ?? []);
    if (JSON.stringify(next) === JSON.stringify(mem.paused)) return;
    const was = mem.paused;
    mem.paused = next;
    applyRules();
    applyContentScript();
    for (const [id, tab] of Object.entries(mem.tabs)) {
      if (!tab.origin || was.includes(tab.origin) === next.includes(tab.origin)) continue;
      documentArrived(Number(id), tab.origin, mem.advertised[tab.origin] ?? undefined, false);
    }
  }).catch(() => {});
});

// ---------------------------------------------------------------- pages

const HOST_PASSTHROUGH = new Set(['hello', 'terms.get', 'terms.set', 'relationship.list', 'relationship.get', 'exception.clear', 'export']);

function errorReply(err) {
  return { ok: false, error: { kind: err?.kind ?? 'internal', code: err?.code ?? null, message: err?.message ?? String(err) } };
}

async function tabInfo(tabId) {
  let tab = mem.tabs[tabId];
  if (!tab) {
    let t = null;
    try {
      t = await api.tabs.get(tabId);
    } catch {
      // no such tab
    }
    const origin = t ? originOf(t.url ?? '') : null;
    await documentArrived(tabId, origin, origin ? mem.advertised[origin] ?? undefined : null, t?.incognito === true);
    tab = mem.tabs[tabId];
  }
  return tab;
}

/** A tab-less view of a site (options page → relationship): state from what the host said. */
function siteInfo(origin) {
  const { tab } = onDocument({
    origin, advertisement: undefined, paused: mem.paused.includes(origin), mayNegotiate: true, known: mem.relationships[origin] ?? null,
  });
  tab.advertisement = mem.advertised[origin] ?? null;
  return tab;
}

async function buildPopup(tabId, siteOrigin) {
  const tab = siteOrigin ? siteInfo(siteOrigin) : await tabInfo(tabId);
  const origin = tab.origin;
  const signals = origin ? signalsFor(origin, { paused: mem.paused, agreed: agreedDigests() }) : null;
  const status = await checkHost();
  let rel = null;
  let history = null;
  let hostStatus = status;
  if (origin && status.ok && isNegotiable(origin)) {
    try {
      rel = await host.call('relationship.get', { site: origin });
      if (rel) history = await host.call('history.get', { site: origin });
    } catch (err) {
      hostFailed(err);
      hostStatus = err.kind === 'unavailable' || err.kind === 'outdated' ? mem.hostStatus : status;
    }
  }
  return popupView({ tab: { ...tab, tabId }, signals, rel, history, host: hostStatus });
}

async function handleMessage(msg) {
  await ready;
  switch (msg?.type) {
    case MSG.POPUP_GET:
      if (msg.site) {
        const origin = originOf(msg.site);
        if (!origin) throw new Error('not a web origin');
        return { ok: true, view: await buildPopup(null, origin) };
      }
      return { ok: true, view: await buildPopup(Number(msg.tabId)) };
    case MSG.PAUSE:
    case MSG.RESUME: {
      const origin = originOf(msg.origin);
      if (!origin) throw new Error('not a web origin');
      await setPaused(origin, msg.type === MSG.PAUSE);
      return { ok: true };
    }
    case MSG.RENEGOTIATE: {
      const origin = originOf(msg.origin);
      const advertisement = mem.advertised[origin];
      if (!advertisement) throw new Error('this site has not offered dialog in this session; reload the page');
      for (const [id, tab] of Object.entries(mem.tabs)) {
        if (tab.origin === origin && tab.state !== STATE.PAUSED) setTab(Number(id), { ...tab, state: STATE.NEGOTIATING });
      }
      inflight.delete(origin);
      return { ok: true, relationship: await negotiateSite(origin, advertisement, { force: true }) };
    }
    case MSG.END: {
      const origin = originOf(msg.origin);
      const rel = await host.call('relationship.end', { site: origin });
      await relationshipKnown(origin, rel && typeof rel === 'object' && rel.site ? rel : { ...(mem.relationships[origin] ?? {}), state: 'ended', agreedDigest: null });
      return { ok: true };
    }
    case MSG.DATA: {
      const origin = originOf(msg.origin);
      return { ok: true, data: dataView(await fetchDataReturn(origin)) };
    }
    case MSG.ALLOW: {
      const origin = originOf(msg.origin);
      const problems = userTermsProblems(msg.terms);
      if (problems.length) throw new Error(`invalid terms: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
      await host.call('exception.set', { site: origin, terms: msg.terms });
      await termsChanged(origin);
      const advertisement = mem.advertised[origin];
      if (advertisement) {
        inflight.delete(origin);
        await negotiateSite(origin, advertisement);
      }
      return { ok: true };
    }
    case MSG.HOST: {
      if (!HOST_PASSTHROUGH.has(msg.call)) throw new Error(`not allowed: ${msg.call}`);
      const result = await host.call(msg.call, msg.params ?? {});
      hostOk();
      if (msg.call === 'terms.set' || msg.call === 'exception.clear') await termsChanged(msg.call === 'terms.set' ? null : originOf(msg.params?.site));
      return { ok: true, result };
    }
    case MSG.RETRY_HOST: {
      const status = await checkHost(true);
      if (status.ok) restoreTabs({ askHost: true }).catch(() => {});
      return { ok: true, host: status };
    }
    case MSG.OPTIONS_GET:
      return {
        ok: true,
        paused: mem.paused,
        settings: mem.settings,
        host: await checkHost(),
        relationships: mem.relationships,
      };
    case MSG.SETTINGS_SET: {
      mem.settings = { ...mem.settings, negotiateInPrivate: msg.settings?.negotiateInPrivate === true };
      await api.storage.local.set({ [STORAGE.SETTINGS]: mem.settings });
      return { ok: true, settings: mem.settings };
    }
    default:
      throw new Error(`unknown message ${JSON.stringify(msg?.type)}`);
  }
}

api.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  // Only our own pages talk to the worker (content scripts run in MAIN world and cannot).
  if (sender.id !== api.runtime.id || !String(sender.url ?? '').startsWith(api.runtime.getURL(''))) return false;
  handleMessage(msg).then(sendResponse, (err) => {
    hostFailed(err);
    sendResponse(errorReply(err));
  });
  return true;
});
