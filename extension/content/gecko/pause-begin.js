// Firefox, paused site: the registration matches every port of the paused
// host; port-b<K>-<V>.js then check bit K of this page's port against V, and
// pause-end.js acts only if all 16 matched. (Match patterns carry no port.)
globalThis.rbuttonPort = Number(location.port || (location.protocol === 'https:' ? 443 : 80));
globalThis.rbuttonPortMatch = true;
