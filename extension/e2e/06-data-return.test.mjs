// Scenario 6: data return. After browsing the shop under an agreement, the
// popup's "What they hold about me" asks the shop (signed request, through
// the host) and shows the page views it recorded.

import assert from 'node:assert/strict';
import { scenario } from './lib/scenario.mjs';
import { esc, waitFor } from './lib/util.mjs';

scenario('data return: the popup shows the page views the shop holds', { needs: ['popup'] }, async ({ browser, vendors, host }) => {
  const origin = vendors.origin('shop');
  const site = new URL(origin).host;
  const tab = await browser.open(`${origin}/`);
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`));
  await waitFor(async () => (await host.show(origin))?.state === 'agreed', { what: 'the agreement stored' });
  // Page views made under the agreement: once the shop recognises the agreed
  // digest (Tk: C) it records each page view against the agreement.
  await waitFor(async () => (await tab.page.reload()).tk === 'C', { what: 'the shop to recognise the agreement (Tk: C)' });
  await tab.page.goto(`${origin}/product/boots`);
  await tab.page.goto(`${origin}/`);

  const popup = await browser.popup(tab);
  await popup.clickText('What they hold about me');
  // The answer arrives (the shop's name and when it generated it), then it must list the page views.
  const text = await popup.waitText(/What they hold about me[\s\S]*From [^\n]+\d/, { what: "the shop's data-return answer in the popup" });
  const answer = text.slice(text.lastIndexOf('What they hold about me'));
  assert.match(answer, /page[- ]view/i, `the returned data lists the page views made under the agreement; the popup shows:\n${answer}`);
  assert.match(answer, /\/product\/boots/, `the returned page views include /product/boots:\n${answer}`);
  assert.ok((answer.match(/page[- ]view/gi) || []).length >= 2, `every page view is returned:\n${answer}`);

  const hist = await host.history(origin);
  assert.ok(hist.events.some((e) => e.type === 'data-returned'), `history records the data return: ${hist.events.map((e) => e.type)}`);
  // The open popup's history (under Details) shows the return too, next to the answer.
  await popup.clickText('Details');
  const after = await popup.waitText(/History[\s\S]*They returned the data they hold/, { what: 'the data return in the open popup\'s history' });
  assert.match(after, /What they hold about me[\s\S]*\/product\/boots/, 'the answer is still shown');
});
