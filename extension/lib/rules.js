// declarativeNetRequest rules and the content-script registration that carry
// the DNT-D signals (PROTOCOL.md 3), built from plain data so they can be
// tested without a browser. lib/controller.js installs what these return.
//
// Every request gets DNT, Sec-GPC and Sec-DNT-D: v=1 (static ruleset, and the
// same dynamic SIGNALS rule).
//
// `agreed` goes only to the agreed origin while it is the top-level site
// (PROTOCOL.md 3.2): a digest the site could read on any page embedding it
// would be a token recognisable across the web (3.3). DNR domain conditions
// (requestDomains, initiatorDomains, topDomains) carry no port, and topDomains
// is Chromium-only, so the top-level site is known by tab instead:
//   1. (dynamic) main_frame requests to the origin: a top-level navigation to
//      it is, by definition, first-party; persistent, so it holds before the
//      worker runs;
//   2. (session) every other request to the origin from the tabs whose
//      top-level document is that origin (tabIds, kept current by the
//      controller from each tab's navigation request on, before the new
//      page can request anything) and made by a document of the origin's
//      host (initiatorDomains). The initiator condition closes the race of a
//      tab leaving the site for another host: the new page's requests never
//      match, whatever the order of navigation and rule update. Requests
//      from a third-party frame inside the agreed page, and from the site's
//      service workers (tab -1), get v=1: less than allowed, never more.
//      Only a tab moving to another port of the same host (loopback
//      development) depends on the rule update finishing before the new page
//      loads; the controller starts it at the navigation request.
//
// Pausing a site (an origin, e.g. http://127.0.0.1:8442) must silence every
// signal on it, its third-party requests included, while other origins on the
// same host (127.0.0.1:8441) keep theirs. Domain conditions carry no port, so
// they are not used for paused sites; instead, at a priority above every
// header rule:
//   1. `allow` for requests TO the origin (urlFilter "|<origin>/"), wherever
//      they come from: no header reaches the paused site;
//   2. (session) `allow` for every non-main_frame request of the tabs whose
//      top-level document is a paused origin (tabIds, kept current by the
//      controller from each tab's navigation request on): the paused page's
//      own subresources, its third parties, its frames;
//   3. `allowAllRequests` for main_frame/sub_frame documents OF the origin
//      (also a paused origin framed by another site);
//   4. (session) `allow` for requests from the origin's service/shared
//      workers (tabIds [-1], initiatorDomains [host]) — only for origins with
//      no explicit port, because a domain condition would also catch other
//      ports on the same host.
// Why 2. and not allowAllRequests alone: Chromium decides allowAllRequests
// for a frame once, when its navigation commits, and keeps the answer in the
// matcher of the ruleset that held the rule; every updateDynamicRules call
// replaces that matcher, so from then on the frames already open lose it and
// their third-party requests carry DNT again (a new agreement in another tab,
// a worker restart that rewrote the rules: the flaky "paused site" scenario).
// A tabIds rule is evaluated per request, with no such cache. Firefox does not
// extend allowAllRequests to third-party subresources at all. The controller
// also leaves the dynamic rules untouched when they already say what it wants.
// The navigator script is excluded with match patterns. Chromium's patterns
// take a port. Firefox's cannot, so there the navigator signals are set from
// the isolated world (content/gecko/signals.js) and each paused origin gets a
// registration on its host whose scripts compare the page's port, bit by bit,
// with the paused one (a file per bit value: content/gecko/port-b<K>-<V>.js)
// and undo or skip the signals on a match.
// Pure: no browser APIs.

import {
  RULE, HEADER_DNT, HEADER_GPC, HEADER_DNTD, VALUE_DNT, VALUE_GPC, VALUE_DNTD, agreedHeaderValue, ALL_RESOURCE_TYPES,
} from './constants.js';
import { urlFilterForOrigin, hostnameOf, hasPort, matchPatternForOrigin, originOf } from './origin.js';
import { isDigest } from './advert.js';

const TAB_ID_NONE = -1;

function headerAction(dntdValue, sendDNT = true) {
  return {
    type: 'modifyHeaders',
    requestHeaders: [
      ...(sendDNT ? [{ header: HEADER_DNT, operation: 'set', value: VALUE_DNT }] : []),
      { header: HEADER_GPC, operation: 'set', value: VALUE_GPC },
      { header: HEADER_DNTD, operation: 'set', value: dntdValue },
    ],
  };
}

/** Canonical, sorted, de-duplicated origins; anything that is not an http(s) origin is dropped. */
export function normaliseOrigins(list) {
  const set = new Set();
  for (const o of list ?? []) {
    const c = originOf(o);
    if (c && c === String(o).toLowerCase().replace(/\/$/, '')) set.add(c);
  }
  return [...set].sort();
}

function tabList(ids) {
  return [...new Set((ids ?? []).filter((t) => Number.isInteger(t) && t >= 0))].sort((a, b) => a - b);
}

/**
 * @param {object} input
 * @param {string[]} [input.paused]  origins with signals paused
 * @param {Record<string,string>} [input.agreed]  origin -> agreed digest
 * @param {Record<string,number[]>} [input.agreedTabs]  agreed origin -> tabs whose top-level document is that origin
 * @param {string[]} [input.resourceTypes]  every resource type the browser knows (default: Chromium's)
 * @param {number[]} [input.pausedTabIds]  tabs showing a paused origin (Firefox)
 * @param {boolean} [input.sendDNT]  false: no DNT header (the static ruleset, which sends it, is then disabled)
 * @returns {{dynamic: object[], session: object[]}}
 */
export function buildRules({ paused = [], agreed = {}, agreedTabs = {}, resourceTypes = ALL_RESOURCE_TYPES, pausedTabIds = [], sendDNT = true } = {}) {
  const types = [...resourceTypes];
  const dynamic = [
    {
      id: RULE.SIGNALS_ID,
      priority: RULE.PRIORITY_SIGNALS,
      action: headerAction(VALUE_DNTD, sendDNT),
      condition: { resourceTypes: types },
    },
  ];
  const session = [];

  const agreedOrigins = normaliseOrigins(Object.keys(agreed)).filter((o) => isDigest(agreed[o]));
  agreedOrigins.slice(0, RULE.AGREED_MAX).forEach((origin, i) => {
    const action = headerAction(agreedHeaderValue(agreed[origin]), sendDNT);
    const urlFilter = urlFilterForOrigin(origin);
    dynamic.push({
      id: RULE.AGREED_BASE + i,
      priority: RULE.PRIORITY_AGREED,
      action,
      condition: { urlFilter, resourceTypes: ['main_frame'] },
    });
    const tabIds = tabList(agreedTabs[origin]);
    if (tabIds.length) {
      session.push({
        id: RULE.AGREED_TABS_BASE + i,
        priority: RULE.PRIORITY_AGREED,
        action,
        condition: { urlFilter, tabIds, initiatorDomains: [hostnameOf(origin)], resourceTypes: types.filter((t) => t !== 'main_frame') },
      });
    }
  });

  normaliseOrigins(paused).slice(0, RULE.PAUSED_MAX).forEach((origin, i) => {
    const base = RULE.PAUSED_BASE + 4 * i;
    const urlFilter = urlFilterForOrigin(origin);
    dynamic.push({
      id: base,
      priority: RULE.PRIORITY_PAUSED,
      action: { type: 'allow' },
      condition: { urlFilter, resourceTypes: types },
    });
    dynamic.push({
      id: base + 1,
      priority: RULE.PRIORITY_PAUSED,
      action: { type: 'allowAllRequests' },
      condition: { urlFilter, resourceTypes: ['main_frame', 'sub_frame'] },
    });
    if (!hasPort(origin)) {
      session.push({
        id: base + 2,
        priority: RULE.PRIORITY_PAUSED,
        action: { type: 'allow' },
        condition: { initiatorDomains: [hostnameOf(origin)], tabIds: [TAB_ID_NONE], resourceTypes: types },
      });
    }
  });
  const tabIds = tabList(pausedTabIds);
  if (tabIds.length) {
    session.push({
      id: RULE.PAUSED_TABS_ID,
      priority: RULE.PRIORITY_PAUSED,
      action: { type: 'allow' },
      // Not main_frame: the tab's next navigation may leave the paused site.
      condition: { tabIds, resourceTypes: types.filter((t) => t !== 'main_frame') },
    });
  }
  return { dynamic, session };
}

/** host-only match pattern (any port), for browsers whose patterns cannot carry one. */
function hostPattern(origin) {
  const u = new URL(origin);
  return `${u.protocol}//${u.hostname}/*`;
}

export const CONTENT_SCRIPT_ID = 'rbutton-navigator-signals';
export const PAUSED_SCRIPT_PREFIX = 'rbutton-paused-';

/** Firefox's port check for one paused origin: 16 files, one per bit value. */
export function portCheckFiles(origin) {
  const u = new URL(origin);
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const bits = Array.from({ length: 16 }, (_, k) => `content/gecko/port-b${k}-${(port >> k) & 1}.js`);
  return ['content/gecko/pause-begin.js', ...bits, 'content/gecko/pause-end.js'];
}

/**
 * The content-script registrations carrying navigator.globalPrivacyControl
 * and navigator.doNotTrack, never on paused origins.
 * portsInPatterns: true for Chromium (one MAIN-world script, paused origins in
 * excludeMatches); false for Firefox (isolated-world script plus a port-check
 * registration per paused origin).
 */
export function buildContentScripts({ paused = [], matchOriginAsFallback = true, portsInPatterns = true, sendDNT = true } = {}) {
  const origins = normaliseOrigins(paused);
  const common = { allFrames: true, runAt: 'document_start', persistAcrossSessions: true, matches: ['http://*/*', 'https://*/*'] };
  if (matchOriginAsFallback) common.matchOriginAsFallback = true;
  if (portsInPatterns) {
    const script = { id: CONTENT_SCRIPT_ID, js: [sendDNT ? 'content/signals.js' : 'content/signals-gpc.js'], world: 'MAIN', ...common };
    if (origins.length) script.excludeMatches = origins.map(matchPatternForOrigin);
    return [script];
  }
  return [
    { id: CONTENT_SCRIPT_ID, js: sendDNT ? ['content/gecko/signals.js'] : ['content/gecko/no-dnt.js', 'content/gecko/signals.js'], world: 'ISOLATED', ...common },
    ...origins.map((origin, i) => ({
      ...common,
      id: `${PAUSED_SCRIPT_PREFIX}${i}`,
      js: portCheckFiles(origin),
      world: 'ISOLATED',
      matches: [hostPattern(origin)],
    })),
  ];
}

/** The signals a request to `origin` from its own top-level page carries, for the popup ("exactly which signals were sent"). */
export function signalsFor(origin, { paused = [], agreed = {}, sendDNT = true } = {}) {
  if (normaliseOrigins(paused).includes(origin)) return { paused: true, headers: [], navigator: {} };
  const digest = agreed[origin];
  const dntd = isDigest(digest) ? agreedHeaderValue(digest) : VALUE_DNTD;
  return {
    paused: false,
    headers: [
      ...(sendDNT ? [{ name: HEADER_DNT, value: VALUE_DNT }] : []),
      { name: HEADER_GPC, value: VALUE_GPC },
      { name: HEADER_DNTD, value: dntd },
    ],
    navigator: sendDNT ? { globalPrivacyControl: true, doNotTrack: '1' } : { globalPrivacyControl: true },
  };
}
