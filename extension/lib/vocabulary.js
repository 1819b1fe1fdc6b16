// The DNT-D v1 vocabulary as a person reads it: one table of dimensions,
// their ordered values (most private first, the order is normative, see
// policy/vocab.go) and a plain-language line for each. The options page, the
// popup and the conflict sentences all take their words from here.
// Pure: no browser APIs.

/** @typedef {{value:string,label:string,meaning:string}} VocabValue */

export const DIMENSIONS = Object.freeze([
  {
    key: 'tracking', group: 'terms', kind: 'ladder', label: 'Tracking',
    meaning: 'How far the site may follow you.',
    values: [
      { value: 'none', label: 'none', meaning: 'Not followed at all, not even within a visit.' },
      { value: 'session', label: 'this visit only', meaning: 'Followed within one visit, forgotten after.' },
      { value: 'first-party', label: 'on this site', meaning: 'Recognised across visits to this site only.' },
      { value: 'same-party', label: "on the owner's sites", meaning: 'Recognised across sites run by the same company.' },
      { value: 'cross-site', label: 'across the web', meaning: 'Followed across unrelated sites.' },
    ],
  },
  {
    key: 'purposes', group: 'terms', kind: 'set', label: 'Purposes',
    meaning: 'What the site may use what it learns for.',
    values: [
      { value: 'service', label: 'service', meaning: 'Providing what you asked for.' },
      { value: 'analytics', label: 'analytics', meaning: 'Measuring how the site is used.' },
      { value: 'personalisation', label: 'personalisation', meaning: 'Tailoring content to you.' },
      { value: 'contextual-ads', label: 'contextual ads', meaning: 'Ads chosen by the page, not by you.' },
      { value: 'personalised-ads', label: 'personalised ads', meaning: 'Ads chosen from a profile of you.' },
      { value: 'sale', label: 'sale of data', meaning: 'Selling data about you.' },
    ],
  },
  {
    key: 'sharing', group: 'terms', kind: 'ladder', label: 'Sharing',
    meaning: 'Who else may receive data about you.',
    values: [
      { value: 'none', label: 'nobody', meaning: 'Kept by the site alone.' },
      { value: 'processors', label: 'processors', meaning: 'Only companies working for the site, under contract.' },
      { value: 'anonymised', label: 'anonymised', meaning: 'Others get it only with you removed from it.' },
      { value: 'third-parties', label: 'third parties', meaning: 'Other companies, for their own use.' },
      { value: 'public', label: 'public', meaning: 'Anyone.' },
    ],
  },
  {
    key: 'retention', group: 'terms', kind: 'retention', label: 'Retention',
    meaning: 'How long the site may keep data about you.',
    values: [
      { value: 'none', label: 'not kept', meaning: 'Deleted as soon as the request is served.' },
      { value: 'session', label: 'this visit', meaning: 'Deleted when the visit ends.' },
      { value: 'P1D', label: '1 day', meaning: 'Deleted after a day.' },
      { value: 'P7D', label: '1 week', meaning: 'Deleted after a week.' },
      { value: 'P30D', label: '30 days', meaning: 'Deleted after 30 days.' },
      { value: 'P90D', label: '90 days', meaning: 'Deleted after 90 days.' },
      { value: 'P1Y', label: '1 year', meaning: 'Deleted after a year.' },
      { value: 'P2Y', label: '2 years', meaning: 'Deleted after two years.' },
      { value: 'indefinite', label: 'indefinitely', meaning: 'Kept with no end date.' },
    ],
  },
  {
    key: 'identity', group: 'terms', kind: 'ladder', label: 'Identity',
    meaning: 'How identifiable you are to the site.',
    values: [
      { value: 'anonymous', label: 'anonymous', meaning: 'The site cannot tell who you are.' },
      { value: 'pseudonymous', label: 'pseudonymous', meaning: 'Known by an identifier, not by name.' },
      { value: 'identified', label: 'identified', meaning: 'Known by name, email or account.' },
    ],
  },
  {
    key: 'contact', group: 'terms', kind: 'ladder', label: 'Contact',
    meaning: 'Whether and why the site may contact you.',
    values: [
      { value: 'never', label: 'never', meaning: 'No messages.' },
      { value: 'transactional', label: 'about my orders', meaning: 'Only messages about something you did.' },
      { value: 'marketing', label: 'marketing', meaning: 'Promotional messages too.' },
    ],
  },
  {
    key: 'access', group: 'obligations', kind: 'floor', label: 'Access',
    meaning: 'Whether the site must let you see what it holds.',
    values: [
      { value: 'none', label: 'not required', meaning: 'You do not insist on seeing it.' },
      { value: 'on-request', label: 'on request', meaning: 'Shown when you ask.' },
      { value: 'required', label: 'always', meaning: 'Available to you at any time.' },
    ],
  },
  {
    key: 'deletion', group: 'obligations', kind: 'floor', label: 'Deletion',
    meaning: 'Whether the site must delete data when you ask.',
    values: [
      { value: 'none', label: 'not required', meaning: 'You do not insist on deletion.' },
      { value: 'on-request', label: 'on request', meaning: 'Deleted when you ask.' },
      { value: 'required', label: 'always', meaning: 'Deleted when the relationship ends.' },
    ],
  },
  {
    key: 'dataReturn', group: 'obligations', kind: 'floor', label: 'Data return',
    meaning: 'Whether the site must give you a copy of what it holds.',
    values: [
      { value: 'none', label: 'not required', meaning: 'You do not insist on a copy.' },
      { value: 'on-request', label: 'on request', meaning: 'A copy when you ask.' },
      { value: 'required', label: 'always', meaning: 'A copy available at any time.' },
    ],
  },
]);

export const DIMENSION_BY_KEY = Object.freeze(Object.fromEntries(DIMENSIONS.map((d) => [d.key, d])));
export const TERM_KEYS = Object.freeze(DIMENSIONS.filter((d) => d.group === 'terms').map((d) => d.key));
export const OBLIGATION_KEYS = Object.freeze(DIMENSIONS.filter((d) => d.group === 'obligations').map((d) => d.key));

/** Ordered values of a ladder dimension (not retention, which is open-ended). */
export function ladder(key) {
  return DIMENSION_BY_KEY[key].values.map((v) => v.value);
}

// Components of at most 9 digits, as policy/retention.go.
const DURATION = /^P(?!$)(?:(\d{1,9})Y)?(?:(\d{1,9})M)?(?:(\d{1,9})W)?(?:(\d{1,9})D)?(?:T(?=\d)(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?)?$/;

/** Seconds in an ISO 8601 duration (Y=365d, M=30d, W=7d), or null if not one. */
export function durationSeconds(s) {
  const m = DURATION.exec(s);
  if (!m) return null;
  const [y, mo, w, d, h, mi, se] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  return (((y * 365 + mo * 30 + w * 7 + d) * 24 + h) * 60 + mi) * 60 + se;
}

/** A sortable rank for a retention value; NaN when it is not one. */
export function retentionRank(r) {
  if (r === 'none') return -2;
  if (r === 'session') return -1;
  if (r === 'indefinite') return Number.POSITIVE_INFINITY;
  const s = durationSeconds(r);
  return s === null ? Number.NaN : s;
}

export function isRetention(r) {
  return typeof r === 'string' && !Number.isNaN(retentionRank(r));
}

/** [class, seconds]: none < session < durations < indefinite < anything invalid (as policy/retention.go). */
function retentionKey(r) {
  if (r === 'none') return [0, 0];
  if (r === 'session') return [1, 0];
  if (r === 'indefinite') return [3, 0];
  const s = typeof r === 'string' ? durationSeconds(r) : null;
  return s === null ? [4, 0] : [2, s];
}

/** -1, 0, +1 like policy.CompareRetention. */
export function compareRetention(a, b) {
  const [ac, as] = retentionKey(a);
  const [bc, bs] = retentionKey(b);
  if (ac !== bc) return ac < bc ? -1 : 1;
  return as < bs ? -1 : as > bs ? 1 : 0;
}

/** Rank of a value on a ladder dimension, -1 if unknown. */
export function rank(key, value) {
  return ladder(key).indexOf(value);
}

/** A person's words for one value of a dimension. */
export function valueLabel(key, value) {
  const dim = DIMENSION_BY_KEY[key];
  if (!dim) return String(value);
  const v = dim.values.find((x) => x.value === value);
  if (v) return v.label;
  if (key === 'retention') {
    const s = durationSeconds(value);
    if (s !== null) return humanDuration(value);
  }
  return String(value);
}

function humanDuration(iso) {
  const m = DURATION.exec(iso);
  const units = ['year', 'month', 'week', 'day', 'hour', 'minute', 'second'];
  const parts = [];
  m.slice(1).forEach((x, i) => {
    if (x !== undefined && Number(x) > 0) parts.push(`${Number(x)} ${units[i]}${Number(x) === 1 ? '' : 's'}`);
  });
  return parts.join(' ') || '0 seconds';
}

/** Words for a whole dimension value: purposes joined with ", ". */
export function describeValue(key, value) {
  if (Array.isArray(value)) return value.length ? value.map((v) => valueLabel(key, v)).join(', ') : 'nothing';
  return valueLabel(key, value);
}

/**
 * Words for a value as the host writes it in conflicts and history changes:
 * purposes as one string joined with ", " (policy.DescribeValue).
 */
export function describeWireValue(key, value) {
  if (key !== 'purposes') return valueLabel(key, value);
  return describeValue(key, String(value ?? '').split(/[\s,]+/).filter(Boolean));
}

/**
 * One change of a site's terms (a terms-changed event's `changes`,
 * PROTOCOL.md 12) in words, exactly as the host writes them in the event's
 * detail (policy.TermChange.Words; testdata/policy/changes.json checks both):
 * "offer basic: retention 30 days → 14 days", "offer ads added".
 */
export function describeChange(c) {
  if (!c?.dimension) return `offer ${c?.offer} ${c?.after ? 'added' : 'withdrawn'}`;
  const label = DIMENSION_BY_KEY[c.dimension]?.label ?? c.dimension;
  return `offer ${c.offer}: ${label.toLowerCase()} ${describeWireValue(c.dimension, c.before)} → ${describeWireValue(c.dimension, c.after)}`;
}

/**
 * Presets, used only when the host cannot be asked (its terms.get result is
 * authoritative): a copy of policy.Presets (policy/presets.go). Each preset's
 * terms.preset is its IEEE 7012 agreement code.
 */
const ON_REQUEST = { access: 'on-request', deletion: 'on-request', dataReturn: 'on-request' };
const ALL_BUT_SALE = ['service', 'analytics', 'personalisation', 'contextual-ads', 'personalised-ads'];
export const FALLBACK_PRESETS = Object.freeze([
  {
    name: 'service-only', title: 'Service only',
    description: 'Only what is needed to serve me while I visit: no analytics, no tracking across visits, no advertising.',
    terms: { v: 1, preset: 'SD-BY', terms: { tracking: 'session', purposes: ['service'], sharing: 'processors', retention: 'P7D', identity: 'pseudonymous', contact: 'transactional' }, obligations: ON_REQUEST },
  },
  {
    name: 'analytics', title: 'Service and analytics',
    description: 'Serve me and measure how the site is used, by the site alone (first-party, pseudonymous, kept up to 90 days). No advertising, no selling, no third-party tracking.',
    terms: { v: 1, preset: 'SD-BY-A', terms: { tracking: 'first-party', purposes: ['service', 'analytics'], sharing: 'processors', retention: 'P90D', identity: 'pseudonymous', contact: 'transactional' }, obligations: ON_REQUEST },
  },
  {
    name: 'first-party', title: 'First-party relationship',
    description: 'The site and its own related sites may recognise me, know who I am and show me ads based on the page (not on me), for up to a year.',
    terms: { v: 1, preset: 'SD-BY-AT', terms: { tracking: 'same-party', purposes: ['service', 'analytics', 'contextual-ads'], sharing: 'processors', retention: 'P1Y', identity: 'identified', contact: 'transactional' }, obligations: ON_REQUEST },
  },
  {
    name: 'personalised', title: 'Personalised',
    description: 'Also personalise the site and its ads for me and send me marketing; still no selling and no sharing beyond processors.',
    terms: { v: 1, preset: 'SD-BY-ATP', terms: { tracking: 'same-party', purposes: ALL_BUT_SALE, sharing: 'processors', retention: 'P2Y', identity: 'identified', contact: 'marketing' }, obligations: ON_REQUEST },
  },
  {
    name: 'generous', title: 'Generous',
    description: 'Also track me across sites and share anonymised data with third parties; I still require access and deletion on request.',
    terms: { v: 1, preset: 'SD-BY-ATP-S3P', terms: { tracking: 'cross-site', purposes: ALL_BUT_SALE, sharing: 'anonymised', retention: 'P2Y', identity: 'identified', contact: 'marketing' }, obligations: { access: 'on-request', deletion: 'on-request', dataReturn: 'none' } },
  },
]);
export const DEFAULT_PRESET = 'analytics';
