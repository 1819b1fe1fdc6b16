// The compliance watch (PROTOCOL.md 12.1), the extension's part: which pages
// are watched, and what one page's report becomes for the host. The page
// side is content/compliance.js, registered only on sites with an agreement
// in force; it reads the page's own Resource Timing entries and sends one
// message per page (and one more at pagehide only if origins were added),
// so the worker never wakes per subresource request and never for a site
// without an agreement. The host judges the report against the agreement and
// records discrepancies (host message `compliance.report`). Pure: no
// browser APIs.

import { normaliseOrigins } from './rules.js';
import { matchPatternForOrigin, originOf, hostnameOf } from './origin.js';
import { isDigest } from './advert.js';

export const COMPLIANCE_SCRIPT_ID = 'rbutton-compliance';
/** The message content/compliance.js sends (kept equal there; test/compliance.test.js compares). */
export const COMPLIANCE_MESSAGE = 'compliance.report';
/** PROTOCOL.md 20, compliance.report: at most this many origins, pages of at most this many characters. */
export const MAX_REPORT_ORIGINS = 64;
export const MAX_PAGE_PATH = 200;

/** host-only pattern (any port), for browsers whose patterns carry none (Firefox). */
function hostPattern(origin) {
  const u = new URL(origin);
  return `${u.protocol}//${u.hostname}/*`;
}

/**
 * The registration of content/compliance.js: the top-level documents of the
 * agreed origins that are not paused; null when there are none. Firefox's
 * patterns take no port: there the script also runs on other ports of an
 * agreed host, and the script itself asks storage whether its origin is
 * agreed before it reports (content/compliance.js).
 * @param {string[]} agreedOrigins
 * @param {{paused?: string[], portsInPatterns?: boolean}} [opts]
 */
export function complianceRegistration(agreedOrigins, { paused = [], portsInPatterns = true } = {}) {
  const skip = new Set(normaliseOrigins(paused));
  const origins = normaliseOrigins(agreedOrigins).filter((o) => !skip.has(o));
  if (!origins.length) return null;
  const matches = [...new Set(origins.map((o) => (portsInPatterns ? matchPatternForOrigin(o) : hostPattern(o))))].sort();
  return {
    id: COMPLIANCE_SCRIPT_ID, js: ['content/compliance.js'], matches, runAt: 'document_idle', allFrames: false, world: 'ISOLATED', persistAcrossSessions: true,
  };
}

/** The page's path as the host takes it: no query or fragment, printable ASCII, at most MAX_PAGE_PATH. */
export function pagePath(url) {
  let path;
  try {
    path = new URL(url).pathname || '/';
  } catch {
    return null;
  }
  // pathname is percent-encoded already; anything else is cut, not sent.
  path = path.replace(/[^\x21-\x7e]/g, '');
  if (!path.startsWith('/')) path = `/${path}`;
  return path.length > MAX_PAGE_PATH ? path.slice(0, MAX_PAGE_PATH) : path;
}

/**
 * The host params for one page's report, or null when the report is not to
 * be passed on: not from a top-level document, its origin not agreed (or
 * paused), or nothing in it. `answer` is what the worker saw of that tab's
 * document response ({origin, url, tk, agreed}), if anything.
 * @param {object} input
 * @param {object} input.msg      {type, origins: string[]} from content/compliance.js
 * @param {object} input.sender   runtime.MessageSender: {url, frameId, tab}
 * @param {Record<string,string>} input.agreed  origin -> agreed digest in force
 * @param {string[]} [input.paused]
 * @param {{origin:string, url:string, tk:string|null, agreed:string}|null} [input.answer]
 */
export function complianceParams({ msg, sender, agreed, paused = [], answer = null }) {
  if (msg?.type !== COMPLIANCE_MESSAGE || !sender?.tab || (sender.frameId ?? 0) !== 0) return null;
  const site = originOf(sender.url ?? '');
  if (!site || !isDigest(agreed?.[site]) || normaliseOrigins(paused).includes(site)) return null;
  const page = pagePath(sender.url);
  const origins = [];
  for (const o of Array.isArray(msg.origins) ? msg.origins : []) {
    const c = typeof o === 'string' ? originOf(o) : null;
    if (c && c !== site && !origins.includes(c)) origins.push(c);
    if (origins.length >= MAX_REPORT_ORIGINS) break;
  }
  origins.sort();
  const params = { site, page, origins };
  // The Tk answer counts only for this very page's document (same origin and
  // path as the response the worker saw), whose request carried the digest.
  if (answer && answer.origin === site && pagePath(answer.url ?? '') === page && isDigest(answer.agreed)) {
    params.tk = typeof answer.tk === 'string' ? answer.tk.slice(0, 100) : '';
    params.agreed = answer.agreed;
  }
  // Nothing the host could find: no other origin, and Tk C (or not seen).
  const tkMatches = params.tk === undefined || /^C\s*(;|$)/.test(params.tk.trim());
  if (!origins.length && tkMatches) return null;
  return params;
}

/**
 * Whether a cookie is kept in the site's partition: the browser stored it
 * for a third party while the site was the top-level site (Firefox keeps
 * every third-party cookie so; Chromium those set `Partitioned`). Such a
 * cookie was set under this site, so it is evidence about this site; an
 * unpartitioned third-party cookie could come from anywhere and is not.
 */
export function partitionedUnder(cookie, site) {
  const top = cookie?.partitionKey?.topLevelSite;
  if (typeof top !== 'string' || top === '') return false;
  let t;
  try {
    t = hostnameOf(top);
  } catch {
    return false;
  }
  const h = hostnameOf(site);
  return h === t || h.endsWith(`.${t}`);
}

/**
 * Of the origins a page of `site` contacted, those whose host keeps a cookie
 * in the site's partition, asked of the browser's cookie store (cookies.getAll
 * with an empty partitionKey: partitioned and unpartitioned cookies). A
 * browser that cannot say (no cookies API, an error) adds nothing.
 * @param {string} site
 * @param {string[]} origins
 * @param {((details: object) => Promise<object[]>)|null} getAll
 */
export async function cookieOrigins(site, origins, getAll) {
  if (typeof getAll !== 'function') return [];
  const out = [];
  for (const o of origins) {
    let list = [];
    try {
      list = await getAll({ domain: hostnameOf(o), partitionKey: {} });
    } catch {
      list = [];
    }
    if (Array.isArray(list) && list.some((c) => partitionedUnder(c, site))) out.push(o);
  }
  return out;
}
