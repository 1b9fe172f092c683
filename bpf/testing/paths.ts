// Where tests find the repository's build outputs, both when they run from
// sources (bpf/.../x.test.ts) and compiled (dist/bpf/.../x.test.js).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest directory above this file with a package.json (not dist/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('/dist')) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repoRoot: no package.json above bpf/testing');
    dir = up;
  }
  return dir;
}

/** build/bpf/<name>.bpf.o, as `make -C bpf` writes it. */
export function bpfObjectPath(name: string): string {
  return join(repoRoot(), 'build', 'bpf', `${name}.bpf.o`);
}
