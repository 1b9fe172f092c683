// What this build of Talaria is: the package version, the commit it was built
// from and when (dist/build-info.json, written by `npm run build`), and the
// Node.js running it. `talaria version` prints it, and every component
// exports it as talaria_build_info (kube-proxy's kubernetes_build_info).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';

export interface BuildInfo {
  version: string;
  gitCommit: string;
  buildDate: string;
  nodeVersion: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The nearest directory above this file that holds `name`. */
function findUp(name: string): string | undefined {
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, name))) return join(dir, name);
    if (dirname(dir) === dir) return undefined;
  }
}

function readJson(path: string | undefined): Record<string, unknown> {
  try {
    return path ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const pkg = readJson(findUp('package.json'));
  // Beside the compiled code: dist/build-info.json (absent when run from sources).
  const built = readJson(findUp('build-info.json'));
  cached = {
    version: `v${typeof pkg.version === 'string' ? pkg.version : '0.0.0'}`,
    gitCommit: typeof built.gitCommit === 'string' ? built.gitCommit : 'unknown',
    buildDate: typeof built.buildDate === 'string' ? built.buildDate : 'unknown',
    nodeVersion: process.version,
  };
  return cached;
}

export const versionCommand = new Command('version')
  .description('print the version of this build')
  .option('-o, --output <format>', 'text or json', 'text')
  .action((f: { output: string }) => {
    const b = buildInfo();
    if (f.output === 'json') process.stdout.write(`${JSON.stringify(b, null, 2)}\n`);
    else process.stdout.write(`talaria ${b.version} (commit ${b.gitCommit}, built ${b.buildDate}, ${b.nodeVersion})\n`);
  });
