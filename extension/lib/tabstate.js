// The state machine behind the r-button for one tab: what a top-level
// response, a negotiation result, a pause or a host failure do to the tab's
// state, and the title and icon each state shows. background.js stores the
// results in storage.session and paints them. Pure: no browser APIs.

import { STATE, TITLES, ICONS } from './constants.js';
import { tryParseAdvertisement } from './advert.js';
import { isNegotiable, siteLabel } from './origin.js';

/**
 * @typedef {object} TabState
 * @property {string|null} origin         the top-level document's origin
 * @property {string} state               one of STATE
 * @property {string|null} advertisement  raw DNT-D header value, if valid
 * @property {string|null} termsDigest    digest the site advertised
 * @property {string|null} relState       host relationship state (agreed|conflict|error|ended)
 * @property {string|null} error          host error code, if any
 */

export function emptyTab() {
  return { origin: null, state: STATE.NONE, advertisement: null, termsDigest: null, relState: null, error: null };
}

/** Tab state for a relationship the host returned (or null: none). */
export function stateForRelationship(rel) {
  if (!rel) return STATE.NO_AGREEMENT;
  return rel.state === 'agreed' ? STATE.AGREED : STATE.NO_AGREEMENT;
}

/**
 * A top-level document arrived (or a tab was found at start-up).
 * @param {object} input
 * @param {string|null} input.origin
 * @param {string|null|undefined} input.advertisement  DNT-D value; null = none; undefined = unknown (not observed)
 * @param {boolean} input.paused
 * @param {boolean} input.mayNegotiate   false in private windows unless allowed
 * @param {{state:string, termsDigest:string}|null} input.known  the stored relationship summary
 * @param {boolean} [input.hostDown]      the host is known to be missing/outdated
 * @returns {{tab: TabState, negotiate: boolean}}
 */
export function onDocument({ origin, advertisement, paused, mayNegotiate, known, hostDown = false }) {
  const tab = emptyTab();
  tab.origin = origin ?? null;
  if (!origin) return { tab, negotiate: false };
  const advert = advertisement ? tryParseAdvertisement(advertisement) : null;
  if (advert) {
    tab.advertisement = advertisement;
    tab.termsDigest = advert.termsDigest;
  }
  if (known) tab.relState = known.state;
  if (paused) {
    tab.state = STATE.PAUSED;
    return { tab, negotiate: false };
  }
  if (advertisement === undefined) {
    // Not observed (restored tab, cache): trust what the host knows.
    tab.state = known ? stateForRelationship(known) : STATE.NO_DIALOG;
    return { tab, negotiate: false };
  }
  if (!advert || !isNegotiable(origin)) {
    tab.state = STATE.NO_DIALOG;
    return { tab, negotiate: false };
  }
  if (known && known.termsDigest === advert.termsDigest && known.state !== 'error') {
    // Same terms as last time: nothing to negotiate.
    tab.state = stateForRelationship(known);
    return { tab, negotiate: false };
  }
  if (!mayNegotiate) {
    tab.state = known ? stateForRelationship(known) : STATE.NO_AGREEMENT;
    return { tab, negotiate: false };
  }
  if (hostDown) {
    tab.state = STATE.HOST_UNAVAILABLE;
    return { tab, negotiate: true };
  }
  tab.state = STATE.NEGOTIATING;
  return { tab, negotiate: true };
}

/** The host answered a negotiation (or relationship.get) for `origin`. */
export function onRelationship(tab, origin, rel) {
  if (tab.origin !== origin || tab.state === STATE.PAUSED) return tab;
  return { ...tab, state: stateForRelationship(rel), relState: rel ? rel.state : null, error: null };
}

/** A host call for `origin` failed; kind is 'unavailable' | 'outdated' | other. */
export function onHostError(tab, origin, kind, code = null) {
  if (tab.origin !== origin || tab.state === STATE.PAUSED) return tab;
  const down = kind === 'unavailable' || kind === 'outdated';
  return { ...tab, state: down ? STATE.HOST_UNAVAILABLE : STATE.NO_AGREEMENT, error: code ?? kind };
}

/** Signals were paused on `origin`. */
export function onPaused(tab, origin) {
  if (tab.origin !== origin) return tab;
  return { ...tab, state: STATE.PAUSED };
}

/** The toolbar title for a state, exactly as specified. */
export function titleFor(state, origin) {
  const t = TITLES[state] ?? TITLES[STATE.NONE];
  return t.replace('SITE', origin ? siteLabel(origin) : '');
}

/** The icon (file stem under icons/, see lib/paint.js) for a state. */
export function iconFor(state) {
  return ICONS[state] ?? ICONS[STATE.NONE];
}
