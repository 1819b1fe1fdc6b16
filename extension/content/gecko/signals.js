// Firefox: navigator.globalPrivacyControl = true and navigator.doNotTrack = "1"
// for pages, set from the isolated world through Xray waivers (so the getters
// are in place before any page script runs, and can be taken back). Skipped,
// or undone, when pause-end.js found this page's origin paused: Firefox match
// patterns cannot tell ports apart, so the port is checked there. As in
// content/signals.js, the getters look native: name, length and what the
// page's Function.prototype.toString prints.
(() => {
  'use strict';
  const page = window.wrappedJSObject;
  if (!page || !page.Navigator || !page.Function || typeof exportFunction !== 'function') return;
  const proto = page.Navigator.prototype;
  const fnProto = page.Function.prototype;
  const signals = globalThis.rbuttonNoDNT === true ? [['globalPrivacyControl', true]] : [['globalPrivacyControl', true], ['doNotTrack', '1']];
  const originals = new Map(signals.map(([name]) => [name, Object.getOwnPropertyDescriptor(proto, name)]));
  const originalToString = Object.getOwnPropertyDescriptor(fnProto, 'toString');
  globalThis.rbuttonUnsignal = () => {
    for (const [name, d] of originals) {
      try {
        if (d) Object.defineProperty(proto, name, d);
        else delete proto[name];
      } catch {
        // leave what is there
      }
    }
    try {
      if (originalToString) Object.defineProperty(fnProto, 'toString', originalToString);
    } catch {
      // leave what is there
    }
  };
  if (globalThis.rbuttonPaused === true) return;

  const nativeToString = originalToString?.value;
  let nativeGetter = null;
  try {
    const g = Object.getOwnPropertyDescriptor(proto, 'userAgent')?.get;
    if (g && nativeToString) {
      const text = nativeToString.call(g);
      nativeGetter = (name) => text.replace('userAgent', name);
    }
  } catch {
    // no template: toString stays as it is
  }
  // Page functions are compared through their waived wrappers, which are one per function.
  const key = (f) => XPCNativeWrapper.unwrap(f);
  const shown = new Map(); // our function (waived) -> what toString says about it
  const nameIt = (f, name) => {
    try {
      // Through the waiver: on the Xray it would be an expando only we see.
      Object.defineProperty(XPCNativeWrapper.unwrap(f), 'name', { value: name, configurable: true });
    } catch {
      // keep the name it has
    }
  };

  for (const [name, value] of signals) {
    // The browser's own signal (Firefox's GPC setting) already says it: leave the browser's getter.
    try {
      if (originals.get(name)?.get && page.navigator[name] === value) continue;
    } catch {
      // unreadable: define ours
    }
    try {
      // The forwarder exportFunction makes takes its name from the function given.
      const get = exportFunction(Object.getOwnPropertyDescriptor({ get [name]() { return value; } }, name).get, page);
      if (get.name !== `get ${name}`) nameIt(get, `get ${name}`);
      Object.defineProperty(proto, name, { configurable: true, enumerable: true, get });
      if (nativeGetter) shown.set(key(get), nativeGetter(name));
    } catch {
      // A page that froze Navigator.prototype keeps its own value.
    }
  }

  if (!nativeGetter || !originalToString?.writable || !originalToString.configurable) return;
  const toString = exportFunction(function toString() {
    const text = shown.get(key(this));
    if (text !== undefined) return text;
    try {
      return nativeToString.call(this);
    } catch (err) {
      // The page's own TypeError, as the native method throws it.
      throw new page.TypeError(err?.message ?? 'Function.prototype.toString requires that \'this\' be a Function');
    }
  }, page);
  if (toString.name !== 'toString') nameIt(toString, 'toString');
  shown.set(key(toString), nativeToString.call(nativeToString));
  try {
    Object.defineProperty(fnProto, 'toString', { ...originalToString, value: toString });
  } catch {
    // a frozen Function.prototype: nothing to do
  }
})();
