// The Dockerfile cannot be built here (no registry access for base images);
// check what can be checked offline: everything it copies from the source
// tree exists, and the entry point is the package's `talaria` binary.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here.includes('/dist/') ? here.replace('/dist/', '/') : here, '..', '..');
const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
// Produced by `npm ci`, `npm run build` and `make -C bpf` inside the build stage.
const BUILT = ['node_modules', 'dist', 'build/bpf'];

void describe('Dockerfile', () => {
  void it('uses node:20-bookworm-slim with libbpf1 at run time', () => {
    const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    assert.equal(stages.at(-1), 'node:20-bookworm-slim');
    assert.match(dockerfile.slice(dockerfile.lastIndexOf('FROM ')), /apt-get install -y --no-install-recommends libbpf1/);
  });

  void it('copies only files that exist in the source tree or are built in the image', () => {
    const sources = [...dockerfile.matchAll(/^COPY --from=build (.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    assert.ok(sources.length >= 6);
    for (const s of sources) {
      const rel = s.replace(/^\/src\//, '');
      if (BUILT.includes(rel)) continue;
      assert.ok(existsSync(join(repoRoot, rel)), `${rel} exists`);
    }
  });

  void it('runs the package binary the chart calls with a subcommand', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin.talaria, 'dist/cli/main.js');
    assert.match(dockerfile, /ln -s \/app\/dist\/cli\/main\.js \/usr\/local\/bin\/talaria/);
    assert.match(dockerfile, /^ENTRYPOINT \["talaria"\]$/m);
  });
});
