// Firefox, paused site: this page's port matched every bit: no navigator signals.
if (globalThis.rbuttonPortMatch === true) {
  globalThis.rbuttonPaused = true;
  if (typeof globalThis.rbuttonUnsignal === 'function') globalThis.rbuttonUnsignal();
}
