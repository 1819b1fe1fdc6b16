// The r-button controller: everything the service worker (Chromium) or event
// page (Firefox) decides, over one state, with every browser API injected so
// node --test reaches it (extension/test/controller.test.js). background.js
// only wires browser events to the handlers returned here.
//
// Jobs, each a section below, all over `mem`:
// - rules: the header rules (lib/rules.js) and navigator scripts installed in
//   the browser, always rebuilt from `mem` and serialised;
// - tabs: per-tab r-button state (lib/tabstate.js) and the top-level origin
//   of each tab (which tabs may carry an agreed digest);
// - negotiation: asking the host to negotiate, one call per site at a time;
// - changes: the host's change counter (PROTOCOL.md 20, `changes`), which
//   brings withdrawals made anywhere (this browser, another one, the CLI)
//   into the header rules;
// - views: what the popup and options page are shown, and their actions.

import {
  STATE, STORAGE, MSG, DEFAULT_SETTINGS, TAB_SAVE_DEBOUNCE_MS, HELLO_TTL_MS, HOST_STORE_PROBLEMS, CHANGES_NAV_MIN_MS, STATIC_RULESET,
} from './constants.js';
import { HostError } from './host.js';
import { buildRules, buildContentScripts, normaliseOrigins, signalsFor, CONTENT_SCRIPT_ID, PAUSED_SCRIPT_PREFIX } from './rules.js';
import { onDocument, onRelationship, onHostError, onPaused, emptyTab } from './tabstate.js';
import { lookFor } from './paint.js';
import { originOf, isNegotiable } from './origin.js';
import { popupView, dataView } from './viewmodel.js';
import { userTermsProblems } from './terms.js';
import { tryParseAdvertisement, isDigest } from './advert.js';
import { probePage, mytermsPath } from './honour.js';
import { complianceRegistration, complianceParams, cookieOrigins, COMPLIANCE_SCRIPT_ID } from './compliance.js';

/** Host calls the options page may make directly through the worker. */
const HOST_PASSTHROUGH = Object.freeze(['hello', 'terms.get', 'terms.set', 'relationship.list', 'relationship.get', 'exception.clear', 'export',
  // What I keep and my details (PROTOCOL.md 13.3, 20), for the popup and the options page.
  'data.get', 'profile.get', 'profile.set', 'profile.share', 'profile.push', 'profile.default']);
/** Host calls after which what the browser signals may have changed (withdrawal): rules are refreshed before replying. */
const WITHDRAWING_CALLS = new Set(['terms.set', 'exception.set', 'exception.clear']);

/** The relationship summary kept per site: what header rules and icons need. */
function summary(rel) {
  return { state: rel.state, termsDigest: rel.termsDigest ?? null, agreedDigest: rel.agreedDigest || null };
}

/** Errors that are about the user's host installation or database, not one call. */
function hostProblemOf(err) {
  if (!(err instanceof HostError)) return null;
  if (err.kind === 'unavailable' || err.kind === 'outdated') return { ok: false, kind: err.kind, message: err.message };
  if (err.kind === 'remote' && HOST_STORE_PROBLEMS.includes(err.code)) return { ok: false, kind: 'store', code: err.code, message: err.message };
  return null;
}

/**
 * @param {object} deps
 * @param {object} deps.dnr        declarativeNetRequest: getDynamicRules, updateDynamicRules, getSessionRules, updateSessionRules
 * @param {string[]} deps.resourceTypes  every resource type the browser knows
 * @param {object} deps.scripting  getRegisteredContentScripts, registerContentScripts, unregisterContentScripts
 * @param {object} deps.storage    {local: {get, set}, session: {get, set}}
 * @param {object} deps.tabs       tabs.query, tabs.get
 * @param {object} deps.host       lib/host.js client: call, hello
 * @param {object} deps.painter    lib/paint.js painter: paint, forget
 * @param {Function} [deps.fetch]  fetch, for the data return
 * @param {boolean} [deps.gecko]   Firefox: port-checking navigator scripts (lib/rules.js)
 * @param {() => number} [deps.now]
 * @param {Function} [deps.setTimer] @param {Function} [deps.clearTimer]
 * @param {object} [deps.log]      console-like
 * @param {object} [deps.cookies]  cookies.getAll, for the compliance watch's third-party cookies (optional)
 */
export function createController({
  dnr, resourceTypes, scripting, storage, tabs, host, painter, fetch = globalThis.fetch, gecko = false,
  now = () => Date.now(), setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (t) => clearTimeout(t), log = console, cookies = null,
}) {
  const mem = {
    paused: [],
    settings: { ...DEFAULT_SETTINGS },
    relationships: {}, // origin -> {state, termsDigest, agreedDigest}
    generation: null, // the host's change counter the relationships reflect (null: unknown)
    tabs: {}, // tabId -> TabState (the r-button)
    top: {}, // tabId -> origin of the tab's top-level document, from its navigation request on
    advertised: {}, // origin -> raw DNT-D value last seen
    hostStatus: null, // {ok, kind, message, version, checked}
  };

  // ------------------------------------------------------------------ rules

  function agreedDigests() {
    const out = {};
    for (const [origin, r] of Object.entries(mem.relationships)) {
      if (r && r.state === 'agreed' && isDigest(r.agreedDigest)) out[origin] = r.agreedDigest;
    }
    return out;
  }

  function tabsWhere(pred) {
    return Object.entries(mem.top).filter(([, o]) => o && pred(o)).map(([id]) => Number(id));
  }

  /** origin -> tab ids whose top-level document is that agreed origin. */
  function agreedTabIds(agreed) {
    const out = {};
    for (const origin of Object.keys(agreed)) {
      const ids = tabsWhere((o) => o === origin);
      if (ids.length) out[origin] = ids;
    }
    return out;
  }

  function pausedTabIds() {
    return tabsWhere((o) => mem.paused.includes(o));
  }

  function wantedRules() {
    const agreed = agreedDigests();
    return buildRules({
      paused: mem.paused, agreed, agreedTabs: agreedTabIds(agreed), resourceTypes, pausedTabIds: pausedTabIds(), sendDNT: sendsDNT(),
    });
  }

  const sendsDNT = () => mem.settings.sendDNT !== false;

  let rulesChain = Promise.resolve();
  let applied = { dynamic: null, session: null };
  /** Makes the browser's dynamic and session rules what `mem` says; serialised, a no-op when nothing differs. */
  function applyRules() {
    rulesChain = rulesChain.then(async () => {
      const { dynamic, session } = wantedRules();
      const dyn = JSON.stringify(dynamic);
      const ses = JSON.stringify(session);
      // Both rule sets outlive the worker: a restarted worker compares before
      // it writes, since every write resets Chromium's allowAllRequests
      // decisions for open frames (lib/rules.js).
      // Once this worker has written (or compared) them, it knows what they
      // are: no read before the next write.
      if (dyn !== applied.dynamic) {
        const old = applied.dynamic === null ? await dnr.getDynamicRules() : JSON.parse(applied.dynamic);
        applied.dynamic = null; // unknown until the write settles
        if (!sameRules(old, dynamic)) await dnr.updateDynamicRules({ removeRuleIds: old.map((r) => r.id), addRules: dynamic });
        applied.dynamic = dyn;
      }
      // The static ruleset sends DNT on every request from install on; with
      // DNT off it is disabled and the dynamic rule (without DNT) does its job.
      // Asked before written, like the dynamic rules: no write when nothing changes.
      if (typeof dnr.updateEnabledRulesets === 'function' && applied.staticOn !== sendsDNT()) {
        const on = sendsDNT();
        const enabled = typeof dnr.getEnabledRulesets === 'function' ? (await dnr.getEnabledRulesets()).includes(STATIC_RULESET) : !on;
        if (enabled !== on) await dnr.updateEnabledRulesets(on ? { enableRulesetIds: [STATIC_RULESET] } : { disableRulesetIds: [STATIC_RULESET] });
        applied.staticOn = on;
      }
      if (ses !== applied.session) {
        const old = applied.session === null ? await dnr.getSessionRules() : JSON.parse(applied.session);
        applied.session = null;
        if (!sameRules(old, session)) await dnr.updateSessionRules({ removeRuleIds: old.map((r) => r.id), addRules: session });
        applied.session = ses;
      }
    }).catch((err) => {
      applied = { dynamic: null, session: null };
      log.error('r-button: installing header rules failed:', err);
    });
    return rulesChain;
  }

  /** Whether the browser's rules `have` are `want` (browsers may add defaults to what they return). */
  function sameRules(have, want) {
    if (have.length !== want.length) return false;
    const byId = new Map(have.map((r) => [r.id, r]));
    const covers = (h, w) => (w !== null && typeof w === 'object'
      ? h !== null && typeof h === 'object' && Array.isArray(h) === Array.isArray(w)
        && (!Array.isArray(w) || h.length === w.length) && Object.keys(w).every((k) => covers(h[k], w[k]))
      : h === w);
    return want.every((w) => covers(byId.get(w.id), w));
  }

  let scriptChain = Promise.resolve();
  let moafSupported = true;
  /** Registers the navigator-signal scripts, never on paused sites; serialised. */
  function applyContentScript() {
    scriptChain = scriptChain.then(async () => {
      const build = () => buildContentScripts({ paused: mem.paused, matchOriginAsFallback: moafSupported, portsInPatterns: !gecko, sendDNT: sendsDNT() });
      const want = build();
      const ours = (await scripting.getRegisteredContentScripts())
        .filter((c) => c.id === CONTENT_SCRIPT_ID || c.id.startsWith(PAUSED_SCRIPT_PREFIX));
      if (sameRegistrations(ours, want)) return;
      if (ours.length) await scripting.unregisterContentScripts({ ids: ours.map((c) => c.id) });
      try {
        await scripting.registerContentScripts(want);
      } catch (err) {
        if (!moafSupported) throw err;
        // A browser without matchOriginAsFallback: register without it.
        moafSupported = false;
        await scripting.registerContentScripts(build());
      }
    }).catch((err) => log.error('r-button: registering the navigator scripts failed:', err));
    return scriptChain;
  }

  function sameRegistrations(have, want) {
    const norm = (list) => JSON.stringify(list.map((s) => [s.id, [...(s.excludeMatches ?? [])].sort(), [...(s.matches ?? [])].sort(), s.js, s.world ?? 'ISOLATED', s.runAt, Boolean(s.allFrames)]).sort());
    return norm(have) === norm(want);
  }

  let complianceChain = Promise.resolve();
  let complianceApplied = null;
  /**
   * Registers the compliance watch (content/compliance.js, lib/compliance.js)
   * on the agreed, unpaused origins only, so no other site's page runs it or
   * wakes the worker; serialised, a no-op when nothing changed.
   */
  function applyComplianceScript() {
    const want = complianceRegistration(Object.keys(agreedDigests()), { paused: mem.paused, portsInPatterns: !gecko });
    const key = JSON.stringify(want);
    if (key === complianceApplied) return complianceChain;
    complianceApplied = key;
    complianceChain = complianceChain.then(async () => {
      const have = (await scripting.getRegisteredContentScripts()).filter((c) => c.id === COMPLIANCE_SCRIPT_ID);
      if (want && sameRegistrations(have, [want])) return;
      if (have.length) await scripting.unregisterContentScripts({ ids: [COMPLIANCE_SCRIPT_ID] });
      if (want) await scripting.registerContentScripts([want]);
    }).catch((err) => {
      complianceApplied = null;
      log.error('r-button: registering the compliance watch failed:', err);
    });
    return complianceChain;
  }

  async function setPaused(origin, paused) {
    const set = new Set(mem.paused);
    if (paused) set.add(origin);
    else set.delete(origin);
    await pausedChanged(normaliseOrigins([...set]));
    await storage.local.set({ [STORAGE.PAUSED]: mem.paused });
  }

  /** The paused list is `next` (from this worker, or another extension page via storage). */
  async function pausedChanged(next) {
    if (JSON.stringify(next) === JSON.stringify(mem.paused)) return;
    const was = mem.paused;
    mem.paused = next;
    await Promise.all([applyRules(), applyContentScript(), applyComplianceScript()]);
    for (const [id, tab] of Object.entries(mem.tabs)) {
      if (!tab.origin || was.includes(tab.origin) === next.includes(tab.origin)) continue;
      if (next.includes(tab.origin)) setTab(Number(id), onPaused(tab, tab.origin));
      else await documentArrived(Number(id), tab.origin, mem.advertised[tab.origin] ?? undefined, await isIncognito(Number(id)));
    }
  }

  // ------------------------------------------------------------------- tabs

  /**
   * What storage.session keeps of the tabs for a restarted worker: only what
   * restoreTabs could not work out again from the open tabs and storage.local.
   * A tab on a site with no relationship and no dialog (or on no web page)
   * is left out, and so is its top-level origin unless that origin is agreed
   * or paused (the only ones the rules name), so browsing such sites writes
   * nothing.
   */
  function tabsToKeep() {
    const tabsOut = {};
    for (const [id, t] of Object.entries(mem.tabs)) {
      const plain = t.state === STATE.NONE || (t.state === STATE.NO_DIALOG && !(t.origin && mem.relationships[t.origin]));
      if (!plain) tabsOut[id] = t;
    }
    const agreed = agreedDigests();
    const topOut = {};
    for (const [id, o] of Object.entries(mem.top)) if (o in agreed || mem.paused.includes(o)) topOut[id] = o;
    return { [STORAGE.TABS]: tabsOut, [STORAGE.TOP]: topOut, [STORAGE.ADVERTISED]: mem.advertised };
  }

  let saveTimer = null;
  let saved = null; // JSON of what storage.session holds (null: unknown)
  function saveTabs() {
    clearTimer(saveTimer);
    saveTimer = setTimer(() => {
      const keep = tabsToKeep();
      const json = JSON.stringify(keep);
      if (json === saved) return;
      saved = json;
      storage.session.set(keep).catch((err) => {
        saved = null;
        log.warn('r-button: saving tab state:', err);
      });
    }, TAB_SAVE_DEBOUNCE_MS);
  }

  /** Tab `tabId` is in `tab` now; `show` false: the state is kept but not painted (see onDocumentResponse). */
  function setTab(tabId, tab, { show = true } = {}) {
    mem.tabs[tabId] = tab;
    saveTabs();
    if (show) paint(tabId);
  }

  /** Shows tab `tabId`'s state on its r-button (lib/paint.js skips what is already shown). */
  function paint(tabId) {
    const tab = mem.tabs[tabId] ?? emptyTab();
    return painter.paint(tabId, lookFor(tab));
  }

  /**
   * Tab `tabId`'s top-level document is (about to be) of `origin`. Called from
   * the navigation request on, before the response: a tab leaving an agreed
   * site stops carrying its digest before the new page can request anything.
   * Rules change only when the tab enters or leaves an agreed or paused site.
   */
  function setTop(tabId, origin) {
    const was = mem.top[tabId] ?? null;
    if (origin) mem.top[tabId] = origin;
    else delete mem.top[tabId];
    if (was === (origin ?? null)) return Promise.resolve();
    saveTabs();
    const agreed = agreedDigests();
    const matters = (o) => o && (o in agreed || mem.paused.includes(o));
    return matters(was) || matters(origin) ? applyRules() : Promise.resolve();
  }

  // tabId -> incognito: a tab never changes windows between private and not, so
  // this is asked of the browser once per tab and worker life, not per navigation.
  const incognitoTabs = new Map();
  // tabId -> {origin, url, tk, agreed}: the Tk answer to the tab's current
  // document, kept only for agreed sites and only in memory (a worker that
  // restarted claims nothing about it).
  const pageAnswers = new Map();

  async function isIncognito(tabId) {
    if (incognitoTabs.has(tabId)) return incognitoTabs.get(tabId);
    try {
      const incognito = (await tabs.get(tabId)).incognito === true;
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
  async function documentArrived(tabId, origin, advertisement, incognito, { show = true } = {}) {
    const mayNegotiate = !incognito || mem.settings.negotiateInPrivate === true;
    const known = origin ? mem.relationships[origin] ?? null : null;
    const { tab, negotiate } = onDocument({
      origin, advertisement, paused: Boolean(origin) && mem.paused.includes(origin), mayNegotiate, known, hostDown: hostDown(),
    });
    if (origin && !mayNegotiate && tab.state === STATE.NO_AGREEMENT) tab.error = 'private';
    setTab(tabId, tab, { show });
    if (negotiate) negotiateSite(origin, tab.advertisement).catch(() => {});
  }

  // ------------------------------------------------------------ negotiation

  const inflight = new Map();
  /**
   * Asks the host to negotiate with `origin`; one call per origin at a time.
   * The host answers from its store when neither the site's terms nor mine
   * changed; `force` (the user pressed Renegotiate) makes it ask the site
   * again. A host that dies mid-call is asked again (lib/host.js retries
   * negotiate): the host reuses the site's pairwise key, so the retry is the
   * same relationship at the site, never a second agreement.
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
          if (tab.origin === origin) setTab(Number(id), onHostError(tab, origin, hostProblemOf(err) ? 'unavailable' : err.kind ?? 'transport', err.code));
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
    const status = resp.status;
    const contentType = resp.headers?.get?.('content-type') ?? '';
    if (!resp.ok && body === '') throw new Error(`${origin} answered ${status} with no body`);
    // The host checks status and media type as it checks its own requests'
    // answers (PROTOCOL.md 10.6, 10.7): a 404 not_found or 410 ended ends the
    // relationship there, so the rules must learn of it at once.
    try {
      return await host.call('data.accept', { site: origin, body, status, contentType });
    } catch (err) {
      if (!resp.ok) await syncChanges().catch(() => {});
      throw err;
    }
  }

  /** Records the host's relationship for `origin` (null: none), updates the rules if its digest changed, repaints its tabs. */
  async function relationshipKnown(origin, rel) {
    const before = JSON.stringify(agreedDigests());
    if (rel) mem.relationships[origin] = summary(rel);
    else delete mem.relationships[origin];
    await storage.local.set({ [STORAGE.RELATIONSHIPS]: mem.relationships });
    if (JSON.stringify(agreedDigests()) !== before) await Promise.all([applyRules(), applyComplianceScript()]);
    for (const [id, tab] of Object.entries(mem.tabs)) {
      if (tab.origin === origin) setTab(Number(id), onRelationship(tab, origin, rel));
    }
  }

  // ---------------------------------------------------------------- changes

  /**
   * Replaces the stored relationships with the host's list. Sites whose
   * agreement the host no longer holds lose their digest at once; a site
   * whose relationship changed in any way (withdrawn, ended, renegotiated
   * elsewhere) is asked about again on its next visit: its summary keeps no
   * terms digest, so onDocument negotiates, and the host answers from its
   * store when nothing changed for it, or renegotiates under the terms now
   * in force.
   */
  async function relationshipsKnown(list, generation) {
    const fresh = {};
    for (const r of Array.isArray(list) ? list : []) {
      if (r && typeof r.site === 'string') fresh[r.site] = summary(r);
    }
    const before = JSON.stringify(agreedDigests());
    const changedSites = new Set([...Object.keys(fresh), ...Object.keys(mem.relationships)]
      .filter((o) => JSON.stringify(fresh[o] ?? null) !== JSON.stringify(mem.relationships[o] ?? null)));
    for (const o of changedSites) if (fresh[o]) fresh[o].termsDigest = null;
    mem.relationships = fresh;
    mem.generation = generation;
    await storage.local.set({ [STORAGE.RELATIONSHIPS]: fresh, [STORAGE.GENERATION]: generation });
    if (JSON.stringify(agreedDigests()) !== before) await Promise.all([applyRules(), applyComplianceScript()]);
    for (const [id, tab] of Object.entries(mem.tabs)) {
      if (!tab.origin || !changedSites.has(tab.origin)) continue;
      if (tab.state === STATE.PAUSED || tab.state === STATE.NEGOTIATING || tab.state === STATE.NO_DIALOG) continue;
      setTab(Number(id), onRelationship(tab, tab.origin, fresh[tab.origin] ?? null));
    }
  }

  let syncing = null;
  let syncAgain = false;
  let lastSync = -Infinity; // when the host last answered `changes`
  /**
   * Brings the relationships (and so the header rules) up to the host's
   * change counter: one `changes` call, which returns the list only when
   * something changed since `mem.generation`. Concurrent calls share one
   * round trip; a call made while one is running starts another after it,
   * so a caller always sees a check that began after it asked.
   */
  /** The last `changes` said a detail update owed to a site is due (PROTOCOL.md 20). */
  let detailsDue = false;
  function syncChanges() {
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      try {
        do {
          syncAgain = false;
          const res = await host.call('changes', { since: mem.generation ?? 0 });
          lastSync = now();
          detailsDue = res?.detailsDue === true;
          hostOk();
          const generation = Number.isInteger(res?.generation) ? res.generation : null;
          if (res?.relationships !== null && res?.relationships !== undefined) await relationshipsKnown(res.relationships, generation);
          else if (mem.generation !== generation) {
            mem.generation = generation;
            await storage.local.set({ [STORAGE.GENERATION]: generation });
          }
        } while (syncAgain);
      } catch (err) {
        hostFailed(err);
        throw err;
      } finally {
        syncing = null;
      }
    })();
    return syncing;
  }

  // ------------------------------------------------------------------- host

  function hostOk(hello) {
    const prev = mem.hostStatus;
    if (prev?.ok && !hello) return;
    mem.hostStatus = { ok: true, version: hello?.version ?? prev?.version ?? null, checked: now() };
    storage.session.set({ [STORAGE.HOST]: mem.hostStatus }).catch(() => {});
  }

  function hostFailed(err) {
    const problem = hostProblemOf(err);
    if (!problem) return;
    mem.hostStatus = { ...problem, checked: now() };
    storage.session.set({ [STORAGE.HOST]: mem.hostStatus }).catch(() => {});
  }

  async function checkHost(force = false) {
    if (!force && mem.hostStatus && now() - mem.hostStatus.checked < HELLO_TTL_MS) return mem.hostStatus;
    try {
      const hello = await host.hello();
      // The helper runs but cannot read the database: one state, with what to do.
      if (hello?.storeError) throw new HostError('remote', hello.storeError.message, { code: hello.storeError.code, type: 'hello' });
      hostOk(hello);
    } catch (err) {
      if (hostProblemOf(err)) hostFailed(err);
      else mem.hostStatus = { ok: false, kind: err.kind ?? 'transport', message: err.message, checked: now() };
    }
    return mem.hostStatus;
  }

  /**
   * At start: learn what changed while the worker slept, repaint known tabs
   * and work out the ones we know nothing about.
   */
  async function restoreTabs() {
    const open = await tabs.query({});
    const ids = new Set(open.map((t) => String(t.id)));
    for (const id of Object.keys(mem.tabs)) if (!ids.has(id)) delete mem.tabs[id];
    for (const id of Object.keys(mem.top)) if (!ids.has(id)) delete mem.top[id];
    for (const t of open) if (!(t.id in mem.top) && originOf(t.url ?? '')) mem.top[t.id] = originOf(t.url);
    await applyRules();
    try {
      await syncChanges();
    } catch {
      // hostStatus says what is wrong; the tabs below show it
    }
    // Asking the host took time: documents may have arrived meanwhile, so
    // look at the tabs as they are now, not as they were before.
    for (const t of await tabs.query({})) {
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

  // ----------------------------------------------------------------- start

  async function init(local, session) {
    mem.paused = normaliseOrigins(local[STORAGE.PAUSED] ?? []);
    mem.settings = { ...DEFAULT_SETTINGS, ...(local[STORAGE.SETTINGS] ?? {}) };
    mem.relationships = local[STORAGE.RELATIONSHIPS] ?? {};
    mem.generation = Number.isInteger(local[STORAGE.GENERATION]) ? local[STORAGE.GENERATION] : null;
    mem.tabs = session[STORAGE.TABS] ?? {};
    mem.top = session[STORAGE.TOP] ?? {};
    mem.advertised = session[STORAGE.ADVERTISED] ?? {};
    mem.hostStatus = session[STORAGE.HOST] ?? null;
    saved = JSON.stringify({ [STORAGE.TABS]: mem.tabs, [STORAGE.TOP]: mem.top, [STORAGE.ADVERTISED]: mem.advertised });
    await Promise.all([applyRules(), applyContentScript(), applyComplianceScript()]);
    // Not awaited: the host may be slow or absent, the signals must not wait.
    restoreTabs().catch((err) => log.warn('r-button: restoring tabs:', err));
  }

  const ready = Promise.all([
    storage.local.get([STORAGE.PAUSED, STORAGE.SETTINGS, STORAGE.RELATIONSHIPS, STORAGE.GENERATION]),
    storage.session.get([STORAGE.TABS, STORAGE.TOP, STORAGE.ADVERTISED, STORAGE.HOST]),
  ]).then(([local, session]) => init(local, session));

  // ---------------------------------------------------------------- events

  function headerValue(headers, name) {
    const lower = name.toLowerCase();
    const values = (headers ?? []).filter((h) => h.name.toLowerCase() === lower).map((h) => h.value ?? '');
    return values.length ? values.join(', ') : null;
  }

  // Tabs with a top-level navigation requested and not yet committed. Their
  // r-button is painted after the commit (onTabUpdated), not at the
  // response: the commit resets it to the defaults anyway.
  const navigating = new Set();

  /** Whether a tabs.onUpdated change may follow a new document's commit (which reset the tab's r-button). */
  function mayFollowCommit(changeInfo) {
    // Chromium: status "loading" comes after the commit (with the URL when it
    // changed; alone for a reload); a same-document navigation says so too,
    // which costs a paint, not a wrong button. Firefox: "loading" may come
    // before the commit, a reload's commit brings no URL change, so whatever
    // comes next ("complete" at the latest) is taken to follow a reset too.
    return changeInfo.status === 'loading' || changeInfo.url !== undefined || (gecko && changeInfo.status === 'complete');
  }

  /** webRequest.onBeforeRequest, main_frame: the tab's next top-level site (also every redirect hop). */
  async function onNavigationRequest({ tabId, type, url }) {
    if (tabId < 0 || type !== 'main_frame') return;
    navigating.add(tabId);
    await ready;
    const origin = originOf(url);
    await setTop(tabId, origin);
    // The agreement may have been withdrawn elsewhere (CLI, another browser)
    // since the last check: look now, so the page's own requests and the next
    // navigation follow. At most one host call per CHANGES_NAV_MIN_MS for
    // navigations to sites we hold an agreement with, none for any other site.
    if (origin && origin in agreedDigests() && now() - lastSync >= CHANGES_NAV_MIN_MS) await syncChanges().catch(() => {});
  }

  /** webRequest.onHeadersReceived, main_frame: the document's DNT-D advertisement. */
  async function onDocumentResponse({ tabId, type, url, statusCode, responseHeaders, incognito }, responseHeader) {
    if (tabId < 0 || type !== 'main_frame') return;
    if (statusCode >= 300 && statusCode < 400) return; // a redirect: wait for the final document
    const origin = originOf(url);
    const advertisement = headerValue(responseHeaders, responseHeader);
    await ready;
    if (origin) {
      if (advertisement && tryParseAdvertisement(advertisement)) mem.advertised[origin] = advertisement;
      else delete mem.advertised[origin];
    }
    // The compliance watch: a document of an agreed site was requested with
    // its digest (the main_frame rule), so its Tk answer is evidence.
    const rel = origin ? mem.relationships[origin] : null;
    if (rel?.state === 'agreed' && isDigest(rel.agreedDigest)) pageAnswers.set(tabId, { origin, url, tk: headerValue(responseHeaders, 'Tk'), agreed: rel.agreedDigest });
    else pageAnswers.delete(tabId);
    await setTop(tabId, origin);
    // The change check this navigation started (an agreed site) decides
    // whether this document finds an agreement or negotiates anew.
    if (syncing) await syncing.catch(() => {});
    // Painted after the commit (onTabUpdated) unless that came first; a
    // response that commits nothing (204, a download) leaves the button as is.
    await documentArrived(tabId, origin, advertisement, incognito ?? (await isIncognito(tabId)), { show: !navigating.has(tabId) });
  }

  async function onTabUpdated(tabId, changeInfo, tab) {
    incognitoTabs.set(tabId, tab.incognito === true);
    if (!changeInfo.url && !changeInfo.status) return;
    if (mayFollowCommit(changeInfo)) {
      navigating.delete(tabId);
      painter.reset(tabId);
    }
    await ready;
    const origin = originOf(tab.url ?? '');
    // A navigation that ended without a new document (204, download, stopped)
    // leaves the old one: its origin is the tab's top again.
    if (changeInfo.status === 'complete') await setTop(tabId, origin);
    const cur = mem.tabs[tabId];
    if (cur?.origin && origin !== cur.origin && !changeInfo.url) {
      // We saw the response of a document the tab has not committed yet (a
      // new tab still says about:blank): the tab's URL is behind, not us.
      paint(tabId);
      return;
    }
    if (!cur || cur.origin !== origin) {
      // No response observed for this document (history cache, restored tab, non-web page).
      await setTop(tabId, origin);
      await documentArrived(tabId, origin, origin ? mem.advertised[origin] ?? undefined : null, tab.incognito === true);
    } else {
      // Firefox resets per-tab action settings on navigation: paint again.
      paint(tabId);
    }
  }

  async function onTabActivated({ tabId }) {
    await ready;
    await paint(tabId);
  }

  async function onTabRemoved(tabId) {
    await ready;
    delete mem.tabs[tabId];
    pageAnswers.delete(tabId);
    painter.forget(tabId);
    incognitoTabs.delete(tabId);
    navigating.delete(tabId);
    await setTop(tabId, null);
    saveTabs();
  }

  async function onTabReplaced(added, removed) {
    await ready;
    if (mem.tabs[removed]) mem.tabs[added] = mem.tabs[removed];
    delete mem.tabs[removed];
    const top = mem.top[removed] ?? null;
    await setTop(removed, null);
    await setTop(added, top);
    saveTabs();
    await paint(added);
  }

  /** storage.onChanged: another extension page changed the paused list. */
  async function onStorageChanged(changes, area) {
    if (area !== 'local' || !changes[STORAGE.PAUSED]) return;
    await ready;
    await pausedChanged(normaliseOrigins(changes[STORAGE.PAUSED].newValue ?? []));
  }

  /** alarms.onAlarm: the periodic change check (CHANGES_ALARM). */
  async function onAlarm() {
    await ready;
    // Nothing to withdraw when no agreement is signalled: spare the host.
    if (Object.keys(agreedDigests()).length === 0) return;
    await syncChanges();
    // An update of my details that a site could not take is due again.
    if (detailsDue) await host.call('profile.push', {}).catch(hostFailed);
  }

  // ----------------------------------------------------------------- views

  function errorReply(err) {
    hostFailed(err);
    const problem = hostProblemOf(err);
    return { ok: false, error: { kind: problem?.kind ?? err?.kind ?? 'internal', code: err?.code ?? null, message: err?.message ?? String(err) } };
  }

  async function tabInfo(tabId) {
    let tab = mem.tabs[tabId];
    if (!tab) {
      let t = null;
      try {
        t = await tabs.get(tabId);
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

  /** The popup's view: one host call (`site.view`) for the relationship and its verified history. */
  async function buildPopup(tabId, siteOrigin) {
    const tab = siteOrigin ? siteInfo(siteOrigin) : await tabInfo(tabId);
    const origin = tab.origin;
    let status = await checkHost();
    let rel = null;
    let history = null;
    if (origin && status.ok && isNegotiable(origin)) {
      try {
        const view = await host.call('site.view', { site: origin });
        rel = view?.relationship ?? null;
        history = view?.history ?? null;
        // The popup is one of the places a change made elsewhere shows up.
        if (Number.isInteger(view?.generation) && view.generation !== mem.generation) await syncChanges();
      } catch (err) {
        hostFailed(err);
        status = hostProblemOf(err) ? mem.hostStatus : status;
      }
    }
    const signals = origin ? signalsFor(origin, { paused: mem.paused, agreed: agreedDigests(), sendDNT: sendsDNT() }) : null;
    let shown = { ...mem.tabs[tabId] ?? tab, tabId };
    // A damaged database fails every call: say so once, not "agreed" beside it.
    if (status.kind === 'store' && origin && shown.state !== STATE.PAUSED) shown = { ...shown, state: STATE.HOST_UNAVAILABLE };
    return popupView({ tab: shown, signals, rel, history, host: status });
  }

  /**
   * After a call that changed my terms (all of them: site null, or one
   * site's exception): the sites concerned are asked about again on their
   * next visit, and the rules follow the host's withdrawals before the page
   * hears back.
   */
  async function termsChanged(site) {
    for (const [o, r] of Object.entries(mem.relationships)) {
      if (site === null || o === site) mem.relationships[o] = { ...r, termsDigest: null };
    }
    await storage.local.set({ [STORAGE.RELATIONSHIPS]: mem.relationships });
    await syncChanges();
  }

  /**
   * "Does this site honour my signals?" and its MyTerms file, for the popup:
   * the page's consent strings read once now (lib/honour.js probePage, in
   * the page's MAIN world), and the host's site.check (gpc.json and the
   * MyTerms file, fetched at most once a day). Asked only when the popup
   * opens, so it costs a page load nothing; never for a paused site, nor in
   * a private window unless negotiating there is allowed.
   */
  async function siteCheck(tabId, siteOrigin) {
    let origin = siteOrigin ? originOf(siteOrigin) : null;
    let incognito = false;
    if (!siteOrigin) {
      origin = (await tabInfo(tabId))?.origin ?? null;
      incognito = await isIncognito(tabId);
    }
    const out = { origin, page: null, check: null, terms: null, error: null, skipped: null, browserGPC: false };
    if (!origin || !isNegotiable(origin)) return { ...out, skipped: 'not-web' };
    if (mem.paused.includes(origin)) return { ...out, skipped: 'paused' };
    if (incognito && mem.settings.negotiateInPrivate !== true) return { ...out, skipped: 'private' };
    if (!siteOrigin && typeof scripting.executeScript === 'function') {
      try {
        const [first] = await scripting.executeScript({ target: { tabId }, world: 'MAIN', func: probePage, args: [500] });
        out.page = first?.result ?? null;
        // The isolated world sees the browser's own navigator, not the
        // getter r-button's script put in the page's world: true there means
        // the browser sends GPC itself (README.md, "The browser's own GPC").
        const [own] = await scripting.executeScript({ target: { tabId }, func: () => navigator.globalPrivacyControl === true });
        out.browserGPC = own?.result === true;
      } catch {
        out.page = out.page ?? null; // a page scripts may not run in (the browser's own pages, a PDF)
      }
    }
    const params = { site: origin };
    const path = mytermsPath(out.page?.mytermsHref, origin);
    if (path) params.mytermsPath = path;
    try {
      out.check = await host.call('site.check', params);
      out.terms = (await host.call('terms.get', {}))?.defaults ?? null;
      hostOk();
    } catch (err) {
      hostFailed(err);
      // A missing helper or a damaged database is said once, by the popup's own problem box.
      out.error = { code: err?.code ?? null, message: err?.message ?? String(err), host: Boolean(hostProblemOf(err)) };
    }
    return out;
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
        await inflight.get(origin)?.catch(() => {});
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
          await inflight.get(origin)?.catch(() => {});
          await negotiateSite(origin, advertisement);
        }
        return { ok: true };
      }
      case MSG.HOST: {
        if (!HOST_PASSTHROUGH.includes(msg.call)) throw new Error(`not allowed: ${msg.call}`);
        const result = await host.call(msg.call, msg.params ?? {});
        hostOk();
        if (WITHDRAWING_CALLS.has(msg.call)) await termsChanged(msg.call === 'terms.set' ? null : originOf(msg.params?.site));
        return { ok: true, result };
      }
      case MSG.SITE_CHECK:
        return { ok: true, ...(await siteCheck(Number(msg.tabId), msg.site ?? null)) };
      case MSG.PROFFER: {
        const origin = originOf(msg.origin);
        if (!origin) throw new Error('not a web origin');
        const result = await host.call('myterms.proffer', { site: origin, agreement: String(msg.agreement ?? '') });
        hostOk();
        return { ok: true, result };
      }
      case MSG.RETRY_HOST: {
        // The user may just have installed or updated the helper: ask a
        // new process, not the one the port kept.
        host.reset?.();
        const status = await checkHost(true);
        if (status.ok) restoreTabs().catch(() => {});
        return { ok: true, host: status };
      }
      case MSG.OPTIONS_GET: {
        let status = await checkHost();
        if (status.ok) {
          try {
            await syncChanges();
          } catch (err) {
            status = hostProblemOf(err) ? mem.hostStatus : status;
          }
        }
        return { ok: true, paused: mem.paused, settings: mem.settings, host: status, relationships: mem.relationships };
      }
      case MSG.SETTINGS_SET: {
        const before = sendsDNT();
        mem.settings = { ...mem.settings, negotiateInPrivate: msg.settings?.negotiateInPrivate === true };
        if (typeof msg.settings?.sendDNT === 'boolean') mem.settings.sendDNT = msg.settings.sendDNT;
        await storage.local.set({ [STORAGE.SETTINGS]: mem.settings });
        if (sendsDNT() !== before) await Promise.all([applyRules(), applyContentScript()]);
        return { ok: true, settings: mem.settings };
      }
      default:
        throw new Error(`unknown message ${JSON.stringify(msg?.type)}`);
    }
  }

  /**
   * runtime.onMessage from content/compliance.js: one page's report. Passed
   * to the host only for a top-level page of an agreed, unpaused site (not
   * from a private window unless negotiating there is allowed), with the Tk
   * answer seen for that document.
   */
  async function onComplianceReport(msg, sender) {
    await ready;
    if (sender?.tab?.incognito && mem.settings.negotiateInPrivate !== true) return { ok: true, reported: false };
    const params = complianceParams({ msg, sender, agreed: agreedDigests(), paused: mem.paused, answer: pageAnswers.get(sender?.tab?.id) ?? null });
    if (!params) return { ok: true, reported: false };
    const kept = await cookieOrigins(params.site, params.origins, cookies?.getAll ? (d) => cookies.getAll(d) : null);
    if (kept.length) params.cookies = kept;
    try {
      const res = await host.call('compliance.report', params);
      hostOk();
      return { ok: true, reported: true, recorded: Array.isArray(res?.recorded) ? res.recorded.length : 0 };
    } catch (err) {
      return errorReply(err);
    }
  }

  /** handleMessage, never rejecting: failures become {ok:false, error} replies. */
  function onMessage(msg) {
    return handleMessage(msg).catch(errorReply);
  }

  return {
    ready,
    onNavigationRequest,
    onDocumentResponse,
    onTabUpdated,
    onTabActivated,
    onTabRemoved,
    onTabReplaced,
    onStorageChanged,
    onAlarm,
    onMessage,
    onComplianceReport,
    /** Whether the document at `url` is on a site whose signals the user paused (lib/workergpc.js). */
    isPaused: (url) => { const o = originOf(url ?? ''); return Boolean(o) && mem.paused.includes(o); },
    // For tests: the state and the rules it asks for.
    state: mem,
    wantedRules,
    settled: () => Promise.all([rulesChain, scriptChain, complianceChain, syncing?.catch(() => {})]),
  };
}
