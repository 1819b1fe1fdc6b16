// Draws the r-button toolbar icons as PNGs (icons/<state>-<size>.png) with no
// dependencies: shapes are sampled 4x4 per pixel and written with zlib.
// Run: node extension/tools/make-icons.mjs   (output is committed)
import { deflateSync } from 'node:zlib';
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const out = fileURLToPath(new URL('../icons/', import.meta.url));
mkdirSync(out, { recursive: true });

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
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0)),
  ]);
}

const hex = (h) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
const disc = (x, y) => Math.hypot(x - 0.5, y - 0.5) <= 0.47;
const ring = (x, y) => { const d = Math.hypot(x - 0.5, y - 0.5); return d <= 0.47 && d >= 0.39; };
// The letter r: a stem and a shoulder arc.
function letterR(x, y) {
  if (x >= 0.33 && x <= 0.46 && y >= 0.28 && y <= 0.74) return true;
  const d = Math.hypot(x - 0.62, y - 0.5);
  return y <= 0.5 && x >= 0.42 && x <= 0.74 && d >= 0.09 && d <= 0.21;
}
const pauseBars = (x, y) => y >= 0.3 && y <= 0.7 && ((x >= 0.34 && x <= 0.45) || (x >= 0.55 && x <= 0.66));
const dot = (x, y) => Math.hypot(x - 0.78, y - 0.78) <= 0.2;
const slash = (x, y) => Math.abs((x - 0.5) + (y - 0.5)) <= 0.06 && disc(x, y);
// Badges drawn in the dot: a dash (ended) and an exclamation mark (error).
const dash = (x, y) => dot(x, y) && Math.abs(y - 0.78) <= 0.04 && Math.abs(x - 0.78) <= 0.12;
const bang = (x, y) => dot(x, y) && Math.abs(x - 0.78) <= 0.035 && ((y >= 0.64 && y <= 0.81) || (y >= 0.86 && y <= 0.91));

// Layers, painted in order: [shape, colour].
const designs = {
  on: [[disc, '#1a7f37'], [letterR, '#ffffff']],
  off: [[disc, '#eaeef2'], [ring, '#6e7781'], [letterR, '#57606a']],
  busy: [[disc, '#fff8c5'], [ring, '#9a6700'], [letterR, '#7d4e00']],
  conflict: [[disc, '#ffebe9'], [ring, '#cf222e'], [letterR, '#a40e26']],
  paused: [[disc, '#6e7781'], [pauseBars, '#ffffff']],
  unavailable: [[disc, '#eaeef2'], [ring, '#6e7781'], [letterR, '#57606a'], [slash, '#cf222e']],
  ended: [[disc, '#eaeef2'], [ring, '#424a53'], [letterR, '#424a53'], [dot, '#424a53'], [dash, '#ffffff']],
  error: [[disc, '#fff1e5'], [ring, '#bc4c00'], [letterR, '#953800'], [dot, '#bc4c00'], [bang, '#ffffff']],
};

const SS = 4;
for (const [name, layers] of Object.entries(designs)) {
  for (const size of name === 'on' ? [16, 32, 48, 128] : [16, 32]) {
    const buf = Buffer.alloc(size * size * 4);
    for (let py = 0; py < size; py++) {
      for (let px = 0; px < size; px++) {
        let r = 0, g = 0, b = 0, a = 0;
        for (let sy = 0; sy < SS; sy++) {
          for (let sx = 0; sx < SS; sx++) {
            const x = (px + (sx + 0.5) / SS) / size;
            const y = (py + (sy + 0.5) / SS) / size;
            let col = null;
            for (const [shape, c] of layers) if (shape(x, y)) col = c;
            if (col) { const [cr, cg, cb] = hex(col); r += cr; g += cg; b += cb; a += 1; }
          }
        }
        const i = (py * size + px) * 4;
        if (a) { buf[i] = Math.round(r / a); buf[i + 1] = Math.round(g / a); buf[i + 2] = Math.round(b / a); }
        buf[i + 3] = Math.round((a / (SS * SS)) * 255);
      }
    }
    writeFileSync(`${out}${name}-${size}.png`, png(size, buf));
  }
}
