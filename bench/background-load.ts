// Background load beside the measurements (`talaria bench --background-load`):
// production nodes are never idle, and one earlier run showed Talaria's lead
// gone while compilers kept the cores busy. One process per core, at normal
// priority, for the duration of each measured point:
// - cpu: a tight loop (plain CPU contention);
// - memory: streams through a buffer twice the size of the last-level cache,
//   a cache line at a time, so that what the data path keeps in cache is
//   evicted over and over (what the compilers did).
// The processes run in the root namespace: CPU and caches are shared by every
// namespace of the testbed anyway. Their own kernel time is not the proxy's:
// on this VM the memory load keeps page-faulting (the kernel reclaims its cold
// pages: 42% of all samples in clear_page_erms in one `perf record -a`), which
// doubled "kernel CPU per request" in one repeat and not in the next. The
// sweep subtracts kernelSeconds() from the machine-wide figure.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';

export const BACKGROUND_LOADS = ['cpu', 'memory'] as const;
export type BackgroundLoad = (typeof BACKGROUND_LOADS)[number];

const MIN_BUFFER_BYTES = 64 * 1024 * 1024;

/** The largest CPU cache of cpu0 in bytes (sysfs), or undefined. */
export function lastLevelCacheBytes(root = '/sys/devices/system/cpu/cpu0/cache'): number | undefined {
  let best: number | undefined;
  try {
    for (const entry of readdirSync(root)) {
      if (!entry.startsWith('index')) continue;
      const m = /^(\d+)([KMG]?)$/.exec(readFileSync(`${root}/${entry}/size`, 'utf8').trim());
      if (!m) continue;
      const bytes = Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as '' | 'K' | 'M' | 'G'];
      if (best === undefined || bytes > best) best = bytes;
    }
  } catch {
    return undefined;
  }
  return best;
}

/** The bytes each memory-bound process streams through. */
export function memoryLoadBytes(llc: number | undefined): number {
  return Math.max(MIN_BUFFER_BYTES, 2 * (llc ?? 0));
}

function script(kind: BackgroundLoad): string {
  if (kind === 'cpu') return 'for (;;) {}';
  // A write per 64-byte line keeps every line dirty, so each pass goes to memory.
  return `const a = new Uint32Array(${memoryLoadBytes(lastLevelCacheBytes()) / 4}); for (let n = 1; ; n++) for (let i = 0; i < a.length; i += 16) a[i] = n;`;
}

export interface RunningLoad {
  readonly kind: BackgroundLoad;
  readonly pids: readonly number[];
  /** Kernel time the load processes have used so far, in seconds. */
  kernelSeconds(): number;
  stop(): Promise<void>;
}

/** /proc/<pid>/stat's stime (field 15) in seconds; 0 once the process is gone. USER_HZ is 100 on Linux. */
export function processKernelSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[12]) / 100;
  } catch {
    return 0;
  }
}

/** Starts one load process per core; stop() kills them and waits until they are gone. */
export function startBackgroundLoad(kind: BackgroundLoad, processes = availableParallelism()): RunningLoad {
  const children: ChildProcess[] = [];
  for (let i = 0; i < processes; i++) children.push(spawn(process.execPath, ['-e', script(kind)], { stdio: 'ignore' }));
  return {
    kind,
    pids: children.map((c) => c.pid!),
    kernelSeconds: () => children.reduce((sum, c) => sum + processKernelSeconds(c.pid!), 0),
    stop: async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}
