import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onDocument, onRelationship, onHostError, onPaused, titleFor, iconFor, emptyTab } from '../lib/tabstate.js';
import { STATE } from '../lib/constants.js';
import { D } from './fixtures.js';

const SHOP = 'http://127.0.0.1:8441';
const ADV = `v=1, terms=:${D(1)}:`;
const base = { origin: SHOP, advertisement: ADV, paused: false, mayNegotiate: true, known: null };

test('transitions for a top-level document', () => {
  const table = [
    ['not a web page', { origin: null }, STATE.NONE, false],
    ['no header', { advertisement: null }, STATE.NO_DIALOG, false],
    ['malformed header', { advertisement: 'v=1, terms="x"' }, STATE.NO_DIALOG, false],
    ['plain http, not loopback', { origin: 'http://example.com', advertisement: ADV }, STATE.NO_DIALOG, false],
    ['new site offering dialog', {}, STATE.NEGOTIATING, true],
    ['paused wins over everything', { paused: true, known: { state: 'agreed', termsDigest: D(1) } }, STATE.PAUSED, false],
    ['same terms as the agreement', { known: { state: 'agreed', termsDigest: D(1) } }, STATE.AGREED, false],
    ['same terms as the conflict', { known: { state: 'conflict', termsDigest: D(1) } }, STATE.NO_AGREEMENT, false],
    ['terms changed since the agreement', { known: { state: 'agreed', termsDigest: D(7) } }, STATE.NEGOTIATING, true],
    ['last attempt was an error: retry', { known: { state: 'error', termsDigest: D(1) } }, STATE.NEGOTIATING, true],
    ['private window, not allowed', { mayNegotiate: false }, STATE.NO_AGREEMENT, false],
    ['private window, known agreement', { mayNegotiate: false, known: { state: 'agreed', termsDigest: D(7) } }, STATE.AGREED, false],
    ['host known missing: still try', { hostDown: true }, STATE.HOST_UNAVAILABLE, true],
    ['not observed, known agreement', { advertisement: undefined, known: { state: 'agreed', termsDigest: D(1) } }, STATE.AGREED, false],
    ['not observed, nothing known', { advertisement: undefined }, STATE.NO_DIALOG, false],
  ];
  for (const [name, over, state, negotiate] of table) {
    const r = onDocument({ ...base, ...over });
    assert.equal(r.tab.state, state, name);
    assert.equal(r.negotiate, negotiate, name);
  }
  const { tab } = onDocument(base);
  assert.equal(tab.termsDigest, D(1));
  assert.equal(tab.advertisement, ADV);
});

test('negotiation results, errors and pauses', () => {
  const { tab } = onDocument(base);
  assert.equal(onRelationship(tab, SHOP, { state: 'agreed' }).state, STATE.AGREED);
  assert.equal(onRelationship(tab, SHOP, { state: 'conflict' }).state, STATE.NO_AGREEMENT);
  assert.equal(onRelationship(tab, SHOP, { state: 'ended' }).state, STATE.NO_AGREEMENT);
  assert.equal(onRelationship(tab, SHOP, null).state, STATE.NO_AGREEMENT);
  // A late answer for a site the tab has left changes nothing.
  assert.equal(onRelationship(tab, 'http://127.0.0.1:9', { state: 'agreed' }), tab);
  assert.equal(onHostError(tab, SHOP, 'unavailable').state, STATE.HOST_UNAVAILABLE);
  assert.equal(onHostError(tab, SHOP, 'outdated').state, STATE.HOST_UNAVAILABLE);
  const remote = onHostError(tab, SHOP, 'remote', 'site_unreachable');
  assert.equal(remote.state, STATE.NO_AGREEMENT);
  assert.equal(remote.error, 'site_unreachable');
  const paused = onPaused(tab, SHOP);
  assert.equal(paused.state, STATE.PAUSED);
  assert.equal(onRelationship(paused, SHOP, { state: 'agreed' }).state, STATE.PAUSED);
  assert.equal(onHostError(paused, SHOP, 'unavailable').state, STATE.PAUSED);
  assert.equal(onPaused(tab, 'http://127.0.0.1:9'), tab);
});

test('titles are exactly as specified', () => {
  assert.equal(titleFor(STATE.AGREED, SHOP), 'r-button: relationship with 127.0.0.1:8441');
  assert.equal(titleFor(STATE.NO_AGREEMENT, SHOP), 'r-button: no agreement with 127.0.0.1:8441');
  assert.equal(titleFor(STATE.NO_DIALOG, 'https://example.com'), 'r-button: no dialog here');
  assert.equal(titleFor(STATE.NEGOTIATING, SHOP), 'r-button: negotiating with 127.0.0.1:8441');
  assert.equal(titleFor(STATE.PAUSED, SHOP), 'r-button: signals paused on 127.0.0.1:8441');
  assert.equal(titleFor(STATE.HOST_UNAVAILABLE, SHOP), 'r-button: helper unavailable');
  assert.equal(titleFor(STATE.NONE, null), 'r-button: no dialog here');
  assert.equal(titleFor(emptyTab().state, null), 'r-button: no dialog here');
});

test('only an agreement lights the icon', () => {
  for (const s of Object.values(STATE)) {
    assert.equal(iconFor(s) === 'on', s === STATE.AGREED, s);
  }
});
