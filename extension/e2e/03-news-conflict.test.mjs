// Scenario 3: the news site needs personalised ads, which the default user
// terms refuse. The r-button says "no agreement with <host:port>, their terms
// go beyond yours", the popup names the conflicting dimension, and "Allow
// this for <site>" makes a per-site exception that leads to an agreement.

import assert from 'node:assert/strict';
import { scenario } from './lib/scenario.mjs';
import { verifyRecord } from './lib/checks.mjs';
import { esc, waitFor } from './lib/util.mjs';

scenario('news: conflict on purposes, popup explains, "Allow this for" agrees', { needs: ['popup'] }, async ({ browser, vendors, host }) => {
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
  await popup.clickText(`Allow this for`);

  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`), { what: 'the title after "Allow this for"' });
  const after = await waitFor(async () => { const r = await host.show(origin); return r?.state === 'agreed' && r; },
    { what: `rbutton show ${origin} to say agreed` });
  assert.equal(after.exception, true, 'the agreement rests on a per-site exception');
  verifyRecord(after.record, { site: origin });
  assert.ok(after.record.agreement.terms.purposes.includes('personalised-ads'));
});
