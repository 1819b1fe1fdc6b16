// Writes the Firefox development build of the extension: a plain copy of the
// runtime files of extension/ with the Firefox manifest (no `key`, the
// background as an event page; see manifests.mjs). Load it in Firefox with
// about:debugging → Load Temporary Add-on → <outdir>/manifest.json; the e2e
// tests install the same build. Rerun after editing extension/.
// Usage: node extension/tools/build-firefox.mjs [outdir]   (default build/firefox)

import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXTENSION_DIR, RUNTIME_FILES, manifestFor, manifestJSON, readManifest } from './manifests.mjs';

/** Replaces outDir with the Firefox build of the extension in srcDir. */
export function buildFirefox(outDir, srcDir = EXTENSION_DIR) {
  const manifest = manifestFor(readManifest(srcDir), 'firefox');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const name of RUNTIME_FILES) {
    if (name !== 'manifest.json') cpSync(join(srcDir, name), join(outDir, name), { recursive: true });
  }
  writeFileSync(join(outDir, 'manifest.json'), manifestJSON(manifest));
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? 'build/firefox');
  buildFirefox(out);
  console.log(`${out}: Firefox development build (load ${join(out, 'manifest.json')})`);
}
