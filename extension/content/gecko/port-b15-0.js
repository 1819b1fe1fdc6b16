// Bit 15 of the port must be 0 (see pause-begin.js).
if (((globalThis.rbuttonPort >> 15) & 1) !== 0) globalThis.rbuttonPortMatch = false;
