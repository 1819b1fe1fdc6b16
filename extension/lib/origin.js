// Origins: how the extension names a site. A site is an origin
// (scheme://host[:port], as in PROTOCOL.md 1), shown to a person as
// host[:port]. Pure: uses only the URL class (present in browsers and node).

/** Canonical origin of an http(s) URL, or null for anything else. */
export function originOf(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (!u.hostname) return null;
  return u.origin.toLowerCase();
}

/** The site as shown to a person: host[:port] (e.g. "127.0.0.1:8441"). */
export function siteLabel(origin) {
  try {
    return new URL(origin).host;
  } catch {
    return String(origin ?? '');
  }
}

/** Host name without port or IPv6 brackets (what DNR domain conditions take). */
export function hostnameOf(origin) {
  const h = new URL(origin).hostname;
  return h.startsWith('[') ? h.slice(1, -1) : h;
}

/** True when the origin has an explicit, non-default port. */
export function hasPort(origin) {
  return new URL(origin).port !== '';
}

/** Loopback hosts where plain http is allowed by DNT-D (PROTOCOL.md 1). */
export function isLoopback(origin) {
  const h = hostnameOf(origin);
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Whether DNT-D may be negotiated with this origin (https, or http on loopback). */
export function isNegotiable(origin) {
  if (!origin) return false;
  return origin.startsWith('https://') || (origin.startsWith('http://') && isLoopback(origin));
}

/**
 * A declarativeNetRequest urlFilter matching every URL of exactly this origin.
 * "|" anchors at the start and the trailing "/" stops 127.0.0.1:84 from also
 * matching 127.0.0.1:8442. URLs are canonical by the time DNR sees them, so a
 * default port never appears in them (and never in our origins either).
 */
export function urlFilterForOrigin(origin) {
  return `|${origin}/`;
}

/** A match pattern for every page of this origin (ports are allowed in patterns). */
export function matchPatternForOrigin(origin) {
  return `${origin}/*`;
}
