// The r-button popup: the state of the current site in words, the exact
// signals sent to it, the relationship (terms table, receipt, history) and
// the actions. Opened from the toolbar, or as a page bound to a tab with
// popup.html?tab=<tabId> (tests, and the options page's relationship list).
// Renders "Loading…" at once and asks the service worker with retries, so it
// is never blank or stale while the worker wakes.

import { MSG } from '../lib/constants.js';
import { api, ask, el, when } from '../lib/ui.js';
import { honourSection, mytermsSection } from './sitecheck.js';
import { plainSummary } from '../lib/viewmodel.js';
import { renderMyData } from './mydata.js';
import { complianceSection } from './compliance.js';

const $ = (id) => document.getElementById(id);
let tabId = null;
// ?site=<origin>: a site's view without a tab (from the options page).
const siteParam = new URLSearchParams(location.search).get('site');
let view = null;
let detailsOpen = false;
// The site check (gpc.json, MyTerms file, the page's privacy strings): asked
// once per popup opening, after the main view is shown.
let siteChecked = null;
let siteChecking = null;

function status(text, kind = '') {
  const s = $('status');
  s.textContent = text;
  s.className = kind;
}

async function resolveTabId() {
  const p = new URLSearchParams(location.search).get('tab');
  if (p !== null && /^\d+$/.test(p)) return Number(p);
  const [tab] = await api.tabs.query({ active: true, currentWindow: true });
  return tab ? tab.id : null;
}

/** The worker's view of this popup's site (or tab). */
async function fetchView() {
  if (siteParam) return (await ask({ type: MSG.POPUP_GET, site: siteParam })).view;
  if (tabId === null) tabId = await resolveTabId();
  if (tabId === null) throw new Error('no tab to show');
  return (await ask({ type: MSG.POPUP_GET, tabId })).view;
}

async function load() {
  $('app').setAttribute('aria-busy', 'true');
  try {
    view = await fetchView();
    render(view);
  } catch (err) {
    $('state-text').textContent = `r-button could not load this site's state: ${err.message}`;
    $('state-text').dataset.state = 'error';
    $('content').replaceChildren(el('div', { class: 'actions' }, el('button', { type: 'button', id: 'reload', onclick: load }, 'Try again')));
  } finally {
    $('app').setAttribute('aria-busy', 'false');
  }
}

function render(v) {
  document.title = v.title;
  $('site').textContent = v.site || 'r-button';
  $('state-text').textContent = v.stateText;
  $('state-text').dataset.state = v.reason ?? v.state;
  $('state-icon').src = `../icons/${v.icon}-32.png`;
  // Main view: headline (above), a plain summary, why there is no agreement,
  // the actions; everything else one click away under "Details".
  const parts = [];
  if (v.host) parts.push(renderHostProblem(v.host));
  const sum = plainSummary(v);
  if (sum) {
    parts.push(el('p', { id: 'summary' }, sum.text));
  }
  if (v.compliance) parts.push(complianceSection(v.compliance));
  if (v.relationship?.conflicts.length) parts.push(renderConflicts(v));
  parts.push(renderActions(v));
  parts.push(el('div', { id: 'sitecheck' }));
  parts.push(el('section', { id: 'data', 'aria-live': 'polite' }));
  // What the helper kept of their data return and which of my details they
  // hold: sections of the main view, below the actions.
  parts.push(el('div', { id: 'mydata', 'aria-live': 'polite' }));
  const more = [];
  if (v.signals) more.push(renderSignals(v));
  if (v.relationship) more.push(...renderRelationship(v));
  if (v.history) more.push(renderHistory(v.history));
  if (more.length) {
    const details = el('details', { id: 'details' }, el('summary', {}, 'Details: terms, receipt, history, signals'), ...more);
    if (detailsOpen) details.open = true;
    details.addEventListener('toggle', () => { detailsOpen = details.open; });
    parts.push(details);
  }
  $('content').replaceChildren(...parts);
  renderSiteCheck();
  showMyData();
}

/** The data return kept for this site and my details with it (popup/mydata.js). */
function showMyData() {
  if (!view?.origin) return;
  renderMyData($('mydata'), view.origin, { agreed: view.relationship?.state === 'agreed', onStatus: status }).catch(() => {});
}

async function renderSiteCheck() {
  const slot = $('sitecheck');
  if (!slot || (tabId === null && !siteParam) || (view && !view.site)) return;
  if (!siteChecked) {
    slot.replaceChildren(el('p', { class: 'mark', id: 'honour-loading' }, 'Checking what this site says about your signals…'));
    siteChecking ??= ask(siteParam ? { type: MSG.SITE_CHECK, site: siteParam } : { type: MSG.SITE_CHECK, tabId })
      .catch((err) => ({ error: { message: err.message } }));
    siteChecked = await siteChecking;
  }
  const now = $('sitecheck');
  if (now) now.replaceChildren(...[honourSection(siteChecked), mytermsSection(siteChecked, view?.history, proffer)].filter(Boolean));
}

function renderHostProblem(h) {
  return el('section', { id: 'host-problem', class: 'problem', 'aria-labelledby': 'host-problem-h' },
    el('h2', { id: 'host-problem-h' }, h.heading),
    h.message ? el('p', {}, h.message) : null,
    el('p', {}, 'To fix it, run:'),
    ...h.commands.flatMap((c) => [el('p', { class: 'mark' }, `${c.where}:`), el('pre', {}, el('code', {}, c.command))]),
    el('button', { type: 'button', id: 'retry-host', onclick: retryHost }, 'Retry'));
}

function renderSignals(v) {
  const s = v.signals;
  const body = s.paused
    ? [el('p', { id: 'signals-none' }, 'Nothing: no DNT, Sec-GPC or Sec-DNT-D header and no navigator signal go to this site or from its pages.')]
    : [
      el('table', { id: 'signals-table' },
        el('caption', { class: 'mark' }, `Sent with every request to ${v.site}`),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Signal'), el('th', { scope: 'col' }, 'Value'))),
        el('tbody', {},
          ...s.headers.map((h) => el('tr', { 'data-header': h.name }, el('th', { scope: 'row' }, el('code', {}, `${h.name}:`)), el('td', {}, el('code', {}, h.value)))),
          ...s.navigator.map((n) => el('tr', { 'data-navigator': n.name }, el('th', { scope: 'row' }, el('code', {}, n.name)), el('td', {}, el('code', {}, n.value)))))),
    ];
  return el('section', { id: 'signals', class: 'signals', 'aria-labelledby': 'signals-h' }, el('h2', { id: 'signals-h' }, 'Signals sent to this site'), ...body);
}

function renderRelationship(v) {
  const r = v.relationship;
  const out = [];
  const who = [];
  if (r.controller) who.push(el('p', { id: 'controller' }, `Controller: ${r.controller.name} (${r.controller.contact})`));
  if (r.policy) who.push(el('p', {}, el('a', { href: r.policy, target: '_blank', rel: 'noopener noreferrer', id: 'policy-link' }, 'Privacy policy')));
  if (r.exception) who.push(el('p', { class: 'mark' }, 'Your own terms for this site are an exception you allowed.'));
  if (r.offerSummary) who.push(el('p', { class: 'mark' }, `Their offer: ${r.offerSummary}`));
  const rows = r.dimensions.map((d) => el('tr', { class: [d.differs ? 'differs' : '', d.conflict ? 'conflict' : ''].join(' ').trim(), 'data-dimension': d.key },
    el('th', { scope: 'row' }, d.label),
    el('td', { class: 'mine' }, d.mine),
    el('td', { class: 'theirs' }, d.theirs, d.conflict ? el('span', { class: 'mark' }, ' (beyond your terms)') : d.differs ? el('span', { class: 'mark' }, ' (differs)') : null),
    el('td', { class: 'agreed' }, d.agreed)));
  out.push(el('section', { id: 'relationship', 'aria-labelledby': 'relationship-h' },
    el('h2', { id: 'relationship-h' }, 'Relationship'),
    el('p', {}, `State: ${r.state}`, r.since ? ` · since ${when(r.since)}` : ''),
    ...who,
    el('table', { id: 'terms-table' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Dimension'), el('th', { scope: 'col' }, 'My terms'), el('th', { scope: 'col' }, 'Their offer'), el('th', { scope: 'col' }, 'What we agreed'))),
      el('tbody', {}, ...rows))));
  if (r.error && r.state === 'error') out.push(el('p', { class: 'bad', id: 'rel-error' }, `${r.error.message ?? r.error.code}`));
  if (r.receipt) {
    const rc = r.receipt;
    out.push(el('section', { id: 'receipt', 'aria-labelledby': 'receipt-h' },
      el('h2', { id: 'receipt-h' }, 'Receipt'),
      el('dl', {},
        el('dt', {}, 'Record'), el('dd', { class: 'digest', id: 'record-id' }, rc.id),
        el('dt', {}, 'Terms digest'), el('dd', { class: 'digest' }, rc.termsDigest ?? '—'),
        el('dt', {}, 'Offer'), el('dd', {}, rc.offer),
        el('dt', {}, 'Signatures'), el('dd', { id: 'signatures', class: rc.verified ? 'ok' : 'bad' }, rc.verified ? 'both signatures verified' : 'signatures NOT verified'),
        el('dt', {}, 'Date'), el('dd', {}, when(rc.date)))));
  }
  return out;
}

function renderConflicts(v) {
  const r = v.relationship;
  const widens = r.allow?.widens ?? [];
  return el('section', { id: 'conflicts', class: 'conflicts', 'aria-labelledby': 'conflicts-h' },
    el('h2', { id: 'conflicts-h' }, 'Why there is no agreement'),
    el('ul', {}, ...r.conflicts.map((c) => el('li', { 'data-dimension': c.dimension }, c.label ? el('strong', {}, `${c.label}: `) : null, c.text))),
    v.actions.allow && widens.length
      ? el('p', { id: 'allow-widens', class: 'mark' }, `"Allow" widens your terms for ${v.site} only: ${widens.join('; ')}. You can undo it here.`)
      : null,
    v.actions.allow ? el('button', { type: 'button', id: 'allow', class: 'primary', onclick: allow }, `Allow this for ${v.site}`) : null);
}

function renderHistory(h) {
  return el('section', { id: 'history', 'aria-labelledby': 'history-h' },
    el('h2', { id: 'history-h' }, 'History'),
    el('p', { id: 'chain', class: h.verified ? 'ok' : 'bad' }, h.verified ? 'Chain verified' : 'Chain NOT verified'),
    h.events.length
      ? el('ol', { class: 'history' }, ...h.events.map((e) => el('li', { 'data-type': e.type }, `${when(e.time)} — ${e.what}`,
        // Changes in words, one per line (the detail says the same in one line).
        e.changes.length ? el('ul', { class: 'changes' }, ...e.changes.map((c) => el('li', {}, c))) : e.detail ? `: ${e.detail}` : '')))
      : el('p', { class: 'mark' }, 'No events yet.'));
}

function renderActions(v) {
  const a = v.actions;
  return el('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' },
    a.data ? el('button', { type: 'button', id: 'data-fetch', onclick: fetchData }, 'What they hold about me') : null,
    a.renegotiate ? el('button', { type: 'button', id: 'renegotiate', onclick: renegotiate }, 'Renegotiate') : null,
    a.end ? el('button', { type: 'button', id: 'end', class: 'danger', onclick: endRel }, 'End relationship') : null,
    v.relationship?.exception ? el('button', { type: 'button', id: 'undo-allow', onclick: undoAllow }, `Use my own terms for ${v.site} again`) : null,
    a.pause ? el('button', { type: 'button', id: 'pause', onclick: () => pause(true) }, 'Pause signals on this site') : null,
    a.resume ? el('button', { type: 'button', id: 'resume', onclick: () => pause(false) }, 'Resume') : null,
    el('button', { type: 'button', id: 'open-options', onclick: () => api.runtime.openOptionsPage() }, 'Options'));
}

async function act(label, fn) {
  status(`${label}…`);
  for (const b of document.querySelectorAll('.actions button, #allow')) b.disabled = true;
  try {
    const msg = await fn();
    await load();
    status(msg ?? `${label}: done.`);
  } catch (err) {
    await load().catch(() => {});
    status(`${label} failed: ${err.message}`, 'bad');
  }
}

const pause = (on) => act(on ? 'Pausing signals' : 'Resuming signals', async () => {
  await ask({ type: on ? MSG.PAUSE : MSG.RESUME, origin: view.origin });
  return on ? `Signals paused on ${view.site}. Reload the page for it to take effect.` : `Signals resumed on ${view.site}.`;
});
const renegotiate = () => act('Renegotiating', () => ask({ type: MSG.RENEGOTIATE, origin: view.origin }).then(() => undefined));
const endRel = () => act('Ending the relationship', () => ask({ type: MSG.END, origin: view.origin }).then(() => `Relationship with ${view.site} ended.`));
const allow = () => act(`Allowing this for ${view.site}`, () => ask({ type: MSG.ALLOW, origin: view.origin, terms: view.relationship.allow.terms }).then(() => undefined));
const undoAllow = () => act(`Using your own terms for ${view.site} again`, async () => {
  await ask({ type: MSG.HOST, call: 'exception.clear', params: { site: view.origin } });
  await ask({ type: MSG.RENEGOTIATE, origin: view.origin }).catch(() => {});
  return `Your own terms apply to ${view.site} again.`;
});
const proffer = (code) => act(`Proffering ${code}`, () => ask({ type: MSG.PROFFER, origin: view.origin, agreement: code })
  .then(() => `You proffered ${code} to ${view.site}; it is recorded, signed by you, in the history.`));
const retryHost = () => act('Checking the helper', async () => {
  const r = await ask({ type: MSG.RETRY_HOST });
  return r.host.ok ? 'The helper is available.' : `Still unavailable: ${r.host.message ?? ''}`;
});

async function fetchData() {
  const out = $('data');
  out.replaceChildren(el('p', {}, 'Asking them…'));
  try {
    const { data } = await ask({ type: MSG.DATA, origin: view.origin });
    out.replaceChildren(
      el('h2', { id: 'data-h' }, 'What they hold about me'),
      data.controller ? el('p', { class: 'mark' }, `From ${data.controller.name}, ${when(data.generated)}`) : null,
      data.items.length
        ? el('ul', { id: 'data-items' }, ...data.items.map((it) => el('li', { class: 'data-item', 'data-type': it.type },
          el('strong', {}, it.type), ` · ${when(it.time)}`,
          it.fields.length ? el('dl', {}, ...it.fields.flatMap(([k, val]) => [el('dt', {}, k), el('dd', {}, val)])) : null)))
        : el('p', { id: 'data-empty' }, 'They hold nothing about you.'));
    out.querySelector('h2')?.focus?.();
  } catch (err) {
    out.replaceChildren(el('p', { class: 'bad' }, `Could not get the data: ${err.message}`));
  }
  // The host recorded the return (or its failure) in the history: show it
  // without re-rendering the answer just shown.
  try {
    view = await fetchView();
    if (view.history) $('history')?.replaceWith(renderHistory(view.history));
    showMyData();
  } catch {
    // The history stays as it was; reopening the popup shows it.
  }
}

// Tab state changes while the popup is open (a negotiation finishing): refresh.
api.storage.onChanged.addListener((changes, area) => {
  if (area === 'session' && changes.tabs && view) {
    const before = view.state;
    const after = changes.tabs.newValue?.[tabId]?.state;
    if (after && after !== before) load();
  }
});

load();
