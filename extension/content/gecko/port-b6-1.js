// Bit 6 of the port must be 1 (see pause-begin.js).
if (((globalThis.rbuttonPort >> 6) & 1) !== 1) globalThis.rbuttonPortMatch = false;
