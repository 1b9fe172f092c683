// The state file: what the running testbed is made of, so that `status`,
// `exec` and above all `down` (also after a crash) find everything.
// /run/talaria-testbed/state.json by default; TALARIA_TESTBED_STATE_DIR moves
// the whole directory (tests run their own testbed beside a user's).
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mode } from './network/addressing.js';
import type { SwitchReaderTls } from './talaria-mode.js';

export function stateDir(): string {
  return process.env.TALARIA_TESTBED_STATE_DIR ?? '/run/talaria-testbed';
}

export function stateFile(): string {
  return join(stateDir(), 'state.json');
}

/** A process the testbed started in the root namespace (a group leader). */
export interface TrackedProcess {
  name: string;
  pid: number;
  argv: string[];
  log?: string;
  /** host:port where its Prometheus metrics can be scraped from the root namespace. */
  metrics?: string;
  /** namespace/name of the pod it is a container of: a kubelet runs (and restarts and stops) it. */
  pod?: string;
  /** The node it runs on (a pod's). */
  node?: string;
  /** Its environment, when it was not the testbed's own. */
  env?: Record<string, string>;
}

export type Phase = 'starting' | 'ready' | 'failed' | 'stopping';

/** The switch of talaria mode: Talaria's eBPF software switch, or talaria.p4 on BMv2 (the P4 reference target). */
export const SWITCH_KINDS = ['ebpf', 'bmv2'] as const;
export type SwitchKind = (typeof SWITCH_KINDS)[number];

export interface TestbedState {
  version: 1;
  phase: Phase;
  error?: string;
  mode: Mode;
  /** talaria mode: which switch runs talaria.p4's pipeline (absent: ebpf). */
  switch?: SwitchKind;
  nodes: number;
  podsPerNode: number;
  services: number;
  /** The netns name prefix ("tb-"). */
  prefix: string;
  createdAt: string;
  readyAt?: string;
  /** Seconds from the start of `up` until ready. */
  upSeconds?: number;
  /** The supervisor daemon (hosts the API server, kubelets, baseline proxies). */
  daemon?: TrackedProcess;
  /** Processes the daemon started (software switch, controller, node agents). */
  processes: TrackedProcess[];
  apiServer?: string;
  kubeconfig?: string;
  p4runtime?: string | null;
  /** The switch's read-only client certificate (talaria mode). */
  p4runtimeReader?: SwitchReaderTls;
  /** bpffs directories the testbed's processes pin under (removed by down). */
  pinDirs: string[];
  /** Directories made on the host as mount points of the chart's pods (testbed/kubelet/volumes.ts). */
  mountPoints?: string[];
  log: string;
}

export async function readState(): Promise<TestbedState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(), 'utf8')) as TestbedState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Atomic write (rename), so a reader never sees half a file. */
export async function writeState(s: TestbedState): Promise<void> {
  await mkdir(stateDir(), { recursive: true });
  const tmp = `${stateFile()}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(s, null, 2) + '\n');
  await rename(tmp, stateFile());
}

export async function updateState(fn: (s: TestbedState) => void): Promise<TestbedState | undefined> {
  const s = await readState();
  if (!s) return undefined;
  fn(s);
  await writeState(s);
  return s;
}

export async function removeStateDir(): Promise<void> {
  await rm(stateDir(), { recursive: true, force: true });
}
