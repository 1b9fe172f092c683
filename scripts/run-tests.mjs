#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with node's test runner, one file
// at a time: many tests build network namespaces and load eBPF programs, and
// the machine has two cores. TALARIA_TEST_FILTER=substring narrows the files.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) find(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filter = process.env.TALARIA_TEST_FILTER ?? '';
const files = find('dist').filter((f) => f.includes(filter)).sort();
if (files.length === 0) {
  console.error(`no test files under dist/ match "${filter}": run the build first`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', '--test-concurrency=1', '--test-timeout=600000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
