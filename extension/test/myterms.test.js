// The MyTerms roster in JS against testdata/policy/myterms.json, which
// policy.Roster (Go) writes and checks: both languages state one table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ROSTER, P7012_BASE, lookupRoster, rosterFits, strictestRoster, strictnessSentence, siteAgreements, atLeastAsStrict,
} from '../lib/myterms.js';
import { FALLBACK_PRESETS } from '../lib/vocabulary.js';

const vector = JSON.parse(readFileSync(fileURLToPath(new URL('../../testdata/policy/myterms.json', import.meta.url)), 'utf8'));

test('the roster is the Go table, member for member', () => {
  assert.equal(P7012_BASE, vector.base);
  const plain = JSON.parse(JSON.stringify(ROSTER));
  assert.deepEqual(plain, vector.roster);
});

test('per preset: the strictest agreement and the ones that fit, as Go computes them', () => {
  for (const p of vector.presets) {
    const preset = FALLBACK_PRESETS.find((x) => x.name === p.name);
    assert.ok(preset, p.name);
    assert.equal(preset.terms.preset, p.code);
    assert.equal(strictestRoster(preset.terms)?.code ?? '', p.strictest, p.name);
    assert.deepEqual(ROSTER.filter((r) => rosterFits(preset.terms, r)).map((r) => r.code), p.fits, p.name);
    assert.ok(atLeastAsStrict(preset.terms, lookupRoster(p.code)), `${p.name} vs its own code`);
  }
});

test('lookup by code, older code and IRI, any case; unknown is null', () => {
  assert.equal(lookupRoster('SD-BY-A').code, 'SD-BASE-A');
  assert.equal(lookupRoster(`${P7012_BASE}SD-BASE-ATP`).code, 'SD-BASE-ATP');
  assert.equal(lookupRoster(`${P7012_BASE}SD-BY`).code, 'SD-BASE');
  assert.equal(lookupRoster('pdc-ai').code, 'PDC-AI');
  assert.equal(lookupRoster('SD-NOPE'), null);
  assert.equal(lookupRoster(7), null);
});

test('options sentence names the strictest agreement', () => {
  const analytics = FALLBACK_PRESETS.find((x) => x.name === 'analytics').terms;
  assert.match(strictnessSentence(analytics), /at least as strict as .*SD-BASE-A-DP: service and first-party analytics/);
  const wide = structuredClone(analytics);
  wide.terms.purposes.push('sale');
  assert.match(strictnessSentence(wide), /allow more than every/);
});

test('a site file: which agreement fits, why the others do not, the one to proffer', () => {
  const analytics = FALLBACK_PRESETS.find((x) => x.name === 'analytics').terms;
  const file = { agreements: [{ id: 'SD-BASE-ATP' }, { id: 'PDC-AI', code: 'PDC-AI' }, { id: 'X-LOCAL' }, { id: 'sd-base-a-dp', code: 'SD-BASE-A-DP' }, { id: 'SD-BASE-DP' }] };
  const { rows, best } = siteAgreements(analytics, file);
  assert.deepEqual(rows.map((r) => [r.id, r.fits]), [['SD-BASE-ATP', false], ['PDC-AI', false], ['X-LOCAL', false], ['sd-base-a-dp', true], ['SD-BASE-DP', true]]);
  assert.match(rows[0].why, /tracking, purposes/);
  assert.match(rows[1].why, /contributing data/);
  assert.match(rows[2].why, /does not know/);
  assert.equal(best.code, 'SD-BASE-DP');
  assert.equal(siteAgreements(analytics, { agreements: [{ id: 'SD-BASE-ATP' }] }).best, null);
});
