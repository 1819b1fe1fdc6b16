// Launches a real browser with the unpacked r-button extension and exposes
// one small driver API over both engines, so each scenario is written once
// and run per browser:
//   Chromium   — playwright-core, persistent context, --load-extension; the
//                extension's service worker is the control channel.
//   Firefox ESR — puppeteer-core over WebDriver BiDi; the extension is
//                installed as a temporary add-on and an extension page
//                (moz-extension://<fixed uuid>/…) is the control channel.
// Driver API: open(url) -> Tab {id, page}, title(tab), waitTitle(tab, re),
// popup(tab), options(), extensionUrl(path), loadProblems(), close().
// Firefox gets the generated Firefox build of the extension
// (extension/tools/build-firefox.mjs), written into the test's temp dir.

import fs from 'node:fs';
import path from 'node:path';
import { EXT_DIR, CHROMIUM, FIREFOX, FIREFOX_ADDON_ID, extensionId } from './repo.mjs';
import { buildFirefox } from '../../tools/build-firefox.mjs';
import { TIMEOUT_MS, waitFor } from './util.mjs';

/** The fixed internal UUID Firefox gives the add-on, so moz-extension:// URLs are known. */
export const FIREFOX_ADDON_UUID = '5d7e6c1a-2b3f-4e8d-9a10-7c2b1e0f4a96';

const CLICKABLE = 'button, a, [role="button"], input[type="submit"], input[type="button"], summary, label';

/** Wraps a playwright or puppeteer Page with the few operations scenarios use. */
export class Page {
  constructor(raw, kind) {
    this.raw = raw;
    this.kind = kind;
  }

  url() { return this.raw.url(); }
  evaluate(fn, arg) { return this.raw.evaluate(fn, arg); }

  /** Navigates; returns the document's response headers (lower-case names), or {}. */
  async goto(url) {
    const res = await this.raw.goto(url, { waitUntil: 'load', timeout: TIMEOUT_MS });
    return res ? res.headers() : {};
  }

  /** Reloads; returns the document's response headers (lower-case names), or {}. */
  async reload() {
    const res = await this.raw.reload({ waitUntil: 'load', timeout: TIMEOUT_MS });
    return res ? res.headers() : {};
  }

  /** The visible text of the document body. */
  text() { return this.evaluate(() => document.body ? document.body.innerText : ''); }

  /** Waits until the body text matches re (RegExp or substring); returns the text. */
  async waitText(re, { what, timeout } = {}) {
    const test = typeof re === 'string' ? (s) => s.includes(re) : (s) => re.test(s);
    let last = '';
    try {
      return await waitFor(async () => { last = await this.text(); return test(last) && last; },
        { what: what || `page text matching ${re}`, timeout });
    } catch (err) {
      err.message += `\n--- page text (${this.url()}) ---\n${last.slice(0, 3000)}`;
      throw err;
    }
  }

  /**
   * Clicks the first visible clickable element whose text contains `text`
   * (case-insensitive), waiting for it to appear. Returns the element's text.
   */
  async clickText(text, { selector = CLICKABLE, what, timeout } = {}) {
    return waitFor(() => this.evaluate(({ text, selector }) => {
      const want = text.toLowerCase();
      for (const el of document.querySelectorAll(selector)) {
        const label = (el.innerText || el.value || el.textContent || '').trim();
        const visible = el.getClientRects().length > 0 && !el.disabled;
        if (visible && label.toLowerCase().includes(want)) { el.click(); return label; }
      }
      return null;
    }, { text, selector }), { what: what || `a clickable element with text "${text}"`, timeout });
  }

  /** Clicks the element matching a CSS selector, waiting for it. */
  async click(selector, { timeout } = {}) {
    return waitFor(() => this.evaluate((sel) => {
      const el = document.querySelector(sel);
      if (!el || el.disabled) return false;
      el.click();
      return true;
    }, selector), { what: `element ${selector}`, timeout });
  }

  async screenshot(file) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await this.raw.screenshot({ path: file, fullPage: true });
  }

  async close() { await this.raw.close().catch(() => {}); }
}

/** The r-button's title of `tab`, read in the extension through `inExt(fn, arg)`. */
function titleOf(inExt, tab) {
  return inExt((tabId) => (globalThis.browser ?? globalThis.chrome).action.getTitle({ tabId }), tab.id);
}

/**
 * Polls the r-button's title of `tab` until it matches `re`. On timeout the
 * error says the last title and what the worker believes about the tab, to
 * tell a wrong state from a lost paint.
 */
async function waitTitle(inExt, tab, re, { timeout, what } = {}) {
  let last;
  try {
    return await waitFor(async () => { last = await titleOf(inExt, tab); return re.test(last) && last; },
      { what: what || `action title matching ${re}`, timeout });
  } catch (err) {
    err.message += ` (last title: ${JSON.stringify(last)})`;
    const seen = await inExt(async (tabId) => {
      const api = globalThis.browser ?? globalThis.chrome;
      const all = await api.storage.session.get(null);
      const t = await api.tabs.get(tabId).catch((e) => ({ error: e.message }));
      return { url: t.url, status: t.status, session: JSON.stringify(all).slice(0, 1500) };
    }, tab.id).catch((e) => ({ error: e.message }));
    err.message += `\nworker's view of tab ${tab.id}: ${JSON.stringify(seen)}`;
    throw err;
  }
}

function headless() {
  if (process.env.E2E_HEADED === '1') return false;
  return true;
}

/** Chromium with the extension, via playwright-core. */
export class ChromiumDriver {
  kind = 'chromium';

  /**
   * dir: a fresh temp dir (profile goes to dir/profile).
   * env: extra environment for the browser (and so for the host it spawns).
   * beforeLaunch(profileDir): e.g. install the host manifest into the profile.
   * extDir: the unpacked extension (default extension/).
   * developerMode: start in developer mode, as chrome://extensions' error
   *   console (loadProblems) needs.
   */
  static async launch({ dir, env, beforeLaunch, headed = !headless(), cleanup, extDir = EXT_DIR, developerMode = false }) {
    const { chromium } = await import('playwright-core');
    const d = new ChromiumDriver();
    d.id = extensionId();
    d.profile = path.join(dir, 'profile');
    fs.mkdirSync(d.profile, { recursive: true });
    if (developerMode) {
      fs.mkdirSync(path.join(d.profile, 'Default'), { recursive: true });
      fs.writeFileSync(path.join(d.profile, 'Default', 'Preferences'), JSON.stringify({ extensions: { ui: { developer_mode: true } } }));
    }
    if (beforeLaunch) await beforeLaunch(d.profile);
    const args = [
      '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--no-default-browser-check', '--disable-gpu', '--disable-dev-shm-usage',
      `--disable-extensions-except=${extDir}`, `--load-extension=${extDir}`,
    ];
    d.context = await chromium.launchPersistentContext(d.profile, {
      executablePath: CHROMIUM,
      headless: !headed, // Chromium's (new) headless mode runs extensions
      args,
      env: { ...process.env, ...env },
      viewport: { width: 1100, height: 900 },
      timeout: 60_000,
    });
    cleanup?.add('close chromium', () => d.close());
    d.worker = await d.#worker();
    return d;
  }

  /** The extension's service worker, ready to evaluate (its top-level script has run). */
  async #worker() {
    const prefix = `chrome-extension://${this.id}/`;
    const sw = await waitFor(async () => {
      const live = this.context.serviceWorkers().find((w) => w.url().startsWith(prefix));
      if (live) return live;
      const any = this.context.serviceWorkers().map((w) => w.url());
      if (any.some((u) => u.startsWith('chrome-extension://'))) {
        throw new Error(`extension loaded under another id (${any.join(', ')}); extension/EXTENSION_ID says ${this.id}: the manifest key and EXTENSION_ID disagree`);
      }
      await this.context.waitForEvent('serviceworker', { timeout: 1000 }).catch(() => {});
      return null;
    }, { what: `the extension service worker ${prefix}` });
    // Evaluating waits for the worker's script to have run, so its listeners exist.
    await sw.evaluate(() => true);
    return sw;
  }

  /** Evaluates fn(arg) in the service worker, following a worker restart. */
  async sw(fn, arg) {
    try {
      return await this.worker.evaluate(fn, arg);
    } catch (err) {
      if (!/closed|destroyed|Target/i.test(err.message)) throw err;
      this.worker = await this.#worker();
      return this.worker.evaluate(fn, arg);
    }
  }

  extensionUrl(p) { return `chrome-extension://${this.id}/${p.replace(/^\//, '')}`; }

  /** Opens url in a new tab; returns {id, page}. */
  async open(url) {
    const raw = await this.context.newPage();
    const page = new Page(raw, this.kind);
    await page.goto(url);
    const id = await this.tabIdOf(page);
    return { id, page };
  }

  async tabIdOf(page) {
    return waitFor(async () => {
      const url = page.url();
      const ids = await this.sw((u) => chrome.tabs.query({}).then((tabs) => tabs.filter((t) => t.url === u).map((t) => t.id)), url);
      return ids.length ? ids[ids.length - 1] : null;
    }, { what: `the tab id of ${page.url()}` });
  }

  title(tab) { return titleOf((fn, arg) => this.sw(fn, arg), tab); }
  waitTitle(tab, re, opts) { return waitTitle((fn, arg) => this.sw(fn, arg), tab, re, opts); }

  /** Opens the popup for a tab as a page of its own. */
  async popup(tab) {
    return this.openExtensionPage(`popup/popup.html?tab=${tab.id}`);
  }

  async options() {
    return this.openExtensionPage('options/options.html');
  }

  async openExtensionPage(p) {
    const page = new Page(await this.context.newPage(), this.kind);
    await page.goto(this.extensionUrl(p));
    return page;
  }

  /**
   * What chrome://extensions shows for the extension after reloading it the
   * way its Reload button does: a load error, install warnings, manifest
   * errors ("Unrecognized manifest key …"), one string each; [] when clean.
   * Runtime errors already recorded are included too, but the worker's
   * start is not waited for: errors it logs later are not seen. Chromium
   * records all this only in developer mode and not for the load at
   * startup, hence the reload. Needs developerMode.
   */
  async loadProblems() {
    const raw = await this.context.newPage();
    try {
      await raw.goto('chrome://extensions/', { waitUntil: 'load', timeout: TIMEOUT_MS });
      return await raw.evaluate(async (id) => {
        const dp = chrome.developerPrivate;
        if (!(await dp.getProfileConfiguration()).inDeveloperMode) throw new Error('chrome://extensions is not in developer mode (launch with developerMode: true)');
        const out = [];
        const loadError = await dp.reload(id, { failQuietly: true, populateErrorForUnpacked: true });
        if (loadError) out.push(`load error: ${loadError.error}`);
        const info = await dp.getExtensionInfo(id);
        if (info.state !== 'ENABLED') out.push(`state: ${info.state}`);
        for (const w of info.installWarnings) out.push(`install warning: ${w}`);
        for (const e of info.manifestErrors) out.push(`manifest: ${e.message}`);
        for (const e of info.runtimeErrors) out.push(`runtime error: ${e.message} (${e.source})`);
        return out;
      }, this.id);
    } finally {
      await raw.close().catch(() => {});
    }
  }

  async close() {
    if (this.context) { const c = this.context; this.context = null; await c.close().catch(() => {}); }
  }
}

function firefoxEnv(extra) {
  const env = {
    ...process.env,
    ...extra,
    // Lets WebDriver navigate a tab to moz-extension:// pages (the popup and
    // options page under test); only the test's own browser gets it.
    MOZ_REMOTE_ALLOW_SYSTEM_ACCESS: '1',
  };
  if (headless()) env.MOZ_HEADLESS = '1';
  else delete env.MOZ_HEADLESS;
  return env;
}

/** Firefox ESR with the extension as a temporary add-on, via puppeteer-core over WebDriver BiDi. */
export class FirefoxDriver {
  kind = 'firefox';

  /** extDir: the extension's source (default extension/); its Firefox build goes to dir/firefox-extension. */
  static async launch({ dir, env, beforeLaunch, cleanup, extDir = EXT_DIR, prefs = {} }) {
    const { default: puppeteer } = await import('puppeteer-core');
    const d = new FirefoxDriver();
    d.uuid = FIREFOX_ADDON_UUID;
    const build = buildFirefox(path.join(dir, 'firefox-extension'), extDir);
    if (beforeLaunch) await beforeLaunch(null);
    d.browser = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: FIREFOX,
      headless: headless(),
      timeout: 60_000,
      env: firefoxEnv(env),
      extraPrefsFirefox: {
        'extensions.webextensions.uuids': JSON.stringify({ [FIREFOX_ADDON_ID]: FIREFOX_ADDON_UUID }),
        'privacy.globalprivacycontrol.enabled': false,
        'privacy.donottrackheader.enabled': false,
        'datareporting.policy.dataSubmissionEnabled': false,
        'app.update.enabled': false,
        'browser.shell.checkDefaultBrowser': false,
        'extensions.update.enabled': false,
        // Show JSON responses as text, as Chromium does, so page text is the JSON.
        'devtools.jsonview.enabled': false,
        ...prefs,
      },
    });
    cleanup?.add('close firefox', () => d.close());
    const id = await d.browser.installExtension(build);
    if (id !== FIREFOX_ADDON_ID) throw new Error(`firefox installed the add-on as ${id}, want ${FIREFOX_ADDON_ID}`);
    // An extension page in its own tab is where we call browser.action / browser.tabs.
    d.control = await d.openExtensionPage('popup/popup.html?control=1');
    return d;
  }

  extensionUrl(p) { return `moz-extension://${this.uuid}/${p.replace(/^\//, '')}`; }

  /**
   * WebDriver BiDi navigates to moz-extension:// only with system access, and
   * then does not report the load to puppeteer; so start the navigation and
   * wait for the document itself.
   */
  async openExtensionPage(p) {
    const url = this.extensionUrl(p);
    const raw = await this.browser.newPage();
    raw.goto(url, { timeout: TIMEOUT_MS }).catch(() => {});
    await waitFor(() => raw.evaluate((u) => location.href === u && document.readyState === 'complete', url),
      { what: `${url} to load` });
    const page = new Page(raw, this.kind);
    page.goto = async (u) => {
      raw.goto(u, { timeout: TIMEOUT_MS }).catch(() => {});
      await waitFor(() => raw.evaluate((v) => location.href === v && document.readyState === 'complete', u), { what: `${u} to load` });
    };
    page.reload = async () => page.goto(await raw.evaluate(() => location.href));
    return page;
  }

  /** Evaluates fn(arg) in the extension's control page. */
  ext(fn, arg) { return this.control.evaluate(fn, arg); }

  async open(url) {
    const page = new Page(await this.browser.newPage(), this.kind);
    await page.goto(url);
    const id = await this.tabIdOf(page);
    return { id, page };
  }

  async tabIdOf(page) {
    return waitFor(async () => {
      const url = await page.evaluate(() => location.href);
      const ids = await this.ext((u) => browser.tabs.query({}).then((tabs) => tabs.filter((t) => t.url === u).map((t) => t.id)), url);
      return ids.length ? ids[ids.length - 1] : null;
    }, { what: `the tab id of ${page.url()}` });
  }

  title(tab) { return titleOf((fn, arg) => this.ext(fn, arg), tab); }
  waitTitle(tab, re, opts) { return waitTitle((fn, arg) => this.ext(fn, arg), tab, re, opts); }

  popup(tab) { return this.openExtensionPage(`popup/popup.html?tab=${tab.id}`); }
  options() { return this.openExtensionPage('options/options.html'); }

  /**
   * What the Browser Console shows about the extension: the add-on loader's
   * warnings and errors ("Reading manifest: Warning processing key: An
   * unexpected property was found …"), uncaught errors from its pages
   * already logged; one string each, [] when clean. (console.error calls of
   * the background stay in the extension process: not seen.) Firefox prints
   * none of these to stdout, so they are read in the browser's chrome
   * window over WebDriver BiDi (MOZ_REMOTE_ALLOW_SYSTEM_ACCESS allows it).
   */
  async loadProblems() {
    const send = async (method, params) => (await this.browser.connection.send(method, params)).result;
    const [win] = (await send('browsingContext.getTree', { 'moz:scope': 'chrome', maxDepth: 0 })).contexts;
    if (!win) throw new Error('firefox: no chrome window to read the Browser Console from');
    const res = await send('script.evaluate', {
      expression: `(${readBrowserConsole})(${JSON.stringify(FIREFOX_ADDON_ID)}, ${JSON.stringify(this.extensionUrl(''))})`,
      target: { context: win.context },
      awaitPromise: false,
    });
    if (res.type === 'exception') throw new Error(`firefox: reading the Browser Console: ${res.exceptionDetails?.text}`);
    return JSON.parse(res.result.value);
  }

  async close() {
    if (this.browser) { const b = this.browser; this.browser = null; await b.close().catch(() => {}); }
  }
}

/**
 * Runs in Firefox's chrome window (system principal): collects, from the
 * console service, what concerns the add-on.
 * Returns a JSON array of strings.
 */
function readBrowserConsole(addonId, base) {
  const out = new Set();
  // The add-on loader logs through Log.sys.mjs as "<time>\t<logger>\t<LEVEL>\t<text>".
  const logger = `addons.webextension.${addonId}`;
  for (const m of Services.console.getMessageArray() || []) {
    const isError = m instanceof Ci.nsIScriptError;
    const text = isError ? m.errorMessage : m.message;
    const [, name, level, msg] = String(text).split('\t');
    if (name === logger && /^(WARN|ERROR|FATAL)$/.test(level)) out.add(msg);
    else if (isError && !(m.flags & Ci.nsIScriptError.warningFlag) && String(m.sourceName).startsWith(base)) {
      out.add(`error: ${text} (${m.sourceName}:${m.lineNumber})`);
    }
  }
  return JSON.stringify([...out]);
}

export const DRIVERS = { chromium: ChromiumDriver, firefox: FirefoxDriver };
