import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

// Reads a zip's entries through its central directory.
function readZip(buf) {
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'no end of central directory');
  const count = buf.readUInt16LE(end + 10);
  let p = buf.readUInt32LE(end + 16);
  const files = new Map();
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extra = buf.readUInt16LE(p + 30);
    const comment = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const dataStart = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    files.set(name, inflateRawSync(buf.subarray(dataStart, dataStart + size)));
    p += 46 + nameLen + extra + comment;
  }
  return files;
}

test('package.sh: one zip per browser, runtime files only, manifest adapted', () => {
  const out = mkdtempSync(join(tmpdir(), 'rbutton-pkg-'));
  try {
    execFileSync(fileURLToPath(new URL('../package.sh', import.meta.url)), [out], { stdio: 'pipe' });
    const version = JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8')).version;
    for (const browser of ['chromium', 'firefox']) {
      const files = readZip(readFileSync(join(out, `r-button-${version}-${browser}.zip`)));
      const names = [...files.keys()];
      assert.ok(names.includes('background.js') && names.includes('popup/popup.html') && names.includes('rules/signals.json'));
      for (const n of names) assert.ok(!/^(test|e2e|tools)\/|EXTENSION_ID|package\.sh/.test(n), `${browser}: ${n} must not be packaged`);
      const m = JSON.parse(files.get('manifest.json'));
      assert.equal(m.key, undefined);
      if (browser === 'chromium') {
        assert.deepEqual(m.background, { service_worker: 'background.js', type: 'module' });
        assert.equal(m.browser_specific_settings, undefined);
        // Chromium MV3 warns about (and has no use for) the blocking permissions.
        assert.ok(!m.permissions.some((p) => /^webRequest(Blocking|FilterResponse)/.test(p)), m.permissions.join());
      } else {
        assert.deepEqual(m.background, { scripts: ['background.js'], type: 'module' });
        assert.equal(m.browser_specific_settings.gecko.id, 'r-button@rbutton.org');
        // GPC in workers (lib/workergpc.js).
        for (const p of ['webRequestBlocking', 'webRequestFilterResponse']) assert.ok(m.permissions.includes(p), p);
      }
      // Every file the manifest and pages refer to is inside.
      assert.equal(String(files.get('background.js')), readFileSync(new URL('../background.js', import.meta.url), 'utf8'));
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('EXTENSION_ID matches the manifest key', async () => {
  const { createHash } = await import('node:crypto');
  const m = JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8'));
  const hex = createHash('sha256').update(Buffer.from(m.key, 'base64')).digest('hex').slice(0, 32);
  const id = [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
  assert.equal(readFileSync(new URL('../EXTENSION_ID', import.meta.url), 'utf8'), id);
});

test('build-firefox.mjs: the runtime files, a manifest Firefox takes without warnings', async () => {
  const { buildFirefox } = await import('../tools/build-firefox.mjs');
  const { existsSync } = await import('node:fs');
  const out = mkdtempSync(join(tmpdir(), 'rbutton-ffbuild-'));
  try {
    buildFirefox(out);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    const source = JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8'));
    assert.ok(source.key, 'the source manifest keeps the Chromium development key');
    assert.equal(m.key, undefined, 'Firefox warns about key');
    assert.equal(m.minimum_chrome_version, undefined);
    assert.deepEqual(m.background, { scripts: [source.background.service_worker], type: 'module' });
    assert.equal(m.browser_specific_settings.gecko.id, 'r-button@rbutton.org');
    assert.equal(readFileSync(join(out, 'background.js'), 'utf8'), readFileSync(new URL('../background.js', import.meta.url), 'utf8'));
    assert.ok(existsSync(join(out, 'popup/popup.html')) && existsSync(join(out, 'rules/signals.json')));
    for (const n of ['test', 'e2e', 'tools', 'EXTENSION_ID', '_metadata']) assert.ok(!existsSync(join(out, n)), `${n} must not be in the build`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('source manifest: Chromium-only background (Chromium warns about background.scripts in MV3)', () => {
  const m = JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8'));
  assert.deepEqual(m.background, { service_worker: 'background.js', type: 'module' });
});
