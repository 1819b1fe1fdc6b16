// Scenario 0: the extension loads without a warning or an error, in each
// browser the way a developer loads it: extension/ unpacked in Chromium, the
// generated Firefox build (extension/tools/build-firefox.mjs) as a temporary
// add-on in Firefox. What the browser says is read where the developer would
// see it: chrome://extensions (developer mode) and Firefox's Browser Console
// (driver.loadProblems()). The same check is fed, once per browser, a copy
// of the extension with an unknown manifest property, and must report it.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DRIVERS } from './lib/browsers.mjs';
import { Host } from './lib/host.mjs';
import { EXT_DIR, missing } from './lib/repo.mjs';
import { Cleanup, tempDir } from './lib/util.mjs';
import { RUNTIME_FILES } from '../tools/manifests.mjs';

const ONLY = (process.env.E2E_BROWSERS || 'chromium,firefox').split(',').map((s) => s.trim()).filter(Boolean);
const BOGUS = 'r_button_bogus_property';

/** Launches kind with the extension from extDir (host installed, as for a user) and returns loadProblems(). */
async function problemsLoading(kind, extDir, dir, cleanup) {
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  const hostEnv = { RBUTTON_DB: path.join(dir, 'rbutton.db'), RBUTTON_LOG: path.join(dir, 'rbutton.log'), HOME: home };
  const host = new Host(hostEnv);
  const browser = await DRIVERS[kind].launch({
    dir,
    env: hostEnv,
    cleanup,
    extDir,
    developerMode: true,
    beforeLaunch: (profile) => (kind === 'chromium' ? host.installChromium(profile) : host.installFirefox()),
  });
  return browser.loadProblems();
}

/** A copy of the extension's runtime files whose manifest has one property no browser knows. */
function bogusCopy(dir) {
  const out = path.join(dir, 'bogus-extension');
  for (const name of RUNTIME_FILES) fs.cpSync(path.join(EXT_DIR, name), path.join(out, name), { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  manifest[BOGUS] = true;
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return out;
}

for (const kind of ['chromium', 'firefox']) {
  const absent = missing('host', 'extension', ...(kind === 'chromium' ? ['extensionId'] : []), kind);
  const skip = !ONLY.includes(kind) ? `E2E_BROWSERS=${ONLY.join(',')}` : absent || false;

  const run = (name, fn) => test(`${name} [${kind}]`, { skip, timeout: 120_000 }, async () => {
    const cleanup = new Cleanup();
    try {
      await fn(tempDir(cleanup, `rbutton-e2e-load-${kind}-`), cleanup);
    } finally {
      await cleanup.run();
    }
  });

  run('the extension loads without warnings or errors', async (dir, cleanup) => {
    const problems = await problemsLoading(kind, EXT_DIR, dir, cleanup);
    assert.deepEqual(problems, [], `${kind} reported, loading the extension:\n${problems.join('\n')}`);
  });

  run('the load check reports an unknown manifest property', async (dir, cleanup) => {
    const problems = await problemsLoading(kind, bogusCopy(dir), dir, cleanup);
    assert.ok(problems.some((p) => p.includes(BOGUS)), `${kind} did not report ${BOGUS}; it reported: ${JSON.stringify(problems)}`);
    // Nothing but the planted property: the rest of the manifest is the real one, which is clean.
    assert.deepEqual(problems.filter((p) => !p.includes(BOGUS)), []);
  });
}
