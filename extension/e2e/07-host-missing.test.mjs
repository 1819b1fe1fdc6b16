// Scenario 7: the native host is not installed. The r-button says "helper
// unavailable", the popup tells how to install it, and the signals still go
// out (they do not depend on the host). axe-core finds no violation in the
// popup in that state.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { scenario } from './lib/scenario.mjs';
import { HOST_NAME } from './lib/repo.mjs';
import { axeViolations } from './lib/axe.mjs';

for (const dir of ['/etc/chromium/native-messaging-hosts', '/etc/opt/chrome/native-messaging-hosts', '/usr/lib/mozilla/native-messaging-hosts', '/usr/lib64/mozilla/native-messaging-hosts']) {
  if (fs.existsSync(`${dir}/${HOST_NAME}.json`)) {
    throw new Error(`${dir}/${HOST_NAME}.json is installed system-wide, so "host missing" cannot be tested here; remove it`);
  }
}

scenario('host missing: "helper unavailable", install hint, signals still sent', { installHost: false, needs: ['popup'] }, async ({ browser, vendors }) => {
  const tab = await browser.open(vendors.url('shop', '/'));
  await browser.waitTitle(tab, /^r-button: helper unavailable$/);

  const popup = await browser.popup(tab);
  await popup.waitText(/rbutton install|make install/, { what: 'the popup telling how to install the helper' });
  assert.deepEqual(await axeViolations(popup), [], 'axe-core in the popup (helper unavailable)');

  const echo = await browser.open(vendors.url('echo', '/headers'));
  const body = JSON.parse(await echo.page.text());
  const h = Object.fromEntries(Object.entries(body.headers ?? body).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]));
  assert.equal(h.dnt, '1');
  assert.equal(h['sec-gpc'], '1');
  assert.equal(h['sec-dnt-d'], 'v=1');
  assert.equal(await echo.page.evaluate(() => navigator.globalPrivacyControl), true);
});
