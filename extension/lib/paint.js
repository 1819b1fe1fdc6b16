// Paints the r-button of one tab: its icon and title, and only what differs
// from what the browser shows.
//
// Why not just set both on every event: the worker paints on every
// tabs.onUpdated, and every action call is a round trip to the browser's UI
// thread while the page loads (BENCHMARKS.md, section 5). Nothing is read
// back either (action.getTitle was the largest settled cost per navigation):
// the painter remembers what it set per tab.
//
// What it set is true until a new document commits in the tab: Chromium and
// Firefox both then reset the tab's icon and title to the manifest defaults,
// with no event of their own. The controller, which sees the tab events that
// follow a commit, says so with reset(tabId); the next paint then writes what
// differs from the defaults (for a page with no dialog, most of the web,
// nothing: its look is the default). After a
// worker restart nothing is known: the first paint of a tab writes both.
//
// Icons are passed as ImageData, decoded once per icon per worker life.

import { ICONS, ICON_SIZES, STATE, TITLES, REASON, REASON_TITLES, REASON_ICONS } from './constants.js';
import { siteLabel } from './origin.js';

/** The icon stem and title the manifest declares (action.default_icon/default_title). */
export const DEFAULTS = Object.freeze({ icon: ICONS[STATE.NONE], title: 'r-button: no dialog here' });

/**
 * Why tab state `tab` has no agreement (one of REASON), or null: not in
 * STATE.NO_AGREEMENT, or no reason known (no relationship yet, a private
 * window). A failed call is the latest news, so it wins over the state the
 * relationship had before.
 */
export function noAgreementReason(tab) {
  if (tab?.state !== STATE.NO_AGREEMENT) return null;
  if (tab.error && tab.error !== 'private') return REASON.ERROR;
  if (tab.relState === 'ended') return REASON.ENDED;
  if (tab.relState === 'conflict') return REASON.CONFLICT;
  if (tab.relState === 'error') return REASON.ERROR;
  return null;
}

/**
 * What the r-button of a tab shows: {icon: stem, title}. States that differ
 * look different: ended, conflict and error each have their own title and
 * icon (constants.js REASON_*).
 * @param {{state:string, origin:string|null, relState?:string|null, error?:string|null}} tab
 */
export function lookFor(tab) {
  const state = tab?.state ?? STATE.NONE;
  const reason = noAgreementReason(tab);
  const title = (reason ? REASON_TITLES[reason] : TITLES[state] ?? TITLES[STATE.NONE])
    .replace('SITE', tab?.origin ? siteLabel(tab.origin) : '');
  const icon = reason ? REASON_ICONS[reason] : ICONS[state] ?? ICONS[STATE.NONE];
  return { icon, title };
}

/**
 * @param {object} action  the browser's action API (setTitle, setIcon)
 * @param {object} [opts]
 * @param {(stem: string) => Promise<object>} [opts.imageData]  {size: ImageData} for an icon stem;
 *        when it fails the painter falls back to file paths
 * @param {(stem: string) => object} [opts.paths]  {size: path} for an icon stem
 */
export function createPainter(action, { imageData = null, paths = iconPaths } = {}) {
  const shown = new Map(); // tabId -> {icon, title} the tab shows; absent: unknown (write both)
  const queue = new Map(); // tabId -> the last step's promise: paints and resets of a tab never interleave
  const decoded = new Map(); // stem -> Promise<{size: ImageData}|null>

  function iconDetails(stem) {
    if (!imageData) return Promise.resolve({ path: paths(stem) });
    if (!decoded.has(stem)) decoded.set(stem, imageData(stem).catch(() => null));
    return decoded.get(stem).then((data) => (data ? { imageData: data } : { path: paths(stem) }));
  }

  async function paintNow(tabId, want) {
    const cur = shown.get(tabId);
    // Forgotten first: a call that fails half-way leaves the tab unknown.
    shown.delete(tabId);
    if (cur?.icon !== want.icon) await action.setIcon({ tabId, ...(await iconDetails(want.icon)) });
    if (cur?.title !== want.title) await action.setTitle({ tabId, title: want.title });
    shown.set(tabId, { icon: want.icon, title: want.title });
  }

  /** Runs step after the tab's earlier steps; a failure (the tab closed) settles quietly. */
  function enqueue(tabId, step) {
    const next = (queue.get(tabId) ?? Promise.resolve())
      .then(step)
      .catch(() => {})
      .finally(() => { if (queue.get(tabId) === next) queue.delete(tabId); });
    queue.set(tabId, next);
    return next;
  }

  return {
    /** Shows `want` = {icon: stem, title} on tab `tabId`; resolves when done. */
    paint(tabId, want) {
      return enqueue(tabId, () => paintNow(tabId, want));
    },
    /**
     * A document may have committed in tab `tabId`: the browser shows the
     * defaults there now. Ordered after the paints already asked for, so one
     * that reached the browser before the commit is not taken for shown.
     */
    reset(tabId) {
      return enqueue(tabId, () => { shown.set(tabId, { ...DEFAULTS }); });
    },
    /** The tab closed: drop what we know of it. */
    forget(tabId) {
      shown.delete(tabId);
    },
  };
}

/** action.setIcon path dictionary for an icon stem. */
export function iconPaths(stem) {
  return Object.fromEntries(ICON_SIZES.map((s) => [String(s), `/icons/${stem}-${s}.png`]));
}

/**
 * Decodes an icon's PNGs into ImageData with the worker's own APIs (fetch,
 * createImageBitmap, OffscreenCanvas: in Chromium's service worker and
 * Firefox's event page alike).
 */
export async function decodeIcon(stem, urlOf) {
  const entries = await Promise.all(ICON_SIZES.map(async (size) => {
    const res = await fetch(urlOf(`icons/${stem}-${size}.png`));
    if (!res.ok) throw new Error(`icon ${stem}-${size}: HTTP ${res.status}`);
    const bitmap = await createImageBitmap(await res.blob());
    const ctx = new OffscreenCanvas(size, size).getContext('2d');
    ctx.drawImage(bitmap, 0, 0, size, size);
    bitmap.close?.();
    return [String(size), ctx.getImageData(0, 0, size, size)];
  }));
  return Object.fromEntries(entries);
}
