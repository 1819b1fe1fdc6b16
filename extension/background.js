// r-button service worker (Chromium) / event page (Firefox): wiring only.
// What happens on each event is decided in lib/controller.js, which gets the
// browser APIs from here. Every listener is registered synchronously at top
// level (the controller waits until its state is loaded), so events that
// wake the worker are not lost.

import { RESPONSE_HEADER, ALL_RESOURCE_TYPES, CHANGES_ALARM, CHANGES_PERIOD_MIN } from './lib/constants.js';
import { createHostClient, createPortSender } from './lib/host.js';
import { createPainter, decodeIcon } from './lib/paint.js';
import { createController } from './lib/controller.js';
import { COMPLIANCE_MESSAGE } from './lib/compliance.js';
import { createWorkerSignals } from './lib/workergpc.js';

const api = globalThis.browser ?? globalThis.chrome;
const dnr = api.declarativeNetRequest;
const warn = (err) => console.warn('r-button:', err);

function resourceTypes() {
  const e = dnr.ResourceType;
  const fromEnum = e ? Object.values(e).filter((v) => typeof v === 'string') : [];
  return fromEnum.length ? fromEnum : [...ALL_RESOURCE_TYPES];
}

const controller = createController({
  dnr,
  resourceTypes: resourceTypes(),
  scripting: api.scripting,
  storage: { local: api.storage.local, session: api.storage.session },
  tabs: api.tabs,
  host: createHostClient({ send: createPortSender({ connect: (name) => api.runtime.connectNative(name), lastError: () => api.runtime.lastError }) }),
  painter: createPainter(api.action, { imageData: (stem) => decodeIcon(stem, api.runtime.getURL) }),
  fetch: (...args) => fetch(...args),
  // runtime.getBrowserInfo exists only in Firefox, whose match patterns
  // carry no port (lib/rules.js, navigator scripts on paused sites).
  gecko: typeof api.runtime.getBrowserInfo === 'function',
  cookies: api.cookies,
});

// Tests and the demo driver await this before navigating (sw.evaluate), so
// the first navigation after install is observed.
globalThis.rbuttonReady = controller.ready.then(() => true, () => false);

const WEB = { urls: ['http://*/*', 'https://*/*'], types: ['main_frame'] };
api.webRequest.onBeforeRequest.addListener((d) => { controller.onNavigationRequest(d).catch(warn); }, WEB);
api.webRequest.onHeadersReceived.addListener((d) => { controller.onDocumentResponse(d, RESPONSE_HEADER).catch(warn); }, WEB, ['responseHeaders']);
// Firefox: GPC in dedicated and shared workers (lib/workergpc.js). Chromium
// has no filterResponseData; its manifest asks for no blocking permission.
if (typeof api.webRequest.filterResponseData === 'function') {
  const workerSignals = createWorkerSignals({ filterResponseData: (id) => api.webRequest.filterResponseData(id), isPaused: controller.isPaused, onError: warn });
  api.webRequest.onBeforeSendHeaders.addListener(async (d) => { await controller.ready.catch(() => {}); workerSignals(d); },
    { urls: ['http://*/*', 'https://*/*'], types: ['script'] }, ['blocking', 'requestHeaders']);
}
const onTabUpdated = (id, change, tab) => { controller.onTabUpdated(id, change, tab).catch(warn); };
// Only status and URL changes matter (a title or favicon change would wake
// the worker for nothing). Firefox filters; Chromium's onUpdated takes no
// filter and throws when given one.
try {
  if (typeof api.runtime.getBrowserInfo !== 'function') throw new Error('no filter');
  api.tabs.onUpdated.addListener(onTabUpdated, { properties: ['status', 'url'] });
} catch {
  api.tabs.onUpdated.addListener(onTabUpdated);
}
api.tabs.onActivated.addListener((info) => { controller.onTabActivated(info).catch(warn); });
api.tabs.onRemoved.addListener((id) => { controller.onTabRemoved(id).catch(warn); });
api.tabs.onReplaced?.addListener((added, removed) => { controller.onTabReplaced(added, removed).catch(warn); });
// storage.local only: the worker's own storage.session writes need not wake it.
if (api.storage.local.onChanged) api.storage.local.onChanged.addListener((changes) => { controller.onStorageChanged(changes, 'local').catch(warn); });
else api.storage.onChanged.addListener((changes, area) => { controller.onStorageChanged(changes, area).catch(warn); });

// The periodic change check (lib/constants.js CHANGES_ALARM). create() with
// the same name replaces the alarm, so only create it when it is missing.
api.alarms.get(CHANGES_ALARM).then((a) => a ?? api.alarms.create(CHANGES_ALARM, { periodInMinutes: CHANGES_PERIOD_MIN })).catch(warn);
api.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === CHANGES_ALARM) controller.onAlarm().catch(warn);
});

api.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  // The compliance watch's content script (registered on agreed sites only):
  // one report per page; the controller checks the sender's page.
  if (msg?.type === COMPLIANCE_MESSAGE && sender.id === api.runtime.id && sender.tab) {
    controller.onComplianceReport(msg, sender).catch(warn);
    return false;
  }
  // Otherwise only our own pages talk to the worker (the navigator scripts run in MAIN world and cannot).
  if (sender.id !== api.runtime.id || !String(sender.url ?? '').startsWith(api.runtime.getURL(''))) return false;
  controller.onMessage(msg).then(sendResponse);
  return true;
});
