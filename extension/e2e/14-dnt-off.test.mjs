// Scenario 14: DNT switched off in the options. Requests then carry no DNT
// header and pages see no navigator.doNotTrack, while Sec-GPC,
// navigator.globalPrivacyControl and Sec-DNT-D stay; switching it back on
// restores DNT.

import assert from 'node:assert/strict';
import { scenario } from './lib/scenario.mjs';
import { waitFor } from './lib/util.mjs';

const lower = (h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]));

scenario('DNT off: no DNT header and no navigator.doNotTrack; GPC and DNT-D stay', { needs: ['options'] }, async ({ browser, vendors }) => {
  const echo = vendors.origin('echo');
  const tab = await browser.open(`${echo}/headers`);
  const headersNow = async () => {
    await tab.page.goto(`${echo}/headers?t=${Date.now()}`);
    const doc = lower(((b) => b.headers ?? b)(JSON.parse(await tab.page.text())));
    const sub = await tab.page.evaluate(async () => (await fetch('/headers', { cache: 'no-store' })).json());
    const nav = await tab.page.evaluate(() => ({ dnt: navigator.doNotTrack, gpc: navigator.globalPrivacyControl }));
    return { doc, sub: lower(sub.headers ?? sub), nav };
  };
  const on = await headersNow();
  assert.equal(on.doc.dnt, '1', 'DNT is sent by default');
  assert.equal(on.nav.dnt, '1');

  const options = await browser.options();
  await options.click('#send-dnt');
  await options.waitText(/DNT is no longer sent/, { what: 'the options page confirming DNT is off' });
  const off = await waitFor(async () => { const h = await headersNow(); return h.doc.dnt === undefined && h.nav.dnt !== '1' && h; },
    { what: 'a page load without DNT and navigator.doNotTrack' });
  assert.equal(off.sub.dnt, undefined, 'no DNT on the page\'s own fetch');
  assert.equal(off.doc['sec-gpc'], '1', 'Sec-GPC stays');
  assert.equal(off.sub['sec-gpc'], '1', 'Sec-GPC stays on subresources');
  assert.match(off.doc['sec-dnt-d'] ?? '', /^v=1/, 'Sec-DNT-D stays');
  assert.equal(off.nav.gpc, true, 'navigator.globalPrivacyControl stays');

  await options.click('#send-dnt');
  await options.waitText(/DNT is sent again/, { what: 'the options page confirming DNT is back' });
  const back = await waitFor(async () => { const h = await headersNow(); return h.doc.dnt === '1' && h.nav.dnt === '1' && h; },
    { what: 'DNT back on the next page load' });
  assert.equal(back.sub.dnt, '1');
});
