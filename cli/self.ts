// How Talaria starts another Talaria process (the testbed starts the
// controller, agents and the software switch): the same node binary, the same
// loader flags (so `node --import tsx cli/main.ts` during development spawns
// children the same way), the same entry script.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const isSource = import.meta.url.endsWith('.ts');

/** argv (command first) that runs `talaria <args...>` in a child process. */
export function talariaArgv(args: readonly string[]): string[] {
  const entry = join(here, isSource ? 'main.ts' : 'main.js');
  const loader = isSource ? ['--import', 'tsx'] : [];
  return [process.execPath, '--enable-source-maps', ...loader, entry, ...args];
}
