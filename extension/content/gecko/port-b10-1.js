// Bit 10 of the port must be 1 (see pause-begin.js).
if (((globalThis.rbuttonPort >> 10) & 1) !== 1) globalThis.rbuttonPortMatch = false;
