// What I keep and my details, as words for the popup and the options page:
// the data returns the host keeps (data.get), what a site holds of my
// details (profile.get's ShareView) and how an update went (profile.push).
// Pure: no browser APIs.

/** Detail names in display order, with labels (PROTOCOL.md 13.3). */
export const DETAILS = Object.freeze([
  ['name', 'Name'], ['email', 'E-mail address'], ['address', 'Postal address'], ['phone', 'Phone'], ['preferences', 'Preferences'],
]);

const label = (f) => DETAILS.find(([k]) => k === f)?.[1] ?? f;

function fields(it) {
  return it && it.data && typeof it.data === 'object'
    ? Object.entries(it.data).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])
    : [];
}

/** data.get's result → the newest kept return, with what changed since the one before. */
export function keptView(kept) {
  const returns = Array.isArray(kept?.returns) ? kept.returns : [];
  const last = returns[returns.length - 1];
  if (!last) return { total: Number(kept?.total) || 0, latest: null };
  const item = (it) => ({ type: String(it?.type ?? 'item'), time: it?.time ?? null, fields: fields(it) });
  return {
    total: Number(kept.total) || returns.length,
    latest: {
      received: last.received ?? null,
      controller: last.controller ?? null,
      via: last.via === 'browser' ? 'asked from this browser' : 'asked by the helper',
      items: (last.items ?? []).map(item),
      changes: last.changes
        ? `Since the previous return: ${last.changes.added.length} new, ${last.changes.removed.length} gone, ${last.changes.unchanged} unchanged.`
        : null,
    },
  };
}

/** A site's ShareView (or undefined) → what it holds of my details, in words. */
export function shareView(share, details) {
  const holds = Object.entries(share?.holds ?? {}).map(([f, since]) => ({ field: f, label: label(f), since }));
  const allowed = Array.isArray(share?.allowed) ? share.allowed : [];
  const have = allowed.filter((f) => details && String(details[f] ?? '') !== '' && !(f === 'preferences' && !Object.keys(details[f] ?? {}).length));
  const missing = have.filter((f) => !holds.some((h) => h.field === f));
  let pending = null;
  if (share?.pending) {
    pending = share.pending.lastError
      ? `An update is owed to this site (${share.pending.attempts} attempt(s); ${share.pending.lastError}); it will be retried.`
      : 'An update is owed to this site; it will be sent.';
  }
  return {
    holds,
    allowedText: allowed.length ? `Its agreement allows it to hold: ${allowed.map(label).join(', ')}.` : 'Its agreement allows it to hold none of your details.',
    canShare: missing.length > 0,
    shareLabel: missing.length ? `Give them my ${missing.map((f) => label(f).toLowerCase()).join(', ')}` : null,
    pending,
    refusal: share?.lastRefusal ? `Their last refusal: ${share.lastRefusal}` : null,
  };
}

/** profile.push's result → "updated 37 of 40 sites; 3 will be retried". */
export function pushSummary(res) {
  if (!res || !res.total) return 'No site holds a changed detail.';
  let s = `Updated ${res.delivered} of ${res.total} site(s)`;
  const later = (res.retrying ?? 0) + (res.waiting ?? 0);
  if (later) s += `; ${later} will be retried`;
  if (res.refused) s += `; ${res.refused} refused`;
  if (res.skipped) s += `; ${res.skipped} skipped (agreement no longer in force)`;
  return `${s}.`;
}

/** The options form's values → a Details object (empty members dropped; preferences from "key=value" lines). */
export function detailsFromForm({ name = '', email = '', address = '', phone = '', preferences = '' } = {}) {
  const d = {};
  for (const [k, v] of Object.entries({ name, email, address, phone })) {
    const t = String(v).trim();
    if (t) d[k] = k === 'address' ? t.replace(/\r\n?/g, '\n') : t;
  }
  const prefs = {};
  for (const line of String(preferences).split(/\r?\n/)) {
    const i = line.indexOf('=');
    if (i > 0) prefs[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  if (Object.keys(prefs).length) d.preferences = prefs;
  return d;
}

/** A Details object → the options form's values. */
export function formFromDetails(d = {}) {
  return {
    name: d.name ?? '', email: d.email ?? '', address: d.address ?? '', phone: d.phone ?? '',
    preferences: Object.entries(d.preferences ?? {}).map(([k, v]) => `${k}=${v}`).join('\n'),
  };
}
