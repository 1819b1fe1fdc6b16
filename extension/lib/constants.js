// Every constant of the r-button extension, in one place: the DNT-D v1 wire
// values (PROTOCOL.md), declarativeNetRequest rule ids and priorities, the
// native host's name, timeouts, and the tab states behind the r-button.
// Pure data: no browser APIs, so the unit tests import it as is.

/** Request headers sent on every request (byte-exact, PROTOCOL.md 3.1 and 3.2). */
export const HEADER_DNT = 'DNT';
export const HEADER_GPC = 'Sec-GPC';
export const HEADER_DNTD = 'Sec-DNT-D';
export const VALUE_DNT = '1';
export const VALUE_GPC = '1';
export const VALUE_DNTD = 'v=1';
/** Response header a site sends on top-level documents to offer dialog. */
export const RESPONSE_HEADER = 'DNT-D';
export const PROTOCOL_VERSION = 1;

/** Sec-DNT-D value on requests to a site we have an agreement with. */
export function agreedHeaderValue(agreedDigest) {
  return `v=1, agreed=:${agreedDigest}:`;
}

/**
 * declarativeNetRequest rules. The plain signals are also a static ruleset
 * (rules/signals.json, STATIC_RULESET), active from install on, before the
 * service worker has ever run; its rule must equal the dynamic SIGNALS rule
 * (a unit test checks). Dynamic rules persist across browser restarts,
 * so headers go out from the first request after a restart, before the
 * service worker has run; they are still rebuilt from storage at every start.
 * Allow rules must outrank every modifyHeaders rule: a matching allow rule of
 * higher priority switches lower-priority header rules off (that is how a
 * paused site gets nothing).
 */
export const STATIC_RULESET = 'signals';
export const RULE = Object.freeze({
  SIGNALS_ID: 1,
  // One agreed-digest rule per agreed site: AGREED_BASE + index.
  AGREED_BASE: 1000,
  AGREED_MAX: 3000,
  // Session rules, one per agreed site with open tabs: AGREED_TABS_BASE + the
  // site's index among the agreed (same index as its AGREED_BASE rule).
  AGREED_TABS_BASE: 5000,
  // Per paused site: PAUSED_BASE + 4*index + {0: allow to origin, 1: allowAllRequests frame, 2: worker allow}.
  PAUSED_BASE: 10000,
  PAUSED_MAX: 2000,
  // Session rule: tabs currently showing a paused site.
  PAUSED_TABS_ID: 9000,
  PRIORITY_SIGNALS: 1,
  PRIORITY_AGREED: 2,
  PRIORITY_PAUSED: 100,
});

/** Every resource type, for rules that apply to all requests. */
export const ALL_RESOURCE_TYPES = Object.freeze([
  'main_frame', 'sub_frame', 'stylesheet', 'script', 'image', 'font', 'object',
  'xmlhttprequest', 'ping', 'csp_report', 'media', 'websocket', 'webtransport',
  'webbundle', 'other',
]);

/** Native messaging host (the `rbutton` agent). */
export const HOST_NAME = 'org.rbutton.host';
export const HOST_PROTOCOL = 1;
/** Message types this extension needs from the host. */
export const HOST_REQUIRED_CAPABILITIES = Object.freeze([
  'hello', 'relationship.get', 'relationship.list', 'negotiate', 'terms.get',
  'terms.set', 'exception.set', 'exception.clear', 'relationship.end',
  'history.get', 'data.request', 'data.accept', 'changes', 'site.view',
]);
/**
 * Per-call timeouts (ms). The network calls talk to sites: negotiate (the
 * host gives up within 15 s), and the calls that can withdraw consent and end
 * agreements with sites (the host's deadline is 10 s).
 */
export const HOST_TIMEOUT_MS = 5000;
/**
 * The host's port closes this long after its last reply (lib/host.js): longer
 * than the gap between pages of one visit, shorter than the change alarm's
 * period, so an idle browser keeps no host process and no awake worker.
 */
export const HOST_PORT_IDLE_MS = 20_000;
export const HOST_TIMEOUT_NETWORK_MS = 20000;
export const HOST_NETWORK_TYPES = Object.freeze([
  'negotiate', 'data.fetch', 'relationship.end', 'terms.set', 'exception.set', 'exception.clear',
  'site.check', 'profile.share', 'profile.push',
]);
/** Retries after a transport failure (host crashed mid-call), with backoff. */
export const HOST_RETRIES = 2;
/**
 * Retries of a call that makes requests to a site (HOST_NETWORK_TYPES): at
 * most one, as PROTOCOL.md 10.8 allows an agent, so a crashing host cannot
 * make the extension negotiate with a site three times.
 */
export const HOST_SITE_RETRIES = 1;
export const HOST_BACKOFF_MS = 150;
/** Calls that may be repeated after a transport failure without effect. */
export const HOST_IDEMPOTENT_TYPES = Object.freeze([
  'hello', 'relationship.get', 'relationship.list', 'terms.get', 'terms.set',
  'exception.set', 'exception.clear', 'history.get', 'export', 'negotiate',
  'changes', 'site.view', 'site.check',
]);
/**
 * Host error codes that mean the user's database cannot be used (PROTOCOL.md
 * 20, error codes; hello's `storeError`): every call fails the same way until
 * the user acts.
 */
export const HOST_STORE_PROBLEMS = Object.freeze(['store_corrupt', 'store_newer_schema', 'store_error']);
/**
 * The change check (PROTOCOL.md 20, `changes`): an alarm of this period (the
 * shortest Chromium allows) asks the host what changed; together with the
 * checks at worker start, when the popup or options page opens and at every
 * navigation to an agreed site, a change made elsewhere reaches the header
 * rules within CHANGES_BOUND_S.
 */
export const CHANGES_ALARM = 'rbutton-changes';
/** A navigation to an agreed site checks only if the last check is older than this (ms): one host call per burst of pages. */
export const CHANGES_NAV_MIN_MS = 10_000;
export const CHANGES_PERIOD_MIN = 0.5;
export const CHANGES_BOUND_S = 60;
/** How long a successful hello is trusted before asking again. */
export const HELLO_TTL_MS = 10 * 60 * 1000;

/** What to run when the host is missing or outdated, or its database damaged (shown verbatim). */
export const INSTALL_HINT = Object.freeze({
  checkout: 'make install',
  installed: 'rbutton install',
  doctor: 'rbutton doctor',
});

/** Tab states behind the r-button. */
export const STATE = Object.freeze({
  NONE: 'none', // not a web page (new tab, settings, file://)
  NEGOTIATING: 'negotiating',
  AGREED: 'agreed',
  NO_AGREEMENT: 'no-agreement', // conflict, error, ended
  NO_DIALOG: 'no-dialog',
  PAUSED: 'paused',
  HOST_UNAVAILABLE: 'host-unavailable',
});

/**
 * Toolbar titles, exactly as specified; SITE is host[:port]. A page with no
 * dialog (most of the web) and a page that is not a web page show the
 * manifest's default_title, which the browser puts back at every new
 * document: the worker paints nothing there (lib/paint.js).
 */
export const TITLES = Object.freeze({
  [STATE.NONE]: 'r-button: no dialog here',
  [STATE.AGREED]: 'r-button: relationship with SITE',
  [STATE.NO_AGREEMENT]: 'r-button: no agreement with SITE',
  [STATE.NO_DIALOG]: 'r-button: no dialog here',
  [STATE.NEGOTIATING]: 'r-button: negotiating with SITE',
  [STATE.PAUSED]: 'r-button: signals paused on SITE',
  [STATE.HOST_UNAVAILABLE]: 'r-button: helper unavailable',
});

/**
 * Why a tab in STATE.NO_AGREEMENT has no agreement (lib/paint.js lookFor):
 * the site's terms go beyond mine, the relationship ended, or the
 * negotiation failed. Each has its own title and icon, so the three never
 * look alike; with no reason known (no relationship yet, a private window)
 * the state's own title and icon show.
 */
export const REASON = Object.freeze({ CONFLICT: 'conflict', ENDED: 'ended', ERROR: 'error' });
export const REASON_TITLES = Object.freeze({
  [REASON.CONFLICT]: 'r-button: no agreement with SITE, their terms go beyond yours',
  [REASON.ENDED]: 'r-button: relationship with SITE ended',
  [REASON.ERROR]: 'r-button: negotiation with SITE failed',
});
export const REASON_ICONS = Object.freeze({
  [REASON.CONFLICT]: 'conflict',
  [REASON.ENDED]: 'ended',
  [REASON.ERROR]: 'error',
});

/**
 * Why a negotiation failed, in words, per host error code (PROTOCOL.md 20,
 * error codes; host/proto/proto.go, which a unit test compares). The popup's
 * headline says these, with the code after them.
 */
export const FAILURE_WORDS = Object.freeze({
  site_unreachable: 'the site could not be reached',
  site_timeout: 'the site did not answer in time',
  site_too_large: 'the site sent more than r-button accepts',
  site_redirect: 'the site redirected r-button elsewhere',
  site_invalid_terms: 'its terms are not valid',
  site_terms_mismatch: 'its terms are not the ones it advertised',
  site_bad_signature: 'its signature does not verify',
  site_cross_origin_endpoint: 'its terms name an address on another site',
  site_insecure: 'it does not use HTTPS',
  site_private_address: 'it is on a private network address',
  site_backoff: 'it failed recently, so r-button waits before asking again',
  site_refused: 'the site refused',
  site_rate_limited: 'the site asked r-button to slow down',
  site_protocol_error: 'the site did not answer as DNT-D requires',
  site_invalid_response: 'the site\'s answer is not valid',
  internal: 'the helper failed',
});

/** Icon file stem per state (icons/<stem>-<size>.png). Lit only when agreed. */
export const ICONS = Object.freeze({
  [STATE.NONE]: 'off',
  [STATE.AGREED]: 'on',
  [STATE.NO_AGREEMENT]: 'off',
  [STATE.NO_DIALOG]: 'off',
  [STATE.NEGOTIATING]: 'busy',
  [STATE.PAUSED]: 'paused',
  [STATE.HOST_UNAVAILABLE]: 'unavailable',
});
export const ICON_SIZES = Object.freeze([16, 32]);

/** storage keys. */
export const STORAGE = Object.freeze({
  // storage.local: visible and deletable in the options page.
  PAUSED: 'pausedSites', // string[] of origins
  SETTINGS: 'settings', // {negotiateInPrivate: bool}
  // {origin: {state, termsDigest, agreedDigest}}: a copy of the host's relationship
  // summaries, so header rules and icons are right before the host answers.
  RELATIONSHIPS: 'relationships',
  GENERATION: 'generation', // the host's change counter RELATIONSHIPS reflects
  // storage.session: per-tab state, cleared when the browser quits.
  TABS: 'tabs',
  TOP: 'topOrigins', // {tabId: origin of its top-level document}
  ADVERTISED: 'advertised', // {origin: advertisement header value}
  HOST: 'hostStatus',
});

// sendDNT: the DNT header and navigator.doNotTrack (a fingerprinting bit many
// users no longer want); GPC and Sec-DNT-D are sent either way.
export const DEFAULT_SETTINGS = Object.freeze({ negotiateInPrivate: false, sendDNT: true });

/** Messages between pages and the service worker. */
export const MSG = Object.freeze({
  POPUP_GET: 'popup.get',
  PAUSE: 'site.pause',
  RESUME: 'site.resume',
  RENEGOTIATE: 'site.renegotiate',
  END: 'site.end',
  DATA: 'site.data',
  ALLOW: 'site.allow',
  HOST: 'host.call',
  RETRY_HOST: 'host.retry',
  OPTIONS_GET: 'options.get',
  SETTINGS_SET: 'settings.set',
  // "Does this site honour my signals?" and its MyTerms file (lib/honour.js).
  SITE_CHECK: 'site.check',
  PROFFER: 'site.proffer',
});

/** Popup's wait for a waking service worker. */
export const POPUP_RETRIES = 20;
export const POPUP_RETRY_MS = 100;

/** Storage write debounce for tab state (ms). */
export const TAB_SAVE_DEBOUNCE_MS = 200;
