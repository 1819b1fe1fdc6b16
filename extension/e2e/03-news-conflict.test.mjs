// Scenario 3: the news site needs personalised ads, which the default user
// terms refuse. The r-button says "no agreement with <host:port>, their terms
// go beyond yours", the popup names the conflicting dimension, and "Allow
// this for <site>" says exactly what it widens and makes a per-site
// exception that leads to an agreement; "Use my own terms for <site> again"
// in the popup undoes it: the exception is gone, the agreement ended, and
// the site is back to no agreement.

import assert from 'node:assert/strict';
import { scenario } from './lib/scenario.mjs';
import { verifyRecord } from './lib/checks.mjs';
import { esc, waitFor } from './lib/util.mjs';

scenario('news: conflict on purposes, popup explains, "Allow this for" agrees and is undone from the popup', { needs: ['popup'] }, async ({ browser, vendors, host }) => {
  const origin = vendors.origin('news');
  const site = new URL(origin).host;
  const tab = await browser.open(`${origin}/`);
  await browser.waitTitle(tab, new RegExp(`^r-button: no agreement with ${esc(site)}, their terms go beyond yours$`));

  const rel = await waitFor(() => host.show(origin), { what: `rbutton show ${origin}` });
  assert.equal(rel.state, 'conflict');
  assert.ok(rel.conflicts.some((c) => c.dimension === 'purposes'), `conflicts name purposes: ${JSON.stringify(rel.conflicts)}`);
  assert.equal(rel.record, null, 'no record without an agreement');

  const popup = await browser.popup(tab);
  await popup.waitText(/purposes/i, { what: 'the popup naming the conflicting dimension (Purposes)' });
  await popup.waitText(/personalised ads|personalised-ads/i, { what: 'the popup naming what the site needs' });
  // What Allow widens, exactly: each dimension that changes, from my terms to the exception's.
  const widens = await popup.evaluate(() => document.getElementById('allow-widens')?.textContent ?? '');
  assert.match(widens, new RegExp(`^"Allow" widens your terms for ${esc(site)} only: .*Purposes: service, analytics → service, analytics, personalised ads.*\\. You can undo it here\\.$`), widens);
  const mine = rel.myTerms.terms;
  await popup.clickText(`Allow this for`);

  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`), { what: 'the title after "Allow this for"' });
  const after = await waitFor(async () => { const r = await host.show(origin); return r?.state === 'agreed' && r; },
    { what: `rbutton show ${origin} to say agreed` });
  assert.equal(after.exception, true, 'the agreement rests on a per-site exception');
  verifyRecord(after.record, { site: origin });
  assert.ok(after.record.agreement.terms.purposes.includes('personalised-ads'));
  // The exception is my terms with exactly the dimensions the popup named widened.
  for (const [dim, value] of Object.entries(after.myTerms.terms)) {
    if (JSON.stringify(value) !== JSON.stringify(mine[dim])) assert.match(widens, new RegExp(`${dim.slice(0, 1).toUpperCase()}${dim.slice(1)}: `), `the popup named ${dim}`);
  }

  // Undone from the popup.
  const undo = await browser.popup(tab);
  await undo.clickText(`Use my own terms for ${site} again`);
  await browser.waitTitle(tab, new RegExp(`^r-button: no agreement with ${esc(site)}, their terms go beyond yours$`), { what: 'the title after undoing "Allow"' });
  const undone = await waitFor(async () => { const r = await host.show(origin); return r?.state === 'conflict' && r; },
    { what: `rbutton show ${origin} to say conflict after the undo` });
  assert.equal(undone.exception, false, 'the exception is gone');
  assert.deepEqual(undone.myTerms.terms, mine, 'my own terms apply again');
  const types = (await host.history(origin)).events.map((e) => e.type);
  assert.ok(types.includes('withdrawn'), `the agreement resting on the exception was withdrawn: ${types}`);
  await undo.waitText(/Allow this for/, { what: 'the popup offering "Allow this for" again' });
});
