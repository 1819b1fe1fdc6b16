// Runs the native host binary `rbutton` the way a user would: `install` to
// write the native-messaging manifest where the test browser looks for it,
// and `show`/`history --json` to read what the host stored. Every call gets
// the same hermetic environment the browser-spawned host inherits
// (RBUTTON_DB, RBUTTON_LOG, HOME).

import fs from 'node:fs';
import path from 'node:path';
import { extensionId, FIREFOX_ADDON_ID, hostBinary, HOST_NAME } from './repo.mjs';
import { run } from './util.mjs';

export class Host {
  /** env: {RBUTTON_DB, RBUTTON_LOG, HOME}; the browser gets the same. */
  constructor(env) {
    this.env = env;
  }

  async bin() { return hostBinary(); }

  /** Runs `rbutton args...`; rejects on a non-zero exit unless allowFail. */
  async cli(args, { allowFail = false } = {}) {
    const res = await run(await this.bin(), args, { env: { ...process.env, ...this.env } });
    if (res.code !== 0 && !allowFail) {
      throw new Error(`rbutton ${args.join(' ')}: exit ${res.code}\n${res.stderr}${res.stdout}`);
    }
    return res;
  }

  async json(args) {
    const res = await this.cli(args);
    try {
      return JSON.parse(res.stdout);
    } catch (err) {
      throw new Error(`rbutton ${args.join(' ')}: output is not JSON (${err.message}):\n${res.stdout}`);
    }
  }

  /**
   * Installs the host manifest for Chromium into <userDataDir>/NativeMessagingHosts
   * (Chromium honours --user-data-dir on Linux) and returns its path.
   */
  async installChromium(userDataDir) {
    await this.cli(['install', '--browser', 'chromium', '--extension-id', extensionId(), '--user-data-dir', userDataDir]);
    const manifest = path.join(userDataDir, 'NativeMessagingHosts', `${HOST_NAME}.json`);
    if (!fs.existsSync(manifest)) throw new Error(`rbutton install did not write ${manifest}`);
    return manifest;
  }

  /** Installs the host manifest for Firefox into $HOME/.mozilla/native-messaging-hosts. */
  async installFirefox() {
    await this.cli(['install', '--browser', 'firefox', '--firefox-id', FIREFOX_ADDON_ID]);
    const manifest = path.join(this.env.HOME, '.mozilla', 'native-messaging-hosts', `${HOST_NAME}.json`);
    if (!fs.existsSync(manifest)) throw new Error(`rbutton install --browser firefox did not write ${manifest}`);
    return manifest;
  }

  /** `rbutton show --json <origin>`: the stored relationship (null when none). */
  async show(origin) {
    const res = await this.cli(['show', '--json', origin], { allowFail: true });
    if (res.code !== 0) {
      if (/no relationship/i.test(res.stderr)) return null;
      throw new Error(`rbutton show --json ${origin}: exit ${res.code}\n${res.stderr}`);
    }
    const text = res.stdout.trim();
    return text === '' || text === 'null' ? null : JSON.parse(text);
  }

  /** `rbutton history --json <origin>`: {events, verified, problem}. */
  async history(origin) {
    const out = await this.json(['history', '--json', origin]);
    return Array.isArray(out) ? { events: out, verified: undefined } : out;
  }

  log() {
    return this.env.RBUTTON_LOG && fs.existsSync(this.env.RBUTTON_LOG) ? fs.readFileSync(this.env.RBUTTON_LOG, 'utf8') : '';
  }
}
