// Where the pieces the e2e tests drive live in the repository, whether each
// piece exists yet, and building the two Go binaries (the native host
// `rbutton` and the demo vendors `rbutton-demo-sites`).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './util.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const EXT_DIR = process.env.RBUTTON_E2E_EXT_DIR || path.join(REPO, 'extension');
export const BIN_DIR = process.env.RBUTTON_E2E_BIN_DIR || path.join(REPO, 'bin');
export const FIREFOX_ADDON_ID = 'r-button@rbutton.org';
export const HOST_NAME = 'org.rbutton.host';

export const CHROMIUM = process.env.RBUTTON_E2E_CHROMIUM || '/usr/bin/chromium';
export const FIREFOX = process.env.RBUTTON_E2E_FIREFOX || '/usr/bin/firefox-esr';

/**
 * The pieces a scenario may need. `missing(...names)` returns a message
 * naming exactly what is absent, or '' when all are there. A piece that is
 * present but broken (does not build, crashes) is a failure, never a skip.
 */
const PIECES = {
  host: { files: ['host/cmd/rbutton/main.go'], says: 'the native host (host/cmd/rbutton/main.go, HOST helper)' },
  sites: { files: ['site/cmd/rbutton-demo-sites/main.go'], says: 'the demo vendors (site/cmd/rbutton-demo-sites/main.go, SITE helper)' },
  extension: { abs: [path.join(EXT_DIR, 'manifest.json'), path.join(EXT_DIR, 'background.js')], says: `the extension (${EXT_DIR}/manifest.json + background.js, EXT helper)` },
  extensionId: { abs: [path.join(EXT_DIR, 'EXTENSION_ID')], says: `the pinned Chromium extension id (${EXT_DIR}/EXTENSION_ID, EXT helper)` },
  popup: { abs: [path.join(EXT_DIR, 'popup/popup.html')], says: `the popup page (${EXT_DIR}/popup/popup.html, EXT helper)` },
  options: { abs: [path.join(EXT_DIR, 'options/options.html')], says: `the options page (${EXT_DIR}/options/options.html, EXT helper)` },
  chromium: { abs: [CHROMIUM], says: `Chromium (${CHROMIUM}; run scripts/ensure-browsers.sh)` },
  firefox: { abs: [FIREFOX], says: `Firefox ESR (${FIREFOX}; run scripts/ensure-browsers.sh)` },
};

export function missing(...names) {
  const out = [];
  for (const name of names) {
    const p = PIECES[name];
    if (!p) throw new Error(`unknown piece ${name}`);
    const files = [...(p.files || []).map((f) => path.join(REPO, f)), ...(p.abs || [])];
    if (!files.every((f) => fs.existsSync(f))) out.push(p.says);
  }
  return out.length ? `missing: ${out.join('; ')}` : '';
}

/** The pinned Chromium extension id (the manifest `key` fixes it). */
export function extensionId() {
  const id = fs.readFileSync(path.join(EXT_DIR, 'EXTENSION_ID'), 'utf8').trim();
  if (!/^[a-p]{32}$/.test(id)) throw new Error(`extension/EXTENSION_ID: not an extension id: ${JSON.stringify(id)}`);
  return id;
}

const built = new Map();

/**
 * Builds a Go command into BIN_DIR once per process (go's cache makes a
 * rebuild cheap). RBUTTON_E2E_NO_BUILD=1 uses what BIN_DIR already holds,
 * for a Makefile that has just built it.
 */
export function goBinary(name, pkg) {
  if (!built.has(name)) {
    built.set(name, (async () => {
      const out = path.join(BIN_DIR, name);
      if (process.env.RBUTTON_E2E_NO_BUILD === '1') {
        if (!fs.existsSync(out)) throw new Error(`${out} does not exist (RBUTTON_E2E_NO_BUILD=1 asks not to build it)`);
        return out;
      }
      // Static, as the Makefile builds what is shipped.
      const env = { CGO_ENABLED: '0', ...process.env };
      const res = await run('go', ['build', '-o', out, pkg], { cwd: REPO, env, timeout: 300_000 });
      if (res.code !== 0) throw new Error(`go build ${pkg} failed:\n${res.stderr}${res.stdout}`);
      return out;
    })());
  }
  return built.get(name);
}

export const hostBinary = () => goBinary('rbutton', './host/cmd/rbutton');
export const sitesBinary = () => goBinary('rbutton-demo-sites', './site/cmd/rbutton-demo-sites');
