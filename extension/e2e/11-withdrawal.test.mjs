// Scenario 11: consent withdrawn is withdrawn at once (PROTOCOL.md 14). With
// an agreement with the shop in force:
// - tightening my terms in the options page: the very next request to the
//   shop carries no agreed digest, and the shop has received a signed end;
// - tightening them with the CLI (`rbutton terms set FILE`), as another
//   browser or a script would: within the documented bound (60 s; the
//   extension's alarm checks every 30 s) the shop gets no agreed digest, and
//   it has received a signed end;
// - `rbutton forget SITE`: the same, and the host keeps nothing about it.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { scenario } from './lib/scenario.mjs';
import { REPO } from './lib/repo.mjs';
import { esc, httpGet, waitFor } from './lib/util.mjs';

/** The documented bound for a change made elsewhere to reach the browser (lib/constants.js CHANGES_BOUND_S). */
const BOUND_MS = 60_000;
const serviceOnly = () => JSON.parse(fs.readFileSync(path.join(REPO, 'testdata/policy/presets.json'), 'utf8')).find((p) => p.name === 'service-only').terms;

/** Opens the shop, waits for the agreement and for its documents to be recognised (Tk: C). */
async function agreedShop(browser, vendors) {
  const shop = vendors.origin('shop');
  const tab = await browser.open(`${shop}/`);
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(new URL(shop).host)}$`));
  await waitFor(async () => (await tab.page.reload()).tk === 'C', { what: 'Tk: C from the shop (the digest rule is installed)' });
  return { shop, tab };
}

let n = 0;
/** The Sec-DNT-D value of a request the shop's own page makes to the shop now. */
async function nextRequest(tab, shop) {
  const p = `/pixel.gif?from=withdrawal-${++n}`;
  await tab.page.evaluate((src) => { const img = document.createElement('img'); img.src = src; document.body.append(img); }, `${shop}${p}`);
  const last = await waitFor(async () => {
    const r = JSON.parse((await httpGet(`${shop}/last-headers`)).body);
    return r.path === p && r;
  }, { what: `the shop to receive ${p}` });
  return last.headers['sec-dnt-d'];
}

/** The shop's log says a signed end request from the user ended the agreement. */
function shopEnded(vendors) {
  return waitFor(() => /\bshop\s+relationship \S+ ended by the user/.test(vendors.log()), { what: 'the shop to log the signed end ("ended by the user")' });
}

scenario('withdrawal: tightening my terms in the options page stops agreed at once and ends the agreement', { needs: ['options'] }, async ({ browser, vendors, host }) => {
  const { shop, tab } = await agreedShop(browser, vendors);
  assert.match(await nextRequest(tab, shop), /agreed=/, 'before: agreed');

  const options = await browser.options();
  await options.waitText(new URL(shop).host, { what: 'the options page listing the relationship with the shop' });
  await options.click('#preset-service-only');
  await options.clickText('Save terms');
  await options.waitText(/terms saved/i, { what: 'the options page confirming the save' });
  await options.waitText(new RegExp(`Consent withdrawn from ${esc(new URL(shop).host)}`), { what: 'the options page naming the withdrawn agreement' });
  await options.waitText(/consent withdrawn on /, { what: 'the options list showing the shop withdrawn, with the date' });

  assert.equal(await nextRequest(tab, shop), 'v=1', 'the very next request to the shop');
  await shopEnded(vendors);
  const rel = await host.show(shop);
  assert.equal(rel.state, 'ended');
  const types = (await host.history(shop)).events.map((e) => e.type);
  assert.ok(types.includes('withdrawn'), `history records the withdrawal: ${types}`);
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(new URL(shop).host)} ended$`));
});

scenario('withdrawal: tightening my terms with the CLI reaches the browser within the bound', async ({ browser, vendors, host, dir }) => {
  const { shop, tab } = await agreedShop(browser, vendors);
  const file = path.join(dir, 'service-only.json');
  fs.writeFileSync(file, JSON.stringify(serviceOnly()));
  const res = await host.cli(['terms', 'set', file]);
  assert.match(res.stdout, /withdrew the agreement with .*the site confirmed/, res.stdout);
  await shopEnded(vendors);

  // No navigation: only the extension's own change check can bring it.
  const started = Date.now();
  await waitFor(async () => (await nextRequest(tab, shop)) === 'v=1', { timeout: BOUND_MS, interval: 1000, what: 'the shop to get no agreed digest' });
  assert.ok(Date.now() - started <= BOUND_MS);
});

scenario('withdrawal: rbutton forget stops agreed and ends the agreement with the site', async ({ browser, vendors, host }) => {
  const { shop, tab } = await agreedShop(browser, vendors);
  const before = await host.show(shop);
  const res = await host.cli(['forget', shop]);
  assert.match(res.stdout, /ended the agreement with .*the site confirmed/, res.stdout);
  await shopEnded(vendors);
  assert.equal(await host.show(shop), null, 'the host keeps nothing about the shop');

  // No navigation: the extension's change check brings it within the bound.
  await waitFor(async () => (await nextRequest(tab, shop)) === 'v=1', { timeout: BOUND_MS, interval: 1000, what: 'the shop to get no agreed digest' });

  // The next visit negotiates afresh: a new relationship, not the forgotten one.
  await tab.page.reload();
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(new URL(shop).host)}$`));
  const after = await waitFor(() => host.show(shop), { what: `rbutton show ${shop} after the new visit` });
  assert.notEqual(after.record.id, before.record.id, 'a new agreement');
  assert.notEqual(after.record.agreement.userKey, before.record.agreement.userKey, 'under a new pairwise key');
});
