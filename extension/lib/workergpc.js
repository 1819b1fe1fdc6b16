// navigator.globalPrivacyControl for dedicated and shared workers, Firefox
// only. The GPC specification puts the property on WorkerNavigator too, but a
// content script never runs inside a worker. Firefox lets an extension rewrite
// a response body (webRequest.filterResponseData), so the worker's own script
// gets one line in front that defines the getter before any of its code runs.
// Chromium allows neither, so its workers see only the Sec-GPC header
// (README.md, "Workers").
//
// Which responses: Firefox reports worker scripts as type "script", like any
// page script, but their request carries `Sec-Fetch-Dest: worker` or
// `sharedworker`, which webRequest.onBeforeSendHeaders sees; a stream filter
// can still be attached there. Page scripts are never touched (that would
// break Subresource Integrity and Firefox's script cache). Service workers are
// left alone: rewriting their script changes the bytes the browser compares
// to decide whether to update them.

/** The Sec-Fetch-Dest values of the scripts we rewrite. */
export const WORKER_DESTINATIONS = Object.freeze(['worker', 'sharedworker']);

/**
 * What goes in front of the worker's script: one line, no newline, so the
 * script's own line numbers stay what they were; it starts with `;` so that a
 * directive without one before it stays a statement of its own. Defines the getter on
 * WorkerNavigator.prototype, as a browser would, unless the browser already
 * says true (its own GPC setting).
 */
export const WORKER_PROLOGUE = ';(()=>{try{const p=typeof WorkerNavigator==="function"&&WorkerNavigator.prototype;'
  + 'if(p&&navigator.globalPrivacyControl!==true)Object.defineProperty(p,"globalPrivacyControl",'
  + '{configurable:true,enumerable:true,get:Object.getOwnPropertyDescriptor({get globalPrivacyControl(){return true}},"globalPrivacyControl").get})}catch(e){}})();';

const UTF8_BOM = [0xef, 0xbb, 0xbf];
// A directive prologue must stay first or the script stops being strict.
const DIRECTIVE = /^(\s*(['"])use strict\2[ \t]*;?)/;

/**
 * Where the prologue goes in a script whose response begins with `head`
 * (the first bytes received): after a UTF-8 byte order mark and a leading
 * "use strict" directive. Returns the byte offset, or -1 when the script must
 * be left as it is (UTF-16, which ASCII bytes would corrupt).
 * @param {Uint8Array} head
 */
export function prologueOffset(head) {
  if (head.length >= 2 && ((head[0] === 0xfe && head[1] === 0xff) || (head[0] === 0xff && head[1] === 0xfe))) return -1;
  let at = 0;
  if (UTF8_BOM.every((b, i) => head[i] === b)) at = 3;
  // Only ASCII matters for the directive: decode as latin1, one char per byte.
  const text = String.fromCharCode(...head.subarray(at, at + 256));
  const m = DIRECTIVE.exec(text);
  return m ? at + m[1].length : at;
}

/** The worker destination of a request, from its headers, or null. */
export function workerDestination(requestHeaders) {
  for (const h of requestHeaders ?? []) {
    if (h?.name?.toLowerCase() === 'sec-fetch-dest') return WORKER_DESTINATIONS.includes(h.value) ? h.value : null;
  }
  return null;
}

/**
 * The onBeforeSendHeaders listener (blocking, requestHeaders, types
 * ["script"]). `filterResponseData` is webRequest's; `isPaused(url)` says
 * whether the document that started the worker is on a site whose signals
 * the user paused.
 */
export function createWorkerSignals({ filterResponseData, isPaused, onError = () => {} }) {
  const prologue = new TextEncoder().encode(WORKER_PROLOGUE);
  return function onBeforeSendHeaders(details) {
    if (!workerDestination(details.requestHeaders)) return;
    const owner = details.documentUrl ?? details.originUrl ?? '';
    if (isPaused(owner)) return;
    let filter;
    try {
      filter = filterResponseData(details.requestId);
    } catch (err) {
      onError(err);
      return;
    }
    let started = false;
    const begin = (chunk) => {
      started = true;
      const at = prologueOffset(chunk);
      if (at < 0) {
        filter.write(chunk);
        return;
      }
      filter.write(chunk.subarray(0, at));
      filter.write(prologue);
      filter.write(chunk.subarray(at));
    };
    filter.ondata = (event) => {
      const chunk = new Uint8Array(event.data);
      if (!started) begin(chunk);
      else filter.write(chunk);
    };
    filter.onstop = () => {
      if (!started) begin(new Uint8Array(0));
      filter.close();
    };
    filter.onerror = () => onError(new Error(filter.error));
  };
}
