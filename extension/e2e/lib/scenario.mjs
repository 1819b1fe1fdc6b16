// One scenario, run once per browser. scenario(name, opts, fn) registers a
// node:test test "<name> [chromium]" and "<name> [firefox]"; each run gets a
// fresh temp dir, fresh demo vendors on free ports, a fresh host database,
// and a browser with the extension; everything is torn down afterwards, also
// on failure. A run is skipped only when a piece it needs is absent from the
// checkout (the message names it); a piece that is there but broken fails.

import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DRIVERS } from './browsers.mjs';
import { Host } from './host.mjs';
import { missing } from './repo.mjs';
import { Cleanup, tempDir } from './util.mjs';
import { startVendors } from './vendors.mjs';

const ONLY = (process.env.E2E_BROWSERS || 'chromium,firefox').split(',').map((s) => s.trim()).filter(Boolean);

/**
 * opts.needs: extra pieces (see repo.mjs) beyond host, sites, extension.
 * opts.installHost: false to launch without the host manifest (scenario 7).
 * opts.firefoxPrefs: Firefox preferences over the harness's own (scenario 9: the browser's own GPC).
 * fn(env): env = {kind, browser, vendors, host, dir, t, cleanup}.
 */
export function scenario(name, opts, fn) {
  if (typeof opts === 'function') { fn = opts; opts = {}; }
  const { needs = [], installHost = true, timeout = 180_000, firefoxPrefs = {} } = opts;
  for (const kind of ['chromium', 'firefox']) {
    const pieces = ['host', 'sites', 'extension', ...(kind === 'chromium' ? ['extensionId'] : []), kind, ...needs];
    const absent = missing(...pieces);
    const skip = !ONLY.includes(kind) ? `E2E_BROWSERS=${ONLY.join(',')}` : absent || false;
    test(`${name} [${kind}]`, { skip, timeout }, async (t) => {
      const cleanup = new Cleanup();
      const dir = tempDir(cleanup, `rbutton-e2e-${kind}-`);
      let env;
      try {
        const home = path.join(dir, 'home');
        fs.mkdirSync(home);
        const hostEnv = { RBUTTON_DB: path.join(dir, 'rbutton.db'), RBUTTON_LOG: path.join(dir, 'rbutton.log'), HOME: home };
        const host = new Host(hostEnv);
        const vendors = await startVendors({ cleanup, dir });
        const browser = await DRIVERS[kind].launch({
          dir,
          env: hostEnv,
          cleanup,
          prefs: firefoxPrefs,
          beforeLaunch: async (profile) => {
            if (!installHost) return;
            if (kind === 'chromium') await host.installChromium(profile);
            else await host.installFirefox();
          },
        });
        env = { kind, browser, vendors, host, dir, t, cleanup };
        await fn(env);
      } catch (err) {
        // Attach what the host and vendors logged: it is what explains most failures.
        const tail = (s) => s.split('\n').slice(-40).join('\n');
        const hostLog = env?.host.log() || '';
        const vendorLog = env?.vendors.log() || '';
        if (hostLog) err.message += `\n--- host log (tail) ---\n${tail(hostLog)}`;
        if (vendorLog) err.message += `\n--- vendors log (tail) ---\n${tail(vendorLog)}`;
        throw err;
      } finally {
        await cleanup.run();
      }
    });
  }
}
