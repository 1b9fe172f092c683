// Writes the dashboard JSON files from definitions.ts:
//   node --import tsx observability/dashboards/generate.ts
// (dashboards.test.ts fails while the committed files differ from the code).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dashboards } from './definitions.js';

const here = dirname(fileURLToPath(import.meta.url));
for (const [file, json] of Object.entries(dashboards())) {
  writeFileSync(join(here, file), `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`wrote observability/dashboards/${file}\n`);
}
