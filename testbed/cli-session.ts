// The benchmark and the end-to-end suite drive the testbed only through its
// command-line contract (`talaria testbed up|apply|status|down --json`), as a
// user's script would.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { talariaArgv } from '../cli/self.js';
import { runInNetns } from './run-in-netns.js';
import type { TestbedSummary } from './summary.js';
import type { SwitchKind } from './state.js';

/** What `talaria testbed status --json` prints; the contract lives beside the code that writes it. */
export type { TestbedSummary };

/** Runs the CLI in the root namespace (as a user's shell would); its stdout, or an error with its stderr. */
async function talaria(args: string[], timeoutMs: number): Promise<string> {
  const res = await runInNetns('', talariaArgv(args), timeoutMs);
  if (res.code !== 0) throw new Error(`talaria ${args.join(' ')} failed (${res.code ?? 'killed'}): ${res.stderr.trim() || res.stdout.trim()}`);
  return res.stdout;
}

export async function testbedUp(mode: string, nodes: number, podsPerNode: number, switchKind: SwitchKind = 'ebpf'): Promise<TestbedSummary> {
  return JSON.parse(await talaria(['testbed', 'up', '--mode', mode, '--switch', switchKind, '--nodes', String(nodes), '--pods-per-node', String(podsPerNode), '--json'], 600_000)) as TestbedSummary;
}

export async function testbedStatus(): Promise<TestbedSummary> {
  return JSON.parse(await talaria(['testbed', 'status', '--json'], 60_000)) as TestbedSummary;
}

export async function testbedApply(documents: readonly object[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'talaria-bench-'));
  try {
    const file = join(dir, 'objects.yaml');
    writeFileSync(file, documents.map((d) => stringify(d)).join('---\n'));
    await talaria(['testbed', 'apply', '-f', file], 600_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function testbedDelete(kind: string, name: string, namespace = 'default'): Promise<void> {
  await talaria(['testbed', 'delete', kind, name, '--namespace', namespace], 120_000);
}

export async function testbedScale(deployment: string, replicas: number): Promise<void> {
  await talaria(['testbed', 'scale', deployment, '--replicas', String(replicas)], 120_000);
}

export async function testbedDown(): Promise<void> {
  await talaria(['testbed', 'down'], 300_000);
}
