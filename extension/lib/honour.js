// "Does this site honour my signals?": what a site says about Global Privacy
// Control (its /.well-known/gpc.json, fetched by the host's site.check) and
// what its own consent state records, read from the page the way OptMeowt
// reads it: the US Privacy string (__uspapi, the usprivacy cookie), the IAB
// GPP string's US sections (__gpp) and OneTrust's OptanonConsent cookie
// (isGpcEnabled). Turned into words that never claim more than was seen:
// gpc.json says the site supports GPC in general, a privacy string says what
// the site's own consent tool recorded for this visitor, nothing here proves
// that any request was honoured.
// Pure: probePage is injected into the page (MAIN world) by the controller;
// everything else is plain data in, words out.

/**
 * Runs in the page's MAIN world (scripting.executeScript, func): so it must
 * be self-contained, no imports, no closures. Reads the consent strings and
 * the page's MyTerms link; at most `waitMs` for the callback APIs.
 * @returns {Promise<{usp:{source:string,value:string}|null, gpp:object|null, onetrust:string|null, mytermsHref:string|null, dialogAgreements:string[]}>}
 */
export function probePage(waitMs = 500) {
  const cookie = (name) => {
    for (const part of String(document.cookie || '').split(';')) {
      const i = part.indexOf('=');
      if (i > 0 && part.slice(0, i).trim() === name) {
        try { return decodeURIComponent(part.slice(i + 1).trim()); } catch { return part.slice(i + 1).trim(); }
      }
    }
    return null;
  };
  const withTimeout = (start) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), waitMs);
    try {
      start((v) => { clearTimeout(timer); resolve(v); });
    } catch {
      clearTimeout(timer);
      resolve(null);
    }
  });
  const str = (v, max = 4096) => (typeof v === 'string' ? v.slice(0, max) : null);
  // Only plain numbers and strings leave the page: the GPP sections' opt-out fields.
  const OPT_OUTS = ['SaleOptOut', 'SharingOptOut', 'TargetedAdvertisingOptOut'];
  const sections = (parsed) => {
    const out = {};
    if (!parsed || typeof parsed !== 'object') return out;
    for (const [name, value] of Object.entries(parsed).slice(0, 40)) {
      if (!/^us/.test(name) || name === 'uspv1') continue;
      const parts = Array.isArray(value) ? value : [value];
      const fields = {};
      for (const p of parts) {
        if (!p || typeof p !== 'object') continue;
        for (const f of OPT_OUTS) if (typeof p[f] === 'number') fields[f] = p[f];
      }
      out[name.slice(0, 16)] = fields;
    }
    return out;
  };
  const usp = typeof window.__uspapi === 'function'
    ? withTimeout((done) => window.__uspapi('getUSPData', 1, (data, ok) => done(ok !== false && data ? str(data.uspString, 16) : null)))
    : Promise.resolve(null);
  const gpp = typeof window.__gpp === 'function'
    ? withTimeout((done) => {
      const r = window.__gpp('ping', (data, ok) => done(ok !== false ? data : null));
      // GPP 1.0 answered ping synchronously (a returned object) as well.
      if (r && typeof r === 'object') done(r);
    }).then((ping) => {
      if (!ping || typeof ping !== 'object') return null;
      let parsed = ping.parsedSections;
      if (!parsed && typeof window.__gpp === 'function') {
        try {
          const d = window.__gpp('getGPPData');
          parsed = d && d.parsedSections;
        } catch { /* not GPP 1.0 */ }
      }
      return { version: str(ping.gppVersion, 16), string: str(ping.gppString, 2048), sections: sections(parsed) };
    })
    : Promise.resolve(null);
  return Promise.all([usp, gpp]).then(([uspApi, gppData]) => {
    const uspCookie = str(cookie('usprivacy'), 16);
    const ot = cookie('OptanonConsent');
    let onetrust = null;
    if (ot !== null) {
      const m = /(?:^|&)isGpcEnabled=([^&]*)/.exec(ot);
      onetrust = m ? m[1].slice(0, 8) : '';
    }
    const link = document.querySelector('link[rel~="terms-of-service" i][type="application/json" i][href]');
    const dialog = [...document.querySelectorAll('[data-myterms-agreement]')].slice(0, 20)
      .flatMap((e) => String(e.getAttribute('data-myterms-agreement')).split(/\s+/)).filter(Boolean).slice(0, 64);
    return {
      usp: uspApi ? { source: '__uspapi', value: uspApi } : uspCookie ? { source: 'usprivacy cookie', value: uspCookie } : null,
      gpp: gppData,
      onetrust,
      mytermsHref: link ? link.href : null,
      dialogAgreements: [...new Set(dialog.map((s) => s.slice(0, 64)))],
    };
  });
}

/** The same-origin path a page's MyTerms link names, or null (another origin, not http(s)). */
export function mytermsPath(href, origin) {
  if (typeof href !== 'string') return null;
  let u;
  try {
    u = new URL(href);
  } catch {
    return null;
  }
  if (u.origin !== origin || u.username || u.password) return null;
  const path = u.pathname + u.search;
  return path.length <= 200 ? path : null;
}

const GPP_WORDS = { SaleOptOut: 'sale', SharingOptOut: 'sharing', TargetedAdvertisingOptOut: 'targeted advertising' };
const list = (xs) => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

/** A US Privacy string's opt-out of sale: 'yes', 'no', 'n/a', or null when it is not one. */
export function uspOptOut(s) {
  if (typeof s !== 'string' || !/^1[YN-][YN-][YN-]$/i.test(s)) return null;
  return { Y: 'yes', N: 'no', '-': 'n/a' }[s[2].toUpperCase()];
}

/**
 * Words for what the site says and what the page records.
 * @param {object} a
 * @param {object|null} a.check  the host's site.check result, or null
 * @param {object|null} a.page   probePage's result, or null (not readable)
 * @param {boolean} [a.paused]   signals are paused on this site
 * @param {boolean} [a.browserGPC] the browser itself sends GPC (its own setting, as Firefox's or Brave's)
 * @returns {{headline:string, lines:{key:string,text:string,tone:'ok'|'bad'|'none'}[]}}
 */
export function honourView({ check, page, paused = false, browserGPC = false }) {
  const lines = [];
  if (browserGPC) {
    lines.push({ key: 'browser-gpc', text: 'Your browser sends Global Privacy Control itself; r-button leaves its signal as it is and adds no second one.', tone: 'none' });
  }
  if (paused) {
    return { headline: 'Signals are paused here: nothing was sent for this site to honour', lines: [{ key: 'paused', text: 'You paused signals on this site, so it gets no GPC or DNT signal.', tone: 'none' }] };
  }
  let says = 'not checked';
  const g = check?.gpc;
  if (!check) {
    lines.push({ key: 'gpc', text: 'Its GPC statement was not checked.', tone: 'none' });
  } else if (g.state === 'found' && check.gpcStatement) {
    const when = check.gpcStatement.lastUpdate ? ` (updated ${check.gpcStatement.lastUpdate})` : '';
    if (check.gpcStatement.gpc) {
      says = 'says it honours GPC';
      lines.push({ key: 'gpc', text: `It says it honours Global Privacy Control${when}: its /.well-known/gpc.json says "gpc": true. That is a general statement, not proof for any one request.`, tone: 'ok' });
    } else {
      says = 'says it does not honour GPC';
      lines.push({ key: 'gpc', text: `It says it does not honour Global Privacy Control${when}: its /.well-known/gpc.json says "gpc": false.`, tone: 'bad' });
    }
  } else if (g.state === 'absent') {
    says = 'no statement';
    lines.push({ key: 'gpc', text: 'No statement about Global Privacy Control: it has no /.well-known/gpc.json.', tone: 'none' });
  } else if (g.state === 'invalid') {
    says = 'no readable statement';
    lines.push({ key: 'gpc', text: `Its /.well-known/gpc.json could not be read (${g.detail ?? 'invalid'}), so it makes no statement r-button can use.`, tone: 'none' });
  } else {
    says = 'could not be asked';
    lines.push({ key: 'gpc', text: `Could not ask it about Global Privacy Control (${g.detail ?? 'no answer'}).`, tone: 'none' });
  }

  let recorded = 0;
  let contrary = 0;
  if (page?.usp) {
    const o = uspOptOut(page.usp.value);
    const src = `its US Privacy string (${page.usp.value}, from ${page.usp.source})`;
    if (o === 'yes') { recorded++; lines.push({ key: 'usp', text: `${cap(src)} records your opt-out of sale.`, tone: 'ok' }); }
    else if (o === 'no') { contrary++; lines.push({ key: 'usp', text: `${cap(src)} says you have not opted out of sale.`, tone: 'bad' }); }
    else if (o === 'n/a') lines.push({ key: 'usp', text: `${cap(src)} says the opt-out does not apply to you.`, tone: 'none' });
    else lines.push({ key: 'usp', text: `${cap(src)} is not a US Privacy string r-button can read.`, tone: 'none' });
  }
  if (page?.gpp) {
    const names = Object.keys(page.gpp.sections ?? {});
    if (!names.length) lines.push({ key: 'gpp', text: 'Its GPP string has no US section to check.', tone: 'none' });
    for (const name of names) {
      const f = page.gpp.sections[name];
      const yes = Object.keys(GPP_WORDS).filter((k) => f[k] === 1).map((k) => GPP_WORDS[k]);
      const no = Object.keys(GPP_WORDS).filter((k) => f[k] === 2).map((k) => GPP_WORDS[k]);
      const parts = [];
      if (yes.length) parts.push(`records your opt-out of ${list(yes)}`);
      if (no.length) parts.push(`says you have not opted out of ${list(no)}`);
      if (!parts.length) parts.push('has no opt-out that applies');
      recorded += yes.length ? 1 : 0;
      contrary += no.length ? 1 : 0;
      lines.push({ key: `gpp-${name}`, text: `Its GPP string (section ${name}) ${parts.join(', but ')}.`, tone: no.length ? 'bad' : yes.length ? 'ok' : 'none' });
    }
  }
  if (page && page.onetrust !== null && page.onetrust !== undefined) {
    if (page.onetrust === '1') { recorded++; lines.push({ key: 'onetrust', text: 'Its OneTrust consent banner registered your GPC signal (isGpcEnabled=1).', tone: 'ok' }); }
    else if (page.onetrust === '0') { contrary++; lines.push({ key: 'onetrust', text: 'Its OneTrust consent banner did not register your GPC signal (isGpcEnabled=0).', tone: 'bad' }); }
    else lines.push({ key: 'onetrust', text: 'It uses OneTrust, whose consent cookie says nothing about GPC.', tone: 'none' });
  }
  if (!page) lines.push({ key: 'page', text: "The page's own privacy strings could not be read.", tone: 'none' });
  else if (!page.usp && !page.gpp && (page.onetrust === null || page.onetrust === undefined)) {
    lines.push({ key: 'page', text: 'The page has no US Privacy, GPP or OneTrust string saying whether your opt-out was recorded.', tone: 'none' });
  }
  const parts = [says];
  if (contrary) parts.push('its privacy string says you have not opted out');
  else if (recorded) parts.push('its privacy string records your opt-out');
  return { headline: cap(parts.join('; ')), lines };
}

function cap(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
