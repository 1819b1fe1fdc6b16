// Bit 15 of the port must be 1 (see pause-begin.js).
if (((globalThis.rbuttonPort >> 15) & 1) !== 1) globalThis.rbuttonPortMatch = false;
