import { test } from 'node:test';
import assert from 'node:assert/strict';
import { popupView, relationshipView, dataView, offerToShow, hostProblem, plainSummary, termChanges, complianceView, stateWords } from '../lib/viewmodel.js';
import { signalsFor } from '../lib/rules.js';
import { offerConflicts } from '../lib/terms.js';
import { STATE, REASON } from '../lib/constants.js';
import { lookFor } from '../lib/paint.js';
import { SHOP_REL, NEWS_REL, NEWS_OFFER, D } from './fixtures.js';

const SHOP = SHOP_REL.site;
const NEWS = NEWS_REL.site;

test('agreed relationship: table, receipt, history, actions', () => {
  const v = popupView({
    tab: { origin: SHOP, state: STATE.AGREED, advertisement: `v=1, terms=:${D(1)}:` },
    signals: signalsFor(SHOP, { agreed: { [SHOP]: D(2) } }),
    rel: SHOP_REL,
    history: { verified: true, events: [{ seq: 0, type: 'negotiated', time: '2026-11-24T10:00:00Z', hash: D(8), prev: '' }] },
  });
  assert.equal(v.site, '127.0.0.1:8441');
  assert.equal(v.title, 'r-button: relationship with 127.0.0.1:8441');
  assert.match(v.stateText, /agreement with 127\.0\.0\.1:8441/);
  assert.deepEqual(v.signals.headers.map((h) => `${h.name}: ${h.value}`), ['DNT: 1', 'Sec-GPC: 1', `Sec-DNT-D: v=1, agreed=:${D(2)}:`]);
  assert.deepEqual(v.signals.navigator, [{ name: 'navigator.globalPrivacyControl', value: 'true' }, { name: 'navigator.doNotTrack', value: '"1"' }]);
  const r = v.relationship;
  assert.equal(r.dimensions.length, 9);
  const retention = r.dimensions.find((d) => d.key === 'retention');
  assert.deepEqual([retention.mine, retention.theirs, retention.agreed, retention.differs, retention.conflict], ['90 days', '30 days', '30 days', true, false]);
  const purposes = r.dimensions.find((d) => d.key === 'purposes');
  assert.equal(purposes.differs, false);
  assert.equal(purposes.agreed, 'service, analytics');
  assert.deepEqual(r.conflicts, []);
  assert.equal(r.receipt.id, D(3));
  assert.equal(r.receipt.verified, true);
  assert.equal(r.receipt.offer, 'basic');
  assert.equal(r.controller.name, 'Demo Ltd');
  assert.equal(r.policy, 'http://127.0.0.1:8441/privacy');
  assert.equal(r.allow, null);
  assert.deepEqual(v.history, { verified: true, events: [{ seq: 0, type: 'negotiated', what: 'Agreed', time: '2026-11-24T10:00:00Z', detail: '', changes: [] }] });
  assert.deepEqual(v.actions, { pause: true, resume: false, renegotiate: true, end: true, data: true, allow: false });
  assert.equal(v.host, null);
});

test('conflict: the offer needing least widening, plain words, and Allow this', () => {
  assert.equal(offerToShow(NEWS_REL).id, 'ads');
  const v = popupView({ tab: { origin: NEWS, state: STATE.NO_AGREEMENT, advertisement: 'x' }, signals: signalsFor(NEWS), rel: NEWS_REL });
  const r = v.relationship;
  assert.equal(r.offerId, 'ads');
  assert.deepEqual(r.conflicts.map((c) => c.text), ['They need: personalised ads. You allow: service, analytics.']);
  assert.deepEqual(r.dimensions.filter((d) => d.conflict).map((d) => d.key), ['purposes']);
  assert.ok(r.dimensions.every((d) => d.agreed === '—'));
  assert.equal(r.receipt, null);
  assert.deepEqual(offerConflicts(r.allow.terms, NEWS_OFFER), []);
  assert.ok(v.actions.allow);
  assert.ok(!v.actions.end && !v.actions.data);
  assert.match(v.stateText, /goes beyond your terms/);
});

test('paused, no dialog, host problems, non-web tabs', () => {
  const p = popupView({ tab: { origin: NEWS, state: STATE.PAUSED }, signals: signalsFor(NEWS, { paused: [NEWS] }) });
  assert.equal(p.signals.paused, true);
  assert.deepEqual(p.signals.headers, []);
  assert.deepEqual([p.actions.pause, p.actions.resume], [false, true]);
  const n = popupView({ tab: { origin: 'https://example.com', state: STATE.NO_DIALOG }, signals: signalsFor('https://example.com') });
  assert.match(n.stateText, /does not offer DNT-D/);
  assert.equal(n.actions.renegotiate, false);
  const h = popupView({ tab: { origin: SHOP, state: STATE.HOST_UNAVAILABLE, advertisement: 'x' }, signals: signalsFor(SHOP), host: { ok: false, kind: 'unavailable', message: 'Specified native messaging host not found.' } });
  assert.equal(h.title, 'r-button: helper unavailable');
  assert.deepEqual(h.host.commands.map((c) => c.command), ['make install', 'rbutton install']);
  assert.equal(h.actions.renegotiate, false);
  assert.match(hostProblem({ ok: false, kind: 'outdated' }).heading, /out of date/);
  assert.equal(hostProblem({ ok: true }), null);
  const none = popupView({ tab: { origin: null, state: STATE.NONE }, signals: null });
  assert.equal(none.actions.pause, false);
  assert.equal(none.relationship, null);
});

test('relationship error and ended states', () => {
  const err = relationshipView({ ...NEWS_REL, state: 'error', conflicts: [], error: { code: 'site_unreachable', message: 'the site did not answer' } });
  assert.equal(err.error.code, 'site_unreachable');
  const v = popupView({ tab: { origin: NEWS, state: STATE.NO_AGREEMENT }, signals: signalsFor(NEWS), rel: { ...SHOP_REL, site: NEWS, state: 'ended' } });
  assert.match(v.stateText, /ended/);
  assert.equal(v.actions.end, false);
  assert.match(popupView({ tab: { origin: NEWS, state: STATE.NO_AGREEMENT, error: 'timeout' }, signals: signalsFor(NEWS) }).stateText, /failed: no agreement could be made \(timeout\)/);
  assert.match(popupView({ tab: { origin: NEWS, state: STATE.NO_AGREEMENT, error: 'private' }, signals: signalsFor(NEWS) }).stateText, /private windows/);
  // A policy that is not an http(s) URL is not linked.
  assert.equal(relationshipView({ ...SHOP_REL, siteTerms: { ...SHOP_REL.siteTerms, policy: 'javascript:alert(1)' } }).policy, null);
});

test('data return rendered readably', () => {
  const v = dataView({
    v: 1, record: D(3), controller: { name: 'Demo Ltd', contact: 'x' }, generated: '2026-11-24T11:00:00Z',
    items: [{ type: 'purchase', time: '2026-11-24T10:30:00Z', data: { item: 'kettle', price: 25, tags: ['a'] } }, { type: 'page-view', time: '2026-11-24T10:31:00Z' }],
  });
  assert.equal(v.items.length, 2);
  assert.deepEqual(v.items[0].fields, [['item', 'kettle'], ['price', '25'], ['tags', '["a"]']]);
  assert.deepEqual(v.items[1].fields, []);
  assert.deepEqual(dataView(null).items, []);
});

test('plain summary: what the site may do with me, per state', () => {
  const agreed = popupView({ tab: { origin: SHOP, state: STATE.AGREED, advertisement: 'x' }, signals: signalsFor(SHOP), rel: SHOP_REL });
  assert.match(plainSummary(agreed).text, /^What you agreed: tracking on this site; purposes service, analytics; .*retention 30 days.*\. They owe you access on request/);
  const conflict = popupView({ tab: { origin: NEWS, state: STATE.NO_AGREEMENT, advertisement: 'x' }, signals: signalsFor(NEWS), rel: NEWS_REL });
  assert.match(plainSummary(conflict).text, /^Purposes: They need: personalised ads\. You allow: service, analytics\. It gets your Do Not Track/);
  const ended = popupView({ tab: { origin: SHOP, state: STATE.NO_AGREEMENT }, signals: signalsFor(SHOP), rel: { ...SHOP_REL, state: 'ended', updated: '2026-11-25T09:00:00Z' } });
  assert.match(plainSummary(ended).text, /no longer has your consent/);
  assert.match(plainSummary(popupView({ tab: { origin: NEWS, state: STATE.PAUSED }, signals: signalsFor(NEWS, { paused: [NEWS] }) })).text, /no DNT, GPC or DNT-D/);
  assert.match(plainSummary(popupView({ tab: { origin: NEWS, state: STATE.NO_DIALOG }, signals: signalsFor(NEWS) })).text, /does not offer a dialog/);
  assert.equal(plainSummary(popupView({ tab: { origin: NEWS, state: STATE.HOST_UNAVAILABLE }, signals: signalsFor(NEWS), host: { ok: false, kind: 'unavailable' } })), null);
});

test('what changes between two sets of terms, in words; what Allow widens', () => {
  const a = structuredClone(SHOP_REL.myTerms);
  const b = structuredClone(a);
  b.terms.retention = 'P14D';
  b.obligations.dataReturn = 'none';
  assert.deepEqual(termChanges(a, b), ['Retention: 90 days → 14 days', 'Data return: on request → not required']);
  assert.deepEqual(termChanges(a, a), []);
  const conflict = popupView({ tab: { origin: NEWS, state: STATE.NO_AGREEMENT, advertisement: 'x' }, signals: signalsFor(NEWS), rel: NEWS_REL });
  assert.deepEqual(conflict.relationship.allow.widens, ['Purposes: service, analytics → service, analytics, personalised ads']);
});

test('ended, conflict and error: each its own headline, title and icon; ended says who and when', () => {
  const at = (s) => `<${s}>`;
  const tab = { origin: SHOP, state: STATE.NO_AGREEMENT, advertisement: 'x' };
  const views = {
    conflict: popupView({ tab, signals: signalsFor(SHOP), rel: { ...NEWS_REL, site: SHOP }, formatTime: at }),
    ended: popupView({ tab, signals: signalsFor(SHOP), rel: { ...SHOP_REL, state: 'ended', endedBy: 'user', updated: '2026-11-25T09:00:00Z' }, formatTime: at }),
    error: popupView({ tab, signals: signalsFor(SHOP), rel: { ...SHOP_REL, state: 'error', record: null, error: { code: 'site_unreachable', message: 'the site did not answer' } }, formatTime: at }),
    failed: popupView({ tab: { ...tab, relState: 'conflict', error: 'site_timeout' }, signals: signalsFor(SHOP), formatTime: at }),
  };
  assert.deepEqual(Object.values(views).map((v) => v.reason), [REASON.CONFLICT, REASON.ENDED, REASON.ERROR, REASON.ERROR]);
  const [c, e, r] = [views.conflict, views.ended, views.error];
  assert.equal(new Set([c.title, e.title, r.title]).size, 3, 'three titles');
  assert.equal(new Set([c.icon, e.icon, r.icon]).size, 3, 'three icons');
  assert.equal(new Set([c.stateText, e.stateText, r.stateText]).size, 3, 'three headlines');
  assert.equal(e.title, 'r-button: relationship with 127.0.0.1:8441 ended');
  assert.equal(e.stateText, 'You ended your relationship with 127.0.0.1:8441 on <2026-11-25T09:00:00Z>.');
  assert.equal(r.stateText, 'Negotiation with 127.0.0.1:8441 failed: the site did not answer.');
  assert.equal(views.failed.stateText, 'Negotiation with 127.0.0.1:8441 failed: the site did not answer in time (site_timeout).');
  assert.match(popupView({ tab: { ...tab, error: 'transport' }, signals: signalsFor(SHOP) }).stateText, /failed: no agreement could be made \(transport\)\.$/);
  // Who ended it.
  const endedBy = (endedBy) => popupView({ tab, signals: signalsFor(SHOP), rel: { ...SHOP_REL, state: 'ended', endedBy, updated: '2026-11-25T09:00:00Z' }, formatTime: at }).stateText;
  assert.match(endedBy('site'), /^127\.0\.0\.1:8441 ended the relationship on <2026-11-25T09:00:00Z>\.$/);
  assert.match(endedBy('withdrawn'), /^Your consent to 127\.0\.0\.1:8441 was withdrawn on <2026-11-25T09:00:00Z>: /);
  assert.match(endedBy(undefined), /ended on <2026-11-25T09:00:00Z>\.$/);
  // The popup's title is the toolbar's: the same function paints both.
  for (const v of Object.values(views)) assert.equal(v.title, lookFor({ ...tab, relState: v.relationship?.state ?? 'conflict', error: v === views.failed ? 'site_timeout' : null }).title);
  // The summary does not say again when it ended.
  assert.doesNotMatch(plainSummary(e).text, /2026/);
});

test('a conflict on an obligation names the dimension once', () => {
  const rel = { ...NEWS_REL, conflicts: [{ offer: 'ads', dimension: 'access', needs: 'none', allows: 'on-request' }] };
  const v = popupView({ tab: { origin: NEWS, state: STATE.NO_AGREEMENT, advertisement: 'x' }, signals: signalsFor(NEWS), rel });
  assert.deepEqual(v.relationship.conflicts.map((c) => c.line), ['Access: They offer: not required. You require: on request.']);
  assert.match(plainSummary(v).text, /^Access: They offer: not required\. You require: on request\. It gets/);
});

test('history in words: a terms-changed event lists what changed, per offer and dimension', () => {
  const changes = [
    { offer: 'basic', dimension: 'retention', before: 'P30D', after: 'P14D' },
    { offer: 'basic', dimension: 'purposes', before: 'service, analytics', after: 'service' },
    { offer: 'ads', after: 'offered' },
    { offer: 'old', before: 'offered' },
  ];
  const v = popupView({
    tab: { origin: SHOP, state: STATE.AGREED, advertisement: 'x' }, signals: signalsFor(SHOP), rel: SHOP_REL,
    history: { verified: true, events: [{ seq: 3, type: 'terms-changed', time: '2026-11-24T10:00:00Z', detail: 'words', changes }, { seq: 4, type: 'renegotiated', time: '2026-11-24T10:00:00Z' }] },
  });
  assert.deepEqual(v.history.events[0].changes, [
    'offer basic: retention 30 days → 14 days',
    'offer basic: purposes service, analytics → service',
    'offer ads added',
    'offer old withdrawn',
  ]);
  assert.equal(v.history.events[0].what, 'The site changed its terms');
  assert.deepEqual(v.history.events[1].changes, []);
  // An older event says only digests: the popup says what is known instead.
  const old = popupView({
    tab: { origin: SHOP, state: STATE.AGREED }, signals: signalsFor(SHOP), rel: SHOP_REL,
    history: { verified: true, events: [{ seq: 0, type: 'terms-changed', time: '2026-11-24T10:00:00Z', detail: `site terms changed from ${D(1)} to ${D(2)}` }] },
  });
  assert.equal(old.history.events[0].detail, 'what changed was not kept (recorded by an older r-button)');
});

test('compliance watch: the discrepancies recorded under the agreement in force, newest first, in the main view', () => {
  const ev = (seq, agreement, detail) => ({ seq, type: 'compliance', time: `2026-12-02T07:0${seq}:00Z`, agreement, detail, hash: D(8), prev: D(7) });
  const history = {
    verified: true,
    events: [
      { seq: 0, type: 'negotiated', time: '2026-12-02T07:00:00Z', agreement: D(3), hash: D(8), prev: '' },
      ev(1, D(5), 'page / contacted the third party https://old.example; an earlier agreement'),
      ev(2, D(3), 'page /gifts contacted the third party http://localhost:8444; the agreement says sharing: processors'),
      ev(3, D(3), 'page /gifts answered Tk: N to a request carrying the agreed digest'),
    ],
  };
  const v = popupView({ tab: { origin: SHOP, state: STATE.AGREED }, signals: signalsFor(SHOP), rel: SHOP_REL, history });
  assert.equal(v.compliance.heading, 'Seen on this site: 2 things your agreement does not allow');
  assert.deepEqual(v.compliance.items.map((i) => i.text), [history.events[3].detail, history.events[2].detail]);
  assert.equal(v.compliance.more, 0);
  assert.equal(v.history.events[2].what, 'The site did something the agreement does not allow');

  assert.equal(complianceView(history, SHOP_REL, { shown: 1 }).more, 1);
  assert.equal(complianceView({ events: history.events.slice(0, 3) }, SHOP_REL).heading, 'Seen on this site: something your agreement does not allow');
  assert.equal(complianceView({ events: history.events.slice(0, 2) }, SHOP_REL), null, 'only an earlier agreement\'s: history only');
  assert.equal(complianceView(history, { ...SHOP_REL, state: 'ended' }), null, 'no agreement in force');
  assert.equal(complianceView(null, SHOP_REL), null);
});

test('stateWords: the options list says who ended a relationship and when', () => {
  const t = () => '2 Dec 2026, 10:00';
  const updated = '2026-12-02T10:00:00Z';
  assert.equal(stateWords({ state: 'agreed' }, t), 'agreement');
  assert.equal(stateWords({ state: 'conflict' }, t), 'no agreement (conflict)');
  assert.equal(stateWords({ state: 'ended', endedBy: 'user', updated }, t), 'ended by you on 2 Dec 2026, 10:00');
  assert.equal(stateWords({ state: 'ended', endedBy: 'withdrawn', updated }, t), 'consent withdrawn on 2 Dec 2026, 10:00');
  assert.equal(stateWords({ state: 'ended', endedBy: 'site', updated }, t), 'ended by the site on 2 Dec 2026, 10:00');
  assert.equal(stateWords({ state: 'ended' }, t), 'ended', 'an older host says neither who nor when');
});
