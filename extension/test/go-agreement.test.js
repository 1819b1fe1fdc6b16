// Facts written both in Go and here must agree: the presets (policy.Presets,
// through the generated testdata/policy/presets.json, which `go test ./policy`
// checks against the Go), the words for every dimension, value and change of
// a site's terms (testdata/policy/changes.json, which `go test ./policy`
// checks policy.TermChange.Words and policy.DescribeValue against), and the names that tie the extension to its host
// (host/install: the Chromium extension ID, the Firefox add-on ID, the native
// host's name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FALLBACK_PRESETS, DEFAULT_PRESET, DIMENSIONS, describeChange, describeWireValue } from '../lib/vocabulary.js';
import { HOST_NAME, FAILURE_WORDS } from '../lib/constants.js';
import { FIREFOX_ADDON_ID, HOST_NAME as E2E_HOST_NAME } from '../e2e/lib/repo.mjs';

const repo = (p) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

/** The value of a Go string constant `name` in `src` (a plain "..." literal). */
function goConst(src, name) {
  const m = src.match(new RegExp(`^(?:const\\s+)?\\s*${name}\\s*=\\s*"([^"]*)"`, 'm'));
  assert.ok(m, `no string constant ${name}`);
  return m[1];
}

test('presets: the extension\'s copy equals policy.Presets', () => {
  const goPresets = JSON.parse(repo('testdata/policy/presets.json'));
  assert.deepEqual(JSON.parse(JSON.stringify(FALLBACK_PRESETS)), goPresets);
  assert.equal(goConst(repo('policy/presets.go'), 'DefaultPreset'), DEFAULT_PRESET);
});

test('extension IDs and host name: host/install agrees with the manifest, EXTENSION_ID and the JS constants', () => {
  const install = repo('host/install/install.go');
  const manifest = JSON.parse(repo('extension/manifest.json'));
  assert.equal(goConst(install, 'DefaultExtensionID'), repo('extension/EXTENSION_ID').trim());
  assert.equal(goConst(install, 'DefaultFirefoxID'), manifest.browser_specific_settings.gecko.id);
  assert.equal(goConst(install, 'DefaultFirefoxID'), FIREFOX_ADDON_ID);
  assert.equal(goConst(install, 'HostName'), HOST_NAME);
  assert.equal(E2E_HOST_NAME, HOST_NAME);
});

test('terms changes in words: the extension says what policy.TermChange.Words says', () => {
  const v = JSON.parse(repo('testdata/policy/changes.json'));
  for (const c of v.cases) assert.deepEqual(c.changes.map(describeChange), c.words, c.name);
  assert.deepEqual(DIMENSIONS.map((d) => ({ dimension: d.key, label: d.label })), v.dimensions);
  for (const x of v.values) assert.equal(describeWireValue(x.dimension, x.value), x.words, `${x.dimension} ${JSON.stringify(x.value)}`);
  // Every value the extension has words for is in the vectors (and so in Go).
  const covered = new Set(v.values.map((x) => `${x.dimension}=${x.value}`));
  for (const d of DIMENSIONS) for (const val of d.values) assert.ok(covered.has(`${d.key}=${val.value}`), `${d.key} ${val.value}`);
});

test('failure words: every code the popup explains is a host error code (host/proto/proto.go)', () => {
  const proto = repo('host/proto/proto.go');
  const codes = new Set([...proto.matchAll(/^\s*Code\w+\s*=\s*"([a-z_]+)"/gm)].map((m) => m[1]));
  assert.ok(codes.has('site_timeout') && codes.size > 20, `read ${codes.size} codes`);
  for (const code of Object.keys(FAILURE_WORDS)) assert.ok(codes.has(code), `${code} is not a host error code`);
  // Every site_* code has words.
  for (const code of codes) if (code.startsWith('site_')) assert.ok(code in FAILURE_WORDS, `no words for ${code}`);
});
