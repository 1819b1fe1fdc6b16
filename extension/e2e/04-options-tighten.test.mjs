// Scenario 4: the person tightens their default terms in the options page
// (preset "service-only": no analytics). The next visit to the shop, which
// the default terms accepted, gives a conflict, and the history records both
// outcomes in a verifiable hash chain.

import assert from 'node:assert/strict';
import { scenario } from './lib/scenario.mjs';
import { verifyChain } from './lib/checks.mjs';
import { esc, waitFor } from './lib/util.mjs';

/** Chooses a preset in the options page, whether it is a <select> or radio buttons. */
async function choosePreset(page, name) {
  await waitFor(() => page.evaluate((name) => {
    const opt = [...document.querySelectorAll('select option')].find((o) => o.value === name);
    if (opt) {
      const sel = opt.closest('select');
      sel.value = name;
      sel.dispatchEvent(new Event('input', { bubbles: true }));
      sel.dispatchEvent(new Event('change', { bubbles: true }));
      return true;
    }
    const radio = document.querySelector(`input[type="radio"][value="${name}"]`);
    if (radio) { radio.click(); return radio.checked; }
    const button = document.querySelector(`[data-preset="${name}"]`);
    if (button) { button.click(); return true; }
    return false;
  }, name), { what: `a preset control for "${name}" in the options page` });
}

scenario('options: tightening the default terms changes the shop outcome; history has both', { needs: ['options'] }, async ({ browser, vendors, host }) => {
  const origin = vendors.origin('shop');
  const site = new URL(origin).host;

  const tab = await browser.open(`${origin}/`);
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`));

  const options = await browser.options();
  // The page has loaded the terms from the host once it lists our relationships.
  await options.waitText(site, { what: 'the options page listing the relationship with the shop' });
  await options.waitText(/at least as strict as the IEEE 7012 \(MyTerms\) agreement SD-BASE-A-DP/,
    { what: 'the options page naming the roster agreement the default terms are at least as strict as' });
  await choosePreset(options, 'service-only');
  await options.waitText(/at least as strict as the IEEE 7012 \(MyTerms\) agreement SD-BASE-DP/,
    { what: 'the strictness line following the chosen preset' });
  await options.clickText('Save terms');
  await options.waitText(/terms saved/i, { what: 'the options page confirming the save' });
  const saved = await host.json(['terms', 'show', '--json']);
  assert.ok(!saved.terms.purposes.includes('analytics'), `the host holds the tightened terms: ${JSON.stringify(saved)}`);

  // Next visit to the shop: the tighter terms no longer accept its offers.
  await tab.page.reload();
  await browser.waitTitle(tab, new RegExp(`^r-button: no agreement with ${esc(site)}, their terms go beyond yours$`), { what: 'a conflict with the shop under service-only terms' });
  const rel = await waitFor(async () => { const r = await host.show(origin); return r?.state === 'conflict' && r; },
    { what: `rbutton show ${origin} to say conflict` });
  assert.ok(rel.conflicts.length > 0, 'the conflict names what differs');
  // UserTerms.preset carries the preset's code: "service-only" is SD-BY.
  assert.ok(['SD-BY', 'service-only'].includes(rel.myTerms.preset), `the terms in force are the service-only preset: ${rel.myTerms.preset}`);
  assert.ok(!rel.myTerms.terms.purposes.includes('analytics'), 'analytics removed from the terms in force');

  const hist = await host.history(origin);
  const types = hist.events.map((e) => e.type);
  assert.ok(types.includes('negotiated'), `history has the first agreement: ${types}`);
  assert.ok(types.includes('conflict'), `history has the conflict: ${types}`);
  assert.ok(types.indexOf('negotiated') < types.lastIndexOf('conflict'), `agreement before conflict: ${types}`);
  verifyChain(hist.events);
  if (hist.verified !== undefined) assert.equal(hist.verified, true, 'host verifies its own chain');
});
