// content/signals.js with DNT switched off (options): navigator.globalPrivacyControl
// = true only, matching the Sec-GPC request header; no navigator.doNotTrack.
// Otherwise the same file (extension/test/rules.test.js compares them).
(() => {
  'use strict';
  if (typeof Navigator === 'undefined') return;
  const proto = Navigator.prototype;
  const nativeToString = Function.prototype.toString;
  // What this browser prints for a native getter, e.g. "function get userAgent() { [native code] }".
  let nativeGetter = null;
  try {
    const g = Object.getOwnPropertyDescriptor(proto, 'userAgent')?.get;
    if (g) nativeGetter = (name) => nativeToString.call(g).replace('userAgent', name);
  } catch {
    // no template: toString stays as it is
  }
  const shown = new WeakMap(); // our function -> what toString says about it

  const define = (name, value) => {
    const existing = Object.getOwnPropertyDescriptor(proto, name);
    // Already the value we want (browser setting or another extension): leave it.
    if (existing && existing.get && (() => { try { return navigator[name] === value; } catch { return false; } })()) return;
    if (existing && !existing.configurable) return;
    // An accessor written as one, so its name is "get <name>" and its length 0, as a native one's.
    const get = Object.getOwnPropertyDescriptor({ get [name]() { return value; } }, name).get;
    try {
      Object.defineProperty(proto, name, { configurable: true, enumerable: true, get });
      if (nativeGetter) shown.set(get, nativeGetter(name));
    } catch {
      // A page that froze Navigator.prototype keeps its own value.
    }
  };
  define('globalPrivacyControl', true);

  if (!nativeGetter) return;
  const desc = Object.getOwnPropertyDescriptor(Function.prototype, 'toString');
  if (!desc || !desc.writable || !desc.configurable) return;
  const toString = new Proxy(nativeToString, {
    apply: (target, self, args) => (shown.has(self) ? shown.get(self) : Reflect.apply(target, self, args)),
  });
  shown.set(toString, nativeToString.call(nativeToString));
  try {
    Object.defineProperty(Function.prototype, 'toString', { ...desc, value: toString });
  } catch {
    // a frozen Function.prototype: nothing to do
  }
})();
