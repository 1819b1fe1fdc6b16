// The shared DNT-D vectors in testdata/policy (written for the Go policy
// package), run against the extension's own implementations so both sides
// agree byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAdvertisement, isDigest } from '../lib/advert.js';
import { parseDictionary, ByteSequence, encodeBase64 } from '../lib/sfv.js';
import { isRetention, compareRetention, durationSeconds } from '../lib/vocabulary.js';
import { offerConflicts, userTermsProblems } from '../lib/terms.js';
import { FALLBACK_PRESETS } from '../lib/vocabulary.js';
import { agreedHeaderValue } from '../lib/constants.js';

const vectors = (name) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../testdata/policy/${name}`, import.meta.url)), 'utf8'));

test('response header vectors (DNT-D advertisement)', () => {
  for (const c of vectors('headers.json').response) {
    if (c.error !== undefined) assert.throws(() => parseAdvertisement(c.in), undefined, c.in);
    else assert.equal(parseAdvertisement(c.in).termsDigest, c.terms, c.in);
  }
});

test('request header vectors: our Sec-DNT-D values parse the way the site parses them', () => {
  for (const c of vectors('headers.json').request) {
    if (c.error !== undefined || !c.agreed) continue;
    const d = parseDictionary(c.in);
    assert.equal(d.get('v').value, 1);
    assert.ok(d.get('agreed').value instanceof ByteSequence);
    assert.equal(encodeBase64(d.get('agreed').value.bytes), c.agreed);
    // What we send for that digest is itself a valid vector.
    assert.ok(isDigest(c.agreed));
    const ours = parseDictionary(agreedHeaderValue(c.agreed));
    assert.equal(ours.get('agreed').value.base64, c.agreed);
  }
});

test('retention vectors', () => {
  const r = vectors('retention.json');
  for (const c of r.parse) {
    assert.equal(isRetention(c.in), !c.error, JSON.stringify(c.in));
    if (c.class === 'duration') assert.equal(durationSeconds(c.in), c.seconds, c.in);
  }
  for (const c of r.compare) assert.equal(compareRetention(c.a, c.b), c.want, `${c.a} vs ${c.b}`);
});

test('match vectors: conflicts exactly as policy.CheckOffer reports them', () => {
  const m = vectors('match.json');
  const presets = Object.fromEntries(FALLBACK_PRESETS.map((p) => [p.name, p.terms]));
  for (const c of m.cases) {
    const user = typeof c.user === 'string' ? presets[c.user] : c.user;
    assert.ok(user, c.name);
    const offers = c.offers.map((o) => ({
      id: o.id,
      terms: { ...m.baseOffer.terms, ...(o.terms ?? {}) },
      obligations: { ...m.baseOffer.obligations, ...(o.obligations ?? {}) },
    }));
    if (c.chosen) {
      assert.deepEqual(offerConflicts(user, offers.find((o) => o.id === c.chosen)), [], c.name);
    } else {
      assert.deepEqual(offers.flatMap((o) => offerConflicts(user, o)), c.conflicts, c.name);
    }
  }
});

test('user-terms document vectors: the extension accepts exactly what policy.ParseUserTerms accepts', () => {
  const cases = vectors('documents.json').filter((c) => c.parser === 'user' && c.doc !== undefined);
  assert.ok(cases.length >= 6);
  for (const c of cases) {
    const problems = userTermsProblems(c.doc);
    if (c.error === undefined) assert.deepEqual(problems, [], c.name);
    else assert.ok(problems.some((p) => p.path === c.error), `${c.name}: ${JSON.stringify(problems)}`);
  }
});
