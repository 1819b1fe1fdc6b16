// User terms on the extension side: strict validation (the same rules as
// policy.ParseUserTerms, so import errors show before anything reaches the
// host), checking an offer against them, widening them "just enough" to
// accept an offer, and the options form <-> JSON mapping.
// Pure: no browser APIs.

import {
  TERM_KEYS, OBLIGATION_KEYS, DIMENSION_BY_KEY, ladder, rank, isRetention, compareRetention, describeValue,
} from './vocabulary.js';

export class TermsError extends Error {
  /** @param {{path:string,message:string}[]} problems */
  constructor(problems) {
    super(problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; '));
    this.name = 'TermsError';
    this.problems = problems;
  }
}

const isObject = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);

function checkKeys(obj, allowed, required, path, problems) {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) problems.push({ path: path ? `${path}.${k}` : k, message: 'unknown field' });
  }
  for (const k of required) {
    if (!(k in obj)) problems.push({ path: path ? `${path}.${k}` : k, message: 'required' });
  }
}

/** Problems with a UserTerms value ([] when valid). Unknown fields are errors. */
export function userTermsProblems(u) {
  const problems = [];
  if (!isObject(u)) return [{ path: '', message: 'user terms must be a JSON object' }];
  checkKeys(u, ['v', 'preset', 'terms', 'obligations'], ['v', 'terms', 'obligations'], '', problems);
  if ('v' in u && u.v !== 1) problems.push({ path: 'v', message: 'must be 1' });
  // Lengths count code points, not UTF-16 units (PROTOCOL.md section 1, "chars").
  if ('preset' in u && (typeof u.preset !== 'string' || [...u.preset].length > 64)) {
    problems.push({ path: 'preset', message: 'must be a string of at most 64 characters' });
  }
  if ('terms' in u) {
    if (!isObject(u.terms)) {
      problems.push({ path: 'terms', message: 'must be an object' });
    } else {
      checkKeys(u.terms, TERM_KEYS, TERM_KEYS, 'terms', problems);
      for (const k of TERM_KEYS) {
        if (!(k in u.terms)) continue;
        const v = u.terms[k];
        const path = `terms.${k}`;
        if (k === 'purposes') {
          if (!Array.isArray(v) || v.length < 1 || v.length > 6) {
            problems.push({ path, message: 'must be a list of 1 to 6 purposes' });
          } else {
            v.forEach((p, i) => {
              if (!ladder('purposes').includes(p)) problems.push({ path: `${path}[${i}]`, message: `unknown purpose ${JSON.stringify(p)}` });
            });
            if (new Set(v).size !== v.length) problems.push({ path, message: 'purposes must be unique' });
          }
        } else if (k === 'retention') {
          if (!isRetention(v)) problems.push({ path, message: 'must be "none", "session", an ISO 8601 duration like "P30D", or "indefinite"' });
        } else if (!ladder(k).includes(v)) {
          problems.push({ path, message: `must be one of ${ladder(k).join(', ')}` });
        }
      }
    }
  }
  if ('obligations' in u) {
    if (!isObject(u.obligations)) {
      problems.push({ path: 'obligations', message: 'must be an object' });
    } else {
      checkKeys(u.obligations, OBLIGATION_KEYS, OBLIGATION_KEYS, 'obligations', problems);
      for (const k of OBLIGATION_KEYS) {
        if (k in u.obligations && !ladder(k).includes(u.obligations[k])) {
          problems.push({ path: `obligations.${k}`, message: `must be one of ${ladder(k).join(', ')}` });
        }
      }
    }
  }
  return problems;
}

/** Parses and validates user terms JSON text (an import); throws TermsError. */
export function parseUserTerms(text) {
  let u;
  try {
    u = JSON.parse(text);
  } catch (err) {
    throw new TermsError([{ path: '', message: `not JSON: ${err.message}` }]);
  }
  const problems = userTermsProblems(u);
  if (problems.length) throw new TermsError(problems);
  return u;
}

// Ranks as policy/match.go: an unknown term value is more permissive than any
// known one, an unknown obligation weaker than "none".
const termRank = (k, v) => {
  const r = rank(k, v);
  return r < 0 ? ladder(k).length : r;
};
const sortPurposes = (ps) => [...ps].sort((a, b) => termRank('purposes', a) - termRank('purposes', b));

/**
 * Where an offer goes beyond the user's terms, exactly as policy.CheckOffer
 * reports it: [{offer, dimension, needs, allows}] with vocabulary strings
 * (purposes: the missing ones, and the allowed ones, in ladder order joined
 * with ", "). [] = acceptable.
 */
export function offerConflicts(user, offer) {
  const out = [];
  const add = (dimension, needs, allows) => out.push({ offer: offer.id, dimension, needs, allows });
  const u = user.terms;
  const t = offer.terms;
  for (const k of TERM_KEYS) {
    if (k === 'purposes') {
      const extra = t.purposes.filter((p) => !u.purposes.includes(p));
      if (extra.length || t.purposes.length === 0) {
        add(k, t.purposes.length === 0 ? '(none declared)' : sortPurposes(extra).join(', '), sortPurposes(u.purposes).join(', '));
      }
    } else if (k === 'retention') {
      if (compareRetention(t.retention, u.retention) > 0) add(k, t.retention, u.retention);
    } else if (termRank(k, t[k]) > termRank(k, u[k])) {
      add(k, t[k], u[k]);
    }
  }
  for (const k of OBLIGATION_KEYS) {
    if (rank(k, offer.obligations[k]) < rank(k, user.obligations[k])) add(k, offer.obligations[k], user.obligations[k]);
  }
  return out;
}

/**
 * The user's terms widened just enough to accept `offer`: every dimension the
 * offer exceeds is raised to the offer's value (purposes: only the missing
 * ones are added), every obligation floor the offer misses is lowered to what
 * it gives. Nothing else changes. Returns a new UserTerms (preset dropped,
 * since the result is custom).
 */
export function widenForOffer(user, offer) {
  const terms = { ...user.terms };
  for (const k of TERM_KEYS) {
    const need = offer.terms[k];
    if (k === 'purposes') {
      const set = new Set([...user.terms.purposes, ...need]);
      terms.purposes = ladder('purposes').filter((p) => set.has(p));
    } else if (k === 'retention') {
      if (compareRetention(need, terms.retention) > 0) terms.retention = need;
    } else if (rank(k, need) > rank(k, terms[k])) {
      terms[k] = need;
    }
  }
  const obligations = { ...user.obligations };
  for (const k of OBLIGATION_KEYS) {
    if (rank(k, offer.obligations[k]) < rank(k, obligations[k])) obligations[k] = offer.obligations[k];
  }
  return { v: 1, terms, obligations };
}

/**
 * A conflict in plain words. Accepts the host's Conflict
 * ({dimension, needs, allows} as vocabulary strings; purposes may be joined
 * with "," ) or offerConflicts' raw values.
 */
export function describeConflict(c) {
  const dim = DIMENSION_BY_KEY[c.dimension];
  const split = (v) => (Array.isArray(v) ? v : String(v ?? '').split(/\s*,\s*|\s+/).filter(Boolean));
  const words = (v) => {
    if (typeof v === 'string' && v.startsWith('(')) return v; // "(none declared)"
    return c.dimension === 'purposes' ? describeValue('purposes', split(v)) : describeValue(c.dimension, v);
  };
  if (!dim) return { dimension: c.dimension, text: `${c.dimension}: they need ${c.needs}, you allow ${c.allows}.` };
  if (dim.group === 'obligations') {
    return {
      dimension: c.dimension,
      label: dim.label,
      text: `They offer: ${words(c.needs)}. You require: ${words(c.allows)}.`,
    };
  }
  return {
    dimension: c.dimension,
    label: dim.label,
    text: `They need: ${words(c.needs)}. You allow: ${words(c.allows)}.`,
  };
}

/** Flat form fields (one per dimension, purposes a list) from UserTerms. */
export function termsToForm(u) {
  const form = { preset: u.preset ?? '' };
  for (const k of TERM_KEYS) form[k] = k === 'purposes' ? [...u.terms.purposes] : u.terms[k];
  for (const k of OBLIGATION_KEYS) form[k] = u.obligations[k];
  return form;
}

/** UserTerms from flat form fields; throws TermsError if the result is invalid. */
export function formToTerms(form) {
  const u = { v: 1, terms: {}, obligations: {} };
  if (form.preset) u.preset = form.preset;
  for (const k of TERM_KEYS) {
    u.terms[k] = k === 'purposes' ? ladder('purposes').filter((p) => (form.purposes ?? []).includes(p)) : form[k];
  }
  for (const k of OBLIGATION_KEYS) u.obligations[k] = form[k];
  if (u.terms.purposes.length === 0) u.terms.purposes = undefined;
  const problems = userTermsProblems(JSON.parse(JSON.stringify(u)));
  if (problems.length) throw new TermsError(problems);
  return u;
}

/** Whether two UserTerms say the same thing (ignoring preset and purpose order). */
export function sameTerms(a, b) {
  const norm = (u) => JSON.stringify({
    t: TERM_KEYS.map((k) => (k === 'purposes' ? [...u.terms.purposes].sort() : u.terms[k])),
    o: OBLIGATION_KEYS.map((k) => u.obligations[k]),
  });
  return norm(a) === norm(b);
}

/** The preset name whose terms equal `u`, or "" for custom terms. */
export function matchingPreset(u, presets) {
  const p = presets.find((x) => sameTerms(x.terms, u));
  return p ? p.name : '';
}
