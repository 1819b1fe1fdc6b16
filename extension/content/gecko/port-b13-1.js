// Bit 13 of the port must be 1 (see pause-begin.js).
if (((globalThis.rbuttonPort >> 13) & 1) !== 1) globalThis.rbuttonPortMatch = false;
