// Package site lets a Go web site speak DNT-D version 1 (PROTOCOL.md): it
// publishes the site's terms, answers visitors' agents when they propose an
// agreement, keeps the site's side of each relationship (records signed by
// both parties, a hash-chained history, data items), returns a visitor's
// data on request and ends relationships from either side.
//
// # How to add DNT-D to an existing Go site
//
//  1. Generate an Ed25519 key once and keep it with your other secrets.
//  2. Describe your controller, policy URL and offers in a Config and call
//     New. New validates the terms document exactly as an agent will and
//     fails with a *ConfigError naming the bad field, so a broken
//     configuration never reaches visitors.
//  3. Mount the protocol endpoints next to your routes with Vendor.Mount
//     (or serve Vendor.Handler), and wrap your site in Vendor.Middleware.
//     Pages now carry DNT-D, Tk and Vary headers.
//  4. Where your code tracks, measures or shares, ask first:
//     Permits(r, policy.PurposeAnalytics), MayTrack(r, policy.TrackingFirstParty),
//     MayShare(r, policy.SharingProcessors). Without an agreement they
//     answer the most private thing.
//  5. Record what you keep about a visitor with Vendor.Record, so that
//     data-return requests can give it back; end relationships you no
//     longer want with Vendor.End.
//
// The POST endpoints are rate-limited per client address (DefaultRateLimit;
// Config.RateLimit changes it, and behind a reverse proxy its ClientAddress
// must name the forwarded address); an IPv6 client counts by its /64. A
// client over its limit gets 429 rate_limited with Retry-After, which agents
// honour.
//
// What a stranger can make a Vendor do is bounded: a POST body over
// policy.MaxRequest is refused unread, and parsing stops at the first value
// that does not fit the message, so no unauthenticated body costs more than
// a well-formed proposal with a bad signature (BenchmarkPostBeforeAuth). A
// stranger's refused proposal leaves only its nonce, which expires with the
// freshness window; Config.MaxUserTerms bounds the user terms kept. Session
// cookies carry a MAC keyed from the vendor's key: only sessions the vendor
// issued are recorded under or linked to a relationship.
//
// The Store interface holds the site's side; NewMemoryStore is for examples
// and tests, the boltstore package keeps everything in one bbolt file, the
// pgstore package in PostgreSQL shared by any number of vendor processes,
// and a site can implement Store over its own database. The vendor takes
// no lock of its own: each decision is one Store.Exchange, atomic and
// serialised per relationship by the store, so visitors are answered in
// parallel as far as the store allows.
package site
