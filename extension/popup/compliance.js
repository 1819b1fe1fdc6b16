// The compliance watch in the popup's main view (lib/viewmodel.js
// complianceView): what this site's pages did that the agreement does not
// allow, as the helper recorded it; the full list is in the history.

import { el, when } from '../lib/ui.js';

/** The section for view.compliance, or null. */
export function complianceSection(c) {
  if (!c) return null;
  return el('section', { id: 'compliance', class: 'problem', 'aria-labelledby': 'compliance-h' },
    el('h2', { id: 'compliance-h' }, c.heading),
    el('ul', {}, ...c.items.map((it) => el('li', {}, it.time ? `${when(it.time)}: ` : '', it.text))),
    c.more > 0 ? el('p', { class: 'mark' }, `${c.more} more in the history (Details).`) : null);
}
