// Starts rbutton-vendor (site/cmd/rbutton-vendor) in front of the Python
// example application (site/sidecar/example/app.py), configured by the
// example's vendor.toml with loopback ports of our choosing, and waits
// until a page comes back through it. Origin is http://127.0.0.1:<port>.

import fs from 'node:fs';
import path from 'node:path';
import { goBinary, REPO } from './repo.mjs';
import { freePorts, httpGet, run, startProcess, waitFor } from './util.mjs';

export const vendorBinary = () => goBinary('rbutton-vendor', './site/cmd/rbutton-vendor');
const EXAMPLE = path.join(REPO, 'site/sidecar/example');

/** Returns {origin, log(), appLog(), config, stop()}. */
export async function startSidecar({ cleanup, dir }) {
  const bin = await vendorBinary();
  const [port, appPort] = await freePorts(2);
  const work = path.join(dir, 'sidecar');
  fs.mkdirSync(work, { recursive: true });
  // The documented example, moved onto our ports.
  const config = fs.readFileSync(path.join(EXAMPLE, 'vendor.toml'), 'utf8')
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`).replaceAll('127.0.0.1:3000', `127.0.0.1:${appPort}`);
  const configPath = path.join(work, 'vendor.toml');
  fs.writeFileSync(configPath, config);
  const key = await run(bin, ['-genkey', path.join(work, 'vendor.key')]);
  if (key.code !== 0) throw new Error(`rbutton-vendor -genkey: ${key.stderr}`);

  const app = startProcess('python3', [path.join(EXAMPLE, 'app.py'), String(appPort)], { logFile: path.join(work, 'app.log'), cleanup, what: 'app.py' });
  const vendor = startProcess(bin, [configPath], { logFile: path.join(work, 'vendor.log'), cleanup, what: 'rbutton-vendor' });
  const origin = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    for (const p of [app, vendor]) if (p.exitInfo) throw new Error(`exited (${JSON.stringify(p.exitInfo)}):\n${p.log()}`);
    return (await httpGet(`${origin}/`)).status === 200;
  }, { what: `rbutton-vendor on ${origin} in front of app.py on ${appPort}`, timeout: 30_000 });
  return { origin, config: configPath, log: vendor.log, appLog: app.log, stop: async () => { await vendor.stop(); await app.stop(); } };
}
