// IEEE 7012 "MyTerms": the roster of agreements mapped onto the DNT-D
// vocabulary (PROTOCOL.md 9.1), the same table as policy.Roster (both are
// checked against testdata/policy/myterms.json), and the words for what a
// site's MyTerms file (PROTOCOL.md 9.2) means against my terms.
// Pure: no browser APIs.

import { offerConflicts } from './terms.js';

export const P7012_BASE = 'https://w3id.org/dpv/standards/p7012#';

const SD_BASE = { tracking: 'session', purposes: ['service'], sharing: 'processors', retention: 'P7D', identity: 'pseudonymous', contact: 'transactional' };
const SD_A = { tracking: 'first-party', purposes: ['service', 'analytics'], sharing: 'processors', retention: 'P90D', identity: 'pseudonymous', contact: 'transactional' };
const SD_AT = { tracking: 'same-party', purposes: ['service', 'analytics', 'contextual-ads'], sharing: 'processors', retention: 'P1Y', identity: 'identified', contact: 'transactional' };
const ATP_PURPOSES = ['service', 'analytics', 'personalisation', 'contextual-ads', 'personalised-ads'];
const SD_ATP = { tracking: 'same-party', purposes: ATP_PURPOSES, sharing: 'processors', retention: 'P2Y', identity: 'identified', contact: 'marketing' };
const SD_ATP_S3P = { tracking: 'cross-site', purposes: ATP_PURPOSES, sharing: 'anonymised', retention: 'P2Y', identity: 'identified', contact: 'marketing' };
const PLAIN = { access: 'on-request', deletion: 'on-request', dataReturn: 'none' };
const PORTABLE = { access: 'on-request', deletion: 'on-request', dataReturn: 'on-request' };

/**
 * Most private first; a -DP variant before its plain form. Agreements
 * without terms (PDC-*) name purposes DNT-D cannot express: shown by name,
 * never matched.
 */
export const ROSTER = Object.freeze([
  { code: 'SD-BASE-DP', title: 'Service delivery, with data portability', terms: SD_BASE, obligations: PORTABLE },
  { code: 'SD-BASE', older: 'SD-BY', title: 'Service delivery only', terms: SD_BASE, obligations: PLAIN },
  { code: 'SD-BASE-A-DP', title: 'Service and first-party analytics, with data portability', terms: SD_A, obligations: PORTABLE },
  { code: 'SD-BASE-A', older: 'SD-BY-A', title: 'Service and first-party analytics', terms: SD_A, obligations: PLAIN },
  { code: 'SD-BASE-AT-DP', title: 'Service, analytics and first-party tracking, with data portability', terms: SD_AT, obligations: PORTABLE },
  { code: 'SD-BASE-AT', older: 'SD-BY-AT', title: 'Service, analytics and first-party tracking', terms: SD_AT, obligations: PLAIN },
  { code: 'SD-BASE-ATP-DP', title: 'Service, analytics, tracking and profiling by the site, with data portability', terms: SD_ATP, obligations: PORTABLE },
  { code: 'SD-BASE-ATP', older: 'SD-BY-ATP', title: 'Service, analytics, tracking and profiling by the site', terms: SD_ATP, obligations: PLAIN },
  { code: 'SD-BASE-ATP-S3P-DP', title: 'Also anonymised data shared with third parties, with data portability', terms: SD_ATP_S3P, obligations: PORTABLE },
  { code: 'SD-BASE-ATP-S3P', older: 'SD-BY-ATP-S3P', title: 'Also anonymised data shared with third parties', terms: SD_ATP_S3P, obligations: PLAIN },
  { code: 'PDC-AI', title: 'Personal data contribution for AI training and development' },
  { code: 'PDC-GOOD', title: 'Personal data contribution for the public good' },
  { code: 'PDC-INTENT', title: 'Personal data contribution for intent casting' },
].map((r) => Object.freeze(r)));

/** A roster agreement by code, older code or IRI (case-insensitive), or null. */
export function lookupRoster(name) {
  if (typeof name !== 'string') return null;
  let code = name.trim();
  if (code.startsWith(P7012_BASE)) code = code.slice(P7012_BASE.length);
  code = code.toUpperCase();
  return ROSTER.find((r) => r.code === code || r.older === code) ?? null;
}

export const rosterIRI = (r) => P7012_BASE + r.code;

/** The agreement read as a DNT-D offer, or null when it has no DNT-D terms. */
export function rosterOffer(r) {
  if (!r.terms) return null;
  return { id: r.code.toLowerCase(), preset: r.code, terms: r.terms, obligations: r.obligations };
}

/** The agreement fits my terms: read as an offer, it is acceptable under them. */
export function rosterFits(user, r) {
  const o = rosterOffer(r);
  return o !== null && offerConflicts(user, o).length === 0;
}

/** What of the agreement does not fit my terms (conflicts, as for an offer); null if inexpressible. */
export function rosterConflicts(user, r) {
  const o = rosterOffer(r);
  return o === null ? null : offerConflicts(user, o);
}

/** My terms allow nothing the agreement does not. */
export function atLeastAsStrict(user, r) {
  if (!r.terms) return false;
  return offerConflicts({ v: 1, terms: r.terms, obligations: r.obligations }, { id: 'user', terms: user.terms, obligations: user.obligations }).length === 0;
}

/** The strictest roster agreement my terms are at least as strict as, or null. */
export function strictestRoster(user) {
  return ROSTER.find((r) => atLeastAsStrict(user, r)) ?? null;
}

/** One line for the options page. */
export function strictnessSentence(user) {
  const r = strictestRoster(user);
  if (!r) return 'Your terms allow more than every IEEE 7012 (MyTerms) agreement on the roster.';
  return `Your terms are at least as strict as the IEEE 7012 (MyTerms) agreement ${r.code}: ${r.title.charAt(0).toLowerCase()}${r.title.slice(1)}.`;
}

/**
 * A site's accepted agreements (the host's parsed MyTerms file) against my
 * terms: one entry per listed agreement, in the site's order, and the one
 * to proffer (the strictest that fits, in roster order), or null.
 * @param {{agreements:{id:string,url?:string,code?:string}[]}} file
 */
export function siteAgreements(user, file) {
  const rows = (file?.agreements ?? []).map((a) => {
    const r = lookupRoster(a.code || a.id);
    if (!r) return { id: a.id, code: '', title: 'not on the IEEE 7012 roster', fits: false, why: 'r-button does not know this agreement.' };
    if (!r.terms) return { id: a.id, code: r.code, title: r.title, fits: false, why: 'It is about contributing data, which your terms do not describe.' };
    const cs = offerConflicts(user, rosterOffer(r));
    return { id: a.id, code: r.code, title: r.title, fits: cs.length === 0, conflicts: cs, why: cs.length ? `It goes beyond your terms on ${cs.map((c) => c.dimension).join(', ')}.` : 'It fits your terms.' };
  });
  const fitting = rows.filter((x) => x.fits);
  fitting.sort((a, b) => ROSTER.findIndex((r) => r.code === a.code) - ROSTER.findIndex((r) => r.code === b.code));
  return { rows, best: fitting[0] ?? null };
}
