// Whole-machine CPU time from /proc/stat: the benchmark charges every mode
// with system + softirq time, where packet processing (netfilter, conntrack,
// the bridge, VXLAN, and the eBPF programs) is accounted.
import { readFileSync } from 'node:fs';

/** USER_HZ: /proc/stat counts in clock ticks of 1/100 s on Linux. */
const TICKS_PER_SECOND = 100;

export interface CpuSample {
  user: number;
  system: number;
  softirq: number;
  irq: number;
  idle: number;
}

export function parseProcStat(text: string): CpuSample {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat: no aggregate "cpu" line');
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq] = f;
  if (f.length < 7 || f.some((n) => !Number.isFinite(n))) throw new Error(`/proc/stat: malformed cpu line "${line}"`);
  return {
    user: (user + nice) / TICKS_PER_SECOND,
    system: system / TICKS_PER_SECOND,
    idle: (idle + iowait) / TICKS_PER_SECOND,
    irq: irq / TICKS_PER_SECOND,
    softirq: softirq / TICKS_PER_SECOND,
  };
}

export function sampleCpu(): CpuSample {
  return parseProcStat(readFileSync('/proc/stat', 'utf8'));
}

/** System + softirq seconds spent between two samples. */
export function kernelSecondsBetween(before: CpuSample, after: CpuSample): number {
  return after.system - before.system + (after.softirq - before.softirq);
}
