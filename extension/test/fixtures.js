// Shared test data: user terms, a terms document with offers like the demo
// vendors' (shop acceptable, news needing personalised ads), relationships.
export const D = (n) => Buffer.alloc(32, n).toString('base64');

export const ANALYTICS = {
  v: 1,
  preset: 'analytics',
  terms: { tracking: 'first-party', purposes: ['service', 'analytics'], sharing: 'processors', retention: 'P90D', identity: 'pseudonymous', contact: 'transactional' },
  obligations: { access: 'on-request', deletion: 'on-request', dataReturn: 'on-request' },
};

export const SHOP_OFFER = {
  id: 'basic', summary: 'Orders and analytics only.',
  terms: { tracking: 'first-party', purposes: ['service', 'analytics'], sharing: 'processors', retention: 'P30D', identity: 'pseudonymous', contact: 'transactional' },
  obligations: { access: 'on-request', deletion: 'on-request', dataReturn: 'on-request' },
};

export const NEWS_OFFER = {
  id: 'ads', summary: 'Free articles, paid by personalised ads.',
  terms: { tracking: 'first-party', purposes: ['service', 'analytics', 'personalised-ads'], sharing: 'processors', retention: 'P90D', identity: 'pseudonymous', contact: 'transactional' },
  obligations: { access: 'on-request', deletion: 'on-request', dataReturn: 'on-request' },
};

export const NEWS_WORSE = {
  id: 'everything',
  terms: { tracking: 'cross-site', purposes: ['service', 'sale'], sharing: 'public', retention: 'indefinite', identity: 'identified', contact: 'marketing' },
  obligations: { access: 'none', deletion: 'none', dataReturn: 'none' },
};

export function doc(offers) {
  return {
    v: 1,
    controller: { name: 'Demo Ltd', contact: 'privacy@demo.example' },
    policy: 'http://127.0.0.1:8441/privacy',
    publicKey: D(9),
    lastUpdate: '2026-01-01T00:00:00Z',
    endpoints: { agreement: '/dnt-d/agree', dataReturn: '/dnt-d/data', end: '/dnt-d/end' },
    offers,
  };
}

export const SHOP_REL = {
  site: 'http://127.0.0.1:8441', state: 'agreed', since: '2026-11-24T10:00:00Z', updated: '2026-11-24T10:00:00Z',
  termsDigest: D(1), agreedDigest: D(2), siteTerms: doc([SHOP_OFFER]), myTerms: ANALYTICS, exception: false,
  record: {
    id: D(3),
    agreement: { v: 1, site: 'http://127.0.0.1:8441', termsDigest: D(1), offer: 'basic', terms: SHOP_OFFER.terms, obligations: SHOP_OFFER.obligations, userKey: D(4), siteKey: D(9), nonce: 'AAAAAAAAAAAAAAAAAAAAAA==', created: '2026-11-24T10:00:00Z' },
    userSignature: 'sig', siteSignature: 'sig',
  },
  verified: true, offer: SHOP_OFFER, conflicts: [], error: null,
};

export const NEWS_REL = {
  site: 'http://127.0.0.1:8442', state: 'conflict', since: '2026-11-24T10:00:00Z', updated: '2026-11-24T10:00:00Z',
  termsDigest: D(5), agreedDigest: '', siteTerms: doc([NEWS_WORSE, NEWS_OFFER]), myTerms: ANALYTICS, exception: false,
  record: null, verified: false, offer: null,
  conflicts: [
    { offer: 'everything', dimension: 'tracking', needs: 'cross-site', allows: 'first-party' },
    { offer: 'ads', dimension: 'purposes', needs: 'personalised-ads', allows: 'service, analytics' },
  ],
  error: null,
};
