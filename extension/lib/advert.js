// Parsing the DNT-D response header a site sends on top-level documents:
//   DNT-D: v=1, terms=:<base64 SHA-256 of the terms document>:
// (PROTOCOL.md "Advertisement"; an RFC 9651 Dictionary). Unknown members are
// ignored for extensibility; a malformed field, a version other than 1, or a
// terms digest that is not a canonical 32-byte standard base64 value means
// the site offers no usable dialog. Pure: no browser APIs.

import { parseDictionary, ByteSequence, encodeBase64 } from './sfv.js';
import { PROTOCOL_VERSION } from './constants.js';

export class AdvertisementError extends Error {
  constructor(message, cause) {
    super(`DNT-D header: ${message}`, cause ? { cause } : undefined);
    this.name = 'AdvertisementError';
  }
}

/**
 * Returns {v, termsDigest} for a valid advertisement; throws AdvertisementError.
 * `value` is the header value as the browser reports it (several field lines
 * are already combined with ", ").
 */
export function parseAdvertisement(value) {
  if (typeof value !== 'string' || value.trim() === '') throw new AdvertisementError('empty');
  let dict;
  try {
    dict = parseDictionary(value);
  } catch (err) {
    throw new AdvertisementError(err.message, err);
  }
  const v = dict.get('v');
  if (!v) throw new AdvertisementError('missing v');
  if (typeof v.value !== 'number' || !Number.isInteger(v.value)) throw new AdvertisementError('v is not an integer');
  if (v.value !== PROTOCOL_VERSION) throw new AdvertisementError(`unsupported version ${v.value}`);
  const terms = dict.get('terms');
  if (!terms) throw new AdvertisementError('missing terms');
  if (!(terms.value instanceof ByteSequence)) throw new AdvertisementError('terms is not a byte sequence');
  if (terms.value.bytes.length !== 32) throw new AdvertisementError('terms is not a SHA-256 digest (32 bytes)');
  const termsDigest = encodeBase64(terms.value.bytes);
  if (termsDigest !== terms.value.base64) throw new AdvertisementError('terms digest is not canonical padded base64');
  return { v: v.value, termsDigest };
}

/** Like parseAdvertisement but returns null instead of throwing. */
export function tryParseAdvertisement(value) {
  try {
    return parseAdvertisement(value);
  } catch {
    return null;
  }
}

/** A digest that is safe to put in a header: canonical base64 of 32 bytes. */
export function isDigest(s) {
  return typeof s === 'string' && /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(s);
}
