// Scenario 2: the shop offers terms the default user terms accept. The
// r-button says "relationship with <host:port>", the host stores a record
// signed by both sides, later requests to the shop carry the agreed digest
// (and the shop answers Tk: C), and the popup shows the agreed terms per
// dimension and the receipt.

import assert from 'node:assert/strict';
import { scenario } from './lib/scenario.mjs';
import { agreedDigest, assertShowsTerms, verifyRecord } from './lib/checks.mjs';
import { startRecorder } from './lib/recorder.mjs';
import { esc, httpGet, waitFor } from './lib/util.mjs';


scenario('shop: agreement, dual-signed record, agreed digest on requests, popup receipt', { needs: ['popup'] }, async ({ browser, vendors, host, cleanup }) => {
  const origin = vendors.origin('shop');
  const site = new URL(origin).host;
  const tab = await browser.open(`${origin}/`);
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`));

  // What the host stored, read back through its CLI, checked independently.
  const rel = await waitFor(() => host.show(origin), { what: `rbutton show ${origin}` });
  assert.equal(rel.site, origin);
  assert.equal(rel.state, 'agreed');
  verifyRecord(rel.record, { site: origin });
  const { terms, obligations } = rel.record.agreement;
  assert.equal(rel.agreedDigest, agreedDigest(terms, obligations), 'agreedDigest = SHA-256 of JCS({terms, obligations})');
  const doc = await vendors.terms('shop');
  assert.equal(rel.record.agreement.siteKey, doc.publicKey, 'signed by the key the shop publishes');

  // From now on requests to the shop carry the digest, and the shop recognises
  // it: its documents answer Tk: C (the rules switch over just after agreeing).
  const seen = await waitFor(async () => { const h = await tab.page.reload(); return h.tk === 'C' && h; },
    { what: 'Tk: C from the shop for a document request carrying the agreed digest' });
  assert.match(seen['dnt-d'], /^v=1, terms=:[A-Za-z0-9+/]{43}=:$/, 'the shop advertises its terms digest');
  // A reload commits a new document, and both browsers then reset the tab's
  // icon and title: with no change of state to repaint for, it must come back.
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`), { what: 'the r-button after reloads' });

  // The digest goes only to the shop: not to another host, not to another
  // origin on the shop's own host (the plain vendor, another port).
  const third = await startRecorder(cleanup);
  await tab.page.evaluate(({ rec, plain }) => {
    for (const src of [`${rec}/pixel.gif?from=shop`, `${plain}/pixel.gif?from=shop`]) {
      const img = document.createElement('img');
      img.src = src;
      document.body.append(img);
    }
  }, { rec: third.origin, plain: vendors.origin('plain') });
  const [toThird] = await waitFor(() => third.find('/pixel.gif?from=shop').length && third.find('/pixel.gif?from=shop'), { what: 'the third-party image from the shop page' });
  assert.equal(toThird.headers['sec-dnt-d'], 'v=1', 'no agreed digest to a third party');
  const toPlain = await waitFor(async () => {
    const r = JSON.parse((await httpGet(vendors.url('plain', '/last-headers'))).body);
    return r.path === '/pixel.gif?from=shop' && r;
  }, { what: "the shop page's image from the plain vendor" });
  assert.equal(toPlain.headers['sec-dnt-d'], 'v=1', 'no agreed digest to another origin on the same host');
  assert.equal(toPlain.headers.dnt, '1');

  // The popup: agreed terms per dimension, and the receipt.
  const popup = await browser.popup(tab);
  const text = await popup.waitText(new RegExp(esc(site)), { what: 'the popup naming the shop' });
  // The main view says what was agreed in words; the table and receipt are one click away.
  await popup.waitText(/What you agreed: tracking/, { what: 'the plain summary of the agreement' });
  await popup.clickText('Details');
  await popup.waitText(/receipt|record/i, { what: 'the popup showing the receipt' });
  assertShowsTerms(await popup.text(), terms, obligations);
  const shown = await popup.text();
  assert.ok(shown.includes(rel.record.id.slice(0, 8)), `popup shows the receipt id (${rel.record.id.slice(0, 8)}…):\n${shown}`);
  assert.ok(text.length > 0);
});
