// A strict parser for RFC 9651 (Structured Field Values for HTTP) Dictionaries,
// as used by the DNT-D response header. It follows the parsing algorithms of
// RFC 9651 section 4.2 step by step, for every bare item type except Display
// Strings and Dates (not used by DNT-D: they fail the parse, which for a
// dictionary means the whole field is ignored, as the RFC requires).
// Pure: no browser APIs.

export class SFVParseError extends Error {
  constructor(message, offset) {
    super(`structured field: ${message} at offset ${offset}`);
    this.name = 'SFVParseError';
    this.offset = offset;
  }
}

/** A parsed Byte Sequence: keeps the base64 text as sent and the bytes. */
export class ByteSequence {
  constructor(base64, bytes) {
    this.base64 = base64;
    this.bytes = bytes;
  }
}

/** A parsed Decimal (distinct from Integer: 1.0 is not 1). */
export class Decimal {
  constructor(value) {
    this.value = value;
  }
}

/** A parsed Token (distinct from String). */
export class Token {
  constructor(value) {
    this.value = value;
  }
}

const DIGIT = /[0-9]/;
const LCALPHA = /[a-z]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TOKEN_START = /[A-Za-z*]/;
// tchar from RFC 9110 plus ":" and "/".
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const BASE64_CHAR = /[A-Za-z0-9+/=]/;

class Parser {
  constructor(input) {
    this.s = input;
    this.i = 0;
  }
  fail(msg) {
    throw new SFVParseError(msg, this.i);
  }
  peek() {
    return this.s[this.i];
  }
  eof() {
    return this.i >= this.s.length;
  }
  skipSP() {
    while (this.s[this.i] === ' ') this.i++;
  }
  skipOWS() {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
  }

  // RFC 9651 4.2.2
  parseDictionary() {
    const dict = new Map();
    while (!this.eof()) {
      const key = this.parseKey();
      let member;
      if (this.peek() === '=') {
        this.i++;
        member = this.parseItemOrInnerList();
      } else {
        member = { value: true, params: this.parseParameters() };
      }
      // Duplicate keys: the last one wins, in the first one's position.
      dict.set(key, member);
      this.skipOWS();
      if (this.eof()) return dict;
      if (this.peek() !== ',') this.fail('expected "," between dictionary members');
      this.i++;
      this.skipOWS();
      if (this.eof()) this.fail('trailing comma');
    }
    return dict;
  }

  parseItemOrInnerList() {
    if (this.peek() === '(') return this.parseInnerList();
    return this.parseItem();
  }

  parseInnerList() {
    this.i++; // "("
    const items = [];
    while (!this.eof()) {
      this.skipSP();
      if (this.peek() === ')') {
        this.i++;
        return { value: items, params: this.parseParameters() };
      }
      items.push(this.parseItem());
      const c = this.peek();
      if (c !== ' ' && c !== ')') this.fail('expected " " or ")" in inner list');
    }
    this.fail('unterminated inner list');
  }

  parseItem() {
    const value = this.parseBareItem();
    return { value, params: this.parseParameters() };
  }

  parseBareItem() {
    const c = this.peek();
    if (c === undefined) this.fail('expected an item');
    if (c === '-' || DIGIT.test(c)) return this.parseNumber();
    if (c === '"') return this.parseString();
    if (TOKEN_START.test(c)) return this.parseToken();
    if (c === ':') return this.parseByteSequence();
    if (c === '?') return this.parseBoolean();
    this.fail(`unexpected character ${JSON.stringify(c)}`);
  }

  parseParameters() {
    const params = new Map();
    while (this.peek() === ';') {
      this.i++;
      this.skipSP();
      const key = this.parseKey();
      let value = true;
      if (this.peek() === '=') {
        this.i++;
        value = this.parseBareItem();
      }
      params.set(key, value);
    }
    return params;
  }

  parseKey() {
    const c = this.peek();
    if (c === undefined || !(LCALPHA.test(c) || c === '*')) this.fail('expected a key');
    const start = this.i;
    while (!this.eof() && KEY_CHAR.test(this.peek())) this.i++;
    return this.s.slice(start, this.i);
  }

  parseNumber() {
    let sign = 1;
    if (this.peek() === '-') {
      sign = -1;
      this.i++;
    }
    if (this.eof() || !DIGIT.test(this.peek())) this.fail('expected a digit');
    const start = this.i;
    let decimal = false;
    while (!this.eof()) {
      const c = this.peek();
      if (DIGIT.test(c)) {
        this.i++;
      } else if (c === '.' && !decimal) {
        if (this.i - start > 12) this.fail('decimal integer part too long');
        decimal = true;
        this.i++;
      } else {
        break;
      }
      const len = this.i - start;
      if (!decimal && len > 15) this.fail('integer too long');
      if (decimal && len > 16) this.fail('decimal too long');
    }
    const text = this.s.slice(start, this.i);
    if (!decimal) return sign * Number.parseInt(text, 10);
    if (text.endsWith('.')) this.fail('decimal ends with "."');
    if (text.length - text.indexOf('.') - 1 > 3) this.fail('decimal has more than 3 fraction digits');
    return new Decimal(sign * Number.parseFloat(text));
  }

  parseString() {
    this.i++; // opening quote
    let out = '';
    while (!this.eof()) {
      const c = this.s[this.i++];
      if (c === '\\') {
        if (this.eof()) this.fail('unterminated escape');
        const n = this.s[this.i++];
        if (n !== '"' && n !== '\\') this.fail('invalid escape');
        out += n;
      } else if (c === '"') {
        return out;
      } else {
        const code = c.charCodeAt(0);
        if (code <= 0x1f || code >= 0x7f) this.fail('invalid character in string');
        out += c;
      }
    }
    this.fail('unterminated string');
  }

  parseToken() {
    const start = this.i;
    while (!this.eof() && TOKEN_CHAR.test(this.peek())) this.i++;
    return new Token(this.s.slice(start, this.i));
  }

  parseByteSequence() {
    this.i++; // ":"
    const start = this.i;
    while (!this.eof() && this.peek() !== ':') {
      if (!BASE64_CHAR.test(this.peek())) this.fail('invalid base64 character');
      this.i++;
    }
    if (this.eof()) this.fail('unterminated byte sequence');
    const b64 = this.s.slice(start, this.i);
    this.i++; // ":"
    return new ByteSequence(b64, decodeBase64(b64, (m) => this.fail(m)));
  }

  parseBoolean() {
    this.i++; // "?"
    const c = this.s[this.i++];
    if (c === '1') return true;
    if (c === '0') return false;
    this.fail('invalid boolean');
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Decodes standard base64. RFC 9651 says byte sequence parsers SHOULD accept
 * missing "=" padding and non-zero pad bits, so that is the default; callers
 * that need the canonical form (digests) check with encodeBase64 round trips.
 * fail(msg) must throw.
 */
export function decodeBase64(s, fail = (m) => { throw new Error(m); }) {
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const body = s.slice(0, s.length - pad);
  if (body.includes('=')) fail('base64 padding in the middle');
  if (pad > 0 && s.length % 4 !== 0) fail('base64 padded to a wrong length');
  if (body.length % 4 === 1) fail('base64 length is impossible');
  const out = new Uint8Array(Math.floor((body.length * 6) / 8));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const ch of body) {
    const v = B64.indexOf(ch);
    if (v < 0) fail('invalid base64 character');
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Encodes bytes as standard base64 with padding. */
export function encodeBase64(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? B64[n & 63] : '=';
  }
  return out;
}

/**
 * Parses a Dictionary field value (several field lines already joined with
 * ", "). Returns a Map of key → {value, params}; throws SFVParseError.
 */
export function parseDictionary(input) {
  if (typeof input !== 'string') throw new SFVParseError('not a string', 0);
  for (let k = 0; k < input.length; k++) {
    const code = input.charCodeAt(k);
    if (code > 0x7e || (code < 0x20 && code !== 0x09)) throw new SFVParseError('non-ASCII or control character', k);
  }
  const p = new Parser(input);
  p.skipSP();
  const dict = p.parseDictionary();
  p.skipSP();
  if (!p.eof()) p.fail('trailing characters');
  return dict;
}
