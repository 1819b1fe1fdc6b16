// Firefox, DNT switched off (options): runs before signals.js in the same
// isolated world, so signals.js sets navigator.globalPrivacyControl only.
globalThis.rbuttonNoDNT = true;
