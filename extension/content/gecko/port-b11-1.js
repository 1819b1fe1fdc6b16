// Bit 11 of the port must be 1 (see pause-begin.js).
if (((globalThis.rbuttonPort >> 11) & 1) !== 1) globalThis.rbuttonPortMatch = false;
