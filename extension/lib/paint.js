// Paints the r-button of one tab: its icon and title, and only what differs
// from what the browser already shows.
//
// Why not just set both on every event: the worker paints on every
// tabs.onUpdated (three per navigation), and action.setIcon with file paths
// fetches and decodes the PNGs on every call. That cost competes with the
// page for the CPU while it loads (BENCHMARKS.md, section 5).
//
// Why a cache alone is wrong: Chromium and Firefox both reset a tab's icon and
// title to the manifest defaults when a new document commits, with no event
// of their own. So every paint reads the title back first (a cheap getter):
// a reset shows as the default title, and since the browser resets icon and
// title together, a title we set proves that the icon we set with it is still
// shown. Every commit is followed by a tabs.onUpdated ("complete" at the
// latest), which paints again, so a reset that lands between the read and the
// write is repaired on the next event.
//
// Icons are passed as ImageData, decoded once per icon per worker life.

import { ICONS, ICON_SIZES, STATE, TITLES, REASON, REASON_TITLES, REASON_ICONS } from './constants.js';
import { siteLabel } from './origin.js';

/** The icon stem and title the manifest declares (action.default_icon/default_title). */
export const DEFAULTS = Object.freeze({ icon: ICONS[STATE.NONE], title: 'r-button' });

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
 * @param {object} action  the browser's action API (getTitle, setTitle, setIcon)
 * @param {object} [opts]
 * @param {(stem: string) => Promise<object>} [opts.imageData]  {size: ImageData} for an icon stem;
 *        when it fails the painter falls back to file paths
 * @param {(stem: string) => object} [opts.paths]  {size: path} for an icon stem
 */
export function createPainter(action, { imageData = null, paths = iconPaths } = {}) {
  const shownIcon = new Map(); // tabId -> icon stem we set, valid while our title is shown
  const queue = new Map(); // tabId -> the last paint's promise: paints of a tab never interleave
  const decoded = new Map(); // stem -> Promise<{size: ImageData}|null>

  function iconDetails(stem) {
    if (!imageData) return Promise.resolve({ path: paths(stem) });
    if (!decoded.has(stem)) decoded.set(stem, imageData(stem).catch(() => null));
    return decoded.get(stem).then((data) => (data ? { imageData: data } : { path: paths(stem) }));
  }

  async function paintNow(tabId, want) {
    const title = await action.getTitle({ tabId });
    // The default title means the default icon: reset by a commit, never
    // painted, or painted in the one state whose title is the default.
    const icon = title === DEFAULTS.title ? DEFAULTS.icon : shownIcon.get(tabId) ?? null;
    if (icon !== want.icon) {
      await action.setIcon({ tabId, ...(await iconDetails(want.icon)) });
      shownIcon.set(tabId, want.icon);
    }
    if (title !== want.title) await action.setTitle({ tabId, title: want.title });
  }

  return {
    /** Shows `want` = {icon: stem, title} on tab `tabId`; resolves when done. */
    paint(tabId, want) {
      const next = (queue.get(tabId) ?? Promise.resolve())
        .then(() => paintNow(tabId, want))
        .catch(() => {}) // the tab closed meanwhile
        .finally(() => { if (queue.get(tabId) === next) queue.delete(tabId); });
      queue.set(tabId, next);
      return next;
    },
    /** The tab closed: drop what we know of it. */
    forget(tabId) {
      shownIcon.delete(tabId);
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
