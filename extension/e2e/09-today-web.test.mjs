// Scenario 9: today's web. An ordinary loopback site that does not speak
// DNT-D but serves /.well-known/gpc.json, a US Privacy string (__uspapi and
// the usprivacy cookie), a GPP string with a US section, and links a MyTerms
// file (tinyMyTerms format). The popup says in words whether the site says
// it honours GPC and whether its privacy strings record the opt-out, lists
// the MyTerms agreements the site accepts with the one that fits my terms,
// and proffering it leaves a record signed by me in the host's history. The
// host fetches the site's statements without cookies, once.
// And a browser that sends GPC itself (Firefox's own setting on): the popup
// says so; Chromium has no such setting, and says nothing of it.

import assert from 'node:assert/strict';
import http from 'node:http';
import { scenario } from './lib/scenario.mjs';
import { waitFor } from './lib/util.mjs';

const MYTERMS = JSON.stringify({
  effective_date: 'Tue, 13 Jan 2026 10:00:00 +0000',
  agreements: [
    { id: 'SD-BASE', url: 'https://myterms.info/agreements/SD-BASE' },
    { id: 'SD-BASE-A-DP', url: 'https://myterms.info/agreements/SD-BASE-A-DP' },
    { id: 'PDC-AI', url: 'https://myterms.info/agreements/PDC-AI' },
  ],
  tos_url: '/terms',
  tos: '<p>Our terms.</p>',
});

const PAGE = `<!doctype html><meta charset="utf-8"><title>An ordinary shop</title>
<link rel="terms-of-service" type="application/json" href="/terms/myterms.json">
<script>
  window.__uspapi = (cmd, version, cb) => cb({ version: 1, uspString: '1YYN' }, true);
  window.__gpp = (cmd, cb) => cb({ gppVersion: '1.1', cmpStatus: 'loaded', applicableSections: [7], gppString: 'DBABLA~BVVqAAAAAgA.QA',
    parsedSections: { usnat: [{ Version: 1, SaleOptOut: 1, SharingOptOut: 1, TargetedAdvertisingOptOut: 1 }, { Gpc: true }] } }, true);
</script>
<h1>An ordinary shop</h1><p>No DNT-D here.</p>`;

async function startOrdinarySite(cleanup) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url, headers: { ...req.headers } });
    const json = (body) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); };
    if (req.url === '/.well-known/gpc.json') return json('{"gpc": true, "lastUpdate": "2026-01-13"}');
    if (req.url === '/terms/myterms.json') return json(MYTERMS);
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': 'usprivacy=1YYN; Path=/', 'cache-control': 'no-store' });
      return res.end(PAGE);
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  cleanup.add('stop the ordinary site', () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }));
  return { origin: `http://127.0.0.1:${server.address().port}`, requests, find: (p) => requests.filter((r) => r.path === p) };
}

const textOf = (page, sel) => page.evaluate((s) => document.querySelector(s)?.textContent ?? null, sel);

scenario('today\'s web: an ordinary site\'s GPC status in words; its MyTerms agreements, one proffered and recorded', { needs: ['popup'] }, async ({ browser, host, cleanup }) => {
  const site = await startOrdinarySite(cleanup);
  const tab = await browser.open(`${site.origin}/`);
  await browser.waitTitle(tab, /^r-button: no dialog here$/);
  assert.equal(site.find('/.well-known/gpc.json').length, 0, 'loading the page fetched no statement');

  const popup = await browser.popup(tab);
  const headline = await waitFor(async () => {
    const h = await textOf(popup, '#honour-headline');
    return h && !/Checking/.test(h) && h;
  }, { what: 'the popup\'s "does this site honour my signals" headline' });
  assert.equal(headline, 'Says it honours GPC; its privacy string records your opt-out');
  const lines = await textOf(popup, '#honour-lines');
  assert.match(lines, /says it honours Global Privacy Control \(updated 2026-01-13\)/);
  assert.match(lines, /US Privacy string \(1YYN, from __uspapi\) records your opt-out of sale/);
  assert.match(lines, /GPP string \(section usnat\) records your opt-out of sale, sharing and targeted advertising/);

  // The host asked the site itself: once, without the site's cookie.
  const [gpc] = site.find('/.well-known/gpc.json');
  assert.ok(gpc, 'the host fetched gpc.json');
  assert.equal(gpc.headers.cookie, undefined, 'gpc.json was fetched without cookies');
  const [mt] = site.find('/terms/myterms.json');
  assert.ok(mt, 'the host fetched the MyTerms file the page links');
  assert.equal(mt.headers.cookie, undefined, 'the MyTerms file was fetched without cookies');

  // MyTerms: the agreements the site accepts, which fits my (default) terms.
  const list = await textOf(popup, '#myterms-list');
  assert.match(list, /SD-BASE-A-DP — Service and first-party analytics, with data portability\. It fits your terms\./);
  assert.match(list, /SD-BASE — Service delivery only\. It goes beyond your terms on dataReturn\./);
  assert.match(list, /PDC-AI — .*contributing data/);
  assert.equal(await textOf(popup, '#myterms-best'), 'SD-BASE-A-DP fits your terms.');
  await popup.click('#proffer');
  await popup.waitText(/You proffered SD-BASE-A-DP to /, { what: 'the popup confirming the proffer' });
  const hist = await host.history(site.origin);
  const ev = hist.events.find((e) => e.type === 'proffered');
  assert.ok(ev, `the host's history has the proffer: ${JSON.stringify(hist.events)}`);
  assert.match(ev.detail, /SD-BASE-A-DP/);
  assert.equal(hist.verified, true);
  await waitFor(() => textOf(popup, '#myterms-proffered').then((t) => t && /You proffered SD-BASE-A-DP/.test(t)), { what: 'the popup saying the agreement was proffered' });
  const exported = await host.json(['export']);
  const proffers = exported.proffers[site.origin];
  assert.equal(proffers?.length, 1, 'export holds the signed proffer');
  assert.equal(proffers[0].agreement, 'https://w3id.org/dpv/standards/p7012#SD-BASE-A-DP');
  assert.match(proffers[0].userSignature, /^[A-Za-z0-9+/]{86}==$/);

  // Opening the popup again within the day: no new request to the site.
  const again = await browser.popup(tab);
  await waitFor(() => textOf(again, '#honour-headline').then((h) => h === headline), { what: 'the second popup\'s headline' });
  assert.equal(site.find('/.well-known/gpc.json').length, 1, 'gpc.json is fetched at most once a day');
});

scenario("today's web: a browser that sends GPC itself is left to send it, and the popup says so", { needs: ['popup'], firefoxPrefs: { 'privacy.globalprivacycontrol.enabled': true } }, async ({ kind, browser, cleanup }) => {
  const site = await startOrdinarySite(cleanup);
  const tab = await browser.open(`${site.origin}/`);
  await browser.waitTitle(tab, /^r-button: no dialog here$/);
  assert.equal(await tab.page.evaluate(() => navigator.globalPrivacyControl), true);
  assert.equal(site.find('/')[0].headers['sec-gpc'], '1', 'one Sec-GPC: 1, not two');
  const popup = await browser.popup(tab);
  await waitFor(async () => { const h = await textOf(popup, '#honour-headline'); return h && !/Checking/.test(h); }, { what: 'the honour headline' });
  const lines = await textOf(popup, '#honour-lines');
  if (kind === 'firefox') assert.match(lines, /Your browser sends Global Privacy Control itself; r-button leaves its signal as it is/);
  else assert.doesNotMatch(lines, /browser sends Global Privacy Control itself/, 'Chromium has no GPC setting of its own');
});
