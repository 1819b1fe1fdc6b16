// A loopback HTTP server owned by the test that records the headers of every
// request it gets. It stands in for "some other site": a third party the
// echo page's document pulls a subresource from, or a second top-level site.
// It answers any path; /page.html is a small HTML document.

import http from 'node:http';

/**
 * 127.0.0.2 is loopback on Linux yet a different host from the vendors'
 * 127.0.0.1, so it is a third party by domain (declarativeNetRequest matches
 * domains without ports), not merely another origin on the same host.
 */
export const RECORDER_HOST = process.env.E2E_RECORDER_HOST || '127.0.0.2';

export async function startRecorder(cleanup) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method, path: req.url, headers: { ...req.headers } });
    if (req.url.startsWith('/page.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end('<!doctype html><meta charset="utf-8"><title>recorder</title><p>recorder page</p>');
      return;
    }
    // Worker scripts (scenario 01): each tells its page what its navigator
    // says, and whether the script still runs strict.
    if (req.url.startsWith('/worker.js') || req.url.startsWith('/shared-worker.js')) {
      const report = '{ gpc: navigator.globalPrivacyControl, strict: (function () { return this === undefined; })() }';
      const body = req.url.startsWith('/worker.js')
        ? `'use strict';\npostMessage(${report});\n`
        : `'use strict';\nonconnect = (e) => e.ports[0].postMessage(${report});\n`;
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    if (req.url.startsWith('/pixel.gif')) {
      res.writeHead(200, { 'content-type': 'image/gif', 'cache-control': 'no-store', 'access-control-allow-origin': '*' });
      res.end(Buffer.from('R0lGODlhAQABAAAAACwAAAAAAQABAAA=', 'base64'));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store', 'access-control-allow-origin': '*' });
    res.end('ok');
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, RECORDER_HOST, resolve); });
  // Keep-alive sockets from the browser would hold close() open.
  const close = () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); });
  cleanup.add('stop recorder', close);
  const origin = `http://${RECORDER_HOST}:${server.address().port}`;
  return {
    origin,
    requests,
    /** Requests whose path starts with prefix. */
    find: (prefix) => requests.filter((r) => r.path.startsWith(prefix)),
  };
}

/** Lower-cased header lookup on a recorded request. */
export const header = (req, name) => req.headers[name.toLowerCase()];
