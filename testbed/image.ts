// The testbed runs Talaria as the chart's pods run the image: from the
// image's file set, build/runtime (scripts/runtime-fileset.sh, the
// Dockerfile's runtime stage), not from the development tree. What the e2e
// suite passes is then what the image ships.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../bpf/testing/paths.js';

/** The image's entry point inside the file set. */
export function imageEntry(): string {
  const root = repoRoot();
  const entry = join(root, 'build', 'runtime', 'dist', 'cli', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build the image's file set with scripts/runtime-fileset.sh (make build does)`);
  // A file set older than the compiled tree would test yesterday's code.
  const built = (p: string): number => (existsSync(p) ? statSync(p).mtimeMs : 0);
  if (built(join(root, 'build', 'runtime', 'dist', 'build-info.json')) < built(join(root, 'dist', 'build-info.json'))) {
    throw new Error(`${join(root, 'build', 'runtime')} is older than dist/: rebuild it with scripts/runtime-fileset.sh (make build does)`);
  }
  return entry;
}

/** argv (command first) of `talaria <args...>` from the image's file set. */
export function imageTalariaArgv(args: readonly string[]): string[] {
  return [process.execPath, '--enable-source-maps', imageEntry(), ...args];
}
