// Builds store-ready zips of the extension, one per browser:
//   <out>/r-button-<version>-chromium.zip, <out>/r-button-<version>-firefox.zip
// Only the runtime files go in (no tests, e2e, tools, EXTENSION_ID), with the
// per-browser manifest from manifests.mjs, the development `key` stripped:
// stores assign their own ID. Zips are deterministic (sorted entries, fixed
// timestamps). No dependencies.
// Usage: node extension/tools/package.mjs [outdir]
import { deflateRawSync } from 'node:zlib';
import { readFileSync, writeFileSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { EXTENSION_DIR as root, RUNTIME_FILES as INCLUDE, manifestFor, manifestJSON, readManifest } from './manifests.mjs';

const out = resolve(process.argv[2] ?? 'dist');

function walk(p) {
  const st = statSync(p);
  if (st.isFile()) return [p];
  return readdirSync(p).sort().flatMap((n) => walk(join(p, n)));
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// 1980-01-01 00:00 in DOS format: deterministic output.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

function zip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBuf = Buffer.from(name, 'utf8');
    const deflated = deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(deflated.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4); // made by: unix, 3.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(deflated.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // -rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, deflated);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + deflated.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const manifest = readManifest();
const files = INCLUDE.flatMap((p) => walk(join(root, p)))
  .map((f) => relative(root, f).split(sep).join('/'))
  .filter((f) => f !== 'manifest.json')
  .sort();

mkdirSync(out, { recursive: true });
for (const browser of ['chromium', 'firefox']) {
  const entries = [{ name: 'manifest.json', data: manifestJSON(manifestFor(manifest, browser)) }, ...files.map((name) => ({ name, data: readFileSync(join(root, name)) }))];
  const file = join(out, `r-button-${manifest.version}-${browser}.zip`);
  writeFileSync(file, zip(entries));
  console.log(`${file}: ${entries.length} files`);
}
