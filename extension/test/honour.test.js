import { test } from 'node:test';
import assert from 'node:assert/strict';
import { honourView, uspOptOut, mytermsPath, probePage } from '../lib/honour.js';

const found = (gpc, lastUpdate) => ({ gpc: { state: 'found', path: '/.well-known/gpc.json' }, gpcStatement: { gpc, lastUpdate } });
const none = { usp: null, gpp: null, onetrust: null, mytermsHref: null, dialogAgreements: [] };

test('US Privacy strings: the third character is the opt-out of sale', () => {
  assert.equal(uspOptOut('1YYN'), 'yes');
  assert.equal(uspOptOut('1ynn'), 'no');
  assert.equal(uspOptOut('1---'), 'n/a');
  for (const bad of ['', '1YY', '2YYN', '1YYNN', null, 7]) assert.equal(uspOptOut(bad), null, String(bad));
});

test('headline: what the site says, then what its privacy string records; never more', () => {
  assert.equal(honourView({ check: found(true, '2026-01-13'), page: { ...none, usp: { source: '__uspapi', value: '1YYN' } } }).headline,
    'Says it honours GPC; its privacy string records your opt-out');
  assert.equal(honourView({ check: { gpc: { state: 'absent' }, gpcStatement: null }, page: none }).headline, 'No statement');
  assert.equal(honourView({ check: { gpc: { state: 'absent' }, gpcStatement: null }, page: { ...none, usp: { source: 'usprivacy cookie', value: '1YNN' } } }).headline,
    'No statement; its privacy string says you have not opted out');
  assert.equal(honourView({ check: found(false), page: none }).headline, 'Says it does not honour GPC');
  assert.equal(honourView({ check: { gpc: { state: 'unreachable', detail: 'timeout' } }, page: null }).headline, 'Could not be asked');
  assert.match(honourView({ check: null, page: none, paused: true }).headline, /paused/);
});

test('lines: gpc.json is a general statement; each string says what it records', () => {
  const v = honourView({
    check: found(true, '2026-01-13'),
    page: {
      ...none,
      usp: { source: '__uspapi', value: '1YYN' },
      gpp: { version: '1.1', sections: { usnat: { SaleOptOut: 1, SharingOptOut: 1, TargetedAdvertisingOptOut: 2 }, usca: {} } },
      onetrust: '1',
    },
  });
  const text = Object.fromEntries(v.lines.map((l) => [l.key, l.text]));
  assert.match(text.gpc, /says it honours Global Privacy Control \(updated 2026-01-13\).*not proof/);
  assert.match(text.usp, /1YYN, from __uspapi\) records your opt-out of sale/);
  assert.match(text['gpp-usnat'], /records your opt-out of sale and sharing, but says you have not opted out of targeted advertising/);
  assert.match(text['gpp-usca'], /has no opt-out that applies/);
  assert.match(text.onetrust, /registered your GPC signal/);

  assert.match(v.headline, /have not opted out/, 'one contrary record outweighs the others in the headline');
  const empty = honourView({ check: found(true), page: none });
  assert.ok(empty.lines.some((l) => l.key === 'page' && /no US Privacy, GPP or OneTrust string/.test(l.text)));
});

test('MyTerms link: same-origin paths only', () => {
  assert.equal(mytermsPath('http://127.0.0.1:8446/.well-known/myterms.json', 'http://127.0.0.1:8446'), '/.well-known/myterms.json');
  assert.equal(mytermsPath('http://127.0.0.1:8446/t.json?v=2', 'http://127.0.0.1:8446'), '/t.json?v=2');
  assert.equal(mytermsPath('https://cdn.example/t.json', 'http://127.0.0.1:8446'), null);
  assert.equal(mytermsPath('not a url', 'http://127.0.0.1:8446'), null);
  assert.equal(mytermsPath(null, 'http://127.0.0.1:8446'), null);
});

test('probePage reads __uspapi, __gpp ping, the OneTrust cookie and the MyTerms link', async () => {
  const saved = { window: globalThis.window, document: globalThis.document };
  try {
    globalThis.window = {
      __uspapi: (cmd, v, cb) => cb({ version: 1, uspString: '1YYN' }, true),
      __gpp: (cmd, cb) => cb({ gppVersion: '1.1', gppString: 'DBABLA~BVQqAAAAAgA.QA', parsedSections: { usnat: [{ SaleOptOut: 1, SharingOptOut: 1, Secret: 'x' }, { Gpc: true }], tcfeuv2: {} } }, true),
    };
    globalThis.document = {
      cookie: 'a=1; OptanonConsent=isGpcEnabled%3D1%26datestamp%3Dx; usprivacy=1NNN',
      querySelector: () => ({ href: 'http://127.0.0.1:8446/.well-known/myterms.json' }),
      querySelectorAll: () => [{ getAttribute: () => 'SD-BASE PDC-GOOD' }],
    };
    const p = await probePage(50);
    assert.deepEqual(p.usp, { source: '__uspapi', value: '1YYN' });
    assert.deepEqual(p.gpp.sections, { usnat: { SaleOptOut: 1, SharingOptOut: 1 } });
    assert.equal(p.onetrust, '1');
    assert.equal(p.mytermsHref, 'http://127.0.0.1:8446/.well-known/myterms.json');
    assert.deepEqual(p.dialogAgreements, ['SD-BASE', 'PDC-GOOD']);
    // A CMP that never calls back: the cookie is used after the wait.
    globalThis.window = { __uspapi: () => {} };
    const q = await probePage(20);
    assert.deepEqual(q.usp, { source: 'usprivacy cookie', value: '1NNN' });
    assert.equal(q.gpp, null);
  } finally {
    Object.assign(globalThis, saved);
  }
});

test("honourView: says when the browser sends GPC itself, and only then", () => {
  const check = { gpc: { state: 'absent' }, gpcStatement: null };
  const page = { usp: null, gpp: null, onetrust: null };
  const own = honourView({ check, page, browserGPC: true }).lines.find((l) => l.key === 'browser-gpc');
  assert.match(own.text, /browser sends Global Privacy Control itself/);
  assert.equal(honourView({ check, page }).lines.find((l) => l.key === 'browser-gpc'), undefined);
});
