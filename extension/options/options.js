// Options: the user's terms (presets, one control per dimension with its
// meaning, saved through the host's terms.set), import/export as JSON
// (validated here first), relationships, site exceptions, paused sites, the
// private-window setting and the helper's status.

import { MSG } from '../lib/constants.js';
import { DIMENSIONS, FALLBACK_PRESETS, DEFAULT_PRESET, valueLabel } from '../lib/vocabulary.js';
import { formToTerms, termsToForm, parseUserTerms, matchingPreset, TermsError } from '../lib/terms.js';
import { hostProblem, stateWords } from '../lib/viewmodel.js';
import { strictnessSentence } from '../lib/myterms.js';
import { siteLabel } from '../lib/origin.js';
import { ask, el, when } from '../lib/ui.js';

const $ = (id) => document.getElementById(id);
let presets = FALLBACK_PRESETS;
let hostOk = false;

function status(text, bad = false) {
  $('status').textContent = text;
  $('status').className = bad ? 'bad' : '';
}

const hostCall = (call, params = {}) => ask({ type: MSG.HOST, call, params }).then((r) => r.result);

// ------------------------------------------------------------ terms form

function buildForm() {
  const dims = DIMENSIONS.map((d) => {
    const meaningId = `meaning-${d.key}`;
    if (d.kind === 'set') {
      return el('fieldset', { id: `dim-${d.key}`, 'aria-describedby': meaningId },
        el('legend', {}, `${d.label} (allowed)`),
        el('p', { class: 'meaning', id: meaningId }, d.meaning),
        ...d.values.map((v) => el('label', { class: 'choice', for: `f-${d.key}-${v.value}` },
          el('input', { type: 'checkbox', id: `f-${d.key}-${v.value}`, name: d.key, value: v.value }),
          ` ${v.label}`, el('span', { class: 'mark' }, `— ${v.meaning}`))));
    }
    const legend = d.group === 'obligations' ? `${d.label} (they must at least offer)` : `${d.label} (at most)`;
    return el('fieldset', { id: `dim-${d.key}` },
      el('legend', {}, legend),
      el('p', { class: 'meaning', id: meaningId }, d.meaning),
      el('label', { for: `f-${d.key}`, class: 'visually-hidden' }, d.label),
      el('select', { id: `f-${d.key}`, name: d.key, 'aria-describedby': meaningId },
        ...d.values.map((v) => el('option', { value: v.value }, `${v.label} — ${v.meaning}`))));
  });
  $('dimensions').replaceChildren(...dims);
  $('terms-form').addEventListener('change', (e) => {
    if (e.target.name !== 'preset') syncPresetRadio();
  });
}

function renderPresets() {
  $('preset-list').replaceChildren(...presets.map((p) => el('label', { class: 'choice', for: `preset-${p.name}` },
    el('input', { type: 'radio', name: 'preset', id: `preset-${p.name}`, value: p.name, onchange: () => fillForm(p.terms) }),
    ` ${p.title ?? p.name}`, p.description ? el('span', { class: 'mark' }, `— ${p.description}`) : null)),
  el('label', { class: 'choice', for: 'preset-custom' },
    el('input', { type: 'radio', name: 'preset', id: 'preset-custom', value: '' }), ' Custom',
    el('span', { class: 'mark' }, '— your own choices below')));
}

function ensureOption(select, value, key) {
  if (![...select.options].some((o) => o.value === value)) select.append(el('option', { value }, valueLabel(key, value)));
}

function fillForm(terms) {
  const form = termsToForm(terms);
  for (const d of DIMENSIONS) {
    if (d.kind === 'set') {
      for (const box of document.querySelectorAll(`input[name="${d.key}"]`)) box.checked = form[d.key].includes(box.value);
    } else {
      const sel = $(`f-${d.key}`);
      ensureOption(sel, form[d.key], d.key);
      sel.value = form[d.key];
    }
  }
  syncPresetRadio();
}

function readForm() {
  const form = {};
  for (const d of DIMENSIONS) {
    form[d.key] = d.kind === 'set'
      ? [...document.querySelectorAll(`input[name="${d.key}"]:checked`)].map((b) => b.value)
      : $(`f-${d.key}`).value;
  }
  const terms = formToTerms(form);
  // UserTerms.preset carries the preset's own code (IEEE 7012, e.g. "SD-BY-A").
  const name = matchingPreset(terms, presets);
  const code = presets.find((p) => p.name === name)?.terms?.preset;
  if (code) terms.preset = code;
  return terms;
}

function syncPresetRadio() {
  let name = '';
  try {
    const terms = readForm();
    name = matchingPreset(terms, presets);
    $('myterms-strictness').textContent = strictnessSentence(terms);
  } catch {
    // incomplete form: custom
    $('myterms-strictness').textContent = '';
  }
  const radio = $(name ? `preset-${name}` : 'preset-custom');
  if (radio) radio.checked = true;
}

async function saveTerms(e) {
  e.preventDefault();
  $('terms-errors').textContent = '';
  let terms;
  try {
    terms = readForm();
  } catch (err) {
    $('terms-errors').textContent = err instanceof TermsError ? err.problems.map((p) => `${p.path}: ${p.message}`).join('; ') : err.message;
    return;
  }
  try {
    const res = await hostCall('terms.set', { terms });
    const withdrawn = (res?.withdrawn ?? []).map((w) => siteLabel(w.site));
    status(withdrawn.length
      ? `Terms saved. Consent withdrawn from ${withdrawn.join(', ')}: those agreements no longer fit your terms. Sites are renegotiated on your next visit.`
      : 'Terms saved. Sites are renegotiated on your next visit.');
  } catch (err) {
    status(`Could not save your terms: ${err.message}`, true);
    return;
  }
  await loadRelationships();
}

function exportTerms() {
  let terms;
  try {
    terms = readForm();
  } catch (err) {
    status(`Nothing to export: ${err.message}`, true);
    return;
  }
  const blob = new Blob([`${JSON.stringify(terms, null, 2)}\n`], { type: 'application/json' });
  const a = el('a', { href: URL.createObjectURL(blob), download: 'r-button-terms.json' });
  document.body.append(a);
  a.click();
  a.remove();
  status('Terms exported as r-button-terms.json.');
}

async function importTerms() {
  const file = $('import-file').files[0];
  if (!file) return;
  $('terms-errors').textContent = '';
  try {
    const terms = parseUserTerms(await file.text());
    fillForm(terms);
    status(`Imported ${file.name}. Check the choices below, then Save terms.`);
  } catch (err) {
    $('terms-errors').textContent = `Not imported: ${err.message}`;
  } finally {
    $('import-file').value = '';
  }
}

// ------------------------------------------------------------ lists

function renderHost(h) {
  const problem = hostProblem(h);
  hostOk = !problem;
  if (!problem) {
    $('host-status').replaceChildren(el('p', { class: 'ok', id: 'host-ok' }, `The r-button helper is available${h.version ? ` (version ${h.version})` : ''}.`));
    return;
  }
  $('host-status').replaceChildren(el('div', { class: 'problem', id: 'host-problem' },
    el('p', { class: 'bad' }, problem.heading), problem.message ? el('p', {}, problem.message) : null,
    el('p', {}, 'To fix it, run:'),
    ...problem.commands.flatMap((c) => [el('p', { class: 'mark' }, `${c.where}:`), el('pre', {}, el('code', {}, c.command))]),
    el('button', { type: 'button', id: 'retry-host', onclick: retryHost }, 'Retry')));
}

async function retryHost() {
  status('Checking the helper…');
  const r = await ask({ type: MSG.RETRY_HOST });
  renderHost(r.host);
  if (r.host.ok) await loadFromHost();
  status(r.host.ok ? 'The helper is available.' : 'The helper is still unavailable.', !r.host.ok);
}

function renderRelationships(list) {
  if (!list.length) {
    $('relationships').replaceChildren(el('p', { class: 'mark' }, 'None yet. Visit a site that offers DNT-D dialog.'));
    return;
  }
  $('relationships').replaceChildren(el('table', { id: 'relationships-table' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Site'), el('th', { scope: 'col' }, 'State'), el('th', { scope: 'col' }, 'Since'))),
    el('tbody', {}, ...list.map((r) => el('tr', { 'data-site': r.site },
      el('th', { scope: 'row' }, el('a', { href: `../popup/popup.html?site=${encodeURIComponent(r.site)}` }, siteLabel(r.site))),
      el('td', {}, stateWords(r)), el('td', {}, when(r.since)))))));
}

function renderExceptions(list) {
  const ex = list.filter((r) => r.exception === true);
  if (!ex.length) {
    $('exceptions').replaceChildren(el('p', { class: 'mark' }, 'No exceptions.'));
    return;
  }
  $('exceptions').replaceChildren(el('ul', {}, ...ex.map((r) => el('li', { 'data-site': r.site }, siteLabel(r.site), ' ',
    el('button', { type: 'button', 'aria-label': `Remove the exception for ${siteLabel(r.site)}`, onclick: () => clearException(r.site) }, 'Remove')))));
}

async function clearException(site) {
  try {
    await hostCall('exception.clear', { site });
    status(`Exception for ${siteLabel(site)} removed. Your own terms apply from the next visit.`);
    await loadFromHost();
  } catch (err) {
    status(`Could not remove the exception: ${err.message}`, true);
  }
}

function renderPaused(paused) {
  if (!paused.length) {
    $('paused').replaceChildren(el('p', { class: 'mark' }, 'No paused sites.'));
    return;
  }
  $('paused').replaceChildren(el('ul', {}, ...paused.map((o) => el('li', { 'data-site': o }, siteLabel(o), ' ',
    el('button', { type: 'button', 'aria-label': `Resume signals on ${siteLabel(o)}`, onclick: () => resume(o) }, 'Resume')))));
}

async function resume(origin) {
  await ask({ type: MSG.RESUME, origin });
  status(`Signals resumed on ${siteLabel(origin)}.`);
  await loadLocal();
}

async function loadLocal() {
  const r = await ask({ type: MSG.OPTIONS_GET });
  renderPaused(r.paused);
  $('negotiate-private').checked = r.settings.negotiateInPrivate === true;
  $('send-dnt').checked = r.settings.sendDNT !== false;
  // Enabled only now: a change made before the settings arrived would be
  // overwritten by them, showing one state while the worker has the other.
  $('negotiate-private').disabled = false;
  $('send-dnt').disabled = false;
  renderHost(r.host);
  return r;
}

async function loadFromHost() {
  try {
    const t = await hostCall('terms.get');
    if (Array.isArray(t?.presets) && t.presets.length) presets = t.presets;
    renderPresets();
    fillForm(t?.defaults ?? presets.find((p) => p.name === DEFAULT_PRESET).terms);
  } catch (err) {
    renderPresets();
    fillForm(presets.find((p) => p.name === DEFAULT_PRESET).terms);
    // A damaged database shows once, in the helper's status, with what to run.
    if (err.kind === 'store') renderHost({ ok: false, kind: err.kind, code: err.code, message: err.message });
    if (hostOk) status(`Could not read your terms from the helper: ${err.message}`, true);
  }
  await loadRelationships();
}

async function loadRelationships() {
  try {
    const list = (await hostCall('relationship.list')) ?? [];
    renderRelationships(list);
    renderExceptions(list);
  } catch (err) {
    if (err.kind === 'store') renderHost({ ok: false, kind: err.kind, code: err.code, message: err.message });
    const msg = el('p', { class: 'mark' }, hostOk ? `Unavailable: ${err.message}` : 'Unavailable until the helper problem above is fixed.');
    $('relationships').replaceChildren(msg);
    $('exceptions').replaceChildren(msg.cloneNode(true));
  }
}

async function main() {
  buildForm();
  renderPresets();
  $('terms-form').addEventListener('submit', saveTerms);
  $('export-terms').addEventListener('click', exportTerms);
  $('import-file').addEventListener('change', importTerms);
  // Each handler reports the value it saved, read before the await.
  $('send-dnt').addEventListener('change', async (e) => {
    const on = e.target.checked;
    await ask({ type: MSG.SETTINGS_SET, settings: { negotiateInPrivate: $('negotiate-private').checked, sendDNT: on } });
    status(on ? 'DNT is sent again, as a header and navigator.doNotTrack.' : 'DNT is no longer sent. GPC and DNT-D still are. Reload open pages for it to take effect.');
  });
  $('negotiate-private').addEventListener('change', async (e) => {
    const on = e.target.checked;
    await ask({ type: MSG.SETTINGS_SET, settings: { negotiateInPrivate: on, sendDNT: $('send-dnt').checked } });
    status(on ? 'r-button will negotiate in private windows.' : 'r-button will not negotiate in private windows.');
  });
  try {
    await loadLocal();
  } catch (err) {
    status(`r-button is not responding: ${err.message}`, true);
  }
  await loadFromHost();
}

main();
