// Firefox: navigator.globalPrivacyControl = true and navigator.doNotTrack = "1"
// for pages, set from the isolated world through Xray waivers (so the getters
// are in place before any page script runs, and can be taken back). Skipped,
// or undone, when pause-end.js found this page's origin paused: Firefox match
// patterns cannot tell ports apart, so the port is checked there.
(() => {
  'use strict';
  const page = window.wrappedJSObject;
  if (!page || !page.Navigator || typeof exportFunction !== 'function') return;
  const proto = page.Navigator.prototype;
  const signals = [['globalPrivacyControl', true], ['doNotTrack', '1']];
  const originals = new Map(signals.map(([name]) => [name, Object.getOwnPropertyDescriptor(proto, name)]));
  globalThis.rbuttonUnsignal = () => {
    for (const [name, d] of originals) {
      try {
        if (d) Object.defineProperty(proto, name, d);
        else delete proto[name];
      } catch {
        // leave what is there
      }
    }
  };
  if (globalThis.rbuttonPaused === true) return;
  for (const [name, value] of signals) {
    try {
      Object.defineProperty(proto, name, {
        configurable: true,
        enumerable: true,
        get: exportFunction(() => value, page),
      });
    } catch {
      // A page that froze Navigator.prototype keeps its own value.
    }
  }
})();
