// The Dockerfile cannot be built here (no Docker, no registry for base
// images). What it ships is the file set scripts/runtime-fileset.sh builds:
// this test builds one and checks it holds what the chart starts and nothing
// else, and runs it. The testbed runs every Talaria process from the same
// file set (build/runtime), so the e2e suite exercises it too. Not verified
// here: the base images themselves (Node 24 where this machine has Node 20,
// their Debian packages) and the container's user and mounts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here.includes('/dist/') ? here.replace('/dist/', '/') : here, '..', '..');
const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else out.push(p);
  }
  return out;
}

void describe('Dockerfile', () => {
  void it('runs on a current Node LTS with libbpf1 and iproute2, as a non-root user by default', () => {
    const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(stages, ['node:24-bookworm', 'node:24-bookworm-slim']);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    assert.match(runtime, /apt-get install -y --no-install-recommends libbpf1 iproute2/);
    assert.match(runtime, /^USER 65532:65532$/m);
  });

  void it('ships exactly the runtime file set, and the package binary as entry point', () => {
    assert.match(dockerfile, /\.\/scripts\/runtime-fileset\.sh \/runtime$/m);
    assert.deepEqual([...dockerfile.matchAll(/^COPY --from=build (.+)$/gm)].map((m) => m[1]), ['/runtime /app']);
    assert.equal(pkg.bin.talaria, 'dist/cli/main.js');
    assert.match(dockerfile, /ln -s \/app\/dist\/cli\/main\.js \/usr\/local\/bin\/talaria/);
    assert.match(dockerfile, /^ENTRYPOINT \["talaria"\]$/m);
  });
});

void describe('the runtime file set (scripts/runtime-fileset.sh)', { timeout: 300_000 }, () => {
  let out: string;
  const talaria = (...args: string[]): string => execFileSync(process.execPath, [join(out, 'dist', 'cli', 'main.js'), ...args], { encoding: 'utf8' });
  before(() => {
    out = join(mkdtempSync(join(tmpdir(), 'talaria-runtime-')), 'app');
    execFileSync(join(repoRoot, 'scripts', 'runtime-fileset.sh'), [out], { stdio: ['ignore', 'ignore', 'inherit'] });
  });
  after(() => rmSync(dirname(out), { recursive: true, force: true }));

  void it('holds production code only: no tests, testbed, benchmark, end-to-end suite or sources', () => {
    const code = files(join(out, 'dist')).map((f) => relative(join(out, 'dist'), f));
    assert.ok(code.includes('nodeagent/agent.js') && code.includes('controller/controller.js') && code.includes('p4/softswitch/command.js'));
    const stray = code.filter((f) => /\.test\.js$|\/testing\/|^(testbed|bench|e2e|charts)\//.test(f) || f.endsWith('.ts'));
    assert.deepEqual(stray, []);
  });

  void it('holds the compiled eBPF objects and the P4 assets, so nothing is built at run time', () => {
    for (const f of ['build/bpf/host.bpf.o', 'build/bpf/switch.bpf.o', 'p4/talaria.p4info.txtpb', 'p4/proto/p4/v1/p4runtime.proto']) assert.ok(existsSync(join(out, f)), f);
    assert.ok(!existsSync(join(out, 'bpf')), 'no eBPF sources (the agent would run make with them)');
  });

  void it('holds the production dependencies and none of the development ones (as the lock file marks them)', () => {
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
    const topLevel = Object.entries(lock.packages).filter(([k]) => k.startsWith('node_modules/') && !k.slice('node_modules/'.length).includes('/node_modules/'));
    const wrong = topLevel.filter(([k, p]) => (p.dev ? existsSync(join(out, k)) : !p.optional && !existsSync(join(out, k)))).map(([k, p]) => `${k}${p.dev ? ' (dev) is there' : ' is missing'}`);
    assert.deepEqual(wrong, []);
    for (const tool of ['typescript', 'eslint', 'tsx', 'vega', 'kubernetes-models']) assert.ok(!existsSync(join(out, 'node_modules', tool)), tool);
  });

  void it('runs: the chart\'s subcommands and version, and no development subcommand', () => {
    const help = talaria('--help');
    for (const c of ['controller', 'nodeagent', 'softswitch', 'status', 'switch', 'version']) assert.match(help, new RegExp(`^  ${c}\\b`, 'm'), c);
    for (const c of ['bench', 'e2e', 'testbed']) assert.doesNotMatch(help, new RegExp(`^  ${c}\\b`, 'm'), c);
    assert.match(talaria('version'), /^talaria v\d+\.\d+\.\d+ \(commit ([0-9a-f]{40}(-dirty)?|unknown), built \d{4}-/);
    assert.match(talaria('nodeagent', '--help'), /--cleanup/);
  });
});
