import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDictionary, ByteSequence, Token, Decimal, SFVParseError, decodeBase64, encodeBase64 } from '../lib/sfv.js';
import { parseAdvertisement, tryParseAdvertisement, isDigest, AdvertisementError } from '../lib/advert.js';

const DIGEST = Buffer.alloc(32, 0xab).toString('base64'); // "q6ur…"
const plain = (dict) => Object.fromEntries([...dict].map(([k, m]) => [k, m.value instanceof ByteSequence ? `:${m.value.base64}:` : m.value instanceof Token ? `tok:${m.value.value}` : m.value instanceof Decimal ? `dec:${m.value.value}` : m.value]));

test('dictionary: valid inputs', () => {
  const cases = [
    ['a=1', { a: 1 }],
    ['a=1, b=2', { a: 1, b: 2 }],
    ['a=1,b=2', { a: 1, b: 2 }],
    ['a=1 ,\tb=2', { a: 1, b: 2 }],
    ['   a=1', { a: 1 }],
    ['a=1   ', { a: 1 }],
    ['a', { a: true }],
    ['a;x=1', { a: true }],
    ['a=?0', { a: false }],
    ['a=?1', { a: true }],
    ['a=-42', { a: -42 }],
    ['a=4.5', { a: 'dec:4.5' }],
    ['a=-0.125', { a: 'dec:-0.125' }],
    ['a="he said \\"hi\\""', { a: 'he said "hi"' }],
    ['a=tok/en:x', { a: 'tok:tok/en:x' }],
    ['a=*star', { a: 'tok:*star' }],
    ['a=::', { a: '::' }],
    ['a=:aGVsbG8=:', { a: ':aGVsbG8=:' }],
    ['a=1, a=2', { a: 2 }], // duplicate: last wins
    ['', {}],
    ['k*_-.=1', { 'k*_-.': 1 }],
  ];
  for (const [input, want] of cases) assert.deepEqual(plain(parseDictionary(input)), want, input);
});

test('dictionary: inner lists and parameters', () => {
  const d = parseDictionary('a=(1 "x" tok);p=?1, b=2;q="s";r');
  assert.deepEqual(d.get('a').value.map((i) => (i.value instanceof Token ? i.value.value : i.value)), [1, 'x', 'tok']);
  assert.equal(d.get('a').params.get('p'), true);
  assert.equal(d.get('b').params.get('q'), 's');
  assert.equal(d.get('b').params.get('r'), true);
  assert.deepEqual(parseDictionary('a=()').get('a').value, []);
  assert.deepEqual(parseDictionary('a=(  1  2 )').get('a').value.map((i) => i.value), [1, 2]);
});

test('dictionary: invalid inputs are rejected', () => {
  const bad = [
    'A=1', // uppercase key
    '1a=1', // key starting with a digit
    'a=1,', // trailing comma
    'a=1, ', // trailing comma and space
    ',a=1',
    'a=1 b=2', // missing comma
    'a=', // missing value
    'a="unterminated',
    'a="bad \\n escape"',
    'a="tab\there"',
    'a=:not base64!:',
    'a=:aGVsbG8=',
    'a=?2',
    'a=1234567890123456', // 16-digit integer
    'a=1234567890123.5', // 13 integer digits in a decimal
    'a=1.2345', // 4 fraction digits
    'a=1.',
    'a=-',
    'a=(1 2',
    'a=(1,2)',
    '\ta=1', // leading tab is not SP
    'a=1;', // parameter without key
    'a=é',
    'a=@date', // Dates are RFC 9651 but not DNT-D: rejected
    'a=%"display"',
    'a=:a=b=:',
  ];
  for (const input of bad) assert.throws(() => parseDictionary(input), SFVParseError, input);
  assert.throws(() => parseDictionary(undefined), SFVParseError);
});

test('base64 round trip and leniency', () => {
  for (let n = 0; n < 40; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    const b64 = encodeBase64(bytes);
    assert.equal(b64, Buffer.from(bytes).toString('base64'));
    assert.deepEqual(decodeBase64(b64), bytes);
  }
  // RFC 9651: parsers SHOULD accept missing padding.
  assert.deepEqual([...decodeBase64('aGVsbG8')], [...Buffer.from('hello')]);
  assert.throws(() => decodeBase64('a'));
});

test('advertisement: valid', () => {
  assert.deepEqual(parseAdvertisement(`v=1, terms=:${DIGEST}:`), { v: 1, termsDigest: DIGEST });
  // Order, spacing, unknown members and parameters do not matter.
  assert.deepEqual(parseAdvertisement(`terms=:${DIGEST}:;x=1,future=?1,v=1`), { v: 1, termsDigest: DIGEST });
  // Two field lines combined by the browser.
  assert.deepEqual(parseAdvertisement(`v=1, terms=:${DIGEST}:`.split(', ').join(', ')), { v: 1, termsDigest: DIGEST });
});

test('advertisement: invalid', () => {
  const bad = [
    '', '   ', null, undefined,
    `terms=:${DIGEST}:`, // no v
    `v=2, terms=:${DIGEST}:`,
    `v="1", terms=:${DIGEST}:`,
    `v=1.0, terms=:${DIGEST}:`,
    'v=1', // no terms
    `v=1, terms="${DIGEST}"`, // string, not byte sequence
    `v=1, terms=${DIGEST}`, // not even an item
    'v=1, terms=:aGVsbG8=:', // 5 bytes
    `v=1, terms=:${DIGEST.slice(0, -1)}:`, // unpadded: accepted by SFV, not canonical
    `v=1, terms=:${DIGEST.slice(0, 42)}r=:`, // non-zero pad bits
    `v=1, terms=:${DIGEST}:,`,
    `v=1; terms=:${DIGEST}:`, // terms as a parameter of v
    `v=1, terms=(:${DIGEST}:)`,
  ];
  for (const input of bad) {
    assert.throws(() => parseAdvertisement(input), AdvertisementError, String(input));
    assert.equal(tryParseAdvertisement(input), null);
  }
});

test('isDigest accepts only canonical 32-byte base64', () => {
  assert.ok(isDigest(DIGEST));
  assert.ok(isDigest(Buffer.alloc(32).toString('base64')));
  assert.ok(!isDigest(DIGEST.slice(0, -1)));
  assert.ok(!isDigest(`${DIGEST.slice(0, 42)}r=`));
  assert.ok(!isDigest(`${DIGEST.slice(0, 10)}\n${DIGEST.slice(11)}`));
  assert.ok(!isDigest(undefined));
});
