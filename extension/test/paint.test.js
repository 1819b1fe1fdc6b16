import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createPainter, DEFAULTS, iconPaths, lookFor, noAgreementReason } from '../lib/paint.js';
import { ICONS, STATE, REASON, REASON_ICONS } from '../lib/constants.js';

const manifest = JSON.parse(fs.readFileSync(new URL('../manifest.json', import.meta.url), 'utf8'));

// The browser's per-tab action state as both browsers keep it: values set for
// a tab win over the defaults until a document commits in that tab, which
// drops them all at once. The real browsers run this in extension/e2e.
function browserAction() {
  const tabs = new Map();
  const calls = [];
  const of = (tabId) => tabs.get(tabId) ?? {};
  return {
    calls,
    commit(tabId) { tabs.delete(tabId); },
    shown(tabId) {
      const t = of(tabId);
      return { icon: t.icon ?? 'default', title: t.title ?? DEFAULTS.title };
    },
    async getTitle({ tabId }) { calls.push('getTitle'); return of(tabId).title ?? DEFAULTS.title; }, // never called
    async setTitle({ tabId, title }) { calls.push('setTitle'); tabs.set(tabId, { ...of(tabId), title }); },
    async setIcon({ tabId, imageData, path }) {
      calls.push('setIcon');
      tabs.set(tabId, { ...of(tabId), icon: imageData ? imageData.stem : path['16'] });
    },
    take() { return calls.splice(0); },
  };
}

const AGREED = { icon: 'on', title: 'r-button: relationship with shop.example' };
const AGREED_LOOK = { icon: 'on', title: 'r-button: relationship with 127.0.0.1:8441' };
const NO_DIALOG = { icon: 'off', title: 'r-button: no dialog here' };
const NEGOTIATING = { icon: 'busy', title: 'r-button: negotiating with shop.example' };
const imageData = async (stem) => ({ stem });

test('the defaults are the manifest\'s', () => {
  assert.equal(DEFAULTS.title, manifest.action.default_title);
  assert.deepEqual(iconPaths(DEFAULTS.icon), Object.fromEntries(
    Object.entries(manifest.action.default_icon).map(([size, file]) => [size, `/${file}`])));
  assert.equal(DEFAULTS.icon, ICONS[STATE.NONE]);
});

test('paints what differs from what it set, and reads nothing back', async () => {
  const action = browserAction();
  const painter = createPainter(action, { imageData });
  await painter.paint(1, AGREED);
  assert.deepEqual(action.take(), ['setIcon', 'setTitle'], 'a tab it knows nothing of: both');
  assert.deepEqual(action.shown(1), AGREED);
  await painter.paint(1, AGREED);
  await painter.paint(1, AGREED);
  assert.deepEqual(action.take(), []);
  await painter.paint(1, NEGOTIATING);
  assert.deepEqual(action.take(), ['setIcon', 'setTitle']);
  assert.deepEqual(action.shown(1), NEGOTIATING);
});

test('a commit resets the tab: after reset() the next paint restores what differs from the defaults', async () => {
  const action = browserAction();
  const painter = createPainter(action, { imageData });
  await painter.paint(1, AGREED);
  action.commit(1);
  painter.reset(1);
  action.take();
  await painter.paint(1, AGREED);
  assert.deepEqual(action.take(), ['setIcon', 'setTitle']);
  assert.deepEqual(action.shown(1), AGREED);
});

test('a plain state after a reset costs nothing (it is the default look); after a lit state the icon and title', async () => {
  const action = browserAction();
  const painter = createPainter(action, { imageData });
  painter.reset(2);
  await painter.paint(2, NO_DIALOG);
  assert.deepEqual(action.take(), []);
  assert.deepEqual(action.shown(2), { icon: 'default', title: NO_DIALOG.title });
  await painter.paint(2, AGREED);
  await painter.paint(2, NO_DIALOG);
  assert.deepEqual(action.take(), ['setIcon', 'setTitle', 'setIcon', 'setTitle']);
  assert.deepEqual(action.shown(2), NO_DIALOG);
});

test('a reset is ordered after the paints asked for before it', async () => {
  const action = browserAction();
  const painter = createPainter(action, { imageData });
  // The paint reaches the browser after the commit; the reset that follows
  // the commit's tab event must not be overtaken by it.
  const early = painter.paint(3, AGREED);
  action.commit(3);
  painter.reset(3);
  await early;
  action.take();
  await painter.paint(3, AGREED);
  assert.deepEqual(action.take(), ['setIcon', 'setTitle'], 'written again: shown state unknown to be it');
});

test('a worker restart forgets the tab: both are set again once', async () => {
  const action = browserAction();
  await createPainter(action, { imageData }).paint(3, AGREED);
  action.take();
  const restarted = createPainter(action, { imageData });
  await restarted.paint(3, AGREED);
  await restarted.paint(3, AGREED);
  assert.deepEqual(action.take(), ['setIcon', 'setTitle']);
});

test('paints of one tab run in order: the last one wins', async () => {
  const action = browserAction();
  const painter = createPainter(action, { imageData });
  await Promise.all([painter.paint(4, NEGOTIATING), painter.paint(4, AGREED), painter.paint(4, NO_DIALOG)]);
  assert.deepEqual(action.shown(4), NO_DIALOG);
});

test('icons are decoded once per stem; a failed decode falls back to paths', async () => {
  const action = browserAction();
  let decodes = 0;
  const painter = createPainter(action, { imageData: async (stem) => { decodes++; if (stem === 'busy') throw new Error('no canvas'); return { stem }; } });
  await painter.paint(5, AGREED);
  await painter.paint(6, AGREED);
  await painter.paint(5, NEGOTIATING);
  await painter.paint(6, NEGOTIATING);
  assert.equal(decodes, 2);
  assert.deepEqual(action.shown(5), { icon: '/icons/busy-16.png', title: NEGOTIATING.title });
});

test('a closed tab: the paint settles quietly, and the tab is unknown after', async () => {
  let fail = true;
  const calls = [];
  const painter = createPainter({
    setIcon: async () => { calls.push('setIcon'); if (fail) throw new Error('No tab with id: 7.'); },
    setTitle: async () => { calls.push('setTitle'); },
  }, { imageData });
  await painter.paint(7, AGREED);
  fail = false;
  await painter.paint(7, AGREED);
  assert.deepEqual(calls, ['setIcon', 'setIcon', 'setTitle']);
});

test('what a tab shows: ended, conflict and error each have their own title and icon', () => {
  const tab = (relState, error = null) => ({ origin: 'http://127.0.0.1:8441', state: STATE.NO_AGREEMENT, relState, error });
  assert.deepEqual(lookFor(tab('conflict')), { icon: 'conflict', title: 'r-button: no agreement with 127.0.0.1:8441, their terms go beyond yours' });
  assert.deepEqual(lookFor(tab('ended')), { icon: 'ended', title: 'r-button: relationship with 127.0.0.1:8441 ended' });
  assert.deepEqual(lookFor(tab('error')), { icon: 'error', title: 'r-button: negotiation with 127.0.0.1:8441 failed' });
  // The latest call failed: that is what shows, whatever the relationship was.
  assert.deepEqual(lookFor(tab('conflict', 'site_timeout')), lookFor(tab('error')));
  assert.equal(noAgreementReason(tab('agreed', 'transport')), REASON.ERROR);
  // No reason known (no relationship, a private window): the state's own look.
  assert.deepEqual(lookFor(tab(null)), { icon: ICONS[STATE.NO_AGREEMENT], title: 'r-button: no agreement with 127.0.0.1:8441' });
  assert.deepEqual(lookFor(tab('conflict', 'private')), lookFor(tab('conflict')));
  // Other states never show a reason, whatever the tab remembers.
  assert.equal(noAgreementReason({ state: STATE.AGREED, relState: 'ended' }), null);
  assert.deepEqual(lookFor({ state: STATE.AGREED, origin: 'http://127.0.0.1:8441', relState: 'agreed' }), AGREED_LOOK);
  assert.deepEqual(lookFor(null), DEFAULTS);
  // Every look of a web page differs from every other, and every icon has
  // its files. Not a web page and no dialog both show the browser's default
  // (nothing to paint on most of the web).
  assert.deepEqual(lookFor({ state: STATE.NO_DIALOG, origin: 'http://127.0.0.1:8441' }), DEFAULTS);
  assert.deepEqual(lookFor({ state: STATE.NONE, origin: null }), DEFAULTS);
  const looks = [...Object.values(STATE).filter((s) => s !== STATE.NONE).map((state) => lookFor({ state, origin: 'http://127.0.0.1:8441' })),
    ...Object.values(REASON).map((r) => lookFor(tab(r)))];
  const titles = looks.map((l) => l.title);
  assert.equal(new Set(titles).size, titles.length, titles.join('\n'));
  for (const { icon } of looks) {
    for (const file of Object.values(iconPaths(icon))) assert.ok(fs.existsSync(new URL(`..${file}`, import.meta.url)), file);
  }
  for (const r of Object.values(REASON)) assert.notEqual(REASON_ICONS[r], ICONS[STATE.NO_AGREEMENT], r);
  assert.equal(new Set(Object.values(REASON_ICONS)).size, 3);
});
