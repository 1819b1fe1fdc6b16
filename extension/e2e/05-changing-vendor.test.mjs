// Scenario 5: a vendor changes its terms. After POST /admin/change-terms and
// a reload the agent sees the new terms digest, renegotiates, and the
// history holds both agreements; the terms-changed event says what changed
// (retention 30 days → 14 days), in the host's history and in words in the
// popup's.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { scenario } from './lib/scenario.mjs';
import { verifyChain, verifyRecord } from './lib/checks.mjs';
import { esc, httpGet, waitFor } from './lib/util.mjs';

const digestOf = async (url) => crypto.createHash('sha256').update(Buffer.from(await (await fetch(url)).arrayBuffer())).digest('base64');

scenario('changing vendor: new terms lead to renegotiation; history has both agreements and says what changed', { needs: ['popup'] }, async ({ browser, vendors, host }) => {
  const origin = vendors.origin('changing');
  const site = new URL(origin).host;
  const wellKnown = `${origin}/.well-known/dnt-d`;

  const tab = await browser.open(`${origin}/`);
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`));
  const first = await waitFor(() => host.show(origin), { what: `rbutton show ${origin}` });
  assert.equal(first.state, 'agreed');
  assert.equal(first.termsDigest, await digestOf(wellKnown), 'agreed against the terms served now');

  await vendors.changeTerms();
  const newDigest = await digestOf(wellKnown);
  assert.notEqual(newDigest, first.termsDigest, 'the vendor serves different terms after the change');
  const adv = (await httpGet(`${origin}/`, { headers: { accept: 'text/html', 'sec-fetch-dest': 'document' } })).headers.get('DNT-D');
  assert.ok(adv && adv.includes(`terms=:${newDigest}:`), `the DNT-D header advertises the new digest: ${adv}`);

  await tab.page.reload();
  const second = await waitFor(async () => {
    const r = await host.show(origin);
    return r?.state === 'agreed' && r.termsDigest === newDigest && r.record?.id !== first.record.id && r;
  }, { what: 'a new agreement against the changed terms' });
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`));
  verifyRecord(second.record, { site: origin });
  assert.equal(second.record.agreement.termsDigest, newDigest);

  const hist = await host.history(origin);
  verifyChain(hist.events);
  const agreements = new Set(hist.events.filter((e) => e.agreement).map((e) => e.agreement));
  assert.ok(agreements.size >= 2, `history references both agreements: ${JSON.stringify(hist.events.map((e) => [e.type, e.agreement]))}`);
  const types = hist.events.map((e) => e.type);
  assert.ok(types.includes('negotiated') && (types.includes('renegotiated') || types.filter((t) => t === 'negotiated').length >= 2),
    `history shows the first agreement and the renegotiation: ${types}`);

  // What changed, per dimension: as data in the event, in words in the popup.
  const changed = hist.events.find((e) => e.type === 'terms-changed');
  assert.deepEqual(changed?.changes, [{ offer: 'standard', dimension: 'retention', before: 'P30D', after: 'P14D' }], JSON.stringify(changed));
  assert.equal(changed.detail, 'offer standard: retention 30 days → 14 days');
  const popup = await browser.popup(tab);
  await popup.click('#details > summary');
  await popup.waitText(/The site changed its terms\s*offer standard: retention 30 days → 14 days/, { what: 'the popup history saying what changed in words' });
  assert.doesNotMatch(await popup.text(), /changed from [A-Za-z0-9+/]{43}=/, 'no digests in the history');
});
