// Scenario 16: the compliance watch (PROTOCOL.md 12.1). The shop's terms
// name one processor; its /gifts page loads an image from a third party they
// do not name (the plain vendor under the name localhost), whose answer sets
// a partitioned cookie. With an agreement in force, the page's own Resource
// Timing entries reach the host once, as origins, with the third parties
// keeping a cookie under the shop, and the host records a `compliance` event
// for each: the popup says so in words, `rbutton show` counts them, and the
// shop's clean pages add nothing. Its /clearance page answers Tk: N to the
// request that carried the agreed digest: recorded too.

import assert from 'node:assert/strict';
import { scenario } from './lib/scenario.mjs';
import { esc, httpGet, waitFor } from './lib/util.mjs';

scenario('compliance watch: an agreed shop page loading an undeclared third party is recorded and shown', { needs: ['popup'] }, async ({ browser, vendors, host }) => {
  const origin = vendors.origin('shop');
  const site = new URL(origin).host;
  const partner = `http://localhost:${new URL(vendors.origin('plain')).port}`;
  const doc = await vendors.terms('shop');
  assert.ok(Array.isArray(doc.processors) && doc.processors.length > 0 && !doc.processors.includes(partner), `the shop names its processors, not ${partner}: ${JSON.stringify(doc.processors)}`);

  const tab = await browser.open(`${origin}/`);
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`));
  await waitFor(async () => (await host.show(origin))?.state === 'agreed', { what: 'the agreement stored' });
  await waitFor(async () => (await tab.page.reload()).tk === 'C', { what: 'the shop to recognise the agreement (Tk: C)' });
  const clean = await host.show(origin);
  assert.deepEqual({ agreement: clean.compliance.agreement, total: clean.compliance.total }, { agreement: 0, total: 0 }, 'its own pages: nothing recorded');

  // The page with the undeclared third party.
  await tab.page.goto(`${origin}/gifts`);
  await waitFor(async () => {
    const r = JSON.parse((await httpGet(vendors.url('plain', '/last-headers'))).body);
    return r.path === '/pixel.gif?from=shop-gifts&cookie=1' && r;
  }, { what: "the partner's image requested by the /gifts page" });
  const shown = await waitFor(async () => { const r = await host.show(origin); return r?.compliance?.agreement >= 2 && r; },
    { what: 'the compliance events recorded under the agreement (rbutton show --json)' });
  assert.equal(shown.compliance.agreement, 2, `two discrepancies on /gifts: ${JSON.stringify(shown.compliance)}`);

  const hist = await host.history(origin);
  assert.equal(hist.verified, true, 'the history still verifies');
  const events = hist.events.filter((e) => e.type === 'compliance');
  const why = "the agreement says sharing: processors, and the site's terms do not name it among its processors";
  assert.deepEqual(events.map((e) => e.detail), [
    `page /gifts contacted the third party ${partner}; ${why}`,
    `page /gifts: the third party ${partner} keeps a cookie under this site; ${why}`,
  ]);
  for (const ev of events) {
    assert.equal(ev.agreement, shown.record.id, 'the event names the agreement in force');
    assert.ok(!/pixel\.gif|from=|partner=/.test(ev.detail), 'no URL or cookie value beyond the origin and the page path');
  }

  // A page answering Tk: N to the request that carried the agreed digest.
  await tab.page.goto(`${origin}/clearance`);
  const tk = await waitFor(async () => { const r = await host.show(origin); return r?.compliance?.agreement >= 3 && r; },
    { what: 'the Tk answer of /clearance recorded' });
  assert.equal(tk.compliance.agreement, 3, JSON.stringify(tk.compliance));
  const last = (await host.history(origin)).events.filter((e) => e.type === 'compliance').at(-1);
  assert.equal(last.detail, 'page /clearance answered Tk: N to a request carrying the agreed digest; an agreement in force is answered Tk: C');

  // `rbutton show` in words.
  const text = await host.cli(['show', origin]);
  assert.match(text.stdout, new RegExp(`^compliance: 3 discrepancy\\(ies\\) recorded under this agreement, 3 in all; last .*: page /clearance answered Tk: N`, 'm'));

  // The popup says it on its main view, in words, without opening Details.
  const popup = await browser.popup(tab);
  const words = await popup.waitText(/Seen on this site: 3 things your agreement does not allow/, { what: 'the compliance notice in the popup' });
  assert.ok(words.includes(`page /gifts contacted the third party ${partner}`), `the popup names the third party and the page:\n${words}`);
  await popup.clickText('Details');
  await popup.waitText(/History[\s\S]*The site did something the agreement does not allow/, { what: 'the compliance event in the popup\'s history' });
});
