// The per-browser manifests, derived from extension/manifest.json.
//
// extension/manifest.json is the Chromium development manifest: it loads
// unpacked in Chromium without a warning and its `key` pins the development
// ID (EXTENSION_ID) the native host's manifest allows. Chromium ignores
// `browser_specific_settings` silently, but each browser warns about one
// thing the other needs: Chromium about `background.scripts` ("requires
// manifest version of 2 or lower"), Firefox about `key` ("An unexpected
// property was found"). So Firefox gets a generated copy (build-firefox.mjs)
// and the store zips (package.mjs) get manifests without `key`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The extension's source directory. */
export const EXTENSION_DIR = fileURLToPath(new URL('..', import.meta.url));

/** What the browser runs: everything else (tests, tools, EXTENSION_ID) stays out. */
export const RUNTIME_FILES = ['manifest.json', 'background.js', 'lib', 'content', 'popup', 'options', 'icons', 'rules'];

export function readManifest(dir = EXTENSION_DIR) {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
}

/**
 * The manifest for one browser. browser: 'chromium' | 'firefox'.
 * keepKey (Chromium only): keep the development `key`; stores assign their own ID.
 */
export function manifestFor(source, browser, { keepKey = false } = {}) {
  const m = structuredClone(source);
  const { service_worker: worker, type } = source.background ?? {};
  if (!worker) throw new Error('manifest.json: background.service_worker is missing');
  if (browser === 'chromium') {
    if (!keepKey) delete m.key;
    delete m.browser_specific_settings;
    m.background = { service_worker: worker, type };
  } else if (browser === 'firefox') {
    // Firefox runs the same module as an event page.
    delete m.key;
    delete m.minimum_chrome_version;
    m.background = { scripts: [worker], type };
    // GPC in workers (lib/workergpc.js): a worker's script gets one line in front.
    m.permissions = [...m.permissions, 'webRequestBlocking', 'webRequestFilterResponse'];
  } else {
    throw new Error(`unknown browser ${browser}`);
  }
  return m;
}

export function manifestJSON(m) {
  return Buffer.from(`${JSON.stringify(m, null, 2)}\n`);
}
