// Bit 8 of the port must be 1 (see pause-begin.js).
if (((globalThis.rbuttonPort >> 8) & 1) !== 1) globalThis.rbuttonPortMatch = false;
