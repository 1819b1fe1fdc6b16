// Starts the demo vendors (site/cmd/rbutton-demo-sites) on free loopback
// ports and waits until every one answers. site/cmd/rbutton-demo-sites fixes the
// flags; origins are http://127.0.0.1:<port>.

import path from 'node:path';
import { sitesBinary } from './repo.mjs';
import { freePorts, httpGet, startProcess, waitFor } from './util.mjs';

export const VENDORS = ['shop', 'news', 'changing', 'plain', 'echo'];

/**
 * Starts all vendors. `ports` may pin ports (the demo uses the contract's
 * defaults); otherwise free ones are picked. Returns
 * {origin(name), url(name, path), changeTerms(), stop()}.
 */
export async function startVendors({ cleanup, dir, ports: fixed, extraArgs = [] }) {
  const bin = await sitesBinary();
  const picked = fixed || Object.fromEntries((await freePorts(VENDORS.length)).map((p, i) => [VENDORS[i], p]));
  // The vendors' databases live in our temp dir, so they go with it even if the process is killed.
  const args = ['--addr', '127.0.0.1', '--db', path.join(dir, 'vendors-db'),
    ...VENDORS.flatMap((v) => [`--${v}-port`, String(picked[v])]), ...extraArgs];
  const logFile = path.join(dir, 'vendors.log');
  const proc = startProcess(bin, args, { logFile, cleanup, what: 'rbutton-demo-sites' });
  const origin = (name) => {
    if (!(name in picked)) throw new Error(`unknown vendor ${name}`);
    return `http://127.0.0.1:${picked[name]}`;
  };
  await waitFor(async () => {
    if (proc.exitInfo) throw new Error(`rbutton-demo-sites exited (${JSON.stringify(proc.exitInfo)}):\n${proc.log()}`);
    for (const v of VENDORS) await httpGet(`${origin(v)}/`);
    return true;
  }, { what: `demo vendors answering on ${JSON.stringify(picked)}`, timeout: 30_000 }).catch((err) => {
    if (proc.exitInfo) throw new Error(`rbutton-demo-sites exited (${JSON.stringify(proc.exitInfo)}):\n${proc.log()}`);
    throw err;
  });
  return {
    ports: picked,
    origin,
    url: (name, p = '/') => `${origin(name)}${p}`,
    log: proc.log,
    /** Asks the changing vendor to publish new terms (POST /admin/change-terms). */
    async changeTerms() {
      const res = await fetch(`${origin('changing')}/admin/change-terms`, { method: 'POST', signal: AbortSignal.timeout(5000) });
      const body = await res.text();
      if (!res.ok) throw new Error(`POST /admin/change-terms: ${res.status} ${body}`);
      return body;
    },
    /** The current terms document of a vendor, parsed. */
    async terms(name) {
      const res = await httpGet(`${origin(name)}/.well-known/dnt-d`);
      if (res.status !== 200) throw new Error(`${name} /.well-known/dnt-d: ${res.status}`);
      return JSON.parse(res.body);
    },
    stop: () => proc.stop(),
  };
}
