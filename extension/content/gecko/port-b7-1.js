// Bit 7 of the port must be 1 (see pause-begin.js).
if (((globalThis.rbuttonPort >> 7) & 1) !== 1) globalThis.rbuttonPortMatch = false;
