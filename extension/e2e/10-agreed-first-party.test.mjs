// Scenario 10: the agreed digest goes to the shop only while the shop is the
// top-level site (PROTOCOL.md 3.2). The shop's own page gets it on its
// subresources; the same shop embedded by another site's page (image,
// iframe, script, fetch, beacon, prefetch), on another host or on another
// port of the shop's own host, gets `Sec-DNT-D: v=1` only, and so does the
// page a tab shows after leaving the shop.

import assert from 'node:assert/strict';
import { scenario } from './lib/scenario.mjs';
import { startRecorder } from './lib/recorder.mjs';
import { esc, httpGet, waitFor } from './lib/util.mjs';

const EMBEDS = {
  image: (u) => { const e = document.createElement('img'); e.src = u; document.body.append(e); },
  iframe: (u) => { const e = document.createElement('iframe'); e.src = u; document.body.append(e); },
  script: (u) => { const e = document.createElement('script'); e.src = u; document.body.append(e); },
  fetch: (u) => { fetch(u, { mode: 'no-cors', cache: 'no-store' }).catch(() => {}); },
  beacon: (u) => { navigator.sendBeacon(u, 'x'); },
  prefetch: (u) => { const e = document.createElement('link'); e.rel = 'prefetch'; e.href = u; document.head.append(e); },
};

scenario('agreed digest only while the shop is the top-level site; embedded elsewhere it gets v=1', async ({ browser, vendors, cleanup }) => {
  const shop = vendors.origin('shop');
  const site = new URL(shop).host;
  const tab = await browser.open(`${shop}/`);
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`));
  await waitFor(async () => (await tab.page.reload()).tk === 'C', { what: 'Tk: C from the shop (the digest rule is installed)' });

  let n = 0;
  /** Makes `page` request the shop's /pixel.gif (or /script.js) as `kind`; returns the headers the shop received. */
  async function shopReceives(page, kind) {
    const id = `${kind}-${++n}`;
    const path = kind === 'script' ? `/script.js?from=${id}` : `/pixel.gif?from=${id}`;
    await page.evaluate(({ fn, url }) => (0, eval)(`(${fn})`)(url), { fn: EMBEDS[kind].toString(), url: `${shop}${path}` });
    const last = await waitFor(async () => {
      const r = JSON.parse((await httpGet(`${shop}/last-headers`)).body);
      return r.path === path && r;
    }, { what: `the shop to receive the ${kind} request ${path}` });
    return last.headers;
  }

  // The shop's own page: its subresources carry the digest (the control that
  // shows the check below can see a digest at all).
  const own = await shopReceives(tab.page, 'image');
  assert.match(own['sec-dnt-d'] ?? '', /^v=1, agreed=:[A-Za-z0-9+/]{43}=:$/, 'the shop\'s own page: agreed');

  // Another host's page, and another origin on the shop's own host, embed the shop.
  const third = await startRecorder(cleanup);
  const elsewhere = [
    ['another host', await browser.open(`${third.origin}/page.html`)],
    ['another port of the shop\'s host', await browser.open(vendors.url('plain', '/'))],
  ];
  for (const [where, other] of elsewhere) {
    for (const kind of Object.keys(EMBEDS)) {
      const h = await shopReceives(other.page, kind);
      assert.equal(h['sec-dnt-d'], 'v=1', `${kind} from ${where}: v=1 only`);
      assert.equal(h.dnt, '1', `${kind} from ${where}: DNT`);
    }
  }

  // The shop's tab leaves for another site: that page's requests to the shop get v=1.
  await tab.page.goto(vendors.url('plain', '/about'));
  assert.equal((await shopReceives(tab.page, 'image'))['sec-dnt-d'], 'v=1', 'after the tab left the shop');
  // And back at the shop, its page has the digest again.
  await tab.page.goto(`${shop}/`);
  // The title is painted after the tab's rules are: the page's requests from here on are the shop's own.
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`));
  assert.match((await shopReceives(tab.page, 'image'))['sec-dnt-d'] ?? '', /agreed=/, 'back on the shop');
});
