import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRules, buildContentScripts, signalsFor, normaliseOrigins, portCheckFiles, CONTENT_SCRIPT_ID } from '../lib/rules.js';
import { RULE, ALL_RESOURCE_TYPES, STATIC_RULESET } from '../lib/constants.js';
import { originOf, siteLabel, urlFilterForOrigin, matchPatternForOrigin, isNegotiable, isLoopback } from '../lib/origin.js';

const D1 = Buffer.alloc(32, 1).toString('base64');
const D2 = Buffer.alloc(32, 2).toString('base64');
const SHOP = 'http://127.0.0.1:8441';
const NEWS = 'http://127.0.0.1:8442';

test('signals rule: three headers, byte-exact, on every resource type incl. main_frame', () => {
  const { dynamic, session } = buildRules();
  assert.equal(dynamic.length, 1);
  assert.deepEqual(session, []);
  const [r] = dynamic;
  assert.equal(r.id, RULE.SIGNALS_ID);
  assert.equal(r.priority, RULE.PRIORITY_SIGNALS);
  assert.deepEqual(r.action, {
    type: 'modifyHeaders',
    requestHeaders: [
      { header: 'DNT', operation: 'set', value: '1' },
      { header: 'Sec-GPC', operation: 'set', value: '1' },
      { header: 'Sec-DNT-D', operation: 'set', value: 'v=1' },
    ],
  });
  assert.deepEqual(r.condition, { resourceTypes: [...ALL_RESOURCE_TYPES] });
  assert.ok(r.condition.resourceTypes.includes('main_frame'));
});

test('agreed rules: higher priority, only requests to that origin, digest in an RFC 9651 byte sequence', () => {
  const { dynamic } = buildRules({ agreed: { [SHOP]: D1, 'https://example.com': D2 } });
  const agreed = dynamic.filter((r) => r.priority === RULE.PRIORITY_AGREED);
  assert.equal(agreed.length, 2);
  const shop = agreed.find((r) => r.condition.urlFilter === '|http://127.0.0.1:8441/');
  assert.ok(shop);
  assert.deepEqual(shop.action.requestHeaders.map((h) => [h.header, h.value]), [
    ['DNT', '1'], ['Sec-GPC', '1'], ['Sec-DNT-D', `v=1, agreed=:${D1}:`],
  ]);
  assert.ok(agreed.every((r) => r.id >= RULE.AGREED_BASE && r.id < RULE.AGREED_BASE + RULE.AGREED_MAX));
  assert.ok(RULE.PRIORITY_AGREED > RULE.PRIORITY_SIGNALS);
});

test('agreed only while the agreed origin is the top-level site (PROTOCOL.md 3.2)', () => {
  // No tab shows the shop: only a top-level navigation to it carries the digest.
  const none = buildRules({ agreed: { [SHOP]: D1 } });
  const [nav] = none.dynamic.filter((r) => r.priority === RULE.PRIORITY_AGREED);
  assert.deepEqual(nav.condition, { urlFilter: '|http://127.0.0.1:8441/', resourceTypes: ['main_frame'] });
  assert.deepEqual(none.session, [], 'no subresource rule: an image, iframe, script or beacon from another site gets v=1');

  // Tabs 4 and 9 show the shop: their requests to it from the shop's own host carry it too.
  const { dynamic, session } = buildRules({ agreed: { [SHOP]: D1, 'https://example.com': D2 }, agreedTabs: { [SHOP]: [9, 4, 4, -1], [NEWS]: [2] } });
  const navRules = dynamic.filter((r) => r.priority === RULE.PRIORITY_AGREED);
  assert.equal(navRules.length, 2);
  const shopNav = navRules.find((r) => r.condition.urlFilter === '|http://127.0.0.1:8441/');
  assert.equal(session.length, 1, 'one tab rule: only the shop has tabs, news has no agreement');
  const [tabRule] = session;
  assert.equal(tabRule.id - RULE.AGREED_TABS_BASE, shopNav.id - RULE.AGREED_BASE, 'same index as the shop\'s navigation rule');
  assert.ok(tabRule.id + RULE.AGREED_MAX <= RULE.PAUSED_TABS_ID);
  assert.equal(tabRule.priority, RULE.PRIORITY_AGREED);
  assert.deepEqual(tabRule.action.requestHeaders[2], { header: 'Sec-DNT-D', operation: 'set', value: `v=1, agreed=:${D1}:` });
  assert.deepEqual(tabRule.condition.tabIds, [4, 9]);
  assert.deepEqual(tabRule.condition.initiatorDomains, ['127.0.0.1']);
  assert.equal(tabRule.condition.urlFilter, '|http://127.0.0.1:8441/');
  assert.ok(!tabRule.condition.resourceTypes.includes('main_frame'), 'the tab\'s next navigation may leave the site');
  assert.deepEqual([...tabRule.condition.resourceTypes, 'main_frame'].sort(), [...ALL_RESOURCE_TYPES].sort());
});

test('agreed rules: a malformed digest or origin never reaches a header', () => {
  const { dynamic } = buildRules({
    agreed: {
      [SHOP]: 'not a digest',
      [NEWS]: `${D1}\r\nX-Evil: 1`,
      'http://127.0.0.1:8443/path': D1,
      'ftp://example.com': D1,
      'https://ok.example': D2,
    },
  });
  const agreed = dynamic.filter((r) => r.priority === RULE.PRIORITY_AGREED);
  assert.deepEqual(agreed.map((r) => r.condition.urlFilter), ['|https://ok.example/']);
});

test('paused site: allow + allowAllRequests above every header rule, port-exact', () => {
  const { dynamic, session } = buildRules({ paused: [NEWS], agreed: { [NEWS]: D1 } });
  const paused = dynamic.filter((r) => r.priority === RULE.PRIORITY_PAUSED);
  assert.equal(paused.length, 2);
  const allow = paused.find((r) => r.action.type === 'allow');
  const frames = paused.find((r) => r.action.type === 'allowAllRequests');
  assert.equal(allow.condition.urlFilter, '|http://127.0.0.1:8442/');
  assert.deepEqual(allow.condition.resourceTypes, [...ALL_RESOURCE_TYPES]);
  assert.equal(frames.condition.urlFilter, '|http://127.0.0.1:8442/');
  assert.deepEqual(frames.condition.resourceTypes, ['main_frame', 'sub_frame']);
  // No domain conditions: they would pause 127.0.0.1:8441 too.
  for (const r of paused) {
    assert.equal(r.condition.requestDomains, undefined);
    assert.equal(r.condition.initiatorDomains, undefined);
  }
  assert.deepEqual(session, []); // a worker rule would need a domain: not for an origin with a port
  const maxHeaderPriority = Math.max(...dynamic.filter((r) => r.action.type === 'modifyHeaders').map((r) => r.priority));
  assert.ok(RULE.PRIORITY_PAUSED > maxHeaderPriority);
  const ids = dynamic.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
});

test('paused site without a port also silences its workers (session rule, tabIds -1)', () => {
  const { session } = buildRules({ paused: ['https://example.com', SHOP] });
  assert.equal(session.length, 1);
  assert.deepEqual(session[0].condition.initiatorDomains, ['example.com']);
  assert.deepEqual(session[0].condition.tabIds, [-1]);
  assert.equal(session[0].action.type, 'allow');
});

test('rules are deterministic and ids unique for many sites', () => {
  const many = Array.from({ length: 50 }, (_, i) => `http://127.0.0.1:${9000 + i}`);
  const agreed = Object.fromEntries(many.map((o) => [o, D1]));
  const a = buildRules({ paused: [...many].reverse(), agreed });
  const b = buildRules({ paused: many, agreed });
  assert.deepEqual(a, b);
  const ids = [...a.dynamic, ...a.session].map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
});

test('resource types come from the browser when given', () => {
  const { dynamic } = buildRules({ resourceTypes: ['main_frame', 'image'], paused: [SHOP] });
  assert.deepEqual(dynamic[0].condition.resourceTypes, ['main_frame', 'image']);
});

test('content script (Chromium): MAIN world, document_start, all frames, paused origins excluded by port', () => {
  const [s] = buildContentScripts({ paused: [NEWS, 'https://example.com', 'junk'] });
  assert.equal(s.id, CONTENT_SCRIPT_ID);
  assert.deepEqual(s.js, ['content/signals.js']);
  assert.equal(s.world, 'MAIN');
  assert.equal(s.runAt, 'document_start');
  assert.equal(s.allFrames, true);
  assert.equal(s.matchOriginAsFallback, true);
  assert.deepEqual(s.excludeMatches, ['http://127.0.0.1:8442/*', 'https://example.com/*']);
  const [none] = buildContentScripts({ matchOriginAsFallback: false });
  assert.equal(none.excludeMatches, undefined);
  assert.equal(none.matchOriginAsFallback, undefined);
  assert.equal(buildContentScripts({ paused: [NEWS] }).length, 1);
});

test('signalsFor: what the popup says was sent', () => {
  assert.deepEqual(signalsFor(SHOP, { agreed: { [SHOP]: D1 } }).headers.map((h) => `${h.name}: ${h.value}`),
    ['DNT: 1', 'Sec-GPC: 1', `Sec-DNT-D: v=1, agreed=:${D1}:`]);
  assert.deepEqual(signalsFor(NEWS, { agreed: { [SHOP]: D1 } }).headers.map((h) => h.value), ['1', '1', 'v=1']);
  const p = signalsFor(NEWS, { paused: [NEWS] });
  assert.equal(p.paused, true);
  assert.deepEqual(p.headers, []);
  assert.deepEqual(p.navigator, {});
});

test('origins', () => {
  assert.equal(originOf('http://127.0.0.1:8441/a?b#c'), SHOP);
  assert.equal(originOf('HTTPS://Example.COM:443/x'), 'https://example.com');
  assert.equal(originOf('http://[::1]:8080/'), 'http://[::1]:8080');
  assert.equal(originOf('chrome://extensions'), null);
  assert.equal(originOf('about:blank'), null);
  assert.equal(originOf('not a url'), null);
  assert.equal(siteLabel(SHOP), '127.0.0.1:8441');
  assert.equal(siteLabel('https://example.com'), 'example.com');
  assert.equal(urlFilterForOrigin(SHOP), '|http://127.0.0.1:8441/');
  assert.equal(matchPatternForOrigin(SHOP), 'http://127.0.0.1:8441/*');
  assert.ok(isLoopback('http://localhost:1') && isLoopback('http://a.localhost') && isLoopback('http://[::1]:1') && isLoopback('http://127.1.2.3'));
  assert.ok(!isLoopback('http://127.example.com'));
  assert.ok(isNegotiable('https://example.com') && isNegotiable(SHOP));
  assert.ok(!isNegotiable('http://example.com') && !isNegotiable(null));
  assert.deepEqual(normaliseOrigins([NEWS, SHOP, SHOP, 'http://x/path', 'HTTP://A.B', 'file:///x']), [SHOP, NEWS, 'http://a.b']);
});

test('static ruleset equals the dynamic signals rule (over the types both browsers know)', async () => {
  const { readFileSync } = await import('node:fs');
  const staticRules = JSON.parse(readFileSync(new URL('../rules/signals.json', import.meta.url), 'utf8'));
  assert.equal(staticRules.length, 1);
  const [dyn] = buildRules({ resourceTypes: staticRules[0].condition.resourceTypes }).dynamic;
  assert.deepEqual(staticRules[0], dyn);
  const manifest = JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8'));
  assert.deepEqual(manifest.declarative_net_request.rule_resources, [{ id: STATIC_RULESET, enabled: true, path: 'rules/signals.json' }]);
});

test('tab-scoped pause rule: every request of those tabs but their next main_frame', () => {
  const { session } = buildRules({ paused: [NEWS], pausedTabIds: [7, 3, 7, -1, 1.5] });
  const r = session.find((x) => x.id === RULE.PAUSED_TABS_ID);
  assert.deepEqual(r.condition.tabIds, [3, 7]);
  assert.equal(r.action.type, 'allow');
  assert.equal(r.priority, RULE.PRIORITY_PAUSED);
  assert.ok(!r.condition.resourceTypes.includes('main_frame'));
  assert.ok(r.condition.resourceTypes.includes('image') && r.condition.resourceTypes.includes('sub_frame'));
  assert.equal(buildRules({ paused: [NEWS] }).session.find((x) => x.id === RULE.PAUSED_TABS_ID), undefined);
});

test('content scripts (Firefox): isolated-world signals plus a port check per paused origin', () => {
  const list = buildContentScripts({ paused: [NEWS, 'https://example.com'], portsInPatterns: false });
  assert.deepEqual(list.map((s) => s.id), [CONTENT_SCRIPT_ID, 'rbutton-paused-0', 'rbutton-paused-1']);
  assert.deepEqual(list[0].js, ['content/gecko/signals.js']);
  assert.equal(list[0].excludeMatches, undefined);
  assert.deepEqual(list[1].matches, ['http://127.0.0.1/*']);
  assert.deepEqual(list[1].js, portCheckFiles(NEWS));
  assert.deepEqual(list[2].matches, ['https://example.com/*']);
  for (const s of list) assert.ok(s.allFrames && s.runAt === 'document_start' && s.world === 'ISOLATED');
});

test('the port check scripts match exactly the paused port', async () => {
  const { readFileSync } = await import('node:fs');
  const vm = await import('node:vm');
  const read = (f) => readFileSync(new URL(`../${f}`, import.meta.url), 'utf8');
  const run = (origin, pageUrl) => {
    const u = new URL(pageUrl);
    const ctx = vm.createContext({ location: { port: u.port, protocol: u.protocol } });
    ctx.globalThis = ctx;
    let undone = false;
    ctx.rbuttonUnsignal = () => { undone = true; };
    for (const f of portCheckFiles(origin)) vm.runInContext(read(f), ctx);
    return { paused: ctx.rbuttonPaused === true, undone };
  };
  assert.deepEqual(run(NEWS, 'http://127.0.0.1:8442/x'), { paused: true, undone: true });
  for (const other of ['http://127.0.0.1:8441/', 'http://127.0.0.1:8443/', 'http://127.0.0.1/', 'http://127.0.0.1:58442/', 'http://127.0.0.1:74/']) {
    assert.deepEqual(run(NEWS, other), { paused: false, undone: false }, other);
  }
  assert.equal(run('https://example.com', 'https://example.com/a').paused, true);
  assert.equal(run('https://example.com', 'https://example.com:8443/a').paused, false);
  assert.equal(run('http://127.0.0.1:65535', 'http://127.0.0.1:65535/').paused, true);
  assert.equal(run('http://127.0.0.1:1', 'http://127.0.0.1:1/').paused, true);
});

test('the DNT-off navigator scripts are the usual ones without doNotTrack', async () => {
  const { readFileSync } = await import('node:fs');
  const read = (f) => readFileSync(new URL(`../content/${f}`, import.meta.url), 'utf8');
  const code = (src) => src.split('\n').filter((l) => !l.startsWith('//')).join('\n');
  assert.equal(code(read('signals-gpc.js')), code(read('signals.js')).replace("  define('doNotTrack', '1');\n", ''));
  assert.ok(!read('signals-gpc.js').includes("define('doNotTrack'"));
  assert.match(read('gecko/signals.js'), /rbuttonNoDNT === true \? \[\['globalPrivacyControl', true\]\]/);
  const [chromium] = buildContentScripts({ sendDNT: false });
  assert.deepEqual(chromium.js, ['content/signals-gpc.js']);
  const [gecko] = buildContentScripts({ sendDNT: false, portsInPatterns: false });
  assert.deepEqual(gecko.js, ['content/gecko/no-dnt.js', 'content/gecko/signals.js']);
  assert.deepEqual(signalsFor('https://a.example', { sendDNT: false }).headers.map((h) => h.name), ['Sec-GPC', 'Sec-DNT-D']);
});
