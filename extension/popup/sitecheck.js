// The popup's "Does this site honour my signals?" and MyTerms sections,
// built from the worker's site.check answer (lib/controller.js siteCheck):
// a headline in words with what was found one click away, and the MyTerms
// agreements the site accepts with the one that fits my terms to proffer.

import { el, when } from '../lib/ui.js';
import { honourView } from '../lib/honour.js';
import { siteAgreements, lookupRoster, P7012_BASE } from '../lib/myterms.js';

const SKIPPED = {
  'not-web': null,
  private: 'Not checked in a private window (allow negotiating in private windows in the options to check here).',
};

/** The honour section; null when there is nothing to say (not a web page). */
export function honourSection(r) {
  if (!r || r.skipped === 'not-web' || r.error?.host) return null;
  const body = [];
  if (r.skipped && r.skipped !== 'paused') {
    body.push(el('p', { id: 'honour-headline', class: 'mark' }, SKIPPED[r.skipped] ?? 'Not checked.'));
  } else if (r.error) {
    body.push(el('p', { id: 'honour-headline', class: 'mark' }, `Could not check: ${r.error.message}`));
  } else {
    const v = honourView({ check: r.check, page: r.page, paused: r.skipped === 'paused', browserGPC: r.browserGPC === true });
    body.push(el('p', { id: 'honour-headline' }, v.headline),
      el('details', { id: 'honour-details' },
        el('summary', {}, 'What r-button found'),
        el('ul', { id: 'honour-lines' }, ...v.lines.map((l) => el('li', { 'data-key': l.key, class: l.tone === 'none' ? '' : l.tone }, l.text))),
        r.check?.checked ? el('p', { class: 'mark' }, `Its statements were read ${when(r.check.checked)}; read again after ${when(r.check.next)}.`) : null));
  }
  return el('section', { id: 'honour', 'aria-labelledby': 'honour-h' }, el('h2', { id: 'honour-h' }, 'Does this site honour my signals?'), ...body);
}

/** The proffered events of the site's history, newest first, by roster code. */
function proffered(history) {
  return (history?.events ?? []).filter((e) => e.type === 'proffered').reverse();
}

/**
 * The MyTerms section, when the site publishes a MyTerms file; null otherwise.
 * @param {object} r  the site-check answer
 * @param {object|null} history  the popup view's history
 * @param {(code:string) => void} onProffer
 */
export function mytermsSection(r, history, onProffer) {
  const file = r?.check?.mytermsFile;
  if (!file) return null;
  const terms = r.terms;
  const { rows, best } = terms ? siteAgreements(terms, file) : { rows: file.agreements.map((a) => ({ id: a.id, code: a.code, title: lookupRoster(a.code || a.id)?.title ?? '', fits: false, why: '' })), best: null };
  const done = proffered(history);
  const items = rows.map((row) => el('li', { 'data-agreement': row.code || row.id, class: row.fits ? 'ok' : '' },
    el('strong', {}, row.code || row.id), row.title ? ` — ${row.title}. ` : ' ', el('span', { class: row.fits ? '' : 'mark' }, row.why)));
  const out = [el('h2', { id: 'myterms-h' }, 'MyTerms agreements this site accepts'),
    el('ul', { id: 'myterms-list' }, ...items)];
  if (done.length) {
    out.push(el('p', { id: 'myterms-proffered' }, `You proffered ${done[0].detail?.match(/agreement (\S+)/)?.[1] ?? 'an agreement'} ${when(done[0].time)}. The site lists it but has not signed anything; your signed record is in the history.`));
  }
  if (best) {
    out.push(el('p', { id: 'myterms-best' }, `${best.code} fits your terms.`),
      el('button', { type: 'button', id: 'proffer', class: 'primary', onclick: () => onProffer(best.code) }, `Proffer ${best.code} to this site`));
  } else if (terms) {
    out.push(el('p', { id: 'myterms-best', class: 'mark' }, 'None of these agreements fits your terms.'));
  }
  return el('section', { id: 'myterms', 'aria-labelledby': 'myterms-h' }, ...out);
}

export { P7012_BASE };
