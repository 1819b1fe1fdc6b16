// Scenario 13: the popup is for people. In each main state (relationship,
// no agreement, no dialog offered, paused, ended, a failed negotiation) its
// actions are reached without scrolling in a 600 px tall popup (measured),
// and axe-core finds no accessibility violation in the popup in any of those
// states nor in the options page. States that differ look different: every
// state has its own toolbar title, conflict, ended and error their own icon,
// and the ended headline says when it ended.

import assert from 'node:assert/strict';
import http from 'node:http';
import { scenario } from './lib/scenario.mjs';
import { esc } from './lib/util.mjs';
import { axeViolations } from './lib/axe.mjs';

const POPUP_MAX = { width: 420, height: 600 };

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

/**
 * A site that offers dialog (a DNT-D header) but fails when asked for its
 * terms: the negotiation fails.
 */
async function startBrokenSite(cleanup) {
  const server = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'dnt-d': `v=1, terms=:${Buffer.alloc(32, 7).toString('base64')}:` });
      return res.end('<!doctype html><meta charset="utf-8"><title>broken</title><p>A site whose terms cannot be had.</p>');
    }
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error');
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  cleanup.add('stop the broken site', () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }));
  return `http://127.0.0.1:${server.address().port}`;
}

const headOf = (page) => page.evaluate(() => ({
  text: document.getElementById('state-text')?.textContent ?? '',
  icon: document.getElementById('state-icon')?.getAttribute('src') ?? '',
}));

scenario('popup for people: main states fit 600 px up to the actions; no axe-core violation in the popup or the options page', { needs: ['popup', 'options'] }, async ({ browser, vendors, cleanup }) => {
  const report = [];
  const titles = {};
  const heads = {};
  const check = async (name, tab, ready, title) => {
    titles[name] = await browser.waitTitle(tab, title);
    const popup = await browser.popup(tab);
    await setPopupSize(popup);
    const bottom = await actionsBottom(popup, ready);
    heads[name] = await headOf(popup);
    const violations = await axeViolations(popup);
    report.push({ name, bottom, violations });
    await popup.close();
  };
  const host = (name) => esc(new URL(vendors.origin(name)).host);

  const shop = await browser.open(vendors.url('shop'));
  await check('relationship', shop, /Relationship|relationship/, new RegExp(`^r-button: relationship with ${host('shop')}$`));

  const news = await browser.open(vendors.url('news'));
  await check('no agreement (conflict)', news, /Allow this for/, new RegExp(`^r-button: no agreement with ${host('news')}, their terms go beyond yours$`));

  const plain = await browser.open(vendors.url('plain'));
  await check('no dialog', plain, /Pause signals/, /^r-button: no dialog here$/);

  const echo = await browser.open(vendors.url('echo'));
  const pausing = await browser.popup(echo);
  await pausing.clickText('Pause');
  await browser.waitTitle(echo, /^r-button: signals paused on /);
  await pausing.close();
  await check('paused', echo, /Resume/, /^r-button: signals paused on /);

  const broken = await startBrokenSite(cleanup);
  const failing = await browser.open(`${broken}/`);
  await check('error', failing, /Negotiation with .* failed/, new RegExp(`^r-button: negotiation with ${esc(new URL(broken).host)} failed$`));

  const ending = await browser.popup(shop);
  await ending.clickText('End relationship');
  await ending.waitText(/ended/i, { what: 'the relationship ended' });
  await ending.close();
  await check('ended', shop, /ended/i, new RegExp(`^r-button: relationship with ${host('shop')} ended$`));

  const options = await browser.options();
  await options.waitText(new RegExp(esc(new URL(vendors.origin('shop')).host)), { what: 'the options page listing relationships' });
  const optionViolations = await axeViolations(options);

  const lines = report.map((r) => `${r.name}: actions end at ${r.bottom} px; ${r.violations.length} violation(s)${r.violations.length ? `\n  ${r.violations.join('\n  ')}` : ''}`);
  console.log(`popup measurements:\n${lines.join('\n')}`);
  console.log(`titles and headlines:\n${Object.keys(titles).map((k) => `${k}: ${titles[k]} | ${heads[k].text} | ${heads[k].icon}`).join('\n')}`);
  // States that differ look different.
  assert.equal(new Set(Object.values(titles)).size, Object.keys(titles).length, `every state its own title: ${JSON.stringify(titles)}`);
  const apart = ['no agreement (conflict)', 'error', 'ended'];
  assert.equal(new Set(apart.map((k) => heads[k].icon)).size, 3, `conflict, error and ended each their own icon: ${JSON.stringify(heads)}`);
  assert.equal(new Set(apart.map((k) => heads[k].text)).size, 3, 'conflict, error and ended each their own headline');
  // The ended headline says when (the browser's locale: a year in it, at least).
  assert.match(heads.error.text, /^Negotiation with .+ failed: [a-z].* \(site_[a-z_]+\)\.$/, 'the failure in words, its code after them');
  assert.match(heads.ended.text, new RegExp(`^You ended your relationship with ${host('shop')} on .*\\b20\\d\\d\\b`), heads.ended.text);
  for (const r of report) {
    assert.deepEqual(r.violations, [], `axe-core in the popup (${r.name})`);
    assert.ok(r.bottom <= POPUP_MAX.height, `popup (${r.name}): actions end at ${r.bottom} px, below the 600 px a popup shows`);
  }
  assert.deepEqual(optionViolations, [], 'axe-core in the options page');
});
