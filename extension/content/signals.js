// navigator.globalPrivacyControl = true and navigator.doNotTrack = "1" for
// pages, matching the DNT and Sec-GPC request headers. Runs in the page's MAIN
// world at document_start (registered by background.js, never on paused
// sites). Getters on Navigator.prototype, like a browser's own, so
// `'globalPrivacyControl' in navigator` and property descriptors look native.
(() => {
  'use strict';
  if (typeof Navigator === 'undefined') return;
  const define = (name, value) => {
    const existing = Object.getOwnPropertyDescriptor(Navigator.prototype, name);
    // Already the value we want (browser setting or another extension): leave it.
    if (existing && existing.get && (() => { try { return navigator[name] === value; } catch { return false; } })()) return;
    if (existing && !existing.configurable) return;
    try {
      Object.defineProperty(Navigator.prototype, name, {
        configurable: true,
        enumerable: true,
        get: { [name]() { return value; } }[name],
      });
    } catch {
      // A page that froze Navigator.prototype keeps its own value.
    }
  };
  define('globalPrivacyControl', true);
  define('doNotTrack', '1');
})();
