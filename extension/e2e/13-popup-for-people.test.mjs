// Scenario 13: the popup is for people. In each main state (relationship,
// no agreement, no dialog offered, paused, ended) its actions are reached
// without scrolling in a 600 px tall popup (measured), and axe-core finds no
// accessibility violation in the popup in any of those states nor in the
// options page.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { scenario } from './lib/scenario.mjs';
import { esc } from './lib/util.mjs';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const POPUP_MAX = { width: 420, height: 600 };

/** axe-core's violations on the page, as "rule (impact): targets" lines. */
async function axeViolations(page) {
  await page.raw.evaluate(AXE);
  const found = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)));
  return found;
}

async function setPopupSize(page) {
  if (typeof page.raw.setViewportSize === 'function') await page.raw.setViewportSize(POPUP_MAX);
  else await page.raw.setViewport(POPUP_MAX);
}

/** Where the popup's actions end, in CSS px from the top, once it has rendered `ready`. */
async function actionsBottom(page, ready) {
  await page.waitText(ready, { what: `the popup showing ${ready}` });
  return page.evaluate(() => {
    const a = document.querySelector('.actions');
    return a ? Math.ceil(a.getBoundingClientRect().bottom + window.scrollY) : Infinity;
  });
}

scenario('popup for people: main states fit 600 px up to the actions; no axe-core violation in the popup or the options page', { needs: ['popup', 'options'] }, async ({ browser, vendors }) => {
  const report = [];
  const check = async (name, tab, ready) => {
    const popup = await browser.popup(tab);
    await setPopupSize(popup);
    const bottom = await actionsBottom(popup, ready);
    const violations = await axeViolations(popup);
    report.push({ name, bottom, violations });
    await popup.close();
  };

  const shop = await browser.open(vendors.url('shop'));
  await browser.waitTitle(shop, new RegExp(`^r-button: relationship with ${esc(new URL(vendors.origin('shop')).host)}$`));
  await check('relationship', shop, /Relationship|relationship/);

  const news = await browser.open(vendors.url('news'));
  await browser.waitTitle(news, /^r-button: no agreement with /);
  await check('no agreement', news, /Allow this for/);

  const plain = await browser.open(vendors.url('plain'));
  await browser.waitTitle(plain, /^r-button: no dialog offered by /);
  await check('no dialog', plain, /Pause signals/);

  const echo = await browser.open(vendors.url('echo'));
  const pausing = await browser.popup(echo);
  await pausing.clickText('Pause');
  await browser.waitTitle(echo, /^r-button: signals paused on /);
  await pausing.close();
  await check('paused', echo, /Resume/);

  const ending = await browser.popup(shop);
  await ending.clickText('End relationship');
  await ending.waitText(/ended/i, { what: 'the relationship ended' });
  await ending.close();
  await check('ended', shop, /ended/i);

  const options = await browser.options();
  await options.waitText(new RegExp(esc(new URL(vendors.origin('shop')).host)), { what: 'the options page listing relationships' });
  const optionViolations = await axeViolations(options);

  const lines = report.map((r) => `${r.name}: actions end at ${r.bottom} px; ${r.violations.length} violation(s)${r.violations.length ? `\n  ${r.violations.join('\n  ')}` : ''}`);
  console.log(`popup measurements:\n${lines.join('\n')}`);
  for (const r of report) {
    assert.deepEqual(r.violations, [], `axe-core in the popup (${r.name})`);
    assert.ok(r.bottom <= POPUP_MAX.height, `popup (${r.name}): actions end at ${r.bottom} px, below the 600 px a popup shows`);
  }
  assert.deepEqual(optionViolations, [], 'axe-core in the options page');
});
