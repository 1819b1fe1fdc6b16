// Scenario 15: my data and my details. Agree with the shop, enter my e-mail
// address in the options page and give it to the shop from the popup, ask
// the shop what it holds: the helper keeps the answer, so the popup shows it
// again after reopening and after restarting the browser. Then change the
// address in the options page: the shop's own account page shows the new
// one, and the history says the details were updated. Last, the default
// when agreeing: chosen in the options page, it gives a new agreement my
// e-mail address without the button.

import assert from 'node:assert/strict';
import { scenario } from './lib/scenario.mjs';
import { DRIVERS } from './lib/browsers.mjs';
import { esc, waitFor } from './lib/util.mjs';

async function setEmail(options, email) {
  await options.waitText('My details', { what: 'the options page\'s My details section' });
  await waitFor(() => options.evaluate((email) => {
    const input = document.getElementById('detail-email');
    if (!input || document.getElementById('details-form')?.dataset.loaded !== 'true') return false;
    input.value = email;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    return true;
  }, email), { what: 'the e-mail field' });
  await options.clickText('Save my details');
}

async function agreedTab(browser, host, origin) {
  const site = new URL(origin).host;
  const tab = await browser.open(`${origin}/`);
  await browser.waitTitle(tab, new RegExp(`^r-button: relationship with ${esc(site)}$`));
  await waitFor(async () => (await host.show(origin))?.state === 'agreed', { what: 'the agreement stored' });
  await waitFor(async () => (await tab.page.reload()).tk === 'C', { what: 'the shop to recognise the agreement (Tk: C)' });
  return tab;
}

scenario('my data and my details: kept data survives reopening and restarting; a changed e-mail reaches the shop', { needs: ['popup', 'options'], timeout: 300_000 }, async ({ kind, browser, vendors, host, dir, cleanup }) => {
  const origin = vendors.origin('shop');
  let tab = await agreedTab(browser, host, origin);

  let options = await browser.options();
  await setEmail(options, 'ada@example.org');
  await options.waitText(/Details saved; no site holds a changed detail/, { what: 'the details saved' });

  // Sharing is my act: the popup's button, offering what the agreement allows.
  let popup = await browser.popup(tab);
  await popup.clickText('Give them my e-mail address');
  await popup.waitText(/They now hold your details/, { what: 'the shop taking the e-mail address' });
  await popup.waitText(/E-mail address since/, { what: 'the popup saying the shop holds the address' });

  // What they hold: asked from the browser, kept by the helper.
  await popup.clickText('What they hold about me');
  await popup.waitText(/What they hold about me \(kept by me\)[\s\S]*details[\s\S]*ada@example\.org/, { what: 'the kept data return, with the details the shop holds' });

  // Reopened: still there, without asking the shop again.
  const returnsBefore = (await host.json(['data', '--json', origin])).total;
  popup = await browser.popup(tab);
  await popup.waitText(/What they hold about me \(kept by me\)[\s\S]*ada@example\.org/, { what: 'the kept data in a reopened popup' });
  assert.equal((await host.json(['data', '--json', origin])).total, returnsBefore, 'reopening the popup asked the shop nothing');

  // Restarted: the helper still has it.
  await browser.close();
  browser = await DRIVERS[kind].launch({ dir, env: host.env, cleanup,
    beforeLaunch: async (profile) => (kind === 'chromium' ? host.installChromium(profile) : host.installFirefox()) });
  tab = await agreedTab(browser, host, origin);
  popup = await browser.popup(tab);
  await popup.waitText(/What they hold about me \(kept by me\)[\s\S]*ada@example\.org/, { what: 'the kept data after restarting the browser' });
  // This browser's session is linked to the relationship by a data return from it.
  await popup.clickText('What they hold about me');
  await popup.waitText(new RegExp(`; ${returnsBefore + 1} return\\(s\\) kept\\.`), { what: 'a second kept return' });

  // Update once, everywhere: the options page changes the address; the shop's own page shows it.
  options = await browser.options();
  await setEmail(options, 'ada@lovelace.example');
  await options.waitText(/Updated 1 of 1 site\(s\)\./, { what: 'the update delivered to the shop' });
  await tab.page.goto(`${origin}/account`);
  await tab.page.waitText(/ada@lovelace\.example/, { what: 'the shop\'s account page showing the new address' });
  const hist = await host.history(origin);
  assert.ok(hist.verified, 'the history verifies');
  assert.ok(hist.events.some((e) => e.type === 'details-updated' && /updated email/.test(e.detail)), `the history says updated: ${hist.events.map((e) => e.type)}`);
  popup = await browser.popup(tab);
  await popup.click('#details > summary');
  await popup.waitText(/My details updated/, { what: 'the popup history saying the details were updated' });

  // The default when agreeing, chosen in the options page and kept by the
  // helper (the command line sees it): a new agreement with the shop (after
  // forgetting it; opening the options page tells the browser) gives it my
  // e-mail address, with no button pressed.
  await host.cli(['forget', origin]);
  options = await browser.options();
  await options.waitText(/When I agree with a site that may hold my contact details/, { what: 'the default when agreeing' });
  await options.click('#on-agree-email');
  await options.waitText(/Saved\. When you agree with a site whose agreement allows it to hold your e-mail address, it is given your e-mail address/, { what: 'the default saved and said in words' });
  assert.equal((await host.json(['profile', 'default', '--json'])).onAgree, 'email', 'the helper keeps the default');
  tab = await agreedTab(browser, host, origin);
  await waitFor(async () => (await host.history(origin))?.events?.some((e) => e.type === 'details-shared' && /gave email \(your default when agreeing\)/.test(e.detail)),
    { what: 'the new agreement giving the shop my e-mail address by default' });
  popup = await browser.popup(tab);
  await popup.waitText(/E-mail address since/, { what: 'the popup saying the shop holds the address' });
});
