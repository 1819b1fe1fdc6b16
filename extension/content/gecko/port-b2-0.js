// Bit 2 of the port must be 0 (see pause-begin.js).
if (((globalThis.rbuttonPort >> 2) & 1) !== 0) globalThis.rbuttonPortMatch = false;
