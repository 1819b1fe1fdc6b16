import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keptView, shareView, pushSummary, detailsFromForm, formFromDetails } from '../lib/mydata.js';

test('keptView shows the newest return and what changed', () => {
  const v = keptView({ site: 'https://s', total: 2, returns: [
    { seq: 0, items: [], changes: null },
    { seq: 1, received: '2026-01-01T00:00:00Z', via: 'browser', controller: { name: 'Shop' },
      items: [{ type: 'purchase', time: '2026-01-01T00:00:00Z', data: { item: 'boots' } }],
      changes: { added: [{}], removed: [], unchanged: 0 } },
  ] });
  assert.equal(v.total, 2);
  assert.equal(v.latest.via, 'asked from this browser');
  assert.deepEqual(v.latest.items[0].fields, [['item', 'boots']]);
  assert.equal(v.latest.changes, 'Since the previous return: 1 new, 0 gone, 0 unchanged.');
  assert.equal(keptView({ total: 0, returns: [] }).latest, null);
});

test('shareView offers only what the agreement allows and I have', () => {
  const s = shareView({ allowed: ['email', 'preferences'], holds: {} }, { email: 'a@b.example', name: 'A' });
  assert.equal(s.canShare, true);
  assert.equal(s.shareLabel, 'Give them my e-mail address');
  const held = shareView({ allowed: ['email'], holds: { email: '2026-01-01T00:00:00Z' }, pending: { attempts: 1, lastError: 'site_timeout: slow' } }, { email: 'a@b.example' });
  assert.equal(held.canShare, false);
  assert.match(held.pending, /1 attempt\(s\); site_timeout: slow/);
  assert.equal(shareView(undefined, {}).allowedText, 'Its agreement allows it to hold none of your details.');
});

test('pushSummary says how an update went', () => {
  assert.equal(pushSummary({ total: 40, delivered: 37, retrying: 2, waiting: 1, refused: 0 }), 'Updated 37 of 40 site(s); 3 will be retried.');
  assert.equal(pushSummary({ total: 0 }), 'No site holds a changed detail.');
});

test('details round-trip through the options form', () => {
  const d = detailsFromForm({ name: ' Ada ', email: 'ada@example.org', address: '1 Main St\r\nTown', phone: '', preferences: 'language=en\nsize = 42\nnonsense' });
  assert.deepEqual(d, { name: 'Ada', email: 'ada@example.org', address: '1 Main St\nTown', preferences: { language: 'en', size: '42' } });
  assert.deepEqual(detailsFromForm(formFromDetails(d)), d);
});
