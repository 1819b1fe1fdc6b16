// Independent checks of what the host stored, written from the contract
// (PROTOCOL.md 5, 11) rather than from the Go code: JCS (RFC 8785) for
// the JSON we handle (objects, arrays, strings, integers, booleans, null),
// Ed25519 signatures over "dnt-d/1 agreement\n" + JCS(agreement), and the
// record id and agreed digest. A bug shared by host and site cannot pass here.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { DIMENSIONS } from '../../lib/vocabulary.js';

/** RFC 8785 canonical JSON (keys sorted by UTF-16 code units; ES number/string forms). */
export function jcs(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(v[k])}`).join(',')}}`;
}

export const sha256b64 = (s) => crypto.createHash('sha256').update(s).digest('base64');

export function signedBytes(agreement) {
  return Buffer.from(`dnt-d/1 agreement\n${jcs(agreement)}`, 'utf8');
}

function publicKey(b64) {
  const raw = Buffer.from(b64, 'base64');
  assert.equal(raw.length, 32, `ed25519 key ${b64} is not 32 bytes`);
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** Asserts both signatures and the id of a Record. */
export function verifyRecord(record, { site } = {}) {
  assert.ok(record, 'no record');
  const a = record.agreement;
  if (site) assert.equal(a.site, site, 'record.agreement.site');
  const bytes = signedBytes(a);
  assert.equal(record.id, sha256b64(bytes), 'record.id = base64 SHA-256 of the signed bytes');
  assert.ok(crypto.verify(null, bytes, publicKey(a.userKey), Buffer.from(record.userSignature, 'base64')),
    'user signature verifies under agreement.userKey');
  assert.ok(crypto.verify(null, bytes, publicKey(a.siteKey), Buffer.from(record.siteSignature, 'base64')),
    'site signature verifies under agreement.siteKey');
}

/** policy.AgreedDigest: SHA-256 of JCS({"terms":…,"obligations":…}). */
export const agreedDigest = (terms, obligations) => sha256b64(jcs({ terms, obligations }));

/** Asserts a hash chain of history events (policy.Event): hash and prev links. */
export function verifyChain(events) {
  let prev = '';
  for (const e of events) {
    const { hash, ...rest } = e;
    assert.equal(e.prev ?? '', prev, `event ${e.seq}: prev links to the previous hash`);
    assert.equal(hash, sha256b64(jcs(rest)), `event ${e.seq}: hash = SHA-256 of JCS(event without hash)`);
    prev = hash;
  }
}

/** The person-facing label of a dimension and of one of its values (extension/lib/vocabulary.js). */
export function labels(dimension, value) {
  const d = DIMENSIONS.find((x) => x.key === dimension);
  assert.ok(d, `unknown dimension ${dimension}`);
  const v = d.values.find((x) => x.value === value);
  return { dimension: d.label, value: v ? v.label : String(value) };
}

/**
 * Asserts that popup text shows every agreed term: per dimension its label,
 * and the label of its value (each purpose for the purposes set).
 */
export function assertShowsTerms(text, terms, obligations) {
  const low = text.toLowerCase();
  for (const [dim, val] of Object.entries({ ...terms, ...obligations })) {
    const values = Array.isArray(val) ? val : [val];
    const l = labels(dim, values[0]);
    assert.ok(low.includes(l.dimension.toLowerCase()), `popup names the dimension "${l.dimension}"`);
    for (const v of values) {
      const lv = labels(dim, v).value;
      assert.ok(low.includes(lv.toLowerCase()) || low.includes(String(v).toLowerCase()),
        `popup shows ${dim} = ${v} (as "${lv}")`);
    }
  }
}
