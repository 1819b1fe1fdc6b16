import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  userTermsProblems, parseUserTerms, offerConflicts, widenForOffer, describeConflict, termsToForm, formToTerms, matchingPreset, TermsError, sameTerms,
} from '../lib/terms.js';
import { FALLBACK_PRESETS, compareRetention, durationSeconds, valueLabel, DIMENSIONS } from '../lib/vocabulary.js';
import { ANALYTICS, SHOP_OFFER, NEWS_OFFER, NEWS_WORSE } from './fixtures.js';

const clone = (x) => structuredClone(x);

test('presets and fixtures are valid user terms', () => {
  for (const p of FALLBACK_PRESETS) assert.deepEqual(userTermsProblems(p.terms), [], p.name);
  assert.deepEqual(userTermsProblems(ANALYTICS), []);
});

test('invalid user terms: each problem named by path', () => {
  const cases = [
    [(u) => { u.extra = 1; }, 'extra'],
    [(u) => { u.v = 2; }, 'v'],
    [(u) => { delete u.terms; }, 'terms'],
    [(u) => { u.terms.tracking = 'everywhere'; }, 'terms.tracking'],
    [(u) => { u.terms.purposes = []; }, 'terms.purposes'],
    [(u) => { u.terms.purposes = ['service', 'service']; }, 'terms.purposes'],
    [(u) => { u.terms.purposes = ['service', 'mining']; }, 'terms.purposes[1]'],
    [(u) => { u.terms.retention = '30 days'; }, 'terms.retention'],
    [(u) => { u.terms.retention = 'P1.5D'; }, 'terms.retention'],
    [(u) => { u.terms.retention = 'P'; }, 'terms.retention'],
    [(u) => { u.terms.retention = 'PT'; }, 'terms.retention'],
    [(u) => { u.terms.colour = 'red'; }, 'terms.colour'],
    [(u) => { delete u.terms.contact; }, 'terms.contact'],
    [(u) => { u.obligations.access = 'sometimes'; }, 'obligations.access'],
    [(u) => { u.obligations = []; }, 'obligations'],
    [(u) => { u.preset = 7; }, 'preset'],
  ];
  for (const [mutate, path] of cases) {
    const u = clone(ANALYTICS);
    mutate(u);
    const problems = userTermsProblems(u);
    assert.ok(problems.some((p) => p.path === path), `${path}: ${JSON.stringify(problems)}`);
  }
  assert.equal(userTermsProblems(null)[0].path, '');
  assert.equal(userTermsProblems([1])[0].path, '');
});

test('import: JSON text validated, errors are TermsError with paths', () => {
  assert.deepEqual(parseUserTerms(JSON.stringify(ANALYTICS)), ANALYTICS);
  assert.throws(() => parseUserTerms('{'), (e) => e instanceof TermsError && /not JSON/.test(e.message));
  assert.throws(() => parseUserTerms('{"v":1}'), (e) => e instanceof TermsError && e.problems.map((p) => p.path).includes('terms'));
  const bad = clone(ANALYTICS);
  bad.terms.sharing = 'everyone';
  assert.throws(() => parseUserTerms(JSON.stringify(bad)), /terms\.sharing: must be one of/);
});

test('retention ordering', () => {
  const order = ['none', 'session', 'PT1H', 'P1D', 'P1W', 'P30D', 'P1M', 'P90D', 'P1Y', 'indefinite'];
  for (let i = 0; i < order.length - 1; i++) assert.ok(compareRetention(order[i], order[i + 1]) <= 0, `${order[i]} <= ${order[i + 1]}`);
  assert.equal(compareRetention('P30D', 'P1M'), 0);
  assert.equal(compareRetention('P7D', 'P1W'), 0);
  assert.equal(durationSeconds('P1DT2H3M4S'), 86400 + 7200 + 180 + 4);
  assert.equal(durationSeconds('P1D2H'), null);
  assert.equal(valueLabel('retention', 'P30D'), '30 days');
  assert.equal(valueLabel('retention', 'P2W'), '2 weeks');
});

test('offerConflicts mirrors the policy rules', () => {
  assert.deepEqual(offerConflicts(ANALYTICS, SHOP_OFFER), []);
  assert.deepEqual(offerConflicts(ANALYTICS, NEWS_OFFER), [{ offer: 'ads', dimension: 'purposes', needs: 'personalised-ads', allows: 'service, analytics' }]);
  const dims = offerConflicts(ANALYTICS, NEWS_WORSE).map((c) => c.dimension);
  assert.deepEqual(dims, ['tracking', 'purposes', 'sharing', 'retention', 'identity', 'contact', 'access', 'deletion', 'dataReturn']);
});

test('widenForOffer: just enough to accept, nothing else', () => {
  const w = widenForOffer(ANALYTICS, NEWS_OFFER);
  assert.deepEqual(offerConflicts(w, NEWS_OFFER), []);
  assert.deepEqual(w.terms.purposes, ['service', 'analytics', 'personalised-ads']);
  assert.deepEqual({ ...w.terms, purposes: null }, { ...ANALYTICS.terms, purposes: null });
  assert.deepEqual(w.obligations, ANALYTICS.obligations);
  assert.equal(w.preset, undefined);
  assert.deepEqual(userTermsProblems(w), []);
  // Widening never narrows: the offer asks less than allowed on retention (P30D < P90D).
  assert.equal(widenForOffer(ANALYTICS, SHOP_OFFER).terms.retention, 'P90D');
  assert.ok(sameTerms(widenForOffer(ANALYTICS, SHOP_OFFER), ANALYTICS));
  const all = widenForOffer(ANALYTICS, NEWS_WORSE);
  assert.deepEqual(offerConflicts(all, NEWS_WORSE), []);
  assert.equal(all.terms.retention, 'indefinite');
  assert.equal(all.terms.tracking, 'cross-site');
  assert.equal(all.obligations.dataReturn, 'none');
  assert.deepEqual(all.terms.purposes, ['service', 'analytics', 'sale']);
  // Input untouched.
  assert.deepEqual(ANALYTICS.terms.purposes, ['service', 'analytics']);
});

test('conflicts in plain words', () => {
  assert.equal(describeConflict({ dimension: 'purposes', needs: 'personalised-ads', allows: 'service, analytics' }).text,
    'They need: personalised ads. You allow: service, analytics.');
  assert.equal(describeConflict({ dimension: 'purposes', needs: ['service', 'personalised-ads'], allows: ['service'] }).text,
    'They need: service, personalised ads. You allow: service.');
  assert.equal(describeConflict({ dimension: 'tracking', needs: 'cross-site', allows: 'first-party' }).text,
    'They need: across the web. You allow: on this site.');
  assert.equal(describeConflict({ dimension: 'dataReturn', needs: 'none', allows: 'on-request' }).text,
    'They offer: not required. You require: on request.');
  // The label is separate, never part of the text: the popup shows "Label: text".
  for (const c of [{ dimension: 'access', needs: 'none', allows: 'on-request' }, { dimension: 'tracking', needs: 'cross-site', allows: 'none' }]) {
    const d = describeConflict(c);
    assert.ok(d.label && !d.text.includes(d.label), JSON.stringify(d));
  }
  assert.match(describeConflict({ dimension: 'mystery', needs: 'x', allows: 'y' }).text, /mystery/);
});

test('options form <-> terms JSON', () => {
  for (const p of FALLBACK_PRESETS) {
    const form = termsToForm(p.terms);
    assert.equal(form.preset, p.terms.preset);
    for (const d of DIMENSIONS) assert.ok(d.key in form, d.key);
    const back = formToTerms(form);
    assert.deepEqual(back, p.terms);
    assert.equal(matchingPreset(back, FALLBACK_PRESETS), p.name);
  }
  // Purposes keep ladder order whatever the form order.
  const form = termsToForm(ANALYTICS);
  form.purposes = ['analytics', 'service'];
  form.preset = '';
  assert.deepEqual(formToTerms(form).terms.purposes, ['service', 'analytics']);
  form.purposes = [];
  assert.throws(() => formToTerms(form), (e) => e instanceof TermsError && e.problems.some((p) => p.path === 'terms.purposes'));
  const custom = { ...termsToForm(ANALYTICS), preset: '', contact: 'marketing' };
  assert.equal(matchingPreset(formToTerms(custom), FALLBACK_PRESETS), '');
});
