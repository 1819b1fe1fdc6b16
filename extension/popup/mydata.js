// The popup's "kept by me" sections: the newest data return the helper kept
// for this site (it survives closing the popup and restarting the browser),
// and which of my details the site holds, with the button that gives it the
// ones its agreement allows (sharing is my act, per site).

import { MSG } from '../lib/constants.js';
import { keptView, shareView } from '../lib/mydata.js';
import { ask, el, when } from '../lib/ui.js';

const host = (call, params) => ask({ type: MSG.HOST, call, params }).then((r) => r.result);

/** Fills `slot` for the site `origin` (agreed relationships only); onChange re-runs it. */
export async function renderMyData(slot, origin, { agreed, onStatus } = {}) {
  if (!slot || !origin) return;
  let kept = null;
  let profile = null;
  try {
    [kept, profile] = await Promise.all([host('data.get', { site: origin, last: 1 }), agreed ? host('profile.get', {}) : null]);
  } catch (err) {
    slot.replaceChildren(el('p', { class: 'bad' }, `Could not read what is kept for this site: ${err.message}`));
    return;
  }
  const parts = [];
  const k = keptView(kept);
  if (k.latest) {
    const l = k.latest;
    parts.push(el('section', { id: 'kept-data', 'aria-labelledby': 'kept-h' },
      el('h2', { id: 'kept-h' }, 'What they hold about me (kept by me)'),
      el('p', { class: 'mark', id: 'kept-when' }, `Returned ${when(l.received)}${l.controller ? ` by ${l.controller.name}` : ''}, ${l.via}; ${k.total} return(s) kept.`),
      l.changes ? el('p', { id: 'kept-changes' }, l.changes) : null,
      l.items.length
        ? el('ul', { id: 'kept-items' }, ...l.items.map((it) => el('li', { class: 'data-item', 'data-type': it.type },
          el('strong', {}, it.type), ` · ${when(it.time)}`,
          it.fields.length ? el('dl', {}, ...it.fields.flatMap(([f, v]) => [el('dt', {}, f), el('dd', {}, v)])) : null)))
        : el('p', {}, 'They hold nothing about you.')));
  }
  if (agreed && profile) {
    const share = (profile.sites ?? []).find((s) => s.site === origin);
    const v = shareView(share, profile.details);
    const give = async () => {
      onStatus?.('Giving them your details…');
      try {
        await host('profile.share', { site: origin });
        onStatus?.('They now hold your details; when you change them in the options, they are updated here too.');
      } catch (err) {
        onStatus?.(`Could not give them your details: ${err.message}`, 'bad');
      }
      await renderMyData(slot, origin, { agreed, onStatus });
    };
    parts.push(el('section', { id: 'my-details', 'aria-labelledby': 'my-details-h' },
      el('h2', { id: 'my-details-h' }, 'My details with this site'),
      v.holds.length
        ? el('ul', { id: 'details-held' }, ...v.holds.map((h) => el('li', { 'data-detail': h.field }, `${h.label} since ${when(h.since)}`)))
        : el('p', { id: 'details-none' }, 'They hold none of your details.'),
      el('p', { class: 'mark' }, v.allowedText),
      v.pending ? el('p', { id: 'details-pending' }, v.pending) : null,
      v.refusal ? el('p', { class: 'bad' }, v.refusal) : null,
      v.canShare ? el('button', { type: 'button', id: 'share-details', onclick: give }, v.shareLabel) : null));
  }
  slot.replaceChildren(...parts);
}
