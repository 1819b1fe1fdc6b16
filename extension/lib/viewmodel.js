// Turns what the service worker knows about a tab (its state, the signals
// sent, the host's Relationship, history and data-return documents) into the
// popup's view model: words, tables and flags, no DOM. Pure: no browser APIs.

import { STATE, INSTALL_HINT, FAILURE_WORDS } from './constants.js';
import { DIMENSIONS, describeValue, describeChange } from './vocabulary.js';
import { siteLabel } from './origin.js';
import { offerConflicts, widenForOffer, describeConflict } from './terms.js';
import { lookFor, noAgreementReason } from './paint.js';
import { REASON } from './constants.js';

const EVENT_WORDS = {
  negotiated: 'Agreed',
  renegotiated: 'Agreed again',
  conflict: 'No agreement (conflict)',
  'terms-changed': 'The site changed its terms',
  'data-returned': 'They returned the data they hold',
  ended: 'Relationship ended',
  withdrawn: 'Consent withdrawn',
  proffered: 'You proffered a MyTerms agreement',
  compliance: 'The site did something the agreement does not allow',
  'details-shared': 'I gave them my details',
  'details-updated': 'My details updated',
  'details-failed': 'A details update did not reach them',
};

// A terms-changed event recorded before the host kept what changed says only
// "site terms changed from <digest> to <digest>": no words for a person.
const DIGESTS_ONLY = /^site terms changed from \S+ to \S+$/;

/** An event's detail for the popup: words, never bare digests. */
function eventDetail(e) {
  if (e.type === 'terms-changed' && DIGESTS_ONLY.test(e.detail ?? '')) return 'what changed was not kept (recorded by an older r-button)';
  return e.detail ?? '';
}

function dimValue(group, obj, key) {
  if (!obj) return null;
  const src = group === 'terms' ? obj.terms : obj.obligations;
  return src ? src[key] ?? null : null;
}

function same(a, b) {
  return JSON.stringify(Array.isArray(a) ? [...a].sort() : a) === JSON.stringify(Array.isArray(b) ? [...b].sort() : b);
}

/** The offer to show as "their offer": the agreed one, else the one needing least widening. */
export function offerToShow(rel) {
  const offers = rel?.siteTerms?.offers ?? [];
  if (rel?.offer) return rel.offer;
  const agreedId = rel?.record?.agreement?.offer;
  if (agreedId) {
    const o = offers.find((x) => x.id === agreedId);
    if (o) return o;
  }
  if (!rel?.myTerms || offers.length === 0) return null;
  let best = null;
  let bestCount = Infinity;
  for (const o of offers) {
    const n = offerConflicts(rel.myTerms, o).length;
    if (n < bestCount) {
      best = o;
      bestCount = n;
    }
  }
  return best;
}

/** Host-problem advice: what is wrong, in words, and exactly what to run. */
export function hostProblem(host) {
  if (!host || host.ok) return null;
  if (host.kind === 'store' && host.code === 'store_newer_schema') {
    return {
      kind: host.kind,
      heading: 'Your r-button database was written by a newer r-button',
      message: host.message ?? '',
      commands: [
        { where: 'from a checkout of r-button', command: INSTALL_HINT.checkout },
        { where: 'to see what the helper found', command: INSTALL_HINT.doctor },
      ],
    };
  }
  if (host.kind === 'store') {
    return {
      kind: host.kind,
      heading: host.code === 'store_error' ? 'Your r-button database cannot be read' : 'Your r-button database is damaged',
      message: host.message ?? '',
      commands: [{ where: 'to see what is wrong and how to repair it', command: INSTALL_HINT.doctor }],
    };
  }
  const outdated = host.kind === 'outdated';
  return {
    kind: host.kind,
    heading: outdated ? 'The r-button helper is out of date' : 'The r-button helper is not available',
    message: host.message ?? '',
    commands: [
      { where: 'from a checkout of r-button', command: INSTALL_HINT.checkout },
      { where: 'if rbutton is already installed', command: INSTALL_HINT.installed },
    ],
  };
}

/** A time in the reader's words: the browser's locale, to the minute. */
export function localTime(s) {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The headline of an ended relationship: who ended it, and when. */
function endedText(site, rel, formatTime) {
  const at = rel?.updated ? ` on ${formatTime(rel.updated)}` : '';
  switch (rel?.endedBy) {
    case 'user':
      return `You ended your relationship with ${site}${at}.`;
    case 'withdrawn':
      return `Your consent to ${site} was withdrawn${at}: the agreement no longer fitted your terms.`;
    case 'site':
      return `${site} ended the relationship${at}.`;
    default:
      return `Your relationship with ${site} ended${at}.`;
  }
}

/**
 * A relationship's state in a list (the options page): a few words, and for
 * an ended one who ended it and when (the summary's `updated`).
 */
export function stateWords(rel, formatTime = localTime) {
  if (rel?.state !== 'ended') {
    return { agreed: 'agreement', conflict: 'no agreement (conflict)', error: 'error' }[rel?.state] ?? String(rel?.state ?? '');
  }
  const at = rel.updated ? ` on ${formatTime(rel.updated)}` : '';
  switch (rel.endedBy) {
    case 'user':
      return `ended by you${at}`;
    case 'withdrawn':
      return `consent withdrawn${at}`;
    case 'site':
      return `ended by the site${at}`;
    default:
      return `ended${at}`;
  }
}

function stateText(state, site, rel, tab, host, formatTime) {
  switch (state) {
    case STATE.AGREED:
      return `You have an agreement with ${site}.`;
    case STATE.NEGOTIATING:
      return `Negotiating with ${site}…`;
    case STATE.NO_DIALOG:
      return `${site} does not offer DNT-D dialog. Your Do Not Track signals are still sent.`;
    case STATE.PAUSED:
      return `Signals are paused on ${site}: it receives no DNT, GPC or DNT-D signal, and neither do requests its pages make.`;
    case STATE.HOST_UNAVAILABLE:
      if (host?.kind === 'store') return `${hostProblem(host).heading}, so no agreement can be made. Your Do Not Track signals are still sent.`;
      return 'The r-button helper is not available, so no agreement can be made. Your Do Not Track signals are still sent.';
    case STATE.NO_AGREEMENT:
      switch (noAgreementReason(tab)) {
        case REASON.ENDED:
          return endedText(site, rel, formatTime);
        case REASON.CONFLICT:
          return `No agreement with ${site}: what they ask goes beyond your terms.`;
        case REASON.ERROR:
          if (tab.error) return `Negotiation with ${site} failed: ${FAILURE_WORDS[tab.error] ?? 'no agreement could be made'} (${tab.error}).`;
          return `Negotiation with ${site} failed: ${rel?.error?.message ?? 'no reason given'}.`;
        default:
          if (tab?.error === 'private') return `No agreement with ${site}: r-button does not negotiate in private windows (see Options).`;
          return `No agreement with ${site}.`;
      }
    default:
      return 'r-button works on web pages.';
  }
}

/**
 * @param {object} input
 * @param {object} input.tab        TabState (origin, state, ...)
 * @param {object} input.signals    rules.signalsFor(origin)
 * @param {object|null} input.rel   host Relationship or null
 * @param {{events:object[], verified:boolean}|null} input.history
 * @param {{ok:boolean, kind?:string, message?:string, version?:string}} input.host
 * @param {(time: string) => string} [input.formatTime]  a time in words (the browser's locale)
 */
export function popupView({ tab, signals, rel = null, history = null, host = { ok: true }, formatTime = localTime }) {
  const origin = tab?.origin ?? null;
  const site = origin ? siteLabel(origin) : '';
  const state = tab?.state ?? STATE.NONE;
  // The host's relationship is fresher than the tab's copy of its state.
  const shown = { ...tab, state, origin, relState: rel?.state ?? tab?.relState ?? null };
  const view = {
    origin,
    site,
    state,
    // Headline and title say the same: ended, conflict and error apart.
    reason: noAgreementReason(shown),
    title: lookFor(shown).title,
    icon: lookFor(shown).icon,
    stateText: stateText(state, site, rel, shown, host, formatTime),
    signals: signals
      ? {
        paused: signals.paused,
        headers: signals.headers,
        navigator: Object.entries(signals.navigator).map(([name, value]) => ({ name: `navigator.${name}`, value: JSON.stringify(value) })),
      }
      : null,
    host: hostProblem(host),
    relationship: null,
    history: null,
    actions: {
      pause: Boolean(origin) && state !== STATE.PAUSED,
      resume: state === STATE.PAUSED,
      renegotiate: false,
      end: false,
      data: false,
      allow: false,
    },
  };
  if (!origin) {
    view.actions.pause = false;
    return view;
  }
  if (rel) view.relationship = relationshipView(rel);
  if (history) {
    view.history = {
      verified: history.verified === true,
      events: (history.events ?? []).map((e) => ({
        seq: e.seq,
        type: e.type,
        what: EVENT_WORDS[e.type] ?? e.type,
        time: e.time,
        detail: eventDetail(e),
        // A terms-changed event: what changed, per offer and dimension.
        changes: Array.isArray(e.changes) ? e.changes.map(describeChange) : [],
      })),
    };
  }
  view.compliance = complianceView(history, rel);
  const hostOk = !view.host;
  const r = view.relationship;
  view.actions.renegotiate = hostOk && Boolean(tab.advertisement) && state !== STATE.PAUSED;
  view.actions.end = hostOk && r?.state === 'agreed';
  view.actions.data = hostOk && r?.state === 'agreed' && Boolean(rel?.siteTerms?.endpoints?.dataReturn);
  view.actions.allow = hostOk && Boolean(r?.allow) && state !== STATE.PAUSED;
  return view;
}

/** The relationship part of the popup: per-dimension table, receipt, conflicts. */
export function relationshipView(rel) {
  const offer = offerToShow(rel);
  const agreement = rel.state === 'agreed' ? rel.record?.agreement ?? null : null;
  const mine = rel.myTerms ?? null;
  const conflictsRaw = mine && offer ? offerConflicts(mine, offer) : [];
  const conflictDims = new Set(conflictsRaw.map((c) => c.dimension));
  const dimensions = DIMENSIONS.map((d) => {
    const m = dimValue(d.group, mine, d.key);
    const t = dimValue(d.group, offer, d.key);
    const a = dimValue(d.group, agreement, d.key);
    return {
      key: d.key,
      label: d.label,
      group: d.group,
      mine: m === null ? '—' : describeValue(d.key, m),
      theirs: t === null ? '—' : describeValue(d.key, t),
      agreed: a === null ? '—' : describeValue(d.key, a),
      differs: m !== null && t !== null && !same(m, t),
      conflict: conflictDims.has(d.key),
    };
  });
  // Host conflicts are authoritative when present; ours fill in otherwise.
  const hostConflicts = (rel.conflicts ?? []).filter((c) => !offer || !c.offer || c.offer === offer.id);
  // line: the conflict as one line, its label once ("Access: They offer…").
  const conflicts = (hostConflicts.length ? hostConflicts : conflictsRaw).map(describeConflict)
    .map((c) => ({ ...c, line: c.label ? `${c.label}: ${c.text}` : c.text }));
  const doc = rel.siteTerms ?? {};
  const out = {
    state: rel.state,
    since: rel.since ?? null,
    updated: rel.updated ?? null,
    exception: rel.exception === true,
    controller: doc.controller ?? null,
    policy: typeof doc.policy === 'string' && /^https?:\/\//.test(doc.policy) ? doc.policy : null,
    offerId: offer?.id ?? null,
    offerSummary: offer?.summary ?? '',
    dimensions,
    conflicts: rel.state === 'agreed' ? [] : conflicts,
    receipt: null,
    allow: null,
    error: rel.error ?? null,
  };
  if (rel.record) {
    out.receipt = {
      id: rel.record.id,
      termsDigest: rel.record.agreement?.termsDigest ?? rel.termsDigest ?? null,
      agreedDigest: rel.agreedDigest ?? null,
      verified: rel.verified === true,
      date: rel.record.agreement?.created ?? null,
      offer: rel.record.agreement?.offer || '(counter-proposal)',
    };
  }
  if (rel.state === 'conflict' && mine && offer && conflictsRaw.length) {
    const widened = widenForOffer(mine, offer);
    out.allow = { offer: offer.id, terms: widened, widens: termChanges(mine, widened) };
  }
  return out;
}

/**
 * What differs between two sets of terms, per dimension, in words:
 * ["Retention: 30 days → 14 days", …]. Used for "Allow this" (what it
 * widens) and for the history (what changed).
 */
export function termChanges(before, after) {
  const out = [];
  for (const d of DIMENSIONS) {
    const a = dimValue(d.group, before, d.key);
    const b = dimValue(d.group, after, d.key);
    if (a === null || b === null || same(a, b)) continue;
    out.push(`${d.label}: ${describeValue(d.key, a)} → ${describeValue(d.key, b)}`);
  }
  return out;
}

/**
 * The popup's plain summary under the headline: what this site may do with
 * me, in one or two sentences (when an ended relationship ended is in the
 * headline).
 * @returns {{text:string}|null}
 */
export function plainSummary(view) {
  const r = view.relationship;
  const signalsOnly = 'It gets your Do Not Track and Global Privacy Control signals: do not track me, do not sell or share my data.';
  if (view.host) return null;
  if (view.state === STATE.PAUSED) return { text: 'You paused signals here: this site and the requests its pages make get no DNT, GPC or DNT-D signal until you resume.' };
  if (r?.state === 'agreed') {
    const terms = r.dimensions.filter((d) => d.group === 'terms' && d.agreed !== '—').map((d) => `${d.label.toLowerCase()} ${d.agreed}`);
    const owed = r.dimensions.filter((d) => d.group === 'obligations' && d.agreed !== '—').map((d) => `${d.label.toLowerCase()} ${d.agreed}`);
    return { text: `What you agreed: ${terms.join('; ')}.${owed.length ? ` They owe you ${owed.join('; ')}.` : ''}` };
  }
  if (r?.state === 'ended') return { text: `The site no longer has your consent. ${signalsOnly}` };
  if (r?.state === 'conflict') {
    const first = r.conflicts[0];
    return { text: `${first ? `${first.line} ` : ''}${signalsOnly}` };
  }
  if (view.state === STATE.NO_DIALOG) return { text: `This site does not offer a dialog. ${signalsOnly}` };
  return view.origin ? { text: signalsOnly } : null;
}

/** A data-return document rendered readably. */
export function dataView(doc) {
  const items = Array.isArray(doc?.items) ? doc.items : [];
  return {
    controller: doc?.controller ?? null,
    generated: doc?.generated ?? null,
    items: items.map((it) => ({
      type: String(it?.type ?? 'item'),
      time: it?.time ?? null,
      fields: it && it.data && typeof it.data === 'object'
        ? Object.entries(it.data).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])
        : [],
    })),
  };
}

/**
 * The compliance watch in the popup's main view (PROTOCOL.md 12.1): what the
 * site's pages were seen to do that the agreement in force does not allow,
 * newest first; null when nothing was recorded under it. Earlier agreements'
 * discrepancies stay in the history only.
 */
export function complianceView(history, rel, { shown = 3 } = {}) {
  const record = rel?.state === 'agreed' ? rel.record?.id ?? null : null;
  if (!record) return null;
  const events = (history?.events ?? []).filter((e) => e.type === 'compliance' && e.agreement === record);
  if (!events.length) return null;
  const n = events.length;
  const items = events.slice(-shown).reverse().map((e) => ({ time: e.time ?? null, text: e.detail ?? '' }));
  return {
    count: n,
    heading: `Seen on this site: ${n === 1 ? 'something' : `${n} things`} your agreement does not allow`,
    items,
    more: n - items.length,
  };
}
