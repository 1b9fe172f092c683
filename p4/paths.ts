// Where the non-TypeScript assets of p4/ live (the .proto files, talaria.p4
// and its P4Info). They are not copied into dist/, so both the sources (run
// with tsx) and the compiled tree (dist/p4/...) resolve them in the source
// tree: the first ancestor directory that holds p4/proto.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'p4', 'proto', 'p4', 'v1', 'p4runtime.proto'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`p4/proto not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

const repoRoot = findRepoRoot();

/** The repository's p4/ directory (sources, not dist). */
export const P4_DIR = join(repoRoot, 'p4');
/** Root of the p4.v1 / p4.config.v1 .proto tree (import paths `p4/v1/...`). */
export const PROTO_DIR = join(P4_DIR, 'proto');
/** The program and its P4Info, the reference the server accepts. */
export const TALARIA_P4 = join(P4_DIR, 'talaria.p4');
export const TALARIA_P4INFO = join(P4_DIR, 'talaria.p4info.txtpb');
