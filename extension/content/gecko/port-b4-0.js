// Bit 4 of the port must be 0 (see pause-begin.js).
if (((globalThis.rbuttonPort >> 4) & 1) !== 0) globalThis.rbuttonPortMatch = false;
