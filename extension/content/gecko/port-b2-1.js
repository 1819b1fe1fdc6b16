// Bit 2 of the port must be 1 (see pause-begin.js).
if (((globalThis.rbuttonPort >> 2) & 1) !== 1) globalThis.rbuttonPortMatch = false;
