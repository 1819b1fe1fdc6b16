// axe-core (a devDependency) run in a page of the extension: its
// violations as "rule (impact): help — targets" lines.

import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations on the page, as "rule (impact): targets" lines. */
export async function axeViolations(page) {
  await page.raw.evaluate(AXE);
  return page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)));
}
