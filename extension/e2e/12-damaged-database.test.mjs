// Scenario 12: the host's database file is damaged. The options page and the
// popup show one and the same state, in words a person can act on ("your
// r-button database is damaged", `rbutton doctor`), not an error code or
// "the helper is available" beside "could not read your terms"; the file is
// left in place and the signals still go out. axe-core finds no violation in
// the popup or the options page in that state.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { scenario } from './lib/scenario.mjs';
import { esc } from './lib/util.mjs';
import { axeViolations } from './lib/axe.mjs';

scenario('damaged database: popup and options page say so, once, with what to run', { needs: ['popup', 'options'] }, async ({ browser, vendors, host }) => {
  const shop = vendors.origin('shop');
  const tab = await browser.open(`${shop}/`);
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(new URL(shop).host)}$`));

  // Damage the file between two host calls: a text file where bbolt expects its pages.
  const garbage = 'this is not a bbolt database\n'.repeat(200);
  fs.writeFileSync(host.env.RBUTTON_DB, garbage);

  const options = await browser.options();
  const text = await options.waitText(/database is damaged/i, { what: 'the options page saying the database is damaged' });
  assert.match(text, /rbutton doctor/, 'the options page names the command');
  assert.doesNotMatch(text, /helper is available/i, 'not "available" beside the damage');
  assert.doesNotMatch(text, /could not read your terms/i, 'one message, not two');
  assert.deepEqual(await axeViolations(options), [], 'axe-core in the options page (damaged database)');

  const popup = await browser.popup(tab);
  const shown = await popup.waitText(/database is damaged/i, { what: 'the popup saying the database is damaged' });
  assert.match(shown, /rbutton doctor/, 'the popup names the command');
  assert.doesNotMatch(shown, /store_corrupt/, 'words, not a code');
  assert.deepEqual(await axeViolations(popup), [], 'axe-core in the popup (damaged database)');

  assert.equal(fs.readFileSync(host.env.RBUTTON_DB, 'utf8'), garbage, 'the file is left as it was');
  const plain = await browser.open(vendors.url('plain', '/'));
  const sent = await plain.page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#headers tr')]
    .map((tr) => [tr.cells[0].textContent.trim().toLowerCase(), tr.cells[1].textContent.trim()])));
  assert.equal(sent.dnt, '1', 'DNT still sent');
  assert.equal(sent['sec-gpc'], '1', 'Sec-GPC still sent');
});
