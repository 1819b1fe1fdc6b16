// Scenario 8: signals paused on one site. That site's document, its own
// subresources and the third-party requests it makes carry no DNT, Sec-GPC
// or Sec-DNT-D, also after the header rules change while its page is open,
// and navigator.globalPrivacyControl is not set there; other sites still get
// all of it.

import assert from 'node:assert/strict';
import { scenario } from './lib/scenario.mjs';
import { startRecorder } from './lib/recorder.mjs';
import { esc, httpGet, waitFor } from './lib/util.mjs';

const lower = (h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]));

function assertNoSignals(h, where) {
  for (const n of ['dnt', 'sec-gpc', 'sec-dnt-d']) assert.equal(h[n], undefined, `${where}: no ${n}`);
}
function assertSignals(h, where) {
  assert.equal(h.dnt, '1', `${where}: DNT`);
  assert.equal(h['sec-gpc'], '1', `${where}: Sec-GPC`);
  assert.match(h['sec-dnt-d'] ?? '', /^v=1/, `${where}: Sec-DNT-D`);
}

scenario('paused site: no signals there (third-party requests included), still elsewhere', { needs: ['popup'] }, async ({ browser, vendors, cleanup }) => {
  const third = await startRecorder(cleanup);
  const echoOrigin = vendors.origin('echo');
  const site = new URL(echoOrigin).host;

  const tab = await browser.open(`${echoOrigin}/`);
  const popup = await browser.popup(tab);
  await popup.clickText('Pause');
  await browser.waitTitle(tab, new RegExp(`^r-button: signals paused on ${esc(site)}$`));

  // The paused site: document, same-origin fetch, third-party image.
  await tab.page.goto(`${echoOrigin}/headers`);
  const docHeaders = lower((b => b.headers ?? b)(JSON.parse(await tab.page.text())));
  assertNoSignals(docHeaders, 'paused site document');
  const plainLast = async () => JSON.parse((await httpGet(vendors.url('plain', '/last-headers'))).body);
  const before = (await plainLast()).count;
  await tab.page.goto(`${echoOrigin}/?after-pause=1`);
  const lastFromEcho = await waitFor(async () => {
    const r = await plainLast();
    return r.path === '/pixel.gif?from=echo' && r.count > before && r;
  }, { what: "the paused echo page's cross-origin image to reach the plain vendor" });
  assertNoSignals(lower(lastFromEcho.headers), 'cross-origin image loaded by the paused site (plain vendor)');
  assert.notEqual(await tab.page.evaluate(() => navigator.globalPrivacyControl), true, 'no navigator.globalPrivacyControl on the paused site');
  const sub = await tab.page.evaluate(async () => (await fetch('/headers', { cache: 'no-store' })).json());
  assertNoSignals(lower(sub.headers ?? sub), 'paused site same-origin fetch');
  const thirdParty = async (name) => {
    await tab.page.evaluate((src) => {
      const img = document.createElement('img');
      img.src = src;
      document.body.append(img);
    }, `${third.origin}/pixel.gif?from=${name}`);
    const [req] = await waitFor(() => third.find(`/pixel.gif?from=${name}`).length && third.find(`/pixel.gif?from=${name}`), { what: `the third-party image ${name} from the paused site` });
    return lower(req.headers);
  };
  assertNoSignals(await thirdParty('paused'), 'third-party request made by the paused site');

  // While the paused page stays open, an agreement made in another tab
  // changes the header rules. Chromium used to forget the paused page's
  // allowAllRequests on that change: its next third-party request carried DNT.
  const shopOrigin = vendors.origin('shop');
  const shop = await browser.open(`${shopOrigin}/`);
  await browser.waitTitle(shop, new RegExp(`^r-button: relationship with ${esc(new URL(shopOrigin).host)}$`));
  assertNoSignals(await thirdParty('paused-after-agreement'), 'third-party request made by the paused site after the rules changed');

  // Other sites keep everything: another host, and another vendor on the same host.
  const other = await browser.open(`${third.origin}/page.html?top=1`);
  assertSignals(lower(third.find('/page.html?top=1')[0].headers), 'another host, top-level');
  await other.page.evaluate(() => fetch('/fetch?from=other', { cache: 'no-store' }));
  assertSignals(lower(third.find('/fetch?from=other')[0].headers), 'another host, subresource');
  assert.equal(await other.page.evaluate(() => navigator.globalPrivacyControl), true, 'navigator.globalPrivacyControl on another host');

  const plain = await browser.open(vendors.url('plain', '/'));
  const plainHeaders = await plain.page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#headers tr')]
    .map((tr) => [tr.cells[0].textContent.trim().toLowerCase(), tr.cells[1].textContent.trim()])));
  assertSignals(plainHeaders, 'another origin on the same host (plain vendor), top-level');
  assert.equal(await plain.page.evaluate(() => navigator.globalPrivacyControl), true,
    'navigator.globalPrivacyControl on another origin of the same host (plain vendor)');
});
