#!/usr/bin/env node
// `make demo`: shows r-button end to end on this machine. Starts the demo
// vendors, installs the native host manifest into a throwaway Chromium
// profile (with a throwaway database), launches Chromium with the extension
// (headed when $DISPLAY is set, headless otherwise), browses each vendor,
// prints what happened per site, and saves popup and options screenshots.
// Last, a site that is not Go: the Python example application behind the
// rbutton-vendor sidecar (site/sidecar/example).
//
// usage: node extension/e2e/demo.mjs [--out DIR] [--headless|--headed] [--free-ports] [--keep]
//   --out DIR      where screenshots go (default ./demo-output)
//   --free-ports   pick free ports instead of the contract's 8441-8445
//   --keep         keep the throwaway profile and database, and print where
// Exit status: 0 when every site behaved as expected, 1 otherwise.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChromiumDriver } from './lib/browsers.mjs';
import { Host } from './lib/host.mjs';
import { missing } from './lib/repo.mjs';
import { Cleanup, tempDir, waitFor } from './lib/util.mjs';
import { startVendors } from './lib/vendors.mjs';
import { startSidecar } from './lib/sidecar.mjs';

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const value = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt; };
const OUT = path.resolve(value('--out', process.env.DEMO_OUT || 'demo-output'));
const HEADED = flag('--headed') || (!flag('--headless') && !!process.env.DISPLAY);
const DEMO_PORTS = { shop: 8441, news: 8442, changing: 8443, plain: 8444, echo: 8445 };
const SETTLED = /^r-button: (relationship with|no agreement with|negotiation with .* failed|no dialog here|signals paused on|helper unavailable)/;

const failures = [];
const say = (s = '') => process.stdout.write(`${s}\n`);
const fail = (site, what, err) => {
  failures.push(`${site}: ${what}: ${err?.message ?? err}`);
  say(`  FAILED ${what}: ${String(err?.message ?? err).split('\n')[0]}`);
};

function describeTerms(t, o) {
  const terms = Object.entries(t).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(' ');
  const obl = Object.entries(o).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${terms} | ${obl}`;
}

/** Headers the browser sent with a tab's top-level document (DNR-added ones included). */
async function sentHeaders(tab) {
  const raw = tab.page.raw;
  const res = await raw.reload({ waitUntil: 'load' });
  const all = res ? await res.request().allHeaders() : {};
  return ['dnt', 'sec-gpc', 'sec-dnt-d'].map((h) => `${h}: ${all[h] ?? '(absent)'}`).join(', ');
}

/**
 * Prints what the vendors logged since the last call: the dialog as the
 * site saw it (terms fetched, proposal, answer, page views).
 */
let vendorLogSeen = 0;
function vendorSide(vendors) {
  const log = vendors.log();
  const fresh = log.slice(vendorLogSeen).split('\n').filter((l) => l.trim());
  vendorLogSeen = log.length;
  if (fresh.length) say(`  the vendor's side:\n${fresh.map((l) => `    ${l}`).join('\n')}`);
}

async function report(browser, host, vendors, name, { expect, origin = vendors.origin(name) }) {
  vendorLogSeen = vendors.log().length; // only this site's exchange below
  say(`\n== ${name} ${origin}`);
  const tab = await browser.open(`${origin}/`);
  // A site with no dialog shows the browser's default title from the start:
  // wait for the look this site should settle on, where the demo knows it.
  const title = await browser.waitTitle(tab, expect ?? SETTLED, { what: `the r-button to settle on ${name}` });
  say(`  toolbar title: ${title}`);
  try {
    say(`  signals sent: ${await sentHeaders(tab)}`);
    say(`  navigator.globalPrivacyControl: ${await tab.page.evaluate(() => navigator.globalPrivacyControl)}`);
  } catch (err) { fail(name, 'reading the signals', err); }
  const rel = await host.show(origin).catch((err) => { fail(name, 'rbutton show --json', err); return null; });
  if (!rel) {
    say('  host: no relationship stored');
  } else {
    say(`  host: state=${rel.state}${rel.exception ? ' (exception)' : ''} termsDigest=${rel.termsDigest}`);
    if (rel.record) {
      const a = rel.record.agreement;
      say(`  agreed offer: ${a.offer || '(our counter-proposal)'}  receipt: ${rel.record.id}`);
      say(`  agreed terms: ${describeTerms(a.terms, a.obligations)}`);
    }
    for (const c of rel.conflicts ?? []) say(`  conflict${c.offer ? ` (offer ${c.offer})` : ''}: ${c.dimension}: site needs ${c.needs}, you allow ${c.allows}`);
    if (rel.error) say(`  error: ${rel.error.code}: ${rel.error.message}`);
  }
  vendorSide(vendors);
  if (expect && !expect.test(title)) fail(name, `expected the r-button to match ${expect}`, title);
  const shot = path.join(OUT, `${name}-popup.png`);
  try {
    const popup = await browser.popup(tab);
    await popup.raw.setViewportSize({ width: 660, height: 700 });
    await waitFor(async () => (await popup.text()).trim().length > 0, { what: 'the popup to render' });
    await popup.screenshot(shot);
    await popup.close();
    say(`  popup screenshot: ${shot}`);
  } catch (err) { fail(name, 'popup screenshot', err); }
  return { tab, rel };
}

async function main() {
  const absent = missing('host', 'sites', 'extension', 'extensionId', 'chromium');
  if (absent) throw new Error(absent);
  fs.mkdirSync(OUT, { recursive: true });
  const cleanup = new Cleanup();
  try {
    const dir = flag('--keep') ? fs.mkdtempSync(path.join(os.tmpdir(), 'rbutton-demo-')) : tempDir(cleanup, 'rbutton-demo-');
    if (flag('--keep')) say(`profile, database and logs are kept in ${dir}`);
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    const env = { RBUTTON_DB: path.join(dir, 'rbutton.db'), RBUTTON_LOG: path.join(dir, 'rbutton.log'), HOME: home };
    const host = new Host(env);
    say(`r-button demo — screenshots go to ${OUT}`);
    say(`browser: Chromium ${HEADED ? 'headed' : 'headless'}; throwaway database ${env.RBUTTON_DB}`);
    const vendors = await startVendors({ cleanup, dir, ports: flag('--free-ports') ? undefined : DEMO_PORTS });
    say(`vendors: ${Object.entries(vendors.ports).map(([k, p]) => `${k}=${p}`).join(' ')}`);
    const browser = await ChromiumDriver.launch({ dir, env, cleanup, headed: HEADED, beforeLaunch: (profile) => host.installChromium(profile) });

    const step = async (name, fn) => { try { return await fn(); } catch (err) { fail(name, 'visit', err); return null; } };
    await step('shop', async () => {
      const { tab } = await report(browser, host, vendors, 'shop', { expect: /relationship with/ });
      say('  -- browsing the shop under the agreement, then "What they hold about me"');
      const origin = vendors.origin('shop');
      for (const p of ['/product/boots', '/basket', '/']) await tab.page.goto(`${origin}${p}`);
      const popup = await browser.popup(tab);
      await popup.raw.setViewportSize({ width: 660, height: 700 });
      await popup.clickText('What they hold about me');
      const text = await popup.waitText(/What they hold about me[\s\S]*From [^\n]+\d/, { what: "the shop's data-return answer in the popup" });
      const answer = text.slice(text.lastIndexOf('What they hold about me'));
      say(`  the shop returned ${(answer.match(/page[- ]view/gi) || []).length} page view(s) and the agreement`);
      const shot = path.join(OUT, 'shop-data-return.png');
      await popup.raw.evaluate(() => document.getElementById('data')?.scrollIntoView() ?? window.scrollTo(0, document.body.scrollHeight));
      await popup.screenshot(shot);
      await popup.close();
      say(`  data-return screenshot: ${shot}`);
      vendorSide(vendors);
    });
    await step('news', () => report(browser, host, vendors, 'news', { expect: /no agreement with/ }));
    await step('changing', async () => {
      const before = await report(browser, host, vendors, 'changing', { expect: /relationship with/ });
      say('  -- the vendor changes its terms (POST /admin/change-terms), reloading');
      await vendors.changeTerms();
      const origin = vendors.origin('changing');
      await before.tab.page.reload();
      const after = await waitFor(async () => {
        const r = await host.show(origin);
        return r && r.termsDigest !== before.rel?.termsDigest && r.state !== 'negotiating' && r;
      }, { what: 'the host to see the changed terms' });
      say(`  after the change: state=${after.state} termsDigest=${after.termsDigest}`);
      if (after.record) say(`  new agreed terms: ${describeTerms(after.record.agreement.terms, after.record.agreement.obligations)} receipt: ${after.record.id}`);
      const hist = await host.history(origin);
      say(`  history: ${hist.events.map((e) => e.type).join(' -> ')}${hist.verified === undefined ? '' : ` (chain verified: ${hist.verified})`}`);
      vendorSide(vendors);
      if (after.state !== 'agreed') fail('changing', 'expected an agreement after the change', after.state);
      const popup = await browser.popup(before.tab);
      await popup.raw.setViewportSize({ width: 660, height: 700 });
      const shot = path.join(OUT, 'changing-after-popup.png');
      await waitFor(async () => (await popup.text()).trim().length > 0, { what: 'the popup to render' });
      await popup.screenshot(shot);
      say(`  popup screenshot: ${shot}`);
    });
    await step('plain', () => report(browser, host, vendors, 'plain', { expect: /no dialog here/ }));
    await step('echo', async () => {
      await report(browser, host, vendors, 'echo', {});
      const tab = await browser.open(vendors.url('echo', '/headers'));
      const got = JSON.parse(await tab.page.text()).headers ?? {};
      say(`  the echo vendor received ${Object.keys(got).length} headers, among them: ${['dnt', 'sec-gpc', 'sec-dnt-d'].map((h) => `${h}: ${got[h] ?? '(absent)'}`).join(', ')}`);
    });
    await step('sidecar', async () => {
      const sc = await startSidecar({ cleanup, dir });
      say(`\n== a site that is not Go: Python (site/sidecar/example/app.py) behind rbutton-vendor, configured by ${sc.config}`);
      const { tab, rel } = await report(browser, host, { log: sc.log }, 'sidecar', { expect: /relationship with/, origin: sc.origin });
      if (rel?.state !== 'agreed') fail('sidecar', 'expected an agreement with the sidecar', rel?.state);
      say('  -- browsing the Python site under the agreement');
      for (const p of ['/menu', '/']) await tab.page.goto(`${sc.origin}${p}`);
      const told = await tab.page.evaluate(() => document.getElementById('agreed')?.textContent);
      say(`  the Python app was told (DNT-D-Agreement): ${told}`);
      if (!/offer="basic"/.test(told ?? '')) fail('sidecar', 'expected the app to read the agreement header', told);
      const page = path.join(OUT, 'sidecar-page.png');
      await tab.page.screenshot(page);
      say(`  page screenshot: ${page}`);
      const popup = await browser.popup(tab);
      await popup.raw.setViewportSize({ width: 660, height: 700 });
      await popup.clickText('What they hold about me');
      const text = await popup.waitText(/What they hold about me[\s\S]*From [^\n]+\d/, { what: "the sidecar's data-return answer in the popup" });
      const answer = text.slice(text.lastIndexOf('What they hold about me'));
      const views = (answer.match(/page[- ]view/gi) || []).length;
      say(`  the Python app handed back ${views} page view(s) through the items hook, with the agreement`);
      if (!views) fail('sidecar', 'expected page views from the items hook', answer.slice(0, 300));
      const shot = path.join(OUT, 'sidecar-data-return.png');
      await popup.raw.evaluate(() => document.getElementById('data')?.scrollIntoView() ?? window.scrollTo(0, document.body.scrollHeight));
      await popup.screenshot(shot);
      await popup.close();
      say(`  data-return screenshot: ${shot}`);
      vendorSide({ log: sc.log });
    });
    await step('options', async () => {
      const options = await browser.options();
      await waitFor(async () => (await options.text()).trim().length > 0, { what: 'the options page to render' });
      const shot = path.join(OUT, 'options.png');
      await options.screenshot(shot);
      say(`\n== options page screenshot: ${shot}`);
    });
  } finally {
    await cleanup.run().catch((err) => failures.push(err.message));
  }
}

main().then(() => {
  say('');
  if (failures.length) {
    say(`demo: ${failures.length} problem(s):`);
    for (const f of failures) say(`  - ${f}`);
    process.exit(1);
  }
  say(`demo: done; screenshots in ${OUT}`);
}, (err) => {
  process.stderr.write(`demo: ${err.stack || err.message}\n`);
  if (/address already in use/.test(err.message)) process.stderr.write('demo: a port the demo vendors use is taken; run with --free-ports\n');
  if (failures.length) for (const f of failures) process.stderr.write(`  - ${f}\n`);
  process.exit(1);
});
