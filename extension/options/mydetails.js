// The options page's "My details": the details the helper keeps once for
// every site (profile.get/profile.set), and "update once, everywhere": saving
// pushes the change to every site that holds a changed detail
// (profile.push), showing how far it got and what will be retried; and what
// a site is given when I agree with it (profile.default).

import { MSG } from '../lib/constants.js';
import { DETAILS, detailsFromForm, formFromDetails, pushSummary } from '../lib/mydata.js';
import { ask, el, when } from '../lib/ui.js';

const $ = (id) => document.getElementById(id);
const host = (call, params) => ask({ type: MSG.HOST, call, params }).then((r) => r.result);
const label = (f) => DETAILS.find(([k]) => k === f)?.[1] ?? f;

function fill(details) {
  const v = formFromDetails(details);
  for (const k of Object.keys(v)) $(`detail-${k}`).value = v[k];
}

function showSites(profile) {
  const sites = (profile.sites ?? []).filter((s) => Object.keys(s.holds ?? {}).length);
  $('details-sites').replaceChildren(...sites.map((s) => el('li', { 'data-site': s.site },
    `${s.controller || s.site} (${s.site}) holds ${Object.entries(s.holds).map(([f, t]) => `${label(f).toLowerCase()} since ${when(t)}`).join(', ')}`,
    s.pending ? ` — update owed${s.pending.lastError ? ` (${s.pending.attempts} attempt(s): ${s.pending.lastError}; will be retried)` : ''}` : '',
    s.lastRefusal ? ` — last update refused: ${s.lastRefusal}` : '')));
}

/** The default when agreeing (profile.default), as the helper keeps and words it. */
function showOnAgree(profile) {
  for (const input of document.querySelectorAll('input[name="on-agree"]')) input.checked = input.value === profile.onAgree;
  $('on-agree-words').textContent = profile.onAgreeWords ?? '';
}

async function setOnAgree(ev) {
  const onAgree = ev.target.value;
  try {
    const profile = await host('profile.default', { onAgree });
    showOnAgree(profile);
    $('on-agree-words').textContent = `Saved. ${profile.onAgreeWords}`;
  } catch (err) {
    $('on-agree-words').textContent = `Could not save your choice: ${err.message}`;
  }
}

async function load() {
  try {
    const profile = await host('profile.get', {});
    fill(profile.details ?? {});
    showOnAgree(profile);
    $('details-form').dataset.loaded = 'true';
    showSites(profile);
    if (profile.pending) {
      $('details-progress').textContent = `${profile.pending} site(s) are owed an update; sending…`;
      await push();
    }
  } catch (err) {
    $('details-progress').textContent = `Could not read your details: ${err.message}`;
  }
}

async function push() {
  const res = await host('profile.push', {});
  $('details-progress').textContent = pushSummary(res);
  showSites(await host('profile.get', {}));
}

async function save(ev) {
  ev.preventDefault();
  $('details-errors').textContent = '';
  const form = Object.fromEntries(DETAILS.map(([k]) => [k, $(`detail-${k}`).value]));
  const details = detailsFromForm(form);
  $('save-details').disabled = true;
  try {
    const profile = await host('profile.set', { details });
    $('details-progress').textContent = profile.pending ? `Details saved; updating ${profile.pending} site(s)…` : 'Details saved; no site holds a changed detail.';
    showSites(profile);
    if (profile.pending) await push();
  } catch (err) {
    $('details-errors').textContent = err.message;
  } finally {
    $('save-details').disabled = false;
  }
}

$('details-form').addEventListener('submit', save);
for (const input of document.querySelectorAll('input[name="on-agree"]')) input.addEventListener('change', setOnAgree);
load();
